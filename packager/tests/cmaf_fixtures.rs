//! The chunker over every media fixture, checked by ffprobe/ffmpeg (decoders we did not write):
//! frame count, every pts/dts/key flag/size, segment starts, part concatenation, tfdt continuity.

mod common;

use common::{
    chunk, decode_errors, demux, fixture, probe_frame_pts, probe_packets, write_file, Demuxed,
    Output, Want,
};
use packager::cmaf::{dump, ChunkerConfig};

/// Runs the whole check for one stream of one fixture and returns what it produced.
fn check(name: &str, want: Want) -> (Demuxed, Output) {
    let d = demux(&fixture(name), want);
    assert!(!d.samples.is_empty(), "{name}: no samples");
    let cfg = ChunkerConfig::default();
    let out = chunk(&d, cfg.clone());
    assert_eq!(out.inits.len(), 1, "{name}: one init");
    let init = &out.inits[0];
    let target = cfg.part_target_ticks(d.track.timescale);
    let shift = out.dts_shift;

    // The whole stream: init + every part, through ffprobe.
    let parts: Vec<&[u8]> = out.parts.iter().map(|p| &p.bytes[..]).collect();
    let file = write_file(&init.bytes, &parts);
    let probed = probe_packets(file.path());
    assert_eq!(
        probed.len(),
        d.samples.len(),
        "{name} {want:?}: frame count"
    );
    for (i, (p, s)) in probed.iter().zip(&d.samples).enumerate() {
        assert_eq!(
            (p.pts, p.dts),
            (s.pts + shift, s.dts + shift),
            "{name} {want:?}: packet {i} pts/dts"
        );
        assert_eq!(p.key, s.sync, "{name} {want:?}: packet {i} key flag");
        assert_eq!(p.size, s.data.len(), "{name} {want:?}: packet {i} size");
    }

    // Parts: within target, tfdt continuous, tfdt in the bytes equals first_dts.
    for (i, p) in out.parts.iter().enumerate() {
        assert!(
            p.duration <= target,
            "{name}: part {i} lasts {} > target {target}",
            p.duration
        );
        assert!(
            dump(&p.bytes).contains(&format!("base_media_decode_time={}", p.first_dts)),
            "{name}: part {i} tfdt"
        );
        if let Some(next) = out.parts.get(i + 1) {
            assert_eq!(
                p.first_dts + p.duration as i64,
                next.first_dts,
                "{name}: tfdt continuity after part {i}"
            );
            if next.msn == p.msn && !p.independent {
                // rfc8216bis-22 §4.4.4.9: all but a segment's last part and the INDEPENDENT=YES
                // ones last at least 85 % of PART-TARGET.
                assert!(
                    p.duration * 100 >= target * 85,
                    "{name}: part {i} lasts {} < 85% of {target}",
                    p.duration
                );
            }
        }
    }

    // Segments: parts in order, begin with a key frame, bytes are the parts concatenated.
    assert!(!out.segments.is_empty());
    for (expected_msn, seg) in out.segments.iter().enumerate() {
        assert_eq!(seg.msn, expected_msn as u64, "{name}: msn sequence");
        let mine: Vec<_> = out.parts.iter().filter(|p| p.msn == seg.msn).collect();
        assert_eq!(
            mine.len() as u32,
            seg.parts,
            "{name}: segment {} part count",
            seg.msn
        );
        assert_eq!(mine.iter().map(|p| p.duration).sum::<u64>(), seg.duration);
        assert!(mine.iter().enumerate().all(|(i, p)| p.index == i as u32));
        assert!(
            mine[0].independent,
            "{name}: segment {} starts independent",
            seg.msn
        );
        let bytes: Vec<u8> = mine.iter().flat_map(|p| p.bytes.iter().copied()).collect();
        let seg_file = write_file(&init.bytes, &[&bytes]);
        let sp = probe_packets(seg_file.path());
        assert!(
            sp[0].key,
            "{name}: segment {} begins with a key frame",
            seg.msn
        );
        let first = mine[0].first_dts;
        assert_eq!(sp[0].dts, first, "{name}: segment {} first dts", seg.msn);
    }
    // Segment boundaries sit on the 2 s grid and never drift: every segment but the last ends
    // exactly on it (video with a 2 s GOP) or, for audio, at the last frame that ends by it
    // (less than one frame before it), so that no audio segment starts after its video twin.
    let target = cfg.segment_target_ticks(out.segments[0].timescale) as i64;
    let max_sample = d
        .samples
        .iter()
        .map(|s| i64::from(s.duration))
        .max()
        .unwrap_or(0);
    let mut end = 0i64;
    for (k, seg) in out.segments[..out.segments.len() - 1].iter().enumerate() {
        end += seg.duration as i64;
        let grid = (k as i64 + 1) * target;
        let audio = out.parts.iter().all(|p| p.independent);
        let ok = if audio {
            end <= grid && grid - end < max_sample
        } else {
            (end - grid).abs() <= max_sample / 2 + 1
        };
        assert!(ok, "{name}: segment {} ends at {end}, grid {grid}", seg.msn);
    }
    (d, out)
}

/// Decodes init + all parts with ffmpeg (no error), and checks frames come out in presentation
/// order with exactly the input's presentation times.
fn check_decode(name: &str, want: Want) {
    let (d, out) = check(name, want);
    let parts: Vec<&[u8]> = out.parts.iter().map(|p| &p.bytes[..]).collect();
    let file = write_file(&out.inits[0].bytes, &parts);
    let errs = decode_errors(file.path());
    assert!(
        errs.trim().is_empty(),
        "{name}: ffmpeg decode errors: {errs}"
    );
    let frames = probe_frame_pts(file.path());
    let mut expect: Vec<i64> = d.samples.iter().map(|s| s.pts + out.dts_shift).collect();
    expect.sort_unstable();
    assert_eq!(
        frames, expect,
        "{name}: decoded frames in presentation order"
    );
}

#[test]
fn h264_aac_bframes_video_decodes_in_presentation_order() {
    check_decode("h264_aac_bframes.mp4", Want::Video);
    let (_, out) = check("h264_aac_bframes.mp4", Want::Video);
    assert_eq!(out.inits[0].codec_string, "avc1.64000d");
}

#[test]
fn h264_aac_bframes_audio() {
    let (_, out) = check("h264_aac_bframes.mp4", Want::Audio);
    assert_eq!(out.inits[0].codec_string, "mp4a.40.2");
}

#[test]
fn h264_nobframes_video_and_audio() {
    check_decode("h264_nobframes.mp4", Want::Video);
    check("h264_nobframes.mp4", Want::Audio);
}

#[test]
fn hevc_decodes_in_presentation_order() {
    check_decode("hevc.mp4", Want::Video);
    let (_, out) = check("hevc.mp4", Want::Video);
    assert!(
        out.inits[0].codec_string.starts_with("hvc1.1.6.L"),
        "{}",
        out.inits[0].codec_string
    );
}

#[test]
fn audio_only() {
    check_decode("audio_only.m4a", Want::Audio);
}

#[test]
fn video_only() {
    check_decode("video_only.mp4", Want::Video);
}

#[test]
fn odd_size_high444() {
    check_decode("odd_size.mp4", Want::Video);
}

#[test]
fn ntsc_ts_annexb_29_97() {
    let (d, out) = check("ntsc.ts", Want::Video);
    assert!(d.samples.iter().all(|s| s.duration == 3003));
    assert_eq!(out.dts_shift, 0);
    check_decode("ntsc.ts", Want::Video);
}

/// A codec change mid-stream (H.264 → H.265): the second init and the parts after it form a
/// valid stream on their own, the first part after the change is flagged, and tfdt continues.
#[test]
fn codec_change_h264_to_hevc_probes() {
    use packager::cmaf::{Chunker, Event};
    let avc = demux(&fixture("video_only.mp4"), Want::Video);
    let hevc = demux(&fixture("hevc.mp4"), Want::Video);
    assert_eq!(avc.track.timescale, hevc.track.timescale);
    let mut c = Chunker::new(ChunkerConfig::default());
    c.set_track(avc.track.clone()).unwrap();
    let first: Vec<_> = avc.samples[..60].to_vec();
    for s in &first {
        c.push(s.clone()).unwrap();
    }
    c.set_track(hevc.track.clone()).unwrap();
    // Continue the timeline: hevc samples shifted to follow the last H.264 sample.
    let last = first.last().unwrap();
    let offset = last.dts + last.duration as i64 - hevc.samples[0].dts;
    for s in &hevc.samples {
        let mut s = s.clone();
        s.dts += offset;
        s.pts += offset;
        c.push(s).unwrap();
    }
    c.finish().unwrap();
    let mut inits = Vec::new();
    let mut parts = Vec::new();
    while let Some(e) = c.pull() {
        match e {
            Event::InitReady(i) => inits.push(i),
            Event::PartReady(p) => parts.push(p),
            Event::SegmentClosed(_) => {}
        }
    }
    assert_eq!(inits.iter().map(|i| i.id).collect::<Vec<_>>(), vec![0, 1]);
    let after: Vec<_> = parts.iter().filter(|p| p.init_id == 1).collect();
    assert!(after[0].discontinuity && after[0].independent && after[0].index == 0);
    let before = parts.iter().filter(|p| p.init_id == 0).last().unwrap();
    assert_eq!(
        before.first_dts + before.duration as i64,
        after[0].first_dts,
        "tfdt continues across the change"
    );
    let bytes: Vec<&[u8]> = after.iter().map(|p| &p.bytes[..]).collect();
    let file = write_file(&inits[1].bytes, &bytes);
    let probed = probe_packets(file.path());
    assert_eq!(probed.len(), hevc.samples.len());
    assert_eq!(probed[0].dts, after[0].first_dts);
    let errs = decode_errors(file.path());
    assert!(errs.trim().is_empty(), "{errs}");
}
