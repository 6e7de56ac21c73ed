#!/usr/bin/env bash
# Redundant origins behind one CDN edge, end to end: two `llhls serve` with the same config
# (scripts/e2e/failover.toml) started 1.3 s apart, Varnish (scripts/cdn/varnish-redundant.vcl: a
# fallback director with health probes, a failed fetch retried on the other origin) in front, and
# hls.js in Chromium playing through the edge. 15 s in, the primary is killed (SIGKILL); 15 s
# later it is started again. The player must see no fatal error and no stall over one second, its
# latency must settle back (last 10 s within 0.5 s of the first part's), and every media URL it
# fetched, before and after, must carry the one URL version both origins share. Prints the time
# from the kill to the first object the edge got from the secondary.
set -euo pipefail
source "$(dirname "$0")/lib.bash"
need_llhls
need_player
mkdir -p "$E2E_OUT"
tmp_dir
WORK="$TMP_DIR"
[ -x /usr/sbin/varnishd ] || die "/usr/sbin/varnishd is missing: apt-get install varnish (scripts/setup)"
PA="$(free_port)"; PB="$(free_port)"; PE="$(free_port)"
while [ "$PB" = "$PA" ]; do PB="$(free_port)"; done
while [ "$PE" = "$PA" ] || [ "$PE" = "$PB" ]; do PE="$(free_port)"; done
CONFIG="$E2E_ROOT/scripts/e2e/failover.toml"
OUT="$E2E_OUT/cdn_failover.json"

# No timeout(1) wrapper on A: the SIGKILL below must reach llhls itself (lib.bash stops what is left at exit).
bg_start "$E2E_OUT/cdn_failover-a.log" "$LLHLS" serve --config "$CONFIG" --listen "127.0.0.1:$PA"
APID=$BG_PID
sleep 1.3
bg_start "$E2E_OUT/cdn_failover-b.log" timeout 150 "$LLHLS" serve --config "$CONFIG" --listen "127.0.0.1:$PB"
BPID=$BG_PID
wait_http "http://127.0.0.1:$PA/live/360p/index.m3u8" 30 "$APID" || die "origin A did not serve"
wait_http "http://127.0.0.1:$PB/live/360p/index.m3u8" 30 "$BPID" || die "origin B did not serve"
chmod 755 "$(dirname "$WORK/varnish")"
bg_start "$E2E_OUT/cdn_failover-varnish.log" timeout 150 "$E2E_ROOT/scripts/cdn/run-varnish.sh" "$PA,$PB" "$PE" "$WORK/varnish"
for _ in $(seq 1 300); do grep -q '^varnish: ready' "$E2E_OUT/cdn_failover-varnish.log" && break; sleep 0.1; done
grep -q '^varnish: ready' "$E2E_OUT/cdn_failover-varnish.log" || { cat "$E2E_OUT/cdn_failover-varnish.log" >&2; die "varnish did not start"; }
EDGE="http://127.0.0.1:$PE"
wait_http "$EDGE/live/master.m3u8" 30 || die "the edge did not serve"
# Let B's first segments exist too.
sleep 3

# The player page comes from A (loaded before the kill); the stream through the edge.
timeout 120 node "$E2E_ROOT/scripts/player/play.mjs" "http://127.0.0.1:$PA/player/?src=$EDGE/live/master.m3u8" \
  --seconds 50 --max-latency 6 --max-stalls 3 --json "$OUT" > /dev/null &
PLAY=$!
sleep 20
KILLED_MS="$(date +%s%3N)"
kill -9 "$APID"
# How long until the edge has something new from the secondary: poll fresh (uncached) playlist
# fetches until one comes from it.
SWITCH_MS=""
for i in $(seq 1 200); do
  ORIGIN_HDR="$(curl -s -o /dev/null -D - --max-time 2 "$EDGE/live/360p/index.m3u8?probe=$i-$RANDOM" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-origin"{print $2}')"
  if [ "$ORIGIN_HDR" = "secondary" ]; then SWITCH_MS=$(( $(date +%s%3N) - KILLED_MS )); break; fi
  sleep 0.05
done
[ -n "$SWITCH_MS" ] || die "no answer from the secondary within 10 s of the kill"
sleep 15
bg_start "$E2E_OUT/cdn_failover-a2.log" "$LLHLS" serve --config "$CONFIG" --listen "127.0.0.1:$PA"
wait "$PLAY" || play_failed "$OUT" "failover playback"
kill -0 "$BPID" 2>/dev/null || die "origin B died"

python3 - "$OUT" "$SWITCH_MS" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
fails = []
if d.get("fatalError"):
    fails.append("fatal error: %s" % d["fatalError"])
if d["longestStallMs"] > 1000:
    fails.append("a stall of %d ms (at most 1000)" % d["longestStallMs"])
first, tail = d["latency"]["p50"], d["latencyTail"]
if tail is None or first is None or tail > first + 0.5:
    fails.append("latency did not settle: p50 %s s, last 10 s %s s" % (first, tail))
versions = set()
msns = []
for r in d["mediaRequests"]:
    m = re.match(r"^/live/[^/]+/(\d+)/(\d+)(?:\.(\d+))?\.m4s$", r["path"])
    if m:
        versions.add(m.group(1))
        msns.append((r["t"], int(m.group(2))))
if len(versions) != 1:
    fails.append("media URLs carry %d versions: %s" % (len(versions), sorted(versions)))
before = [m for t, m in msns if t < 20]
after = [m for t, m in msns if t > 25]
if not before or not after or min(after) <= max(before) - 3:
    fails.append("segment numbers did not continue across the failover")
print("cdn_failover: %s: switch (kill -> first object from the secondary at the edge) %s ms; latency p50 %s s, last 10 s %s s; stalls %s, longest %s ms; %d media requests under one URL version %s" % (
    "ok" if not fails else "FAIL", sys.argv[2], first, tail, d["stalls"], d["longestStallMs"], len(msns), sorted(versions)))
if fails:
    print("failures: " + "; ".join(fails), file=sys.stderr)
    sys.exit(1)
PY
