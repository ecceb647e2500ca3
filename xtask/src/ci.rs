//! `cargo xtask test`: every check and test the project has, in the order CI runs them.

use std::process::{Command, ExitStatus};
use std::time::Instant;

use anyhow::{Context, bail};

/// Arguments of `cargo xtask test`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Skip starting the test environment (tests that need it are skipped and say so).
    #[arg(long)]
    pub no_testenv: bool,
    /// Leave the test environment running afterwards (for inspecting a failure).
    #[arg(long)]
    pub keep_testenv: bool,
}

/// Runs formatting and lint checks, brings the test environment up, runs every test and
/// always tears the environment down again.
pub fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    step("cargo fmt --check", cargo(&["fmt", "--all", "--check"]))?;
    step(
        "cargo clippy",
        cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    step("CRD manifests are current", xtask(&["crds", "--check"]))?;

    let mut test = cargo_command(&["test", "--workspace", "--no-fail-fast"]);
    let outcome = if args.no_testenv {
        test.env("BREAKGLASS_SKIP_TESTENV", "1");
        step("cargo test (without testenv)", test.status())
    } else {
        step("testenv up", xtask(&["testenv", "up"]))?;
        let outcome = step("cargo test", test.status());
        if args.keep_testenv {
            eprintln!("==> leaving the test environment running (--keep-testenv)");
        } else if let Err(err) = step("testenv down", xtask(&["testenv", "down"])) {
            eprintln!("warning: {err:#}");
        }
        outcome
    };
    eprintln!("==> finished in {:.0?}", started.elapsed());
    outcome
}

fn step(name: &str, status: std::io::Result<ExitStatus>) -> anyhow::Result<()> {
    let status = status.with_context(|| format!("could not start `{name}`"))?;
    if !status.success() {
        bail!("`{name}` failed ({status})");
    }
    eprintln!("==> {name}: ok");
    Ok(())
}

fn cargo_command(args: &[&str]) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.args(args);
    cmd
}

fn cargo(args: &[&str]) -> std::io::Result<ExitStatus> {
    cargo_command(args).status()
}

/// Runs another xtask in a child process, so each task keeps its own exit handling.
fn xtask(args: &[&str]) -> std::io::Result<ExitStatus> {
    Command::new(std::env::current_exe()?).args(args).status()
}
