//! Test support for the playlist tests: a strict reader of the media playlist text that
//! llhls writes, which checks the draft-pantos-hls-rfc8216bis-22 rules as it goes, and a
//! cross-check with the m3u8-rs parser. Written independently of the renderer: it reads
//! only the text.

#![allow(dead_code)]

use std::collections::HashMap;

/// Units of 1e-5 s, as printed with five decimals.
pub type Units = u64;

/// Parses a printed decimal like `4.00008` or `12` into exact 1e-5 s units.
pub fn units(text: &str) -> Result<Units, String> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 5
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("not a decimal with at most 5 decimals: {text:?}"));
    }
    let int: u64 = int.parse().map_err(|e| format!("{text}: {e}"))?;
    let frac_units: u64 = format!("{frac:0<5}")
        .parse()
        .map_err(|e| format!("{text}: {e}"))?;
    Ok(int * 100_000 + frac_units)
}

/// One EXT-X-PART as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadPart {
    pub duration: Units,
    pub uri: String,
    pub independent: bool,
    pub byterange: Option<String>,
}

/// One media segment as read, with the state that applies to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSegment {
    pub msn: u64,
    pub uri: String,
    pub duration: Units,
    pub discontinuity: bool,
    /// The EXT-X-MAP in effect.
    pub map: Option<String>,
    /// Whether an EXT-X-MAP tag was written for this segment.
    pub map_tag: bool,
    pub pdt: Option<String>,
    pub parts: Vec<ReadPart>,
}

/// A media playlist as read.
#[derive(Debug, Clone, Default)]
pub struct ReadPlaylist {
    pub version: u8,
    pub target: u64,
    pub part_target: Option<Units>,
    pub server_control: HashMap<String, String>,
    pub media_sequence: u64,
    pub discontinuity_sequence: u64,
    pub independent_segments: bool,
    pub playlist_type: Option<String>,
    pub skipped: u64,
    pub recently_removed_dateranges: bool,
    pub segments: Vec<ReadSegment>,
    /// Parts after the last EXTINF (the open segment), and its parent tags.
    pub open: Option<ReadSegment>,
    pub preload_hint: Option<String>,
    pub reports: Vec<String>,
    pub endlist: bool,
}

/// Splits an attribute list (§4.2), honouring quoted strings; refuses duplicates.
pub fn attributes(list: &str) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    let mut rest = list;
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| format!("attribute without '=' in {list:?}"))?;
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!("bad attribute name {name:?} in {list:?}"));
        }
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q
                .find('"')
                .ok_or_else(|| format!("unterminated quoted-string in {list:?}"))?;
            (format!("\"{}\"", &q[..end]), &q[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].to_owned(), &after[end..])
        };
        if out.insert(name.to_owned(), value).is_some() {
            return Err(format!("attribute {name} repeated in {list:?}"));
        }
        rest = match next.strip_prefix(',') {
            Some(r) if !r.is_empty() => r,
            Some(_) => return Err(format!("trailing comma in {list:?}")),
            None if next.is_empty() => "",
            None => return Err(format!("junk after value in {list:?}")),
        };
    }
    Ok(out)
}

fn unquote(value: &str) -> Result<String, String> {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .map(str::to_owned)
        .ok_or_else(|| format!("expected quoted-string, got {value}"))
}

/// Reads and checks a media playlist written by llhls. Every rule broken is an `Err` naming
/// the rule and the line.
pub fn read_media(text: &str) -> Result<ReadPlaylist, String> {
    let mut pl = ReadPlaylist::default();
    let mut lines = text.lines().enumerate().peekable();
    match lines.next() {
        Some((_, "#EXTM3U")) => {}
        other => {
            return Err(format!(
                "§4.4.1.1: first line must be #EXTM3U, got {other:?}"
            ))
        }
    }
    if !text.ends_with('\n') {
        return Err("playlist must end with a line feed".into());
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut in_body = false; // a segment tag, part or EXTINF was seen
    let mut after_body = false; // a hint, report or ENDLIST was seen
    let mut current_map: Option<String> = None;
    let mut pending = ReadSegment {
        msn: 0,
        uri: String::new(),
        duration: 0,
        discontinuity: false,
        map: None,
        map_tag: false,
        pdt: None,
        parts: vec![],
    };
    let mut pending_used = false;
    while let Some((n, line)) = lines.next() {
        let at = |msg: &str| format!("line {}: {msg}: {line}", n + 1);
        if line.is_empty() {
            return Err(at("blank line (llhls never writes one)"));
        }
        let (tag, value) = line.split_once(':').unwrap_or((line, ""));
        let single_use = matches!(
            tag,
            "#EXT-X-VERSION"
                | "#EXT-X-TARGETDURATION"
                | "#EXT-X-SERVER-CONTROL"
                | "#EXT-X-PART-INF"
                | "#EXT-X-MEDIA-SEQUENCE"
                | "#EXT-X-DISCONTINUITY-SEQUENCE"
                | "#EXT-X-INDEPENDENT-SEGMENTS"
                | "#EXT-X-PLAYLIST-TYPE"
                | "#EXT-X-SKIP"
                | "#EXT-X-PRELOAD-HINT"
                | "#EXT-X-ENDLIST"
        );
        if single_use {
            let count = seen.entry(tag).or_default();
            *count += 1;
            if *count > 1 {
                return Err(at(
                    "single-use tag repeated (§4.4.1.2/§4.4.2/§4.4.5.2/§6.2.6)",
                ));
            }
        }
        let header = matches!(
            tag,
            "#EXT-X-VERSION"
                | "#EXT-X-TARGETDURATION"
                | "#EXT-X-SERVER-CONTROL"
                | "#EXT-X-PART-INF"
                | "#EXT-X-MEDIA-SEQUENCE"
                | "#EXT-X-DISCONTINUITY-SEQUENCE"
                | "#EXT-X-INDEPENDENT-SEGMENTS"
                | "#EXT-X-PLAYLIST-TYPE"
                | "#EXT-X-SKIP"
        );
        if header && in_body {
            return Err(at(
                "playlist tag after the first segment (§4.4.3.2/§4.4.3.3/§4.4.5.2)",
            ));
        }
        let segment_tag = matches!(
            tag,
            "#EXT-X-DISCONTINUITY"
                | "#EXT-X-MAP"
                | "#EXT-X-PROGRAM-DATE-TIME"
                | "#EXT-X-PART"
                | "#EXTINF"
        );
        if segment_tag && after_body {
            return Err(at("segment tag after the preload hint / reports / ENDLIST"));
        }
        if matches!(
            tag,
            "#EXT-X-DISCONTINUITY" | "#EXT-X-MAP" | "#EXT-X-PROGRAM-DATE-TIME"
        ) && !pending.parts.is_empty()
        {
            return Err(at(
                "§4.4.4.9: parent segment tag after its first EXT-X-PART",
            ));
        }
        if segment_tag {
            in_body = true;
            pending_used = true;
        }
        match tag {
            "#EXT-X-VERSION" => pl.version = value.parse().map_err(|_| at("bad version"))?,
            "#EXT-X-TARGETDURATION" => {
                pl.target = value.parse().map_err(|_| at("bad target"))?;
                if pl.target < 1 {
                    return Err(at("§4.4.3.1: target must be at least 1"));
                }
            }
            "#EXT-X-SERVER-CONTROL" => pl.server_control = attributes(value).map_err(|e| at(&e))?,
            "#EXT-X-PART-INF" => {
                let a = attributes(value).map_err(|e| at(&e))?;
                let pt = a
                    .get("PART-TARGET")
                    .ok_or_else(|| at("§4.4.3.7: PART-TARGET required"))?;
                pl.part_target = Some(units(pt).map_err(|e| at(&e))?);
            }
            "#EXT-X-MEDIA-SEQUENCE" => {
                pl.media_sequence = value.parse().map_err(|_| at("bad msn"))?
            }
            "#EXT-X-DISCONTINUITY-SEQUENCE" => {
                pl.discontinuity_sequence = value.parse().map_err(|_| at("bad dsn"))?
            }
            "#EXT-X-INDEPENDENT-SEGMENTS" => pl.independent_segments = true,
            "#EXT-X-PLAYLIST-TYPE" => pl.playlist_type = Some(value.to_owned()),
            "#EXT-X-SKIP" => {
                let a = attributes(value).map_err(|e| at(&e))?;
                pl.skipped = a
                    .get("SKIPPED-SEGMENTS")
                    .ok_or_else(|| at("§4.4.5.2: SKIPPED-SEGMENTS required"))?
                    .parse()
                    .map_err(|_| at("bad SKIPPED-SEGMENTS"))?;
                pl.recently_removed_dateranges = a.contains_key("RECENTLY-REMOVED-DATERANGES");
            }
            "#EXT-X-DISCONTINUITY" => pending.discontinuity = true,
            "#EXT-X-MAP" => {
                let a = attributes(value).map_err(|e| at(&e))?;
                current_map = Some(unquote(
                    a.get("URI").ok_or_else(|| at("§4.4.4.5: URI required"))?,
                )?);
                pending.map_tag = true;
            }
            "#EXT-X-PROGRAM-DATE-TIME" => {
                let ok = value.len() == 24
                    && value.ends_with('Z')
                    && value.as_bytes()[10] == b'T'
                    && value.as_bytes()[19] == b'.';
                if !ok {
                    return Err(at("§4.4.4.6: PDT must be YYYY-MM-DDThh:mm:ss.SSSZ"));
                }
                pending.pdt = Some(value.to_owned());
            }
            "#EXT-X-PART" => {
                let a = attributes(value).map_err(|e| at(&e))?;
                let duration = units(
                    a.get("DURATION")
                        .ok_or_else(|| at("§4.4.4.9: DURATION required"))?,
                )
                .map_err(|e| at(&e))?;
                let uri = unquote(a.get("URI").ok_or_else(|| at("§4.4.4.9: URI required"))?)?;
                let independent = match a.get("INDEPENDENT").map(String::as_str) {
                    None => false,
                    Some("YES") => true,
                    Some(_) => return Err(at("INDEPENDENT must be YES")),
                };
                let byterange = a.get("BYTERANGE").map(|b| unquote(b)).transpose()?;
                pending.parts.push(ReadPart {
                    duration,
                    uri,
                    independent,
                    byterange,
                });
            }
            "#EXTINF" => {
                let d = value
                    .strip_suffix(',')
                    .ok_or_else(|| at("EXTINF must end with ','"))?;
                pending.duration = units(d).map_err(|e| at(&e))?;
                let (_, uri) = lines
                    .next()
                    .ok_or_else(|| at("§4.1: EXTINF without URI line"))?;
                if uri.starts_with('#') || uri.is_empty() {
                    return Err(at("§4.1: EXTINF not followed by a URI line"));
                }
                pending.uri = uri.to_owned();
                pending.map = current_map.clone();
                pending.msn = pl.media_sequence + pl.skipped + pl.segments.len() as u64;
                let next = ReadSegment {
                    uri: String::new(),
                    duration: 0,
                    map_tag: false,
                    discontinuity: false,
                    pdt: None,
                    parts: vec![],
                    ..pending.clone()
                };
                pl.segments.push(std::mem::replace(&mut pending, next));
                pending_used = false;
            }
            "#EXT-X-PRELOAD-HINT" => {
                let a = attributes(value).map_err(|e| at(&e))?;
                if a.get("TYPE").map(String::as_str) != Some("PART") {
                    return Err(at("hint TYPE must be PART"));
                }
                pl.preload_hint = Some(unquote(
                    a.get("URI").ok_or_else(|| at("§4.4.5.3: URI required"))?,
                )?);
                after_body = true;
            }
            "#EXT-X-RENDITION-REPORT" => {
                let a = attributes(value).map_err(|e| at(&e))?;
                let uri = unquote(a.get("URI").ok_or_else(|| at("§4.4.5.4: URI required"))?)?;
                if uri.starts_with('/') || uri.contains("://") {
                    return Err(at("§4.4.5.4: report URI MUST be relative"));
                }
                if !a.contains_key("LAST-MSN") {
                    return Err(at("§4.4.5.4: LAST-MSN required"));
                }
                pl.reports.push(value.to_owned());
                after_body = true;
            }
            "#EXT-X-ENDLIST" => {
                pl.endlist = true;
                after_body = true;
            }
            _ => return Err(at("unexpected line")),
        }
    }
    if pending_used {
        if pending.parts.is_empty() {
            return Err("segment tags at the end with neither parts nor EXTINF".into());
        }
        pending.map = current_map.clone();
        pending.msn = pl.media_sequence + pl.skipped + pl.segments.len() as u64;
        pl.open = Some(pending);
    }
    check_rules(&pl)?;
    Ok(pl)
}

/// Every rule a playlist must keep, checked on what was read.
fn check_rules(pl: &ReadPlaylist) -> Result<(), String> {
    let low_latency = !pl.server_control.is_empty();
    let any_part = pl
        .segments
        .iter()
        .chain(&pl.open)
        .any(|s| !s.parts.is_empty());
    let any_map = pl.segments.iter().chain(&pl.open).any(|s| s.map_tag);
    let any_byterange = pl
        .segments
        .iter()
        .chain(&pl.open)
        .flat_map(|s| &s.parts)
        .any(|p| p.byterange.is_some());

    // §8 (and policy: ≥ 6 with LL-HLS tags), and not higher than needed (§6.2.1 SHOULD NOT).
    let mut want = 3;
    if any_byterange {
        want = want.max(4);
    }
    if any_map {
        want = want.max(6);
    }
    if low_latency
        || pl.part_target.is_some()
        || any_part
        || pl.preload_hint.is_some()
        || !pl.reports.is_empty()
    {
        want = want.max(6);
    }
    if pl.skipped > 0 {
        want = want.max(9);
    }
    if pl.recently_removed_dateranges {
        want = want.max(10);
    }
    if pl.version != want {
        return Err(format!(
            "§8: EXT-X-VERSION is {} but the features need exactly {want}",
            pl.version
        ));
    }
    let target_units = pl.target * 100_000;
    // §4.4.3.1: each EXTINF rounded to the nearest integer ≤ target.
    for s in &pl.segments {
        if (s.duration + 50_000) / 100_000 > pl.target {
            return Err(format!(
                "§4.4.3.1: EXTINF {} of msn {} rounds above target {}",
                s.duration, s.msn, pl.target
            ));
        }
    }
    // §4.4.4.9 / §4.4.3.7.
    if any_part {
        let pt = pl
            .part_target
            .ok_or("§4.4.3.7: EXT-X-PART without EXT-X-PART-INF")?;
        for s in pl.segments.iter().chain(&pl.open) {
            for p in &s.parts {
                if p.duration > pt {
                    return Err(format!(
                        "§4.4.4.9: part {} DURATION {} > PART-TARGET {pt}",
                        p.uri, p.duration
                    ));
                }
            }
        }
    }
    // §4.4.3.8.
    if let Some(pt) = pl.part_target {
        let phb = units(
            pl.server_control
                .get("PART-HOLD-BACK")
                .ok_or("§4.4.3.8: PART-HOLD-BACK required with PART-INF")?,
        )?;
        if phb < 2 * pt {
            return Err(format!(
                "§4.4.3.8: PART-HOLD-BACK {phb} < 2 × PART-TARGET {pt}"
            ));
        }
        // As printed: a reader compares the two printed values, so no rounding slack.
        if phb < 3 * pt {
            return Err(format!(
                "§4.4.3.8 SHOULD: PART-HOLD-BACK {phb} < 3 × PART-TARGET {pt}"
            ));
        }
    }
    if low_latency {
        if pl
            .server_control
            .get("CAN-BLOCK-RELOAD")
            .map(String::as_str)
            != Some("YES")
        {
            return Err("policy: CAN-BLOCK-RELOAD=YES required".into());
        }
        if let Some(v) = pl.server_control.get("CAN-SKIP-UNTIL") {
            if units(v)? < 6 * target_units {
                return Err(format!("§4.4.3.8: CAN-SKIP-UNTIL {v} < 6 × target"));
            }
        }
        if pl.server_control.contains_key("CAN-SKIP-DATERANGES")
            && !pl.server_control.contains_key("CAN-SKIP-UNTIL")
        {
            return Err("§4.4.3.8: CAN-SKIP-DATERANGES requires CAN-SKIP-UNTIL".into());
        }
        if let Some(v) = pl.server_control.get("HOLD-BACK") {
            if units(v)? < 3 * target_units {
                return Err(format!("§4.4.3.8: HOLD-BACK {v} < 3 × target"));
            }
        }
    }
    if pl.skipped > 0 {
        if !pl.server_control.contains_key("CAN-SKIP-UNTIL") {
            return Err("§6.2.5.1: EXT-X-SKIP without CAN-SKIP-UNTIL".into());
        }
        if pl.endlist {
            return Err("§6.2.5.1: no delta update with EXT-X-ENDLIST".into());
        }
    }
    // §4.4.5.3.
    if pl.endlist && pl.preload_hint.is_some() {
        return Err("§4.4.5.3: EXT-X-PRELOAD-HINT with EXT-X-ENDLIST".into());
    }
    if pl.endlist && pl.open.is_some() {
        return Err("parts without a parent after the last segment of an ended playlist".into());
    }
    // §3.1.2: every fMP4 segment has a MAP in effect — the first written one included.
    let first = pl.segments.first().or(pl.open.as_ref());
    if let Some(first) = first {
        if first.map.is_none() {
            return Err(format!(
                "§3.1.2: no EXT-X-MAP before the first segment (msn {})",
                first.msn
            ));
        }
        if !first.map_tag {
            return Err("the first segment must carry its own EXT-X-MAP".into());
        }
        // Appendix B.1: PDT in every view, so on the first segment.
        if first.pdt.is_none() {
            return Err(format!(
                "B.1: first segment (msn {}) has no EXT-X-PROGRAM-DATE-TIME",
                first.msn
            ));
        }
    }
    // §6.2.2: parts only within 3 target durations of the end (tolerance: one unit of print
    // rounding per segment).
    let all: Vec<&ReadSegment> = pl.segments.iter().chain(&pl.open).collect();
    let lens: Vec<Units> = all
        .iter()
        .map(|s| {
            if s.uri.is_empty() {
                s.parts.iter().map(|p| p.duration).sum()
            } else {
                s.duration
            }
        })
        .collect();
    let total: Units = lens.iter().sum();
    let tolerance = all.len() as u64 + 1;
    let mut start = 0;
    for (s, len) in all.iter().zip(&lens) {
        // The open segment (no URI yet) always lists its parts: they are the only way to its
        // media, so the §6.2.2 pruning SHOULD does not apply to it.
        if !s.parts.is_empty() && !s.uri.is_empty() && total - start > 3 * target_units + tolerance
        {
            return Err(format!(
                "§6.2.2: msn {} lists parts {} s from the end",
                s.msn,
                (total - start) as f64 / 1e5
            ));
        }
        start += len;
    }
    // Parts are listed for a suffix of the segments (pruned in order, §6.2.2).
    let mut with_parts = false;
    for s in pl.segments.iter() {
        if with_parts && s.parts.is_empty() {
            return Err(format!(
                "msn {} has no parts after a segment with parts",
                s.msn
            ));
        }
        with_parts |= !s.parts.is_empty();
    }
    // A parent's parts carry the same media: their durations add up to the EXTINF (one unit of
    // print rounding per part).
    for s in &pl.segments {
        if !s.parts.is_empty() {
            let sum: Units = s.parts.iter().map(|p| p.duration).sum();
            if sum > s.duration + s.parts.len() as u64 || s.duration > sum + s.parts.len() as u64 {
                return Err(format!(
                    "msn {}: parts add up to {sum}, EXTINF is {}",
                    s.msn, s.duration
                ));
            }
        }
    }
    Ok(())
}

/// Parses `text` with m3u8-rs and checks that the segments, their URIs and durations match
/// what [`read_media`] read.
pub fn cross_check_m3u8_rs(text: &str, read: &ReadPlaylist) -> Result<(), String> {
    let parsed = m3u8_rs::parse_media_playlist_res(text.as_bytes())
        .map_err(|e| format!("m3u8-rs refused: {e:?}"))?;
    if parsed.target_duration != read.target || parsed.media_sequence != read.media_sequence {
        return Err("m3u8-rs: header differs".into());
    }
    if parsed.end_list != read.endlist {
        return Err("m3u8-rs: ENDLIST differs".into());
    }
    if parsed.version != Some(read.version as usize) {
        return Err(format!("m3u8-rs: version {:?}", parsed.version));
    }
    let with_uri: Vec<_> = parsed
        .segments
        .iter()
        .filter(|s| !s.uri.is_empty())
        .collect();
    if with_uri.len() != read.segments.len() {
        return Err(format!(
            "m3u8-rs: {} segments, expected {}",
            with_uri.len(),
            read.segments.len()
        ));
    }
    for (p, r) in with_uri.iter().zip(&read.segments) {
        if p.uri != r.uri {
            return Err(format!("m3u8-rs: uri {} != {}", p.uri, r.uri));
        }
        if (f64::from(p.duration) - r.duration as f64 / 1e5).abs() > 1e-3 {
            return Err(format!(
                "m3u8-rs: duration {} != {}",
                p.duration, r.duration
            ));
        }
        if p.discontinuity != r.discontinuity {
            return Err(format!("m3u8-rs: discontinuity of {} differs", r.uri));
        }
        if p.map.is_some() != r.map_tag {
            return Err(format!("m3u8-rs: map of {} differs", r.uri));
        }
        if p.program_date_time.is_some() != r.pdt.is_some() {
            return Err(format!("m3u8-rs: PDT of {} differs", r.uri));
        }
    }
    Ok(())
}

/// What a client sees per segment once it has merged updates: MSN, URI, EXTINF, init in
/// effect, discontinuity and parts.
pub type Semantic = (u64, String, Units, Option<String>, bool, Vec<ReadPart>);

/// The semantic segment list of a read playlist.
pub fn semantic(pl: &ReadPlaylist) -> Vec<Semantic> {
    pl.segments
        .iter()
        .map(|s| {
            (
                s.msn,
                s.uri.clone(),
                s.duration,
                s.map.clone(),
                s.discontinuity,
                s.parts.clone(),
            )
        })
        .collect()
}

/// Applies a delta update to the previous full playlist the client holds, the way §6.3.7
/// describes: the skipped MSNs come from `previous`, the rest from `delta`.
pub fn apply_delta(previous: &ReadPlaylist, delta: &ReadPlaylist) -> Result<Vec<Semantic>, String> {
    let first_skipped = delta.media_sequence;
    let first_listed = delta.media_sequence + delta.skipped;
    let mut out = Vec::new();
    for msn in first_skipped..first_listed {
        let s = previous
            .segments
            .iter()
            .find(|s| s.msn == msn)
            .ok_or_else(|| format!("skipped msn {msn} is not in the previous playlist"))?;
        // The client keeps what it had; parts of old segments are long gone from any view.
        out.push((
            s.msn,
            s.uri.clone(),
            s.duration,
            s.map.clone(),
            s.discontinuity,
            vec![],
        ));
    }
    out.extend(semantic(delta));
    Ok(out)
}
