//! Cues in the pure core and the store: placement by the chunker (video by pts with an emsg,
//! audio by wall clock), the book (ids, idempotency, rate, binding, ends), the DATERANGE tags
//! of the window (added with their part, removed after their range, §6.2.1), delta updates that
//! skip them (§6.2.5.1), and the disk copy that keeps them across a restart.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::synth::{aac_track, avc_track, samples};
use packager::cmaf::{Chunker, ChunkerConfig, EncodedSample, Event, Part, SegmentInfo, TimedCue};
use packager::config::FrameRate;
use packager::cue::{request, CueBook, EndError, PostError, Posted};
use packager::playlist::Skip;
use packager::store::{RenditionInfo, Stream, StreamSettings};

const T0: i64 = 1_700_000_000_000;

fn parts_of(c: &mut Chunker) -> Vec<Part> {
    std::iter::from_fn(|| c.pull())
        .filter_map(|e| match e {
            Event::PartReady(p) => Some(p),
            _ => None,
        })
        .collect()
}

fn with_wall(mut s: Vec<EncodedSample>, ms_per_tick: f64) -> Vec<EncodedSample> {
    for x in &mut s {
        x.wallclock_ms = Some(T0 + (x.pts as f64 * ms_per_tick).round() as i64);
    }
    s
}

#[test]
fn video_parts_carry_the_cue_of_their_frame_with_an_emsg() {
    let mut c = Chunker::new(ChunkerConfig {
        part_target: 0.2,
        segment_target: 1.0,
        ..ChunkerConfig::default()
    });
    c.set_track(avc_track(90_000)).unwrap();
    let frames = with_wall(samples(60, &[3000], 30, 0, 200), 1.0 / 90.0);
    // Cue on the frame at pts 45,000 (frame 15), given before that frame is pushed.
    let cue_pts = 45_000;
    for s in frames {
        if s.pts == 30_000 {
            c.cue(TimedCue {
                seq: 7,
                pts: Some(cue_pts),
                wall_ms: T0 + 500,
                message: Some((Bytes::from_static(b"ID3-tag"), None)),
            });
        }
        c.push(s).unwrap();
    }
    c.finish().unwrap();
    let parts = parts_of(&mut c);
    let with: Vec<&Part> = parts.iter().filter(|p| !p.cues.is_empty()).collect();
    assert_eq!(with.len(), 1, "one part carries it");
    let p = with[0];
    assert_eq!(p.cues, vec![7]);
    let start = p.first_dts;
    let end = start + p.duration as i64;
    assert!(start <= cue_pts && cue_pts < end, "{start}..{end}");
    // emsg v1 first, then moof; presentation_time is the frame's pts, id the sequence number.
    assert_eq!(&p.bytes[4..8], b"emsg");
    let size = u32::from_be_bytes(p.bytes[..4].try_into().unwrap()) as usize;
    assert_eq!(&p.bytes[size + 4..size + 8], b"moof");
    assert_eq!(p.bytes[8], 1);
    assert_eq!(
        u64::from_be_bytes(p.bytes[16..24].try_into().unwrap()),
        cue_pts as u64
    );
    assert_eq!(
        u32::from_be_bytes(p.bytes[24..28].try_into().unwrap()),
        0xFFFF_FFFF
    );
    assert_eq!(u32::from_be_bytes(p.bytes[28..32].try_into().unwrap()), 7);
    assert!(p.bytes[..size].ends_with(b"ID3-tag"));
    // Every other part is unchanged (moof first).
    assert!(parts
        .iter()
        .filter(|q| q.cues.is_empty())
        .all(|q| &q.bytes[4..8] == b"moof"));
}

#[test]
fn audio_parts_carry_cues_by_wall_clock_without_emsg() {
    let mut c = Chunker::new(ChunkerConfig {
        part_target: 0.2,
        segment_target: 1.0,
        ..ChunkerConfig::default()
    });
    c.set_track(aac_track(48_000)).unwrap();
    let frames = with_wall(samples(100, &[1024], 1, 0, 50), 1000.0 / 48_000.0);
    c.cue(TimedCue {
        seq: 3,
        pts: None,
        wall_ms: T0 + 500,
        message: None,
    });
    for s in frames {
        c.push(s).unwrap();
    }
    c.finish().unwrap();
    let parts = parts_of(&mut c);
    let p = parts.iter().find(|p| !p.cues.is_empty()).expect("placed");
    let start_ms = p.wallclock_ms.unwrap();
    let end_ms = start_ms + (p.duration as i64 * 1000) / 48_000;
    assert!(
        start_ms <= T0 + 500 && T0 + 500 < end_ms + 1,
        "{start_ms}..{end_ms}"
    );
    assert!(parts.iter().all(|p| &p.bytes[4..8] == b"moof"));
}

fn valid(body: &str) -> request::ValidCue {
    request::parse(body.as_bytes(), T0, 60_000).unwrap()
}

#[test]
fn the_book_binds_dedupes_limits_and_ends() {
    let book = CueBook::default();
    book.set_renditions(vec!["v".into()]);
    let now = Instant::now();
    let a = book
        .post(valid(r#"{"id":"a","class":"x.y","data":1}"#), now, T0)
        .unwrap();
    assert_eq!(a, Posted::Created(1, "a".into()));
    assert_eq!(
        book.post(valid(r#"{"id":"a","class":"x.y","data":1}"#), now, T0),
        Ok(Posted::Existing(1, "a".into()))
    );
    assert_eq!(
        book.post(valid(r#"{"id":"a","class":"x.y","data":2}"#), now, T0),
        Err(PostError::Conflict("a".into()))
    );
    // Generated ids are unique.
    let Posted::Created(2, gen) = book.post(valid(r#"{"class":"x.y"}"#), now, T0).unwrap() else {
        panic!()
    };
    assert!(gen.starts_with("cue-"));
    // Not bound before a frame; both bind to the next one.
    let mut cursor = 0;
    assert!(book.bound_since(&mut cursor).is_empty());
    book.bind(90_000, T0 + 1000);
    let bound = book.bound_since(&mut cursor);
    assert_eq!(bound.len(), 2);
    assert!(bound
        .iter()
        .all(|c| c.pts == 90_000 && c.start_ms == T0 + 1000));
    assert!(book.bound_since(&mut cursor).is_empty(), "cursor advanced");
    // Published once placed.
    assert!(book.published(1).is_none());
    book.placed(1, "v", 4, 2);
    let p = book.published(1).unwrap();
    assert_eq!((p.msn, p.part, p.renditions), (4, 2, vec!["v".to_owned()]));
    // A dated cue binds at the first frame captured at or after its date.
    let at = "2023-11-14T22:13:21.500Z"; // T0 + 1.5 s
    book.post(
        valid(&format!(r#"{{"id":"later","class":"x.y","at":"{at}"}}"#)),
        now,
        T0,
    )
    .unwrap();
    book.bind(180_000, T0 + 1499);
    assert!(book.bound_since(&mut cursor).is_empty());
    book.bind(183_000, T0 + 1533);
    assert_eq!(book.bound_since(&mut cursor)[0].start_ms, T0 + 1533);
    // Ends: not with a duration, once otherwise, at the next frame.
    book.post(valid(r#"{"id":"d","class":"x.y","duration":3}"#), now, T0)
        .unwrap();
    book.bind(186_000, T0 + 1566);
    assert_eq!(
        book.end("d").unwrap_err(),
        EndError::HasDuration("d".into())
    );
    assert_eq!(book.end("zz").unwrap_err(), EndError::NotFound("zz".into()));
    let cue = book.end("a").unwrap();
    assert_eq!(book.end("a").unwrap_err(), EndError::Ended("a".into()));
    assert!(cue.end_ms.get().is_none());
    book.bind(189_000, T0 + 1600);
    assert_eq!(cue.end_ms.get(), Some(&(T0 + 1600)));
    // Expired cues leave the book, and their ids are never taken again.
    book.expire(T0 + 1_000_000);
    assert!(book.list().iter().all(|c| c.id != "a" && c.id != "d"));
    assert_eq!(
        book.post(valid(r#"{"id":"a","class":"x.y"}"#), now, T0),
        Err(PostError::Reused("a".into()))
    );
}

#[test]
fn the_rate_limit_is_a_token_bucket() {
    let book = CueBook::default();
    let t = Instant::now();
    let post = |at: Instant| book.post(valid(r#"{"class":"x.y"}"#), at, T0);
    let burst = (0..100).filter(|_| post(t).is_ok()).count();
    assert_eq!(burst, packager::cue::RATE_BURST as usize);
    assert_eq!(post(t), Err(PostError::RateLimited));
    // One second later, twenty more.
    let later = t + Duration::from_secs(1);
    let refill = (0..100).filter(|_| post(later).is_ok()).count();
    assert_eq!(refill, packager::cue::RATE_PER_SEC as usize);
}

// --- the store: DATERANGE tags in the window -------------------------------------------------

fn settings(window: usize) -> StreamSettings {
    StreamSettings {
        target_duration: 1,
        part_target: 0.5,
        window_segments: window,
        ..packager::testing::settings("live")
    }
}

fn part(msn: u64, index: u32, cues: Vec<u32>) -> Event {
    Event::PartReady(Part {
        msn,
        index,
        duration: 45_000,
        timescale: 90_000,
        independent: index == 0,
        first_dts: (msn as i64 * 2 + index as i64) * 45_000,
        wallclock_ms: Some(T0 + (msn as i64 * 2 + index as i64) * 500),
        init_id: 0,
        discontinuity: false,
        bytes: Bytes::from(format!("part-{msn}-{index}-")),
        cues,
    })
}

fn close(msn: u64) -> Event {
    Event::SegmentClosed(SegmentInfo {
        msn,
        duration: 90_000,
        timescale: 90_000,
        parts: 2,
    })
}

fn stream(window: usize, root: Option<&std::path::Path>, book: Arc<CueBook>) -> Arc<Stream> {
    let infos = vec![
        RenditionInfo::video("v", 320, 180, FrameRate { num: 30, den: 1 }, 300_000),
        RenditionInfo::audio("a", 2, 48_000, 64_000),
    ];
    Stream::open(settings(window), infos, root, book).unwrap()
}

/// Posts and binds one cue at segment `msn`'s start; returns its sequence number.
fn cue(book: &CueBook, body: &str, msn: u64) -> u32 {
    let Ok(Posted::Created(seq, _)) = book.post(valid(body), Instant::now(), T0) else {
        panic!("post {body}")
    };
    book.bind(msn as i64 * 90_000, T0 + msn as i64 * 1000);
    seq
}

fn feed(s: &Stream, msn: u64, cues: &[u32]) {
    for r in s.renditions() {
        if msn == 0 {
            r.apply(Event::InitReady(packager::cmaf::InitSegment {
                id: 0,
                bytes: Bytes::from_static(b"init"),
                codec_string: "avc1.64001f".into(),
                track: avc_track(90_000),
            }));
        }
        r.apply(part(msn, 0, cues.to_vec()));
        r.apply(part(msn, 1, Vec::new()));
        r.apply(close(msn));
    }
}

#[test]
fn date_ranges_enter_with_their_part_and_leave_after_their_range() {
    let book = Arc::new(CueBook::default());
    let s = stream(4, None, Arc::clone(&book));
    feed(&s, 0, &[]);
    let short = cue(&book, r#"{"id":"short","class":"x.y","duration":1.5}"#, 1);
    let open = cue(
        &book,
        r#"{"id":"open","class":"x.y","data":{"q":"\"?\""}}"#,
        1,
    );
    feed(&s, 1, &[short, open]);
    let text = |name: &str, skip| s.media_playlist(s.rendition(name).unwrap()).render(skip);
    let v = text("v", Skip::No);
    let line = v.lines().find(|l| l.contains("ID=\"short\"")).unwrap();
    assert_eq!(
        line,
        "#EXT-X-DATERANGE:ID=\"short\",CLASS=\"x.y\",START-DATE=\"2023-11-14T22:13:21.000Z\",DURATION=1.500,X-LLHLS-DATA=\"bnVsbA==\""
    );
    // The same tags in every rendition (§6.2.4).
    let tags = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("#EXT-X-DATERANGE"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(tags(&v), tags(&text("a", Skip::No)));
    assert_eq!(tags(&v).len(), 2);
    assert!(book.published(short).unwrap().renditions.len() == 2);
    // The window (4 segments of 1 s) slides past "short" (ends at 2.5 s): it leaves; "open",
    // with no end, stays.
    for msn in 2..9 {
        feed(&s, msn, &[]);
    }
    let v = text("v", Skip::No);
    assert!(
        !v.contains("ID=\"short\"") && v.contains("ID=\"open\""),
        "{v}"
    );
    // A delta update asking to skip date ranges (v2) leaves out "open" (added long before the
    // skip boundary) and lists "short" as recently removed (§6.2.5.1); YES keeps every tag.
    let s2 = stream(30, None, Arc::new(CueBook::default()));
    let book2 = Arc::clone(s2.cues());
    let old = cue(&book2, r#"{"id":"old","class":"x.y","duration":0.5}"#, 0);
    let kept = cue(&book2, r#"{"id":"kept","class":"x.y"}"#, 0);
    feed(&s2, 0, &[old, kept]);
    for msn in 1..12 {
        feed(&s2, msn, &[]);
    }
    let fresh = cue(&book2, r#"{"id":"fresh","class":"x.y"}"#, 12);
    feed(&s2, 12, &[fresh]);
    let full = s2.media_playlist(s2.rendition("v").unwrap());
    let v2 = full.render(Skip::V2);
    let yes = full.render(Skip::Yes);
    assert!(v2.contains("#EXT-X-SKIP:SKIPPED-SEGMENTS="), "{v2}");
    assert!(v2.contains("#EXT-X-VERSION:10"), "{v2}");
    assert!(
        !v2.contains("ID=\"kept\"") && v2.contains("ID=\"fresh\""),
        "{v2}"
    );
    assert!(
        yes.contains("ID=\"kept\"") && yes.contains("ID=\"fresh\""),
        "{yes}"
    );
    assert!(
        yes.contains("#EXT-X-VERSION:9") && !yes.contains("RECENTLY-REMOVED"),
        "{yes}"
    );
    // "old" (0.5 s) is still in the 30-segment window: nothing removed yet.
    assert!(v2.contains("RECENTLY-REMOVED-DATERANGES=\"\""), "{v2}");
}

#[test]
fn recently_removed_date_ranges_are_listed_in_v2_deltas() {
    let book = Arc::new(CueBook::default());
    let s = stream(8, None, Arc::clone(&book));
    let gone = cue(&book, r#"{"id":"gone","class":"x.y","duration":0.5}"#, 0);
    feed(&s, 0, &[gone]);
    // The window keeps 8 segments: at msn 8 segment 0 leaves, and "gone" with it.
    for msn in 1..10 {
        feed(&s, msn, &[]);
    }
    let v2 = s.media_playlist(s.rendition("v").unwrap()).render(Skip::V2);
    assert!(v2.contains("RECENTLY-REMOVED-DATERANGES=\"gone\""), "{v2}");
    assert!(!v2.contains("ID=\"gone\""));
}

#[test]
fn cues_survive_a_restart_with_the_disk_copy() {
    let dir = tempfile::tempdir().unwrap();
    let seq;
    {
        let book = Arc::new(CueBook::default());
        let s = stream(10, Some(dir.path()), Arc::clone(&book));
        seq = cue(&book, r#"{"id":"kept","class":"x.y","data":[1,"two"]}"#, 0);
        feed(&s, 0, &[seq]);
        feed(&s, 1, &[]);
    }
    let book = Arc::new(CueBook::default());
    let s = stream(10, Some(dir.path()), Arc::clone(&book));
    let v = s.media_playlist(s.rendition("v").unwrap()).render(Skip::No);
    let line = v.lines().find(|l| l.contains("ID=\"kept\"")).expect(&v);
    assert!(
        line.contains("START-DATE=\"2023-11-14T22:13:20.000Z\""),
        "{line}"
    );
    let listed = book.list();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].seq, listed[0].data.as_str()),
        (seq, "[1,\"two\"]")
    );
    // Its id stays taken; new cues number after it.
    assert!(matches!(
        book.post(
            valid(r#"{"id":"kept","class":"x.y","data":[1,"two"]}"#),
            Instant::now(),
            T0
        ),
        Ok(Posted::Existing(..))
    ));
    assert!(matches!(
        book.post(valid(r#"{"class":"x.y"}"#), Instant::now(), T0),
        Ok(Posted::Created(n, _)) if n > seq
    ));
}
