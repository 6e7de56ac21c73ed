//! Interactive cues: posted by an app backend, bound to the frame that was live when they were
//! posted, carried in every rendition as EXT-X-DATERANGE (rfc8216bis-22 §4.4.5.1) and, in video,
//! as an `emsg` with an ID3 tag (AOM id3-emsg).
//!
//! - `request` — the posted body, parsed and checked (pure).
//! - [`Cue`] — a cue bound to its frame: its DATERANGE tag, its ID3 payload, its JSON (pure).
//! - `book` — a stream's cues: ids, rate limit, binding at the ingest, placement by the
//!   packagers, publication to waiting posts and to second screens (shared state).
//!
//! How a cue travels: the origin parses a post ([`request::parse`]) and files it in the stream's
//! [`CueBook`]; the ingest thread binds it to the next frame it decodes ([`CueBook::bind`]: that
//! frame's pts and capture wall clock, which is its PROGRAM-DATE-TIME); each packaging thread
//! hands the bound cue to its chunker before that frame's sample ([`CueBook::bound_since`]);
//! the part holding the frame carries it (emsg before its moof in video), and the store adds
//! the DATERANGE to the rendition's window with that part ([`CueBook::placed`]).

mod book;
pub mod request;

use std::sync::OnceLock;

use base64::Engine as _;

pub use book::{
    CueBook, CueEvent, EndError, PostError, Posted, Published, RATE_BURST, RATE_PER_SEC,
};
pub use request::{At, CueError, ValidCue};

use crate::playlist::DateRange;

/// The client attribute that carries a cue's `data` (§4.4.5.1: `X-` prefix; the value a
/// quoted-string, which cannot hold `"` or line feeds, §4.2, hence base64 of the JSON).
pub const DATA_ATTRIBUTE: &str = "X-LLHLS-DATA";
/// The ID3 `TXXX` description of a cue's in-band copy.
pub const ID3_DESCRIPTION: &str = "llhls.cue";
/// Ticks per second of a cue's `pts` (the video timescale).
pub const PTS_TIMESCALE: u32 = 90_000;

/// Where a cue was placed: (sequence number, MSN, part index).
pub type Placement = (u32, u64, u32);

/// A cue bound to its frame.
#[derive(Debug)]
pub struct Cue {
    /// Stream-wide sequence number (the emsg `id`).
    pub seq: u32,
    /// DATERANGE `ID`.
    pub id: String,
    /// DATERANGE `CLASS`.
    pub class: String,
    /// `data` as compact JSON.
    pub data: String,
    /// Seconds, when known at the start.
    pub duration: Option<f64>,
    /// The frame's presentation time in 90 kHz ticks (the video timeline).
    pub pts: i64,
    /// The frame's capture wall clock, Unix ms: its PROGRAM-DATE-TIME and the cue's START-DATE.
    pub start_ms: i64,
    /// Set once, when the cue is ended early (DELETE): the wall clock of the frame then live.
    pub end_ms: OnceLock<i64>,
    /// `data` in base64, made on the first render and kept: every playlist render writes it.
    pub(crate) data_base64: OnceLock<String>,
}

impl Cue {
    /// Its EXT-X-DATERANGE, the same in every rendition (§6.2.4). Attributes never change once
    /// written; END-DATE is only ever added (§4.4.5.1).
    pub fn date_range(&self) -> DateRange {
        DateRange {
            id: self.id.clone(),
            class: Some(self.class.clone()),
            start_ms: self.start_ms,
            end_ms: self.end_ms.get().copied(),
            duration: self.duration,
            client: vec![(
                DATA_ATTRIBUTE.to_owned(),
                self.data_base64
                    .get_or_init(|| base64::engine::general_purpose::STANDARD.encode(&self.data))
                    .clone(),
            )],
        }
    }

    /// The end of its range on the wall clock, when known (END-DATE, or START-DATE + DURATION).
    pub fn end(&self) -> Option<i64> {
        self.end_ms.get().copied().or_else(|| {
            self.duration
                .map(|d| self.start_ms + (d * 1000.0).round() as i64)
        })
    }

    /// Its in-band payload: an ID3v2.4 tag with one TXXX frame ([`ID3_DESCRIPTION`]) whose
    /// value is [`Cue::to_json`].
    pub fn id3(&self) -> Vec<u8> {
        crate::cmaf::id3_txxx(ID3_DESCRIPTION, &self.to_json())
    }

    /// `{"id", "class", "data", "duration", "start_date", "media_time", "pts", "end_date"}`: the
    /// JSON the API answers with and the second-screen feed sends.
    pub fn to_json(&self) -> String {
        let date = |ms: i64| crate::playlist::tags::iso8601_ms(ms);
        let data: serde_json::Value =
            serde_json::from_str(&self.data).unwrap_or(serde_json::Value::Null);
        serde_json::json!({
            "id": self.id,
            "class": self.class,
            "data": data,
            "duration": self.duration,
            "pts": self.pts,
            "media_time": self.pts as f64 / f64::from(PTS_TIMESCALE),
            "start_date": date(self.start_ms),
            "end_date": self.end_ms.get().map(|ms| date(*ms)),
        })
        .to_string()
    }
}
