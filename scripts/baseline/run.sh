#!/usr/bin/env bash
# Classic-HLS latency baseline: the ffmpeg CLI's own HLS muxer, live, 1 s fMP4 segments, served by nginx on
# 127.0.0.1 together with a copy of the llhls player page (same origin).
#
#   scripts/baseline/run.sh [--port PORT] [--dir DIR] [--seconds N]
#
# Prints "baseline: ready PAGE_URL" once the playlist has three segments, then runs until killed (or for N seconds).
# Page:     http://127.0.0.1:PORT/player/?src=/live/stream.m3u8
# Playlist: http://127.0.0.1:PORT/live/stream.m3u8
# Everything it starts (ffmpeg, nginx) is stopped when it exits; the temporary directory is removed unless --dir.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PORT=""
DIR=""
SECONDS_LIMIT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT="$2"; shift 2 ;;
    --dir) DIR="$2"; shift 2 ;;
    --seconds) SECONDS_LIMIT="$2"; shift 2 ;;
    *) echo "baseline: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$PORT" ]; then
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
fi
KEEP_DIR=1
if [ -z "$DIR" ]; then DIR="$(mktemp -d /tmp/llhls-baseline.XXXXXX)"; KEEP_DIR=0; fi
mkdir -p "$DIR/www/live" "$DIR/www/player" "$DIR/nginx"
# nginx workers run as nobody: they must be able to read what they serve.
chmod 755 "$DIR" "$DIR/www" "$DIR/www/live" "$DIR/www/player"

HLSJS="$ROOT/scripts/player/node_modules/hls.js/dist/hls.min.js"
if [ ! -f "$HLSJS" ]; then
  echo "baseline: $HLSJS is missing; run scripts/setup (npm install in scripts/player)" >&2
  exit 1
fi
cp "$ROOT"/scripts/player/page/* "$DIR/www/player/"
cp "$HLSJS" "$DIR/www/player/hls.min.js"
chmod 644 "$DIR"/www/player/*

cat > "$DIR/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log warn;
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  # mime.types already maps m3u8 and mp4.
  types { video/iso.segment m4s; }
  access_log $DIR/nginx/access.log;
  client_body_temp_path $DIR/nginx/body;
  proxy_temp_path $DIR/nginx/proxy;
  fastcgi_temp_path $DIR/nginx/fastcgi;
  uwsgi_temp_path $DIR/nginx/uwsgi;
  scgi_temp_path $DIR/nginx/scgi;
  sendfile on;
  tcp_nodelay on;
  server {
    listen 127.0.0.1:$PORT;
    root $DIR/www;
    location / {
      add_header Access-Control-Allow-Origin * always;
    }
    # The playlist changes every segment: never cached.
    location ~ \.m3u8\$ {
      add_header Access-Control-Allow-Origin * always;
      add_header Cache-Control "no-cache, no-store" always;
      expires off;
      etag off;
      if_modified_since off;
    }
  }
}
EOF

PIDS=()
cleanup() {
  trap - EXIT INT TERM
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$KEEP_DIR" = 0 ]; then rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

nginx -c "$DIR/nginx/nginx.conf" -e "$DIR/nginx/error.log" &
PIDS+=($!)

# The classic live HLS muxer: 1 s GOPs (-g 30 at 30 fps, no scene cuts) so 1 s segments, fMP4, a 6-segment window,
# PROGRAM-DATE-TIME on every segment so the player can measure latency against the wall clock. temp_file makes
# each segment and playlist appear whole (written then renamed).
(cd "$DIR/www/live" && exec ffmpeg -hide_banner -loglevel error -nostdin \
  -re -f lavfi -i "testsrc2=size=1280x720:rate=30" \
  -re -f lavfi -i "sine=frequency=440:sample_rate=48000" \
  -map 0:v -map 1:a \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p -g 30 -keyint_min 30 -sc_threshold 0 -b:v 2500k \
  -c:a aac -b:a 128k -ac 2 \
  -f hls -hls_time 1 -hls_segment_type fmp4 -hls_list_size 6 \
  -hls_flags delete_segments+program_date_time+independent_segments+temp_file \
  -hls_fmp4_init_filename init.mp4 -hls_segment_filename "seg-%d.m4s" \
  stream.m3u8) > "$DIR/ffmpeg.log" 2>&1 &
PIDS+=($!)

PAGE="http://127.0.0.1:$PORT/player/?src=/live/stream.m3u8"
for _ in $(seq 1 200); do
  if [ -f "$DIR/www/live/stream.m3u8" ] && [ "$(grep -c '^#EXTINF' "$DIR/www/live/stream.m3u8" || true)" -ge 3 ] \
     && curl -sf -o /dev/null "http://127.0.0.1:$PORT/live/stream.m3u8"; then
    echo "baseline: ready $PAGE"
    break
  fi
  for p in "${PIDS[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
      echo "baseline: a child exited early; ffmpeg log:" >&2; cat "$DIR/ffmpeg.log" >&2
      echo "nginx log:" >&2; cat "$DIR/nginx/error.log" >&2 2>/dev/null || true
      exit 1
    fi
  done
  sleep 0.1
done
if ! grep -q '^#EXTINF' "$DIR/www/live/stream.m3u8" 2>/dev/null; then
  echo "baseline: no playlist after 20 s" >&2; cat "$DIR/ffmpeg.log" >&2; exit 1
fi

if [ -n "$SECONDS_LIMIT" ]; then
  sleep "$SECONDS_LIMIT" &
  PIDS+=($!)
  wait "${PIDS[-1]}"
else
  wait -n "${PIDS[@]}" || true
  echo "baseline: a child exited; ffmpeg log:" >&2; cat "$DIR/ffmpeg.log" >&2
  exit 1
fi
