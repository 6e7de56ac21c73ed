//! The chunker's error type. Every variant says what was wrong and where (dts, codec, field),
//! so that the bad sample can be found in the input.

/// Errors from the chunker and the parameter-set helpers. Bad input never panics: it ends up
/// here and the offending sample is dropped (the chunker's state is unchanged).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A sample was pushed before any track was set.
    #[error("sample pushed before the track (init segment) was set")]
    NoTrack,
    /// A sample with no bytes (ISO/IEC 14496-12 §8.8.8: a sample has a size; an empty access unit is no sample).
    #[error("empty sample at dts {dts}")]
    EmptySample {
        /// Its dts in track ticks.
        dts: i64,
    },
    /// A sample lasting zero ticks: it would collapse the fragment timeline.
    #[error("sample at dts {dts} has zero duration")]
    ZeroDuration {
        /// Its dts in track ticks.
        dts: i64,
    },
    /// The dts went backwards (or stood still) by less than a discontinuity's worth.
    #[error("dts {dts} does not increase (previous sample dts {previous})")]
    DtsNotIncreasing {
        /// The offending dts.
        dts: i64,
        /// The dts of the last accepted sample.
        previous: i64,
    },
    /// A segment (the first, or the first after a discontinuity) must begin with a sync sample
    /// (draft-pantos-hls-rfc8216bis-22 §3: each segment must be decodable from its start given its init).
    #[error("segment must start with a sync sample, got non-sync sample at dts {dts}")]
    NotSyncAtSegmentStart {
        /// Its dts in track ticks.
        dts: i64,
    },
    /// pts - dts does not fit the trun's signed 32-bit composition offset (ISO/IEC 14496-12 §8.8.8).
    #[error("composition offset pts {pts} - dts {dts} does not fit in 32 bits")]
    CompositionOffsetOverflow {
        /// Sample dts.
        dts: i64,
        /// Sample pts.
        pts: i64,
    },
    /// A dts so close to the i64 limits that shifting it onto the tfdt timeline overflows.
    #[error("dts {dts} overflows the fragment timeline")]
    TimestampOverflow {
        /// Sample dts.
        dts: i64,
    },
    /// A sample larger than a trun sample_size (u32) can describe.
    #[error("sample at dts {dts} is {size} bytes, too large for a trun entry")]
    SampleTooLarge {
        /// Sample dts.
        dts: i64,
        /// Its size in bytes.
        size: usize,
    },
    /// The codec config lacks a parameter set the sample entry needs.
    #[error("{codec} config has no {what}")]
    MissingParameterSets {
        /// `avc`, `hevc`, `aac`.
        codec: &'static str,
        /// Which set is missing (`sps`, `pps`, `vps`, `audio specific config`).
        what: &'static str,
    },
    /// Codec extradata (avcC/hvcC record, Annex-B parameter sets, AudioSpecificConfig) is malformed.
    #[error("bad {codec} extradata: {reason}")]
    BadExtradata {
        /// `avc`, `hevc`, `aac`.
        codec: &'static str,
        /// What is wrong, with the byte offset when known.
        reason: String,
    },
    /// A length-prefixed sample whose NAL lengths overrun it.
    #[error("NAL unit length {length} at offset {offset} overruns the {size}-byte sample")]
    BadNalLength {
        /// The declared length.
        length: usize,
        /// Where the length prefix sits.
        offset: usize,
        /// Sample size.
        size: usize,
    },
    /// The chunker settings or track are unusable (non-positive targets, zero timescale, ...).
    #[error("invalid chunker setting: {0}")]
    InvalidConfig(String),
}
