//! A CMAF chunk: `moof` + `mdat` for one track (ISO/IEC 23000-19 §7.3.2.3,
//! ISO/IEC 14496-12 §8.8). Addressing is movie-fragment relative and every `traf` has a
//! `tfdt` (draft-pantos-hls-rfc8216bis-22 §3.1.2).

use bytes::Bytes;

use super::boxes::BoxWriter;
use super::init::TRACK_ID;

/// One sample as the fragment writer sees it.
#[derive(Debug, Clone)]
pub(crate) struct FragSample {
    /// Duration in track ticks.
    pub duration: u32,
    /// True for a sync sample.
    pub sync: bool,
    /// pts - dts.
    pub composition_offset: i32,
    /// Sample bytes for the mdat.
    pub data: Bytes,
}

/// tfhd flag: default-base-is-moof (ISO/IEC 14496-12 §8.8.7.1); CMAF requires it (ISO/IEC 23000-19 §7.5.16).
const TFHD_DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;
/// trun flags (ISO/IEC 14496-12 §8.8.8.1): data-offset, then per-sample duration, size, flags,
/// composition time offset.
const TRUN_FLAGS: u32 = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800;
/// sample_flags of a sync sample: sample_depends_on = 2 (depends on no other sample).
const FLAGS_SYNC: u32 = 0x0200_0000;
/// sample_flags of a non-sync sample: sample_depends_on = 1, sample_is_non_sync_sample = 1.
const FLAGS_NON_SYNC: u32 = 0x0101_0000;

/// moof size for `n` samples: mfhd 16 + traf header 8 + tfhd 16 + tfdt 20 + trun 20 + 16 per sample.
fn moof_size(n: usize) -> usize {
    8 + 16 + 8 + 16 + 20 + 20 + 16 * n
}

/// Writes moof + mdat. `sequence` is the mfhd sequence_number (increasing, ISO/IEC 14496-12
/// §8.8.5); `base_dts` is the tfdt baseMediaDecodeTime.
pub(crate) fn write_fragment(sequence: u32, base_dts: u64, samples: &[FragSample]) -> Bytes {
    let payload: usize = samples.iter().map(|s| s.data.len()).sum();
    let moof_len = moof_size(samples.len());
    let mut w = BoxWriter::with_capacity(moof_len + 8 + payload);
    w.boxed(b"moof", |w| {
        w.full(b"mfhd", 0, 0, |w| {
            w.u32(sequence);
        });
        w.boxed(b"traf", |w| {
            w.full(b"tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF, |w| {
                w.u32(TRACK_ID);
            });
            // Version 1: 64-bit baseMediaDecodeTime (ISO/IEC 14496-12 §8.8.12).
            w.full(b"tfdt", 1, 0, |w| {
                w.u64(base_dts);
            });
            // Version 1: signed composition offsets (ISO/IEC 14496-12 §8.8.8), as CMAF
            // recommends (ISO/IEC 23000-19 §7.5.17).
            w.full(b"trun", 1, TRUN_FLAGS, |w| {
                // data_offset from the moof start to the first mdat payload byte.
                w.u32(samples.len() as u32).i32((moof_len + 8) as i32);
                for s in samples {
                    w.u32(s.duration).u32(s.data.len() as u32);
                    w.u32(if s.sync { FLAGS_SYNC } else { FLAGS_NON_SYNC })
                        .i32(s.composition_offset);
                }
            });
        });
    });
    debug_assert_eq!(w.len(), moof_len);
    w.u32((8 + payload) as u32).bytes(b"mdat");
    let mut out = w.into_inner();
    for s in samples {
        out.extend_from_slice(&s.data);
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_offset_points_at_mdat_payload() {
        let samples = vec![
            FragSample {
                duration: 3000,
                sync: true,
                composition_offset: 0,
                data: Bytes::from_static(b"abc"),
            },
            FragSample {
                duration: 3000,
                sync: false,
                composition_offset: -3000,
                data: Bytes::from_static(b"de"),
            },
        ];
        let b = write_fragment(7, 1 << 40, &samples);
        let moof = u32::from_be_bytes(b[0..4].try_into().unwrap()) as usize;
        assert_eq!(moof, moof_size(2));
        assert_eq!(&b[moof + 4..moof + 8], b"mdat");
        assert_eq!(&b[moof + 8..], b"abcde");
        assert_eq!(b.len(), moof + 8 + 5);
    }
}
