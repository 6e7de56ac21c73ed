//! Transcoder: the IO shell over ffmpeg-next (skeleton).
