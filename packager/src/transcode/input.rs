//! Opening an input: the built-in test pattern (libavfilter through the lavfi input
//! device), a file, or a live URL, with an interrupt callback so that a blocked read ends
//! when the pipeline stops.

use crate::config::InputConfig;
use crate::rendition::Language;
use ff::{codec, decoder, format, media, Rational};
use ffmpeg_next as ff;
use std::ffi::CString;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Debian `fonts-dejavu-core`; the clock is drawn only when it is installed.
pub(crate) const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// An opened input with its decoders.
pub(crate) struct Source {
    pub ictx: format::context::Input,
    pub video: Option<Decoded<decoder::Video>>,
    pub audio: Option<Decoded<decoder::Audio>>,
}

/// One decoded input stream.
pub(crate) struct Decoded<D> {
    pub index: usize,
    pub time_base: Rational,
    pub decoder: D,
    /// The input codec, for copy rungs and messages.
    pub codec_id: codec::Id,
    /// Average frame rate as probed (video).
    pub rate: Rational,
    /// The input stream's extradata (avcC/hvcC, Annex-B parameter sets, or empty).
    pub extradata: Vec<u8>,
    /// The stream's language from the container's metadata, `und` when it has none.
    pub language: Language,
}

/// The lavfi graph of the test pattern, a function of the wall clock: SMPTE HD bars with a box
/// sweeping across every 4 s, the wall clock (UTC, milliseconds) and the frame number since the
/// Unix epoch burnt in, plus a `sine` tone. `first_frame` is the clock-timeline tick of the first
/// frame ([`crate::clock::first_frame`]): two origins drawing at the same instant draw the same
/// picture. The clock shown is the frame's pts plus the time of day of that first frame.
pub(crate) fn testpattern_graph(cfg: &InputConfig, first_frame: i64) -> String {
    let tp = &cfg.testpattern;
    let first_ms = crate::clock::ms_of(first_frame);
    let day_s = (first_ms.rem_euclid(86_400_000)) as f64 / 1000.0;
    // drawtext's integers are 32-bit: the frame number since the epoch is shown mod 10^6.
    let frame0 = (first_frame / crate::clock::frame_ticks(tp.frame_rate).max(1)) % 1_000_000;
    // The sweep's phase: media time plus the first frame's time within the hour (3600 s is a
    // whole number of 4 s sweeps, so the reduction does not change the picture).
    let hour_s = (first_ms.rem_euclid(3_600_000)) as f64 / 1000.0;
    let box_side = (tp.height / 6).max(8);
    let mut video = format!(
        "smptehdbars=size={w}x{h}:rate={r},drawbox=x='mod((t+{hour_s:.3})*(iw-{b})/4\\,iw-{b})':y=ih*0.52:w={b}:h={b}:color=white@0.9:t=fill",
        w = tp.width,
        h = tp.height,
        r = tp.frame_rate,
        b = box_side,
    );
    if Path::new(FONT).exists() {
        video.push_str(&format!(
            ",drawtext=fontfile={FONT}:fontsize={}:fontcolor=white:box=1:boxcolor=black@0.6:x=(w-tw)/2:y=h-th-{}:text='UTC %{{pts\\:hms\\:{day_s:.3}}}  frame %{{eif\\:mod(n+{frame0}\\,1000000)\\:d}}'",
            (tp.height / 10).max(10),
            (tp.height / 20).max(4)
        ));
    } else {
        tracing::warn!(
            font = FONT,
            "font missing (install fonts-dejavu-core): test pattern without burnt-in clock"
        );
    }
    format!(
        "{video}[out0];sine=frequency={}:sample_rate=48000[out1]",
        tp.tone_hz
    )
}

/// Opens `cfg` (with the test pattern graph when it is the test pattern, its first frame at clock
/// tick `first_frame`). `stop` makes any blocking libavformat call return.
pub(crate) fn open(
    cfg: &InputConfig,
    stop: Arc<AtomicBool>,
    first_frame: i64,
) -> Result<Source, ff::Error> {
    let (url, format_name) = if cfg.is_testpattern() {
        (
            testpattern_graph(cfg, first_frame),
            Some("lavfi".to_owned()),
        )
    } else {
        (cfg.url.clone(), cfg.format.clone())
    };
    let mut options = ff::Dictionary::new();
    for (k, v) in &cfg.options {
        options.set(k, &v.0);
    }
    let ictx = open_input(&url, format_name.as_deref(), options, stop)?;
    let video = ictx.streams().best(media::Type::Video).map(|s| {
        (
            s.index(),
            s.time_base(),
            peak_rate(s.avg_frame_rate(), s.rate()),
            s.parameters(),
        )
    });
    let audio = ictx.streams().best(media::Type::Audio).map(|s| {
        let language = s
            .metadata()
            .get("language")
            .map(Language::parse)
            .unwrap_or_default();
        (s.index(), s.time_base(), s.parameters(), language)
    });
    let video = match video {
        Some((index, time_base, rate, params)) => {
            let codec_id = params.id();
            let extradata = super::ffi::parameters_extradata(&params);
            let mut ctx = codec::context::Context::from_parameters(params)?;
            ctx.set_threading(ff::threading::Config {
                kind: ff::threading::Type::Frame,
                count: 0,
                ..Default::default()
            });
            let mut dec = ctx.decoder();
            dec.set_packet_time_base(time_base);
            Some(Decoded {
                index,
                time_base,
                decoder: dec.video()?,
                codec_id,
                rate,
                extradata,
                language: Language::UNDETERMINED,
            })
        }
        None => None,
    };
    let audio = match audio {
        Some((index, time_base, params, language)) => {
            let codec_id = params.id();
            let mut dec = codec::context::Context::from_parameters(params)?.decoder();
            dec.set_packet_time_base(time_base);
            // An audio stream we cannot decode is treated as absent rather than fatal.
            match dec.audio() {
                Ok(decoder) => Some(Decoded {
                    index,
                    time_base,
                    decoder,
                    codec_id,
                    rate: Rational(0, 1),
                    extradata: Vec::new(),
                    language,
                }),
                Err(e) => {
                    tracing::warn!(error = %e, "input audio cannot be decoded; ignoring it");
                    None
                }
            }
        }
        None => None,
    };
    Ok(Source { ictx, video, audio })
}

fn open_input(
    url: &str,
    format_name: Option<&str>,
    options: ff::Dictionary,
    stop: Arc<AtomicBool>,
) -> Result<format::context::Input, ff::Error> {
    use ff::ffi;
    let c_url = CString::new(url).map_err(|_| ff::Error::InvalidData)?;
    // SAFETY: the sequence libavformat documents for opening an input with an interrupt
    // callback, which ffmpeg-next's `format::input` does not expose:
    // - every C string passed (`c_url`, `c_name`) outlives the call it is passed to;
    // - `ps` is checked non-null after allocation, and owned by this function until
    //   `avformat_open_input` either takes it (success) or frees it (failure, as documented),
    //   so it is never used after a failed open;
    // - `opts` is disowned into C and taken back (`Dictionary::own`) right after the call,
    //   which replaced it with the options it did not use;
    // - after a failed `avformat_find_stream_info` the context is closed here and not used;
    // - on success `wrap_with_interrupt` takes ownership of `ps` together with the interrupt
    //   guard, which keeps the callback's closure alive as long as the context.
    unsafe {
        let fmt: *const ffi::AVInputFormat = match format_name {
            Some(name) => {
                let c_name = CString::new(name).map_err(|_| ff::Error::InvalidData)?;
                let f = ffi::av_find_input_format(c_name.as_ptr());
                if f.is_null() {
                    return Err(ff::Error::DemuxerNotFound);
                }
                f
            }
            None => std::ptr::null(),
        };
        let mut ps = ffi::avformat_alloc_context();
        if ps.is_null() {
            return Err(ff::Error::Other {
                errno: libc_enomem(),
            });
        }
        let interrupt = ff::util::interrupt::new(Box::new(move || stop.load(Ordering::Relaxed)));
        (*ps).interrupt_callback = interrupt.interrupt;
        let mut opts = options.disown();
        let res = ffi::avformat_open_input(&mut ps, c_url.as_ptr(), fmt as _, &mut opts);
        ff::Dictionary::own(opts);
        if res != 0 {
            // avformat_open_input frees the context on failure.
            return Err(ff::Error::from(res));
        }
        let r = ffi::avformat_find_stream_info(ps, std::ptr::null_mut());
        if r < 0 {
            ffi::avformat_close_input(&mut ps);
            return Err(ff::Error::from(r));
        }
        Ok(format::context::Input::wrap_with_interrupt(
            ps,
            interrupt.guard,
        ))
    }
}

fn libc_enomem() -> i32 {
    12
}

/// The frame rate to announce and encode at: the larger of the average and the base rate
/// (`r_frame_rate`). For a variable-frame-rate input the average understates the rate, and
/// FRAME-RATE must be "the maximum frame rate for all the video in the Variant Stream"
/// (rfc8216bis-22 §4.4.6.2). A base rate above 120 fps is a container's tick rate (FLV says
/// 1000), not a frame rate, and is ignored.
fn peak_rate(avg: ff::Rational, base: ff::Rational) -> ff::Rational {
    let fps = |r: ff::Rational| {
        if r.denominator() > 0 && r.numerator() > 0 {
            f64::from(r)
        } else {
            0.0
        }
    };
    if fps(base) > fps(avg) && fps(base) <= 120.0 {
        base
    } else {
        avg
    }
}
