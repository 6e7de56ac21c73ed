//! Chunker → store (with disk copy) → playlists on disk → the ffmpeg CLI's own HLS demuxer
//! reads the whole ladder back and decodes it with no error.

mod common;

use std::process::Command;

use common::{demux, fixture, Want};
use packager::cmaf::{Chunker, ChunkerConfig};
use packager::config::FrameRate;
use packager::playlist::Skip;
use packager::store::{write_atomic, RenditionInfo, Stream, StreamSettings};

fn feed(r: &packager::store::Rendition, d: &common::Demuxed) {
    let mut c = Chunker::new(ChunkerConfig::default());
    c.set_track(d.track.clone()).unwrap();
    for s in &d.samples {
        c.push(s.clone()).unwrap();
        while let Some(ev) = c.pull() {
            r.apply(ev);
        }
    }
    c.finish().unwrap();
    while let Some(ev) = c.pull() {
        r.apply(ev);
    }
}

#[test]
fn ffmpeg_reads_the_stored_ladder_as_hls() {
    let dir = tempfile::tempdir().unwrap();
    let settings = StreamSettings {
        epoch: 42,
        window_segments: 100,
        ..packager::testing::settings("live")
    };
    let infos = vec![
        RenditionInfo::video("v0", 320, 180, FrameRate { num: 30, den: 1 }, 300_000),
        RenditionInfo::audio("a0", 2, 48_000, 64_000),
    ];
    let stream = Stream::with_disk(settings, infos, dir.path()).unwrap();
    let video = demux(&fixture("h264_aac_bframes.mp4"), Want::Video);
    let audio = demux(&fixture("h264_aac_bframes.mp4"), Want::Audio);
    feed(stream.rendition("v0").unwrap(), &video);
    feed(stream.rendition("a0").unwrap(), &audio);

    // While live: every model passes the playlist rules and renders.
    for r in stream.renditions() {
        let m = stream.media_playlist(r);
        m.check().unwrap();
        assert!(m.render(Skip::No).contains("#EXT-X-PART:"));
    }
    stream.close();
    for r in stream.renditions() {
        let text = stream.media_playlist(r).render(Skip::No);
        assert!(text.contains("#EXT-X-ENDLIST"));
        r.write_playlist(&text);
    }
    let master = stream.multivariant().render().unwrap();
    // ffprobe reports this fixture as High profile (0x64), level 1.3 (0x0d).
    assert!(
        master.contains("CODECS=\"avc1.64000d,mp4a.40.2\""),
        "{master}"
    );
    write_atomic(&dir.path().join("live/master.m3u8"), &[master.as_bytes()]).unwrap();

    let master_path = dir.path().join("live/master.m3u8");
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-allowed_extensions", "ALL", "-i"])
        .arg(&master_path)
        .args(["-map", "0", "-f", "null", "-"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "ffmpeg: {err}"
    );

    let count = |media: &str, sel: &str| -> usize {
        let out = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                sel,
                "-count_packets",
                "-show_entries",
                "stream=nb_read_packets",
                "-of",
                "csv=p=0",
            ])
            .arg(dir.path().join(media))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| l.trim().trim_end_matches(',').parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "ffprobe {media}: {text:?} {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
    };
    assert_eq!(count("live/v0/index.m3u8", "v:0"), video.samples.len());
    assert_eq!(count("live/a0/index.m3u8", "a:0"), audio.samples.len());
}
