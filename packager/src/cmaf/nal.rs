//! NAL unit helpers for H.264/H.265 (ISO/IEC 14496-10 Annex B, ISO/IEC 14496-15 §4.3/§8.3):
//! Annex-B ↔ length-prefixed conversion, emulation-prevention removal and a bit reader for
//! the few SPS fields that the sample entry and the codec string need.

use super::error::Error;

/// Splits an Annex-B byte stream (NAL units separated by `00 00 01` or `00 00 00 01` start
/// codes) into its NAL units, without start codes and without trailing zero bytes
/// (ISO/IEC 14496-10 §B.2 trailing_zero_8bits). Bytes before the first start code, if any,
/// count as one NAL unit. Empty NAL units are skipped.
pub fn annexb_nal_units(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut i = 0usize;
    fn push<'a>(out: &mut Vec<&'a [u8]>, s: &'a [u8]) {
        let mut end = s.len();
        while end > 0 && s[end - 1] == 0 {
            end -= 1;
        }
        if end > 0 {
            out.push(&s[..end]);
        }
    }
    while i + 2 < data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            push(&mut out, &data[start..i]);
            i += 3;
            start = i;
        } else if data[i + 2] > 1 {
            i += 3;
        } else {
            i += 1;
        }
    }
    push(&mut out, &data[start..]);
    out
}

/// Converts an Annex-B access unit to the length-prefixed layout of an ISO BMFF sample
/// (ISO/IEC 14496-15 §4.3.2: each NAL unit preceded by its length; we always use 4 bytes,
/// matching `lengthSizeMinusOne = 3` in the avcC/hvcC we write).
pub fn annexb_to_length_prefixed(data: &[u8]) -> Vec<u8> {
    let nals = annexb_nal_units(data);
    let mut out = Vec::with_capacity(data.len() + 4);
    for n in nals {
        out.extend_from_slice(&(n.len() as u32).to_be_bytes());
        out.extend_from_slice(n);
    }
    out
}

/// Splits a sample of 4-byte-length-prefixed NAL units into its NAL units.
pub fn length_prefixed_nal_units(data: &[u8]) -> Result<Vec<&[u8]>, Error> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off < data.len() {
        let Some(len_bytes) = data.get(off..off + 4) else {
            return Err(Error::BadNalLength {
                length: 4,
                offset: off,
                size: data.len(),
            });
        };
        let len =
            u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
        let Some(nal) = data.get(off + 4..off + 4 + len) else {
            return Err(Error::BadNalLength {
                length: len,
                offset: off,
                size: data.len(),
            });
        };
        out.push(nal);
        off += 4 + len;
    }
    Ok(out)
}

/// Removes emulation-prevention bytes (`00 00 03` → `00 00`, ISO/IEC 14496-10 §7.4.1) to get
/// the raw byte sequence payload.
pub(crate) fn to_rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// Reads bits MSB first, with Exp-Golomb codes (ISO/IEC 14496-10 §9.1). Every read returns
/// `None` past the end, never panics.
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        BitReader { data, pos: 0 }
    }
    pub(crate) fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.pos / 8)?;
        let b = (byte >> (7 - (self.pos % 8))) & 1;
        self.pos += 1;
        Some(b as u32)
    }
    pub(crate) fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            v = (v << 1) | self.bit()?;
        }
        Some(v)
    }
    pub(crate) fn skip(&mut self, n: usize) -> Option<()> {
        self.pos += n;
        (self.pos <= self.data.len() * 8).then_some(())
    }
    pub(crate) fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let rest = self.bits(zeros)?;
        Some(((1u64 << zeros) - 1 + rest as u64) as u32)
    }
}

/// The H.265 SPS facts that go into the hvcC header (ISO/IEC 14496-15 §8.3.3.1) and the codec
/// string (ISO/IEC 14496-15 Annex E).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HevcSpsInfo {
    /// general_profile_space (2 bits).
    pub profile_space: u8,
    /// general_tier_flag.
    pub tier: bool,
    /// general_profile_idc (5 bits).
    pub profile_idc: u8,
    /// general_profile_compatibility_flags (32 bits, flag 0 in the MSB).
    pub compat_flags: u32,
    /// The 48 bits of general constraint indicator flags.
    pub constraint: [u8; 6],
    /// general_level_idc.
    pub level_idc: u8,
    /// sps_max_sub_layers_minus1 + 1.
    pub sub_layers: u8,
    /// sps_temporal_id_nesting_flag.
    pub temporal_id_nested: bool,
    /// chroma_format_idc (1 = 4:2:0 when the SPS could not be read that far).
    pub chroma_format_idc: u8,
    /// bit_depth_luma_minus8.
    pub bit_depth_luma_minus8: u8,
    /// bit_depth_chroma_minus8.
    pub bit_depth_chroma_minus8: u8,
}

/// Reads an H.265 SPS NAL unit (with its 2-byte NAL header): the general profile_tier_level
/// (ISO/IEC 23008-2 §7.3.3) and, when it can, chroma format and bit depths (§7.3.2.2).
pub(crate) fn parse_hevc_sps(nal: &[u8]) -> Result<HevcSpsInfo, Error> {
    let bad = |reason: &str| Error::BadExtradata {
        codec: "hevc",
        reason: format!("SPS: {reason}"),
    };
    let rbsp = to_rbsp(nal);
    if rbsp.len() < 15 {
        return Err(bad(&format!(
            "{} bytes, need at least 15 for profile_tier_level",
            rbsp.len()
        )));
    }
    let max_sub_layers_minus1 = (rbsp[2] >> 1) & 0x7;
    let mut info = HevcSpsInfo {
        profile_space: rbsp[3] >> 6,
        tier: rbsp[3] & 0x20 != 0,
        profile_idc: rbsp[3] & 0x1f,
        compat_flags: u32::from_be_bytes([rbsp[4], rbsp[5], rbsp[6], rbsp[7]]),
        constraint: [rbsp[8], rbsp[9], rbsp[10], rbsp[11], rbsp[12], rbsp[13]],
        level_idc: rbsp[14],
        sub_layers: max_sub_layers_minus1 + 1,
        temporal_id_nested: rbsp[2] & 1 != 0,
        chroma_format_idc: 1,
        bit_depth_luma_minus8: 0,
        bit_depth_chroma_minus8: 0,
    };
    // The rest is best effort: the hvcC fields it fills are informative to decoders, which
    // read the SPS itself.
    let mut r = BitReader::new(&rbsp[15..]);
    let mut rest = || -> Option<(u8, u8, u8)> {
        let n = max_sub_layers_minus1 as usize;
        let mut flags = Vec::with_capacity(n);
        for _ in 0..n {
            flags.push((r.bit()?, r.bit()?));
        }
        if n > 0 {
            r.skip(2 * (8 - n))?;
        }
        for (profile, level) in flags {
            if profile == 1 {
                r.skip(88)?;
            }
            if level == 1 {
                r.skip(8)?;
            }
        }
        r.ue()?; // sps_seq_parameter_set_id
        let chroma = r.ue()?;
        if chroma == 3 {
            r.bit()?;
        }
        r.ue()?; // pic_width_in_luma_samples
        r.ue()?; // pic_height_in_luma_samples
        if r.bit()? == 1 {
            for _ in 0..4 {
                r.ue()?;
            }
        }
        let luma = r.ue()?;
        let chroma_depth = r.ue()?;
        Some((
            u8::try_from(chroma).ok()?,
            u8::try_from(luma).ok()?,
            u8::try_from(chroma_depth).ok()?,
        ))
    };
    if let Some((c, l, cd)) = rest() {
        info.chroma_format_idc = c & 3;
        info.bit_depth_luma_minus8 = l & 7;
        info.bit_depth_chroma_minus8 = cd & 7;
    }
    Ok(info)
}

/// Chroma format and bit depths of an H.264 SPS (with its NAL header byte), for the avcC
/// high-profile extension (ISO/IEC 14496-10 §7.3.2.1.1). Profiles without these fields are
/// 4:2:0 8-bit; an SPS too short to read gives the same.
pub(crate) fn parse_avc_sps_format(nal: &[u8]) -> (u8, u8, u8) {
    const DEFAULT: (u8, u8, u8) = (1, 0, 0);
    let rbsp = to_rbsp(nal);
    let Some(&profile) = rbsp.get(1) else {
        return DEFAULT;
    };
    if !matches!(
        profile,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        return DEFAULT;
    }
    let mut r = BitReader::new(rbsp.get(4..).unwrap_or_default());
    let mut read = || -> Option<(u8, u8, u8)> {
        r.ue()?; // seq_parameter_set_id
        let chroma = r.ue()?;
        if chroma == 3 {
            r.bit()?; // separate_colour_plane_flag
        }
        let luma = r.ue()?;
        let chroma_depth = r.ue()?;
        Some((
            (chroma & 3) as u8,
            (luma & 7) as u8,
            (chroma_depth & 7) as u8,
        ))
    };
    read().unwrap_or(DEFAULT)
}

/// H.264 nal_unit_type (ISO/IEC 14496-10 §7.4.1).
pub(crate) fn avc_nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| b & 0x1f)
}

/// H.265 nal_unit_type (ISO/IEC 23008-2 §7.4.2.2).
pub(crate) fn hevc_nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| (b >> 1) & 0x3f)
}

/// True when `data` begins with an Annex-B start code (`00 00 01` or `00 00 00 01`, ITU-T
/// H.264/H.265 Annex B) rather than a length prefix or a decoder configuration record.
pub fn is_annexb(data: &[u8]) -> bool {
    data.starts_with(&[0, 0, 1]) || data.starts_with(&[0, 0, 0, 1])
}

#[cfg(test)]
mod tests {

    #[test]
    fn annexb_round_trip_through_length_prefixes() {
        let au = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5, 6,
        ];
        assert!(is_annexb(&au) && is_annexb(&au[1..]));
        let lp = annexb_to_length_prefixed(&au);
        assert_eq!(
            lp,
            [0, 0, 0, 3, 0x67, 1, 2, 0, 0, 0, 2, 0x68, 3, 0, 0, 0, 4, 0x65, 4, 5, 6]
        );
        assert!(!is_annexb(&lp));
        let nals = length_prefixed_nal_units(&lp).unwrap();
        assert_eq!(
            nals,
            [&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4, 5, 6][..]]
        );
        assert!(length_prefixed_nal_units(&[0, 0, 0, 9, 1]).is_err());
    }

    use super::*;

    #[test]
    fn annexb_three_and_four_byte_start_codes() {
        let data = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5, 0,
        ];
        assert_eq!(
            annexb_nal_units(&data),
            vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4, 5][..]]
        );
        assert_eq!(
            annexb_to_length_prefixed(&data),
            vec![0, 0, 0, 3, 0x67, 1, 2, 0, 0, 0, 2, 0x68, 3, 0, 0, 0, 3, 0x65, 4, 5]
        );
    }

    #[test]
    fn annexb_edge_cases_do_not_panic() {
        assert!(annexb_nal_units(&[]).is_empty());
        assert!(annexb_nal_units(&[0, 0, 1]).is_empty());
        assert_eq!(annexb_nal_units(&[9, 0, 0, 1, 7]), vec![&[9][..], &[7][..]]);
        assert!(annexb_to_length_prefixed(&[0, 0, 0, 0]).is_empty());
    }

    #[test]
    fn length_prefixed_round_trip_and_overrun() {
        let lp = annexb_to_length_prefixed(&[0, 0, 1, 0x41, 9, 9]);
        assert_eq!(
            length_prefixed_nal_units(&lp).unwrap(),
            vec![&[0x41, 9, 9][..]]
        );
        assert!(matches!(
            length_prefixed_nal_units(&[0, 0, 0, 9, 1]),
            Err(Error::BadNalLength {
                length: 9,
                offset: 0,
                size: 5
            })
        ));
        assert!(length_prefixed_nal_units(&[0, 0]).is_err());
    }

    #[test]
    fn emulation_prevention_removed() {
        assert_eq!(to_rbsp(&[1, 0, 0, 3, 1, 0, 0, 3]), vec![1, 0, 0, 1, 0, 0]);
    }

    #[test]
    fn avc_sps_format() {
        // High profile: sps_id 0, chroma 1, depths 0 (bits 1 010 1 1).
        assert_eq!(
            parse_avc_sps_format(&[0x67, 0x64, 0, 0x1f, 0xac]),
            (1, 0, 0)
        );
        // High 4:4:4: chroma 3, separate plane 0, luma 2 (011), chroma 2 (011): 1 00100 0 011 011.
        assert_eq!(
            parse_avc_sps_format(&[0x67, 0xf4, 0, 0x1f, 0b1001_0000, 0b1101_1000]),
            (3, 2, 2)
        );
        assert_eq!(parse_avc_sps_format(&[0x67, 0x42, 0, 0x1f]), (1, 0, 0));
        assert_eq!(parse_avc_sps_format(&[0x67]), (1, 0, 0));
    }

    #[test]
    fn exp_golomb() {
        // 1 -> 0, 010 -> 1, 011 -> 2, 00100 -> 3
        let mut r = BitReader::new(&[0b1010_0110, 0b0100_0000]);
        assert_eq!(
            (r.ue(), r.ue(), r.ue(), r.ue()),
            (Some(0), Some(1), Some(2), Some(3))
        );
        let mut r = BitReader::new(&[0]);
        assert_eq!(r.ue(), None);
    }
}
