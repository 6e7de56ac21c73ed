//! Cue figures (scripts/bench-cues runs this in release):
//! 1. POST → cue in every playlist: the embedded default ladder live, a cue posted every 0.5 s;
//!    the 201 comes once every rendition published the part with the cue's frame; each is then
//!    checked in all playlists. p50/p99 in ms and in part targets.
//! 2. A flood: POSTs from 64 connections as fast as they go for a bounded time, while a viewer
//!    keeps reloading a playlist: posts/s, statuses, the viewer's GET times before and during,
//!    the process RSS before and after (the book holds at most 2,000 cues).
//! 3. 1,000 cues in the window: the media playlist's render time and size (pure model).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Method;
use packager::config::Config;
use packager::live::{self, Options};
use packager::playlist::{DateRange, DateRangeEntry, MediaPlaylist, PartTag, Segment, Skip};
use packager::store::Store;

const TOKEN: &str = "bench-token";

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let cues: usize = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(40);
    let flood_secs: f64 = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(3.0);

    let config = Config::default_embedded();
    let stream_cfg = &config.streams[0];
    let running = live::start(stream_cfg, &Options::default())?;
    let store = Store::new();
    store.insert(running.stream.clone());
    let rt = tokio::runtime::Runtime::new()?;
    let server = rt.block_on(origin::Origin::bind(
        "127.0.0.1:0".parse()?,
        store,
        origin::OriginOptions {
            api_token: Some(origin::ApiToken::new(TOKEN)),
            ..origin::OriginOptions::default()
        },
    ))?;
    let root = format!("http://{}", server.local_addr());
    let name = stream_cfg.name.clone();
    let api = format!("{root}/api/v1/streams/{name}/cues");
    let auth = format!("Bearer {TOKEN}");
    let renditions: Vec<String> = running
        .stream
        .renditions()
        .iter()
        .map(|r| r.name().to_owned())
        .collect();
    // Let the ladder run a few seconds.
    std::thread::sleep(Duration::from_secs(4));

    // 1. POST → in every playlist.
    let mut answered = Vec::new();
    let mut missing = 0;
    for i in 0..cues {
        let started = Instant::now();
        let body =
            format!(r#"{{"id":"bench-{i}","class":"com.example.bench","data":{{"i":{i}}}}}"#);
        let r = rt.block_on(origin::client::fetch(
            Method::POST,
            &api,
            &[("authorization", &auth)],
            Bytes::from(body),
            Duration::from_secs(10),
        ))?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if r.status.as_u16() != 201 {
            anyhow::bail!("cue {i}: {} {}", r.status, r.text());
        }
        for rendition in &renditions {
            let p = rt.block_on(origin::client::get(
                &format!("{root}/{name}/{rendition}/index.m3u8"),
                &[],
                Duration::from_secs(5),
            ))?;
            if !p.text().contains(&format!("ID=\"bench-{i}\"")) {
                missing += 1;
            }
        }
        answered.push(ms);
        std::thread::sleep(Duration::from_millis(500).saturating_sub(started.elapsed()));
    }
    let part_ms = stream_cfg.part_target * 1000.0;
    let (p50, p99) = (quantile(&mut answered, 0.5), quantile(&mut answered, 0.99));
    println!(
        "POST -> in all {} playlists: {cues} cues, p50 {p50:.0} ms ({:.2} parts), p99 {p99:.0} ms ({:.2} parts); missing from a playlist after the 201: {missing}",
        renditions.len(),
        p50 / part_ms,
        p99 / part_ms
    );

    // 2. Flood, with a viewer reloading the first rendition's playlist.
    let viewer = |secs: f64| -> Vec<f64> {
        let url = format!("{root}/{name}/{}/index.m3u8", renditions[0]);
        let end = Instant::now() + Duration::from_secs_f64(secs);
        let mut t = Vec::new();
        while Instant::now() < end {
            let s = Instant::now();
            let ok = rt
                .block_on(origin::client::get(&url, &[], Duration::from_secs(5)))
                .is_ok_and(|r| r.status.as_u16() == 200);
            t.push(if ok {
                s.elapsed().as_secs_f64() * 1000.0
            } else {
                f64::INFINITY
            });
            std::thread::sleep(Duration::from_millis(20));
        }
        t
    };
    let mut quiet = viewer(2.0);
    let rss_before = rss_kb();
    let stop = Arc::new(AtomicBool::new(false));
    let counts: Arc<[AtomicU64; 6]> = Arc::new(Default::default());
    let flood = {
        let (stop, counts, api, auth) = (stop.clone(), counts.clone(), api.clone(), auth.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async {
                let mut set = tokio::task::JoinSet::new();
                for c in 0..64 {
                    let (stop, counts, api, auth) =
                        (stop.clone(), counts.clone(), api.clone(), auth.clone());
                    set.spawn(async move {
                        let mut n = 0u64;
                        while !stop.load(Ordering::Relaxed) {
                            n += 1;
                            let body = format!(
                                r#"{{"class":"com.example.flood","data":"{c}-{n} \"quoted\" ünï"}}"#
                            );
                            let slot = match origin::client::fetch(
                                Method::POST,
                                &api,
                                &[("authorization", &auth)],
                                Bytes::from(body),
                                Duration::from_secs(10),
                            )
                            .await
                            {
                                Ok(r) => match r.status.as_u16() {
                                    201 => 0,
                                    202 => 1,
                                    429 => 2,
                                    s if s >= 500 => 3,
                                    _ => 4,
                                },
                                Err(_) => 5,
                            };
                            counts[slot].fetch_add(1, Ordering::Relaxed);
                        }
                    });
                }
                set.join_all().await;
            });
        })
    };
    let flood_started = Instant::now();
    let mut loud = viewer(flood_secs);
    stop.store(true, Ordering::Relaxed);
    let _ = flood.join();
    let elapsed = flood_started.elapsed().as_secs_f64();
    let c: Vec<u64> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    let total: u64 = c.iter().sum();
    let rss_after = rss_kb();
    println!(
        "flood: {total} POSTs in {elapsed:.1} s ({:.0}/s): 201 {} 202 {} 429 {} 5xx {} other {} failed {}; cues held {}",
        total as f64 / elapsed,
        c[0], c[1], c[2], c[3], c[4], c[5],
        running.stream.cues().list().len()
    );
    println!(
        "viewer playlist GET: quiet p50 {:.1} ms p99 {:.1} ms; during the flood p50 {:.1} ms p99 {:.1} ms ({} GETs); RSS {} -> {} MB",
        quantile(&mut quiet, 0.5),
        quantile(&mut quiet, 0.99),
        quantile(&mut loud, 0.5),
        quantile(&mut loud, 0.99),
        loud.len(),
        rss_before / 1024,
        rss_after / 1024
    );

    // 3. Render time and size with 1,000 cues in the window.
    let segments: Vec<Segment> = (0..30u64)
        .map(|msn| Segment {
            msn,
            uri: format!("1700000000/{msn}.m4s"),
            duration: 2.0,
            complete: true,
            program_date_time_ms: Some(1_700_000_000_000 + msn as i64 * 2000),
            parts: (0..6)
                .map(|p| PartTag {
                    uri: format!("1700000000/{msn}.{p}.m4s"),
                    duration: 1.0 / 3.0,
                    independent: p == 0,
                    byterange: None,
                })
                .collect(),
            ..Segment::default()
        })
        .collect();
    let date_ranges = |n: usize| -> Vec<DateRangeEntry> {
        (0..n)
            .map(|i| DateRangeEntry {
                tag: DateRange {
                    id: format!("cue-1765000000000-{i}"),
                    class: Some("com.example.poll".into()),
                    start_ms: 1_700_000_000_000 + i as i64 * 60,
                    end_ms: None,
                    duration: Some(15.0),
                    client: vec![("X-LLHLS-DATA".into(), "eyJxIjoiV2hvIHdpbnM/In0=".into())],
                },
                added_ms: 1_700_000_000_000 + i as i64 * 60,
            })
            .collect()
    };
    for n in [0usize, 1000] {
        let model = MediaPlaylist {
            target_duration: 2,
            part_target: 1.0 / 3.0,
            segments: segments.clone(),
            independent_segments: true,
            date_ranges: date_ranges(n),
            ..MediaPlaylist::default()
        };
        let rounds = 200;
        let started = Instant::now();
        let mut bytes = 0;
        for _ in 0..rounds {
            bytes = std::hint::black_box(model.render(Skip::No)).len();
        }
        let us = started.elapsed().as_secs_f64() * 1e6 / rounds as f64;
        println!(
            "render with {n} cues: {us:.0} µs, {bytes} bytes ({:.1} kB)",
            bytes as f64 / 1024.0
        );
    }

    rt.block_on(server.shutdown());
    running.stop()?;
    Ok(())
}
