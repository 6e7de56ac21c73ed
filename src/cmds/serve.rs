//! `llhls serve`: run the configured streams (or the embedded default) and serve them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use packager::config::{Config, StreamConfig};
use packager::live::{self, LiveStream, Options};
use packager::store::{write_atomic, Store};

/// 32 random bytes from the OS, as hex: a token nobody can guess.
fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no randomness for the API token: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Arguments of `llhls serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// TOML file declaring the streams. Default: the embedded default — the built-in test
    /// pattern through a 720p/480p/360p + AAC ladder, as stream `live`.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on (overrides `[server] listen`; default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Directory for the disk copy of every stream (overrides `[server] storage`): a restart
    /// resumes the window, and any static web server can serve the tree.
    #[arg(long)]
    pub storage: Option<PathBuf>,
    /// Directory to read the player page and hls.js from at request time (the layout of the
    /// repository's `scripts/player`, set up by `scripts/setup`). Default: the page built into
    /// the binary, with hls.js when it was installed when the binary was built.
    #[arg(long)]
    pub player_dir: Option<PathBuf>,
    /// PEM certificate chain: serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN). Needs --tls-key.
    /// Overrides `[server.tls]`.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// Starts every stream, serves until Ctrl-C (or SIGTERM), then shuts down cleanly: waiting
/// requests are answered, the transcoders stop, playlists get EXT-X-ENDLIST.
///
/// Each stream starts on its own thread: a live input (an RTMP or SRT listener) may wait for
/// its publisher, and the origin and the other streams must not wait with it.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default_embedded(),
    };
    let listen = args.listen.unwrap_or(config.server.listen);
    let storage = args
        .storage
        .clone()
        .or_else(|| config.server.storage.clone());
    let player_dir = args.player_dir.clone();
    let tls =
        match (&args.tls_cert, &args.tls_key, &config.server.tls) {
            (Some(cert), Some(key), _) => Some(origin::tls::load(cert, key)?),
            (_, _, Some(t)) => Some(origin::tls::load(&t.cert, &t.key).with_context(|| {
                format!("[server.tls] of {}", config_name(args.config.as_deref()))
            })?),
            _ => None,
        };
    let scheme = if tls.is_some() { "https" } else { "http" };
    // Every viewer holds a socket: raise the soft open-file limit to the hard one (a default
    // soft limit of 1024 would refuse viewers long before the origin's own 20,000 cap).
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::info!(open_files = n, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }
    let store = Store::new();
    let cancel = Arc::new(AtomicBool::new(false));
    let running: Arc<Mutex<Vec<LiveStream>>> = Arc::default();
    let starters: Vec<_> = config
        .streams
        .iter()
        .cloned()
        .map(|stream| {
            let options = Options {
                storage: storage.clone(),
                keep_all: false,
                cancel: Arc::clone(&cancel),
            };
            let (store, running) = (Arc::clone(&store), Arc::clone(&running));
            std::thread::spawn(move || start_stream(&stream, &options, &store, &running))
        })
        .collect();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // The cue API's token: config, else environment, else made here and printed once below.
    let (api_token, made) = match config
        .server
        .api_token
        .clone()
        .or_else(|| std::env::var("LLHLS_API_TOKEN").ok())
        .filter(|t| !t.is_empty())
    {
        Some(t) => (t, false),
        None => (random_token()?, true),
    };
    runtime.block_on(async {
        let opts = origin::OriginOptions {
            player_dir,
            tls,
            api_token: Some(origin::ApiToken::new(&api_token)),
            ..origin::OriginOptions::default()
        };
        let listener = origin::listen(listen).with_context(|| format!("listening on {listen}"))?;
        let addr = listener.local_addr()?;
        for s in &config.streams {
            println!(
                "stream {:?}: {scheme}://{addr}/{}/master.m3u8",
                s.name, s.name
            );
        }
        println!("player: {scheme}://{addr}/");
        if made {
            // Printed once, here, for the operator; never logged.
            println!("cue API token (POST {scheme}://{addr}/api/v1/streams/{{stream}}/cues): {api_token}");
        } else {
            println!("cue API token: from the configuration or LLHLS_API_TOKEN");
        }
        origin::serve(listener, Arc::clone(&store), opts, shutdown_signal()).await;
        anyhow::Ok(())
    })?;
    cancel.store(true, Ordering::Relaxed);
    for s in starters {
        let _ = s.join();
    }
    let streams = std::mem::take(&mut *running.lock().unwrap_or_else(|e| e.into_inner()));
    for live in streams {
        let name = live.stream.name().to_owned();
        if let Err(e) = live.stop() {
            tracing::warn!(stream = %name, error = %e, "stream stopped with an error");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The config's name in messages: its path, or the embedded default.
fn config_name(path: Option<&std::path::Path>) -> String {
    path.map_or_else(
        || "the embedded default".into(),
        |p| p.display().to_string(),
    )
}

fn start_stream(
    stream: &StreamConfig,
    options: &Options,
    store: &Store,
    running: &Mutex<Vec<LiveStream>>,
) {
    match live::start(stream, options) {
        Ok(live) => {
            store.insert(live.stream.clone());
            if let Some(root) = &options.storage {
                // The multivariant playlist of the disk copy, for static web servers; its
                // BANDWIDTH values are the configured ones until media is measured.
                if let Ok(text) = live.stream.multivariant().render() {
                    if let Err(e) = write_atomic(
                        &root.join(&stream.name).join("master.m3u8"),
                        &[text.as_bytes()],
                    ) {
                        tracing::warn!(stream = %stream.name, error = %e, "writing master.m3u8 failed");
                    }
                }
            }
            tracing::info!(stream = %stream.name, "stream started");
            running.lock().unwrap_or_else(|e| e.into_inner()).push(live);
        }
        Err(e) if options.cancel.load(Ordering::Relaxed) => {
            tracing::info!(stream = %stream.name, error = %e, "start cancelled by shutdown");
        }
        Err(e) => tracing::error!(stream = %stream.name, error = %e, "stream could not start"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}
