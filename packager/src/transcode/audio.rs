//! The shared audio rendition: resample whatever the input has to the configured rate and
//! layout, cut AAC frames, encode once, and convert packets at the boundary.

use super::emitter::Emitter;
use super::ffi;
use super::sink::Sink;
use super::video::Work;
use super::Error;
use crate::cmaf::{CodecConfig, EncodedSample, MediaKind, TrackInfo};
use crate::config::AudioConfig;
use crate::rendition::Language;
use bytes::Bytes;
use ff::format::{sample::Type as SampleType, Sample};
use ff::ChannelLayout;
use ffmpeg_next as ff;
use std::sync::mpsc::Receiver;

/// A decoded input audio frame and its ingest wall clock.
pub(crate) struct AudioWork {
    pub frame: ff::frame::Audio,
    /// Output tick (90 kHz) of its first sample.
    pub pts: i64,
    pub wall_ms: i64,
}

/// An opened AAC encoder.
pub(crate) struct AudioEncoder {
    pub name: String,
    encoder: ff::encoder::Audio,
    rate: u32,
    layout: ChannelLayout,
    channels: usize,
    frame_size: usize,
    /// Encoder priming (AAC: 1024); output timestamps are shifted so the first is 0.
    padding: i64,
    pub track: TrackInfo,
}

const FLTP: Sample = Sample::F32(SampleType::Planar);

/// Opens the AAC encoder of `cfg`.
pub(crate) fn open(
    stream: &str,
    cfg: &AudioConfig,
    language: Language,
) -> Result<AudioEncoder, Error> {
    let err = |what: &str| {
        let (stream, rendition, what) = (stream.to_owned(), cfg.name.clone(), what.to_owned());
        move |source| Error::Codec {
            stream,
            rendition,
            what,
            source,
        }
    };
    let codec = ff::encoder::find(ff::codec::Id::AAC)
        .ok_or(ff::Error::EncoderNotFound)
        .map_err(err("finding the AAC encoder"))?;
    let mut enc = ff::codec::context::Context::new_with_codec(codec)
        .encoder()
        .audio()
        .map_err(err("creating the AAC encoder"))?;
    let layout = ChannelLayout::default(i32::from(cfg.channels));
    enc.set_rate(cfg.sample_rate as i32);
    enc.set_channel_layout(layout);
    enc.set_channels(i32::from(cfg.channels));
    enc.set_format(FLTP);
    enc.set_bit_rate(cfg.bitrate.bps() as usize);
    enc.set_time_base(ff::Rational(1, cfg.sample_rate as i32));
    enc.set_flags(ff::codec::Flags::GLOBAL_HEADER);
    let encoder = enc.open_as(codec).map_err(err("opening the AAC encoder"))?;
    let extradata = ffi::encoder_extradata(&encoder);
    let (frame_size, padding) = ffi::encoder_framing(&encoder);
    let codec_config =
        CodecConfig::aac_from_extradata(&extradata).map_err(|e| Error::Bitstream {
            stream: stream.into(),
            rendition: cfg.name.clone(),
            what: format!("AAC encoder gave no usable AudioSpecificConfig: {e}"),
        })?;
    let track = TrackInfo {
        kind: MediaKind::Audio {
            channels: cfg.channels,
            sample_rate: cfg.sample_rate,
        },
        codec: codec_config,
        timescale: cfg.sample_rate,
        language: language.to_string(),
    };
    Ok(AudioEncoder {
        name: cfg.name.clone(),
        encoder,
        rate: cfg.sample_rate,
        layout,
        channels: usize::from(cfg.channels),
        frame_size,
        padding,
        track,
    })
}

type ResamplerKey = (Sample, u64, u32);

/// Runs the audio rendition until `End` (or until the consumer goes away).
///
/// `start`: on the wall-clock timeline, the first segment boundary (90 kHz); audio then starts
/// with the AAC frame that straddles it (frames on multiples of the frame size from sample 0),
/// as every later segment does, so the first segment is numbered and cut like other origins'.
pub(crate) fn run(
    mut enc: AudioEncoder,
    rx: Receiver<Work<AudioWork>>,
    sink: Sink,
    start: Option<i64>,
) {
    let mut out = match start {
        Some(_) => Emitter::audio(sink, enc.rate).on_clock(),
        None => Emitter::audio(sink, enc.rate),
    };
    out.track(enc.track.clone());
    let mut resampler: Option<(ResamplerKey, ff::software::resampling::Context)> = None;
    let mut fifo: Vec<Vec<f32>> = vec![Vec::new(); enc.channels];
    // Output sample position of fifo[.][0], and of the next resampled sample.
    let mut fifo_pos: i64 = 0;
    let mut in_pos: i64 = 0;
    // The first input's position on the output timeline, in samples; until it is known.
    let mut started = false;
    // Samples still to drop so that AAC frames start on multiples of the frame size from
    // sample 0 of the timeline: on the wall-clock timeline two origins then cut the same
    // frames at the same instants.
    let mut to_drop: usize = 0;
    let mut pkt = ff::Packet::empty();
    let mut drain = |encoder: &mut ff::encoder::Audio, out: &mut Emitter| {
        while out.open && encoder.receive_packet(&mut pkt).is_ok() {
            let (Some(data), Some(pts)) = (pkt.data(), pkt.pts()) else {
                continue;
            };
            let pts = pts + enc.padding;
            let duration = if pkt.duration() > 0 {
                pkt.duration()
            } else {
                enc.frame_size as i64
            };
            out.emit(EncodedSample {
                dts: pkt.dts().map_or(pts, |d| d + enc.padding),
                pts,
                duration: u32::try_from(duration).unwrap_or(1).max(1),
                sync: true,
                data: Bytes::copy_from_slice(data),
                wallclock_ms: None,
                next_sync: true,
            });
        }
    };
    let send = |encoder: &mut ff::encoder::Audio,
                fifo: &mut Vec<Vec<f32>>,
                fifo_pos: &mut i64,
                n: usize|
     -> bool {
        let mut frame = ff::frame::Audio::new(FLTP, n, enc.layout);
        for (ch, buf) in fifo.iter_mut().enumerate() {
            frame.plane_mut::<f32>(ch)[..n].copy_from_slice(&buf[..n]);
            buf.drain(..n);
        }
        frame.set_rate(enc.rate);
        frame.set_pts(Some(*fifo_pos));
        *fifo_pos += n as i64;
        encoder.send_frame(&frame).is_ok()
    };
    while out.open {
        let work = match rx.recv() {
            Ok(Work::Item(w)) => w,
            Ok(Work::Discontinuity) => {
                out.discontinuity();
                continue;
            }
            Ok(Work::End) | Err(_) => break,
        };
        let f = &work.frame;
        let in_layout = if f.channel_layout().bits() == 0 {
            ChannelLayout::default(i32::from(f.channels()))
        } else {
            f.channel_layout()
        };
        let key = (f.format(), in_layout.bits(), f.rate());
        if resampler.as_ref().map(|(k, _)| *k) != Some(key) {
            match ff::software::resampling::Context::get(
                key.0, in_layout, key.2, FLTP, enc.layout, enc.rate,
            ) {
                Ok(r) => resampler = Some((key, r)),
                Err(e) => {
                    tracing::error!(rendition = %enc.name, error = %e, "cannot resample input audio; frame dropped");
                    continue;
                }
            }
        }
        let Some((_, r)) = resampler.as_mut() else {
            continue;
        };
        let capacity = f.samples() * enc.rate as usize / (f.rate().max(1) as usize) + 64;
        let mut resampled = ff::frame::Audio::new(FLTP, capacity, enc.layout);
        if let Err(e) = r.run(f, &mut resampled) {
            tracing::warn!(rendition = %enc.name, error = %e, "resampling failed; frame dropped");
            continue;
        }
        let n = resampled.samples();
        if !started {
            started = true;
            let samples = |ticks: i64| (i128::from(ticks) * i128::from(enc.rate) / 90_000) as i64;
            let first = samples(work.pts);
            let fs = enc.frame_size as i64;
            let aligned = first + (fs - first.rem_euclid(fs)) % fs;
            let target = match start {
                Some(b) => aligned.max(samples(b).div_euclid(fs) * fs),
                None => aligned,
            };
            to_drop = usize::try_from(target - first).unwrap_or(0);
            in_pos = first;
            fifo_pos = target;
        }
        out.ingested(in_pos, work.wall_ms);
        let skip = to_drop.min(n);
        to_drop -= skip;
        for (ch, buf) in fifo.iter_mut().enumerate() {
            buf.extend_from_slice(&resampled.plane::<f32>(ch)[skip..n]);
        }
        in_pos += n as i64;
        while fifo[0].len() >= enc.frame_size {
            if !send(&mut enc.encoder, &mut fifo, &mut fifo_pos, enc.frame_size) {
                tracing::warn!(rendition = %enc.name, "AAC encoder rejected a frame");
            }
            drain(&mut enc.encoder, &mut out);
        }
    }
    let rest = fifo[0].len();
    if rest > 0 {
        send(&mut enc.encoder, &mut fifo, &mut fifo_pos, rest);
    }
    let _ = enc.encoder.send_eof();
    drain(&mut enc.encoder, &mut out);
    out.finish();
}
