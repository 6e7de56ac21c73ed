#!/usr/bin/env bash
# Byte-range parts behind a real CDN edge: `llhls serve` with fixtures/config/good_byterange.toml
# (EXT-X-PART BYTERANGE, PRELOAD-HINT BYTERANGE-START) and Varnish 7 (scripts/cdn/varnish.vcl) in
# front. Viewers following the hint ask the edge for `Range: bytes=START-` of the segment still
# being written (half of them as `bytes=START-9007199254740991`, RFC 8673's form that rfc8216bis
# §4.4.5.3 recommends). Checks that
#   - the concurrent hint requests of many viewers reach the origin as one request for the segment
#     (the edge fetches the segment whole, without the Range, and every viewer reads that object);
#   - every viewer gets the segment's bytes from START on, equal to the origin's complete segment
#     (Varnish answers a Range on an object still arriving with a 200 of the whole object; a 206
#     must name its range);
#   - the bytes arrive part by part as the origin completes them, not at the segment's end, and each
#     part arrives in one burst (rfc8216bis-22 §6.2.6: no byte of a part before all of it can go at the
#     link's speed, for each part in turn), through the edge;
#   - once the segment is complete the same Range is a HIT answered 206 with its Content-Range.
set -euo pipefail
source "$(dirname "$0")/lib.bash"
need_llhls
mkdir -p "$E2E_OUT"
tmp_dir
WORK="$TMP_DIR"
N=20

edge_ports
PL=/ranges/540p/index.m3u8

bg_start "$E2E_OUT/cdn-byterange-origin.log" timeout 90 "$LLHLS" serve \
  --config "$E2E_ROOT/fixtures/config/good_byterange.toml" --listen "127.0.0.1:$P1"
OPID=$BG_PID
wait_http "$ORIGIN$PL" 20 "$OPID" || { cat "$E2E_OUT/cdn-byterange-origin.log" >&2; die "llhls did not serve on $ORIGIN"; }
start_edge "$E2E_OUT/cdn-byterange-edge.log" "$WORK/varnish"

timeout 60 python3 - "$ORIGIN" "$EDGE" "$PL" "$N" > "$WORK/probe.out" <<'PY' || { cat "$WORK/probe.out" >&2; die "byte-range parts through varnish failed"; }
import http.client, re, sys, threading, time
origin, edge, pl, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
base = pl.rsplit("/", 1)[0] + "/"

def conn(url, timeout=20):
    host, port = url.split("//")[1].split(":")
    return http.client.HTTPConnection(host, int(port), timeout=timeout)

def get(url, path, headers=None):
    c = conn(url)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()

def segment_requests():
    _, _, body = get(origin, "/metrics")
    return sum(float(l.rsplit(" ", 1)[1]) for l in body.decode().splitlines()
               if l.startswith("llhls_requests_total{") and 'route="segment"' in l)

def hint():
    _, _, body = get(origin, pl)
    text = body.decode()
    m = re.search(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)",BYTERANGE-START=(\d+)', text)
    if not m:
        sys.exit("no byte-range preload hint in\n" + text)
    listed = len(re.findall(r'#EXT-X-PART:[^\n]*URI="%s"' % re.escape(m.group(1)), text))
    return m.group(1), int(m.group(2)), listed, "#EXTINF" in text

# A running stream with a complete segment, and a hint one part into the segment being written
# (a viewer joining mid-segment, the case where the edge's 200 carries bytes it already has).
deadline = time.monotonic() + 30
while True:
    uri, start, listed, has_segment = hint()
    if has_segment and listed == 1:
        break
    if time.monotonic() > deadline:
        sys.exit("no hint one part into an open segment within 30 s")
    time.sleep(0.03)
path = base + uri
before = segment_requests()
results = [None] * n
barrier = threading.Barrier(n)

def viewer(i):
    try:
        c = conn(edge)
        c.connect()
        barrier.wait()
        t0 = time.monotonic()
        # Half ask as rfc8216bis-22 §4.4.5.3 recommends (RFC 8673's last byte 2^53 - 1), half open-ended.
        end = "9007199254740991" if i % 2 else ""
        c.request("GET", path, headers={"Range": "bytes=%d-%s" % (start, end)})
        r = c.getresponse()
        got, arrivals = b"", []
        while True:
            b = r.read1(1 << 20)
            if not b:
                break
            got += b
            arrivals.append((len(got), time.monotonic() - t0))
        results[i] = (r.status, {k.lower(): v for k, v in r.getheaders()}, got, arrivals)
    except Exception as e:
        results[i] = (None, {}, repr(e).encode(), [])

threads = [threading.Thread(target=viewer, args=(i,)) for i in range(n)]
[t.start() for t in threads]
[t.join() for t in threads]
after = segment_requests()

# The complete segment at the origin and its parts' byte ranges from the final playlist.
status, _, whole = get(origin, path)
if status != 200:
    sys.exit("GET %s at the origin: %d" % (path, status))
_, _, body = get(origin, pl)
parts = [(int(a), int(b)) for a, b in
         re.findall(r'#EXT-X-PART:[^\n]*URI="%s",[^\n]*BYTERANGE="(\d+)@(\d+)"' % re.escape(uri), body.decode())]
ends = [off + ln for ln, off in parts]
if not ends or ends[-1] != len(whole):
    sys.exit("the final playlist's parts of %s do not cover its %d bytes: %r" % (uri, len(whole), parts))

for i, (status, h, got, arrivals) in enumerate(results):
    if status == 200:
        skip = 0  # the whole object: the viewer drops the bytes before START itself
    elif status == 206:
        # Open-ended: no Content-Range; RFC 8673 form: the range echoed; once complete: the real one.
        cr = h.get("content-range")
        if cr is not None and not cr.startswith("bytes %d-" % start):
            sys.exit("viewer %d: 206 with Content-Range %r" % (i, cr))
        skip = start
    else:
        sys.exit("viewer %d: %r %r" % (i, status, got[:200]))
    if whole[start:] != got[start - skip:]:
        sys.exit("viewer %d: %d bytes (status %d) are not the segment from byte %d" % (i, len(got), status, start))
    # rfc8216bis-22 §6.2.6 through the edge: the bytes of each part still to come arrive in one burst
    # (the time between its first and its last byte is short against the 0.33 s a part lasts), and
    # the first of them well before the segment's end.
    def when(offset):  # time the byte at `offset` (offset into `got`) had arrived
        return next(t for n_, t in arrivals if n_ > offset)
    later = [(a, b) for a, b in zip([0] + ends, ends) if a >= start]
    for a, b in later:
        first, last = when(a - skip), when(b - 1 - skip)
        if last - first > 0.15:
            sys.exit("viewer %d: part %d-%d arrived over %.0f ms, not in one burst" % (i, a, b, (last - first) * 1000))
    if len(later) >= 2 and when(later[-1][0] - skip) - when(later[0][0] - skip) < 0.3:
        sys.exit("viewer %d: the parts did not arrive as they were made (all within 0.3 s)" % i)

statuses = sorted({r[0] for r in results})
caches = [r[1].get("x-cache") for r in results]
seen = after - before
if seen > 2:
    sys.exit("%d viewers of %s made %d origin segment requests (want 1, at most 2)" % (n, uri, seen))
# Now complete and cached: the same Range is answered from the object.
status, h, got = get(edge, path, {"Range": "bytes=%d-" % start})
if status != 206 or h.get("content-range") != "bytes %d-%d/%d" % (start, len(whole) - 1, len(whole)) \
        or got != whole[start:] or h.get("x-cache") != "HIT":
    sys.exit("the complete segment's Range through varnish: %d %r %r, %d bytes" % (status, h.get("content-range"), h.get("x-cache"), len(got)))
spans = [r[3][-1][1] - r[3][0][1] for r in results if r[3]]
print("ok %s %d %d %s %d %d %.0f %d" % (uri, start, len(whole), "/".join(map(str, statuses)),
      sum(c == "HIT" for c in caches), seen, 1000 * min(spans), len(parts)))
PY
read -r _ok URI START LEN STATUSES HITS SEEN SPAN PARTS < "$WORK/probe.out"
echo "cdn_varnish_byterange: $N viewers asked the edge for bytes=$START- of $URI (a $LEN-byte segment of $PARTS parts): status $STATUSES, $HITS HIT, $SEEN origin segment request(s); each part arrived in one burst, the rest over ${SPAN} ms as it was made; the complete object then answered 206 from the cache"
echo "cdn_varnish_byterange: ok"
