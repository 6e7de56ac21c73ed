//! Waiting for a rendition to reach a position: the shell around `watch::Receiver::wait_for`,
//! with a deadline and the shutdown signal checked in every wait. Never polls: a waiter is
//! woken by the rendition's `send_replace` and by nothing else. [`hold`] is the one wait every
//! route uses (blocking playlist reload, held parts, the open-segment feed): it counts the
//! waiter and turns a timeout or shutdown into the [`Error`] the client is answered with.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use packager::playlist::Position;
use packager::store::Rendition;
use tokio::sync::watch;

use crate::error::Error;
use crate::metrics::Metrics;

/// Blocked requests are answered 503 after this many target durations
/// (rfc8216bis-22 §6.2.5.2: "...after waiting three times the Target Duration ... SHOULD return 503").
pub const DEADLINE_TARGET_DURATIONS: u32 = 3;

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The predicate holds for this position (which may also be `closed`).
    Ready(Position),
    /// The deadline passed first.
    Timeout,
    /// The origin is shutting down, or the rendition's sender is gone.
    Shutdown,
}

/// The deadline for one blocked request of a stream with this target duration.
pub fn deadline(target_duration: u64) -> Duration {
    Duration::from_secs(target_duration.max(1)) * DEADLINE_TARGET_DURATIONS
}

/// Waits until `pred(position)` holds (checked first against the current value, so no
/// wakeup is lost), the deadline passes, or `shutdown` turns true.
pub async fn wait_until(
    rx: &mut watch::Receiver<Position>,
    shutdown: &mut watch::Receiver<bool>,
    limit: Duration,
    mut pred: impl FnMut(&Position) -> bool,
) -> Outcome {
    if *shutdown.borrow() {
        return Outcome::Shutdown;
    }
    let wait = tokio::time::timeout(limit, rx.wait_for(|p| pred(p)));
    tokio::select! {
        r = wait => match r {
            Ok(Ok(p)) => Outcome::Ready(*p),
            Ok(Err(_)) => Outcome::Shutdown,
            Err(_) => Outcome::Timeout,
        },
        _ = shutdown.wait_for(|s| *s) => Outcome::Shutdown,
    }
}

/// Who waits: the stream and rendition named in the error a wait ends with.
#[derive(Debug, Clone, Copy)]
pub struct Waiter<'a> {
    /// Stream name.
    pub stream: &'a str,
    /// Rendition name.
    pub rendition: &'a str,
}

/// Holds a request until `pred(position)` holds ([`wait_until`]), counted in the `waiting`
/// gauge meanwhile. A deadline passed is [`Error::Timeout`] and shutdown (or a rendition
/// whose sender is gone) is [`Error::Unavailable`]: both are answered 503.
pub async fn hold(
    metrics: &Metrics,
    shutdown: &watch::Receiver<bool>,
    rx: &mut watch::Receiver<Position>,
    limit: Duration,
    who: Waiter<'_>,
    pred: impl FnMut(&Position) -> bool,
) -> Result<Position, Error> {
    let _counted = Counted::new(metrics);
    let mut sd = shutdown.clone();
    match wait_until(rx, &mut sd, limit, pred).await {
        Outcome::Ready(p) => Ok(p),
        Outcome::Timeout => Err(Error::Timeout {
            rendition: who.rendition.to_owned(),
            waited_ms: limit.as_millis() as u64,
        }),
        Outcome::Shutdown => Err(Error::Unavailable(format!(
            "{}/{}: shutting down",
            who.stream, who.rendition
        ))),
    }
}

/// Counts one blocked request in the `waiting` gauge for as long as it lives.
struct Counted<'a>(&'a Metrics);

impl<'a> Counted<'a> {
    fn new(m: &'a Metrics) -> Self {
        m.waiting.fetch_add(1, Relaxed);
        Counted(m)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Relaxed);
    }
}

/// When each rendition last published, as seen by a task woken with the waiters: the
/// reference point of the wake-delay histogram (publish → response).
#[derive(Debug, Default)]
pub struct PublishClock {
    stamps: Mutex<HashMap<usize, Arc<Stamp>>>,
}

/// The newest position a rendition published and when it was first seen.
pub type Stamp = Mutex<(Position, Instant)>;

impl PublishClock {
    /// The stamp cell of a rendition, spawning its watcher task on first use.
    pub fn cell(&self, r: &Arc<Rendition>) -> Arc<Stamp> {
        let key = Arc::as_ptr(r) as usize;
        let mut map = self.stamps.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get(&key) {
            return Arc::clone(c);
        }
        let mut rx = r.subscribe();
        let cell = Arc::new(Mutex::new((*rx.borrow_and_update(), Instant::now())));
        let c2 = Arc::clone(&cell);
        // Holds a receiver only (not the rendition), and ends when the rendition's sender drops.
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let p = *rx.borrow_and_update();
                PublishClock::observe(&c2, &p);
            }
        });
        map.insert(key, Arc::clone(&cell));
        cell
    }

    /// Time since `p` was first seen, by the watcher task or by a waiter woken before it
    /// (whoever looks first stamps it). Exact for the herd woken by one publish.
    pub fn observe(cell: &Stamp, p: &Position) -> Duration {
        let mut c = cell.lock().unwrap_or_else(|e| e.into_inner());
        if c.0 != *p {
            *c = (*p, Instant::now());
        }
        c.1.elapsed()
    }
}
