//! `llhls serve`: run the configured streams (or the embedded default) and serve them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use packager::config::Config;
use packager::live::{self, Options};
use packager::store::{write_atomic, Store};

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
}

/// Starts every stream, serves until Ctrl-C (or SIGTERM), then shuts down cleanly: waiting
/// requests are answered, the transcoders stop, playlists get EXT-X-ENDLIST.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default_embedded(),
    };
    let listen = args.listen.unwrap_or(config.server.listen);
    let storage = args.storage.clone().or_else(|| config.server.storage.clone());
    let store = Store::new();
    let mut running = Vec::new();
    for stream in &config.streams {
        let live = live::start(stream, &Options { storage: storage.clone(), keep_all: false })
            .with_context(|| format!("starting stream {:?}", stream.name))?;
        store.insert(live.stream.clone());
        running.push(live);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let opts = origin::OriginOptions::default();
        let listener = origin::listen(listen).with_context(|| format!("listening on {listen}"))?;
        let addr = listener.local_addr()?;
        for s in store.streams() {
            println!("stream {:?}: http://{addr}/{}/master.m3u8", s.name(), s.name());
        }
        println!("player: http://{addr}/");
        if let Some(root) = &storage {
            // The multivariant playlist of the disk copy, for static web servers; its BANDWIDTH
            // values are the configured ones until media is measured.
            for s in store.streams() {
                let text = s.multivariant().render()?;
                write_atomic(&root.join(s.name()).join("master.m3u8"), &[text.as_bytes()])?;
            }
        }
        origin::serve(listener, store.clone(), opts, shutdown_signal()).await;
        anyhow::Ok(())
    })?;
    for live in running {
        let name = live.stream.name().to_owned();
        if let Err(e) = live.stop() {
            tracing::warn!(stream = %name, error = %e, "stream stopped with an error");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
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
