//! What a rendition is, as every layer sees it: its name, what it carries and its nominal
//! bitrate. One type, filled by the transcoder when it opens its encoders and read by the store
//! for the multivariant playlist (rfc8216bis-22 §4.4.6.1, §4.4.6.2); nothing translates it.

use std::fmt;

use crate::config::FrameRate;

/// An ISO 639-2/T language code (three lowercase ASCII letters), `und` when unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Language([u8; 3]);

impl Language {
    /// Undetermined (ISO 639-2 `und`).
    pub const UNDETERMINED: Language = Language(*b"und");

    /// The code for `tag` when it is three ASCII letters (case folded), else `und`. Container
    /// metadata often carries two-letter or free-form names; those are not guessed at.
    pub fn parse(tag: &str) -> Language {
        match tag.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_alphabetic()) => Language([
                a.to_ascii_lowercase(),
                b.to_ascii_lowercase(),
                c.to_ascii_lowercase(),
            ]),
            _ => Language::UNDETERMINED,
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("und")
    }

    /// True for `und`.
    pub fn is_undetermined(&self) -> bool {
        *self == Language::UNDETERMINED
    }
}

impl Default for Language {
    fn default() -> Self {
        Language::UNDETERMINED
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a rendition carries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RenditionKind {
    /// A video rung.
    Video {
        /// Coded width in pixels.
        width: u32,
        /// Coded height in pixels.
        height: u32,
        /// Output frame rate.
        frame_rate: FrameRate,
        /// True when the input is passed through (`codec = "copy"`).
        copy: bool,
    },
    /// The audio rendition.
    Audio {
        /// Channels.
        channels: u16,
        /// Sample rate in Hz.
        sample_rate: u32,
        /// The input audio's language (from its container), `und` when it has none.
        language: Language,
    },
}

/// Static facts of a rendition, known when the stream starts.
#[derive(Debug, Clone, PartialEq)]
pub struct RenditionInfo {
    /// Name, used in URLs (`/{stream}/{name}/index.m3u8`).
    pub name: String,
    /// Video or audio.
    pub kind: RenditionKind,
    /// Configured peak bitrate in bits/s (`maxrate`, or the audio bitrate; 0 when unknown, as
    /// for a copy rung), used until enough media is measured.
    pub nominal_bitrate: u64,
}

impl RenditionInfo {
    /// A transcoded video rung.
    pub fn video(name: &str, width: u32, height: u32, frame_rate: FrameRate, bitrate: u64) -> Self {
        RenditionInfo {
            name: name.to_owned(),
            kind: RenditionKind::Video {
                width,
                height,
                frame_rate,
                copy: false,
            },
            nominal_bitrate: bitrate,
        }
    }

    /// An audio rendition of undetermined language.
    pub fn audio(name: &str, channels: u16, sample_rate: u32, bitrate: u64) -> Self {
        RenditionInfo {
            name: name.to_owned(),
            kind: RenditionKind::Audio {
                channels,
                sample_rate,
                language: Language::UNDETERMINED,
            },
            nominal_bitrate: bitrate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages() {
        assert_eq!(Language::parse("eng").as_str(), "eng");
        assert_eq!(Language::parse("FRA").as_str(), "fra");
        assert!(Language::parse("en").is_undetermined());
        assert!(Language::parse("english").is_undetermined());
        assert!(Language::parse("e1g").is_undetermined());
        assert!(Language::parse("").is_undetermined());
        assert_eq!(Language::default().to_string(), "und");
    }
}
