//! `bgctl debug …` against the real server and target-a: a kubectl-debug session
//! requested, approved and read through bgctl, the catalogue commands, and an
//! ephemeral container injected with `bgctl debug kubectl inject`.

use std::path::Path;
use std::time::Duration;

use breakglass_api::debug_session_template::DebugSessionTemplate;
use breakglass_api::rest::debug::catalogue::{TemplateClustersView, TemplateList, TemplateView};
use breakglass_api::rest::debug::{
    CreatedDebugSession, DebugSessionDetail, DebugSessionList, InjectResponse,
};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::json;

use crate::cli_support::{exit, home, run, text};
use crate::support::*;

const A: &str = "target-a";

/// The session's state as `bgctl debug session get -o json` shows it.
async fn state_of(
    home: &Path,
    url: &str,
    token: &str,
    name: &str,
    ns: &str,
) -> anyhow::Result<String> {
    let out = run(
        home,
        url,
        token,
        &["debug", "session", "get", name, "-n", ns, "-o", "json"],
    )
    .await?;
    anyhow::ensure!(out.status.success(), "get: {}", text(&out.stderr));
    let d: DebugSessionDetail = serde_json::from_slice(&out.stdout)?;
    Ok(d.session
        .status
        .and_then(|s| s.state)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default())
}

#[tokio::test]
async fn bgctl_debug_session_request_approve_and_inject() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "clid").await?;
    let tpl = format!("e2e-clid-{}", fx.id);
    let ns = format!("clid-{}", fx.id);
    let templates: Api<DebugSessionTemplate> = Api::all(fx.hub());
    templates
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
                "kind": "DebugSessionTemplate",
                "metadata": {"name": tpl},
                "spec": {
                    "mode": "kubectl-debug",
                    "targetNamespace": ns,
                    "allowed": {"clusters": [A]},
                    "approvers": {"users": ["approver@example.com"]},
                    "kubectlDebug": {"ephemeralContainers": {
                        "enabled": true,
                        "allowedNamespaces": {"patterns": [ns]},
                        "allowedImages": ["busybox:*"],
                    }},
                },
            }))?,
        )
        .await?;
    let target = env.target_client(A).await?;
    let namespaces: Api<Namespace> = Api::all(target.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}}))?,
        )
        .await?;
    let pods: Api<Pod> = Api::namespaced(target, &ns);
    pods.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "app"},
            "spec": {"containers": [{"name": "c", "image": "busybox:stable"}]},
        }))?,
    )
    .await?;
    let result = async {
        let requester = token(&env, "requester").await?;
        let approver = token(&env, "approver").await?;
        let home = home("clid")?;
        let url = server.url.as_str();

        let (h, rq, t) = (&home, &requester, &tpl);
        // The catalogue: the template is listed and readable.
        wait_for(
            Duration::from_secs(20),
            "the template is offered",
            move || async move {
                let out = run(
                    h,
                    url,
                    rq,
                    &["debug", "template", "list", "-a", "-o", "json"],
                )
                .await?;
                let list: TemplateList = serde_json::from_slice(&out.stdout)?;
                Ok(list.templates.iter().any(|x| &x.name == t))
            },
        )
        .await?;
        let out = run(
            &home,
            url,
            &requester,
            &["debug", "template", "get", &tpl, "-o", "yaml"],
        )
        .await?;
        exit(&out, 0);
        let view: TemplateView = serde_saphyr::from_str(&text(&out.stdout))?;
        assert_eq!(view.name, tpl);
        assert_eq!(view.mode, "kubectl-debug");
        assert!(view.requires_approval);
        // Where it may be requested: target-a, through the template's own rule.
        let out = run(
            &home,
            url,
            &requester,
            &["debug", "template", "clusters", &tpl, "-o", "json"],
        )
        .await?;
        exit(&out, 0);
        let clusters: TemplateClustersView = serde_json::from_slice(&out.stdout)?;
        let names: Vec<&str> = clusters.clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, [A]);
        let out = run(
            &home,
            url,
            &requester,
            &["debug", "template", "bindings", &tpl, A],
        )
        .await?;
        exit(&out, 0);
        let table = text(&out.stdout);
        assert!(
            table
                .lines()
                .nth(1)
                .is_some_and(|l| l.starts_with("(template)") && l.contains("required")),
            "{table}"
        );
        let out = run(
            &home,
            url,
            &requester,
            &["debug", "template", "bindings", &tpl, "target-b"],
        )
        .await?;
        exit(&out, 1);
        let out = run(
            &home,
            url,
            &requester,
            &["debug", "template", "get", "no-such-template"],
        )
        .await?;
        exit(&out, 1);
        assert!(
            text(&out.stderr).contains("not found"),
            "{}",
            text(&out.stderr)
        );

        // Request through bgctl; a missing --template is a usage error naming it.
        let out = run(
            &home,
            url,
            &requester,
            &["debug", "session", "create", "-C", A],
        )
        .await?;
        exit(&out, 2);
        assert!(
            text(&out.stderr).contains("--template"),
            "{}",
            text(&out.stderr)
        );
        let out = run(
            &home,
            url,
            &requester,
            &[
                "debug",
                "session",
                "create",
                "-t",
                &tpl,
                "-C",
                A,
                "-r",
                "cli debug",
                "-o",
                "json",
            ],
        )
        .await?;
        exit(&out, 0);
        let created: CreatedDebugSession = serde_json::from_slice(&out.stdout)?;
        let name = created.metadata.name.clone();
        let session_ns = created.metadata.namespace.clone();
        assert_eq!(created.spec.template_ref, tpl);
        assert_eq!(created.spec.cluster, A);

        // Waits for approval; the approver sees it in the list and approves.
        let (n, sns) = (&name, &session_ns);
        wait_for(
            Duration::from_secs(20),
            "PendingApproval",
            move || async move { Ok(state_of(h, url, rq, n, sns).await? == "PendingApproval") },
        )
        .await?;
        let out = run(
            &home,
            url,
            &approver,
            &["debug", "session", "list", "-o", "json"],
        )
        .await?;
        exit(&out, 0);
        let list: DebugSessionList = serde_json::from_slice(&out.stdout)?;
        let entry = list
            .sessions
            .iter()
            .find(|s| s.name.as_deref() == Some(name.as_str()))
            .cloned();
        assert!(
            entry.as_ref().is_some_and(|e| e.can_approve),
            "{}",
            text(&out.stdout)
        );
        // The owner may not approve their own debug session: exit 1.
        let out = run(
            &home,
            url,
            &requester,
            &["debug", "session", "approve", &name, "-n", &session_ns],
        )
        .await?;
        exit(&out, 1);
        let out = run(
            &home,
            url,
            &approver,
            &[
                "debug",
                "session",
                "approve",
                &name,
                "-n",
                &session_ns,
                "-r",
                "ok",
            ],
        )
        .await?;
        exit(&out, 0);
        let table = text(&out.stdout);
        assert!(
            table.lines().next().unwrap_or_default().starts_with("NAME"),
            "{table}"
        );
        wait_for(Duration::from_secs(30), "Active", move || async move {
            Ok(state_of(h, url, rq, n, sns).await? == "Active")
        })
        .await?;
        let out = run(
            &home,
            url,
            &requester,
            &[
                "debug",
                "session",
                "get",
                &name,
                "-n",
                &session_ns,
                "-o",
                "wide",
            ],
        )
        .await?;
        exit(&out, 0);
        let table = text(&out.stdout);
        assert!(
            table.contains("PARTICIPANTS") && table.contains("Active"),
            "{table}"
        );

        // Inject an ephemeral container through bgctl; a refused image is exit 1
        // with the rule named.
        let out = run(
            &home,
            url,
            &requester,
            &[
                "debug",
                "kubectl",
                "inject",
                &name,
                "-n",
                &ns,
                "--pod",
                "app",
                "--container",
                "dbg",
                "--image",
                "nginx:1",
                "--non-root",
            ],
        )
        .await?;
        exit(&out, 1);
        assert!(
            text(&out.stderr).contains("allowedImages"),
            "{}",
            text(&out.stderr)
        );
        let out = run(
            &home,
            url,
            &requester,
            &[
                "debug",
                "kubectl",
                "inject",
                &name,
                "-n",
                &ns,
                "--pod",
                "app",
                "--container",
                "dbg",
                "--image",
                "busybox:1.36",
                "--non-root",
                "-o",
                "json",
            ],
        )
        .await?;
        exit(&out, 0);
        let injected: InjectResponse = serde_json::from_slice(&out.stdout)?;
        assert_eq!(injected.pod, "app");
        assert_eq!(injected.container, "dbg");
        let pod = pods.get("app").await?;
        assert!(
            pod.spec
                .and_then(|s| s.ephemeral_containers)
                .unwrap_or_default()
                .iter()
                .any(|c| c.name == "dbg" && c.image.as_deref() == Some("busybox:1.36"))
        );

        // The owner ends it.
        let out = run(
            &home,
            url,
            &requester,
            &[
                "debug",
                "session",
                "terminate",
                &name,
                "-n",
                &session_ns,
                "-y",
                "-o",
                "json",
            ],
        )
        .await?;
        exit(&out, 0);
        let ended: DebugSessionDetail = serde_json::from_slice(&out.stdout)?;
        assert_eq!(
            ended
                .session
                .status
                .and_then(|s| s.state)
                .map(|s| s.as_str().to_owned()),
            Some("Terminated".to_owned())
        );
        anyhow::Ok(())
    }
    .await;
    let _ = namespaces.delete(&ns, &DeleteParams::background()).await;
    let _ = templates.delete(&tpl, &DeleteParams::default()).await;
    result?;
    fx.cleanup().await
}
