use std::collections::BTreeSet;
use std::path::Path;

use super::*;
use crate::crds::repo_root;

/// The UI build the Dockerfile's Node stage runs, as crates/ui/build.rs runs it.
const UI_BUILD: [&[&str]; 2] = [
    &["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
    &[
        "npm",
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
];

fn example() -> TargetSetupArgs {
    TargetSetupArgs {
        cluster: "example".to_owned(),
        url: "https://breakglass.example.com".to_owned(),
        ca_file: "/etc/kubernetes/breakglass-ca.crt".to_owned(),
        kubeconfig_path: "/etc/kubernetes/breakglass-webhook.kubeconfig".to_owned(),
        hub_identity: "breakglass-hub".to_owned(),
        failure_policy: "Deny".to_owned(),
        authorized_ttl: "0s".to_owned(),
        unauthorized_ttl: "0s".to_owned(),
    }
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn target_setup_example_is_the_committed_file() {
    let out = render_target_setup(&example()).unwrap();
    assert_eq!(
        out,
        read("config/target/example.yaml"),
        "regenerate with `cargo xtask target-setup example --url https://breakglass.example.com > config/target/example.yaml`"
    );
}

#[test]
fn target_setup_documents_parse_and_name_the_cluster() {
    let mut a = example();
    a.cluster = "prod-eu".to_owned();
    a.authorized_ttl = "10s".to_owned();
    let out = render_target_setup(&a).unwrap();
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&out).unwrap();
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        ["AuthorizationConfiguration", "Config", "ClusterRole"]
    );
    let webhook = &docs[0]["authorizers"][2]["webhook"];
    assert_eq!(webhook["failurePolicy"], "Deny");
    assert_eq!(webhook["authorizedTTL"], "10s");
    assert_eq!(webhook["cacheUnauthorizedRequests"], false);
    assert_eq!(webhook["matchConditions"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        docs[1]["clusters"][0]["cluster"]["server"],
        "https://breakglass.example.com/api/breakglass/webhook/authorize/prod-eu"
    );
    assert_eq!(docs[1]["contexts"][0]["context"]["user"], "prod-eu");
}

#[test]
fn target_setup_refuses_bad_input() {
    for (field, value) in [
        ("cluster", "Prod_EU"),
        ("cluster", ""),
        ("url", "breakglass.example.com"),
        ("policy", "Allow"),
        ("ttl", "ten"),
    ] {
        let mut a = example();
        match field {
            "cluster" => a.cluster = value.to_owned(),
            "url" => a.url = value.to_owned(),
            "policy" => a.failure_policy = value.to_owned(),
            _ => a.authorized_ttl = value.to_owned(),
        }
        assert!(
            render_target_setup(&a).is_err(),
            "{field}={value:?} accepted"
        );
    }
}

/// `RUN` instructions of a Dockerfile with their continuation lines joined, per stage
/// (`FROM … AS name`).
fn dockerfile_stages(text: &str) -> Vec<(String, Vec<String>)> {
    let mut joined = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') && cur.is_empty() {
            continue;
        }
        if let Some(head) = t.strip_suffix('\\') {
            cur.push_str(head);
            cur.push(' ');
        } else {
            cur.push_str(t);
            joined.push(std::mem::take(&mut cur));
        }
    }
    let mut stages: Vec<(String, Vec<String>)> = Vec::new();
    for line in joined {
        if line.starts_with("FROM ") {
            let name = line
                .split_whitespace()
                .last()
                .unwrap_or_default()
                .to_owned();
            stages.push((name, Vec::new()));
        } else if let Some(stage) = stages.last_mut()
            && !line.is_empty()
        {
            stage.1.push(line);
        }
    }
    stages
}

/// The argument lists of every `<program> …` command in a stage's RUN lines (split at
/// `&&`, `--mount` options dropped).
fn commands<'a>(lines: &'a [String], program: &str) -> Vec<Vec<&'a str>> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("RUN "))
        .flat_map(|r| r.split("&&"))
        .map(|c| {
            c.split_whitespace()
                .filter(|w| !w.starts_with("--mount="))
                .collect::<Vec<_>>()
        })
        .filter(|c| c.first() == Some(&program))
        .collect()
}

#[test]
fn dockerfile_builds_what_ci_builds() {
    let stages = dockerfile_stages(&read("Dockerfile"));
    let names: Vec<&str> = stages.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["ui", "builder", "bgctl", "server"], "stages");
    let stage = |n: &str| &stages.iter().find(|(s, _)| s == n).unwrap().1;

    // The Node stage runs the UI build of crates/ui/build.rs and of `cargo xtask test`.
    let npm = commands(stage("ui"), "npm");
    let want: Vec<Vec<&str>> = UI_BUILD.iter().map(|c| c.to_vec()).collect();
    assert_eq!(npm, want);
    let build_rs = read("crates/ui/build.rs");
    let ci_rs = read("xtask/src/ci.rs");
    for args in UI_BUILD {
        let quoted = args[1..]
            .iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>();
        let mut rest = build_rs.as_str();
        for q in &quoted {
            let at = rest
                .find(q.as_str())
                .unwrap_or_else(|| panic!("crates/ui/build.rs does not run npm {:?}", &args[1..]));
            rest = &rest[at + q.len()..];
        }
    }
    assert!(
        ci_rs.contains(r#"&["ci", "--no-audit", "--no-fund", "--loglevel=error"]"#),
        "cargo xtask test installs the UI differently"
    );

    // The builder runs `cargo xtask dist`'s command, with the UI from the Node stage.
    let builder = stage("builder");
    let cargo = commands(builder, "cargo");
    let mut want = vec!["cargo"];
    want.extend(RELEASE_BUILD);
    assert_eq!(cargo, vec![want]);
    assert!(
        builder
            .iter()
            .any(|l| l == "ENV BREAKGLASS_UI_DIST=/ui-dist")
            && builder
                .iter()
                .any(|l| l == "COPY --from=ui /src/ui/dist /ui-dist"),
        "the builder embeds the Node stage's UI"
    );
    // Package and binary names exist.
    for pair in RELEASE_BUILD[3..].chunks(4) {
        let (package, bin) = (pair[1], pair[3]);
        let dir = if package == "breakglass-server" {
            "server"
        } else {
            package
        };
        let manifest = read(&format!("crates/{dir}/Cargo.toml"));
        assert!(
            manifest.contains(&format!("name = \"{package}\"")),
            "{package}"
        );
        assert!(
            manifest.contains(&format!("name = \"{bin}\"")) || bin == package,
            "{package} has no binary {bin}"
        );
    }
    // Each image copies its binary and runs it as a non-root user.
    for (image, bin) in [("server", "breakglass"), ("bgctl", "bgctl")] {
        let lines = stage(image);
        assert!(lines.contains(&format!(
            "COPY --from=builder /out/{bin} /usr/local/bin/{bin}"
        )));
        assert!(lines.contains(&"USER 65532:65532".to_owned()), "{image}");
        assert!(lines.contains(&format!("ENTRYPOINT [\"/usr/local/bin/{bin}\"]")));
    }
    // The toolchains are not older than the workspace needs.
    let text = read("Dockerfile");
    let cargo_toml = read("Cargo.toml");
    assert!(
        cargo_toml.contains("rust-version = \"1.89\"") && text.contains("ARG RUST_VERSION=1.89")
    );
    assert!(text.contains("ARG NODE_VERSION=20.19"));
}

/// Metric names the server registers (`register("name", …)` in any crate's sources),
/// with the `breakglass_` prefix the registry adds.
fn registered_metrics() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut stack = vec![repo_root().join("crates")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !path.ends_with("tests") && !path.ends_with("node_modules") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                collect_registered(&text, &mut names);
            }
        }
    }
    names
}

fn collect_registered(text: &str, names: &mut BTreeSet<String>) {
    for (at, _) in text.match_indices(".register(") {
        let rest = text[at + ".register(".len()..].trim_start();
        if let Some(rest) = rest.strip_prefix('"')
            && let Some(end) = rest.find('"')
        {
            names.insert(format!("breakglass_{}", &rest[..end]));
        }
    }
}

/// `breakglass_*` names in a text, without the exposition suffixes.
fn referenced_metrics(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in text.match_indices("breakglass_") {
        if at > 0 && text.as_bytes()[at - 1].is_ascii_alphanumeric() {
            continue;
        }
        let name: String = text[at..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        let base = ["_total", "_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(&name);
        out.insert(base.to_owned());
    }
    out
}

#[test]
fn monitoring_names_exported_metrics() {
    let registered = registered_metrics();
    assert!(
        registered.contains("breakglass_webhook_sar_decisions"),
        "metrics.rs not found: {registered:?}"
    );
    let dashboard = read("charts/breakglass/files/grafana-dashboard.json");
    let parsed: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    assert!(parsed["panels"].as_array().is_some_and(|p| p.len() > 10));
    let rules = read("charts/breakglass/files/prometheus-rules.yaml");
    let parsed: serde_json::Value = serde_saphyr::from_str(&rules).unwrap();
    assert!(
        parsed["groups"][0]["rules"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    );
    for (file, text) in [("dashboard", &dashboard), ("alert rules", &rules)] {
        let used = referenced_metrics(text);
        assert!(used.len() > 5, "{file}: {used:?}");
        let unknown: Vec<&String> = used.iter().filter(|n| !registered.contains(*n)).collect();
        assert!(
            unknown.is_empty(),
            "{file} names metrics nobody exports: {unknown:?}"
        );
    }
    // The check catches a misspelt name.
    let used = referenced_metrics("rate(breakglass_webhook_sar_decisons_total[5m])");
    assert!(used.iter().all(|n| !registered.contains(n)));
}

#[test]
fn chart_webhook_resources_are_the_crds() {
    let crds: BTreeSet<String> = std::fs::read_dir(repo_root().join("config/crd"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("breakglass.t-caas.telekom.com_")
                .and_then(|n| n.strip_suffix(".yaml"))
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(crds.len(), 11);
    for file in [
        "charts/breakglass/templates/_helpers.tpl",
        "config/webhook/manifests.yaml",
    ] {
        let text = read(file);
        for crd in &crds {
            assert!(
                text.contains(&format!("- {crd}\n")),
                "{file} does not send {crd} to the admission webhooks"
            );
        }
    }
    assert!(Path::new(&repo_root().join("charts/breakglass/crds")).is_dir());
}
