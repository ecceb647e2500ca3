//! Project tasks, run as `cargo xtask <task>`.

use clap::Parser;

/// Project tasks.
#[derive(Debug, Parser)]
#[command(name = "xtask")]
enum Task {}

fn main() -> anyhow::Result<()> {
    let _task = Task::parse();
    Ok(())
}
