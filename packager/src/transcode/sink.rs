//! The output end of a rendition: a bounded tokio channel fed from a std thread, with the
//! counters that make backpressure visible.

use super::Feed;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc::{self, error::TrySendError};

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

/// Wall clock now in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Sender half of a rendition feed.
pub(crate) struct Sink {
    tx: mpsc::Sender<Feed>,
    pub(crate) metrics: Arc<RenditionMetrics>,
}

impl Sink {
    pub(crate) fn new(name: &str, capacity: usize) -> (Sink, mpsc::Receiver<Feed>) {
        let (tx, rx) = mpsc::channel(capacity);
        let metrics = Arc::new(RenditionMetrics {
            name: name.into(),
            ..Default::default()
        });
        (Sink { tx, metrics }, rx)
    }

    /// Sends one item, waiting when the consumer is behind. False when the consumer is gone.
    pub(crate) fn send(&self, feed: Feed) -> bool {
        if let Feed::Sample(s) = &feed {
            self.metrics.samples_out.fetch_add(1, Ordering::Relaxed);
            if let Some(w) = s.wallclock_ms {
                self.metrics.lag_ms.store(now_ms() - w, Ordering::Relaxed);
            }
        }
        match self.tx.try_send(feed) {
            Ok(()) => true,
            Err(TrySendError::Closed(_)) => false,
            Err(TrySendError::Full(feed)) => {
                let n = self.metrics.queue_full.fetch_add(1, Ordering::Relaxed);
                if n == 0 || (n + 1).is_multiple_of(100) {
                    tracing::warn!(rendition = %self.metrics.name, events = n + 1, "feed queue full: encoder waits for the packager");
                }
                self.tx.blocking_send(feed).is_ok()
            }
        }
    }
}
