//! The transcoder's side of the ffmpeg boundary: which framing a packet uses, and the
//! parameter sets of encoder extradata. The parsing itself is `cmaf`'s (one implementation,
//! tested there against the fixtures); this file only adapts it to the transcoder's errors.

use crate::cmaf::{self, CodecConfig};

/// Splits an Annex-B byte stream into NAL unit payloads without start codes.
pub(crate) fn annexb_nals(data: &[u8]) -> Vec<&[u8]> {
    cmaf::annexb_nal_units(data)
}

/// True when `data` begins with an Annex-B start code.
pub(crate) fn is_annexb(data: &[u8]) -> bool {
    data.starts_with(&[0, 0, 1]) || data.starts_with(&[0, 0, 0, 1])
}

/// Annex-B access unit → NAL units each prefixed by a 4-byte big-endian length.
pub(crate) fn annexb_to_length_prefixed(data: &[u8]) -> Vec<u8> {
    cmaf::annexb_to_length_prefixed(data)
}

#[cfg(test)]
/// Length-prefixed (4-byte) NAL units → Annex-B with 4-byte start codes; `None` when a
/// length runs past the end.
pub(crate) fn length_prefixed_to_annexb(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    for nal in cmaf::length_prefixed_nal_units(data).ok()? {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
    }
    Some(out)
}

/// H.264 parameter sets from an avcC record or Annex-B extradata.
pub(crate) fn avc_from_extradata(extradata: &[u8]) -> Option<CodecConfig> {
    CodecConfig::avc_from_extradata(extradata).ok()
}

/// H.265 parameter sets from an hvcC record or Annex-B extradata.
pub(crate) fn hevc_from_extradata(extradata: &[u8]) -> Option<CodecConfig> {
    CodecConfig::hevc_from_extradata(extradata).ok()
}

/// AAC AudioSpecificConfig from extradata (the encoder's extradata is the ASC itself).
pub(crate) fn aac_from_extradata(extradata: &[u8]) -> Option<CodecConfig> {
    CodecConfig::aac_from_extradata(extradata).ok()
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
