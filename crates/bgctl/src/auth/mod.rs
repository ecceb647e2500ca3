//! `bgctl auth` (being built).

use crate::Global;

/// Arguments of this command.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command; returns the exit code.
pub async fn run(_global: &Global, _args: &Args) -> anyhow::Result<u8> {
    anyhow::bail!("not available yet")
}
