//! Human-readable box tree of ISO BMFF bytes, for `.txt` debug twins and golden tests.
//! Reads any bytes without panicking: malformed input ends the dump with an `error:` line.

use std::fmt::Write;

/// Boxes whose body is a sequence of child boxes.
const CONTAINERS: [&[u8; 4]; 11] = [
    b"moov", b"trak", b"mdia", b"minf", b"dinf", b"stbl", b"mvex", b"moof", b"traf", b"edts",
    b"udta",
];

/// Most trun entries listed before the dump abbreviates.
const MAX_TRUN_ENTRIES: usize = 16;

/// Dumps `bytes` as an indented tree, one box per line: type, size and the key fields
/// (ftyp brands, timescales, sample entry, mfhd sequence, tfdt, trun samples).
pub fn dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    walk(bytes, 0, &mut out);
    out
}

fn be(b: &[u8], at: usize, n: usize) -> Option<u64> {
    let s = b.get(at..at + n)?;
    Some(s.iter().fold(0u64, |a, &x| (a << 8) | x as u64))
}

fn fourcc(b: &[u8]) -> String {
    b.iter()
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                c as char
            } else {
                '?'
            }
        })
        .collect()
}

fn walk(mut b: &[u8], depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    while !b.is_empty() {
        let (Some(size), Some(typ)) = (be(b, 0, 4), b.get(4..8)) else {
            let _ = writeln!(
                out,
                "{pad}error: {} trailing bytes, too short for a box header",
                b.len()
            );
            return;
        };
        let (size, header) = match size {
            1 => match be(b, 8, 8) {
                Some(s) => (s as usize, 16),
                None => {
                    let _ = writeln!(out, "{pad}error: truncated 64-bit size of {}", fourcc(typ));
                    return;
                }
            },
            0 => (b.len(), 8),
            s => (s as usize, 8),
        };
        if size < header || size > b.len() {
            let _ = writeln!(
                out,
                "{pad}error: {} box size {size} but {} bytes left",
                fourcc(typ),
                b.len()
            );
            return;
        }
        let body = &b[header..size];
        let typ: [u8; 4] = [typ[0], typ[1], typ[2], typ[3]];
        let _ = write!(out, "{pad}{} size={size}", fourcc(&typ));
        let fields = describe(&typ, body).unwrap_or_else(|| " (truncated)".to_string());
        // Multi-line fields (trun entries) indent one level under their box.
        let _ = writeln!(out, "{}", fields.replace('\n', &format!("\n{pad}  ")));
        if CONTAINERS.contains(&&typ) {
            walk(body, depth + 1, out);
        } else if &typ == b"stsd" && body.len() >= 8 {
            walk(&body[8..], depth + 1, out);
        } else if matches!(&typ, b"avc1" | b"hvc1" | b"hev1" | b"avc3") && body.len() >= 78 {
            walk(&body[78..], depth + 1, out);
        } else if matches!(&typ, b"mp4a" | b"Opus") && body.len() >= 28 {
            walk(&body[28..], depth + 1, out);
        }
        b = &b[size..];
    }
}

/// The key fields of one box, as ` k=v` pairs; `None` when the body is too short.
fn describe(typ: &[u8; 4], d: &[u8]) -> Option<String> {
    let v = d.first().copied().unwrap_or(0);
    let flags = be(d, 1, 3).unwrap_or(0);
    Some(match typ {
        b"ftyp" => {
            let compat: Vec<String> = d.get(8..)?.chunks(4).map(fourcc).collect();
            format!(
                " major={} minor={} compatible=[{}]",
                fourcc(d.get(0..4)?),
                be(d, 4, 4)?,
                compat.join(",")
            )
        }
        b"mvhd" | b"mdhd" => {
            let (ts, dur) = if v == 1 {
                (be(d, 20, 4)?, be(d, 24, 8)?)
            } else {
                (be(d, 12, 4)?, be(d, 16, 4)?)
            };
            format!(" v{v} timescale={ts} duration={dur}")
        }
        b"tkhd" => {
            let (id, dur, wh) = if v == 1 {
                (be(d, 20, 4)?, be(d, 28, 8)?, 88)
            } else {
                (be(d, 12, 4)?, be(d, 20, 4)?, 76)
            };
            format!(
                " v{v} flags={flags:#x} track_id={id} duration={dur} width={} height={}",
                be(d, wh, 4)? >> 16,
                be(d, wh + 4, 4)? >> 16
            )
        }
        b"hdlr" => format!(" handler={}", fourcc(d.get(8..12)?)),
        b"avc1" | b"hvc1" | b"hev1" | b"avc3" => {
            format!(" width={} height={}", be(d, 24, 2)?, be(d, 26, 2)?)
        }
        b"mp4a" | b"Opus" => format!(
            " channels={} samplerate={}",
            be(d, 16, 2)?,
            be(d, 24, 4)? >> 16
        ),
        b"avcC" => format!(
            " profile={} compat={:#04x} level={} sps={}",
            d.get(1)?,
            d.get(2)?,
            d.get(3)?,
            d.get(5)? & 0x1f
        ),
        b"hvcC" => format!(
            " profile={} level={} arrays={}",
            d.get(1)? & 0x1f,
            d.get(12)?,
            d.get(22)?
        ),
        b"esds" => format!(" bytes={}", d.len()),
        b"dOps" => format!(
            " channels={} pre_skip={} input_rate={}",
            d.get(1)?,
            be(d, 2, 2)?,
            be(d, 4, 4)?
        ),
        b"stts" | b"stsc" | b"stco" | b"dref" | b"stsd" => format!(" entries={}", be(d, 4, 4)?),
        b"stsz" => format!(" sample_count={}", be(d, 8, 4)?),
        b"trex" => format!(
            " track_id={} default_sample_description_index={}",
            be(d, 4, 4)?,
            be(d, 8, 4)?
        ),
        b"mfhd" => format!(" sequence={}", be(d, 4, 4)?),
        b"tfhd" => format!(" flags={flags:#08x} track_id={}", be(d, 4, 4)?),
        b"tfdt" => format!(
            " v{v} base_media_decode_time={}",
            if v == 1 { be(d, 4, 8)? } else { be(d, 4, 4)? }
        ),
        b"trun" => return describe_trun(v, flags as u32, d),
        b"mdat" => format!(" payload={}", d.len()),
        _ => String::new(),
    })
}

fn describe_trun(v: u8, flags: u32, d: &[u8]) -> Option<String> {
    let count = be(d, 4, 4)? as usize;
    let mut s = format!(" v{v} flags={flags:#08x} sample_count={count}");
    let mut at = 8;
    if flags & 1 != 0 {
        let _ = write!(s, " data_offset={}", be(d, at, 4)? as u32 as i32);
        at += 4;
    }
    if flags & 4 != 0 {
        let _ = write!(s, " first_sample_flags={:#010x}", be(d, at, 4)?);
        at += 4;
    }
    for i in 0..count.min(MAX_TRUN_ENTRIES) {
        let _ = write!(s, "\n[{i}]");
        for (bit, name) in [
            (0x100, "duration"),
            (0x200, "size"),
            (0x400, "flags"),
            (0x800, "cto"),
        ] {
            if flags & bit != 0 {
                let x = be(d, at, 4)?;
                at += 4;
                match bit {
                    0x400 => {
                        let _ = write!(s, " {name}={x:#010x}");
                    }
                    0x800 if v == 1 => {
                        let _ = write!(s, " {name}={}", x as u32 as i32);
                    }
                    _ => {
                        let _ = write!(s, " {name}={x}");
                    }
                }
            }
        }
    }
    if count > MAX_TRUN_ENTRIES {
        let _ = write!(s, "\n... {} more", count - MAX_TRUN_ENTRIES);
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_input_never_panics() {
        for b in [
            &[][..],
            &[0, 0, 0],
            &[0, 0, 0, 200, b'm', b'o', b'o', b'v'],
            &[0, 0, 0, 1, b'x', b'x', b'x', b'x', 0],
            &[0, 0, 0, 9, b't', b'f', b'd', b't', 1],
        ] {
            let _ = dump(b);
        }
        assert!(dump(&[0, 0, 0, 200, b'm', b'o', b'o', b'v']).contains("error"));
        assert_eq!(
            dump(&[0, 0, 0, 9, b't', b'f', b'd', b't', 1]),
            "tfdt size=9 (truncated)\n"
        );
    }
}
