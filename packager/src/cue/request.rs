//! A posted cue, parsed and checked: the public contract of `POST /api/v1/streams/{s}/cues`.
//! Pure: bytes and the current time in, a [`ValidCue`] or an error naming the field out.

use serde::Deserialize;

/// The largest `data`, serialized (bytes).
pub const MAX_DATA_BYTES: usize = 2048;
/// The longest `id` and `class`.
pub const MAX_NAME_LEN: usize = 128;
/// The longest `duration`, seconds (a day).
pub const MAX_DURATION_SECS: f64 = 86_400.0;

/// The JSON body as posted. Unknown fields are errors.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    id: Option<String>,
    class: Option<String>,
    data: Option<serde_json::Value>,
    duration: Option<f64>,
    at: Option<String>,
}

/// When a cue starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// The next frame to be ingested.
    Now,
    /// The first frame captured at or after this instant (Unix ms).
    Date(i64),
}

/// A cue that passed every check, not yet bound to a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidCue {
    /// The client's id, or `None` to have one made.
    pub id: Option<String>,
    /// Reverse-DNS class.
    pub class: String,
    /// `data` as compact JSON (`null` when absent).
    pub data: String,
    /// Seconds, when given.
    pub duration: Option<f64>,
    /// When it starts.
    pub at: At,
}

impl ValidCue {
    /// The body's meaning as one string: two posts with the same id are the same cue when their
    /// fingerprints are equal (then 200), else a conflict (409).
    pub fn fingerprint(&self) -> String {
        format!(
            "{}\n{}\n{:?}\n{:?}",
            self.class, self.data, self.duration, self.at
        )
    }
}

/// Why a posted cue is refused; each names the field at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CueError {
    /// Not JSON, a wrong type, or an unknown field (serde's message names it, with line and
    /// column).
    #[error("body: {0}")]
    Malformed(String),
    /// A field breaks a rule.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// `data` is over [`MAX_DATA_BYTES`].
    #[error("data: {0} bytes serialized, at most {MAX_DATA_BYTES}")]
    TooLarge(usize),
}

fn invalid(field: &'static str, reason: impl Into<String>) -> CueError {
    CueError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// True for a cue id: 1–128 of letters, digits, `-`, `_`, `.`, `:` (safe in a quoted-string,
/// rfc8216bis-22 §4.2, and in a URL path).
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_NAME_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// True for a reverse-DNS class: two or more dot-separated labels of letters, digits and `-`
/// (§4.4.5.1: CLASS values SHOULD use reverse-DNS syntax).
fn is_valid_class(class: &str) -> bool {
    class.len() <= MAX_NAME_LEN
        && class.split('.').count() >= 2
        && class.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Parses and checks a posted body at `now_ms`; a date in `at` may lie at most
/// `max_ahead_ms` ahead (one window).
pub fn parse(body: &[u8], now_ms: i64, max_ahead_ms: i64) -> Result<ValidCue, CueError> {
    let b: Body = serde_json::from_slice(body).map_err(|e| CueError::Malformed(e.to_string()))?;
    if let Some(id) = &b.id {
        if !is_valid_id(id) {
            return Err(invalid(
                "id",
                format!("1 to {MAX_NAME_LEN} of letters, digits, '-', '_', '.', ':'"),
            ));
        }
    }
    let class = b.class.ok_or_else(|| invalid("class", "required"))?;
    if !is_valid_class(&class) {
        return Err(invalid(
            "class",
            "reverse-DNS, like \"com.example.poll\" (letters, digits, '-', dot-separated)",
        ));
    }
    let data = match &b.data {
        Some(v) => serde_json::to_string(v).map_err(|e| CueError::Malformed(e.to_string()))?,
        None => "null".to_owned(),
    };
    if data.len() > MAX_DATA_BYTES {
        return Err(CueError::TooLarge(data.len()));
    }
    if let Some(d) = b.duration {
        if !(d.is_finite() && d > 0.0 && d <= MAX_DURATION_SECS) {
            return Err(invalid(
                "duration",
                format!("seconds, more than 0 and at most {MAX_DURATION_SECS}"),
            ));
        }
    }
    let at = match b.at.as_deref() {
        None | Some("now") => At::Now,
        Some(text) => {
            let t = humantime::parse_rfc3339_weak(text)
                .map_err(|e| invalid("at", format!("\"now\" or an RFC 3339 date: {e}")))?;
            let ms = t
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|_| invalid("at", "before 1970"))?
                .as_millis() as i64;
            if ms < now_ms {
                return Err(invalid(
                    "at",
                    format!(
                        "{text} is {} ms in the past; a cue is never moved, post \"now\" instead",
                        now_ms - ms
                    ),
                ));
            }
            if ms - now_ms > max_ahead_ms {
                return Err(invalid(
                    "at",
                    format!("{text} is more than one window ({max_ahead_ms} ms) ahead"),
                ));
            }
            At::Date(ms)
        }
    };
    Ok(ValidCue {
        id: b.id,
        class,
        data,
        duration: b.duration,
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_765_000_000_000;

    fn field(r: Result<ValidCue, CueError>) -> String {
        match r {
            Err(CueError::Invalid { field, .. }) => field.to_owned(),
            Err(CueError::TooLarge(_)) => "data".to_owned(),
            Err(CueError::Malformed(m)) => format!("malformed: {m}"),
            Ok(_) => "ok".to_owned(),
        }
    }

    #[test]
    fn validation_table() {
        let big = format!("{{\"class\":\"a.b\",\"data\":\"{}\"}}", "x".repeat(2100));
        let cases: &[(&str, &str)] = &[
            (r#"{"class":"com.example.poll"}"#, "ok"),
            (
                r#"{"id":"poll-17","class":"com.example.poll","data":{"q":"?"},"duration":15.0,"at":"now"}"#,
                "ok",
            ),
            (
                r#"{"class":"com.example.poll","data":"quotes \" and \n newlines and ünïcödé"}"#,
                "ok",
            ),
            (r#"{}"#, "class"),
            (r#"{"class":"poll"}"#, "class"),
            (r#"{"class":"com..poll"}"#, "class"),
            (r#"{"class":"com.exa mple"}"#, "class"),
            (r#"{"class":"a.b","id":""}"#, "id"),
            (r#"{"class":"a.b","id":"has space"}"#, "id"),
            (r#"{"class":"a.b","id":"quo\"te"}"#, "id"),
            (r#"{"class":"a.b","duration":0}"#, "duration"),
            (r#"{"class":"a.b","duration":-1}"#, "duration"),
            (r#"{"class":"a.b","duration":100000}"#, "duration"),
            (r#"{"class":"a.b","at":"tomorrow"}"#, "at"),
            (r#"{"class":"a.b","at":"2020-01-01T00:00:00Z"}"#, "at"),
            (r#"{"class":"a.b","at":"2099-01-01T00:00:00Z"}"#, "at"),
            (&big, "data"),
        ];
        for (body, want) in cases {
            assert_eq!(&field(parse(body.as_bytes(), NOW, 60_000)), want, "{body}");
        }
        for bad in [
            &b"not json"[..],
            br#"{"class":"a.b","colour":"red"}"#,
            br#"{"class":5}"#,
            br#"["class"]"#,
        ] {
            assert!(field(parse(bad, NOW, 60_000)).starts_with("malformed"));
        }
        // Unknown fields are named.
        let e = parse(br#"{"class":"a.b","colour":"red"}"#, NOW, 60_000).unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
    }

    #[test]
    fn dates_in_the_future_and_fingerprints() {
        let at = "2025-12-06T05:46:41.500Z"; // NOW + 1.5 s
        let c = parse(
            format!(r#"{{"class":"a.b","at":"{at}"}}"#).as_bytes(),
            NOW,
            60_000,
        )
        .unwrap();
        assert_eq!(c.at, At::Date(NOW + 1_500));
        let a = parse(br#"{"class":"a.b","data":{"x":1,"y":2}}"#, NOW, 0).unwrap();
        let b = parse(br#"{"class":"a.b", "data": {"x":1, "y":2}}"#, NOW, 0).unwrap();
        let c = parse(br#"{"class":"a.b","data":{"x":1,"y":3}}"#, NOW, 0).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
    }
}
