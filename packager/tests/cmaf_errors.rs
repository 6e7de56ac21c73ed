//! Bad input gives typed errors (never a panic) and leaves the chunker usable; discontinuities
//! (codec change, timestamp jumps, explicit) close the open segment and flag the next one.

mod common;

use bytes::Bytes;
use common::synth::{aac_track, avc_track, samples};
use common::{drain, Output};
use packager::cmaf::{Chunker, ChunkerConfig, CodecConfig, EncodedSample, Error};

fn started() -> (Chunker, Output) {
    let mut c = Chunker::new(ChunkerConfig::default());
    c.set_track(avc_track(90000)).unwrap();
    let mut out = Output::default();
    drain(&mut c, &mut out);
    (c, out)
}

fn sample(dts: i64, sync: bool) -> EncodedSample {
    let mut s = samples(1, &[3000], 1, dts, 50).remove(0);
    s.sync = sync;
    s
}

#[test]
fn sample_before_track() {
    let mut c = Chunker::new(ChunkerConfig::default());
    assert_eq!(c.push(sample(0, true)), Err(Error::NoTrack));
    assert!(c.pull().is_none());
}

#[test]
fn invalid_samples_are_rejected_and_dropped() {
    let (mut c, mut out) = started();
    let mut s = sample(0, true);
    s.data = Bytes::new();
    assert_eq!(c.push(s), Err(Error::EmptySample { dts: 0 }));
    let mut s = sample(0, true);
    s.duration = 0;
    assert_eq!(c.push(s), Err(Error::ZeroDuration { dts: 0 }));
    let mut s = sample(0, true);
    s.pts = i64::MAX;
    assert!(matches!(
        c.push(s),
        Err(Error::CompositionOffsetOverflow { .. })
    ));
    assert_eq!(
        c.push(sample(0, false)),
        Err(Error::NotSyncAtSegmentStart { dts: 0 })
    );
    c.push(sample(0, true)).unwrap();
    c.push(sample(3000, false)).unwrap();
    // Backwards by less than a discontinuity, and standing still.
    assert_eq!(
        c.push(sample(1000, false)),
        Err(Error::DtsNotIncreasing {
            dts: 1000,
            previous: 3000
        })
    );
    assert_eq!(
        c.push(sample(3000, false)),
        Err(Error::DtsNotIncreasing {
            dts: 3000,
            previous: 3000
        })
    );
    // Still usable.
    c.push(sample(6000, false)).unwrap();
    c.finish().unwrap();
    drain(&mut c, &mut out);
    assert_eq!(out.parts.len(), 1);
    assert_eq!(out.parts[0].duration, 9000);
}

#[test]
fn missing_parameter_sets() {
    let mut c = Chunker::new(ChunkerConfig::default());
    let mut t = avc_track(90000);
    t.codec = CodecConfig::Avc {
        sps: vec![],
        pps: vec![Bytes::from_static(&[0x68, 1])],
    };
    assert_eq!(
        c.set_track(t.clone()),
        Err(Error::MissingParameterSets {
            codec: "avc",
            what: "sps"
        })
    );
    t.codec = CodecConfig::Avc {
        sps: vec![Bytes::from_static(&[0x67, 0x64, 0, 0x1f])],
        pps: vec![Bytes::new()],
    };
    assert_eq!(
        c.set_track(t),
        Err(Error::MissingParameterSets {
            codec: "avc",
            what: "pps"
        })
    );
    let mut t = avc_track(90000);
    t.codec = CodecConfig::Hevc {
        vps: vec![],
        sps: vec![],
        pps: vec![],
    };
    assert!(matches!(
        c.set_track(t),
        Err(Error::MissingParameterSets { codec: "hevc", .. })
    ));
    // A codec that does not match the media kind.
    let mut t = avc_track(90000);
    t.codec = aac_track(48000).codec;
    assert!(matches!(c.set_track(t), Err(Error::InvalidConfig(_))));
    assert_eq!(c.push(sample(0, true)), Err(Error::NoTrack));
}

#[test]
fn invalid_config() {
    for cfg in [
        ChunkerConfig {
            part_target: 0.0,
            ..Default::default()
        },
        ChunkerConfig {
            part_target: f64::NAN,
            ..Default::default()
        },
        ChunkerConfig {
            segment_target: 0.1,
            ..Default::default()
        },
    ] {
        let mut c = Chunker::new(cfg);
        assert!(matches!(
            c.set_track(avc_track(90000)),
            Err(Error::InvalidConfig(_))
        ));
    }
    let mut t = avc_track(0);
    t.timescale = 0;
    assert!(matches!(
        Chunker::new(ChunkerConfig::default()).set_track(t),
        Err(Error::InvalidConfig(_))
    ));
}

/// Pushes `n` 30 fps samples (IDR every 60) from `start` and drains.
fn feed(c: &mut Chunker, out: &mut Output, n: usize, start: i64) {
    for s in samples(n, &[3000], 60, start, 50) {
        c.push(s).unwrap();
    }
    drain(c, out);
}

#[test]
fn codec_change_starts_discontinuity_with_new_init() {
    let (mut c, mut out) = started();
    feed(&mut c, &mut out, 45, 0);
    let mut t = avc_track(90000);
    t.kind = packager::cmaf::MediaKind::Video {
        width: 640,
        height: 360,
    };
    c.set_track(t.clone()).unwrap();
    drain(&mut c, &mut out);
    // The open segment closed, a new init with id 1 followed.
    assert_eq!(
        out.order.iter().collect::<String>(),
        "IPPPPPS".to_string() + "I"
    );
    assert_eq!(out.inits[1].id, 1);
    c.set_track(t).unwrap(); // same track again: nothing
    assert!(c.pull().is_none());
    feed(&mut c, &mut out, 30, 45 * 3000);
    let p = &out.parts[5];
    assert!(p.discontinuity && p.independent && p.init_id == 1 && p.msn == 1 && p.index == 0);
    // tfdt stays continuous across a codec change.
    assert_eq!(p.first_dts, 45 * 3000);
    assert!(out.parts[6..]
        .iter()
        .all(|p| !p.discontinuity && p.init_id == 1));
}

#[test]
fn timestamp_jumps_are_discontinuities() {
    for (jump_to, name) in [
        (0i64, "backwards to 0"),
        (1_000_000_000, "forward by hours"),
    ] {
        let (mut c, mut out) = started();
        feed(&mut c, &mut out, 200, 900_000);
        let before = out.segments.len();
        // The first sample after the jump must be sync; a non-sync one is refused.
        assert!(
            matches!(
                c.push(sample(jump_to, false)),
                Err(Error::NotSyncAtSegmentStart { .. })
            ),
            "{name}"
        );
        drain(&mut c, &mut out);
        assert_eq!(
            out.segments.len(),
            before + 1,
            "{name}: open segment closed at the jump"
        );
        feed(&mut c, &mut out, 60, jump_to);
        let first = out.parts.iter().find(|p| p.discontinuity).expect(name);
        assert_eq!(first.first_dts, jump_to, "{name}");
        assert_eq!(first.init_id, 0, "{name}: same codec, same init");
        assert_eq!(out.inits.len(), 1);
        assert_eq!(
            out.parts.iter().filter(|p| p.discontinuity).count(),
            1,
            "{name}"
        );
    }
}

#[test]
fn explicit_discontinuity_and_negative_start() {
    let (mut c, mut out) = started();
    // B-frame-style start at dts -6000: the timeline is shifted to keep tfdt unsigned.
    feed(&mut c, &mut out, 30, -6000);
    assert_eq!(c.dts_shift(), 6000);
    assert_eq!(out.parts[0].first_dts, 0);
    c.discontinuity();
    c.discontinuity(); // twice is one discontinuity
    feed(&mut c, &mut out, 30, 0);
    c.finish().unwrap();
    drain(&mut c, &mut out);
    let d: Vec<_> = out.parts.iter().filter(|p| p.discontinuity).collect();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].msn, 1);
    assert_eq!(out.segments.len(), 2);
    // Discontinuity before any sample does nothing.
    let (mut c, mut out) = started();
    c.discontinuity();
    feed(&mut c, &mut out, 10, 0);
    assert!(out.parts.iter().all(|p| !p.discontinuity));
}

#[test]
fn extreme_timestamps_do_not_panic() {
    let (mut c, _) = started();
    for dts in [i64::MIN, i64::MIN + 1, -1, i64::MAX - 1, i64::MAX] {
        let mut s = sample(dts, true);
        s.pts = dts;
        let _ = c.push(s);
    }
    let (mut c, _) = started();
    assert_eq!(
        c.push(sample(i64::MIN, true)),
        Err(Error::TimestampOverflow { dts: i64::MIN })
    );
    c.push(sample(-5, true)).unwrap();
    assert_eq!(c.dts_shift(), 5);
    let mut s = sample(i64::MAX - 2, true);
    s.pts = s.dts;
    // A forward jump: a new timeline, but the shift of 5 would overflow it.
    assert_eq!(
        c.push(s),
        Err(Error::TimestampOverflow { dts: i64::MAX - 2 })
    );
    c.finish().unwrap();
    while c.pull().is_some() {}
}
