//! Request dispatch: method and request-target checks, [`Route::decode`], one call per route,
//! then the reply through [`reply::finish`] (or the error through [`reply::error_response`]),
//! counted in the metrics and logged once. The routes themselves live in [`playlist`]
//! (playlists, blocking reload), [`media`] (init, parts, segments) and `crate::pages`.

pub(crate) mod media;
pub(crate) mod playlist;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use packager::store::{Rendition, Store, Stream};
use tokio::sync::watch;

use crate::blocking::PublishClock;
use crate::cache::PlaylistCache;
use crate::error::Error;
use crate::headers::{self, CacheControl};
use crate::metrics::Metrics;
use crate::pages::{self, PlayerFiles};
use crate::path::Route;
use crate::reply::{self, Body, Reply};

/// What every request of one server shares: the streams, the settings routes read, the
/// counters, the playlist cache and the shutdown signal every wait checks.
pub(crate) struct Shared {
    pub store: Arc<Store>,
    /// Longest request target served (`OriginOptions::max_uri_len`).
    pub max_uri_len: usize,
    pub player: PlayerFiles,
    pub metrics: Arc<Metrics>,
    pub cache: PlaylistCache,
    pub clock: PublishClock,
    pub shutdown: watch::Receiver<bool>,
    /// The token API writes must present; `None`: every write is refused (401).
    pub api_token: Option<crate::api::ApiToken>,
}

/// One request: answered, counted, logged, and given its CORS headers.
pub(crate) async fn handle(
    sh: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    // The API reads request bodies, so it takes the request; OPTIONS preflights stay here.
    let (label, mut resp) = if crate::api::is_api(&path) && method != Method::OPTIONS {
        ("api", crate::api::respond(&sh, req).await)
    } else {
        respond(&sh, &req).await
    };
    let status = resp.status().as_u16();
    sh.metrics.request(label, status);
    // One event per request (RUST_LOG=origin=debug); its fields are computed only when enabled.
    // Why an error was answered is logged once, by `error_response`. Headers (the API token
    // among them) are never logged.
    tracing::debug!(
        %method,
        path,
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
        let mut r = reply::plain_response(StatusCode::NO_CONTENT, reply::empty());
        headers::preflight(r.headers_mut());
        headers::set_cache(r.headers_mut(), CacheControl::NoStore);
        return ("options", r);
    }
    let target_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target_len > sh.max_uri_len {
        return (
            "other",
            reply::error_response(&Error::UriTooLong(target_len)),
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = reply::error_response(&Error::MethodNotAllowed(req.method().to_string()));
        r.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
        return ("other", r);
    }
    let route = match Route::decode(req.uri().path()) {
        Ok(r) => r,
        Err(e) => return ("other", reply::error_response(&e)),
    };
    let label = route.label();
    let resp = match dispatch(sh, &route, req).await {
        Ok(r) => reply::finish(&sh.metrics, r, req),
        Err(e) => reply::error_response(&e),
    };
    (label, resp)
}

async fn dispatch(sh: &Shared, route: &Route, req: &Request<Incoming>) -> Result<Reply, Error> {
    match route {
        Route::Home => Ok(pages::home(&sh.store)),
        Route::Player { file } => sh.player.file(file).await,
        Route::Ready => {
            // Every rendition of every stream has a complete segment (on the wall-clock
            // timeline the first is published only from a segment boundary after start).
            let streams = sh.store.streams();
            let waiting = streams.iter().find_map(|s| {
                s.renditions()
                    .iter()
                    .find(|r| r.segment_sizes().is_empty())
                    .map(|r| format!("{}/{}", s.name(), r.name()))
            });
            match waiting {
                None => Ok(Reply::new(
                    CacheControl::NoStore,
                    headers::TEXT,
                    vec![Bytes::from_static(b"ready\n")],
                )),
                Some(which) => Err(Error::Unavailable(format!(
                    "not ready: {which} has no complete segment yet"
                ))),
            }
        }
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
        Route::Multivariant { stream } => playlist::multivariant(sh, stream, req).await,
        Route::Media { stream, rendition } => playlist::media(sh, stream, rendition, req).await,
        Route::Init {
            stream,
            rendition,
            epoch,
            id,
            dump,
        } => media::init(sh, req, Track::new(stream, rendition, *epoch), *id, *dump),
        Route::Part {
            stream,
            rendition,
            epoch,
            msn,
            part,
            dump,
        } => {
            let t = Track::new(stream, rendition, *epoch);
            media::part(sh, req, t, *msn, *part, *dump).await
        }
        Route::Segment {
            stream,
            rendition,
            epoch,
            msn,
            dump,
        } => media::segment(sh, req, Track::new(stream, rendition, *epoch), *msn, *dump).await,
    }
}

/// The rendition a media URL names, with the epoch it was packaged in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Track<'a> {
    pub stream: &'a str,
    pub rendition: &'a str,
    pub epoch: u64,
}

impl<'a> Track<'a> {
    fn new(stream: &'a str, rendition: &'a str, epoch: u64) -> Self {
        Track {
            stream,
            rendition,
            epoch,
        }
    }
}

fn find_stream(sh: &Shared, stream: &str) -> Result<Arc<Stream>, Error> {
    sh.store
        .stream(stream)
        .ok_or_else(|| Error::NotFound(format!("no stream {stream}")))
}

/// The stream and its rendition named by a playlist URL.
fn find_rendition(
    sh: &Shared,
    stream: &str,
    rendition: &str,
) -> Result<(Arc<Stream>, Arc<Rendition>), Error> {
    let s = find_stream(sh, stream)?;
    let r = s
        .rendition(rendition)
        .cloned()
        .ok_or_else(|| Error::NotFound(format!("{stream}: no rendition {rendition}")))?;
    Ok((s, r))
}

/// The stream and rendition named by a media URL, whose epoch must be the running one.
fn find(sh: &Shared, t: Track<'_>) -> Result<(Arc<Stream>, Arc<Rendition>), Error> {
    let Track {
        stream,
        rendition,
        epoch,
    } = t;
    let (s, r) = find_rendition(sh, stream, rendition)?;
    if s.settings().epoch != epoch {
        return Err(Error::NotFound(format!(
            "{stream}: epoch {epoch} is not the running one"
        )));
    }
    Ok((s, r))
}
