//! A stream (its renditions and settings) and the store of all streams.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use super::disk::{DiskError, RenditionDir};
use super::rendition::Rendition;
use super::settings::StreamSettings;
use crate::cue::CueBook;
use crate::playlist::{rules, uri, AudioRendition, MediaPlaylist, MultivariantPlaylist, Variant};
use crate::rendition::{RenditionInfo, RenditionKind};

/// One live stream: its renditions, video rungs first, then audio.
#[derive(Debug)]
pub struct Stream {
    settings: Arc<StreamSettings>,
    renditions: Vec<Arc<Rendition>>,
    cues: Arc<CueBook>,
    /// The transcoder's counters, once its pipeline runs (for `/metrics`).
    ingest: std::sync::OnceLock<Arc<crate::counters::Metrics>>,
}

impl Stream {
    /// A stream with empty renditions, in memory only.
    pub fn new(settings: StreamSettings, renditions: Vec<RenditionInfo>) -> Arc<Stream> {
        match Stream::open(settings, renditions, None, Arc::default()) {
            Ok(s) => s,
            // Without a disk copy nothing is read, so nothing can fail.
            Err(_) => unreachable!("a stream without a disk copy cannot fail to open"),
        }
    }

    /// A stream whose renditions keep a copy under `root` and resume what a previous run of
    /// the same epoch left there.
    pub fn with_disk(
        settings: StreamSettings,
        renditions: Vec<RenditionInfo>,
        root: &Path,
    ) -> Result<Arc<Stream>, DiskError> {
        Stream::open(settings, renditions, Some(root), Arc::default())
    }

    /// A stream with its cue book (shared with the transcoder that binds cues to frames) and,
    /// with `root`, a disk copy resumed from a previous run of the same epoch (its cues too).
    pub fn open(
        settings: StreamSettings,
        renditions: Vec<RenditionInfo>,
        root: Option<&Path>,
        cues: Arc<CueBook>,
    ) -> Result<Arc<Stream>, DiskError> {
        let settings = Arc::new(settings);
        cues.set_renditions(renditions.iter().map(|r| r.name.clone()).collect());
        let renditions: Vec<Arc<Rendition>> = renditions
            .into_iter()
            .map(|info| {
                let r = Rendition::new(info, Arc::clone(&settings), Arc::clone(&cues));
                match root {
                    Some(root) => {
                        let dir =
                            RenditionDir::new(root, &settings.name, &r.info().name, settings.epoch);
                        r.with_disk(dir).map(Arc::new)
                    }
                    None => Ok(Arc::new(r)),
                }
            })
            .collect::<Result<_, _>>()?;
        // Restored cues: every rendition kept the same ones (§6.2.4); the first tells the book.
        if let Some(first) = renditions.first() {
            let (restored, placed) = first.restored_cues();
            cues.restore(restored, first.name(), &placed);
        }
        Ok(Arc::new(Stream {
            settings,
            renditions,
            cues,
            ingest: std::sync::OnceLock::new(),
        }))
    }

    /// Its cues.
    pub fn cues(&self) -> &Arc<CueBook> {
        &self.cues
    }

    /// Attaches the transcoder's counters (once; later calls are ignored).
    pub fn set_ingest_metrics(&self, metrics: Arc<crate::counters::Metrics>) {
        let _ = self.ingest.set(metrics);
    }

    /// The transcoder's counters, when a pipeline feeds this stream.
    pub fn ingest_metrics(&self) -> Option<&Arc<crate::counters::Metrics>> {
        self.ingest.get()
    }

    /// Its settings.
    pub fn settings(&self) -> &StreamSettings {
        &self.settings
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// All renditions in order.
    pub fn renditions(&self) -> &[Arc<Rendition>] {
        &self.renditions
    }

    /// A rendition by name.
    pub fn rendition(&self, name: &str) -> Option<&Arc<Rendition>> {
        self.renditions.iter().find(|r| r.name() == name)
    }

    /// The full media playlist model of one rendition, with a rendition report for every other
    /// rendition (rfc8216bis-22 Appendix B.1; §4.4.5.4: relative URIs).
    pub fn media_playlist(&self, rendition: &Rendition) -> MediaPlaylist {
        let mut model = rendition.playlist_model();
        if !model.ended {
            model.rendition_reports = self
                .renditions
                .iter()
                .filter(|r| r.name() != rendition.name())
                .map(|r| r.report(uri::rendition_report_uri(r.name())))
                .collect();
        }
        model
    }

    /// The multivariant playlist: one variant per video rung, the audio rendition as an
    /// EXT-X-MEDIA group that every variant names (rfc8216bis-22 §4.4.6.1, §4.4.6.2).
    /// BANDWIDTH is the peak segment bit rate measured over the window and AVERAGE-BANDWIDTH
    /// the mean (§4.4.6.2), each with the audio's added since a variant plays both; until a
    /// segment exists, the configured bitrate stands in.
    pub fn multivariant(&self) -> MultivariantPlaylist {
        const AUDIO_GROUP: &str = "audio";
        let target = self.settings.target_duration;
        let measured = |r: &Rendition| {
            let sizes = r.segment_sizes();
            if sizes.is_empty() {
                (r.info().nominal_bitrate, r.info().nominal_bitrate)
            } else {
                (
                    rules::peak_bandwidth(&sizes, target),
                    rules::average_bandwidth(&sizes),
                )
            }
        };
        let audio: Vec<&Arc<Rendition>> = self
            .renditions
            .iter()
            .filter(|r| matches!(r.info().kind, RenditionKind::Audio { .. }))
            .collect();
        let (audio_peak, audio_avg) = audio.first().map_or((0, 0), |a| measured(a));
        let audio_codec = audio.first().and_then(|a| a.codec_string());
        let variants = self
            .renditions
            .iter()
            .filter_map(|r| match r.info().kind {
                RenditionKind::Video {
                    width,
                    height,
                    frame_rate,
                    ..
                } => {
                    let (peak, avg) = measured(r);
                    let codecs: Vec<String> = r
                        .codec_string()
                        .into_iter()
                        .chain(audio_codec.clone())
                        .collect();
                    Some(Variant {
                        uri: uri::media_playlist_uri(r.name()),
                        bandwidth: peak + audio_peak,
                        average_bandwidth: Some(avg + audio_avg),
                        codecs: codecs.join(","),
                        resolution: Some((u64::from(width), u64::from(height))),
                        frame_rate: Some(frame_rate.fps()),
                        audio_group: (!audio.is_empty()).then(|| AUDIO_GROUP.to_owned()),
                    })
                }
                RenditionKind::Audio { .. } => None,
            })
            .collect::<Vec<_>>();
        let audio_only = variants.is_empty();
        let mut m = MultivariantPlaylist {
            independent_segments: true,
            variants,
            audio: audio
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let (channels, language) = match a.info().kind {
                        RenditionKind::Audio {
                            channels, language, ..
                        } => (channels, language),
                        RenditionKind::Video { .. } => (2, Default::default()),
                    };
                    AudioRendition {
                        group_id: AUDIO_GROUP.to_owned(),
                        name: a.name().to_owned(),
                        default: i == 0,
                        autoselect: true,
                        language: (!language.is_undetermined()).then(|| language.to_string()),
                        channels: Some(channels.to_string()),
                        uri: Some(uri::media_playlist_uri(a.name())),
                    }
                })
                .collect(),
        };
        if audio_only {
            // An audio-only stream: its audio playlist is the variant (§4.4.6.2 needs one).
            m.variants = audio
                .iter()
                .map(|a| Variant {
                    uri: uri::media_playlist_uri(a.name()),
                    bandwidth: audio_peak,
                    average_bandwidth: Some(audio_avg),
                    codecs: a.codec_string().unwrap_or_default(),
                    ..Variant::default()
                })
                .collect();
            m.audio.clear();
        }
        m
    }

    /// Ends every rendition (ENDLIST; waiters are released).
    pub fn close(&self) {
        for r in &self.renditions {
            r.close();
        }
    }
}

/// Every stream this process serves, by name.
#[derive(Debug, Default)]
pub struct Store {
    // std RwLock: streams are added at start-up and read on every request; never held across `.await`.
    streams: RwLock<BTreeMap<String, Arc<Stream>>>,
}

impl Store {
    /// An empty store.
    pub fn new() -> Arc<Store> {
        Arc::new(Store::default())
    }

    /// Adds (or replaces) a stream.
    pub fn insert(&self, stream: Arc<Stream>) {
        self.streams
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(stream.name().to_owned(), stream);
    }

    /// A stream by name.
    pub fn stream(&self, name: &str) -> Option<Arc<Stream>> {
        self.streams
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// All streams, by name.
    pub fn streams(&self) -> Vec<Arc<Stream>> {
        self.streams
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }
}
