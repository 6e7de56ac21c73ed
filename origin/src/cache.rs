//! Rendered playlist text, cached per (stream, rendition, position, skip, encoding) in a
//! bounded moka cache. `get_with` coalesces: when one part wakes 10,000 waiters they all ask
//! for the same key, one of them renders and the rest await that render.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::HeaderValue;
use moka::future::Cache;
use packager::playlist::{Position, Skip};

/// The cache-key form of a position.
pub fn pos_key(p: Position) -> (u64, Option<u32>, bool, bool) {
    (p.msn, p.part, p.complete, p.closed)
}

use crate::headers;
use crate::metrics::Metrics;
use crate::modified::Modified;

/// Identity of one rendered playlist. Keyed by the rendition's position rather than the
/// request's directive: every request answered at one position gets the same text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// Stream name.
    pub stream: Arc<str>,
    /// Rendition name (empty for the multivariant playlist).
    pub rendition: Arc<str>,
    /// Position the text was rendered at: (msn, part, complete, closed).
    pub position: (u64, Option<u32>, bool, bool),
    /// Delta update asked for.
    pub skip: Skip,
    /// Gzip-encoded body.
    pub gzip: bool,
}

/// A rendered playlist body.
#[derive(Debug)]
pub struct Rendered {
    /// Body bytes (gzip-compressed when the key says so).
    pub body: Bytes,
    /// Strong ETag, quoted, as a header value; differs between the plain and the gzip body.
    /// Header values are built once per render, not once per response: 10,000 waiters woken
    /// by one part share them.
    pub etag: Option<HeaderValue>,
    /// When it was rendered: the text can change no earlier (the key holds the position), so
    /// this is its modification instant, to the millisecond (see `crate::modified`); and that
    /// as a `Last-Modified` header (RFC 9110 §8.8.2).
    pub modified: Option<(Modified, HeaderValue)>,
}

/// The playlist cache.
#[derive(Clone)]
pub struct PlaylistCache {
    inner: Cache<Key, Arc<Rendered>>,
    metrics: Arc<Metrics>,
}

impl PlaylistCache {
    /// A cache of at most `capacity` bodies, each kept at most `ttl`.
    pub fn new(capacity: u64, ttl: Duration, metrics: Arc<Metrics>) -> Self {
        PlaylistCache {
            inner: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            metrics,
        }
    }

    /// The body for `key`, rendering it with `render` (plain text) at most once per key at a
    /// time. A render that fails is not cached: its error goes to every request that awaited it.
    ///
    /// The lookup runs boxed: moka's futures are several kB, and a request's future carries
    /// this one inline for its whole life, including while it waits for a blocking reload
    /// (10,000 of them in a herd: 4.6 kB each before).
    pub async fn get<E: Send + Sync + 'static>(
        &self,
        key: Key,
        render: impl FnOnce() -> Result<String, E>,
    ) -> Result<Arc<Rendered>, Arc<E>> {
        Box::pin(self.lookup(key, render)).await
    }

    async fn lookup<E: Send + Sync + 'static>(
        &self,
        key: Key,
        render: impl FnOnce() -> Result<String, E>,
    ) -> Result<Arc<Rendered>, Arc<E>> {
        self.metrics.cache_lookups.fetch_add(1, Relaxed);
        if !key.gzip {
            return self.plain(key, render).await;
        }
        let plain_key = Key {
            gzip: false,
            ..key.clone()
        };
        let this = self.clone();
        self.inner
            .try_get_with(key, async move {
                let plain = this.plain(plain_key, render).await?;
                let tag = plain.etag.as_ref().and_then(|e| e.to_str().ok());
                Ok(Arc::new(Rendered {
                    body: gzip(&plain.body),
                    etag: tag.and_then(|e| headers::text(gz_etag(e))),
                    modified: plain.modified.clone(),
                }))
            })
            .await
            .map_err(|e: Arc<Arc<E>>| Arc::clone(&*e))
    }

    async fn plain<E: Send + Sync + 'static>(
        &self,
        key: Key,
        render: impl FnOnce() -> Result<String, E>,
    ) -> Result<Arc<Rendered>, Arc<E>> {
        let metrics = Arc::clone(&self.metrics);
        self.inner
            .try_get_with(key, async move {
                metrics.cache_renders.fetch_add(1, Relaxed);
                let text = Bytes::from(render()?);
                let now = Modified::now();
                Ok(Arc::new(Rendered {
                    etag: headers::text(etag(&text)),
                    modified: now.header(SystemTime::now()).map(|h| (now, h)),
                    body: text,
                }))
            })
            .await
    }
}

/// A strong ETag from the body's FNV-1a 64 hash.
pub fn etag(b: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= u64::from(x);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}-{}\"", b.len())
}

fn gz_etag(plain: &str) -> String {
    format!("{}-gz\"", plain.trim_end_matches('"'))
}

fn gzip(b: &[u8]) -> Bytes {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(b.len() / 3 + 64),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = e.write_all(b);
    Bytes::from(e.finish().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_changes_with_a_byte() {
        assert_ne!(etag(b"#EXTM3U\n1"), etag(b"#EXTM3U\n2"));
        assert_eq!(etag(b"abc"), etag(b"abc"));
        assert_ne!(gz_etag(&etag(b"abc")), etag(b"abc"));
    }
}
