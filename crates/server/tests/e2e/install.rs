//! The install artefacts against the testenv hub: `helm lint` and `helm template` of
//! charts/breakglass (default values and a cert-manager/monitoring variant), the
//! rendered chart and the kustomize bases accepted by the apiserver
//! (`kubectl apply --dry-run=server`), and the server started with the chart's rendered
//! flags, config file and RBAC (as its ServiceAccount's token) serving an escalation.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use breakglass_testenv::TestEnv;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, RoleBinding};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::{Value, json};

use crate::rbac::service_account_kubeconfig;
use crate::support::*;
use crate::webhook::until_can_i;

const TARGET: &str = "target-a";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chart() -> String {
    repo().join("charts/breakglass").display().to_string()
}

/// Values of the variant with cert-manager and the Prometheus Operator objects.
const VARIANT: [&str; 8] = [
    "--set",
    "certManager.enabled=true",
    "--set",
    "metrics.serviceMonitor.enabled=true",
    "--set",
    "metrics.prometheusRule.enabled=true",
    "--set",
    "metrics.grafanaDashboard.enabled=true",
];

/// Runs a command, failing with its output unless it succeeds; returns stdout.
fn run(program: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    if !out.status.success() {
        bail!(
            "{} {args:?} failed ({}):\n{}{}",
            program.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn docs(yaml: &str) -> anyhow::Result<Vec<Value>> {
    let all: Vec<Value> =
        serde_saphyr::from_multiple(yaml).map_err(|e| anyhow::anyhow!("rendered YAML: {e}"))?;
    Ok(all.into_iter().filter(|d| d.is_object()).collect())
}

fn kinds(docs: &[Value]) -> Vec<String> {
    docs.iter()
        .filter_map(|d| d["kind"].as_str().map(str::to_owned))
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str) -> anyhow::Result<&'a Value> {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .with_context(|| format!("no {kind} rendered"))
}

/// `kubectl apply --server-side --dry-run=server` of documents on the hub.
async fn dry_run_apply(env: &TestEnv, docs: &[Value], tag: &str) -> anyhow::Result<String> {
    dry_run_apply_on(env, "hub", docs, tag).await
}

/// `kubectl apply --server-side --dry-run=server` of documents on a cluster.
async fn dry_run_apply_on(
    env: &TestEnv,
    cluster: &str,
    docs: &[Value],
    tag: &str,
) -> anyhow::Result<String> {
    let text = docs
        .iter()
        .map(|d| serde_json::to_string(d).map_err(anyhow::Error::from))
        .collect::<anyhow::Result<Vec<_>>>()?
        .join("\n---\n");
    let path = work_dir().join(format!("install-{tag}-{}.yaml", std::process::id()));
    std::fs::write(&path, text)?;
    let file = path.display().to_string();
    let out = env
        .kubectl(
            cluster,
            None,
            &[
                "apply",
                "--server-side",
                "--force-conflicts",
                "--field-manager=breakglass-install-e2e",
                "--dry-run=server",
                "-f",
                &file,
            ],
        )
        .await?;
    anyhow::ensure!(out.success(), "{tag}: {}\n{}", out.stdout, out.stderr);
    Ok(out.stdout)
}

#[tokio::test]
async fn chart_and_kustomize_render_lint_and_apply() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let helm = env
        .helm_path()
        .context("the environment has no helm: `cargo xtask testenv up` builds it")?;
    let chart = chart();
    run(&helm, &["lint", "--strict", &chart])?;
    let mut lint = vec!["lint", "--strict", chart.as_str()];
    lint.extend(VARIANT);
    run(&helm, &lint)?;

    // Default values: every object of the chart, with a generated webhook certificate.
    let rendered = docs(&run(
        &helm,
        &["template", "bg-e2e", &chart, "--namespace", SYSTEM_NS],
    )?)?;
    let found = kinds(&rendered);
    for kind in [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "ConfigMap",
        "Secret",
        "Service",
        "Deployment",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ] {
        assert!(found.iter().any(|k| k == kind), "{kind} missing: {found:?}");
    }
    let deployment = find(&rendered, "Deployment")?;
    assert_eq!(deployment["spec"]["replicas"], 2);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert!(
        container["args"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("--enable-leader-election=true"))),
        "{container}"
    );
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["capabilities"]["drop"],
        json!(["ALL"])
    );
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    let secret = find(&rendered, "Secret")?;
    let validating = find(&rendered, "ValidatingWebhookConfiguration")?;
    let hook = &validating["webhooks"][0];
    assert_eq!(
        hook["clientConfig"]["service"]["path"],
        "/validate-breakglass"
    );
    assert_eq!(hook["failurePolicy"], "Fail");
    assert_eq!(hook["sideEffects"], "None");
    assert_eq!(
        hook["clientConfig"]["caBundle"], secret["data"]["ca.crt"],
        "the webhooks trust the CA of the generated serving certificate"
    );
    let mutating = find(&rendered, "MutatingWebhookConfiguration")?;
    assert_eq!(
        mutating["webhooks"][0]["clientConfig"]["service"]["path"],
        "/mutate-breakglass"
    );
    assert_eq!(mutating["webhooks"][0]["reinvocationPolicy"], "Never");
    // The chart's RBAC is config/rbac/hub.yaml.
    let hub_rbac: Vec<Value> = serde_saphyr::from_multiple(&std::fs::read_to_string(
        repo().join("config/rbac/hub.yaml"),
    )?)
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    for kind in ["ClusterRole", "Role"] {
        assert_eq!(
            find(&rendered, kind)?["rules"],
            find(&hub_rbac, kind)?["rules"],
            "{kind}"
        );
    }
    let out = dry_run_apply(&env, &rendered, "chart").await?;
    assert!(
        out.contains("deployment.apps/bg-e2e-breakglass serverside-applied (server dry run)"),
        "{out}"
    );

    // cert-manager and Prometheus Operator variant: their kinds are not installed on the
    // testenv hub, so everything else is applied and they are checked as rendered.
    let mut args = vec![
        "template",
        "bg-e2e",
        chart.as_str(),
        "--namespace",
        SYSTEM_NS,
    ];
    args.extend(VARIANT);
    let variant = docs(&run(&helm, &args)?)?;
    let found = kinds(&variant);
    for kind in ["Issuer", "Certificate", "ServiceMonitor", "PrometheusRule"] {
        assert!(found.iter().any(|k| k == kind), "{kind} missing: {found:?}");
    }
    assert!(
        !found.iter().any(|k| k == "Secret"),
        "cert-manager writes the Secret"
    );
    let validating = find(&variant, "ValidatingWebhookConfiguration")?;
    assert_eq!(
        validating["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        format!("{SYSTEM_NS}/bg-e2e-breakglass-webhook")
    );
    assert!(validating["webhooks"][0]["clientConfig"]["caBundle"].is_null());
    let rule = find(&variant, "PrometheusRule")?;
    assert!(
        rule["spec"]["groups"][0]["rules"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    );
    let core: Vec<Value> = variant
        .iter()
        .filter(|d| {
            let api = d["apiVersion"].as_str().unwrap_or_default();
            !api.starts_with("cert-manager.io/") && !api.starts_with("monitoring.coreos.com/")
        })
        .cloned()
        .collect();
    dry_run_apply(&env, &core, "chart-variant").await?;

    // kustomize: the default base applies; the cert-manager overlay adds its objects.
    let kubectl = env.kubectl_path().to_path_buf();
    let base = docs(&run(
        &kubectl,
        &[
            "kustomize",
            &repo().join("config/default").display().to_string(),
        ],
    )?)?;
    let found = kinds(&base);
    assert_eq!(
        found
            .iter()
            .filter(|k| *k == "CustomResourceDefinition")
            .count(),
        11
    );
    for kind in [
        "Deployment",
        "ConfigMap",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "ClusterRoleBinding",
    ] {
        assert!(found.iter().any(|k| k == kind), "{kind} missing: {found:?}");
    }
    assert_eq!(
        find(&base, "ClusterRole")?["rules"],
        find(&hub_rbac, "ClusterRole")?["rules"]
    );
    dry_run_apply(&env, &base, "kustomize").await?;
    let overlay = docs(&run(
        &kubectl,
        &[
            "kustomize",
            &repo().join("config/cert-manager").display().to_string(),
        ],
    )?)?;
    assert!(kinds(&overlay).iter().any(|k| k == "Certificate"));
    assert_eq!(
        find(&overlay, "MutatingWebhookConfiguration")?["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        "breakglass-system/breakglass-webhook"
    );
    Ok(())
}

/// The server as the chart runs it: the Deployment's flags, the ConfigMap's file, and
/// the rights of the chart's RBAC as its ServiceAccount's token.
struct ChartServer {
    child: std::process::Child,
    log: PathBuf,
    url: String,
}

impl ChartServer {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ChartServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_chart_config_and_rbac_serve_an_escalation() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let helm = env
        .helm_path()
        .context("the environment has no helm: `cargo xtask testenv up` builds it")?;
    // The target's apiserver calls the webhook address: this test's server takes it.
    let _hub_for_us = exclusive().await?;
    let id = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    let release = format!("bgchart{id}");
    let lease = format!("bg-e2e-chart-{id}");
    let addr = env.webhook_addr().to_string();
    // No TLS pair at the chart's mount path here: the admission listener stays off.
    let values = [
        "--set".to_owned(),
        "webhook.enabled=false".to_owned(),
        "--set".to_owned(),
        format!("leaderElection.id={lease}"),
        "--set".to_owned(),
        format!("config.frontend.baseURL=http://{addr}"),
        "--set".to_owned(),
        format!("config.kubernetes.oidcPrefixes={{{}}}", env.group_prefix()),
        "--set".to_owned(),
        "clusterConfigCheckInterval=3s".to_owned(),
    ];
    let chart = chart();
    let mut args = vec![
        "template",
        release.as_str(),
        chart.as_str(),
        "--namespace",
        SYSTEM_NS,
    ];
    args.extend(values.iter().map(String::as_str));
    let rendered = docs(&run(&helm, &args)?)?;

    // The chart's ServiceAccount and RBAC, for real.
    let rbac: Vec<Value> = rendered
        .iter()
        .filter(|d| {
            matches!(
                d["kind"].as_str(),
                Some(
                    "ServiceAccount"
                        | "ClusterRole"
                        | "ClusterRoleBinding"
                        | "Role"
                        | "RoleBinding"
                )
            )
        })
        .cloned()
        .collect();
    assert_eq!(rbac.len(), 5, "{:?}", kinds(&rbac));
    let rbac_path = work_dir().join(format!("chart-rbac-{id}.yaml"));
    std::fs::write(
        &rbac_path,
        rbac.iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()?
            .join("\n---\n"),
    )?;
    let out = env
        .kubectl(
            "hub",
            None,
            &["apply", "-f", &rbac_path.display().to_string()],
        )
        .await?;
    anyhow::ensure!(out.success(), "{}", out.stderr);
    let sa = find(&rbac, "ServiceAccount")?["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let cluster_role = find(&rbac, "ClusterRole")?["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let role = find(&rbac, "Role")?["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // The token of that ServiceAccount (the bindings it adds repeat the chart's).
    let kubeconfig =
        service_account_kubeconfig(&env, "hub", (SYSTEM_NS, &sa), &cluster_role, Some(&role))
            .await?;
    let kubeconfig_path = work_dir().join(format!("chart-sa-{id}.kubeconfig"));
    std::fs::write(&kubeconfig_path, kubeconfig)?;

    // The ConfigMap's file and the Deployment's flags.
    let config = find(&rendered, "ConfigMap")?["data"]["config.yaml"]
        .as_str()
        .context("no config.yaml in the ConfigMap")?
        .to_owned();
    let config_path = work_dir().join(format!("chart-config-{id}.yaml"));
    std::fs::write(&config_path, &config)?;
    let deployment = find(&rendered, "Deployment")?;
    let flags: Vec<String> = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .context("no args")?
        .iter()
        .filter_map(|a| a.as_str())
        .map(|a| {
            if a.starts_with("--config-path=") {
                format!("--config-path={}", config_path.display())
            } else {
                a.to_owned()
            }
        })
        .collect();
    assert!(
        flags.contains(&"--enable-leader-election=true".to_owned()),
        "{flags:?}"
    );
    let log = work_dir().join(format!("server-chart-{id}.log"));
    let out = std::fs::File::create(&log)?;
    let child = Command::new(env!("CARGO_BIN_EXE_breakglass"))
        .args(&flags)
        // The pod's environment (downward API) and the Service's port on loopback.
        .env("POD_NAMESPACE", SYSTEM_NS)
        .env("LEADER_ELECT_IDENTITY", "chart")
        .arg(format!("--listen-address={addr}"))
        .arg("--exit-on-stdin-eof")
        .env("KUBECONFIG", &kubeconfig_path)
        .env("RUST_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::from(out.try_clone()?))
        .stderr(Stdio::from(out))
        .spawn()
        .context("starting breakglass")?;
    let server = ChartServer {
        child,
        log,
        url: format!("http://{addr}"),
    };
    let started = Instant::now();
    let http = reqwest::Client::new();
    loop {
        if let Ok(r) = http.get(format!("{}/readyz", server.url)).send().await
            && r.status().is_success()
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!(
                "the chart's server is not ready; log:\n{}",
                server.log_text()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_leader(&env, &lease, "chart", Duration::from_secs(40))
        .await
        .with_context(|| server.log_text())?;

    // Escalation: request → approve → kubectl allowed on the target.
    let fx = Fixture::new(&env, "chart").await?;
    let group = fx.group("chart");
    fx.escalation("esc", spec(&[TARGET], &group)).await?;
    let target = env.target_client(TARGET).await?;
    let ns = format!("chart-{id}");
    let namespaces: Api<Namespace> = Api::all(target.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}}))?,
        )
        .await?;
    let role = format!("chart-{id}");
    Api::<ClusterRole>::all(target.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": role},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}))?,
        )
        .await?;
    Api::<RoleBinding>::namespaced(target.clone(), &ns)
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": role},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": format!("{}{group}", env.group_prefix())}]}))?)
        .await?;
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    let list_pods = ["list", "pods", "-n", ns.as_str()];
    let before = until_can_i(
        &env,
        TARGET,
        &requester,
        &list_pods,
        false,
        Duration::from_secs(5),
    )
    .await;
    assert!(before.is_ok(), "allowed before any session");
    let api = RestClient::new(&server.url);
    let r = api.request(&requester, TARGET, &group, json!({})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let name = r.name();
    let a = api.act(&name, "approve", &approver, None).await?;
    assert_eq!(a.status, 200, "{}", a.text);
    until_can_i(
        &env,
        TARGET,
        &requester,
        &list_pods,
        true,
        Duration::from_secs(10),
    )
    .await
    .with_context(|| server.log_text())?;
    let k = env
        .kubectl(TARGET, Some(&requester), &["get", "pods", "-n", &ns])
        .await?;
    assert!(k.success(), "{}", k.stderr);
    let log = server.log_text();
    assert!(
        !log.contains("is forbidden"),
        "the chart's RBAC lacks a right:\n{}",
        log.lines()
            .filter(|l| l.contains("forbidden"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    drop(server);

    let _ = namespaces.delete(&ns, &DeleteParams::background()).await;
    let _ = Api::<ClusterRole>::all(target)
        .delete(&role, &DeleteParams::default())
        .await;
    let _ = env
        .kubectl(
            "hub",
            None,
            &[
                "delete",
                "--ignore-not-found",
                "-f",
                &rbac_path.display().to_string(),
            ],
        )
        .await;
    // service_account_kubeconfig's own RoleBinding (its ClusterRoleBinding is the chart's).
    let _ = env
        .kubectl(
            "hub",
            None,
            &[
                "delete",
                "rolebinding",
                "--ignore-not-found",
                "-n",
                SYSTEM_NS,
                &sa,
            ],
        )
        .await;
    fx.cleanup().await
}

/// `cargo xtask target-setup`'s output (config/target/example.yaml is that output, an
/// xtask test keeps it so): the RBAC is accepted by a target's apiserver, and the
/// AuthorizationConfiguration sets exactly the fields of the one testenv's target
/// apiservers run with, with the same match conditions.
#[tokio::test]
async fn target_setup_files_are_what_a_target_accepts() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let printed = docs(&std::fs::read_to_string(
        repo().join("config/target/example.yaml"),
    )?)?;
    assert_eq!(
        kinds(&printed),
        ["AuthorizationConfiguration", "Config", "ClusterRole"]
    );
    let rbac: Vec<Value> = printed[2..].to_vec();
    let out = dry_run_apply_on(&env, TARGET, &rbac, "target-rbac").await?;
    assert!(
        out.contains("breakglass-target serverside-applied (server dry run)"),
        "{out}"
    );

    let running: Value = serde_saphyr::from_str(&std::fs::read_to_string(
        env.run_dir().join(TARGET).join("authorization.yaml"),
    )?)
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let ours = &printed[0];
    assert_eq!(ours["apiVersion"], running["apiVersion"]);
    let names = |v: &Value| -> Vec<(String, String)> {
        v["authorizers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| (x["type"].to_string(), x["name"].to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(names(ours), names(&running));
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v["authorizers"][2]["webhook"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        k.sort();
        k
    };
    assert_eq!(keys(ours), keys(&running));
    let webhook = &ours["authorizers"][2]["webhook"];
    let theirs = &running["authorizers"][2]["webhook"];
    assert_eq!(webhook["matchConditions"], theirs["matchConditions"]);
    assert_eq!(
        webhook["connectionInfo"]["type"],
        theirs["connectionInfo"]["type"]
    );
    assert_eq!(
        printed[1]["clusters"][0]["cluster"]["server"],
        "https://breakglass.example.com/api/breakglass/webhook/authorize/example"
    );
    Ok(())
}
