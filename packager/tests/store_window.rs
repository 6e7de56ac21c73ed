//! The store: window sliding, position publishing, byte-range model, disk copy and resume.

use bytes::Bytes;
use packager::cmaf::{CodecConfig, Event, InitSegment, MediaKind, Part, SegmentInfo, TrackInfo};
use packager::config::FrameRate;
use packager::store::{RenditionInfo, Stream, StreamSettings};

fn settings(window: usize, byterange: bool) -> StreamSettings {
    StreamSettings {
        window_segments: window,
        byterange_parts: byterange,
        ..packager::testing::settings("live")
    }
}

fn info(name: &str) -> RenditionInfo {
    RenditionInfo::video(name, 640, 360, FrameRate { num: 30, den: 1 }, 800_000)
}

fn init(id: u64) -> Event {
    Event::InitReady(InitSegment {
        id,
        bytes: Bytes::from(format!("init-{id}")),
        codec_string: "avc1.64001e".into(),
        track: TrackInfo {
            kind: MediaKind::Video {
                width: 640,
                height: 360,
            },
            codec: CodecConfig::Avc {
                sps: vec![Bytes::from_static(b"\x67")],
                pps: vec![Bytes::from_static(b"\x68")],
            },
            timescale: 90_000,
            language: "und".into(),
        },
    })
}

fn part(msn: u64, index: u32, discontinuity: bool) -> Event {
    Event::PartReady(Part {
        msn,
        index,
        duration: 30_000,
        timescale: 90_000,
        independent: index == 0,
        first_dts: (msn as i64 * 6 + index as i64) * 30_000,
        wallclock_ms: Some(1_700_000_000_000 + (msn as i64 * 6 + index as i64) * 333),
        init_id: 0,
        discontinuity: discontinuity && index == 0,
        bytes: Bytes::from(format!("part-{msn}-{index}-")),
        cues: Vec::new(),
    })
}

fn close(msn: u64) -> Event {
    Event::SegmentClosed(SegmentInfo {
        msn,
        duration: 180_000,
        timescale: 90_000,
        parts: 6,
    })
}

fn feed_segments(r: &packager::store::Rendition, from: u64, to: u64) {
    for msn in from..to {
        for i in 0..6 {
            r.apply(part(msn, i, false));
        }
        r.apply(close(msn));
    }
}

#[test]
fn window_slides_and_segment_is_its_parts() {
    let s = Stream::new(settings(3, false), vec![info("v0"), info("v1")]);
    let r = s.rendition("v0").unwrap();
    r.apply(init(0));
    feed_segments(r, 0, 5);
    let m = r.playlist_model();
    assert_eq!(
        m.media_sequence, 2,
        "only the last 3 complete segments remain"
    );
    assert_eq!(m.segments.len(), 3);
    assert!(r.part(1, 0).is_none(), "evicted part is gone");
    let seg = r.segment(4).unwrap();
    let joined: Vec<u8> = seg.chunks.iter().flat_map(|b| b.iter().copied()).collect();
    let expected: Vec<u8> = (0..6)
        .flat_map(|i| r.part(4, i).unwrap().bytes.to_vec())
        .collect();
    assert_eq!(joined, expected);
    assert!(seg.complete);
    // Closed: one buffer holding the same bytes, served as one write.
    assert_eq!(seg.chunks.len(), 1);
    assert_eq!(seg.chunks[0], expected);
    r.apply(part(5, 0, false));
    let open = r.segment(5).unwrap();
    assert!(!open.complete);
    assert_eq!(
        open.chunks,
        vec![r.part(5, 0).unwrap().bytes],
        "an open segment is its parts only"
    );
    assert!((m.segments[0].duration - 2.0).abs() < 1e-9);
    assert_eq!(
        m.segments[0].map_uri.as_deref(),
        Some("1700000000/init-0.mp4")
    );
    assert_eq!(m.segments[1].map_uri, None);
}

#[test]
fn position_and_hint_follow_parts() {
    let s = Stream::new(settings(5, false), vec![info("v0"), info("v1")]);
    let r = s.rendition("v0").unwrap();
    let rx = r.subscribe();
    r.apply(init(0));
    r.apply(part(0, 0, false));
    r.apply(part(0, 1, false));
    let p = *rx.borrow();
    assert_eq!((p.msn, p.part, p.complete), (0, Some(1), false));
    let m = s.media_playlist(r);
    assert_eq!(m.preload_hint.as_ref().unwrap().uri, "1700000000/0.2.m4s");
    assert_eq!(m.rendition_reports.len(), 1);
    assert_eq!(m.rendition_reports[0].uri, "../v1/index.m3u8");
    for i in 2..6 {
        r.apply(part(0, i, false));
    }
    r.apply(close(0));
    let p = r.position();
    assert_eq!((p.msn, p.part, p.complete), (0, Some(5), true));
    assert_eq!(
        s.media_playlist(r).preload_hint.unwrap().uri,
        "1700000000/1.0.m4s"
    );
    s.close();
    assert!(r.position().closed);
    let m = s.media_playlist(r);
    assert!(m.ended && m.preload_hint.is_none() && m.rendition_reports.is_empty());
}

#[test]
fn byterange_parts_address_the_segment() {
    let s = Stream::new(settings(5, true), vec![info("v0")]);
    let r = s.rendition("v0").unwrap();
    r.apply(init(0));
    r.apply(part(0, 0, false));
    r.apply(part(0, 1, false));
    let m = r.playlist_model();
    let parts = &m.segments[0].parts;
    let l0 = r.part(0, 0).unwrap().bytes.len() as u64;
    let l1 = r.part(0, 1).unwrap().bytes.len() as u64;
    assert_eq!(parts[0].uri, "1700000000/0.m4s");
    assert_eq!(parts[0].byterange, Some((l0, 0)));
    assert_eq!(parts[1].byterange, Some((l1, l0)));
    let hint = m.preload_hint.unwrap();
    assert_eq!(
        (hint.uri.as_str(), hint.byterange_start),
        ("1700000000/0.m4s", Some(l0 + l1))
    );
}

#[test]
fn disk_copy_resumes_window_with_discontinuity() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Stream::with_disk(settings(4, false), vec![info("v0")], dir.path()).unwrap();
        let r = s.rendition("v0").unwrap();
        r.apply(init(0));
        feed_segments(r, 0, 6);
        r.apply(part(6, 0, false)); // open segment: lost on restart, its files remain
    }
    let base = dir.path().join("live/v0/1700000000");
    assert!(base.join("init-0.mp4").exists());
    assert!(base.join("5.m4s").exists() && base.join("5.3.m4s").exists());
    assert!(
        !base.join("1.m4s").exists(),
        "evicted segment removed from disk"
    );
    let seg5 = std::fs::read(base.join("5.m4s")).unwrap();
    let parts5: Vec<u8> = (0..6)
        .flat_map(|i| std::fs::read(base.join(format!("5.{i}.m4s"))).unwrap())
        .collect();
    assert_eq!(seg5, parts5);

    let s = Stream::with_disk(settings(4, false), vec![info("v0")], dir.path()).unwrap();
    let r = s.rendition("v0").unwrap();
    assert_eq!(r.next_msn(), 6);
    assert_eq!(r.next_discontinuity(), 1);
    let m = r.playlist_model();
    assert_eq!(m.media_sequence, 2);
    assert_eq!(m.segments.len(), 4);
    assert_eq!(r.part(5, 3).unwrap().bytes, Bytes::from("part-5-3-"));
    assert_eq!(r.init(0).unwrap(), Bytes::from("init-0"));
    let resumed = r.segment(5).unwrap();
    assert_eq!(resumed.chunks.len(), 1, "a resumed segment is one buffer");
    assert_eq!(resumed.chunks[0], parts5);
    // The first new segment after the resume is a discontinuity.
    r.apply(part(6, 0, false));
    let m = r.playlist_model();
    let last = m.segments.last().unwrap();
    assert!(last.discontinuity);
    assert_eq!(m.discontinuity_sequence, 0);
}

#[test]
fn corrupt_manifest_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("live/v0")).unwrap();
    std::fs::write(dir.path().join("live/v0/window.toml"), "epoch = [").unwrap();
    let err = Stream::with_disk(settings(4, false), vec![info("v0")], dir.path()).unwrap_err();
    assert!(err.to_string().contains("window.toml"), "{err}");
}

/// Numbering from the clock (a restart, on the wall-clock timeline): MSNs the origin never
/// produced become EXT-X-GAP segments (rfc8216bis-22 §4.4.4.7), so that MSNs stay consecutive;
/// they are never served, keep their dates, survive the disk copy, and a restart resumes with
/// the hint on the clock's MSN.
#[test]
fn missing_msns_become_gap_segments() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Stream::with_disk(settings(8, false), vec![info("v0")], dir.path()).unwrap();
        let r = s.rendition("v0").unwrap();
        r.apply(init(0));
        feed_segments(r, 0, 3);
    }
    // Restarted on the clock at MSN 6: the hint names 6.0 before any new part.
    let clock = StreamSettings {
        first_msn: 6,
        ..settings(8, false)
    };
    let s = Stream::with_disk(clock, vec![info("v0")], dir.path()).unwrap();
    let r = s.rendition("v0").unwrap();
    assert_eq!(
        r.playlist_model().preload_hint.unwrap().uri,
        "1700000000/6.0.m4s"
    );
    feed_segments(r, 6, 7);
    let m = r.playlist_model();
    let listed: Vec<(u64, bool)> = m.segments.iter().map(|s| (s.msn, s.gap)).collect();
    assert_eq!(
        listed,
        [
            (0, false),
            (1, false),
            (2, false),
            (3, true),
            (4, true),
            (5, true),
            (6, false)
        ]
    );
    // Gaps share the time between: segment 2 starts at 12 × 333 ms and lasts 2 s (it ends at
    // 5,996 ms), segment 6 starts at 36 × 333 = 11,988 ms: three gaps of 1,997.33 ms.
    let gap = &m.segments[3];
    assert!(gap.parts.is_empty() && gap.complete);
    assert_eq!(gap.program_date_time_ms, Some(1_700_000_000_000 + 5_996));
    assert!(
        (gap.duration - 5.992 / 3.0).abs() < 1e-9,
        "{}",
        gap.duration
    );
    let text = m.render(packager::playlist::Skip::No);
    let at = text.find("#EXT-X-GAP").expect("EXT-X-GAP written");
    assert!(
        text[at..].starts_with("#EXT-X-GAP\n#EXTINF:1.99733,\n1700000000/3.m4s\n"),
        "{text}"
    );
    assert_eq!(text.matches("#EXT-X-GAP").count(), 3);
    // Never served.
    assert!(r.segment(4).is_none() && r.part(4, 0).is_none());
    assert!(r.segment(6).is_some());
    drop(s);
    // The disk copy keeps them.
    let s = Stream::with_disk(settings(8, false), vec![info("v0")], dir.path()).unwrap();
    let m = s.rendition("v0").unwrap().playlist_model();
    assert_eq!(m.segments.iter().filter(|s| s.gap).count(), 3);
}

#[test]
fn a_gap_longer_than_the_window_replaces_it() {
    let s = Stream::new(settings(4, false), vec![info("v0")]);
    let r = s.rendition("v0").unwrap();
    r.apply(init(0));
    feed_segments(r, 0, 2);
    feed_segments(r, 100, 101);
    let msns: Vec<u64> = r.playlist_model().segments.iter().map(|s| s.msn).collect();
    assert_eq!(
        msns,
        [97, 98, 99, 100],
        "the window's 4 segments, gaps and all"
    );
}
