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
    pure_crates_stay_pure()?;
    // The UI's own dependencies (Vite, vue-tsc, playwright-core, axe-core) for its type
    // check and the browser test; the server's build installs its own copy.
    step(
        "web UI: npm ci",
        npm(&["ci", "--no-audit", "--no-fund", "--loglevel=error"]),
    )?;
    step("web UI: type check", npm(&["run", "check"]))?;

    let mut test = cargo_command(&["test", "--workspace", "--no-fail-fast"]);
    let outcome = if args.no_testenv {
        test.env("BREAKGLASS_SKIP_TESTENV", "1");
        step("cargo test (without testenv)", test.status())
    } else {
        step("testenv up", xtask(&["testenv", "up", "--with", "kafka"]))?;
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

/// Crates that must build without an async runtime or HTTP stack: the pure logic and the
/// CRD types (with the REST wire types). A dependency that drags tokio, hyper or a Kubernetes client in
/// fails the run.
const PURE_CRATES: [&str; 2] = ["breakglass-core", "breakglass-api"];
const FORBIDDEN_IN_PURE: [&str; 4] = ["tokio", "hyper", "kube-client", "kube-runtime"];

fn pure_crates_stay_pure() -> anyhow::Result<()> {
    for krate in PURE_CRATES {
        let out = cargo_command(&["tree", "-p", krate, "-e", "normal", "--prefix", "none"])
            .output()
            .with_context(|| format!("could not run cargo tree for {krate}"))?;
        if !out.status.success() {
            bail!("`cargo tree -p {krate}` failed ({})", out.status);
        }
        let tree = String::from_utf8_lossy(&out.stdout);
        let found = forbidden_dependencies(&tree);
        if !found.is_empty() {
            bail!(
                "{krate} depends on {} (normal dependencies)",
                found.join(", ")
            );
        }
    }
    eprintln!("==> core and api build without tokio, hyper or a kube client: ok");
    Ok(())
}

/// The forbidden crates named in `cargo tree --prefix none` output.
fn forbidden_dependencies(tree: &str) -> Vec<String> {
    let mut found: Vec<String> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| FORBIDDEN_IN_PURE.contains(name))
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
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
fn npm(args: &[&str]) -> std::io::Result<ExitStatus> {
    let ui = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui");
    Command::new("npm").args(args).current_dir(ui).status()
}

fn xtask(args: &[&str]) -> std::io::Result<ExitStatus> {
    Command::new(std::env::current_exe()?).args(args).status()
}

#[cfg(test)]
mod tests {
    use super::forbidden_dependencies;

    #[test]
    fn finds_forbidden_crates_by_exact_name() {
        let tree = "breakglass-core v0.1.0 (/x)\nkube-core v5.0.0\ntokio v1.54.1\ntokio-util v0.7.20\nhyper v1.12.0\n";
        assert_eq!(forbidden_dependencies(tree), vec!["hyper", "tokio"]);
        assert!(
            forbidden_dependencies("kube-core v5.0.0\nkube-derive v5.0.0 (proc-macro)\n")
                .is_empty()
        );
    }
}
