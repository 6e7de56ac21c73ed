//! The ingest's counters: written by the transcoder's threads, read by `/metrics`. A leaf type,
//! so that the store can carry a stream's counters to the origin without depending on the
//! transcoder.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

/// Counters of one rendition (updated by its encoder thread).
#[derive(Debug, Default)]
pub struct RenditionMetrics {
    /// Rendition name.
    pub name: String,
    /// Samples sent to the feed.
    pub samples_out: AtomicU64,
    /// Times the feed was full and the encoder had to wait for the consumer.
    pub queue_full: AtomicU64,
    /// Milliseconds between ingest of the last sent sample and its sending (encoder lag
    /// behind real time).
    pub lag_ms: AtomicI64,
}

/// Counters of a whole pipeline.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Video frames decoded from the input.
    pub frames_in: AtomicU64,
    /// Audio frames decoded from the input.
    pub audio_frames_in: AtomicU64,
    /// Packets or frames the demuxer or a decoder rejected (corrupt input), skipped.
    pub decode_errors: AtomicU64,
    /// Times the input broke and was reopened (publisher reconnects).
    pub reconnects: AtomicU64,
    /// Times a file input was restarted at its end.
    pub loops: AtomicU64,
    /// Per rendition, in feed order.
    pub renditions: Vec<Arc<RenditionMetrics>>,
}

impl Metrics {
    /// Frames or samples sent by all renditions.
    pub fn samples_out(&self) -> u64 {
        self.renditions
            .iter()
            .map(|r| r.samples_out.load(Ordering::Relaxed))
            .sum()
    }

    /// Queue-full events of all renditions.
    pub fn queue_full(&self) -> u64 {
        self.renditions
            .iter()
            .map(|r| r.queue_full.load(Ordering::Relaxed))
            .sum()
    }
}
