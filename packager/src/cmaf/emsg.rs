//! Timed metadata in CMAF: an `emsg` box (ISO/IEC 23009-1 §5.10.3.3) carrying an ID3v2.4 tag,
//! as "Carriage of ID3 Timed Metadata in CMAF" (AOM, id3-emsg v1.0.0) defines it. Pure.
//!
//! AOM id3-emsg §"Timed Metadata": version 1 of the box must be used; `scheme_id_uri` is
//! [`ID3_SCHEME`]; `message_data` is a complete ID3v2.4 tag; `event_duration` is 0xFFFFFFFF
//! when the message has no duration; `presentation_time` lies within the fragment's interval,
//! on the track's timeline (the tfdt's). Files carrying it list the brand `aid3` in `ftyp`.

use super::boxes::BoxWriter;

/// `scheme_id_uri` of ID3 in emsg (AOM id3-emsg).
pub const ID3_SCHEME: &str = "https://aomedia.org/emsg/ID3";

/// `event_duration` of a message without a duration (AOM id3-emsg).
pub const UNKNOWN_DURATION: u32 = 0xFFFF_FFFF;

/// One event message, version 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMessage {
    /// Ticks per second of `presentation_time` and `event_duration`.
    pub timescale: u32,
    /// When the event applies, on the track's timeline (the same as its tfdt).
    pub presentation_time: u64,
    /// Its duration in `timescale` ticks, or [`UNKNOWN_DURATION`].
    pub event_duration: u32,
    /// Identifies the event within the scheme and value (a repeated id is the same event).
    pub id: u32,
    /// `scheme_id_uri`.
    pub scheme_id_uri: String,
    /// `value`.
    pub value: String,
    /// `message_data`.
    pub message_data: Vec<u8>,
}

impl EventMessage {
    /// The `emsg` box bytes: FullBox(version 1, flags 0), timescale, presentation_time (64
    /// bits), event_duration, id, then the two NUL-terminated strings and the message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = BoxWriter::with_capacity(64 + self.message_data.len());
        w.full(b"emsg", 1, 0, |w| {
            w.u32(self.timescale)
                .u64(self.presentation_time)
                .u32(self.event_duration)
                .u32(self.id)
                .bytes(self.scheme_id_uri.as_bytes())
                .u8(0)
                .bytes(self.value.as_bytes())
                .u8(0)
                .bytes(&self.message_data);
        });
        w.into_inner()
    }
}

/// A 28-bit size as ID3v2.4 writes it: four bytes of seven bits each (a "syncsafe integer",
/// id3v2.4.0-structure §6.2). Sizes beyond 2^28 − 1 do not occur here (payloads are small).
fn syncsafe(n: usize) -> [u8; 4] {
    let n = n.min(0x0FFF_FFFF) as u32;
    [
        (n >> 21) as u8 & 0x7F,
        (n >> 14) as u8 & 0x7F,
        (n >> 7) as u8 & 0x7F,
        n as u8 & 0x7F,
    ]
}

/// An ID3v2.4 tag with one `TXXX` frame (user-defined text, id3v2.4.0-frames §4.2.6): text
/// encoding UTF-8 (3), `description`, NUL, `value`. No padding, no unsynchronisation, no flags
/// (id3v2.4.0-structure §3.1, §4).
pub fn id3_txxx(description: &str, value: &str) -> Vec<u8> {
    let body_len = 1 + description.len() + 1 + value.len();
    let mut tag = Vec::with_capacity(20 + body_len);
    tag.extend_from_slice(b"ID3");
    tag.extend_from_slice(&[4, 0, 0]); // version 2.4.0, flags
    tag.extend_from_slice(&syncsafe(10 + body_len));
    tag.extend_from_slice(b"TXXX");
    tag.extend_from_slice(&syncsafe(body_len));
    tag.extend_from_slice(&[0, 0]); // frame flags
    tag.push(3); // UTF-8
    tag.extend_from_slice(description.as_bytes());
    tag.push(0);
    tag.extend_from_slice(value.as_bytes());
    tag
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncsafe_sizes() {
        assert_eq!(syncsafe(0), [0, 0, 0, 0]);
        assert_eq!(syncsafe(127), [0, 0, 0, 127]);
        assert_eq!(syncsafe(128), [0, 0, 1, 0]);
        assert_eq!(syncsafe(0x0FFF_FFFF), [0x7F, 0x7F, 0x7F, 0x7F]);
    }

    #[test]
    fn id3_tag_layout() {
        let t = id3_txxx("llhls", "{}");
        assert_eq!(&t[..6], b"ID3\x04\x00\x00");
        // header size = frame header (10) + body (1 + 5 + 1 + 2)
        assert_eq!(&t[6..10], &[0, 0, 0, 19]);
        assert_eq!(&t[10..14], b"TXXX");
        assert_eq!(&t[14..18], &[0, 0, 0, 9]);
        assert_eq!(&t[18..20], &[0, 0]);
        assert_eq!(&t[20..], b"\x03llhls\x00{}");
        assert_eq!(t.len(), 10 + 19);
    }

    #[test]
    fn emsg_v1_layout() {
        let m = EventMessage {
            timescale: 90_000,
            presentation_time: 0x1_0000_0002,
            event_duration: UNKNOWN_DURATION,
            id: 7,
            scheme_id_uri: ID3_SCHEME.into(),
            value: String::new(),
            message_data: vec![0xAB],
        };
        let b = m.to_bytes();
        let size = u32::from_be_bytes(b[..4].try_into().unwrap()) as usize;
        assert_eq!(size, b.len());
        assert_eq!(&b[4..8], b"emsg");
        assert_eq!(&b[8..12], &[1, 0, 0, 0]);
        assert_eq!(&b[12..16], &90_000u32.to_be_bytes());
        assert_eq!(&b[16..24], &0x1_0000_0002u64.to_be_bytes());
        assert_eq!(&b[24..28], &[0xFF; 4]);
        assert_eq!(&b[28..32], &7u32.to_be_bytes());
        let uri_end = 32 + ID3_SCHEME.len();
        assert_eq!(&b[32..uri_end], ID3_SCHEME.as_bytes());
        assert_eq!(&b[uri_end..], &[0, 0, 0xAB]);
    }
}
