//! `bgctl why`: the real binary against the shared server prints the decision and the
//! stage that decided, exits 0 when allowed and 1 when denied (as `kubectl auth can-i`).

use breakglass_api::rest::explain::ExplainResponse;
use serde_json::json;

use crate::cli_support::{bgctl, home};
use crate::explain::{A, TargetNs, read_pods};
use crate::support::*;

#[tokio::test]
async fn bgctl_why_prints_the_deciding_stage() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "why").await?;
    let group = fx.group("pods-reader");
    let target = TargetNs::new(&env, &format!("why-{}", fx.id), &group, read_pods()).await?;
    let ns = target.name.clone();
    fx.escalation("esc", spec(&[A], &group)).await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    let home = home("why")?;
    let list = ["--cluster", A, "list", "pods", "-n", ns.as_str()];

    // Denied: no session. Exit 1, the stage and the trace printed.
    let out = why(&home, &server.url, &requester, &list).await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("DENIED: list pods in namespace"),
        "{stdout}"
    );
    // No session of the requester's fits (other tests may hold sessions for other groups
    // as the same user, then the group check decides): the deciding stage is printed
    // and its trace line says denied.
    let deciding = if stdout.contains("Decided by: no-session") {
        "sessions "
    } else {
        assert!(stdout.contains("Decided by: final"), "{stdout}");
        "group-check "
    };
    let line = stdout
        .lines()
        .find(|l| l.starts_with(deciding))
        .unwrap_or_default();
    assert!(line.contains("denied"), "{stdout}");

    // Another user's request is for admins only: exit 1 with the server's reason.
    let out = why(
        &home,
        &server.url,
        &requester,
        &[
            "--user",
            "approver@example.com",
            "--cluster",
            A,
            "list",
            "pods",
        ],
    )
    .await?;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("adminGroups"), "{stderr}");
    // A missing --cluster is a usage error naming the flag.
    let out = why(&home, &server.url, &requester, &["list", "pods"]).await?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cluster"));

    // Allowed through an approved session: exit 0, the session named.
    let r = api.request(&requester, A, &group, json!({})).await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let name = r.name();
    assert_eq!(
        api.act(&name, "approve", &approver, None).await?.status,
        200
    );
    let mut out = why(&home, &server.url, &requester, &list).await?;
    for _ in 0..50 {
        if out.status.code() == Some(0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        out = why(&home, &server.url, &requester, &list).await?;
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.starts_with("ALLOWED: list pods"), "{stdout}");
    assert!(stdout.contains("Decided by: session"), "{stdout}");
    assert!(stdout.contains(&name), "{stdout}");

    // -o json is the API's answer.
    let mut args = vec!["-o", "json"];
    args.extend_from_slice(&list);
    let out = why(&home, &server.url, &requester, &args).await?;
    assert_eq!(out.status.code(), Some(0));
    let e: ExplainResponse = serde_json::from_slice(&out.stdout)?;
    assert_eq!((e.stage.as_str(), e.allowed), ("session", true));
    assert_eq!(e.session.map(|s| s.name), Some(name.clone()));
    // The group's RBAC stops at get/list: delete is denied at the group check.
    let out = why(
        &home,
        &server.url,
        &requester,
        &["--cluster", A, "delete", "pods", "-n", &ns, "web"],
    )
    .await?;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Decided by: final"));

    fx.cleanup().await?;
    drop(target);
    Ok(())
}

/// `bgctl why --server … --token … <extra>`.
async fn why(
    home: &std::path::Path,
    server: &str,
    token: &str,
    extra: &[&str],
) -> anyhow::Result<std::process::Output> {
    let mut args = vec!["why", "--server", server, "--token", token];
    args.extend_from_slice(extra);
    Ok(bgctl(home).await?.args(&args).output()?)
}
