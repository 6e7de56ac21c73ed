//! CMAF chunker: the pure, sans-IO core that turns encoded samples into an init segment,
//! parts (moof+mdat CMAF chunks) and segments. No IO, no clock, no locks.
//!
//! Owned by this module: box writing (ftyp/moov/moof/mdat), part and segment cutting,
//! RFC 6381 codec strings, NAL/parameter-set helpers for the transcoder, box dumps.

mod boxes;
mod chunker;
mod codec_string;
mod dump;
mod emsg;
mod error;
mod fragment;
mod init;
mod nal;
mod params;
mod sample;

pub use chunker::{
    Chunker, ChunkerConfig, Event, InitSegment, Part, SegmentInfo, TimedCue,
    BACKWARD_DISCONTINUITY_SECS, FORWARD_DISCONTINUITY_SECS,
};
pub use codec_string::codec_string;
pub use dump::dump;
pub use emsg::{id3_txxx, EventMessage, ID3_SCHEME, UNKNOWN_DURATION};
pub use error::Error;
pub use nal::{annexb_nal_units, annexb_to_length_prefixed, is_annexb, length_prefixed_nal_units};
pub use sample::{CodecConfig, EncodedSample, MediaKind, TrackInfo};
