//! The `kubectl-breakglass` plugin: a real kubectl Forbidden from target-a becomes a
//! session request; an approver approves while the plugin waits; the retried command
//! succeeds and the plugin exits with kubectl's status. A rejection ends it with 1.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_testenv::TestEnv;
use kube::Api;
use kube::api::ListParams;
use serde_json::json;

use crate::cli_support::{bgctl_path, home};
use crate::explain::{A, TargetNs};
use crate::support::*;

/// The plugin binary, built next to `bgctl` (`cargo build -p bgctl --bins`).
async fn plugin_path() -> anyhow::Result<PathBuf> {
    let bgctl = bgctl_path().await?;
    let path = bgctl.with_file_name("kubectl-breakglass");
    anyhow::ensure!(path.exists(), "{} missing", path.display());
    Ok(path)
}

/// `kubectl-breakglass <flags> -- <kubectl args as user>` with an isolated home, the
/// environment's kubectl, and the user's token for both breakglass and kubectl.
async fn plugin(
    env: &TestEnv,
    home: &Path,
    server: &str,
    user_token: &str,
    flags: &[&str],
    kubectl_args: &[&str],
) -> anyhow::Result<tokio::process::Command> {
    let cmd = tokio::process::Command::new(plugin_path().await?);
    Ok(with_plugin_args(
        cmd,
        env,
        home,
        server,
        user_token,
        flags,
        kubectl_args,
    ))
}

/// The same through kubectl's plugin mechanism: `kubectl breakglass …`, the plugin
/// found on `PATH`.
async fn via_kubectl(
    env: &TestEnv,
    home: &Path,
    server: &str,
    user_token: &str,
    kubectl_args: &[&str],
) -> anyhow::Result<tokio::process::Command> {
    let dir = plugin_path()
        .await?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))?;
    let mut cmd = tokio::process::Command::new(env.kubectl_path());
    cmd.arg("breakglass").env("PATH", path);
    Ok(with_plugin_args(
        cmd,
        env,
        home,
        server,
        user_token,
        &[],
        kubectl_args,
    ))
}

fn with_plugin_args(
    mut cmd: tokio::process::Command,
    env: &TestEnv,
    home: &Path,
    server: &str,
    user_token: &str,
    flags: &[&str],
    kubectl_args: &[&str],
) -> tokio::process::Command {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("BGCTL_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .env("BGCTL_KUBECTL", env.kubectl_path())
        .env("BGCTL_SERVER", server)
        .env("BGCTL_TOKEN", user_token)
        .args(flags)
        .arg("--")
        .arg(format!(
            "--kubeconfig={}",
            env.layout().token_kubeconfig(A).display()
        ))
        .arg(format!("--token={user_token}"))
        .args(kubectl_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

#[tokio::test]
async fn a_forbidden_kubectl_command_becomes_a_request_and_succeeds_after_approval()
-> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "plugin").await?;
    let group = fx.group("cm-reader");
    let rules = json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]);
    let target = TargetNs::new(&env, &format!("plugin-{}", fx.id), &group, rules).await?;
    let ns = target.name.clone();
    fx.escalation("esc", spec(&[A], &group)).await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    let nobody = token(&env, "nobody").await?;
    let home = home("plugin")?;
    let get_cm = ["get", "configmaps", "-n", ns.as_str()];

    // Someone no escalation helps: kubectl's Forbidden and exit status, nothing requested.
    let out = plugin(&env, &home, &server.url, &nobody, &[], &get_cm)
        .await?
        .output()
        .await?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Forbidden"), "{stderr}");
    assert!(stderr.contains("0 escalation(s)"), "{stderr}");

    // The requester: the plugin requests a session (cluster from the kubeconfig) and
    // waits; the approver approves meanwhile.
    let child = plugin(
        &env,
        &home,
        &server.url,
        &requester,
        &["--reason", "INC-7 read config", "--poll-interval", "200ms"],
        &get_cm,
    )
    .await?
    .spawn()?;
    let sessions: Api<BreakglassSession> = Api::namespaced(fx.hub(), &fx.ns);
    let started = std::time::Instant::now();
    let name = loop {
        let list = sessions.list(&ListParams::default()).await?;
        if let Some(n) = list.items.first().and_then(|s| s.metadata.name.clone()) {
            break n;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "the plugin requested no session within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let s = fx.session(&name).await?;
    assert_eq!(s.spec.user, "requester@example.com");
    assert_eq!(s.spec.granted_group, group);
    assert_eq!(s.spec.cluster, A);
    assert_eq!(s.spec.request_reason.as_deref(), Some("INC-7 read config"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = api.act(&name, "approve", &approver, None).await?;
    assert_eq!(r.status, 200, "{}", r.text);

    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output()).await??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("Forbidden"),
        "the first run's error passes through: {stderr}"
    );
    assert!(
        stderr.contains(&format!("Requested session {name}")),
        "{stderr}"
    );
    assert!(stderr.contains("waiting for approval"), "{stderr}");
    assert!(stderr.contains("approved"), "{stderr}");
    assert!(
        stdout.contains("kube-root-ca.crt"),
        "the retried command's output: {stdout}"
    );

    // Now allowed: the plugin, run by kubectl as `kubectl breakglass`, is plain kubectl
    // (no request, kubectl's output and status).
    let out = via_kubectl(&env, &home, &server.url, &requester, &get_cm)
        .await?
        .output()
        .await?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("kube-root-ca.crt"));
    assert_eq!(sessions.list(&ListParams::default()).await?.items.len(), 1);

    // A rejected request: the plugin stops waiting and exits 1 saying so, without
    // running kubectl again.
    let pods_group = fx.group("pod-reader");
    target
        .grant(&pods_group, crate::explain::read_pods())
        .await?;
    fx.escalation("pods", spec(&[A], &pods_group)).await?;
    let get_pods = ["get", "pods", "-n", ns.as_str()];
    let child = plugin(
        &env,
        &home,
        &server.url,
        &requester,
        &["--reason", "INC-8 look at pods", "--poll-interval", "200ms"],
        &get_pods,
    )
    .await?
    .spawn()?;
    let started = std::time::Instant::now();
    let second = loop {
        let list = sessions.list(&ListParams::default()).await?;
        if let Some(n) = list
            .items
            .iter()
            .find(|s| s.spec.granted_group == pods_group)
            .and_then(|s| s.metadata.name.clone())
        {
            break n;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "the plugin requested no session for {pods_group} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let r = api.act(&second, "reject", &approver, None).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output()).await??;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("was not approved: Rejected"), "{stderr}");
    assert!(!stderr.contains("Running kubectl again"), "{stderr}");

    fx.cleanup().await?;
    drop(target);
    Ok(())
}
