//! `Range: bytes=...` (RFC 9110 §14.1.2) for one range, and slicing a resource held as a list
//! of parts without copying. Pure: no IO.

use bytes::Bytes;

/// The last byte a client names to ask for a range that ends wherever the resource will end
/// (RFC 8673 §2.2, "a very large end position"); rfc8216bis-22 §4.4.5.3 recommends this value,
/// 2^53 − 1, for a preload hint without BYTERANGE-LENGTH. A range of an open segment ending
/// here is as open-ended as `bytes=N-`.
pub const LIVE_LAST_BYTE: u64 = (1 << 53) - 1;

/// One requested byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=first-` or `bytes=first-last` (last inclusive).
    From {
        /// First byte.
        first: u64,
        /// Last byte, inclusive.
        last: Option<u64>,
    },
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

impl ByteRange {
    /// Parses a Range header. `None` for anything but one well-formed bytes range: RFC 9110
    /// §14.2 lets a server ignore a Range it does not support, and we serve multi-ranges whole.
    pub fn parse(h: &str) -> Option<ByteRange> {
        let spec = h.trim().strip_prefix("bytes=")?.trim();
        if spec.contains(',') {
            return None;
        }
        let (a, b) = spec.split_once('-')?;
        let num = |s: &str| -> Option<u64> {
            (!s.is_empty() && s.len() <= 19 && s.bytes().all(|c| c.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        match (a.trim(), b.trim()) {
            ("", n) => Some(ByteRange::Suffix(num(n)?)),
            (f, "") => Some(ByteRange::From {
                first: num(f)?,
                last: None,
            }),
            (f, l) => {
                let (first, last) = (num(f)?, num(l)?);
                // §14.1.1: last < first makes the range invalid, so the header is ignored.
                (last >= first).then_some(ByteRange::From {
                    first,
                    last: Some(last),
                })
            }
        }
    }

    /// The inclusive (first, last) bytes of a resource of `len` bytes, or `None` when the
    /// range is unsatisfiable (416).
    pub fn resolve(self, len: u64) -> Option<(u64, u64)> {
        match self {
            ByteRange::From { first, last } if first < len => {
                Some((first, last.map_or(len - 1, |l| l.min(len - 1))))
            }
            ByteRange::Suffix(n) if n > 0 && len > 0 => Some((len.saturating_sub(n), len - 1)),
            _ => None,
        }
    }
}

/// Bytes `first..=last` of the concatenation of `parts`, as slices of them.
pub fn slice(parts: &[Bytes], first: u64, last: u64) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut at = 0u64;
    for p in parts {
        let len = p.len() as u64;
        let (start, end) = (at, at + len); // [start, end)
        at = end;
        if end <= first || start > last {
            continue;
        }
        let from = first.saturating_sub(start) as usize;
        let to = ((last + 1).min(end) - start) as usize;
        out.push(p.slice(from..to));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        assert_eq!(
            ByteRange::parse("bytes=0-99"),
            Some(ByteRange::From {
                first: 0,
                last: Some(99)
            })
        );
        assert_eq!(
            ByteRange::parse("bytes=100-"),
            Some(ByteRange::From {
                first: 100,
                last: None
            })
        );
        assert_eq!(ByteRange::parse("bytes=-5"), Some(ByteRange::Suffix(5)));
        for bad in [
            "bytes=5-1",
            "bytes=a-",
            "items=0-1",
            "bytes=0-1,3-4",
            "bytes=-",
            "bytes=99999999999999999999-",
            "",
        ] {
            assert_eq!(ByteRange::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn resolve_and_slice() {
        let r = |s: &str| ByteRange::parse(s).unwrap();
        assert_eq!(r("bytes=0-99").resolve(10), Some((0, 9)));
        assert_eq!(r("bytes=10-").resolve(10), None);
        assert_eq!(r("bytes=-3").resolve(10), Some((7, 9)));
        assert_eq!(r("bytes=-30").resolve(10), Some((0, 9)));
        assert_eq!(r("bytes=-0").resolve(10), None);
        let parts = [
            Bytes::from_static(b"abc"),
            Bytes::from_static(b"defg"),
            Bytes::from_static(b"hi"),
        ];
        let cat = |v: Vec<Bytes>| v.iter().flat_map(|b| b.to_vec()).collect::<Vec<u8>>();
        assert_eq!(cat(slice(&parts, 0, 8)), b"abcdefghi");
        assert_eq!(cat(slice(&parts, 2, 3)), b"cd");
        assert_eq!(cat(slice(&parts, 3, 6)), b"defg");
        assert_eq!(cat(slice(&parts, 8, 8)), b"i");
    }
}
