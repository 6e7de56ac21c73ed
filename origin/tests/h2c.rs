//! HTTP/2 over cleartext (prior knowledge) on the same port as HTTP/1.1 (B.1 wants HTTP/2):
//! a blocked playlist and a held part multiplexed on one connection, both released by one part.

mod common;

use std::time::Duration;

use common::*;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

#[tokio::test]
async fn h2c_multiplexes_blocked_requests() {
    let (store, stream) = store(1, 0.25, false);
    fill(&stream, 2, 4, 0.25);
    let origin = start(store).await;
    let tcp = TcpStream::connect(origin.local_addr()).await.unwrap();
    let (sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(conn);
    let get = |path: String| {
        let mut sender = sender.clone();
        tokio::spawn(async move {
            let req = Request::get(format!("http://127.0.0.1{path}"))
                .body(Empty::<bytes::Bytes>::new())
                .unwrap();
            let resp = sender.send_request(req).await.unwrap();
            let status = resp.status().as_u16();
            let cache = resp
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap().to_owned());
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            (status, cache, body)
        })
    };
    let playlist = get("/live/v/index.m3u8?_HLS_msn=2&_HLS_part=0".into());
    let held = get(format!("/live/v/{EPOCH}/2.0.m4s"));
    let now = get("/healthz".into());
    let (s, _, b) = tokio::time::timeout(Duration::from_secs(2), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (s, &b[..]),
        (200, &b"ok\n"[..]),
        "a blocked stream held up another on the connection"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!playlist.is_finished() && !held.is_finished());
    part(stream.rendition("v").unwrap(), 2, 0, 0.25, 3000);
    let (s, cache, body) = tokio::time::timeout(Duration::from_secs(2), playlist)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s, 200);
    assert_eq!(cache.as_deref(), Some("public, max-age=6"));
    assert!(String::from_utf8_lossy(&body).contains("2.0.m4s"));
    let (s, _, body) = tokio::time::timeout(Duration::from_secs(2), held)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s, 200);
    assert_eq!(body, part_bytes(2, 0, 3000));
}
