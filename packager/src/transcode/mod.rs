//! Transcoder: the IO shell over ffmpeg-next that turns one configured stream into encoded
//! samples per rendition.
//!
//! Owned here: opening inputs (the built-in test pattern, files looped and paced to real
//! time, live URLs that libavformat opens, with reconnects), decoding once, scaling and
//! encoding every rung on its own thread with key frames forced at the same presentation
//! time on every rung, AAC audio once, and the conversion of ffmpeg packets into
//! [`cmaf::EncodedSample`](crate::cmaf::EncodedSample) at the boundary. No ffmpeg type
//! leaves this module.
//!
//! ```text
//!  ingest thread: open ─ read ─ decode ─ timeline ─ pace ─┬─► rung thread: scale ─ x264 ─► Feed channel
//!  (reopen on loop / reconnect; Discontinuity)            ├─► rung thread: …
//!                                                         └─► audio thread: resample ─ AAC ─► Feed channel
//! ```
//!
//! Threads are std threads (all of this blocks). Files: `pipeline.rs` starts and stops the
//! threads, `ingest.rs` is the read loop, `video.rs`/`copy.rs`/`audio.rs` the encoder threads,
//! `emitter.rs` their common output end, `ffi.rs` the raw ffmpeg reads. Each rendition's output
//! is a bounded tokio mpsc channel fed with `blocking_send` and read with `blocking_recv` by
//! that rendition's packaging thread (`live.rs`); a slow consumer stalls the encoder (counted
//! in [`Metrics`]) instead of growing memory.

mod audio;
mod copy;
mod emitter;
mod ffi;
mod ingest;
mod input;
mod pdt;
mod pipeline;
mod sink;
mod timeline;
mod video;

pub use crate::counters::{Metrics, RenditionMetrics};
pub use pipeline::Pipeline;

use crate::cmaf;
use crate::config::StreamConfig;
pub use crate::rendition::{Language, RenditionInfo, RenditionKind};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Frames buffered between the ingest thread and each encoder thread.
const WORK_QUEUE: usize = 8;
/// Items buffered in each rendition's output channel.
pub const FEED_QUEUE: usize = 256;
/// Ticks per second of every video timestamp.
pub const VIDEO_TIMESCALE: u32 = 90_000;

/// One item of a rendition's output, in order: `Track` first, then samples; `Discontinuity`
/// before the first sample after an input break (rfc8216bis-22 §4.4.4.3 EXT-X-DISCONTINUITY);
/// `End` last.
#[derive(Debug, Clone, PartialEq)]
pub enum Feed {
    /// The track (codec parameters); sent before the first sample.
    Track(cmaf::TrackInfo),
    /// One encoded access unit; timestamps are continuous across loops and reconnects.
    Sample(cmaf::EncodedSample),
    /// The input broke (publisher reconnected) before the next sample; the next video
    /// sample is an IDR.
    Discontinuity,
    /// The input ended or the pipeline was stopped; nothing follows.
    End,
}

/// One rendition's output channel.
#[derive(Debug)]
pub struct RenditionFeed {
    /// The rendition: its name (the rung's or the audio's, a URL path segment), what it
    /// carries and its nominal bitrate.
    pub info: RenditionInfo,
    /// Receives the items of this rendition (`blocking_recv` from a thread, or `recv` in a
    /// task).
    pub rx: tokio::sync::mpsc::Receiver<Feed>,
}

/// Why a pipeline could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input could not be opened or probed.
    #[error("stream {stream:?}: cannot open input {url:?}: {source}")]
    Open {
        /// Stream name.
        stream: String,
        /// The configured URL or path.
        url: String,
        /// What libavformat said.
        source: ffmpeg_next::Error,
    },
    /// The ladder has rungs but the input has no video stream.
    #[error("stream {stream:?}: input {url:?} has no video stream, but {rungs} video rung(s) are configured")]
    NoVideo {
        /// Stream name.
        stream: String,
        /// The configured URL or path.
        url: String,
        /// Number of rungs.
        rungs: usize,
    },
    /// Neither a usable video nor audio stream.
    #[error("stream {stream:?}: input {url:?} has nothing to transcode (no video rung matches and audio is off or absent)")]
    Empty {
        /// Stream name.
        stream: String,
        /// The configured URL or path.
        url: String,
    },
    /// A decoder or encoder could not be found or opened.
    #[error("stream {stream:?} rendition {rendition:?}: {what}: {source}")]
    Codec {
        /// Stream name.
        stream: String,
        /// Rendition (or `input` for decoders).
        rendition: String,
        /// What was attempted, e.g. `opening libx264`.
        what: String,
        /// What libavcodec said.
        source: ffmpeg_next::Error,
    },
    /// An encoder produced extradata we cannot read.
    #[error("stream {stream:?} rendition {rendition:?}: {what}")]
    Bitstream {
        /// Stream name.
        stream: String,
        /// Rendition.
        rendition: String,
        /// What is wrong.
        what: String,
    },
    /// A copy rung over an input codec that cannot be passed through.
    #[error("stream {stream:?} rendition {rendition:?}: cannot copy input codec {codec} (only h264 and hevc can be passed through)")]
    Uncopyable {
        /// Stream name.
        stream: String,
        /// Rendition.
        rendition: String,
        /// The input codec name.
        codec: String,
    },
    /// The OS refused to start a pipeline thread.
    #[error("stream {stream:?}: cannot start thread {thread:?}: {source}")]
    Thread {
        /// Stream name.
        stream: String,
        /// Thread name.
        thread: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A pipeline thread panicked (a bug; reported rather than propagated).
    #[error("stream {stream:?}: thread {thread:?} panicked")]
    Panicked {
        /// Stream name.
        stream: String,
        /// Thread name.
        thread: String,
    },
}

/// Opens the input of `stream`, opens every encoder, and starts the threads.
///
/// Returns the running pipeline and one feed per rendition: the rungs in configuration
/// order, then the audio rendition when audio is enabled and the input has audio.
///
/// Blocking: opening probes the input, and a listening input (`rtmp` with `listen = 1`, an
/// SRT listener) waits here for its publisher. Call it from `spawn_blocking` or a thread,
/// and use [`start_interruptible`] to be able to cancel that wait.
pub fn start(stream: &StreamConfig) -> Result<(Pipeline, Vec<RenditionFeed>), Error> {
    start_interruptible(stream, Arc::new(AtomicBool::new(false)))
}

/// [`start`], with a stop flag the caller can set at any time, even before this returns
/// (opening then fails with [`Error::Open`]); [`Pipeline::stop`] sets the same flag.
pub fn start_interruptible(
    stream: &StreamConfig,
    stop: Arc<AtomicBool>,
) -> Result<(Pipeline, Vec<RenditionFeed>), Error> {
    start_with_cues(stream, stop, Arc::default())
}

/// [`start_interruptible`], binding the cues posted to `cues` to the frames the ingest decodes
/// (see [`crate::cue`]).
pub fn start_with_cues(
    stream: &StreamConfig,
    stop: Arc<AtomicBool>,
    cues: Arc<crate::cue::CueBook>,
) -> Result<(Pipeline, Vec<RenditionFeed>), Error> {
    pipeline::start(stream, stop, cues)
}
