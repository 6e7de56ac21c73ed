//! Chunking throughput on one core: a 6 Mb/s-like 30 fps H.264 rendition (IDR every 2 s at
//! 4x the size of a P frame), pushed through the chunker and drained.
//! `cargo bench -p packager --bench chunker`

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use packager::cmaf::{Chunker, ChunkerConfig, CodecConfig, EncodedSample, MediaKind, TrackInfo};

const FPS: u32 = 30;
const BITRATE: u64 = 6_000_000;
const SECONDS: usize = 10;

fn track() -> TrackInfo {
    TrackInfo {
        kind: MediaKind::Video {
            width: 1920,
            height: 1080,
        },
        codec: CodecConfig::Avc {
            sps: vec![Bytes::from_static(&[
                0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78,
            ])],
            pps: vec![Bytes::from_static(&[0x68, 0xeb, 0xe3, 0xcb])],
        },
        timescale: 90000,
        language: "und".into(),
    }
}

/// Ten seconds of samples whose sizes average 6 Mb/s.
fn samples() -> Vec<EncodedSample> {
    let gop = 2 * FPS as usize;
    let per_gop = (BITRATE / 8 * 2) as usize;
    let p_size = per_gop / (gop + 3); // IDR = 4 P frames
    (0..SECONDS * FPS as usize)
        .map(|i| {
            let sync = i % gop == 0;
            let size = if sync { 4 * p_size } else { p_size };
            let mut data = vec![0x5au8; size];
            data[..4].copy_from_slice(&((size - 4) as u32).to_be_bytes());
            let dts = i as i64 * 3000;
            EncodedSample {
                dts,
                pts: dts + 3000,
                duration: 3000,
                sync,
                data: Bytes::from(data),
                wallclock_ms: None,
                next_sync: false,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let input = samples();
    let bytes: u64 = input.iter().map(|s| s.data.len() as u64).sum();
    let mut g = c.benchmark_group("chunker");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("6mbps_30fps_10s", |b| {
        b.iter(|| {
            let mut ch = Chunker::new(ChunkerConfig::default());
            ch.set_track(track()).unwrap();
            let mut out = 0usize;
            for s in input.iter().cloned() {
                ch.push(s).unwrap();
                while let Some(e) = ch.pull() {
                    if let packager::cmaf::Event::PartReady(p) = e {
                        out += p.bytes.len();
                    }
                }
            }
            ch.finish().unwrap();
            while ch.pull().is_some() {}
            out
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
