//! Test helpers: a store fed with CMAF-like parts through `Rendition::apply`, a real origin on
//! 127.0.0.1:0, and a raw HTTP/1.1 client (so tests see exactly which bytes arrive when).
#![allow(dead_code)]

pub mod cert;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use origin::{Origin, OriginOptions};
use packager::cmaf::{CodecConfig, Event, InitSegment, MediaKind, Part, SegmentInfo, TrackInfo};
use packager::config::FrameRate;
use packager::rendition::Language;
use packager::store::{Rendition, RenditionInfo, RenditionKind, Store, Stream, StreamSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const EPOCH: u64 = 1_700_000_000;
pub const TIMESCALE: u32 = 90_000;

/// A store with stream `live`: video rendition `v` and audio rendition `a`.
pub fn store(
    target_duration: u64,
    part_target: f64,
    byterange_parts: bool,
) -> (Arc<Store>, Arc<Stream>) {
    let settings = StreamSettings {
        epoch: EPOCH,
        target_duration,
        part_target,
        window_segments: 8,
        byterange_parts,
        ..packager::testing::settings("live")
    };
    let renditions = vec![
        RenditionInfo::video("v", 640, 360, FrameRate { num: 30, den: 1 }, 800000),
        RenditionInfo {
            kind: RenditionKind::Audio {
                channels: 2,
                sample_rate: 48_000,
                language: Language::parse("eng"),
            },
            ..RenditionInfo::audio("a", 2, 48_000, 64_000)
        },
    ];
    let stream = Stream::new(settings, renditions);
    let store = Store::new();
    store.insert(Arc::clone(&stream));
    for r in stream.renditions() {
        init(r);
    }
    (store, stream)
}

/// A CMAF-like part: a `moof` box and an `mdat` box whose payload is a pattern unique to
/// (msn, index), `len` bytes in all.
pub fn part_bytes(msn: u64, index: u32, len: usize) -> Bytes {
    let len = len.max(32);
    let mut b = BytesMut::with_capacity(len);
    b.put_u32(16);
    b.put_slice(b"moof");
    b.put_u64(msn << 16 | u64::from(index));
    b.put_u32((len - 16) as u32);
    b.put_slice(b"mdat");
    let seed = (msn as u8).wrapping_mul(31).wrapping_add(index as u8);
    for i in 0..len - 24 {
        b.put_u8(seed.wrapping_add(i as u8));
    }
    b.freeze()
}

/// Applies the init segment (id 0).
pub fn init(r: &Rendition) {
    let video = r.name() == "v";
    let track = TrackInfo {
        kind: if video {
            MediaKind::Video {
                width: 640,
                height: 360,
            }
        } else {
            MediaKind::Audio {
                channels: 2,
                sample_rate: 48_000,
            }
        },
        codec: if video {
            CodecConfig::Avc {
                sps: vec![],
                pps: vec![],
            }
        } else {
            CodecConfig::Aac {
                audio_specific_config: Bytes::from_static(&[0x11, 0x90]),
            }
        },
        timescale: TIMESCALE,
        language: "und".into(),
    };
    let mut bytes = BytesMut::new();
    bytes.put_u32(16);
    bytes.put_slice(b"ftypiso6");
    bytes.put_u32(0);
    bytes.put_u32(8);
    bytes.put_slice(b"moov");
    r.apply(Event::InitReady(InitSegment {
        id: 0,
        bytes: bytes.freeze(),
        codec_string: if video {
            "avc1.64001f".into()
        } else {
            "mp4a.40.2".into()
        },
        track,
    }));
}

/// Applies part `index` of segment `msn` lasting `secs`.
pub fn part(r: &Rendition, msn: u64, index: u32, secs: f64, len: usize) {
    part_at(r, msn, index, secs, len, None);
}

/// [`part`] whose first sample was captured at `wallclock_ms` (Unix ms).
pub fn part_at(
    r: &Rendition,
    msn: u64,
    index: u32,
    secs: f64,
    len: usize,
    wallclock_ms: Option<i64>,
) {
    r.apply(Event::PartReady(Part {
        msn,
        index,
        duration: (secs * f64::from(TIMESCALE)) as u64,
        timescale: TIMESCALE,
        independent: index == 0,
        first_dts: 0,
        wallclock_ms,
        init_id: 0,
        discontinuity: false,
        bytes: part_bytes(msn, index, len),
        cues: Vec::new(),
    }));
}

/// Closes segment `msn` of `parts` parts of `secs` each.
pub fn close(r: &Rendition, msn: u64, parts: u32, secs: f64) {
    r.apply(Event::SegmentClosed(SegmentInfo {
        msn,
        duration: (secs * f64::from(parts) * f64::from(TIMESCALE)) as u64,
        timescale: TIMESCALE,
        parts,
    }));
}

/// Fills `segments` complete segments of `parts` parts (each `secs`) into every rendition.
pub fn fill(stream: &Stream, segments: u64, parts: u32, secs: f64) {
    for msn in 0..segments {
        for r in stream.renditions() {
            for i in 0..parts {
                part(r, msn, i, secs, 400 + 10 * i as usize);
            }
            close(r, msn, parts, secs);
        }
    }
}

/// The bytes segment `msn` should have after `fill`/`part` with the same lengths.
pub fn segment_bytes(msn: u64, parts: u32) -> Vec<u8> {
    (0..parts)
        .flat_map(|i| part_bytes(msn, i, 400 + 10 * i as usize).to_vec())
        .collect()
}

/// Starts an origin on 127.0.0.1:0.
pub async fn start(store: Arc<Store>) -> Origin {
    start_with(store, OriginOptions::default()).await
}

/// Starts an origin with options.
pub async fn start_with(store: Arc<Store>, opts: OriginOptions) -> Origin {
    Origin::bind(SocketAddr::from(([127, 0, 0, 1], 0)), store, opts)
        .await
        .expect("bind 127.0.0.1:0")
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request (`Connection: close`) and reads the whole response.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Resp {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), s.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .expect("read");
    parse(&raw, method == "HEAD")
}

/// GET shorthand.
pub async fn get(addr: SocketAddr, target: &str) -> Resp {
    request(addr, "GET", target, &[]).await
}

/// Parses a complete raw response (decoding chunked bodies).
pub fn parse(raw: &[u8], head: bool) -> Resp {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let text = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    if chunked && !head {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap().trim(), 16).unwrap();
        b = &b[nl + 2..];
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
    out
}

/// The value of an unlabelled line `name value` of `/metrics`.
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}
