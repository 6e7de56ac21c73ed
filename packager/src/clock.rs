//! The wall-clock timeline: media time as ticks since the Unix epoch (UTC), so that segment
//! boundaries, MSNs, tfdt and PROGRAM-DATE-TIME are functions of the clock. Two origins with
//! the same stream config, running the test pattern (or pacing the same file) and started at
//! different moments, then number and time the same media alike: the same MSN is the same URL,
//! the same EXTINF and part durations, the same date and the same tfdt (MediaLive's "epoch
//! locking"; Wowza's time-derived chunk ids). Pure: the caller passes the clock in.
//!
//! The timeline is locked for inputs llhls paces itself (the test pattern, files with
//! `realtime = true`) in streams without a copy rung. Live inputs keep the sender's clock (their
//! timestamps are theirs; at connect they often burst a buffered GOP ahead of real time), and a
//! copy rung cannot put key frames on the grid, so both keep numbering from 0 with the epoch.

use sha2::{Digest, Sha256};

use crate::config::{FrameRate, StreamConfig, VideoCodec};

/// Ticks per second of the clock timeline (the video timescale).
pub const TIMESCALE: i64 = 90_000;

/// Whether `cfg` runs on the wall-clock timeline (see the module comment).
pub fn locked(cfg: &StreamConfig) -> bool {
    cfg.input.realtime
        && !cfg.input.is_network()
        && !cfg.rungs.iter().any(|r| r.codec == VideoCodec::Copy)
}

/// Ticks of one frame at `rate` (rounded: exact for every common rate, 3000 at 30 fps, 3003 at
/// 29.97).
pub fn frame_ticks(rate: FrameRate) -> i64 {
    ((TIMESCALE as f64) * f64::from(rate.den) / f64::from(rate.num.max(1))).round() as i64
}

/// The first frame time at or after `now_ms` on the frame grid through tick 0.
pub fn first_frame(now_ms: i64, rate: FrameRate) -> i64 {
    let step = frame_ticks(rate).max(1);
    let now = now_ms.saturating_mul(TIMESCALE / 1000);
    now.div_euclid(step)
        .saturating_add(i64::from(now.rem_euclid(step) != 0))
        * step
}

/// Ticks of one segment of `segment_target` seconds.
pub fn segment_ticks(segment_target: f64) -> i64 {
    ((segment_target * TIMESCALE as f64).round() as i64).max(1)
}

/// The first segment boundary at or after `pts` (the grid passes through tick 0).
pub fn first_boundary(pts: i64, segment_target: f64) -> i64 {
    let step = segment_ticks(segment_target);
    pts.div_euclid(step)
        .saturating_add(i64::from(pts.rem_euclid(step) != 0))
        * step
}

/// Input before the first published boundary, at least: 200 ms (ten AAC frames at 48 kHz).
pub const FIRST_BOUNDARY_MARGIN: i64 = 18_000;

/// Audio kept before the first published boundary (90 kHz; two AAC frames at 48 kHz): it
/// holds the AAC frame that straddles the boundary, which opens the first audio segment.
pub const AUDIO_LEAD: i64 = 3_840;

/// The first segment boundary an origin whose input starts at `first_frame` publishes from:
/// the first one at least [`FIRST_BOUNDARY_MARGIN`] after it. The first segment must open with
/// the AAC frame that straddles its boundary, as every later one does (and as on any other
/// origin); a boundary right after the input's start would come before that frame exists.
pub fn first_published(first_frame: i64, segment_target: f64) -> i64 {
    first_boundary(
        first_frame.saturating_add(FIRST_BOUNDARY_MARGIN),
        segment_target,
    )
}

/// The MSN of the segment that starts at `pts`: `floor(pts / segment ticks)`.
pub fn msn_at(pts: i64, segment_target: f64) -> u64 {
    u64::try_from(pts.div_euclid(segment_ticks(segment_target))).unwrap_or(0)
}

/// Unix milliseconds of a clock-timeline tick (its PROGRAM-DATE-TIME).
pub fn ms_of(pts: i64) -> i64 {
    pts.div_euclid(TIMESCALE / 1000)
}

/// The URL version of a stream on the clock timeline, in place of the start epoch: a digest of
/// everything that shapes its bytes (llhls's version, the ladder, audio, targets, window mode,
/// the test pattern), not of where the input comes from. A restart with the same config keeps
/// its URLs; a config that changes the bytes changes them, so one URL never names two byte
/// sequences. 48 bits, printed in decimal.
pub fn version(cfg: &StreamConfig) -> u64 {
    let mut shaping = cfg.clone();
    shaping.input.url = String::new();
    shaping.input.options = Default::default();
    shaping.input.format = None;
    let text = format!("llhls {}\n{shaping:?}", env!("CARGO_PKG_VERSION"));
    let d = Sha256::digest(text.as_bytes());
    u64::from_be_bytes([0, 0, d[0], d[1], d[2], d[3], d[4], d[5]])
}

#[cfg(test)]
mod tests {
    use super::*;

    const R30: FrameRate = FrameRate { num: 30, den: 1 };
    const NTSC: FrameRate = FrameRate {
        num: 30_000,
        den: 1_001,
    };

    #[test]
    fn frames_and_boundaries_on_the_clock() {
        assert_eq!(frame_ticks(R30), 3000);
        assert_eq!(frame_ticks(NTSC), 3003);
        // 1,765,000,000.010 s: the next 30 fps frame is at .0333…
        let now_ms = 1_765_000_000_010;
        let f = first_frame(now_ms, R30);
        assert_eq!(f % 3000, 0);
        assert!(f >= now_ms * 90 && f - now_ms * 90 < 3000);
        assert_eq!(first_frame(1_765_000_000_000, R30), 1_765_000_000_000 * 90);
        let b = first_boundary(f, 2.0);
        assert_eq!(b % 180_000, 0);
        assert!(b >= f && b - f < 180_000);
        assert_eq!(msn_at(b, 2.0), (b / 180_000) as u64);
        // An input starting 10 ms before a boundary publishes from the next one; 300 ms before,
        // from that one.
        let t = 1_765_000_000 * 90_000;
        assert_eq!(first_published(t - 900, 1.0), t + 90_000);
        assert_eq!(first_published(t - 27_000, 1.0), t);
        assert_eq!(msn_at(1_765_000_000_000 * 90, 2.0), 882_500_000);
        assert_eq!(ms_of(1_765_000_000_000 * 90 + 89), 1_765_000_000_000);
    }

    #[test]
    fn versions_follow_what_shapes_the_bytes() {
        let cfg = |toml: &str| {
            crate::config::Config::from_toml_str(toml, "t")
                .unwrap()
                .streams[0]
                .clone()
        };
        let a = cfg("[[stream]]\nname = \"a\"\ninput = { url = \"testpattern\" }\n[[stream.rung]]\nname = \"v\"\nheight = 360\nbitrate = \"800k\"\n");
        let same = cfg("[[stream]]\nname = \"a\"\ninput = { url = \"testpattern\" }\n[[stream.rung]]\nname = \"v\"\nheight = 360\nbitrate = \"800k\"\n");
        let other = cfg("[[stream]]\nname = \"a\"\ninput = { url = \"testpattern\" }\n[[stream.rung]]\nname = \"v\"\nheight = 360\nbitrate = \"900k\"\n");
        assert_eq!(version(&a), version(&same));
        assert_ne!(version(&a), version(&other));
        assert!(version(&a) < 1 << 48);
        assert!(locked(&a));
    }
}
