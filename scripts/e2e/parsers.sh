#!/usr/bin/env bash
# llhls playlists through two independent parsers: videojs m3u8-parser (npm) and the PyPI m3u8 package, strict.
# `llhls serve` (the built-in default) on a free 127.0.0.1 port; the multivariant and every media playlist it names
# are parsed, and so is a delta update (_HLS_skip=YES) once it really skips segments.
set -euo pipefail
source "$(dirname "$0")/lib.bash"
need_llhls
need_player
mkdir -p "$E2E_OUT"
STREAM="${E2E_STREAM:-live}"
PORT="$(free_port)"
ORIGIN="http://127.0.0.1:$PORT"
bg_start "$E2E_OUT/parsers-serve.log" "$LLHLS" serve --listen "127.0.0.1:$PORT"
SERVE=$BG_PID
MASTER="$ORIGIN/$STREAM/master.m3u8"
wait_http "$MASTER" 30 "$SERVE" || { cat "$E2E_OUT/parsers-serve.log" >&2; die "no $MASTER within 30 s"; }
VARIANT="$(curl -sf "$MASTER" | first_uri)"
[ -n "$VARIANT" ] || die "the multivariant playlist names no variant"
MEDIA="$ORIGIN/$STREAM/$VARIANT"
# Let the window hold a few segments so the delta update has something to skip.
for _ in $(seq 1 300); do
  [ "$(curl -sf "$MEDIA" | grep -c '^#EXTINF' || true)" -ge 2 ] && break
  sleep 0.1
done

timeout 60 node "$E2E_ROOT/scripts/player/parse.mjs" "$MASTER" --recurse > "$E2E_OUT/parsers-m3u8-parser.jsonl" \
  || { cat "$E2E_OUT/parsers-m3u8-parser.jsonl" >&2; die "m3u8-parser"; }
echo "parsers: m3u8-parser ok on $(wc -l < "$E2E_OUT/parsers-m3u8-parser.jsonl") playlist(s)"
timeout 60 python3 "$E2E_ROOT/scripts/e2e/m3u8_check.py" "$MASTER" || die "python m3u8"

# Delta update (rfc8216bis-22 §6.2.5.1): the live playlist offers it, and once the window is longer
# than CAN-SKIP-UNTIL (12 s at the default 2 s segments) the delta really skips segments; both
# parsers must read that playlist, EXT-X-SKIP included.
curl -sf "$MEDIA" | grep -q 'CAN-SKIP-UNTIL' || die "the live media playlist offers no delta updates"
DELTA="$MEDIA?_HLS_skip=YES"
for _ in $(seq 1 400); do
  curl -sf "$DELTA" | grep -q '^#EXT-X-SKIP:SKIPPED-SEGMENTS=[1-9]' && break
  kill -0 "$SERVE" 2>/dev/null || die "llhls serve died while the window grew"
  sleep 0.1
done
curl -sf "$DELTA" > "$E2E_OUT/parsers-delta.m3u8"
grep -q '^#EXT-X-SKIP:SKIPPED-SEGMENTS=[1-9]' "$E2E_OUT/parsers-delta.m3u8" \
  || { cat "$E2E_OUT/parsers-delta.m3u8" >&2; die "no delta update skipped a segment within 40 s"; }
echo "parsers: delta update $(grep '^#EXT-X-SKIP' "$E2E_OUT/parsers-delta.m3u8")"
timeout 60 node "$E2E_ROOT/scripts/player/parse.mjs" "$DELTA" || die "m3u8-parser on the delta update"
timeout 60 python3 "$E2E_ROOT/scripts/e2e/m3u8_check.py" "$DELTA" || die "python m3u8 on the delta update"
kill -0 "$SERVE" 2>/dev/null || die "llhls serve died during the test"
echo "parsers: ok"
