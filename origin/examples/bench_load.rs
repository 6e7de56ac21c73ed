//! Bench load client for scripts/bench-origin (127.0.0.1 only, bounded in count and time).
//!
//! `blocked --addr A --n 10000 --ahead 9 --parts 6`: opens N connections, each sending one
//!   blocking playlist request for the part `ahead` parts after the current one; prints when
//!   they were all sent, and the spread from the first to the last response.
//! `viewers --addr A --n 1000 --seconds 20 --parts 6`: N LL-HLS viewers, each on its own
//!   keep-alive connection looping "blocking reload for the next part, then GET that part".
//! `burst --addr A --n 10000 --path /live/v/index.m3u8`: opens N connections first, then all
//!   send one GET for PATH at the same moment; prints the time from that moment to the first
//!   and the last response. Run against nginx serving the same bytes, it is the floor that a
//!   herd of N held requests woken at once can be compared with on this machine (N requests
//!   answered at once, whoever answers them).
//!
//! `blocked … --poke PID`: instead of waiting for the server's own publishing, sends SIGUSR1
//!   to PID (bench_server `--on-signal`: publish one part) once every request is in place, and
//!   also prints the time from that publish to the first and the last response.
//!
//! With `--server-pids P[,P…]` (the server's processes: the origin, or nginx's workers),
//! `blocked` and `burst` also print the CPU time those processes spent from the moment every
//! request was in place until the last response arrived (`/proc/P/stat` utime + stime): the
//! server's cost of answering the herd, whoever else shares the cores.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

const EPOCH: u64 = 1_700_000_000;

struct Args {
    mode: String,
    addr: SocketAddr,
    n: usize,
    ahead: u32,
    parts: u32,
    seconds: u64,
    path: String,
    server_pids: Vec<u32>,
    poke: Option<u32>,
}

fn args() -> Args {
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut a = Args {
        mode: v.first().cloned().unwrap_or_default(),
        addr: SocketAddr::from(([127, 0, 0, 1], 18080)),
        n: 1000,
        ahead: 9,
        parts: 6,
        seconds: 20,
        path: "/live/v/index.m3u8".into(),
        server_pids: Vec::new(),
        poke: None,
    };
    for kv in v[1..].chunks(2) {
        let val = kv.get(1).cloned().unwrap_or_default();
        match kv[0].as_str() {
            "--addr" => a.addr = val.parse().expect("--addr"),
            "--n" => a.n = val.parse().expect("--n"),
            "--ahead" => a.ahead = val.parse().expect("--ahead"),
            "--parts" => a.parts = val.parse().expect("--parts"),
            "--seconds" => a.seconds = val.parse().expect("--seconds"),
            "--path" => a.path = val,
            "--poke" => a.poke = Some(val.parse().expect("--poke")),
            "--server-pids" => {
                a.server_pids = val
                    .split(',')
                    .map(|p| p.parse().expect("--server-pids"))
                    .collect()
            }
            o => panic!("unknown argument {o}"),
        }
    }
    assert!(a.addr.ip().is_loopback(), "load goes to 127.0.0.1 only");
    assert!(a.n <= 20_000 && a.seconds <= 120, "bounded load");
    a
}

/// Reads one response with a Content-Length body; returns (status, body).
async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<(u16, Vec<u8>)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status = head
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                read_more(s, buf).await?;
            }
            let body = buf[end + 4..end + 4 + len].to_vec();
            buf.drain(..end + 4 + len);
            return Ok((status, body));
        }
        read_more(s, buf).await?;
    }
}

/// The status of the one response expected on `s`, within 30 s (`None`: none came).
async fn one_status(s: &mut TcpStream) -> Option<u16> {
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), read_response(s, &mut buf));
    Some(read.await.ok()?.ok()?.0)
}

async fn read_more(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut tmp = [0u8; 16384];
    let n = s.read(&mut tmp).await?;
    if n == 0 {
        return Err(std::io::Error::other("closed"));
    }
    buf.extend_from_slice(&tmp[..n]);
    Ok(())
}

/// The newest (msn, part) of rendition v, from the playlist's preload hint.
async fn current(addr: SocketAddr) -> (u64, u32) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /live/v/index.m3u8 HTTP/1.1\r\nHost: b\r\n\r\n")
        .await
        .expect("write");
    let (_, body) = read_response(&mut s, &mut Vec::new())
        .await
        .expect("playlist");
    let text = String::from_utf8_lossy(&body);
    let hint = text
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""))
        .expect("hint");
    let name = hint.split('"').next().unwrap().rsplit('/').next().unwrap();
    let mut it = name.trim_end_matches(".m4s").split('.');
    (
        it.next().unwrap().parse().unwrap(),
        it.next().unwrap().parse().unwrap(),
    )
}

/// CPU seconds (user, system) the processes `pids` have used so far.
fn cpu_seconds(pids: &[u32]) -> (f64, f64) {
    // Linux's USER_HZ: /proc times are in 1/100 s on every architecture Linux runs here.
    const TICKS_PER_SECOND: f64 = 100.0;
    let (mut user, mut sys) = (0u64, 0u64);
    for pid in pids {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        user += f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        sys += f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    }
    (
        user as f64 / TICKS_PER_SECOND,
        sys as f64 / TICKS_PER_SECOND,
    )
}

/// ` server_cpu_ms=… (user …, sys …)` for the herd, or nothing when no server pid was given.
fn server_cpu(pids: &[u32], since: (f64, f64)) -> String {
    if pids.is_empty() {
        return String::new();
    }
    let (u, s) = cpu_seconds(pids);
    let (u, s) = ((u - since.0) * 1000.0, (s - since.1) * 1000.0);
    format!(" server_cpu_ms={:.0} user_ms={u:.0} sys_ms={s:.0}", u + s)
}

/// ` client_cpu_ms=…`: this load client's own CPU since `since`; it shares the cores with
/// the server, so the herd's wall time is bounded by both.
fn client_cpu(since: (f64, f64)) -> String {
    let (u, s) = cpu_seconds(&[std::process::id()]);
    format!(" client_cpu_ms={:.0}", (u + s - since.0 - since.1) * 1000.0)
}

fn advance((m, p): (u64, u32), k: u32, parts: u32) -> (u64, u32) {
    let total = p + k;
    (m + u64::from(total / parts), total % parts)
}

fn pct(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * q).round() as usize]
}

async fn blocked(a: Args) {
    let hint = current(a.addr).await;
    let (m, p) = advance(hint, a.ahead, a.parts);
    let target =
        format!("GET /live/v/index.m3u8?_HLS_msn={m}&_HLS_part={p} HTTP/1.1\r\nHost: b\r\n\r\n");
    let start = Instant::now();
    let connects = Arc::new(Semaphore::new(256));
    let sent = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(a.n);
    for _ in 0..a.n {
        let (connects, sent, target, addr) = (
            Arc::clone(&connects),
            Arc::clone(&sent),
            target.clone(),
            a.addr,
        );
        tasks.push(tokio::spawn(async move {
            let permit = connects.acquire_owned().await.ok()?;
            let mut s = TcpStream::connect(addr).await.ok()?;
            s.write_all(target.as_bytes()).await.ok()?;
            drop(permit);
            sent.fetch_add(1, Relaxed);
            let status = one_status(&mut s).await?;
            // The connection stays open (returned) until every response is in, as a viewer's
            // would: the figure is answering the herd, not tearing connections down.
            Some((status, Instant::now(), s))
        }));
    }
    let mut all_sent_ms = None;
    while all_sent_ms.is_none() {
        tokio::time::sleep(Duration::from_millis(5)).await;
        if sent.load(Relaxed) as usize >= a.n {
            all_sent_ms = Some(start.elapsed().as_millis());
        }
        if start.elapsed() > Duration::from_secs(30) {
            break;
        }
    }
    // Let the server finish reading the last requests; the awaited part comes later.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let cpu0 = cpu_seconds(&a.server_pids);
    let own0 = cpu_seconds(&[std::process::id()]);
    let published = a.poke.map(|pid| {
        let at = Instant::now();
        let target = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .expect("--poke pid");
        if let Err(e) = rustix::process::kill_process(target, rustix::process::Signal::USR1) {
            panic!("kill -USR1 {pid}: {e}");
        }
        at
    });
    let mut done = Vec::new();
    let mut open = Vec::with_capacity(a.n);
    let mut errors = 0;
    for t in tasks {
        match t.await.ok().flatten() {
            Some((200, at, s)) => {
                done.push(at);
                open.push(s);
            }
            _ => errors += 1,
        }
    }
    let cpu = server_cpu(&a.server_pids, cpu0) + &client_cpu(own0);
    drop(open);
    let first = done.iter().min().copied();
    let mut spread: Vec<f64> = done
        .iter()
        .map(|t| first.map_or(0.0, |f| t.duration_since(f).as_secs_f64() * 1000.0))
        .collect();
    let last = spread.iter().cloned().fold(0.0, f64::max);
    let from_publish = match (published, first, done.iter().max()) {
        (Some(at), Some(f), Some(l)) => format!(
            " publish_to_first_ms={:.1} publish_to_last_ms={:.1}",
            f.duration_since(at).as_secs_f64() * 1000.0,
            l.duration_since(at).as_secs_f64() * 1000.0
        ),
        _ => String::new(),
    };
    println!(
        "blocked n={} ok={} errors={} waited_for={m}.{p} all_sent_ms={:?} first_to_last_ms={last:.1} spread_p50_ms={:.1} spread_p99_ms={:.1}{from_publish}{cpu}",
        a.n,
        done.len(),
        errors,
        all_sent_ms,
        pct(&mut spread, 0.5),
        pct(&mut spread, 0.99)
    );
}

async fn viewers(a: Args) {
    let stop = Instant::now() + Duration::from_secs(a.seconds);
    let reqs = Arc::new(AtomicU64::new(0));
    let errs = Arc::new(AtomicU64::new(0));
    let hint = current(a.addr).await;
    let mut tasks = Vec::new();
    let connects = Arc::new(Semaphore::new(128));
    for _ in 0..a.n {
        let (reqs, errs, connects, addr, parts) = (
            Arc::clone(&reqs),
            Arc::clone(&errs),
            Arc::clone(&connects),
            a.addr,
            a.parts,
        );
        tasks.push(tokio::spawn(async move {
            let permit = connects.acquire_owned().await.ok()?;
            let mut s = TcpStream::connect(addr).await.ok()?;
            drop(permit);
            let mut buf = Vec::new();
            let mut at = hint;
            while Instant::now() < stop {
                let (m, p) = at;
                let req = format!(
                    "GET /live/v/index.m3u8?_HLS_msn={m}&_HLS_part={p} HTTP/1.1\r\nHost: b\r\n\r\nGET /live/v/{EPOCH}/{m}.{p}.m4s HTTP/1.1\r\nHost: b\r\n\r\n"
                );
                if s.write_all(req.as_bytes()).await.is_err() {
                    errs.fetch_add(1, Relaxed);
                    return None;
                }
                for _ in 0..2 {
                    match read_response(&mut s, &mut buf).await {
                        Ok((200, _)) => {
                            reqs.fetch_add(1, Relaxed);
                        }
                        _ => {
                            errs.fetch_add(1, Relaxed);
                        }
                    }
                }
                at = advance(at, 1, parts);
            }
            Some(())
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    println!(
        "viewers n={} seconds={} ok_responses={} errors={}",
        a.n,
        a.seconds,
        reqs.load(Relaxed),
        errs.load(Relaxed)
    );
}

async fn burst(a: Args) {
    let request = format!("GET {} HTTP/1.1\r\nHost: b\r\n\r\n", a.path);
    let connects = Arc::new(Semaphore::new(256));
    let connected = Arc::new(AtomicU64::new(0));
    let (go_tx, go_rx) = tokio::sync::watch::channel(None::<Instant>);
    let mut tasks = Vec::with_capacity(a.n);
    for _ in 0..a.n {
        let (connects, connected, request, addr, mut go) = (
            Arc::clone(&connects),
            Arc::clone(&connected),
            request.clone(),
            a.addr,
            go_rx.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let permit = connects.acquire_owned().await.ok()?;
            let mut s = TcpStream::connect(addr).await.ok()?;
            drop(permit);
            connected.fetch_add(1, Relaxed);
            let start = (*go.wait_for(Option::is_some).await.ok()?)?;
            s.write_all(request.as_bytes()).await.ok()?;
            let status = one_status(&mut s).await?;
            // Held open until every response is in, as in `blocked`.
            Some((status, Instant::now().duration_since(start), s))
        }));
    }
    let ramp = Instant::now();
    while (connected.load(Relaxed) as usize) < a.n && ramp.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Let the accepts settle, then fire.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu0 = cpu_seconds(&a.server_pids);
    let own0 = cpu_seconds(&[std::process::id()]);
    go_tx.send_replace(Some(Instant::now()));
    let mut done = Vec::new();
    let mut open = Vec::with_capacity(a.n);
    let mut errors = 0;
    for t in tasks {
        match t.await.ok().flatten() {
            Some((200, d, s)) => {
                done.push(d.as_secs_f64() * 1000.0);
                open.push(s);
            }
            _ => errors += 1,
        }
    }
    let cpu = server_cpu(&a.server_pids, cpu0) + &client_cpu(own0);
    drop(open);
    let first = done.iter().cloned().fold(f64::INFINITY, f64::min);
    let last = done.iter().cloned().fold(0.0, f64::max);
    println!(
        "burst n={} ok={} errors={} path={} go_to_first_ms={first:.1} go_to_last_ms={last:.1} p50_ms={:.1} p99_ms={:.1}{cpu}",
        a.n,
        done.len(),
        errors,
        a.path,
        pct(&mut done, 0.5),
        pct(&mut done, 0.99)
    );
}

#[tokio::main]
async fn main() {
    let a = args();
    match a.mode.as_str() {
        "blocked" => blocked(a).await,
        "viewers" => viewers(a).await,
        "burst" => burst(a).await,
        m => panic!("mode must be blocked, viewers or burst, not {m:?}"),
    }
}
