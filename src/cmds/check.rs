//! `llhls check` (being wired).

use std::process::ExitCode;

/// Arguments of `llhls check`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `llhls check`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("llhls check is not wired yet")
}
