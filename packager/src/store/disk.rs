//! Optional on-disk copy of a rendition: init segments, parts, segments, playlists and a
//! manifest of the window, each written atomically (temp file + rename), so that any static
//! web server can serve the tree and a restart can resume the window.
//!
//! Layout under the root, mirroring the URL scheme:
//! `{stream}/{rendition}/index.m3u8`, `{stream}/{rendition}/{epoch}/init-{id}.mp4`,
//! `{stream}/{rendition}/{epoch}/{msn}.{part}.m4s`, `{stream}/{rendition}/{epoch}/{msn}.m4s`,
//! `{stream}/{rendition}/window.toml` (the manifest).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::window::{DateRangeEntry, PartEntry, SegmentEntry, Window};
use crate::cue::Cue;

/// Errors of the disk copy; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// A file could not be written, read or renamed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The manifest is not valid.
    #[error("{path}: bad manifest: {message}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The directory of one rendition.
#[derive(Debug, Clone)]
pub struct RenditionDir {
    dir: PathBuf,
    epoch: u64,
}

/// One part in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct PartRecord {
    duration: f64,
    independent: bool,
    len: u64,
}

/// One complete segment in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct SegmentRecord {
    msn: u64,
    duration: f64,
    discontinuity: bool,
    discontinuity_sequence: u64,
    init_id: u64,
    wallclock_ms: Option<i64>,
    parts: Vec<PartRecord>,
    /// An EXT-X-GAP segment (no files).
    #[serde(default)]
    gap: bool,
}

/// The manifest: enough to rebuild the window from the files.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Manifest {
    epoch: u64,
    discontinuity_sequence: u64,
    current_init: Option<u64>,
    #[serde(default)]
    segment: Vec<SegmentRecord>,
    /// The cues in the playlist (absent in manifests written before cues existed).
    #[serde(default)]
    cue: Vec<CueRecord>,
}

/// One cue of the window, as the manifest keeps it: all it takes to write its DATERANGE and
/// to answer the API after a restart.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct CueRecord {
    seq: u32,
    id: String,
    class: String,
    data: String,
    duration: Option<f64>,
    pts: i64,
    start_ms: i64,
    end_ms: Option<i64>,
    added_ms: i64,
    msn: u64,
    part: u32,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> DiskError + '_ {
    move |source| DiskError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `chunks` to `path` atomically: a temp file in the same directory, fsync-free
/// (the page cache is enough for a live window), then rename over the target.
pub fn write_atomic(path: &Path, chunks: &[&[u8]]) -> Result<(), DiskError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = fs::File::create(&tmp).map_err(io_err(&tmp))?;
    for c in chunks {
        f.write_all(c).map_err(io_err(&tmp))?;
    }
    drop(f);
    fs::rename(&tmp, path).map_err(io_err(path))
}

impl RenditionDir {
    /// The directory `{root}/{stream}/{rendition}` for media of `epoch`.
    pub fn new(root: &Path, stream: &str, rendition: &str, epoch: u64) -> Self {
        RenditionDir {
            dir: root.join(stream).join(rendition),
            epoch,
        }
    }

    fn media(&self, name: &str) -> PathBuf {
        self.dir.join(self.epoch.to_string()).join(name)
    }

    /// Writes an init segment.
    pub fn write_init(&self, id: u64, bytes: &[u8]) -> Result<(), DiskError> {
        write_atomic(&self.media(&format!("init-{id}.mp4")), &[bytes])
    }

    /// Writes a part.
    pub fn write_part(&self, msn: u64, index: usize, bytes: &[u8]) -> Result<(), DiskError> {
        write_atomic(&self.media(&format!("{msn}.{index}.m4s")), &[bytes])
    }

    /// Writes a complete segment: its bytes in order.
    pub fn write_segment(&self, seg: &SegmentEntry) -> Result<(), DiskError> {
        let chunks = seg.chunks();
        let chunks: Vec<&[u8]> = chunks.iter().map(AsRef::as_ref).collect();
        write_atomic(&self.media(&format!("{}.m4s", seg.msn)), &chunks)
    }

    /// Writes the manifest made by [`RenditionDir::manifest_text`].
    pub fn write_manifest(&self, text: &str) -> Result<(), DiskError> {
        write_atomic(&self.manifest_path(), &[text.as_bytes()])
    }

    /// Writes the media playlist text.
    pub fn write_playlist(&self, text: &str) -> Result<(), DiskError> {
        write_atomic(&self.dir.join("index.m3u8"), &[text.as_bytes()])
    }

    /// Removes the files of a segment that left the window.
    pub fn remove_segment(&self, seg: &SegmentEntry) {
        // Best effort: a file already gone is not an error worth reporting.
        let _ = fs::remove_file(self.media(&format!("{}.m4s", seg.msn)));
        for i in 0..seg.parts.len() {
            let _ = fs::remove_file(self.media(&format!("{}.{i}.m4s", seg.msn)));
        }
    }

    fn manifest_path(&self) -> PathBuf {
        self.dir.join("window.toml")
    }

    /// The manifest of the complete segments of `w` (taken while the window is locked, so the
    /// files written later describe one consistent window; only sizes and times are copied).
    pub fn manifest_text(&self, w: &Window) -> Result<String, DiskError> {
        let m = Manifest {
            epoch: self.epoch,
            discontinuity_sequence: w.discontinuity_sequence,
            current_init: w.current_init,
            segment: w
                .segments
                .iter()
                .filter(|s| s.complete)
                .map(|s| SegmentRecord {
                    msn: s.msn,
                    duration: s.duration,
                    discontinuity: s.discontinuity,
                    discontinuity_sequence: s.discontinuity_sequence,
                    init_id: s.init_id,
                    wallclock_ms: s.wallclock_ms,
                    gap: s.gap,
                    parts: s
                        .parts
                        .iter()
                        .map(|p| PartRecord {
                            duration: p.duration,
                            independent: p.independent,
                            len: p.bytes.len() as u64,
                        })
                        .collect(),
                })
                .collect(),
            cue: w
                .date_ranges
                .iter()
                .map(|d| CueRecord {
                    seq: d.cue.seq,
                    id: d.cue.id.clone(),
                    class: d.cue.class.clone(),
                    data: d.cue.data.clone(),
                    duration: d.cue.duration,
                    pts: d.cue.pts,
                    start_ms: d.cue.start_ms,
                    end_ms: d.cue.end_ms.get().copied(),
                    added_ms: d.added_ms,
                    msn: d.msn,
                    part: d.part,
                })
                .collect(),
        };
        toml::to_string(&m).map_err(|e| DiskError::Manifest {
            path: self.manifest_path(),
            message: e.to_string(),
        })
    }

    /// Reads the epoch a previous run left in `{root}/{stream}/{rendition}`, if any.
    pub fn saved_epoch(root: &Path, stream: &str, rendition: &str) -> Option<u64> {
        let path = root.join(stream).join(rendition).join("window.toml");
        let text = fs::read_to_string(path).ok()?;
        toml::from_str::<Manifest>(&text).ok().map(|m| m.epoch)
    }

    /// Rebuilds the window from the manifest and the files. `Ok(None)` when there is no
    /// manifest, or it belongs to another epoch.
    pub fn restore(&self) -> Result<Option<Window>, DiskError> {
        let path = self.manifest_path();
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(DiskError::Io { path, source: e }),
        };
        let m: Manifest = toml::from_str(&text).map_err(|e| DiskError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if m.epoch != self.epoch {
            return Ok(None);
        }
        let mut w = Window {
            discontinuity_sequence: m.discontinuity_sequence,
            current_init: m.current_init,
            ..Window::default()
        };
        for rec in m.segment {
            if let std::collections::btree_map::Entry::Vacant(slot) = w.inits.entry(rec.init_id) {
                let p = self.media(&format!("init-{}.mp4", rec.init_id));
                slot.insert(Bytes::from(fs::read(&p).map_err(io_err(&p))?));
            }
            let mut parts = Vec::with_capacity(rec.parts.len());
            for (i, pr) in rec.parts.iter().enumerate() {
                let p = self.media(&format!("{}.{i}.m4s", rec.msn));
                let bytes = Bytes::from(fs::read(&p).map_err(io_err(&p))?);
                if bytes.len() as u64 != pr.len {
                    return Err(DiskError::Manifest {
                        path: p,
                        message: format!("length {} != manifest {}", bytes.len(), pr.len),
                    });
                }
                parts.push(PartEntry {
                    bytes,
                    duration: pr.duration,
                    independent: pr.independent,
                });
            }
            let mut seg = SegmentEntry {
                msn: rec.msn,
                parts,
                whole: None,
                duration: rec.duration,
                complete: true,
                discontinuity: rec.discontinuity,
                discontinuity_sequence: rec.discontinuity_sequence,
                init_id: rec.init_id,
                wallclock_ms: rec.wallclock_ms,
                gap: rec.gap,
            };
            seg.join();
            w.segments.push_back(seg);
        }
        // Cues placed in parts a restart lost (of the open segment) are gone with them.
        let last_msn = w.segments.back().map(|s| s.msn);
        for c in m.cue.into_iter().filter(|c| Some(c.msn) <= last_msn) {
            let end_ms = std::sync::OnceLock::new();
            if let Some(end) = c.end_ms {
                let _ = end_ms.set(end);
            }
            w.date_ranges.push(DateRangeEntry {
                cue: std::sync::Arc::new(Cue {
                    seq: c.seq,
                    id: c.id,
                    class: c.class,
                    data: c.data,
                    duration: c.duration,
                    pts: c.pts,
                    start_ms: c.start_ms,
                    end_ms,
                    data_base64: Default::default(),
                }),
                added_ms: c.added_ms,
                msn: c.msn,
                part: c.part,
            });
        }
        Ok(Some(w))
    }
}
