//! `bgctl session` and `bgctl escalation` against the real server and the real target
//! apiservers: request → approve → kubectl works → drop → kubectl denied, all through
//! the bgctl binary; output formats; exit codes of usage errors and of `--wait`.

use std::time::Duration;

use breakglass_api::BreakglassSessionState;
use breakglass_api::rest::escalations::{EscalationList, EscalationView};
use breakglass_api::rest::sessions::{
    DecisionRequest, ListQuery, SessionDetail, SessionList, SessionView,
};
use breakglass_client::Client;
use breakglass_testenv::TestEnv;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, RoleBinding};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::json;

use crate::cli_support::{bgctl, exit, home, run, text};
use crate::support::*;
use crate::webhook::{can_i, until_can_i};

const A: &str = "target-a";

/// Namespace `ns` on target-a where `oidc:<group>` may list pods; removed by [`unbind`].
async fn bind(env: &TestEnv, ns: &str, group: &str) -> anyhow::Result<()> {
    let client = env.target_client(A).await?;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}}))?,
        )
        .await?;
    let roles: Api<ClusterRole> = Api::all(client.clone());
    roles
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": ns},
                "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
            }))?,
        )
        .await?;
    let bindings: Api<RoleBinding> = Api::namespaced(client, ns);
    bindings
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": ns},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": ns},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": format!("{}{group}", env.group_prefix())}],
            }))?,
        )
        .await?;
    Ok(())
}

async fn unbind(env: &TestEnv, ns: &str) {
    if let Ok(client) = env.target_client(A).await {
        let _ = Api::<Namespace>::all(client.clone())
            .delete(ns, &DeleteParams::background())
            .await;
        let _ = Api::<ClusterRole>::all(client)
            .delete(ns, &DeleteParams::default())
            .await;
    }
}

#[tokio::test]
async fn bgctl_request_approve_kubectl_drop() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "clis").await?;
    let group = fx.group("cli-pods");
    let ns = format!("clis-{}", fx.id);
    bind(&env, &ns, &group).await?;
    fx.escalation("esc", spec(&[A], &group)).await?;
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    let home = home("clis")?;
    let url = server.url.as_str();
    let list_pods = ["list", "pods", "-n", ns.as_str()];
    assert!(!can_i(&env, A, &requester, &list_pods).await?);

    // The escalation is offered to the requester.
    let out = run(
        &home,
        url,
        &requester,
        &["escalation", "list", "-o", "json"],
    )
    .await?;
    exit(&out, 0);
    let escalations: EscalationList = serde_json::from_slice(&out.stdout)?;
    assert!(
        escalations
            .items
            .iter()
            .any(|e| e.spec.escalated_group == group),
        "{}",
        text(&out.stdout)
    );
    let qualified = format!("{}/esc", fx.ns);
    let out = run(
        &home,
        url,
        &requester,
        &["escalation", "get", &qualified, "-o", "json"],
    )
    .await?;
    exit(&out, 0);
    let esc: EscalationView = serde_json::from_slice(&out.stdout)?;
    assert_eq!(esc.metadata.namespace, fx.ns);
    assert_eq!(esc.spec.escalated_group, group);
    let missing = format!("{}/no-such-escalation", fx.ns);
    let out = run(&home, url, &requester, &["escalation", "get", &missing]).await?;
    exit(&out, 1);
    assert!(
        text(&out.stderr).contains("not found"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&home, url, &requester, &["escalation", "list-clusters"]).await?;
    exit(&out, 0);
    assert!(
        text(&out.stdout)
            .lines()
            .any(|l| l.starts_with(A) && l.contains(&group)),
        "{}",
        text(&out.stdout)
    );

    // Request: JSON on stdout is the wire type.
    let out = run(
        &home,
        url,
        &requester,
        &[
            "session",
            "request",
            "-C",
            A,
            "-g",
            &group,
            "-r",
            "INC-7 cli",
            "-o",
            "json",
        ],
    )
    .await?;
    exit(&out, 0);
    let created: SessionView = serde_json::from_slice(&out.stdout)?;
    let name = created.name().to_owned();
    assert_eq!(created.state(), Some(BreakglassSessionState::Pending));
    assert_eq!(created.spec.granted_group, group);
    assert_eq!(created.metadata.namespace, fx.ns);

    // -o json and -o yaml of the same read carry the same value.
    let out = run(
        &home,
        url,
        &requester,
        &["session", "get", &name, "-o", "json"],
    )
    .await?;
    exit(&out, 0);
    let from_json: SessionDetail = serde_json::from_slice(&out.stdout)?;
    let out = run(
        &home,
        url,
        &requester,
        &["session", "get", &name, "-o", "yaml"],
    )
    .await?;
    exit(&out, 0);
    let from_yaml: SessionDetail = serde_saphyr::from_str(&text(&out.stdout))?;
    assert_eq!(from_json, from_yaml);
    assert!(from_json.approval_meta.is_requester);
    assert!(!from_json.approval_meta.can_approve);

    // The table: a header line, then the session with its state; --no-headers drops
    // the header.
    let out = run(&home, url, &requester, &["session", "get", &name]).await?;
    exit(&out, 0);
    let table = text(&out.stdout);
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.starts_with("NAME") && header.contains("STATE"),
        "{table}"
    );
    let row = lines.next().unwrap_or_default();
    assert!(row.starts_with(&name) && row.contains("Pending"), "{table}");
    assert!(
        !table.contains('\u{1b}'),
        "no colour off a terminal: {table:?}"
    );
    let out = run(
        &home,
        url,
        &approver,
        &["session", "list", "--no-headers", "-s", "pending"],
    )
    .await?;
    exit(&out, 0);
    assert!(!text(&out.stdout).contains("NAME"), "{}", text(&out.stdout));
    assert!(text(&out.stdout).lines().any(|l| l.starts_with(&name)));

    // Approve as the approver; kubectl works for the requester.
    let out = run(
        &home,
        url,
        &approver,
        &["session", "approve", &name, "-r", "go", "-o", "json"],
    )
    .await?;
    exit(&out, 0);
    let approved: SessionView = serde_json::from_slice(&out.stdout)?;
    assert_eq!(approved.state(), Some(BreakglassSessionState::Approved));
    until_can_i(
        &env,
        A,
        &requester,
        &list_pods,
        true,
        Duration::from_secs(10),
    )
    .await?;
    let k = env
        .kubectl(A, Some(&requester), &["get", "pods", "-n", &ns])
        .await?;
    assert!(k.success(), "{}", k.stderr);

    // A second request is refused, naming the session in the way.
    let out = run(
        &home,
        url,
        &requester,
        &["session", "request", "-C", A, "-g", &group],
    )
    .await?;
    exit(&out, 1);
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("you already have session {name} (Approved)")) && err.contains("409"),
        "{err}"
    );

    // The requester's active sessions list it.
    let out = run(
        &home,
        url,
        &requester,
        &["session", "list", "--mine", "--active", "-o", "json"],
    )
    .await?;
    exit(&out, 0);
    let mine: SessionList = serde_json::from_slice(&out.stdout)?;
    assert!(mine.items.iter().any(|i| i.session.name() == name));

    // Dropping needs confirmation: without --yes and without a terminal, exit 2 and
    // nothing happens.
    let out = run(&home, url, &requester, &["session", "drop", &name]).await?;
    exit(&out, 2);
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    assert!(can_i(&env, A, &requester, &list_pods).await?);
    let out = run(
        &home,
        url,
        &requester,
        &["session", "drop", &name, "-y", "-o", "json"],
    )
    .await?;
    exit(&out, 0);
    let dropped: SessionView = serde_json::from_slice(&out.stdout)?;
    assert_eq!(dropped.state(), Some(BreakglassSessionState::Expired));
    until_can_i(
        &env,
        A,
        &requester,
        &list_pods,
        false,
        Duration::from_secs(10),
    )
    .await?;
    let k = env
        .kubectl(A, Some(&requester), &["get", "pods", "-n", &ns])
        .await?;
    assert!(!k.success(), "kubectl still allowed after drop");

    // A refused action is exit 1 with the server's message.
    let out = run(
        &home,
        url,
        &requester,
        &["session", "withdraw", &name, "-y"],
    )
    .await?;
    exit(&out, 1);
    assert!(
        text(&out.stderr).contains("error:"),
        "{}",
        text(&out.stderr)
    );

    unbind(&env, &ns).await;
    fx.cleanup().await
}

#[tokio::test]
async fn bgctl_usage_errors_exit_2_and_name_the_flag() -> anyhow::Result<()> {
    let home = home("cliusage")?;
    let out = tokio::process::Command::from({
        let mut c = bgctl(&home).await?;
        c.args(["--server", "http://127.0.0.1:9", "--token", "t"])
            .args(["session", "request", "-C", A]);
        c
    })
    .output()
    .await?;
    exit(&out, 2);
    assert!(
        text(&out.stderr).contains("--group"),
        "{}",
        text(&out.stderr)
    );

    let out = tokio::process::Command::from({
        let mut c = bgctl(&home).await?;
        c.args(["session", "list", "-o", "xml"]);
        c
    })
    .output()
    .await?;
    exit(&out, 2);
    assert!(text(&out.stderr).contains("xml"), "{}", text(&out.stderr));

    // A server that cannot be reached is a runtime error: exit 1.
    let out = tokio::process::Command::from({
        let mut c = bgctl(&home).await?;
        c.args(["--server", "http://127.0.0.1:9", "--token", "t"])
            .args(["session", "list"]);
        c
    })
    .output()
    .await?;
    exit(&out, 1);
    Ok(())
}

/// Waits until the requester has a pending session for `group`; returns its name.
async fn pending_of(requester: &Client, group: &str) -> anyhow::Result<String> {
    let found = std::sync::Mutex::new(String::new());
    let found_ref = &found;
    wait_for(
        Duration::from_secs(20),
        "the pending request",
        move || async move {
            let list = requester
                .list_sessions(&ListQuery {
                    mine: Some(true),
                    group: Some(group.to_owned()),
                    state: Some("pending".to_owned()),
                    ..ListQuery::default()
                })
                .await?;
            match list.items.first() {
                Some(item) => {
                    *found_ref.lock().unwrap() = item.session.name().to_owned();
                    Ok(true)
                }
                None => Ok(false),
            }
        },
    )
    .await?;
    Ok(found.into_inner().unwrap())
}

#[tokio::test]
async fn bgctl_wait_exits_0_on_approval_1_on_rejection_and_timeout() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "cliwait").await?;
    let (g_ok, g_no, g_slow) = (fx.group("ok"), fx.group("no"), fx.group("slow"));
    fx.escalation("ok", spec(&[A], &g_ok)).await?;
    fx.escalation("no", spec(&[A], &g_no)).await?;
    fx.escalation("slow", spec(&[A], &g_slow)).await?;
    let requester_token = token(&env, "requester").await?;
    let approver_token = token(&env, "approver").await?;
    let options = breakglass_client::Options::default();
    let requester = Client::new(&server.url, Some(requester_token.clone()), &options)?;
    let approver = Client::new(&server.url, Some(approver_token), &options)?;
    let home = home("cliwait")?;
    let url = server.url.clone();

    // Approved by someone else while bgctl waits: exit 0, the approved session on stdout.
    let waiting = {
        let (home, url, t, g) = (
            home.clone(),
            url.clone(),
            requester_token.clone(),
            g_ok.clone(),
        );
        tokio::spawn(async move {
            run(
                &home,
                &url,
                &t,
                &[
                    "session",
                    "request",
                    "-C",
                    A,
                    "-g",
                    &g,
                    "--wait",
                    "-i",
                    "200ms",
                    "--timeout",
                    "60s",
                    "-o",
                    "json",
                ],
            )
            .await
        })
    };
    let name = pending_of(&requester, &g_ok).await?;
    approver
        .approve_session(&name, &DecisionRequest::default())
        .await?;
    let out = waiting.await??;
    exit(&out, 0);
    let done: SessionView = serde_json::from_slice(&out.stdout)?;
    assert_eq!(done.name(), name);
    assert_eq!(done.state(), Some(BreakglassSessionState::Approved));
    let progress = text(&out.stderr);
    assert!(progress.contains("waiting for approval"), "{progress}");
    assert!(progress.contains("approved"), "{progress}");

    // Rejected meanwhile: exit 1, and stderr says so.
    let waiting = {
        let (home, url, t, g) = (
            home.clone(),
            url.clone(),
            requester_token.clone(),
            g_no.clone(),
        );
        tokio::spawn(async move {
            run(
                &home,
                &url,
                &t,
                &[
                    "session",
                    "request",
                    "-C",
                    A,
                    "-g",
                    &g,
                    "--wait",
                    "-i",
                    "200ms",
                    "--timeout",
                    "60s",
                ],
            )
            .await
        })
    };
    let name = pending_of(&requester, &g_no).await?;
    approver
        .reject_session(
            &name,
            &DecisionRequest {
                reason: Some("not now".to_owned()),
            },
        )
        .await?;
    let out = waiting.await??;
    exit(&out, 1);
    assert!(
        text(&out.stderr).contains("Rejected"),
        "{}",
        text(&out.stderr)
    );

    // Nobody decides: --timeout ends the wait with exit 1, the session stays pending.
    let out = run(
        &home,
        &url,
        &requester_token,
        &[
            "session",
            "request",
            "-C",
            A,
            "-g",
            &g_slow,
            "--wait",
            "-i",
            "200ms",
            "--timeout",
            "1s",
        ],
    )
    .await?;
    exit(&out, 1);
    assert!(
        text(&out.stderr).contains("timed out"),
        "{}",
        text(&out.stderr)
    );
    let name = pending_of(&requester, &g_slow).await?;
    assert_eq!(
        requester.get_session(&name).await?.session.state(),
        Some(BreakglassSessionState::Pending)
    );
    fx.cleanup().await
}

/// Every complete JSON document in `buf`.
fn documents(buf: &[u8]) -> Vec<SessionList> {
    serde_json::Deserializer::from_slice(buf)
        .into_iter::<SessionList>()
        .map_while(Result::ok)
        .collect()
}

#[tokio::test]
async fn bgctl_watch_prints_the_list_again_when_a_session_changes() -> anyhow::Result<()> {
    use tokio::io::AsyncReadExt as _;

    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "cliwatch").await?;
    let group = fx.group("watched");
    fx.escalation("esc", spec(&[A], &group)).await?;
    let options = breakglass_client::Options::default();
    let requester = Client::new(&server.url, Some(token(&env, "requester").await?), &options)?;
    let approver_token = token(&env, "approver").await?;
    let approver = Client::new(&server.url, Some(approver_token.clone()), &options)?;
    let home = home("cliwatch")?;

    let mut cmd = bgctl(&home).await?;
    cmd.args(["--server", &server.url, "--token", &approver_token])
        .args([
            "session", "watch", "-g", &group, "-i", "200ms", "-o", "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = tokio::process::Command::from(cmd)
        .kill_on_drop(true)
        .spawn()?;
    let mut stdout = child.stdout.take().expect("stdout");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let reader = {
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        })
    };
    let docs = || documents(&seen.lock().unwrap());
    let state_in = |list: &SessionList| {
        list.items
            .first()
            .and_then(|i| i.session.state())
            .map(|s| s.as_str().to_owned())
    };

    // First the empty list, once (nothing changes, nothing is printed again).
    wait_for(Duration::from_secs(10), "the first list", || async {
        Ok(!docs().is_empty())
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let first = docs();
    assert_eq!(first.len(), 1, "reprinted without a change");
    assert_eq!(first[0].total, 0);

    // A request and its approval each print the list again.
    let name = requester
        .request_session(&crate::support::session_request(A, &group))
        .await?
        .name()
        .to_owned();
    wait_for(Duration::from_secs(10), "the pending session", || async {
        Ok(docs().last().and_then(state_in).as_deref() == Some("Pending"))
    })
    .await?;
    approver
        .approve_session(&name, &DecisionRequest::default())
        .await?;
    wait_for(Duration::from_secs(10), "the approved session", || async {
        Ok(docs().last().and_then(state_in).as_deref() == Some("Approved"))
    })
    .await?;
    // Each document differs from the one before (the server may write the session
    // again after the approval, which is a change too).
    let all = docs();
    assert!(all.len() >= 3, "{} documents", all.len());
    assert!(all.windows(2).all(|w| w[0] != w[1]), "a repeated document");
    assert_eq!(all[1].items[0].session.name(), name);

    child.kill().await?;
    reader.abort();
    requester.drop_session(&name).await?;
    fx.cleanup().await
}
