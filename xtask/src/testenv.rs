//! `cargo xtask testenv`: the local test environment.

/// Arguments of `cargo xtask testenv`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("testenv is not wired yet")
}
