#!/usr/bin/env bash
# Classic-HLS latency baseline: the ffmpeg CLI's own HLS muxer, live, 1 s fMP4 segments, served by nginx on
# 127.0.0.1 together with a copy of the llhls player page (same origin).
#
#   scripts/baseline/run.sh [--port PORT] [--seconds N] [--size WxH=1280x720]
#
# Prints "baseline: ready PAGE_URL" once the playlist holds three segments, then runs until killed (or N seconds).
# Page:     http://127.0.0.1:PORT/player/?src=/live/stream.m3u8
# Playlist: http://127.0.0.1:PORT/live/stream.m3u8
# Everything it starts (ffmpeg, nginx) is stopped and its temporary directory removed when it exits.
set -euo pipefail
source "$(dirname "$0")/../e2e/lib.bash"
PORT=""
LIMIT=""
SIZE="1280x720"
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT="$2"; shift 2 ;;
    --seconds) LIMIT="$2"; shift 2 ;;
    --size) SIZE="$2"; shift 2 ;;
    *) echo "baseline: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$PORT" ] || PORT="$(free_port)"
need_player
tmp_dir
DIR="$TMP_DIR"
mkdir -p "$DIR/www/live"
copy_player "$DIR/www"
chmod 755 "$DIR"
nginx_start "$DIR/www" "$PORT" "$DIR/nginx"
NGINX=$BG_PID

# The classic live HLS muxer: 1 s GOPs (-g 30 at 30 fps, no scene cuts) so 1 s segments, fMP4, a 6-segment window,
# PROGRAM-DATE-TIME on every segment so the player can measure latency against the wall clock. temp_file makes
# each segment and playlist appear whole (written, then renamed).
cd "$DIR/www/live"
bg_start "$DIR/ffmpeg.log" ffmpeg -hide_banner -loglevel error -nostdin \
  -re -f lavfi -i "testsrc2=size=$SIZE:rate=30" \
  -re -f lavfi -i "sine=frequency=440:sample_rate=48000" \
  -map 0:v -map 1:a \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p -g 30 -keyint_min 30 -sc_threshold 0 -b:v 2500k \
  -c:a aac -b:a 128k -ac 2 \
  -f hls -hls_time 1 -hls_segment_type fmp4 -hls_list_size 6 \
  -hls_flags delete_segments+program_date_time+independent_segments+temp_file \
  -hls_fmp4_init_filename init.mp4 -hls_segment_filename "seg-%d.m4s" \
  stream.m3u8
FFMPEG=$BG_PID
cd - > /dev/null

PAGE="http://127.0.0.1:$PORT/player/?src=/live/stream.m3u8"
ready=0
# Up to 60 s: on a busy machine the encoder may start slowly.
for _ in $(seq 1 600); do
  if [ -f "$DIR/www/live/stream.m3u8" ] && [ "$(grep -c '^#EXTINF' "$DIR/www/live/stream.m3u8" || true)" -ge 3 ] \
     && curl -sf -o /dev/null "http://127.0.0.1:$PORT/live/stream.m3u8"; then
    ready=1; break
  fi
  if ! kill -0 "$FFMPEG" 2>/dev/null || ! kill -0 "$NGINX" 2>/dev/null; then break; fi
  sleep 0.1
done
if [ "$ready" != 1 ]; then
  echo "baseline: not ready; ffmpeg log:" >&2; cat "$DIR/ffmpeg.log" >&2
  echo "baseline: nginx log:" >&2; cat "$DIR/nginx/error.log" >&2 2>/dev/null || true
  exit 1
fi
echo "baseline: ready $PAGE"

if [ -n "$LIMIT" ]; then
  sleep "$LIMIT" &
  E2E_PIDS+=($!)
  wait "${E2E_PIDS[-1]}"
else
  wait -n "$FFMPEG" "$NGINX" || true
  echo "baseline: ffmpeg or nginx exited; ffmpeg log:" >&2; cat "$DIR/ffmpeg.log" >&2
  exit 1
fi
