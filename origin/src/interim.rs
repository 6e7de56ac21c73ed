//! TEMPORARY ADAPTER — delete at merge.
//!
//! The real delivery-directive parser, blocking decision, media/multivariant renderers and
//! CMAF box dump live in `packager` (being written in other worktrees). Until the lead merges
//! them, every call the origin makes into that logic goes through this one file, so the
//! switch is: delete this file, point the five functions below at
//! `packager::playlist::{Directive::parse, decide, MediaPlaylist::render, ..}` and
//! `packager::cmaf::dump`.
//!
//! The versions here are deliberately minimal, but follow draft-pantos-hls-rfc8216bis-22 where
//! the origin's tests depend on them.

use std::fmt::Write as _;

use packager::playlist::{Decision, Directive, DirectiveError, MediaPlaylist, Position, Skip};
use packager::store::{RenditionKind, Stream};

/// Parses `_HLS_msn`, `_HLS_part`, `_HLS_skip` from a raw query string
/// (real API: `Directive::parse(query)`).
pub fn parse_directive(query: &str) -> Result<Directive, DirectiveError> {
    let bad = |what: &str| DirectiveError::Malformed(what.to_owned());
    let mut d = Directive::default();
    let (mut seen_msn, mut seen_part, mut seen_skip) = (false, false, false);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let digits = |v: &str| !v.is_empty() && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit());
        match k {
            "_HLS_msn" => {
                if seen_msn || !digits(v) {
                    return Err(bad("_HLS_msn must be one decimal integer"));
                }
                seen_msn = true;
                d.msn = Some(v.parse().map_err(|_| bad("_HLS_msn out of range"))?);
            }
            "_HLS_part" => {
                if seen_part || !digits(v) {
                    return Err(bad("_HLS_part must be one decimal integer"));
                }
                seen_part = true;
                d.part = Some(v.parse().map_err(|_| bad("_HLS_part out of range"))?);
            }
            "_HLS_skip" => {
                if seen_skip {
                    return Err(bad("_HLS_skip given twice"));
                }
                seen_skip = true;
                d.skip = match v {
                    "YES" => Skip::Yes,
                    "v2" => Skip::V2,
                    _ => return Err(bad("_HLS_skip must be YES or v2")),
                };
            }
            // Other query parameters are not delivery directives; leave them alone.
            _ => {}
        }
    }
    // rfc8216bis §6.2.5.2: "_HLS_part without _HLS_msn ... MUST return 400".
    if d.part.is_some() && d.msn.is_none() {
        return Err(bad("_HLS_part without _HLS_msn"));
    }
    Ok(d)
}

/// Decides a playlist request against the current position (real API: `playlist::decide`).
pub fn decide(current: Position, want: Directive) -> Decision {
    let Some(msn) = want.msn else { return Decision::Ready };
    // rfc8216bis §6.2.5.2: "_HLS_msn greater than the last MSN plus two ... SHOULD return 400".
    if msn > current.msn.saturating_add(2) {
        return Decision::TooFar;
    }
    let covered = match want.part {
        // §6.2.5.2: part N of segment M "or later"; a part index past the last part of a
        // complete parent counts as part 0 of the next, which `current.msn > msn` covers.
        Some(part) => current.msn > msn || (current.msn == msn && current.part.is_some_and(|p| p >= part)),
        // §6.2.5.2: without _HLS_part, wait for media segment M itself (complete).
        None => current.msn > msn || (current.msn == msn && current.complete),
    };
    if covered || current.closed {
        Decision::Ready
    } else {
        Decision::Wait
    }
}

/// Renders a media playlist (real API: `MediaPlaylist::render(&self, skip)`).
pub fn render_media(m: &MediaPlaylist, skip: Skip) -> String {
    let t = m.target_duration;
    let pt = m.part_target;
    // rfc8216bis §4.4.3.8: CAN-SKIP-UNTIL >= 6 target durations.
    let skip_until = 6.0 * t as f64;
    let total: f64 = m.segments.iter().map(|s| s.duration).sum();
    let mut skipped = 0usize;
    if skip != Skip::No {
        // §6.2.5.1: replace segments further from the end than the skip boundary.
        let mut start = 0.0;
        for s in &m.segments {
            if !s.complete || total - start <= skip_until {
                break;
            }
            start += s.duration;
            skipped += 1;
        }
    }
    // Section 8: EXT-X-SKIP needs version 9 (10 with RECENTLY-REMOVED-DATERANGES).
    let version = match (skipped > 0, skip) {
        (true, Skip::V2) => 10,
        (true, _) => 9,
        _ => 6,
    };
    let mut o = String::with_capacity(256 + 160 * m.segments.len());
    let _ = writeln!(o, "#EXTM3U\n#EXT-X-VERSION:{version}\n#EXT-X-TARGETDURATION:{t}");
    let _ = writeln!(
        o,
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL={skip_until:.1},PART-HOLD-BACK={:.3}",
        3.0 * pt
    );
    let _ = writeln!(o, "#EXT-X-PART-INF:PART-TARGET={pt:.5}");
    let _ = writeln!(o, "#EXT-X-MEDIA-SEQUENCE:{}", m.media_sequence);
    if m.discontinuity_sequence > 0 {
        let _ = writeln!(o, "#EXT-X-DISCONTINUITY-SEQUENCE:{}", m.discontinuity_sequence);
    }
    if skipped > 0 {
        let dr = if skip == Skip::V2 { ",RECENTLY-REMOVED-DATERANGES=\"\"" } else { "" };
        let _ = writeln!(o, "#EXT-X-SKIP:SKIPPED-SEGMENTS={skipped}{dr}");
    }
    let map_before = m.segments[..skipped].iter().rev().find_map(|s| s.map_uri.clone());
    // §6.2.2: part tags only for the last 3 target durations.
    let part_horizon = total - 3.0 * t as f64;
    let mut start = m.segments[..skipped].iter().map(|s| s.duration).sum::<f64>();
    for (i, s) in m.segments.iter().enumerate().skip(skipped) {
        if s.discontinuity {
            o.push_str("#EXT-X-DISCONTINUITY\n");
        }
        match (&s.map_uri, i == skipped) {
            (Some(u), _) => {
                let _ = writeln!(o, "#EXT-X-MAP:URI=\"{u}\"");
            }
            (None, true) => {
                if let Some(u) = &map_before {
                    let _ = writeln!(o, "#EXT-X-MAP:URI=\"{u}\"");
                }
            }
            _ => {}
        }
        if start + s.duration > part_horizon || !s.complete {
            for p in &s.parts {
                let _ = write!(o, "#EXT-X-PART:DURATION={:.5},URI=\"{}\"", p.duration, p.uri);
                if let Some((len, off)) = p.byterange {
                    let _ = write!(o, ",BYTERANGE=\"{len}@{off}\"");
                }
                if p.independent {
                    o.push_str(",INDEPENDENT=YES");
                }
                o.push('\n');
            }
        }
        if s.complete {
            let _ = writeln!(o, "#EXTINF:{:.5},\n{}", s.duration, s.uri);
        }
        start += s.duration;
    }
    if let Some(h) = &m.preload_hint {
        let _ = write!(o, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{}\"", h.uri);
        if let Some(b) = h.byterange_start {
            let _ = write!(o, ",BYTERANGE-START={b}");
        }
        o.push('\n');
    }
    for r in &m.rendition_reports {
        let _ = write!(o, "#EXT-X-RENDITION-REPORT:URI=\"{}\",LAST-MSN={}", r.uri, r.last_msn);
        if let Some(p) = r.last_part {
            let _ = write!(o, ",LAST-PART={p}");
        }
        o.push('\n');
    }
    if m.ended {
        o.push_str("#EXT-X-ENDLIST\n");
    }
    o
}

/// Renders a minimal multivariant playlist from the store's renditions
/// (real API: packager's multivariant model + render).
pub fn render_multivariant(stream: &Stream) -> String {
    let mut o = String::from("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    let audio: Vec<_> =
        stream.renditions().iter().filter(|r| matches!(r.info().kind, RenditionKind::Audio { .. })).collect();
    for (i, a) in audio.iter().enumerate() {
        if let RenditionKind::Audio { channels, language } = &a.info().kind {
            let _ = writeln!(
                o,
                "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"{n}\",LANGUAGE=\"{language}\",DEFAULT={d},AUTOSELECT=YES,CHANNELS=\"{channels}\",URI=\"{n}/index.m3u8\"",
                n = a.name(),
                d = if i == 0 { "YES" } else { "NO" },
            );
        }
    }
    let audio_bw = audio.first().map_or(0, |a| a.info().nominal_bitrate);
    let audio_codec = audio.first().and_then(|a| a.codec_string());
    let mut any_video = false;
    for r in stream.renditions() {
        let RenditionKind::Video { width, height, frame_rate } = r.info().kind else { continue };
        any_video = true;
        // rfc8216bis §4.4.6.2: BANDWIDTH is required; CODECS lists every format present (§6.2.4).
        let _ = write!(o, "#EXT-X-STREAM-INF:BANDWIDTH={}", r.info().nominal_bitrate + audio_bw);
        let codecs: Vec<String> = r.codec_string().into_iter().chain(audio_codec.clone()).collect();
        if !codecs.is_empty() {
            let _ = write!(o, ",CODECS=\"{}\"", codecs.join(","));
        }
        let _ = write!(o, ",RESOLUTION={width}x{height},FRAME-RATE={frame_rate:.3}");
        if !audio.is_empty() {
            o.push_str(",AUDIO=\"audio\"");
        }
        let _ = writeln!(o, "\n{}/index.m3u8", r.name());
    }
    if !any_video {
        if let Some(a) = audio.first() {
            let _ = write!(o, "#EXT-X-STREAM-INF:BANDWIDTH={}", a.info().nominal_bitrate);
            if let Some(c) = &audio_codec {
                let _ = write!(o, ",CODECS=\"{c}\"");
            }
            let _ = writeln!(o, "\n{}/index.m3u8", a.name());
        }
    }
    o
}

/// A plain-text listing of the top-level ISO BMFF boxes (type, offset, size)
/// (real API: packager's CMAF dump). Never panics on malformed bytes.
pub fn box_dump(bytes: &[u8]) -> String {
    let mut o = String::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < 8 {
            let _ = writeln!(o, "{at:>8} trailing {} bytes", rest.len());
            break;
        }
        let size32 = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as u64;
        let kind: String = rest[4..8].iter().map(|&b| if b.is_ascii_graphic() { b as char } else { '?' }).collect();
        let size = match size32 {
            0 => rest.len() as u64,
            1 if rest.len() >= 16 => u64::from_be_bytes(rest[8..16].try_into().unwrap_or([0; 8])),
            s => s,
        };
        if size < 8 || size > rest.len() as u64 {
            let _ = writeln!(o, "{at:>8} {kind} size {size} (bad: {} bytes left)", rest.len());
            break;
        }
        let _ = writeln!(o, "{at:>8} {kind} size {size}");
        at += size as usize;
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let ok = |q: &str, msn: Option<u64>, part: Option<u32>, skip: Skip| {
            assert_eq!(parse_directive(q).unwrap(), Directive { msn, part, skip }, "{q}");
        };
        ok("", None, None, Skip::No);
        ok("_HLS_msn=5", Some(5), None, Skip::No);
        ok("_HLS_msn=5&_HLS_part=2", Some(5), Some(2), Skip::No);
        ok("_HLS_skip=YES", None, None, Skip::Yes);
        ok("_HLS_skip=v2&_HLS_msn=1", Some(1), None, Skip::V2);
        ok("foo=bar", None, None, Skip::No);
        for bad in [
            "_HLS_part=1",
            "_HLS_msn=-1",
            "_HLS_msn=",
            "_HLS_msn=1x",
            "_HLS_msn=99999999999999999999999",
            "_HLS_msn=1&_HLS_msn=2",
            "_HLS_msn=1&_HLS_part=4294967296",
            "_HLS_skip=yes",
            "_HLS_msn=+1",
        ] {
            assert!(parse_directive(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn decide_table() {
        let p = |msn, part: Option<u32>, complete| Position { msn, part, complete, closed: false };
        let d = |msn, part| Directive { msn: Some(msn), part, skip: Skip::No };
        assert_eq!(decide(p(5, Some(1), false), Directive::default()), Decision::Ready);
        assert_eq!(decide(p(5, Some(1), false), d(5, Some(1))), Decision::Ready);
        assert_eq!(decide(p(5, Some(1), false), d(5, Some(2))), Decision::Wait);
        assert_eq!(decide(p(5, Some(1), false), d(5, None)), Decision::Wait);
        assert_eq!(decide(p(5, Some(3), true), d(5, None)), Decision::Ready);
        assert_eq!(decide(p(5, Some(3), true), d(5, Some(7))), Decision::Wait);
        assert_eq!(decide(p(6, Some(0), false), d(5, Some(7))), Decision::Ready);
        assert_eq!(decide(p(5, Some(1), false), d(7, Some(0))), Decision::Wait);
        assert_eq!(decide(p(5, Some(1), false), d(8, Some(0))), Decision::TooFar);
    }

    #[test]
    fn box_dump_never_panics() {
        assert_eq!(box_dump(&[0, 0, 0, 8, b'f', b't', b'y', b'p']), "       0 ftyp size 8\n");
        for junk in [&[][..], &[0, 0, 0, 1, b'a', b'b', b'c', b'd'], &[255; 20], &[0, 0, 0, 0, 1, 2, 3, 4, 5]] {
            let _ = box_dump(junk);
        }
    }
}
