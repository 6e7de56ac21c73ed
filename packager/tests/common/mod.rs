//! Test helpers: demux a fixture with ffmpeg-next into the chunker's input types, run the
//! chunker, and read back what ffprobe sees.
#![allow(dead_code)]

pub mod synth;

use std::path::{Path, PathBuf};

use bytes::Bytes;
use ffmpeg_next as ffmpeg;
use packager::cmaf::{
    annexb_to_length_prefixed, Chunker, ChunkerConfig, CodecConfig, EncodedSample, Event,
    InitSegment, MediaKind, Part, SegmentInfo, TrackInfo,
};

/// Path of a fixture under `fixtures/media`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/media")
        .join(name)
}

/// One demuxed elementary stream.
pub struct Demuxed {
    pub track: TrackInfo,
    pub samples: Vec<EncodedSample>,
    /// The stream's codec extradata as the demuxer gave it.
    pub extradata: Vec<u8>,
}

/// Which stream of a file to take.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Want {
    Video,
    Audio,
}

/// Demuxes the first video or audio stream of `path` with ffmpeg-next, converting packets at
/// this boundary the way the transcoder does: Annex-B → length-prefixed, extradata →
/// CodecConfig, in-band parameter sets when there is no extradata.
pub fn demux(path: &Path, want: Want) -> Demuxed {
    ffmpeg::init().unwrap();
    let mut ictx = ffmpeg::format::input(&path).unwrap();
    let annexb = ictx.format().name().contains("mpegts");
    let medium = if want == Want::Video {
        ffmpeg::media::Type::Video
    } else {
        ffmpeg::media::Type::Audio
    };
    let stream = ictx.streams().best(medium).expect("stream of that kind");
    let index = stream.index();
    let tb = stream.time_base();
    assert_eq!(tb.numerator(), 1, "test wants a 1/N time base");
    let timescale = tb.denominator() as u32;
    let par = stream.parameters();
    // SAFETY: reading plain fields of a valid AVCodecParameters owned by the open input.
    let (codec_id, extradata, width, height, rate, channels) = unsafe {
        let p = &*par.as_ptr();
        let extra = if p.extradata.is_null() || p.extradata_size <= 0 {
            Vec::new()
        } else {
            std::slice::from_raw_parts(p.extradata, p.extradata_size as usize).to_vec()
        };
        (
            p.codec_id,
            extra,
            p.width as u32,
            p.height as u32,
            p.sample_rate as u32,
            p.ch_layout.nb_channels as u16,
        )
    };
    use ffmpeg::ffi::AVCodecID::*;
    let hevc = codec_id == AV_CODEC_ID_HEVC;
    let mut samples = Vec::new();
    for (s, packet) in ictx.packets() {
        if s.index() != index {
            continue;
        }
        let raw = packet.data().unwrap_or_default();
        let data = if annexb && want == Want::Video {
            annexb_to_length_prefixed(raw)
        } else {
            raw.to_vec()
        };
        let dts = packet.dts().expect("dts");
        samples.push(EncodedSample {
            dts,
            pts: packet.pts().unwrap_or(dts),
            duration: packet.duration() as u32,
            sync: packet.is_key(),
            data: Bytes::from(data),
            wallclock_ms: None,
            next_sync: false,
        });
    }
    // Fill missing durations from the next dts.
    for i in 0..samples.len() {
        if samples[i].duration == 0 {
            let d = samples.get(i + 1).map_or(0, |n| n.dts - samples[i].dts);
            samples[i].duration = if d > 0 {
                d as u32
            } else {
                samples[i.saturating_sub(1)].duration
            };
        }
    }
    let codec = match codec_id {
        AV_CODEC_ID_H264 | AV_CODEC_ID_HEVC if extradata.is_empty() => {
            let key = samples.iter().find(|s| s.sync).expect("keyframe");
            CodecConfig::from_keyframe_nals(&key.data, hevc).unwrap()
        }
        AV_CODEC_ID_H264 => CodecConfig::avc_from_extradata(&extradata).unwrap(),
        AV_CODEC_ID_HEVC => CodecConfig::hevc_from_extradata(&extradata).unwrap(),
        AV_CODEC_ID_AAC => CodecConfig::aac_from_extradata(&extradata).unwrap(),
        other => panic!("unexpected codec {other:?}"),
    };
    let kind = if want == Want::Video {
        MediaKind::Video { width, height }
    } else {
        MediaKind::Audio {
            channels,
            sample_rate: rate,
        }
    };
    Demuxed {
        track: TrackInfo {
            kind,
            codec,
            timescale,
            language: "und".into(),
        },
        samples,
        extradata,
    }
}

/// Everything the chunker produced, split by kind.
#[derive(Default)]
pub struct Output {
    pub inits: Vec<InitSegment>,
    pub parts: Vec<Part>,
    pub segments: Vec<SegmentInfo>,
    /// Events in order, for sequence checks.
    pub order: Vec<char>,
    pub dts_shift: i64,
}

/// Drains all events of `c` into `out`.
pub fn drain(c: &mut Chunker, out: &mut Output) {
    while let Some(ev) = c.pull() {
        match ev {
            Event::InitReady(i) => {
                out.order.push('I');
                out.inits.push(i)
            }
            Event::PartReady(p) => {
                out.order.push('P');
                out.parts.push(p)
            }
            Event::SegmentClosed(s) => {
                out.order.push('S');
                out.segments.push(s)
            }
        }
    }
    out.dts_shift = c.dts_shift();
}

/// Runs a chunker over `d` with `config`.
pub fn chunk(d: &Demuxed, config: ChunkerConfig) -> Output {
    let mut c = Chunker::new(config);
    let mut out = Output::default();
    c.set_track(d.track.clone()).unwrap();
    for s in &d.samples {
        c.push(s.clone()).unwrap();
        drain(&mut c, &mut out);
    }
    c.finish().unwrap();
    drain(&mut c, &mut out);
    out
}

/// Writes `init` followed by `parts` to a temp file.
pub fn write_file(init: &[u8], parts: &[&[u8]]) -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut f = tempfile::Builder::new().suffix(".mp4").tempfile().unwrap();
    f.write_all(init).unwrap();
    for p in parts {
        f.write_all(p).unwrap();
    }
    f.flush().unwrap();
    f
}

#[allow(unused_imports)] // each test binary uses its own subset
pub use packager::testing::{decode_errors, probe_frame_pts, probe_packets, Probed};
