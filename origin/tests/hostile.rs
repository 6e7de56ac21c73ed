//! Hostile requests: each gets a 4xx or a closed connection, never a 5xx, a hang or a panic,
//! and the origin keeps serving afterwards.

mod common;

use std::time::Duration;

use common::*;
use origin::OriginOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const P: f64 = 0.25;

async fn healthy(a: std::net::SocketAddr) {
    assert_eq!(
        get(a, "/healthz").await.status,
        200,
        "origin stopped serving"
    );
}

/// Reads until the peer closes; returns what arrived, or panics after `limit` (of tokio's
/// clock, so paused time applies).
async fn read_until_closed(s: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return out,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("connection still open after {limit:?}"),
        }
    }
}

#[tokio::test]
async fn malformed_delivery_directives_are_400() {
    let (store, stream) = store(1, P, false);
    fill(&stream, 2, 4, P);
    let origin = start(store).await;
    let a = origin.local_addr();
    for q in [
        "_HLS_msn=-1",
        "_HLS_msn=abc",
        "_HLS_msn=",
        "_HLS_part=1",
        "_HLS_msn=1&_HLS_part=-3",
        "_HLS_msn=184467440737095516160",
        "_HLS_msn=18446744073709551615",
        "_HLS_msn=1&_HLS_part=99999999999",
        "_HLS_msn=1&_HLS_msn=1",
        "_HLS_skip=maybe",
        "_HLS_msn=1e3",
        "_HLS_msn=%31",
    ] {
        let t = Instant::now();
        let r = get(a, &format!("/live/v/index.m3u8?{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        assert!(t.elapsed() < Duration::from_millis(500), "{q} was held");
    }
    healthy(a).await;
}

#[tokio::test]
async fn path_tricks_unknown_names_and_methods() {
    let (store, stream) = store(1, P, false);
    fill(&stream, 2, 4, P);
    let origin = start(store).await;
    let a = origin.local_addr();
    let cases: &[(&str, u16)] = &[
        ("/live/../../etc/passwd", 400),
        ("/live/%2e%2e/%2e%2e/etc/passwd", 400),
        ("/live/v/%2e%2e%2f%2e%2e%2fetc%2fpasswd", 400),
        ("/live/v%2findex.m3u8", 400),
        ("/live/v/..%5c..%5cwin.ini", 400),
        ("/live/%ff%fe/index.m3u8", 400),
        ("/live/%zz/index.m3u8", 400),
        ("/nope/master.m3u8", 404),
        ("/live/nope/index.m3u8", 404),
        ("/live/v/123/1.m4s", 404),
        ("/live/v/1700000000/init-9.mp4", 404),
        ("/live/v/1700000000/1.99.m4s", 404),
        ("/live/v/1700000000/99999999999999999999999.m4s", 400),
        ("/live/v/1700000000/1.99999999999.m4s", 400),
        ("/player/../../etc/passwd", 400),
        ("/player/%2e%2e%2f%2e%2e%2fetc%2fpasswd", 400),
        ("/player/secret", 404),
        ("/etc/passwd", 404),
    ];
    for (p, want) in cases {
        let r = get(a, p).await;
        assert_eq!(r.status, *want, "{p}: {}", r.text());
    }
    let r = request(a, "POST", "/live/master.m3u8", &[("Content-Length", "0")]).await;
    assert_eq!(r.status, 405);
    assert!(r.header("allow").is_some_and(|v| v.contains("GET")));
    let r = request(a, "DELETE", "/live/v/index.m3u8", &[]).await;
    assert_eq!(r.status, 405);
    healthy(a).await;
}

#[tokio::test]
async fn oversized_requests_are_refused() {
    let (store, _stream) = store(1, P, false);
    let origin = start(store).await;
    let a = origin.local_addr();
    let long = format!("/live/v/index.m3u8?x={}", "a".repeat(5000));
    assert_eq!(get(a, &long).await.status, 414);
    let long_path = format!("/{}/master.m3u8", "s".repeat(5000));
    assert_eq!(get(a, &long_path).await.status, 414);
    // A 64 KiB header: hyper refuses it (431) or closes the connection; never a 5xx.
    let mut s = TcpStream::connect(a).await.unwrap();
    let req = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(64 * 1024)
    );
    let _ = s.write_all(req.as_bytes()).await;
    let got = read_until_closed(&mut s, Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(got.is_empty() || text.starts_with("HTTP/1.1 431"), "{text}");
    // Garbage instead of HTTP.
    let mut s = TcpStream::connect(a).await.unwrap();
    s.write_all(b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
        .await
        .unwrap();
    let got = read_until_closed(&mut s, Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(got.is_empty() || text.starts_with("HTTP/1.1 4"), "{text}");
    healthy(a).await;
}

/// Paused time: the header-read deadline (hyper's timer and the origin's first-byte wait are
/// both tokio timers) passes as soon as everyone is idle.
#[tokio::test(start_paused = true)]
async fn slow_and_idle_clients_are_cut() {
    let (store, _stream) = store(1, P, false);
    let opts = OriginOptions {
        header_read_timeout: Duration::from_millis(500),
        ..OriginOptions::default()
    };
    let origin = start_with(store, opts).await;
    let a = origin.local_addr();
    // Never sends a byte.
    let mut idle = TcpStream::connect(a).await.unwrap();
    // Sends half a request head and stalls (slowloris).
    let mut slow = TcpStream::connect(a).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Finishes one request, then idles on keep-alive.
    let mut kept = TcpStream::connect(a).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let t = Instant::now();
    let got = read_until_closed(&mut idle, Duration::from_secs(3)).await;
    assert!(got.is_empty());
    let got = read_until_closed(&mut slow, Duration::from_secs(3)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(got.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    let got = read_until_closed(&mut kept, Duration::from_secs(3)).await;
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    assert!(t.elapsed() < Duration::from_secs(3));
    healthy(a).await;
}

#[tokio::test]
async fn connections_over_the_limit_are_closed() {
    let (store, _stream) = store(1, P, false);
    let opts = OriginOptions {
        max_connections: 4,
        ..OriginOptions::default()
    };
    let origin = start_with(store, opts).await;
    let a = origin.local_addr();
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(a).await.unwrap();
        // Keep-alive connections that stay open.
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0);
        held.push(s);
    }
    let mut extra = TcpStream::connect(a).await.unwrap();
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let got = read_until_closed(&mut extra, Duration::from_secs(2)).await;
    assert!(got.is_empty(), "served beyond the connection limit");
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    healthy(a).await;
    let m = get(a, "/metrics").await.text();
    assert!(m.contains("llhls_refused_connections_total 1"), "{m}");
}

#[tokio::test]
async fn many_blocked_requests_on_one_connection_pipeline_do_not_break_it() {
    // HTTP/1.1 pipelining: a waiting request followed by another on the same connection.
    let (store, stream) = store(1, P, false);
    fill(&stream, 2, 4, P);
    let origin = start(store).await;
    let mut s = TcpStream::connect(origin.local_addr()).await.unwrap();
    s.write_all(
        b"GET /live/v/index.m3u8?_HLS_msn=2&_HLS_part=0 HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    part(stream.rendition("v").unwrap(), 2, 0, P, 400);
    let got = read_until_closed(&mut s, Duration::from_secs(3)).await;
    let text = String::from_utf8_lossy(&got);
    assert_eq!(text.matches("HTTP/1.1 200").count(), 2, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_cut_and_a_reading_one_is_not() {
    let (store, stream) = store(1, P, false);
    // One 16 MB segment: more than the loopback socket buffers of both ends hold.
    const BIG: usize = 16 << 20;
    let r = stream.rendition("v").unwrap();
    init(r);
    part(r, 0, 0, P, BIG);
    close(r, 0, 1, P);
    let opts = OriginOptions {
        send_timeout: Duration::from_millis(500),
        ..OriginOptions::default()
    };
    let origin = start_with(store, opts).await;
    let a = origin.local_addr();
    let path = format!("/live/v/{EPOCH}/0.m4s");

    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let mut stuck = sock.connect(a).await.unwrap();
    stuck
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    // Reads nothing for three send timeouts: the origin's write makes no progress. Real time:
    // the stall is the kernel's full socket buffers, seen by two worker threads, which paused
    // time (a current-thread runtime) cannot model.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let t = Instant::now();
    let got = read_until_closed(&mut stuck, Duration::from_secs(10)).await;
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "the stalled connection was not closed"
    );
    assert!(
        got.len() < BIG,
        "all {} bytes arrived: nothing was cut",
        got.len()
    );

    // A client that reads gets every byte under the same limit.
    let whole = get(a, &path).await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body.len(), BIG);
    healthy(a).await;
}
