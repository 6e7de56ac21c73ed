//! The real transcode pipeline on real fixtures (libavformat, libx264, AAC), verified by
//! ffprobe over the elementary streams rebuilt from the emitted samples.

use packager::cmaf::{CodecConfig, EncodedSample, TrackInfo};
use packager::config::{Config, StreamConfig};
use packager::transcode::{self, Feed, Pipeline, RenditionFeed, RenditionKind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

fn media(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/media")
        .join(name)
        .display()
        .to_string()
}

/// A stream config from a TOML body (the `[[stream]]` header is added).
fn stream(body: &str) -> StreamConfig {
    let text = format!("[[stream]]\nname = \"t\"\n{body}");
    Config::from_toml_str(&text, "test")
        .unwrap_or_else(|e| panic!("{e}"))
        .streams
        .remove(0)
}

const SMALL_LADDER: &str = r#"
[[stream.rung]]
name = "180p"
width = 320
height = 180
bitrate = "300k"
preset = "ultrafast"

[[stream.rung]]
name = "90p"
width = 160
height = 90
bitrate = "100k"
preset = "ultrafast"
"#;

/// What one rendition emitted.
#[derive(Debug, Default)]
struct Collected {
    name: String,
    track: Option<TrackInfo>,
    samples: Vec<EncodedSample>,
    /// Index into `samples` of the sample each Discontinuity preceded.
    discontinuities: Vec<usize>,
    ended: bool,
    order_ok: bool,
}

fn collect(feed: RenditionFeed) -> (RenditionKind, JoinHandle<Collected>) {
    let kind = feed.kind;
    let mut rx = feed.rx;
    let name = feed.name;
    let h = std::thread::spawn(move || {
        let mut c = Collected {
            name,
            order_ok: true,
            ..Default::default()
        };
        while let Some(item) = rx.blocking_recv() {
            match item {
                Feed::Track(t) => {
                    c.order_ok &= c.track.is_none() && c.samples.is_empty();
                    c.track = Some(t);
                }
                Feed::Sample(s) => {
                    c.order_ok &= c.track.is_some() && !c.ended;
                    c.samples.push(s);
                }
                Feed::Discontinuity => c.discontinuities.push(c.samples.len()),
                Feed::End => c.ended = true,
            }
        }
        c
    });
    (kind, h)
}

/// Runs `cfg` until `enough` says so (or the input ends), then stops and collects.
fn run(cfg: &StreamConfig, enough: impl Fn(&Pipeline) -> bool) -> Vec<(RenditionKind, Collected)> {
    let (pipeline, feeds) = transcode::start(cfg).unwrap_or_else(|e| panic!("start: {e}"));
    finish(pipeline, feeds, enough)
}

fn finish(
    pipeline: Pipeline,
    feeds: Vec<RenditionFeed>,
    enough: impl Fn(&Pipeline) -> bool,
) -> Vec<(RenditionKind, Collected)> {
    let handles: Vec<_> = feeds.into_iter().map(collect).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !pipeline.is_finished() && !enough(&pipeline) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    pipeline.stop();
    pipeline.join().expect("pipeline ends cleanly");
    handles
        .into_iter()
        .map(|(k, h)| (k, h.join().expect("collector")))
        .collect()
}

fn frames_in(n: u64) -> impl Fn(&Pipeline) -> bool {
    move |p| p.metrics().frames_in.load(Ordering::Relaxed) >= n
}

/// Rebuilds an Annex-B H.264 stream (parameter sets, then every sample with start codes).
fn write_h264(dir: &Path, c: &Collected) -> PathBuf {
    let mut out = Vec::new();
    let (sets, ext): (Vec<_>, _) = match &c.track {
        Some(TrackInfo {
            codec: CodecConfig::Avc { sps, pps },
            ..
        }) => (sps.iter().chain(pps).collect(), "h264"),
        Some(TrackInfo {
            codec: CodecConfig::Hevc { vps, sps, pps },
            ..
        }) => (vps.iter().chain(sps).chain(pps).collect(), "hevc"),
        _ => panic!("{}: not video", c.name),
    };
    for nal in sets {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
    }
    for s in &c.samples {
        let mut i = 0;
        while i < s.data.len() {
            let len = u32::from_be_bytes(s.data[i..i + 4].try_into().unwrap()) as usize;
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(&s.data[i + 4..i + 4 + len]);
            i += 4 + len;
        }
    }
    let path = dir.join(format!("{}.{ext}", c.name));
    std::fs::write(&path, out).unwrap();
    path
}

/// Rebuilds an ADTS AAC stream (ISO/IEC 13818-7 ADTS header per frame) from the ASC.
fn write_adts(dir: &Path, c: &Collected) -> PathBuf {
    let Some(TrackInfo {
        codec: CodecConfig::Aac {
            audio_specific_config: asc,
        },
        ..
    }) = &c.track
    else {
        panic!("not aac")
    };
    let object = asc[0] >> 3;
    let freq_index = ((asc[0] & 7) << 1) | (asc[1] >> 7);
    let channels = (asc[1] >> 3) & 0xf;
    let mut out = Vec::new();
    for s in &c.samples {
        let len = s.data.len() + 7;
        out.extend_from_slice(&[
            0xff,
            0xf1,
            ((object - 1) << 6) | (freq_index << 2) | (channels >> 2),
            ((channels & 3) << 6) | ((len >> 11) as u8 & 3),
            (len >> 3) as u8,
            (((len & 7) as u8) << 5) | 0x1f,
            0xfc,
        ]);
        out.extend_from_slice(&s.data);
    }
    let path = dir.join(format!("{}.aac", c.name));
    std::fs::write(&path, out).unwrap();
    path
}

/// ffprobe: (width, height, decoded frame count) of the first stream.
fn probe(path: &Path) -> (String, u64) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "0",
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let frames = text
        .rsplit(',')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (text, frames)
}

fn video(out: &[(RenditionKind, Collected)]) -> Vec<&Collected> {
    out.iter()
        .filter(|(k, _)| matches!(k, RenditionKind::Video { .. }))
        .map(|(_, c)| c)
        .collect()
}

fn sync_pts(c: &Collected) -> Vec<i64> {
    c.samples.iter().filter(|s| s.sync).map(|s| s.pts).collect()
}

/// Every rendition: Track first, samples, End; dts never decreases; durations positive and
/// equal to the dts step (a continuous timeline).
fn assert_well_formed(c: &Collected) {
    assert!(
        c.order_ok && c.ended && c.track.is_some(),
        "{}: order/end/track",
        c.name
    );
    assert!(!c.samples.is_empty(), "{}: no samples", c.name);
    for w in c.samples.windows(2) {
        assert!(
            w[1].dts > w[0].dts,
            "{}: dts {} then {}",
            c.name,
            w[0].dts,
            w[1].dts
        );
        assert_eq!(
            w[0].dts + i64::from(w[0].duration),
            w[1].dts,
            "{}: gap after dts {}",
            c.name,
            w[0].dts
        );
    }
    assert!(
        c.samples.iter().all(|s| s.wallclock_ms.is_some()),
        "{}: wallclock",
        c.name
    );
}

#[test]
fn testpattern_ladder_aligned_idrs_and_decodable() {
    let cfg = stream(&format!("segment_target = 1.0\npart_target = 0.5\ninput = {{ url = \"testpattern\", realtime = false, testpattern = {{ width = 320, height = 180 }} }}\n{SMALL_LADDER}"));
    let out = run(&cfg, frames_in(95));
    assert_eq!(out.len(), 3, "two rungs and audio");
    let dir = tempfile::tempdir().unwrap();
    let rungs = video(&out);
    for c in &rungs {
        assert_well_formed(c);
        assert!(
            c.samples[0].sync && c.samples[0].pts == 0,
            "{}: starts with an IDR at 0",
            c.name
        );
    }
    // Same frames, same IDR timestamps on every rung: segments align across renditions.
    assert_eq!(rungs[0].samples.len(), rungs[1].samples.len());
    assert_eq!(sync_pts(rungs[0]), sync_pts(rungs[1]));
    // A key frame every segment_target (1 s = 90 000 ticks at 30 fps), and only there.
    let keys = sync_pts(rungs[0]);
    assert!(keys.len() >= 3, "{keys:?}");
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(*k, i as i64 * 90_000, "{keys:?}");
    }
    assert!(
        rungs[0].samples.iter().all(|s| s.pts == s.dts),
        "no B-frames by default"
    );
    for (c, size) in rungs.iter().zip(["h264,320,180", "h264,160,90"]) {
        let (text, frames) = probe(&write_h264(dir.path(), c));
        assert!(text.starts_with(size), "{}: {text}", c.name);
        assert_eq!(
            frames,
            c.samples.len() as u64,
            "{}: every sample decodes",
            c.name
        );
    }
    let audio = &out[2].1;
    assert!(matches!(
        out[2].0,
        RenditionKind::Audio {
            channels: 2,
            sample_rate: 48_000,
            ..
        }
    ));
    assert_well_formed(audio);
    assert!(audio.samples.iter().all(|s| s.duration == 1024 && s.sync));
    let (text, frames) = probe(&write_adts(dir.path(), audio));
    assert!(text.starts_with("aac"), "{text}");
    assert_eq!(frames, audio.samples.len() as u64);
}

#[test]
fn looped_file_keeps_one_continuous_timeline() {
    let cfg = stream(&format!(
        "segment_target = 2.0\ninput = {{ url = \"{}\", loop = true, realtime = false }}\naudio = {{ codec = \"none\" }}\n[[stream.rung]]\nname = \"90p\"\nheight = 90\nbitrate = \"100k\"\npreset = \"ultrafast\"\n",
        media("h264_aac_bframes.mp4")
    ));
    let (pipeline, feeds) = transcode::start(&cfg).unwrap();
    let metrics = pipeline.metrics();
    let out = finish(pipeline, feeds, frames_in(270));
    assert!(
        metrics.loops.load(Ordering::Relaxed) >= 2,
        "looped at least twice"
    );
    let c = &out[0].1;
    assert_well_formed(c);
    assert!(c.samples.len() >= 240, "{} samples", c.samples.len());
    // 30 fps in, 90 kHz out: every step is exactly one frame, across the loop points too.
    let steps: Vec<_> = c
        .samples
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[1].pts - w[0].pts != 3000)
        .map(|(i, w)| (i, w[0].pts, w[1].pts))
        .collect();
    assert!(steps.is_empty(), "{steps:?}");
    // The input is 4 s long; key frames every 2 s continue across loops.
    let keys = sync_pts(c);
    assert!(
        keys.len() >= 4
            && keys
                .iter()
                .enumerate()
                .all(|(i, k)| *k == i as i64 * 180_000),
        "{keys:?}"
    );
    assert_eq!(
        out[0].0,
        RenditionKind::Video {
            width: 160,
            height: 90,
            frame_rate: packager::config::FrameRate { num: 30, den: 1 },
            bitrate: 100_000,
            copy: false
        }
    );
}

#[test]
fn odd_size_input_is_scaled_keeping_aspect() {
    let cfg = stream(&format!(
        "input = {{ url = \"{}\", realtime = false }}\n[[stream.rung]]\nname = \"small\"\nheight = 180\nbitrate = \"200k\"\npreset = \"ultrafast\"\n",
        media("odd_size.mp4")
    ));
    let out = run(&cfg, |_| false);
    assert_eq!(out.len(), 1, "the input has no audio: no audio rendition");
    let c = &out[0].1;
    assert_well_formed(c);
    assert_eq!(c.samples.len(), 50, "2 s at 25 fps");
    let dir = tempfile::tempdir().unwrap();
    let (text, frames) = probe(&write_h264(dir.path(), c));
    assert_eq!(text, "h264,320,180,50");
    assert_eq!(frames, 50);
}

#[test]
fn corrupt_input_does_not_panic_and_ends() {
    let cfg = stream(&format!(
        "input = {{ url = \"{}\", realtime = false }}\n[[stream.rung]]\nname = \"small\"\nwidth = 160\nbitrate = \"100k\"\npreset = \"ultrafast\"\n",
        media("corrupt.ts")
    ));
    let out = run(&cfg, |_| false);
    let v = &out[0].1;
    assert_well_formed(v);
    assert!(v.samples.len() > 30, "{} frames survive", v.samples.len());
    let dir = tempfile::tempdir().unwrap();
    let (_, frames) = probe(&write_h264(dir.path(), v));
    assert_eq!(frames, v.samples.len() as u64);
    assert_well_formed(&out[1].1);
}

#[test]
fn audio_only_input_with_rungs_is_a_typed_error() {
    let cfg = stream(&format!(
        "input = {{ url = \"{}\" }}\n{SMALL_LADDER}",
        media("audio_only.m4a")
    ));
    match transcode::start(&cfg) {
        Err(transcode::Error::NoVideo { rungs: 2, .. }) => {}
        other => panic!("expected NoVideo, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn audio_only_stream_works() {
    let cfg = stream(&format!("input = {{ url = \"{}\", realtime = false }}\naudio = {{ bitrate = \"64k\", channels = 1, sample_rate = 44100 }}", media("audio_only.m4a")));
    let out = run(&cfg, |_| false);
    assert_eq!(out.len(), 1);
    let a = &out[0].1;
    assert_well_formed(a);
    // 4 s at 44.1 kHz in 1024-sample frames (the last one may be short).
    let total: u64 = a.samples.iter().map(|s| u64::from(s.duration)).sum();
    assert!((176_000..=178_000).contains(&total), "{total} samples");
    let dir = tempfile::tempdir().unwrap();
    let (text, frames) = probe(&write_adts(dir.path(), a));
    assert!(text.starts_with("aac"), "{text}");
    assert_eq!(frames, a.samples.len() as u64);
}

#[test]
fn missing_input_is_an_open_error() {
    let cfg = stream("input = { url = \"/nonexistent/input.mp4\" }\n[[stream.rung]]\nname = \"a\"\nbitrate = \"1M\"\n");
    let err = transcode::start(&cfg).map(|_| ()).unwrap_err();
    assert!(matches!(err, transcode::Error::Open { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/input.mp4"), "{err}");
}

#[test]
fn rtmp_publisher_reconnect_is_one_stream_with_a_discontinuity() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("rtmp://127.0.0.1:{port}/live/key");
    let cfg = stream(&format!(
        "input = {{ url = \"{url}\", options = {{ listen = 1 }} }}\naudio = {{ codec = \"none\" }}\n[[stream.rung]]\nname = \"90p\"\nheight = 90\nbitrate = \"100k\"\npreset = \"ultrafast\"\n"
    ));
    let publish = |url: String| {
        std::thread::spawn(move || {
            for _ in 0..50 {
                let status = Command::new("ffmpeg")
                    .args(["-hide_banner", "-loglevel", "error", "-re", "-i"])
                    .arg(media("h264_nobframes.mp4"))
                    .args(["-t", "1.5", "-an", "-c", "copy", "-f", "flv"])
                    .arg(&url)
                    .status()
                    .expect("ffmpeg runs");
                if status.success() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            panic!("publisher never connected");
        })
    };
    let first = publish(url.clone());
    let (pipeline, feeds) =
        transcode::start(&cfg).expect("rtmp listener opens once the publisher connects");
    let metrics = pipeline.metrics();
    let handles: Vec<_> = feeds.into_iter().map(collect).collect();
    first.join().unwrap();
    publish(url).join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while metrics.reconnects.load(Ordering::Relaxed) < 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let the second run's frames drain through the decoder and encoder.
    std::thread::sleep(Duration::from_millis(500));
    pipeline.stop();
    pipeline.join().unwrap();
    let c = handles.into_iter().next().unwrap().1.join().unwrap();
    assert_eq!(metrics.reconnects.load(Ordering::Relaxed), 1);
    assert_well_formed(&c);
    assert_eq!(c.discontinuities.len(), 1, "exactly one discontinuity");
    let at = c.discontinuities[0];
    assert!(
        at > 20 && at < c.samples.len() - 20,
        "both publishes contribute: break at {at} of {}",
        c.samples.len()
    );
    assert!(
        c.samples[at].sync,
        "the first sample after the break is an IDR"
    );
    // FLV carries milliseconds: 30 fps arrives as 33/34 ms steps (2970..3060 ticks), but
    // never a gap, and the step across the break is one frame.
    let steps: Vec<_> = c
        .samples
        .windows(2)
        .enumerate()
        .filter(|(_, w)| !(2900..=3100).contains(&(w[1].pts - w[0].pts)))
        .map(|(i, w)| (i, w[0].pts, w[1].pts))
        .collect();
    assert!(steps.is_empty(), "continuous across the break: {steps:?}");
}

#[test]
fn hevc_and_bframe_rungs_stay_aligned_and_decode() {
    let cfg = stream(
        "segment_target = 1.0\npart_target = 0.5\ninput = { url = \"testpattern\", realtime = false, testpattern = { width = 320, height = 180 } }\naudio = { codec = \"none\" }\n\
         [[stream.rung]]\nname = \"hevc\"\ncodec = \"hevc\"\nwidth = 160\nheight = 90\nbitrate = \"100k\"\npreset = \"ultrafast\"\n\
         [[stream.rung]]\nname = \"bframes\"\nwidth = 160\nheight = 90\nbitrate = \"100k\"\nbframes = 2\npreset = \"veryfast\"\n\
         [[stream.rung]]\nname = \"half\"\nwidth = 160\nheight = 90\nbitrate = \"100k\"\nframe_rate = 15\npreset = \"ultrafast\"\n",
    );
    let out = run(&cfg, frames_in(95));
    let rungs = video(&out);
    assert_eq!(rungs.len(), 3);
    let dir = tempfile::tempdir().unwrap();
    for c in &rungs {
        assert!(c.order_ok && c.ended, "{}", c.name);
        assert!(
            c.samples.windows(2).all(|w| w[1].dts > w[0].dts),
            "{}: dts increases",
            c.name
        );
        let (text, frames) = probe(&write_h264(dir.path(), c));
        assert_eq!(frames, c.samples.len() as u64, "{}: {text}", c.name);
    }
    assert!(probe(&write_h264(dir.path(), rungs[0]))
        .0
        .starts_with("hevc,160,90"));
    // Every rung, whatever its codec, B-frames or frame rate, has its IDRs at the same pts.
    assert_eq!(sync_pts(rungs[0]), sync_pts(rungs[1]));
    assert_eq!(sync_pts(rungs[0]), sync_pts(rungs[2]));
    assert!(sync_pts(rungs[0]).len() >= 3);
    assert!(
        rungs[1].samples.iter().any(|s| s.pts != s.dts),
        "B-frames reorder"
    );
    // 15 fps from 30: half the frames, 6000 ticks apart.
    let half = &rungs[2].samples;
    assert!(
        half.windows(2).all(|w| w[1].pts - w[0].pts == 6000),
        "{:?}",
        half.iter().map(|s| s.pts).take(10).collect::<Vec<_>>()
    );
    assert!((rungs[0].samples.len() / 2).abs_diff(half.len()) <= 1);
    assert!(matches!(
        out[2].0,
        RenditionKind::Video {
            frame_rate: packager::config::FrameRate { num: 15, den: 1 },
            ..
        }
    ));
}

fn copy_ladder(input: &str) -> StreamConfig {
    stream(&format!(
        "segment_target = 2.0\ninput = {{ url = \"{input}\", realtime = false }}\naudio = {{ codec = \"none\" }}\n\
         [[stream.rung]]\nname = \"source\"\ncodec = \"copy\"\n\
         [[stream.rung]]\nname = \"90p\"\nheight = 90\nbitrate = \"100k\"\npreset = \"ultrafast\"\n"
    ))
}

fn assert_copy_matches_encoded(out: &[(RenditionKind, Collected)], frames: usize) {
    let rungs = video(out);
    assert!(
        matches!(
            out[0].0,
            RenditionKind::Video {
                width: 320,
                height: 180,
                copy: true,
                ..
            }
        ),
        "{:?}",
        out[0].0
    );
    for c in &rungs {
        assert_well_formed(c);
        assert_eq!(c.samples.len(), frames, "{}", c.name);
    }
    // Boundaries follow the input's key frames (every 2 s), on both rungs.
    assert_eq!(sync_pts(rungs[0]), sync_pts(rungs[1]));
    assert_eq!(sync_pts(rungs[0]).len(), 2, "{:?}", sync_pts(rungs[0]));
    let dir = tempfile::tempdir().unwrap();
    let (text, n) = probe(&write_h264(dir.path(), rungs[0]));
    assert!(text.starts_with("h264,320,180"), "{text}");
    assert_eq!(n, frames as u64);
}

#[test]
fn copy_rung_passes_mp4_h264_through_aligned() {
    let out = run(&copy_ladder(&media("h264_nobframes.mp4")), |_| false);
    assert_copy_matches_encoded(&out, 120);
}

#[test]
fn copy_rung_takes_in_band_parameter_sets_from_mpegts() {
    let out = run(&copy_ladder(&media("ntsc.ts")), |_| false);
    let n = out[0].1.samples.len();
    assert!((118..=120).contains(&n), "{n}");
    assert_copy_matches_encoded(&out, n);
}

#[test]
fn copy_rung_over_an_uncopyable_codec_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mpeg4.mp4");
    let ok = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x90:rate=10",
            "-t",
            "1",
            "-c:v",
            "mpeg4",
        ])
        .arg(&path)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    match transcode::start(&copy_ladder(&path.display().to_string())) {
        Err(transcode::Error::Uncopyable { rendition, .. }) => assert_eq!(rendition, "source"),
        other => panic!("expected Uncopyable, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn a_consumer_that_stops_reading_stalls_the_pipeline_within_bounds() {
    let cfg = stream(&format!("input = {{ url = \"testpattern\", realtime = false, testpattern = {{ width = 160, height = 90 }} }}\naudio = {{ codec = \"none\" }}\n{SMALL_LADDER}"));
    let (pipeline, feeds) = transcode::start(&cfg).unwrap();
    let metrics = pipeline.metrics();
    let deadline = Instant::now() + Duration::from_secs(30);
    while metrics.queue_full() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(metrics.queue_full() > 0, "the full feed is counted");
    std::thread::sleep(Duration::from_millis(300));
    let stalled = metrics.frames_in.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(300));
    // Nothing more is decoded while nobody reads: memory stays bounded by the queues.
    assert_eq!(metrics.frames_in.load(Ordering::Relaxed), stalled);
    assert!(
        stalled < (transcode::FEED_QUEUE as u64) * 2,
        "{stalled} frames decoded before the stall"
    );
    // A consumer that goes away ends the pipeline.
    drop(feeds);
    pipeline.join().unwrap();
}

#[test]
fn a_listener_waiting_for_its_publisher_can_be_cancelled() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = stream(&format!("input = {{ url = \"rtmp://127.0.0.1:{port}/live/key\", options = {{ listen = 1 }} }}\naudio = {{ codec = \"none\" }}\n[[stream.rung]]\nname = \"a\"\nbitrate = \"100k\"\n"));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(transcode::start_interruptible(&cfg, flag).map(|_| ())));
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    // Generous bound so that a hang fails the test instead of blocking the suite.
    match rx
        .recv_timeout(Duration::from_secs(20))
        .expect("open returns once stopped")
    {
        Err(transcode::Error::Open { .. }) => {}
        other => panic!("expected an interrupted open, got {other:?}"),
    }
}
