//! One video rung: scale, encode with libx264/libx265 (key frames forced where the ingest
//! thread says), and convert packets to [`EncodedSample`]s at the boundary.

use super::emitter::Emitter;
use super::ffi;
use super::sink::Sink;
use super::{Error, VIDEO_TIMESCALE};
use crate::cmaf::{self, is_annexb, CodecConfig, EncodedSample, MediaKind, TrackInfo};
use crate::config::{FrameRate, RungConfig, VideoCodec};
use bytes::Bytes;
use ff::format::Pixel;
use ffmpeg_next as ff;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

/// A decoded input frame on its way to every rung.
pub(crate) struct VideoWork {
    /// Shared, read-only decoded picture.
    pub frame: Arc<ff::frame::Video>,
    /// Output pts in 90 kHz ticks (continuous).
    pub pts: i64,
    /// Wall clock at ingest, Unix ms.
    pub wall_ms: i64,
    /// Force an IDR here (segment boundary, same pts on every rung).
    pub key: bool,
}

/// Messages from the ingest thread to an encoder thread.
pub(crate) enum Work<T> {
    Item(T),
    Discontinuity,
    End,
}

/// An opened rung encoder, ready to move to its thread.
pub(crate) struct RungEncoder {
    pub name: String,
    stream: String,
    encoder: ff::encoder::Video,
    width: u32,
    height: u32,
    /// Minimum spacing of output frames in ticks when the rung lowers the frame rate.
    interval: Option<f64>,
    /// Duration of the last sample (no successor to measure it by).
    nominal: i64,
    pub track: TrackInfo,
}

fn codec_err(
    stream: &str,
    rendition: &str,
    what: impl Into<String>,
) -> impl FnOnce(ff::Error) -> Error {
    let (stream, rendition, what) = (stream.to_owned(), rendition.to_owned(), what.into());
    move |source| Error::Codec {
        stream,
        rendition,
        what,
        source,
    }
}

/// Opens the encoder of `rung` for an input of `in_w`×`in_h` at `in_rate`.
pub(crate) fn open(
    stream: &str,
    rung: &RungConfig,
    in_w: u32,
    in_h: u32,
    in_rate: FrameRate,
    segment_target: f64,
) -> Result<RungEncoder, Error> {
    let (width, height) = rung.output_size(in_w, in_h);
    let rate = rung.frame_rate.unwrap_or(in_rate);
    let (codec_name, hevc) = match rung.codec {
        VideoCodec::Hevc => ("libx265", true),
        _ => ("libx264", false),
    };
    let codec = ff::encoder::find_by_name(codec_name).ok_or_else(|| Error::Codec {
        stream: stream.into(),
        rendition: rung.name.clone(),
        what: format!("finding {codec_name}"),
        source: ff::Error::EncoderNotFound,
    })?;
    let mut enc = ff::codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(codec_err(stream, &rung.name, "creating the video encoder"))?;
    enc.set_width(width);
    enc.set_height(height);
    enc.set_format(Pixel::YUV420P);
    enc.set_time_base(ff::Rational(1, VIDEO_TIMESCALE as i32));
    // Segment boundaries come from forced IDRs only (same pts on every rung); the
    // encoder's own GOP limit is set far beyond a segment.
    let frames_per_segment = (segment_target * rate.fps()).ceil() as u32;
    enc.set_gop(frames_per_segment.saturating_mul(100).max(1000));
    enc.set_max_b_frames(rung.bframes() as usize);
    enc.set_flags(ff::codec::Flags::GLOBAL_HEADER);
    let bitrate = rung.bitrate.map(|b| b.bps()).unwrap_or(1_000_000);
    enc.set_bit_rate(bitrate as usize);
    let maxrate = rung.maxrate().map(|b| b.bps()).unwrap_or(bitrate);
    enc.set_max_bit_rate(maxrate as usize);
    ffi::set_video_rate_control(
        &mut enc,
        rung.bufsize().map(|b| b.bps()).unwrap_or(maxrate),
        (rate.num as i32, rate.den as i32),
    );
    let mut opts = ff::Dictionary::new();
    opts.set("preset", rung.preset());
    opts.set("profile", rung.profile());
    // A frame sent with pict_type I becomes an IDR (libx264/libx265 `forced-idr`).
    opts.set("forced-idr", "1");
    let b = rung.bframes();
    let params = if hevc {
        // x265: rc-lookahead must be at least bframes; keyint -1 = no automatic key frames.
        format!("keyint=-1:min-keyint=1:scenecut=0:open-gop=0:bframes={b}:rc-lookahead={}:repeat-headers=0:log-level=error", b.max(1))
    } else if b == 0 {
        // Low delay: no lookahead, and slice threads instead of frame threads (each frame
        // threads' worth of frames in flight is a frame of latency: 106 → 42 ms ingest → part
        // published, p50, default ladder; PSNR −0.03 dB, SSIM equal, +1.5 % bytes at 3 Mb/s,
        // CPU unchanged: README "Measured figures").
        "keyint=infinite:min-keyint=1:scenecut=0:open-gop=0:rc-lookahead=0:sync-lookahead=0:sliced-threads=1"
            .to_owned()
    } else {
        format!("keyint=infinite:min-keyint=1:scenecut=0:open-gop=0:bframes={b}:sync-lookahead=0")
    };
    let mut params = params;
    for (k, v) in &rung.options {
        if k == "x264-params" || k == "x265-params" {
            params.push(':');
            params.push_str(&v.0);
        } else {
            opts.set(k, &v.0);
        }
    }
    opts.set(if hevc { "x265-params" } else { "x264-params" }, &params);
    let encoder = enc.open_as_with(codec, opts).map_err(codec_err(
        stream,
        &rung.name,
        format!("opening {codec_name}"),
    ))?;
    let extradata = &ffi::encoder_extradata(&encoder)[..];
    let codec_config = if hevc {
        CodecConfig::hevc_from_extradata(extradata)
    } else {
        CodecConfig::avc_from_extradata(extradata)
    };
    let codec_config = codec_config.map_err(|e| Error::Bitstream {
        stream: stream.into(),
        rendition: rung.name.clone(),
        what: format!(
            "{codec_name} extradata ({} bytes) holds no usable parameter sets: {e}",
            extradata.len()
        ),
    })?;
    let track = TrackInfo {
        kind: MediaKind::Video { width, height },
        codec: codec_config,
        timescale: VIDEO_TIMESCALE,
        language: "und".into(),
    };
    let out_interval = f64::from(VIDEO_TIMESCALE) / rate.fps();
    let interval = rung
        .frame_rate
        .filter(|r| r.fps() < in_rate.fps())
        .map(|_| out_interval);
    Ok(RungEncoder {
        name: rung.name.clone(),
        stream: stream.into(),
        encoder,
        width,
        height,
        interval,
        nominal: out_interval.round() as i64,
        track,
    })
}

/// An encoder packet as a sample (Annex B turned into length-prefixed NAL units); its
/// duration, `next_sync` and wall clock are the [`Emitter`]'s to set.
fn packet_sample(pkt: &ff::Packet) -> Option<EncodedSample> {
    let data = pkt.data()?;
    let pts = pkt.pts()?;
    let data = if is_annexb(data) {
        cmaf::annexb_to_length_prefixed(data)
    } else {
        data.to_vec()
    };
    Some(EncodedSample {
        dts: pkt.dts().unwrap_or(pts),
        pts,
        duration: 0,
        sync: pkt.is_key(),
        data: Bytes::from(data),
        wallclock_ms: None,
        next_sync: false,
    })
}

/// Runs the rung until `End` (or until the consumer goes away).
pub(crate) fn run(mut enc: RungEncoder, rx: Receiver<Work<VideoWork>>, sink: Sink) {
    let mut out = Emitter::video(sink, VIDEO_TIMESCALE, enc.nominal);
    out.track(enc.track.clone());
    let mut scaler: Option<(Pixel, u32, u32, ff::software::scaling::Context)> = None;
    let mut next_slot = f64::MIN;
    let mut pkt = ff::Packet::empty();
    while out.open {
        let work = match rx.recv() {
            Ok(Work::Item(w)) => w,
            Ok(Work::Discontinuity) => {
                out.discontinuity();
                continue;
            }
            Ok(Work::End) | Err(_) => break,
        };
        if let Some(interval) = enc.interval {
            let p = work.pts as f64;
            if !work.key && p + interval / 10.0 < next_slot {
                continue;
            }
            next_slot = if work.key || next_slot + interval < p {
                p + interval
            } else {
                next_slot + interval
            };
        }
        let src = &*work.frame;
        let mut frame = if src.format() == Pixel::YUV420P
            && src.width() == enc.width
            && src.height() == enc.height
        {
            match ffi::share_frame(src) {
                Some(f) => f,
                None => continue,
            }
        } else {
            let key = (src.format(), src.width(), src.height());
            if scaler.as_ref().map(|(f, w, h, _)| (*f, *w, *h)) != Some(key) {
                match ff::software::scaling::Context::get(
                    key.0,
                    key.1,
                    key.2,
                    Pixel::YUV420P,
                    enc.width,
                    enc.height,
                    ff::software::scaling::Flags::BILINEAR,
                ) {
                    Ok(s) => scaler = Some((key.0, key.1, key.2, s)),
                    Err(e) => {
                        tracing::error!(stream = %enc.stream, rendition = %enc.name, error = %e, ?key, "cannot scale input frame; dropped");
                        continue;
                    }
                }
            }
            let mut dst = ff::frame::Video::new(Pixel::YUV420P, enc.width, enc.height);
            let Some((.., s)) = scaler.as_mut() else {
                continue;
            };
            if let Err(e) = s.run(src, &mut dst) {
                tracing::warn!(rendition = %enc.name, error = %e, "scaling failed; frame dropped");
                continue;
            }
            dst
        };
        frame.set_pts(Some(work.pts));
        frame.set_kind(if work.key {
            ff::picture::Type::I
        } else {
            ff::picture::Type::None
        });
        out.ingested(work.pts, work.wall_ms);
        if let Err(e) = enc.encoder.send_frame(&frame) {
            tracing::warn!(rendition = %enc.name, error = %e, "encoder rejected a frame");
            continue;
        }
        while enc.encoder.receive_packet(&mut pkt).is_ok() {
            out.emit_some(packet_sample(&pkt));
        }
    }
    let _ = enc.encoder.send_eof();
    while enc.encoder.receive_packet(&mut pkt).is_ok() {
        out.emit_some(packet_sample(&pkt));
    }
    out.finish();
}
