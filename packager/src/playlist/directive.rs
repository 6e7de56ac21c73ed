//! Delivery directives (`_HLS_msn`, `_HLS_part`, `_HLS_skip`: draft-pantos-hls-rfc8216bis-22
//! §6.2.5) and the blocking-reload decision (§6.2.5.2). Pure: the origin parses the query with
//! [`Directive::parse`], then asks [`decide`] against the rendition's current [`Position`] and
//! maps `TooFar` and parse errors to 400, `Wait` to a bounded wait, `Ready` to an answer.

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
    /// The playlist carries EXT-X-ENDLIST. §6.2.5.2: "A Server MUST ignore _HLS_msn and
    /// _HLS_part if the Playlist contains an EXT-X-ENDLIST tag", so every request is `Ready`.
    pub ended: bool,
    /// The Advance Part Limit in parts (`rules::advance_part_limit(part_target)`), or `None` to
    /// skip the part-distance check. The store sets it once per rendition.
    pub advance_part_limit: Option<u32>,
}

impl Position {
    /// Whether this position answers `want` now: `decide(*self, want) == Decision::Ready`.
    /// Made for `watch::Receiver::wait_for(|p| p.covers(want))` in the origin's blocking shell.
    pub fn covers(&self, want: Directive) -> bool {
        decide(*self, want) == Decision::Ready
    }

    /// The part the preload hint names at this position (rfc8216bis-22 §4.4.5.3: "the next
    /// Partial Segment"): the part after the newest one of the open segment, part 0 of the
    /// segment after a complete one, or part 0 of `msn` before the first part.
    pub fn next_part(&self) -> (u64, u32) {
        match self.part {
            None => (self.msn, 0),
            Some(_) if self.complete => (self.msn + 1, 0),
            Some(last) => (self.msn, last + 1),
        }
    }

    /// Whether a request for part `part` of `msn` names a part a playlist at this position may
    /// hint (§4.4.5.3): [`Position::next_part`], or part 0 of the next segment, because the open
    /// segment may close before its next part (a client that saw the hint one update earlier
    /// asks for either).
    pub fn may_hint(&self, msn: u64, part: u32) -> bool {
        (msn, part) == self.next_part() || (self.part.is_some() && msn == self.msn + 1 && part == 0)
    }

    /// True once this position has reached or passed part `part` of `msn` (that part exists, or
    /// its segment is complete).
    pub fn reached(&self, msn: u64, part: u32) -> bool {
        self.msn > msn
            || (self.msn == msn && (self.complete || self.part.is_some_and(|x| x >= part)))
    }
}

/// `_HLS_skip` (rfc8216bis-22 §6.2.5.1).
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

/// Parsed delivery directives of a playlist request (rfc8216bis-22 §6.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Directive {
    /// `_HLS_msn`.
    pub msn: Option<u64>,
    /// `_HLS_part`.
    pub part: Option<u32>,
    /// `_HLS_skip`.
    pub skip: Skip,
}

/// Why a directive is refused. Every variant is a client error (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectiveError {
    /// Malformed query: a value that is not a decimal-integer (§4.2).
    #[error("malformed delivery directive: {0}")]
    Malformed(String),
    /// A directive without a value (`_HLS_msn` or `_HLS_msn=`).
    #[error("delivery directive {name} has no value")]
    Empty {
        /// The directive name.
        name: &'static str,
    },
    /// A negative number.
    #[error("delivery directive {name}={value} is negative")]
    Negative {
        /// The directive name.
        name: &'static str,
        /// The value as sent (cut to 32 characters).
        value: String,
    },
    /// A number beyond the directive's range (u64 for `_HLS_msn`, u32 for `_HLS_part`).
    #[error("delivery directive {name}={value} is out of range")]
    TooLarge {
        /// The directive name.
        name: &'static str,
        /// The value as sent (cut to 32 characters).
        value: String,
    },
    /// The same directive twice.
    #[error("delivery directive {name} is repeated")]
    Duplicate {
        /// The directive name.
        name: &'static str,
    },
    /// `_HLS_skip` with a value other than `YES` or `v2` (§6.2.5.1).
    #[error("_HLS_skip={value} is neither YES nor v2")]
    InvalidSkip {
        /// The value as sent (cut to 32 characters).
        value: String,
    },
    /// §6.2.5.2: "If the Playlist URI contains an _HLS_part directive but no _HLS_msn
    /// directive, the Server MUST return Bad Request".
    #[error("_HLS_part without _HLS_msn (rfc8216bis-22 §6.2.5.2 requires 400)")]
    PartWithoutMsn,
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

const MSN: &str = "_HLS_msn";
const PART: &str = "_HLS_part";
const SKIP: &str = "_HLS_skip";

/// A client value, cut so that an error message stays short whatever was sent.
fn shown(value: &str) -> String {
    value.chars().take(32).collect()
}

/// Parses a decimal-integer (§4.2: digits only, 0 ..= 2^64-1) no larger than `max`.
fn parse_decimal(name: &'static str, value: &str, max: u64) -> Result<u64, DirectiveError> {
    if value.is_empty() {
        return Err(DirectiveError::Empty { name });
    }
    if let Some(rest) = value.strip_prefix('-') {
        if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DirectiveError::Negative {
                name,
                value: shown(value),
            });
        }
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DirectiveError::Malformed(format!(
            "{name}={} is not a decimal-integer",
            shown(value)
        )));
    }
    match value.parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(DirectiveError::TooLarge {
            name,
            value: shown(value),
        }),
    }
}

impl Directive {
    /// Parses the query string of a playlist request (with or without its leading `?`).
    ///
    /// Knows `_HLS_msn` (u64), `_HLS_part` (u32) and `_HLS_skip` (`YES` | `v2`); ignores every
    /// other parameter. Refuses, with a typed error: values that are empty, negative, not
    /// decimal digits, out of range, a repeated directive, an unknown skip value, and
    /// `_HLS_part` without `_HLS_msn` (§6.2.5.2). Values are not percent-decoded: a directive
    /// value is digits or a fixed word, so an encoded one is malformed.
    pub fn parse(query: &str) -> Result<Directive, DirectiveError> {
        let query = query.strip_prefix('?').unwrap_or(query);
        let mut directive = Directive::default();
        let mut seen_skip = false;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                MSN => {
                    if directive.msn.is_some() {
                        return Err(DirectiveError::Duplicate { name: MSN });
                    }
                    directive.msn = Some(parse_decimal(MSN, value, u64::MAX)?);
                }
                PART => {
                    if directive.part.is_some() {
                        return Err(DirectiveError::Duplicate { name: PART });
                    }
                    let part = parse_decimal(PART, value, u64::from(u32::MAX))?;
                    // In range by the `max` above.
                    directive.part = u32::try_from(part).ok();
                }
                SKIP => {
                    if seen_skip {
                        return Err(DirectiveError::Duplicate { name: SKIP });
                    }
                    seen_skip = true;
                    directive.skip = match value {
                        "YES" => Skip::Yes,
                        "v2" => Skip::V2,
                        "" => return Err(DirectiveError::Empty { name: SKIP }),
                        other => {
                            return Err(DirectiveError::InvalidSkip {
                                value: shown(other),
                            })
                        }
                    };
                }
                _ => {}
            }
        }
        if directive.part.is_some() && directive.msn.is_none() {
            return Err(DirectiveError::PartWithoutMsn);
        }
        Ok(directive)
    }
}

/// Decides a request against the current position (§6.2.5.2).
///
/// - `ended` → `Ready`: §6.2.5.2 "A Server MUST ignore _HLS_msn and _HLS_part if the Playlist
///   contains an EXT-X-ENDLIST tag."
/// - No `_HLS_msn` → `Ready` (a plain reload); `_HLS_part` alone → `TooFar` (400, §6.2.5.2).
/// - `_HLS_msn=M` alone: `Ready` once segment M is complete ("until the Playlist contains a
///   Media Segment with a Media Sequence Number of M or later"; parts alone are not a Media
///   Segment), else `Wait`.
/// - `_HLS_msn=M&_HLS_part=P`: `Ready` once part P of M or anything later exists. A P past the
///   last part of a complete M is part 0 of M+1 ("the Server MUST treat the request as one for
///   Part Index 0 of the following Parent Segment").
/// - `TooFar` (400): "If the _HLS_msn is greater than the Media Sequence Number of the last Media
///   Segment in the current Playlist plus two, or if the _HLS_part exceeds the last Partial
///   Segment in the current Playlist by the Advance Part Limit". The last Media Segment is the
///   last *complete* one (the open segment has no URI line yet). The part distance is the number
///   of parts from the last one to the wanted one; for a later segment it is counted as small as
///   it can be (each segment in between has at least one part), so a request that may still be
///   inside the limit is never refused (LLHLS-RULES.md policy: inside the window, wait).
///
/// `closed` does not change the decision: the origin answers 503 to a `Wait` on a closed
/// rendition.
pub fn decide(current: Position, want: Directive) -> Decision {
    if current.ended {
        return Decision::Ready;
    }
    let Some(msn) = want.msn else {
        return if want.part.is_some() {
            Decision::TooFar
        } else {
            Decision::Ready
        };
    };
    // MSN of the last complete segment; -1 when none is complete yet.
    let last_complete = i128::from(current.msn) - i128::from(!current.complete);
    if i128::from(msn) > last_complete + 2 {
        return Decision::TooFar;
    }
    if msn < current.msn {
        // Segment `msn` is complete, with all its parts; a part past its end is part 0 of
        // `msn + 1`, which exists (it is complete or holds the newest part).
        return Decision::Ready;
    }
    let Some(part) = want.part else {
        return if msn == current.msn && current.complete {
            Decision::Ready
        } else {
            Decision::Wait
        };
    };
    // Parts still to come before the wanted one exists, counted as few as possible.
    let distance: u128 = if msn == current.msn {
        match current.part {
            Some(last) if last >= part => return Decision::Ready,
            // Complete parent: the part is part 0 of the next parent, one part away.
            _ if current.complete => 1,
            Some(last) => u128::from(part - last),
            None => u128::from(part) + 1,
        }
    } else {
        // Parts 0..=P of `msn`, plus at least one part of each segment in between.
        u128::from(part) + 1 + u128::from(msn - current.msn - 1)
    };
    match current.advance_part_limit {
        Some(limit) if distance > u128::from(limit) => Decision::TooFar,
        _ => Decision::Wait,
    }
}
