//! Last-Modified and If-Modified-Since (RFC 9110 §8.8.2, §13.1.3).
//!
//! An HTTP date has whole seconds, but a live playlist changes several times a second, so the
//! origin keeps the instant a representation changed in milliseconds and compares a client's
//! date against that, never against the rounded header: a playlist that changed at 10.4 s
//! and again at 10.8 s is sent as `Last-Modified: …:10`, and a revalidation dated `…:10`
//! gets the new text (200), not a wrong 304.
//!
//! Media bytes never change under their URL (the epoch and MSN pin them), so for them any
//! date from the second they came into being on is "not modified": their instant is that
//! second, and a revalidation carrying their own `Last-Modified` gets a 304.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderValue;

/// When a representation last changed, as the instant a client's date is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Modified {
    /// Unix milliseconds.
    at_ms: i64,
}

impl Modified {
    /// Immutable media that came into being at `ms` (Unix milliseconds): compared by its
    /// whole second, the resolution of the header a client sends back.
    pub fn immutable(ms: i64) -> Modified {
        Modified {
            at_ms: ms.div_euclid(1000) * 1000,
        }
    }

    /// A representation that may change again within the second it changed at (a playlist):
    /// compared to the millisecond.
    pub fn changing(ms: i64) -> Modified {
        Modified { at_ms: ms }
    }

    /// The current instant, as a changing representation's.
    pub fn now() -> Modified {
        Modified::changing(unix_ms(SystemTime::now()))
    }

    /// Unix milliseconds.
    pub fn ms(self) -> i64 {
        self.at_ms
    }

    /// The `Last-Modified` header: the second it falls in, and never later than `now`
    /// (RFC 9110 §8.8.2.1: an origin MUST NOT send a Last-Modified later than its Date).
    pub fn header(self, now: SystemTime) -> Option<HeaderValue> {
        let at = self.at_ms.min(unix_ms(now)).max(0);
        let t = UNIX_EPOCH + Duration::from_millis(at as u64);
        HeaderValue::from_str(&httpdate::fmt_http_date(t)).ok()
    }

    /// RFC 9110 §13.1.3: the representation has not been modified since the `If-Modified-Since`
    /// date `field` (its last modification is at or before that date). A field that is not a
    /// valid HTTP date is ignored (false: the full response is sent), and so is a date after
    /// `now`, which no copy the client holds can carry (RFC 2616 §14.25 called it invalid; a
    /// clock-skewed client would otherwise get a 304 for text that changed since).
    pub fn not_modified_since(self, field: &str, now: SystemTime) -> bool {
        match httpdate::parse_http_date(field.trim()) {
            Ok(t) if t <= now => self.at_ms <= unix_ms(t),
            _ => false,
        }
    }
}

fn unix_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_764_770_410_400; // 2025-12-03T14:00:10.400Z

    /// A "now" after every date the tests use.
    fn later() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(3_000_000_000)
    }

    fn date(ms: i64) -> String {
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(ms as u64))
    }

    #[test]
    fn header_is_the_second_and_never_after_now() {
        let now = UNIX_EPOCH + Duration::from_millis(T as u64 + 5000);
        let h = Modified::changing(T).header(now).unwrap();
        assert_eq!(h.to_str().unwrap(), date(T - 400));
        // A date in the future (a source clock ahead of ours) is sent as now.
        let early = UNIX_EPOCH + Duration::from_millis(T as u64 - 3000);
        let h = Modified::changing(T).header(early).unwrap();
        assert_eq!(h.to_str().unwrap(), date(T - 3000));
    }

    #[test]
    fn a_playlist_changed_later_in_the_same_second_is_modified() {
        let first = Modified::changing(T);
        let sent = first.header(SystemTime::now()).unwrap();
        let sent = sent.to_str().unwrap();
        // The client revalidates with the date it was given; the text changed 400 ms later.
        let second = Modified::changing(T + 400);
        assert!(!second.not_modified_since(sent, later()));
        // Not even the first text counts as unmodified since its rounded-down date.
        assert!(!first.not_modified_since(sent, later()));
        // A date at or after the change is "not modified".
        assert!(second.not_modified_since(&date(T + 1600), later()));
    }

    #[test]
    fn immutable_media_is_not_modified_since_its_own_date() {
        let m = Modified::immutable(T);
        let sent = m.header(SystemTime::now()).unwrap();
        assert!(m.not_modified_since(sent.to_str().unwrap(), later()));
        assert!(m.not_modified_since(&date(T + 60_000), later()));
        assert!(!m.not_modified_since(&date(T - 1000), later()));
    }

    #[test]
    fn an_invalid_date_is_ignored() {
        let m = Modified::immutable(T);
        for bad in ["", "yesterday", "Thu, 99 Dec 2026 00:00:00 GMT", "0"] {
            assert!(!m.not_modified_since(bad, later()), "{bad:?}");
        }
        // The obsolete RFC 850 and asctime forms are valid HTTP dates (RFC 9110 §5.6.7).
        assert!(m.not_modified_since("Sunday, 06-Nov-44 08:49:37 GMT", later()));
        assert!(m.not_modified_since("Sun Nov  6 08:49:37 2044", later()));
    }

    #[test]
    fn a_date_after_now_is_ignored() {
        let m = Modified::immutable(T);
        let now = UNIX_EPOCH + Duration::from_millis(T as u64 + 10_000);
        assert!(m.not_modified_since(&date(T + 10_000), now));
        assert!(!m.not_modified_since(&date(T + 11_000), now));
    }
}
