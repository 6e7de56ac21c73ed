//! URL shapes the origin serves, decoded into `Route` (one comment per shape), with the
//! `.txt` debug twins of binary resources. Path tricks in any encoding are refused here.

use crate::error::Error;

/// Where a request goes. Names are percent-decoded; numbers are decimal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/`: the list of streams, each linking to its player page.
    Home,
    /// `/player/` and `/player/{file}`: the hls.js player page and its assets.
    Player {
        /// One of [`PLAYER_FILES`].
        file: &'static str,
    },
    /// `/healthz`
    Health,
    /// `/readyz`: 200 once every stream has published a complete segment in every rendition
    /// (a CDN's health probe: a restarted origin takes no viewer before it has media), else 503.
    Ready,
    /// `/metrics` (Prometheus text)
    Metrics,
    /// `/{stream}/master.m3u8`
    Multivariant {
        /// Stream name.
        stream: String,
    },
    /// `/{stream}/{rendition}/index.m3u8`
    Media {
        /// Stream name.
        stream: String,
        /// Rendition name.
        rendition: String,
    },
    /// `/{stream}/{rendition}/{epoch}/init-{id}.mp4[.txt]`
    Init {
        /// Stream name.
        stream: String,
        /// Rendition name.
        rendition: String,
        /// Stream epoch.
        epoch: u64,
        /// Init id (the discontinuity sequence it starts).
        id: u64,
        /// `.txt` debug twin (box dump).
        dump: bool,
    },
    /// `/{stream}/{rendition}/{epoch}/{msn}.m4s[.txt]`
    Segment {
        /// Stream name.
        stream: String,
        /// Rendition name.
        rendition: String,
        /// Stream epoch.
        epoch: u64,
        /// Media sequence number.
        msn: u64,
        /// `.txt` debug twin (box dump).
        dump: bool,
    },
    /// `/{stream}/{rendition}/{epoch}/{msn}.{part}.m4s[.txt]`
    Part {
        /// Stream name.
        stream: String,
        /// Rendition name.
        rendition: String,
        /// Stream epoch.
        epoch: u64,
        /// Media sequence number of the parent segment.
        msn: u64,
        /// Part index within the segment.
        part: u32,
        /// `.txt` debug twin (box dump).
        dump: bool,
    },
}

/// The files of the player page: a fixed list, so no request names a file on disk.
pub const PLAYER_FILES: [&str; 4] = ["index.html", "player.js", "player.css", "hls.min.js"];

impl Route {
    /// Short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Route::Home => "home",
            Route::Player { .. } => "player",
            Route::Health => "healthz",
            Route::Ready => "readyz",
            Route::Metrics => "metrics",
            Route::Multivariant { .. } => "multivariant",
            Route::Media { .. } => "media",
            Route::Init { dump: false, .. } => "init",
            Route::Segment { dump: false, .. } => "segment",
            Route::Part { dump: false, .. } => "part",
            Route::Init { .. } | Route::Segment { .. } | Route::Part { .. } => "dump",
        }
    }

    /// Decodes the path part of a request target (no query).
    pub fn decode(path: &str) -> Result<Route, Error> {
        let rest = path
            .strip_prefix('/')
            .ok_or_else(|| Error::BadPath("path must start with /".into()))?;
        match rest {
            "" => return Ok(Route::Home),
            "player" | "player/" => {
                return Ok(Route::Player {
                    file: PLAYER_FILES[0],
                })
            }
            _ => {}
        }
        // Decode each segment on its own, so an encoded `/` cannot change the shape.
        let owned: Vec<String> = rest
            .split('/')
            .map(percent_decode)
            .collect::<Result<_, _>>()?;
        let segs: Vec<&str> = owned.iter().map(String::as_str).collect();
        for s in &segs {
            // Traversal in any encoding: the check runs on the decoded text, so `%2e%2e` and
            // `..` are the same; a decoded `/`, `\` or NUL is never part of a name.
            if *s == "." || *s == ".." || s.contains(['/', '\\', '\0']) {
                return Err(Error::BadPath(format!("illegal path segment {s:?}")));
            }
        }
        if segs.iter().any(|s| s.is_empty()) {
            return Err(Error::NotFound(format!("no route for {path}")));
        }
        let nf = || Error::NotFound(format!("no route for {path}"));
        match segs.as_slice() {
            ["healthz"] => Ok(Route::Health),
            ["readyz"] => Ok(Route::Ready),
            ["player", file] => PLAYER_FILES
                .iter()
                .find(|f| *f == file)
                .map(|file| Route::Player { file })
                .ok_or_else(nf),
            ["metrics"] => Ok(Route::Metrics),
            [stream, "master.m3u8"] => Ok(Route::Multivariant {
                stream: stream.to_string(),
            }),
            [stream, rendition, "index.m3u8"] => Ok(Route::Media {
                stream: stream.to_string(),
                rendition: rendition.to_string(),
            }),
            [stream, rendition, epoch, file] => {
                let epoch = number(epoch).ok_or_else(nf)??;
                let (file, dump) = match file.strip_suffix(".txt") {
                    Some(f) => (f, true),
                    None => (*file, false),
                };
                let (stream, rendition) = (stream.to_string(), rendition.to_string());
                if let Some(id) = file
                    .strip_prefix("init-")
                    .and_then(|f| f.strip_suffix(".mp4"))
                {
                    let id = number(id).ok_or_else(nf)??;
                    return Ok(Route::Init {
                        stream,
                        rendition,
                        epoch,
                        id,
                        dump,
                    });
                }
                let stem = file.strip_suffix(".m4s").ok_or_else(nf)?;
                match stem.split_once('.') {
                    None => Ok(Route::Segment {
                        stream,
                        rendition,
                        epoch,
                        msn: number(stem).ok_or_else(nf)??,
                        dump,
                    }),
                    Some((msn, part)) => {
                        let msn = number(msn).ok_or_else(nf)??;
                        let part = number(part).ok_or_else(nf)??;
                        let part = u32::try_from(part)
                            .map_err(|_| Error::BadPath(format!("part {part} out of range")))?;
                        Ok(Route::Part {
                            stream,
                            rendition,
                            epoch,
                            msn,
                            part,
                            dump,
                        })
                    }
                }
            }
            _ => Err(nf()),
        }
    }
}

/// `None` when `s` is not all decimal digits (not this shape); `Some(Err)` when it is but
/// does not fit a u64 (a malformed request).
fn number(s: &str) -> Option<Result<u64, Error>> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        s.parse()
            .map_err(|_| Error::BadPath(format!("number {s} out of range"))),
    )
}

/// RFC 3986 §2.1 percent-decoding; the result must be UTF-8.
fn percent_decode(s: &str) -> Result<String, Error> {
    if !s.contains('%') {
        return Ok(s.to_owned());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            match (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) {
                (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                _ => return Err(Error::BadPath("bad percent-encoding".into())),
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::BadPath("path is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        x.to_owned()
    }

    #[test]
    fn decode_table() {
        let cases: Vec<(&str, Route)> = vec![
            ("/healthz", Route::Health),
            ("/readyz", Route::Ready),
            ("/metrics", Route::Metrics),
            (
                "/live/master.m3u8",
                Route::Multivariant { stream: s("live") },
            ),
            (
                "/live/v720/index.m3u8",
                Route::Media {
                    stream: s("live"),
                    rendition: s("v720"),
                },
            ),
            (
                "/l%69ve/v720/index.m3u8",
                Route::Media {
                    stream: s("live"),
                    rendition: s("v720"),
                },
            ),
            (
                "/live/v720/1700000000/init-3.mp4",
                Route::Init {
                    stream: s("live"),
                    rendition: s("v720"),
                    epoch: 1_700_000_000,
                    id: 3,
                    dump: false,
                },
            ),
            (
                "/live/v720/1700000000/init-3.mp4.txt",
                Route::Init {
                    stream: s("live"),
                    rendition: s("v720"),
                    epoch: 1_700_000_000,
                    id: 3,
                    dump: true,
                },
            ),
            (
                "/live/a/7/12.m4s",
                Route::Segment {
                    stream: s("live"),
                    rendition: s("a"),
                    epoch: 7,
                    msn: 12,
                    dump: false,
                },
            ),
            (
                "/live/a/7/12.m4s.txt",
                Route::Segment {
                    stream: s("live"),
                    rendition: s("a"),
                    epoch: 7,
                    msn: 12,
                    dump: true,
                },
            ),
            (
                "/live/a/7/12.3.m4s",
                Route::Part {
                    stream: s("live"),
                    rendition: s("a"),
                    epoch: 7,
                    msn: 12,
                    part: 3,
                    dump: false,
                },
            ),
            (
                "/live/a/7/12.3.m4s.txt",
                Route::Part {
                    stream: s("live"),
                    rendition: s("a"),
                    epoch: 7,
                    msn: 12,
                    part: 3,
                    dump: true,
                },
            ),
        ];
        let pages = [
            ("/", Route::Home),
            ("/player", Route::Player { file: "index.html" }),
            ("/player/", Route::Player { file: "index.html" }),
            ("/player/index.html", Route::Player { file: "index.html" }),
            ("/player/hls.min.js", Route::Player { file: "hls.min.js" }),
            ("/player/player.js", Route::Player { file: "player.js" }),
            ("/player/player.css", Route::Player { file: "player.css" }),
        ];
        for (path, want) in cases.into_iter().chain(pages) {
            assert_eq!(Route::decode(path).unwrap(), want, "{path}");
        }
    }

    #[test]
    fn decode_refusals() {
        let not_found = [
            "/player/secret.txt",
            "/player/index.html.bak",
            "/live",
            "/live/",
            "/live/v/index.m3u",
            "/live/v/7/x.m4s",
            "/live/v/7/-1.m4s",
            "/live/v/7/1.-2.m4s",
            "/live/v/7/1.2.3.m4s",
            "/live/v/x/1.m4s",
            "/live/v/7/init-.mp4",
            "/live/v/7/1.m4s.txt.txt",
            "/a/b/c/d/e",
            "//etc/passwd",
        ];
        for p in not_found {
            assert!(
                matches!(Route::decode(p), Err(Error::NotFound(_))),
                "{p}: {:?}",
                Route::decode(p)
            );
        }
        let bad = [
            "/../etc/passwd",
            "/live/../master.m3u8",
            "/live/%2e%2e/master.m3u8",
            "/live/%2E%2E%2fmaster.m3u8",
            "/live/v%2f7/1.m4s",
            "/live/%2e%2e%2f%2e%2e%2fetc/passwd",
            "/live/./master.m3u8",
            "/live/v/7/99999999999999999999999.m4s",
            "/live/v/7/1.4294967296.m4s",
            "/live/a%5cb/index.m3u8",
            "/live/%zz/index.m3u8",
            "/live/%ff/index.m3u8",
            "/live/%00/index.m3u8",
            "live/master.m3u8",
        ];
        for p in bad {
            assert!(
                matches!(Route::decode(p), Err(Error::BadPath(_))),
                "{p}: {:?}",
                Route::decode(p)
            );
        }
    }
}
