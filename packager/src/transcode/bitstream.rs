//! Minimal bitstream helpers used at the ffmpeg boundary: Annex-B ↔ length-prefixed NAL
//! units and parameter sets from encoder extradata. Private stand-ins for the `cmaf`
//! helpers of the same purpose (`cmaf::annexb_to_length_prefixed`,
//! `CodecConfig::{avc,hevc,aac}_from_extradata`), to be replaced by them at merge.

use crate::cmaf::CodecConfig;
use bytes::Bytes;

/// Splits an Annex-B byte stream (ITU-T H.264 Annex B / H.265 Annex B: start codes
/// `00 00 01` or `00 00 00 01`) into NAL unit payloads without start codes.
pub(crate) fn annexb_nals(data: &[u8]) -> Vec<&[u8]> {
    let mut nals = Vec::new();
    let mut i = 0;
    let mut start: Option<usize> = None;
    while i + 2 < data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            if let Some(s) = start {
                let mut end = i;
                // A 4-byte start code's leading zero (and trailing_zero_8bits) belong to no NAL.
                while end > s && data[end - 1] == 0 {
                    end -= 1;
                }
                if end > s {
                    nals.push(&data[s..end]);
                }
            }
            i += 3;
            start = Some(i);
        } else {
            i += 1;
        }
    }
    if let Some(s) = start {
        if s < data.len() {
            nals.push(&data[s..]);
        }
    }
    nals
}

/// True when `data` begins with an Annex-B start code.
pub(crate) fn is_annexb(data: &[u8]) -> bool {
    data.starts_with(&[0, 0, 1]) || data.starts_with(&[0, 0, 0, 1])
}

/// Annex-B access unit → NAL units each prefixed by a 4-byte big-endian length
/// (ISO/IEC 14496-15 §5.3.3 with lengthSizeMinusOne = 3).
pub(crate) fn annexb_to_length_prefixed(data: &[u8]) -> Vec<u8> {
    let nals = annexb_nals(data);
    let mut out = Vec::with_capacity(data.len() + 4 * nals.len());
    for nal in nals {
        out.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        out.extend_from_slice(nal);
    }
    out
}

#[cfg(test)]
/// Length-prefixed (4-byte) NAL units → Annex-B with 4-byte start codes; `None` when a
/// length runs past the end.
pub(crate) fn length_prefixed_to_annexb(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let len = u32::from_be_bytes(data.get(i..i + 4)?.try_into().ok()?) as usize;
        let nal = data.get(i + 4..i + 4 + len)?;
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
        i += 4 + len;
    }
    Some(out)
}

/// NAL units of an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1) or Annex-B.
fn avc_sets(extradata: &[u8]) -> Option<(Vec<Bytes>, Vec<Bytes>)> {
    let (mut sps, mut pps) = (Vec::new(), Vec::new());
    if is_annexb(extradata) {
        for nal in annexb_nals(extradata) {
            match nal.first()? & 0x1f {
                7 => sps.push(Bytes::copy_from_slice(nal)),
                8 => pps.push(Bytes::copy_from_slice(nal)),
                _ => {}
            }
        }
    } else {
        // configurationVersion(8)=1, profile, compat, level, lengthSizeMinusOne, numSPS(5 bits)...
        if extradata.first() != Some(&1) {
            return None;
        }
        let mut i = 5;
        let n_sps = usize::from(*extradata.get(i)? & 0x1f);
        i += 1;
        for _ in 0..n_sps {
            let len = usize::from(u16::from_be_bytes([
                *extradata.get(i)?,
                *extradata.get(i + 1)?,
            ]));
            sps.push(Bytes::copy_from_slice(extradata.get(i + 2..i + 2 + len)?));
            i += 2 + len;
        }
        let n_pps = usize::from(*extradata.get(i)?);
        i += 1;
        for _ in 0..n_pps {
            let len = usize::from(u16::from_be_bytes([
                *extradata.get(i)?,
                *extradata.get(i + 1)?,
            ]));
            pps.push(Bytes::copy_from_slice(extradata.get(i + 2..i + 2 + len)?));
            i += 2 + len;
        }
    }
    (!sps.is_empty() && !pps.is_empty()).then_some((sps, pps))
}

/// H.264 parameter sets from extradata (avcC or Annex-B).
pub(crate) fn avc_from_extradata(extradata: &[u8]) -> Option<CodecConfig> {
    let (sps, pps) = avc_sets(extradata)?;
    Some(CodecConfig::Avc { sps, pps })
}

/// H.265 parameter sets from extradata: HEVCDecoderConfigurationRecord (ISO/IEC 14496-15
/// §8.3.3.1) or Annex-B.
pub(crate) fn hevc_from_extradata(extradata: &[u8]) -> Option<CodecConfig> {
    let (mut vps, mut sps, mut pps) = (Vec::new(), Vec::new(), Vec::new());
    let mut add = |nal: &[u8]| -> Option<()> {
        match (nal.first()? >> 1) & 0x3f {
            32 => vps.push(Bytes::copy_from_slice(nal)),
            33 => sps.push(Bytes::copy_from_slice(nal)),
            34 => pps.push(Bytes::copy_from_slice(nal)),
            _ => {}
        }
        Some(())
    };
    if is_annexb(extradata) {
        for nal in annexb_nals(extradata) {
            add(nal)?;
        }
    } else {
        // 22 bytes of fixed header, then numOfArrays and the arrays.
        let mut i = 22;
        let arrays = *extradata.get(i)?;
        i += 1;
        for _ in 0..arrays {
            i += 1; // array_completeness, reserved, NAL_unit_type
            let n = usize::from(u16::from_be_bytes([
                *extradata.get(i)?,
                *extradata.get(i + 1)?,
            ]));
            i += 2;
            for _ in 0..n {
                let len = usize::from(u16::from_be_bytes([
                    *extradata.get(i)?,
                    *extradata.get(i + 1)?,
                ]));
                add(extradata.get(i + 2..i + 2 + len)?)?;
                i += 2 + len;
            }
        }
    }
    (!vps.is_empty() && !sps.is_empty() && !pps.is_empty()).then_some(CodecConfig::Hevc {
        vps,
        sps,
        pps,
    })
}

/// AAC AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) from extradata: the encoder's
/// extradata is the ASC itself.
pub(crate) fn aac_from_extradata(extradata: &[u8]) -> Option<CodecConfig> {
    (extradata.len() >= 2).then(|| CodecConfig::Aac {
        audio_specific_config: Bytes::copy_from_slice(extradata),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annexb_round_trip() {
        let au = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5, 6,
        ];
        let lp = annexb_to_length_prefixed(&au);
        assert_eq!(
            lp,
            [0, 0, 0, 3, 0x67, 1, 2, 0, 0, 0, 2, 0x68, 3, 0, 0, 0, 4, 0x65, 4, 5, 6]
        );
        assert_eq!(
            length_prefixed_to_annexb(&lp).unwrap(),
            [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5, 6]
        );
        assert_eq!(length_prefixed_to_annexb(&[0, 0, 0, 9, 1]), None);
    }

    #[test]
    fn avcc_and_annexb_extradata_agree() {
        let annexb = [0, 0, 0, 1, 0x67, 0x64, 0, 0x1f, 0, 0, 0, 1, 0x68, 0xee];
        let avcc = [
            1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 2, 0x68, 0xee,
        ];
        assert_eq!(avc_from_extradata(&annexb), avc_from_extradata(&avcc));
        assert!(avc_from_extradata(&annexb).is_some());
        assert_eq!(avc_from_extradata(&[1, 2]), None);
        assert_eq!(hevc_from_extradata(&[1; 10]), None);
    }
}
