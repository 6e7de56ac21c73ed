#!/usr/bin/env bash
# Cues land on their frame, end to end: `llhls serve` with an API token; hls.js in Debian's chromium plays the player
# page while an app backend (play.mjs, from node) posts a cue every 2.5 s to the cue API. Each cue must be answered
# 201, reach the page both as a DATERANGE and as an emsg/ID3 in the video, and go on screen on the very frame it is
# bound to (0 frames late, read from requestVideoFrameCallback's mediaTime against the emsg's pts), with the
# DATERANGE within half a frame of the emsg. Three runs: the default stream, the byte-range mode, and the default
# stream through the Varnish edge (scripts/cdn/varnish.vcl; cues are posted to the origin, as a backend would).
# Summaries: target/e2e/browser_cues-{default,byterange,edge}.json (POST → on-screen times in cueFigures).
set -euo pipefail
source "$(dirname "$0")/lib.bash"
need_llhls
need_player
mkdir -p "$E2E_OUT"
tmp_dir
WORK="$TMP_DIR"
TOKEN="e2e-$(date +%s)-$RANDOM"
CUE_ARGS=(--seconds 25 --cues 8 --cue-every 2.5 --max-latency 6 --cue-token "$TOKEN")

# run NAME STREAM CONFIG_ARGS...: serve, play the page with cues, report.
run() {
  local name="$1" stream="$2"
  shift 2
  local port origin
  port="$(free_port)"
  origin="http://127.0.0.1:$port"
  LLHLS_API_TOKEN="$TOKEN" bg_start "$E2E_OUT/browser_cues-$name-serve.log" timeout 120 "$LLHLS" serve --listen "127.0.0.1:$port" "$@"
  local pid=$BG_PID
  wait_http "$origin/$stream/master.m3u8" 30 "$pid" \
    || { cat "$E2E_OUT/browser_cues-$name-serve.log" >&2; die "$name: no $origin/$stream/master.m3u8 within 30 s"; }
  grep -q "cue API token" "$E2E_OUT/browser_cues-$name-serve.log" || die "$name: serve did not say where the token came from"
  if grep -q "$TOKEN" "$E2E_OUT/browser_cues-$name-serve.log"; then die "$name: the API token was printed"; fi
  sleep 3
  play_page 120 "$E2E_OUT/browser_cues-$name.json" "cues ($name)" "$origin/player/?src=/$stream/master.m3u8" \
    "${CUE_ARGS[@]}" --cue-api "$origin/api/v1/streams/$stream/cues"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  report "$name"
}

report() {
  python3 - "$E2E_OUT/browser_cues-$1.json" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
f = d["cueFigures"]
print("browser_cues %s: ok: %d cues, %d on their frame, %d after a frame the browser presented without a callback; frames late %s, POST -> on screen p50 %s ms max %s ms, latency p50 %s s" % (
    sys.argv[2], len(d["cues"]), f["onFrame"], f["lateForSkippedFrames"], f["framesLate"], f["postToScreenMs"]["p50"], f["postToScreenMs"]["max"], d["latency"]["p50"]))
PY
}

run default live
run byterange ranges --config "$E2E_ROOT/fixtures/config/good_byterange.toml"

# Through the edge: the page plays from Varnish, cues are posted to the origin.
edge_ports
LLHLS_API_TOKEN="$TOKEN" bg_start "$E2E_OUT/browser_cues-edge-origin.log" timeout 150 "$LLHLS" serve --listen "127.0.0.1:$P1"
OPID=$BG_PID
wait_http "$ORIGIN/live/master.m3u8" 30 "$OPID" || { cat "$E2E_OUT/browser_cues-edge-origin.log" >&2; die "edge: llhls did not serve"; }
start_edge "$E2E_OUT/browser_cues-edge-varnish.log" "$WORK/varnish"
wait_http "$EDGE/live/master.m3u8" 30 || die "edge: Varnish did not serve $EDGE/live/master.m3u8"
sleep 3
play_page 120 "$E2E_OUT/browser_cues-edge.json" "cues (edge)" "$ORIGIN/player/?src=$EDGE/live/master.m3u8" \
  "${CUE_ARGS[@]}" --cue-api "$ORIGIN/api/v1/streams/live/cues"
report edge
