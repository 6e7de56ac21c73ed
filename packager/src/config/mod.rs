//! Stream and ladder configuration: the TOML file format, its defaults, and its validation.
//!
//! Owned here: the serde types (every default stated in its doc comment), parsing with
//! `deny_unknown_fields`, semantic validation ([`Config::validate`]) with errors that name the
//! field path and the line (`stream "news" rung[2].bitrate: expected a positive bitrate like
//! "1400k", line 14`), the embedded default configuration, and the human ladder table
//! printed by `llhls check`.
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:8080"
//!
//! [[stream]]
//! name = "live"
//! input = { url = "testpattern" }
//! [[stream.rung]]
//! name = "720p"
//! height = 720
//! bitrate = "3M"
//! ```

mod describe;
mod locate;
mod units;
mod validate;

pub use units::{Bitrate, FrameRate, OptionValue};

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The embedded default configuration (also shipped as `fixtures/config/default.toml`).
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// The URL that selects the built-in test pattern instead of opening an input.
pub const TESTPATTERN_URL: &str = "testpattern";

/// A whole configuration file: the server section and one or more streams.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[server]`: where the origin listens. Default: see [`ServerConfig`].
    #[serde(default)]
    pub server: ServerConfig,
    /// `[[stream]]` tables, at least one. Default: none (an error).
    #[serde(rename = "stream", default)]
    pub streams: Vec<StreamConfig>,
}

/// `[server]`: the HTTP origin.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port to listen on. Default `"127.0.0.1:8080"`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Directory where segments are spilled and restored across restarts. Default: none
    /// (memory only).
    #[serde(default)]
    pub storage: Option<PathBuf>,
    /// `[server.tls]`: serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN) with this certificate.
    /// Default: none (plain HTTP/1.1 and h2c).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// The token the cue API's writes must present (`Authorization: Bearer …`). Default: the
    /// `LLHLS_API_TOKEN` environment variable, else a random one made at start and printed once.
    #[serde(default)]
    pub api_token: Option<String>,
}

/// `[server.tls]`: the certificate the origin serves HTTPS with. Both files are PEM; relative
/// paths are relative to the working directory, as `storage` is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key of the leaf (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            storage: None,
            tls: None,
            api_token: None,
        }
    }
}

/// `[[stream]]`: one input packaged as one multivariant playlist.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// Stream name, the first URL path segment (`/{name}/master.m3u8`): letters, digits,
    /// `-` and `_`. Required.
    pub name: String,
    /// `input = { … }` or `[stream.input]`: where the media comes from. Required.
    pub input: InputConfig,
    /// Target segment duration in seconds (EXT-X-TARGETDURATION is its rounded value,
    /// rfc8216bis-22 §4.4.3.1). 1 to 10. Default 2.0.
    #[serde(default = "default_segment_target")]
    pub segment_target: f64,
    /// Target part duration in seconds (EXT-X-PART-INF PART-TARGET, rfc8216bis-22 §4.4.3.7).
    /// At least 0.1 and below `segment_target`. Default 1/3 (0.333…).
    #[serde(default = "default_part_target")]
    pub part_target: f64,
    /// Number of complete segments kept in the playlist and in memory. 4 to 1000. Default 30.
    #[serde(default = "default_window")]
    pub window: u32,
    /// Address parts as byte ranges of their segment (EXT-X-PART BYTERANGE, and a
    /// PRELOAD-HINT with BYTERANGE-START for the rest of the open segment, rfc8216bis
    /// §4.4.4.9, §4.4.5.3), so that one open request per segment receives each part the moment
    /// it is complete. Default false: every part has its own URL.
    #[serde(default)]
    pub byterange_parts: bool,
    /// `[stream.audio]`: the one shared audio rendition. Default: AAC 128k stereo 48 kHz.
    #[serde(default)]
    pub audio: AudioConfig,
    /// `[[stream.rung]]`: the video ladder, best first. Default: none (then audio is required).
    #[serde(rename = "rung", default)]
    pub rungs: Vec<RungConfig>,
}

fn default_segment_target() -> f64 {
    2.0
}
fn default_part_target() -> f64 {
    1.0 / 3.0
}
fn default_window() -> u32 {
    30
}

/// `[stream.input]`: a URL or path that libavformat opens, or the built-in test pattern.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    /// `"testpattern"`, a file path, or a URL (`rtmp://0.0.0.0:1935/live/key` with
    /// `options = { listen = 1 }`, `srt://0.0.0.0:9000?mode=listener`, `udp://0.0.0.0:5000`).
    /// Required.
    pub url: String,
    /// Force the input format (`"flv"`, `"mpegts"`). Default: probed.
    #[serde(default)]
    pub format: Option<String>,
    /// Options passed to libavformat when opening (`listen = 1`, `timeout = "5000000"`).
    /// Default: none.
    #[serde(default)]
    pub options: BTreeMap<String, OptionValue>,
    /// Restart a file at its end and keep one continuous output timeline. Files only.
    /// Default false.
    #[serde(default, rename = "loop")]
    pub looped: bool,
    /// Pace a file or the test pattern to real time (live inputs are paced by their
    /// sender). Default true.
    #[serde(default = "default_true")]
    pub realtime: bool,
    /// `[stream.input.testpattern]`: the generator used when `url = "testpattern"`.
    /// Default: see [`TestPatternConfig`].
    #[serde(default)]
    pub testpattern: TestPatternConfig,
}

fn default_true() -> bool {
    true
}

impl InputConfig {
    /// True when this input is the built-in generator.
    pub fn is_testpattern(&self) -> bool {
        self.url == TESTPATTERN_URL
    }

    /// True when the URL names a network protocol (`scheme://`) rather than a file.
    pub fn is_network(&self) -> bool {
        !self.is_testpattern()
            && self
                .url
                .split_once("://")
                .is_some_and(|(scheme, _)| scheme != "file")
    }
}

/// `[stream.input.testpattern]`: moving picture with a burnt-in wall clock and frame counter,
/// plus a sine tone.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestPatternConfig {
    /// Picture width in pixels (even). Default 1280.
    #[serde(default = "default_tp_width")]
    pub width: u32,
    /// Picture height in pixels (even). Default 720.
    #[serde(default = "default_tp_height")]
    pub height: u32,
    /// Frames per second. Default 30.
    #[serde(default = "default_tp_rate")]
    pub frame_rate: FrameRate,
    /// Tone frequency in Hz. Default 1000.
    #[serde(default = "default_tone")]
    pub tone_hz: u32,
}

fn default_tp_width() -> u32 {
    1280
}
fn default_tp_height() -> u32 {
    720
}
fn default_tp_rate() -> FrameRate {
    FrameRate { num: 30, den: 1 }
}
fn default_tone() -> u32 {
    1000
}

impl Default for TestPatternConfig {
    fn default() -> Self {
        TestPatternConfig {
            width: default_tp_width(),
            height: default_tp_height(),
            frame_rate: default_tp_rate(),
            tone_hz: default_tone(),
        }
    }
}

/// Audio codec of the shared audio rendition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioCodec {
    /// AAC-LC through FFmpeg's native encoder.
    Aac,
    /// No audio rendition (input audio is ignored).
    None,
}

/// `[stream.audio]`: the single audio rendition every variant references.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioConfig {
    /// Rendition name (URL path segment). Default `"audio"`.
    #[serde(default = "default_audio_name")]
    pub name: String,
    /// `"aac"` or `"none"`. Default `"aac"`.
    #[serde(default = "default_audio_codec")]
    pub codec: AudioCodec,
    /// Encoder bitrate, 16k to 512k. Default `"128k"`.
    #[serde(default = "default_audio_bitrate")]
    pub bitrate: Bitrate,
    /// Output channels, 1 or 2. Default 2.
    #[serde(default = "default_channels")]
    pub channels: u16,
    /// Output sample rate in Hz (one AAC rate, 8000 to 96000). Default 48000.
    #[serde(default = "default_sample_rate")]
    pub sample_rate: u32,
}

fn default_audio_name() -> String {
    "audio".into()
}
fn default_audio_codec() -> AudioCodec {
    AudioCodec::Aac
}
fn default_audio_bitrate() -> Bitrate {
    Bitrate(128_000)
}
fn default_channels() -> u16 {
    2
}
fn default_sample_rate() -> u32 {
    48_000
}

impl Default for AudioConfig {
    fn default() -> Self {
        AudioConfig {
            name: default_audio_name(),
            codec: default_audio_codec(),
            bitrate: default_audio_bitrate(),
            channels: default_channels(),
            sample_rate: default_sample_rate(),
        }
    }
}

impl AudioConfig {
    /// True unless `codec = "none"`.
    pub fn enabled(&self) -> bool {
        self.codec != AudioCodec::None
    }
}

/// Video codec of a rung.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoCodec {
    /// H.264/AVC through libx264.
    H264,
    /// H.265/HEVC through libx265.
    Hevc,
    /// The input video, passed through without re-encoding.
    Copy,
}

/// `[[stream.rung]]`: one video rendition of the ladder.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RungConfig {
    /// Rendition name (URL path segment). Required.
    pub name: String,
    /// Output width in pixels (even). Default: from `height` keeping the input aspect
    /// (rounded to even), or the input width when both are absent.
    #[serde(default)]
    pub width: Option<u32>,
    /// Output height in pixels (even). Default: from `width` keeping the input aspect
    /// (rounded to even), or the input height when both are absent.
    #[serde(default)]
    pub height: Option<u32>,
    /// Output frame rate (frames are dropped or repeated). Default: the input rate.
    #[serde(default)]
    pub frame_rate: Option<FrameRate>,
    /// `"h264"`, `"hevc"` or `"copy"`. Default `"h264"`.
    #[serde(default = "default_video_codec")]
    pub codec: VideoCodec,
    /// Average bitrate. Required unless `codec = "copy"`.
    #[serde(default)]
    pub bitrate: Option<Bitrate>,
    /// VBV maximum rate, at least `bitrate`. Default: `bitrate`.
    #[serde(default)]
    pub maxrate: Option<Bitrate>,
    /// VBV buffer size in bits. Default: `maxrate` (one second of buffer).
    #[serde(default)]
    pub bufsize: Option<Bitrate>,
    /// x264/x265 preset (`ultrafast` … `veryslow`). Default `"veryfast"`.
    #[serde(default)]
    pub preset: Option<String>,
    /// Codec profile: h264 `baseline`/`main`/`high`, hevc `main`. Default: `high` (h264),
    /// `main` (hevc).
    #[serde(default)]
    pub profile: Option<String>,
    /// Maximum consecutive B-frames, 0 to 4; 0 keeps decode order = presentation order
    /// (lowest delay). Default 0.
    #[serde(default)]
    pub bframes: Option<u32>,
    /// Extra encoder private options, passed as-is (`{ "x264-params" = "aq-mode=2" }`).
    /// Default: none.
    #[serde(default)]
    pub options: BTreeMap<String, OptionValue>,
}

fn default_video_codec() -> VideoCodec {
    VideoCodec::H264
}

/// Default x264/x265 preset.
pub const DEFAULT_PRESET: &str = "veryfast";

impl RungConfig {
    /// The preset in effect (`preset`, or [`DEFAULT_PRESET`]).
    pub fn preset(&self) -> &str {
        self.preset.as_deref().unwrap_or(DEFAULT_PRESET)
    }

    /// The profile in effect (`profile`, or `high` for h264 / `main` for hevc).
    pub fn profile(&self) -> &str {
        match (&self.profile, self.codec) {
            (Some(p), _) => p,
            (None, VideoCodec::Hevc) => "main",
            (None, _) => "high",
        }
    }

    /// B-frames in effect (`bframes`, or 0).
    pub fn bframes(&self) -> u32 {
        self.bframes.unwrap_or(0)
    }

    /// VBV max rate in effect (`maxrate`, or `bitrate`).
    pub fn maxrate(&self) -> Option<Bitrate> {
        self.maxrate.or(self.bitrate)
    }

    /// VBV buffer in effect (`bufsize`, or the max rate).
    pub fn bufsize(&self) -> Option<Bitrate> {
        self.bufsize.or(self.maxrate())
    }

    /// The output picture size for an input of `input_w`×`input_h`, keeping the aspect when
    /// only one side is given, rounded to even, at least 2×2.
    pub fn output_size(&self, input_w: u32, input_h: u32) -> (u32, u32) {
        let even = |v: f64| ((v / 2.0).round() as u32 * 2).max(2);
        let (iw, ih) = (f64::from(input_w.max(1)), f64::from(input_h.max(1)));
        match (self.width, self.height) {
            (Some(w), Some(h)) => (w, h),
            (Some(w), None) => (w, even(f64::from(w) * ih / iw)),
            (None, Some(h)) => (even(f64::from(h) * iw / ih), h),
            (None, None) => (even(iw), even(ih)),
        }
    }
}

/// A configuration that could not be read, parsed or validated. The message names the
/// source, the field path and the line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read config: {source}")]
    Read {
        /// The path given to [`Config::load`].
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The text is not TOML at all (no field can be named).
    #[error("{source_name}: TOML syntax error{}: {message}", line_suffix(*line))]
    Syntax {
        /// The file name or label given to [`Config::from_toml_str`].
        source_name: String,
        /// 1-based line of the error, when known.
        line: Option<usize>,
        /// What the parser said.
        message: String,
    },
    /// A field is wrong: unknown, mistyped, missing or breaking a rule.
    #[error("{source_name}: {field}: {message}{}", line_suffix(*line))]
    Invalid {
        /// The file name or label.
        source_name: String,
        /// Human field path: `stream "news" rung[2].bitrate`, `server.listen`.
        field: String,
        /// 1-based line of the field (or of its table when the field is missing).
        line: Option<usize>,
        /// What is wrong and what is expected.
        message: String,
    },
}

fn line_suffix(line: Option<usize>) -> String {
    line.map(|l| format!(", line {l}")).unwrap_or_default()
}

impl ConfigError {
    /// The 1-based line the error points at, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Syntax { line, .. } | ConfigError::Invalid { line, .. } => *line,
        }
    }

    /// The field path the error names (`None` for read and syntax errors).
    pub fn field(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl Config {
    /// Parses and validates `text`; `source_name` (a file name) prefixes every error message.
    pub fn from_toml_str(text: &str, source_name: &str) -> Result<Config, ConfigError> {
        let doc = locate::Document::parse(text, source_name)?;
        let config: Config = toml::from_str(text).map_err(|e| doc.serde_error(&e))?;
        config.check(&doc)?;
        Ok(config)
    }

    /// Reads, parses and validates the file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml_str(&text, &path.display().to_string())
    }

    /// The embedded default: stream `live` from the test pattern, 720p 3M / 480p 1.4M /
    /// 360p 800k H.264 and AAC 128k.
    pub fn default_embedded() -> Config {
        // The embedded text is tested (`config::tests::embedded_default_is_valid`), so this
        // cannot fail at run time; fall back to an empty config rather than panic.
        Config::from_toml_str(DEFAULT_TOML, "embedded default.toml").unwrap_or(Config {
            server: ServerConfig::default(),
            streams: Vec::new(),
        })
    }

    /// Checks the semantic rules (see [`validate`]) on a programmatically built config;
    /// errors carry field paths but no lines.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check(&locate::Document::empty("config"))
    }

    fn check(&self, doc: &locate::Document) -> Result<(), ConfigError> {
        validate::validate(self).map_err(|v| doc.invalid(&v.path, v.message))
    }

    /// The stream named `name`.
    pub fn stream(&self, name: &str) -> Option<&StreamConfig> {
        self.streams.iter().find(|s| s.name == name)
    }

    /// The resolved ladder of every stream as a human table (for `llhls check`).
    pub fn describe(&self) -> String {
        describe::describe(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_is_valid() {
        let c = Config::from_toml_str(DEFAULT_TOML, "default.toml").expect("embedded default");
        assert_eq!(c.streams.len(), 1);
        let s = &c.streams[0];
        assert_eq!(s.name, "live");
        assert!(s.input.is_testpattern());
        let ladder: Vec<_> = s
            .rungs
            .iter()
            .map(|r| (r.output_size(1280, 720), r.bitrate.map(Bitrate::bps)))
            .collect();
        assert_eq!(
            ladder,
            [
                ((1280, 720), Some(3_000_000)),
                ((854, 480), Some(1_400_000)),
                ((640, 360), Some(800_000))
            ]
        );
        assert_eq!(s.audio.codec, AudioCodec::Aac);
        assert_eq!(s.audio.bitrate, Bitrate(128_000));
        assert_eq!(Config::default_embedded(), c);
    }

    #[test]
    fn aspect_kept_and_even() {
        let mut r: RungConfig =
            toml::from_str("name = \"a\"\nheight = 480\nbitrate = 1000").unwrap();
        assert_eq!(r.output_size(1280, 720), (854, 480));
        assert_eq!(r.output_size(1279, 719), (854, 480));
        r.height = None;
        r.width = Some(320);
        assert_eq!(r.output_size(1279, 719), (320, 180));
        r.width = None;
        assert_eq!(r.output_size(1279, 719), (1280, 720));
    }
}
