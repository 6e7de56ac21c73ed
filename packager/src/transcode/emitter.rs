//! The output end of every encoder thread (video rungs, copy rungs and audio): stamps each
//! sample with the wall clock of its capture, puts `Feed::Discontinuity` before the first sample
//! after an input break, and, for video, holds one sample to learn its duration and whether the
//! next one is a key frame. The one home of that bookkeeping.

use std::collections::VecDeque;

use super::sink::Sink;
use super::Feed;
use crate::cmaf::{EncodedSample, TrackInfo};

/// Capture anchors kept per encoder: several seconds of input frames, far more than any
/// encoder's delay.
const MAX_ANCHORS: usize = 512;

/// How samples leave.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Video: each sample is held until the next arrives (its duration is the dts step; its
    /// `next_sync` whether the next is a key frame). The last one lasts `nominal` ticks.
    HoldOne { nominal: i64 },
    /// Audio: durations are known and every sample is a sync sample; sent at once.
    Direct,
}

/// One encoder's output: a [`Sink`] plus the wall-clock and discontinuity bookkeeping.
pub(crate) struct Emitter {
    sink: Sink,
    mode: Mode,
    /// Ticks per second of the track's timestamps.
    timescale: i64,
    held: Option<EncodedSample>,
    /// (pts, capture wall clock in Unix ms) of ingested frames, in increasing pts.
    anchors: VecDeque<(i64, i64)>,
    /// A discontinuity was announced; it is due from the next ingested pts.
    disc_pending: bool,
    /// Output pts from which a Discontinuity is due.
    disc_at: Option<i64>,
    /// False once the consumer went away: the thread should stop.
    pub open: bool,
    /// Timestamps are wall-clock ticks ([`crate::clock`]): a sample's date is its pts.
    clock: bool,
}

impl Emitter {
    /// A video output (timescale 90 kHz) whose last sample lasts `nominal` ticks.
    pub(crate) fn video(sink: Sink, timescale: u32, nominal: i64) -> Emitter {
        Emitter::new(sink, timescale, Mode::HoldOne { nominal })
    }

    /// An audio output in `timescale` (the sample rate).
    pub(crate) fn audio(sink: Sink, timescale: u32) -> Emitter {
        Emitter::new(sink, timescale, Mode::Direct)
    }

    fn new(sink: Sink, timescale: u32, mode: Mode) -> Emitter {
        Emitter {
            sink,
            mode,
            timescale: i64::from(timescale.max(1)),
            held: None,
            anchors: VecDeque::new(),
            disc_pending: false,
            disc_at: None,
            open: true,
            clock: false,
        }
    }

    /// Timestamps are on the wall-clock timeline: each sample's date is its own pts (exactly,
    /// the same on every origin), not an interpolation from ingest anchors.
    pub(crate) fn on_clock(mut self) -> Emitter {
        self.clock = true;
        self
    }

    /// Sends the track (before the first sample).
    pub(crate) fn track(&mut self, track: TrackInfo) {
        self.open &= self.sink.send(Feed::Track(track));
    }

    /// The input broke: the first sample at or after the next ingested pts follows a
    /// discontinuity (rfc8216bis-22 §4.4.4.3).
    pub(crate) fn discontinuity(&mut self) {
        self.disc_pending = true;
    }

    /// A frame entered the encoder at output `pts`, captured at `wall_ms`.
    pub(crate) fn ingested(&mut self, pts: i64, wall_ms: i64) {
        // Output timestamps run on across a break (the ingest's timeline), so the anchors
        // before it stay valid for samples still in the encoder.
        if std::mem::take(&mut self.disc_pending) {
            self.disc_at = Some(pts);
        }
        if self.anchors.back().is_some_and(|(p, _)| *p >= pts) {
            return;
        }
        self.anchors.push_back((pts, wall_ms));
        if self.anchors.len() > MAX_ANCHORS {
            self.anchors.pop_front();
        }
    }

    /// The capture wall clock of output `pts`: the newest anchor at or before it, plus the
    /// media time since.
    fn wall_at(&self, pts: i64) -> Option<i64> {
        if self.clock {
            return Some((i128::from(pts) * 1000 / i128::from(self.timescale)) as i64);
        }
        let i = self.anchors.partition_point(|(p, _)| *p <= pts);
        let (p, w) = self.anchors.get(i.checked_sub(1)?)?;
        Some(w + (pts - p) * 1000 / self.timescale)
    }

    /// One encoded sample. Its `wallclock_ms`, when `None`, is taken from the anchors; with
    /// [`Mode::HoldOne`] its `duration` and `next_sync` are set when the next one arrives.
    pub(crate) fn emit(&mut self, mut sample: EncodedSample) {
        if sample.wallclock_ms.is_none() {
            sample.wallclock_ms = self.wall_at(sample.pts);
        }
        match self.mode {
            Mode::Direct => self.send(sample),
            Mode::HoldOne { nominal } => self.release(Some(sample), nominal),
        }
    }

    /// [`Emitter::emit`] for a sample that may be missing (a packet without data or pts).
    pub(crate) fn emit_some(&mut self, sample: Option<EncodedSample>) {
        if let Some(s) = sample {
            self.emit(s);
        }
    }

    /// Sends the held sample, then ends the feed.
    pub(crate) fn finish(&mut self) {
        if let Mode::HoldOne { nominal } = self.mode {
            self.release(None, nominal);
        }
        if self.open {
            self.sink.send(Feed::End);
        }
    }

    fn release(&mut self, next: Option<EncodedSample>, nominal: i64) {
        if let Some(mut held) = self.held.take() {
            let d = next.as_ref().map_or(nominal, |n| n.dts - held.dts);
            held.duration = u32::try_from(if d > 0 { d } else { nominal })
                .unwrap_or(1)
                .max(1);
            // The next packet is in hand: when it is a key frame the chunker will take (a later
            // dts, some bytes), the chunker can close a segment with this sample, so that no
            // playlist hints a part after its last (rfc8216bis-22 §4.4.5.3). A key frame it
            // rejected after an early close would leave the next segment without its start.
            held.next_sync = d > 0 && next.as_ref().is_some_and(|n| n.sync && !n.data.is_empty());
            self.send(held);
        }
        self.held = next;
    }

    fn send(&mut self, sample: EncodedSample) {
        if self.disc_at.is_some_and(|at| sample.pts >= at) {
            self.disc_at = None;
            self.open &= self.sink.send(Feed::Discontinuity);
        }
        self.open &= self.sink.send(Feed::Sample(sample));
    }
}
