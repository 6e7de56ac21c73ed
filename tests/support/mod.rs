//! What the binary's integration tests share: one stream running live as `llhls serve` wires it
//! (the real pipeline, chunker and store) behind a real origin on 127.0.0.1, and an HTTP client
//! (`origin::client`) to read it the way a player or a CDN does.
#![allow(dead_code)] // each test binary uses its own subset

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use packager::config::Config;
use packager::live::{self, Options};
use packager::store::Store;

/// Stream `t`: the test pattern at 320x180, 30 fps, through two small rungs (180p, 90p) and AAC,
/// 1 s segments of 0.5 s parts.
pub const SMALL_LADDER: &str = r#"
[[stream]]
name = "t"
part_target = 0.5
segment_target = 1.0
input = { url = "testpattern", testpattern = { width = 320, height = 180, frame_rate = 30 } }

[[stream.rung]]
name = "180p"
width = 320
height = 180
bitrate = "300k"
preset = "ultrafast"

[[stream.rung]]
name = "90p"
width = 160
height = 90
bitrate = "100k"
preset = "ultrafast"
"#;

/// The first stream of a config, live, behind an origin on 127.0.0.1.
pub struct Served {
    pub running: live::LiveStream,
    pub rt: tokio::runtime::Runtime,
    pub server: origin::Origin,
    /// `http://127.0.0.1:PORT`
    pub root: String,
    /// `http://127.0.0.1:PORT/{stream}`
    pub base: String,
}

impl Served {
    /// Starts the first stream of `toml` and an origin with `opts` serving it.
    pub fn start(toml: &str, opts: origin::OriginOptions) -> Served {
        let config = Config::from_toml_str(toml, "test").unwrap();
        let running = live::start(&config.streams[0], &Options::default()).unwrap();
        let store = Store::new();
        store.insert(running.stream.clone());
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt
            .block_on(origin::Origin::bind(
                "127.0.0.1:0".parse().unwrap(),
                store,
                opts,
            ))
            .unwrap();
        let root = format!("http://{}", server.local_addr());
        let base = format!("{root}/{}", config.streams[0].name);
        Served {
            running,
            rt,
            server,
            root,
            base,
        }
    }

    /// `method` on `path` (from the root) with `headers` and `body`, on a fresh connection.
    pub fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> origin::client::Response {
        self.rt
            .block_on(origin::client::fetch(
                method,
                &format!("{}{path}", self.root),
                headers,
                Bytes::copy_from_slice(body),
                Duration::from_secs(15),
            ))
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// GET `path` below the stream (`{rendition}/index.m3u8`), which must answer 200.
    pub fn get_ok(&self, path: &str) -> Vec<u8> {
        let r = self.call(
            Method::GET,
            &format!("{}/{path}", self.base_path()),
            &[],
            b"",
        );
        assert_eq!(r.status.as_u16(), 200, "{path}");
        r.body.to_vec()
    }

    fn base_path(&self) -> &str {
        &self.base[self.root.len()..]
    }

    /// Stops the origin, then the stream.
    pub fn stop(self) {
        self.rt.block_on(self.server.shutdown());
        self.running.stop().unwrap();
    }
}

/// GET `url` on a fresh connection: (status, body, the response itself).
pub fn get(url: &str) -> (u16, Vec<u8>, origin::client::Response) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = rt
        .block_on(origin::client::get(url, &[], Duration::from_secs(10)))
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    (r.status.as_u16(), r.body.to_vec(), r)
}
