//! The connection shell: hyper 1 + hyper-util (HTTP/1.1 keep-alive and h2c on one port, or
//! HTTPS with HTTP/2 and HTTP/1.1 by ALPN), the accept loop with one task per connection, the
//! connection limit, slow-client timeouts, and graceful shutdown that answers every waiting
//! request. What a request is answered is `crate::routes`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use packager::store::Store;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch, Semaphore};
use tokio::task::JoinHandle;

use crate::blocking::PublishClock;
use crate::cache::PlaylistCache;
use crate::metrics::Metrics;
use crate::pages::PlayerFiles;
use crate::routes::{self, Shared};
use crate::sendfile::SendfileStream;
use crate::stall::SendDeadline;

/// Origin settings. Defaults are in `Default`.
#[derive(Debug, Clone)]
pub struct OriginOptions {
    /// Longest request target (path + query) served; longer gets 414. Default 4096 bytes.
    pub max_uri_len: usize,
    /// A connection must send a full request head within this time (also the idle keep-alive
    /// limit between requests); otherwise it is closed. Default 10 s.
    pub header_read_timeout: Duration,
    /// A response write that makes no progress for this long (the client stopped reading) cuts
    /// the connection ([`crate::stall`]). Waiting for a part is not writing: held requests are
    /// not affected. Default 20 s.
    pub send_timeout: Duration,
    /// Largest request head (HTTP/1 read buffer; HTTP/2 header list). Default 16 KiB.
    pub max_header_bytes: usize,
    /// Open connections at most; more are closed at once. Default 20,000.
    pub max_connections: usize,
    /// Playlist bodies kept in the cache at most. Default 4096.
    pub cache_capacity: u64,
    /// How long shutdown waits for open connections to finish. Default 5 s.
    pub shutdown_grace: Duration,
    /// Directory to read the player page (`page/`) and hls.js (`node_modules/`) from at request
    /// time, i.e. the repository's `scripts/player`. Default: none (the page built into the
    /// binary, and hls.js when it was installed at build time; see `crate::pages`).
    pub player_dir: Option<std::path::PathBuf>,
    /// Serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN) with this config (`tls::load`). Default: none
    /// (plain HTTP/1.1 and h2c).
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// Longest time a rendered playlist stays cached. Entries are keyed by the rendition's
    /// position, so this only bounds memory and how stale the rendition reports of the other
    /// renditions can get; keep it ≤ one target duration. Default 1 s.
    pub playlist_cache_ttl: Duration,
    /// The token of the cue API's writes (`crate::api`); `None`: writes are refused (401).
    pub api_token: Option<crate::api::ApiToken>,
}

impl Default for OriginOptions {
    fn default() -> Self {
        OriginOptions {
            max_uri_len: 4096,
            header_read_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(20),
            max_header_bytes: 16 * 1024,
            max_connections: 20_000,
            cache_capacity: 4096,
            shutdown_grace: Duration::from_secs(5),
            player_dir: None,
            tls: None,
            playlist_cache_ttl: Duration::from_secs(1),
            api_token: None,
        }
    }
}

/// A running origin on its own task: bind, read the address, shut down.
#[derive(Debug)]
pub struct Origin {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Origin {
    /// Binds `addr` (use `127.0.0.1:0` in tests) and serves `store` until `shutdown` is called.
    pub async fn bind(
        addr: SocketAddr,
        store: Arc<Store>,
        opts: OriginOptions,
    ) -> io::Result<Origin> {
        let listener = listen(addr)?;
        let addr = listener.local_addr()?;
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, store, opts, async move {
            let _ = rx.await;
        }));
        Ok(Origin {
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, answers every waiting request (503), lets open requests finish within
    /// the grace period, and returns when the server task has ended.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// A listener with a deep accept backlog (4096, capped by the kernel's somaxconn), so a herd
/// of players connecting at once is not met with SYN retries.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// Serves `store` on `listener` until `shutdown` completes; then stops accepting, wakes every
/// blocked request with a 503, and waits up to `opts.shutdown_grace` for connections to finish.
pub async fn serve(
    listener: TcpListener,
    store: Arc<Store>,
    opts: OriginOptions,
    shutdown: impl Future,
) {
    let (sd_tx, sd_rx) = watch::channel(false);
    let metrics = Arc::new(Metrics::default());
    let cache = PlaylistCache::new(
        opts.cache_capacity,
        opts.playlist_cache_ttl,
        Arc::clone(&metrics),
    );
    let shared = Arc::new(Shared {
        store,
        max_uri_len: opts.max_uri_len,
        player: PlayerFiles::new(opts.player_dir.clone()),
        metrics,
        cache,
        clock: PublishClock::default(),
        shutdown: sd_rx,
        api_token: opts.api_token.clone(),
    });

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(opts.header_read_timeout)
        .max_buf_size(opts.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(opts.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(1024)
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(Duration::from_secs(20));
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(opts.max_connections));
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = &mut shutdown => break,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                // EMFILE and friends: back off a little instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            shared.metrics.refused_connections.fetch_add(1, Relaxed);
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let sh = Arc::clone(&shared);
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let first_byte = opts.header_read_timeout;
        let (send_timeout, tls) = (opts.send_timeout, opts.tls.clone());
        tokio::spawn(async move {
            sh.metrics.open_connections.fetch_add(1, Relaxed);
            // hyper-util's auto builder sniffs the protocol before hyper's header timer runs,
            // so a client that never sends a byte is cut here.
            let mut b = [0u8; 1];
            if matches!(tokio::time::timeout(first_byte, tcp.peek(&mut b)).await, Ok(Ok(n)) if n > 0)
            {
                let sh2 = Arc::clone(&sh);
                let svc = service_fn(move |req| routes::handle(Arc::clone(&sh2), req));
                let tcp = SendDeadline::new(SendfileStream::new(tcp), send_timeout);
                match tls {
                    Some(tls) => {
                        // The handshake gets the same deadline as a request head.
                        let accept = tokio_rustls::TlsAcceptor::from(tls).accept(tcp);
                        match tokio::time::timeout(first_byte, accept).await {
                            Ok(Ok(stream)) => {
                                let conn = builder
                                    .serve_connection(TokioIo::new(stream), svc)
                                    .into_owned();
                                if let Err(e) = watcher.watch(conn).await {
                                    tracing::debug!(error = %e, "connection ended with an error");
                                }
                            }
                            Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                            Err(_) => tracing::debug!("TLS handshake timed out"),
                        }
                    }
                    None => {
                        let conn = builder
                            .serve_connection(TokioIo::new(tcp), svc)
                            .into_owned();
                        if let Err(e) = watcher.watch(conn).await {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                    }
                }
            }
            sh.metrics.open_connections.fetch_sub(1, Relaxed);
            drop(permit);
        });
    }
    drop(listener);
    sd_tx.send_replace(true);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(opts.shutdown_grace) => tracing::warn!("shutdown grace period over; dropping connections"),
    }
}
