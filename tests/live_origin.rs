//! The whole live path in one process, as `llhls serve` wires it: the built-in test pattern
//! through a small ladder (real libx264/AAC), the chunker, the store, and the origin on
//! 127.0.0.1 — then an HTTP client reads it back the way a player does, and ffprobe decodes
//! what it fetched.

use std::process::Command;
use std::time::Duration;

mod support;

use support::{get, Served, SMALL_LADDER as CONFIG};

/// The playlist's EXT-X-PRELOAD-HINT: its URI and BYTERANGE-START (0 when absent), if any.
fn hint(playlist: &str) -> Option<(String, u64)> {
    let line = playlist
        .lines()
        .find(|l| l.starts_with("#EXT-X-PRELOAD-HINT"))?;
    let uri = line.split("URI=\"").nth(1)?.split('"').next()?.to_owned();
    let start = line
        .split("BYTERANGE-START=")
        .nth(1)
        .and_then(|v| v.split(',').next())
        .map_or(0, |v| v.parse().expect("BYTERANGE-START is a number"));
    Some((uri, start))
}

/// `(msn, part)` of a part URI `{epoch}/{msn}.{part}.m4s`.
fn part_of(uri: &str) -> (String, String) {
    let stem = uri.rsplit('/').next().unwrap().trim_end_matches(".m4s");
    let (msn, part) = stem.split_once('.').unwrap();
    (msn.to_owned(), part.to_owned())
}

/// The media playlist of `rendition` once it has a preload hint (bounded wait).
fn hinted_playlist(served: &Served, rendition: &str) -> String {
    let url = format!("{}/{rendition}/index.m3u8", served.base);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body, _) = get(&url);
        let text = String::from_utf8_lossy(&body).to_string();
        if status == 200 && hint(&text).is_some() {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{rendition}: no playlist: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn test_pattern_ladder_is_served_blocking_and_decodable() {
    let served = Served::start(CONFIG, origin::OriginOptions::default());
    let (running, base) = (&served.running, &served.base);

    // Wait (bounded) for the first complete segment.
    let r = running.stream.rendition("180p").unwrap().clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !(r.position().complete && r.position().msn >= 1) {
        assert!(
            std::time::Instant::now() < deadline,
            "no segment within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let (status, body, _) = get(&format!("{base}/master.m3u8"));
    let master = String::from_utf8_lossy(&body).to_string();
    assert_eq!(status, 200, "{master}");
    assert!(
        master.contains("RESOLUTION=320x180") && master.contains("RESOLUTION=160x90"),
        "{master}"
    );
    assert!(
        master.contains("mp4a.40.2") && master.contains("avc1."),
        "{master}"
    );

    // A blocking reload for the next part is answered once that part exists (§6.2.5.2).
    let (_, body, _) = get(&format!("{base}/180p/index.m3u8"));
    let text = String::from_utf8_lossy(&body).to_string();
    let (uri, _) = hint(&text).expect("hint");
    let (msn, part) = part_of(&uri);
    let started = std::time::Instant::now();
    let (status, body, head) = get(&format!(
        "{base}/180p/index.m3u8?_HLS_msn={msn}&_HLS_part={part}"
    ));
    let blocked = String::from_utf8_lossy(&body).to_string();
    assert_eq!(status, 200, "{blocked}");
    assert!(
        blocked.contains(&format!("URI=\"{uri}\"")) && blocked.contains("#EXT-X-PART:"),
        "{blocked}"
    );
    assert!(
        head.header("cache-control")
            .is_some_and(|v| v.starts_with("public, max-age=6")),
        "{:?}",
        head.headers
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "held {:?}",
        started.elapsed()
    );
    assert!(
        blocked.contains("#EXT-X-PROGRAM-DATE-TIME:")
            && blocked.contains("#EXT-X-RENDITION-REPORT:URI=\"../90p/index.m3u8\"")
    );

    // Fetch the init and every listed part of the first segment; ffprobe decodes them.
    let map = blocked
        .lines()
        .find(|l| l.starts_with("#EXT-X-MAP"))
        .unwrap();
    let init_uri = map
        .split("URI=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let mut file = get(&format!("{base}/180p/{init_uri}")).1;
    let first_seg = blocked
        .lines()
        .find(|l| l.ends_with(".m4s") && !l.starts_with('#'))
        .unwrap();
    let (status, seg, _) = get(&format!("{base}/180p/{first_seg}"));
    assert_eq!(status, 200);
    file.extend_from_slice(&seg);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seg.mp4");
    std::fs::write(&path, &file).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-i"])
        .arg(&path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The transcoder's counters are on /metrics.
    let metrics =
        String::from_utf8_lossy(&get(&format!("http://{}/metrics", served.server.local_addr())).1)
            .to_string();
    for name in [
        "llhls_encoder_lag_seconds{stream=\"t\",rendition=\"180p\"}",
        "llhls_ingest_to_publish_seconds{",
        "llhls_encoder_queue_full_total{",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }

    let stream = running.stream.clone();
    served.stop();
    // Stopping ends the playlist (ENDLIST, no preload hint).
    let m = stream.media_playlist(stream.rendition("180p").unwrap());
    assert!(m.ended && m.preload_hint.is_none());
}

/// rfc8216bis-22 §4.4.5.3: the URI of a preload hint MUST be the one of the part or segment
/// subsequently added. A player that follows the hints the way LL-HLS clients do (request the
/// hinted part, held until it is complete; then reload for it) over several segment boundaries
/// of the real live pipeline: every hinted part it asks for is delivered, video and audio alike.
/// A video segment that closed only when the next key frame arrived showed, for a frame, a
/// hint for a part after its last that never came (a 404).
#[test]
fn every_preload_hint_names_a_part_that_comes() {
    let served = Served::start(CONFIG, origin::OriginOptions::default());
    let base = &served.base;
    let follow = |rendition: &str| {
        let url = format!("{base}/{rendition}/index.m3u8");
        let mut playlist = hinted_playlist(&served, rendition);
        let mut hinted = Vec::new();
        // Half-second parts of one-second segments: 14 parts cross about 7 segment boundaries.
        for _ in 0..14 {
            let uri = hint(&playlist)
                .unwrap_or_else(|| panic!("{rendition}: no hint: {playlist}"))
                .0;
            let (status, body, _) = get(&format!("{base}/{rendition}/{uri}"));
            assert_eq!(
                status,
                200,
                "{rendition}: hinted {uri} after {hinted:?}: {}",
                String::from_utf8_lossy(&body)
            );
            let (msn, part) = part_of(&uri);
            let (status, body, _) = get(&format!("{url}?_HLS_msn={msn}&_HLS_part={part}"));
            playlist = String::from_utf8_lossy(&body).to_string();
            assert_eq!(status, 200, "{rendition}: {playlist}");
            assert!(
                playlist.contains(&format!("URI=\"{uri}\"")),
                "{rendition}: {uri} not listed: {playlist}"
            );
            hinted.push(uri);
        }
        // The hints crossed segment boundaries: some named a segment's first part.
        let firsts = hinted.iter().filter(|u| part_of(u).1 == "0").count();
        assert!(firsts >= 3, "{rendition}: {hinted:?}");
    };
    std::thread::scope(|s| {
        s.spawn(|| follow("180p"));
        s.spawn(|| follow("audio"));
    });
    served.stop();
}

/// The same rule with parts addressed as byte ranges (rfc8216bis-22 §4.4.5.3, §4.4.4.9): a hint's
/// BYTERANGE-START must be where a part of that segment will begin, never the end of a segment
/// that is about to close (a range the close leaves empty, a 416). A client reloads for every
/// part in turn, recording each hint; once the segments are complete, every hinted start lies
/// inside its segment.
#[test]
fn byte_range_hints_never_point_past_a_segment_end() {
    let served = Served::start(
        &CONFIG.replace("name = \"t\"\n", "name = \"t\"\nbyterange_parts = true\n"),
        origin::OriginOptions::default(),
    );
    let base = &served.base;
    let follow = |rendition: &str| {
        let url = format!("{base}/{rendition}/index.m3u8");
        let mut playlist = hinted_playlist(&served, rendition);
        let mut hints: Vec<(String, u64)> = Vec::new();
        for _ in 0..14 {
            let (uri, start) = hint(&playlist).unwrap();
            // The hinted part is the next one of its segment: as many as are listed so far.
            let index = playlist
                .lines()
                .filter(|l| l.starts_with("#EXT-X-PART:") && l.contains(&format!("URI=\"{uri}\"")))
                .count();
            let msn = uri
                .rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(".m4s")
                .to_owned();
            hints.push((uri, start));
            let (status, body, _) = get(&format!("{url}?_HLS_msn={msn}&_HLS_part={index}"));
            playlist = String::from_utf8_lossy(&body).to_string();
            assert_eq!(status, 200, "{rendition}: {playlist}");
        }
        for (uri, start) in &hints {
            // A GET of a segment still open streams it to its close: its whole length.
            let (status, body, _) = get(&format!("{base}/{rendition}/{uri}"));
            assert_eq!(status, 200, "{rendition}: {uri}");
            assert!(
                *start < body.len() as u64,
                "{rendition}: hint {uri} BYTERANGE-START={start} is not inside the {}-byte segment",
                body.len()
            );
        }
        assert!(
            hints.iter().filter(|(_, start)| *start == 0).count() >= 3,
            "{rendition}: crossed segment boundaries: {hints:?}"
        );
    };
    std::thread::scope(|s| {
        s.spawn(|| follow("180p"));
        s.spawn(|| follow("audio"));
    });
    served.stop();
}
