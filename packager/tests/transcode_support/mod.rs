//! Helpers shared by the transcode pipeline tests: stream configs from TOML, collecting each
//! rendition's feed, rebuilding elementary streams (Annex-B H.264/HEVC, ADTS AAC) from the
//! emitted samples, and probing them with ffprobe.
#![allow(dead_code)]

use packager::cmaf::{CodecConfig, EncodedSample, TrackInfo};
use packager::config::{Config, StreamConfig};
use packager::transcode::{Feed, Pipeline, RenditionFeed, RenditionKind};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Path of a fixture under `fixtures/media`.
pub fn media(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/media")
        .join(name)
        .display()
        .to_string()
}

/// A stream config from a TOML body (the `[[stream]]` header is added).
pub fn stream(body: &str) -> StreamConfig {
    let text = format!("[[stream]]\nname = \"t\"\n{body}");
    Config::from_toml_str(&text, "test")
        .unwrap_or_else(|e| panic!("{e}"))
        .streams
        .remove(0)
}

pub const SMALL_LADDER: &str = r#"
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
pub struct Collected {
    pub name: String,
    /// The rendition's nominal bitrate as the pipeline announced it.
    pub nominal_bitrate: u64,
    pub track: Option<TrackInfo>,
    pub samples: Vec<EncodedSample>,
    /// Index into `samples` of the sample each Discontinuity preceded.
    pub discontinuities: Vec<usize>,
    pub ended: bool,
    pub order_ok: bool,
}

pub fn collect(feed: RenditionFeed) -> (RenditionKind, JoinHandle<Collected>) {
    let kind = feed.info.kind;
    let mut rx = feed.rx;
    let (name, nominal_bitrate) = (feed.info.name, feed.info.nominal_bitrate);
    let h = std::thread::spawn(move || {
        let mut c = Collected {
            name,
            nominal_bitrate,
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

/// Collects every feed until `enough` (or the pipeline ends, or `limit`), then stops.
pub fn finish(
    pipeline: Pipeline,
    feeds: Vec<RenditionFeed>,
    limit: Duration,
    enough: impl Fn(&Pipeline) -> bool,
) -> Vec<(RenditionKind, Collected)> {
    let handles: Vec<_> = feeds.into_iter().map(collect).collect();
    let deadline = Instant::now() + limit;
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

pub fn frames_in(n: u64) -> impl Fn(&Pipeline) -> bool {
    move |p| p.metrics().frames_in.load(Ordering::Relaxed) >= n
}

/// Rebuilds an Annex-B H.264/HEVC stream (parameter sets, then every sample with start codes).
pub fn write_h264(dir: &Path, c: &Collected) -> PathBuf {
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
        while i + 4 <= s.data.len() {
            let len = u32::from_be_bytes(s.data[i..i + 4].try_into().unwrap()) as usize;
            assert!(
                i + 4 + len <= s.data.len(),
                "{}: NAL length overruns",
                c.name
            );
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
pub fn write_adts(dir: &Path, c: &Collected) -> PathBuf {
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

pub use packager::testing::probe_stream as probe;

pub fn video(out: &[(RenditionKind, Collected)]) -> Vec<&Collected> {
    out.iter()
        .filter(|(k, _)| matches!(k, RenditionKind::Video { .. }))
        .map(|(_, c)| c)
        .collect()
}

pub fn audio(out: &[(RenditionKind, Collected)]) -> Vec<&Collected> {
    out.iter()
        .filter(|(k, _)| matches!(k, RenditionKind::Audio { .. }))
        .map(|(_, c)| c)
        .collect()
}

pub fn sync_pts(c: &Collected) -> Vec<i64> {
    c.samples.iter().filter(|s| s.sync).map(|s| s.pts).collect()
}

/// Every rendition: Track first, samples, End; dts strictly increases; durations positive
/// and equal to the dts step (a continuous timeline, whatever the input's timestamps did).
pub fn assert_well_formed(c: &Collected) {
    assert!(
        c.order_ok && c.ended && c.track.is_some(),
        "{}: order/end/track",
        c.name
    );
    assert!(!c.samples.is_empty(), "{}: no samples", c.name);
    assert!(
        c.samples.iter().all(|s| s.duration > 0),
        "{}: a zero duration",
        c.name
    );
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
        // What lets the chunker close a segment with its last sample (rfc8216bis-22 §4.4.5.3).
        assert_eq!(
            w[0].next_sync, w[1].sync,
            "{}: next_sync of dts {} does not match the next sample",
            c.name, w[0].dts
        );
    }
    assert!(
        c.samples.iter().all(|s| s.wallclock_ms.is_some()),
        "{}: wallclock",
        c.name
    );
}
