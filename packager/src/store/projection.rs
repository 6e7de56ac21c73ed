//! The media playlist model as a pure projection of (settings, window): no lock, no IO, no
//! clock. The rendition takes its lock and calls [`media_playlist`]; tests call it on any window.

use super::settings::StreamSettings;
use super::window::{SegmentEntry, Window};
use crate::playlist::{uri, DateRangeEntry, MediaPlaylist, PartTag, PreloadHint, Segment};

/// Every segment and part of `w`, and the preload hint (rendition reports are the stream's to
/// add: `Stream::media_playlist`).
pub fn media_playlist(s: &StreamSettings, w: &Window) -> MediaPlaylist {
    let epoch = s.epoch;
    let mut segments = Vec::with_capacity(w.segments.len());
    let mut prev_init = None;
    for seg in &w.segments {
        let seg_uri = uri::segment_uri(epoch, seg.msn);
        let mut offset = 0u64;
        let parts = seg
            .parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let len = p.bytes.len() as u64;
                let tag = if s.byterange_parts {
                    PartTag {
                        uri: seg_uri.clone(),
                        duration: p.duration,
                        independent: p.independent,
                        byterange: Some((len, offset)),
                    }
                } else {
                    PartTag {
                        uri: uri::part_uri(epoch, seg.msn, i as u32),
                        duration: p.duration,
                        independent: p.independent,
                        byterange: None,
                    }
                };
                offset += len;
                tag
            })
            .collect();
        // rfc8216bis-22 §3.1.2 / §4.4.4.5: every fMP4 segment needs an EXT-X-MAP in effect;
        // give it on the first listed segment and wherever the init changes.
        let map_uri = (prev_init != Some(seg.init_id)).then(|| uri::init_uri(epoch, seg.init_id));
        prev_init = Some(seg.init_id);
        segments.push(Segment {
            msn: seg.msn,
            uri: seg_uri,
            duration: seg.duration,
            complete: seg.complete,
            discontinuity: seg.discontinuity,
            map_uri,
            program_date_time_ms: seg.wallclock_ms,
            parts,
            gap: seg.gap,
        });
    }
    let preload_hint = if w.ended {
        // rfc8216bis-22 §4.4.5.3: no preload hint in a playlist with EXT-X-ENDLIST.
        None
    } else {
        // §4.4.5.3: the hint names the next part; `Position::next_part` owns that rule.
        // A restart on the wall-clock timeline resumes at the clock's MSN (`first_msn`), past
        // the restored window.
        let (msn, part) = w.newest(s.first_msn).next_part().max((s.first_msn, 0));
        let offset = w.segment(msn).map_or(0, SegmentEntry::len);
        Some(hint(s, msn, part, offset))
    };
    let first = w.segments.front();
    MediaPlaylist {
        target_duration: s.target_duration,
        part_target: s.part_target,
        media_sequence: first.map_or(s.first_msn, |f| f.msn),
        discontinuity_sequence: first.map_or(w.discontinuity_sequence, |f| {
            f.discontinuity_sequence - u64::from(f.discontinuity)
        }),
        segments,
        preload_hint,
        rendition_reports: Vec::new(),
        ended: w.ended,
        independent_segments: true,
        map_uri: w.current_init.map(|id| uri::init_uri(epoch, id)),
        date_ranges: w
            .date_ranges
            .iter()
            .map(|d| DateRangeEntry {
                tag: d.cue.date_range(),
                added_ms: d.added_ms,
            })
            .collect(),
        removed_date_ranges: w.removed_date_ranges.iter().cloned().collect(),
        ..MediaPlaylist::default()
    }
}

fn hint(s: &StreamSettings, msn: u64, part: u32, offset: u64) -> PreloadHint {
    let epoch = s.epoch;
    if s.byterange_parts {
        PreloadHint {
            uri: uri::segment_uri(epoch, msn),
            byterange_start: Some(offset),
        }
    } else {
        PreloadHint {
            uri: uri::part_uri(epoch, msn, part),
            byterange_start: None,
        }
    }
}
