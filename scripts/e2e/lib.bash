# Shared helpers for scripts/e2e/*.sh and scripts/baseline/run.sh (sourced, not run: scripts/test runs *.sh only).
# Every process started with `bg_start` is stopped when the sourcing script exits.

E2E_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
E2E_OUT="$E2E_ROOT/target/e2e"
E2E_PIDS=()
E2E_TMP=()

e2e_cleanup() {
  local p
  for p in "${E2E_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${E2E_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for p in "${E2E_TMP[@]}"; do rm -rf "$p"; done
}
trap e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Prints the message and exits 1.
die() { echo "$(basename "$0"): FAIL: $*" >&2; exit 1; }

# play_failed JSON WHAT: a failed play.mjs run. Prints its page event trace first and its summary and verdict last,
# so that the end of a long log (all a CI console may keep) says what failed; then dies.
play_failed() {
  python3 - "$1" >&2 <<'PY' || cat "$1" >&2 2>/dev/null || true
import json, sys
d = json.load(open(sys.argv[1]))
trace = d.pop("trace", [])
print("page event trace (%d lines):" % len(trace))
for line in trace:
    print("  " + line)
failures = d.pop("failures", [])
print(json.dumps(d, indent=2))
print("failures: " + "; ".join(failures))
PY
  die "$2 (see $1)"
}

# play_page SECS JSON WHAT PLAY_ARGS...: runs play.mjs (bounded by SECS) writing JSON; a failure dies via play_failed.
# One exception, retried once: hls.js's own SourceBuffer race, where its append queue calls appendBuffer while
# the buffer is still updating ("still processing an 'appendBuffer' or 'remove' operation") during its start-up
# seek, and drops bytes it had loaded (they are in the trace as "loaded"), which leaves a hole. That is the
# player's fault, not the origin's; seen once in many runs. Any other failure, or the race twice, fails the test.
play_page() {
  local secs="$1" json="$2" what="$3"
  shift 3
  timeout "$secs" node "$E2E_ROOT/scripts/player/play.mjs" "$@" --json "$json" > /dev/null && return 0
  if grep -q "bufferAppendError[^\"]*still processing an 'appendBuffer'" "$json" 2>/dev/null; then
    cp "$json" "${json%.json}.first.json"
    echo "$what: hls.js SourceBuffer append race in the first run (kept as ${json%.json}.first.json); one retry" >&2
    timeout "$secs" node "$E2E_ROOT/scripts/player/play.mjs" "$@" --json "$json" > /dev/null && return 0
  fi
  play_failed "$json" "$what"
}

# Prints a free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Makes a temporary directory removed at exit; sets TMP_DIR to its path (call it directly, not in $(...)).
tmp_dir() {
  TMP_DIR="$(mktemp -d /tmp/llhls-e2e.XXXXXX)"
  E2E_TMP+=("$TMP_DIR")
}

# bg_start LOG CMD...: runs CMD in the background, output to LOG; sets BG_PID.
bg_start() {
  local log="$1"; shift
  "$@" > "$log" 2>&1 &
  BG_PID=$!
  E2E_PIDS+=("$BG_PID")
}

# wait_http URL SECONDS [PID]: waits until URL answers 200; fails if PID exits first.
wait_http() {
  local url="$1" secs="$2" pid="${3:-}" i
  for i in $(seq 1 $((secs * 10))); do
    curl -sf -o /dev/null --max-time 2 "$url" && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}

# The llhls binary the tests drive: $LLHLS_BIN or target/debug/llhls. Fails clearly when it is missing.
need_llhls() {
  LLHLS="${LLHLS_BIN:-$E2E_ROOT/target/debug/llhls}"
  [ -x "$LLHLS" ] || die "llhls binary $LLHLS is missing: build it first (cargo build --bin llhls)"
}

# A Varnish edge (scripts/cdn/run-varnish.sh, scripts/cdn/varnish.vcl) for the CDN tests.
#   edge_ports: sets P1 (origin) and P2 (edge), two distinct free ports, and ORIGIN and EDGE, their URLs.
#   start_edge LOG WORKDIR: starts Varnish on P2 in front of P1 (WORKDIR is its -n directory, which
#   varnishd, dropping to its own user, must reach); waits until it answers; sets EDGE_PID.
edge_ports() {
  [ -x /usr/sbin/varnishd ] || die "/usr/sbin/varnishd is missing: apt-get install varnish (scripts/setup)"
  P1="$(free_port)"
  P2="$(free_port)"
  while [ "$P2" = "$P1" ]; do P2="$(free_port)"; done
  ORIGIN="http://127.0.0.1:$P1"
  EDGE="http://127.0.0.1:$P2"
}
start_edge() {
  local log="$1" work="$2"
  chmod 755 "$(dirname "$work")"
  bg_start "$log" timeout 90 "$E2E_ROOT/scripts/cdn/run-varnish.sh" "$P1" "$P2" "$work"
  EDGE_PID=$BG_PID
  for _ in $(seq 1 300); do
    grep -q '^varnish: ready' "$log" && return 0
    kill -0 "$EDGE_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$log" >&2
  die "varnish did not start"
}

# The player's npm dependencies and the browser.
need_player() {
  [ -f "$E2E_ROOT/scripts/player/node_modules/hls.js/dist/hls.min.js" ] \
    || die "scripts/player/node_modules is missing: run scripts/setup"
  [ -x /usr/bin/chromium ] || die "/usr/bin/chromium is missing: apt-get install chromium (scripts/setup)"
}

# The first URI line of a playlist (its first variant, or its first segment), from stdin.
first_uri() { grep -v '^#' | grep -v '^[[:space:]]*$' | head -1 | tr -d '\r'; }

# nginx_start WWWDIR PORT LOGDIR: serves WWWDIR statically on 127.0.0.1:PORT with CORS and uncached playlists
# (nginx as root, workers as nobody: WWWDIR must be world-readable). Sets BG_PID.
nginx_start() {
  local www="$1" port="$2" dir="$3"
  mkdir -p "$dir"
  cat > "$dir/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  # mime.types already maps m3u8 and mp4.
  types { video/iso.segment m4s; }
  access_log $dir/access.log;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  sendfile on;
  tcp_nodelay on;
  server {
    listen 127.0.0.1:$port;
    root $www;
    location / {
      add_header Access-Control-Allow-Origin * always;
    }
    # A live playlist changes every segment: never cached.
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
  bg_start "$dir/nginx.out" nginx -c "$dir/nginx.conf" -e "$dir/error.log"
}

# copy_player WWWDIR: puts the player page and hls.js under WWWDIR/player/ (same origin as the media).
copy_player() {
  mkdir -p "$1/player"
  cp "$E2E_ROOT"/scripts/player/page/* "$1/player/"
  cp "$E2E_ROOT/scripts/player/node_modules/hls.js/dist/hls.min.js" "$1/player/hls.min.js"
  chmod -R a+rX "$1"
}

# ffmpeg_reads URL SECONDS: the ffmpeg CLI reads SECONDS of URL with no error and decodes at least 90 % of it.
ffmpeg_reads() {
  local url="$1" secs="$2" err prog us
  err="$(mktemp)"; prog="$(mktemp)"
  if ! timeout $((secs * 3 + 20)) ffmpeg -hide_banner -nostdin -loglevel error -i "$url" -t "$secs" \
      -f null - -progress "$prog" 2> "$err"; then
    cat "$err" >&2; rm -f "$err" "$prog"; die "ffmpeg could not read $url"
  fi
  if [ -s "$err" ]; then
    cat "$err" >&2; rm -f "$err" "$prog"; die "ffmpeg reported errors reading $url"
  fi
  us="$(grep '^out_time_us=' "$prog" | tail -1 | cut -d= -f2)"
  rm -f "$err" "$prog"
  [ -n "$us" ] && [ "$us" -ge $((secs * 900000)) ] || die "ffmpeg decoded only ${us:-0} us of $url (wanted ${secs} s)"
  echo "ffmpeg read $url: $((us / 1000)) ms decoded"
}
