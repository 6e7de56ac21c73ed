//! Counters the origin exposes on `/metrics` in the Prometheus text format, hand-rolled with
//! atomics so that the request path never takes a lock for them.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use packager::store::Store;

/// Route labels, in `Route::label` spelling, plus `other` for undecodable requests.
pub const ROUTES: [&str; 12] = [
    "home",
    "player",
    "healthz",
    "metrics",
    "multivariant",
    "media",
    "init",
    "segment",
    "part",
    "dump",
    "options",
    "other",
];
/// Status codes counted on their own; anything else counts as `other`.
const STATUSES: [u16; 13] = [
    200, 204, 206, 304, 400, 404, 405, 414, 416, 431, 500, 503, 0,
];
/// Upper bounds of the wake-delay histogram, seconds.
const BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 5.0,
];

/// All counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [[AtomicU64; STATUSES.len()]; ROUTES.len()],
    /// Requests currently blocked (playlist reloads and held parts).
    pub waiting: AtomicI64,
    wake_buckets: [AtomicU64; BUCKETS.len()],
    wake_count: AtomicU64,
    wake_sum_us: AtomicU64,
    /// Body bytes sent.
    pub bytes_out: AtomicU64,
    /// Playlist cache lookups.
    pub cache_lookups: AtomicU64,
    /// Playlist renders (cache misses).
    pub cache_renders: AtomicU64,
    /// Connections refused at the connection limit.
    pub refused_connections: AtomicU64,
    /// Open connections.
    pub open_connections: AtomicI64,
}

impl Metrics {
    /// Counts one response.
    pub fn request(&self, route: &str, status: u16) {
        let r = ROUTES
            .iter()
            .position(|x| *x == route)
            .unwrap_or(ROUTES.len() - 1);
        let s = STATUSES
            .iter()
            .position(|x| *x == status)
            .unwrap_or(STATUSES.len() - 1);
        self.requests[r][s].fetch_add(1, Relaxed);
    }

    /// Records one publish → response delay.
    pub fn wake(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.wake_buckets[i].fetch_add(1, Relaxed);
        }
        self.wake_count.fetch_add(1, Relaxed);
        self.wake_sum_us.fetch_add(d.as_micros() as u64, Relaxed);
    }

    /// Prometheus text exposition.
    pub fn render(&self, store: &Store) -> String {
        let mut o = String::new();
        o.push_str("# HELP llhls_requests_total Responses by route and status.\n# TYPE llhls_requests_total counter\n");
        for (ri, r) in ROUTES.iter().enumerate() {
            for (si, s) in STATUSES.iter().enumerate() {
                let n = self.requests[ri][si].load(Relaxed);
                if n > 0 {
                    let s = if *s == 0 {
                        "other".to_owned()
                    } else {
                        s.to_string()
                    };
                    let _ = writeln!(
                        o,
                        "llhls_requests_total{{route=\"{r}\",status=\"{s}\"}} {n}"
                    );
                }
            }
        }
        let g = |o: &mut String, name: &str, help: &str, kind: &str, v: String| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        g(
            &mut o,
            "llhls_requests_waiting",
            "Requests blocked now.",
            "gauge",
            self.waiting.load(Relaxed).to_string(),
        );
        g(
            &mut o,
            "llhls_bytes_out_total",
            "Body bytes sent.",
            "counter",
            self.bytes_out.load(Relaxed).to_string(),
        );
        g(
            &mut o,
            "llhls_bytes_sent_by_reference_total",
            "Bytes of complete segments and their parts sent by sendfile from sealed memory, without a copy (process-wide).",
            "counter",
            crate::sendfile::bytes_by_reference().to_string(),
        );
        let lookups = self.cache_lookups.load(Relaxed);
        let renders = self.cache_renders.load(Relaxed);
        g(
            &mut o,
            "llhls_playlist_cache_lookups_total",
            "Playlist cache lookups.",
            "counter",
            lookups.to_string(),
        );
        g(
            &mut o,
            "llhls_playlist_renders_total",
            "Playlist renders (misses).",
            "counter",
            renders.to_string(),
        );
        let ratio = if lookups == 0 {
            0.0
        } else {
            lookups.saturating_sub(renders) as f64 / lookups as f64
        };
        g(
            &mut o,
            "llhls_playlist_cache_hit_ratio",
            "Playlist cache hits / lookups.",
            "gauge",
            format!("{ratio:.6}"),
        );
        g(
            &mut o,
            "llhls_open_connections",
            "Open connections.",
            "gauge",
            self.open_connections.load(Relaxed).to_string(),
        );
        g(
            &mut o,
            "llhls_refused_connections_total",
            "Connections closed at the connection limit.",
            "counter",
            self.refused_connections.load(Relaxed).to_string(),
        );
        o.push_str("# HELP llhls_wake_delay_seconds Publish of a part to the response of a request waiting for it.\n");
        o.push_str("# TYPE llhls_wake_delay_seconds histogram\n");
        let mut cum = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cum += self.wake_buckets[i].load(Relaxed);
            let _ = writeln!(o, "llhls_wake_delay_seconds_bucket{{le=\"{b}\"}} {cum}");
        }
        let count = self.wake_count.load(Relaxed);
        let _ = writeln!(o, "llhls_wake_delay_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            o,
            "llhls_wake_delay_seconds_sum {:.6}",
            self.wake_sum_us.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(o, "llhls_wake_delay_seconds_count {count}");
        o.push_str(
            "# HELP llhls_last_msn Newest MSN per rendition.\n# TYPE llhls_last_msn gauge\n",
        );
        let mut parts = String::from("# HELP llhls_last_part Newest part index per rendition.\n# TYPE llhls_last_part gauge\n");
        let mut lags = String::from(
            "# HELP llhls_ingest_to_publish_seconds Ingest wall clock of the newest part's end to its publication, per rendition.\n# TYPE llhls_ingest_to_publish_seconds gauge\n",
        );
        for s in store.streams() {
            for r in s.renditions() {
                let p = r.position();
                let l = format!(
                    "stream=\"{}\",rendition=\"{}\"",
                    label(s.name()),
                    label(r.name())
                );
                let _ = writeln!(o, "llhls_last_msn{{{l}}} {}", p.msn);
                if let Some(part) = p.part {
                    let _ = writeln!(parts, "llhls_last_part{{{l}}} {part}");
                }
                if let Some(lag) = r.ingest_lag_ms() {
                    let _ = writeln!(
                        lags,
                        "llhls_ingest_to_publish_seconds{{{l}}} {:.3}",
                        lag as f64 / 1000.0
                    );
                }
            }
        }
        o.push_str(&parts);
        o.push_str(&lags);
        ingest(&mut o, store);
        o
    }
}

/// The transcoders' counters: backpressure (queue-full events), encoder lag behind real
/// time, samples out, and input health (decode errors, reconnects, loops).
fn ingest(o: &mut String, store: &Store) {
    use std::sync::atomic::Ordering::Relaxed;
    let streams: Vec<_> = store
        .streams()
        .into_iter()
        .filter_map(|s| s.ingest_metrics().cloned().map(|m| (s, m)))
        .collect();
    if streams.is_empty() {
        return;
    }
    /// (metric name, help text, read the counter).
    type Counter = (
        &'static str,
        &'static str,
        fn(&packager::transcode::Metrics) -> u64,
    );
    let per_stream: [Counter; 5] = [
        (
            "llhls_ingest_video_frames_total",
            "Video frames decoded from the input.",
            |m| m.frames_in.load(Relaxed),
        ),
        (
            "llhls_ingest_audio_frames_total",
            "Audio frames decoded from the input.",
            |m| m.audio_frames_in.load(Relaxed),
        ),
        (
            "llhls_ingest_decode_errors_total",
            "Corrupt packets or frames skipped.",
            |m| m.decode_errors.load(Relaxed),
        ),
        (
            "llhls_ingest_reconnects_total",
            "Live input reopened after a drop.",
            |m| m.reconnects.load(Relaxed),
        ),
        (
            "llhls_ingest_loops_total",
            "File input restarted at its end.",
            |m| m.loops.load(Relaxed),
        ),
    ];
    for (name, help, get) in per_stream {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter");
        for (s, m) in &streams {
            let _ = writeln!(o, "{name}{{stream=\"{}\"}} {}", label(s.name()), get(m));
        }
    }
    let _ = writeln!(o, "# HELP llhls_encoder_queue_full_total Times a rendition's output queue was full and its encoder waited.\n# TYPE llhls_encoder_queue_full_total counter");
    let mut lag = String::from("# HELP llhls_encoder_lag_seconds Ingest to encoder output of the newest sample.\n# TYPE llhls_encoder_lag_seconds gauge\n");
    let mut out = String::from("# HELP llhls_encoder_samples_total Samples sent by each encoder.\n# TYPE llhls_encoder_samples_total counter\n");
    for (s, m) in &streams {
        for r in &m.renditions {
            let l = format!(
                "stream=\"{}\",rendition=\"{}\"",
                label(s.name()),
                label(&r.name)
            );
            let _ = writeln!(
                o,
                "llhls_encoder_queue_full_total{{{l}}} {}",
                r.queue_full.load(Relaxed)
            );
            let _ = writeln!(
                lag,
                "llhls_encoder_lag_seconds{{{l}}} {:.3}",
                r.lag_ms.load(Relaxed) as f64 / 1000.0
            );
            let _ = writeln!(
                out,
                "llhls_encoder_samples_total{{{l}}} {}",
                r.samples_out.load(Relaxed)
            );
        }
    }
    o.push_str(&lag);
    o.push_str(&out);
}

/// A label value escaped per the Prometheus text format (`\\`, `\"`, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn label_escaping() {
        assert_eq!(super::label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
