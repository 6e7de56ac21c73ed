//! One module per subcommand.

pub mod check;
pub mod package;
pub mod serve;

/// Sets up `tracing`: human-readable by default, JSON with `--log-json`; `RUST_LOG` filters.
pub fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
