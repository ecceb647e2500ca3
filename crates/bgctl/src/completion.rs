//! `bgctl completion` (being built).

/// Arguments of this command.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Prints the script; returns the exit code.
pub fn run(_args: &Args) -> anyhow::Result<u8> {
    anyhow::bail!("not available yet")
}
