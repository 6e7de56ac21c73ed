//! Semantic rules of a parsed configuration. Pure: takes the typed config, returns the first
//! rule broken with the field path it concerns.

use super::locate::{key, Seg};
use super::{AudioCodec, Config, RungConfig, StreamConfig, VideoCodec};
use std::collections::HashSet;

/// A broken rule: where, and what is expected.
#[derive(Debug)]
pub(crate) struct Violation {
    pub path: Vec<Seg>,
    pub message: String,
}

type Check = Result<(), Violation>;

fn fail(path: Vec<Seg>, message: impl Into<String>) -> Check {
    Err(Violation {
        path,
        message: message.into(),
    })
}

/// x264 and x265 share these preset names.
const PRESETS: &[&str] = &[
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
];
const H264_PROFILES: &[&str] = &["baseline", "main", "high"];
const HEVC_PROFILES: &[&str] = &["main"];
/// Sampling frequencies an AAC AudioSpecificConfig can index (ISO/IEC 14496-3 §1.6.3.4).
const AAC_RATES: &[u32] = &[
    8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000,
];

/// Names appear in URLs (`/{stream}/{rendition}/…`): keep them to a safe alphabet.
fn url_safe(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// First path segments the origin uses itself: a stream may not be named after them.
const RESERVED_NAMES: &[&str] = &["api", "player", "metrics", "healthz"];

const NAME_RULE: &str = "expected 1 to 64 letters, digits, '-' or '_' (it is part of the URL)";

pub(crate) fn validate(config: &Config) -> Check {
    if config.streams.is_empty() {
        return fail(vec![key("stream")], "expected at least one [[stream]]");
    }
    let mut names = HashSet::new();
    for (index, stream) in config.streams.iter().enumerate() {
        let at = |rest: &[Seg]| {
            let mut p = vec![Seg::Stream {
                index,
                name: Some(stream.name.clone()),
            }];
            p.extend_from_slice(rest);
            p
        };
        if !url_safe(&stream.name) {
            return fail(at(&[key("name")]), NAME_RULE);
        }
        if RESERVED_NAMES.contains(&stream.name.as_str()) {
            return fail(
                at(&[key("name")]),
                format!(
                    "{:?} is reserved (the origin serves /{}/…); choose another name",
                    stream.name, stream.name
                ),
            );
        }
        if !names.insert(stream.name.as_str()) {
            return fail(
                at(&[key("name")]),
                format!("duplicate stream name {:?}", stream.name),
            );
        }
        validate_stream(stream, &at)?;
    }
    Ok(())
}

// `!(x >= min)` on purpose: NaN must fail the range checks.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
fn validate_stream(s: &StreamConfig, at: &dyn Fn(&[Seg]) -> Vec<Seg>) -> Check {
    // rfc8216bis-22 §4.4.3.1: EXT-X-TARGETDURATION is an integer; we keep segments 1..=10 s so a
    // low-latency playlist stays useful (Apple recommends 4 s or less for LL-HLS; 6 s is the
    // general recommendation of §B).
    if !(1.0..=10.0).contains(&s.segment_target) {
        return fail(
            at(&[key("segment_target")]),
            "expected seconds between 1 and 10",
        );
    }
    // rfc8216bis-22 §4.4.3.7: PART-TARGET is the maximum part duration; parts are cut at frame
    // boundaries, so below 0.1 s a part would hold a frame or two and blow up request rates.
    // Written negated so that NaN fails too.
    if !(s.part_target >= 0.1) {
        return fail(at(&[key("part_target")]), "expected at least 0.1 seconds");
    }
    if s.part_target >= s.segment_target {
        return fail(
            at(&[key("part_target")]),
            format!("expected less than segment_target ({} s)", s.segment_target),
        );
    }
    // rfc8216bis-22 §6.2.2: the server MUST NOT remove a segment if that makes the playlist shorter
    // than three target durations; one more for the segment being written.
    if !(4..=1000).contains(&s.window) {
        return fail(
            at(&[key("window")]),
            "expected 4 to 1000 segments (at least 3 target durations, §6.2.2)",
        );
    }
    let input = &s.input;
    if input.url.trim().is_empty() {
        return fail(
            at(&[key("input"), key("url")]),
            "expected a file path, a URL or \"testpattern\"",
        );
    }
    if input.looped && (input.is_network() || input.is_testpattern()) {
        return fail(
            at(&[key("input"), key("loop")]),
            "loop applies to files only, not to network inputs or the test pattern",
        );
    }
    if input.is_testpattern() {
        if input.format.is_some() {
            return fail(
                at(&[key("input"), key("format")]),
                "the test pattern takes no format",
            );
        }
        let tp = &input.testpattern;
        for (field, v) in [("width", tp.width), ("height", tp.height)] {
            if v % 2 != 0 || !(16..=7680).contains(&v) {
                return fail(
                    at(&[key("input"), key("testpattern"), key(field)]),
                    "expected an even size from 16 to 7680",
                );
            }
        }
        if !(20..=20_000).contains(&tp.tone_hz) {
            return fail(
                at(&[key("input"), key("testpattern"), key("tone_hz")]),
                "expected 20 to 20000 Hz",
            );
        }
    }
    let audio = &s.audio;
    if audio.enabled() {
        if !url_safe(&audio.name) {
            return fail(at(&[key("audio"), key("name")]), NAME_RULE);
        }
        if !(16_000..=512_000).contains(&audio.bitrate.bps()) {
            return fail(at(&[key("audio"), key("bitrate")]), "expected 16k to 512k");
        }
        if !(1..=2).contains(&audio.channels) {
            return fail(at(&[key("audio"), key("channels")]), "expected 1 or 2");
        }
        if !AAC_RATES.contains(&audio.sample_rate) {
            return fail(
                at(&[key("audio"), key("sample_rate")]),
                format!("expected one of {AAC_RATES:?}"),
            );
        }
    }
    if s.rungs.is_empty() && audio.codec == AudioCodec::None {
        return fail(
            at(&[key("rung")]),
            "expected at least one [[stream.rung]] or audio",
        );
    }
    let mut names: HashSet<&str> = HashSet::new();
    if audio.enabled() {
        names.insert(&audio.name);
    }
    let mut copies = 0;
    for (i, rung) in s.rungs.iter().enumerate() {
        let field = |f: &str| at(&[key("rung"), Seg::Index(i), key(f)]);
        if !url_safe(&rung.name) {
            return fail(field("name"), NAME_RULE);
        }
        if !names.insert(&rung.name) {
            return fail(
                field("name"),
                format!(
                    "duplicate rendition name {:?} (rungs and audio share the URL space)",
                    rung.name
                ),
            );
        }
        if rung.codec == VideoCodec::Copy {
            copies += 1;
            if copies > 1 {
                return fail(field("codec"), "expected at most one copy rung per stream");
            }
            validate_copy(rung, &field)?;
        } else {
            validate_encoded(rung, &field)?;
        }
    }
    Ok(())
}

fn validate_copy(rung: &RungConfig, field: &dyn Fn(&str) -> Vec<Seg>) -> Check {
    let set: [(&str, bool); 9] = [
        ("width", rung.width.is_some()),
        ("height", rung.height.is_some()),
        ("frame_rate", rung.frame_rate.is_some()),
        ("bitrate", rung.bitrate.is_some()),
        ("maxrate", rung.maxrate.is_some()),
        ("bufsize", rung.bufsize.is_some()),
        ("preset", rung.preset.is_some()),
        ("profile", rung.profile.is_some()),
        ("bframes", rung.bframes.is_some()),
    ];
    if let Some((name, _)) = set.iter().find(|(_, is_set)| *is_set) {
        return fail(
            field(name),
            "a copy rung passes the input through: remove this encoder setting",
        );
    }
    if !rung.options.is_empty() {
        return fail(
            field("options"),
            "a copy rung passes the input through: remove this encoder setting",
        );
    }
    Ok(())
}

fn validate_encoded(rung: &RungConfig, field: &dyn Fn(&str) -> Vec<Seg>) -> Check {
    for (name, v) in [("width", rung.width), ("height", rung.height)] {
        if let Some(v) = v {
            // 4:2:0 chroma subsampling needs even luma sizes.
            if v % 2 != 0 || !(16..=7680).contains(&v) {
                return fail(
                    field(name),
                    "expected an even size from 16 to 7680 (4:2:0 needs even sizes)",
                );
            }
        }
    }
    let Some(bitrate) = rung.bitrate else {
        return fail(
            field("bitrate"),
            "expected a positive bitrate like \"1400k\" (required unless codec = \"copy\")",
        );
    };
    if let Some(max) = rung.maxrate {
        if max < bitrate {
            return fail(
                field("maxrate"),
                format!("expected at least bitrate ({bitrate})"),
            );
        }
    }
    if let Some(fr) = rung.frame_rate {
        if fr.fps() < 1.0 {
            return fail(field("frame_rate"), "expected at least 1 frame per second");
        }
    }
    if !PRESETS.contains(&rung.preset()) {
        return fail(field("preset"), format!("expected one of {PRESETS:?}"));
    }
    let profiles = if rung.codec == VideoCodec::Hevc {
        HEVC_PROFILES
    } else {
        H264_PROFILES
    };
    if !profiles.contains(&rung.profile()) {
        return fail(
            field("profile"),
            format!("expected one of {profiles:?} for this codec"),
        );
    }
    if rung.bframes() > 4 {
        return fail(field("bframes"), "expected 0 to 4");
    }
    if rung.bframes() > 0 && rung.profile() == "baseline" {
        return fail(
            field("bframes"),
            "the baseline profile has no B-frames: expected 0",
        );
    }
    Ok(())
}
