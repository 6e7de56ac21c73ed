//! The origin over real HTTP on 127.0.0.1: blocking reload, held preload-hint parts,
//! byte-range streaming, delta updates, caching headers per route, conditional GET, HEAD,
//! Range, gzip, metrics and graceful shutdown. The store is fed through `Rendition::apply`.

mod common;

use std::io::Read as _;
use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const P: f64 = 0.25; // part duration, seconds
const N: u32 = 4; // parts per segment (1 s segments, target duration 1 s)

fn media(q: &str) -> String {
    format!("/live/v/index.m3u8{q}")
}

#[tokio::test]
async fn blocking_reload_is_answered_when_the_part_is_applied_and_not_before() {
    let (store, stream) = store(1, P, false);
    fill(&stream, 2, N, P);
    let origin = start(store).await;
    let addr = origin.local_addr();
    let waiter = tokio::spawn(async move { get(addr, &media("?_HLS_msn=2&_HLS_part=0")).await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!waiter.is_finished(), "answered before part 2.0 existed");
    let v = stream.rendition("v").unwrap();
    let applied = Instant::now();
    part(v, 2, 0, P, 400);
    let r = tokio::time::timeout(Duration::from_secs(2), waiter)
        .await
        .expect("released")
        .unwrap();
    assert!(
        applied.elapsed() < Duration::from_millis(900),
        "released {:?} after the part",
        applied.elapsed()
    );
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(text.contains("URI=\"1700000000/2.0.m4s\""), "{text}");
    // B.1: blocking answers are cacheable for 6 target durations.
    assert_eq!(r.header("cache-control"), Some("public, max-age=6"));
    // The next hint is part 1 of segment 2.
    assert!(
        text.contains("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"1700000000/2.1.m4s\""),
        "{text}"
    );
}

#[tokio::test]
async fn msn_without_part_waits_for_the_whole_segment() {
    let (store, stream) = store(1, P, false);
    fill(&stream, 2, N, P);
    let origin = start(store).await;
    let addr = origin.local_addr();
    let waiter = tokio::spawn(async move { get(addr, &media("?_HLS_msn=2")).await });
    let v = stream.rendition("v").unwrap();
    for i in 0..N {
        part(v, 2, i, P, 400);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !waiter.is_finished(),
            "answered after part {i}, before segment 2 closed"
        );
    }
    close(v, 2, N, P);
    let r = tokio::time::timeout(Duration::from_secs(2), waiter)
        .await
        .expect("released")
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("#EXTINF:1.00000,\n1700000000/2.m4s"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn too_far_ahead_is_400_at_once() {
    let (store, stream) = store(1, P, false);
    fill(&stream, 2, N, P);
    let origin = start(store).await;
    let t = Instant::now();
    let r = get(origin.local_addr(), &media("?_HLS_msn=4&_HLS_part=0")).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(t.elapsed() < Duration::from_millis(500));
    assert_eq!(r.header("cache-control"), Some("public, max-age=1"));
    // msn = last + 2 is inside the window: it waits (and here times out later), so just check
    // that it is not refused at once.
    let addr = origin.local_addr();
    let w = tokio::spawn(async move { get(addr, &media("?_HLS_msn=3&_HLS_part=0")).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !w.is_finished(),
        "a request inside the window was answered at once"
    );
    w.abort();
}

/// Paused time: the clock jumps to the deadline once client and origin are both idle, so the
/// 3 s wait takes no time and lands exactly on it.
#[tokio::test(start_paused = true)]
async fn blocked_request_gets_503_after_three_target_durations() {
    let (store, stream) = store(1, P, false);
    fill(&stream, 2, N, P);
    let origin = start(store).await;
    let t = tokio::time::Instant::now();
    let r = get(origin.local_addr(), &media("?_HLS_msn=2&_HLS_part=1")).await;
    let waited = t.elapsed();
    assert_eq!(r.status, 503);
    assert!(
        waited >= Duration::from_millis(2900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    assert_eq!(r.header("cache-control"), Some("public, max-age=1"));
    assert_eq!(r.header("retry-after"), Some("1"));
}

#[tokio::test]
async fn ended_rendition_releases_waiters_with_the_final_playlist() {
    let (store, stream) = store(1, P, false);
    fill(&stream, 2, N, P);
    let origin = start(store).await;
    let addr = origin.local_addr();
    let waiter = tokio::spawn(async move { get(addr, &media("?_HLS_msn=2&_HLS_part=0")).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.close();
    let r = tokio::time::timeout(Duration::from_secs(1), waiter)
        .await
        .expect("released promptly")
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(r.text().ends_with("#EXT-X-ENDLIST\n"), "{}", r.text());
}

#[tokio::test]
async fn preload_hint_part_is_held_and_sent_whole() {
    let (store, stream) = store(1, P, false);
    fill(&stream, 2, N, P);
    let origin = start(store).await;
    let mut s = TcpStream::connect(origin.local_addr()).await.unwrap();
    s.write_all(
        format!("GET /live/v/{EPOCH}/2.0.m4s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(400), s.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "a byte arrived before the part was complete: {early:?}"
    );
    part(stream.rendition("v").unwrap(), 2, 0, P, 5000);
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let r = parse(&raw, false);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, part_bytes(2, 0, 5000).to_vec());
    assert_eq!(r.header("content-length"), Some("5000"));
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
}

#[tokio::test]
async fn parts_far_ahead_or_past_a_segment_end_are_404_and_near_ones_are_held() {
    let (store, stream) = store(1, P, false);
    fill(&stream, 2, N, P);
    let origin = start(store).await;
    // Beyond the window of §6.2.5.2 (last MSN + 2) or past the end of complete segment 1.
    for p in ["9.0", "5.0", "1.7"] {
        let t = Instant::now();
        let r = get(origin.local_addr(), &format!("/live/v/{EPOCH}/{p}.m4s")).await;
        assert_eq!(r.status, 404, "{p}");
        assert!(t.elapsed() < Duration::from_millis(500), "{p} was held");
        assert_eq!(r.header("cache-control"), Some("public, max-age=1"), "{p}");
    }
    // One past the hint (2.0 is hinted): held, then answered whole once it exists.
    let addr = origin.local_addr();
    let pending = tokio::spawn(async move { get(addr, &format!("/live/v/{EPOCH}/2.1.m4s")).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!pending.is_finished(), "2.1 answered before it existed");
    let r = stream.rendition("v").unwrap();
    part(r, 2, 0, P, 5000);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!pending.is_finished(), "2.1 answered when only 2.0 existed");
    part(r, 2, 1, P, 5000);
    let resp = tokio::time::timeout(Duration::from_secs(2), pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, part_bytes(2, 1, 5000).to_vec());
}

/// Reads one HTTP/1.1 chunk (size line + data) from a streaming response.
async fn read_chunk(s: &mut TcpStream, pending: &mut Vec<u8>) -> Vec<u8> {
    loop {
        if let Some(nl) = pending.windows(2).position(|w| w == b"\r\n") {
            let size =
                usize::from_str_radix(std::str::from_utf8(&pending[..nl]).unwrap().trim(), 16)
                    .unwrap();
            if pending.len() >= nl + 2 + size + 2 {
                let data = pending[nl + 2..nl + 2 + size].to_vec();
                pending.drain(..nl + 2 + size + 2);
                return data;
            }
        }
        let mut buf = [0u8; 65536];
        let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
            .await
            .expect("chunk in time")
            .unwrap();
        assert!(n > 0, "connection closed mid-stream");
        pending.extend_from_slice(&buf[..n]);
    }
}

async fn read_head(s: &mut TcpStream) -> (common::Resp, Vec<u8>) {
    let mut raw = Vec::new();
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = raw[end + 4..].to_vec();
            let mut head = raw[..end + 4].to_vec();
            head.truncate(end + 4);
            return (parse(&head, true), rest);
        }
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
            .await
            .expect("head in time")
            .unwrap();
        assert!(n > 0);
        raw.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test]
async fn byterange_hint_streams_each_part_when_complete() {
    let (store, stream) = store(1, P, true);
    fill(&stream, 1, N, P);
    let v = stream.rendition("v").unwrap();
    part(v, 1, 0, P, 400);
    let origin = start(store).await;
    // The playlist's hint names the open segment at its current length.
    let pl = get(origin.local_addr(), &media("")).await.text();
    assert!(
        pl.contains(&format!(
            "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{EPOCH}/1.m4s\",BYTERANGE-START=400"
        )),
        "{pl}"
    );
    let mut s = TcpStream::connect(origin.local_addr()).await.unwrap();
    s.write_all(
        format!("GET /live/v/{EPOCH}/1.m4s HTTP/1.1\r\nHost: x\r\nRange: bytes=400-\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    // Not a byte, not even the head, before part 1.1 is whole (§6.2.6).
    let mut b = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), s.read(&mut b))
            .await
            .is_err(),
        "bytes before part 1.1"
    );
    part(v, 1, 1, P, 410);
    let (head, mut pending) = read_head(&mut s).await;
    assert_eq!(head.status, 206);
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    // No Content-Range can name a last byte not yet known (RFC 9110 §14.4), so no cache may
    // store this answer: one keyed by URL would serve it as the whole segment.
    assert_eq!(head.header("content-range"), None);
    assert_eq!(head.header("cache-control"), Some("no-store"));
    for i in 1..N {
        if i > 1 {
            part(v, 1, i, P, 400 + 10 * i as usize);
        }
        let chunk = read_chunk(&mut s, &mut pending).await;
        assert_eq!(
            chunk,
            part_bytes(1, i, 400 + 10 * i as usize).to_vec(),
            "part {i} not sent whole"
        );
    }
    close(v, 1, N, P);
    let end = read_chunk(&mut s, &mut pending).await;
    assert!(end.is_empty(), "stream did not end with the segment");
}

/// A hint at the end of a segment (its last part is out, its close not yet known) names a range
/// the close makes empty: the held request then gets a 416 naming the final length, not an
/// empty 206.
#[tokio::test]
async fn a_hinted_range_the_close_makes_empty_is_416() {
    let (store, stream) = store(1, P, true);
    let v = stream.rendition("v").unwrap();
    for i in 0..N {
        part(v, 0, i, P, 400 + 10 * i as usize);
    }
    let origin = start(store).await;
    let addr = origin.local_addr();
    let len = segment_bytes(0, N).len();
    let pl = get(addr, &media("")).await.text();
    let hint = format!("URI=\"{EPOCH}/0.m4s\",BYTERANGE-START={len}");
    assert!(pl.contains(&hint), "{pl}");
    let url = format!("/live/v/{EPOCH}/0.m4s");
    let held = tokio::spawn(async move {
        request(addr, "GET", &url, &[("Range", &format!("bytes={len}-"))]).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!held.is_finished(), "answered before the segment closed");
    close(v, 0, N, P);
    let r = tokio::time::timeout(Duration::from_secs(2), held)
        .await
        .expect("released")
        .unwrap();
    assert_eq!(r.status, 416, "{}", r.text());
    let want = format!("bytes */{len}");
    assert_eq!(r.header("content-range"), Some(want.as_str()));
    assert_eq!(r.header("cache-control"), Some("public, max-age=1"));
}

/// rfc8216bis-22 §4.4.5.3: for a hint without BYTERANGE-LENGTH a client SHOULD ask for RFC 8673's
/// very large last byte, 2^53 − 1. On the open segment that is streamed to the segment's end
/// and echoes the range (RFC 8673 §2.2), stored by no cache; on a complete segment it is an
/// ordinary 206 naming the real last byte.
#[tokio::test]
async fn rfc8673_range_streams_the_open_segment_to_its_end() {
    let (store, stream) = store(1, P, true);
    let v = stream.rendition("v").unwrap();
    part(v, 0, 0, P, 400);
    let origin = start(store).await;
    let addr = origin.local_addr();
    let url = format!("/live/v/{EPOCH}/0.m4s");
    let live = "bytes=400-9007199254740991";
    let held = {
        let url = url.clone();
        tokio::spawn(async move { request(addr, "GET", &url, &[("Range", live)]).await })
    };
    for i in 1..N {
        tokio::time::sleep(Duration::from_millis(50)).await;
        part(v, 0, i, P, 400 + 10 * i as usize);
    }
    close(v, 0, N, P);
    let r = tokio::time::timeout(Duration::from_secs(2), held)
        .await
        .expect("released")
        .unwrap();
    let whole = segment_bytes(0, N);
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some("bytes 400-9007199254740991/*")
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r.body == whole[400..], "not the segment from byte 400");
    let done = request(addr, "GET", &url, &[("Range", live)]).await;
    assert_eq!(done.status, 206);
    let want = format!("bytes 400-{}/{}", whole.len() - 1, whole.len());
    assert_eq!(done.header("content-range"), Some(want.as_str()));
    assert_eq!(
        done.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(done.body == whole[400..]);
}

#[tokio::test]
async fn open_segment_plain_get_streams_to_the_end() {
    let (store, stream) = store(1, P, true);
    let v = stream.rendition("v").unwrap();
    part(v, 0, 0, P, 400);
    let origin = start(store).await;
    let addr = origin.local_addr();
    let whole = tokio::spawn(async move { get(addr, &format!("/live/v/{EPOCH}/0.m4s")).await });
    for i in 1..N {
        tokio::time::sleep(Duration::from_millis(50)).await;
        part(v, 0, i, P, 400 + 10 * i as usize);
    }
    close(v, 0, N, P);
    let r = tokio::time::timeout(Duration::from_secs(2), whole)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, segment_bytes(0, N));
    // The whole segment, streamed: the object a CDN stores and serves ranges from.
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
}

/// hls.js asks for a listed EXT-X-PART BYTERANGE of a segment that is still open: a 206 that names
/// its range (RFC 9110 §15.3.7, final length "*" per §14.4) with its length, at once; a bounded
/// range that is not all there yet is held until its part completes, and names its range too.
#[tokio::test]
async fn bounded_range_of_an_open_segment_names_its_range() {
    let (store, stream) = store(1, P, true);
    let v = stream.rendition("v").unwrap();
    part(v, 0, 0, P, 400);
    part(v, 0, 1, P, 410);
    let origin = start(store).await;
    let addr = origin.local_addr();
    let url = format!("/live/v/{EPOCH}/0.m4s");
    let r = request(addr, "GET", &url, &[("Range", "bytes=400-809")]).await;
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("bytes 400-809/*"));
    assert_eq!(r.header("content-length"), Some("410"));
    assert_eq!(r.body, part_bytes(0, 1, 410).to_vec());

    let held = {
        let url = url.clone();
        tokio::spawn(
            async move { request(addr, "GET", &url, &[("Range", "bytes=810-1229")]).await },
        )
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!held.is_finished(), "answered before part 0.2 existed");
    part(v, 0, 2, P, 420);
    let r = tokio::time::timeout(Duration::from_secs(2), held)
        .await
        .expect("released")
        .unwrap();
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("bytes 810-1229/*"));
    assert_eq!(r.body, part_bytes(0, 2, 420).to_vec());
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
}

#[tokio::test]
async fn delta_update_skips_old_segments() {
    let (store, stream) = store(1, P, false);
    fill(&stream, 8, N, P);
    let origin = start(store).await;
    let full = get(origin.local_addr(), &media("")).await.text();
    assert!(!full.contains("EXT-X-SKIP"), "{full}");
    assert!(full.contains("CAN-SKIP-UNTIL=6.0"), "{full}");
    let delta = get(origin.local_addr(), &media("?_HLS_skip=YES")).await;
    assert_eq!(delta.status, 200);
    let d = delta.text();
    assert!(d.contains("#EXT-X-VERSION:9"), "{d}");
    assert!(d.contains("#EXT-X-SKIP:SKIPPED-SEGMENTS=2\n"), "{d}");
    assert!(!d.contains(&format!("{EPOCH}/1.m4s\n")), "{d}");
    assert!(d.contains(&format!("{EPOCH}/7.m4s\n")), "{d}");
    // The rendition report names the other rendition with a relative URI (§4.4.5.4).
    assert!(
        d.contains("#EXT-X-RENDITION-REPORT:URI=\"../a/index.m3u8\",LAST-MSN=7,LAST-PART=3"),
        "{d}"
    );
}

#[tokio::test]
async fn every_route_states_its_headers() {
    let (store, stream) = store(2, 0.5, false);
    fill(&stream, 3, N, 0.5);
    let origin = start(store).await;
    let imm = "public, max-age=31536000, immutable";
    let table: Vec<(String, u16, &str, &str)> = vec![
        (
            "/live/master.m3u8".into(),
            200,
            "application/vnd.apple.mpegurl",
            "public, max-age=1",
        ),
        (
            media(""),
            200,
            "application/vnd.apple.mpegurl",
            "public, max-age=1",
        ),
        (
            media("?_HLS_msn=1&_HLS_part=0"),
            200,
            "application/vnd.apple.mpegurl",
            "public, max-age=12",
        ),
        (format!("/live/v/{EPOCH}/init-0.mp4"), 200, "video/mp4", imm),
        (format!("/live/v/{EPOCH}/1.2.m4s"), 200, "video/mp4", imm),
        (format!("/live/v/{EPOCH}/1.m4s"), 200, "video/mp4", imm),
        (
            format!("/live/v/{EPOCH}/1.2.m4s.txt"),
            200,
            "text/plain; charset=utf-8",
            imm,
        ),
        (
            format!("/live/v/{EPOCH}/init-0.mp4.txt"),
            200,
            "text/plain; charset=utf-8",
            imm,
        ),
        (
            format!("/live/v/{EPOCH}/1.m4s.txt"),
            200,
            "text/plain; charset=utf-8",
            imm,
        ),
        (
            "/healthz".into(),
            200,
            "text/plain; charset=utf-8",
            "no-store",
        ),
        (
            "/metrics".into(),
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            "no-store",
        ),
        (
            "/nope/master.m3u8".into(),
            404,
            "text/plain; charset=utf-8",
            "public, max-age=1",
        ),
        (
            format!("/live/v/{EPOCH}/99.m4s"),
            404,
            "text/plain; charset=utf-8",
            "public, max-age=1",
        ),
        (
            "/live/v/1/1.m4s".into(),
            404,
            "text/plain; charset=utf-8",
            "public, max-age=1",
        ),
        (
            media("?_HLS_part=1"),
            400,
            "text/plain; charset=utf-8",
            "public, max-age=1",
        ),
    ];
    for (path, status, ctype, cache) in table {
        let r = get(origin.local_addr(), &path).await;
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some(ctype), "{path}");
        assert_eq!(r.header("cache-control"), Some(cache), "{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{path}");
        assert!(
            r.header("access-control-expose-headers")
                .is_some_and(|v| v.contains("Content-Range")),
            "{path}"
        );
        if ctype.starts_with("application/vnd.apple") {
            assert_eq!(r.header("vary"), Some("Accept-Encoding"), "{path}");
            assert!(
                r.header("etag").is_some() && r.header("last-modified").is_some(),
                "{path}"
            );
        }
        if ctype == "video/mp4" {
            assert_eq!(r.header("accept-ranges"), Some("bytes"), "{path}");
            assert!(r.header("etag").is_some(), "{path}");
        }
    }
    let dump = get(origin.local_addr(), &format!("/live/v/{EPOCH}/1.2.m4s.txt"))
        .await
        .text();
    assert!(
        dump.contains("moof size=16") && dump.contains("mdat size="),
        "{dump}"
    );
    let seg = get(origin.local_addr(), &format!("/live/v/{EPOCH}/1.m4s")).await;
    assert_eq!(seg.body, segment_bytes(1, N));
    let pre = request(
        origin.local_addr(),
        "OPTIONS",
        &media(""),
        &[
            ("Origin", "https://player.example"),
            ("Access-Control-Request-Method", "GET"),
        ],
    )
    .await;
    assert_eq!(pre.status, 204);
    assert_eq!(pre.header("cache-control"), Some("no-store"));
    assert_eq!(pre.header("access-control-allow-origin"), Some("*"));
    assert!(pre
        .header("access-control-allow-methods")
        .is_some_and(|m| m.contains("GET")));
    assert!(pre
        .header("access-control-allow-headers")
        .is_some_and(|m| m.contains("Range")));
    // Replies that need a method or request headers: partial, refused range, HEAD,
    // conditional, compressed, delta request (its skipping is `delta_update_skips_old_segments`),
    // wrong method, over-long target. Each states its policy:
    // media immutable (B.1), playlists as above, client mistakes short-lived (a CDN must not
    // pin them).
    let a = origin.local_addr();
    let seg = format!("/live/v/{EPOCH}/1.m4s");
    let seg_etag = get(a, &seg).await.header("etag").unwrap().to_owned();
    let seg_len = segment_bytes(1, N).len();
    let long = media(&format!("?{}", "x".repeat(5000)));
    let pl = "application/vnd.apple.mpegurl";
    let text = "text/plain; charset=utf-8";
    let short = "public, max-age=1";
    #[allow(clippy::type_complexity)]
    let extras: Vec<(&str, String, Vec<(&str, &str)>, u16, Option<&str>, &str)> = vec![
        (
            "GET",
            seg.clone(),
            vec![("Range", "bytes=0-9")],
            206,
            Some("video/mp4"),
            imm,
        ),
        (
            "GET",
            seg.clone(),
            vec![("Range", "bytes=99999999-")],
            416,
            Some(text),
            short,
        ),
        ("HEAD", seg.clone(), vec![], 200, Some("video/mp4"), imm),
        (
            "GET",
            seg.clone(),
            vec![("If-None-Match", &seg_etag)],
            304,
            None,
            imm,
        ),
        (
            "GET",
            media(""),
            vec![("Accept-Encoding", "gzip")],
            200,
            Some(pl),
            "public, max-age=1",
        ),
        (
            "GET",
            media("?_HLS_msn=2&_HLS_part=0&_HLS_skip=YES"),
            vec![],
            200,
            Some(pl),
            "public, max-age=12",
        ),
        ("POST", media(""), vec![], 405, Some(text), short),
        ("GET", long, vec![], 414, Some(text), short),
    ];
    for (method, path, hdrs, status, ctype, cache) in extras {
        let r = request(a, method, &path, &hdrs).await;
        let what = format!("{method} {path:.80} {hdrs:?}");
        assert_eq!(r.status, status, "{what}: {}", r.text());
        assert_eq!(r.header("content-type"), ctype, "{what}");
        assert_eq!(r.header("cache-control"), Some(cache), "{what}");
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{what}");
        match status {
            206 => {
                let want = format!("bytes 0-9/{seg_len}");
                assert_eq!(r.header("content-range"), Some(want.as_str()), "{what}");
                assert_eq!(r.body, segment_bytes(1, N)[..10], "{what}");
            }
            416 => {
                let want = format!("bytes */{seg_len}");
                assert_eq!(r.header("content-range"), Some(want.as_str()), "{what}");
            }
            304 => assert_eq!(r.header("etag"), Some(seg_etag.as_str()), "{what}"),
            405 => assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"), "{what}"),
            _ => {}
        }
        if hdrs.iter().any(|(k, _)| *k == "Accept-Encoding") {
            assert_eq!(r.header("content-encoding"), Some("gzip"), "{what}");
            assert_eq!(r.header("vary"), Some("Accept-Encoding"), "{what}");
        }
        if method == "HEAD" {
            assert!(r.body.is_empty(), "{what}");
            let want = seg_len.to_string();
            assert_eq!(r.header("content-length"), Some(want.as_str()), "{what}");
        }
    }
    let mv = get(origin.local_addr(), "/live/master.m3u8").await.text();
    // BANDWIDTH is measured from the stored segments (video + audio), not the configured rate.
    assert!(
        mv.contains("CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=640x360"),
        "{mv}"
    );
    assert!(
        mv.contains("#EXT-X-STREAM-INF:BANDWIDTH=") && mv.contains("AUDIO=\"audio\""),
        "{mv}"
    );
    assert!(
        mv.contains("#EXT-X-MEDIA:TYPE=AUDIO,") && mv.contains("GROUP-ID=\"audio\""),
        "{mv}"
    );
}

#[tokio::test]
async fn conditional_get_head_range_gzip() {
    let (store, stream) = store(2, 0.5, false);
    fill(&stream, 3, N, 0.5);
    let origin = start(store).await;
    let a = origin.local_addr();
    // 304 for playlists and media.
    for path in [media(""), format!("/live/v/{EPOCH}/1.1.m4s")] {
        let r = get(a, &path).await;
        let etag = r.header("etag").unwrap().to_owned();
        let again = request(a, "GET", &path, &[("If-None-Match", &etag)]).await;
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), Some(etag.as_str()));
        let other = request(a, "GET", &path, &[("If-None-Match", "\"other\"")]).await;
        assert_eq!(other.status, 200);
    }
    // HEAD: same headers, no body.
    let seg = format!("/live/v/{EPOCH}/1.m4s");
    let h = request(a, "HEAD", &seg, &[]).await;
    assert_eq!(h.status, 200);
    assert!(h.body.is_empty());
    assert_eq!(
        h.header("content-length"),
        Some(segment_bytes(1, N).len().to_string().as_str())
    );
    // Range on a complete segment (crossing a part boundary), suffix, and unsatisfiable.
    let whole = segment_bytes(1, N);
    let r = request(a, "GET", &seg, &[("Range", "bytes=390-829")]).await;
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 390-829/{}", whole.len()).as_str())
    );
    assert_eq!(r.body, whole[390..830].to_vec());
    let r = request(a, "GET", &seg, &[("Range", "bytes=-10")]).await;
    assert_eq!(r.body, whole[whole.len() - 10..].to_vec());
    let r = request(
        a,
        "GET",
        &seg,
        &[("Range", &format!("bytes={}-", whole.len()))],
    )
    .await;
    assert_eq!(r.status, 416);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes */{}", whole.len()).as_str())
    );
    // gzip.
    let plain = get(a, &media("")).await;
    let gz = request(a, "GET", &media(""), &[("Accept-Encoding", "gzip, br")]).await;
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_ne!(gz.header("etag"), plain.header("etag"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, plain.text());
}

#[tokio::test]
async fn metrics_count_requests_waiters_and_cache() {
    let (store, stream) = store(1, P, false);
    fill(&stream, 2, N, P);
    let origin = start(store).await;
    let a = origin.local_addr();
    let waiters: Vec<_> = (0..20)
        .map(|_| tokio::spawn(async move { get(a, &media("?_HLS_msn=2&_HLS_part=0")).await }))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let m = get(a, "/metrics").await.text();
    assert!(m.contains("llhls_requests_waiting 20"), "{m}");
    part(stream.rendition("v").unwrap(), 2, 0, P, 400);
    for w in waiters {
        assert_eq!(w.await.unwrap().status, 200);
    }
    let m = get(a, "/metrics").await.text();
    assert!(
        m.contains("llhls_requests_total{route=\"media\",status=\"200\"} 20"),
        "{m}"
    );
    assert!(m.contains("llhls_requests_waiting 0"), "{m}");
    assert!(m.contains("llhls_wake_delay_seconds_count 20"), "{m}");
    // 20 waiters woken by one part: one render.
    assert!(m.contains("llhls_playlist_renders_total 1\n"), "{m}");
    assert!(
        m.contains("llhls_last_msn{stream=\"live\",rendition=\"v\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("llhls_last_part{stream=\"live\",rendition=\"v\"} 0"),
        "{m}"
    );
    // The histogram is cumulative and ends at its count.
    let buckets: Vec<u64> = m
        .lines()
        .filter(|l| l.starts_with("llhls_wake_delay_seconds_bucket"))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(buckets.len() > 5, "{m}");
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(*buckets.last().unwrap(), 20, "+Inf bucket: {m}");
    let ratio = metric(&m, "llhls_playlist_cache_hit_ratio");
    assert!(ratio >= 0.9, "20 lookups, 1 render: hit ratio {ratio}");
    // Bytes out count every body sent: since `m` was rendered, `m` itself and one part.
    let before = metric(&m, "llhls_bytes_out_total");
    let p = get(a, &format!("/live/v/{EPOCH}/2.0.m4s")).await;
    assert_eq!(p.body.len(), 400);
    let after = metric(&get(a, "/metrics").await.text(), "llhls_bytes_out_total");
    assert_eq!(after - before, (m.len() + 400) as f64);
    // The home page and the player have their own route labels.
    let _ = get(a, "/").await;
    let m = get(a, "/metrics").await.text();
    assert!(m.contains("llhls_requests_total{route=\"home\","), "{m}");
    assert_eq!(get(a, "/healthz").await.text(), "ok\n");
}

#[tokio::test]
async fn graceful_shutdown_answers_waiters_and_stops() {
    let (store, stream) = store(1, P, false);
    fill(&stream, 2, N, P);
    let origin = start(store).await;
    let a = origin.local_addr();
    let playlist = tokio::spawn(async move { get(a, &media("?_HLS_msn=2&_HLS_part=0")).await });
    let held = tokio::spawn(async move { get(a, &format!("/live/v/{EPOCH}/2.0.m4s")).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    origin.shutdown().await;
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        t.elapsed()
    );
    assert_eq!(playlist.await.unwrap().status, 503);
    assert_eq!(held.await.unwrap().status, 503);
    assert!(
        TcpStream::connect(a).await.is_err(),
        "still accepting after shutdown"
    );
}

fn http_date(ms: i64) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_millis(ms as u64))
}

#[tokio::test]
async fn last_modified_is_the_media_clock_and_if_modified_since_is_honoured() {
    // Segments of N parts of 0.5 s whose first samples were captured 2 s apart, at .300 of a
    // second, so each Last-Modified is a rounded-down instant.
    let (store, stream) = store(2, 0.5, false);
    let wall0: i64 = 1_764_770_400_300;
    for msn in 0..3u64 {
        for r in stream.renditions() {
            for i in 0..N {
                let wall = (i == 0).then_some(wall0 + msn as i64 * 2000);
                part_at(r, msn, i, 0.5, 400 + 10 * i as usize, wall);
            }
            close(r, msn, N, 0.5);
        }
    }
    // A playlist's date is its render's; a cache that keeps the render past the wait below
    // makes the 304 case certain rather than racing a re-render.
    let opts = origin::OriginOptions {
        playlist_cache_ttl: Duration::from_secs(30),
        ..origin::OriginOptions::default()
    };
    let origin = start_with(store, opts).await;
    let a = origin.local_addr();
    let part = format!("/live/v/{EPOCH}/1.2.m4s");
    let seg = format!("/live/v/{EPOCH}/1.m4s");
    // A part exists from its last sample's capture on: segment start + 3 parts of 0.5 s.
    let part_lm = http_date(wall0 + 2000 + 1500);
    let seg_lm = http_date(wall0 + 2000 + N as i64 * 500);
    for (path, want) in [
        (&part, &part_lm),
        (&seg, &seg_lm),
        (&format!("{part}.txt"), &part_lm),
    ] {
        let r = get(a, path).await;
        assert_eq!(r.header("last-modified"), Some(want.as_str()), "{path}");
        // Media never changes under its URL: its own date, or any later one, is a 304 that
        // keeps the validators and the cache policy (RFC 9110 §15.4.5).
        let again = request(a, "GET", path, &[("If-Modified-Since", want)]).await;
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty(), "{path}");
        assert_eq!(again.header("last-modified"), Some(want.as_str()), "{path}");
        assert_eq!(again.header("etag"), r.header("etag"), "{path}");
        assert_eq!(
            again.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        // A second earlier: sent in full.
        let earlier = http_date(wall0 + 2000 + 1500 - 1000);
        let r2 = request(a, "GET", path, &[("If-Modified-Since", &earlier)]).await;
        assert_eq!(r2.status, 200, "{path}");
        assert_eq!(r2.body, r.body, "{path}");
    }
    // Not a date, or a date after now: ignored.
    for bad in ["yesterday", &http_date(4_102_444_800_000)] {
        let r = request(a, "GET", &part, &[("If-Modified-Since", bad)]).await;
        assert_eq!(r.status, 200, "{bad}");
    }
    // If-None-Match decides when present (§13.1.3): a stale ETag beside a matching date is a 200.
    let r = request(
        a,
        "GET",
        &part,
        &[
            ("If-None-Match", "\"other\""),
            ("If-Modified-Since", &part_lm),
        ],
    )
    .await;
    assert_eq!(r.status, 200);
    // Preconditions come before Range (§13.2.1): unchanged bytes are a 304, not a 206.
    let etag = get(a, &seg).await.header("etag").unwrap().to_owned();
    for cond in [
        ("If-None-Match", etag.as_str()),
        ("If-Modified-Since", &seg_lm),
    ] {
        let r = request(a, "GET", &seg, &[("Range", "bytes=0-9"), cond]).await;
        assert_eq!(r.status, 304, "{cond:?}");
        assert_eq!(r.header("content-range"), None, "{cond:?}");
    }
    // An init segment has no date that stays put as the window slides: ETag only.
    let init = get(a, &format!("/live/v/{EPOCH}/init-0.mp4")).await;
    assert_eq!(init.header("last-modified"), None);
    assert!(init.header("etag").is_some());

    // Playlists change several times a second, so they are compared to the millisecond:
    // revalidating with the rounded-down date they were sent with always gets the text.
    let pl = get(a, &media("")).await;
    let lm = pl.header("last-modified").unwrap().to_owned();
    let r = request(a, "GET", &media(""), &[("If-Modified-Since", &lm)]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, pl.body);
    // A date at or after the render, once it is past, is a 304 while the text is unchanged
    // (a date after now is ignored, hence the wait).
    let date = httpdate::parse_http_date(pl.header("date").unwrap()).unwrap();
    let after = httpdate::fmt_http_date(date + Duration::from_secs(1));
    // A real sleep: Last-Modified and If-Modified-Since compare against the wall clock
    // (SystemTime), which tokio's paused time does not move.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = request(a, "GET", &media(""), &[("If-Modified-Since", &after)]).await;
    assert_eq!(r.status, 304, "{after}");
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    // A new part changes the text: the old date gets it in full.
    for r in stream.renditions() {
        common::part(r, 3, 0, 0.5, 400);
    }
    let r = request(a, "GET", &media(""), &[("If-Modified-Since", &lm)]).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("3.0.m4s"), "{}", r.text());
}

/// Complete segments live in sealed shared memory and go out by sendfile: a segment, a part
/// and a range crossing parts, each large enough for it, arrive byte for byte, and the
/// origin counts the bytes it sent that way.
#[tokio::test]
async fn large_media_goes_by_reference_and_arrives_intact() {
    const LEN: usize = 100_000;
    let (store, stream) = store(1, P, false);
    for msn in 0..2u64 {
        for r in stream.renditions() {
            for i in 0..N {
                part(r, msn, i, P, LEN + i as usize);
            }
            close(r, msn, N, P);
        }
    }
    let origin = start(store).await;
    let a = origin.local_addr();
    let by_ref = |text: String| metric(&text, "llhls_bytes_sent_by_reference_total");
    let before = by_ref(get(a, "/metrics").await.text());
    let whole: Vec<u8> = (0..N)
        .flat_map(|i| part_bytes(1, i, LEN + i as usize).to_vec())
        .collect();
    let seg = get(a, &format!("/live/v/{EPOCH}/1.m4s")).await;
    assert_eq!(seg.status, 200);
    assert!(seg.body == whole, "segment bytes differ");
    let p = get(a, &format!("/live/v/{EPOCH}/1.2.m4s")).await;
    assert!(
        p.body == part_bytes(1, 2, LEN + 2).to_vec(),
        "part bytes differ"
    );
    let r = request(
        a,
        "GET",
        &format!("/live/v/{EPOCH}/1.m4s"),
        &[("Range", "bytes=150000-349999")],
    )
    .await;
    assert_eq!(r.status, 206);
    assert!(r.body == whole[150_000..350_000], "range bytes differ");
    let sent = by_ref(get(a, "/metrics").await.text()) - before;
    let want = (whole.len() + LEN + 2 + 200_000) as f64;
    assert!(
        sent >= want,
        "{sent} bytes by reference, want at least {want}"
    );
}
