//! The exact text of a media playlist view: part pruning, delta updates (EXT-X-SKIP), the
//! EXT-X-VERSION the features need, and tag order. Pure: the same model and `Skip` always give
//! the same bytes, which is what lets the origin cache rendered views by key.

use std::fmt::Write as _;

use super::directive::Skip;
use super::media::{MediaPlaylist, Segment};
use super::rules;
use super::tags::{
    Discontinuity, DiscontinuitySequence, EndList, ExtInf, ExtM3u, IndependentSegments, Map,
    MediaSequence, Part, PartInf, PlaylistType, PreloadHintPart, ProgramDateTime,
    RenditionReportTag, ServerControl, SkipTag, TargetDuration, Version,
};

/// Float slack (seconds) when comparing accumulated durations against the part horizon and the
/// skip boundary, so that exact multiples (6 × 2.0 s) compare as equal.
const TIME_EPSILON: f64 = 1e-6;

/// What a view of the playlist will contain, decided before any text is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderPlan {
    /// EXT-X-VERSION (§8; policy: never below 6 with LL-HLS tags).
    pub version: u8,
    /// SKIPPED-SEGMENTS of the EXT-X-SKIP tag; 0 when no tag is written.
    pub skipped_segments: u64,
    /// MSN of the first segment written after the skip (or the first at all).
    pub first_listed_msn: Option<u64>,
    /// MSN of the first segment whose EXT-X-PART tags are written.
    pub first_msn_with_parts: Option<u64>,
    /// Whether LL-HLS tags are written (not a VOD playlist).
    pub low_latency: bool,
}

/// Internal layout: the segments that can be written and their timeline.
struct Layout<'a> {
    segments: Vec<&'a Segment>,
    starts: Vec<f64>,
    skipped: usize,
    /// Index (into `segments`) of the first segment whose parts are written.
    parts_from: usize,
    low_latency: bool,
    parts_on: bool,
    version: u8,
    /// The media clock at the end of the playlist (Unix ms), when it has program date-times:
    /// the "time of the request" for the date-range rules of `_HLS_skip=v2`, taken from the
    /// playlist itself so that a view stays the same bytes for as long as its model does.
    end_ms: Option<i64>,
}

/// Length of a segment on the playlist timeline: EXTINF when complete, its parts when open.
fn segment_secs(segment: &Segment) -> f64 {
    if segment.complete {
        segment.duration.max(0.0)
    } else {
        segment.parts.iter().map(|p| p.duration.max(0.0)).sum()
    }
}

impl MediaPlaylist {
    /// The exact text of the view asked for by `skip`, ready to serve.
    ///
    /// - Part pruning (§6.2.2 SHOULD): EXT-X-PART tags only for segments starting within
    ///   3 × target of the end; the open segment always shows its parts.
    /// - Delta update (§6.2.5.1): with `Skip::Yes`/`Skip::V2` on a playlist that is neither
    ///   ended nor VOD, complete segments whose end lies at least CAN-SKIP-UNTIL before the end
    ///   of the last complete segment are replaced by one `EXT-X-SKIP` (§4.4.5.2).
    /// - EXT-X-VERSION per §8 (see [`RenderPlan::version`]).
    /// - Parent segment tags (DISCONTINUITY, MAP, PROGRAM-DATE-TIME) precede its first
    ///   EXT-X-PART (§4.4.4.9); the first written segment always has a MAP in effect when the
    ///   stream has one, and a PROGRAM-DATE-TIME when any segment has one.
    pub fn render(&self, skip: Skip) -> String {
        let layout = self.layout(skip);
        let mut out = String::with_capacity(128 + 160 * layout.segments.len());
        // Writing to a String cannot fail; the results are ignored on purpose.
        let _ = self.write_view(&mut out, &layout, skip);
        out
    }

    /// What [`render`](Self::render) will write for `skip`, without writing it.
    pub fn plan(&self, skip: Skip) -> RenderPlan {
        let layout = self.layout(skip);
        RenderPlan {
            version: layout.version,
            skipped_segments: layout.skipped as u64,
            first_listed_msn: layout.segments.get(layout.skipped).map(|s| s.msn),
            first_msn_with_parts: layout.segments[layout.parts_from.min(layout.segments.len())..]
                .iter()
                .find(|s| layout.parts_on && !s.parts.is_empty())
                .map(|s| s.msn),
            low_latency: layout.low_latency,
        }
    }

    fn layout(&self, skip: Skip) -> Layout<'_> {
        let target = self.target_duration.max(1);
        let vod = self.playlist_type == Some(PlaylistType::Vod);
        let low_latency = !vod;
        let parts_on = low_latency && self.part_target.is_finite() && self.part_target > 0.0;
        let ended = self.ended || vod;
        let last = self.segments.len().saturating_sub(1);
        let segments: Vec<&Segment> = self
            .segments
            .iter()
            .enumerate()
            .filter(|(i, s)| {
                s.complete || (*i == last && !s.parts.is_empty() && !ended && parts_on)
            })
            .map(|(_, s)| s)
            .collect();

        let mut starts = Vec::with_capacity(segments.len());
        let mut ends = Vec::with_capacity(segments.len());
        let mut clock = 0.0;
        for s in &segments {
            starts.push(clock);
            clock += segment_secs(s);
            ends.push(clock);
        }
        let total_end = clock;
        let last_complete_end = segments
            .iter()
            .zip(&ends)
            .rev()
            .find(|(s, _)| s.complete)
            .map_or(0.0, |(_, end)| *end);

        // §6.2.5.1: "A Server MUST ignore the _HLS_skip directive if the Playlist does not contain
        // the CAN-SKIP-UNTIL attribute, or if it contains an EXT-X-ENDLIST tag."
        let skipped = if low_latency && !ended && skip != Skip::No {
            let boundary = rules::can_skip_until(target);
            segments
                .iter()
                .zip(&ends)
                .take_while(|(s, end)| {
                    s.complete && last_complete_end - **end + TIME_EPSILON >= boundary
                })
                .count()
        } else {
            0
        };

        let horizon = rules::part_horizon(target);
        let parts_from = (skipped..segments.len())
            .find(|&i| total_end - starts[i] <= horizon + TIME_EPSILON || !segments[i].complete)
            .unwrap_or(segments.len());

        // §8: floating-point EXTINF → 3; BYTERANGE → 4; EXT-X-MAP (no I-FRAMES-ONLY) → 6;
        // EXT-X-SKIP → 9; EXT-X-SKIP replacing date ranges (v2) → 10.
        let mut version = 3u8;
        let listed = &segments[skipped..];
        if parts_on
            && segments[parts_from..]
                .iter()
                .any(|s| s.parts.iter().any(|p| p.byterange.is_some()))
        {
            version = version.max(4);
        }
        let any_map = self.map_uri.is_some() || segments.iter().any(|s| s.map_uri.is_some());
        if !listed.is_empty() && any_map {
            version = version.max(6);
        }
        // Policy (LLHLS-RULES.md): LL-HLS tags never go out with a version below 6.
        if low_latency {
            version = version.max(6);
        }
        if skipped > 0 {
            version = version.max(if skip == Skip::V2 { 10 } else { 9 });
        }

        let end_ms = (!segments.is_empty())
            .then(|| Self::pdt_of(&segments, &starts, segments.len() - 1))
            .flatten()
            .map(|pdt| pdt + ((total_end - starts[segments.len() - 1]) * 1000.0).round() as i64);
        Layout {
            segments,
            starts,
            skipped,
            parts_from,
            low_latency,
            parts_on,
            version,
            end_ms,
        }
    }

    /// The init in effect for `segments[index]`: its own, else the latest before it, else the
    /// playlist's `map_uri`.
    fn map_in_effect<'a>(&'a self, segments: &[&'a Segment], index: usize) -> Option<&'a str> {
        segments[..=index]
            .iter()
            .rev()
            .find_map(|s| s.map_uri.as_deref())
            .or(self.map_uri.as_deref())
    }

    /// PDT of `segments[index]`: its own, else derived from the nearest segment with one.
    fn pdt_of(segments: &[&Segment], starts: &[f64], index: usize) -> Option<i64> {
        if let Some(pdt) = segments[index].program_date_time_ms {
            return Some(pdt);
        }
        let derive = |j: usize, pdt: i64| {
            let delta_ms = ((starts[index] - starts[j]) * 1000.0).round();
            if delta_ms.is_finite() {
                pdt.checked_add(delta_ms as i64)
            } else {
                None
            }
        };
        let before = (0..index)
            .rev()
            .find_map(|j| segments[j].program_date_time_ms.map(|pdt| (j, pdt)));
        let after = (index + 1..segments.len())
            .find_map(|j| segments[j].program_date_time_ms.map(|pdt| (j, pdt)));
        before.or(after).and_then(|(j, pdt)| derive(j, pdt))
    }

    fn write_view(&self, out: &mut String, layout: &Layout<'_>, skip: Skip) -> std::fmt::Result {
        let target = self.target_duration.max(1);
        writeln!(out, "{ExtM3u}")?;
        writeln!(out, "{}", Version(layout.version))?;
        writeln!(out, "{}", TargetDuration(target))?;
        if layout.low_latency {
            // Policy: CAN-BLOCK-RELOAD=YES always (LLHLS-RULES.md, §6.2.5.2). §4.4.3.8 values
            // from `rules`. Delta updates can skip date ranges (`_HLS_skip=v2`, see below).
            let control = ServerControl {
                can_block_reload: true,
                can_skip_until: Some(rules::can_skip_until(target)),
                can_skip_dateranges: true,
                hold_back: Some(rules::hold_back(target)),
                part_hold_back: layout
                    .parts_on
                    .then(|| rules::part_hold_back(self.part_target)),
            };
            writeln!(out, "{control}")?;
        }
        if layout.parts_on {
            // §4.4.3.7: REQUIRED when the playlist has EXT-X-PART tags.
            writeln!(
                out,
                "{}",
                PartInf {
                    part_target: self.part_target
                }
            )?;
        }
        // §4.4.3.2 / §4.4.3.3: before the first segment (and before any DISCONTINUITY).
        writeln!(out, "{}", MediaSequence(self.media_sequence))?;
        writeln!(
            out,
            "{}",
            DiscontinuitySequence(self.discontinuity_sequence)
        )?;
        if self.independent_segments {
            writeln!(out, "{IndependentSegments}")?;
        }
        if let Some(kind) = self.playlist_type {
            writeln!(out, "{kind}")?;
        }
        // §6.2.5.1: a delta update asked for with `_HLS_skip=v2` "MUST NOT contain
        // EXT-X-DATERANGE tags that were added to the Playlist more than CAN-SKIP-UNTIL seconds
        // before the Playlist request", and lists in RECENTLY-REMOVED-DATERANGES those "removed
        // from the Playlist within CAN-SKIP-UNTIL seconds of the Playlist request".
        let skip_dateranges = layout.skipped > 0 && skip == Skip::V2;
        let since_ms = layout.end_ms.map_or(i64::MIN, |end| {
            end - (rules::can_skip_until(target) * 1000.0).round() as i64
        });
        if layout.skipped > 0 {
            let removed = skip_dateranges.then(|| {
                self.removed_date_ranges
                    .iter()
                    .filter(|(_, at)| *at >= since_ms)
                    .map(|(id, _)| id.clone())
                    .collect()
            });
            let tag = SkipTag {
                skipped_segments: layout.skipped as u64,
                recently_removed_dateranges: removed,
            };
            writeln!(out, "{tag}")?;
        }
        for entry in &self.date_ranges {
            if !skip_dateranges || entry.added_ms >= since_ms {
                writeln!(out, "{}", entry.tag)?;
            }
        }

        let mut current_map: Option<&str> = None;
        for index in layout.skipped..layout.segments.len() {
            let segment = layout.segments[index];
            let first = index == layout.skipped;
            // §4.4.4.9: DISCONTINUITY, MAP, PROGRAM-DATE-TIME of a parent segment come before
            // its first EXT-X-PART.
            if segment.discontinuity {
                writeln!(out, "{Discontinuity}")?;
            }
            let map = if first {
                self.map_in_effect(&layout.segments, index)
            } else {
                segment
                    .map_uri
                    .as_deref()
                    .filter(|uri| Some(*uri) != current_map)
            };
            if let Some(uri) = map {
                writeln!(out, "{}", Map { uri })?;
                current_map = Some(uri);
            }
            let pdt = if first {
                Self::pdt_of(&layout.segments, &layout.starts, index)
            } else {
                segment.program_date_time_ms
            };
            if let Some(ms) = pdt {
                writeln!(out, "{}", ProgramDateTime(ms))?;
            }
            if layout.parts_on && index >= layout.parts_from {
                for part in &segment.parts {
                    let tag = Part {
                        duration: part.duration,
                        uri: &part.uri,
                        independent: part.independent,
                        byterange: part.byterange,
                    };
                    writeln!(out, "{tag}")?;
                }
            }
            if segment.complete {
                if segment.gap {
                    // §4.4.4.7: EXT-X-GAP applies to the next Media Segment.
                    writeln!(out, "#EXT-X-GAP")?;
                }
                writeln!(out, "{}", ExtInf(segment.duration))?;
                writeln!(out, "{}", segment.uri)?;
            }
        }

        let ended = self.ended || self.playlist_type == Some(PlaylistType::Vod);
        if layout.parts_on && !ended {
            // §4.4.5.3: "A Playlist containing an EXT-X-ENDLIST tag MUST NOT contain an
            // EXT-X-PRELOAD-HINT tag."
            if let Some(hint) = &self.preload_hint {
                let tag = PreloadHintPart {
                    uri: &hint.uri,
                    byterange_start: hint.byterange_start,
                };
                writeln!(out, "{tag}")?;
            }
        }
        if layout.low_latency {
            for report in &self.rendition_reports {
                let tag = RenditionReportTag {
                    uri: &report.uri,
                    last_msn: report.last_msn,
                    last_part: report.last_part,
                };
                writeln!(out, "{tag}")?;
            }
        }
        if ended {
            writeln!(out, "{EndList}")?;
        }
        Ok(())
    }
}
