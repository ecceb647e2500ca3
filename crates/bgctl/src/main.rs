//! `bgctl`, the breakglass command-line client.

use clap::Parser;

/// Top-level command line.
#[derive(Debug, Parser)]
#[command(name = "bgctl", version, about = "Command-line client for breakglass")]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
