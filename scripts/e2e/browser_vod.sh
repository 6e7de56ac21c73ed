#!/usr/bin/env bash
# llhls VOD, end to end: `llhls package` turns a fixture into a CMAF HLS tree on disk; nginx (any static web server
# must do) serves it on a free 127.0.0.1 port with a copy of the player page; both playlist parsers accept it, the
# ffmpeg CLI decodes it whole, and hls.js in Debian's chromium plays it to the end without a stall.
set -euo pipefail
source "$(dirname "$0")/lib.bash"
need_llhls
need_player
mkdir -p "$E2E_OUT"
INPUT="${E2E_VOD_INPUT:-$E2E_ROOT/fixtures/media/h264_aac_bframes.mp4}"
CONFIG="${E2E_VOD_CONFIG:-$E2E_ROOT/scripts/e2e/vod.toml}"
[ -f "$INPUT" ] || die "fixture $INPUT is missing (scripts/make-fixtures)"
tmp_dir
WWW="$TMP_DIR/www"
mkdir -p "$WWW"
timeout 120 "$LLHLS" package --config "$CONFIG" "$INPUT" --out "$WWW/vod" > "$E2E_OUT/browser_vod-package.log" 2>&1 \
  || { cat "$E2E_OUT/browser_vod-package.log" >&2; die "llhls package --config $CONFIG $INPUT failed"; }
MASTER_FILE="$(cd "$WWW" && find vod -name master.m3u8 | sort | head -1)"
[ -n "$MASTER_FILE" ] || die "llhls package wrote no master.m3u8 under $WWW/vod"
copy_player "$WWW"
chmod 755 "$TMP_DIR"
PORT="$(free_port)"
nginx_start "$WWW" "$PORT" "$TMP_DIR/nginx"
ORIGIN="http://127.0.0.1:$PORT"
wait_http "$ORIGIN/$MASTER_FILE" 10 "$BG_PID" || die "nginx does not serve $ORIGIN/$MASTER_FILE"

timeout 60 node "$E2E_ROOT/scripts/player/parse.mjs" "$ORIGIN/$MASTER_FILE" --recurse --quiet || die "m3u8-parser"
timeout 60 python3 "$E2E_ROOT/scripts/e2e/m3u8_check.py" "$ORIGIN/$MASTER_FILE" --vod || die "python m3u8"

# The whole clip decodes with the ffmpeg CLI (the fixture is 4 s: ask for 3).
ffmpeg_reads "$ORIGIN/$MASTER_FILE" 3

timeout 90 node "$E2E_ROOT/scripts/player/play.mjs" "$ORIGIN/player/?src=/$MASTER_FILE" --vod --seconds 20 \
  --screenshot "$E2E_OUT/browser_vod.png" --json "$E2E_OUT/browser_vod.json" > /dev/null \
  || { play_failed "$E2E_OUT/browser_vod.json" "browser VOD playback"; }
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ended"], "did not play to the end"; print("browser_vod: ok: played %s s of %s s, startup %s ms, stalls %s, levels %s" % (d["mediaSecondsPlayed"], d["duration"], d["startupMs"], d["stalls"], d["levels"]))' "$E2E_OUT/browser_vod.json" \
  || die "VOD did not play to the end"
