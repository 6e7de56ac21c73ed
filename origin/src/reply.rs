//! The reply model and how it becomes a response: [`Reply`] (what a route answers: status,
//! cache policy, validators, body), conditional GET (ETag / If-Modified-Since → 304), gzip
//! negotiation, HEAD, and the response for an [`Error`] ([`error_response`], whose status
//! comes from the one mapping, `Error::status`).

use std::io;
use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use futures_util::stream;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full, StreamBody};
use hyper::body::Frame;

use crate::error::Error;
use crate::headers::{self, CacheControl};
use crate::metrics::Metrics;
use crate::modified::Modified;

/// Response body: whole bytes or a stream of parts.
pub type Body = BoxBody<Bytes, io::Error>;

/// What a route answers, before conditional-GET, HEAD and byte counting.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub cache: CacheControl,
    pub content_type: &'static str,
    pub body: ReplyBody,
    pub etag: Option<HeaderValue>,
    /// When it last changed, and that as a `Last-Modified` header.
    pub modified: Option<(Modified, HeaderValue)>,
    pub gzip: bool,
    pub vary_encoding: bool,
    pub content_range: Option<String>,
    pub accept_ranges: bool,
}

pub(crate) enum ReplyBody {
    /// Known bytes, as slices of parts (never copied).
    Parts(Vec<Bytes>),
    /// Bytes that arrive part by part.
    Stream(Body),
}

impl Reply {
    /// A 200 of `body` with no validator.
    pub fn new(cache: CacheControl, content_type: &'static str, body: Vec<Bytes>) -> Reply {
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

/// The response for `reply` to `req`: headers from the reply, a 304 when the request's
/// validators match, no body for HEAD. Counts the bytes of a known body in `bytes_out` (a
/// streamed body counts its own).
pub(crate) fn finish(
    metrics: &Metrics,
    mut reply: Reply,
    req: &Request<impl Sized>,
) -> Response<Body> {
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
                metrics.bytes_out.fetch_add(len, Relaxed);
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
pub(crate) fn accepts_gzip(h: &HeaderMap) -> bool {
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

/// An empty body.
pub(crate) fn empty() -> Body {
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

/// A response of `status` and `body` with no header yet.
pub(crate) fn plain_response(status: StatusCode, body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r
}

/// Logs why a request was refused, once per request: our own failures (500) as errors, other
/// server-side refusals (503) as info, client mistakes at debug. Every error answer (text or the
/// API's JSON) goes through here.
pub(crate) fn log_refusal(e: &Error) {
    let status = e.status();
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %e, "request failed: a bug of ours");
    } else if status.is_server_error() {
        tracing::info!(error = %e, "request failed");
    } else {
        tracing::debug!(error = %e, "request refused");
    }
}

/// The response for `e`: its status (`Error::status`), its message as text, a short-lived
/// cache policy, and the headers its status calls for. Logs why, once: our own failures (500)
/// as errors, other server-side refusals (503) as info, client mistakes at debug.
pub(crate) fn error_response(e: &Error) -> Response<Body> {
    let status = e.status();
    log_refusal(e);
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

#[cfg(test)]
mod tests {
    use super::*;

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
