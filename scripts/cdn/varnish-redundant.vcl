vcl 4.1;
# Varnish in front of TWO llhls origins running the same config: a redundant CDN edge.
#
# On the wall-clock timeline (README, "One timeline for every origin") both origins serve the
# same URL for the same MSN with the same durations and dates, so the edge may take any object
# from either. `origins` is a fallback director: the primary while its readiness probe (/readyz,
# every 0.5 s) passes, else the secondary. A fetch that fails on one origin (refused, reset, or
# cut mid-body) is retried at once on the other, without waiting for the probe to notice: a
# viewer's blocking reload or part request rides through an origin's death. Every object says
# which origin made it (X-Origin).
#
# The rules of varnish.vcl apply (llhls-rules.vcl). scripts/cdn/run-varnish.sh PRIMARY,SECONDARY
# LISTEN runs it.
import std;
import directors;

# /readyz, not /healthz: a restarted origin answers /healthz at once but has no segment until its
# first segment boundary; hls.js fails on a playlist without segments (levelEmptyError).
probe llhls_health {
    .url = "/readyz";
    .interval = 0.5s;
    .timeout = 0.3s;
    .window = 3;
    .threshold = 2;
    .initial = 2;
}

backend primary {
    .host = "127.0.0.1";
    .port = "8080";
    .connect_timeout = 0.5s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 30s;
    .probe = llhls_health;
}

backend secondary {
    .host = "127.0.0.1";
    .port = "8081";
    .connect_timeout = 0.5s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 30s;
    .probe = llhls_health;
}

sub vcl_init {
    new origins = directors.fallback();
    origins.add_backend(primary);
    origins.add_backend(secondary);
}

sub vcl_recv {
    set req.backend_hint = origins.backend();
}

sub vcl_backend_fetch {
    # A retry goes to the origin that did not just fail.
    if (bereq.retries > 0) {
        if (bereq.http.X-Llhls-Failed == "primary") {
            set bereq.backend = secondary;
        } else {
            set bereq.backend = primary;
        }
    }
}

sub vcl_backend_response {
    set beresp.http.X-Origin = beresp.backend.name;
}

sub vcl_backend_error {
    if (bereq.retries < 1) {
        set bereq.http.X-Llhls-Failed = beresp.backend.name;
        return (retry);
    }
}

include "llhls-rules.vcl";
