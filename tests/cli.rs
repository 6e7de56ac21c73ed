//! The `llhls` binary's command line: `check` on every config fixture, `--help` on every
//! command, and `package` of a fixture to a VOD tree that ffmpeg decodes.

use std::path::{Path, PathBuf};
use std::process::Command;

fn llhls() -> Command {
    Command::new(env!("CARGO_BIN_EXE_llhls"))
}

fn fixtures(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(sub)
}

#[test]
fn check_accepts_good_configs_and_names_the_field_of_bad_ones() {
    let mut bad = 0;
    for entry in std::fs::read_dir(fixtures("config")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.ends_with(".toml") {
            continue;
        }
        let out = llhls().arg("check").arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if name.starts_with("bad_") {
            bad += 1;
            assert_eq!(
                out.status.code(),
                Some(1),
                "{name}: expected exit 1, stderr: {stderr}"
            );
            assert!(!stderr.trim().is_empty(), "{name}: no error message");
            assert!(!stderr.contains("panicked"), "{name}: {stderr}");
            if name != "bad_no_streams.toml" && name != "bad_syntax.toml" {
                assert!(
                    stderr.contains("line "),
                    "{name}: the error names no line: {stderr}"
                );
            }
        } else {
            assert!(out.status.success(), "{name}: {stderr}");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(!stdout.trim().is_empty(), "{name}: no ladder printed");
        }
    }
    assert!(
        bad >= 10,
        "expected a bad fixture per error kind, found {bad}"
    );
}

#[test]
fn check_of_a_missing_file_is_a_clear_error() {
    let out = llhls()
        .args(["check", "/nonexistent/llhls.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/llhls.toml"));
}

#[test]
fn every_command_has_complete_help() {
    for cmd in [
        &["--help"][..],
        &["serve", "--help"],
        &["check", "--help"],
        &["package", "--help"],
    ] {
        let out = llhls().args(cmd).output().unwrap();
        assert!(out.status.success(), "{cmd:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage:"), "{cmd:?}: {text}");
    }
    let serve =
        String::from_utf8_lossy(&llhls().args(["serve", "--help"]).output().unwrap().stdout)
            .to_string();
    for flag in ["--config", "--listen", "--storage", "--log-json"] {
        assert!(serve.contains(flag), "serve --help lacks {flag}");
    }
}

#[test]
fn package_writes_a_vod_tree_that_ffmpeg_decodes() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = llhls()
        .args(["package", "--config"])
        .arg(fixtures("config/good_file_loop.toml"))
        .arg(fixtures("media/h264_aac_bframes.mp4"))
        .arg("--out")
        .arg(out_dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "package failed: {stderr}");
    let master = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(master.exists(), "{master:?}");
    let text = std::fs::read_to_string(&master).unwrap();
    let variant = text
        .lines()
        .find(|l| l.ends_with("index.m3u8") && !l.starts_with('#'))
        .unwrap();
    let media = std::fs::read_to_string(master.parent().unwrap().join(variant)).unwrap();
    assert!(
        media.contains("#EXT-X-PLAYLIST-TYPE:VOD") && media.contains("#EXT-X-ENDLIST"),
        "{media}"
    );
    let dec = Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-i"])
        .arg(&master)
        .args(["-map", "0", "-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        dec.status.success() && dec.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&dec.stderr)
    );
}
