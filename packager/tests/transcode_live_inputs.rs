//! The transcode pipeline on live network inputs (an SRT listener, an MPEG-TS over UDP
//! receiver) fed by the real ffmpeg CLI on 127.0.0.1, and on a variable-frame-rate file made
//! at test time. Output is checked by ffprobe over elementary streams rebuilt from the
//! emitted samples. Every publisher is a child process killed on every path (see
//! [`Publisher`]), and every wait is bounded.

mod transcode_support;

use packager::config::StreamConfig;
use packager::transcode::{self, Pipeline, RenditionFeed, RenditionKind};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use transcode_support::*;

/// A UDP port free on 127.0.0.1 right now (SRT runs over UDP).
fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An ffmpeg CLI publisher run on its own thread: retried (up to `attempts` times) until one
/// run exits successfully, or run once until killed. Dropping it kills the running child and
/// joins the thread, so no ffmpeg outlives its test whatever the path out.
struct Publisher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<bool>>,
}

impl Publisher {
    fn start(args: Vec<String>, attempts: u32, deadline: Instant) -> Publisher {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            for _ in 0..attempts {
                if flag.load(Ordering::Relaxed) || Instant::now() > deadline {
                    return false;
                }
                let mut child: Child = Command::new("ffmpeg")
                    .args(["-hide_banner", "-nostdin", "-loglevel", "quiet"])
                    .args(&args)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("ffmpeg runs");
                loop {
                    if flag.load(Ordering::Relaxed) || Instant::now() > deadline {
                        let _ = child.kill();
                        let _ = child.wait();
                        return false;
                    }
                    match child.try_wait() {
                        Ok(Some(status)) if status.success() => return true,
                        Ok(Some(_)) => break,
                        Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                        Err(_) => {
                            let _ = child.kill();
                            let _ = child.wait();
                            return false;
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            false
        });
        Publisher {
            stop,
            thread: Some(thread),
        }
    }

    /// Waits for the publisher to finish: true when one run exited successfully.
    fn finish(mut self) -> bool {
        self.thread
            .take()
            .map(|t| t.join().unwrap_or(false))
            .unwrap_or(false)
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `start_interruptible` on a thread (a listener blocks until its publisher connects);
/// gives up after `limit`, interrupting the open.
fn start_live(cfg: &StreamConfig, limit: Duration) -> (Pipeline, Vec<RenditionFeed>) {
    let cfg = cfg.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let (tx, rx) = mpsc::channel();
    let opener = std::thread::spawn(move || {
        let _ = tx.send(transcode::start_interruptible(&cfg, flag));
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(started)) => {
            let _ = opener.join();
            started
        }
        Ok(Err(e)) => panic!("start: {e}"),
        Err(_) => {
            stop.store(true, Ordering::Relaxed);
            let _ = opener.join();
            panic!("the input did not open within {limit:?}");
        }
    }
}

/// [`start_live`] on a thread of its own, for inputs that open only once a sender starts
/// (UDP has no handshake: the receiver binds, then packets come).
struct Opening {
    rx: mpsc::Receiver<(Pipeline, Vec<RenditionFeed>)>,
    thread: std::thread::JoinHandle<()>,
}

impl Opening {
    fn start(cfg: &StreamConfig) -> Opening {
        let (tx, rx) = mpsc::channel();
        let cfg = cfg.clone();
        let thread = std::thread::spawn(move || {
            let _ = tx.send(start_live(&cfg, Duration::from_secs(10)));
        });
        Opening { rx, thread }
    }

    /// The started pipeline (bounded wait).
    fn opened(self) -> (Pipeline, Vec<RenditionFeed>) {
        let started = self
            .rx
            .recv_timeout(Duration::from_secs(12))
            .expect("the udp input opens once packets arrive");
        let _ = self.thread.join();
        started
    }
}

/// One 90p rung and AAC, reading MPEG-TS over UDP on 127.0.0.1:`port`.
fn udp_90p(port: u16) -> StreamConfig {
    stream(&format!(
        "segment_target = 1.0\ninput = {{ url = \"udp://127.0.0.1:{port}\", format = \"mpegts\", options = {{ fifo_size = 50000, overrun_nonfatal = 1, timeout = 5000000 }} }}\n\
         [[stream.rung]]\nname = \"90p\"\nheight = 90\nbitrate = \"100k\"\npreset = \"ultrafast\"\n"
    ))
}

/// The whole-ladder checks shared by the live inputs: every rung and the audio rendition
/// emitted a well-formed, decodable stream; the rungs have the same frames with their IDRs
/// at the same pts (segments align across renditions).
fn assert_ladder(out: &[(RenditionKind, Collected)], min_frames: usize) {
    let rungs = video(out);
    assert_eq!(rungs.len(), 2, "two rungs");
    let dir = tempfile::tempdir().unwrap();
    for (c, size) in rungs.iter().zip(["h264,320,180", "h264,160,90"]) {
        assert_well_formed(c);
        assert!(
            c.samples.len() >= min_frames,
            "{}: {} samples",
            c.name,
            c.samples.len()
        );
        assert!(c.samples[0].sync, "{}: starts with an IDR", c.name);
        let (text, frames) = probe(&write_h264(dir.path(), c));
        assert!(text.starts_with(size), "{}: {text}", c.name);
        assert_eq!(
            frames,
            c.samples.len() as u64,
            "{}: every sample decodes",
            c.name
        );
    }
    assert_eq!(rungs[0].samples.len(), rungs[1].samples.len());
    let keys = sync_pts(rungs[0]);
    assert_eq!(keys, sync_pts(rungs[1]), "IDRs aligned across rungs");
    assert!(keys.len() >= 2, "a key frame per segment: {keys:?}");
    let a = audio(out);
    assert_eq!(a.len(), 1, "the audio rendition");
    assert_well_formed(a[0]);
    assert!(
        a[0].samples.len() >= 50,
        "{} audio frames",
        a[0].samples.len()
    );
    let (text, frames) = probe(&write_adts(dir.path(), a[0]));
    assert!(text.starts_with("aac"), "{text}");
    assert_eq!(
        frames,
        a[0].samples.len() as u64,
        "every audio frame decodes"
    );
}

#[test]
fn srt_listener_receives_a_publisher() {
    let deadline = Instant::now() + Duration::from_secs(20);
    let port = free_udp_port();
    let cfg = stream(&format!(
        "segment_target = 1.0\ninput = {{ url = \"srt://127.0.0.1:{port}?mode=listener\" }}\n{SMALL_LADDER}"
    ));
    // The caller fails fast until the listener is up; retried.
    let publisher = Publisher::start(
        args(&[
            "-re",
            "-i",
            &media("ntsc.ts"),
            "-c",
            "copy",
            "-f",
            "mpegts",
            &format!("srt://127.0.0.1:{port}?mode=caller&connect_timeout=1000"),
        ]),
        30,
        deadline,
    );
    let (pipeline, feeds) = start_live(&cfg, Duration::from_secs(10));
    // 3 s of the 4 s file at 29.97 fps.
    let out = finish(pipeline, feeds, Duration::from_secs(10), frames_in(90));
    drop(publisher);
    assert_ladder(&out, 60);
}

#[test]
fn udp_mpegts_input() {
    let deadline = Instant::now() + Duration::from_secs(20);
    let port = free_udp_port();
    let cfg = stream(&format!(
        "segment_target = 1.0\ninput = {{ url = \"udp://127.0.0.1:{port}\", format = \"mpegts\", options = {{ fifo_size = 50000, overrun_nonfatal = 1, timeout = 5000000 }} }}\n{SMALL_LADDER}"
    ));
    let opening = Opening::start(&cfg);
    // UDP has no handshake: give the receiver a moment to bind, then send until killed
    // (anything sent before the bind is lost; MPEG-TS resynchronises on the next packets).
    std::thread::sleep(Duration::from_millis(300));
    let publisher = Publisher::start(
        args(&[
            "-re",
            "-stream_loop",
            "-1",
            "-i",
            &media("ntsc.ts"),
            "-c",
            "copy",
            "-f",
            "mpegts",
            &format!("udp://127.0.0.1:{port}?pkt_size=1316"),
        ]),
        1,
        deadline,
    );
    let (pipeline, feeds) = opening.opened();
    let out = finish(pipeline, feeds, Duration::from_secs(10), frames_in(90));
    drop(publisher);
    assert_ladder(&out, 60);
}

#[test]
fn srt_publisher_drop_and_return_is_one_stream_with_a_discontinuity() {
    let deadline = Instant::now() + Duration::from_secs(20);
    let port = free_udp_port();
    let cfg = stream(&format!(
        "input = {{ url = \"srt://127.0.0.1:{port}?mode=listener\" }}\n[[stream.rung]]\nname = \"90p\"\nheight = 90\nbitrate = \"100k\"\npreset = \"ultrafast\"\n"
    ));
    let publish = || {
        Publisher::start(
            args(&[
                "-re",
                "-i",
                &media("ntsc.ts"),
                "-t",
                "1.5",
                "-c",
                "copy",
                "-f",
                "mpegts",
                &format!("srt://127.0.0.1:{port}?mode=caller&connect_timeout=1000"),
            ]),
            30,
            deadline,
        )
    };
    let first = publish();
    let (pipeline, feeds) = start_live(&cfg, Duration::from_secs(10));
    let metrics = pipeline.metrics();
    let handles: Vec<_> = feeds.into_iter().map(collect).collect();
    assert!(first.finish(), "first publish ran");
    assert!(publish().finish(), "second publish ran");
    let wait = Instant::now() + Duration::from_secs(5);
    while metrics.reconnects.load(Ordering::Relaxed) < 1 && Instant::now() < wait {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let the second run's frames drain through the decoder and encoder.
    std::thread::sleep(Duration::from_millis(500));
    pipeline.stop();
    pipeline.join().unwrap();
    let mut out: Vec<_> = handles
        .into_iter()
        .map(|(k, h)| (k, h.join().expect("collector")))
        .collect();
    assert_eq!(out.len(), 2, "the rung and audio");
    let a = out.pop().unwrap().1;
    let c = out.pop().unwrap().1;
    assert_eq!(metrics.reconnects.load(Ordering::Relaxed), 1);
    // Audio breaks once too, keeps a gapless 1024-sample timeline and decodes.
    assert_well_formed(&a);
    assert_eq!(
        a.discontinuities.len(),
        1,
        "audio: exactly one discontinuity"
    );
    let at_audio = a.discontinuities[0];
    assert!(
        at_audio > 20 && at_audio < a.samples.len() - 20,
        "audio: both publishes contribute: break at {at_audio} of {}",
        a.samples.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let (text, frames) = probe(&write_adts(dir.path(), &a));
    assert!(text.starts_with("aac"), "{text}");
    assert_eq!(frames, a.samples.len() as u64, "every audio frame decodes");
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
    // 29.97 fps in 90 kHz MPEG-TS: 3003-tick steps, and one frame across the break.
    let steps: Vec<_> = c
        .samples
        .windows(2)
        .enumerate()
        .filter(|(_, w)| !(2900..=3100).contains(&(w[1].pts - w[0].pts)))
        .map(|(i, w)| (i, w[0].pts, w[1].pts))
        .collect();
    assert!(steps.is_empty(), "continuous across the break: {steps:?}");
    let (_, frames) = probe(&write_h264(dir.path(), &c));
    assert_eq!(frames, c.samples.len() as u64, "every sample decodes");
}

/// Source pts in 90 kHz ticks of the first video stream of `path`, in presentation order.
fn source_pts(path: &Path) -> Vec<i64> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(out.status.success());
    let mut pts: Vec<i64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse::<f64>().ok())
        .map(|t| (t * 90_000.0).round() as i64)
        .collect();
    pts.sort_unstable();
    pts
}

/// Makes a variable-frame-rate MP4 in `dir`: 1 s at 30 fps, then 3 s at 15 fps (75 frames,
/// two different frame durations; probed average 2250/119 fps, real base rate 30 fps).
fn make_vfr(dir: &Path) -> PathBuf {
    let path = dir.join("vfr.mp4");
    let ok = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=30",
            "-frames:v",
            "75",
            "-vf",
            "setpts='if(lt(N,30),N/30/TB,(N-30)/15/TB+1/TB)'",
            "-fps_mode",
            "vfr",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "30",
        ])
        .arg(&path)
        .status()
        .expect("ffmpeg runs")
        .success();
    assert!(ok, "made the VFR file");
    path
}

/// One rung asking for 30 fps (the input's peak rate) and one keeping the input's rate.
fn vfr_ladder(path: &Path) -> StreamConfig {
    stream(&format!(
        "segment_target = 1.0\ninput = {{ url = \"{}\", realtime = false }}\naudio = {{ codec = \"none\" }}\n\
         [[stream.rung]]\nname = \"cfr30\"\nwidth = 320\nheight = 180\nbitrate = \"200k\"\nframe_rate = 30\npreset = \"ultrafast\"\n\
         [[stream.rung]]\nname = \"asis\"\nwidth = 160\nheight = 90\nbitrate = \"100k\"\npreset = \"ultrafast\"\n",
        path.display()
    ))
}

#[test]
fn variable_frame_rate_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = make_vfr(dir.path());
    let src = source_pts(&path);
    assert_eq!(src.len(), 75, "{src:?}");
    let src_steps: Vec<i64> = src.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        src_steps[..29].iter().all(|d| *d == 3000) && src_steps[30..].iter().all(|d| *d == 6000),
        "the source is VFR: {src_steps:?}"
    );
    let (pipeline, feeds) =
        transcode::start(&vfr_ladder(&path)).unwrap_or_else(|e| panic!("start: {e}"));
    let out = finish(pipeline, feeds, Duration::from_secs(15), |_| false);
    let rungs = video(&out);
    assert_eq!(rungs.len(), 2);
    for (c, size) in rungs.iter().zip(["h264,320,180", "h264,160,90"]) {
        assert_well_formed(c);
        assert_eq!(
            c.samples.len(),
            75,
            "{}: every input frame, none added",
            c.name
        );
        let (text, frames) = probe(&write_h264(dir.path(), c));
        assert!(text.starts_with(size), "{}: {text}", c.name);
        assert_eq!(frames, 75, "{}: every sample decodes", c.name);
        // The input's own timing survives: 1/30 s steps, then 1/15 s steps.
        let steps: Vec<i64> = c.samples.windows(2).map(|w| w[1].pts - w[0].pts).collect();
        assert_eq!(steps, src_steps, "{}: pts steps follow the input", c.name);
    }
    // A key frame every segment_target (1 s), at the same pts on both rungs.
    let keys = sync_pts(rungs[0]);
    assert_eq!(keys, sync_pts(rungs[1]), "IDRs aligned across rungs");
    assert_eq!(keys, [0, 90_000, 180_000, 270_000]);
}

/// draft-pantos-hls-rfc8216bis-22 §4.4.6.2: FRAME-RATE is "the maximum frame rate for all
/// the video in the Variant Stream". The rendition's `frame_rate` feeds it (live.rs), so a
/// VFR input peaking at 30 fps must report 30, not its average.
#[test]
fn variable_frame_rate_rendition_reports_its_maximum_frame_rate() {
    let dir = tempfile::tempdir().unwrap();
    let path = make_vfr(dir.path());
    let (pipeline, feeds) =
        transcode::start(&vfr_ladder(&path)).unwrap_or_else(|e| panic!("start: {e}"));
    let kinds: Vec<RenditionKind> = feeds.iter().map(|f| f.info.kind).collect();
    let out = finish(pipeline, feeds, Duration::from_secs(15), |_| false);
    // The emitted frames really are 1/30 s apart at the start: the peak rate is 30 fps.
    let min_step = video(&out)[0]
        .samples
        .windows(2)
        .map(|w| w[1].pts - w[0].pts)
        .min();
    assert_eq!(min_step, Some(3000));
    for (kind, name) in kinds.iter().zip(["cfr30", "asis"]) {
        match kind {
            RenditionKind::Video { frame_rate, .. } => assert_eq!(
                *frame_rate,
                packager::config::FrameRate { num: 30, den: 1 },
                "{name}: reports the peak rate"
            ),
            other => panic!("{name}: {other:?}"),
        }
    }
}

/// A UDP sender restarting (a new ffmpeg process, so MPEG-TS timestamps start over) within
/// the read timeout: no reopen, the timestamps jump back, and the output stays one gapless
/// timeline with a one-frame step across the restart.
#[test]
fn udp_sender_restart_keeps_one_timeline() {
    let deadline = Instant::now() + Duration::from_secs(20);
    let port = free_udp_port();
    let cfg = udp_90p(port);
    let opening = Opening::start(&cfg);
    std::thread::sleep(Duration::from_millis(300));
    let publish = || {
        Publisher::start(
            args(&[
                "-re",
                "-i",
                &media("ntsc.ts"),
                "-t",
                "1.5",
                "-c",
                "copy",
                "-f",
                "mpegts",
                &format!("udp://127.0.0.1:{port}?pkt_size=1316"),
            ]),
            1,
            deadline,
        )
    };
    let first = publish();
    let (pipeline, feeds) = opening.opened();
    let metrics = pipeline.metrics();
    let handles: Vec<_> = feeds.into_iter().map(collect).collect();
    assert!(first.finish(), "first send ran");
    std::thread::sleep(Duration::from_millis(300));
    assert!(publish().finish(), "second send ran");
    // Let the second run's frames drain through the decoder and encoder.
    std::thread::sleep(Duration::from_millis(500));
    pipeline.stop();
    pipeline.join().unwrap();
    let out: Vec<_> = handles
        .into_iter()
        .map(|(k, h)| (k, h.join().expect("collector")))
        .collect();
    assert_eq!(out.len(), 2, "the rung and audio");
    assert_eq!(
        metrics.reconnects.load(Ordering::Relaxed),
        0,
        "a pause shorter than the read timeout is not a reconnect"
    );
    let dir = tempfile::tempdir().unwrap();
    let c = &out[0].1;
    assert_well_formed(c);
    assert!(
        c.samples.len() >= 75,
        "both sends: {} frames",
        c.samples.len()
    );
    let steps: Vec<_> = c
        .samples
        .windows(2)
        .enumerate()
        .filter(|(_, w)| !(2900..=3100).contains(&(w[1].pts - w[0].pts)))
        .map(|(i, w)| (i, w[0].pts, w[1].pts))
        .collect();
    assert!(
        steps.is_empty(),
        "one frame per step, across the restart too: {steps:?}"
    );
    let (_, frames) = probe(&write_h264(dir.path(), c));
    assert_eq!(frames, c.samples.len() as u64, "every sample decodes");
    let a = &out[1].1;
    assert_well_formed(a);
    let (text, frames) = probe(&write_adts(dir.path(), a));
    assert!(text.starts_with("aac"), "{text}");
    assert_eq!(frames, a.samples.len() as u64, "every audio frame decodes");
}

/// MPEG-TS timestamps are 33 bits and wrap every 26.5 h (2^33 / 90 kHz = 95,443.7 s): a stream
/// that crosses the wrap (ffmpeg's `-output_ts_offset` puts it 1 s before) continues as one
/// timeline, one frame per step, no discontinuity, every frame decodable.
#[test]
fn mpegts_timestamps_that_wrap_continue_one_timeline() {
    let deadline = Instant::now() + Duration::from_secs(20);
    let port = free_udp_port();
    let cfg = udp_90p(port);
    let opening = Opening::start(&cfg);
    std::thread::sleep(Duration::from_millis(300));
    // The sender's first timestamp is the offset plus the source's start (1.4 s): this puts it
    // about one second before 2^33 ticks at 90 kHz (ffprobe of such a send: first video pts
    // −89,672, i.e. before the wrap, last 177,595, after it).
    let offset = format!("{:.3}", (1u64 << 33) as f64 / 90_000.0 - 2.4);
    let sender = Publisher::start(
        args(&[
            "-re",
            "-stream_loop",
            "-1",
            "-i",
            &media("ntsc.ts"),
            "-t",
            "3",
            "-c",
            "copy",
            "-output_ts_offset",
            &offset,
            "-f",
            "mpegts",
            &format!("udp://127.0.0.1:{port}?pkt_size=1316"),
        ]),
        1,
        deadline,
    );
    let (pipeline, feeds) = opening.opened();
    let metrics = pipeline.metrics();
    let handles: Vec<_> = feeds.into_iter().map(collect).collect();
    assert!(sender.finish(), "the send ran");
    std::thread::sleep(Duration::from_millis(500));
    pipeline.stop();
    pipeline.join().unwrap();
    let out: Vec<_> = handles
        .into_iter()
        .map(|(k, h)| (k, h.join().expect("collector")))
        .collect();
    assert_eq!(metrics.reconnects.load(Ordering::Relaxed), 0);
    let c = &out[0].1;
    assert_well_formed(c);
    assert!(
        c.samples.len() >= 60,
        "{} frames: the wrap was crossed",
        c.samples.len()
    );
    assert!(c.discontinuities.is_empty(), "no discontinuity at the wrap");
    let steps: Vec<_> = c
        .samples
        .windows(2)
        .filter(|w| !(2900..=3100).contains(&(w[1].pts - w[0].pts)))
        .map(|w| (w[0].pts, w[1].pts))
        .collect();
    assert!(
        steps.is_empty(),
        "one frame per step across the wrap: {steps:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let (_, frames) = probe(&write_h264(dir.path(), c));
    assert_eq!(frames, c.samples.len() as u64, "every sample decodes");
    let a = &out[1].1;
    assert_well_formed(a);
    assert!(
        a.discontinuities.is_empty(),
        "no audio discontinuity at the wrap"
    );
    let gaps: Vec<_> = a
        .samples
        .windows(2)
        .filter(|w| w[1].dts - w[0].dts != i64::from(w[0].duration))
        .map(|w| (w[0].dts, w[1].dts))
        .collect();
    assert!(
        gaps.is_empty(),
        "audio continuous across the wrap: {gaps:?}"
    );
}
