//! Sessions deployed by the real server: templates on the hub, DebugSessions created
//! as the REST create writes them (spec only), the leader's reconciler planning and
//! applying on target-a, and cleaning up when the session ends.

use std::collections::BTreeMap;
use std::time::Duration;

use breakglass_api::debug_session::DebugSession;
use breakglass_testenv::TestEnv;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
    PostParams,
};
use kube::{Api, Client};
use serde_json::{Value, json};

use crate::support::*;

const TARGET: &str = "target-a";
const SESSION_LABEL: &str = "breakglass.telekom.com/debug-session";
const GROUP: &str = "breakglass.t-caas.telekom.com";

/// Kinds a session may leave on the target (checked independently of the server's list).
const KINDS: &[(&str, &str, &str)] = &[
    ("", "Pod", "pods"),
    ("apps", "DaemonSet", "daemonsets"),
    ("apps", "Deployment", "deployments"),
    ("", "ConfigMap", "configmaps"),
    ("", "Secret", "secrets"),
    ("", "Service", "services"),
    ("", "ServiceAccount", "serviceaccounts"),
    ("", "ResourceQuota", "resourcequotas"),
    ("networking.k8s.io", "NetworkPolicy", "networkpolicies"),
    ("policy", "PodDisruptionBudget", "poddisruptionbudgets"),
    ("rbac.authorization.k8s.io", "Role", "roles"),
    ("rbac.authorization.k8s.io", "RoleBinding", "rolebindings"),
];

fn resource(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural)
}

/// Per-test objects: a hub namespace for sessions, a target namespace, and
/// cluster-scoped templates named after the test.
pub(super) struct Deploy {
    fx: Fixture,
    pub(super) target: Client,
    pub(super) ns: String,
    templates: Vec<(&'static str, String)>,
    namespaces: Vec<String>,
}

impl Deploy {
    pub(super) async fn new(env: &TestEnv, prefix: &str) -> anyhow::Result<Self> {
        let fx = Fixture::new(env, prefix).await?;
        let target = env.target_client(TARGET).await?;
        let ns = format!("dd-{prefix}-{}", fx.id);
        let mut d = Self {
            fx,
            target,
            ns: ns.clone(),
            templates: Vec::new(),
            namespaces: Vec::new(),
        };
        d.namespace(&ns, json!({})).await?;
        Ok(d)
    }

    pub(super) fn id(&self) -> &str {
        &self.fx.id
    }

    /// Creates a namespace on the target, removed at cleanup.
    pub(super) async fn namespace(&mut self, name: &str, labels: Value) -> anyhow::Result<()> {
        Api::<Namespace>::all(self.target.clone())
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}}))?,
            )
            .await?;
        self.namespaces.push(name.to_owned());
        Ok(())
    }

    /// Removes `name` on the target at cleanup.
    pub(super) fn namespace_to_remove(&mut self, name: &str) {
        self.namespaces.push(name.to_owned());
    }

    async fn create(&mut self, kind: &'static str, name: &str, spec: Value) -> anyhow::Result<()> {
        let plural = match kind {
            "DebugPodTemplate" => "debugpodtemplates",
            _ => "debugsessiontemplates",
        };
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(GROUP, "v1alpha1", kind),
            plural,
        );
        let api: Api<DynamicObject> = Api::all_with(self.fx.hub(), &ar);
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": format!("{GROUP}/v1alpha1"), "kind": kind,
            "metadata": {"name": name}, "spec": spec,
        }))?;
        api.create(&PostParams::default(), &obj).await?;
        self.templates.push((kind, name.to_owned()));
        Ok(())
    }

    /// A pod template (`pod`: its spec) and a session template deploying it into the
    /// test's namespace (`extra` merged into the session template's spec). Returns the
    /// session template's name.
    pub(super) async fn templates(
        &mut self,
        tag: &str,
        pod: Value,
        extra: Value,
    ) -> anyhow::Result<String> {
        let name = format!("dd-{tag}-{}", self.fx.id);
        self.create(
            "DebugPodTemplate",
            &name,
            with(json!({"displayName": tag}), pod),
        )
        .await?;
        let spec = with(
            json!({
                "podTemplateRef": {"name": name},
                "targetNamespace": self.ns,
                "allowed": {"clusters": [TARGET], "groups": ["developers"]},
            }),
            extra,
        );
        self.create("DebugSessionTemplate", &name, spec).await?;
        // The server must have seen the template before a session names it.
        let hub = self.fx.hub();
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(GROUP, "v1alpha1", "DebugSessionTemplate"),
            "debugsessiontemplates",
        );
        let api: Api<DynamicObject> = Api::all_with(hub, &ar);
        wait_for(Duration::from_secs(10), "template stored", || async {
            Ok(api.get_opt(&name).await?.is_some())
        })
        .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(name)
    }

    /// Creates a DebugSession as the REST create does (spec only).
    pub(super) async fn session(
        &self,
        tag: &str,
        template: &str,
        extra: Value,
    ) -> anyhow::Result<String> {
        let name = format!("{tag}-{}", self.fx.id);
        let spec = with(
            json!({
                "cluster": TARGET, "templateRef": template,
                "requestedBy": "requester@example.com", "userGroups": ["developers"],
            }),
            extra,
        );
        let s: DebugSession = serde_json::from_value(json!({
            "apiVersion": format!("{GROUP}/v1alpha1"), "kind": "DebugSession",
            "metadata": {"name": name, "namespace": self.fx.ns}, "spec": spec,
        }))?;
        self.sessions().create(&PostParams::default(), &s).await?;
        Ok(name)
    }

    pub(super) fn sessions(&self) -> Api<DebugSession> {
        Api::namespaced(self.fx.hub(), &self.fx.ns)
    }

    /// Waits for `state`; an unexpected end state fails at once with the session's message.
    pub(super) async fn wait_state(&self, name: &str, state: &str) -> anyhow::Result<DebugSession> {
        let api = self.sessions();
        wait_for(
            Duration::from_secs(40),
            &format!("debug session {name} {state}"),
            || async {
                let s = api.get(name).await?;
                let now = s
                    .status
                    .as_ref()
                    .and_then(|st| st.state)
                    .map(|st| st.to_string());
                let settled = now
                    .as_deref()
                    .is_some_and(|n| !matches!(n, "Pending" | "PendingApproval"));
                if now.as_deref() != Some(state) && settled {
                    anyhow::bail!(
                        "session {name} is {now:?}, not {state}: {:?}",
                        s.status.as_ref().and_then(|st| st.message.clone())
                    );
                }
                Ok(now.as_deref() == Some(state))
            },
        )
        .await?;
        Ok(api.get(name).await?)
    }

    pub(super) async fn terminate(&self, name: &str) -> anyhow::Result<()> {
        self.sessions()
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(
                    &json!({"status": {"state": "Terminated", "message": "Terminated by test"}}),
                ),
            )
            .await?;
        Ok(())
    }

    /// Objects of the session on the target, as `Kind/namespace/name`, over [`KINDS`]
    /// (namespaces too); objects being deleted count as gone.
    pub(super) async fn labelled(&self, session: &str) -> anyhow::Result<Vec<String>> {
        let lp = ListParams::default().labels(&format!("{SESSION_LABEL}={session}"));
        let mut out = Vec::new();
        for (group, kind, plural) in KINDS {
            let api: Api<DynamicObject> =
                Api::all_with(self.target.clone(), &resource(group, kind, plural));
            for o in api.list_metadata(&lp).await?.items {
                if o.metadata.deletion_timestamp.is_none() {
                    let ns = o.metadata.namespace.unwrap_or_default();
                    out.push(format!(
                        "{kind}/{ns}/{}",
                        o.metadata.name.unwrap_or_default()
                    ));
                }
            }
        }
        for n in Api::<Namespace>::all(self.target.clone())
            .list_metadata(&lp)
            .await?
            .items
        {
            if n.metadata.deletion_timestamp.is_none() {
                out.push(format!("Namespace/{}", n.metadata.name.unwrap_or_default()));
            }
        }
        Ok(out)
    }

    pub(super) async fn wait_clean(&self, session: &str) -> anyhow::Result<()> {
        wait_for(
            Duration::from_secs(20),
            &format!("nothing of {session} left"),
            || async {
                let left = self.labelled(session).await?;
                if !left.is_empty() {
                    note(&format!("left: {left:?}"));
                }
                Ok(left.is_empty())
            },
        )
        .await
    }

    /// One object of the session of `kind` in the test's namespace.
    pub(super) async fn one(&self, session: &str, kind: &str) -> anyhow::Result<Value> {
        let (group, _, plural) = KINDS
            .iter()
            .find(|(_, k, _)| *k == kind)
            .ok_or_else(|| anyhow::anyhow!("unknown kind {kind}"))?;
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.target.clone(),
            &self.ns,
            &resource(group, kind, plural),
        );
        let lp = ListParams::default().labels(&format!("{SESSION_LABEL}={session}"));
        let items = api.list(&lp).await?.items;
        anyhow::ensure!(items.len() == 1, "{} {kind}s of {session}", items.len());
        Ok(serde_json::to_value(&items[0])?)
    }

    /// The earliest creation time of the session's pods (waits for one).
    pub(super) async fn first_pod_created(&self, session: &str) -> anyhow::Result<jiff::Timestamp> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.target.clone(), &self.ns, &resource("", "Pod", "pods"));
        let lp = ListParams::default().labels(&format!("{SESSION_LABEL}={session}"));
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let first = api
                .list_metadata(&lp)
                .await?
                .items
                .iter()
                .filter_map(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0))
                .min();
            if let Some(t) = first {
                return Ok(t);
            }
            anyhow::ensure!(std::time::Instant::now() < deadline, "no pod of {session}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub(super) async fn cleanup(self) -> anyhow::Result<()> {
        let hub = self.fx.hub();
        for (kind, name) in &self.templates {
            let plural = if *kind == "DebugPodTemplate" {
                "debugpodtemplates"
            } else {
                "debugsessiontemplates"
            };
            let ar = ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk(GROUP, "v1alpha1", kind),
                plural,
            );
            let _ = Api::<DynamicObject>::all_with(hub.clone(), &ar)
                .delete(name, &DeleteParams::default())
                .await;
        }
        for ns in &self.namespaces {
            let _ = Api::<Namespace>::all(self.target.clone())
                .delete(ns, &DeleteParams::background())
                .await;
        }
        self.fx.cleanup().await
    }
}

/// `metadata.creationTimestamp` of an object as JSON.
pub(super) fn created(o: &Value) -> jiff::Timestamp {
    o.pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(|t| t.parse().ok())
        .unwrap_or_default()
}

/// A structured pod spec with resources (passes request enforcement).
pub(super) fn busybox() -> Value {
    json!({"template": {"spec": {"containers": [{
        "name": "debug", "image": "busybox:stable", "command": ["sleep", "infinity"],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
    }]}}})
}

/// An auxiliary resource of category `category`: the structured object `template`.
pub(super) fn aux(name: &str, category: &str, template: Value, policy: &str) -> Value {
    json!({"name": name, "category": category, "template": template, "failurePolicy": policy})
}

pub(super) fn labels_of(o: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(o.pointer("/metadata/labels").cloned().unwrap_or_default())
        .unwrap_or_default()
}
