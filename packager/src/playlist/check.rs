//! Consistency checks of a [`MediaPlaylist`] model against the rules its producer (the store)
//! must keep. The renderer never panics on a model that fails them, but its text would break a
//! rule; the store and the tests call [`MediaPlaylist::check`] to catch that at the source.

use super::media::MediaPlaylist;
use super::rules;
use super::tags::{units_down, units_up};

/// A model that would render into a playlist breaking draft-pantos-hls-rfc8216bis-22.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// §6.2.2: every segment has a unique, consecutive Media Sequence Number from
    /// EXT-X-MEDIA-SEQUENCE on.
    #[error("segment {index}: msn {msn}, expected {expected} (§4.4.3.2/§6.2.2)")]
    MsnGap {
        /// Position in `segments`.
        index: usize,
        /// Its msn.
        msn: u64,
        /// The msn that follows the previous one.
        expected: u64,
    },
    /// Only the last segment may be open.
    #[error("segment msn {msn} is open but not last")]
    OpenNotLast {
        /// Its msn.
        msn: u64,
    },
    /// An open segment without parts has nothing to show.
    #[error("open segment msn {msn} has no part")]
    OpenWithoutParts {
        /// Its msn.
        msn: u64,
    },
    /// §4.4.5.3 / §4.4.3.4: an ended playlist gets no new media, so no open segment.
    #[error("ended playlist still has the open segment msn {msn}")]
    OpenAfterEnd {
        /// Its msn.
        msn: u64,
    },
    /// §4.4.4.9: "The duration of a Partial Segment MUST be less than or equal to the Part
    /// Target Duration" (compared as printed).
    #[error(
        "part {part} of msn {msn} lasts {secs} s, over PART-TARGET {part_target} s (§4.4.4.9)"
    )]
    PartTooLong {
        /// Parent msn.
        msn: u64,
        /// Part index.
        part: usize,
        /// Its duration.
        secs: String,
        /// The part target.
        part_target: String,
    },
    /// §4.4.3.7: parts need a PART-TARGET.
    #[error("msn {msn} has parts but part_target is not a positive number (§4.4.3.7)")]
    NoPartTarget {
        /// Parent msn.
        msn: u64,
    },
    /// §4.4.3.1: EXTINF rounded to the nearest integer ≤ target.
    #[error("msn {msn} lasts {secs} s, over target {target} s (§4.4.3.1)")]
    SegmentTooLong {
        /// Its msn.
        msn: u64,
        /// Its duration.
        secs: String,
        /// The target duration.
        target: u64,
    },
    /// §3.1.2: every fMP4 segment has an EXT-X-MAP; the first one must have one in effect.
    #[error("no init (map_uri) for the first segment msn {msn} (§3.1.2)")]
    NoMap {
        /// Its msn.
        msn: u64,
    },
}

impl MediaPlaylist {
    /// Checks the model (see [`ModelError`]); the first problem found is returned.
    pub fn check(&self) -> Result<(), ModelError> {
        let last = self.segments.len().saturating_sub(1);
        let part_target_units = units_up(self.part_target);
        let part_target_ok = self.part_target.is_finite() && self.part_target > 0.0;
        for (index, s) in self.segments.iter().enumerate() {
            let expected = self.media_sequence.saturating_add(index as u64);
            if s.msn != expected {
                return Err(ModelError::MsnGap {
                    index,
                    msn: s.msn,
                    expected,
                });
            }
            if !s.complete {
                if index != last {
                    return Err(ModelError::OpenNotLast { msn: s.msn });
                }
                if s.parts.is_empty() {
                    return Err(ModelError::OpenWithoutParts { msn: s.msn });
                }
                if self.ended {
                    return Err(ModelError::OpenAfterEnd { msn: s.msn });
                }
            }
            if !s.parts.is_empty() && !part_target_ok {
                return Err(ModelError::NoPartTarget { msn: s.msn });
            }
            for (part, p) in s.parts.iter().enumerate() {
                if units_down(p.duration) > part_target_units {
                    return Err(ModelError::PartTooLong {
                        msn: s.msn,
                        part,
                        secs: p.duration.to_string(),
                        part_target: self.part_target.to_string(),
                    });
                }
            }
            if s.complete && rules::target_duration(s.duration) > self.target_duration.max(1) {
                return Err(ModelError::SegmentTooLong {
                    msn: s.msn,
                    secs: s.duration.to_string(),
                    target: self.target_duration,
                });
            }
        }
        if let Some(first) = self.segments.first() {
            if first.map_uri.is_none() && self.map_uri.is_none() {
                return Err(ModelError::NoMap { msn: first.msn });
            }
        }
        Ok(())
    }
}
