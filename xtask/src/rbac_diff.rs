//! `cargo xtask rbac-diff`: the RBAC mirror against a real apiserver, at full size.
//!
//! Runs the e2e test `rbac_mirror::the_mirror_answers_exactly_as_the_apiserver` with
//! `RBAC_DIFF_REQUESTS` requests (default 10,000; the test command runs 1,500): random
//! but realistic RBAC is created on testenv's target-a and every request is answered by
//! the mirror and by the apiserver's own SubjectAccessReview; one disagreement fails
//! and prints the seed, which `--seed` replays. Starts testenv if it is not up (and
//! stops it again afterwards).

use std::process::Command;

use anyhow::bail;

/// Arguments of `cargo xtask rbac-diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Requests to compare.
    #[arg(long, default_value_t = 10_000)]
    pub requests: usize,
    /// Seed of the random RBAC and requests (default: from the clock; printed).
    #[arg(long)]
    pub seed: Option<u64>,
}

fn testenv_dir() -> std::path::PathBuf {
    std::env::var_os("BREAKGLASS_TESTENV_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.testenv"),
        std::path::PathBuf::from,
    )
}

/// Runs the differential test at the requested size.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let was_up = testenv_dir().join("state.json").exists();
    let xtask = std::env::current_exe()?;
    if !Command::new(&xtask)
        .args(["testenv", "up"])
        .status()?
        .success()
    {
        bail!("testenv did not come up");
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut test = Command::new(cargo);
    test.args([
        "test",
        "-p",
        "breakglass-server",
        "--test",
        "e2e",
        "rbac_mirror::the_mirror_answers_exactly_as_the_apiserver",
        "--",
        "--exact",
        "--nocapture",
    ])
    .env("RBAC_DIFF_REQUESTS", args.requests.to_string());
    if let Some(seed) = args.seed {
        test.env("RBAC_DIFF_SEED", seed.to_string());
    }
    let status = test.status()?;
    if !was_up {
        let _ = Command::new(&xtask).args(["testenv", "down"]).status();
    }
    if !status.success() {
        bail!("the RBAC mirror disagreed with the apiserver (the seed is printed above)");
    }
    Ok(())
}
