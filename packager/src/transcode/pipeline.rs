//! A stream's transcode pipeline as a whole: opening the input and every encoder, starting the
//! ingest thread and one thread per rendition (one spawn helper), and stopping and joining
//! them. The read loop itself is `ingest.rs`.

use super::audio;
use super::copy;
use super::ingest::{ClockStart, Ingest, Outputs};
use super::input;
use super::sink::{now_ms, Sink};
use super::video;
use super::{
    Error, RenditionFeed, RenditionInfo, RenditionKind, FEED_QUEUE, VIDEO_TIMESCALE, WORK_QUEUE,
};
use crate::config::{FrameRate, StreamConfig, VideoCodec};
use crate::counters::Metrics;
use ff::Rational;
use ffmpeg_next as ff;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Once};
use std::thread::JoinHandle;

/// A running transcode of one stream.
pub struct Pipeline {
    stream: String,
    stop: Arc<AtomicBool>,
    ingest: Option<JoinHandle<Result<(), Error>>>,
    workers: Vec<(String, JoinHandle<()>)>,
    metrics: Arc<Metrics>,
    clock_start: Option<ClockStart>,
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

    /// On the wall-clock timeline ([`crate::clock`]): the clock tick of the first frame that is
    /// published (a segment boundary).
    pub fn clock_start(&self) -> Option<i64> {
        self.clock_start.map(|c| c.boundary)
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
    cues: Arc<crate::cue::CueBook>,
) -> Result<(Pipeline, Vec<RenditionFeed>), Error> {
    init_ffmpeg();
    let name = cfg.name.clone();
    let url = cfg.input.url.clone();
    // On the wall-clock timeline the test pattern's first frame is drawn for the first frame
    // time a little after now (opening takes a few milliseconds).
    let tp_first =
        crate::clock::first_frame(now_ms() + OPEN_LEAD_MS, cfg.input.testpattern.frame_rate);
    let source = input::open(&cfg.input, stop.clone(), tp_first).map_err(|source| Error::Open {
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
    let clock_start = crate::clock::locked(cfg).then(|| {
        let first_frame = if cfg.input.is_testpattern() {
            tp_first
        } else {
            crate::clock::first_frame(now_ms() + OPEN_LEAD_MS, in_rate)
        };
        ClockStart {
            first_frame,
            boundary: crate::clock::first_published(first_frame, cfg.segment_target),
        }
    });
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
    let audio_language = source
        .audio
        .as_ref()
        .map(|a| a.language)
        .unwrap_or_default();
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
        match enc {
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
                workers.push(spawn(&name, thread, move || {
                    video::run(enc, work_rx, sink)
                })?);
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
                workers.push(spawn(&name, thread, move || copy::run(c, work_rx, sink))?);
            }
        }
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
        let start = clock_start.map(|c| c.boundary);
        workers.push(spawn(&name, thread, move || {
            audio::run(enc, work_rx, sink, start)
        })?);
    }
    let metrics = Arc::new(Metrics {
        renditions,
        ..Default::default()
    });
    let ingest = Ingest::new(
        cfg,
        stop.clone(),
        metrics.clone(),
        Outputs {
            video: video_tx,
            copy: copy_tx,
            audio: audio_tx,
        },
        nominal,
        cues,
        clock_start,
    );
    let (_, ingest) = spawn(&name, format!("{name}/ingest"), move || ingest.run(source))?;
    Ok((
        Pipeline {
            stream: name,
            stop,
            ingest: Some(ingest),
            workers,
            metrics,
            clock_start,
        },
        feeds,
    ))
}

/// How far after now the first frame of a stream on the wall-clock timeline is placed: opening
/// the input takes a few milliseconds, and a first frame already due would be late.
const OPEN_LEAD_MS: i64 = 50;

/// Starts one named pipeline thread.
fn spawn<T: Send + 'static>(
    stream: &str,
    thread: String,
    body: impl FnOnce() -> T + Send + 'static,
) -> Result<(String, JoinHandle<T>), Error> {
    match std::thread::Builder::new().name(thread.clone()).spawn(body) {
        Ok(h) => Ok((thread, h)),
        Err(source) => Err(Error::Thread {
            stream: stream.to_owned(),
            thread,
            source,
        }),
    }
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
