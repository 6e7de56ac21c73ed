#!/usr/bin/env bash
# Self-test of the browser harness on the classic baseline (ffmpeg's HLS muxer + nginx, no llhls involved):
# hls.js in Debian's chromium plays it, both playlist parsers accept it, and the harness does fail when it must
# (a latency threshold below the real latency, a playlist that does not exist).
set -euo pipefail
source "$(dirname "$0")/lib.bash"
need_player
mkdir -p "$E2E_OUT"
PORT="$(free_port)"
LOG="$E2E_OUT/harness-baseline.log"
# 640x360 keeps the encoder light: this tests the harness, not the encoder.
bg_start "$LOG" "$E2E_ROOT/scripts/baseline/run.sh" --port "$PORT" --seconds 150 --size 640x360
BASE=$BG_PID
for _ in $(seq 1 700); do grep -q '^baseline: ready' "$LOG" && break; kill -0 "$BASE" 2>/dev/null || break; sleep 0.1; done
grep -q '^baseline: ready' "$LOG" || { cat "$LOG" >&2; die "the baseline did not start"; }
PLAYLIST="http://127.0.0.1:$PORT/live/stream.m3u8"

timeout 30 node "$E2E_ROOT/scripts/player/parse.mjs" "$PLAYLIST" --quiet || die "m3u8-parser rejected the baseline playlist"
timeout 30 python3 "$E2E_ROOT/scripts/e2e/m3u8_check.py" "$PLAYLIST" || die "m3u8 (PyPI) rejected the baseline playlist"

# Plays through the page served next to the media (same origin), 12 s, classic HLS bar: 6 s.
timeout 90 node "$E2E_ROOT/scripts/player/play.mjs" "http://127.0.0.1:$PORT/player/?src=/live/stream.m3u8" \
  --seconds 12 --max-latency 6 --json "$E2E_OUT/harness-baseline.json" --screenshot "$E2E_OUT/harness-baseline.png" \
  > /dev/null || die "the baseline did not play in the browser (see $E2E_OUT/harness-baseline.json)"
echo "harness: baseline plays: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("latency p50", d["latency"]["p50"], "s, startup", d["startupMs"], "ms")' "$E2E_OUT/harness-baseline.json")"

# The harness must be able to fail: classic HLS is never 0.5 s behind live...
if timeout 90 node "$E2E_ROOT/scripts/player/play.mjs" "$PLAYLIST" --seconds 4 --max-latency 0.5 --warmup 0 \
    > /dev/null 2>&1; then
  die "play.mjs passed a 0.5 s latency bar on classic HLS"
fi
# ...and a playlist that is not there never starts.
if timeout 90 node "$E2E_ROOT/scripts/player/play.mjs" "http://127.0.0.1:$PORT/live/none.m3u8" --seconds 2 \
    --startup-timeout 8 > /dev/null 2>&1; then
  die "play.mjs passed a missing playlist"
fi
echo "harness: ok"
