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

sub vcl_recv {
    # Liveness of the edge itself (scripts/cdn/run-varnish.sh waits on it); never reaches the origin.
    if (req.url == "/.edge/health") {
        return (synth(200, "OK"));
    }
    if (req.method != "GET" && req.method != "HEAD" && req.method != "OPTIONS") {
        return (synth(405));
    }
    # A CORS preflight goes to the origin as itself (a cached fetch would turn it into a GET).
    if (req.method == "OPTIONS") {
        return (pass);
    }
    # Directive order does not change the answer: sort the query so that
    # ?_HLS_part=2&_HLS_msn=7 and ?_HLS_msn=7&_HLS_part=2 share one object.
    set req.url = std.querysort(req.url);
    unset req.http.Cookie;
    unset req.http.Authorization;
    return (hash);
}

sub vcl_backend_response {
    if (bereq.url ~ "\.m3u8") {
        set beresp.grace = 0s;
        set beresp.keep = 0s;
    }
    # Errors stay short-lived even if an origin forgot to say so, and are never served stale:
    # a part asked for a moment too early must not stay a 404 for the default 10 s of grace.
    if (beresp.status >= 400) {
        if (beresp.ttl > 1s) {
            set beresp.ttl = 1s;
        }
        set beresp.grace = 0s;
        set beresp.keep = 0s;
    }
    return (deliver);
}

sub vcl_deliver {
    # Whether this answer came from the cache (obj.hits counts earlier deliveries of the object).
    # A waiter woken by a collapsed fetch is a HIT: it never reached the origin.
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}

sub vcl_synth {
    if (req.url == "/.edge/health" && resp.status == 200) {
        set resp.http.Content-Type = "text/plain";
        synthetic("OK");
        return (deliver);
    }
}
