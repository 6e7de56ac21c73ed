//! Building a [`CodecConfig`] from what encoders and demuxers hand out: avcC/hvcC records
//! (ISO/IEC 14496-15 §5.3.3.1, §8.3.3.1), Annex-B parameter sets, in-band parameter sets of a
//! keyframe, and the AAC AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1).

use bytes::Bytes;

use super::error::Error;
use super::nal::{
    annexb_nal_units, avc_nal_type, hevc_nal_type, is_annexb, length_prefixed_nal_units,
};
use super::sample::CodecConfig;

const AVC_SPS: u8 = 7;
const AVC_PPS: u8 = 8;
const HEVC_VPS: u8 = 32;
const HEVC_SPS: u8 = 33;
const HEVC_PPS: u8 = 34;

fn bad(codec: &'static str, reason: impl Into<String>) -> Error {
    Error::BadExtradata {
        codec,
        reason: reason.into(),
    }
}

/// Reads `count` u16-length-prefixed NAL units starting at `*off`.
fn read_nals(
    codec: &'static str,
    d: &[u8],
    off: &mut usize,
    count: usize,
    out: &mut Vec<Bytes>,
) -> Result<(), Error> {
    for _ in 0..count {
        let len = d
            .get(*off..*off + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
            .ok_or_else(|| bad(codec, format!("record truncated at offset {}", *off)))?;
        let nal = d.get(*off + 2..*off + 2 + len).ok_or_else(|| {
            bad(
                codec,
                format!("NAL of {len} bytes at offset {} overruns the record", *off),
            )
        })?;
        out.push(Bytes::copy_from_slice(nal));
        *off += 2 + len;
    }
    Ok(())
}

impl CodecConfig {
    /// H.264 config from extradata: an AVCDecoderConfigurationRecord (avcC, first byte 1,
    /// ISO/IEC 14496-15 §5.3.3.1) or Annex-B SPS/PPS NAL units.
    pub fn avc_from_extradata(extradata: &[u8]) -> Result<CodecConfig, Error> {
        let (mut sps, mut pps) = (Vec::new(), Vec::new());
        if is_annexb(extradata) {
            return Self::avc_from_nals(annexb_nal_units(extradata));
        }
        let d = extradata;
        if d.len() < 6 || d[0] != 1 {
            return Err(bad(
                "avc",
                format!(
                    "neither an avcC record (version 1) nor Annex-B ({} bytes)",
                    d.len()
                ),
            ));
        }
        if d[4] & 3 != 3 {
            return Err(bad(
                "avc",
                format!(
                    "lengthSizeMinusOne {} unsupported (need 4-byte lengths)",
                    d[4] & 3
                ),
            ));
        }
        let mut off = 6;
        read_nals("avc", d, &mut off, (d[5] & 0x1f) as usize, &mut sps)?;
        let n_pps = *d
            .get(off)
            .ok_or_else(|| bad("avc", format!("no PPS count at offset {off}")))?
            as usize;
        off += 1;
        read_nals("avc", d, &mut off, n_pps, &mut pps)?;
        let c = CodecConfig::Avc { sps, pps };
        c.validate()?;
        Ok(c)
    }

    /// H.264 config from NAL units (e.g. the in-band SPS/PPS of a keyframe); other NAL types are ignored.
    pub fn avc_from_nals<'a>(
        nals: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<CodecConfig, Error> {
        let (mut sps, mut pps) = (Vec::new(), Vec::new());
        for n in nals {
            match avc_nal_type(n) {
                AVC_SPS => sps.push(Bytes::copy_from_slice(n)),
                AVC_PPS => pps.push(Bytes::copy_from_slice(n)),
                _ => {}
            }
        }
        let c = CodecConfig::Avc { sps, pps };
        c.validate()?;
        Ok(c)
    }

    /// H.265 config from extradata: an HEVCDecoderConfigurationRecord (hvcC, first byte 1,
    /// ISO/IEC 14496-15 §8.3.3.1) or Annex-B VPS/SPS/PPS NAL units.
    pub fn hevc_from_extradata(extradata: &[u8]) -> Result<CodecConfig, Error> {
        if is_annexb(extradata) {
            return Self::hevc_from_nals(annexb_nal_units(extradata));
        }
        let d = extradata;
        if d.len() < 23 || d[0] != 1 {
            return Err(bad(
                "hevc",
                format!(
                    "neither an hvcC record (version 1) nor Annex-B ({} bytes)",
                    d.len()
                ),
            ));
        }
        if d[21] & 3 != 3 {
            return Err(bad(
                "hevc",
                format!(
                    "lengthSizeMinusOne {} unsupported (need 4-byte lengths)",
                    d[21] & 3
                ),
            ));
        }
        let mut all = Vec::new();
        let mut off = 23;
        for _ in 0..d[22] {
            let n = d
                .get(off + 1..off + 3)
                .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
                .ok_or_else(|| bad("hevc", format!("array header truncated at offset {off}")))?;
            off += 3;
            read_nals("hevc", d, &mut off, n, &mut all)?;
        }
        Self::hevc_from_nals(all.iter().map(|b| &b[..]))
    }

    /// H.265 config from NAL units (e.g. the in-band parameter sets of a keyframe).
    pub fn hevc_from_nals<'a>(
        nals: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<CodecConfig, Error> {
        let (mut vps, mut sps, mut pps) = (Vec::new(), Vec::new(), Vec::new());
        for n in nals {
            match hevc_nal_type(n) {
                HEVC_VPS => vps.push(Bytes::copy_from_slice(n)),
                HEVC_SPS => sps.push(Bytes::copy_from_slice(n)),
                HEVC_PPS => pps.push(Bytes::copy_from_slice(n)),
                _ => {}
            }
        }
        let c = CodecConfig::Hevc { vps, sps, pps };
        c.validate()?;
        Ok(c)
    }

    /// Config from the in-band parameter sets of a keyframe sample in the length-prefixed
    /// layout (`hevc` selects H.265, otherwise H.264).
    pub fn from_keyframe_nals(sample: &[u8], hevc: bool) -> Result<CodecConfig, Error> {
        let nals = length_prefixed_nal_units(sample)?;
        if hevc {
            Self::hevc_from_nals(nals)
        } else {
            Self::avc_from_nals(nals)
        }
    }

    /// AAC config from the AudioSpecificConfig bytes (ISO/IEC 14496-3 §1.6.2.1).
    pub fn aac_from_extradata(extradata: &[u8]) -> Result<CodecConfig, Error> {
        if extradata.len() < 2 {
            return Err(bad(
                "aac",
                format!(
                    "AudioSpecificConfig of {} bytes, need at least 2",
                    extradata.len()
                ),
            ));
        }
        if extradata[0] >> 3 == 0 {
            return Err(bad("aac", "audioObjectType 0 (null object)"));
        }
        Ok(CodecConfig::Aac {
            audio_specific_config: Bytes::copy_from_slice(extradata),
        })
    }

    /// Checks that every parameter set the sample entry needs is present and non-empty.
    pub fn validate(&self) -> Result<(), Error> {
        let need = |codec, what, v: &[Bytes]| {
            if v.is_empty() || v.iter().any(|b| b.is_empty()) {
                Err(Error::MissingParameterSets { codec, what })
            } else {
                Ok(())
            }
        };
        match self {
            CodecConfig::Avc { sps, pps } => {
                need("avc", "sps", sps)?;
                need("avc", "pps", pps)?;
                if sps[0].len() < 4 {
                    return Err(bad(
                        "avc",
                        format!("SPS of {} bytes, need at least 4", sps[0].len()),
                    ));
                }
                Ok(())
            }
            CodecConfig::Hevc { vps, sps, pps } => {
                need("hevc", "vps", vps)?;
                need("hevc", "sps", sps)?;
                need("hevc", "pps", pps)?;
                super::nal::parse_hevc_sps(&sps[0]).map(|_| ())
            }
            CodecConfig::Aac {
                audio_specific_config,
            } => {
                if audio_specific_config.len() < 2 {
                    return Err(Error::MissingParameterSets {
                        codec: "aac",
                        what: "audio specific config",
                    });
                }
                Ok(())
            }
            CodecConfig::Opus { .. } => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn avcc_and_annexb_extradata_agree() {
        let annexb = [0, 0, 0, 1, 0x67, 0x64, 0, 0x1f, 0, 0, 0, 1, 0x68, 0xee];
        let avcc = [
            1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 2, 0x68, 0xee,
        ];
        assert_eq!(
            CodecConfig::avc_from_extradata(&annexb),
            CodecConfig::avc_from_extradata(&avcc)
        );
        assert!(CodecConfig::avc_from_extradata(&annexb).is_ok());
        assert!(CodecConfig::avc_from_extradata(&[1, 2]).is_err());
        assert!(CodecConfig::hevc_from_extradata(&[1; 10]).is_err());
    }

    use super::*;

    const SPS: [u8; 4] = [0x67, 0x64, 0x00, 0x1f];
    const PPS: [u8; 2] = [0x68, 0xee];

    #[test]
    fn avc_from_avcc_and_annexb_agree() {
        let mut avcc = vec![1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4];
        avcc.extend_from_slice(&SPS);
        avcc.extend_from_slice(&[1, 0, 2]);
        avcc.extend_from_slice(&PPS);
        let a = CodecConfig::avc_from_extradata(&avcc).unwrap();
        let mut annexb = vec![0, 0, 0, 1];
        annexb.extend_from_slice(&SPS);
        annexb.extend_from_slice(&[0, 0, 1]);
        annexb.extend_from_slice(&PPS);
        let b = CodecConfig::avc_from_extradata(&annexb).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a,
            CodecConfig::Avc {
                sps: vec![Bytes::from_static(&SPS)],
                pps: vec![Bytes::from_static(&PPS)]
            }
        );
    }

    #[test]
    fn bad_extradata_is_an_error() {
        assert!(matches!(
            CodecConfig::avc_from_extradata(&[]),
            Err(Error::BadExtradata { .. })
        ));
        assert!(matches!(
            CodecConfig::avc_from_extradata(&[1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 40]),
            Err(Error::BadExtradata { .. })
        ));
        assert!(matches!(
            CodecConfig::avc_from_extradata(&[0, 0, 1, 0x67, 0x64, 0, 0x1f]),
            Err(Error::MissingParameterSets {
                codec: "avc",
                what: "pps"
            })
        ));
        assert!(CodecConfig::hevc_from_extradata(&[1; 10]).is_err());
        assert!(CodecConfig::hevc_from_extradata(&[0, 0, 1, 0x40, 1]).is_err());
        assert!(CodecConfig::aac_from_extradata(&[0x12]).is_err());
        assert!(CodecConfig::Avc {
            sps: vec![],
            pps: vec![]
        }
        .validate()
        .is_err());
        assert!(CodecConfig::Avc {
            sps: vec![Bytes::new()],
            pps: vec![Bytes::from_static(&PPS)]
        }
        .validate()
        .is_err());
    }
}
