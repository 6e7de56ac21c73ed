//! The media playlist model: everything a live (or ended, or VOD) media playlist holds, as the
//! store builds it. Text rendering lives in `render.rs`; this file is data only.
//!
//! Contract: the store builds a FULL playlist — every segment of the window in order, every part
//! of every segment, the open segment (parts only, `complete == false`) last, the preload hint
//! and the rendition reports. The renderer decides what the text shows (part pruning, delta
//! updates, version).

use super::tags::{DateRange, PlaylistType};

/// A media playlist, as it is about to be rendered.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MediaPlaylist {
    /// EXT-X-TARGETDURATION, whole seconds.
    pub target_duration: u64,
    /// EXT-X-PART-INF PART-TARGET, seconds.
    pub part_target: f64,
    /// EXT-X-MEDIA-SEQUENCE: MSN of the first segment listed (or skipped).
    pub media_sequence: u64,
    /// EXT-X-DISCONTINUITY-SEQUENCE.
    pub discontinuity_sequence: u64,
    /// Segments in order; the last may be open (parts only, `complete == false`).
    pub segments: Vec<Segment>,
    /// EXT-X-PRELOAD-HINT for the next part.
    pub preload_hint: Option<PreloadHint>,
    /// EXT-X-RENDITION-REPORT for each other rendition.
    pub rendition_reports: Vec<RenditionReport>,
    /// EXT-X-ENDLIST. An ended playlist has no preload hint and no open segment (§4.4.5.3).
    pub ended: bool,
    /// EXT-X-PLAYLIST-TYPE; `None` for a live playlist (§6.2.2). `Vod` also writes EXT-X-ENDLIST
    /// and drops the LL-HLS tags (SERVER-CONTROL, PART-INF, parts, hint, reports).
    pub playlist_type: Option<PlaylistType>,
    /// EXT-X-INDEPENDENT-SEGMENTS (§4.4.2.1).
    pub independent_segments: bool,
    /// URI of the init segment in effect before the first segment, for a window whose first
    /// segment has no `map_uri` of its own (its init was announced by a segment that slid out).
    /// The renderer always writes an EXT-X-MAP before the first segment it lists (§3.1.2: every
    /// fMP4 segment has one), also after an EXT-X-SKIP.
    pub map_uri: Option<String>,
    /// EXT-X-DATERANGE tags in the playlist (§4.4.5.1), oldest first. The store keeps one while
    /// any of its range maps to a segment in the playlist (§6.2.1).
    pub date_ranges: Vec<DateRangeEntry>,
    /// Date ranges removed from the playlist, with when (on the media clock, Unix ms): a delta
    /// update that skips date ranges lists those removed within the skip boundary (§6.2.5.1).
    pub removed_date_ranges: Vec<(String, i64)>,
}

/// One EXT-X-DATERANGE and when it entered the playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct DateRangeEntry {
    /// The tag.
    pub tag: DateRange,
    /// When it was added, on the media clock (the program date-time at the end of the part it
    /// arrived with), Unix ms. `_HLS_skip=v2` leaves out tags added more than the skip boundary
    /// before the playlist's end (§6.2.5.1).
    pub added_ms: i64,
}

/// One media segment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Segment {
    /// Media sequence number.
    pub msn: u64,
    /// Segment URI (relative).
    pub uri: String,
    /// Duration in seconds (EXTINF). Ignored for the open segment, whose length is its parts'.
    pub duration: f64,
    /// False for the open segment still receiving parts. Only the last segment may be open; an
    /// open segment elsewhere, an open segment without parts and an open segment of an ended
    /// playlist are not written.
    pub complete: bool,
    /// EXT-X-DISCONTINUITY before this segment.
    pub discontinuity: bool,
    /// EXT-X-MAP URI, when this segment needs a different init from the one before. Setting it
    /// on every segment is allowed too: the renderer writes a MAP only where the init changes.
    pub map_uri: Option<String>,
    /// EXT-X-PROGRAM-DATE-TIME, Unix ms. Written for every segment that has it; the first listed
    /// segment always gets one (derived from an earlier segment's PDT and the durations when it
    /// has none), so that every view carries PDT (Appendix B.1).
    pub program_date_time_ms: Option<i64>,
    /// EXT-X-PART tags of this segment.
    pub parts: Vec<PartTag>,
    /// EXT-X-GAP (§4.4.4.7): the segment has no media; clients must not load it.
    pub gap: bool,
}

/// One EXT-X-PART.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PartTag {
    /// URI (relative).
    pub uri: String,
    /// DURATION, seconds.
    pub duration: f64,
    /// INDEPENDENT=YES.
    pub independent: bool,
    /// BYTERANGE as (length, offset) within `uri`.
    pub byterange: Option<(u64, u64)>,
}

/// EXT-X-PRELOAD-HINT TYPE=PART.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PreloadHint {
    /// URI (relative).
    pub uri: String,
    /// BYTERANGE-START.
    pub byterange_start: Option<u64>,
}

/// EXT-X-RENDITION-REPORT.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RenditionReport {
    /// URI of the other rendition's media playlist (relative).
    pub uri: String,
    /// LAST-MSN.
    pub last_msn: u64,
    /// LAST-PART.
    pub last_part: Option<u32>,
}
