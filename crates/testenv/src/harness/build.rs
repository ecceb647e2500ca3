//! Building the test environment's binaries from the wrapper Go modules.
//!
//! Every component is built with `go build` inside its wrapper module under
//! `testenv/go/<module>` and cached outside the repository in
//! `${XDG_CACHE_HOME:-~/.cache}/breakglass-testenv/bin/<component>-<version>-<key>/`,
//! where `<key>` hashes the Go toolchain, platform, build flags and the wrapper's
//! go.mod, go.sum and tools.go. A cached directory is complete once its stamp file
//! exists; builds go to a temporary directory that is renamed into place.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use crate::layout::repo_root;

/// Name of the file that marks a cache directory as complete.
const STAMP: &str = ".complete";

/// Variable that moves the binary cache (default `${XDG_CACHE_HOME:-~/.cache}/breakglass-testenv`).
pub const ENV_CACHE: &str = "BREAKGLASS_TESTENV_CACHE";

/// The pinned versions, read from `testenv/versions.env`.
#[derive(Debug, Clone)]
pub struct Versions(BTreeMap<String, String>);

impl Versions {
    /// Reads `testenv/versions.env` of the repository.
    pub fn load() -> anyhow::Result<Versions> {
        let path = repo_root().join("testenv").join("versions.env");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Versions::parse(&text)
    }

    /// Parses `KEY=VALUE` lines; `#` starts a comment line.
    pub fn parse(text: &str) -> anyhow::Result<Versions> {
        let mut map = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                bail!("versions.env line {}: expected KEY=VALUE", n + 1);
            };
            map.insert(k.trim().to_owned(), v.trim().to_owned());
        }
        Ok(Versions(map))
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> anyhow::Result<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .with_context(|| format!("testenv/versions.env has no {key}"))
    }

    /// All pairs, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// One thing testenv builds.
#[derive(Debug, Clone, Copy)]
pub struct Component {
    /// Short name, also the name of the cache directory.
    pub name: &'static str,
    /// Wrapper module directory under `testenv/go/`.
    pub module_dir: &'static str,
    /// Key of the display version in versions.env.
    pub version_key: &'static str,
    /// Module the wrapper requires, and the versions.env key of its version.
    pub requires: (&'static str, &'static str),
    /// Packages to build (one `go build` invocation).
    pub packages: &'static [&'static str],
    /// Binaries the build produces.
    pub binaries: &'static [&'static str],
    /// Build tags.
    pub tags: &'static str,
    /// Needs cgo (Dex links SQLite through go-sqlite3, so it needs a C compiler).
    pub cgo: bool,
}

/// Everything testenv builds, smallest first.
pub const COMPONENTS: [Component; 6] = [
    Component {
        name: "etcd",
        module_dir: "etcd",
        version_key: "ETCD_VERSION",
        requires: ("go.etcd.io/etcd/server/v3", "ETCD_VERSION"),
        packages: &["go.etcd.io/etcd/server/v3"],
        binaries: &["etcd"],
        tags: "",
        cgo: false,
    },
    Component {
        name: "dex",
        module_dir: "dex",
        version_key: "DEX_VERSION",
        requires: ("github.com/dexidp/dex", "DEX_MODULE_VERSION"),
        packages: &["github.com/dexidp/dex/cmd/dex"],
        binaries: &["dex"],
        tags: "",
        cgo: true,
    },
    Component {
        name: "mailpit",
        module_dir: "mailpit",
        version_key: "MAILPIT_VERSION",
        requires: ("github.com/axllent/mailpit", "MAILPIT_VERSION"),
        packages: &["github.com/axllent/mailpit"],
        binaries: &["mailpit"],
        tags: "",
        cgo: false,
    },
    Component {
        name: "kwok",
        module_dir: "kwok",
        version_key: "KWOK_VERSION",
        requires: ("sigs.k8s.io/kwok", "KWOK_VERSION"),
        packages: &["sigs.k8s.io/kwok/cmd/kwok"],
        binaries: &["kwok"],
        tags: "",
        cgo: false,
    },
    Component {
        name: "kubernetes",
        module_dir: "k8s",
        version_key: "KUBERNETES_VERSION",
        requires: ("k8s.io/kubernetes", "KUBERNETES_VERSION"),
        packages: &[
            "k8s.io/kubernetes/cmd/kube-apiserver",
            "k8s.io/kubernetes/cmd/kube-controller-manager",
            "k8s.io/kubernetes/cmd/kube-scheduler",
            "k8s.io/kubernetes/cmd/kubectl",
        ],
        binaries: &[
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kubectl",
        ],
        tags: "selinux,notest,grpcnotrace",
        cgo: false,
    },
    // Not a daemon: the Helm CLI the chart tests run (`helm lint`, `helm template`).
    Component {
        name: "helm",
        module_dir: "helm",
        version_key: "HELM_VERSION",
        requires: ("helm.sh/helm/v4", "HELM_VERSION"),
        packages: &["helm.sh/helm/v4/cmd/helm"],
        binaries: &["helm"],
        tags: "",
        cgo: false,
    },
];

/// Stage files of kwok's module that testenv uses (kwok v0.8 has no built-in stages).
const KWOK_STAGES: [&str; 5] = [
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
];

/// Where the binaries of every component are.
#[derive(Debug, Clone)]
pub struct Binaries {
    dirs: BTreeMap<&'static str, PathBuf>,
}

impl Binaries {
    /// Binaries in known cache directories (as recorded in `state.json`).
    pub fn from_dirs(dirs: &BTreeMap<String, PathBuf>) -> Binaries {
        let dirs = COMPONENTS
            .iter()
            .filter_map(|c| dirs.get(c.name).map(|d| (c.name, d.clone())))
            .collect();
        Binaries { dirs }
    }

    /// Path of a binary, e.g. `kube-apiserver`.
    pub fn path(&self, binary: &str) -> PathBuf {
        for c in COMPONENTS {
            if c.binaries.contains(&binary)
                && let Some(dir) = self.dirs.get(c.name)
            {
                return dir.join(binary);
            }
        }
        PathBuf::from(binary)
    }

    /// The cache directory of a component.
    pub fn dir(&self, component: &str) -> Option<&Path> {
        self.dirs.get(component).map(PathBuf::as_path)
    }

    /// kwok's stage files copied at build time.
    pub fn kwok_stages(&self) -> Vec<PathBuf> {
        let Some(dir) = self.dirs.get("kwok") else {
            return Vec::new();
        };
        KWOK_STAGES
            .iter()
            .filter_map(|s| Path::new(s).file_name())
            .map(|f| dir.join("stages").join(f))
            .collect()
    }
}

/// Facts about the Go toolchain.
#[derive(Debug, Clone)]
struct GoEnv {
    version: String,
    goos: String,
    goarch: String,
    modcache: PathBuf,
}

fn go_env() -> anyhow::Result<GoEnv> {
    let out = Command::new("go")
        .args(["env", "GOVERSION", "GOOS", "GOARCH", "GOMODCACHE"])
        .env("GOTOOLCHAIN", "local")
        .output()
        .context("running `go env`: is Go installed and on PATH?")?;
    if !out.status.success() {
        bail!(
            "`go env` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines().map(str::trim);
    let mut next = || lines.next().unwrap_or_default().to_owned();
    Ok(GoEnv {
        version: next(),
        goos: next(),
        goarch: next(),
        modcache: PathBuf::from(next()),
    })
}

/// `go1.26.8` → (1, 26).
fn go_minor(version: &str) -> Option<(u32, u32)> {
    let v = version.strip_prefix("go")?;
    let mut it = v.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// The binary cache root.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os(ENV_CACHE).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("breakglass-testenv")
}

fn ldflags(c: &Component, v: &Versions) -> anyhow::Result<String> {
    let version = v.get(c.version_key)?;
    Ok(match c.name {
        "kubernetes" => {
            let mut parts = version.trim_start_matches('v').split('.');
            let major = parts.next().unwrap_or("1");
            let minor = parts.next().unwrap_or("0");
            let mut s = String::from("-s -w");
            for pkg in [
                "k8s.io/component-base/version",
                "k8s.io/client-go/pkg/version",
            ] {
                let _ = write!(
                    s,
                    " -X {pkg}.gitVersion={version} -X {pkg}.gitMajor={major} -X {pkg}.gitMinor={minor} -X {pkg}.gitTreeState=clean -X {pkg}.gitCommit=testenv-{version}"
                );
            }
            s
        }
        "etcd" => format!("-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA={version}"),
        "dex" => format!("-s -w -X github.com/dexidp/dex/version.Version={version}"),
        "mailpit" => format!("-s -w -X github.com/axllent/mailpit/config.Version={version}"),
        "helm" => format!("-s -w -X helm.sh/helm/v4/internal/version.version={version}"),
        _ => "-s -w".to_owned(),
    })
}

fn module_dir(c: &Component) -> PathBuf {
    repo_root().join("testenv").join("go").join(c.module_dir)
}

/// Fails unless the wrapper go.mod requires the version pinned in versions.env.
fn check_pin(c: &Component, v: &Versions, gomod: &str) -> anyhow::Result<()> {
    let (module, key) = c.requires;
    let want = v.get(key)?;
    let found = gomod.lines().any(|l| {
        let mut w = l.split_whitespace();
        let first = w.next();
        let (m, ver) = if first == Some("require") {
            (w.next(), w.next())
        } else {
            (first, w.next())
        };
        m == Some(module) && ver == Some(want)
    });
    if !found {
        bail!(
            "testenv/go/{}/go.mod does not require {module} {want} ({key} in testenv/versions.env); \
             run testenv/scripts/update-wrappers.sh",
            c.module_dir
        );
    }
    Ok(())
}

fn cache_dir(c: &Component, v: &Versions, go: &GoEnv) -> anyhow::Result<PathBuf> {
    let dir = module_dir(c);
    let mut h = Sha256::new();
    for part in [
        c.name,
        v.get(c.version_key)?,
        &go.version,
        &go.goos,
        &go.goarch,
        c.tags,
        if c.cgo { "cgo" } else { "nocgo" },
        &ldflags(c, v)?,
        &c.packages.join(" "),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for f in ["go.mod", "go.sum", "tools.go"] {
        let p = dir.join(f);
        let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
        if f == "go.mod" {
            check_pin(c, v, &String::from_utf8_lossy(&bytes))?;
        }
        h.update(&bytes);
        h.update([0]);
    }
    let digest = h.finalize();
    let key: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    Ok(cache_root()
        .join("bin")
        .join(format!("{}-{}-{key}", c.name, v.get(c.version_key)?)))
}

/// Makes sure every component is built; builds what is missing. Prints progress.
pub fn ensure_built() -> anyhow::Result<Binaries> {
    let versions = Versions::load()?;
    let go = go_env()?;
    let min = versions.get("GO_MIN_VERSION")?;
    let have = go_minor(&go.version);
    let want = go_minor(&format!("go{min}"));
    if let (Some(have), Some(want)) = (have, want)
        && have < want
    {
        bail!("testenv needs Go {min} or newer, found {}", go.version);
    }
    let mut dirs = BTreeMap::new();
    let mut todo = Vec::new();
    for c in COMPONENTS {
        let dir = cache_dir(&c, &versions, &go)?;
        if !dir.join(STAMP).exists() {
            todo.push((c, dir.clone()));
        }
        dirs.insert(c.name, dir);
    }
    if !todo.is_empty() {
        println!(
            "testenv: building {} of {} components with {} into {}",
            todo.len(),
            COMPONENTS.len(),
            go.version,
            cache_root().join("bin").display()
        );
        let total = todo.len();
        let started = Instant::now();
        for (i, (c, dir)) in todo.iter().enumerate() {
            build_one(c, &versions, &go, dir, i + 1, total)?;
        }
        println!(
            "testenv: build finished in {}",
            fmt_duration(started.elapsed())
        );
    }
    Ok(Binaries { dirs })
}

/// `1m05s`.
pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

fn go_command(c: &Component, go_args: &[&str]) -> Command {
    let mut cmd = Command::new("go");
    cmd.args(go_args)
        .current_dir(module_dir(c))
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=readonly -buildvcs=false")
        .env("GOWORK", "off")
        .env("CGO_ENABLED", if c.cgo { "1" } else { "0" });
    cmd
}

/// Runs `go build -v`, reporting every 30 s how many packages are compiled; returns the
/// exit status and the lines that were not package names (compiler messages).
fn go_build_with_progress(
    c: &Component,
    args: &[&str],
    started: Instant,
    total_pkgs: usize,
) -> anyhow::Result<(std::process::ExitStatus, Vec<String>)> {
    let mut child = go_command(c, args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running `go build`")?;
    let compiled = Arc::new(AtomicUsize::new(0));
    let stderr = child.stderr.take().context("no stderr of go build")?;
    let counter = Arc::clone(&compiled);
    let reader = std::thread::spawn(move || {
        let mut other = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            // `-v` prints one import path per compiled package; anything else is a message.
            if !line.contains(' ') && !line.starts_with('#') && !line.contains(".go:") {
                counter.fetch_add(1, Ordering::Relaxed);
            } else {
                other.push(line);
            }
        }
        other
    });
    let mut last_report = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(250));
        if last_report.elapsed() >= Duration::from_secs(30) {
            last_report = Instant::now();
            let done = compiled.load(Ordering::Relaxed);
            if total_pkgs > 0 {
                println!(
                    "testenv:       {} … {}, {done} of at most {total_pkgs} packages compiled",
                    c.name,
                    fmt_duration(started.elapsed())
                );
            } else {
                println!(
                    "testenv:       {} … {}, {done} packages compiled",
                    c.name,
                    fmt_duration(started.elapsed())
                );
            }
        }
    };
    let messages = reader.join().unwrap_or_default();
    Ok((status, messages))
}

/// `go mod download` of a component's module, failing with Go's message.
fn download_modules(c: &Component) -> anyhow::Result<()> {
    println!("testenv:       {} … downloading modules", c.name);
    let out = go_command(c, &["mod", "download"])
        .output()
        .context("running `go mod download`")?;
    if !out.status.success() {
        bail!(
            "`go mod download` in testenv/go/{} failed:\n{}",
            c.module_dir,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    Ok(())
}

fn build_one(
    c: &Component,
    v: &Versions,
    go: &GoEnv,
    dir: &Path,
    n: usize,
    total: usize,
) -> anyhow::Result<()> {
    let version = v.get(c.version_key)?;
    println!(
        "testenv: [{n}/{total}] {} {version}: {}",
        c.name,
        c.binaries.join(", ")
    );
    let started = Instant::now();

    // Download modules first so that a missing proxy fails fast and clearly.
    download_modules(c)?;
    println!(
        "testenv:       {} … modules ready after {}, compiling",
        c.name,
        fmt_duration(started.elapsed())
    );

    // Count the packages involved, to report how far the build is.
    let mut list_args = vec!["list", "-deps"];
    if !c.tags.is_empty() {
        list_args.extend(["-tags", c.tags]);
    }
    list_args.extend(c.packages.iter().copied());
    let total_pkgs = go_command(c, &list_args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
        .unwrap_or(0);

    let parent = dir
        .parent()
        .context("cache directory has no parent")?
        .to_path_buf();
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = parent.join(format!(".tmp-{}-{}", c.name, std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;

    let ld = ldflags(c, v)?;
    // `-o dir/` names a binary after its package path, which is `server` for
    // etcd's `.../server/v3`: name single binaries explicitly.
    let out_dir = match c.binaries {
        [one] if c.packages.len() == 1 => tmp.join(one).display().to_string(),
        _ => format!("{}/", tmp.display()),
    };
    let mut args = vec!["build", "-v", "-trimpath", "-ldflags", ld.as_str()];
    if !c.tags.is_empty() {
        args.extend(["-tags", c.tags]);
    }
    args.extend(["-o", out_dir.as_str()]);
    args.extend(c.packages.iter().copied());
    let (status, messages) = go_build_with_progress(c, &args, started, total_pkgs)?;
    if !status.success() {
        let _ = std::fs::remove_dir_all(&tmp);
        bail!(
            "building {} in testenv/go/{} failed ({status}):\n{}",
            c.name,
            c.module_dir,
            messages.join("\n")
        );
    }

    for b in c.binaries {
        if !tmp.join(b).is_file() {
            bail!("building {} produced no {b}", c.name);
        }
    }

    if c.name == "kwok" {
        let src = go.modcache.join(format!("sigs.k8s.io/kwok@{version}"));
        let stages = tmp.join("stages");
        std::fs::create_dir_all(&stages)?;
        for s in KWOK_STAGES {
            let from = src.join(s);
            let name = Path::new(s).file_name().context("stage file name")?;
            std::fs::copy(&from, stages.join(name))
                .with_context(|| format!("copying kwok stage {}", from.display()))?;
        }
    }

    let info = format!(
        "component={}\nversion={version}\ngo={}\nbuilt_in_seconds={}\n",
        c.name,
        go.version,
        started.elapsed().as_secs()
    );
    std::fs::write(tmp.join(STAMP), info)?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&tmp, dir).with_context(|| format!("moving the build to {}", dir.display()))?;
    println!(
        "testenv: [{n}/{total}] {} built in {}",
        c.name,
        fmt_duration(started.elapsed())
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        let v = Versions::parse("# c\nA=v1\n\n B = v2 \n")
            .unwrap_or_else(|_| Versions(BTreeMap::new()));
        assert_eq!(v.get("A").ok(), Some("v1"));
        assert_eq!(v.get("B").ok(), Some("v2"));
        assert!(v.get("C").is_err());
    }

    #[test]
    fn go_versions() {
        assert_eq!(go_minor("go1.26.8"), Some((1, 26)));
        assert_eq!(go_minor("go1.26"), Some((1, 26)));
        assert!(go_minor("go1.25.3") < go_minor("go1.26"));
    }

    #[test]
    fn pins_checked() {
        let v =
            Versions::parse("KWOK_VERSION=v0.8.0").unwrap_or_else(|_| Versions(BTreeMap::new()));
        let c = COMPONENTS[3];
        assert!(check_pin(&c, &v, "module x\n\nrequire sigs.k8s.io/kwok v0.8.0\n").is_ok());
        assert!(check_pin(&c, &v, "require (\n\tsigs.k8s.io/kwok v0.8.0\n)\n").is_ok());
        assert!(check_pin(&c, &v, "require sigs.k8s.io/kwok v0.7.0\n").is_err());
    }

    #[test]
    fn committed_wrappers_match_versions() {
        let v = Versions::load();
        assert!(v.is_ok());
        if let Ok(v) = v {
            for c in COMPONENTS {
                let gomod = std::fs::read_to_string(module_dir(&c).join("go.mod"));
                assert!(gomod.is_ok(), "{} has no go.mod", c.module_dir);
                if let Ok(gomod) = gomod {
                    assert!(check_pin(&c, &v, &gomod).is_ok(), "{}", c.name);
                }
            }
        }
    }
}
