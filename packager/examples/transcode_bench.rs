//! Encodes the embedded default ladder (720p 3M, 480p 1.4M, 360p 800k H.264, AAC 128k) from
//! a file as fast as possible and prints what it did. Used by `scripts/bench-transcode`.
//!
//! `cargo run --release -p packager --example transcode_bench -- INPUT`

use packager::config::Config;
use packager::transcode::{self, Feed};
use std::time::Instant;

fn main() {
    let Some(input) = std::env::args().nth(1) else {
        eprintln!("usage: transcode_bench INPUT");
        std::process::exit(2);
    };
    let mut config = Config::default_embedded();
    let Some(stream) = config.streams.first_mut() else {
        eprintln!("embedded default has no stream");
        std::process::exit(1);
    };
    stream.input.url = input;
    stream.input.realtime = false;
    let started = Instant::now();
    let (pipeline, feeds) = match transcode::start(stream) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let readers: Vec<_> = feeds
        .into_iter()
        .map(|feed| {
            std::thread::spawn(move || {
                let mut rx = feed.rx;
                let (mut samples, mut bytes, mut last_end) = (0u64, 0u64, 0i64);
                let mut timescale = 1;
                while let Some(item) = rx.blocking_recv() {
                    match item {
                        Feed::Track(t) => timescale = t.timescale,
                        Feed::Sample(s) => {
                            samples += 1;
                            bytes += s.data.len() as u64;
                            last_end = s.dts + i64::from(s.duration);
                        }
                        Feed::Discontinuity | Feed::End => {}
                    }
                }
                (
                    feed.info.name,
                    samples,
                    bytes,
                    last_end as f64 / f64::from(timescale),
                )
            })
        })
        .collect();
    let metrics = pipeline.metrics();
    if let Err(e) = pipeline.join() {
        eprintln!("{e}");
        std::process::exit(1);
    }
    let wall = started.elapsed().as_secs_f64();
    let mut media_seconds = 0.0f64;
    for r in readers {
        let Ok((name, samples, bytes, seconds)) = r.join() else {
            continue;
        };
        media_seconds = media_seconds.max(seconds);
        let kbps = if seconds > 0.0 {
            bytes as f64 * 8.0 / seconds / 1000.0
        } else {
            0.0
        };
        println!("rendition {name:<6} {samples:>6} samples {seconds:>7.2} s {kbps:>8.0} kb/s");
    }
    println!(
        "llhls: {media_seconds:.2} s of media in {wall:.2} s wall: {:.2}x real time; decode errors {}, queue full {}",
        media_seconds / wall,
        metrics.decode_errors.load(std::sync::atomic::Ordering::Relaxed),
        metrics.queue_full()
    );
}
