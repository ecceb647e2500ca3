//! Background daemons: started in their own process group so they outlive
//! `cargo xtask testenv up`, with a pid file and a log file in the run directory.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use rustix::process::{Pid, Signal};

use crate::layout::Layout;

/// A daemon to start.
#[derive(Debug, Clone)]
pub struct Daemon {
    /// Unique name (`etcd-hub`, `kube-apiserver-target-a`, …): names the pid and log files.
    pub name: String,
    /// Binary.
    pub bin: PathBuf,
    /// Arguments.
    pub args: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
}

/// A recorded daemon: pid and binary from its pid file.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Daemon name.
    pub name: String,
    /// Process id (also its process group id).
    pub pid: i32,
    /// Binary it runs.
    pub bin: PathBuf,
}

impl Recorded {
    /// True if the process is alive, not a zombie, and still runs the recorded binary.
    pub fn alive(&self) -> bool {
        pid_runs(self.pid, &self.bin)
    }
}

/// True while the process exists and has not yet become a zombie. A process
/// that is exiting loses its `/proc/<pid>/exe` before it closes its sockets, so
/// waiting for a stop must use this, not [`pid_runs`].
fn pid_exists(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // Field 3, after the parenthesised command name, is the state.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X"))
}

fn pid_runs(pid: i32, bin: &Path) -> bool {
    if !pid_exists(pid) {
        return false;
    }
    let proc = PathBuf::from(format!("/proc/{pid}"));
    match std::fs::read_link(proc.join("exe")) {
        Ok(exe) => {
            let exe = exe.to_string_lossy();
            let exe = exe.trim_end_matches(" (deleted)");
            Path::new(exe) == bin || std::fs::canonicalize(bin).is_ok_and(|b| Path::new(exe) == b)
        }
        Err(_) => false,
    }
}

fn pid_file(layout: &Layout, name: &str) -> PathBuf {
    layout.pid_dir().join(format!("{name}.pid"))
}

/// The log file of a daemon.
pub fn log_file(layout: &Layout, name: &str) -> PathBuf {
    layout.log_dir().join(format!("{name}.log"))
}

/// Starts a daemon in its own process group, stdout and stderr to its log file.
pub fn spawn(layout: &Layout, d: &Daemon) -> anyhow::Result<Recorded> {
    std::fs::create_dir_all(layout.log_dir())?;
    std::fs::create_dir_all(layout.pid_dir())?;
    let log_path = log_file(layout, &d.name);
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let log2 = log.try_clone()?;
    let child = Command::new(&d.bin)
        .args(&d.args)
        .envs(d.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(&layout.dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {} ({})", d.name, d.bin.display()))?;
    let pid = i32::try_from(child.id()).context("pid out of range")?;
    // The child is not waited for: it belongs to nobody once `up` exits.
    drop(child);
    std::fs::write(
        pid_file(layout, &d.name),
        format!("{pid}\n{}\n", d.bin.display()),
    )?;
    Ok(Recorded {
        name: d.name.clone(),
        pid,
        bin: d.bin.clone(),
    })
}

/// Every daemon with a pid file, sorted by name.
pub fn recorded(layout: &Layout) -> Vec<Recorded> {
    let Ok(entries) = std::fs::read_dir(layout.pid_dir()) else {
        return Vec::new();
    };
    let mut out: Vec<Recorded> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            let name = path.file_name()?.to_str()?.strip_suffix(".pid")?.to_owned();
            let text = std::fs::read_to_string(&path).ok()?;
            let mut lines = text.lines();
            let pid = lines.next()?.trim().parse().ok()?;
            let bin = PathBuf::from(lines.next()?.trim());
            Some(Recorded { name, pid, bin })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The recorded daemon `name`, if any.
pub fn find(layout: &Layout, name: &str) -> Option<Recorded> {
    recorded(layout).into_iter().find(|r| r.name == name)
}

fn signal(r: &Recorded, sig: Signal) {
    if let Some(pid) = Pid::from_raw(r.pid) {
        // The daemon leads its own process group: signal the whole group.
        if rustix::process::kill_process_group(pid, sig).is_err() {
            let _ = rustix::process::kill_process(pid, sig);
        }
    }
}

/// Stops the given daemons: SIGTERM, then SIGKILL after `grace`. Removes their pid files.
pub fn stop(layout: &Layout, daemons: &[Recorded], grace: Duration) {
    // Only processes that still run the recorded binary are ours to signal.
    let live: Vec<&Recorded> = daemons.iter().filter(|r| r.alive()).collect();
    for r in &live {
        signal(r, Signal::TERM);
    }
    let gone = |r: &&Recorded| !pid_exists(r.pid);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && !live.iter().all(gone) {
        std::thread::sleep(Duration::from_millis(100));
    }
    for r in live.iter().filter(|r| !gone(r)) {
        signal(r, Signal::KILL);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !live.iter().all(gone) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for r in daemons {
        let _ = std::fs::remove_file(pid_file(layout, &r.name));
    }
}

/// Resident memory of a process and its descendants, in KiB.
pub fn rss_kib(pid: i32) -> u64 {
    let mut total = 0;
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{p}/status")) {
            total += status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
        if let Ok(children) = std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")) {
            stack.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<i32>().ok()),
            );
        }
    }
    total
}

/// The last `n` lines of a daemon's log.
pub fn log_tail(layout: &Layout, name: &str, n: usize) -> String {
    let text = std::fs::read_to_string(log_file(layout, name)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
