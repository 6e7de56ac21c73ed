//! The body of a segment still being written: [`Feed`] yields its parts in order, each whole
//! once it is complete (rfc8216bis-22 §6.2.6), and ends when the segment closes.
//!
//! No task is spawned for it: the feed is a `futures` stream (`stream::unfold` over
//! [`Feed::next`]) inside the response body, polled by hyper on the connection's own task when
//! the client can take more bytes. Between parts it waits on the rendition's watch channel with
//! [`blocking::hold`], so it has the same deadline and shutdown answer as every other wait.

use std::io;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use packager::playlist::Position;
use packager::store::Rendition;
use tokio::sync::watch;

use crate::blocking::{self, Waiter};
use crate::metrics::Metrics;
use crate::reply::Body;

/// State of one streamed open segment: where it is in the segment and what is left to send.
pub(crate) struct Feed {
    stream: Arc<str>,
    r: Arc<Rendition>,
    msn: u64,
    /// The next part to send.
    idx: u32,
    /// Bytes still to drop from the front (the range's first byte).
    skip: u64,
    /// Bytes still to send, for a bounded range.
    remaining: Option<u64>,
    rx: watch::Receiver<Position>,
    shutdown: watch::Receiver<bool>,
    /// How long one wait for the next part may last.
    limit: Duration,
    metrics: Arc<Metrics>,
}

impl Feed {
    /// Sends segment `msn` of `r` from byte `first`, `remaining` bytes at most (all when
    /// `None`); each wait for a part ends after `limit`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        stream: &str,
        r: &Arc<Rendition>,
        msn: u64,
        first: u64,
        remaining: Option<u64>,
        shutdown: watch::Receiver<bool>,
        limit: Duration,
        metrics: Arc<Metrics>,
    ) -> Feed {
        Feed {
            stream: Arc::from(stream),
            r: Arc::clone(r),
            msn,
            idx: 0,
            skip: first,
            remaining,
            rx: r.subscribe(),
            shutdown,
            limit,
            metrics,
        }
    }

    /// The body that sends `head` (a frame already taken from this feed), then the rest of it.
    pub fn into_body(self, head: Frame<Bytes>) -> Body {
        let body = StreamBody::new(futures_util::StreamExt::chain(
            stream::once(std::future::ready(Ok::<_, io::Error>(head))),
            stream::unfold(self, Feed::next),
        ));
        BodyExt::boxed(body)
    }

    /// The next bytes to send, waiting for the next part when it does not exist yet. `None`
    /// once the range is sent or the segment is complete and fully sent; an error when the
    /// rendition stops before the segment closes, no part comes in time, or the origin shuts
    /// down (the body then ends abruptly, as it must: its length was not what it promised).
    pub async fn next(mut self) -> Option<(Result<Frame<Bytes>, io::Error>, Feed)> {
        loop {
            if self.remaining == Some(0) {
                return None;
            }
            // Mark the current value seen before looking, so a part applied after the look
            // still wakes the wait below (the store publishes after it stores).
            let seen = *self.rx.borrow_and_update();
            if let Some(mut b) = self.r.part(self.msn, self.idx).map(|p| p.bytes) {
                self.idx += 1;
                let cut = self.skip.min(b.len() as u64);
                self.skip -= cut;
                b = b.slice(cut as usize..);
                if let Some(rem) = self.remaining.as_mut() {
                    let n = (*rem).min(b.len() as u64);
                    b.truncate(n as usize);
                    *rem -= n;
                }
                if b.is_empty() {
                    continue;
                }
                self.metrics.bytes_out.fetch_add(b.len() as u64, Relaxed);
                return Some((Ok(Frame::data(b)), self));
            }
            let p = seen;
            if p.msn > self.msn || (p.msn == self.msn && p.complete) {
                return None; // the segment is complete and fully sent
            }
            if p.closed {
                return Some((
                    Err(io::Error::other(
                        "rendition stopped before the segment closed",
                    )),
                    self,
                ));
            }
            let who = Waiter {
                stream: &self.stream,
                rendition: self.r.name(),
            };
            let waited = blocking::hold(
                &self.metrics,
                &self.shutdown,
                &mut self.rx,
                self.limit,
                who,
                |q| *q != seen,
            )
            .await;
            if let Err(e) = waited {
                return Some((Err(io::Error::other(e)), self));
            }
        }
    }
}
