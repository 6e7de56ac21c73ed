vcl 4.1;
# Varnish in front of an llhls origin: a minimal LL-HLS-correct CDN edge.
#
# - Every URL is cached under its full query, so a blocking reload
#   (index.m3u8?_HLS_msn=M&_HLS_part=P) is its own object: all viewers asking for the same part
#   collapse onto ONE origin request (Varnish's waiting list), and Varnish wakes every waiter
#   the moment the origin answers (no re-check interval, unlike nginx's proxy_cache_lock).
# - TTLs come from the origin's Cache-Control (llhls sets them per route, rfc8216bis App. B.1):
#   parts/segments/init immutable, live playlists max-age <= half a target duration, blocking
#   answers 6 target durations, 404/503 one second.
# - No grace on playlists: a stale playlist would add latency; media is immutable, so grace
#   there is harmless.
import std;

backend llhls {
    .host = "127.0.0.1";
    .port = "8080";
    # A blocking reload may be held up to ~3 target durations by the origin (§6.2.5.2).
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 30s;
}

include "llhls-rules.vcl";
