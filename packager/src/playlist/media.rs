//! The media playlist model (skeleton: the real implementation replaces this file).

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
    /// EXT-X-ENDLIST.
    pub ended: bool,
}

/// One media segment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Segment {
    /// Media sequence number.
    pub msn: u64,
    /// Segment URI (relative).
    pub uri: String,
    /// Duration in seconds (EXTINF).
    pub duration: f64,
    /// False for the open segment still receiving parts.
    pub complete: bool,
    /// EXT-X-DISCONTINUITY before this segment.
    pub discontinuity: bool,
    /// EXT-X-MAP URI, when this segment needs a different init from the one before.
    pub map_uri: Option<String>,
    /// EXT-X-PROGRAM-DATE-TIME, Unix ms.
    pub program_date_time_ms: Option<i64>,
    /// EXT-X-PART tags of this segment.
    pub parts: Vec<PartTag>,
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
