//! HTTPS: a self-signed certificate made here, the origin on 127.0.0.1, and curl (OpenSSL, an
//! independent TLS and HTTP/2 client) speaking HTTP/2 and HTTP/1.1 to it by ALPN.

mod common;

use common::cert::self_signed;

use std::process::Command;

use origin::OriginOptions;
use packager::store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_http2_and_http1_by_alpn() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = self_signed(dir.path());
    let tls = origin::tls::load(&cert_path, &key_path).unwrap();
    let opts = OriginOptions {
        tls: Some(tls),
        ..OriginOptions::default()
    };
    let server = common::start_with(Store::new(), opts).await;
    let url = format!("https://127.0.0.1:{}/healthz", server.local_addr().port());
    for (flag, want) in [("--http2", "2"), ("--http1.1", "1.1")] {
        let cert = cert_path.clone();
        let url2 = url.clone();
        let out = tokio::task::spawn_blocking(move || {
            Command::new("curl")
                .args(["-sS", "--max-time", "10", "--cacert"])
                .arg(&cert)
                .args([flag, "-w", "\n%{http_version}", &url2])
                .output()
        })
        .await
        .unwrap()
        .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "curl {flag}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            text.trim_end().rsplit('\n').next(),
            Some(want),
            "{flag}: {text}"
        );
        assert!(text.starts_with("ok"), "{text}");
    }
    // Plain HTTP on the TLS port is refused, not served.
    let plain = format!("http://127.0.0.1:{}/healthz", server.local_addr().port());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args(["-sS", "--max-time", "5", &plain])
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).starts_with("ok"));
    // Refused by the TLS layer at once (rustls answers with an alert, which curl reads as
    // HTTP/0.9 garbage, exit 1; or the connection closes, 52/56), not left hanging until
    // curl's own timeout (28), and never served (0).
    assert!(
        matches!(out.status.code(), Some(1) | Some(52) | Some(56)),
        "plain HTTP on the TLS port: curl exit {:?}, {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_reload_over_tls_is_held_then_answered() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let (store, stream) = common::store(1, 0.25, false);
    common::fill(&stream, 2, 4, 0.25);
    let opts = OriginOptions {
        tls: Some(origin::tls::load(&cert, &key).unwrap()),
        ..OriginOptions::default()
    };
    let server = common::start_with(store, opts).await;
    let url = format!(
        "https://127.0.0.1:{}/live/v/index.m3u8?_HLS_msn=2&_HLS_part=0",
        server.local_addr().port()
    );
    let curl = tokio::task::spawn_blocking(move || {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "10", "--http2", "--cacert"])
            .arg(&cert)
            .args(["-w", "\n%{http_code} %{http_version}", &url])
            .output()
            .unwrap();
        (std::time::Instant::now(), out)
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!curl.is_finished(), "answered before the part existed");
    let published = std::time::Instant::now();
    common::part(stream.rendition("v").unwrap(), 2, 0, 0.25, 400);
    let (answered, out) = curl.await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with("\n200 2"), "{text}");
    assert!(
        text.contains("2.0.m4s"),
        "the playlist holds the awaited part: {text}"
    );
    assert!(answered >= published);
    server.shutdown().await;
}

#[test]
fn a_missing_or_bad_certificate_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.pem");
    let err = origin::tls::load(&missing, &missing)
        .unwrap_err()
        .to_string();
    assert!(err.contains("none.pem"), "{err}");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let err = origin::tls::load(&junk, &junk).unwrap_err().to_string();
    assert!(err.contains("junk.pem"), "{err}");
}
