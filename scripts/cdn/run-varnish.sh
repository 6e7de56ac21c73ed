#!/usr/bin/env bash
# Runs Varnish (scripts/cdn/varnish.vcl) as a CDN edge in front of an llhls origin, for scripts and by hand.
#
#   scripts/cdn/run-varnish.sh ORIGIN_PORT LISTEN_PORT [WORKDIR]
#   scripts/cdn/run-varnish.sh PRIMARY_PORT,SECONDARY_PORT LISTEN_PORT [WORKDIR]   (varnish-redundant.vcl)
#
# Listens on 127.0.0.1:LISTEN_PORT only (management on a random 127.0.0.1 port), forwards to
# 127.0.0.1:ORIGIN_PORT, caches in 64 MiB of memory. Stays in the foreground until it is stopped
# (SIGTERM/SIGINT) or varnishd dies, then removes what it made. WORKDIR is varnishd's -n directory
# (the name varnishstat/varnishlog/varnishncsa -n take); default a fresh temporary one, removed at exit.
# Prints "varnish: ready on 127.0.0.1:LISTEN_PORT workdir WORKDIR" once it answers HTTP.
set -euo pipefail

usage() { echo "usage: $0 ORIGIN_PORT[,SECONDARY_PORT] LISTEN_PORT [WORKDIR]" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || usage
ORIGIN_PORT="${1%%,*}"; LISTEN_PORT="$2"
SECONDARY_PORT=""
[[ "$1" == *,* ]] && SECONDARY_PORT="${1#*,}"
[[ "$ORIGIN_PORT" =~ ^[0-9]+$ ]] && [[ "$LISTEN_PORT" =~ ^[0-9]+$ ]] || usage
[ -z "$SECONDARY_PORT" ] || [[ "$SECONDARY_PORT" =~ ^[0-9]+$ ]] || usage

VARNISHD="${VARNISHD:-/usr/sbin/varnishd}"
[ -x "$VARNISHD" ] || { echo "$0: $VARNISHD is missing: apt-get install varnish" >&2; exit 1; }
# VARNISH_VCL: another VCL (same backend block), e.g. to check that a test fails without a rule.
HERE="$(cd "$(dirname "$0")" && pwd)"
if [ -n "$SECONDARY_PORT" ]; then DEFAULT_VCL="$HERE/varnish-redundant.vcl"; else DEFAULT_VCL="$HERE/varnish.vcl"; fi
VCL_SRC="${VARNISH_VCL:-$DEFAULT_VCL}"

# Everything varnishd needs lives under TOP; varnishd drops to its own user when run as root, so TOP
# must be traversable by it.
TOP="$(mktemp -d /tmp/llhls-varnish.XXXXXX)"
chmod 755 "$TOP"
WORKDIR="${3:-$TOP/work}"
PID=""
cleanup() {
  # A supervisor like timeout(1) signals the whole group, so TERM can come twice: finish cleaning.
  trap '' INT TERM
  if [ -n "$PID" ]; then
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  rm -rf "$TOP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The VCL with this run's origin port(s) (8080: the origin or primary, 8081: the secondary), and
# the rules it includes.
sed -E -e 's/^([[:space:]]*\.port[[:space:]]*=[[:space:]]*)"8080";/\1"'"$ORIGIN_PORT"'";/' \
  -e 's/^([[:space:]]*\.port[[:space:]]*=[[:space:]]*)"8081";/\1"'"${SECONDARY_PORT:-8081}"'";/' \
  "$VCL_SRC" > "$TOP/llhls.vcl"
cp "$HERE/llhls-rules.vcl" "$TOP/llhls-rules.vcl"
grep -q "\"$ORIGIN_PORT\"" "$TOP/llhls.vcl" || { echo "$0: no backend .port line in $VCL_SRC" >&2; exit 1; }

# -F: foreground (this script is the supervisor). -p feature=+http2 is not needed: players talk
# HTTP/1.1 to the edge here.
"$VARNISHD" -F -n "$WORKDIR" \
  -a "127.0.0.1:$LISTEN_PORT" -T 127.0.0.1:0 \
  -p vcl_path="$TOP" -f "$TOP/llhls.vcl" -s malloc,64m &
PID=$!

for _ in $(seq 1 200); do
  if curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$LISTEN_PORT/.edge/health"; then
    echo "varnish: ready on 127.0.0.1:$LISTEN_PORT workdir $WORKDIR"
    break
  fi
  kill -0 "$PID" 2>/dev/null || { echo "$0: varnishd exited before answering" >&2; wait "$PID" || true; PID=""; exit 1; }
  sleep 0.1
done
kill -0 "$PID" 2>/dev/null || { PID=""; exit 1; }
curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$LISTEN_PORT/.edge/health" \
  || { echo "$0: varnishd did not answer on 127.0.0.1:$LISTEN_PORT within 20 s" >&2; exit 1; }

# Until varnishd dies or we are told to stop (the TERM/INT trap exits, and EXIT cleans up).
set +e
wait "$PID"
RC=$?
PID=""
exit "$RC"
