//! The segment grid: where segment boundaries (and so forced key frames) fall on a timeline.
//! Pure: no IO, no clock.
//!
//! One grid serves both sides of the encoder. The ingest forces a key frame on the first frame at
//! or after each grid point, and the chunker closes every rendition's segments at the same grid
//! points (video at that key frame, audio at the AAC frame that straddles the point). Two
//! derivations would drift apart wherever a segment is not a whole number of frames (a key
//! forced one target after the previous key, at 29.97 fps with 2 s segments, is a 2.002 s GOP:
//! after ~1,000 segments video MSNs would be one behind audio's), which breaks rendition reports
//! and switching (rfc8216bis-22 §4.4.5.4, §6.2.4).

/// Segment boundaries at `origin + k × step` ticks, for every integer `k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentGrid {
    origin: i64,
    step: i64,
}

impl SegmentGrid {
    /// A grid through `origin` with one boundary every `step` ticks (at least 1).
    pub fn new(origin: i64, step: i64) -> Self {
        SegmentGrid {
            origin,
            step: step.max(1),
        }
    }

    /// A grid through `origin` with a boundary every `seconds`, in a timescale of `timescale`
    /// ticks per second: `step = round(seconds × timescale)`.
    pub fn from_seconds(origin: i64, seconds: f64, timescale: u32) -> Self {
        SegmentGrid::new(origin, (seconds * f64::from(timescale)).round() as i64)
    }

    /// The tick the grid passes through.
    pub fn origin(&self) -> i64 {
        self.origin
    }

    /// Ticks between two boundaries.
    pub fn step(&self) -> i64 {
        self.step
    }

    /// The index of the grid interval holding `t`: `floor((t − origin) / step)`.
    pub fn index(&self, t: i64) -> i64 {
        t.saturating_sub(self.origin).div_euclid(self.step)
    }

    /// The first boundary strictly after `t`.
    pub fn boundary_after(&self, t: i64) -> i64 {
        self.origin
            .saturating_add(self.index(t).saturating_add(1).saturating_mul(self.step))
    }
}

/// Decides which frames are key frames: the first frame at or after each grid point. The grid's
/// origin is the first key frame of the timeline (see [`KeyFrames::restart`]).
#[derive(Debug, Clone, Copy)]
pub struct KeyFrames {
    step: i64,
    grid: Option<SegmentGrid>,
    next: i64,
    /// The grid never moves ([`KeyFrames::fixed`]).
    fixed: bool,
}

impl KeyFrames {
    /// Key frames every `step` ticks, from the first frame offered.
    pub fn new(step: i64) -> Self {
        KeyFrames {
            step,
            grid: None,
            next: 0,
            fixed: false,
        }
    }

    /// Key frames on `grid`, which never moves (a wall-clock timeline): the first frame offered
    /// is a key frame, then the first at or after each grid point.
    pub fn fixed(grid: SegmentGrid) -> Self {
        KeyFrames {
            step: grid.step(),
            grid: Some(grid),
            next: i64::MIN,
            fixed: true,
        }
    }

    /// Whether the frame at `pts` is a key frame; `allowed` is false for a frame that cannot be
    /// one (a copy rung follows the input's key frames). A key frame moves the next due point to
    /// the grid point after it.
    pub fn decide(&mut self, pts: i64, allowed: bool) -> bool {
        if !allowed || self.grid.is_some_and(|_| pts < self.next) {
            return false;
        }
        let grid = *self
            .grid
            .get_or_insert_with(|| SegmentGrid::new(pts, self.step));
        self.next = grid.boundary_after(pts);
        true
    }

    /// A new timeline (an input that reconnected): the next allowed frame is a key frame and
    /// the origin of a new grid.
    pub fn restart(&mut self) {
        if self.fixed {
            self.next = i64::MIN;
        } else {
            self.grid = None;
        }
    }

    /// The grid, once the first key frame set it.
    pub fn grid(&self) -> Option<SegmentGrid> {
        self.grid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_and_indexes() {
        let g = SegmentGrid::new(1000, 180_000);
        assert_eq!(g.index(1000), 0);
        assert_eq!(g.index(999), -1);
        assert_eq!(g.index(181_000), 1);
        assert_eq!(g.boundary_after(1000), 181_000);
        assert_eq!(g.boundary_after(180_999), 181_000);
        assert_eq!(g.boundary_after(181_000), 361_000);
        assert_eq!(g.boundary_after(-5), 1000);
        assert_eq!(SegmentGrid::new(0, 0).step(), 1);
        assert_eq!(SegmentGrid::from_seconds(0, 2.0, 48_000).step(), 96_000);
    }

    #[test]
    fn key_frames_stay_on_the_grid_at_ntsc_rates() {
        // 29.97 fps (3003 ticks), 2 s segments: keys at the first frame at or after each
        // multiple of 180,000 from the first frame, never one target after the previous key.
        let mut k = KeyFrames::new(180_000);
        let keys: Vec<i64> = (0..600i64)
            .map(|i| i * 3003)
            .filter(|&pts| k.decide(pts, true))
            .collect();
        let want: Vec<i64> = (0..10i64)
            .map(|n| (n * 180_000 + 3002) / 3003 * 3003)
            .collect();
        assert_eq!(keys, want);
        // Each key is within one frame after its grid point.
        for (n, key) in keys.iter().enumerate() {
            let point = n as i64 * 180_000;
            assert!(*key >= point && *key < point + 3003, "{key} vs {point}");
        }
    }

    #[test]
    fn a_fixed_grid_never_moves() {
        let mut k = KeyFrames::fixed(SegmentGrid::new(0, 100));
        assert!(k.decide(250, true), "the first frame is a key frame");
        assert!(!k.decide(280, true));
        assert!(k.decide(303, true));
        k.restart();
        assert!(k.decide(333, true), "after a break, the next frame");
        assert!(!k.decide(366, true));
        assert!(k.decide(400, true), "on the same grid");
        assert_eq!(k.grid().map(|g| g.origin()), Some(0));
    }

    #[test]
    fn refused_frames_and_restart() {
        let mut k = KeyFrames::new(100);
        assert!(!k.decide(5, false));
        assert!(k.decide(7, true));
        assert_eq!(k.grid(), Some(SegmentGrid::new(7, 100)));
        assert!(!k.decide(106, true));
        assert!(!k.decide(107, false));
        assert!(k.decide(110, true));
        assert!(!k.decide(206, true));
        k.restart();
        assert!(k.decide(5000, true));
        assert_eq!(k.grid().map(|g| g.origin()), Some(5000));
    }
}
