//! The multivariant playlist model (`master.m3u8`), checked against the rendition-group rules
//! and written with the `m3u8-rs` writer (draft-pantos-hls-rfc8216bis-22 §4.4.6).

use std::collections::{HashMap, HashSet};

use m3u8_rs::{AlternativeMedia, AlternativeMediaType, MasterPlaylist, Resolution, VariantStream};

/// A multivariant playlist: variant streams and the audio renditions they refer to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MultivariantPlaylist {
    /// EXT-X-INDEPENDENT-SEGMENTS (§4.4.2.1), applying to every media playlist.
    pub independent_segments: bool,
    /// EXT-X-STREAM-INF entries, in the order written.
    pub variants: Vec<Variant>,
    /// EXT-X-MEDIA TYPE=AUDIO entries.
    pub audio: Vec<AudioRendition>,
}

/// One EXT-X-STREAM-INF (§4.4.6.2) and its URI line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Variant {
    /// Media playlist URI, relative (`{rendition}/index.m3u8`, see `uri::media_playlist_uri`).
    pub uri: String,
    /// BANDWIDTH, bits/s: peak segment bit rate (`rules::peak_bandwidth`). REQUIRED.
    pub bandwidth: u64,
    /// AVERAGE-BANDWIDTH, bits/s (`rules::average_bandwidth`).
    pub average_bandwidth: Option<u64>,
    /// CODECS (RFC 6381 list). Policy: always sent (§4.4.6.2 SHOULD); every format of the
    /// variant, audio included (§6.2.4).
    pub codecs: String,
    /// RESOLUTION as (width, height).
    pub resolution: Option<(u64, u64)>,
    /// FRAME-RATE, frames/s; written rounded to three decimals (§4.4.6.2).
    pub frame_rate: Option<f64>,
    /// AUDIO: GROUP-ID of an audio rendition group in [`MultivariantPlaylist::audio`].
    pub audio_group: Option<String>,
}

/// One EXT-X-MEDIA TYPE=AUDIO (§4.4.6.1).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AudioRendition {
    /// GROUP-ID.
    pub group_id: String,
    /// NAME, unique in its group (§4.4.6.1.1).
    pub name: String,
    /// DEFAULT=YES; at most one per group (§4.4.6.1.1).
    pub default: bool,
    /// AUTOSELECT=YES; required when DEFAULT=YES (§4.4.6.1).
    pub autoselect: bool,
    /// LANGUAGE (RFC 5646).
    pub language: Option<String>,
    /// CHANNELS, e.g. `"2"`.
    pub channels: Option<String>,
    /// URI of the rendition's media playlist; `None` when the audio is muxed in the variants.
    pub uri: Option<String>,
}

/// A multivariant playlist that breaks a rule of §4.4.6.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultivariantError {
    /// No variant at all.
    #[error("multivariant playlist has no variant stream")]
    NoVariant,
    /// §4.4.6.2: "Every EXT-X-STREAM-INF tag MUST include the BANDWIDTH attribute" (and 0 is
    /// not a bit rate).
    #[error("variant {uri}: BANDWIDTH is 0")]
    ZeroBandwidth {
        /// The variant URI.
        uri: String,
    },
    /// Policy: CODECS is always sent.
    #[error("variant {uri}: CODECS is empty")]
    NoCodecs {
        /// The variant URI.
        uri: String,
    },
    /// §4.4.6.2: AUDIO "MUST match the value of the GROUP-ID attribute of an EXT-X-MEDIA tag
    /// elsewhere in the Multivariant Playlist whose TYPE attribute is AUDIO".
    #[error("variant {uri}: AUDIO group {group} has no EXT-X-MEDIA")]
    UnknownAudioGroup {
        /// The variant URI.
        uri: String,
        /// The missing group.
        group: String,
    },
    /// §4.4.6.1.1: "All EXT-X-MEDIA tags in the same Group MUST have different NAME attributes."
    #[error("audio group {group}: NAME {name} is repeated")]
    DuplicateName {
        /// The group.
        group: String,
        /// The repeated name.
        name: String,
    },
    /// §4.4.6.1.1: "A Group MUST NOT have more than one member with a DEFAULT attribute of YES."
    #[error("audio group {group}: more than one DEFAULT=YES")]
    SeveralDefaults {
        /// The group.
        group: String,
    },
    /// §4.4.6.1: AUTOSELECT "MUST be YES if the value of the DEFAULT attribute is YES".
    #[error("audio group {group}: {name} is DEFAULT=YES without AUTOSELECT=YES")]
    DefaultWithoutAutoselect {
        /// The group.
        group: String,
        /// The rendition name.
        name: String,
    },
    /// A quoted-string may not hold a double quote, CR or LF (§4.2), and may not be empty.
    #[error("{field} {value:?} is not a valid quoted-string")]
    BadQuotedString {
        /// Which attribute.
        field: &'static str,
        /// The value.
        value: String,
    },
}

fn check_quoted(field: &'static str, value: &str) -> Result<(), MultivariantError> {
    if value.is_empty() || value.contains(['"', '\r', '\n']) {
        return Err(MultivariantError::BadQuotedString {
            field,
            value: value.to_owned(),
        });
    }
    Ok(())
}

fn check_uri_line(field: &'static str, value: &str) -> Result<(), MultivariantError> {
    if value.is_empty() || value.contains(['\r', '\n']) || value.starts_with('#') {
        return Err(MultivariantError::BadQuotedString {
            field,
            value: value.to_owned(),
        });
    }
    Ok(())
}

impl MultivariantPlaylist {
    /// Checks the rules of §4.4.6 this model can break (see [`MultivariantError`]).
    pub fn validate(&self) -> Result<(), MultivariantError> {
        if self.variants.is_empty() {
            return Err(MultivariantError::NoVariant);
        }
        let mut names: HashSet<(&str, &str)> = HashSet::new();
        let mut defaults: HashMap<&str, u32> = HashMap::new();
        for a in &self.audio {
            check_quoted("GROUP-ID", &a.group_id)?;
            check_quoted("NAME", &a.name)?;
            for (field, value) in [
                ("LANGUAGE", &a.language),
                ("CHANNELS", &a.channels),
                ("URI", &a.uri),
            ] {
                if let Some(v) = value {
                    check_quoted(field, v)?;
                }
            }
            if !names.insert((&a.group_id, &a.name)) {
                return Err(MultivariantError::DuplicateName {
                    group: a.group_id.clone(),
                    name: a.name.clone(),
                });
            }
            if a.default {
                if !a.autoselect {
                    return Err(MultivariantError::DefaultWithoutAutoselect {
                        group: a.group_id.clone(),
                        name: a.name.clone(),
                    });
                }
                let count = defaults.entry(&a.group_id).or_default();
                *count += 1;
                if *count > 1 {
                    return Err(MultivariantError::SeveralDefaults {
                        group: a.group_id.clone(),
                    });
                }
            }
        }
        for v in &self.variants {
            check_uri_line("variant URI", &v.uri)?;
            if v.bandwidth == 0 {
                return Err(MultivariantError::ZeroBandwidth { uri: v.uri.clone() });
            }
            if v.codecs.is_empty() {
                return Err(MultivariantError::NoCodecs { uri: v.uri.clone() });
            }
            check_quoted("CODECS", &v.codecs)?;
            if let Some(group) = &v.audio_group {
                if !self.audio.iter().any(|a| &a.group_id == group) {
                    return Err(MultivariantError::UnknownAudioGroup {
                        uri: v.uri.clone(),
                        group: group.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The m3u8-rs model of this playlist. No EXT-X-VERSION: nothing here needs more than
    /// version 1 (§8), and §6.2.1 says the version SHOULD NOT be higher than needed.
    pub fn to_m3u8(&self) -> MasterPlaylist {
        let alternatives = self
            .audio
            .iter()
            .map(|a| AlternativeMedia {
                media_type: AlternativeMediaType::Audio,
                uri: a.uri.clone(),
                group_id: a.group_id.clone(),
                language: a.language.clone(),
                name: a.name.clone(),
                default: a.default,
                autoselect: a.autoselect,
                channels: a.channels.clone(),
                ..AlternativeMedia::default()
            })
            .collect();
        let variants = self
            .variants
            .iter()
            .map(|v| VariantStream {
                uri: v.uri.clone(),
                bandwidth: v.bandwidth,
                average_bandwidth: v.average_bandwidth,
                codecs: Some(v.codecs.clone()),
                resolution: v
                    .resolution
                    .map(|(width, height)| Resolution { width, height }),
                // §4.4.6.2: "rounded to three decimal places".
                frame_rate: v
                    .frame_rate
                    .filter(|f| f.is_finite() && *f > 0.0)
                    .map(|f| (f * 1000.0).round() / 1000.0),
                audio: v.audio_group.clone(),
                ..VariantStream::default()
            })
            .collect();
        MasterPlaylist {
            independent_segments: self.independent_segments,
            alternatives,
            variants,
            ..MasterPlaylist::default()
        }
    }

    /// Validates, then writes the playlist text with the m3u8-rs writer.
    pub fn render(&self) -> Result<String, MultivariantError> {
        self.validate()?;
        let mut bytes = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.to_m3u8().write_to(&mut bytes);
        // m3u8-rs writes only the UTF-8 strings it was given.
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}
