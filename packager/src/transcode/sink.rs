//! The output end of a rendition: a bounded tokio channel fed from a std thread, with the
//! counters that make backpressure visible.

use super::Feed;
use crate::counters::RenditionMetrics;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc::{self, error::TrySendError};

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
