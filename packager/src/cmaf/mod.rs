//! CMAF chunker: the pure, sans-IO core that turns encoded samples into an init segment,
//! parts (moof+mdat CMAF chunks) and segments. No IO, no clock, no locks.
//!
//! Owned by this module: box writing (ftyp/moov/moof/mdat), part and segment cutting,
//! RFC 6381 codec strings.

mod chunker;
mod sample;

pub use chunker::{Chunker, ChunkerConfig, Error, Event, InitSegment, Part, SegmentInfo};
pub use sample::{CodecConfig, EncodedSample, MediaKind, TrackInfo};
