//! The ingest thread: read, decode once, map timestamps onto the continuous output
//! timeline, decide the segment-boundary key frames, pace to real time, and hand every
//! frame to the encoder threads. Also restarts looped files and reconnects live inputs.

use super::audio::{self, AudioWork};
use super::copy::{self, CopyMsg};
use super::input::{self, Source};
use super::pdt::{self, PdtClock};
use super::sink::{now_ms, Sink};
use crate::counters::Metrics;
use super::timeline::Timeline;
use super::video::{self, VideoWork, Work};
use super::{
    Error, RenditionFeed, RenditionInfo, RenditionKind, FEED_QUEUE, VIDEO_TIMESCALE, WORK_QUEUE,
};
use crate::config::{FrameRate, StreamConfig, VideoCodec};
use crate::grid::{KeyFrames, SegmentGrid};
use ff::{Rational, Rescale};
use ffmpeg_next as ff;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Consecutive demuxer errors after which a file input is considered finished.
const MAX_CONSECUTIVE_READ_ERRORS: u32 = 100;
/// Wait between attempts to reopen a live input.
const RECONNECT_DELAY: Duration = Duration::from_millis(200);

/// A running transcode of one stream.
pub struct Pipeline {
    stream: String,
    stop: Arc<AtomicBool>,
    ingest: Option<JoinHandle<Result<(), Error>>>,
    workers: Vec<(String, JoinHandle<()>)>,
    metrics: Arc<Metrics>,
}

impl Pipeline {
    /// Asks every thread to finish: the input is closed (a blocked read is interrupted), the
    /// encoders are flushed and every feed ends with [`Feed::End`]. Returns at once.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// True when every thread has finished.
    pub fn is_finished(&self) -> bool {
        self.ingest.as_ref().is_none_or(|h| h.is_finished())
            && self.workers.iter().all(|(_, h)| h.is_finished())
    }

    /// The live counters.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Waits for every thread. The input's end (file without loop) or [`Pipeline::stop`]
    /// ends it; an error is one that stopped the input (a looped file that cannot be
    /// reopened) or a thread that panicked.
    pub fn join(mut self) -> Result<(), Error> {
        let mut result = Ok(());
        if let Some(h) = self.ingest.take() {
            result = h.join().unwrap_or_else(|_| {
                Err(Error::Panicked {
                    stream: self.stream.clone(),
                    thread: "ingest".into(),
                })
            });
        }
        for (name, h) in self.workers.drain(..) {
            if h.join().is_err() && result.is_ok() {
                result = Err(Error::Panicked {
                    stream: self.stream.clone(),
                    thread: name,
                });
            }
        }
        result
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.stop();
    }
}

fn init_ffmpeg() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let _ = ff::init();
        ff::device::register_all();
        ff::log::set_level(ff::log::Level::Error);
    });
}

pub(super) fn start(
    cfg: &StreamConfig,
    stop: Arc<AtomicBool>,
) -> Result<(Pipeline, Vec<RenditionFeed>), Error> {
    init_ffmpeg();
    let name = cfg.name.clone();
    let url = cfg.input.url.clone();
    let source = input::open(&cfg.input, stop.clone(), now_ms()).map_err(|source| Error::Open {
        stream: name.clone(),
        url: url.clone(),
        source,
    })?;
    if !cfg.rungs.is_empty() && source.video.is_none() {
        return Err(Error::NoVideo {
            stream: name,
            url,
            rungs: cfg.rungs.len(),
        });
    }
    let (in_w, in_h, in_rate) = match &source.video {
        Some(v) => (
            v.decoder.width(),
            v.decoder.height(),
            input_rate(cfg, v.rate),
        ),
        None => (0, 0, FrameRate { num: 30, den: 1 }),
    };
    let nominal = (f64::from(VIDEO_TIMESCALE) / in_rate.fps()).round() as i64;
    let mut encoders = Vec::new();
    for rung in &cfg.rungs {
        encoders.push(if rung.codec == VideoCodec::Copy {
            let Some(v) = source.video.as_ref() else {
                continue;
            };
            Rung::Copy(copy::open(
                &name,
                &rung.name,
                v.codec_id,
                &v.extradata,
                in_w,
                in_h,
                nominal,
            )?)
        } else {
            Rung::Encode(video::open(
                &name,
                rung,
                in_w,
                in_h,
                in_rate,
                cfg.segment_target,
            )?)
        });
    }
    let audio_language = source.audio.as_ref().map(|a| a.language).unwrap_or_default();
    let audio_enc = match (cfg.audio.enabled(), &source.audio) {
        (true, Some(a)) => Some(audio::open(&name, &cfg.audio, a.language)?),
        (true, None) => {
            tracing::warn!(stream = %name, url = %url, "input has no audio stream: no audio rendition");
            None
        }
        (false, _) => None,
    };
    if encoders.is_empty() && audio_enc.is_none() {
        return Err(Error::Empty { stream: name, url });
    }

    let mut feeds = Vec::new();
    let mut workers = Vec::new();
    let mut renditions = Vec::new();
    let mut video_tx = Vec::new();
    let mut copy_tx = Vec::new();
    for (enc, rung) in encoders.into_iter().zip(&cfg.rungs) {
        let (sink, rx) = Sink::new(&rung.name, FEED_QUEUE);
        renditions.push(sink.metrics.clone());
        let thread = format!("{name}/{}", rung.name);
        let spawned = match enc {
            Rung::Encode(enc) => {
                let crate::cmaf::MediaKind::Video { width, height } = enc.track.kind else {
                    continue;
                };
                let frame_rate = rung
                    .frame_rate
                    .filter(|r| r.fps() < in_rate.fps())
                    .unwrap_or(in_rate);
                let bitrate = rung.maxrate().map_or(0, |b| b.bps());
                feeds.push(RenditionFeed {
                    info: RenditionInfo {
                        name: rung.name.clone(),
                        kind: RenditionKind::Video {
                            width,
                            height,
                            frame_rate,
                            copy: false,
                        },
                        nominal_bitrate: bitrate,
                    },
                    rx,
                });
                let (tx, work_rx) = sync_channel(WORK_QUEUE);
                video_tx.push(tx);
                std::thread::Builder::new()
                    .name(thread.clone())
                    .spawn(move || video::run(enc, work_rx, sink))
            }
            Rung::Copy(c) => {
                feeds.push(RenditionFeed {
                    info: RenditionInfo {
                        name: rung.name.clone(),
                        kind: RenditionKind::Video {
                            width: in_w,
                            height: in_h,
                            frame_rate: in_rate,
                            copy: true,
                        },
                        nominal_bitrate: 0,
                    },
                    rx,
                });
                // Packets run ahead of decoded frames by the decoder's delay: a deeper queue.
                let (tx, work_rx) = sync_channel(WORK_QUEUE * 8);
                copy_tx.push(tx);
                std::thread::Builder::new()
                    .name(thread.clone())
                    .spawn(move || copy::run(c, work_rx, sink))
            }
        };
        let h = spawned.map_err(|_| Error::Panicked {
            stream: name.clone(),
            thread: thread.clone(),
        })?;
        workers.push((thread, h));
    }
    let mut audio_tx = None;
    if let Some(enc) = audio_enc {
        let (sink, rx) = Sink::new(&enc.name, FEED_QUEUE);
        renditions.push(sink.metrics.clone());
        feeds.push(RenditionFeed {
            info: RenditionInfo {
                name: enc.name.clone(),
                kind: RenditionKind::Audio {
                    channels: cfg.audio.channels,
                    sample_rate: cfg.audio.sample_rate,
                    language: audio_language,
                },
                nominal_bitrate: cfg.audio.bitrate.bps(),
            },
            rx,
        });
        let (tx, work_rx) = sync_channel(WORK_QUEUE * 4);
        audio_tx = Some(tx);
        let thread = format!("{name}/{}", enc.name);
        let h = std::thread::Builder::new()
            .name(thread.clone())
            .spawn(move || audio::run(enc, work_rx, sink))
            .map_err(|_| Error::Panicked {
                stream: name.clone(),
                thread: thread.clone(),
            })?;
        workers.push((thread, h));
    }
    let metrics = Arc::new(Metrics {
        renditions,
        ..Default::default()
    });
    let ingest = Ingest {
        copy_tx,
        copy_offset: None,
        cfg: cfg.clone(),
        stop: stop.clone(),
        metrics: metrics.clone(),
        video_tx,
        audio_tx,
        timeline: Timeline::new(VIDEO_TIMESCALE, nominal),
        keys: KeyFrames::new(
            SegmentGrid::from_seconds(0, cfg.segment_target, VIDEO_TIMESCALE).step(),
        ),
        clock: None,
        audio_seconds: 0.0,
        // Paced inputs keep their anchor; live ones follow the sender's clock within a bound.
        pdt: PdtClock::new(
            (!cfg.input.realtime || cfg.input.is_network()).then_some(pdt::LIVE_MAX_LAG_MS),
        ),
    };
    let thread = format!("{name}/ingest");
    let h = std::thread::Builder::new()
        .name(thread.clone())
        .spawn(move || ingest.run(source))
        .map_err(|_| Error::Panicked {
            stream: name.clone(),
            thread,
        })?;
    Ok((
        Pipeline {
            stream: name,
            stop,
            ingest: Some(h),
            workers,
            metrics,
        },
        feeds,
    ))
}

/// The input frame rate: the test pattern's, the probed average, or 30.
fn input_rate(cfg: &StreamConfig, probed: Rational) -> FrameRate {
    if cfg.input.is_testpattern() {
        return cfg.input.testpattern.frame_rate;
    }
    match (
        u32::try_from(probed.numerator()),
        u32::try_from(probed.denominator()),
    ) {
        (Ok(num), Ok(den)) if num > 0 && den > 0 && f64::from(num) / f64::from(den) <= 240.0 => {
            FrameRate { num, den }
        }
        _ => FrameRate { num: 30, den: 1 },
    }
}

enum Rung {
    Encode(video::RungEncoder),
    Copy(copy::CopyRung),
}

struct Ingest {
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

    fn run(mut self, mut source: Source) -> Result<(), Error> {
        let result = loop {
            let ended = self.read_all(&mut source);
            drop(source);
            if matches!(ended, Ended::Stopped) || self.stopped() {
                break Ok(());
            }
            if self.cfg.input.looped {
                self.metrics.loops.fetch_add(1, Ordering::Relaxed);
                match input::open(&self.cfg.input, self.stop.clone(), now_ms()) {
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
            match input::open(&self.cfg.input, self.stop.clone(), now_ms()) {
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
            let key = self.keys.decide(mapped.pts, boundary_ok);
            self.pace(mapped.pts as f64 / f64::from(VIDEO_TIMESCALE));
            let work = VideoWork {
                frame: Arc::new(frame),
                pts: mapped.pts,
                wall_ms: self
                    .pdt
                    .at(mapped.pts as f64 / f64::from(VIDEO_TIMESCALE), now_ms()),
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
            if self.video_tx.is_empty() && self.copy_tx.is_empty() {
                self.pace(self.audio_seconds);
            }
            let work = AudioWork {
                frame,
                wall_ms: self.pdt.at(starts_at, now_ms()),
            };
            if let Some(tx) = &self.audio_tx {
                if tx.send(Work::Item(work)).is_err() {
                    self.audio_tx = None;
                }
            }
        }
    }

    /// Sleeps until output time `seconds` is due (files and the test pattern with
    /// `realtime = true`; live inputs are paced by their sender).
    fn pace(&mut self, seconds: f64) {
        if !self.cfg.input.realtime || self.cfg.input.is_network() {
            return;
        }
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
