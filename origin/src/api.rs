//! The cue API, the public contract for app backends and second screens:
//!
//! | request | who | answer |
//! |---|---|---|
//! | `POST /api/v1/streams/{stream}/cues` | `Authorization: Bearer TOKEN` | 201 the cue bound to its frame (200 the same cue again; 202 while no frame has come) |
//! | `GET /api/v1/streams/{stream}/cues` | anyone | 200 the cues still in the playlists |
//! | `DELETE /api/v1/streams/{stream}/cues/{id}` | `Authorization: Bearer TOKEN` | 200 the cue, ended at the next frame (END-DATE) |
//! | `GET /api/v1/streams/{stream}/cues/events` | anyone | Server-Sent Events: `cue` and `end`, one per cue |
//!
//! Everything a cue carries is already public in the playlists, so reading is open; writing
//! takes the token, compared in constant time (of SHA-256 digests, so that not even its length
//! leaks) and never logged. Errors are JSON `{"error": "...", "field": ...}` with the status of
//! `Error::status`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::stream;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use packager::cue::{self, CueError, CueEvent, PostError, Posted, Published};
use packager::store::Stream;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::broadcast::error::RecvError;

use crate::error::Error;
use crate::headers::{self, CacheControl};
use crate::reply::Body;
use crate::routes::Shared;

/// Largest request body read (a cue's `data` is at most 2 KiB; the rest is room for the other
/// fields and escapes). A longer Content-Length is refused before reading.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// How long a body may take to arrive.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a post waits for its cue to be in every rendition before answering 202.
const PUBLISH_WAIT: Duration = Duration::from_secs(5);
/// A comment line on the event stream this often keeps proxies from closing it.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// The API token, kept as its SHA-256 digest.
#[derive(Clone)]
pub struct ApiToken([u8; 32]);

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(…)")
    }
}

impl ApiToken {
    /// The token writers must present.
    pub fn new(token: &str) -> Self {
        ApiToken(Sha256::digest(token.as_bytes()).into())
    }

    /// Whether `authorization` is `Bearer <the token>`, in constant time.
    fn admits(&self, authorization: Option<&HeaderValue>) -> bool {
        let presented = authorization
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let digest: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
        bool::from(digest.ct_eq(&self.0)) && !presented.is_empty()
    }
}

/// An API path, decoded.
#[derive(Debug, PartialEq, Eq)]
enum ApiRoute {
    /// `/api/v1/streams/{stream}/cues`
    Cues(String),
    /// `/api/v1/streams/{stream}/cues/events`
    Events(String),
    /// `/api/v1/streams/{stream}/cues/{id}`
    Cue(String, String),
}

fn decode(path: &str) -> Option<ApiRoute> {
    let rest = path.strip_prefix("/api/v1/streams/")?;
    let segs: Vec<&str> = rest.split('/').collect();
    match segs.as_slice() {
        [stream, "cues"] => Some(ApiRoute::Cues(stream.to_string())),
        [stream, "cues", "events"] => Some(ApiRoute::Events(stream.to_string())),
        [stream, "cues", id] if cue::request::is_valid_id(id) => {
            Some(ApiRoute::Cue(stream.to_string(), id.to_string()))
        }
        _ => None,
    }
}

/// True for paths this module answers.
pub(crate) fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// Answers one API request.
pub(crate) async fn respond(sh: &Shared, req: Request<Incoming>) -> Response<Body> {
    match route(sh, req).await {
        Ok(r) => r,
        Err(e) => error_json(&e),
    }
}

async fn route(sh: &Shared, req: Request<Incoming>) -> Result<Response<Body>, Error> {
    let api_route = decode(req.uri().path())
        .ok_or_else(|| Error::NotFound(format!("no API route {}", req.uri().path())))?;
    let method = req.method().clone();
    let stream_name = match &api_route {
        ApiRoute::Cues(s) | ApiRoute::Events(s) | ApiRoute::Cue(s, _) => s.clone(),
    };
    let allowed = match &api_route {
        ApiRoute::Cues(_) => "GET, HEAD, POST, OPTIONS",
        ApiRoute::Events(_) => "GET, OPTIONS",
        ApiRoute::Cue(..) => "DELETE, OPTIONS",
    };
    let write = method == Method::POST || method == Method::DELETE;
    let permitted = match &api_route {
        ApiRoute::Cues(_) => matches!(method, Method::GET | Method::HEAD | Method::POST),
        ApiRoute::Events(_) => method == Method::GET,
        ApiRoute::Cue(..) => method == Method::DELETE,
    };
    if !permitted {
        let mut r = error_json(&Error::MethodNotAllowed(method.to_string()));
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allowed));
        return Ok(r);
    }
    // Authentication before anything about the stream is told.
    if write {
        let admitted = sh
            .api_token
            .as_ref()
            .is_some_and(|t| t.admits(req.headers().get(header::AUTHORIZATION)));
        if !admitted {
            return Err(Error::Unauthorized);
        }
    }
    let stream = sh
        .store
        .stream(&stream_name)
        .ok_or_else(|| Error::NotFound(format!("no stream {stream_name}")))?;
    match api_route {
        ApiRoute::Cues(_) if method == Method::POST => post(&stream, req).await,
        ApiRoute::Cues(_) => Ok(json(StatusCode::OK, list(&stream))),
        ApiRoute::Events(_) => Ok(events(sh, &stream)),
        ApiRoute::Cue(_, id) => {
            let cue = stream.cues().end(&id).map_err(|e| match e {
                cue::EndError::NotFound(_) => Error::NotFound(e.to_string()),
                _ => Error::Conflict(e.to_string()),
            })?;
            Ok(json(StatusCode::OK, cue.to_json()))
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

async fn post(stream: &Arc<Stream>, req: Request<Incoming>) -> Result<Response<Body>, Error> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(Error::PayloadTooLarge(MAX_BODY_BYTES));
    }
    let body = tokio::time::timeout(
        BODY_TIMEOUT,
        Limited::new(req.into_body(), MAX_BODY_BYTES).collect(),
    )
    .await
    .map_err(|_| Error::BadBody("the body did not arrive within 10 s".into()))?
    .map_err(|e| {
        if e.downcast_ref::<http_body_util::LengthLimitError>()
            .is_some()
        {
            Error::PayloadTooLarge(MAX_BODY_BYTES)
        } else {
            Error::BadBody(e.to_string())
        }
    })?
    .to_bytes();
    let settings = stream.settings();
    // A date may lie at most one window ahead.
    let window_ms = (settings.window_segments.min(1000) as f64
        * settings.target_duration as f64
        * 1000.0) as i64;
    let valid = cue::request::parse(&body, now_ms(), window_ms).map_err(Error::Cue)?;
    let (seq, id, created) = match stream.cues().post(valid, Instant::now(), now_ms()) {
        Ok(Posted::Created(seq, id)) => (seq, id, true),
        Ok(Posted::Existing(seq, id)) => (seq, id, false),
        Err(e @ PostError::RateLimited) | Err(e @ PostError::Full) => {
            return Err(Error::RateLimited(e.to_string()))
        }
        Err(e) => return Err(Error::Conflict(e.to_string())),
    };
    let published = stream.cues().wait_published(seq, PUBLISH_WAIT).await;
    let renditions = stream.renditions().len();
    let (status, text) = match published {
        Some(p) if p.renditions.len() >= renditions || !created => (
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            published_json(&p),
        ),
        Some(p) => (StatusCode::ACCEPTED, published_json(&p)),
        None => (
            StatusCode::ACCEPTED,
            serde_json::json!({"id": id, "status": "pending"}).to_string(),
        ),
    };
    Ok(json(status, text))
}

/// The answer to a post: the cue, the frame it is bound to and where it went.
fn published_json(p: &Published) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(&p.cue.to_json()).unwrap_or(serde_json::Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("status".into(), "published".into());
        o.insert("msn".into(), p.msn.into());
        o.insert("part".into(), p.part.into());
        o.insert("renditions".into(), p.renditions.clone().into());
    }
    v.to_string()
}

fn list(stream: &Stream) -> String {
    let cues: Vec<serde_json::Value> = stream
        .cues()
        .list()
        .iter()
        .filter_map(|c| serde_json::from_str(&c.to_json()).ok())
        .collect();
    serde_json::json!({ "cues": cues }).to_string()
}

fn sse(e: &CueEvent) -> Bytes {
    Bytes::from(format!("event: {}\ndata: {}\n\n", e.kind, e.json))
}

/// The second-screen feed: the cues in the playlists now, then each start and end as it is
/// bound, a comment every 15 s, until the client goes or the origin shuts down.
fn events(sh: &Shared, stream: &Stream) -> Response<Body> {
    let rx = stream.cues().subscribe();
    let first: Vec<Bytes> = std::iter::once(Bytes::from_static(b"retry: 1000\n\n"))
        .chain(stream.cues().list().iter().map(|c| {
            sse(&CueEvent {
                kind: "cue",
                json: c.to_json(),
            })
        }))
        .collect();
    let shutdown = sh.shutdown.clone();
    let live = stream::unfold((rx, shutdown), |(mut rx, mut shutdown)| async move {
        if *shutdown.borrow() {
            return None;
        }
        let chunk = tokio::select! {
            ev = rx.recv() => match ev {
                Ok(e) => sse(&e),
                Err(RecvError::Lagged(n)) => Bytes::from(format!(": lagged {n}\n\n")),
                Err(RecvError::Closed) => return None,
            },
            _ = tokio::time::sleep(KEEPALIVE) => Bytes::from_static(b":\n\n"),
            _ = shutdown.wait_for(|s| *s) => return None,
        };
        Some((Ok::<_, std::io::Error>(Frame::data(chunk)), (rx, shutdown)))
    });
    let body = stream::iter(first.into_iter().map(|b| Ok(Frame::data(b))));
    let body = StreamBody::new(futures_util::StreamExt::chain(body, live)).boxed();
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers::set_cache(h, CacheControl::NoStore);
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

fn json(status: StatusCode, text: String) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from(text))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(headers::JSON),
    );
    headers::set_cache(h, CacheControl::NoStore);
    r
}

/// An error as JSON, with the status `Error::status` gives it (logged like every refusal).
fn error_json(e: &Error) -> Response<Body> {
    crate::reply::log_refusal(e);
    let field = match e {
        Error::Cue(CueError::Invalid { field, .. }) => Some(*field),
        Error::Cue(CueError::TooLarge(_)) => Some("data"),
        _ => None,
    };
    let mut r = json(
        e.status(),
        serde_json::json!({"error": e.to_string(), "field": field}).to_string(),
    );
    match e.status() {
        StatusCode::UNAUTHORIZED => {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"llhls\""),
            );
        }
        StatusCode::TOO_MANY_REQUESTS => {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        _ => {}
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            decode("/api/v1/streams/live/cues"),
            Some(ApiRoute::Cues("live".into()))
        );
        assert_eq!(
            decode("/api/v1/streams/live/cues/events"),
            Some(ApiRoute::Events("live".into()))
        );
        assert_eq!(
            decode("/api/v1/streams/live/cues/poll-17"),
            Some(ApiRoute::Cue("live".into(), "poll-17".into()))
        );
        assert_eq!(decode("/api/v1/streams/live/cues/a%20b"), None);
        assert_eq!(decode("/api/v1/streams/live"), None);
        assert_eq!(decode("/api/v2/streams/live/cues"), None);
    }

    #[test]
    fn tokens() {
        let t = ApiToken::new("s3cret");
        let h = |v: &str| HeaderValue::from_str(v).unwrap();
        assert!(t.admits(Some(&h("Bearer s3cret"))));
        assert!(!t.admits(Some(&h("Bearer s3cre"))));
        assert!(!t.admits(Some(&h("Bearer s3cret2"))));
        assert!(!t.admits(Some(&h("Basic s3cret"))));
        assert!(!t.admits(Some(&h("s3cret"))));
        assert!(!t.admits(None));
        assert!(!ApiToken::new("").admits(Some(&h("Bearer "))));
        assert_eq!(format!("{t:?}"), "ApiToken(…)");
    }
}
