//! `cargo xtask crds`: CRD manifest generation.

/// Arguments of `cargo xtask crds`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Fail instead of writing when the committed manifests differ from the types.
    #[arg(long)]
    pub check: bool,
}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("CRD generation is not wired yet")
}
