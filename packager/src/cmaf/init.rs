//! The CMAF header (init segment): `ftyp` + `moov` with one track and an `mvex`
//! (ISO/IEC 23000-19 §7.3.1, draft-pantos-hls-rfc8216bis-22 §3.1.2).

use super::boxes::BoxWriter;
use super::error::Error;
use super::nal::{parse_avc_sps_format, parse_hevc_sps};
use super::sample::{CodecConfig, MediaKind, TrackInfo};

/// The only track of every init segment (a CMAF track file holds one track, ISO/IEC 23000-19 §7.3.1).
pub(crate) const TRACK_ID: u32 = 1;

/// Movie timescale of the `mvhd`; nothing is timed in it (all durations are zero).
const MOVIE_TIMESCALE: u32 = 1000;

/// Unity transformation matrix (ISO/IEC 14496-12 §8.2.2.3).
const MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

/// Writes ftyp + moov for `track`.
pub(crate) fn write_init(track: &TrackInfo) -> Result<Vec<u8>, Error> {
    track.codec.validate()?;
    if track.timescale == 0 {
        return Err(Error::InvalidConfig("track timescale is 0".into()));
    }
    let mut w = BoxWriter::with_capacity(1024);
    // rfc8216bis-22 §3.1.2: "an ftyp box containing a brand that is compatible with iso6 or
    // higher"; cmfc declares a CMAF track (ISO/IEC 23000-19 §7.2).
    // AOM id3-emsg: files that carry ID3 in emsg signal the compatible brand `aid3`. Video
    // parts may carry cues at any time, so every video init lists it.
    let id3 = matches!(track.kind, MediaKind::Video { .. });
    w.boxed(b"ftyp", |w| {
        w.bytes(b"iso6")
            .u32(0)
            .bytes(b"iso6")
            .bytes(b"cmfc")
            .bytes(b"isom")
            .bytes(b"mp41");
        if id3 {
            w.bytes(b"aid3");
        }
    });
    let mut err = None;
    w.boxed(b"moov", |w| {
        // rfc8216bis-22 §3.1.2: mvhd and tkhd durations zero, sample tables empty, mvex present.
        w.full(b"mvhd", 0, 0, |w| {
            w.u32(0).u32(0).u32(MOVIE_TIMESCALE).u32(0); // creation, modification, timescale, duration
            w.u32(0x0001_0000).u16(0x0100).zeros(10); // rate 1.0, volume 1.0, reserved
            for m in MATRIX {
                w.u32(m);
            }
            w.zeros(24).u32(TRACK_ID + 1); // pre_defined, next_track_ID
        });
        w.boxed(b"trak", |w| {
            let (width, height, volume) = match track.kind {
                MediaKind::Video { width, height } => (width, height, 0),
                MediaKind::Audio { .. } => (0, 0, 0x0100),
            };
            // flags 3: track_enabled | track_in_movie (ISO/IEC 14496-12 §8.3.2).
            w.full(b"tkhd", 0, 3, |w| {
                w.u32(0).u32(0).u32(TRACK_ID).u32(0).u32(0); // times, id, reserved, duration 0
                w.zeros(8).u16(0).u16(0).u16(volume).u16(0); // reserved, layer, group, volume
                for m in MATRIX {
                    w.u32(m);
                }
                w.u32(width << 16).u32(height << 16);
            });
            w.boxed(b"mdia", |w| {
                w.full(b"mdhd", 0, 0, |w| {
                    w.u32(0).u32(0).u32(track.timescale).u32(0);
                    w.u16(pack_language(&track.language)).u16(0);
                });
                let (handler, name): (&[u8; 4], &[u8]) = match track.kind {
                    MediaKind::Video { .. } => (b"vide", b"VideoHandler\0"),
                    MediaKind::Audio { .. } => (b"soun", b"SoundHandler\0"),
                };
                w.full(b"hdlr", 0, 0, |w| {
                    w.u32(0).bytes(handler).zeros(12).bytes(name);
                });
                w.boxed(b"minf", |w| {
                    match track.kind {
                        MediaKind::Video { .. } => w.full(b"vmhd", 0, 1, |w| {
                            w.zeros(8);
                        }),
                        MediaKind::Audio { .. } => w.full(b"smhd", 0, 0, |w| {
                            w.zeros(4);
                        }),
                    };
                    w.boxed(b"dinf", |w| {
                        w.full(b"dref", 0, 0, |w| {
                            w.u32(1).full(b"url ", 0, 1, |_| {}); // flag 1: media in this file
                        });
                    });
                    w.boxed(b"stbl", |w| {
                        w.full(b"stsd", 0, 0, |w| {
                            w.u32(1);
                            if let Err(e) = write_sample_entry(w, track) {
                                err = Some(e);
                            }
                        });
                        for t in [b"stts", b"stsc", b"stco"] {
                            w.full(t, 0, 0, |w| {
                                w.u32(0);
                            });
                        }
                        w.full(b"stsz", 0, 0, |w| {
                            w.u32(0).u32(0);
                        });
                    });
                });
            });
        });
        // ISO/IEC 14496-12 §8.8.1: mvex signals fragments follow; trex gives the defaults.
        w.boxed(b"mvex", |w| {
            w.full(b"trex", 0, 0, |w| {
                w.u32(TRACK_ID).u32(1).u32(0).u32(0).u32(0);
            });
        });
    });
    match err {
        Some(e) => Err(e),
        None => Ok(w.into_inner()),
    }
}

/// ISO 639-2/T code packed as three 5-bit letters (ISO/IEC 14496-12 §8.4.2.3); `und` when invalid.
fn pack_language(lang: &str) -> u16 {
    let b = lang.as_bytes();
    let ok = b.len() == 3 && b.iter().all(|c| c.is_ascii_lowercase());
    let b: &[u8] = if ok { b } else { b"und" };
    b.iter()
        .fold(0u16, |acc, &c| (acc << 5) | (c - 0x60) as u16)
}

fn write_sample_entry(w: &mut BoxWriter, track: &TrackInfo) -> Result<(), Error> {
    match (&track.codec, track.kind) {
        (CodecConfig::Avc { sps, pps }, MediaKind::Video { width, height }) => {
            visual_entry(w, b"avc1", width, height, |w| {
                // AVCDecoderConfigurationRecord, ISO/IEC 14496-15 §5.3.3.1.
                w.boxed(b"avcC", |w| {
                    let s = &sps[0];
                    w.u8(1).u8(s[1]).u8(s[2]).u8(s[3]).u8(0xfc | 3); // lengthSizeMinusOne = 3
                    w.u8(0xe0 | (sps.len() as u8 & 0x1f));
                    for s in sps {
                        w.u16(s.len() as u16).bytes(s);
                    }
                    w.u8(pps.len() as u8);
                    for p in pps {
                        w.u16(p.len() as u16).bytes(p);
                    }
                    // §5.3.3.1.2: profiles other than Baseline, Main and Extended carry chroma
                    // format and bit depths, and no SPS extensions here.
                    if !matches!(s[1], 66 | 77 | 88) {
                        let (chroma, luma, chroma_depth) = parse_avc_sps_format(s);
                        w.u8(0xfc | chroma)
                            .u8(0xf8 | luma)
                            .u8(0xf8 | chroma_depth)
                            .u8(0);
                    }
                });
            });
            Ok(())
        }
        (CodecConfig::Hevc { vps, sps, pps }, MediaKind::Video { width, height }) => {
            let info = parse_hevc_sps(&sps[0])?;
            // hvc1: parameter sets are in the sample entry (ISO/IEC 14496-15 §8.4.1), as Apple requires.
            visual_entry(w, b"hvc1", width, height, |w| {
                // HEVCDecoderConfigurationRecord, ISO/IEC 14496-15 §8.3.3.1.
                w.boxed(b"hvcC", |w| {
                    w.u8(1);
                    w.u8((info.profile_space << 6) | ((info.tier as u8) << 5) | info.profile_idc);
                    w.u32(info.compat_flags)
                        .bytes(&info.constraint)
                        .u8(info.level_idc);
                    w.u16(0xf000); // reserved + min_spatial_segmentation_idc 0
                    w.u8(0xfc); // reserved + parallelismType 0 (unknown)
                    w.u8(0xfc | info.chroma_format_idc);
                    w.u8(0xf8 | info.bit_depth_luma_minus8)
                        .u8(0xf8 | info.bit_depth_chroma_minus8);
                    w.u16(0); // avgFrameRate unknown
                              // constantFrameRate 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne 3.
                    w.u8(((info.sub_layers & 7) << 3) | ((info.temporal_id_nested as u8) << 2) | 3);
                    w.u8(3);
                    for (typ, nals) in [(32u8, vps), (33, sps), (34, pps)] {
                        w.u8(0x80 | typ).u16(nals.len() as u16); // array_completeness = 1
                        for n in nals {
                            w.u16(n.len() as u16).bytes(n);
                        }
                    }
                });
            });
            Ok(())
        }
        (
            CodecConfig::Aac {
                audio_specific_config,
            },
            MediaKind::Audio {
                channels,
                sample_rate,
            },
        ) => {
            audio_entry(w, b"mp4a", channels, sample_rate, |w| {
                w.full(b"esds", 0, 0, |w| {
                    write_es_descriptor(w, audio_specific_config)
                });
            });
            Ok(())
        }
        (
            CodecConfig::Opus {
                pre_skip,
                input_sample_rate,
            },
            MediaKind::Audio { channels, .. },
        ) => {
            // Opus in ISOBMFF §4.3: sample entry 'Opus', sample rate field 48000.
            audio_entry(w, b"Opus", channels, 48000, |w| {
                w.boxed(b"dOps", |w| {
                    w.u8(0)
                        .u8(channels as u8)
                        .u16(*pre_skip)
                        .u32(*input_sample_rate);
                    w.u16(0).u8(0); // OutputGain 0, ChannelMappingFamily 0
                });
            });
            Ok(())
        }
        (codec, kind) => Err(Error::InvalidConfig(format!(
            "codec {} does not go with media kind {kind:?}",
            super::codec_string::codec_string(codec)
        ))),
    }
}

/// VisualSampleEntry (ISO/IEC 14496-12 §12.1.3).
fn visual_entry(
    w: &mut BoxWriter,
    typ: &[u8; 4],
    width: u32,
    height: u32,
    config: impl FnOnce(&mut BoxWriter),
) {
    w.boxed(typ, |w| {
        w.zeros(6).u16(1); // reserved, data_reference_index
        w.zeros(16); // pre_defined, reserved, pre_defined[3]
        w.u16(width.min(0xffff) as u16)
            .u16(height.min(0xffff) as u16);
        w.u32(0x0048_0000).u32(0x0048_0000).u32(0).u16(1); // 72 dpi, reserved, frame_count
        w.zeros(32).u16(0x0018).u16(0xffff); // compressorname, depth, pre_defined -1
        config(w);
    });
}

/// AudioSampleEntry (ISO/IEC 14496-12 §12.2.3).
fn audio_entry(
    w: &mut BoxWriter,
    typ: &[u8; 4],
    channels: u16,
    rate: u32,
    config: impl FnOnce(&mut BoxWriter),
) {
    w.boxed(typ, |w| {
        w.zeros(6).u16(1).zeros(8); // reserved, data_reference_index, reserved
        w.u16(channels).u16(16).u16(0).u16(0); // channelcount, samplesize, pre_defined, reserved
        w.u32(if rate <= 0xffff { rate << 16 } else { 0 });
        config(w);
    });
}

/// ES_Descriptor with DecoderConfigDescriptor and DecoderSpecificInfo (ISO/IEC 14496-1 §7.2.6.5,
/// ISO/IEC 14496-14 §3.1.2).
fn write_es_descriptor(w: &mut BoxWriter, asc: &[u8]) {
    let dsi_len = asc.len();
    let dcd_len = 13 + descr_header_len(dsi_len) + dsi_len;
    let es_len = 3 + descr_header_len(dcd_len) + dcd_len + 3;
    descr_header(w, 0x03, es_len);
    w.u16(TRACK_ID as u16).u8(0); // ES_ID, flags
    descr_header(w, 0x04, dcd_len);
    w.u8(0x40).u8(0x15).u24(0).u32(0).u32(0); // Audio ISO/IEC 14496-3, AudioStream, buffer, bitrates
    descr_header(w, 0x05, dsi_len);
    w.bytes(asc);
    descr_header(w, 0x06, 1);
    w.u8(0x02); // SLConfigDescriptor predefined = 2 (MP4)
}

fn descr_header_len(len: usize) -> usize {
    if len < 0x80 {
        2
    } else {
        5
    }
}

fn descr_header(w: &mut BoxWriter, tag: u8, len: usize) {
    w.u8(tag);
    if len < 0x80 {
        w.u8(len as u8);
    } else {
        let l = len as u32;
        w.u8(0x80 | ((l >> 21) & 0x7f) as u8)
            .u8(0x80 | ((l >> 14) & 0x7f) as u8);
        w.u8(0x80 | ((l >> 7) & 0x7f) as u8).u8((l & 0x7f) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_packing() {
        assert_eq!(pack_language("und"), 0x55c4);
        assert_eq!(pack_language("eng"), 0x15c7);
        assert_eq!(pack_language("EN"), 0x55c4);
    }

    #[test]
    fn long_descriptor_lengths_use_four_bytes() {
        let mut w = BoxWriter::default();
        descr_header(&mut w, 5, 200);
        assert_eq!(w.into_inner(), vec![5, 0x80, 0x80, 0x81, 0x48]);
    }
}
