//! The pages for people: `/`, the list of streams, and `/player/`, the hls.js player page.
//!
//! The page's own files (`scripts/player/page/`) are compiled into the binary. hls.js is
//! third-party: it is embedded when `scripts/setup` installed it before the build (see
//! `build.rs`), and otherwise answered 404 with how to install it. `OriginOptions::player_dir`
//! overrides all of it: every file is then read from that directory at request time (`page/`
//! and `node_modules/hls.js/dist/`), which is how the page is worked on without rebuilding.

use std::path::PathBuf;

use bytes::Bytes;
use packager::store::Store;

use crate::error::Error;
use crate::headers::{self, CacheControl};
use crate::reply::Reply;

/// `/`: every stream with links to its player page and its multivariant playlist.
pub(crate) fn home(store: &Store) -> Reply {
    let mut items = String::new();
    for s in store.streams() {
        // Stream names are letters, digits, `-` and `_` (config validation), so they need no
        // escaping in HTML or URLs.
        let n = s.name();
        items.push_str(&format!(
            "<li><a href=\"/player/?src=/{n}/master.m3u8\">{n}</a> — <a href=\"/{n}/master.m3u8\">/{n}/master.m3u8</a></li>\n"
        ));
    }
    let page = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>llhls</title></head><body>\n\
         <h1>llhls streams</h1>\n<ul>\n{items}</ul>\n</body></html>\n"
    );
    Reply::new(CacheControl::Page, headers::HTML, vec![Bytes::from(page)])
}

const INDEX_HTML: &str = include_str!("../../scripts/player/page/index.html");
const PLAYER_JS: &str = include_str!("../../scripts/player/page/player.js");
const PLAYER_CSS: &str = include_str!("../../scripts/player/page/player.css");
#[cfg(hls_js)]
const HLS_JS: Option<&str> = Some(include_str!(env!("LLHLS_HLS_JS")));
#[cfg(not(hls_js))]
const HLS_JS: Option<&str> = None;

/// Where the player page's files come from.
#[derive(Debug, Clone)]
pub(crate) struct PlayerFiles {
    /// `OriginOptions::player_dir`: read every file from here instead.
    dir: Option<PathBuf>,
}

impl PlayerFiles {
    /// Built-in files, or those of `dir` when given.
    pub fn new(dir: Option<PathBuf>) -> Self {
        PlayerFiles { dir }
    }

    /// `/player/{file}` for a name of `path::PLAYER_FILES` (`index.html` for `/player/`).
    pub async fn file(&self, file: &'static str) -> Result<Reply, Error> {
        let (dir_path, built_in, ctype) = match file {
            "hls.min.js" => (
                "node_modules/hls.js/dist/hls.min.js",
                HLS_JS,
                headers::JAVASCRIPT,
            ),
            "player.js" => ("page/player.js", Some(PLAYER_JS), headers::JAVASCRIPT),
            "player.css" => ("page/player.css", Some(PLAYER_CSS), headers::CSS),
            _ => ("page/index.html", Some(INDEX_HTML), headers::HTML),
        };
        let bytes = match &self.dir {
            Some(dir) => Bytes::from(
                tokio::fs::read(dir.join(dir_path))
                    .await
                    .map_err(|_| Error::NotFound(format!("player file {file} is not installed")))?,
            ),
            None => Bytes::from_static(
                built_in
                    .ok_or_else(|| {
                        Error::NotFound("hls.js is not installed; run scripts/setup".into())
                    })?
                    .as_bytes(),
            ),
        };
        Ok(Reply::new(CacheControl::Page, ctype, vec![bytes]))
    }
}
