#!/usr/bin/env bash
# llhls behind a real CDN edge: Varnish 7 with scripts/cdn/varnish.vcl in front of `llhls serve`.
# Checks through the edge that
#   - playlists, init, part and segment arrive intact with the origin's Cache-Control, and media is
#     cached (second GET is a HIT, no new origin request);
#   - 50 concurrent blocking reloads for the next part (rfc8216bis-22 §6.2.5.2) collapse onto one origin
#     request, and all 50 get a playlist with that part; prints the collapse ratio and the spread
#     between the first and the last answer (Varnish wakes its waiting list at once);
#   - directive order does not split the cache (?_HLS_part=P&_HLS_msn=M is the object of
#     ?_HLS_msn=M&_HLS_part=P);
#   - a 404 is cached at most a second and never served stale.
# Origin requests are counted by the origin itself (/metrics, asked directly) and by Varnish
# (varnishstat MAIN.backend_req).
set -euo pipefail
source "$(dirname "$0")/lib.bash"
need_llhls
mkdir -p "$E2E_OUT"
tmp_dir
WORK="$TMP_DIR"
N=50

edge_ports
VSTAT="$WORK/varnish"

bg_start "$E2E_OUT/cdn-varnish-origin.log" timeout 90 "$LLHLS" serve --listen "127.0.0.1:$P1"
OPID=$BG_PID
wait_http "$ORIGIN/live/720p/index.m3u8" 20 "$OPID" || { cat "$E2E_OUT/cdn-varnish-origin.log" >&2; die "llhls did not serve on $ORIGIN"; }
start_edge "$E2E_OUT/cdn-varnish-edge.log" "$VSTAT"

# vstat NAME: a Varnish counter.
vstat() { varnishstat -n "$VSTAT" -1 -f "$1" | awk -v n="$1" '$1 == n { print $2 }'; }
# backend_requests: Varnish's count of fetches from the origin.
backend_requests() { vstat MAIN.backend_req; }
# origin_count ROUTE: the origin's own count of answers on ROUTE (all statuses).
origin_count() {
  curl -sf --max-time 5 "$ORIGIN/metrics" \
    | awk -v r="route=\"$1\"" 'index($0, "llhls_requests_total{") == 1 && index($0, r) { n += $NF } END { print n + 0 }'
}
# origin_wakes: requests the origin held and answered when their part was published.
origin_wakes() {
  curl -sf --max-time 5 "$ORIGIN/metrics" | awk '$1 == "llhls_wake_delay_seconds_count" { print $2 }'
}
# header FILE NAME: the value of header NAME in a curl -D dump (case-insensitive), without CR.
header() { awk -v n="$(echo "$2" | tr 'A-Z' 'a-z')" -F': ' 'tolower($1) == n { sub(/\r$/, "", $2); v = $2 } END { print v }' "$1"; }
# get URL NAME: GET through curl; body in $WORK/NAME.body, headers in $WORK/NAME.h; prints the status.
get() { curl -s --max-time 20 -D "$WORK/$2.h" -o "$WORK/$2.body" -w '%{http_code}' "$1"; }

# A complete segment (and its parts) in the window before anything is checked.
for _ in $(seq 1 150); do
  curl -sf --max-time 5 "$ORIGIN/live/720p/index.m3u8" | grep -q '^#EXTINF' && break
  sleep 0.1
done
curl -sf --max-time 5 "$ORIGIN/live/720p/index.m3u8" | grep -q '^#EXTINF' || die "no complete segment in the 720p playlist after 15 s"

# 1. Objects arrive intact, with the origin's Cache-Control.
for path in /live/master.m3u8 /live/720p/index.m3u8; do
  [ "$(get "$EDGE$path" edge)" = 200 ] || die "GET $path through varnish: not 200"
  [ "$(get "$ORIGIN$path" origin)" = 200 ] || die "GET $path at the origin: not 200"
  [ "$(header "$WORK/edge.h" cache-control)" = "$(header "$WORK/origin.h" cache-control)" ] \
    || die "$path: Cache-Control '$(header "$WORK/edge.h" cache-control)' through varnish, '$(header "$WORK/origin.h" cache-control)' at the origin"
  head -1 "$WORK/edge.body" | grep -q '^#EXTM3U' || die "$path through varnish is not a playlist"
done
# Varnish asks the origin for gzip and unzips for a client that did not: the multivariant (it does
# not change) must come out byte for byte, plain and gzip-decoded.
[ "$(get "$EDGE/live/master.m3u8" edge)" = 200 ] && [ "$(get "$ORIGIN/live/master.m3u8" origin)" = 200 ] \
  && cmp -s "$WORK/edge.body" "$WORK/origin.body" || die "the multivariant through varnish differs from the origin's"
curl -sf --max-time 10 -H 'Accept-Encoding: gzip' "$EDGE/live/master.m3u8" | gunzip | cmp -s - "$WORK/origin.body" \
  || die "the gzip multivariant through varnish does not decode to the origin's"
get "$ORIGIN/live/720p/index.m3u8" pl > /dev/null
MAP="$(grep -m1 '^#EXT-X-MAP:' "$WORK/pl.body" | sed -E 's/.*URI="([^"]+)".*/\1/')"
PART="$(grep '^#EXT-X-PART:' "$WORK/pl.body" | head -1 | sed -E 's/.*URI="([^"]+)".*/\1/')"
SEG="$(grep -v '^#' "$WORK/pl.body" | grep -m1 '\.m4s' | tr -d '\r' || true)"
[ -n "$MAP" ] && [ -n "$PART" ] && [ -n "$SEG" ] || die "the 720p playlist lacks a map, a part or a segment"
for rel in "$MAP" "$PART" "$SEG"; do
  url="/live/720p/$rel"
  [ "$(get "$ORIGIN$url" origin)" = 200 ] || die "GET $url at the origin: not 200"
  before="$(backend_requests)"
  [ "$(get "$EDGE$url" first)" = 200 ] || die "GET $url through varnish: not 200"
  [ "$(get "$EDGE$url" second)" = 200 ] || die "second GET $url through varnish: not 200"
  after="$(backend_requests)"
  cmp -s "$WORK/origin.body" "$WORK/second.body" || die "$url through varnish differs from the origin's bytes"
  [ "$(header "$WORK/second.h" cache-control)" = "$(header "$WORK/origin.h" cache-control)" ] \
    || die "$url: Cache-Control '$(header "$WORK/second.h" cache-control)' through varnish, '$(header "$WORK/origin.h" cache-control)' at the origin"
  [ "$(header "$WORK/second.h" x-cache)" = HIT ] || die "second GET $url through varnish was not a HIT ($(header "$WORK/second.h" x-cache))"
  [ $((after - before)) -le 1 ] || die "two GETs of $url made $((after - before)) origin requests"
  echo "cdn_varnish: $url: $(header "$WORK/first.h" x-cache) then HIT, Cache-Control '$(header "$WORK/second.h" cache-control)', origin requests $((after - before))"
done

# 2. Collapsing. The target is the part after the preload hint of the playlist as the origin has it
# now (read just before firing, so it is fresh): its reload is held 1-2 part durations, long enough
# for all N requests to queue at the edge.
B0="$(backend_requests)"; M0="$(origin_count media)"; W0="$(origin_wakes)"; S0="$(vstat MAIN.busy_sleep)"
timeout 30 python3 - "$ORIGIN" "$EDGE" /live/720p/index.m3u8 "$N" > "$WORK/collapse.out" <<'PY' \
  || { cat "$WORK/collapse.out" >&2; die "the $N concurrent blocking reloads failed"; }
# Opens N connections to the edge, then sends one request on each at the same instant (a barrier);
# records when each complete answer arrived. Prints: ok MSN PART SPREAD_MS HELD_MS MISSES.
import http.client, re, sys, threading, time, urllib.request
origin, edge, path, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
host, port = edge.split("//")[1].split(":")
conns = [http.client.HTTPConnection(host, int(port), timeout=20) for _ in range(n)]
for c in conns:
    c.connect()
text = urllib.request.urlopen(origin + path, timeout=10).read().decode()
hint = re.search(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="[^"]*/(\d+)\.(\d+)\.m4s"', text)
if not hint:
    sys.exit("no part preload hint in the playlist")
msn, part = int(hint.group(1)), int(hint.group(2))
# Parts per segment: those of the last complete segment (the PART lines before its EXTINF).
counts, k = [], 0
for line in text.splitlines():
    if line.startswith("#EXT-X-PART:"):
        k += 1
    elif line.startswith("#EXTINF"):
        counts.append(k); k = 0
if not counts or counts[-1] == 0:
    sys.exit("no complete segment with parts in the playlist")
# After the last part of a segment comes part 0 of the next one (rfc8216bis-22 §6.2.5.2).
msn, part = (msn, part + 1) if part + 1 < counts[-1] else (msn + 1, 0)
query = "%s?_HLS_msn=%d&_HLS_part=%d" % (path, msn, part)
barrier = threading.Barrier(n)
results = [None] * n
def one(i):
    try:
        barrier.wait()
        sent = time.monotonic()
        conns[i].request("GET", query)
        r = conns[i].getresponse()
        body = r.read().decode("utf-8", "replace")
        results[i] = (r.status, r.getheader("X-Cache"), body, sent, time.monotonic())
    except Exception as e:  # reported below as a failed request
        results[i] = (None, repr(e), "", 0.0, 0.0)
threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join()
want = re.compile(r'#EXT-X-PART:[^\n]*URI="[^"]*/%d\.%d\.m4s"' % (msn, part))
bad = [r for r in results if r[0] != 200 or not want.search(r[2])]
if bad:
    print("%d of %d answers to %s were not 200 with part %d.%d: e.g. %r" % (len(bad), n, query, msn, part, (bad[0][0], bad[0][1], bad[0][2][:200])))
    sys.exit(1)
first = min(r[4] for r in results); last = max(r[4] for r in results)
start = min(r[3] for r in results)
misses = sum(1 for r in results if r[1] != "HIT")
print("ok %d %d %.2f %.1f %d" % (msn, part, (last - first) * 1000, (first - start) * 1000, misses))
PY
B1="$(backend_requests)"; M1="$(origin_count media)"; W1="$(origin_wakes)"; S1="$(vstat MAIN.busy_sleep)"
read -r _ok MSN PARTNO SPREAD HELD MISSES < "$WORK/collapse.out"
TARGET="/live/720p/index.m3u8?_HLS_msn=$MSN&_HLS_part=$PARTNO"
SLEPT=$((S1 - S0))
# Varnish's own view (its shared-memory log): when it finished each of the N answers. Unlike the
# client's clock this leaves out the client's threads; it still includes the sending spread for
# requests that arrived after the object was in (those never waited).
VSPREAD="$(varnishncsa -n "$VSTAT" -d -q "ReqURL eq \"$TARGET\"" -F '%{VSL:Timestamp:Resp[1]}x' \
  | sort -n | awk 'NR == 1 { f = $1 } { l = $1 } END { if (NR) printf "%.2f %d", (l - f) * 1000, NR }')"
read -r VSPREAD_MS VLOGGED <<< "${VSPREAD:-? 0}"
[ "$VLOGGED" = "$N" ] || die "varnish logged $VLOGGED answers to $TARGET, not $N"
# The origin also answered the one playlist read that chose the target.
EDGE_FETCHES=$((B1 - B0)); ORIGIN_SAW=$((M1 - M0 - 1))
[ "$ORIGIN_SAW" -ge 1 ] || die "the origin saw no request for $TARGET (its media count did not move)"
[ "$ORIGIN_SAW" -le 2 ] || die "$N concurrent reloads of $TARGET reached the origin $ORIGIN_SAW times (want 1, at most 2)"
[ "$EDGE_FETCHES" -le 2 ] || die "varnish fetched $TARGET $EDGE_FETCHES times for $N clients"
# The reload must really have been held at the origin, or this proved nothing about waiting lists.
[ $((W1 - W0)) -ge 1 ] || die "the origin did not hold the reload for $TARGET (the part was already out after ${HELD} ms): collapsing untested"
[ "$SLEPT" -ge 1 ] || die "no request waited on varnish's waiting list for $TARGET (busy_sleep did not move)"
echo "cdn_varnish: $N concurrent $TARGET: all 200 with part $MSN.$PARTNO; held ${HELD} ms until the first answer; $MISSES MISS, $((N - MISSES)) HIT; $SLEPT slept on the waiting list"

# 3. Directive order: the same reload with the query reversed is the same object.
B2="$(backend_requests)"
[ "$(get "$EDGE/live/720p/index.m3u8?_HLS_part=$PARTNO&_HLS_msn=$MSN" reversed)" = 200 ] || die "the reversed-query reload was not 200"
B3="$(backend_requests)"
[ "$(header "$WORK/reversed.h" x-cache)" = HIT ] && [ "$B3" = "$B2" ] \
  || die "?_HLS_part=$PARTNO&_HLS_msn=$MSN was not a HIT on the ?_HLS_msn=$MSN&_HLS_part=$PARTNO object ($(header "$WORK/reversed.h" x-cache), $((B3 - B2)) origin requests)"
echo "cdn_varnish: ?_HLS_part=$PARTNO&_HLS_msn=$MSN: HIT on the ?_HLS_msn=$MSN&_HLS_part=$PARTNO object"

# 4. Errors: an unknown rendition (playlist) and a segment far in the future are 404, short-lived at the
# origin (max-age <= 2), cached at most ~1 s at the edge and never served stale after that.
EPOCH="${MAP%%/*}"
for url in /live/nope/index.m3u8 "/live/720p/$EPOCH/999999.m4s"; do
  [ "$(get "$EDGE$url" e1)" = 404 ] || die "GET $url through varnish: not 404"
  cc="$(header "$WORK/e1.h" cache-control)"
  age="$(echo "$cc" | sed -nE 's/.*max-age=([0-9]+).*/\1/p')"
  [ -n "$age" ] && [ "$age" -le 2 ] || die "$url: 404 with Cache-Control '$cc' (want max-age <= 2)"
  sleep 1.3
  before="$(backend_requests)"
  [ "$(get "$EDGE$url" e2)" = 404 ] || die "GET $url through varnish a second time: not 404"
  after="$(backend_requests)"
  [ "$(header "$WORK/e2.h" x-cache)" = MISS ] && [ $((after - before)) -eq 1 ] \
    || die "$url: the 404 was still served from the cache 1.3 s later ($(header "$WORK/e2.h" x-cache))"
  echo "cdn_varnish: $url: 404, Cache-Control '$cc', refetched after 1.3 s"
done

echo "cdn_varnish: summary: $N clients -> origin saw $ORIGIN_SAW request(s), varnish fetched $EDGE_FETCHES (collapse ratio $N:$ORIGIN_SAW); wake spread first->last answer ${SPREAD} ms at the client, ${VSPREAD_MS} ms in varnish's log; origin held the reload ${HELD} ms; $SLEPT of $N waited on varnish's waiting list"
echo "cdn_varnish: ok"
