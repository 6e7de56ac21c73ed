//! `llhls package`: a file through a configured ladder into a VOD CMAF HLS tree on disk.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use packager::config::Config;
use packager::live::{self, Options};
use packager::playlist::{PlaylistType, Skip};
use packager::store::write_atomic;

/// Arguments of `llhls package`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Config whose stream (ladder, audio, segment and part targets) to use. Default: the
    /// embedded default ladder.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Which stream of the config (default: the first).
    #[arg(long)]
    pub stream: Option<String>,
    /// Input file (anything libavformat opens).
    pub input: String,
    /// Output directory: `{stream}/master.m3u8` and one directory per rendition.
    #[arg(long)]
    pub out: PathBuf,
}

/// Transcodes and packages the input as fast as possible, then writes VOD playlists
/// (EXT-X-PLAYLIST-TYPE:VOD, EXT-X-ENDLIST; rfc8216bis-22 §4.4.3.5).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default_embedded(),
    };
    let mut stream = match &args.stream {
        Some(name) => config
            .stream(name)
            .with_context(|| format!("no stream {name:?} in the config"))?
            .clone(),
        None => config
            .streams
            .first()
            .context("the config has no stream")?
            .clone(),
    };
    stream.input.url = args.input.clone();
    stream.input.looped = false;
    stream.input.realtime = false;
    stream.input.format = None;
    stream.input.options.clear();
    let total = live::probe_duration(&args.input);
    let running = live::start(
        &stream,
        &Options {
            storage: Some(args.out.clone()),
            keep_all: true,
            ..Options::default()
        },
    )?;
    let bar = match total {
        Some(secs) => indicatif::ProgressBar::new((secs * 1000.0) as u64),
        None => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ms media {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    while !running.is_finished() {
        std::thread::sleep(Duration::from_millis(200));
        bar.set_position((running.packaged_secs() * 1000.0) as u64);
    }
    bar.finish_and_clear();
    let s = running.stream.clone();
    running.wait()?;
    for r in s.renditions() {
        let mut model = s.media_playlist(r);
        model.playlist_type = Some(PlaylistType::Vod);
        model.ended = true;
        r.write_playlist(&model.render(Skip::No));
    }
    let master = s.multivariant().render()?;
    let path = args.out.join(s.name()).join("master.m3u8");
    write_atomic(&path, &[master.as_bytes()])?;
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}
