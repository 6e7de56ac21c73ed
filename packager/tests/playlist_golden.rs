//! Golden tests: exact playlist text for each shape llhls serves, compared byte for byte with
//! `fixtures/golden/playlist_*.m3u8`. `UPDATE_GOLDEN=1 cargo test -p packager --test
//! playlist_golden` rewrites the files (review the diff). Every golden also goes through the
//! strict reader (the rules) and through m3u8-rs.

mod playlist_support;

use packager::playlist::{
    rules, uri, AudioRendition, MediaPlaylist, ModelError, MultivariantError, MultivariantPlaylist,
    PartTag, PlaylistType, PreloadHint, RenditionReport, Segment, Skip, Variant,
};
use playlist_support::{apply_delta, cross_check_m3u8_rs, read_media, semantic};

const EPOCH: u64 = 1_700_000_000;
/// 2023-11-14T22:13:20.000Z.
const START_MS: i64 = 1_700_000_000_000;

use packager::testing::assert_golden;

/// Segments `first..first+count` of `part_count` parts of `part_secs` each, PDT from
/// `START_MS` at `first_offset_ms`.
fn segments(
    first: u64,
    count: u64,
    part_count: u32,
    part_secs: f64,
    first_offset_ms: i64,
) -> Vec<Segment> {
    (0..count)
        .map(|i| {
            let msn = first + i;
            Segment {
                msn,
                uri: uri::segment_uri(EPOCH, msn),
                duration: part_secs * f64::from(part_count),
                complete: true,
                program_date_time_ms: Some(
                    START_MS
                        + first_offset_ms
                        + (i as f64 * part_secs * f64::from(part_count) * 1000.0) as i64,
                ),
                parts: (0..part_count)
                    .map(|p| PartTag {
                        uri: uri::part_uri(EPOCH, msn, p),
                        duration: part_secs,
                        independent: p == 0,
                        byterange: None,
                    })
                    .collect(),
                ..Segment::default()
            }
        })
        .collect()
}

fn open_segment(msn: u64, parts: u32, part_secs: f64, offset_ms: i64) -> Segment {
    let mut s = segments(msn, 1, parts, part_secs, offset_ms).remove(0);
    s.complete = false;
    s.duration = 0.0;
    s
}

/// A live rendition: target 2 s, parts of 0.5 s (4 per segment), msn 10..=15 complete, 16 open
/// with 2 parts, the next part hinted, two other renditions reported.
fn live() -> MediaPlaylist {
    let target = rules::target_duration(2.0);
    let mut segs = segments(10, 6, 4, 0.5, 0);
    segs.push(open_segment(16, 2, 0.5, 12_000));
    MediaPlaylist {
        target_duration: target,
        part_target: 0.5,
        media_sequence: 10,
        discontinuity_sequence: 0,
        segments: segs,
        preload_hint: Some(PreloadHint {
            uri: uri::part_uri(EPOCH, 16, 2),
            byterange_start: None,
        }),
        rendition_reports: vec![
            RenditionReport {
                uri: uri::rendition_report_uri("360p"),
                last_msn: 16,
                last_part: Some(1),
            },
            RenditionReport {
                uri: uri::rendition_report_uri("audio"),
                last_msn: 16,
                last_part: Some(1),
            },
        ],
        independent_segments: true,
        map_uri: Some(uri::init_uri(EPOCH, 0)),
        ..MediaPlaylist::default()
    }
}

/// Reads `text` with the strict reader and m3u8-rs; panics with the broken rule.
fn check(text: &str) -> playlist_support::ReadPlaylist {
    let read = read_media(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    cross_check_m3u8_rs(text, &read).unwrap_or_else(|e| panic!("{e}\n{text}"));
    read
}

#[test]
fn live_with_parts_hint_reports_and_pdt() {
    let pl = live();
    let text = pl.render(Skip::No);
    let read = check(&text);
    assert_golden("playlist_live_parts.m3u8", &text);
    assert_eq!(read.version, 6);
    // Parts only for segments starting within 3 × 2 s of the end (end = 13 s after msn 10):
    // msn 14 starts 5 s before the end, msn 13 starts 7 s before: pruned.
    let with_parts: Vec<u64> = read
        .segments
        .iter()
        .filter(|s| !s.parts.is_empty())
        .map(|s| s.msn)
        .collect();
    assert_eq!(with_parts, vec![14, 15]);
    assert_eq!(read.open.as_ref().map(|o| o.parts.len()), Some(2));
    assert_eq!(read.preload_hint.as_deref(), Some("1700000000/16.2.m4s"));
    assert_eq!(pl.plan(Skip::No).first_msn_with_parts, Some(14));
}

#[test]
fn discontinuity_with_a_new_map() {
    let mut pl = live();
    // msn 13 starts a new encoder run: discontinuity, new init, PDT jump.
    pl.segments[3].discontinuity = true;
    pl.segments[3].map_uri = Some(uri::init_uri(EPOCH, 1));
    for s in &mut pl.segments[3..] {
        s.program_date_time_ms = s.program_date_time_ms.map(|t| t + 60_000);
    }
    // The store may repeat the map on every later segment; only changes are written.
    pl.segments[4].map_uri = Some(uri::init_uri(EPOCH, 1));
    let text = pl.render(Skip::No);
    let read = check(&text);
    assert_golden("playlist_discontinuity.m3u8", &text);
    let maps: Vec<(u64, bool, Option<String>)> = read
        .segments
        .iter()
        .map(|s| (s.msn, s.map_tag, s.map.clone()))
        .collect();
    assert_eq!(maps[0], (10, true, Some("1700000000/init-0.mp4".into())));
    assert_eq!(maps[3], (13, true, Some("1700000000/init-1.mp4".into())));
    assert_eq!(maps[4], (14, false, Some("1700000000/init-1.mp4".into())));
    assert!(read.segments[3].discontinuity && read.segments[3].pdt.is_some());
}

/// A long window for delta updates: target 2 s → Skip Boundary 12 s; 20 complete segments.
fn long_live(first: u64) -> MediaPlaylist {
    let mut pl = live();
    let offset_ms = |msn: u64| (msn as i64 - 100) * 2000;
    let mut segs = segments(first, 20, 4, 0.5, offset_ms(first));
    segs.push(open_segment(first + 20, 1, 0.5, offset_ms(first + 20)));
    // The init was announced by a segment that slid out: only the playlist-level map remains.
    pl.segments = segs;
    pl.media_sequence = first;
    pl.preload_hint = Some(PreloadHint {
        uri: uri::part_uri(EPOCH, first + 20, 1),
        byterange_start: None,
    });
    // A discontinuity inside the part that will be skipped.
    pl.segments[2].discontinuity = true;
    pl.segments[2].map_uri = Some(uri::init_uri(EPOCH, 1));
    pl.discontinuity_sequence = 3;
    pl
}

#[test]
fn delta_update_skips_and_reconstructs() {
    let pl = long_live(100);
    let full = pl.render(Skip::No);
    let delta = pl.render(Skip::Yes);
    let delta_v2 = pl.render(Skip::V2);
    let full_read = check(&full);
    let delta_read = check(&delta);
    let v2_read = check(&delta_v2);
    assert_golden("playlist_delta_full.m3u8", &full);
    assert_golden("playlist_delta_skip.m3u8", &delta);
    assert_golden("playlist_delta_skip_v2.m3u8", &delta_v2);

    // Last complete segment (msn 119) ends at 40 s; a segment is skipped when its end is at
    // least 12 s before: ends at ≤ 28 s, i.e. msn 100..=113 (msn 113 ends at 28 s).
    assert_eq!(delta_read.skipped, 14);
    assert_eq!(delta_read.version, 9);
    assert_eq!(v2_read.version, 10);
    assert!(v2_read.recently_removed_dateranges);
    assert_eq!(full_read.version, 6);
    // The first listed segment still has its init and its PDT.
    assert_eq!(delta_read.segments[0].msn, 114);
    assert_eq!(
        delta_read.segments[0].map.as_deref(),
        Some("1700000000/init-1.mp4")
    );
    assert!(delta_read.segments[0].pdt.is_some());

    // A client holding the full playlist of one segment ago applies the delta and gets
    // exactly the current full playlist.
    let mut previous = long_live(99);
    previous.segments.truncate(20); // msn 99..=118, no part of 119 yet
    previous.preload_hint = Some(PreloadHint {
        uri: uri::part_uri(EPOCH, 119, 0),
        byterange_start: None,
    });
    // Same stream: the discontinuity and init-1 are at msn 102.
    previous.segments[2].discontinuity = false;
    previous.segments[2].map_uri = None;
    previous.segments[3].discontinuity = true;
    previous.segments[3].map_uri = Some(uri::init_uri(EPOCH, 1));
    let previous_read = check(&previous.render(Skip::No));
    let merged = apply_delta(&previous_read, &delta_read).expect("apply delta");
    assert_eq!(merged, semantic(&full_read));
    let merged_v2 = apply_delta(&previous_read, &v2_read).expect("apply delta v2");
    assert_eq!(merged_v2, semantic(&full_read));
    // The open segment's parts and the hint are the same in both views.
    assert_eq!(delta_read.open, full_read.open);
    assert_eq!(delta_read.preload_hint, full_read.preload_hint);
}

#[test]
fn skip_is_ignored_when_ended_or_vod() {
    let mut pl = long_live(100);
    pl.ended = true;
    assert_eq!(pl.render(Skip::Yes), pl.render(Skip::No));
    pl.ended = false;
    pl.playlist_type = Some(PlaylistType::Vod);
    assert_eq!(pl.render(Skip::V2), pl.render(Skip::No));
}

#[test]
fn byte_range_parts() {
    let mut pl = live();
    for s in &mut pl.segments {
        let mut offset = 0;
        let seg_uri = s.uri.clone();
        let open_uri = uri::segment_uri(EPOCH, s.msn);
        for (i, p) in s.parts.iter_mut().enumerate() {
            let len = 10_000 + 100 * i as u64;
            p.uri = if s.complete {
                seg_uri.clone()
            } else {
                open_uri.clone()
            };
            p.byterange = Some((len, offset));
            offset += len;
        }
    }
    pl.preload_hint = Some(PreloadHint {
        uri: uri::segment_uri(EPOCH, 16),
        byterange_start: Some(20_100),
    });
    let text = pl.render(Skip::No);
    let read = check(&text);
    assert_golden("playlist_byterange.m3u8", &text);
    assert_eq!(
        read.segments[5].parts[1].byterange.as_deref(),
        Some("10100@10000")
    );
    assert!(text.contains(
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"1700000000/16.m4s\",BYTERANGE-START=20100\n"
    ));
}

#[test]
fn ended_playlist_has_endlist_and_no_hint() {
    let mut pl = live();
    pl.ended = true;
    let text = pl.render(Skip::No);
    let read = check(&text);
    assert_golden("playlist_endlist.m3u8", &text);
    assert!(read.endlist && read.preload_hint.is_none() && read.open.is_none());
}

#[test]
fn vod_playlist() {
    let mut segs = segments(0, 5, 1, 4.0, 0);
    for s in &mut segs {
        s.parts.clear();
    }
    segs[4].duration = 2.5;
    let pl = MediaPlaylist {
        target_duration: rules::target_duration(4.0),
        segments: segs,
        playlist_type: Some(PlaylistType::Vod),
        independent_segments: true,
        map_uri: Some(uri::init_uri(EPOCH, 0)),
        // Present in the model, never written in a VOD view.
        part_target: 1.0,
        preload_hint: Some(PreloadHint {
            uri: "x".into(),
            byterange_start: None,
        }),
        ..MediaPlaylist::default()
    };
    let text = pl.render(Skip::Yes);
    let read = check(&text);
    assert_golden("playlist_vod.m3u8", &text);
    assert_eq!(read.playlist_type.as_deref(), Some("VOD"));
    assert!(read.endlist && read.server_control.is_empty() && read.part_target.is_none());
    assert_eq!(read.version, 6);
}

#[test]
fn part_durations_never_print_above_part_target() {
    // 1/3 s parts: PART-TARGET prints rounded up, parts rounded down.
    let mut pl = live();
    pl.part_target = 1.0 / 3.0;
    for s in &mut pl.segments {
        for p in &mut s.parts {
            p.duration = 1.0 / 3.0;
        }
        if s.complete {
            s.duration = 4.0 / 3.0;
        }
    }
    let text = pl.render(Skip::No);
    check(&text);
    assert!(text.contains("#EXT-X-PART-INF:PART-TARGET=0.33334\n"));
    assert!(text.contains("#EXT-X-PART:DURATION=0.33333,"));
    // §4.4.3.8 SHOULD, as a player reads it: 3 × the printed 0.33334.
    assert!(text.contains("PART-HOLD-BACK=1.00002"));
}

fn multivariant() -> MultivariantPlaylist {
    let audio_group = Some("aac".to_owned());
    let variant = |name: &str, bw: u64, avg: u64, codecs: &str, res: (u64, u64)| Variant {
        uri: uri::media_playlist_uri(name),
        bandwidth: bw,
        average_bandwidth: Some(avg),
        codecs: codecs.into(),
        resolution: Some(res),
        frame_rate: Some(30_000.0 / 1001.0),
        audio_group: audio_group.clone(),
    };
    MultivariantPlaylist {
        independent_segments: true,
        variants: vec![
            variant(
                "1080p",
                5_500_000,
                5_000_000,
                "avc1.640028,mp4a.40.2",
                (1920, 1080),
            ),
            variant(
                "720p",
                3_300_000,
                3_000_000,
                "avc1.64001f,mp4a.40.2",
                (1280, 720),
            ),
            variant(
                "360p",
                880_000,
                800_000,
                "avc1.64001e,mp4a.40.2",
                (640, 360),
            ),
        ],
        audio: vec![AudioRendition {
            group_id: "aac".into(),
            name: "English".into(),
            default: true,
            autoselect: true,
            language: Some("en".into()),
            channels: Some("2".into()),
            uri: Some(uri::media_playlist_uri("audio")),
        }],
    }
}

#[test]
fn multivariant_playlist() {
    let mv = multivariant();
    let text = mv.render().expect("valid multivariant");
    assert_golden("playlist_multivariant.m3u8", &text);
    let parsed = m3u8_rs::parse_master_playlist_res(text.as_bytes()).expect("m3u8-rs parses it");
    assert_eq!(parsed.variants.len(), 3);
    assert_eq!(parsed.variants[1].uri, "720p/index.m3u8");
    assert_eq!(parsed.variants[1].bandwidth, 3_300_000);
    assert_eq!(parsed.variants[1].frame_rate, Some(29.97));
    assert_eq!(
        parsed.alternatives[0].uri.as_deref(),
        Some("audio/index.m3u8")
    );
    assert!(parsed.alternatives[0].default && parsed.independent_segments);
}

#[test]
fn multivariant_rules_are_enforced() {
    let mut mv = multivariant();
    mv.variants[0].audio_group = Some("ac3".into());
    assert!(matches!(
        mv.render(),
        Err(MultivariantError::UnknownAudioGroup { .. })
    ));
    let mut mv = multivariant();
    mv.audio.push(mv.audio[0].clone());
    assert!(matches!(
        mv.validate(),
        Err(MultivariantError::DuplicateName { .. })
    ));
    let mut mv = multivariant();
    let mut second = mv.audio[0].clone();
    second.name = "Other".into();
    mv.audio.push(second);
    assert!(matches!(
        mv.validate(),
        Err(MultivariantError::SeveralDefaults { .. })
    ));
    let mut mv = multivariant();
    mv.audio[0].autoselect = false;
    assert!(matches!(
        mv.validate(),
        Err(MultivariantError::DefaultWithoutAutoselect { .. })
    ));
    let mut mv = multivariant();
    mv.variants[2].bandwidth = 0;
    assert!(matches!(
        mv.validate(),
        Err(MultivariantError::ZeroBandwidth { .. })
    ));
    let mut mv = multivariant();
    mv.variants[2].codecs.clear();
    assert!(matches!(
        mv.validate(),
        Err(MultivariantError::NoCodecs { .. })
    ));
    let mut mv = multivariant();
    mv.audio[0].name = "a\"b".into();
    assert!(matches!(
        mv.validate(),
        Err(MultivariantError::BadQuotedString { .. })
    ));
    assert!(matches!(
        MultivariantPlaylist::default().validate(),
        Err(MultivariantError::NoVariant)
    ));
}

#[test]
fn model_check_catches_store_mistakes() {
    assert_eq!(live().check(), Ok(()));
    type Breakage = (
        fn(&mut MediaPlaylist),
        fn(&ModelError) -> bool,
        &'static str,
    );
    let broken: Vec<Breakage> = vec![
        (
            |p| p.segments[2].msn = 99,
            |e| matches!(e, ModelError::MsnGap { .. }),
            "MsnGap",
        ),
        (
            |p| p.segments[2].complete = false,
            |e| matches!(e, ModelError::OpenNotLast { .. }),
            "OpenNotLast",
        ),
        (
            |p| p.segments[6].parts.clear(),
            |e| matches!(e, ModelError::OpenWithoutParts { .. }),
            "OpenWithoutParts",
        ),
        (
            |p| p.ended = true,
            |e| matches!(e, ModelError::OpenAfterEnd { .. }),
            "OpenAfterEnd",
        ),
        (
            |p| p.segments[1].parts[2].duration = 0.500_02,
            |e| matches!(e, ModelError::PartTooLong { .. }),
            "PartTooLong",
        ),
        (
            |p| p.part_target = 0.0,
            |e| matches!(e, ModelError::NoPartTarget { .. }),
            "NoPartTarget",
        ),
        (
            |p| p.segments[4].duration = 2.5,
            |e| matches!(e, ModelError::SegmentTooLong { .. }),
            "SegmentTooLong",
        ),
        (
            |p| p.map_uri = None,
            |e| matches!(e, ModelError::NoMap { .. }),
            "NoMap",
        ),
    ];
    for (breakage, is, name) in broken {
        let mut pl = live();
        breakage(&mut pl);
        let err = pl.check().expect_err(name);
        assert!(is(&err), "{name}: got {err:?}");
        assert!(!err.to_string().is_empty());
        // The renderer still answers, without panicking.
        let _ = pl.render(Skip::Yes);
    }
    // Printed equality is not excess: 0.500001 prints 0.50000.
    let mut pl = live();
    pl.segments[1].parts[2].duration = 0.500_001;
    assert_eq!(pl.check(), Ok(()));
}

#[test]
fn first_listed_segment_gets_a_derived_pdt() {
    let mut pl = long_live(100);
    // PDT only on msn 100; the delta's first segment (114) derives 14 × 2 s later.
    for s in &mut pl.segments[1..] {
        s.program_date_time_ms = None;
    }
    let delta = check(&pl.render(Skip::Yes));
    assert_eq!(delta.segments[0].msn, 114);
    assert_eq!(
        delta.segments[0].pdt.as_deref(),
        Some("2023-11-14T22:13:48.000Z")
    );
    assert!(delta.segments[1..].iter().all(|s| s.pdt.is_none()));
    // And from a later one when no earlier segment has PDT.
    let mut pl = live();
    for s in &mut pl.segments[..3] {
        s.program_date_time_ms = None;
    }
    let full = check(&pl.render(Skip::No));
    assert_eq!(
        full.segments[0].pdt.as_deref(),
        Some("2023-11-14T22:13:20.000Z")
    );
}

#[test]
fn empty_and_degenerate_models_render_without_panicking() {
    let empty = MediaPlaylist {
        target_duration: 2,
        part_target: 0.5,
        ..MediaPlaylist::default()
    };
    let text = empty.render(Skip::Yes);
    let read = check(&text);
    assert!(read.segments.is_empty() && read.open.is_none());
    assert_eq!(read.version, 6);
    // Target 0 prints as 1 (§4.4.3.1) and does not make every segment skippable.
    let mut pl = long_live(100);
    pl.target_duration = 0;
    for s in &mut pl.segments {
        for p in &mut s.parts {
            p.duration = 0.1;
        }
        if s.complete {
            s.duration = 0.4;
        }
    }
    pl.part_target = 0.1;
    let delta = check(&pl.render(Skip::Yes));
    assert_eq!(delta.target, 1);
    assert!(!delta.segments.is_empty());
    // NaN and infinite numbers do not panic.
    let mut pl = live();
    pl.part_target = f64::NAN;
    pl.segments[0].duration = f64::INFINITY;
    let _ = pl.render(Skip::V2);
}
