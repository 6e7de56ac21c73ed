//! `llhls package` (being wired).

use std::process::ExitCode;

/// Arguments of `llhls package`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `llhls package`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("llhls package is not wired yet")
}
