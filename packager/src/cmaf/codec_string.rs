//! RFC 6381 `CODECS` strings derived from the parameter sets themselves, never guessed.

use super::nal::parse_hevc_sps;
use super::sample::CodecConfig;

/// The RFC 6381 codec string of a config:
/// - H.264: `avc1.PPCCLL`, profile_idc, constraint flags and level_idc of the SPS in hex
///   (RFC 6381 §3.3, ISO/IEC 14496-15 Annex E), e.g. `avc1.64001f`;
/// - H.265: `hvc1.[space]profile.compat.Ttier-level.constraints` (ISO/IEC 14496-15 Annex E.3),
///   e.g. `hvc1.1.6.L93.B0`;
/// - AAC: `mp4a.40.<audioObjectType>` (RFC 6381 §3.3, object type from the AudioSpecificConfig);
/// - Opus: `opus`.
///
/// A config too short to read (which [`CodecConfig::validate`] rejects) yields the bare
/// sample entry type (`avc1`, `hvc1`, `mp4a.40.2`).
pub fn codec_string(config: &CodecConfig) -> String {
    match config {
        CodecConfig::Avc { sps, .. } => match sps.first() {
            Some(s) if s.len() >= 4 => format!("avc1.{:02x}{:02x}{:02x}", s[1], s[2], s[3]),
            _ => "avc1".to_string(),
        },
        CodecConfig::Hevc { sps, .. } => {
            let Some(info) = sps.first().and_then(|s| parse_hevc_sps(s).ok()) else {
                return "hvc1".to_string();
            };
            // E.3: profile space as A/B/C (none for 0), profile_idc in decimal.
            let space = ["", "A", "B", "C"][info.profile_space as usize & 3];
            // Compatibility flags in reverse bit order, hex, leading zeros omitted.
            let compat = info.compat_flags.reverse_bits();
            let tier = if info.tier { 'H' } else { 'L' };
            let mut s = format!(
                "hvc1.{space}{}.{compat:X}.{tier}{}",
                info.profile_idc, info.level_idc
            );
            // Constraint bytes in hex, trailing zero bytes omitted.
            let used = info
                .constraint
                .iter()
                .rposition(|&b| b != 0)
                .map_or(0, |i| i + 1);
            for b in &info.constraint[..used] {
                s.push_str(&format!(".{b:X}"));
            }
            s
        }
        CodecConfig::Aac {
            audio_specific_config: asc,
        } => {
            format!("mp4a.40.{}", aac_object_type(asc).unwrap_or(2))
        }
        CodecConfig::Opus { .. } => "opus".to_string(),
    }
}

/// audioObjectType of an AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1: 5 bits, 31 escapes
/// to 32 + the next 6 bits).
pub(crate) fn aac_object_type(asc: &[u8]) -> Option<u8> {
    let first = *asc.first()? >> 3;
    if first == 31 {
        let b = ((*asc.first()? as u16) << 8) | *asc.get(1)? as u16;
        Some(32 + ((b >> 5) & 0x3f) as u8)
    } else {
        Some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn avc_string_from_sps_bytes() {
        let c = CodecConfig::Avc {
            sps: vec![Bytes::from_static(&[0x67, 0x64, 0x00, 0x1f, 0xac])],
            pps: vec![],
        };
        assert_eq!(codec_string(&c), "avc1.64001f");
        let c = CodecConfig::Avc {
            sps: vec![Bytes::from_static(&[0x67, 0x42, 0xc0, 0x0d])],
            pps: vec![],
        };
        assert_eq!(codec_string(&c), "avc1.42c00d");
    }

    #[test]
    fn hevc_string_main_level_3_1() {
        // NAL header 42 01, vps/sub-layers 01, PTL: space 0 tier 0 profile 1,
        // compat 0x60000000, constraint B0 00.., level 93.
        let sps = [
            0x42, 0x01, 0x01, 0x01, 0x60, 0, 0, 0, 0xb0, 0, 0, 0, 0, 0, 93, 0xa0,
        ];
        let c = CodecConfig::Hevc {
            vps: vec![],
            sps: vec![Bytes::copy_from_slice(&sps)],
            pps: vec![],
        };
        assert_eq!(codec_string(&c), "hvc1.1.6.L93.B0");
        // Main 10, high tier, level 5.1 (153), compat 0x20000000 -> 4.
        let sps = [
            0x42, 0x01, 0x01, 0x22, 0x20, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 153, 0xa0,
        ];
        let c = CodecConfig::Hevc {
            vps: vec![],
            sps: vec![Bytes::copy_from_slice(&sps)],
            pps: vec![],
        };
        assert_eq!(codec_string(&c), "hvc1.2.4.H153.90");
    }

    #[test]
    fn aac_strings() {
        let lc = CodecConfig::Aac {
            audio_specific_config: Bytes::from_static(&[0x11, 0x90]),
        };
        assert_eq!(codec_string(&lc), "mp4a.40.2");
        let he = CodecConfig::Aac {
            audio_specific_config: Bytes::from_static(&[0x2b, 0x92, 0x08, 0x00]),
        };
        assert_eq!(codec_string(&he), "mp4a.40.5");
        // Escape: 31 then 6 bits (000010 -> 32+2 = 34).
        let esc = CodecConfig::Aac {
            audio_specific_config: Bytes::from_static(&[0xf8, 0x40]),
        };
        assert_eq!(codec_string(&esc), "mp4a.40.34");
        assert_eq!(
            codec_string(&CodecConfig::Opus {
                pre_skip: 312,
                input_sample_rate: 48000
            }),
            "opus"
        );
    }
}
