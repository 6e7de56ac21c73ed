//! The llhls URL scheme, as the relative URIs written into playlists.
//!
//! Absolute paths (served by the origin): multivariant `/{stream}/master.m3u8`, media playlist
//! `/{stream}/{rendition}/index.m3u8`, init `/{stream}/{rendition}/{epoch}/init-{id}.mp4`,
//! segment `/{stream}/{rendition}/{epoch}/{msn}.m4s`, part
//! `/{stream}/{rendition}/{epoch}/{msn}.{part}.m4s`. Inside a media playlist the media URIs are
//! relative to it (`{epoch}/...`); rendition reports point at `../{other}/index.m3u8` — they MUST
//! be relative (draft-pantos-hls-rfc8216bis-22 §4.4.5.4). The `epoch` (Unix seconds at stream
//! start) keeps URIs of different runs apart in any cache.

/// Part URI relative to the media playlist: `{epoch}/{msn}.{part}.m4s`.
pub fn part_uri(epoch: u64, msn: u64, part: u32) -> String {
    format!("{epoch}/{msn}.{part}.m4s")
}

/// Segment URI relative to the media playlist: `{epoch}/{msn}.m4s`.
pub fn segment_uri(epoch: u64, msn: u64) -> String {
    format!("{epoch}/{msn}.m4s")
}

/// Init segment URI relative to the media playlist: `{epoch}/init-{id}.mp4`, where `id` is the
/// discontinuity sequence number the init starts.
pub fn init_uri(epoch: u64, id: u64) -> String {
    format!("{epoch}/init-{id}.mp4")
}

/// Media playlist URI relative to the multivariant playlist: `{rendition}/index.m3u8`.
pub fn media_playlist_uri(rendition: &str) -> String {
    format!("{rendition}/index.m3u8")
}

/// EXT-X-RENDITION-REPORT URI of rendition `other`, relative to a sibling media playlist:
/// `../{other}/index.m3u8`.
pub fn rendition_report_uri(other: &str) -> String {
    format!("../{other}/index.m3u8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_follow_the_scheme() {
        assert_eq!(part_uri(1_700_000_000, 42, 3), "1700000000/42.3.m4s");
        assert_eq!(segment_uri(1_700_000_000, 42), "1700000000/42.m4s");
        assert_eq!(init_uri(1_700_000_000, 0), "1700000000/init-0.mp4");
        assert_eq!(media_playlist_uri("720p"), "720p/index.m3u8");
        assert_eq!(rendition_report_uri("audio"), "../audio/index.m3u8");
        assert_eq!(
            part_uri(u64::MAX, u64::MAX, u32::MAX),
            format!("{0}/{0}.{1}.m4s", u64::MAX, u32::MAX)
        );
    }
}
