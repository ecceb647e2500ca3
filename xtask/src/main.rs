//! Project tasks, run as `cargo xtask <task>`.

// Scenario tests may be long; the length limit is for the code they test.
#![cfg_attr(test, allow(clippy::too_many_lines))]

mod bench;
mod ci;
mod crds;
mod install;
mod mail_preview;
mod rbac_diff;
mod testenv;

use clap::{Parser, Subcommand};

/// Project tasks.
#[derive(Debug, Parser)]
#[command(name = "xtask", about = "breakglass project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Generate the CRD manifests into `config/crd/` (or check them with `--check`).
    Crds(crds::Args),
    /// Build, start, stop and describe the local test environment.
    Testenv(testenv::Args),
    /// Run every check and test (the README's test command).
    Test(ci::Args),
    /// Render every notification mail with sample data to files.
    MailPreview(mail_preview::Args),
    /// Print what a target cluster's apiserver needs to ask breakglass (docs/install.md).
    TargetSetup(install::TargetSetupArgs),
    /// Build the release binaries the container image ships (as the Dockerfile does).
    Dist,
    /// Compare the RBAC mirror with a real apiserver on random RBAC (10,000 requests).
    RbacDiff(rbac_diff::Args),
    /// Benchmarks that drive the real server against testenv (docs/benchmarks.md).
    Bench(bench::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Crds(args) => crds::run(args),
        Task::Testenv(args) => testenv::run(args),
        Task::Test(args) => ci::run(args),
        Task::MailPreview(args) => mail_preview::run(args),
        Task::TargetSetup(args) => install::target_setup(&args),
        Task::Dist => install::dist(),
        Task::RbacDiff(args) => rbac_diff::run(&args),
        Task::Bench(args) => bench::run(args),
    }
}
