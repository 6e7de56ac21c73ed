//! A stream's cues, shared by the origin (posts, lists, ends, the second-screen feed), the
//! ingest thread (binding to frames) and the packaging threads (placement). One std `Mutex`:
//! every operation is a few map updates, never held across an `.await` or any IO.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, watch};

use super::request::{At, ValidCue};
use super::Cue;

/// Sustained cues per second a stream accepts (each is a tag in every playlist).
pub const RATE_PER_SEC: f64 = 20.0;
/// Cues a stream accepts at once before the rate applies.
pub const RATE_BURST: f64 = 40.0;
/// Cues a stream holds at once (waiting, or still in a playlist); more are refused.
const MAX_CUES: usize = 2_000;
/// Ids remembered so that none is reused (§6.2.1: "MUST NOT reuse the ID attribute value").
const REMEMBERED_IDS: usize = 100_000;
/// Second-screen events buffered per subscriber before it is told it lagged.
const EVENT_BUFFER: usize = 1_024;

/// What a post did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// A new cue, with its sequence number and id.
    Created(u32, String),
    /// The same id with the same body was posted before: that cue.
    Existing(u32, String),
}

/// Why a post was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    /// The id exists with a different body.
    #[error("id {0:?} exists with a different body")]
    Conflict(String),
    /// The id was used by a cue that has left the playlists; ids are never reused.
    #[error("id {0:?} was used before; ids are never reused")]
    Reused(String),
    /// More than the rate allows.
    #[error("more than {RATE_PER_SEC} cues per second (burst {RATE_BURST}) on this stream")]
    RateLimited,
    /// Too many cues at once.
    #[error("this stream holds {MAX_CUES} cues; end some first")]
    Full,
}

/// Why a cue cannot be ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndError {
    /// No cue with that id.
    #[error("no cue {0:?}")]
    NotFound(String),
    /// It was posted with a DURATION; an END-DATE would change its range (§4.4.5.1: a tag with
    /// the same ID "cannot change (or lose)" attributes, and END-DATE must equal START-DATE +
    /// DURATION).
    #[error("cue {0:?} has a duration; rfc8216bis-22 §4.4.5.1 forbids ending it early")]
    HasDuration(String),
    /// Already ended.
    #[error("cue {0:?} is already ended")]
    Ended(String),
}

/// A cue as published: bound to its frame and placed in parts.
#[derive(Debug, Clone)]
pub struct Published {
    /// The cue.
    pub cue: Arc<Cue>,
    /// The first placement's MSN and part (the first video rendition's when there is one).
    pub msn: u64,
    /// The part index.
    pub part: u32,
    /// The renditions whose playlists carry it.
    pub renditions: Vec<String>,
}

/// One second-screen event: `cue` when a cue starts, `end` when it is ended early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CueEvent {
    /// `cue` or `end`.
    pub kind: &'static str,
    /// [`Cue::to_json`].
    pub json: String,
}

#[derive(Debug)]
struct Entry {
    fingerprint: String,
    id: String,
    /// The checked post, until it is bound.
    pending: Option<ValidCue>,
    cue: Option<Arc<Cue>>,
    /// (rendition, msn, part), in placement order.
    placed: Vec<(String, u64, u32)>,
    end_requested: bool,
}

#[derive(Debug)]
struct Inner {
    next_seq: u32,
    entries: BTreeMap<u32, Entry>,
    by_id: HashMap<String, u32>,
    used: HashSet<String>,
    used_order: VecDeque<String>,
    /// Cues posted and not yet bound, and cues to end at the next frame (sequence numbers): the
    /// ingest's work per frame is these, not every cue held.
    starts: Vec<u32>,
    ends: Vec<u32>,
    /// Cues bound to frames, in binding order; `log_base` is the index of `log[0]`.
    log: VecDeque<Arc<Cue>>,
    log_base: usize,
    tokens: f64,
    refilled: Option<Instant>,
}

/// A stream's cues.
#[derive(Debug)]
pub struct CueBook {
    inner: Mutex<Inner>,
    /// Starts and ends waiting for a frame: the ingest's check per frame is one load.
    waiting: AtomicUsize,
    /// Cues ever bound (`log_base + log.len()`): a packager with nothing new to read takes no
    /// lock, once per sample.
    bound: AtomicUsize,
    changed: watch::Sender<u64>,
    events: broadcast::Sender<CueEvent>,
    /// Renditions that place every cue (set once by the stream).
    renditions: OnceLock<Vec<String>>,
}

impl Default for CueBook {
    fn default() -> Self {
        CueBook {
            inner: Mutex::new(Inner {
                next_seq: 1,
                entries: BTreeMap::new(),
                by_id: HashMap::new(),
                used: HashSet::new(),
                used_order: VecDeque::new(),
                starts: Vec::new(),
                ends: Vec::new(),
                log: VecDeque::new(),
                log_base: 0,
                tokens: RATE_BURST,
                refilled: None,
            }),
            waiting: AtomicUsize::new(0),
            bound: AtomicUsize::new(0),
            changed: watch::channel(0).0,
            events: broadcast::channel(EVENT_BUFFER).0,
            renditions: OnceLock::new(),
        }
    }
}

impl CueBook {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Plain data left consistent by every operation: a panic elsewhere does not poison it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Names the renditions that carry every cue (once, when the stream is made).
    pub fn set_renditions(&self, names: Vec<String>) {
        let _ = self.renditions.set(names);
    }

    /// Files a checked cue at `now` (for the rate limit); `now_ms` names generated ids.
    pub fn post(&self, v: ValidCue, now: Instant, now_ms: i64) -> Result<Posted, PostError> {
        let mut g = self.lock();
        let fingerprint = v.fingerprint();
        if let Some(id) = &v.id {
            if let Some(seq) = g.by_id.get(id).copied() {
                return if g.entries[&seq].fingerprint == fingerprint {
                    Ok(Posted::Existing(seq, id.clone()))
                } else {
                    Err(PostError::Conflict(id.clone()))
                };
            }
            if g.used.contains(id) {
                return Err(PostError::Reused(id.clone()));
            }
        }
        // Token bucket: RATE_PER_SEC sustained, RATE_BURST at once.
        let elapsed = g
            .refilled
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        g.tokens = (g.tokens + elapsed.as_secs_f64() * RATE_PER_SEC).min(RATE_BURST);
        g.refilled = Some(now);
        if g.tokens < 1.0 {
            return Err(PostError::RateLimited);
        }
        if g.entries.len() >= MAX_CUES {
            return Err(PostError::Full);
        }
        g.tokens -= 1.0;
        let seq = g.next_seq;
        g.next_seq = g.next_seq.wrapping_add(1).max(1);
        let id =
            v.id.clone()
                .unwrap_or_else(|| format!("cue-{now_ms}-{seq}"));
        remember(&mut g, &id);
        g.by_id.insert(id.clone(), seq);
        g.entries.insert(
            seq,
            Entry {
                fingerprint,
                id: id.clone(),
                pending: Some(v),
                cue: None,
                placed: Vec::new(),
                end_requested: false,
            },
        );
        g.starts.push(seq);
        self.waiting.fetch_add(1, Ordering::Release);
        Ok(Posted::Created(seq, id))
    }

    /// Binds every cue due at a frame: the ingest calls this for each video frame before it
    /// goes to the encoders, with the frame's pts (90 kHz) and capture wall clock. Cues posted
    /// "now" bind to the first frame after the post; dated ones to the first frame captured at
    /// or after their date; ends requested by [`CueBook::end`] to the first frame after.
    pub fn bind(&self, pts: i64, wall_ms: i64) {
        if self.waiting.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut g = self.lock();
        let g = &mut *g;
        let mut events = Vec::new();
        let entries = &mut g.entries;
        let mut bound = Vec::new();
        g.starts.retain(|seq| {
            let Some(e) = entries.get_mut(seq) else {
                return false; // gone (expired) before it was bound
            };
            let due = match e.pending.as_ref().map(|v| v.at) {
                Some(At::Now) => true,
                Some(At::Date(ms)) => wall_ms >= ms,
                None => return false,
            };
            if !due {
                return true;
            }
            let Some(v) = e.pending.take() else {
                return false;
            };
            let cue = Arc::new(Cue {
                seq: *seq,
                id: e.id.clone(),
                class: v.class,
                data: v.data,
                duration: v.duration,
                pts,
                start_ms: wall_ms,
                end_ms: OnceLock::new(),
                data_base64: OnceLock::new(),
            });
            events.push(CueEvent {
                kind: "cue",
                json: cue.to_json(),
            });
            bound.push(Arc::clone(&cue));
            e.cue = Some(cue);
            false
        });
        for seq in g.ends.drain(..) {
            if let Some(cue) = g.entries.get(&seq).and_then(|e| e.cue.as_ref()) {
                let _ = cue.end_ms.set(wall_ms.max(cue.start_ms));
                events.push(CueEvent {
                    kind: "end",
                    json: cue.to_json(),
                });
            }
        }
        g.log.extend(bound);
        self.bound
            .store(g.log_base + g.log.len(), Ordering::Release);
        self.waiting.store(g.starts.len(), Ordering::Release);
        if !events.is_empty() {
            self.changed.send_modify(|v| *v += 1);
            for e in events {
                // No subscriber is not an error.
                let _ = self.events.send(e);
            }
        }
    }

    /// Cues bound since `cursor` (a position in the binding log, advanced past what is
    /// returned): each packaging thread keeps its own.
    pub fn bound_since(&self, cursor: &mut usize) -> Vec<Arc<Cue>> {
        if *cursor == self.bound.load(Ordering::Acquire) {
            return Vec::new();
        }
        let g = self.lock();
        let from = (*cursor).max(g.log_base);
        let out: Vec<Arc<Cue>> = g.log.iter().skip(from - g.log_base).cloned().collect();
        *cursor = g.log_base + g.log.len();
        out
    }

    /// The cue with sequence number `seq`, once bound.
    pub fn cue(&self, seq: u32) -> Option<Arc<Cue>> {
        self.lock().entries.get(&seq).and_then(|e| e.cue.clone())
    }

    /// Records that `rendition` published cue `seq` in part `part` of segment `msn`.
    pub fn placed(&self, seq: u32, rendition: &str, msn: u64, part: u32) {
        let mut g = self.lock();
        if let Some(e) = g.entries.get_mut(&seq) {
            if !e.placed.iter().any(|(r, ..)| r == rendition) {
                e.placed.push((rendition.to_owned(), msn, part));
            }
        }
        drop(g);
        self.changed.send_modify(|v| *v += 1);
    }

    /// Cue `seq` as published so far: `None` until it is bound and placed somewhere.
    pub fn published(&self, seq: u32) -> Option<Published> {
        let g = self.lock();
        let e = g.entries.get(&seq)?;
        let cue = e.cue.clone()?;
        let renditions = self.renditions.get().map(Vec::as_slice).unwrap_or(&[]);
        // The first rendition listed is a video rung when the stream has one.
        let first = renditions
            .iter()
            .find_map(|r| e.placed.iter().find(|(p, ..)| p == r))
            .or(e.placed.first())?;
        Some(Published {
            cue,
            msn: first.1,
            part: first.2,
            renditions: e.placed.iter().map(|(r, ..)| r.clone()).collect(),
        })
    }

    /// Waits until cue `seq` is in every rendition (or `limit` passes): what a post answers.
    pub async fn wait_published(&self, seq: u32, limit: Duration) -> Option<Published> {
        let want = self.renditions.get().map_or(1, Vec::len).max(1);
        let mut rx = self.changed.subscribe();
        let all = |b: &CueBook| b.published(seq).filter(|p| p.renditions.len() >= want);
        let wait = async {
            loop {
                if let Some(p) = all(self) {
                    return Some(p);
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        };
        match tokio::time::timeout(limit, wait).await {
            Ok(p) => p,
            Err(_) => self.published(seq),
        }
    }

    /// Every bound cue still held, oldest first.
    pub fn list(&self) -> Vec<Arc<Cue>> {
        self.lock()
            .entries
            .values()
            .filter_map(|e| e.cue.clone())
            .collect()
    }

    /// Ends cue `id` at the next ingested frame (it gets an END-DATE).
    pub fn end(&self, id: &str) -> Result<Arc<Cue>, EndError> {
        let mut g = self.lock();
        let seq = *g
            .by_id
            .get(id)
            .ok_or_else(|| EndError::NotFound(id.to_owned()))?;
        let e = g
            .entries
            .get_mut(&seq)
            .ok_or_else(|| EndError::NotFound(id.to_owned()))?;
        let Some(cue) = e.cue.clone() else {
            return Err(EndError::NotFound(id.to_owned()));
        };
        if cue.duration.is_some() {
            return Err(EndError::HasDuration(id.to_owned()));
        }
        if cue.end_ms.get().is_some() || e.end_requested {
            return Err(EndError::Ended(id.to_owned()));
        }
        e.end_requested = true;
        g.ends.push(seq);
        self.waiting.fetch_add(1, Ordering::Release);
        Ok(cue)
    }

    /// Forgets cues whose range ended before `wall_ms` (the oldest PROGRAM-DATE-TIME any
    /// playlist still lists): they are in no playlist any more. Their ids stay remembered.
    pub fn expire(&self, wall_ms: i64) {
        let mut g = self.lock();
        let gone: Vec<u32> = g
            .entries
            .iter()
            .filter(|(_, e)| {
                e.cue
                    .as_ref()
                    .and_then(|c| c.end())
                    .is_some_and(|end| end < wall_ms)
            })
            .map(|(seq, _)| *seq)
            .collect();
        for seq in gone {
            if let Some(e) = g.entries.remove(&seq) {
                g.by_id.remove(&e.id);
            }
        }
        // The log only has to reach the packagers; keep what a slow one may not have read.
        while g.log.len() > MAX_CUES {
            g.log.pop_front();
            g.log_base += 1;
        }
    }

    /// Takes back cues restored from a disk copy (a restart): they are listed, their ids are
    /// never reused, and new cues number after them.
    pub fn restore(&self, cues: Vec<Arc<Cue>>, placed_in: &str, at: &[super::Placement]) {
        let mut g = self.lock();
        for cue in cues {
            remember(&mut g, &cue.id);
            g.by_id.insert(cue.id.clone(), cue.seq);
            g.next_seq = g.next_seq.max(cue.seq.wrapping_add(1)).max(1);
            let placed = at
                .iter()
                .filter(|(s, ..)| *s == cue.seq)
                .map(|(_, msn, part)| (placed_in.to_owned(), *msn, *part))
                .collect();
            g.entries.insert(
                cue.seq,
                Entry {
                    // What a post of this cue "now" would have been (a dated post's date is
                    // not kept: re-posting it after a restart is a conflict).
                    fingerprint: ValidCue {
                        id: Some(cue.id.clone()),
                        class: cue.class.clone(),
                        data: cue.data.clone(),
                        duration: cue.duration,
                        at: At::Now,
                    }
                    .fingerprint(),
                    id: cue.id.clone(),
                    pending: None,
                    cue: Some(cue),
                    placed,
                    end_requested: false,
                },
            );
        }
    }

    /// The second-screen feed: every start and early end from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CueEvent> {
        self.events.subscribe()
    }
}

fn remember(g: &mut Inner, id: &str) {
    if g.used.insert(id.to_owned()) {
        g.used_order.push_back(id.to_owned());
        if g.used_order.len() > REMEMBERED_IDS {
            if let Some(old) = g.used_order.pop_front() {
                g.used.remove(&old);
            }
        }
    }
}
