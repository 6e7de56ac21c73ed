//! The stream list at `/` and the player page at `/player/`: content types, cache policy,
//! the page built into the binary, the fixed file list (no other file on disk is reachable),
//! 404 when a file is not installed; and /readyz, the readiness a CDN probes.

mod common;

use common::{fill, get, start, start_with, store};
use origin::OriginOptions;

#[tokio::test]
async fn home_lists_streams_with_player_links() {
    let (store, _stream) = store(2, 1.0 / 3.0, false);
    let origin = start(store).await;
    let r = get(origin.local_addr(), "/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert!(
        r.text().contains("/player/?src=/live/master.m3u8"),
        "{}",
        r.text()
    );
}

/// The repository's player page files, as the binary must serve them.
fn page_file(name: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/player");
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[tokio::test]
async fn the_player_page_is_built_in_without_a_player_dir() {
    let (store, _stream) = store(2, 1.0 / 3.0, false);
    let origin = start(store).await;
    let a = origin.local_addr();
    for (path, ctype, file) in [
        ("/player/", "text/html; charset=utf-8", "page/index.html"),
        (
            "/player/player.js",
            "text/javascript; charset=utf-8",
            "page/player.js",
        ),
        (
            "/player/player.css",
            "text/css; charset=utf-8",
            "page/player.css",
        ),
    ] {
        let r = get(a, path).await;
        assert_eq!(
            (r.status, r.header("content-type")),
            (200, Some(ctype)),
            "{path}"
        );
        assert_eq!(r.text(), page_file(file), "{path}");
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
    }
    // hls.js is third-party: built in only when scripts/setup installed it before the build.
    let hls = get(a, "/player/hls.min.js").await;
    let installed = "node_modules/hls.js/dist/hls.min.js";
    if std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts/player")
        .join(installed)
        .is_file()
    {
        assert_eq!(hls.status, 200);
        assert_eq!(hls.text(), page_file(installed));
    } else {
        assert_eq!(hls.status, 404);
        assert!(
            hls.text()
                .contains("hls.js is not installed; run scripts/setup"),
            "{}",
            hls.text()
        );
        assert_eq!(hls.header("cache-control"), Some("public, max-age=1"));
    }
}

#[tokio::test]
async fn player_files_come_from_the_configured_directory_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("page")).unwrap();
    std::fs::create_dir_all(dir.path().join("node_modules/hls.js/dist")).unwrap();
    std::fs::write(dir.path().join("page/index.html"), "<html>player</html>").unwrap();
    std::fs::write(dir.path().join("page/player.js"), "console.log(1)").unwrap();
    std::fs::write(
        dir.path().join("node_modules/hls.js/dist/hls.min.js"),
        "var Hls",
    )
    .unwrap();
    std::fs::write(dir.path().join("page/secret.txt"), "no").unwrap();
    let (store, _stream) = store(2, 1.0 / 3.0, false);
    let opts = OriginOptions {
        player_dir: Some(dir.path().to_owned()),
        ..OriginOptions::default()
    };
    let origin = start_with(store, opts).await;
    let a = origin.local_addr();
    for (path, ctype, body) in [
        (
            "/player/",
            "text/html; charset=utf-8",
            "<html>player</html>",
        ),
        (
            "/player/index.html",
            "text/html; charset=utf-8",
            "<html>player</html>",
        ),
        (
            "/player/player.js",
            "text/javascript; charset=utf-8",
            "console.log(1)",
        ),
        (
            "/player/hls.min.js",
            "text/javascript; charset=utf-8",
            "var Hls",
        ),
    ] {
        let r = get(a, path).await;
        assert_eq!(
            (r.status, r.header("content-type")),
            (200, Some(ctype)),
            "{path}"
        );
        assert_eq!(r.text(), body, "{path}");
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
    }
    // Not installed (player.css is missing) → 404; names outside the fixed list → 404; traversal → 400.
    assert_eq!(get(a, "/player/player.css").await.status, 404);
    assert_eq!(get(a, "/player/secret.txt").await.status, 404);
    assert_eq!(get(a, "/player/..%2fpage%2fsecret.txt").await.status, 400);
}

/// `/readyz`, the probe a redundant CDN edge uses (scripts/cdn/varnish-redundant.vcl): 503 until
/// every rendition has a complete segment, then 200; `/healthz` is 200 all along.
#[tokio::test]
async fn ready_once_every_rendition_has_a_segment() {
    let (store, stream) = store(2, 0.5, false);
    let o = start(store).await;
    let a = o.local_addr();
    assert_eq!(get(a, "/healthz").await.status, 200);
    let before = get(a, "/readyz").await;
    assert_eq!(before.status, 503, "{}", before.text());
    assert_eq!(before.header("cache-control"), Some("public, max-age=1"));
    fill(&stream, 1, 2, 0.5);
    assert_eq!(get(a, "/readyz").await.status, 200);
    o.shutdown().await;
}
