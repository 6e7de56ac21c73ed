//! The origin's error kinds and their HTTP status, mapped in exactly one function
//! (`Error::status`), so a client mistake can never turn into a 5xx by accident.

use http::StatusCode;
use packager::cue::CueError;

/// Why a request was not answered with the resource.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The path has no route, or names an unknown stream, rendition, epoch, segment or part.
    #[error("not found: {0}")]
    NotFound(String),
    /// The path is malformed (traversal, bad encoding, numbers out of range).
    #[error("bad path: {0}")]
    BadPath(String),
    /// Malformed delivery directives (rfc8216bis-22 §6.2.5).
    #[error("bad delivery directive: {0}")]
    BadDirective(String),
    /// `_HLS_msn`/`_HLS_part` beyond what §6.2.5.2 lets a client ask for.
    #[error("{rendition}: _HLS_msn={msn} is too far ahead of the playlist (last msn {last})")]
    TooFar {
        /// Rendition asked for.
        rendition: String,
        /// Requested MSN.
        msn: u64,
        /// The rendition's newest MSN.
        last: u64,
    },
    /// The request target is longer than the configured limit.
    #[error("request target of {0} bytes is too long")]
    UriTooLong(usize),
    /// Only GET, HEAD and OPTIONS are served.
    #[error("method {0} not allowed")]
    MethodNotAllowed(String),
    /// A Range that does not overlap the resource.
    #[error("{what}: range not satisfiable (resource has {len} bytes)")]
    RangeNotSatisfiable {
        /// The resource (its path).
        what: String,
        /// Current length of the resource.
        len: u64,
    },
    /// A blocked request or held part ran out of time (rfc8216bis-22 §6.2.5.2: 503 after 3 target durations).
    #[error("{rendition}: nothing new within {waited_ms} ms")]
    Timeout {
        /// Rendition waited on.
        rendition: String,
        /// How long it waited.
        waited_ms: u64,
    },
    /// The origin is shutting down, or the rendition's pipeline went away.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A write to the API without the right token.
    #[error("missing or wrong API token (Authorization: Bearer TOKEN)")]
    Unauthorized,
    /// A request body over the limit.
    #[error("body over {0} bytes")]
    PayloadTooLarge(usize),
    /// A request body that could not be read.
    #[error("body: {0}")]
    BadBody(String),
    /// A posted cue that breaks a rule of the API.
    #[error(transparent)]
    Cue(packager::cue::CueError),
    /// A cue that conflicts with one posted before (same id, other body; an id used before; an
    /// end the spec does not allow).
    #[error("conflict: {0}")]
    Conflict(String),
    /// More cues than a stream takes.
    #[error("too many cues: {0}")]
    RateLimited(String),
    /// The stream's multivariant playlist model breaks a rule of rfc8216bis-22 §4.4.6: a bug
    /// of ours, not the client's.
    #[error("{stream}: multivariant playlist breaks a rule: {source}")]
    Multivariant {
        /// The stream.
        stream: String,
        /// The rule broken.
        source: packager::playlist::MultivariantError,
    },
}

impl Error {
    /// The one place an error kind becomes an HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::BadPath(_) | Error::BadDirective(_) | Error::TooFar { .. } => {
                StatusCode::BAD_REQUEST
            }
            Error::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Error::Timeout { .. } | Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Multivariant { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::PayloadTooLarge(_) | Error::Cue(CueError::TooLarge(_)) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Error::BadBody(_) | Error::Cue(CueError::Malformed(_)) => StatusCode::BAD_REQUEST,
            Error::Cue(CueError::Invalid { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_mistakes_are_4xx() {
        for e in [
            Error::NotFound("x".into()),
            Error::BadPath("x".into()),
            Error::BadDirective("x".into()),
            Error::TooFar {
                rendition: "v".into(),
                msn: 9,
                last: 1,
            },
            Error::UriTooLong(9000),
            Error::MethodNotAllowed("POST".into()),
            Error::Unauthorized,
            Error::PayloadTooLarge(16),
            Error::BadBody("x".into()),
            Error::Cue(CueError::Malformed("x".into())),
            Error::Cue(CueError::TooLarge(3000)),
            Error::Cue(CueError::Invalid {
                field: "class",
                reason: "x".into(),
            }),
            Error::Conflict("x".into()),
            Error::RateLimited("x".into()),
            Error::RangeNotSatisfiable {
                what: "/s/v/1/0.m4s".into(),
                len: 3,
            },
        ] {
            assert!(e.status().is_client_error(), "{e}");
        }
        assert_eq!(
            Error::Timeout {
                rendition: "v".into(),
                waited_ms: 1
            }
            .status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            Error::Multivariant {
                stream: "live".into(),
                source: packager::playlist::MultivariantError::NoVariant,
            }
            .status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
