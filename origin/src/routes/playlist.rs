//! The playlist routes: the multivariant playlist and media playlists, with delivery
//! directives and blocking playlist reload (rfc8216bis-22 §6.2.5), both rendered once per
//! position through the playlist cache and sent gzip-compressed when the client accepts it.

use std::sync::Arc;

use http::Request;
use hyper::body::Incoming;
use packager::playlist::{decide, Decision, Directive, Position};
use packager::store::Stream;

use super::{find_rendition, find_stream, Shared};
use crate::blocking::{self, PublishClock, Waiter};
use crate::cache::{self, Key, Rendered};
use crate::error::Error;
use crate::headers::{self, CacheControl};
use crate::reply::{accepts_gzip, Reply};

/// `/{stream}/master.m3u8`. A model that breaks a rule of §4.4.6 is a bug of ours: it is not
/// sent (a player would act on a wrong ladder) but answered 500, logged with the stream name.
pub(crate) async fn multivariant(
    sh: &Shared,
    stream: &str,
    req: &Request<Incoming>,
) -> Result<Reply, Error> {
    let s = find_stream(sh, stream)?;
    let gzip = accepts_gzip(req.headers());
    let key = Key {
        stream: Arc::from(stream),
        rendition: Arc::from(""),
        position: cache::pos_key(multivariant_position(&s)),
        skip: Default::default(),
        gzip,
    };
    let r = sh
        .cache
        .get(key, || s.multivariant().render())
        .await
        .map_err(|e| Error::Multivariant {
            stream: stream.to_owned(),
            source: (*e).clone(),
        })?;
    let cache = CacheControl::LivePlaylist {
        target_duration: s.settings().target_duration,
    };
    Ok(playlist_reply(&r, cache, gzip))
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

/// `/{stream}/{rendition}.m3u8[?_HLS_msn=..&_HLS_part=..&_HLS_skip=..]`.
pub(crate) async fn media(
    sh: &Shared,
    stream: &str,
    rendition: &str,
    req: &Request<Incoming>,
) -> Result<Reply, Error> {
    let (s, r) = find_rendition(sh, stream, rendition)?;
    let want = Directive::parse(req.uri().query().unwrap_or(""))
        .map_err(|e| Error::BadDirective(e.to_string()))?;
    let td = s.settings().target_duration;
    let mut pos = r.position();
    let mut woke = None;
    match decide(pos, want) {
        // rfc8216bis-22 §6.2.5.2: "If the _HLS_msn is greater than the Media Sequence Number of
        // the last Media Segment in the current Playlist plus two ... the server SHOULD
        // immediately return Bad Request."
        Decision::TooFar => {
            return Err(Error::TooFar {
                rendition: rendition.to_owned(),
                msn: want.msn.unwrap_or(0),
                last: pos.msn,
            })
        }
        Decision::Ready => {}
        // rfc8216bis-22 §6.2.5.2: "the server MUST defer responding to the request until the
        // Playlist contains" the requested segment/part; after three target durations it
        // "SHOULD return 503". A closed rendition is answered with its final playlist.
        Decision::Wait => {
            let cell = sh.clock.cell(&r);
            let mut rx = r.subscribe();
            let who = Waiter { stream, rendition };
            let limit = blocking::deadline(td);
            let p = blocking::hold(&sh.metrics, &sh.shutdown, &mut rx, limit, who, |p| {
                p.closed || decide(*p, want) != Decision::Wait
            })
            .await?;
            pos = p;
            woke = Some((cell, p));
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
        .get(key, || {
            Ok::<_, std::convert::Infallible>(s.media_playlist(&r).render(want.skip))
        })
        .await
        .unwrap_or_else(|never| match *never {});
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

fn playlist_reply(r: &Rendered, cache: CacheControl, gzip: bool) -> Reply {
    let mut reply = Reply::new(cache, headers::PLAYLIST, vec![r.body.clone()]);
    reply.etag = r.etag.clone();
    reply.modified = r.modified.clone();
    reply.gzip = gzip;
    // rfc8216bis-22 Appendix B.1: playlists go gzip-compressed when the client accepts it, so
    // caches must key on Accept-Encoding.
    reply.vary_encoding = true;
    reply
}
