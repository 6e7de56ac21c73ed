//! The resolved configuration as a human table (printed by `llhls check`).

use super::{Config, StreamConfig, VideoCodec};
use std::fmt::Write;

pub(crate) fn describe(config: &Config) -> String {
    let mut out = String::new();
    let storage = config
        .server
        .storage
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "memory only".into());
    let tls = config.server.tls.as_ref().map_or_else(
        || "plain HTTP".into(),
        |t| format!("HTTPS with {}", t.cert.display()),
    );
    let _ = writeln!(
        out,
        "server: listen {}, storage {storage}, {tls}",
        config.server.listen
    );
    for s in &config.streams {
        describe_stream(&mut out, s);
    }
    out
}

fn describe_stream(out: &mut String, s: &StreamConfig) {
    let i = &s.input;
    let input = if i.is_testpattern() {
        let tp = &i.testpattern;
        format!(
            "test pattern {}x{} @ {} fps, tone {} Hz",
            tp.width, tp.height, tp.frame_rate, tp.tone_hz
        )
    } else {
        let mut d = i.url.clone();
        if let Some(f) = &i.format {
            let _ = write!(d, " (format {f})");
        }
        if i.looped {
            d.push_str(", looped");
        }
        d
    };
    let pacing = if i.is_network() {
        "paced by sender"
    } else if i.realtime {
        "real time"
    } else {
        "as fast as possible"
    };
    let _ = writeln!(out, "\nstream {:?}: /{}/master.m3u8", s.name, s.name);
    let _ = writeln!(out, "  input:    {input}, {pacing}");
    let _ = writeln!(
        out,
        "  segments: {:.3} s target, parts {:.3} s ({}), window {} segments ({:.0} s)",
        s.segment_target,
        s.part_target,
        if s.byterange_parts {
            "byte ranges of their segment"
        } else {
            "own URLs"
        },
        s.window,
        s.segment_target * f64::from(s.window)
    );
    let _ = writeln!(
        out,
        "  {:<10} {:<6} {:>11} {:>8} {:>9} {:>9} {:>9} {:<10} {:<9} bframes",
        "rendition", "codec", "size", "fps", "bitrate", "maxrate", "bufsize", "preset", "profile"
    );
    for r in &s.rungs {
        let size = match (r.width, r.height) {
            (Some(w), Some(h)) => format!("{w}x{h}"),
            (Some(w), None) => format!("{w}x(aspect)"),
            (None, Some(h)) => format!("(aspect)x{h}"),
            (None, None) => "input".into(),
        };
        let fps = r
            .frame_rate
            .map(|f| f.to_string())
            .unwrap_or_else(|| "input".into());
        let rate =
            |b: Option<super::Bitrate>| b.map(|b| b.to_string()).unwrap_or_else(|| "-".into());
        if r.codec == VideoCodec::Copy {
            let _ = writeln!(
                out,
                "  {:<10} {:<6} {:>11} {:>8} {:>9} {:>9} {:>9} {:<10} {:<9} input",
                r.name, "copy", "input", "input", "input", "-", "-", "-", "-"
            );
        } else {
            let codec = if r.codec == VideoCodec::Hevc {
                "hevc"
            } else {
                "h264"
            };
            let _ = writeln!(
                out,
                "  {:<10} {:<6} {:>11} {:>8} {:>9} {:>9} {:>9} {:<10} {:<9} {}",
                r.name,
                codec,
                size,
                fps,
                rate(r.bitrate),
                rate(r.maxrate()),
                rate(r.bufsize()),
                r.preset(),
                r.profile(),
                r.bframes()
            );
        }
    }
    let a = &s.audio;
    if a.enabled() {
        let _ = writeln!(
            out,
            "  {:<10} {:<6} {:>11} {:>8} {:>9}   {} ch, {} Hz (shared by every variant)",
            a.name,
            "aac",
            "-",
            "-",
            a.bitrate.to_string(),
            a.channels,
            a.sample_rate
        );
    } else {
        let _ = writeln!(out, "  (no audio)");
    }
}
