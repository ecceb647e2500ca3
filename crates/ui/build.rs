//! Builds the web UI (`ui/`, TypeScript + Vue, bundled by Vite) and embeds the result.
//!
//! The sources are copied into `OUT_DIR` and built there, so concurrent builds of
//! different profiles never share a `node_modules` and the source tree stays clean.
//! `BREAKGLASS_UI_DIST=<dir>` embeds an already built `dist/` instead (container
//! builds with a separate Node stage); npm is then not needed.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// What is copied from `ui/` into the build directory.
const SOURCES: &[&str] = &[
    "package.json",
    "package-lock.json",
    "index.html",
    "vite.config.ts",
    "tsconfig.json",
    "src",
    "public",
];

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: building the web UI failed: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let manifest = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(env("OUT_DIR")?);
    let ui = manifest.join("../../ui");
    println!("cargo:rerun-if-env-changed=BREAKGLASS_UI_DIST");
    let dist = match std::env::var_os("BREAKGLASS_UI_DIST") {
        Some(dir) => PathBuf::from(dir),
        None => {
            for s in SOURCES {
                println!("cargo:rerun-if-changed={}", ui.join(s).display());
            }
            build(&ui, &out)?
        }
    };
    let mut files = Vec::new();
    collect(&dist, &dist, &mut files).map_err(|e| format!("reading {}: {e}", dist.display()))?;
    files.sort();
    if !files.iter().any(|(rel, _)| rel == "index.html") {
        return Err(format!("{} has no index.html", dist.display()));
    }
    let mut code =
        String::from("/// Every file of the built UI.\npub static ASSETS: &[Asset] = &[\n");
    for (rel, abs) in &files {
        let _ = writeln!(
            code,
            "    Asset {{ path: {rel:?}, bytes: include_bytes!({abs:?}) }},",
            abs = abs.display().to_string()
        );
    }
    code.push_str("];\n");
    fs::write(out.join("assets.rs"), code).map_err(|e| format!("writing assets.rs: {e}"))?;
    Ok(())
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

/// Copies the sources to `OUT_DIR/ui`, installs the locked dependencies when the lock
/// file changed, and runs `vite build`. Returns the `dist` directory.
fn build(ui: &Path, out: &Path) -> Result<PathBuf, String> {
    let work = out.join("ui");
    for s in SOURCES {
        let from = ui.join(s);
        let to = work.join(s);
        if to.exists() && to.is_dir() {
            fs::remove_dir_all(&to).map_err(|e| format!("cleaning {}: {e}", to.display()))?;
        }
        copy(&from, &to).map_err(|e| format!("copying {}: {e}", from.display()))?;
    }
    let lock =
        fs::read(work.join("package-lock.json")).map_err(|e| format!("package-lock.json: {e}"))?;
    let installed = work.join("node_modules/.breakglass-lock");
    if fs::read(&installed).ok().as_deref() != Some(lock.as_slice()) {
        npm(
            &work,
            &["ci", "--no-audit", "--no-fund", "--loglevel=error"],
        )?;
        fs::write(&installed, &lock).map_err(|e| format!("{}: {e}", installed.display()))?;
    }
    let dist = work.join("dist");
    npm(
        &work,
        &[
            "exec",
            "--offline",
            "--",
            "vite",
            "build",
            "--logLevel",
            "warn",
            "--outDir",
            "dist",
        ],
    )?;
    Ok(dist)
}

fn npm(dir: &Path, args: &[&str]) -> Result<(), String> {
    let status = Command::new("npm")
        .args(args)
        .current_dir(dir)
        .env("BREAKGLASS_UI_OUT", dir.join("dist"))
        .status()
        .map_err(|e| {
            format!("cannot run npm ({e}); install Node.js 20.19 or newer with npm, or set BREAKGLASS_UI_DIST to a built UI")
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`npm {}` in {} failed ({status})",
            args.join(" "),
            dir.display()
        ))
    }
}

fn copy(from: &Path, to: &Path) -> io::Result<()> {
    if from.is_dir() {
        fs::create_dir_all(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            copy(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)?;
        }
        // Only rewrite changed files: Vite and cargo both look at modification times.
        if fs::read(to).ok() != Some(fs::read(from)?) {
            fs::copy(from, to)?;
        }
        Ok(())
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            out.push((rel, path.canonicalize()?));
        }
    }
    Ok(())
}
