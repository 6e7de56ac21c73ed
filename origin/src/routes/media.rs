//! The media routes: init segments, parts and segments (and their `.txt` box dumps), with
//! byte ranges, strong ETags and the media clock as Last-Modified. A part a preload hint names
//! is held until it is complete (rfc8216bis-22 §6.2.6); a segment still being written is
//! streamed part by part ([`crate::open_segment`]).

use bytes::Bytes;
use http::header;
use http::{Request, StatusCode};
use hyper::body::Incoming;
use packager::playlist::{decide, Decision, Directive};

use super::{find, Shared, Track};
use crate::blocking::{self, PublishClock, Waiter};
use crate::error::Error;
use crate::headers::{self, CacheControl};
use crate::modified::Modified;
use crate::open_segment::Feed;
use crate::range::{self, ByteRange};
use crate::reply::{Reply, ReplyBody};

/// `/{stream}/{rendition}/{epoch}/init-{id}.mp4[.txt]`.
pub(crate) fn init(
    sh: &Shared,
    req: &Request<Incoming>,
    t: Track<'_>,
    id: u64,
    dump: bool,
) -> Result<Reply, Error> {
    let Track {
        stream,
        rendition,
        epoch,
    } = t;
    let (_, r) = find(sh, t)?;
    let b = r
        .init(id)
        .ok_or_else(|| Error::NotFound(format!("{stream}/{rendition}: no init {id}")))?;
    media_reply(req, vec![b], format!("\"{epoch}-i{id}"), None, dump)
}

/// `/{stream}/{rendition}/{epoch}/{msn}.{part}.m4s[.txt]`: a part, held when it is the one a
/// preload hint names (or a little further ahead) and not complete yet.
pub(crate) async fn part(
    sh: &Shared,
    req: &Request<Incoming>,
    t: Track<'_>,
    msn: u64,
    part: u32,
    dump: bool,
) -> Result<Reply, Error> {
    let Track {
        stream,
        rendition,
        epoch,
    } = t;
    let (s, r) = find(sh, t)?;
    let stem = format!("\"{epoch}-{msn}.{part}");
    if let Some(p) = r.part(msn, part) {
        return media_reply(req, vec![p.bytes], stem, p.end_ms, dump);
    }
    let not_found = || Error::NotFound(format!("{stream}/{rendition}: no part {msn}.{part}"));
    let pos = r.position();
    // rfc8216bis-22 §6.2.6: a request for the hinted part is held until the part is complete,
    // and then answered whole ("MUST NOT ... transmit the first byte ... until all of the bytes
    // of the Partial Segment can be transmitted"). Policy: a part a little further ahead —
    // inside the window a blocking playlist reload may ask for (§6.2.5.2: last MSN + 2 and the
    // Advance Part Limit) — is held the same way rather than answered 404, so that a CDN never
    // caches a miss for a part that appears a few hundred milliseconds later. Beyond that
    // window, or a part past the end of a complete segment, is a short-lived 404.
    let want = Directive {
        msn: Some(msn),
        part: Some(part),
        ..Directive::default()
    };
    let hold = pos.may_hint(msn, part) || decide(pos, want) == Decision::Wait;
    if dump || !hold {
        return Err(not_found());
    }
    let cell = sh.clock.cell(&r);
    let mut rx = r.subscribe();
    let who = Waiter { stream, rendition };
    let limit = blocking::deadline(s.settings().target_duration);
    let p = blocking::hold(&sh.metrics, &sh.shutdown, &mut rx, limit, who, |p| {
        p.closed || p.reached(msn, part)
    })
    .await?;
    let b = r.part(msn, part).ok_or_else(not_found)?;
    sh.metrics.wake(PublishClock::observe(&cell, &p));
    media_reply(req, vec![b.bytes], stem, b.end_ms, false)
}

/// `/{stream}/{rendition}/{epoch}/{msn}.m4s[.txt]`: a complete segment at once, or the open
/// one (or the one a byte-range preload hint names next) streamed as its parts complete.
pub(crate) async fn segment(
    sh: &Shared,
    req: &Request<Incoming>,
    t: Track<'_>,
    msn: u64,
    dump: bool,
) -> Result<Reply, Error> {
    let Track {
        stream,
        rendition,
        epoch,
    } = t;
    let (s, r) = find(sh, t)?;
    let not_found = || Error::NotFound(format!("{stream}/{rendition}: no segment {msn}"));
    let seg = r.segment(msn);
    if let Some(seg) = &seg {
        if seg.complete || dump {
            // A complete segment is one buffer (the store joined its parts): one write.
            let (chunks, end) = (seg.chunks.clone(), seg.end_ms);
            return media_reply(req, chunks, format!("\"{epoch}-{msn}"), end, dump);
        }
    }
    // An open segment, or the one a byte-range preload hint names next (rfc8216bis-22 §6.2.6:
    // "...respond to a request for an open-ended byte range ... by streaming each Partial
    // Segment as it becomes available"). Each part goes out whole once it is complete.
    let pos = r.position();
    let (have, hinted_next) = match &seg {
        Some(seg) => (seg.len(), true),
        None => (0, !dump && pos.may_hint(msn, 0)),
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
    let feed = Feed::new(
        stream,
        &r,
        msn,
        first,
        remaining,
        sh.shutdown.clone(),
        blocking::deadline(s.settings().target_duration),
        std::sync::Arc::clone(&sh.metrics),
    );
    // rfc8216bis-22 §6.2.6: no byte of a part before all of it can go, so not even the head
    // goes out before the range's first part is whole: the feed is asked for it first. A hint
    // at a segment's end (its close not yet known) names a range the close then leaves empty:
    // that is a 416 naming the final length (kept a second by a CDN), not a 206 of no bytes.
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
    reply.body = ReplyBody::Stream(feed.into_body(head));
    Ok(reply)
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
