//! # packager — everything between an input and the bytes the origin serves
//!
//! ```text
//!  input (file loop, test pattern, RTMP/SRT/UDP)          transcode/  (IO shell, std threads, ffmpeg-next)
//!    └─ decode once ─ scale ─ encode per rung ─► EncodedSample + TrackInfo
//!                                                    │ bounded mpsc per rendition
//!                                                    ▼
//!                                   cmaf::Chunker  (pure core: push samples, pull events)
//!                                     InitReady | PartReady | SegmentClosed
//!                                                    ▼
//!                                   store::Rendition (Mutex<Window> + watch<Position>, optional disk)
//!                                                    ▼
//!                                   playlist::MediaPlaylist / MultivariantPlaylist (pure render)
//! ```
//!
//! Glossary: *MSN* media sequence number of a segment (rfc8216bis-22 §4.4.3.2); *part* a CMAF chunk
//! listed by EXT-X-PART (§4.4.4.9); *rendition* one track file (one video rung, or the audio);
//! *epoch* the stream's start stamp, carried in every media URL so that a CDN never confuses runs.

#![deny(clippy::undocumented_unsafe_blocks)]

pub mod clock;
pub mod cmaf;
pub mod config;
pub mod counters;
pub mod cue;
pub mod grid;
pub mod live;
pub mod playlist;
pub mod rendition;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod transcode;
