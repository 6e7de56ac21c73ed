//! 10,000 idle connections (issue: hostile requests): a separate process (Python's sockets, so
//! that neither end shares the other's file table) opens them and sends nothing. While they
//! are open the origin keeps serving, holding a bounded amount of memory for each; after the
//! first-byte deadline it has closed every one of them, and its connection count is back to 0.
//! Its own file: the memory figure is this process's RSS, which other tests would disturb.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use origin::OriginOptions;
use tokio::io::{AsyncBufReadExt, BufReader};

const N: usize = 10_000;

/// The client: opens N connections, prints `open N`, then waits (epoll) until the server has
/// closed them or `limit` seconds pass, and prints `closed K bytes B`.
const CLIENT: &str = r#"
import resource, select, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
host, port, n, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
socks = {}
for _ in range(n):
    s = socket.create_connection((host, port))
    s.setblocking(False)
    socks[s.fileno()] = s
print("open", len(socks), flush=True)
ep = select.epoll()
for fd in socks:
    ep.register(fd, select.EPOLLIN | select.EPOLLRDHUP)
closed, got, deadline = 0, 0, time.time() + limit
while socks and time.time() < deadline:
    for fd, _ in ep.poll(0.2):
        s = socks.get(fd)
        if s is None:
            continue
        try:
            data = s.recv(4096)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        got += len(data)
        if not data:
            ep.unregister(fd)
            s.close()
            del socks[fd]
            closed += 1
print("closed", closed, "bytes", got, flush=True)
"#;

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn open_connections(metrics: &str) -> i64 {
    metric(metrics, "llhls_open_connections") as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_idle_connections_are_held_cheaply_then_closed() {
    // The server holds N sockets: raise this process's open-file limit to its hard limit.
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap();
    assert!(
        limit >= N as u64 + 500,
        "open-file hard limit {limit} is below {N} connections plus room"
    );
    let (store, stream) = store(1, 0.25, false);
    fill(&stream, 3, 4, 0.25);
    let first_byte = Duration::from_secs(3);
    let opts = OriginOptions {
        header_read_timeout: first_byte,
        ..OriginOptions::default()
    };
    let origin = start_with(store, opts).await;
    let a = origin.local_addr();
    assert_eq!(get(a, "/live/v/index.m3u8").await.status, 200);
    let rss0 = rss_kb();

    let mut client = tokio::process::Command::new("python3")
        .args(["-c", CLIENT, "127.0.0.1", &a.port().to_string()])
        .args([N.to_string(), "30".into()])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs");
    let mut lines = BufReader::new(client.stdout.take().unwrap()).lines();
    let opened_at = Instant::now();
    let open = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("client opened its connections within 20 s")
        .unwrap()
        .unwrap_or_default();
    assert_eq!(open, format!("open {N}"));

    // All accepted and counted (the accept loop may still be draining the backlog).
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let n = open_connections(&get(a, "/metrics").await.text());
        if n >= N as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {n} of {N} connections open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let per_connection = (rss_kb().saturating_sub(rss0)) * 1024 / N as u64;
    eprintln!("{N} idle connections: {per_connection} bytes of origin RSS each");
    assert!(
        per_connection < 16 * 1024,
        "{per_connection} bytes of RSS per idle connection"
    );
    // Still serving, while they are all open (well inside the first-byte deadline).
    assert!(opened_at.elapsed() < first_byte, "test setup too slow");
    assert_eq!(get(a, "/healthz").await.status, 200);
    let playlist = get(a, "/live/v/index.m3u8?_HLS_msn=2&_HLS_part=3").await;
    assert_eq!(playlist.status, 200);

    let report = tokio::time::timeout(Duration::from_secs(40), lines.next_line())
        .await
        .expect("client reported within 40 s")
        .unwrap()
        .unwrap_or_default();
    assert_eq!(
        report,
        format!("closed {N} bytes 0"),
        "every idle connection closed by the origin, nothing sent"
    );
    let _ = client.wait().await;
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let n = open_connections(&get(a, "/metrics").await.text());
        // The /metrics request itself is one open connection.
        if n <= 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{n} connections still counted open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
