//! The protocol arithmetic of LL-HLS: target duration, hold-backs, skip boundary, part pruning
//! horizon, advance part limit and bandwidth, each with its draft-pantos-hls-rfc8216bis-22 rule.
//! Pure functions of numbers; no IO, no clock.

use super::tags::units_down;

/// EXT-X-TARGETDURATION for segments lasting at most `max_segment_secs`.
///
/// §4.4.3.1: "The EXTINF duration of each Media Segment in a Playlist file, when rounded to the
/// nearest integer, MUST be less than or equal to the Target Duration"; "Its value MUST be at
/// least 1". The duration is rounded as EXTINF prints it (five decimals, down), then to the
/// nearest integer (halves up). The target never changes during a stream (§6.2.1), so callers
/// compute it once from the configured maximum segment duration.
pub fn target_duration(max_segment_secs: f64) -> u64 {
    let printed_units = units_down(max_segment_secs);
    // Nearest integer, halves up: (units + 0.5 s) / 1 s, in 1e-5 s units.
    let rounded = printed_units.saturating_add(50_000) / 100_000;
    rounded.max(1)
}

/// `HOLD-BACK` for `target_secs`: 3 × target.
///
/// §4.4.3.8: HOLD-BACK "MUST be at least three times the Target Duration".
pub fn hold_back(target_secs: u64) -> f64 {
    3.0 * target_secs as f64
}

/// `PART-HOLD-BACK` for `part_target_secs`: 3 × PART-TARGET as the playlist prints it.
///
/// §4.4.3.8: PART-HOLD-BACK "MUST be at least twice the Part Target Duration. Its value SHOULD be
/// at least three times the Part Target Duration." PART-TARGET is printed rounded up (1/3 s as
/// 0.33334), so three times the printed value (1.00002), not of the exact one (1.00000, short
/// of the SHOULD by 0.00002 as a player reads the two tags).
pub fn part_hold_back(part_target_secs: f64) -> f64 {
    3.0 * super::tags::units_up(part_target_secs) as f64 / 100_000.0
}

/// `CAN-SKIP-UNTIL` (the Skip Boundary) for `target_secs`: 6 × target.
///
/// §4.4.3.8: "The Skip Boundary MUST be at least six times the Target Duration."
pub fn can_skip_until(target_secs: u64) -> f64 {
    6.0 * target_secs as f64
}

/// How far from the end of the playlist EXT-X-PART tags are kept: 3 × target, in seconds.
///
/// §6.2.2: "EXT-X-PART tags SHOULD be removed from the Playlist after they are greater than three
/// Target Durations from the end of the Playlist."
pub fn part_horizon(target_secs: u64) -> f64 {
    3.0 * target_secs as f64
}

/// The Advance Part Limit, in parts, for `part_target_secs`.
///
/// §6.2.5.2: "The Advance Part Limit is three divided by the Part Target Duration if the Part
/// Target Duration is less than one second, or three otherwise." A request whose part lies more
/// than this many parts past the last part SHOULD get 400. The quotient is floored: a distance
/// `d` in whole parts exceeds `3 / PART-TARGET` exactly when it exceeds its floor. A part target
/// that is not a positive number gives 3.
pub fn advance_part_limit(part_target_secs: f64) -> u32 {
    if !(part_target_secs.is_finite() && part_target_secs > 0.0) || part_target_secs >= 1.0 {
        return 3;
    }
    // Forgive float noise such as 3 / 0.2 = 14.999999999999998.
    let limit = (3.0 / part_target_secs + 1e-9).floor();
    if limit >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        limit as u32
    }
}

/// Bit rate of a set of segments, bits per second rounded up (never understated).
fn bit_rate(bytes: u64, secs: f64) -> u64 {
    if !(secs.is_finite() && secs > 0.0) {
        return 0;
    }
    let bps = (bytes as f64) * 8.0 / secs;
    if bps >= u64::MAX as f64 {
        u64::MAX
    } else {
        bps.ceil() as u64
    }
}

/// Peak segment bit rate (EXT-X-STREAM-INF BANDWIDTH) of segments given as `(bytes, secs)` in
/// playlist order, for a playlist with target duration `target_secs`.
///
/// §4.1: "The peak segment bit rate of a Media Playlist is the largest bit rate of any contiguous
/// set of segments whose total duration is between 0.5 times the Target Duration and 1.5 times
/// the Target Duration plus 0.5 seconds"; "The bit rate of a set is calculated by dividing the
/// sum of the segment sizes by the sum of the segment durations." §4.4.6.2: BANDWIDTH is that
/// peak. When no set falls in the window (too few or too short segments), the largest single
/// segment bit rate is used, which is an upper bound of any set's rate. Empty input gives 0.
pub fn peak_bandwidth(segments: &[(u64, f64)], target_secs: u64) -> u64 {
    let low = 0.5 * target_secs as f64;
    let high = 1.5 * target_secs as f64 + 0.5;
    let mut peak: Option<u64> = None;
    for start in 0..segments.len() {
        let (mut bytes, mut secs) = (0u64, 0.0f64);
        for &(b, s) in &segments[start..] {
            bytes = bytes.saturating_add(b);
            secs += s.max(0.0);
            if secs > high {
                break;
            }
            if secs >= low {
                peak = Some(peak.unwrap_or(0).max(bit_rate(bytes, secs)));
            }
        }
    }
    peak.unwrap_or_else(|| {
        segments
            .iter()
            .map(|&(b, s)| bit_rate(b, s))
            .max()
            .unwrap_or(0)
    })
}

/// Average segment bit rate (EXT-X-STREAM-INF AVERAGE-BANDWIDTH) of `(bytes, secs)` segments.
///
/// §4.1: "the sum of the sizes (in bits) of every Media Segment in the Media Playlist, divided by
/// the Media Playlist duration". Rounded up. Empty input gives 0.
pub fn average_bandwidth(segments: &[(u64, f64)]) -> u64 {
    let bytes = segments
        .iter()
        .fold(0u64, |acc, &(b, _)| acc.saturating_add(b));
    let secs: f64 = segments.iter().map(|&(_, s)| s.max(0.0)).sum();
    bit_rate(bytes, secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_duration_rounds_printed_extinf_to_nearest() {
        assert_eq!(target_duration(0.0), 1);
        assert_eq!(target_duration(0.4), 1);
        assert_eq!(target_duration(2.0), 2);
        assert_eq!(target_duration(2.49999), 2);
        assert_eq!(target_duration(2.499_999_9), 2); // prints 2.49999
        assert_eq!(target_duration(2.5), 3);
        assert_eq!(target_duration(4.00008), 4);
        assert_eq!(target_duration(f64::NAN), 1);
    }

    #[test]
    fn hold_backs_and_skip_boundary() {
        assert_eq!(hold_back(4), 12.0);
        assert_eq!(part_hold_back(0.5), 1.5);
        // 1/3 s prints as PART-TARGET=0.33334; the hold-back is three of those.
        assert_eq!(part_hold_back(1.0 / 3.0), 1.00002);
        assert_eq!(can_skip_until(4), 24.0);
        assert_eq!(part_horizon(2), 6.0);
    }

    #[test]
    fn advance_part_limit_table() {
        let cases = [
            (0.2, 15),
            (0.25, 12),
            (1.0 / 3.0, 9),
            (0.333, 9),
            (0.5, 6),
            (0.9, 3),
            (1.0, 3),
            (2.0, 3),
            (0.0, 3),
            (-1.0, 3),
            (f64::NAN, 3),
            (1e-12, u32::MAX),
        ];
        for (part_target, limit) in cases {
            assert_eq!(
                advance_part_limit(part_target),
                limit,
                "part target {part_target}"
            );
        }
    }

    #[test]
    fn peak_bandwidth_uses_the_window_of_section_4_1() {
        // Target 4: sets of 2 .. 6.5 s qualify. One 2 s burst of 1 MB dominates.
        let segs = [(500_000, 4.0), (1_000_000, 2.0), (100_000, 4.0)];
        assert_eq!(peak_bandwidth(&segs, 4), 4_000_000);
        // Every single segment qualifies, and the burst alone is the peak.
        assert_eq!(peak_bandwidth(&[(1000, 4.0), (3000, 4.0)], 4), 6000);
        // Too short for any window: the largest single rate.
        assert_eq!(peak_bandwidth(&[(100, 0.5)], 10), 1600);
        assert_eq!(peak_bandwidth(&[], 4), 0);
        assert_eq!(
            peak_bandwidth(&[(u64::MAX, 1.0), (u64::MAX, 1.0)], 2),
            u64::MAX
        );
    }

    #[test]
    fn average_bandwidth_is_total_bits_over_total_time() {
        assert_eq!(average_bandwidth(&[(1000, 4.0), (3000, 4.0)],), 4000);
        assert_eq!(average_bandwidth(&[(1, 3.0)]), 3); // 8/3 rounded up
        assert_eq!(average_bandwidth(&[]), 0);
        assert_eq!(average_bandwidth(&[(10, 0.0)]), 0);
    }
}
