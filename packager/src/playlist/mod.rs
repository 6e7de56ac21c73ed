//! LL-HLS playlists: the pure model, its exact text rendering, and the protocol rules
//! (target/part-target/hold-back/skip math and blocking-reload decisions), each citing
//! draft-pantos-hls-rfc8216bis. No IO, no clock.

mod directive;
mod media;

pub use directive::{decide, Decision, Directive, DirectiveError, Position, Skip};
pub use media::{MediaPlaylist, PartTag, PreloadHint, RenditionReport, Segment};
