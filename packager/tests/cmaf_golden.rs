//! Golden box dumps of one small init segment and one part (fixtures/golden/cmaf_*.txt).
//! `UPDATE_GOLDEN=1 cargo test -p packager --test cmaf_golden` rewrites them; review the diff.

mod common;

use common::synth::{aac_track, avc_track, samples};
use common::{drain, Output};
use packager::cmaf::{dump, Chunker, ChunkerConfig};

use packager::testing::assert_golden as golden;

fn run(
    track: packager::cmaf::TrackInfo,
    durations: &[u32],
    gop: usize,
    n: usize,
    cto: bool,
) -> Output {
    let mut c = Chunker::new(ChunkerConfig::default());
    c.set_track(track).unwrap();
    let mut out = Output::default();
    for (i, mut s) in samples(n, durations, gop, 0, 12).into_iter().enumerate() {
        if cto {
            // Signed composition offsets, one negative, as trun v1 allows (ISO/IEC 14496-12 §8.8.8).
            s.pts = s.dts + [2i64, 4, -1, 1][i % 4] * 3000;
        }
        c.push(s).unwrap();
    }
    c.finish().unwrap();
    drain(&mut c, &mut out);
    out
}

#[test]
fn avc_init_and_part_dump() {
    let out = run(avc_track(90000), &[3000], 60, 10, true);
    golden("cmaf_avc_init.txt", &dump(&out.inits[0].bytes));
    golden("cmaf_avc_part.txt", &dump(&out.parts[0].bytes));
    assert_eq!(out.inits[0].codec_string, "avc1.64001f");
}

#[test]
fn aac_init_dump() {
    let out = run(aac_track(48000), &[1024], 1, 3, false);
    golden("cmaf_aac_init.txt", &dump(&out.inits[0].bytes));
    assert_eq!(out.inits[0].codec_string, "mp4a.40.2");
}

/// A reader we did not write (the `mp4` crate) parses our init segment and sees the track.
#[test]
fn mp4_crate_reads_our_init() {
    let out = run(avc_track(90000), &[3000], 60, 10, false);
    let bytes = out.inits[0].bytes.to_vec();
    let size = bytes.len() as u64;
    let r = mp4::Mp4Reader::read_header(std::io::Cursor::new(bytes), size).unwrap();
    assert_eq!(r.ftyp.major_brand.to_string(), "iso6");
    assert!(r
        .ftyp
        .compatible_brands
        .iter()
        .any(|b| b.to_string() == "cmfc"));
    assert!(r.moov.mvex.is_some());
    let t = r.tracks().get(&1).expect("track 1");
    assert_eq!(t.timescale(), 90000);
    assert_eq!((t.width(), t.height()), (320, 180));
    assert_eq!(
        t.sequence_parameter_set().unwrap(),
        &[0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0xa0]
    );
}
