//! A stream's settings, shared by its renditions and fixed while it runs. A leaf: the rest of
//! the store depends on it, it depends on nothing of the store.

/// Settings shared by every rendition of a stream, fixed while it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSettings {
    /// Stream name, used in URLs.
    pub name: String,
    /// Start stamp in every media URL (Unix seconds at stream start; kept across a resume).
    pub epoch: u64,
    /// EXT-X-TARGETDURATION, whole seconds.
    pub target_duration: u64,
    /// PART-TARGET, seconds; fixed for the life of the stream (Apple players stop when it changes).
    pub part_target: f64,
    /// Complete segments kept in the window.
    pub window_segments: usize,
    /// Address parts as byte ranges of their segment instead of their own URLs.
    pub byterange_parts: bool,
    /// MSN of the first segment.
    pub first_msn: u64,
}
