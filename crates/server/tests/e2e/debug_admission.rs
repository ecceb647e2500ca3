//! End-to-end: the ephemeral-container admission webhook on target-a with real
//! `kubectl debug`. A breakglass server serves it on its HTTPS listener (the
//! environment's serving certificate); a `ValidatingWebhookConfiguration` sends
//! `pods/ephemeralcontainers` updates in the test's namespace there. RBAC in that
//! namespace lets the test users patch ephemeral containers, so what is tested is the
//! admission decision alone: the session owner with an allowed image passes, a
//! disallowed image, a viewer, a user without a session and even a cluster admin are
//! denied with the webhook's message; the server's own identity (trusted) passes.

use std::time::Duration;

use breakglass_api::debug_session::DebugSession;
use breakglass_api::debug_session_template::DebugSessionTemplate;
use breakglass_testenv::TestEnv;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;

const A: &str = "target-a";
const OWNER: &str = "requester@example.com";
const VIEWER: &str = "approver2@example.com";
const LABEL: &str = "breakglass-e2e-admission";

/// The kubectl-debug policy of the test's template.
fn policy() -> Value {
    json!({"ephemeralContainers": {
        "enabled": true,
        "allowedImages": ["busybox:*"],
        "requireNonRoot": true,
    }})
}

/// A kubectl-debug template needing approval (the reconciler resolves a session and
/// waits); returns once the shared server has it.
async fn template(env: &TestEnv, fx: &Fixture, url: &str) -> anyhow::Result<String> {
    let name = format!("e2e-adm-{}", fx.id);
    let api: Api<DebugSessionTemplate> = Api::all(fx.hub());
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
            "kind": "DebugSessionTemplate",
            "metadata": {"name": name},
            "spec": {
                "mode": "kubectl-debug",
                "allowed": {"clusters": [A]},
                "approvers": {"users": ["approver@example.com"]},
                "kubectlDebug": policy(),
            },
        }))?,
    )
    .await?;
    let owner = token(env, "requester").await?;
    let rest = RestClient::new(url);
    let path = "/api/debugSessions/templates?includeHidden=true&includeUnavailable=true";
    wait_for(
        Duration::from_secs(20),
        "the server has the template",
        || async {
            Ok(rest
                .get(path, &owner)
                .await?
                .text
                .contains(&format!("\"{name}\"")))
        },
    )
    .await?;
    Ok(name)
}

/// Creates the session, waits for PendingApproval, then writes an Active status as the
/// reconciler would at activation (owner and viewer).
async fn active_session(fx: &Fixture, name: &str, template: &str) -> anyhow::Result<()> {
    let api: Api<DebugSession> = Api::namespaced(fx.hub(), &fx.ns);
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
            "kind": "DebugSession",
            "metadata": {"name": name, "namespace": fx.ns},
            "spec": {"cluster": A, "templateRef": template, "requestedBy": OWNER},
        }))?,
    )
    .await?;
    wait_for(
        Duration::from_secs(10),
        "the reconciler resolves the session",
        || {
            let api = api.clone();
            async move {
                Ok(api.get(name).await?.state().map(|s| s.as_str()) == Some("PendingApproval"))
            }
        },
    )
    .await?;
    let now = jiff::Timestamp::now();
    let joined = now.to_string();
    let status = json!({
        "state": "Active",
        "startsAt": now.to_string(),
        "expiresAt": (now + jiff::SignedDuration::from_hours(1)).to_string(),
        "participants": [
            {"user": OWNER, "role": "owner", "joinedAt": joined},
            {"user": VIEWER, "role": "viewer", "joinedAt": joined},
        ],
        "resolvedTemplate": {"mode": "kubectl-debug", "kubectlDebug": policy()},
    });
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({ "status": status })),
    )
    .await?;
    Ok(())
}

/// Namespace `ns` on target-a (labelled for the webhook) with pod `web`, and RBAC that
/// lets every authenticated user read pods and patch ephemeral containers there.
async fn target_namespace(env: &TestEnv, ns: &str, id: &str) -> anyhow::Result<()> {
    let client = env.target_client(A).await?;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns, "labels": {LABEL: id}}}))?,
        )
        .await?;
    let pods: Api<Pod> = Api::namespaced(client, ns);
    pods.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
        }))?,
    )
    .await?;
    let rbac = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "debugger", "namespace": ns},
         "rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
            {"apiGroups": [""], "resources": ["pods/ephemeralcontainers"], "verbs": ["get", "patch", "update"]},
         ]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "debugger", "namespace": ns},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "debugger"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}]},
    ]});
    let file = work_dir().join(format!("admission-rbac-{id}.json"));
    std::fs::write(&file, rbac.to_string())?;
    let out = env
        .kubectl(A, None, &["apply", "-f", &file.display().to_string()])
        .await?;
    anyhow::ensure!(out.success(), "kubectl apply: {}", out.stderr);
    Ok(())
}

/// `kubectl debug web` in `ns` with `image` as container `name` (restricted profile:
/// non-root), authenticated by `token`, or by `kubeconfig` when given.
async fn debug(
    env: &TestEnv,
    ns: &str,
    token: Option<&str>,
    kubeconfig: Option<&std::path::Path>,
    name: &str,
    image: &str,
) -> anyhow::Result<(bool, String)> {
    let image = format!("--image={image}");
    let args = [
        "debug",
        "web",
        "-n",
        ns,
        &image,
        "-c",
        name,
        "--profile=restricted",
    ];
    if let Some(kc) = kubeconfig {
        let out = tokio::process::Command::new(env.kubectl_path())
            .arg(format!("--kubeconfig={}", kc.display()))
            .args(args)
            .env_remove("KUBECONFIG")
            .stdin(std::process::Stdio::null())
            .output()
            .await?;
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        return Ok((out.status.success(), text));
    }
    let out = env.kubectl(A, token, &args).await?;
    Ok((out.success(), out.stderr))
}

async fn ephemeral_names(env: &TestEnv, ns: &str) -> anyhow::Result<Vec<String>> {
    let pods: Api<Pod> = Api::namespaced(env.target_client(A).await?, ns);
    let pod = pods.get("web").await?;
    Ok(pod
        .spec
        .and_then(|s| s.ephemeral_containers)
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.name)
        .collect())
}

/// Which half of the scenario a test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Denials (no session, viewer, admin, disallowed image) and the trusted identity.
    Denials,
    /// The owner adds an allowed, non-root container.
    OwnerAllowed,
}

#[tokio::test]
async fn kubectl_debug_denials_and_trusted_identity() -> anyhow::Result<()> {
    run(Part::Denials).await
}

#[tokio::test]
async fn kubectl_debug_owner_with_allowed_image() -> anyhow::Result<()> {
    run(Part::OwnerAllowed).await
}

async fn run(part: Part) -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let shared = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "dbgadm").await?;
    let (server, tls_addr) = admission_server(&env, &fx.id).await?;
    let ns = format!("adm-{}", fx.id);
    let vwc = format!("breakglass-e2e-admission-{}", fx.id);
    let template = template(&env, &fx, &shared.url).await?;
    let session = format!("adm-{}", fx.id);
    active_session(&fx, &session, &template).await?;
    let result = async {
        target_namespace(&env, &ns, &fx.id).await?;
        env.register_ephemeral_admission(A, &vwc, tls_addr.parse()?, (LABEL, &fx.id))
            .await?;
        wait_effective(&env, &ns).await?;
        match part {
            Part::Denials => {
                denials(&env, &ns, &server).await?;
                direct_reviews(&env, &tls_addr).await
            }
            Part::OwnerAllowed => owner_allowed(&env, &ns, &server).await,
        }
    }
    .await;
    let _ = env.unregister_admission(A, &vwc).await;
    if let Ok(client) = env.target_client(A).await {
        let _ = Api::<Namespace>::all(client)
            .delete(&ns, &DeleteParams::background())
            .await;
    }
    let _ = Api::<DebugSessionTemplate>::all(fx.hub())
        .delete(&template, &DeleteParams::default())
        .await;
    let log = server.log_text();
    server.stop()?;
    fx.cleanup().await?;
    result.map_err(|e| e.context(format!("admission server log:\n{log}")))
}

/// The apiserver picks the configuration up within moments: waits until a dry-run
/// ephemeral container (nothing is stored) by the admin, who has no session, is denied
/// with our message.
async fn wait_effective(env: &TestEnv, ns: &str) -> anyhow::Result<()> {
    let pods: Api<Pod> = Api::namespaced(env.target_client(A).await?, ns);
    let patch = json!({"spec": {"ephemeralContainers": [{
        "name": "probe", "image": "busybox:1.36",
        "securityContext": {"runAsNonRoot": true},
    }]}});
    let dry_run = PatchParams {
        dry_run: true,
        ..PatchParams::default()
    };
    wait_for(Duration::from_secs(20), "the webhook answers", || {
        let (pods, patch, dry_run) = (pods.clone(), patch.clone(), dry_run.clone());
        async move {
            match pods
                .patch_subresource(
                    "ephemeralcontainers",
                    "web",
                    &dry_run,
                    &Patch::Strategic(patch),
                )
                .await
            {
                Ok(_) => Ok(false),
                Err(e) => Ok(e.to_string().contains("no active debug session")),
            }
        }
    })
    .await
}

async fn denials(env: &TestEnv, ns: &str, server: &ServerProcess) -> anyhow::Result<()> {
    let nobody = token(env, "nobody").await?;
    let (ok, err) = debug(env, ns, Some(&nobody), None, "dbg-nobody", "busybox:1.36").await?;
    assert!(!ok, "nobody was admitted");
    assert!(err.contains("denied the request"), "{err}");
    assert!(
        err.contains("\"nobody@example.com\" has no active debug session on cluster \"target-a\""),
        "{err}"
    );

    let viewer = token(env, "approver2").await?;
    let (ok, err) = debug(env, ns, Some(&viewer), None, "dbg-viewer", "busybox:1.36").await?;
    assert!(
        !ok && err.contains("no active debug session"),
        "viewer: {err}"
    );

    // A cluster admin (system:masters) without a session is denied too.
    let (ok, err) = debug(env, ns, None, None, "dbg-admin", "busybox:1.36").await?;
    assert!(
        !ok && err.contains("no active debug session"),
        "admin: {err}"
    );

    // The owner's session is checked: its policy refuses (here: image not allowed).
    let owner = token(env, "requester").await?;
    let (ok, err) = debug(env, ns, Some(&owner), None, "dbg-nginx", "nginx:1.27").await?;
    assert!(!ok, "a disallowed image was admitted");
    // The owner may hold other tests' sessions too: any of them names itself.
    assert!(err.contains("debug session adm-"), "{err}");
    assert!(
        err.contains("kubectlDebug.ephemeralContainers.allowedImages"),
        "{err}"
    );

    // The server's own identity (webhook.admissionTrustedUsers) passes.
    let hub_kc = env.run_dir().join(A).join("breakglass-hub.kubeconfig");
    let (ok, err) = debug(env, ns, None, Some(&hub_kc), "dbg-hub", "busybox:1.36").await?;
    assert!(ok, "trusted identity: {err}");

    let names = ephemeral_names(env, ns).await?;
    assert_eq!(names, ["dbg-hub"], "only admitted containers exist");
    assert!(
        server.log_text().contains("trusted user"),
        "trusted grant not logged"
    );
    Ok(())
}

async fn owner_allowed(env: &TestEnv, ns: &str, server: &ServerProcess) -> anyhow::Result<()> {
    let owner = token(env, "requester").await?;
    let (ok, err) = debug(env, ns, Some(&owner), None, "dbg-owner", "busybox:1.36").await?;
    assert!(ok, "owner with an allowed image: {err}");
    assert_eq!(ephemeral_names(env, ns).await?, ["dbg-owner"]);
    assert!(
        server
            .log_text()
            .contains("ephemeral container allowed by debug session"),
        "grant not logged"
    );
    Ok(())
}

/// Reviews posted straight to the HTTPS listener (verified with the environment's CA):
/// no cluster in the URL, an unknown cluster, a body that is not a review.
async fn direct_reviews(env: &TestEnv, tls_addr: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(env.ca_pem()?.as_bytes())?)
        .build()?;
    let review = json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "e2e-uid",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "subResource": "ephemeralcontainers",
            "name": "web", "namespace": "x", "operation": "UPDATE",
            "userInfo": {"username": "breakglass-hub"},
        }
    });
    let post = |path: &str, body: String| {
        http.post(format!("https://{tls_addr}{path}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for (path, expected) in [
        ("/validate-ephemeral-containers", "the cluster is required"),
        (
            "/validate-ephemeral-containers/no-such-cluster",
            "\"no-such-cluster\"",
        ),
    ] {
        let r: Value = post(path, review.to_string()).await?.json().await?;
        assert_eq!(r["response"]["uid"], "e2e-uid", "{path}: {r}");
        assert_eq!(r["response"]["allowed"], false, "{path}: {r}");
        let message = r["response"]["status"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(expected), "{path}: {r}");
    }
    let r: Value = post("/validate-ephemeral-containers/target-a", "{".to_owned())
        .await?
        .json()
        .await?;
    assert_eq!(r["response"]["allowed"], false, "{r}");
    // The REST API is not served on the HTTPS listener.
    let status = http
        .get(format!("https://{tls_addr}/api/debugSessions"))
        .send()
        .await?
        .status();
    assert_eq!(status, 404);
    Ok(())
}
