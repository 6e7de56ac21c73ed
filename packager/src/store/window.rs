//! The sliding window of one rendition: plain data, no lock, no IO.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::cue::Cue;
use crate::playlist::Position;

/// One part held in memory.
#[derive(Debug, Clone)]
pub struct PartEntry {
    /// moof+mdat bytes (shared, never copied).
    pub bytes: Bytes,
    /// Duration in seconds.
    pub duration: f64,
    /// Begins with a sync sample.
    pub independent: bool,
}

/// One segment (complete, or the open one) held in memory.
#[derive(Debug, Clone)]
pub struct SegmentEntry {
    /// Media sequence number.
    pub msn: u64,
    /// Its parts in order; the segment's bytes are their concatenation.
    pub parts: Vec<PartEntry>,
    /// Once complete: the segment's bytes in one buffer, of which each part is then a slice
    /// (see [`SegmentEntry::join`]).
    pub whole: Option<Bytes>,
    /// Duration in seconds (sum of parts while open; the chunker's figure once closed).
    pub duration: f64,
    /// Closed by the chunker.
    pub complete: bool,
    /// Follows a discontinuity.
    pub discontinuity: bool,
    /// Discontinuity sequence number this segment belongs to.
    pub discontinuity_sequence: u64,
    /// Id of the init segment it needs.
    pub init_id: u64,
    /// Wall clock of its first sample, Unix ms.
    pub wallclock_ms: Option<i64>,
    /// A segment with no media (EXT-X-GAP, rfc8216bis-22 §4.4.4.7): its MSN was never produced
    /// here (the origin was down, or the input was), and clients must not load it.
    pub gap: bool,
}

impl SegmentEntry {
    /// Total byte length of its parts.
    pub fn len(&self) -> u64 {
        self.parts.iter().map(|p| p.bytes.len() as u64).sum()
    }

    /// True when it holds no part yet.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Takes `whole`, the concatenation of its parts ([`join_chunks`]), as the segment's one
    /// buffer and makes each part a slice of it, with the same bytes. Done once, when the
    /// segment closes, so that a segment GET is one buffer handed to one write instead of a
    /// write per part; the parts' own buffers are freed when the last reader lets go of them,
    /// so the window still holds each byte once. `whole` must be as long as the parts.
    pub fn adopt(&mut self, whole: Bytes) {
        debug_assert_eq!(whole.len() as u64, self.len());
        let mut at = 0;
        for p in &mut self.parts {
            let n = p.bytes.len();
            p.bytes = whole.slice(at..at + n);
            at += n;
        }
        self.whole = Some(whole);
    }

    /// Joins the parts into one buffer here ([`join_chunks`], then [`SegmentEntry::adopt`]).
    pub fn join(&mut self) {
        let whole = join_chunks(&self.chunks());
        self.adopt(whole);
    }

    /// Wall clock at the end of part `index`, Unix ms: the instant its last sample was
    /// captured, from which on the part exists (its Last-Modified).
    pub fn part_end_ms(&self, index: usize) -> Option<i64> {
        let parts = self.parts.get(..=index)?;
        let secs: f64 = parts.iter().map(|p| p.duration).sum();
        Some(self.wallclock_ms? + (secs * 1000.0).round() as i64)
    }

    /// Wall clock at the end of the segment once it is complete, Unix ms.
    pub fn end_ms(&self) -> Option<i64> {
        if !self.complete {
            return None;
        }
        Some(self.wallclock_ms? + (self.duration * 1000.0).round() as i64)
    }

    /// The segment's bytes in order: its one buffer once joined, else its parts.
    pub fn chunks(&self) -> Vec<Bytes> {
        match &self.whole {
            Some(whole) => vec![whole.clone()],
            None => self.parts.iter().map(|p| p.bytes.clone()).collect(),
        }
    }
}

/// `chunks` in one buffer: sealed shared memory where the system has it ([`super::sealed`]),
/// so that the origin can send it without copying; else heap memory.
pub fn join_chunks(chunks: &[Bytes]) -> Bytes {
    let slices: Vec<&[u8]> = chunks.iter().map(|c| &c[..]).collect();
    super::sealed::seal(&slices).unwrap_or_else(|_| {
        let mut whole = BytesMut::with_capacity(slices.iter().map(|c| c.len()).sum());
        slices.iter().for_each(|c| whole.extend_from_slice(c));
        whole.freeze()
    })
}

/// Segments of one rendition, oldest first, plus the init segments they refer to.
#[derive(Debug, Default, Clone)]
pub struct Window {
    /// Complete segments and, last, the open one.
    pub segments: VecDeque<SegmentEntry>,
    /// Init segments by id, pruned with the segments that use them.
    pub inits: BTreeMap<u64, Bytes>,
    /// Id of the newest init segment.
    pub current_init: Option<u64>,
    /// Current discontinuity sequence number.
    pub discontinuity_sequence: u64,
    /// The stream has ended.
    pub ended: bool,
    /// RFC 6381 codec string of the newest init segment.
    pub codec_string: Option<String>,
    /// Restored from disk: the next new segment starts a discontinuity.
    pub resume_discontinuity: bool,
    /// The cues in the playlist (EXT-X-DATERANGE), in the order their parts came.
    pub date_ranges: Vec<DateRangeEntry>,
    /// Ids of cues that left the playlist, with the media clock then (Unix ms), newest last.
    pub removed_date_ranges: VecDeque<(String, i64)>,
}

/// A cue in a rendition's playlist.
#[derive(Debug, Clone)]
pub struct DateRangeEntry {
    /// The cue.
    pub cue: Arc<Cue>,
    /// The media clock at the end of the part that brought it (Unix ms).
    pub added_ms: i64,
    /// That part's segment.
    pub msn: u64,
    /// That part's index.
    pub part: u32,
}

/// Removed cue ids kept for `_HLS_skip=v2` answers (those removed within the skip boundary
/// are listed, §6.2.5.1); a bound on memory, far above what a skip boundary can hold.
const REMOVED_KEPT: usize = 4_096;

impl Window {
    /// The newest point of the window as a [`Position`]: its last segment, with its newest part
    /// and whether it is complete, or `first_msn` before any part.
    pub fn newest(&self, first_msn: u64) -> Position {
        match self.segments.back() {
            Some(last) => Position {
                msn: last.msn,
                part: Some(u32::try_from(last.parts.len().saturating_sub(1)).unwrap_or(u32::MAX)),
                complete: last.complete,
                ..Position::default()
            },
            None => Position {
                msn: first_msn,
                ..Position::default()
            },
        }
    }

    /// §6.2.1: "The server MUST NOT remove an EXT-X-DATERANGE tag from a Playlist if any date
    /// in the range maps to a Media Segment in the Playlist". Removes the cues whose range ended
    /// before the first segment's PROGRAM-DATE-TIME (cues of unknown end stay), noting each as
    /// removed at the newest part's end. Returns that first PROGRAM-DATE-TIME.
    pub fn expire_date_ranges(&mut self) -> Option<i64> {
        let first_ms = self.segments.front()?.wallclock_ms?;
        let now_ms = self
            .segments
            .back()
            .and_then(|s| {
                s.wallclock_ms
                    .map(|w| w + (s.duration * 1000.0).round() as i64)
            })
            .unwrap_or(first_ms);
        let removed = &mut self.removed_date_ranges;
        self.date_ranges.retain(|d| {
            let keep = d.cue.end().is_none_or(|end| end >= first_ms);
            if !keep {
                removed.push_back((d.cue.id.clone(), now_ms));
            }
            keep
        });
        while removed.len() > REMOVED_KEPT {
            removed.pop_front();
        }
        Some(first_ms)
    }

    /// Before a segment `msn` that does not follow the last one (numbering comes from the clock:
    /// a restart, or an input that was down), lists the missing MSNs as EXT-X-GAP segments
    /// (rfc8216bis-22 §4.4.4.7), each lasting its share of the time between, so that MSNs stay
    /// consecutive (§4.4.3.2) and dates keep mapping to media. More missing segments than the
    /// window holds replace the window. `start_ms` is the new segment's PROGRAM-DATE-TIME.
    pub fn fill_gap(&mut self, msn: u64, start_ms: Option<i64>, keep: usize) {
        let Some(last) = self.segments.back() else {
            return;
        };
        if msn <= last.msn + 1 || !last.complete {
            return;
        }
        let missing = msn - last.msn - 1;
        let last_end = last
            .wallclock_ms
            .map(|w| w + (last.duration * 1000.0).round() as i64);
        let each_secs = match (last_end, start_ms) {
            (Some(a), Some(b)) if b > a => (b - a) as f64 / 1000.0 / missing as f64,
            _ => last.duration,
        };
        let (init_id, seq) = (last.init_id, self.discontinuity_sequence);
        let first = if missing > keep as u64 {
            // Everything listed now would slide out behind the gap: start over with it.
            self.segments.clear();
            msn - keep.max(1) as u64
        } else {
            last.msn + 1
        };
        for m in first..msn {
            // Counted back from the new segment's date (or on from the last one's end).
            let before_ms = ((msn - m) as f64 * each_secs * 1000.0).round() as i64;
            let at = start_ms.map(|s| s - before_ms).or_else(|| {
                last_end.map(|e| e + ((m - first) as f64 * each_secs * 1000.0).round() as i64)
            });
            self.segments.push_back(SegmentEntry {
                msn: m,
                parts: Vec::new(),
                whole: None,
                duration: each_secs,
                complete: true,
                discontinuity: false,
                discontinuity_sequence: seq,
                init_id,
                wallclock_ms: at,
                gap: true,
            });
        }
    }

    /// Looks up a segment by MSN.
    pub fn segment(&self, msn: u64) -> Option<&SegmentEntry> {
        let first = self.segments.front()?.msn;
        let idx = msn.checked_sub(first)?;
        self.segments.get(usize::try_from(idx).ok()?)
    }

    /// rfc8216bis-22 §6.2.2: a segment must not leave the playlist while the playlist would then
    /// last less than three target durations; the config's minimum window (4 segments of at
    /// most one target duration each, plus the open one) keeps that true.
    ///
    /// Drops complete segments from the front until at most `keep` complete ones remain,
    /// and init segments no remaining segment uses (except the newest).
    /// Returns the segments dropped.
    pub fn slide(&mut self, keep: usize) -> Vec<SegmentEntry> {
        let complete = self.segments.iter().filter(|s| s.complete).count();
        let mut evicted = Vec::new();
        for _ in keep..complete {
            evicted.extend(self.segments.pop_front());
        }
        let oldest_init = self
            .segments
            .front()
            .map(|s| s.init_id)
            .or(self.current_init);
        if let Some(oldest) = oldest_init {
            self.inits.retain(|id, _| *id >= oldest);
        }
        evicted
    }
}
