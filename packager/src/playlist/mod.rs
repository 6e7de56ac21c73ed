//! LL-HLS playlists: the pure model, its exact text rendering, and the protocol rules
//! (target/part-target/hold-back/skip math and blocking-reload decisions), each citing
//! draft-pantos-hls-rfc8216bis-22. No IO, no clock.
//!
//! - `media` — [`MediaPlaylist`] and its segments, parts, hint and reports (data).
//! - `render` — [`MediaPlaylist::render`]: part pruning, delta updates, version, tag order.
//! - `check` — [`MediaPlaylist::check`]: the model rules the store must keep.
//! - `tags` — one type per tag; `Display` is the exact line.
//! - `rules` — target duration, hold-backs, skip boundary, advance part limit, bandwidth.
//! - `directive` — `_HLS_*` parsing and [`decide`] for blocking reloads.
//! - `multivariant` — [`MultivariantPlaylist`], written with m3u8-rs.
//! - `uri` — the relative URIs of the llhls URL scheme.

mod check;
mod directive;
mod media;
mod multivariant;
mod render;
pub mod rules;
pub mod tags;
pub mod uri;

pub use check::ModelError;
pub use directive::{decide, Decision, Directive, DirectiveError, Position, Skip};
pub use media::{DateRangeEntry, MediaPlaylist, PartTag, PreloadHint, RenditionReport, Segment};
pub use multivariant::{AudioRendition, MultivariantError, MultivariantPlaylist, Variant};
pub use render::RenderPlan;
pub use tags::{DateRange, PlaylistType};
