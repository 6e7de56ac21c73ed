//! The ingest thread: read, decode once, map timestamps onto the continuous output
//! timeline, decide the segment-boundary key frames, pace to real time, and hand every
//! frame to the encoder threads. Also restarts looped files and reconnects live inputs.
//! Starting and stopping the threads is `pipeline.rs`.

use super::audio::AudioWork;
use super::copy::CopyMsg;
use super::input::{self, Source};
use super::pdt::{self, PdtClock};
use super::sink::now_ms;
use super::timeline::Timeline;
use super::video::{VideoWork, Work};
use super::{Error, VIDEO_TIMESCALE};
use crate::config::StreamConfig;
use crate::counters::Metrics;
use crate::cue::CueBook;
use crate::grid::{KeyFrames, SegmentGrid};
use ff::{Rational, Rescale};
use ffmpeg_next as ff;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Consecutive demuxer errors after which a file input is considered finished.
const MAX_CONSECUTIVE_READ_ERRORS: u32 = 100;
/// Wait between attempts to reopen a live input.
const RECONNECT_DELAY: Duration = Duration::from_millis(200);

/// Where the ingest sends its work: each encoder thread's queue.
pub(super) struct Outputs {
    /// Transcoded rungs: decoded frames.
    pub video: Vec<SyncSender<Work<VideoWork>>>,
    /// Copy rungs: input packets; when any exists, segment boundaries follow input key frames.
    pub copy: Vec<SyncSender<Work<CopyMsg>>>,
    /// The audio rendition: decoded audio.
    pub audio: Option<SyncSender<Work<AudioWork>>>,
}

pub(super) struct Ingest {
    /// Copy rungs: input packets; when any exists, segment boundaries follow input key frames.
    copy_tx: Vec<SyncSender<Work<CopyMsg>>>,
    /// The timeline offset last sent to the copy rungs.
    copy_offset: Option<i64>,
    cfg: StreamConfig,
    stop: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    video_tx: Vec<SyncSender<Work<VideoWork>>>,
    audio_tx: Option<SyncSender<Work<AudioWork>>>,
    timeline: Timeline,
    /// Which frames are key frames: the segment grid the chunker cuts every rendition on.
    keys: KeyFrames,
    /// Real-time pacing anchor: (instant, output seconds) of the first frame.
    clock: Option<(Instant, f64)>,
    /// Output seconds of audio read so far (paces audio-only inputs).
    audio_seconds: f64,
    /// PROGRAM-DATE-TIME of output media time, shared by every rendition.
    pdt: PdtClock,
    /// The stream's cues, bound here to the next frame (see [`crate::cue`]).
    cues: Arc<CueBook>,
    /// On the wall-clock timeline ([`crate::clock`]): where it starts.
    clock_start: Option<ClockStart>,
}

/// Where a stream on the wall-clock timeline starts ([`crate::clock`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClockStart {
    /// Clock tick of the input's first frame.
    pub first_frame: i64,
    /// The first segment boundary at or after it: nothing earlier is published, so the first
    /// segment is whole and numbered like every other origin's.
    pub boundary: i64,
}

impl Ingest {
    /// The ingest of `cfg` at an input frame duration of `nominal` ticks.
    pub(super) fn new(
        cfg: &StreamConfig,
        stop: Arc<AtomicBool>,
        metrics: Arc<Metrics>,
        out: Outputs,
        nominal: i64,
        cues: Arc<CueBook>,
        clock_start: Option<ClockStart>,
    ) -> Ingest {
        let step = SegmentGrid::from_seconds(0, cfg.segment_target, VIDEO_TIMESCALE).step();
        let mut timeline = Timeline::new(VIDEO_TIMESCALE, nominal);
        if let Some(c) = clock_start {
            timeline.start_at(c.first_frame);
        }
        Ingest {
            cues,
            clock_start,
            copy_tx: out.copy,
            copy_offset: None,
            cfg: cfg.clone(),
            stop,
            metrics,
            video_tx: out.video,
            audio_tx: out.audio,
            timeline,
            // On the clock, key frames fall on the grid through tick 0; else through the first.
            keys: match clock_start {
                Some(_) => KeyFrames::fixed(SegmentGrid::new(0, step)),
                None => KeyFrames::new(step),
            },
            clock: None,
            audio_seconds: 0.0,
            // Paced inputs keep their anchor; live ones follow the sender's clock within a bound.
            pdt: PdtClock::new(
                (!cfg.input.realtime || cfg.input.is_network()).then_some(pdt::LIVE_MAX_LAG_MS),
            ),
        }
    }
}

enum Ended {
    Eof,
    Broken,
    Stopped,
}

impl Ingest {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub(super) fn run(mut self, mut source: Source) -> Result<(), Error> {
        let result = loop {
            let ended = self.read_all(&mut source);
            drop(source);
            if matches!(ended, Ended::Stopped) || self.stopped() {
                break Ok(());
            }
            if self.cfg.input.looped {
                self.metrics.loops.fetch_add(1, Ordering::Relaxed);
                match input::open(&self.cfg.input, self.stop.clone(), self.first_frame_now()) {
                    Ok(s) => {
                        source = s;
                        self.timeline.restart();
                        self.copy_offset = None;
                        continue;
                    }
                    Err(e) => {
                        break Err(Error::Open {
                            stream: self.cfg.name.clone(),
                            url: self.cfg.input.url.clone(),
                            source: e,
                        })
                    }
                }
            }
            if self.cfg.input.is_network() {
                tracing::warn!(stream = %self.cfg.name, url = %self.cfg.input.url, broken = matches!(ended, Ended::Broken), "input ended; waiting for the publisher to come back");
                match self.reopen() {
                    Some(s) => {
                        source = s;
                        self.metrics.reconnects.fetch_add(1, Ordering::Relaxed);
                        self.broadcast_discontinuity();
                        self.pdt.reset();
                        self.timeline.restart();
                        self.keys.restart();
                        self.copy_offset = None;
                        continue;
                    }
                    None => break Ok(()),
                }
            }
            break Ok(());
        };
        for tx in &self.video_tx {
            let _ = tx.send(Work::End);
        }
        for tx in &self.copy_tx {
            let _ = tx.send(Work::End);
        }
        if let Some(tx) = &self.audio_tx {
            let _ = tx.send(Work::End);
        }
        result
    }

    fn reopen(&self) -> Option<Source> {
        while !self.stopped() {
            match input::open(&self.cfg.input, self.stop.clone(), self.first_frame_now()) {
                Ok(s) => return Some(s),
                Err(e) => {
                    tracing::debug!(stream = %self.cfg.name, error = %e, "reopen failed; retrying");
                    std::thread::sleep(RECONNECT_DELAY);
                }
            }
        }
        None
    }

    fn broadcast_discontinuity(&mut self) {
        self.copy_offset = None;
        for tx in &self.copy_tx {
            let _ = tx.send(Work::Discontinuity);
        }
        for tx in &self.video_tx {
            let _ = tx.send(Work::Discontinuity);
        }
        if let Some(tx) = &self.audio_tx {
            let _ = tx.send(Work::Discontinuity);
        }
    }

    fn read_all(&mut self, source: &mut Source) -> Ended {
        let mut errors = 0;
        let video_index = source.video.as_ref().map(|v| v.index);
        let audio_index = if self.audio_tx.is_some() {
            source.audio.as_ref().map(|a| a.index)
        } else {
            None
        };
        let ended = loop {
            if self.stopped() {
                break Ended::Stopped;
            }
            // av_read_frame does not unref the packet it fills: reading into a used packet
            // would leak its buffer (one raw frame per read from the test pattern). A fresh
            // packet per read drops (unrefs) the previous one.
            let mut pkt = ff::Packet::empty();
            match pkt.read(&mut source.ictx) {
                Ok(()) => errors = 0,
                Err(ff::Error::Eof) => break Ended::Eof,
                Err(e) => {
                    self.metrics.decode_errors.fetch_add(1, Ordering::Relaxed);
                    errors += 1;
                    if self.cfg.input.is_network()
                        || errors >= MAX_CONSECUTIVE_READ_ERRORS
                        || self.stopped()
                    {
                        tracing::warn!(stream = %self.cfg.name, error = %e, "input read failed");
                        break Ended::Broken;
                    }
                    continue;
                }
            }
            let index = pkt.stream();
            if Some(index) == video_index {
                if let (false, Some(v), Some(data)) =
                    (self.copy_tx.is_empty(), source.video.as_ref(), pkt.data())
                {
                    let to90k =
                        |t: i64| t.rescale(v.time_base, Rational(1, VIDEO_TIMESCALE as i32));
                    let (pts, dts, key, wall_ms) = (
                        pkt.pts().map(to90k),
                        pkt.dts().map(to90k),
                        pkt.is_key(),
                        now_ms(),
                    );
                    self.copy_tx.retain(|tx| {
                        tx.send(Work::Item(CopyMsg::Packet {
                            data: data.to_vec(),
                            pts,
                            dts,
                            key,
                            wall_ms,
                        }))
                        .is_ok()
                    });
                }
                if let Some(v) = source.video.as_mut() {
                    if v.decoder.send_packet(&pkt).is_err() {
                        self.metrics.decode_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                self.drain_video(source);
            } else if Some(index) == audio_index {
                if let Some(a) = source.audio.as_mut() {
                    if a.decoder.send_packet(&pkt).is_err() {
                        self.metrics.decode_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                self.drain_audio(source);
            }
            if self.video_tx.is_empty() && self.copy_tx.is_empty() && self.audio_tx.is_none() {
                break Ended::Stopped;
            }
        };
        if matches!(ended, Ended::Stopped) {
            // Frames still inside the decoders may be missing references that were never
            // read (B-frames): drop them rather than emit a gap.
            return ended;
        }
        if let Some(v) = source.video.as_mut() {
            let _ = v.decoder.send_eof();
        }
        if let Some(a) = source.audio.as_mut() {
            let _ = a.decoder.send_eof();
        }
        self.drain_video(source);
        self.drain_audio(source);
        ended
    }

    fn drain_video(&mut self, source: &mut Source) {
        let Some(v) = source.video.as_mut() else {
            return;
        };
        loop {
            let mut frame = ff::frame::Video::empty();
            if v.decoder.receive_frame(&mut frame).is_err() {
                return;
            }
            self.metrics.frames_in.fetch_add(1, Ordering::Relaxed);
            let input = frame
                .timestamp()
                .map(|t| t.rescale(v.time_base, Rational(1, VIDEO_TIMESCALE as i32)));
            let mapped = self.timeline.map(input);
            if !self.copy_tx.is_empty() && self.timeline.offset() != self.copy_offset {
                self.copy_offset = self.timeline.offset();
                if let Some(o) = self.copy_offset {
                    self.copy_tx
                        .retain(|tx| tx.send(Work::Item(CopyMsg::Offset(o))).is_ok());
                }
            }
            // With a copy rung, boundaries can only be where the input has key frames.
            let boundary_ok = self.copy_tx.is_empty() || frame.is_key();
            self.pace(mapped.pts);
            if self.clock_start.is_some_and(|c| mapped.pts < c.boundary) {
                // Before the first whole segment on the clock: not published.
                continue;
            }
            let key = self.keys.decide(mapped.pts, boundary_ok);
            let wall_ms = self.date(mapped.pts);
            // Before the frame leaves: a cue bound to it reaches every packager before its
            // sample does.
            self.cues.bind(mapped.pts, wall_ms);
            let work = VideoWork {
                frame: Arc::new(frame),
                pts: mapped.pts,
                wall_ms,
                key,
            };
            self.video_tx.retain(|tx| {
                tx.send(Work::Item(VideoWork {
                    frame: work.frame.clone(),
                    ..work
                }))
                .is_ok()
            });
        }
    }

    fn drain_audio(&mut self, source: &mut Source) {
        let Some(a) = source.audio.as_mut() else {
            return;
        };
        loop {
            let mut frame = ff::frame::Audio::empty();
            if a.decoder.receive_frame(&mut frame).is_err() {
                return;
            }
            self.metrics.audio_frames_in.fetch_add(1, Ordering::Relaxed);
            let starts_at = self.audio_seconds;
            if frame.rate() > 0 {
                self.audio_seconds += frame.samples() as f64 / f64::from(frame.rate());
            }
            let base = self.clock_start.map_or(0, |c| c.first_frame);
            let pts = base + (starts_at * f64::from(VIDEO_TIMESCALE)).round() as i64;
            if self.video_tx.is_empty() && self.copy_tx.is_empty() {
                let end = base + (self.audio_seconds * f64::from(VIDEO_TIMESCALE)).round() as i64;
                self.pace(end);
            }
            // Audio is kept from a little before the first boundary: the AAC frame that
            // straddles it opens the first audio segment (the audio thread cuts the rest).
            let end = base + (self.audio_seconds * f64::from(VIDEO_TIMESCALE)).round() as i64;
            if self
                .clock_start
                .is_some_and(|c| end < c.boundary - crate::clock::AUDIO_LEAD)
            {
                continue;
            }
            let work = AudioWork {
                frame,
                pts,
                wall_ms: self.date(pts),
            };
            if self.video_tx.is_empty() && self.copy_tx.is_empty() {
                // An audio-only stream binds cues to audio frames.
                self.cues.bind(pts, work.wall_ms);
            }
            if let Some(tx) = &self.audio_tx {
                if tx.send(Work::Item(work)).is_err() {
                    self.audio_tx = None;
                }
            }
        }
    }

    /// The clock tick a test pattern opened now would start at.
    fn first_frame_now(&self) -> i64 {
        crate::clock::first_frame(now_ms(), self.cfg.input.testpattern.frame_rate)
    }

    /// The PROGRAM-DATE-TIME of output tick `pts`: on the wall-clock timeline, the tick itself;
    /// else the shared [`PdtClock`].
    fn date(&mut self, pts: i64) -> i64 {
        if self.clock_start.is_some() {
            return crate::clock::ms_of(pts);
        }
        self.pdt
            .at(pts as f64 / f64::from(VIDEO_TIMESCALE), now_ms())
    }

    /// Sleeps until output tick `pts` is due (files and the test pattern with
    /// `realtime = true`; live inputs are paced by their sender): on the wall-clock timeline,
    /// until the clock reads it; else at the pace of media time since the first frame.
    fn pace(&mut self, pts: i64) {
        if !self.cfg.input.realtime || self.cfg.input.is_network() {
            return;
        }
        if self.clock_start.is_some() {
            let wait = crate::clock::ms_of(pts) - now_ms();
            if wait > 0 {
                std::thread::sleep(Duration::from_millis(wait as u64));
            }
            return;
        }
        let seconds = pts as f64 / f64::from(VIDEO_TIMESCALE);
        let (start, first) = *self.clock.get_or_insert((Instant::now(), seconds));
        let due = start + Duration::from_secs_f64((seconds - first).max(0.0));
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }
}

impl Clone for VideoWork {
    fn clone(&self) -> Self {
        VideoWork {
            frame: self.frame.clone(),
            ..*self
        }
    }
}
