#!/usr/bin/env bash
# llhls in byte-range part mode, end to end: `llhls serve --config fixtures/config/good_byterange.toml` (parts as
# EXT-X-PART BYTERANGE of their segment, PRELOAD-HINT with BYTERANGE-START) on a free 127.0.0.1 port; the playlist
# really uses byte ranges; hls.js in Debian's chromium plays it in low-latency mode for 20 s with no stall and
# under 6 s of latency. JSON summary: target/e2e/browser_byterange.json.
set -euo pipefail
source "$(dirname "$0")/lib.bash"
need_llhls
need_player
mkdir -p "$E2E_OUT"
PORT="$(free_port)"
ORIGIN="http://127.0.0.1:$PORT"
bg_start "$E2E_OUT/browser_byterange-serve.log" "$LLHLS" serve --config "$E2E_ROOT/fixtures/config/good_byterange.toml" --listen "127.0.0.1:$PORT"
SERVE=$BG_PID
wait_http "$ORIGIN/ranges/master.m3u8" 30 "$SERVE" \
  || { cat "$E2E_OUT/browser_byterange-serve.log" >&2; die "no $ORIGIN/ranges/master.m3u8 within 30 s"; }
for _ in $(seq 1 300); do
  curl -sf "$ORIGIN/ranges/540p/index.m3u8" | grep -q '^#EXTINF' && break
  sleep 0.1
done
PL="$(curl -sf "$ORIGIN/ranges/540p/index.m3u8")"
grep -q '^#EXT-X-PART:.*BYTERANGE="' <<<"$PL" || die "no EXT-X-PART with BYTERANGE in the playlist"
grep -q '^#EXT-X-PRELOAD-HINT:TYPE=PART,.*BYTERANGE-START=' <<<"$PL" || die "no PRELOAD-HINT with BYTERANGE-START"
play_page 90 "$E2E_OUT/browser_byterange.json" "browser playback" "$ORIGIN/player/?src=/ranges/master.m3u8" \
  --seconds 20 --max-latency 6
kill -0 "$SERVE" 2>/dev/null || die "llhls serve died during the test"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("browser_byterange: ok: latency p50 %s s p95 %s s, startup %s ms, stalls %s" % (d["latency"]["p50"], d["latency"]["p95"], d["startupMs"], d["stalls"]))' "$E2E_OUT/browser_byterange.json"
