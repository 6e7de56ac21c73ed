//! Random sample sequences, valid and invalid, into the chunker: it never panics, and what it
//! emits always keeps the rules (parts ≤ target, tfdt = dts of the first sample and continuous
//! within a timeline, segments start independent, MSNs and part indices in sequence, box
//! structure consistent).

mod common;

use bytes::Bytes;
use common::synth::avc_track;
use packager::cmaf::{dump, Chunker, ChunkerConfig, EncodedSample, Event};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    /// A sample `gap` ticks after the previous dts end (negative: overlap), with a duration.
    Sample {
        gap: i64,
        duration: u32,
        sync: bool,
        cto: i32,
        size: usize,
    },
    Discontinuity,
    CodecChange,
    Finish,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        20 => (prop_oneof![8 => Just(0i64), 1 => -5000i64..5000, 1 => -200_000i64..1_000_000, 1 => any::<i64>()], 0u32..12_000, prop::bool::weighted(0.15), -3000i32..9000, 0usize..40)
            .prop_map(|(gap, duration, sync, cto, size)| Step::Sample { gap, duration, sync, cto, size }),
        1 => Just(Step::Discontinuity),
        1 => Just(Step::CodecChange),
        1 => Just(Step::Finish),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn chunker_never_panics_and_keeps_invariants(
        steps in prop::collection::vec(step(), 0..300),
        part_target in prop_oneof![Just(1.0 / 3.0), 0.05f64..1.5],
    ) {
        let cfg = ChunkerConfig { part_target, segment_target: part_target * 4.0, ..Default::default() };
        let target = cfg.part_target_ticks(90000);
        let mut c = Chunker::new(cfg);
        let mut track = avc_track(90000);
        c.set_track(track.clone()).unwrap();
        let mut dts = 0i64;
        let mut events = Vec::new();
        // (dts of each accepted sample, duration) in order, to check parts against.
        let mut accepted: Vec<(i64, u32, bool)> = Vec::new();
        for (i, st) in steps.iter().cloned().enumerate() {
            // What an encoder holding one packet would say: whether the next sample is sync.
            let next_sync = matches!(steps.get(i + 1), Some(Step::Sample { sync: true, .. }));
            match st {
                Step::Sample { gap, duration, sync, cto, size } => {
                    let s = EncodedSample {
                        dts: dts.wrapping_add(gap),
                        pts: dts.wrapping_add(gap).wrapping_add(cto as i64),
                        duration,
                        sync,
                        data: Bytes::from(vec![7u8; size]),
                        wallclock_ms: None,
                        next_sync,
                    };
                    let this = s.dts;
                    if c.push(s).is_ok() {
                        accepted.push((this.wrapping_add(c.dts_shift()), duration, sync));
                        dts = this.wrapping_add(duration as i64);
                    }
                }
                Step::Discontinuity => c.discontinuity(),
                Step::CodecChange => {
                    track.kind = match track.kind {
                        packager::cmaf::MediaKind::Video { width, height } => packager::cmaf::MediaKind::Video { width: width + 2, height },
                        k => k,
                    };
                    c.set_track(track.clone()).unwrap();
                }
                Step::Finish => c.finish().unwrap(),
            }
            while let Some(e) = c.pull() { events.push(e); }
        }
        c.finish().unwrap();
        while let Some(e) = c.pull() { events.push(e); }

        let mut next_sample = 0usize;
        let mut last_msn: Option<u64> = None;
        let mut expect_index = 0u32;
        let mut prev_end: Option<(i64, u64)> = None; // (end of previous part, its msn)
        let mut seg_parts = 0u32;
        for e in &events {
            match e {
                Event::InitReady(i) => prop_assert!(dump(&i.bytes).contains("mvex")),
                Event::PartReady(p) => {
                    let n = dump(&p.bytes).lines().find_map(|l| l.split("sample_count=").nth(1).map(|v| v.split(' ').next().unwrap().parse::<usize>().unwrap())).unwrap();
                    prop_assert!(n >= 1);
                    let mine = &accepted[next_sample..next_sample + n];
                    next_sample += n;
                    prop_assert_eq!(p.first_dts, mine[0].0, "tfdt is the first sample's dts");
                    let want = format!("base_media_decode_time={}", p.first_dts);
                    prop_assert!(dump(&p.bytes).contains(&want), "tfdt in the bytes");
                    prop_assert_eq!(p.independent, mine[0].2);
                    // Parts never exceed the target unless one sample alone does.
                    prop_assert!(p.duration <= target || (n == 1), "part {} > {}", p.duration, target);
                    if last_msn != Some(p.msn) {
                        if let Some(m) = last_msn { prop_assert!(p.msn > m); }
                        prop_assert!(p.independent, "segment starts with a sync sample");
                        prop_assert_eq!(p.index, 0);
                        expect_index = 0;
                        last_msn = Some(p.msn);
                    }
                    prop_assert_eq!(p.index, expect_index);
                    expect_index += 1;
                    // tfdt continuity within a segment whenever the input was gapless.
                    if let Some((end, msn)) = prev_end {
                        let gapless = mine[0].0 == end;
                        if msn == p.msn && gapless { prop_assert_eq!(p.first_dts, end); }
                    }
                    prev_end = Some((p.first_dts.wrapping_add(p.duration as i64), p.msn));
                    seg_parts += 1;
                }
                Event::SegmentClosed(s) => {
                    prop_assert_eq!(Some(s.msn), last_msn);
                    prop_assert_eq!(s.parts, seg_parts);
                    seg_parts = 0;
                }
            }
        }
        prop_assert_eq!(next_sample, accepted.len(), "every accepted sample is in a part");
        prop_assert_eq!(seg_parts, 0, "finish closed the last segment");
    }

    #[test]
    fn dump_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = dump(&bytes);
    }

    #[test]
    fn annexb_round_trip(nals in prop::collection::vec(prop::collection::vec(1u8..=255, 1..20), 0..8)) {
        let mut annexb = Vec::new();
        for n in &nals { annexb.extend_from_slice(&[0, 0, 0, 1]); annexb.extend_from_slice(n); }
        let lp = packager::cmaf::annexb_to_length_prefixed(&annexb);
        let back: Vec<Vec<u8>> = packager::cmaf::length_prefixed_nal_units(&lp).unwrap().into_iter().map(|s| s.to_vec()).collect();
        prop_assert_eq!(back, nals);
    }
}
