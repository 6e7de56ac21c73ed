//! # origin — the HTTP semantics of llhls
//!
//! Owns routes (`path`), delivery directives and blocking playlist reload (`blocking`, with
//! the pure decisions of `packager::playlist`), held preload-hint
//! parts and byte-range streaming (`server`), rendered-playlist caching (`cache`), CDN cache
//! policy (`headers`), validators (`modified`), byte ranges (`range`), error → status mapping
//! (`error`), `/metrics`, sending sealed segments without a copy (`sendfile`), and cutting
//! clients that stop reading (`stall`).
//!
//! ```text
//! Rendition::apply ─ send_replace(Position) ─► watch ─► blocked requests (blocking::wait_until)
//!                                                        └─► cache.get(key, render) ─► response
//! ```
//!
//! Entry points: [`serve`] on a bound listener, or [`Origin::bind`] for an owned server task.

pub mod blocking;
pub mod cache;
pub mod error;
pub mod headers;
pub mod metrics;
pub mod modified;
pub mod path;
pub mod range;
pub mod sendfile;
pub mod server;
pub mod stall;
pub mod tls;

pub use error::Error;
pub use server::{listen, serve, Body, Origin, OriginOptions};
