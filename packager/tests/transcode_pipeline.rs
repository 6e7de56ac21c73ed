//! The real transcode pipeline on real fixtures (libavformat, libx264, AAC), verified by
//! ffprobe over the elementary streams rebuilt from the emitted samples.

mod transcode_support;

use packager::config::StreamConfig;
use packager::transcode::{self, Pipeline, RenditionKind};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use transcode_support::*;

/// Runs `cfg` until `enough` says so (or the input ends), then stops and collects.
fn run(cfg: &StreamConfig, enough: impl Fn(&Pipeline) -> bool) -> Vec<(RenditionKind, Collected)> {
    let (pipeline, feeds) = transcode::start(cfg).unwrap_or_else(|e| panic!("start: {e}"));
    finish(pipeline, feeds, Duration::from_secs(60), enough)
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

/// Key frames fall on the segment grid, not a segment after the previous key: at 25 fps a
/// 1.1 s segment is 27.5 frames, so each key is the first frame at or after k × 1.1 s. Counting
/// from the previous key made every GOP 28 frames and the keys drifted half a frame a segment
/// off the grid the chunker cuts audio on (video MSNs one behind audio's within a few minutes
/// at 29.97 fps).
#[test]
fn key_frames_stay_on_the_segment_grid() {
    let cfg = stream(&format!("segment_target = 1.1\npart_target = 0.5\ninput = {{ url = \"testpattern\", realtime = false, testpattern = {{ width = 320, height = 180, frame_rate = 25 }} }}\n{SMALL_LADDER}"));
    let out = run(&cfg, frames_in(300));
    let rungs = video(&out);
    let keys = sync_pts(rungs[0]);
    assert!(keys.len() >= 10, "{keys:?}");
    assert_eq!(keys, sync_pts(rungs[1]), "rungs aligned");
    let frame = 3600; // 90 kHz ticks at 25 fps
    for (k, key) in keys.iter().enumerate() {
        let grid = k as i64 * 99_000;
        assert_eq!(
            *key,
            (grid + frame - 1) / frame * frame,
            "key {k} off the grid: {keys:?}"
        );
    }
}

#[test]
fn looped_file_keeps_one_continuous_timeline() {
    let cfg = stream(&format!(
        "segment_target = 2.0\ninput = {{ url = \"{}\", loop = true, realtime = false }}\naudio = {{ codec = \"none\" }}\n[[stream.rung]]\nname = \"90p\"\nheight = 90\nbitrate = \"100k\"\npreset = \"ultrafast\"\n",
        media("h264_aac_bframes.mp4")
    ));
    let (pipeline, feeds) = transcode::start(&cfg).unwrap();
    let metrics = pipeline.metrics();
    let out = finish(pipeline, feeds, Duration::from_secs(60), frames_in(270));
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
            copy: false
        }
    );
    assert_eq!(out[0].1.nominal_bitrate, 100_000);
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
