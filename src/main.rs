//! `llhls` — the binary: command-line parsing and wiring only. Logic lives in the
//! `packager` and `origin` crates.

mod cmds;

use clap::{Parser, Subcommand};

/// Low-latency HLS/CMAF origin and packager.
#[derive(Debug, Parser)]
#[command(name = "llhls", version, about, long_about = None)]
struct Args {
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve live LL-HLS. With no --config: the built-in test pattern through the default
    /// ladder (720p/480p/360p + AAC) on 127.0.0.1:8080.
    Serve(cmds::serve::Args),
    /// Validate a config file and print the resolved ladder; exit 1 on error.
    Check(cmds::check::Args),
    /// Package a file into a VOD CMAF HLS tree on disk, servable by any static web server.
    Package(cmds::package::Args),
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    cmds::init_logging(args.log_json);
    let result = match args.command {
        Command::Serve(a) => cmds::serve::run(a),
        Command::Check(a) => cmds::check::run(a),
        Command::Package(a) => cmds::package::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("llhls: error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
