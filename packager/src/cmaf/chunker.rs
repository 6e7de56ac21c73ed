//! Part and segment cutting: the state machine that turns samples into CMAF chunks (parts)
//! and groups them into segments, announcing each as an [`Event`].

use std::collections::VecDeque;

use bytes::Bytes;

use super::codec_string::codec_string;
pub use super::error::Error;
use super::fragment::{write_fragment, FragSample};
use super::init::write_init;
use super::sample::{EncodedSample, MediaKind, TrackInfo};
use crate::grid::SegmentGrid;

/// A backwards dts jump of at least this many seconds is a timestamp discontinuity (publisher
/// restart); a smaller one is an error ([`Error::DtsNotIncreasing`]).
pub const BACKWARD_DISCONTINUITY_SECS: f64 = 1.0;
/// A forward dts jump of more than this many seconds is a timestamp discontinuity.
pub const FORWARD_DISCONTINUITY_SECS: f64 = 5.0;

/// Chunker settings, fixed for the life of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkerConfig {
    /// Part target duration in seconds (default 1/3 s). Becomes PART-TARGET.
    pub part_target: f64,
    /// Segment target duration in seconds (default 2 s). Segments close at the first sync
    /// sample at or after it.
    pub segment_target: f64,
    /// MSN of the first segment (non-zero when resuming a stream).
    pub first_msn: u64,
    /// Discontinuity sequence number of the first init (non-zero when resuming).
    pub first_discontinuity: u64,
    /// Timestamps are on a wall-clock timeline (tick 0 = the Unix epoch): the segment grid
    /// passes through tick 0 and never moves, and a segment's MSN is the index of the grid
    /// interval it starts in (`floor(t / segment_target)`), at least one past the previous
    /// segment's. Two chunkers fed the same timeline number the same media alike, whenever
    /// they started. `first_msn` is then only a floor.
    pub clock_grid: bool,
}

impl Default for ChunkerConfig {
    fn default() -> Self {
        ChunkerConfig {
            part_target: 1.0 / 3.0,
            segment_target: 2.0,
            first_msn: 0,
            first_discontinuity: 0,
            clock_grid: false,
        }
    }
}

impl ChunkerConfig {
    /// The part target in track ticks: `round(part_target * timescale)`. Every part lasts at
    /// most this (draft-pantos-hls-rfc8216bis-22 §4.4.4.9).
    pub fn part_target_ticks(&self, timescale: u32) -> u64 {
        (self.part_target * timescale as f64).round() as u64
    }

    /// The segment target in track ticks: `round(segment_target * timescale)`.
    pub fn segment_target_ticks(&self, timescale: u32) -> u64 {
        (self.segment_target * timescale as f64).round() as u64
    }

    fn validate(&self, timescale: u32) -> Result<(), Error> {
        if !(self.part_target.is_finite() && self.part_target > 0.0) {
            return Err(Error::InvalidConfig(format!(
                "part_target {} must be a positive number of seconds",
                self.part_target
            )));
        }
        if !(self.segment_target.is_finite() && self.segment_target >= self.part_target) {
            return Err(Error::InvalidConfig(format!(
                "segment_target {} must be at least part_target {}",
                self.segment_target, self.part_target
            )));
        }
        if timescale == 0 || self.part_target_ticks(timescale) == 0 {
            return Err(Error::InvalidConfig(format!(
                "timescale {timescale} gives a part target of 0 ticks"
            )));
        }
        Ok(())
    }
}

/// An init segment (ftyp + moov).
#[derive(Debug, Clone)]
pub struct InitSegment {
    /// Identifier: the discontinuity sequence number it starts.
    pub id: u64,
    /// ftyp + moov bytes.
    pub bytes: Bytes,
    /// RFC 6381 codec string, e.g. `avc1.64001f`, `mp4a.40.2`.
    pub codec_string: String,
    /// The track it describes.
    pub track: TrackInfo,
}

/// A completed part.
#[derive(Debug, Clone)]
pub struct Part {
    /// MSN of the parent segment.
    pub msn: u64,
    /// Index of the part within its segment, from 0.
    pub index: u32,
    /// Duration in track ticks (sum of its sample durations).
    pub duration: u64,
    /// Track timescale.
    pub timescale: u32,
    /// True when the part begins with a sync sample (EXT-X-PART INDEPENDENT=YES).
    pub independent: bool,
    /// DTS of the first sample (the tfdt), i.e. the input dts plus [`Chunker::dts_shift`].
    pub first_dts: i64,
    /// Wall clock of the first sample, Unix ms, if known.
    pub wallclock_ms: Option<i64>,
    /// Id of the init segment these bytes need.
    pub init_id: u64,
    /// True for the first part of a segment that follows a discontinuity.
    pub discontinuity: bool,
    /// moof + mdat bytes, preceded by one `emsg` per carried cue that has a message.
    pub bytes: Bytes,
    /// Sequence numbers of the cues this part carries ([`Chunker::cue`]), in the order given.
    pub cues: Vec<u32>,
}

/// A timed cue for the chunker to place: the part that holds its frame carries it (its
/// sequence number in [`Part::cues`], and with a message an `emsg` before the part's `moof`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedCue {
    /// Stream-wide sequence number; the emsg `id`.
    pub seq: u32,
    /// Presentation time of the cue's frame in this track's ticks, on the timeline of the pushed
    /// samples (before [`Chunker::dts_shift`]). `None` for a track that does not hold that
    /// frame (audio): the part whose samples end after `wall_ms` carries it.
    pub pts: Option<i64>,
    /// Capture wall clock of the cue's frame, Unix ms.
    pub wall_ms: i64,
    /// ID3 tag for an emsg, and the event's duration in this track's ticks when known; `None`:
    /// no in-band copy.
    pub message: Option<(Bytes, Option<u32>)>,
}

/// A closed segment.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentInfo {
    /// Its MSN.
    pub msn: u64,
    /// Duration in track ticks.
    pub duration: u64,
    /// Track timescale.
    pub timescale: u32,
    /// Number of parts it holds.
    pub parts: u32,
}

/// What the chunker produces, in order.
#[derive(Debug, Clone)]
pub enum Event {
    /// A new init segment (the first, or after a codec change).
    InitReady(InitSegment),
    /// A part is complete.
    PartReady(Part),
    /// A segment is complete; its parts were all announced before.
    SegmentClosed(SegmentInfo),
}

/// A sample waiting in the open part, timestamps already shifted to the tfdt timeline.
#[derive(Debug)]
struct Pending {
    dts: i64,
    composition_offset: i32,
    duration: u32,
    sync: bool,
    data: Bytes,
    wallclock_ms: Option<i64>,
}

#[derive(Debug)]
struct OpenSegment {
    msn: u64,
    /// The grid point this segment closes at (see `Chunker::grid`).
    end_at: i64,
    duration: u64,
    parts: u32,
    /// How many parts the segment's samples are spread over evenly, when they are (see
    /// [`Chunker::plan_parts`]); `None`: greedy cutting.
    planned_parts: Option<i64>,
    discontinuity: bool,
}

/// The CMAF chunker: a pure state machine (no IO, no clock, no locks, no threads).
///
/// Contract (push/pull, as in retina's depacketizers):
/// 1. [`set_track`](Self::set_track) first; it queues [`Event::InitReady`]. Calling it again with
///    a different track closes the open segment and starts a discontinuity with a new init.
/// 2. [`push`](Self::push) each sample in decode order, then drain [`pull`](Self::pull) until
///    `None`. A part is queued as soon as it is known complete: when the next sample of the
///    same duration would overrun the part target, the part is cut right after this sample,
///    without waiting for the next one. Likewise a segment is closed with its last sample when
///    the next one is known to be the sync sample that opens the next segment (every audio
///    sample; a video sample with [`EncodedSample::next_sync`]).
/// 3. [`finish`](Self::finish) at end of stream flushes the open part and segment.
///
/// On error the sample is dropped and the chunker stays usable.
///
/// Rules: every part lasts at most `round(part_target * timescale)` ticks and, when samples
/// are regular, every part but a segment's last or an independent one lasts at least 85 % of it
/// (a segment's samples are spread evenly over its parts where that keeps this bound, so that
/// no part is a runt: see `part_goal`)
/// (draft-pantos-hls-rfc8216bis-22 §4.4.4.9); a segment starts with a sync sample and closes at
/// the first sync sample at or after the segment target; a segment's bytes are its parts'
/// bytes in order.
#[derive(Debug)]
pub struct Chunker {
    config: ChunkerConfig,
    track: Option<TrackInfo>,
    part_target: u64,
    segment_target: u64,
    init_id: u64,
    discontinuity_seq: u64,
    next_msn: u64,
    sequence: u32,
    segment: Option<OpenSegment>,
    part: Vec<Pending>,
    /// How many samples the open part takes when the segment is cut evenly (see
    /// [`Chunker::part_goal`]); `None`: as many as PART-TARGET allows.
    part_goal: Option<usize>,
    last_dts: Option<i64>,
    shift: i64,
    /// The segment grid through the dts of the first sample of the timeline (reset at each
    /// discontinuity): segments end on its points, so that boundaries never drift and an audio
    /// rendition (1024-sample frames, which never add up to exactly 2 s) keeps the same MSN as
    /// the video rungs at the same time, which rendition reports and players switching
    /// renditions rely on (rfc8216bis-22 §4.4.5.4, §6.2.4). The ingest forces key frames on
    /// the same grid ([`crate::grid`]).
    grid: SegmentGrid,
    /// The grid point of a segment closed with its last sample, before the sync sample that
    /// opens the next one arrived (audio, or `EncodedSample::next_sync`).
    closed_end_at: Option<i64>,
    /// A discontinuity was declared and the next segment opens it.
    pending_discontinuity: bool,
    /// Any sample was accepted under the current init.
    used_init: bool,
    /// Any segment was ever opened.
    started: bool,
    events: VecDeque<Event>,
    /// Cues not yet placed, in the order given.
    cues: Vec<TimedCue>,
}

impl Chunker {
    /// A chunker with no track yet.
    pub fn new(config: ChunkerConfig) -> Self {
        Chunker {
            init_id: config.first_discontinuity,
            discontinuity_seq: config.first_discontinuity,
            next_msn: config.first_msn,
            config,
            track: None,
            part_target: 0,
            segment_target: 0,
            sequence: 0,
            segment: None,
            part: Vec::new(),
            part_goal: None,
            last_dts: None,
            shift: 0,
            grid: SegmentGrid::new(0, 1),
            closed_end_at: None,
            pending_discontinuity: false,
            used_init: false,
            started: false,
            events: VecDeque::new(),
            cues: Vec::new(),
        }
    }

    /// Gives a cue to place. Give it before the sample holding its frame is pushed; a cue whose
    /// frame has passed goes with the next part, its emsg time clamped into that part.
    pub fn cue(&mut self, cue: TimedCue) {
        self.cues.push(cue);
    }

    /// Sets (or changes) the track; a change starts a discontinuity with a new init segment.
    /// Setting the same track again does nothing.
    pub fn set_track(&mut self, track: TrackInfo) -> Result<(), Error> {
        if self.track.as_ref() == Some(&track) {
            return Ok(());
        }
        self.config.validate(track.timescale)?;
        let bytes = write_init(&track)?;
        if self.track.is_some() && self.used_init {
            // A codec change: rfc8216bis-22 §4.4.4.5 (EXT-X-MAP) needs a new init and
            // §4.4.4.3 a discontinuity, as the encoding parameters change.
            self.close_segment(None);
            self.open_discontinuity();
            self.init_id = self.discontinuity_seq;
        }
        self.part_target = self.config.part_target_ticks(track.timescale);
        self.segment_target = self.config.segment_target_ticks(track.timescale);
        self.used_init = false;
        self.events.push_back(Event::InitReady(InitSegment {
            id: self.init_id,
            bytes: Bytes::from(bytes),
            codec_string: codec_string(&track.codec),
            track: track.clone(),
        }));
        self.track = Some(track);
        Ok(())
    }

    /// Pushes one sample (decode order). Errors leave the sample out; see [`Error`].
    pub fn push(&mut self, s: EncodedSample) -> Result<(), Error> {
        let Some(track) = &self.track else {
            return Err(Error::NoTrack);
        };
        let timescale = track.timescale as f64;
        if s.data.is_empty() {
            return Err(Error::EmptySample { dts: s.dts });
        }
        if s.duration == 0 {
            return Err(Error::ZeroDuration { dts: s.dts });
        }
        if u32::try_from(s.data.len()).is_err() {
            return Err(Error::SampleTooLarge {
                dts: s.dts,
                size: s.data.len(),
            });
        }
        let Some(composition_offset) = s.pts.checked_sub(s.dts).and_then(|c| i32::try_from(c).ok())
        else {
            return Err(Error::CompositionOffsetOverflow {
                dts: s.dts,
                pts: s.pts,
            });
        };
        if let Some(prev) = self.last_dts {
            let step = s.dts as i128 - prev as i128;
            let backward = (BACKWARD_DISCONTINUITY_SECS * timescale) as i128;
            let forward = (FORWARD_DISCONTINUITY_SECS * timescale) as i128;
            if step <= -backward || step > forward {
                // A timestamp jump (publisher restart): rfc8216bis-22 §4.4.4.3 requires
                // EXT-X-DISCONTINUITY before a segment with a different timestamp sequence.
                self.close_segment(None);
                self.open_discontinuity();
                self.last_dts = None;
            } else if step <= 0 {
                return Err(Error::DtsNotIncreasing {
                    dts: s.dts,
                    previous: prev,
                });
            }
        }
        let starts_timeline = self.last_dts.is_none();
        if (self.segment.is_none() || self.pending_discontinuity) && !s.sync {
            return Err(Error::NotSyncAtSegmentStart { dts: s.dts });
        }
        let mut shift = self.shift;
        if starts_timeline && s.dts.saturating_add(shift) < 0 {
            // tfdt is unsigned (ISO/IEC 14496-12 §8.8.12): shift the whole timeline up.
            shift = s
                .dts
                .checked_neg()
                .ok_or(Error::TimestampOverflow { dts: s.dts })?;
        }
        let dts = s
            .dts
            .checked_add(shift)
            .ok_or(Error::TimestampOverflow { dts: s.dts })?;
        self.shift = shift;
        self.last_dts = Some(s.dts);
        self.used_init = true;

        // Segments close only at a sync sample once the target is reached
        // (rfc8216bis-22 §4.4.4.9 parts of a segment; ISO/IEC 23000-19 §7.3.3: a CMAF segment starts
        // with a SAP).
        // Which sample is the first of the next segment: see `lead`.
        let lead = self.lead(s.duration);
        if s.sync {
            if let Some(seg) = &self.segment {
                if dts.saturating_add(lead) >= seg.end_at {
                    self.close_segment(Some(dts));
                }
            }
        }
        // rfc8216bis-22 §4.4.4.9: a part must not exceed PART-TARGET; cut before this sample if it
        // would overrun the open part.
        if let Some(first) = self.part.first() {
            if (dts - first.dts) as u64 + s.duration as u64 > self.part_target {
                self.close_part(Some(dts));
            }
        }
        if self.segment.is_none() || self.pending_discontinuity {
            if starts_timeline || self.pending_discontinuity {
                let origin = if self.config.clock_grid { 0 } else { dts };
                self.grid = SegmentGrid::new(origin, self.segment_target as i64);
                self.closed_end_at = None;
            }
            let mut end_at = self.grid.boundary_after(dts.saturating_add(lead));
            if self.config.clock_grid {
                let index = self.grid.index(dts.saturating_add(lead));
                self.next_msn = self.next_msn.max(u64::try_from(index).unwrap_or(0));
            }
            // A segment closed ahead of this sample (see `closed_end_at`) was closed at its grid
            // point on the previous sample's duration; should this sample's lead fall short of
            // it, the new segment still ends at a later grid point, never the same one.
            if let Some(closed) = self.closed_end_at.take() {
                if end_at <= closed {
                    end_at = closed.saturating_add(self.grid.step());
                }
            }
            self.started = true;
            self.segment = Some(OpenSegment {
                msn: self.next_msn,
                end_at,
                duration: 0,
                parts: 0,
                planned_parts: self.plan_parts(end_at - dts, s.duration),
                discontinuity: std::mem::take(&mut self.pending_discontinuity),
            });
            self.next_msn += 1;
        }
        let duration = s.duration;
        if self.part.is_empty() {
            self.part_goal = self.part_goal(dts, duration);
        }
        self.part.push(Pending {
            dts,
            composition_offset,
            duration,
            sync: s.sync,
            data: s.data,
            wallclock_ms: s.wallclock_ms,
        });
        // Latency: if a next sample of the same duration would not fit, the part is complete now.
        let first = self.part[0].dts;
        // With an even plan, the part is complete once it holds its share of the segment.
        let full = self.part_goal.is_some_and(|n| self.part.len() >= n);
        if full || (dts - first) as u64 + 2 * duration as u64 > self.part_target {
            self.close_part(None);
        }
        // When the next sample is known to be a sync sample (every audio sample is one; a video
        // encoder says so with `next_sync`) and it would open the next segment, this segment is
        // complete now. Closing it here, not when that sample arrives, keeps the preload hint
        // right: rfc8216bis-22 §4.4.5.3, the hinted URI MUST be the one later added, i.e. the next
        // segment's first part, not a part after this segment's last that never comes.
        if self.is_audio() || s.next_sync {
            if let Some(seg) = &self.segment {
                let next = dts.saturating_add(i64::from(duration));
                if next.saturating_add(self.lead(duration)) >= seg.end_at {
                    self.closed_end_at = Some(seg.end_at);
                    self.close_segment(Some(next));
                }
            }
        }
        Ok(())
    }

    /// Marks a timestamp discontinuity (publisher reconnect): the open segment closes now and
    /// the next sample (which must be a sync sample) opens a new segment with
    /// `Part::discontinuity` set; its dts may be anything.
    pub fn discontinuity(&mut self) {
        self.close_segment(None);
        self.open_discontinuity();
        self.last_dts = None;
    }

    /// End of stream: completes the open part and segment.
    pub fn finish(&mut self) -> Result<(), Error> {
        self.close_segment(None);
        Ok(())
    }

    /// Next event, if any.
    pub fn pull(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Ticks added to every input dts/pts to keep the tfdt non-negative (ISO/IEC 14496-12
    /// §8.8.12): `-dts` of the first sample of a timeline when that is negative (e.g. B-frame
    /// streams starting at dts -2 frames), else 0.
    pub fn dts_shift(&self) -> i64 {
        self.shift
    }

    /// The part target in ticks of the current track (0 before `set_track`).
    pub fn part_target_ticks(&self) -> u64 {
        self.part_target
    }

    /// How many parts a segment that spans `span` ticks of samples of `duration` ticks is cut
    /// into, when its samples are spread evenly over them; `None` keeps cutting greedy.
    ///
    /// Greedy cutting (every part as long as PART-TARGET allows) leaves a runt at the end of a
    /// segment whenever the segment is not a whole number of full parts: AAC's 1024-sample frames
    /// make a 2 s audio segment 93.75 frames, i.e. six parts of 15 frames and a last one of 3 or
    /// 4 (64–85 ms). A runt that short is skipped by hls.js when it loads behind the live edge:
    /// it moves to the next segment once its buffer ends within `maxFragLookUpTolerance`
    /// (0.25 s) of it, which leaves a hole in the buffer and a stall. So the segment's samples
    /// are spread evenly over the fewest parts that hold them (94 frames: 14,14,14,13,13,13,13),
    /// every part still at most PART-TARGET (rfc8216bis-22 §4.4.4.9).
    ///
    /// Shorter parts must keep §4.4.4.9's other bound, at least 85 % of PART-TARGET for any
    /// part but an INDEPENDENT=YES one or a segment's last: audio parts are all independent; for
    /// video the even spread is planned only when its shortest part keeps that bound (59.94 fps:
    /// 18,17,…,17 frames instead of 19,…,19,6), and cutting stays greedy otherwise (25 fps with a
    /// 1/3 s target: seven parts of 7 frames would be 84 %).
    fn plan_parts(&self, span: i64, duration: u32) -> Option<i64> {
        let d = i64::from(duration.max(1));
        let frames = samples_before(span, d, self.lead(duration));
        let per_part = (self.part_target / d as u64).max(1) as i64;
        if frames <= per_part {
            return None;
        }
        let parts = (frames + per_part - 1) / per_part;
        let shortest = frames / parts;
        // 85 % of PART-TARGET, rounded up to a whole tick; audio parts are all independent.
        let floor = (self.part_target * 85).div_ceil(100);
        if !self.is_audio() && ((shortest * d) as u64) < floor {
            return None;
        }
        Some(parts)
    }

    /// How many samples a part that opens at `dts` with samples of `duration` ticks takes:
    /// the segment's remaining samples over its remaining planned parts, longer parts first;
    /// `None` (as many as PART-TARGET allows) when the segment is cut greedily or this is its
    /// last planned part. PART-TARGET stays the hard bound either way.
    fn part_goal(&self, dts: i64, duration: u32) -> Option<usize> {
        let seg = self.segment.as_ref()?;
        let left = seg.planned_parts? - i64::from(seg.parts);
        if left <= 1 {
            return None;
        }
        let d = i64::from(duration.max(1));
        let frames = samples_before(seg.end_at.saturating_sub(dts), d, self.lead(duration));
        let share = (frames + left - 1) / left;
        usize::try_from(share).ok().filter(|&n| n > 0)
    }

    /// A sync sample at `dts` of `duration` ticks opens the next segment when
    /// `dts + lead >= grid point`.
    ///
    /// Video: the sample whose span lies mostly past the grid point (`lead` = half a frame); with
    /// IDRs forced on the grid that is the IDR itself. Audio: the first sample that does not end
    /// by the grid point (`lead` = its duration − 1 tick), so an audio segment never starts after
    /// the video segment of the same MSN, nor ends after it (AAC frames straddle the grid by up
    /// to 21 ms). hls.js keeps audio loading no more than one fragment ahead of the main one
    /// (`frag.start > mainFragLoading.end` stops it): an audio segment starting 5 ms after the
    /// video one's end held audio loading back until the buffer ran dry. Both keep the MSNs of
    /// all renditions on one timeline (rfc8216bis-22 §6.2.4, §4.4.5.4; see `grid`).
    fn lead(&self, duration: u32) -> i64 {
        if self.is_audio() {
            i64::from(duration.max(1)) - 1
        } else {
            i64::from(duration / 2)
        }
    }

    /// The track is audio: every sample is a sync sample, every part INDEPENDENT=YES.
    fn is_audio(&self) -> bool {
        matches!(
            self.track.as_ref().map(|t| t.kind),
            Some(MediaKind::Audio { .. })
        )
    }

    fn open_discontinuity(&mut self) {
        if self.started && !self.pending_discontinuity {
            self.pending_discontinuity = true;
            self.discontinuity_seq += 1;
        }
    }

    /// Closes the open part. `next_dts` is the dts of the sample that follows, when known: it
    /// gives the last sample's real duration (if that keeps the part within target).
    fn close_part(&mut self, next_dts: Option<i64>) {
        if self.part.is_empty() {
            return;
        }
        let Some(seg) = self.segment.as_mut() else {
            return;
        };
        let samples = std::mem::take(&mut self.part);
        let first_dts = samples[0].dts;
        let n = samples.len();
        let mut frags = Vec::with_capacity(n);
        let mut total: u64 = 0;
        for (i, p) in samples.iter().enumerate() {
            // Inside a part, a sample lasts until the next one starts, so that the fragment's
            // decode times reproduce the input dts exactly (ISO/IEC 14496-12 §8.8.8: dts of
            // sample n+1 = dts of sample n + its duration).
            let next = samples.get(i + 1).map(|q| q.dts).or(next_dts);
            let mut d = p.duration;
            if let Some(nd) = next
                .and_then(|nd| u32::try_from(nd - p.dts).ok())
                .filter(|&d| d > 0)
            {
                if i + 1 < n || (p.dts - first_dts) as u64 + nd as u64 <= self.part_target {
                    d = nd;
                }
            }
            total += d as u64;
            frags.push(FragSample {
                duration: d,
                sync: p.sync,
                composition_offset: p.composition_offset,
                data: p.data.clone(),
            });
        }
        self.sequence = self.sequence.wrapping_add(1).max(1);
        let timescale = self.track.as_ref().map_or(0, |t| t.timescale);
        // The part's presentation interval [first pts, last pts + duration) and the wall clock
        // at its end, which decide the cues it carries.
        let first_pts = samples
            .iter()
            .map(|p| p.dts.saturating_add(i64::from(p.composition_offset)))
            .min()
            .unwrap_or(first_dts);
        let last_pts = samples
            .iter()
            .zip(&frags)
            .map(|(p, f)| {
                p.dts
                    .saturating_add(i64::from(p.composition_offset))
                    .saturating_add(i64::from(f.duration))
            })
            .max()
            .unwrap_or(first_dts);
        let end_wall = samples.iter().zip(&frags).rev().find_map(|(p, f)| {
            p.wallclock_ms.map(|w| {
                w.saturating_add(i64::from(f.duration) * 1000 / i64::from(timescale.max(1)))
            })
        });
        let shift = self.shift;
        let (carried, waiting): (Vec<TimedCue>, Vec<TimedCue>) = std::mem::take(&mut self.cues)
            .into_iter()
            .partition(|c| match c.pts {
                Some(pts) => pts.saturating_add(shift) < last_pts,
                None => end_wall.is_none_or(|end| c.wall_ms < end),
            });
        self.cues = waiting;
        let mut bytes = Vec::new();
        for c in &carried {
            if let Some((message, duration)) = &c.message {
                // AOM id3-emsg: presentation_time within the fragment's interval.
                let pts = c
                    .pts
                    .map_or(first_pts, |p| p.saturating_add(shift))
                    .clamp(first_pts, last_pts.saturating_sub(1).max(first_pts));
                let emsg = super::emsg::EventMessage {
                    timescale,
                    presentation_time: pts.max(0) as u64,
                    event_duration: duration.unwrap_or(super::emsg::UNKNOWN_DURATION),
                    id: c.seq,
                    scheme_id_uri: super::emsg::ID3_SCHEME.to_owned(),
                    value: String::new(),
                    message_data: message.to_vec(),
                };
                bytes.extend_from_slice(&emsg.to_bytes());
            }
        }
        let fragment = write_fragment(self.sequence, first_dts as u64, &frags);
        let bytes = if bytes.is_empty() {
            fragment
        } else {
            bytes.extend_from_slice(&fragment);
            Bytes::from(bytes)
        };
        self.events.push_back(Event::PartReady(Part {
            msn: seg.msn,
            index: seg.parts,
            duration: total,
            timescale,
            independent: samples[0].sync,
            first_dts,
            wallclock_ms: samples[0].wallclock_ms,
            init_id: self.init_id,
            discontinuity: seg.discontinuity && seg.parts == 0,
            bytes,
            cues: carried.iter().map(|c| c.seq).collect(),
        }));
        seg.parts += 1;
        seg.duration += total;
    }

    fn close_segment(&mut self, next_dts: Option<i64>) {
        self.close_part(next_dts);
        if let Some(seg) = self.segment.take() {
            let timescale = self.track.as_ref().map_or(0, |t| t.timescale);
            self.events.push_back(Event::SegmentClosed(SegmentInfo {
                msn: seg.msn,
                duration: seg.duration,
                timescale,
                parts: seg.parts,
            }));
        }
    }
}

/// How many samples of `d` ticks, the first at 0, lie in a segment that closes at `span`: those
/// with `dts + lead < span`, as `Chunker::push` decides (see `Chunker::lead`).
fn samples_before(span: i64, d: i64, lead: i64) -> i64 {
    (span - lead - 1 + d).max(0) / d
}
