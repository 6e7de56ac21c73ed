//! A `copy` rung: the input's H.264/H.265 packets passed through unchanged except for the
//! NAL framing (Annex-B → 4-byte length prefixes) and timestamps (onto the output timeline).
//! Segment boundaries follow the input's key frames, and the ingest thread forces the
//! encoded rungs' IDRs onto the same frames, so all renditions stay aligned.

use super::emitter::Emitter;
use super::sink::Sink;
use super::video::Work;
use super::{Error, VIDEO_TIMESCALE};
use crate::cmaf::{self, is_annexb, CodecConfig, EncodedSample, MediaKind, TrackInfo};
use bytes::Bytes;
use ffmpeg_next::codec::Id;
use std::sync::mpsc::Receiver;

/// A message from the ingest thread to a copy rung.
pub(crate) enum CopyMsg {
    /// One input packet; timestamps in 90 kHz ticks of the *input* timeline.
    Packet {
        data: Vec<u8>,
        pts: Option<i64>,
        dts: Option<i64>,
        key: bool,
        wall_ms: i64,
    },
    /// output = input + offset for the packets of the current run (sent once the first
    /// frame of a run is decoded; packets wait for it).
    Offset(i64),
}

/// Framing of the input's packets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Framing {
    AnnexB,
    /// ISO/IEC 14496-15 sample format with 4-byte lengths.
    LengthPrefixed,
}

/// A copy rung ready to run.
pub(crate) struct CopyRung {
    hevc: bool,
    width: u32,
    height: u32,
    framing: Framing,
    codec: Option<CodecConfig>,
    nominal: i64,
}

/// Checks that `codec` can be passed through and reads its parameter sets.
pub(crate) fn open(
    stream: &str,
    name: &str,
    codec: Id,
    extradata: &[u8],
    width: u32,
    height: u32,
    nominal: i64,
) -> Result<CopyRung, Error> {
    let uncopyable = |why: &str| Error::Uncopyable {
        stream: stream.into(),
        rendition: name.into(),
        codec: format!("{codec:?}{why}").to_lowercase(),
    };
    let hevc = match codec {
        Id::H264 => false,
        Id::HEVC => true,
        _ => return Err(uncopyable("")),
    };
    let framing = if extradata.is_empty() || is_annexb(extradata) {
        Framing::AnnexB
    } else {
        // lengthSizeMinusOne: avcC byte 4, hvcC byte 21 (low two bits).
        let at = if hevc { 21 } else { 4 };
        match extradata.get(at).map(|b| b & 3) {
            Some(3) => Framing::LengthPrefixed,
            _ => return Err(uncopyable(" with NAL length fields other than 4 bytes")),
        }
    };
    let codec = if hevc {
        CodecConfig::hevc_from_extradata(extradata).ok()
    } else {
        CodecConfig::avc_from_extradata(extradata).ok()
    };
    Ok(CopyRung {
        hevc,
        width,
        height,
        framing,
        codec,
        nominal,
    })
}

/// Parameter sets carried in-band in a key frame (MPEG-TS inputs): the cmaf parsers pick the
/// VPS/SPS/PPS out of the access unit's NAL units.
fn in_band_sets(hevc: bool, annexb: &[u8]) -> Option<CodecConfig> {
    let nals = cmaf::annexb_nal_units(annexb);
    if hevc {
        CodecConfig::hevc_from_nals(nals).ok()
    } else {
        CodecConfig::avc_from_nals(nals).ok()
    }
}

/// Runs the copy rung until `End`.
pub(crate) fn run(mut rung: CopyRung, rx: Receiver<Work<CopyMsg>>, sink: Sink) {
    let mut out = Emitter::video(sink, VIDEO_TIMESCALE, rung.nominal);
    let mut offset: Option<i64> = None;
    let mut waiting: Vec<CopyMsg> = Vec::new();
    let mut disc_pending = false;
    let mut started = false;
    while out.open {
        match rx.recv() {
            Ok(Work::Item(CopyMsg::Offset(o))) => {
                offset = Some(o);
                for msg in std::mem::take(&mut waiting) {
                    emit(&mut rung, &mut out, msg, o, &mut started, &mut disc_pending);
                }
            }
            Ok(Work::Item(msg)) => match offset {
                Some(o) => emit(&mut rung, &mut out, msg, o, &mut started, &mut disc_pending),
                None if waiting.len() < 1024 => waiting.push(msg),
                None => {}
            },
            Ok(Work::Discontinuity) => {
                disc_pending = true;
                offset = None;
            }
            Ok(Work::End) | Err(_) => break,
        }
    }
    out.finish();
}

fn emit(
    rung: &mut CopyRung,
    out: &mut Emitter,
    msg: CopyMsg,
    offset: i64,
    started: &mut bool,
    disc_pending: &mut bool,
) {
    let CopyMsg::Packet {
        data,
        pts,
        dts,
        key,
        wall_ms,
    } = msg
    else {
        return;
    };
    let Some(pts) = pts.or(dts) else { return };
    let dts = dts.unwrap_or(pts);
    let (pts, dts) = (pts + offset, dts + offset);
    if !*started {
        // A track starts at a key frame, once its parameter sets are known.
        if !key {
            return;
        }
        if rung.codec.is_none() && rung.framing == Framing::AnnexB {
            rung.codec = in_band_sets(rung.hevc, &data);
        }
        let Some(codec) = rung.codec.clone() else {
            return;
        };
        let track = TrackInfo {
            kind: MediaKind::Video {
                width: rung.width,
                height: rung.height,
            },
            codec,
            timescale: VIDEO_TIMESCALE,
            language: "und".into(),
        };
        out.track(track);
        *started = true;
    }
    if *disc_pending {
        // After a break the rung resumes at a key frame only.
        if !key {
            return;
        }
        *disc_pending = false;
        out.discontinuity();
    }
    out.ingested(pts, wall_ms);
    let data = match rung.framing {
        Framing::AnnexB => cmaf::annexb_to_length_prefixed(&data),
        Framing::LengthPrefixed => data,
    };
    out.emit(EncodedSample {
        dts,
        pts,
        duration: 0,
        sync: key,
        data: Bytes::from(data),
        wallclock_ms: Some(wall_ms),
        next_sync: false, // set by the Emitter
    });
}
