//! The HTTP shell: hyper 1 + hyper-util (HTTP/1.1 keep-alive and h2c on one port), one task
//! per connection, connection limit, slow-client timeouts, graceful shutdown that answers
//! every waiting request. Routes call the pure parts (`path`, `range`, and `packager::playlist`) and the thin
//! waits in `blocking`; every reply names its `CacheControl`.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use packager::playlist::{decide, Decision, Directive, Position};
use packager::store::{Rendition, Store, Stream};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch, Semaphore};
use tokio::task::JoinHandle;

use crate::blocking::{self, Outcome, PublishClock};
use crate::cache::{self, Key, PlaylistCache};
use crate::error::Error;
use crate::headers::{self, CacheControl};
use crate::metrics::Metrics;
use crate::modified::Modified;
use crate::path::Route;
use crate::range::{self, ByteRange};
use crate::sendfile::SendfileStream;
use crate::stall::SendDeadline;

/// Response body: whole bytes or a stream of parts.
pub type Body = BoxBody<Bytes, io::Error>;

/// Origin settings. Defaults are in `Default`.
#[derive(Debug, Clone)]
pub struct OriginOptions {
    /// Longest request target (path + query) served; longer gets 414. Default 4096 bytes.
    pub max_uri_len: usize,
    /// A connection must send a full request head within this time (also the idle keep-alive
    /// limit between requests); otherwise it is closed. Default 10 s.
    pub header_read_timeout: Duration,
    /// A response write that makes no progress for this long (the client stopped reading) cuts
    /// the connection ([`crate::stall`]). Waiting for a part is not writing: held requests are
    /// not affected. Default 20 s.
    pub send_timeout: Duration,
    /// Largest request head (HTTP/1 read buffer; HTTP/2 header list). Default 16 KiB.
    pub max_header_bytes: usize,
    /// Open connections at most; more are closed at once. Default 20,000.
    pub max_connections: usize,
    /// Playlist bodies kept in the cache at most. Default 4096.
    pub cache_capacity: u64,
    /// How long shutdown waits for open connections to finish. Default 5 s.
    pub shutdown_grace: Duration,
    /// Directory holding the player page (`page/`) and hls.js (`node_modules/`), i.e. the
    /// repository's `scripts/player`. Default: none (`/player/` answers 404).
    pub player_dir: Option<std::path::PathBuf>,
    /// Serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN) with this config (`tls::load`). Default: none
    /// (plain HTTP/1.1 and h2c).
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// Longest time a rendered playlist stays cached. Entries are keyed by the rendition's
    /// position, so this only bounds memory and how stale the rendition reports of the other
    /// renditions can get; keep it ≤ one target duration. Default 1 s.
    pub playlist_cache_ttl: Duration,
}

impl Default for OriginOptions {
    fn default() -> Self {
        OriginOptions {
            max_uri_len: 4096,
            header_read_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(20),
            max_header_bytes: 16 * 1024,
            max_connections: 20_000,
            cache_capacity: 4096,
            shutdown_grace: Duration::from_secs(5),
            player_dir: None,
            tls: None,
            playlist_cache_ttl: Duration::from_secs(1),
        }
    }
}

/// A running origin on its own task: bind, read the address, shut down.
#[derive(Debug)]
pub struct Origin {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Origin {
    /// Binds `addr` (use `127.0.0.1:0` in tests) and serves `store` until `shutdown` is called.
    pub async fn bind(
        addr: SocketAddr,
        store: Arc<Store>,
        opts: OriginOptions,
    ) -> io::Result<Origin> {
        let listener = listen(addr)?;
        let addr = listener.local_addr()?;
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, store, opts, async move {
            let _ = rx.await;
        }));
        Ok(Origin {
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, answers every waiting request (503), lets open requests finish within
    /// the grace period, and returns when the server task has ended.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// A listener with a deep accept backlog (4096, capped by the kernel's somaxconn), so a herd
/// of players connecting at once is not met with SYN retries.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

struct Shared {
    store: Arc<Store>,
    opts: OriginOptions,
    metrics: Arc<Metrics>,
    cache: PlaylistCache,
    clock: PublishClock,
    shutdown: watch::Receiver<bool>,
}

/// Serves `store` on `listener` until `shutdown` completes; then stops accepting, wakes every
/// blocked request with a 503, and waits up to `opts.shutdown_grace` for connections to finish.
pub async fn serve(
    listener: TcpListener,
    store: Arc<Store>,
    opts: OriginOptions,
    shutdown: impl Future,
) {
    let (sd_tx, sd_rx) = watch::channel(false);
    let metrics = Arc::new(Metrics::default());
    let cache = PlaylistCache::new(
        opts.cache_capacity,
        opts.playlist_cache_ttl,
        Arc::clone(&metrics),
    );
    let shared = Arc::new(Shared {
        store,
        opts: opts.clone(),
        metrics,
        cache,
        clock: PublishClock::default(),
        shutdown: sd_rx,
    });

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(opts.header_read_timeout)
        .max_buf_size(opts.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(opts.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(1024)
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(Duration::from_secs(20));
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(opts.max_connections));
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = &mut shutdown => break,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                // EMFILE and friends: back off a little instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            shared.metrics.refused_connections.fetch_add(1, Relaxed);
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let sh = Arc::clone(&shared);
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let first_byte = opts.header_read_timeout;
        tokio::spawn(async move {
            sh.metrics.open_connections.fetch_add(1, Relaxed);
            // hyper-util's auto builder sniffs the protocol before hyper's header timer runs,
            // so a client that never sends a byte is cut here.
            let mut b = [0u8; 1];
            if matches!(tokio::time::timeout(first_byte, tcp.peek(&mut b)).await, Ok(Ok(n)) if n > 0)
            {
                let sh2 = Arc::clone(&sh);
                let svc = service_fn(move |req| handle(Arc::clone(&sh2), req));
                let tcp = SendDeadline::new(SendfileStream::new(tcp), sh.opts.send_timeout);
                match sh.opts.tls.clone() {
                    Some(tls) => {
                        // The handshake gets the same deadline as a request head.
                        let accept = tokio_rustls::TlsAcceptor::from(tls).accept(tcp);
                        match tokio::time::timeout(first_byte, accept).await {
                            Ok(Ok(stream)) => {
                                let conn = builder
                                    .serve_connection(TokioIo::new(stream), svc)
                                    .into_owned();
                                if let Err(e) = watcher.watch(conn).await {
                                    tracing::debug!(error = %e, "connection ended with an error");
                                }
                            }
                            Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                            Err(_) => tracing::debug!("TLS handshake timed out"),
                        }
                    }
                    None => {
                        let conn = builder
                            .serve_connection(TokioIo::new(tcp), svc)
                            .into_owned();
                        if let Err(e) = watcher.watch(conn).await {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                    }
                }
            }
            sh.metrics.open_connections.fetch_sub(1, Relaxed);
            drop(permit);
        });
    }
    drop(listener);
    sd_tx.send_replace(true);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(opts.shutdown_grace) => tracing::warn!("shutdown grace period over; dropping connections"),
    }
}

async fn handle(sh: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let started = std::time::Instant::now();
    let (label, mut resp) = respond(&sh, &req).await;
    let status = resp.status().as_u16();
    sh.metrics.request(label, status);
    // One event per request (RUST_LOG=origin=debug); its fields are computed only when enabled.
    // Why an error was answered is logged once, by `error_response`.
    tracing::debug!(
        method = %req.method(),
        path = req.uri().path(),
        route = label,
        status,
        waited_ms = started.elapsed().as_millis(),
        "request"
    );
    headers::cors(resp.headers_mut());
    Ok(resp)
}

async fn respond(sh: &Shared, req: &Request<Incoming>) -> (&'static str, Response<Body>) {
    if req.method() == Method::OPTIONS {
        let mut r = plain_response(StatusCode::NO_CONTENT, empty());
        headers::preflight(r.headers_mut());
        headers::set_cache(r.headers_mut(), CacheControl::NoStore);
        return ("options", r);
    }
    let target_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target_len > sh.opts.max_uri_len {
        return ("other", error_response(&Error::UriTooLong(target_len)));
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = error_response(&Error::MethodNotAllowed(req.method().to_string()));
        r.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
        return ("other", r);
    }
    let route = match Route::decode(req.uri().path()) {
        Ok(r) => r,
        Err(e) => return ("other", error_response(&e)),
    };
    let label = route.label();
    let resp = match dispatch(sh, &route, req).await {
        Ok(reply) => finish(sh, reply, req),
        Err(e) => error_response(&e),
    };
    (label, resp)
}

/// What a route answers, before conditional-GET, HEAD and byte counting.
struct Reply {
    status: StatusCode,
    cache: CacheControl,
    content_type: &'static str,
    body: ReplyBody,
    etag: Option<HeaderValue>,
    /// When it last changed, and that as a `Last-Modified` header.
    modified: Option<(Modified, HeaderValue)>,
    gzip: bool,
    vary_encoding: bool,
    content_range: Option<String>,
    accept_ranges: bool,
}

enum ReplyBody {
    /// Known bytes, as slices of parts (never copied).
    Parts(Vec<Bytes>),
    /// Bytes that arrive part by part.
    Stream(Body),
}

impl Reply {
    fn new(cache: CacheControl, content_type: &'static str, body: Vec<Bytes>) -> Reply {
        Reply {
            status: StatusCode::OK,
            cache,
            content_type,
            body: ReplyBody::Parts(body),
            etag: None,
            modified: None,
            gzip: false,
            vary_encoding: false,
            content_range: None,
            accept_ranges: false,
        }
    }
}

async fn dispatch(sh: &Shared, route: &Route, req: &Request<Incoming>) -> Result<Reply, Error> {
    match route {
        Route::Home => Ok(Reply::new(
            CacheControl::Page,
            headers::HTML,
            vec![Bytes::from(home_page(&sh.store))],
        )),
        Route::Player { file } => player_file(sh, file).await,
        Route::Health => Ok(Reply::new(
            CacheControl::NoStore,
            headers::TEXT,
            vec![Bytes::from_static(b"ok\n")],
        )),
        Route::Metrics => {
            let text = sh.metrics.render(&sh.store);
            Ok(Reply::new(
                CacheControl::NoStore,
                headers::PROMETHEUS,
                vec![Bytes::from(text)],
            ))
        }
        Route::Multivariant { stream } => {
            let s = find_stream(sh, stream)?;
            let gzip = accepts_gzip(req.headers());
            let key = Key {
                stream: Arc::from(stream.as_str()),
                rendition: Arc::from(""),
                position: cache::pos_key(multivariant_position(&s)),
                skip: Default::default(),
                gzip,
            };
            let r = sh.cache.get(key, || render_multivariant(&s)).await;
            let cache = CacheControl::LivePlaylist {
                target_duration: s.settings().target_duration,
            };
            Ok(playlist_reply(&r, cache, gzip))
        }
        Route::Media { stream, rendition } => media(sh, stream, rendition, req).await,
        Route::Init {
            stream,
            rendition,
            epoch,
            id,
            dump,
        } => {
            let (_, r) = find(sh, stream, rendition, *epoch)?;
            let b = r
                .init(*id)
                .ok_or_else(|| Error::NotFound(format!("{stream}/{rendition}: no init {id}")))?;
            media_reply(req, vec![b], format!("\"{epoch}-i{id}"), None, *dump)
        }
        Route::Part {
            stream,
            rendition,
            epoch,
            msn,
            part,
            dump,
        } => part_route(sh, req, stream, rendition, *epoch, *msn, *part, *dump).await,
        Route::Segment {
            stream,
            rendition,
            epoch,
            msn,
            dump,
        } => segment_route(sh, req, stream, rendition, *epoch, *msn, *dump).await,
    }
}

/// A stand-in position for the multivariant cache key: it changes when any rendition's codec
/// string first becomes known (the only change its text sees), approximated by the count of
/// renditions whose codec is known.
fn multivariant_position(s: &Stream) -> Position {
    let known = s
        .renditions()
        .iter()
        .filter(|r| r.codec_string().is_some())
        .count();
    Position {
        msn: known as u64,
        ..Default::default()
    }
}

fn find_stream(sh: &Shared, stream: &str) -> Result<Arc<Stream>, Error> {
    sh.store
        .stream(stream)
        .ok_or_else(|| Error::NotFound(format!("no stream {stream}")))
}

fn find(
    sh: &Shared,
    stream: &str,
    rendition: &str,
    epoch: u64,
) -> Result<(Arc<Stream>, Arc<Rendition>), Error> {
    let s = find_stream(sh, stream)?;
    let r = s
        .rendition(rendition)
        .cloned()
        .ok_or_else(|| Error::NotFound(format!("{stream}: no rendition {rendition}")))?;
    if s.settings().epoch != epoch {
        return Err(Error::NotFound(format!(
            "{stream}: epoch {epoch} is not the running one"
        )));
    }
    Ok((s, r))
}

/// Counts one blocked request in the `waiting` gauge for as long as it lives.
struct WaitGuard<'a>(&'a Metrics);
impl<'a> WaitGuard<'a> {
    fn new(m: &'a Metrics) -> Self {
        m.waiting.fetch_add(1, Relaxed);
        WaitGuard(m)
    }
}
impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Relaxed);
    }
}

async fn media(
    sh: &Shared,
    stream: &str,
    rendition: &str,
    req: &Request<Incoming>,
) -> Result<Reply, Error> {
    let s = find_stream(sh, stream)?;
    let r = s
        .rendition(rendition)
        .cloned()
        .ok_or_else(|| Error::NotFound(format!("{stream}: no rendition {rendition}")))?;
    let want = Directive::parse(req.uri().query().unwrap_or(""))
        .map_err(|e| Error::BadDirective(e.to_string()))?;
    let td = s.settings().target_duration;
    let mut pos = r.position();
    let mut woke = None;
    match decide(pos, want) {
        // rfc8216bis §6.2.5.2: "If the _HLS_msn is greater than the Media Sequence Number of the
        // last Media Segment in the current Playlist plus two ... the server SHOULD immediately
        // return Bad Request."
        Decision::TooFar => {
            return Err(Error::TooFar {
                rendition: rendition.to_owned(),
                msn: want.msn.unwrap_or(0),
                last: pos.msn,
            })
        }
        Decision::Ready => {}
        // rfc8216bis §6.2.5.2: "the server MUST defer responding to the request until the
        // Playlist contains" the requested segment/part; after three target durations it
        // "SHOULD return 503". A closed rendition is answered with its final playlist.
        Decision::Wait => {
            let _g = WaitGuard::new(&sh.metrics);
            let cell = sh.clock.cell(&r);
            let mut rx = r.subscribe();
            let mut sd = sh.shutdown.clone();
            let limit = blocking::deadline(td);
            match blocking::wait_until(&mut rx, &mut sd, limit, |p| {
                p.closed || decide(*p, want) != Decision::Wait
            })
            .await
            {
                Outcome::Ready(p) => {
                    pos = p;
                    woke = Some((cell, p));
                }
                Outcome::Timeout => {
                    return Err(Error::Timeout {
                        rendition: rendition.to_owned(),
                        waited_ms: limit.as_millis() as u64,
                    })
                }
                Outcome::Shutdown => {
                    return Err(Error::Unavailable(format!(
                        "{stream}/{rendition}: shutting down"
                    )))
                }
            }
        }
    }
    let gzip = accepts_gzip(req.headers());
    let key = Key {
        stream: Arc::from(stream),
        rendition: Arc::from(rendition),
        position: cache::pos_key(pos),
        skip: want.skip,
        gzip,
    };
    let rendered = sh
        .cache
        .get(key, || s.media_playlist(&r).render(want.skip))
        .await;
    let cache = if want.msn.is_some() {
        CacheControl::BlockingPlaylist {
            target_duration: td,
        }
    } else {
        CacheControl::LivePlaylist {
            target_duration: td,
        }
    };
    if let Some((cell, p)) = woke {
        sh.metrics.wake(PublishClock::observe(&cell, &p));
    }
    Ok(playlist_reply(&rendered, cache, gzip))
}

fn playlist_reply(r: &cache::Rendered, cache: CacheControl, gzip: bool) -> Reply {
    let mut reply = Reply::new(cache, headers::PLAYLIST, vec![r.body.clone()]);
    reply.etag = r.etag.clone();
    reply.modified = r.modified.clone();
    reply.gzip = gzip;
    // B.1 / §6.2.1: playlists go gzip-compressed when the client accepts it, so caches must
    // key on Accept-Encoding.
    reply.vary_encoding = true;
    reply
}

/// Immutable media bytes (or their `.txt` box dump), with Range support. A range past the end
/// is `Error::RangeNotSatisfiable`, answered by `error_response` (416 naming the length).
///
/// `ended_ms` is the wall clock at which the bytes' last sample was captured: from then on
/// they exist, and never change, so it is their Last-Modified — the same on every origin
/// packaging the same timeline, like the bytes themselves. An init segment has none that
/// stays the same as the window slides and across restarts, so it is sent with its ETag
/// alone (RFC 9110 §8.8.2.1: Last-Modified only where it "can be reasonably and
/// consistently determined").
fn media_reply(
    req: &Request<Incoming>,
    parts: Vec<Bytes>,
    etag_stem: String,
    ended_ms: Option<i64>,
    dump: bool,
) -> Result<Reply, Error> {
    let modified = ended_ms.map(Modified::immutable).and_then(|m| {
        let h = m.header(std::time::SystemTime::now())?;
        Some((m, h))
    });
    if dump {
        let cat: Vec<u8> = parts.iter().flat_map(|b| b.iter().copied()).collect();
        let mut r = Reply::new(
            CacheControl::Immutable,
            headers::TEXT,
            vec![Bytes::from(packager::cmaf::dump(&cat))],
        );
        r.etag = headers::text(format!("{etag_stem}-txt\""));
        r.modified = modified;
        return Ok(r);
    }
    let len: u64 = parts.iter().map(|b| b.len() as u64).sum();
    // The epoch and MSN in the URL pin the bytes, so the identity plus length is a strong ETag.
    let etag = headers::text(format!("{etag_stem}-{len}\""));
    let mut r = match range_header(req) {
        Some(range) => {
            let (first, last) = range
                .resolve(len)
                .ok_or_else(|| Error::RangeNotSatisfiable {
                    what: req.uri().path().to_owned(),
                    len,
                })?;
            partial_reply(&parts, first, last, &len.to_string())
        }
        None => {
            let mut r = Reply::new(CacheControl::Immutable, headers::MP4, parts);
            r.accept_ranges = true;
            r
        }
    };
    r.etag = etag;
    r.modified = modified;
    Ok(r)
}

/// A 206 of bytes `first..=last` that all exist, sliced from `parts` (never copied). RFC 9110
/// §15.3.7: a 206 names its range, `bytes FIRST-LAST/COMPLETE` where COMPLETE is the length or,
/// for a segment still open, `*` (§14.4).
fn partial_reply(parts: &[Bytes], first: u64, last: u64, complete: &str) -> Reply {
    let mut r = Reply::new(
        CacheControl::Immutable,
        headers::MP4,
        range::slice(parts, first, last),
    );
    r.status = StatusCode::PARTIAL_CONTENT;
    r.accept_ranges = true;
    r.content_range = Some(format!("bytes {first}-{last}/{complete}"));
    r
}

fn range_header(req: &Request<Incoming>) -> Option<ByteRange> {
    req.headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(ByteRange::parse)
}

/// The part a preload hint names (rfc8216bis §4.4.5.3): the next part of the open segment, or
/// part 0 of the segment after it (the open one may close first).
fn is_hinted(p: Position, msn: u64, part: u32) -> bool {
    match p.part {
        None => msn == p.msn && part == 0,
        Some(_) if p.complete => msn == p.msn + 1 && part == 0,
        Some(last) => (msn == p.msn && part == last + 1) || (msn == p.msn + 1 && part == 0),
    }
}

/// True once the rendition's position has reached or passed part `part` of `msn`.
fn reached(p: &Position, msn: u64, part: u32) -> bool {
    p.msn > msn || (p.msn == msn && (p.complete || p.part.is_some_and(|x| x >= part)))
}

#[allow(clippy::too_many_arguments)]
async fn part_route(
    sh: &Shared,
    req: &Request<Incoming>,
    stream: &str,
    rendition: &str,
    epoch: u64,
    msn: u64,
    part: u32,
    dump: bool,
) -> Result<Reply, Error> {
    let (s, r) = find(sh, stream, rendition, epoch)?;
    let stem = format!("\"{epoch}-{msn}.{part}");
    if let Some(p) = r.part(msn, part) {
        return media_reply(req, vec![p.bytes], stem, p.end_ms, dump);
    }
    let not_found = || Error::NotFound(format!("{stream}/{rendition}: no part {msn}.{part}"));
    let pos = r.position();
    // rfc8216bis §6.2.6: a request for the hinted part is held until the part is complete, and
    // then answered whole ("MUST NOT ... transmit the first byte ... until all of the bytes of
    // the Partial Segment can be transmitted"). Policy: a part a little further ahead — inside
    // the window a blocking playlist reload may ask for (§6.2.5.2: last MSN + 2 and the Advance
    // Part Limit) — is held the same way rather than answered 404, so that a CDN never caches a
    // miss for a part that appears a few hundred milliseconds later. Beyond that window, or a
    // part past the end of a complete segment, is a short-lived 404.
    let want = Directive {
        msn: Some(msn),
        part: Some(part),
        ..Directive::default()
    };
    let hold = is_hinted(pos, msn, part) || decide(pos, want) == Decision::Wait;
    if dump || !hold {
        return Err(not_found());
    }
    let _g = WaitGuard::new(&sh.metrics);
    let cell = sh.clock.cell(&r);
    let mut rx = r.subscribe();
    let mut sd = sh.shutdown.clone();
    let limit = blocking::deadline(s.settings().target_duration);
    match blocking::wait_until(&mut rx, &mut sd, limit, |p| {
        p.closed || reached(p, msn, part)
    })
    .await
    {
        Outcome::Ready(p) => {
            let b = r.part(msn, part).ok_or_else(not_found)?;
            sh.metrics.wake(PublishClock::observe(&cell, &p));
            media_reply(req, vec![b.bytes], stem, b.end_ms, false)
        }
        Outcome::Timeout => Err(Error::Timeout {
            rendition: rendition.to_owned(),
            waited_ms: limit.as_millis() as u64,
        }),
        Outcome::Shutdown => Err(Error::Unavailable(format!(
            "{stream}/{rendition}: shutting down"
        ))),
    }
}

async fn segment_route(
    sh: &Shared,
    req: &Request<Incoming>,
    stream: &str,
    rendition: &str,
    epoch: u64,
    msn: u64,
    dump: bool,
) -> Result<Reply, Error> {
    let (s, r) = find(sh, stream, rendition, epoch)?;
    let not_found = || Error::NotFound(format!("{stream}/{rendition}: no segment {msn}"));
    let seg = r.segment(msn);
    if let Some(seg) = &seg {
        if seg.complete || dump {
            // A complete segment is one buffer (the store joined its parts): one write.
            let (chunks, end) = (seg.chunks.clone(), seg.end_ms);
            return media_reply(req, chunks, format!("\"{epoch}-{msn}"), end, dump);
        }
    }
    // An open segment, or the one a byte-range preload hint names next (rfc8216bis §6.2.6:
    // "...respond to a request for an open-ended byte range ... by streaming each Partial
    // Segment as it becomes available"). Each part goes out whole once it is complete.
    let pos = r.position();
    let (have, hinted_next) = match &seg {
        Some(seg) => (seg.len(), true),
        None => (0, !dump && is_hinted(pos, msn, 0)),
    };
    if !hinted_next {
        return Err(not_found());
    }
    let (first, last, status) = match range_header(req) {
        None => (0, None, StatusCode::OK),
        Some(ByteRange::From { first, last }) if first <= have => {
            (first, last, StatusCode::PARTIAL_CONTENT)
        }
        Some(_) => {
            return Err(Error::RangeNotSatisfiable {
                what: req.uri().path().to_owned(),
                len: have,
            })
        }
    };
    if let (Some(seg), Some(l)) = (&seg, last) {
        if l < have {
            // Every byte asked for exists (a listed EXT-X-PART BYTERANGE, as hls.js asks for it):
            // answer now, with its length; the final length is not known yet.
            return Ok(partial_reply(&seg.chunks, first, l, "*"));
        }
    }
    // RFC 9110 §15.3.7 / §14.4: a bounded range still to come names itself too, `bytes A-B/*`.
    let content_range = last.map(|l| format!("bytes {first}-{l}/*"));
    let remaining = last.map(|l| l + 1 - first);
    let feed = Feed {
        r: Arc::clone(&r),
        msn,
        idx: 0,
        skip: first,
        remaining,
        rx: r.subscribe(),
        sd: sh.shutdown.clone(),
        limit: blocking::deadline(s.settings().target_duration),
        metrics: Arc::clone(&sh.metrics),
    };
    // rfc8216bis §6.2.6: no byte of a part before all of it can go, so not even the head goes
    // out before the range's first part is whole: the feed is asked for it first. A hint at a
    // segment's end (its close not yet known) names a range the close then leaves empty: that
    // is a 416 naming the final length (kept a second by a CDN), not a 206 of no bytes.
    let (head, feed) = match feed.next().await {
        Some((Ok(frame), feed)) => (frame, feed),
        Some((Err(e), _)) => {
            return Err(Error::Unavailable(format!(
                "{stream}/{rendition}: segment {msn}: {e}"
            )))
        }
        None => {
            return Err(Error::RangeNotSatisfiable {
                what: req.uri().path().to_owned(),
                len: r.segment(msn).map_or(0, |g| g.len()),
            })
        }
    };
    let body = StreamBody::new(futures_util::StreamExt::chain(
        stream::once(std::future::ready(Ok::<_, io::Error>(head))),
        stream::unfold(feed, Feed::next),
    ));
    // A range that ends where the segment will end (none given, or RFC 8673's very large last
    // byte, `bytes N-9007199254740991`, which is echoed in the Content-Range as RFC 8673 §2.2
    // asks) describes no fixed bytes: stored by no cache.
    let open_ended = last.is_none_or(|l| l >= range::LIVE_LAST_BYTE);
    let cache = if status == StatusCode::PARTIAL_CONTENT && open_ended {
        CacheControl::OpenRange
    } else {
        CacheControl::Immutable
    };
    let mut reply = Reply::new(cache, headers::MP4, Vec::new());
    reply.status = status;
    reply.accept_ranges = true;
    // An open-ended range (a PRELOAD-HINT's BYTERANGE-START) has no last byte yet, and RFC 9110
    // §14.4 has no Content-Range form for an unknown last byte, so that 206 carries none (and
    // is `OpenRange`: stored by no cache); the body is chunked (HTTP/1.1) or ends with
    // END_STREAM (HTTP/2).
    reply.content_range = content_range;
    reply.body = ReplyBody::Stream(BodyExt::boxed(body));
    Ok(reply)
}

/// State of one streamed open segment.
struct Feed {
    r: Arc<Rendition>,
    msn: u64,
    idx: u32,
    skip: u64,
    remaining: Option<u64>,
    rx: watch::Receiver<Position>,
    sd: watch::Receiver<bool>,
    limit: Duration,
    metrics: Arc<Metrics>,
}

impl Feed {
    async fn next(mut self) -> Option<(Result<Frame<Bytes>, io::Error>, Feed)> {
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
            let metrics = Arc::clone(&self.metrics);
            let g = WaitGuard::new(&metrics);
            let outcome =
                blocking::wait_until(&mut self.rx, &mut self.sd, self.limit, |q| *q != seen).await;
            drop(g);
            match outcome {
                Outcome::Ready(_) => {}
                Outcome::Timeout => {
                    return Some((Err(io::Error::other("no new part in time")), self))
                }
                Outcome::Shutdown => return Some((Err(io::Error::other("shutting down")), self)),
            }
        }
    }
}

fn finish(sh: &Shared, mut reply: Reply, req: &Request<Incoming>) -> Response<Body> {
    let head = req.method() == Method::HEAD;
    // Room for every header a reply sets, CORS included: one allocation.
    let mut h = HeaderMap::with_capacity(16);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    headers::set_cache(&mut h, reply.cache);
    if let Some(e) = &reply.etag {
        h.insert(header::ETAG, e.clone());
    }
    if let Some((_, v)) = &reply.modified {
        h.insert(header::LAST_MODIFIED, v.clone());
    }
    if reply.vary_encoding {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if reply.gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if reply.accept_ranges {
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    }
    if let Some(v) = reply.content_range.take().and_then(headers::text) {
        h.insert(header::CONTENT_RANGE, v);
    }
    if not_modified(&reply, req.headers()) {
        // RFC 9110 §15.4.5: a 304 keeps the validators, Cache-Control and Vary it would have
        // sent with the 200, and describes no body.
        h.remove(header::CONTENT_TYPE);
        h.remove(header::CONTENT_ENCODING);
        h.remove(header::CONTENT_RANGE);
        let mut r = plain_response(StatusCode::NOT_MODIFIED, empty());
        *r.headers_mut() = h;
        return r;
    }
    let body = match reply.body {
        ReplyBody::Parts(parts) => {
            let len: u64 = parts.iter().map(|b| b.len() as u64).sum();
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            if head {
                empty()
            } else {
                sh.metrics.bytes_out.fetch_add(len, Relaxed);
                parts_body(parts)
            }
        }
        ReplyBody::Stream(b) => {
            if head {
                empty()
            } else {
                b
            }
        }
    };
    let mut r = plain_response(reply.status, body);
    *r.headers_mut() = h;
    r
}

/// RFC 9110 §13.2.2, for GET and HEAD (the only methods routed here): If-None-Match is
/// evaluated first (§13.1.2) and, when it is present, If-Modified-Since is ignored (§13.1.3);
/// both come before Range (§13.2.1), so a Range request for unchanged bytes gets a 304 too.
/// Only a reply with a validator qualifies: not a streamed open segment, not an error.
fn not_modified(reply: &Reply, h: &HeaderMap) -> bool {
    if !matches!(reply.status, StatusCode::OK | StatusCode::PARTIAL_CONTENT) {
        return false;
    }
    let field = |name| h.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if h.contains_key(header::IF_NONE_MATCH) {
        let etag = reply.etag.as_ref().and_then(|e| e.to_str().ok());
        return field(header::IF_NONE_MATCH)
            .zip(etag)
            .is_some_and(|(inm, etag)| etag_matches(inm, etag));
    }
    match (field(header::IF_MODIFIED_SINCE), &reply.modified) {
        (Some(ims), Some((m, _))) => m.not_modified_since(ims, std::time::SystemTime::now()),
        _ => false,
    }
}

fn etag_matches(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag))
}

/// `Accept-Encoding` lists gzip (or `*`) with a non-zero q.
fn accepts_gzip(h: &HeaderMap) -> bool {
    h.get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut it = item.split(';');
            let name = it.next().unwrap_or("").trim();
            let q_zero = it.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !q_zero
        })
}

fn empty() -> Body {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
}

fn parts_body(mut parts: Vec<Bytes>) -> Body {
    if parts.len() == 1 {
        let b = parts.pop().unwrap_or_default();
        return Full::new(b).map_err(|never| match never {}).boxed();
    }
    StreamBody::new(stream::iter(
        parts
            .into_iter()
            .map(|b| Ok::<_, io::Error>(Frame::data(b))),
    ))
    .boxed()
}

fn plain_response(status: StatusCode, body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r
}

fn error_response(e: &Error) -> Response<Body> {
    let status = e.status();
    if status.is_server_error() {
        tracing::info!(error = %e, "request failed");
    } else {
        tracing::debug!(error = %e, "request refused");
    }
    let text = format!("{e}\n");
    let mut r = plain_response(
        status,
        Full::new(Bytes::from(text))
            .map_err(|never| match never {})
            .boxed(),
    );
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(headers::TEXT),
    );
    headers::set_cache(h, CacheControl::ShortError);
    // RFC 9110 §15.5.17: a 416 names the current length (`bytes */LEN`).
    if let Error::RangeNotSatisfiable { len, .. } = e {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

/// The multivariant playlist text. A model that breaks a §4.4.6 rule is a bug of ours: it is
/// logged, and the text is still written so that players keep what they can use.
fn render_multivariant(stream: &Stream) -> String {
    let model = stream.multivariant();
    if let Err(e) = model.validate() {
        tracing::error!(stream = stream.name(), error = %e, "multivariant playlist breaks a rule");
    }
    let mut out = Vec::new();
    if let Err(e) = model.to_m3u8().write_to(&mut out) {
        tracing::error!(stream = stream.name(), error = %e, "multivariant playlist could not be written");
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `/`: every stream with links to its player page and its multivariant playlist.
fn home_page(store: &Store) -> String {
    let mut items = String::new();
    for s in store.streams() {
        // Stream names are letters, digits, `-` and `_` (config validation), so they need no
        // escaping in HTML or URLs.
        let n = s.name();
        items.push_str(&format!(
            "<li><a href=\"/player/?src=/{n}/master.m3u8\">{n}</a> — <a href=\"/{n}/master.m3u8\">/{n}/master.m3u8</a></li>\n"
        ));
    }
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>llhls</title></head><body>\n\
         <h1>llhls streams</h1>\n<ul>\n{items}</ul>\n</body></html>\n"
    )
}

/// A file of the player page, from `OriginOptions::player_dir` (`page/` and hls.js from
/// `node_modules`, installed by `scripts/setup`). 404 when the directory is not configured or
/// the file is missing.
async fn player_file(sh: &Shared, file: &'static str) -> Result<Reply, Error> {
    let dir = sh
        .opts
        .player_dir
        .as_ref()
        .ok_or_else(|| Error::NotFound("no player page configured".into()))?;
    let (path, ctype) = match file {
        "hls.min.js" => (
            dir.join("node_modules/hls.js/dist/hls.min.js"),
            headers::JAVASCRIPT,
        ),
        "player.js" => (dir.join("page/player.js"), headers::JAVASCRIPT),
        "player.css" => (dir.join("page/player.css"), headers::CSS),
        _ => (dir.join("page/index.html"), headers::HTML),
    };
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| Error::NotFound(format!("player file {file} is not installed")))?;
    Ok(Reply::new(
        CacheControl::Page,
        ctype,
        vec![Bytes::from(bytes)],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(msn: u64, part: Option<u32>, complete: bool) -> Position {
        Position {
            msn,
            part,
            complete,
            ..Position::default()
        }
    }

    #[test]
    fn hinted_parts() {
        assert!(is_hinted(pos(0, None, false), 0, 0));
        assert!(!is_hinted(pos(0, None, false), 0, 1));
        assert!(is_hinted(pos(4, Some(1), false), 4, 2));
        assert!(is_hinted(pos(4, Some(1), false), 5, 0));
        assert!(!is_hinted(pos(4, Some(1), false), 4, 3));
        assert!(!is_hinted(pos(4, Some(1), false), 5, 1));
        assert!(is_hinted(pos(4, Some(5), true), 5, 0));
        assert!(!is_hinted(pos(4, Some(5), true), 4, 6));
    }

    #[test]
    fn gzip_negotiation() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            accepts_gzip(&m)
        };
        assert!(h("gzip"));
        assert!(h("br, gzip;q=0.5"));
        assert!(h("*"));
        assert!(!h("gzip;q=0"));
        assert!(!h("br, deflate"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn if_none_match() {
        assert!(etag_matches("\"a\"", "\"a\""));
        assert!(etag_matches("\"b\", \"a\"", "\"a\""));
        assert!(etag_matches("*", "\"a\""));
        assert!(!etag_matches("\"b\"", "\"a\""));
    }
}
