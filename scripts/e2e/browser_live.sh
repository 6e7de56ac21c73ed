#!/usr/bin/env bash
# llhls live, end to end: `llhls serve` (the built-in default stream) on a free 127.0.0.1 port; the ffmpeg CLI reads
# 10 s of the multivariant playlist with no error; then hls.js in Debian's chromium plays the player page the origin
# serves for 30 s: it must start, never stall, and stay under 6 s behind the wall clock (PROGRAM-DATE-TIME); with
# several renditions, picking one by hand half way must switch to it.
# Screenshot and JSON summary: target/e2e/browser_live.{png,json}.
set -euo pipefail
source "$(dirname "$0")/lib.bash"
need_llhls
need_player
mkdir -p "$E2E_OUT"
STREAM="${E2E_STREAM:-live}"
PORT="$(free_port)"
ORIGIN="http://127.0.0.1:$PORT"
bg_start "$E2E_OUT/browser_live-serve.log" "$LLHLS" serve --listen "127.0.0.1:$PORT"
SERVE=$BG_PID
wait_http "$ORIGIN/$STREAM/master.m3u8" 30 "$SERVE" \
  || { cat "$E2E_OUT/browser_live-serve.log" >&2; die "no $ORIGIN/$STREAM/master.m3u8 within 30 s"; }
VARIANT="$(curl -sf "$ORIGIN/$STREAM/master.m3u8" | first_uri)"
[ -n "$VARIANT" ] || die "the multivariant playlist names no variant"
# Wait for a first complete segment in the first variant.
for _ in $(seq 1 300); do
  curl -sf "$ORIGIN/$STREAM/$VARIANT" | grep -q '^#EXTINF' && break
  sleep 0.1
done
curl -sf "$ORIGIN/$STREAM/$VARIANT" | grep -q '^#EXTINF' || die "no segment in $ORIGIN/$STREAM/$VARIANT within 30 s"

# The stream list links to the player for this stream.
curl -sf "$ORIGIN/" | grep -qF "/player/?src=/$STREAM/master.m3u8" \
  || die "$ORIGIN/ does not link to /player/?src=/$STREAM/master.m3u8"

ffmpeg_reads "$ORIGIN/$STREAM/master.m3u8" 10

# With a ladder, the page's rendition picker switches half way to a rendition not playing then: no stall allowed.
VARIANTS="$(curl -sf "$ORIGIN/$STREAM/master.m3u8" | grep -c '^#EXT-X-STREAM-INF' || true)"
PICK=()
[ "$VARIANTS" -gt 1 ] && PICK=(--level other --level-at 15)
play_page 120 "$E2E_OUT/browser_live.json" "browser playback" "$ORIGIN/player/?src=/$STREAM/master.m3u8" \
  --seconds 30 --max-latency 6 "${PICK[@]}" --screenshot "$E2E_OUT/browser_live.png"
kill -0 "$SERVE" 2>/dev/null || die "llhls serve died during the test"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("browser_live: ok: latency p50 %s s p95 %s s max %s s, startup %s ms, stalls %s, levels seen %s" % (d["latency"]["p50"], d["latency"]["p95"], d["latency"]["max"], d["startupMs"], d["stalls"], d["levelsSeen"]))' "$E2E_OUT/browser_live.json"
