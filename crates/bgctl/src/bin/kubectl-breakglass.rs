//! `kubectl-breakglass`, the kubectl plugin (`kubectl breakglass -- get pods`).
//!
//! It is `bgctl kubectl …` under another name: it runs the `bgctl` installed next to it
//! (or the one on `PATH`) with `kubectl` and its own arguments, so both behave the same
//! and only one program holds the logic.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

/// The `bgctl` next to this executable, else `bgctl` from `PATH`.
fn bgctl() -> PathBuf {
    let name = format!("bgctl{}", std::env::consts::EXE_SUFFIX);
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(&name)))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let program = bgctl();
    let mut cmd = Command::new(&program);
    cmd.arg("kubectl").args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        // Replace this process: signals, the terminal and the exit status are bgctl's.
        let err = cmd.exec();
        eprintln!("error: cannot run {}: {err}", program.display());
        ExitCode::from(1)
    }
    #[cfg(not(unix))]
    {
        match cmd.status() {
            Ok(s) => ExitCode::from(s.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(1)),
            Err(err) => {
                eprintln!("error: cannot run {}: {err}", program.display());
                ExitCode::from(1)
            }
        }
    }
}
