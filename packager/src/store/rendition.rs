//! One rendition's live state: `Mutex<Window>` plus a `watch` channel of its position.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::watch;

use super::disk::{DiskError, RenditionDir};
use super::projection;
use super::settings::StreamSettings;
use super::window::{self, PartEntry, SegmentEntry, Window};
use crate::cmaf::{Event, InitSegment, Part, SegmentInfo};
use crate::cue::{Cue, CueBook, Placement};
use crate::playlist::{rules, MediaPlaylist, Position, RenditionReport};
use crate::rendition::RenditionInfo;

/// A part's bytes (shared, never copied).
#[derive(Debug, Clone)]
pub struct PartBytes {
    /// moof+mdat.
    pub bytes: Bytes,
    /// Wall clock at its end, Unix ms (see [`SegmentEntry::part_end_ms`]).
    pub end_ms: Option<i64>,
}

/// A segment's bytes as a list of chunks (concatenate to get the segment; nothing copied).
#[derive(Debug, Clone)]
pub struct SegmentBytes {
    /// In order: one buffer once the segment is complete (one write to send it), its parts
    /// while it is open ([`SegmentEntry::chunks`]).
    pub chunks: Vec<Bytes>,
    /// False while the segment is still open.
    pub complete: bool,
    /// Once complete: wall clock at its end, Unix ms (see [`SegmentEntry::end_ms`]).
    pub end_ms: Option<i64>,
}

impl SegmentBytes {
    /// Total length in bytes.
    pub fn len(&self) -> u64 {
        self.chunks.iter().map(|b| b.len() as u64).sum()
    }
    /// True when no byte is there yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The live state of one rendition.
#[derive(Debug)]
pub struct Rendition {
    info: RenditionInfo,
    settings: Arc<StreamSettings>,
    // std Mutex, not tokio: it is never held across an `.await` and every critical section is a
    // few pointer moves (mini-redis `db.rs` reasoning), so a blocking lock is cheaper and simpler.
    state: Mutex<Window>,
    position: watch::Sender<Position>,
    disk: Option<RenditionDir>,
    /// Ingest-to-publish lag of the newest part, ms: wall clock when the part was applied minus
    /// the ingest wall clock of its last sample's end (`i64::MIN` until known).
    lag_ms: std::sync::atomic::AtomicI64,
    /// The stream's cues: the parts this rendition publishes carry some.
    cues: Arc<CueBook>,
}

/// What `apply_all` must write to disk once the lock is released.
enum DiskWork {
    Init(u64, Bytes),
    Part(u64, usize, Bytes),
    Segment(SegmentEntry, Result<String, DiskError>, Vec<SegmentEntry>),
}

impl Rendition {
    /// A rendition with an empty window, placing the cues of `cues`.
    pub fn new(info: RenditionInfo, settings: Arc<StreamSettings>, cues: Arc<CueBook>) -> Self {
        let first = Position {
            msn: settings.first_msn,
            advance_part_limit: Some(rules::advance_part_limit(settings.part_target)),
            ..Position::default()
        };
        let (position, _) = watch::channel(first);
        Rendition {
            info,
            settings,
            state: Mutex::new(Window::default()),
            position,
            disk: None,
            lag_ms: std::sync::atomic::AtomicI64::new(i64::MIN),
            cues,
        }
    }

    /// This rendition keeping a copy of everything under `dir`, resuming the window a previous
    /// run of the same epoch left there. The first new segment after a resume is marked as a
    /// discontinuity (rfc8216bis-22 §4.4.4.3: encoder restarted).
    pub fn with_disk(mut self, dir: RenditionDir) -> Result<Self, DiskError> {
        if let Some(mut w) = dir.restore()? {
            if let Some(last) = w.segments.back() {
                let part = Some(last.parts.len().saturating_sub(1) as u32);
                // On the wall-clock timeline the next segment is the clock's, past the ones the
                // restart missed (they become EXT-X-GAP): the hint names it (§4.4.5.3).
                let p = match self.settings.first_msn.checked_sub(1) {
                    Some(before) if before > last.msn => self.at(before, Some(0), true),
                    _ => self.at(last.msn, part, true),
                };
                self.position.send_replace(p);
            }
            w.resume_discontinuity = true;
            self.state = Mutex::new(w);
        }
        self.disk = Some(dir);
        Ok(self)
    }

    /// The cues a restored window holds, and where each was placed (seq, msn, part).
    pub(crate) fn restored_cues(&self) -> (Vec<Arc<Cue>>, Vec<Placement>) {
        let w = self.lock();
        let cues = w.date_ranges.iter().map(|d| Arc::clone(&d.cue)).collect();
        let placed = w
            .date_ranges
            .iter()
            .map(|d| (d.cue.seq, d.msn, d.part))
            .collect();
        (cues, placed)
    }

    /// MSN the chunker must give its first segment: after the restored window, if any.
    pub fn next_msn(&self) -> u64 {
        self.lock()
            .segments
            .back()
            .map_or(self.settings.first_msn, |s| s.msn + 1)
    }

    /// Discontinuity sequence (and init id) the chunker must start at: past every restored one.
    pub fn next_discontinuity(&self) -> u64 {
        let w = self.lock();
        if w.segments.is_empty() && w.current_init.is_none() {
            0
        } else {
            w.discontinuity_sequence.max(w.current_init.unwrap_or(0)) + 1
        }
    }

    /// Static facts.
    pub fn info(&self) -> &RenditionInfo {
        &self.info
    }

    /// Name used in URLs.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// Stream settings shared by all renditions.
    pub fn settings(&self) -> &StreamSettings {
        &self.settings
    }

    fn lock(&self) -> MutexGuard<'_, Window> {
        // A poisoned lock only means another thread panicked mid-update; the window is plain
        // data that each update leaves consistent, so keep serving it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies one chunker event: stores bytes, slides the window, then (after the lock is
    /// dropped) publishes the new position — gohlslib's "broadcast after unlock".
    pub fn apply(&self, event: Event) {
        self.apply_all(std::iter::once(event));
    }

    /// Applies the events of one chunker push together: all under one lock, then one new
    /// position. A part and the close of its segment (the chunker queues both when it knows
    /// the next sample opens the next segment) are never seen apart, so no playlist rendered
    /// between them hints a part after the segment's last (rfc8216bis-22 §4.4.5.3).
    /// No events (most pushes: a part ends every few samples) take no lock.
    pub fn apply_all(&self, events: impl IntoIterator<Item = Event>) {
        let events: Vec<Event> = events.into_iter().collect();
        if events.is_empty() {
            return;
        }
        // A closing segment is copied into its one sealed buffer before the lock is taken: the
        // memfd create, write, seal and map take tens of microseconds that request handlers on
        // tokio's workers must not wait behind. Only this thread adds to the window, so the
        // parts snapshotted here are the parts the close finds.
        let mut sealed = events.iter().find_map(|e| match e {
            Event::SegmentClosed(info) => Some(self.seal_ahead(info.msn, &events)),
            _ => None,
        });
        let mut position = None;
        let mut work = Vec::new();
        {
            let mut w = self.lock();
            for event in events {
                let whole = match &event {
                    Event::SegmentClosed(_) => sealed.take(),
                    _ => None,
                };
                let (p, job) = self.apply_locked(&mut w, event, whole);
                position = p.or(position);
                work.extend(job);
            }
        }
        if let Some(p) = position {
            self.position.send_replace(p);
        }
        for job in work {
            self.write_disk(job);
        }
    }

    /// The bytes of segment `msn` once this batch of `events` closes it, in one buffer: its
    /// parts already in the window, then those the batch adds.
    fn seal_ahead(&self, msn: u64, events: &[Event]) -> Bytes {
        let mut chunks: Vec<Bytes> = {
            let w = self.lock();
            w.segments
                .back()
                .filter(|s| s.msn == msn && !s.complete)
                .map(|s| s.parts.iter().map(|p| p.bytes.clone()).collect())
                .unwrap_or_default()
        };
        chunks.extend(events.iter().filter_map(|e| match e {
            Event::PartReady(p) if p.msn == msn => Some(p.bytes.clone()),
            _ => None,
        }));
        window::join_chunks(&chunks)
    }

    /// One event under the lock: the position it publishes, and its disk copy, if any.
    fn apply_locked(
        &self,
        w: &mut Window,
        event: Event,
        whole: Option<Bytes>,
    ) -> (Option<Position>, Option<DiskWork>) {
        let disk = self.disk.is_some();
        match event {
            Event::InitReady(init) => {
                let work = disk.then(|| DiskWork::Init(init.id, init.bytes.clone()));
                self.apply_init(w, init);
                (None, work)
            }
            Event::PartReady(part) => {
                if let Some(wall) = part.wallclock_ms {
                    let end =
                        wall + (part.duration as i64 * 1000) / i64::from(part.timescale.max(1));
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as i64);
                    self.lag_ms
                        .store(now - end, std::sync::atomic::Ordering::Relaxed);
                }
                let work =
                    disk.then(|| DiskWork::Part(part.msn, part.index as usize, part.bytes.clone()));
                (Some(self.apply_part(w, part)), work)
            }
            Event::SegmentClosed(info) => match self.apply_close(w, info, whole) {
                Some((p, seg, evicted)) => {
                    let work = self
                        .disk
                        .as_ref()
                        .map(|dir| DiskWork::Segment(seg, dir.manifest_text(w), evicted));
                    (Some(p), work)
                }
                None => (None, None),
            },
        }
    }

    /// Writes one event's disk copy (after the lock is dropped).
    fn write_disk(&self, work: DiskWork) {
        let Some(dir) = &self.disk else { return };
        let result = match work {
            DiskWork::Init(id, bytes) => dir.write_init(id, &bytes),
            DiskWork::Part(msn, index, bytes) => dir.write_part(msn, index, &bytes),
            DiskWork::Segment(seg, manifest, evicted) => {
                evicted.iter().for_each(|s| dir.remove_segment(s));
                dir.write_segment(&seg)
                    .and(manifest.and_then(|text| dir.write_manifest(&text)))
            }
        };
        if let Err(e) = result {
            // The in-memory window is the source of truth; a failed disk copy is logged,
            // not fatal, so that viewers keep being served.
            tracing::warn!(rendition = %self.info.name, error = %e, "disk copy failed");
        }
    }

    /// Writes the rendered media playlist to the disk copy, if there is one.
    pub fn write_playlist(&self, text: &str) {
        if let Some(dir) = &self.disk {
            if let Err(e) = dir.write_playlist(text) {
                tracing::warn!(rendition = %self.info.name, error = %e, "disk copy of playlist failed");
            }
        }
    }

    fn apply_init(&self, w: &mut Window, init: InitSegment) {
        w.inits.insert(init.id, init.bytes);
        w.current_init = Some(init.id);
        w.codec_string = Some(init.codec_string);
    }

    fn apply_part(&self, w: &mut Window, part: Part) -> Position {
        let secs = part.duration as f64 / f64::from(part.timescale.max(1));
        let open = w
            .segments
            .back()
            .is_some_and(|s| !s.complete && s.msn == part.msn);
        if !open {
            w.fill_gap(part.msn, part.wallclock_ms, self.settings.window_segments);
            let discontinuity = part.discontinuity || std::mem::take(&mut w.resume_discontinuity);
            if discontinuity {
                w.discontinuity_sequence += 1;
            }
            w.segments.push_back(SegmentEntry {
                msn: part.msn,
                parts: Vec::new(),
                whole: None,
                duration: 0.0,
                complete: false,
                discontinuity,
                discontinuity_sequence: w.discontinuity_sequence,
                init_id: part.init_id,
                wallclock_ms: part.wallclock_ms,
                gap: false,
            });
        }
        // The cues this part carries enter the playlist with it (§6.2.4: the same date ranges
        // in every rendition), stamped with the media clock at the part's end.
        let end_ms = part
            .wallclock_ms
            .map(|w| w + (secs * 1000.0).round() as i64);
        let index = part.index;
        for seq in &part.cues {
            if let Some(cue) = self.cues.cue(*seq) {
                self.cues.placed(*seq, &self.info.name, part.msn, index);
                let added_ms = end_ms.unwrap_or(cue.start_ms);
                w.date_ranges.push(super::window::DateRangeEntry {
                    cue,
                    added_ms,
                    msn: part.msn,
                    part: index,
                });
            }
        }
        let seg = w.segments.back_mut().expect("pushed above");
        seg.parts.push(PartEntry {
            bytes: part.bytes,
            duration: secs,
            independent: part.independent,
        });
        seg.duration += secs;
        self.at(part.msn, Some(part.index), false)
    }

    fn apply_close(
        &self,
        w: &mut Window,
        info: SegmentInfo,
        whole: Option<Bytes>,
    ) -> Option<(Position, SegmentEntry, Vec<SegmentEntry>)> {
        let seg = w.segments.back_mut().filter(|s| s.msn == info.msn)?;
        seg.complete = true;
        match whole {
            Some(whole) if whole.len() as u64 == seg.len() => seg.adopt(whole),
            // Not sealed ahead (a close applied on its own): join here.
            _ => seg.join(),
        }
        seg.duration = info.duration as f64 / f64::from(info.timescale.max(1));
        let last = u32::try_from(seg.parts.len().saturating_sub(1)).unwrap_or(u32::MAX);
        let closed = seg.clone();
        let p = self.at(info.msn, Some(last), true);
        let evicted = w.slide(self.settings.window_segments);
        if !evicted.is_empty() {
            if let Some(first_ms) = w.expire_date_ranges() {
                self.cues.expire(first_ms);
            }
        }
        Some((p, closed, evicted))
    }

    /// Marks the rendition ended (ENDLIST) and wakes every waiter for good.
    pub fn close(&self) {
        self.lock().ended = true;
        self.position.send_modify(|p| {
            p.closed = true;
            p.ended = true;
        });
    }

    /// A live position at (msn, part).
    fn at(&self, msn: u64, part: Option<u32>, complete: bool) -> Position {
        Position {
            msn,
            part,
            complete,
            ..*self.position.borrow()
        }
    }

    /// Ingest-to-publish lag of the newest part in milliseconds (from the wall clock the
    /// transcoder stamped at ingest to the moment the part was published), once known.
    pub fn ingest_lag_ms(&self) -> Option<i64> {
        let v = self.lag_ms.load(std::sync::atomic::Ordering::Relaxed);
        (v != i64::MIN).then_some(v)
    }

    /// A receiver of position updates.
    pub fn subscribe(&self) -> watch::Receiver<Position> {
        self.position.subscribe()
    }

    /// The newest position.
    pub fn position(&self) -> Position {
        *self.position.borrow()
    }

    /// RFC 6381 codec string of the current init segment, once known.
    pub fn codec_string(&self) -> Option<String> {
        self.lock().codec_string.clone()
    }

    /// An init segment by id.
    pub fn init(&self, id: u64) -> Option<Bytes> {
        self.lock().inits.get(&id).cloned()
    }

    /// A part's bytes, and when its last sample was captured: one lookup.
    pub fn part(&self, msn: u64, index: u32) -> Option<PartBytes> {
        let w = self.lock();
        let seg = w.segment(msn).filter(|s| !s.gap)?;
        let p = seg.parts.get(index as usize)?;
        Some(PartBytes {
            bytes: p.bytes.clone(),
            end_ms: seg.part_end_ms(index as usize),
        })
    }

    /// A segment's bytes (its parts), open or complete.
    pub fn segment(&self, msn: u64) -> Option<SegmentBytes> {
        let w = self.lock();
        // §4.4.4.7: a GAP segment has no media to send.
        let s = w.segment(msn).filter(|s| !s.gap)?;
        Some(SegmentBytes {
            chunks: s.chunks(),
            complete: s.complete,
            end_ms: s.end_ms(),
        })
    }

    /// (bytes, seconds) of every complete segment in the window, for bandwidth figures.
    pub fn segment_sizes(&self) -> Vec<(u64, f64)> {
        let w = self.lock();
        w.segments
            .iter()
            .filter(|s| s.complete && !s.gap)
            .map(|s| (s.len(), s.duration))
            .collect()
    }

    /// This rendition's entry in the other renditions' EXT-X-RENDITION-REPORT
    /// (rfc8216bis-22 §4.4.5.4: LAST-MSN/LAST-PART of its last, possibly partial, segment).
    pub fn report(&self, uri: String) -> RenditionReport {
        let p = self.position();
        // A complete `msn` reports its last part; an open one its newest part.
        RenditionReport {
            uri,
            last_msn: p.msn,
            last_part: p.part,
        }
    }

    /// The full media playlist model of the window: every segment, every part, the preload
    /// hint; rendition reports are left to `Stream::media_playlist`.
    pub fn playlist_model(&self) -> MediaPlaylist {
        projection::media_playlist(&self.settings, &self.lock())
    }
}
