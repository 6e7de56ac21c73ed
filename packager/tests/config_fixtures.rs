//! Every `fixtures/config/good_*.toml` loads; every `bad_*.toml` fails with the expected
//! field path and line in its message; the shipped default equals the embedded one.

use packager::config::{Config, ConfigError};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/config")
        .join(name)
}

#[test]
fn good_configs_load() {
    let mut seen = 0;
    for entry in std::fs::read_dir(fixture("")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("good_") || name == "default.toml" {
            let c = Config::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!c.describe().is_empty());
            seen += 1;
        }
    }
    assert!(seen >= 4, "only {seen} good fixtures");
}

#[test]
fn shipped_default_equals_embedded() {
    assert_eq!(
        Config::load(fixture("default.toml")).unwrap(),
        Config::default_embedded()
    );
    assert_eq!(
        std::fs::read_to_string(fixture("default.toml")).unwrap(),
        packager::config::DEFAULT_TOML
    );
}

/// (file, field path in the message, line, a word of the reason).
const BAD: &[(&str, &str, usize, &str)] = &[
    (
        "bad_bitrate.toml",
        "stream \"news\" rung[2].bitrate",
        18,
        "expected a positive bitrate like \"1400k\"",
    ),
    (
        "bad_unknown_field.toml",
        "stream \"news\" rung[0].bitrat",
        8,
        "unknown field",
    ),
    (
        "bad_missing_bitrate.toml",
        "stream \"news\" rung[0].bitrate",
        5,
        "required unless",
    ),
    (
        "bad_duplicate_stream.toml",
        "stream \"news\" name",
        9,
        "duplicate stream name",
    ),
    (
        "bad_duplicate_rung.toml",
        "stream \"news\" rung[1].name",
        8,
        "duplicate rendition name",
    ),
    (
        "bad_part_target.toml",
        "stream \"news\" part_target",
        4,
        "less than segment_target",
    ),
    (
        "bad_part_too_small.toml",
        "stream \"news\" part_target",
        3,
        "at least 0.1",
    ),
    (
        "bad_segment_target.toml",
        "stream \"news\" segment_target",
        4,
        "between 1 and 10",
    ),
    (
        "bad_odd_size.toml",
        "stream \"news\" rung[0].width",
        7,
        "even",
    ),
    (
        "bad_copy_bitrate.toml",
        "stream \"news\" rung[0].bitrate",
        8,
        "copy rung",
    ),
    (
        "bad_codec.toml",
        "stream \"news\" rung[0].codec",
        7,
        "unknown variant",
    ),
    (
        "bad_stream_name.toml",
        "stream \"my news\" name",
        2,
        "letters, digits",
    ),
    (
        "bad_reserved_name.toml",
        "stream \"api\" name",
        2,
        "reserved",
    ),
    (
        "bad_maxrate.toml",
        "stream \"news\" rung[0].maxrate",
        8,
        "at least bitrate",
    ),
    (
        "bad_loop_network.toml",
        "stream \"news\" input.loop",
        3,
        "files only",
    ),
    (
        "bad_audio_rate.toml",
        "stream \"news\" audio.sample_rate",
        6,
        "expected one of",
    ),
    (
        "bad_no_streams.toml",
        "stream",
        1,
        "at least one [[stream]]",
    ),
    ("bad_listen.toml", "server.listen", 2, "socket address"),
    (
        "bad_tls_missing_key.toml",
        "server.tls",
        3,
        "missing field `key`",
    ),
    (
        "bad_preset.toml",
        "stream \"news\" rung[0].preset",
        8,
        "expected one of",
    ),
    ("bad_window.toml", "stream \"news\" window", 3, "4 to 1000"),
    (
        "bad_frame_rate.toml",
        "stream \"news\" rung[0].frame_rate",
        8,
        "frame rate like",
    ),
];

#[test]
fn bad_configs_name_field_and_line() {
    for (file, field, line, reason) in BAD {
        let err = Config::load(fixture(file)).expect_err(file);
        let msg = err.to_string();
        assert_eq!(err.field(), Some(*field), "{file}: {msg}");
        assert_eq!(err.line(), Some(*line), "{file}: {msg}");
        assert!(msg.contains(&format!("{field}: ")), "{file}: {msg}");
        assert!(msg.ends_with(&format!(", line {line}")), "{file}: {msg}");
        assert!(msg.contains(reason), "{file}: {msg}");
        assert!(msg.contains(file), "{file}: names the source: {msg}");
    }
}

#[test]
fn every_bad_fixture_is_in_the_table() {
    for entry in std::fs::read_dir(fixture("")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if name.starts_with("bad_") && name != "bad_syntax.toml" {
            assert!(
                BAD.iter().any(|(f, ..)| *f == name),
                "{name} has no expectation"
            );
        }
    }
}

#[test]
fn syntax_error_has_a_line() {
    match Config::load(fixture("bad_syntax.toml")) {
        Err(ConfigError::Syntax { line: Some(2), .. }) => {}
        other => panic!("expected a syntax error on line 2, got {other:?}"),
    }
}

#[test]
fn example_message_reads_as_documented() {
    let err = Config::load(fixture("bad_bitrate.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with(
            "stream \"news\" rung[2].bitrate: expected a positive bitrate like \"1400k\", line 18"
        ),
        "{err}"
    );
}

#[test]
fn missing_file_is_a_read_error() {
    assert!(matches!(
        Config::load(fixture("nope.toml")),
        Err(ConfigError::Read { .. })
    ));
}

#[test]
fn built_in_code_validates_without_lines() {
    let mut c = Config::default_embedded();
    c.streams[0].rungs[1].width = Some(853);
    let err = c.validate().unwrap_err();
    assert_eq!(err.field(), Some("stream \"live\" rung[1].width"));
    assert_eq!(err.line(), None);
}

#[test]
fn describe_lists_the_resolved_ladder() {
    let text = Config::default_embedded().describe();
    for needle in [
        "stream \"live\": /live/master.m3u8",
        "test pattern 1280x720 @ 30 fps",
        "720p",
        "1280x720",
        "3M",
        "480p",
        "854x480",
        "1.4M",
        "360p",
        "800k",
        "veryfast",
        "high",
        "audio",
        "128k",
        "2 ch, 48000 Hz",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    println!("{text}");
}
