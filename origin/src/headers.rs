//! Cache policy and fixed response headers. Every response the origin sends carries exactly
//! one `CacheControl`, chosen by its route in `routes/`; this file is the one place where a
//! policy becomes header text (rfc8216bis-22 Appendix B.1, LLHLS-RULES.md "HTTP caching").

use std::borrow::Cow;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue};

/// How long a CDN or browser may keep a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheControl {
    /// Init, part and segment bytes (and their `.txt` twins): the epoch and MSN in the URL make
    /// the bytes under a URL immutable, so cache them for a year.
    Immutable,
    /// A playlist fetched without `_HLS_msn`: at most half a target duration (B.1), in whole
    /// seconds, rounded down.
    LivePlaylist {
        /// EXT-X-TARGETDURATION, seconds.
        target_duration: u64,
    },
    /// A blocking playlist answer (`_HLS_msn` given): B.1 recommends 6 target durations, so a
    /// CDN can collapse the herd asking for the same part.
    BlockingPlaylist {
        /// EXT-X-TARGETDURATION, seconds.
        target_duration: u64,
    },
    /// 404/503 and other errors a CDN must not remember long (a part asked for early would
    /// stay missing): one second, which is ≤ one target duration for every stream.
    ShortError,
    /// Health and metrics: never cached.
    NoStore,
    /// The 206 answering an open-ended range of a segment still being written (a byte-range
    /// PRELOAD-HINT's `bytes=START-`), streamed part by part until the segment closes. Its
    /// last byte is not known when the header goes out, so no Content-Range can describe it
    /// (RFC 9110 §14.4), and a cache can neither tell what it holds nor combine it (RFC 9111
    /// §3.4); one keyed by the URL alone would serve it as the whole segment. So nothing
    /// stores it. A CDN gets each segment as one object from the plain GET (a 200 streamed
    /// the same way, immutable) and serves ranges of it itself.
    OpenRange,
    /// The stream list and the player page: revalidated on every use, so a new build or a new
    /// stream shows at once.
    Page,
}

impl CacheControl {
    /// The `Cache-Control` header text (borrowed for the fixed policies, which are on every
    /// media response).
    pub fn value(self) -> Cow<'static, str> {
        match self {
            CacheControl::Immutable => "public, max-age=31536000, immutable".into(),
            CacheControl::LivePlaylist { target_duration } => {
                format!("public, max-age={}", target_duration / 2).into()
            }
            CacheControl::BlockingPlaylist { target_duration } => {
                format!("public, max-age={}", target_duration.saturating_mul(6)).into()
            }
            CacheControl::ShortError => "public, max-age=1".into(),
            CacheControl::NoStore | CacheControl::OpenRange => "no-store".into(),
            CacheControl::Page => "no-cache".into(),
        }
    }
}

/// rfc8216bis-22 §4: playlists are identified by this media type.
pub const PLAYLIST: &str = "application/vnd.apple.mpegurl";
/// fMP4 init, parts and segments. `video/mp4` (ISO/IEC 14496-14, RFC 4337) for all three: every
/// MSE player accepts it, and a part is itself a valid CMAF chunk of the same track file.
pub const MP4: &str = "video/mp4";
/// `.txt` debug twins, healthz, errors.
pub const HTML: &str = "text/html; charset=utf-8";
/// Content type of JavaScript.
pub const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
/// Content type of CSS.
pub const CSS: &str = "text/css; charset=utf-8";
/// Content type of plain text.
pub const TEXT: &str = "text/plain; charset=utf-8";
/// /metrics (Prometheus text exposition format 0.0.4).
pub const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Content-Type of the API's answers.
pub const JSON: &str = "application/json";

/// Headers a browser player on another origin may read (CORS).
const EXPOSE: &str =
    "Content-Length, Content-Range, Accept-Ranges, ETag, Last-Modified, Age, Date, Cache-Control";

/// CORS headers for every response: any origin may read (policy: browser players on other origins).
pub fn cors(h: &mut HeaderMap) {
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "access-control-expose-headers",
        HeaderValue::from_static(EXPOSE),
    );
}

/// Extra headers of an OPTIONS preflight answer.
pub fn preflight(h: &mut HeaderMap) {
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, HEAD, POST, DELETE, OPTIONS"),
    );
    h.insert(
        "access-control-allow-headers",
        HeaderValue::from_static(
            "Range, If-None-Match, If-Modified-Since, Accept-Encoding, Origin, Authorization, Content-Type",
        ),
    );
    h.insert("access-control-max-age", HeaderValue::from_static("86400"));
}

/// Sets `Cache-Control`.
pub fn set_cache(h: &mut HeaderMap, c: CacheControl) {
    let v = match c.value() {
        Cow::Borrowed(s) => Some(HeaderValue::from_static(s)),
        Cow::Owned(s) => text(s),
    };
    if let Some(v) = v {
        h.insert(http::header::CACHE_CONTROL, v);
    }
}

/// A header value from text built at run time, without copying it (`None` if it holds bytes a
/// header cannot: ETags, dates and policies built here never do).
pub fn text(s: String) -> Option<HeaderValue> {
    HeaderValue::from_maybe_shared(Bytes::from(s)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_text() {
        assert_eq!(
            CacheControl::Immutable.value(),
            "public, max-age=31536000, immutable"
        );
        // B.1: live playlist ≤ half a target duration, whole seconds: 2 s target -> 1 s.
        assert_eq!(
            CacheControl::LivePlaylist { target_duration: 2 }.value(),
            "public, max-age=1"
        );
        assert_eq!(
            CacheControl::LivePlaylist { target_duration: 1 }.value(),
            "public, max-age=0"
        );
        assert_eq!(
            CacheControl::LivePlaylist { target_duration: 6 }.value(),
            "public, max-age=3"
        );
        // B.1: blocking answers 6 target durations.
        assert_eq!(
            CacheControl::BlockingPlaylist { target_duration: 2 }.value(),
            "public, max-age=12"
        );
        assert_eq!(CacheControl::ShortError.value(), "public, max-age=1");
        assert_eq!(CacheControl::NoStore.value(), "no-store");
    }
}
