//! `cargo xtask crds`: CRD manifest generation.
//!
//! The manifests come from `breakglass_api::crds`; this task only writes them to (or compares
//! them with) `config/crd/`, and keeps the Helm chart's copies (`charts/breakglass/crds/`
//! and the hub RBAC in `charts/breakglass/files/`) identical to `config/`, so each has one
//! source.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Arguments of `cargo xtask crds`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Fail instead of writing when the committed manifests differ from the types.
    #[arg(long)]
    pub check: bool,
}

/// A generated directory: where it is (relative to the repository) and what it holds.
struct Output {
    dir: &'static str,
    files: Vec<(String, String)>,
    /// Every YAML file in the directory is generated (others are removed as stale).
    owns_dir: bool,
}

/// Every generated directory: the CRDs in `config/crd/`, their copy in the chart (without
/// the kustomization), and the chart's copy of the hub RBAC.
fn outputs() -> anyhow::Result<Vec<Output>> {
    let crds = breakglass_api::crds::render_all()?;
    let chart_crds = crds
        .iter()
        .filter(|(name, _)| name != "kustomization.yaml")
        .cloned()
        .collect();
    let hub_rbac = repo_root().join("config/rbac/hub.yaml");
    let hub_rbac =
        fs::read_to_string(&hub_rbac).with_context(|| format!("reading {}", hub_rbac.display()))?;
    Ok(vec![
        Output {
            dir: "config/crd",
            files: crds,
            owns_dir: true,
        },
        Output {
            dir: "charts/breakglass/crds",
            files: chart_crds,
            owns_dir: true,
        },
        Output {
            dir: "charts/breakglass/files",
            files: vec![("hub-rbac.yaml".to_owned(), hub_rbac)],
            // The chart's other files (alert rules, dashboard) are written by hand.
            owns_dir: false,
        },
    ])
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let outputs = outputs()?;
    if args.check {
        let mut problems = Vec::new();
        for out in &outputs {
            problems.extend(check(out)?);
        }
        if !problems.is_empty() {
            bail!(
                "generated manifests are out of date; run `cargo xtask crds`:\n  {}",
                problems.join("\n  ")
            );
        }
        for out in &outputs {
            eprintln!("{}/ is current ({} files)", out.dir, out.files.len());
        }
        return Ok(());
    }
    for out in &outputs {
        write(out)?;
    }
    Ok(())
}

/// What differs between a generated directory and its files.
fn check(out: &Output) -> anyhow::Result<Vec<String>> {
    let dir = repo_root().join(out.dir);
    let mut problems = Vec::new();
    for (name, contents) in &out.files {
        match fs::read_to_string(dir.join(name)) {
            Ok(current) if current == *contents => {}
            Ok(_) => problems.push(format!("{}/{name} differs from its source", out.dir)),
            Err(_) => problems.push(format!("{}/{name} is missing", out.dir)),
        }
    }
    problems.extend(
        stale(out, &dir)?
            .iter()
            .map(|name| format!("{}/{name} is not generated", out.dir)),
    );
    Ok(problems)
}

fn write(out: &Output) -> anyhow::Result<()> {
    let dir = repo_root().join(out.dir);
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, contents) in &out.files {
        let path = dir.join(name);
        if fs::read_to_string(&path).ok().as_deref() != Some(contents.as_str()) {
            fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}/{name}", out.dir);
        }
    }
    for name in stale(out, &dir)? {
        let path = dir.join(&name);
        fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        eprintln!("removed {}/{name}", out.dir);
    }
    Ok(())
}

/// YAML files in the directory that the output does not produce.
fn stale(out: &Output, dir: &Path) -> anyhow::Result<Vec<String>> {
    if !out.owns_dir {
        return Ok(Vec::new());
    }
    let wanted: BTreeSet<&str> = out.files.iter().map(|(name, _)| name.as_str()).collect();
    Ok(existing_yaml_files(dir)?
        .into_iter()
        .filter(|name| !wanted.contains(name.as_str()))
        .collect())
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn existing_yaml_files(dir: &Path) -> anyhow::Result<Vec<String>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".yaml") || name.ends_with(".yml") {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}
