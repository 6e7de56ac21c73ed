//! Part and segment cutting (skeleton: the real implementation replaces this file).

use bytes::Bytes;

use super::sample::{EncodedSample, TrackInfo};

/// Chunker settings, fixed for the life of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkerConfig {
    /// Part target duration in seconds (default 1/3 s). Becomes PART-TARGET.
    pub part_target: f64,
    /// Segment target duration in seconds (default 2 s). Segments close at the first sync
    /// sample at or after it.
    pub segment_target: f64,
    /// MSN of the first segment (non-zero when resuming a stream).
    pub first_msn: u64,
    /// Discontinuity sequence number of the first init (non-zero when resuming).
    pub first_discontinuity: u64,
}

impl Default for ChunkerConfig {
    fn default() -> Self {
        ChunkerConfig { part_target: 1.0 / 3.0, segment_target: 2.0, first_msn: 0, first_discontinuity: 0 }
    }
}

/// Chunker errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A sample was pushed before any track was set.
    #[error("sample pushed before the track (init segment) was set")]
    NoTrack,
}

/// An init segment (ftyp + moov).
#[derive(Debug, Clone)]
pub struct InitSegment {
    /// Identifier: the discontinuity sequence number it starts.
    pub id: u64,
    /// ftyp + moov bytes.
    pub bytes: Bytes,
    /// RFC 6381 codec string, e.g. `avc1.64001f`, `mp4a.40.2`.
    pub codec_string: String,
    /// The track it describes.
    pub track: TrackInfo,
}

/// A completed part.
#[derive(Debug, Clone)]
pub struct Part {
    /// MSN of the parent segment.
    pub msn: u64,
    /// Index of the part within its segment, from 0.
    pub index: u32,
    /// Duration in track ticks (sum of its sample durations).
    pub duration: u64,
    /// Track timescale.
    pub timescale: u32,
    /// True when the part begins with a sync sample (EXT-X-PART INDEPENDENT=YES).
    pub independent: bool,
    /// DTS of the first sample (the tfdt).
    pub first_dts: i64,
    /// Wall clock of the first sample, Unix ms, if known.
    pub wallclock_ms: Option<i64>,
    /// Id of the init segment these bytes need.
    pub init_id: u64,
    /// True for the first part of a segment that follows a discontinuity.
    pub discontinuity: bool,
    /// moof + mdat bytes.
    pub bytes: Bytes,
}

/// A closed segment.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentInfo {
    /// Its MSN.
    pub msn: u64,
    /// Duration in track ticks.
    pub duration: u64,
    /// Track timescale.
    pub timescale: u32,
    /// Number of parts it holds.
    pub parts: u32,
}

/// What the chunker produces, in order.
#[derive(Debug, Clone)]
pub enum Event {
    /// A new init segment (the first, or after a codec change).
    InitReady(InitSegment),
    /// A part is complete.
    PartReady(Part),
    /// A segment is complete; its parts were all announced before.
    SegmentClosed(SegmentInfo),
}

/// The CMAF chunker (skeleton).
#[derive(Debug)]
pub struct Chunker {
    #[allow(dead_code)]
    config: ChunkerConfig,
}

impl Chunker {
    /// A chunker with no track yet.
    pub fn new(config: ChunkerConfig) -> Self {
        Chunker { config }
    }
    /// Sets (or changes) the track; a change starts a discontinuity with a new init segment.
    pub fn set_track(&mut self, _track: TrackInfo) -> Result<(), Error> {
        Ok(())
    }
    /// Pushes one sample.
    pub fn push(&mut self, _sample: EncodedSample) -> Result<(), Error> {
        Err(Error::NoTrack)
    }
    /// Marks a timestamp discontinuity (publisher reconnect): the next sample opens a new segment.
    pub fn discontinuity(&mut self) {}
    /// End of stream: completes the open part and segment.
    pub fn finish(&mut self) -> Result<(), Error> {
        Ok(())
    }
    /// Next event, if any.
    pub fn pull(&mut self) -> Option<Event> {
        None
    }
}
