//! `llhls serve` (being wired).

use std::process::ExitCode;

/// Arguments of `llhls serve`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `llhls serve`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("llhls serve is not wired yet")
}
