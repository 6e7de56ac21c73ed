//! Test support shared by every crate's tests (feature `testing`): the stream-settings fixture,
//! golden-file comparison with a line diff, and the ffprobe/ffmpeg checks that verify media
//! with a decoder no one here wrote. Not part of the product.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::store::StreamSettings;

/// Settings of a test stream: epoch 1,700,000,000, 2 s target, 1/3 s parts, a 30-segment
/// window, parts with their own URLs, MSNs from 0. Change fields with struct update syntax.
pub fn settings(name: &str) -> StreamSettings {
    StreamSettings {
        name: name.to_owned(),
        epoch: 1_700_000_000,
        target_duration: 2,
        part_target: 1.0 / 3.0,
        window_segments: 30,
        byterange_parts: false,
        first_msn: 0,
    }
}

/// The repository's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// Compares `actual` with `fixtures/golden/{name}`; on a difference, panics with a unified line
/// diff. `UPDATE_GOLDEN=1` rewrites the file instead (review the diff before committing).
pub fn assert_golden(name: &str, actual: &str) {
    let path = fixtures().join("golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("golden dir")).expect("create golden dir");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    if want != actual {
        let diff = similar::TextDiff::from_lines(want.as_str(), actual)
            .unified_diff()
            .context_radius(3)
            .header(&format!("golden/{name}"), "actual")
            .to_string();
        panic!("{name} differs from its golden file (UPDATE_GOLDEN=1 rewrites it):\n{diff}");
    }
}

/// One packet as ffprobe reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Probed {
    /// Presentation timestamp.
    pub pts: i64,
    /// Decode timestamp.
    pub dts: i64,
    /// A key frame.
    pub key: bool,
    /// Bytes.
    pub size: usize,
}

/// Runs ffprobe with `args` on `path`; panics unless it succeeds without a word on stderr.
/// Returns its stdout.
fn ffprobe(args: &[&str], path: &Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "ffprobe {}: {err}",
        path.display()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// ffprobe -show_packets over a file; panics on any ffprobe error output.
pub fn probe_packets(path: &Path) -> Vec<Probed> {
    let text = ffprobe(
        &[
            "-show_packets",
            "-show_entries",
            "packet=pts,dts,flags,size",
            "-of",
            "csv=p=0",
        ],
        path,
    );
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Probed {
                pts: f[0].parse().expect("pts"),
                dts: f[1].parse().expect("dts"),
                size: f[2].parse().expect("size"),
                key: f[3].starts_with('K'),
            }
        })
        .collect()
}

/// ffprobe's "codec,width,height,frames" of the first stream (frames decoded and counted), and
/// that frame count.
pub fn probe_stream(path: &Path) -> (String, u64) {
    let text = ffprobe(
        &[
            "-count_frames",
            "-select_streams",
            "0",
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames",
            "-of",
            "csv=p=0",
        ],
        path,
    );
    let text = text.trim().to_string();
    let frames = text
        .rsplit(',')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (text, frames)
}

/// Decodes a file fully with the ffmpeg CLI; returns stderr at -v error (empty means clean).
pub fn decode_errors(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let mut s = String::from_utf8_lossy(&out.stderr).to_string();
    if !out.status.success() {
        s.push_str(&format!("\nexit status {}", out.status));
    }
    s
}

/// Presentation timestamps of decoded frames of the first stream, in decode output order
/// (ffprobe -show_frames).
pub fn probe_frame_pts(path: &Path) -> Vec<i64> {
    ffprobe(
        &[
            "-select_streams",
            "0",
            "-show_frames",
            "-show_entries",
            "frame=pts",
            "-of",
            "csv=p=0",
        ],
        path,
    )
    .lines()
    .filter_map(|l| l.split(',').next().and_then(|f| f.trim().parse().ok()))
    .collect()
}
