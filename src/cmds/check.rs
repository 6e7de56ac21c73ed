//! `llhls check FILE`: parse and validate a config, print the resolved ladder.

use std::path::PathBuf;
use std::process::ExitCode;

use packager::config::Config;

/// Arguments of `llhls check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The TOML config file to validate.
    pub file: PathBuf,
}

/// Prints the resolved ladder and exits 0, or prints the error (field path and line) and
/// exits 1.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match Config::load(&args.file) {
        Ok(config) => {
            print!("{}", config.describe());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::from(1))
        }
    }
}
