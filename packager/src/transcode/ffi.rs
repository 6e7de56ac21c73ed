//! The raw reads of ffmpeg structs that ffmpeg-next has no safe accessor for, each in one place
//! with the argument for its soundness. Nothing else in the transcoder reads codec fields
//! through a pointer.

use ffmpeg_next as ff;
use std::os::raw::c_int;

/// A copy of an ffmpeg `(extradata, extradata_size)` pair; empty when there is none.
///
/// # Safety
/// `data` must be null, or point to at least `size` bytes that are readable and not written
/// for the duration of the call.
unsafe fn copy_extradata(data: *const u8, size: c_int) -> Vec<u8> {
    match usize::try_from(size) {
        Ok(n) if n > 0 && !data.is_null() => {
            // SAFETY: non-null and `n` readable bytes, per this function's contract.
            unsafe { std::slice::from_raw_parts(data, n) }.to_vec()
        }
        _ => Vec::new(),
    }
}

/// The extradata of a stream's codec parameters (avcC/hvcC, Annex-B parameter sets, or empty).
pub(super) fn parameters_extradata(params: &ff::codec::Parameters) -> Vec<u8> {
    // SAFETY: `as_ptr` of a live `Parameters` is a valid AVCodecParameters, borrowed (so not
    // freed or written) for this call. libavcodec keeps `extradata` null or allocated with at
    // least `extradata_size` bytes (AVCodecParameters docs), which is copy_extradata's contract.
    unsafe {
        let p = &*params.as_ptr();
        copy_extradata(p.extradata, p.extradata_size)
    }
}

/// The extradata an opened encoder produced (with `GLOBAL_HEADER`: avcC/hvcC for x264/x265,
/// the AudioSpecificConfig for AAC).
pub(super) fn encoder_extradata(ctx: &ff::codec::Context) -> Vec<u8> {
    // SAFETY: `as_ptr` of a live, opened codec context is a valid AVCodecContext, borrowed for
    // this call. An opened encoder's `extradata` is null or `extradata_size` bytes long
    // (AVCodecContext docs: "allocated ... by libavcodec" for encoders), copy_extradata's
    // contract.
    unsafe {
        let p = &*ctx.as_ptr();
        copy_extradata(p.extradata, p.extradata_size)
    }
}

/// An opened audio encoder's frame size in samples (at least 1) and its priming in samples
/// (`initial_padding`: 1024 for AAC).
pub(super) fn encoder_framing(ctx: &ff::codec::Context) -> (usize, i64) {
    // SAFETY: plain integer fields of a valid AVCodecContext (see `encoder_extradata`).
    let (frame_size, padding) = unsafe {
        let p = &*ctx.as_ptr();
        (p.frame_size, p.initial_padding)
    };
    (
        usize::try_from(frame_size.max(1)).unwrap_or(1),
        i64::from(padding),
    )
}

/// Sets the rate-control buffer and the frame rate of a video encoder not yet opened (fields
/// ffmpeg-next's setters do not cover).
pub(super) fn set_video_rate_control(
    enc: &mut ff::encoder::video::Video,
    buffer_bits: u64,
    frame_rate: (i32, i32),
) {
    // SAFETY: `as_mut_ptr` of a live, exclusively borrowed encoder context not yet opened is a
    // valid AVCodecContext that nothing else reads or writes during this call; these are plain
    // integer fields libavcodec reads when the encoder opens.
    unsafe {
        let p = &mut *enc.as_mut_ptr();
        p.rc_buffer_size = buffer_bits.min(i32::MAX as u64) as i32;
        p.framerate = ff::ffi::AVRational {
            num: frame_rate.0,
            den: frame_rate.1,
        };
    }
}

/// A new reference to the same picture buffers (no copy), or `None` when out of memory.
pub(super) fn share_frame(f: &ff::frame::Video) -> Option<ff::frame::Video> {
    // SAFETY: `av_frame_clone` takes a valid AVFrame (the borrowed frame's) and returns a new
    // frame holding new references to its buffers, or null. A non-null result is owned by
    // nobody else, so `wrap` may take ownership of it (and free it on drop).
    unsafe {
        let p = ff::ffi::av_frame_clone(f.as_ptr());
        (!p.is_null()).then(|| ff::frame::Video::wrap(p))
    }
}
