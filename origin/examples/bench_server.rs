//! Bench origin: a store with synthetic CMAF-like parts, a publisher adding one part every
//! `--publish-ms` to every rendition, served on `--addr` (127.0.0.1 only). With `--dump-dir`
//! it also writes the prefilled init/parts/segments as files at the same paths, so nginx can
//! serve the same bytes for comparison. Used by scripts/bench-origin.
//!
//! With `--on-signal`, parts are `--publish-ms` long but published only when the process gets
//! SIGUSR1 (one part per signal), so that a load client can time a herd from the publish.
//!
//! `cargo run --release -p origin --example bench_server -- --addr 127.0.0.1:18080 \
//!    [--publish-ms 333] [--on-signal] [--part-bytes 40000] [--parts 6] [--seconds 120] [--dump-dir DIR]`

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use origin::OriginOptions;
use packager::cmaf::{CodecConfig, Event, InitSegment, MediaKind, Part, SegmentInfo, TrackInfo};
use packager::config::FrameRate;
use packager::rendition::Language;
use packager::store::{Rendition, RenditionInfo, RenditionKind, Store, Stream, StreamSettings};

const EPOCH: u64 = 1_700_000_000;
const TS: u32 = 90_000;

struct Args {
    addr: SocketAddr,
    publish_ms: u64,
    part_bytes: usize,
    parts: u32,
    seconds: u64,
    dump_dir: Option<PathBuf>,
    on_signal: bool,
}

fn args() -> Args {
    let mut a = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 18080)),
        publish_ms: 333,
        part_bytes: 40_000,
        parts: 6,
        seconds: 120,
        dump_dir: None,
        on_signal: false,
    };
    let mut v: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = v.iter().position(|x| x == "--on-signal") {
        v.remove(i);
        a.on_signal = true;
    }
    for kv in v.chunks(2) {
        let val = kv.get(1).cloned().unwrap_or_default();
        match kv[0].as_str() {
            "--addr" => a.addr = val.parse().expect("--addr ip:port"),
            "--publish-ms" => a.publish_ms = val.parse().expect("--publish-ms"),
            "--part-bytes" => a.part_bytes = val.parse().expect("--part-bytes"),
            "--parts" => a.parts = val.parse().expect("--parts"),
            "--seconds" => a.seconds = val.parse().expect("--seconds"),
            "--dump-dir" => a.dump_dir = Some(PathBuf::from(val)),
            o => panic!("unknown argument {o}"),
        }
    }
    assert!(a.addr.ip().is_loopback(), "bench binds 127.0.0.1 only");
    a
}

fn payload(msn: u64, idx: u32, len: usize) -> Bytes {
    let mut b = BytesMut::with_capacity(len);
    b.put_u32(16);
    b.put_slice(b"moof");
    b.put_u64(msn << 16 | u64::from(idx));
    b.put_u32((len - 16) as u32);
    b.put_slice(b"mdat");
    b.resize(len, (msn as u8) ^ (idx as u8));
    b.freeze()
}

fn publish(r: &Rendition, msn: u64, idx: u32, a: &Args) {
    let secs = a.publish_ms as f64 / 1000.0;
    r.apply(Event::PartReady(Part {
        msn,
        index: idx,
        duration: (secs * f64::from(TS)) as u64,
        timescale: TS,
        independent: idx == 0,
        first_dts: 0,
        wallclock_ms: None,
        init_id: 0,
        discontinuity: false,
        bytes: payload(msn, idx, if r.name() == "a" { 2000 } else { a.part_bytes }),
        cues: Vec::new(),
    }));
    if idx + 1 == a.parts {
        r.apply(Event::SegmentClosed(SegmentInfo {
            msn,
            duration: (secs * f64::from(a.parts) * f64::from(TS)) as u64,
            timescale: TS,
            parts: a.parts,
        }));
    }
}

#[tokio::main]
async fn main() {
    let a = args();
    let seg_secs = a.publish_ms as f64 * f64::from(a.parts) / 1000.0;
    let settings = StreamSettings {
        name: "live".into(),
        epoch: EPOCH,
        target_duration: seg_secs.ceil() as u64,
        part_target: a.publish_ms as f64 / 1000.0,
        window_segments: 10,
        byterange_parts: false,
        first_msn: 0,
    };
    let stream = Stream::new(
        settings,
        vec![
            RenditionInfo::video("v", 1280, 720, FrameRate { num: 30, den: 1 }, 1000000),
            RenditionInfo {
                kind: RenditionKind::Audio {
                    channels: 2,
                    sample_rate: 48_000,
                    language: Language::parse("eng"),
                },
                ..RenditionInfo::audio("a", 2, 48_000, 64_000)
            },
        ],
    );
    for r in stream.renditions() {
        r.apply(Event::InitReady(InitSegment {
            id: 0,
            bytes: Bytes::from_static(b"\0\0\0\x10ftypiso6\0\0\0\0\0\0\0\x08moov"),
            codec_string: if r.name() == "v" {
                "avc1.64001f".into()
            } else {
                "mp4a.40.2".into()
            },
            track: TrackInfo {
                kind: MediaKind::Audio {
                    channels: 2,
                    sample_rate: 48_000,
                },
                codec: CodecConfig::Opus {
                    pre_skip: 0,
                    input_sample_rate: 48_000,
                },
                timescale: TS,
                language: "und".into(),
            },
        }));
    }
    // Prefill 8 segments so that media GETs have a window to hit.
    let (mut msn, mut idx) = (0u64, 0u32);
    for _ in 0..8 * a.parts {
        for r in stream.renditions() {
            publish(r, msn, idx, &a);
        }
        idx += 1;
        if idx == a.parts {
            idx = 0;
            msn += 1;
        }
    }
    if let Some(dir) = &a.dump_dir {
        let v = stream.rendition("v").expect("v");
        let base = dir.join("live/v").join(EPOCH.to_string());
        std::fs::create_dir_all(&base).expect("mkdir");
        std::fs::write(base.join("init-0.mp4"), v.init(0).expect("init")).expect("write");
        for m in 0..8u64 {
            let seg = v.segment(m).expect("segment");
            let cat: Vec<u8> = seg.chunks.iter().flat_map(|b| b.to_vec()).collect();
            std::fs::write(base.join(format!("{m}.m4s")), cat).expect("write");
            for i in 0..a.parts {
                let p = v.part(m, i).expect("part");
                std::fs::write(base.join(format!("{m}.{i}.m4s")), p.bytes).expect("write");
            }
        }
    }
    let store = Store::new();
    store.insert(Arc::clone(&stream));
    let listener = origin::listen(a.addr).expect("bind");
    println!(
        "ready {} epoch {EPOCH} parts {}",
        listener.local_addr().expect("addr"),
        a.parts
    );
    let seconds = a.seconds;
    let publisher = {
        let stream = Arc::clone(&stream);
        let every = Duration::from_millis(a.publish_ms.max(1));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            let mut poke =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
                    .expect("SIGUSR1 handler");
            loop {
                if a.on_signal {
                    poke.recv().await;
                } else {
                    tick.tick().await;
                }
                for r in stream.renditions() {
                    publish(r, msn, idx, &a);
                }
                idx += 1;
                if idx == a.parts {
                    idx = 0;
                    msn += 1;
                }
            }
        })
    };
    let opts = OriginOptions {
        max_connections: 30_000,
        header_read_timeout: Duration::from_secs(30),
        ..Default::default()
    };
    origin::serve(listener, store, opts, async move {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(seconds)) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    })
    .await;
    publisher.abort();
}
