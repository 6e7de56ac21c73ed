//! Delivery directives and the blocking-reload decision (skeleton).

/// The newest point a rendition has published, sent on its watch channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// MSN of the newest segment holding at least one part (the open one), or of the last
    /// complete segment when no part of the next one exists yet.
    pub msn: u64,
    /// Index of the newest part of `msn`; `None` before the first part of the stream.
    pub part: Option<u32>,
    /// Whether segment `msn` is complete.
    pub complete: bool,
    /// The stream has ended (ENDLIST) or its pipeline stopped: waiters must not wait longer.
    pub closed: bool,
}

/// `_HLS_skip` (rfc8216bis §6.2.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Skip {
    /// No delta update.
    #[default]
    No,
    /// `_HLS_skip=YES`.
    Yes,
    /// `_HLS_skip=v2`.
    V2,
}

/// Parsed delivery directives of a playlist request (rfc8216bis §6.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Directive {
    /// `_HLS_msn`.
    pub msn: Option<u64>,
    /// `_HLS_part`.
    pub part: Option<u32>,
    /// `_HLS_skip`.
    pub skip: Skip,
}

/// Why a directive is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectiveError {
    /// Malformed query.
    #[error("malformed delivery directive: {0}")]
    Malformed(String),
}

/// What to do with a blocking request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Answer now.
    Ready,
    /// Hold until the position covers it.
    Wait,
    /// 400: beyond what the spec lets a client ask for.
    TooFar,
}

/// Decides a request against the current position (skeleton).
pub fn decide(_current: Position, _want: Directive) -> Decision {
    Decision::Ready
}
