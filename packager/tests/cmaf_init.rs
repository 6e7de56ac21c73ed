//! Init segments read back by ffprobe: codec, size, rate and channels as in the source, for
//! every fixture's stream and for Opus; codec strings from the parameter sets.

mod common;

use std::process::Command;

use common::{demux, fixture, write_file, Want};
use packager::cmaf::{
    codec_string, Chunker, ChunkerConfig, CodecConfig, Event, InitSegment, MediaKind, TrackInfo,
};

fn init_of(track: TrackInfo) -> InitSegment {
    let mut c = Chunker::new(ChunkerConfig::default());
    c.set_track(track).unwrap();
    match c.pull() {
        Some(Event::InitReady(i)) => i,
        other => panic!("expected InitReady, got {other:?}"),
    }
}

/// ffprobe's view of the single stream of an init segment: key=value lines.
fn probe_stream(bytes: &[u8]) -> String {
    let f = write_file(bytes, &[]);
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_streams",
            "-show_entries",
            "stream=codec_name,profile,level,width,height,sample_rate,channels,time_base",
            "-of",
            "default=nw=1",
        ])
        .arg(f.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "ffprobe: {err}"
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn source_stream(name: &str, want: Want) -> String {
    let sel = if want == Want::Video { "v:0" } else { "a:0" };
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            sel,
            "-show_entries",
            "stream=codec_name,profile,level,width,height,sample_rate,channels",
            "-of",
            "default=nw=1",
        ])
        .arg(fixture(name))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn every_fixture_init_probes_like_its_source() {
    for (name, want) in [
        ("h264_aac_bframes.mp4", Want::Video),
        ("h264_aac_bframes.mp4", Want::Audio),
        ("h264_nobframes.mp4", Want::Video),
        ("h264_nobframes.mp4", Want::Audio),
        ("hevc.mp4", Want::Video),
        ("audio_only.m4a", Want::Audio),
        ("video_only.mp4", Want::Video),
        ("odd_size.mp4", Want::Video),
        ("ntsc.ts", Want::Video),
    ] {
        let d = demux(&fixture(name), want);
        // Init plus the first part, so that ffprobe opens the decoder and reports profile/level.
        let out = common::chunk(&d, ChunkerConfig::default());
        let init = &out.inits[0];
        let ours = probe_stream(&[&init.bytes[..], &out.parts[0].bytes[..]].concat());
        let src = source_stream(name, want);
        for line in src.lines() {
            assert!(
                ours.lines().any(|l| l == line),
                "{name} {want:?}: source has `{line}`, init gives:\n{ours}"
            );
        }
        assert!(
            ours.contains(&format!("time_base=1/{}", d.track.timescale)),
            "{name}: mdhd timescale"
        );
    }
}

#[test]
fn codec_strings_of_fixtures() {
    let cs = |name, want| init_of(demux(&fixture(name), want).track).codec_string;
    assert_eq!(cs("h264_nobframes.mp4", Want::Video), "avc1.42c00d");
    assert_eq!(cs("odd_size.mp4", Want::Video), "avc1.f4001f");
    assert_eq!(cs("audio_only.m4a", Want::Audio), "mp4a.40.2");
    // hevc.mp4 is Main (profile 1, compat flags 1 and 2 → "6"), level from its SPS.
    let hevc = demux(&fixture("hevc.mp4"), Want::Video);
    let s = codec_string(&hevc.track.codec);
    let level = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=level",
            "-of",
            "csv=p=0",
        ])
        .arg(fixture("hevc.mp4"))
        .output()
        .unwrap();
    let level = String::from_utf8_lossy(&level.stdout).trim().to_string();
    assert!(
        s.starts_with(&format!("hvc1.1.6.L{level}.")),
        "{s} vs level {level}"
    );
}

#[test]
fn in_band_parameter_sets_match_extradata() {
    // ntsc.ts keyframes carry SPS/PPS in-band (Annex-B, converted by the test helper).
    let d = demux(&fixture("ntsc.ts"), Want::Video);
    let key = d.samples.iter().find(|s| s.sync).unwrap();
    assert_eq!(
        CodecConfig::from_keyframe_nals(&key.data, false).unwrap(),
        d.track.codec
    );
    let h = demux(&fixture("hevc.mp4"), Want::Video);
    if let CodecConfig::Hevc { vps, sps, pps } = &h.track.codec {
        let mut annexb = Vec::new();
        for n in vps.iter().chain(sps).chain(pps) {
            annexb.extend_from_slice(&[0, 0, 0, 1]);
            annexb.extend_from_slice(n);
        }
        assert_eq!(
            CodecConfig::hevc_from_extradata(&annexb).unwrap(),
            h.track.codec
        );
    } else {
        panic!("hevc fixture gave {:?}", h.track.codec);
    }
}

#[test]
fn opus_init_probes() {
    let track = TrackInfo {
        kind: MediaKind::Audio {
            channels: 2,
            sample_rate: 48000,
        },
        codec: CodecConfig::Opus {
            pre_skip: 312,
            input_sample_rate: 48000,
        },
        timescale: 48000,
        language: "eng".into(),
    };
    let init = init_of(track);
    assert_eq!(init.codec_string, "opus");
    let p = probe_stream(&init.bytes);
    assert!(
        p.contains("codec_name=opus")
            && p.contains("channels=2")
            && p.contains("sample_rate=48000"),
        "{p}"
    );
}

#[test]
fn aac_he_object_type_in_codec_string() {
    let c = CodecConfig::aac_from_extradata(&[0x2b, 0x92, 0x08, 0x00]).unwrap();
    assert_eq!(codec_string(&c), "mp4a.40.5");
}

/// Our avcC equals, byte for byte, the avcC that ffmpeg/x264 wrote in the source files
/// (including the high-profile chroma/bit-depth extension).
#[test]
fn avcc_matches_source_record() {
    for name in [
        "h264_aac_bframes.mp4",
        "h264_nobframes.mp4",
        "video_only.mp4",
        "odd_size.mp4",
    ] {
        let d = demux(&fixture(name), Want::Video);
        let init = init_of(d.track.clone());
        let at = init
            .bytes
            .windows(4)
            .position(|w| w == b"avcC")
            .expect("avcC box");
        let size = u32::from_be_bytes(init.bytes[at - 4..at].try_into().unwrap()) as usize;
        let body = &init.bytes[at + 4..at - 4 + size];
        assert_eq!(body, &d.extradata[..], "{name}: avcC record");
    }
}

/// Our hvcC header equals the source's in every field derived from the parameter sets
/// (profile/tier/level, compatibility and constraint flags, chroma format, bit depths,
/// temporal layers, length size) and carries the same NAL units.
#[test]
fn hvcc_matches_source_record() {
    let d = demux(&fixture("hevc.mp4"), Want::Video);
    let init = init_of(d.track.clone());
    let at = init
        .bytes
        .windows(4)
        .position(|w| w == b"hvcC")
        .expect("hvcC box");
    let size = u32::from_be_bytes(init.bytes[at - 4..at].try_into().unwrap()) as usize;
    let ours = &init.bytes[at + 4..at - 4 + size];
    let src = &d.extradata[..];
    // Bytes 0..13: version, profile_space/tier/idc, compat flags, constraint flags, level.
    assert_eq!(ours[..13], src[..13], "profile_tier_level");
    // Byte 16: chroma_format_idc; 17, 18: bit depths.
    assert_eq!(ours[16..19], src[16..19], "chroma format and bit depths");
    // Byte 21 low bits: numTemporalLayers, temporalIdNested, lengthSizeMinusOne.
    assert_eq!(
        ours[21] & 0x3f,
        src[21] & 0x3f,
        "temporal layers and length size"
    );
    assert_eq!(
        CodecConfig::hevc_from_extradata(ours).unwrap(),
        d.track.codec,
        "same NAL units"
    );
}
