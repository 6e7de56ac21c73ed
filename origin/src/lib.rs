//! # origin — the HTTP semantics of llhls
//!
//! Owns URL shapes (`path`), request dispatch (`routes`: playlists and blocking reload in
//! `routes::playlist`, init/parts/segments with ranges and held parts in `routes::media`), the
//! one wait every blocked request makes (`blocking`, with the pure decisions of
//! `packager::playlist`), the streamed open segment (`open_segment`), the reply model with
//! conditional GET and gzip (`reply`), rendered-playlist caching (`cache`), CDN cache policy
//! (`headers`), validators (`modified`), byte ranges (`range`), error → status mapping
//! (`error`), the pages for people (`pages`), `/metrics`, connections, limits and shutdown
//! (`server`), sending sealed segments without a copy (`sendfile`), cutting clients that stop
//! reading (`stall`), an HTTP client for tests and load tools (`client`), and the cue API for
//! app backends and second screens (`api`).
//!
//! ```text
//! Rendition::apply ─ send_replace(Position) ─► watch ─► blocked requests (blocking::hold)
//!                                                        └─► cache.get(key, render) ─► response
//! ```
//!
//! Entry points: [`serve`] on a bound listener, or [`Origin::bind`] for an owned server task.

#![forbid(unsafe_code)]

pub mod api;
pub mod blocking;
pub mod cache;
pub mod client;
pub mod error;
pub mod headers;
pub mod metrics;
pub mod modified;
mod open_segment;
mod pages;
pub mod path;
pub mod range;
mod reply;
mod routes;
pub mod sendfile;
pub mod server;
pub mod stall;
pub mod tls;

pub use api::ApiToken;
pub use error::Error;
pub use reply::Body;
pub use server::{listen, serve, Origin, OriginOptions};
