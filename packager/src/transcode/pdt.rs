//! The wall clock of output media time: what becomes EXT-X-PROGRAM-DATE-TIME.
//!
//! Stamping each frame with the clock at the moment it is decoded makes the date of a segment
//! jitter by however late its first frame happened to be decoded, differently for audio and
//! video (they are decoded at different moments). Under CPU load that is hundreds of
//! milliseconds, and hls.js, which places an audio playlist against the video one by
//! PROGRAM-DATE-TIME, then asks for the wrong audio part and leaves a hole in the buffer.
//! rfc8216bis-22 §6.2.4 asks for matching dates across renditions and §6.2.1 for a mapping
//! that never changes: so the date is a fixed function of media time, one anchor per
//! timeline shared by every rendition, `anchor_wall + (t - anchor_t)`.
//!
//! The anchor is the wall clock when the first frame of a timeline is ingested. It is moved
//! only when the mapping would say something false: a date in the future (a live publisher
//! bursting its buffered GOP at connect), or, for live inputs that are not paced by us, a
//! date further behind the clock than [`PdtClock::max_lag_ms`] (a sender's clock drifting).
//! Files and the test pattern are paced by the same media time, so their anchor never moves
//! for lag: lateness there is ours (a loaded machine), not the media's.

/// A date further in the future than this moves the anchor (ms).
pub(crate) const FUTURE_TOLERANCE_MS: i64 = 100;
/// A live (unpaced) input whose dates fall this far behind the clock is re-anchored (ms).
pub(crate) const LIVE_MAX_LAG_MS: i64 = 2_000;

/// Maps output media time (seconds) to Unix milliseconds; see the module comment.
#[derive(Debug, Clone)]
pub(crate) struct PdtClock {
    anchor: Option<(i64, f64)>,
    max_lag_ms: Option<i64>,
}

impl PdtClock {
    /// A clock with no anchor yet. `max_lag_ms`: how far behind the wall clock a date may
    /// fall before the anchor moves (`None`: never, for paced inputs).
    pub(crate) fn new(max_lag_ms: Option<i64>) -> Self {
        PdtClock {
            anchor: None,
            max_lag_ms,
        }
    }

    /// The date of media time `t` seconds, given the wall clock `now_ms`.
    pub(crate) fn at(&mut self, t: f64, now_ms: i64) -> i64 {
        let (wall, t0) = *self.anchor.get_or_insert((now_ms, t));
        let date = wall + ((t - t0) * 1000.0).round() as i64;
        let too_late = self.max_lag_ms.is_some_and(|lag| now_ms - date > lag);
        if date - now_ms > FUTURE_TOLERANCE_MS || too_late {
            self.anchor = Some((now_ms, t));
            return now_ms;
        }
        date
    }

    /// Forgets the anchor: the next frame starts a new mapping (after a discontinuity, where
    /// rfc8216bis-22 §4.4.4.3 lets the dates jump).
    pub(crate) fn reset(&mut self) {
        self.anchor = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_media_time_not_decode_time() {
        let mut c = PdtClock::new(None);
        assert_eq!(c.at(10.0, 1_000_000), 1_000_000);
        // Decoded 300 ms late under load: the date is still the media time's.
        assert_eq!(c.at(12.0, 1_002_300), 1_002_000);
        // Audio and video at the same media time get the same date, whenever decoded.
        assert_eq!(c.at(12.0, 1_002_010), 1_002_000);
        // Paced inputs never re-anchor for lag.
        assert_eq!(c.at(14.0, 1_010_000), 1_004_000);
    }

    #[test]
    fn a_date_in_the_future_moves_the_anchor() {
        let mut c = PdtClock::new(None);
        assert_eq!(c.at(0.0, 5_000), 5_000);
        // Within the tolerance: kept.
        assert_eq!(c.at(1.0, 5_950), 6_000);
        // A burst: 2 s of media in 100 ms.
        assert_eq!(c.at(2.5, 5_100), 5_100);
        assert_eq!(c.at(3.0, 5_600), 5_600);
    }

    #[test]
    fn live_inputs_re_anchor_when_far_behind() {
        let mut c = PdtClock::new(Some(LIVE_MAX_LAG_MS));
        assert_eq!(c.at(0.0, 0), 0);
        assert_eq!(c.at(1.0, 2_900), 1_000);
        assert_eq!(c.at(1.5, 3_600), 3_600);
        assert_eq!(c.at(2.0, 4_150), 4_100);
    }

    #[test]
    fn reset_starts_a_new_mapping() {
        let mut c = PdtClock::new(None);
        c.at(0.0, 0);
        c.reset();
        assert_eq!(c.at(100.0, 50), 50);
        assert_eq!(c.at(101.0, 1_400), 1_050);
    }
}
