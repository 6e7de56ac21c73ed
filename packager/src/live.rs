//! Live wiring of one stream: transcode feeds → one packaging thread per rendition
//! (`cmaf::Chunker` push/pull → `store::Rendition::apply`) → the store the origin serves.
//!
//! The packaging loop is a std thread, not a tokio task: it does a little CPU work per sample
//! and, with a disk copy, small synchronous file writes; neither belongs on the async runtime.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::clock;
use crate::cmaf::{Chunker, ChunkerConfig, Event, TimedCue};
use crate::config::StreamConfig;
use crate::cue::{Cue, CueBook};
use crate::playlist::{rules, Skip};
use crate::rendition::{RenditionInfo, RenditionKind};
use crate::store::{DiskError, Rendition, RenditionDir, Stream, StreamSettings};
use crate::transcode::{self, Feed, Pipeline, RenditionFeed};
use bytes::Bytes;

/// How a stream is run, beyond its config.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Directory for the disk copy (and resume). `None`: memory only.
    pub storage: Option<PathBuf>,
    /// Keep every segment (VOD packaging) instead of the configured window.
    pub keep_all: bool,
    /// Set to cancel a start that is waiting for its input (an RTMP/SRT listener with no
    /// publisher yet), and to stop the stream later.
    pub cancel: Arc<AtomicBool>,
}

/// Why a stream could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The transcoder could not start.
    #[error(transparent)]
    Transcode(#[from] transcode::Error),
    /// A packaging thread could not be started (the OS refused a thread).
    #[error(
        "stream {stream:?} rendition {rendition:?}: cannot start its packaging thread: {source}"
    )]
    Thread {
        /// Stream name.
        stream: String,
        /// Rendition name.
        rendition: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The disk copy could not be restored.
    #[error("stream {stream:?}: {source}")]
    Disk {
        /// Stream name.
        stream: String,
        /// The cause.
        source: DiskError,
    },
}

/// A running stream: its store entry, its transcoder and its packaging threads.
pub struct LiveStream {
    /// The stream as the origin serves it.
    pub stream: Arc<Stream>,
    pipeline: Option<Pipeline>,
    packagers: Vec<JoinHandle<()>>,
}

impl LiveStream {
    /// The transcoder's counters.
    pub fn metrics(&self) -> Option<Arc<transcode::Metrics>> {
        self.pipeline.as_ref().map(Pipeline::metrics)
    }

    /// Seconds of media packaged so far (the longest rendition).
    pub fn packaged_secs(&self) -> f64 {
        self.stream
            .renditions()
            .iter()
            .map(|r| r.segment_sizes().iter().map(|(_, secs)| secs).sum::<f64>())
            .fold(0.0, f64::max)
    }

    /// True when the input ended and every rendition is packaged to its end.
    pub fn is_finished(&self) -> bool {
        self.packagers.iter().all(JoinHandle::is_finished)
    }

    /// Stops the transcoder, waits for every rendition to package what it has, and ends the
    /// stream (ENDLIST; every waiting request is released).
    pub fn stop(mut self) -> Result<(), transcode::Error> {
        let result = match self.pipeline.take() {
            Some(p) => {
                p.stop();
                p.join()
            }
            None => Ok(()),
        };
        for h in self.packagers.drain(..) {
            let _ = h.join();
        }
        self.stream.close();
        result
    }

    /// Waits until the input ends by itself (a file without loop), then ends the stream.
    pub fn wait(mut self) -> Result<(), transcode::Error> {
        for h in self.packagers.drain(..) {
            let _ = h.join();
        }
        let result = self.pipeline.take().map_or(Ok(()), Pipeline::join);
        self.stream.close();
        result
    }
}

/// Starts `config`: opens the input and encoders, builds the stream's store entry (resuming a
/// disk copy of the same epoch), and spawns one packaging thread per rendition.
pub fn start(config: &StreamConfig, options: &Options) -> Result<LiveStream, Error> {
    let cues = Arc::new(CueBook::default());
    let (pipeline, feeds) =
        transcode::start_with_cues(config, Arc::clone(&options.cancel), Arc::clone(&cues))?;
    let infos: Vec<RenditionInfo> = feeds.iter().map(|f| f.info.clone()).collect();
    // On the wall-clock timeline (crate::clock) URLs carry the config's version, the same on
    // every origin and across restarts; otherwise the start second, kept by a resume.
    let clock_start = pipeline.clock_start();
    let epoch = match clock_start {
        Some(_) => clock::version(config),
        None => options
            .storage
            .as_deref()
            .and_then(|root| saved_epoch(root, &config.name, &infos))
            .unwrap_or_else(now_secs),
    };
    // The first MSN this run publishes: the clock's, or 0.
    let first_msn = clock_start.map_or(0, |t| clock::msn_at(t, config.segment_target));
    let settings = StreamSettings {
        name: config.name.clone(),
        epoch,
        // rfc8216bis-22 §4.4.3.1: every EXTINF, rounded, is at most the target duration; segments
        // close at the first IDR at or after the segment target, and IDRs are forced there.
        target_duration: rules::target_duration(config.segment_target),
        part_target: config.part_target,
        window_segments: if options.keep_all {
            usize::MAX
        } else {
            config.window as usize
        },
        byterange_parts: config.byterange_parts,
        first_msn,
    };
    let stream =
        Stream::open(settings, infos, options.storage.as_deref(), cues).map_err(|source| {
            Error::Disk {
                stream: config.name.clone(),
                source,
            }
        })?;
    stream.set_ingest_metrics(pipeline.metrics());
    let chunker = ChunkerConfig {
        part_target: config.part_target,
        segment_target: config.segment_target,
        clock_grid: clock_start.is_some(),
        ..ChunkerConfig::default()
    };
    // The renditions were made from the feeds, in the same order.
    let mut packagers = Vec::with_capacity(feeds.len());
    for (feed, rendition) in feeds.into_iter().zip(stream.renditions().iter().cloned()) {
        let stream_ref = Arc::clone(&stream);
        let chunker = ChunkerConfig {
            first_msn: rendition.next_msn().max(first_msn),
            first_discontinuity: rendition.next_discontinuity(),
            ..chunker.clone()
        };
        let write_playlists = options.storage.is_some();
        let name = feed.info.name.clone();
        let handle = std::thread::Builder::new()
            .name(format!("pack-{name}"))
            .spawn(move || package(feed, &stream_ref, &rendition, chunker, write_playlists))
            .map_err(|source| Error::Thread {
                stream: config.name.clone(),
                rendition: name,
                source,
            })?;
        packagers.push(handle);
    }
    Ok(LiveStream {
        stream,
        pipeline: Some(pipeline),
        packagers,
    })
}

/// The epoch a previous run left on disk, if every rendition agrees on it (a resume).
fn saved_epoch(root: &Path, stream: &str, infos: &[RenditionInfo]) -> Option<u64> {
    let epochs: Vec<Option<u64>> = infos
        .iter()
        .map(|i| RenditionDir::saved_epoch(root, stream, &i.name))
        .collect();
    let first = (*epochs.first()?)?;
    epochs.iter().all(|e| *e == Some(first)).then_some(first)
}

/// Duration of a file input in seconds, when its container says.
pub fn probe_duration(url: &str) -> Option<f64> {
    ffmpeg_next::init().ok()?;
    let ctx = ffmpeg_next::format::input(&url).ok()?;
    let d = ctx.duration();
    (d > 0).then(|| d as f64 / f64::from(ffmpeg_next::ffi::AV_TIME_BASE))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The packaging loop of one rendition, until its feed ends.
///
/// Policy for bad samples: the chunker rejects them with a typed error; the sample is
/// dropped, the first error is logged with its context and later ones are counted, so that
/// one corrupt packet never stops a stream or loses what was published.
pub fn package(
    mut feed: RenditionFeed,
    stream: &Stream,
    rendition: &Rendition,
    config: ChunkerConfig,
    write_playlists: bool,
) {
    let mut chunker = Chunker::new(config);
    let mut rejected = 0u64;
    // Cues bound by the ingest reach this chunker before the sample of their frame: the ingest
    // binds before it hands the frame on.
    let mut cursor = 0;
    let video = matches!(rendition.info().kind, RenditionKind::Video { .. });
    let mut timescale = 0;
    while let Some(item) = feed.rx.blocking_recv() {
        let result = match item {
            Feed::Track(track) => {
                timescale = track.timescale;
                chunker.set_track(track)
            }
            Feed::Sample(sample) => {
                for cue in stream.cues().bound_since(&mut cursor) {
                    chunker.cue(timed_cue(&cue, video, timescale));
                }
                chunker.push(sample)
            }
            Feed::Discontinuity => {
                chunker.discontinuity();
                Ok(())
            }
            Feed::End => break,
        };
        if let Err(e) = result {
            if rejected == 0 {
                tracing::warn!(stream = stream.name(), rendition = rendition.name(), error = %e,
                    "sample rejected by the chunker; dropping it (later rejections are counted, not logged)");
            }
            rejected += 1;
        }
        drain(&mut chunker, stream, rendition, write_playlists);
    }
    if let Err(e) = chunker.finish() {
        tracing::warn!(stream = stream.name(), rendition = rendition.name(), error = %e, "finishing the last part failed");
    }
    drain(&mut chunker, stream, rendition, write_playlists);
    if rejected > 0 {
        tracing::warn!(
            stream = stream.name(),
            rendition = rendition.name(),
            rejected,
            "samples rejected in total"
        );
    }
    rendition.close();
    if write_playlists {
        rendition.write_playlist(&stream.media_playlist(rendition).render(Skip::No));
    }
}

/// How a rendition's chunker places `cue`: video by the frame's pts (and an emsg with its ID3
/// tag), audio by the wall clock (DATERANGE only; AOM id3-emsg carriage is for the video track).
fn timed_cue(cue: &Cue, video: bool, timescale: u32) -> TimedCue {
    // i128: wall-clock ticks (~1.6e14) times a timescale overflow i64.
    let to_track = |ticks: i64| {
        (i128::from(ticks) * i128::from(timescale) / i128::from(crate::cue::PTS_TIMESCALE)) as i64
    };
    TimedCue {
        seq: cue.seq,
        pts: video.then(|| to_track(cue.pts)),
        wall_ms: cue.start_ms,
        message: video.then(|| {
            let duration = cue.duration.map(|d| {
                u32::try_from((d * f64::from(timescale)).round() as i64).unwrap_or(u32::MAX - 1)
            });
            (Bytes::from(cue.id3()), duration)
        }),
    }
}

fn drain(chunker: &mut Chunker, stream: &Stream, rendition: &Rendition, write_playlists: bool) {
    let mut published = false;
    // One push's events at once: a part and its segment's close are published together.
    rendition.apply_all(std::iter::from_fn(|| chunker.pull()).inspect(|ev| {
        published |= !matches!(ev, Event::InitReady(_));
    }));
    if published && write_playlists {
        rendition.write_playlist(&stream.media_playlist(rendition).render(Skip::No));
    }
}
