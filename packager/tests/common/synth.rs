//! Synthetic tracks and sample sequences for table tests, goldens, proptests and benches.
#![allow(dead_code)]

use bytes::Bytes;
use packager::cmaf::{CodecConfig, EncodedSample, MediaKind, TrackInfo};

/// A fixed, small H.264 track (High profile level 3.1, 320x180).
pub fn avc_track(timescale: u32) -> TrackInfo {
    TrackInfo {
        kind: MediaKind::Video {
            width: 320,
            height: 180,
        },
        codec: CodecConfig::Avc {
            sps: vec![Bytes::from_static(&[
                0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0xa0,
            ])],
            pps: vec![Bytes::from_static(&[0x68, 0xeb, 0xe3, 0xcb])],
        },
        timescale,
        language: "und".into(),
    }
}

/// A fixed AAC-LC stereo track at `rate` Hz.
pub fn aac_track(rate: u32) -> TrackInfo {
    let idx: u8 = match rate {
        48000 => 3,
        44100 => 4,
        _ => 3,
    };
    // audioObjectType 2 (5 bits), sampling frequency index (4 bits), channels 2 (4 bits).
    let asc = [(2 << 3) | (idx >> 1), ((idx & 1) << 7) | (2 << 3)];
    TrackInfo {
        kind: MediaKind::Audio {
            channels: 2,
            sample_rate: rate,
        },
        codec: CodecConfig::Aac {
            audio_specific_config: Bytes::copy_from_slice(&asc),
        },
        timescale: rate,
        language: "eng".into(),
    }
}

/// `n` samples with the given per-sample `durations` (cycled), a sync sample every `gop`
/// samples, starting at dts `start`; `size` bytes each (a length-prefixed NAL).
pub fn samples(
    n: usize,
    durations: &[u32],
    gop: usize,
    start: i64,
    size: usize,
) -> Vec<EncodedSample> {
    let mut dts = start;
    (0..n)
        .map(|i| {
            let d = durations[i % durations.len()];
            let mut data = vec![0u8; size.max(5)];
            data[..4].copy_from_slice(&((size.max(5) - 4) as u32).to_be_bytes());
            data[4] = if i % gop == 0 { 0x65 } else { 0x41 };
            let s = EncodedSample {
                dts,
                pts: dts,
                duration: d,
                sync: i % gop == 0,
                data: Bytes::from(data),
                wallclock_ms: Some(1_700_000_000_000 + i as i64),
                next_sync: false,
            };
            dts = dts.wrapping_add(d as i64);
            s
        })
        .collect()
}
