//! `[server.tls]` in the config: `llhls serve` serves HTTPS (HTTP/2 by ALPN) with the named
//! certificate, `llhls check` shows it, and a certificate that cannot be read stops `serve`
//! with an error naming the file and the config table, before anything listens.

#[path = "../origin/tests/common/cert.rs"]
mod cert;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn config(cert: &Path, key: &Path) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
tls = {{ cert = "{}", key = "{}" }}

[[stream]]
name = "t"
input = {{ url = "testpattern", testpattern = {{ width = 160, height = 90, frame_rate = 30 }} }}
audio = {{ codec = "none" }}

[[stream.rung]]
name = "90p"
bitrate = "100k"
preset = "ultrafast"
"#,
        cert.display(),
        key.display()
    )
}

/// Kills the server when the test ends, however it ends.
struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_uses_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = cert::self_signed(dir.path());
    let toml = dir.path().join("tls.toml");
    std::fs::write(&toml, config(&cert, &key)).unwrap();

    let check = Command::new(env!("CARGO_BIN_EXE_llhls"))
        .arg("check")
        .arg(&toml)
        .output()
        .unwrap();
    let described = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{described}");
    assert!(
        described.contains(&format!("HTTPS with {}", cert.display())),
        "{described}"
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_llhls"))
        .args(["serve", "--config"])
        .arg(&toml)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Server(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let base = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("serve printed no player URL in 20 s");
        if let Some(url) = line.strip_prefix("player: ") {
            break url.trim_end_matches('/').to_owned();
        }
    };
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");

    // curl (OpenSSL) trusting exactly this certificate: the handshake proves the origin
    // serves the configured pair, and ALPN picks HTTP/2.
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--http2", "--cacert"])
        .arg(&cert)
        .args(["-o", "/dev/null", "-w", "%{http_code} %{http_version}"])
        .arg(format!("{base}/healthz"))
        .output()
        .unwrap();
    let got = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        got,
        "200 2",
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn unreadable_certificate_stops_serve_with_the_file_and_table_named() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = cert::self_signed(dir.path());
    let missing = dir.path().join("missing.pem");
    let toml = dir.path().join("tls.toml");
    std::fs::write(&toml, config(&missing, &key)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_llhls"))
        .args(["serve", "--config"])
        .arg(&toml)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("[server.tls]"), "{stderr}");
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
}
