# The LL-HLS edge rules shared by varnish.vcl (one origin) and varnish-redundant.vcl (two origins):
# what is cached and for how long, query sorting, errors. Included after the front file has
# chosen the backend; not a VCL of its own (no `vcl 4.1;` line).
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
