//! The `breakglass` hub server.

use clap::Parser;

/// Command-line options of the hub server.
#[derive(Debug, Parser)]
#[command(
    name = "breakglass",
    version,
    about = "Just-in-time access for Kubernetes fleets"
)]
struct Args {}

fn main() -> anyhow::Result<()> {
    let _args = Args::parse();
    tracing_subscriber::fmt().json().init();
    tracing::info!("breakglass server: nothing to serve yet");
    Ok(())
}
