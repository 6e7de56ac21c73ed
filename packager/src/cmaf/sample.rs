//! The chunker's input: encoded samples and the track they belong to.
//! No ffmpeg type crosses into this module; `transcode` converts at its boundary.

use bytes::Bytes;

/// Codec parameters needed to write the sample entry of the init segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecConfig {
    /// H.264/AVC: raw SPS and PPS NAL units (no start codes, no length prefix).
    Avc { sps: Vec<Bytes>, pps: Vec<Bytes> },
    /// H.265/HEVC: raw VPS, SPS and PPS NAL units (no start codes, no length prefix).
    Hevc {
        vps: Vec<Bytes>,
        sps: Vec<Bytes>,
        pps: Vec<Bytes>,
    },
    /// AAC: the AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) bytes.
    Aac { audio_specific_config: Bytes },
    /// Opus: the fields of the `dOps` box (Opus-in-ISOBMFF §4.3.2).
    Opus {
        pre_skip: u16,
        input_sample_rate: u32,
    },
}

/// What kind of media a track carries, with the presentation facts of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// Video with its coded picture size in pixels.
    Video { width: u32, height: u32 },
    /// Audio with its channel count and sample rate in Hz.
    Audio { channels: u16, sample_rate: u32 },
}

/// One track (a CMAF track file holds exactly one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackInfo {
    /// Video or audio, and its size or sample rate.
    pub kind: MediaKind,
    /// Codec and parameter sets.
    pub codec: CodecConfig,
    /// Ticks per second of every timestamp and duration of this track (90 000 for video,
    /// the sample rate for audio, by convention).
    pub timescale: u32,
    /// ISO 639-2/T language code for the `mdhd`, `und` when unknown.
    pub language: String,
}

/// One encoded access unit (video frame or audio frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedSample {
    /// Decode timestamp in track ticks. Must not decrease.
    pub dts: i64,
    /// Presentation timestamp in track ticks (pts - dts becomes the trun composition offset).
    pub pts: i64,
    /// Duration in track ticks (> 0).
    pub duration: u32,
    /// True for a sync sample (IDR for video; every AAC frame).
    pub sync: bool,
    /// Sample bytes. Video: NAL units each prefixed by a 4-byte big-endian length (AVCC/HVCC
    /// layout, as in the `mdat`). Audio: one raw AAC (or Opus) frame, no ADTS header.
    pub data: Bytes,
    /// Wall-clock time of this sample at ingest, in Unix milliseconds, used for
    /// EXT-X-PROGRAM-DATE-TIME (rfc8216bis-22 §4.4.4.6). `None` when unknown.
    pub wallclock_ms: Option<i64>,
    /// True when the producer already holds the next sample of this track, and it is a sync
    /// sample the chunker will accept (a later dts, non-empty): an encoder that holds one packet
    /// to learn each duration knows this. The chunker then closes a segment with its last sample
    /// instead of when the next sync sample arrives, so the preload hint already names the next
    /// segment's first part (rfc8216bis-22 §4.4.5.3). False when unknown; it must never be true
    /// otherwise. Audio tracks ignore it (every audio sample is a sync sample).
    pub next_sync: bool,
}
