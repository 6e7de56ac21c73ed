//! The live state: per stream and rendition, the init segments, a sliding window of segments
//! and parts (memory bounded by the window length), and the newest position on a tokio
//! `watch` channel so that no waiter misses a part.
//!
//! One lock per rendition, never one for the whole stream: each `Rendition` owns its own
//! `Mutex<Window>` and its own `watch::Sender<Position>` (STYLE.md: "no single lock for the
//! whole muxer").

mod disk;
mod projection;
mod rendition;
pub mod sealed;
mod settings;
mod stream;
mod window;

pub use crate::rendition::{RenditionInfo, RenditionKind};
pub use disk::{write_atomic, DiskError, RenditionDir};
pub use rendition::{PartBytes, Rendition, SegmentBytes};
pub use settings::StreamSettings;
pub use stream::{Store, Stream};
pub use window::{PartEntry, SegmentEntry};
