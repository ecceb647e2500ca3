//! The server under test: built by cargo, started as testenv's e2e tests start it
//! (config file, hub kubeconfig, `--exit-on-stdin-eof`), one replica without election.

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use breakglass_testenv::TestEnv;

/// Builds `breakglass` (release or debug) and returns the binary's path.
pub fn build(release: bool) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "breakglass-server", "--bin", "breakglass"]);
    if release {
        cmd.arg("--release");
    }
    eprintln!("==> {cmd:?}");
    let status = cmd.status().context("running cargo build")?;
    if !status.success() {
        bail!("cargo build of the server failed ({status})");
    }
    let bin = super::target_dir()
        .join(if release { "release" } else { "debug" })
        .join("breakglass");
    if !bin.exists() {
        bail!("{} was not built", bin.display());
    }
    Ok(bin)
}

/// A running `breakglass`.
pub struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    addr: String,
    log: PathBuf,
}

impl Server {
    /// Starts the server on a free loopback port and waits until it is ready.
    pub async fn start(env: &TestEnv, bin: &Path, dir: &Path) -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?.to_string();
        drop(listener);
        let config = dir.join("server-config.yaml");
        std::fs::write(
            &config,
            format!(
                "server:\n  listenAddress: {addr}\n  shutdownTimeout: 5s\n\
                 frontend:\n  baseURL: http://{addr}\n\
                 kubernetes:\n  oidcPrefixes: ['{prefix}']\n",
                prefix = env.group_prefix(),
            ),
        )?;
        let log = dir.join("server.log");
        let out = std::fs::File::create(&log)?;
        let err = out.try_clone()?;
        let mut child = Command::new(bin)
            .arg("--config-path")
            .arg(&config)
            .args(["--pod-namespace", "breakglass-system"])
            .arg("--enable-leader-election=false")
            .arg("--exit-on-stdin-eof")
            .env("KUBECONFIG", env.hub_kubeconfig())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdin = child.stdin.take();
        let mut server = Self {
            child,
            stdin,
            addr,
            log,
        };
        server.wait_ready(Duration::from_secs(60)).await?;
        Ok(server)
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        let http = reqwest::Client::new();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!(
                    "breakglass exited with {status}; log {}:\n{}",
                    self.log.display(),
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if let Ok(r) = http.get(format!("{}/readyz", self.url())).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if started.elapsed() > timeout {
                bail!(
                    "breakglass not ready after {timeout:?}; log {}",
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Resident memory of the process, MiB.
    pub fn rss_mib(&self) -> f64 {
        rss_mib(self.child.id())
    }

    /// Graceful stop: closes stdin and waits for the exit.
    pub fn stop(mut self) -> anyhow::Result<()> {
        drop(self.stdin.take());
        let started = Instant::now();
        while self.child.try_wait()?.is_none() {
            if started.elapsed() > Duration::from_secs(20) {
                let _ = self.child.kill();
                bail!("breakglass did not stop within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

/// Resident memory of process `pid`, MiB (`VmRSS` in `/proc/<pid>/status`; 0 if unknown).
pub fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed run must not leave the server behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
