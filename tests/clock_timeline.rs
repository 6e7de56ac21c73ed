//! The wall-clock timeline (packager::clock): two origins running the same config, started at
//! different moments, number and time their media alike; and a restarted origin's numbering
//! continues from the clock. Real pipelines (test pattern, libx264, AAC) behind real origins on
//! 127.0.0.1, read over HTTP as a CDN would.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod support;

use support::{Served, SMALL_LADDER as CONFIG};

fn start() -> Served {
    Served::start(CONFIG, origin::OriginOptions::default())
}

/// One listed segment: its URI, EXTINF, PDT, its parts' URIs and durations.
#[derive(Debug, Clone, PartialEq)]
struct Listed {
    uri: String,
    extinf: String,
    pdt: Option<String>,
    parts: Vec<(String, String)>,
    map: String,
}

/// The complete segments of a media playlist by MSN.
fn segments(text: &str) -> BTreeMap<u64, Listed> {
    let mut out = BTreeMap::new();
    let mut msn: u64 = 0;
    let (mut pdt, mut parts, mut extinf, mut map) = (None, Vec::new(), None, String::new());
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            msn = v.parse().unwrap();
        } else if let Some(v) = line.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:") {
            pdt = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("#EXT-X-MAP:URI=") {
            map = v.trim_matches('"').to_owned();
        } else if let Some(v) = line.strip_prefix("#EXT-X-PART:") {
            let dur = v
                .split("DURATION=")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap();
            let uri = v.split("URI=\"").nth(1).unwrap().split('"').next().unwrap();
            parts.push((uri.to_owned(), dur.to_owned()));
        } else if let Some(v) = line.strip_prefix("#EXTINF:") {
            extinf = Some(v.trim_end_matches(',').to_owned());
        } else if !line.starts_with('#') && !line.is_empty() {
            out.insert(
                msn,
                Listed {
                    uri: line.to_owned(),
                    extinf: extinf.take().unwrap(),
                    pdt: pdt.take(),
                    parts: std::mem::take(&mut parts),
                    map: map.clone(),
                },
            );
            msn += 1;
        }
    }
    out
}

/// The tfdt (baseMediaDecodeTime) of a part: moof > traf > tfdt, version 1.
fn tfdt(part: &[u8]) -> u64 {
    let at = part.windows(4).position(|w| w == b"tfdt").expect("tfdt") + 4;
    assert_eq!(part[at], 1, "tfdt version 1");
    u64::from_be_bytes(part[at + 4..at + 12].try_into().unwrap())
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn two_origins_started_apart_serve_the_same_names_durations_dates_and_inits() {
    let a = start();
    std::thread::sleep(Duration::from_millis(1300));
    let b = start();
    // Run side by side (bounded), then compare every MSN both list.
    std::thread::sleep(Duration::from_secs(30));
    let (pa, pb) = (
        String::from_utf8(a.get_ok("180p/index.m3u8")).unwrap(),
        String::from_utf8(b.get_ok("180p/index.m3u8")).unwrap(),
    );
    let (sa, sb) = (segments(&pa), segments(&pb));
    let common: Vec<u64> = sa.keys().filter(|m| sb.contains_key(m)).copied().collect();
    assert!(
        common.len() >= 25,
        "only {} common MSNs:\n{pa}\n{pb}",
        common.len()
    );
    // MSNs come from the clock: segment k starts at second k (1 s segments).
    let first = *sa.keys().next().unwrap();
    assert!(
        (first as f64 - now_s()).abs() < 60.0,
        "MSN {first} is not the clock's"
    );
    for m in &common {
        assert_eq!(sa[m], sb[m], "MSN {m} differs");
        assert_eq!(sa[m].extinf, "1.00000", "MSN {m}: a whole grid interval");
        let pdt = sa[m].pdt.as_deref().unwrap_or("");
        assert!(
            pdt.ends_with(":00.000Z") || pdt.contains(".000Z"),
            "MSN {m} PDT {pdt}"
        );
    }
    // The same init bytes, and the same tfdt for the same part.
    assert_eq!(
        a.get_ok(&format!("180p/{}", sa[&common[0]].map)),
        b.get_ok(&format!("180p/{}", sb[&common[0]].map))
    );
    // Parts are listed for the last few segments (rfc8216bis-22 §6.2.2 part horizon).
    let with_parts: Vec<&u64> = common.iter().filter(|m| !sa[m].parts.is_empty()).collect();
    assert!(with_parts.len() >= 2, "{pa}");
    for m in with_parts {
        let uri = &sa[m].parts[0].0;
        let (ta, tb) = (
            tfdt(&a.get_ok(&format!("180p/{uri}"))),
            tfdt(&b.get_ok(&format!("180p/{uri}"))),
        );
        assert_eq!(ta, tb, "{uri}");
        assert_eq!(ta, m * 90_000, "{uri}: tfdt is the clock");
    }
    // Audio too: the same names, durations and dates.
    let (aa, ab) = (
        segments(&String::from_utf8(a.get_ok("audio/index.m3u8")).unwrap()),
        segments(&String::from_utf8(b.get_ok("audio/index.m3u8")).unwrap()),
    );
    let both: Vec<u64> = aa.keys().filter(|m| ab.contains_key(m)).copied().collect();
    assert!(both.len() >= 25);
    for m in &both {
        assert_eq!(aa[m], ab[m], "audio MSN {m} differs");
    }
    b.stop();

    // A restart continues numbering from the clock.
    let last_before = *sa.keys().last().unwrap();
    a.stop();
    let restarted_at = Instant::now();
    let c = start();
    let deadline = Instant::now() + Duration::from_secs(20);
    let first_after = loop {
        let text = String::from_utf8(c.get_ok("180p/index.m3u8")).unwrap();
        if let Some(first) = segments(&text).keys().next() {
            break *first;
        }
        assert!(Instant::now() < deadline, "no segment after the restart");
        std::thread::sleep(Duration::from_millis(100));
    };
    let expected = now_s().floor() as u64;
    assert!(first_after > last_before, "{first_after} <= {last_before}");
    assert!(
        first_after + 3 >= expected - restarted_at.elapsed().as_secs() && first_after <= expected,
        "first MSN {first_after} after the restart, clock {expected}"
    );
    c.stop();
}
