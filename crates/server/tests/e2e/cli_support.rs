//! Running the real `bgctl` binary in end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::Context as _;
use tokio::sync::OnceCell;

/// Path of a freshly built `bgctl` (built once per test run: another package's binary
/// is not built for this package's tests).
pub async fn bgctl_path() -> anyhow::Result<PathBuf> {
    static BUILT: OnceCell<PathBuf> = OnceCell::const_new();
    BUILT
        .get_or_try_init(|| async {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            let status = tokio::process::Command::new(cargo)
                .args(["build", "--quiet", "-p", "bgctl", "--bins"])
                .current_dir(&workspace)
                .status()
                .await
                .context("building bgctl")?;
            anyhow::ensure!(status.success(), "cargo build -p bgctl failed");
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| workspace.join("target"), PathBuf::from);
            let path = target.join("debug").join("bgctl");
            anyhow::ensure!(path.exists(), "{} missing after build", path.display());
            Ok(path)
        })
        .await
        .cloned()
}

/// A `bgctl` command isolated from the developer's own config and environment: its
/// config directory is `home` and no `BGCTL_*` variable leaks in.
pub async fn bgctl(home: &Path) -> anyhow::Result<Command> {
    let mut cmd = Command::new(bgctl_path().await?);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("BGCTL_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("NO_COLOR", "1")
        .env_remove("BROWSER");
    Ok(cmd)
}

/// A fresh, empty home directory for one test's `bgctl` (config, token cache).
pub fn home(test: &str) -> anyhow::Result<PathBuf> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir =
        crate::support::work_dir().join(format!("bgctl-home-{test}-{}-{n}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Runs bgctl against `server` with `token` and `args`.
pub async fn run(home: &Path, server: &str, token: &str, args: &[&str]) -> anyhow::Result<Output> {
    let mut cmd = bgctl(home).await?;
    cmd.args(["--server", server, "--token", token]).args(args);
    Ok(tokio::process::Command::from(cmd).output().await?)
}

/// Lossy UTF-8 of a process stream.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts exit code `code`, showing both streams when it differs.
pub fn exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}
