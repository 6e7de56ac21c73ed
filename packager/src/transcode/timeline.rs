//! Pure: maps input timestamps (which restart at every loop or reconnect, and may jump on
//! corrupt input) onto one continuous, increasing output timeline.

/// A jump larger than this (in output ticks' seconds) is treated as a break, not as time.
const MAX_GAP_SECONDS: i64 = 5;

/// Continuous output timeline in `timescale` ticks.
#[derive(Debug, Clone)]
pub(crate) struct Timeline {
    timescale: i64,
    nominal: i64,
    /// (input pts, output pts) of the current run's anchor.
    anchor: Option<(i64, i64)>,
    last: Option<i64>,
    last_duration: i64,
    /// Where the first run begins (0 unless [`Timeline::start_at`]).
    first: i64,
}

/// One mapped timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mapped {
    /// Output timestamp.
    pub pts: i64,
    /// True when the input jumped (backwards, or forward by more than 5 s) and the
    /// timeline was re-anchored.
    pub jumped: bool,
}

impl Timeline {
    /// A timeline whose frames last `nominal` ticks unless timestamps say otherwise.
    pub(crate) fn new(timescale: u32, nominal: i64) -> Timeline {
        Timeline {
            timescale: i64::from(timescale),
            nominal: nominal.max(1),
            anchor: None,
            last: None,
            last_duration: nominal.max(1),
            first: 0,
        }
    }

    /// The first frame maps to `pts` (a wall-clock timeline's start) instead of 0.
    pub(crate) fn start_at(&mut self, pts: i64) {
        self.first = pts;
    }

    /// The next input frame starts a new run (file looped, publisher reconnected): it maps
    /// to one frame duration after the last output timestamp.
    pub(crate) fn restart(&mut self) {
        self.anchor = None;
    }

    /// output − input of the current run, once its first frame is mapped.
    pub(crate) fn offset(&self) -> Option<i64> {
        self.anchor.map(|(i, o)| o - i)
    }

    /// The output timestamp after the last one (where a new run begins).
    fn next_start(&self) -> i64 {
        self.last.map_or(self.first, |l| l + self.last_duration)
    }

    /// Maps an input timestamp (already in output ticks; `None` when unknown).
    pub(crate) fn map(&mut self, input: Option<i64>) -> Mapped {
        let mut jumped = false;
        let pts = match (input, self.anchor) {
            (None, _) => self.next_start(),
            (Some(i), None) => {
                self.anchor = Some((i, self.next_start()));
                self.next_start()
            }
            (Some(i), Some((ai, ao))) => {
                let candidate = ao + (i - ai);
                let ok = match self.last {
                    Some(l) => candidate > l && candidate - l <= MAX_GAP_SECONDS * self.timescale,
                    None => true,
                };
                if ok {
                    candidate
                } else {
                    jumped = true;
                    let start = self.next_start();
                    self.anchor = Some((i, start));
                    start
                }
            }
        };
        if let Some(l) = self.last {
            let d = pts - l;
            self.last_duration = if d > 0 && d <= self.timescale {
                d
            } else {
                self.nominal
            };
        }
        self.last = Some(pts);
        Mapped { pts, jumped }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuous_across_restarts() {
        let mut t = Timeline::new(90_000, 3000);
        let first: Vec<_> = [1000, 4000, 7000]
            .iter()
            .map(|p| t.map(Some(*p)).pts)
            .collect();
        assert_eq!(first, [0, 3000, 6000]);
        t.restart();
        let second: Vec<_> = [1000, 4000].iter().map(|p| t.map(Some(*p)).pts).collect();
        assert_eq!(second, [9000, 12000]);
    }

    #[test]
    fn backwards_and_huge_jumps_re_anchor() {
        let mut t = Timeline::new(90_000, 3000);
        t.map(Some(0));
        t.map(Some(3000));
        let back = t.map(Some(0));
        assert_eq!(
            back,
            Mapped {
                pts: 6000,
                jumped: true
            }
        );
        let far = t.map(Some(90_000 * 60));
        assert_eq!(
            far,
            Mapped {
                pts: 9000,
                jumped: true
            }
        );
        assert_eq!(t.map(Some(90_000 * 60 + 3000)).pts, 12000);
        assert_eq!(t.map(None).pts, 15000);
    }

    #[test]
    fn equal_timestamps_never_repeat() {
        let mut t = Timeline::new(90_000, 3000);
        let a = t.map(Some(100)).pts;
        let b = t.map(Some(100)).pts;
        assert!(b > a);
    }
}
