//! End-to-end: kubectl-debug operations of a debug session on target-a — injecting an
//! ephemeral container (policy refusals name the rule; exec on exactly that pod for the
//! owner), the authorization matrix, a workload-mode session refused, a pod copy that
//! goes with the session, and node debug pods pinned to a node matching the selector.
//!
//! As in `debug_access`, the session's Active status (with its resolved template) is
//! written directly, so the tests exercise the REST and target code only.

use std::time::Duration;

use breakglass_api::debug_session::DebugSession;
use breakglass_api::debug_session_template::DebugSessionTemplate;
use breakglass_api::rest::debug::{CopyRequest, NodeRequest};
use breakglass_testenv::TestEnv;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;
use crate::webhook::{can_i, until_can_i};

const A: &str = "target-a";
const OWNER: &str = "requester@example.com";
const VIEWER: &str = "approver2@example.com";
const PARTICIPANT: &str = "requester2@example.com";
const SESSION_LABEL: &str = "breakglass.telekom.com/debug-session";

async fn template(env: &TestEnv, fx: &Fixture, api: &RestClient) -> anyhow::Result<String> {
    let name = format!("e2e-kd-{}", fx.id);
    let templates: Api<DebugSessionTemplate> = Api::all(fx.hub());
    templates
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
                "kind": "DebugSessionTemplate",
                "metadata": {"name": name},
                "spec": {"allowed": {"clusters": [A]}, "approvers": {"users": ["approver@example.com"]}},
            }))?,
        )
        .await?;
    let owner = token(env, "requester").await?;
    let path = "/api/debugSessions/templates?includeHidden=true&includeUnavailable=true";
    wait_for(
        Duration::from_secs(20),
        "the server has the template",
        || async {
            let r = api.get(path, &owner).await?;
            Ok(r.text.contains(&format!("\"{name}\"")))
        },
    )
    .await?;
    Ok(name)
}

async fn debug_session(
    fx: &Fixture,
    name: &str,
    tpl: &str,
    status: Value,
) -> anyhow::Result<DebugSession> {
    let api: Api<DebugSession> = Api::namespaced(fx.hub(), &fx.ns);
    let obj: DebugSession = serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "DebugSession",
        "metadata": {"name": name, "namespace": fx.ns, "labels": {SESSION_LABEL: name}},
        "spec": {"cluster": A, "templateRef": tpl, "requestedBy": OWNER, "invitedParticipants": [VIEWER, PARTICIPANT]},
    }))?;
    api.create(&PostParams::default(), &obj).await?;
    wait_for(
        Duration::from_secs(10),
        "the reconciler resolves the session",
        || {
            let api = api.clone();
            async move {
                let s = api.get(name).await?;
                Ok(s.state().map(|st| st.as_str()) == Some("PendingApproval"))
            }
        },
    )
    .await?;
    Ok(api
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({ "status": status })),
        )
        .await?)
}

fn active(template: Value) -> Value {
    let now = jiff::Timestamp::now();
    json!({
        "state": "Active",
        "startsAt": now.to_string(),
        "expiresAt": (now + jiff::SignedDuration::from_hours(1)).to_string(),
        "participants": [
            {"user": OWNER, "role": "owner", "joinedAt": now.to_string()},
            {"user": VIEWER, "role": "viewer", "joinedAt": now.to_string()},
            {"user": PARTICIPANT, "role": "participant", "joinedAt": now.to_string()},
        ],
        "allowedPodOperations": {"exec": true, "attach": true, "logs": true, "portForward": true},
        "resolvedTemplate": template,
    })
}

fn kubectl_template(ns: &str, node_label: (&str, &str)) -> Value {
    json!({
        "mode": "kubectl-debug",
        "targetNamespace": ns,
        "kubectlDebug": {
            "ephemeralContainers": {
                "enabled": true,
                "allowedNamespaces": {"patterns": [ns]},
                "allowedImages": ["busybox:*"],
                "maxCapabilities": ["NET_ADMIN"],
            },
            "podCopy": {"enabled": true, "targetNamespace": ns},
            "nodeDebug": {"enabled": true, "nodeSelector": {node_label.0: node_label.1}},
        },
    })
}

async fn target_pod(env: &TestEnv, ns: &str) -> anyhow::Result<()> {
    let client = env.target_client(A).await?;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}}))?,
        )
        .await?;
    let api: Api<Pod> = Api::namespaced(client, ns);
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "app"},
            "spec": {"containers": [{"name": "c", "image": "busybox:stable"}]},
        }))?,
    )
    .await?;
    Ok(())
}

fn inject_body(ns: &str, image: &str, container: &str, sc: Value) -> Value {
    json!({"namespace": ns, "podName": "app", "containerName": container, "image": image, "securityContext": sc})
}

#[tokio::test]
async fn kubectl_debug_operations() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "dbgkd").await?;
    let api = RestClient::new(&server.url);
    let name = format!("debug-kd-{}", fx.id);
    let wl_name = format!("debug-kd-wl-{}", fx.id);
    let ns = format!("dbgkd-{}", fx.id);
    let tpl = template(&env, &fx, &api).await?;
    let result = async {
        let client = env.target_client(A).await?;
        let nodes: Api<Node> = Api::all(client.clone());
        let node_list = nodes.list(&ListParams::default()).await?.items;
        let node0 = node_list
            .first()
            .and_then(|n| n.metadata.name.clone())
            .unwrap_or_default();
        let session_tpl = kubectl_template(&ns, ("kubernetes.io/hostname", &node0));
        debug_session(&fx, &name, &tpl, active(session_tpl)).await?;
        target_pod(&env, &ns).await?;
        let owner = token(&env, "requester").await?;
        let viewer = token(&env, "approver2").await?;
        let nobody = token(&env, "nobody").await?;
        let approver = token(&env, "approver").await?;
        let participant = token(&env, "requester2").await?;
        let non_root = json!({"runAsNonRoot": true});
        let inject = format!("/api/debugSessions/{name}/injectEphemeralContainer");

        // Authorization: a viewer and an unrelated user are refused.
        for (who, t) in [
            ("viewer", &viewer),
            ("nobody", &nobody),
            ("approver", &approver),
        ] {
            let r = api
                .post(
                    &inject,
                    t,
                    inject_body(&ns, "busybox:1.36", "dbg", non_root.clone()),
                )
                .await?;
            assert_eq!(r.status, 403, "{who}: {}", r.text);
        }
        let r = api
            .post(
                &inject,
                &participant,
                inject_body(&ns, "busybox:1.36", "dbg-p", non_root.clone()),
            )
            .await?;
        assert_eq!(r.status, 200, "participant: {}", r.text);
        // A pod outside allowedNamespaces.
        let other_ns = format!("{ns}-x");
        target_pod(&env, &other_ns).await?;
        let r = api
            .post(
                &inject,
                &owner,
                inject_body(&other_ns, "busybox:1.36", "bad", non_root.clone()),
            )
            .await?;
        let _ = Api::<Namespace>::all(client.clone())
            .delete(&other_ns, &DeleteParams::background())
            .await;
        assert_eq!(r.status, 403, "{}", r.text);
        assert!(r.text.contains("allowedNamespaces"), "{}", r.text);
        // Policy refusals name the rule.
        for (image, sc, rule) in [
            ("nginx:1", non_root.clone(), "allowedImages"),
            (
                "busybox:1.36",
                json!({"runAsNonRoot": true, "privileged": true}),
                "allowPrivileged",
            ),
            (
                "busybox:1.36",
                json!({"runAsNonRoot": true, "capabilities": {"add": ["SYS_ADMIN"]}}),
                "maxCapabilities",
            ),
            ("busybox:1.36", json!({}), "requireNonRoot"),
        ] {
            let r = api
                .post(&inject, &owner, inject_body(&ns, image, "bad", sc))
                .await?;
            assert_eq!(r.status, 403, "{rule}: {}", r.text);
            assert!(r.text.contains(rule), "{rule}: {}", r.text);
        }
        // The owner injects an allowed non-root image.
        let r = api
            .post(
                &inject,
                &owner,
                inject_body(&ns, "busybox:1.36", "dbg", non_root.clone()),
            )
            .await?;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["container"], "dbg");
        let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
        let pod = pods.get("app").await?;
        let injected = pod
            .spec
            .and_then(|s| s.ephemeral_containers)
            .unwrap_or_default();
        assert!(
            injected
                .iter()
                .any(|c| c.name == "dbg" && c.image.as_deref() == Some("busybox:1.36"))
        );
        let exec = [
            "create",
            "pods/app",
            "--subresource=exec",
            "-n",
            ns.as_str(),
        ];
        until_can_i(&env, A, &owner, &exec, true, Duration::from_secs(10)).await?;
        assert!(
            !can_i(&env, A, &nobody, &exec).await?,
            "another user may not exec"
        );

        // A debugger image outside the template's allowed images is refused.
        let r = api
            .post(
                &format!("/api/debugSessions/{name}/createPodCopy"),
                &owner,
                json!({"namespace": ns, "podName": "app", "debugImage": "nginx:1"}),
            )
            .await?;
        assert_eq!(r.status, 403, "{}", r.text);
        assert!(r.text.contains("allowedImages"), "{}", r.text);

        // A pod copy lands in the copy namespace with the session labels.
        let owner_c = crate::support::client(&server.url, &owner)?;
        let copy_of_app = |debug_image: Option<&str>| CopyRequest {
            namespace: ns.clone(),
            pod_name: "app".to_owned(),
            debug_image: debug_image.map(str::to_owned),
        };
        let copy = owner_c
            .create_pod_copy(&name, None, &copy_of_app(Some("busybox:stable")))
            .await?
            .copy_name;
        let copied = pods.get(&copy).await?;
        assert_eq!(
            copied
                .metadata
                .labels
                .unwrap_or_default()
                .get(SESSION_LABEL),
            Some(&name)
        );

        // Node debug pods: pinned to a node matching the selector, refused elsewhere.
        let on = |node: &str| NodeRequest {
            node_name: node.to_owned(),
            image: None,
        };
        let r = owner_c
            .create_node_debug_pod(&name, None, &on(&node0))
            .await?;
        assert_eq!(r.node, node0);
        let node_pod = pods.get(&r.pod_name).await?;
        assert_eq!(node_pod.spec.and_then(|s| s.node_name), Some(node0.clone()));
        if let Some(other) = node_list.get(1).and_then(|n| n.metadata.name.clone()) {
            let r = owner_c
                .create_node_debug_pod(&name, None, &on(&other))
                .await;
            assert_eq!(status_of(&r), Some(403), "{r:?}");
            assert!(r.unwrap_err().to_string().contains("nodeSelector"));
        }

        // A workload-mode session cannot use kubectl-debug operations.
        debug_session(&fx, &wl_name, &tpl, active(json!({"mode": "workload"}))).await?;
        let r = api
            .post(
                &format!("/api/debugSessions/{wl_name}/injectEphemeralContainer"),
                &owner,
                inject_body(&ns, "busybox:1.36", "dbg2", non_root.clone()),
            )
            .await?;
        assert_eq!(r.status, 400, "{}", r.text);
        assert!(
            r.text.contains("does not support kubectl-debug mode"),
            "{}",
            r.text
        );

        // A copy with a short ttl is deleted at its expiresAt, while the session runs.
        let ttl_name = format!("debug-kd-ttl-{}", fx.id);
        let mut ttl_tpl = kubectl_template(&ns, ("kubernetes.io/hostname", &node0));
        ttl_tpl["kubectlDebug"]["podCopy"]["ttl"] = json!("2s");
        debug_session(&fx, &ttl_name, &tpl, active(ttl_tpl)).await?;
        let short = owner_c
            .create_pod_copy(&ttl_name, None, &copy_of_app(None))
            .await?
            .copy_name;
        assert_ne!(
            short, copy,
            "copies of different sessions have different names"
        );
        wait_for(Duration::from_secs(20), "the expired copy is gone", || {
            let pods = pods.clone();
            let short = short.clone();
            async move {
                Ok(pods
                    .get_opt(&short)
                    .await?
                    .is_none_or(|p| p.metadata.deletion_timestamp.is_some()))
            }
        })
        .await?;
        let sessions: Api<DebugSession> = Api::namespaced(fx.hub(), &fx.ns);
        // The status follows the deletion in a separate write: wait for it, then assert.
        wait_for(
            Duration::from_secs(20),
            "the expired copy leaves the status",
            || {
                let (sessions, ttl_name, short) =
                    (sessions.clone(), ttl_name.clone(), short.clone());
                async move {
                    let st = sessions.get(&ttl_name).await?.status.unwrap_or_default();
                    Ok(st
                        .allowed_pods
                        .unwrap_or_default()
                        .iter()
                        .all(|p| p.name != short))
                }
            },
        )
        .await?;
        let st = sessions.get(&ttl_name).await?.status.unwrap_or_default();
        assert!(
            st.allowed_pods
                .unwrap_or_default()
                .iter()
                .all(|p| p.name != short)
        );
        assert!(
            st.kubectl_debug_status
                .and_then(|k| k.copied_pods)
                .unwrap_or_default()
                .is_empty()
        );

        // Ending the session removes the copy (cleanup by the session labels).
        owner_c.terminate_debug_session(&name, None).await?;
        wait_for(Duration::from_secs(30), "the pod copy is gone", || {
            let pods = pods.clone();
            let copy = copy.clone();
            async move {
                Ok(pods
                    .get_opt(&copy)
                    .await?
                    .is_none_or(|p| p.metadata.deletion_timestamp.is_some()))
            }
        })
        .await?;
        anyhow::Ok(())
    }
    .await;
    let namespaces: Api<Namespace> = Api::all(env.target_client(A).await?);
    let _ = namespaces.delete(&ns, &DeleteParams::background()).await;
    let templates: Api<DebugSessionTemplate> = Api::all(fx.hub());
    let _ = templates.delete(&tpl, &DeleteParams::default()).await;
    fx.cleanup().await?;
    result
}
