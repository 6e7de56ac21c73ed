//! Part and segment cutting tables: every part ≤ PART-TARGET, all but a segment's last and the
//! independent ones ≥ 85 % of it (draft-pantos-hls-rfc8216bis-22 §4.4.4.9), no runt part at a
//! segment's end where an even spread keeps those bounds, segments close at the first sync
//! sample at or after the target, and a part is emitted as soon as it is known complete.

mod common;

use common::synth::{aac_track, avc_track, samples};
use common::{drain, Output};
use packager::cmaf::{Chunker, ChunkerConfig, EncodedSample, TrackInfo};

struct Case {
    name: &'static str,
    track: TrackInfo,
    durations: &'static [u32],
    gop: usize,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "25fps",
            track: avc_track(90000),
            durations: &[3600],
            gop: 50,
        },
        Case {
            name: "29.97fps",
            track: avc_track(90000),
            durations: &[3003],
            gop: 60,
        },
        Case {
            name: "29.97fps/30000",
            track: avc_track(30000),
            durations: &[1001],
            gop: 60,
        },
        Case {
            name: "30fps",
            track: avc_track(90000),
            durations: &[3000],
            gop: 60,
        },
        Case {
            name: "50fps",
            track: avc_track(90000),
            durations: &[1800],
            gop: 100,
        },
        Case {
            name: "59.94fps",
            track: avc_track(90000),
            durations: &[1501, 1502],
            gop: 120,
        },
        Case {
            name: "60fps",
            track: avc_track(90000),
            durations: &[1500],
            gop: 120,
        },
        Case {
            name: "30fps/15360",
            track: avc_track(15360),
            durations: &[512],
            gop: 60,
        },
        Case {
            name: "25fps irregular gop",
            track: avc_track(90000),
            durations: &[3600],
            gop: 37,
        },
        Case {
            name: "aac 44.1k",
            track: aac_track(44100),
            durations: &[1024],
            gop: 1,
        },
        Case {
            name: "aac 48k",
            track: aac_track(48000),
            durations: &[1024],
            gop: 1,
        },
    ]
}

/// Runs one case and checks every rule, including latency after each push.
fn run(case: &Case, cfg: &ChunkerConfig, n: usize) -> Output {
    let ts = case.track.timescale;
    let target = cfg.part_target_ticks(ts);
    let mut c = Chunker::new(cfg.clone());
    c.set_track(case.track.clone()).unwrap();
    let mut out = Output::default();
    let (mut pushed, mut emitted) = (0u64, 0u64);
    for s in samples(n, case.durations, case.gop, 0, 100) {
        let d = s.duration as u64;
        c.push(s).unwrap();
        pushed += d;
        let before = out.parts.len();
        drain(&mut c, &mut out);
        emitted += out.parts[before..].iter().map(|p| p.duration).sum::<u64>();
        // Latency: what is still held back could take one more sample of this duration.
        assert!(
            pushed - emitted + d <= target,
            "{}: part held back after it was complete",
            case.name
        );
    }
    c.finish().unwrap();
    drain(&mut c, &mut out);
    let name = case.name;
    // Whole samples can reach 85 % of the target only if floor(T/d)·d ≥ 0.85·T; otherwise the
    // configuration (not the chunker) cannot meet §4.4.4.9 and only the upper bound is checked.
    let (dmin, dmax) = (
        *case.durations.iter().min().unwrap() as u64,
        *case.durations.iter().max().unwrap() as u64,
    );
    let feasible = (target / dmax) * dmin * 100 >= target * 85;
    assert_eq!(
        out.parts.iter().map(|p| p.duration).sum::<u64>(),
        pushed,
        "{name}: all media in parts"
    );
    for (i, p) in out.parts.iter().enumerate() {
        assert!(
            p.duration <= target,
            "{name}: part {i} {} > {target}",
            p.duration
        );
        let last_of_segment = out.parts.get(i + 1).is_none_or(|n| n.msn != p.msn);
        if !last_of_segment && !p.independent && feasible {
            assert!(
                p.duration * 100 >= target * 85,
                "{name}: part {i} {} < 85% of {target}",
                p.duration
            );
        }
    }
    let seg_target = cfg.segment_target_ticks(ts);
    let gop_ticks: u64 = (0..case.gop)
        .map(|k| case.durations[k % case.durations.len()] as u64)
        .sum();
    let floor85 = (target * 85).div_ceil(100);
    let mut start = 0u64;
    for (i, seg) in out.segments.iter().enumerate() {
        // No runt: a segment that closed on the grid and whose samples could be spread evenly
        // over the fewest parts that hold them, keeping every part within §4.4.4.9's bounds,
        // has parts that differ by at most one sample (hls.js skips a short last part when it
        // loads behind the live edge, which leaves a hole).
        let end_ticks = start + seg.duration;
        let on_grid = {
            let k = (end_ticks + seg_target / 2) / seg_target;
            end_ticks.abs_diff(k * seg_target) <= dmax
        };
        let parts: Vec<&packager::cmaf::Part> =
            out.parts.iter().filter(|p| p.msn == seg.msn).collect();
        let frames = seg.duration / dmin;
        let per_part = (target / dmax).max(1);
        let even = frames.div_ceil(per_part);
        let all_independent = parts.iter().all(|p| p.independent);
        let spread_ok = all_independent || (frames / even) * dmin >= floor85;
        if i + 1 < out.segments.len() && on_grid && spread_ok && frames > per_part {
            let longest = parts.iter().map(|p| p.duration).max().unwrap();
            let shortest = parts.iter().map(|p| p.duration).min().unwrap();
            assert!(
                longest - shortest <= 2 * dmax - dmin,
                "{name}: segment {} parts {:?} are uneven (a runt)",
                seg.msn,
                parts.iter().map(|p| p.duration).collect::<Vec<_>>()
            );
        }
        let first = out.parts.iter().find(|p| p.msn == seg.msn).unwrap();
        assert!(
            first.independent,
            "{name}: segment {} starts with a sync sample",
            seg.msn
        );
        let end = start + seg.duration;
        if i + 1 < out.segments.len() {
            // Segments end on a fixed grid (k × segment target from the first sample) so that
            // renditions keep the same MSN at the same time: a video segment closes at the first
            // sync sample whose span lies mostly past a grid point its span covers; an audio one
            // (every sample sync) at the last sample that ends by the grid point, so that it
            // never starts or ends after the video segment of the same MSN.
            if case.gop == 1 {
                let k = (end + dmax - 1) / seg_target;
                assert!(
                    k >= 1 && end <= k * seg_target && k * seg_target < end + dmax,
                    "{name}: audio segment {} [{start}, {end}) does not end within a sample before a grid point",
                    seg.msn
                );
                start = end;
                continue;
            }
            let k = (end + dmax / 2) / seg_target;
            assert!(
                k >= 1 && start + dmin / 2 < k * seg_target,
                "{name}: segment {} [{start}, {end}) covers no grid point",
                seg.msn
            );
            assert!(
                end < k * seg_target + gop_ticks,
                "{name}: segment {} closed a GOP late",
                seg.msn
            );
            assert!(
                seg.duration < seg_target + gop_ticks,
                "{name}: segment {} overran a GOP",
                seg.msn
            );
        }
        start = end;
    }
    out
}

fn feasible(case: &Case, cfg: &ChunkerConfig) -> bool {
    let target = cfg.part_target_ticks(case.track.timescale);
    let (dmin, dmax) = (
        *case.durations.iter().min().unwrap() as u64,
        *case.durations.iter().max().unwrap() as u64,
    );
    (target / dmax) * dmin * 100 >= target * 85
}

#[test]
fn parts_within_target_and_85_percent_default_targets() {
    for case in cases() {
        assert!(
            feasible(&case, &ChunkerConfig::default()),
            "{}: 1/3 s fits whole samples",
            case.name
        );
        let out = run(&case, &ChunkerConfig::default(), 400);
        assert!(out.segments.len() >= 3, "{}", case.name);
    }
}

#[test]
fn other_part_targets() {
    for part_target in [0.2, 0.25, 0.5, 1.0, 1.001] {
        for case in cases() {
            let cfg = ChunkerConfig {
                part_target,
                segment_target: 4.0,
                ..Default::default()
            };
            run(&case, &cfg, 300);
        }
    }
}

#[test]
fn exact_part_counts_at_30fps() {
    // 1/3 s at 90 kHz is 30000 ticks = exactly 10 frames of 3000: 6 full parts per 2 s segment.
    let case = Case {
        name: "30fps",
        track: avc_track(90000),
        durations: &[3000],
        gop: 60,
    };
    let out = run(&case, &ChunkerConfig::default(), 180);
    assert_eq!(out.segments.len(), 3);
    assert!(out
        .segments
        .iter()
        .all(|s| s.parts == 6 && s.duration == 180000));
    assert!(out.parts.iter().all(|p| p.duration == 30000));
    // Independent only where a part starts on the IDR.
    let independent: Vec<u32> = out
        .parts
        .iter()
        .filter(|p| p.independent)
        .map(|p| p.index)
        .collect();
    assert_eq!(independent, vec![0, 0, 0]);
    // Event order: init, then 6 parts and a segment close, three times.
    let order: String = out.order.iter().collect();
    assert_eq!(order, format!("I{}", "PPPPPPS".repeat(3)));
}

#[test]
fn ntsc_part_is_nine_frames() {
    let case = Case {
        name: "29.97",
        track: avc_track(90000),
        durations: &[3003],
        gop: 60,
    };
    let out = run(&case, &ChunkerConfig::default(), 60);
    // 30000-tick target: 9 frames (27027, 90 %) fit, 10 (30030) do not. An even spread of the
    // 60 frames over 7 parts would need parts of 8 frames (80 %), below §4.4.4.9's 85 %: the
    // cut stays greedy and the last part is short.
    let durs: Vec<u64> = out.parts.iter().map(|p| p.duration).collect();
    assert_eq!(
        durs,
        vec![27027, 27027, 27027, 27027, 27027, 27027, 6 * 3003]
    );
}

#[test]
fn msn_and_part_indices_follow_config() {
    let cfg = ChunkerConfig {
        first_msn: 41,
        first_discontinuity: 7,
        ..Default::default()
    };
    let case = Case {
        name: "30fps",
        track: avc_track(90000),
        durations: &[3000],
        gop: 60,
    };
    let out = run(&case, &cfg, 120);
    assert_eq!(out.inits[0].id, 7);
    assert_eq!(
        out.segments.iter().map(|s| s.msn).collect::<Vec<_>>(),
        vec![41, 42]
    );
    assert!(out.parts.iter().all(|p| p.init_id == 7 && !p.discontinuity));
    let seqs: Vec<String> = out
        .parts
        .iter()
        .map(|p| packager::cmaf::dump(&p.bytes))
        .collect();
    for (i, d) in seqs.iter().enumerate() {
        assert!(
            d.contains(&format!("mfhd size=16 sequence={}", i + 1)),
            "mfhd sequence increases"
        );
    }
    assert_eq!(out.parts[0].wallclock_ms, Some(1_700_000_000_000));
}

#[test]
fn aac_segment_is_spread_evenly_without_a_runt() {
    // 2 s of 48 kHz AAC is 93.75 frames of 1024: greedy 15-frame parts would end each segment
    // with a 3- or 4-frame runt (64–85 ms), which hls.js skips (its 0.25 s fragment lookup
    // tolerance) when it loads behind the live edge. Spread evenly: seven parts of 13–14 frames,
    // longer first, every part independent (so §4.4.4.9's 85 % bound does not apply).
    let case = Case {
        name: "aac 48k",
        track: aac_track(48000),
        durations: &[1024],
        gop: 1,
    };
    let out = run(&case, &ChunkerConfig::default(), 94 * 4);
    assert!(out.segments.len() >= 3);
    for seg in &out.segments[..out.segments.len() - 1] {
        let frames: Vec<u64> = out
            .parts
            .iter()
            .filter(|p| p.msn == seg.msn)
            .map(|p| p.duration / 1024)
            .collect();
        assert_eq!(frames.len(), 7, "segment {}: {frames:?}", seg.msn);
        assert!(
            frames.windows(2).all(|w| w[0] >= w[1]),
            "segment {}: longer parts first: {frames:?}",
            seg.msn
        );
        assert!(
            frames.iter().all(|&f| f == 13 || f == 14),
            "segment {}: {frames:?}",
            seg.msn
        );
        // The shortest part is longer than hls.js's 0.25 s lookup tolerance.
        let shortest = out
            .parts
            .iter()
            .filter(|p| p.msn == seg.msn)
            .map(|p| p.duration as f64 / f64::from(p.timescale))
            .fold(f64::INFINITY, f64::min);
        assert!(
            shortest > 0.25,
            "segment {}: shortest part {shortest} s",
            seg.msn
        );
    }
}

#[test]
fn video_at_59_94_fps_is_spread_evenly() {
    // 120 frames of 1501/1502 ticks per 2 s segment: greedy 19-frame parts end with a 6-frame
    // runt (0.1 s); seven parts of 17–18 frames stay above 85 % of the 30000-tick target.
    let case = Case {
        name: "59.94fps",
        track: avc_track(90000),
        durations: &[1501, 1502],
        gop: 120,
    };
    let out = run(&case, &ChunkerConfig::default(), 360);
    for seg in &out.segments[..out.segments.len() - 1] {
        let parts: Vec<u64> = out
            .parts
            .iter()
            .filter(|p| p.msn == seg.msn)
            .map(|p| p.duration)
            .collect();
        assert_eq!(parts.len(), 7, "segment {}: {parts:?}", seg.msn);
        assert!(
            parts.iter().all(|&d| d * 100 >= 30000 * 85 && d <= 30000),
            "segment {}: {parts:?}",
            seg.msn
        );
    }
}

/// rfc8216bis-22 §4.4.5.3: a preload hint's URI MUST be the one later added. An audio segment is
/// complete once its last sample is in (the next sample, a sync sample like every audio one,
/// opens the next segment), so it closes then, and the playlist hints the next segment's first
/// part instead of a part after this segment's last that would never come. Video closes the same
/// way when the encoder says the next sample is a sync sample (`next_sync`, known to an encoder
/// that holds one packet); without that it waits for its next sample, which shows it.
#[test]
fn a_segment_closes_with_its_last_sample_when_the_next_is_known_sync() {
    for (track, durations, gop, early, announce) in [
        (aac_track(48000), &[1024u32][..], 1, true, false),
        (avc_track(90000), &[3000u32][..], 60, true, true),
        (avc_track(90000), &[3000u32][..], 60, false, false),
    ] {
        let mut c = Chunker::new(ChunkerConfig::default());
        c.set_track(track).unwrap();
        let mut out = Output::default();
        let mut closed_at = Vec::new();
        let mut input = samples(400, durations, gop, 0, 100);
        if announce {
            announce_next_sync(&mut input);
        }
        for (i, s) in input.into_iter().enumerate() {
            c.push(s).unwrap();
            let before = out.segments.len();
            drain(&mut c, &mut out);
            if out.segments.len() > before {
                closed_at.push(i);
            }
        }
        assert!(closed_at.len() >= 2, "{closed_at:?}");
        // Pushed samples 0..=i when segment k closed; its samples are those of its parts.
        let mut in_segments = 0u64;
        for (k, &i) in closed_at.iter().enumerate() {
            let seg = &out.segments[k];
            in_segments += seg.duration / u64::from(durations[0]);
            let pushed = i as u64 + 1;
            if early {
                assert_eq!(pushed, in_segments, "segment {k} closed late");
            } else {
                assert_eq!(
                    pushed,
                    in_segments + 1,
                    "video segment {k} closed before its next sync sample"
                );
            }
        }
    }
}

/// Closing early on `next_sync` changes when a video segment closes, never where: the same
/// segments, with the same parts and bytes, as closing when the sync sample arrives.
#[test]
fn next_sync_does_not_move_segment_boundaries() {
    let run = |announce: bool| {
        let mut c = Chunker::new(ChunkerConfig::default());
        c.set_track(avc_track(90000)).unwrap();
        let mut out = Output::default();
        // 29.97 fps, a key frame every 60 frames: boundaries near, not on, the 2 s grid.
        let mut input = samples(600, &[3003u32], 60, 0, 100);
        if announce {
            announce_next_sync(&mut input);
        }
        for s in input {
            c.push(s).unwrap();
            drain(&mut c, &mut out);
        }
        c.finish().unwrap();
        drain(&mut c, &mut out);
        out
    };
    let (late, early) = (run(false), run(true));
    assert!(late.segments.len() >= 9, "{:?}", late.segments);
    assert_eq!(late.segments, early.segments);
    let bytes = |o: &Output| -> Vec<_> {
        o.parts
            .iter()
            .map(|p| (p.msn, p.index, p.bytes.clone()))
            .collect()
    };
    assert_eq!(bytes(&late), bytes(&early));
}

/// What an encoder holding one packet says: each sample's `next_sync` is the next one's `sync`.
fn announce_next_sync(samples: &mut [EncodedSample]) {
    for i in 1..samples.len() {
        samples[i - 1].next_sync = samples[i].sync;
    }
}
