//! Cues on the real live path: the test pattern through a two-rung ladder with AAC, the origin
//! on 127.0.0.1 with an API token, and a client that posts cues and reads them back from every
//! playlist and from the video parts, checked against the spec and decoded by ffprobe.

use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http::Method;
mod support;

use support::{Served, SMALL_LADDER as CONFIG};

const TOKEN: &str = "test-token-0123";

fn start() -> Served {
    Served::start(
        CONFIG,
        origin::OriginOptions {
            api_token: Some(origin::ApiToken::new(TOKEN)),
            ..origin::OriginOptions::default()
        },
    )
}

/// (status, body text) of `method path`.
fn call(
    served: &Served,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let r = Served::call(served, method, path, headers, body);
    (r.status.as_u16(), r.text())
}

/// (status, body) of a GET.
fn get(served: &Served, path: &str) -> (u16, Vec<u8>) {
    let r = Served::call(served, Method::GET, path, &[], b"");
    (r.status.as_u16(), r.body.to_vec())
}

/// POSTs a cue with the token: (status, JSON answer).
fn post(served: &Served, body: &str) -> (u16, serde_json::Value) {
    let auth = format!("Bearer {TOKEN}");
    let (status, text) = call(
        served,
        Method::POST,
        "/api/v1/streams/t/cues",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.as_bytes(),
    );
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, v)
}

/// The EXT-X-DATERANGE line of `id` in a playlist.
fn daterange<'a>(playlist: &'a str, id: &str) -> Option<&'a str> {
    playlist
        .lines()
        .find(|l| l.starts_with("#EXT-X-DATERANGE:") && l.contains(&format!("ID=\"{id}\"")))
}

fn attr<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let at = line.find(&format!("{name}="))? + name.len() + 1;
    let rest = &line[at..];
    Some(match rest.strip_prefix('"') {
        Some(q) => &q[..q.find('"')?],
        None => rest.split(',').next()?,
    })
}

/// Top-level boxes of an ISO BMFF byte string: (type, offset, size).
fn boxes(b: &[u8]) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= b.len() {
        let size = u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize;
        out.push((
            String::from_utf8_lossy(&b[at + 4..at + 8]).into_owned(),
            at,
            size,
        ));
        if size < 8 {
            break;
        }
        at += size;
    }
    out
}

#[test]
fn a_posted_cue_lands_on_its_frame_in_every_rendition() {
    let served = start();
    // A running stream: wait (bounded) for its first complete segment.
    let r = served.running.stream.rendition("180p").unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(r.position().complete && r.position().msn >= 1) {
        assert!(Instant::now() < deadline, "no segment within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Refusals: no token, a wrong token, a body that is not JSON, an unknown field, a missing
    // class, a megabyte, an unknown stream. Nothing of them reaches a playlist.
    let path = "/api/v1/streams/t/cues";
    let body = br#"{"class":"com.example.poll"}"#;
    assert_eq!(call(&served, Method::POST, path, &[], body).0, 401);
    assert_eq!(
        call(
            &served,
            Method::POST,
            path,
            &[("authorization", "Bearer nope")],
            body
        )
        .0,
        401
    );
    let auth = format!("Bearer {TOKEN}");
    let a = [("authorization", auth.as_str())];
    let (s, t) = call(&served, Method::POST, path, &a, b"{not json");
    assert_eq!(s, 400, "{t}");
    let (s, t) = call(
        &served,
        Method::POST,
        path,
        &a,
        br#"{"class":"a.b","colour":1}"#,
    );
    assert!(s == 400 && t.contains("colour"), "{s} {t}");
    let (s, t) = call(&served, Method::POST, path, &a, br#"{"data":1}"#);
    assert!(s == 422 && t.contains("\"field\":\"class\""), "{s} {t}");
    let (s, _) = call(&served, Method::POST, path, &a, &vec![b' '; 1 << 20]);
    assert_eq!(s, 413);
    let (s, _) = call(&served, Method::POST, "/api/v1/streams/nope/cues", &a, body);
    assert_eq!(s, 404);

    // A cue with quotes, a newline and non-ASCII text in its data.
    let data = serde_json::json!({"q": "Yes or \"no\"?\nünïcödé", "options": [1, 2]});
    let posted = serde_json::json!({
        "id": "poll-1", "class": "com.example.poll", "data": data, "duration": 5.0
    })
    .to_string();
    let (status, cue) = post(&served, &posted);
    assert_eq!(status, 201, "{cue}");
    let renditions: Vec<String> = cue["renditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(renditions.len(), 3, "{cue}");
    let (pts, msn, part) = (
        cue["pts"].as_i64().unwrap(),
        cue["msn"].as_u64().unwrap(),
        cue["part"].as_u64().unwrap(),
    );
    let start_date = cue["start_date"].as_str().unwrap().to_owned();

    // Idempotent: the same post is the same cue (200); the id with another body is a conflict.
    let (status, again) = post(&served, &posted);
    assert_eq!((status, again["pts"].as_i64()), (200, Some(pts)), "{again}");
    let (status, _) = post(&served, r#"{"id":"poll-1","class":"com.example.other"}"#);
    assert_eq!(status, 409);

    // Every media playlist carries the same tag (rfc8216bis-22 §6.2.4), START-DATE the frame's.
    let mut lines = Vec::new();
    for name in ["180p", "90p", "audio"] {
        let (s, body) = get(&served, &format!("/t/{name}/index.m3u8"));
        let text = String::from_utf8(body).unwrap();
        assert_eq!(s, 200);
        let line = daterange(&text, "poll-1")
            .unwrap_or_else(|| panic!("{name}: no DATERANGE: {text}"))
            .to_owned();
        assert!(
            text.contains("#EXT-X-PROGRAM-DATE-TIME:"),
            "§4.4.5.1 needs a PDT"
        );
        lines.push(line);
    }
    assert!(lines.windows(2).all(|w| w[0] == w[1]), "{lines:#?}");
    let line = &lines[0];
    assert_eq!(
        attr(line, "START-DATE"),
        Some(start_date.as_str()),
        "{line}"
    );
    assert_eq!(attr(line, "CLASS"), Some("com.example.poll"));
    assert_eq!(attr(line, "DURATION"), Some("5.000"));
    let carried = base64::engine::general_purpose::STANDARD
        .decode(attr(line, "X-LLHLS-DATA").unwrap())
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&carried).unwrap(),
        data
    );

    // START-DATE is the PROGRAM-DATE-TIME of the frame at `pts`: the segment's PDT plus the
    // media time from its first frame (the video segments start at pts msn × 90,000 here).
    let (_, body) = get(&served, "/t/180p/index.m3u8");
    let text = String::from_utf8(body).unwrap();
    let epoch = served.running.stream.settings().epoch;
    let seg_uri = format!("{epoch}/{msn}.m4s");
    let lines_vec: Vec<&str> = text.lines().collect();
    let seg_at = lines_vec.iter().position(|l| *l == seg_uri);
    let part_uri = format!("{epoch}/{msn}.{part}.m4s");

    // The part that holds the frame starts with an emsg v1 (AOM id3-emsg) before its moof.
    let (s, bytes) = get(&served, &format!("/t/180p/{part_uri}"));
    assert_eq!(s, 200);
    let tops = boxes(&bytes);
    assert_eq!(tops[0].0, "emsg", "{tops:?}");
    assert_eq!(tops[1].0, "moof", "{tops:?}");
    let e = &bytes[tops[0].1..tops[0].1 + tops[0].2];
    assert_eq!(e[8], 1, "emsg version 1");
    let timescale = u32::from_be_bytes(e[12..16].try_into().unwrap());
    let presentation = u64::from_be_bytes(e[16..24].try_into().unwrap());
    let duration = u32::from_be_bytes(e[24..28].try_into().unwrap());
    assert_eq!(
        (timescale, presentation as i64, duration),
        (90_000, pts, 450_000)
    );
    let scheme_end = 32 + e[32..].iter().position(|b| *b == 0).unwrap();
    assert_eq!(&e[32..scheme_end], b"https://aomedia.org/emsg/ID3");
    let id3 = &e[scheme_end + 2..];
    assert_eq!(&id3[..4], b"ID3\x04");
    assert!(String::from_utf8_lossy(id3).contains("\"id\":\"poll-1\""));
    // Audio parts carry no emsg; the audio playlist has the tag all the same.
    // The part is whole media: ffprobe decodes init + part, and a frame with the cue's pts is in it.
    let init = {
        let map = text.lines().find(|l| l.starts_with("#EXT-X-MAP")).unwrap();
        attr(map, "URI").unwrap().to_owned()
    };
    let (_, mut file) = get(&served, &format!("/t/180p/{init}"));
    assert!(boxes(&file).first().is_some_and(
        |(t, o, sz)| t == "ftyp" && file[*o..*o + *sz].windows(4).any(|w| w == b"aid3")
    ));
    file.extend_from_slice(&bytes);
    let dir = tempfile::tempdir().unwrap();
    let part_file = dir.path().join("part.mp4");
    std::fs::write(&part_file, &file).unwrap();
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "frame=pts",
            "-of",
            "csv=p=0",
        ])
        .arg(&part_file)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let frames: Vec<i64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert!(frames.contains(&pts), "pts {pts} not among {frames:?}");
    assert!(
        seg_at.is_some() || text.contains(&part_uri),
        "{msn}.{part} not listed: {text}"
    );

    // Ending: a cue with a DURATION cannot be ended early (§4.4.5.1); an open one can, and its
    // tag then gets END-DATE (added, nothing else changed).
    let (s, _) = call(
        &served,
        Method::DELETE,
        "/api/v1/streams/t/cues/poll-1",
        &a,
        b"",
    );
    assert_eq!(s, 409);
    let (status, open) = post(&served, r#"{"id":"bets-close","class":"com.example.bets"}"#);
    assert_eq!(status, 201, "{open}");
    let (_, before) = get(&served, "/t/90p/index.m3u8");
    let before = daterange(&String::from_utf8(before).unwrap(), "bets-close")
        .unwrap()
        .to_owned();
    assert!(!before.contains("END-DATE"));
    let (s, t) = call(
        &served,
        Method::DELETE,
        "/api/v1/streams/t/cues/bets-close",
        &a,
        b"",
    );
    assert_eq!(s, 200, "{t}");
    let deadline = Instant::now() + Duration::from_secs(5);
    let after = loop {
        let (_, body) = get(&served, "/t/90p/index.m3u8");
        let text = String::from_utf8(body).unwrap();
        let line = daterange(&text, "bets-close").unwrap().to_owned();
        if line.contains("END-DATE") {
            break line;
        }
        assert!(Instant::now() < deadline, "no END-DATE: {line}");
        std::thread::sleep(Duration::from_millis(50));
    };
    // Every attribute it had is there, unchanged: without END-DATE it is the same line.
    let end = format!(",END-DATE=\"{}\"", attr(&after, "END-DATE").unwrap());
    assert_eq!(after.replace(&end, ""), before);
    let (s, _) = call(
        &served,
        Method::DELETE,
        "/api/v1/streams/t/cues/bets-close",
        &a,
        b"",
    );
    assert_eq!(s, 409, "ended twice");

    // The list answers without a token; both cues are in it.
    let (s, t) = call(&served, Method::GET, path, &[], b"");
    assert!(
        s == 200 && t.contains("poll-1") && t.contains("bets-close"),
        "{t}"
    );

    // Rate limit: a burst far over the limit is cut with 429, and viewers are still served.
    let statuses: Vec<u16> = served.rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..80 {
            let url = format!("{}{path}", served.root);
            let auth = auth.clone();
            set.spawn(async move {
                let body = format!(r#"{{"class":"com.example.flood","data":{i}}}"#);
                origin::client::fetch(
                    Method::POST,
                    &url,
                    &[("authorization", &auth)],
                    Bytes::from(body),
                    Duration::from_secs(15),
                )
                .await
                .map_or(0, |r| r.status.as_u16())
            });
        }
        set.join_all().await
    });
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(
        statuses.iter().all(|s| [201, 202, 429].contains(s)),
        "{statuses:?}"
    );
    assert!(limited > 0, "80 posts at once were all taken");
    assert_eq!(get(&served, "/t/180p/index.m3u8").0, 200);
    served.stop();
}

#[test]
fn second_screens_get_cues_as_server_sent_events() {
    use std::io::{Read, Write};
    let served = start();
    let addr = served.server.local_addr();
    let mut sock = std::net::TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    write!(
        sock,
        "GET /api/v1/streams/t/cues/events HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    // The head arrives at once.
    while !seen.contains("\r\n\r\n") {
        let n = sock.read(&mut buf).unwrap();
        assert!(n > 0);
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.contains("text/event-stream"), "{seen}");
    let (status, cue) = post(
        &served,
        r#"{"id":"q-1","class":"com.example.question","data":"hi"}"#,
    );
    assert!(status == 201 || status == 202, "{cue}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.contains("event: cue") {
        assert!(Instant::now() < deadline, "no event: {seen}");
        let n = sock.read(&mut buf).unwrap();
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let data = seen
        .lines()
        .find(|l| l.starts_with("data: ") && l.contains("q-1"))
        .unwrap_or_else(|| panic!("{seen}"));
    let v: serde_json::Value = serde_json::from_str(&data[6..]).unwrap();
    assert!(
        v["start_date"].is_string() && v["media_time"].is_number(),
        "{v}"
    );
    drop(sock);
    served.stop();
}
