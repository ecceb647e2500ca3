//! End-to-end: deploying debug sessions on a target.
//!
//! The first half applies hand-written deploy plans with the server's own apply and
//! cleanup code against target-a (real apiserver, real RBAC, real impersonation): what
//! a plan does to the namespace, foreign objects, failure policies, impersonation and
//! removal, independent of how plans are rendered. The second half runs the real server
//! on templates: rendering, ordering, quotas, failMode, impersonated sessions.

use std::collections::BTreeMap;
use std::time::Duration;

use breakglass_api::common::FailMode;
use breakglass_api::debug_common::{
    AuxiliaryResourceFailurePolicy as Policy, ServiceAccountReference,
};
use breakglass_api::debug_session::DebugSession;
use breakglass_core::debug::deploy::{DeployPlan, KindInfo, NamespacePlan, PlannedObject, Source};
use breakglass_core::debug::workload;
use breakglass_server::debug::apply::{self, Applied, ApplyError, Target};
use breakglass_server::debug::{impersonation, target};
use breakglass_testenv::TestEnv;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{DeleteParams, DynamicObject, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};

use crate::support::*;

mod flows;
mod least;
mod sessions;

const TARGET: &str = "target-a";

static CONFIG_MAP: KindInfo = KindInfo {
    group: "",
    version: "v1",
    kind: "ConfigMap",
    plural: "configmaps",
    namespaced: true,
};
static DEPLOYMENT: KindInfo = KindInfo {
    group: "apps",
    version: "v1",
    kind: "Deployment",
    plural: "deployments",
    namespaced: true,
};
static BUDGET: KindInfo = KindInfo {
    group: "policy",
    version: "v1",
    kind: "PodDisruptionBudget",
    plural: "poddisruptionbudgets",
    namespaced: true,
};
static SERVICE: KindInfo = KindInfo {
    group: "",
    version: "v1",
    kind: "Service",
    plural: "services",
    namespaced: true,
};

/// A session object as the reconciler sees it (only its identity matters to apply).
fn session(name: &str) -> DebugSession {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "e2e-deploy"},
        "spec": {"cluster": TARGET, "templateRef": "tpl", "requestedBy": "requester@example.com"},
    }))
    .unwrap()
}

/// A planned object of `kind` carrying the session's labels.
fn object(
    s: &DebugSession,
    kind: &'static KindInfo,
    ns: &str,
    name: &str,
    body: Value,
    source: Source,
) -> PlannedObject {
    let mut object = json!({
        "apiVersion": kind.api_version(),
        "kind": kind.kind,
        "metadata": {"name": name, "namespace": ns, "labels": workload::session_labels(s)},
    });
    if let (Some(o), Some(b)) = (object.as_object_mut(), body.as_object()) {
        for (k, v) in b {
            o.insert(k.clone(), v.clone());
        }
    }
    PlannedObject {
        kind,
        name: name.to_owned(),
        namespace: Some(ns.to_owned()),
        object,
        source,
    }
}

fn aux(name: &str, policy: Policy) -> Source {
    Source::Auxiliary {
        name: name.to_owned(),
        category: Some("test".to_owned()),
        failure_policy: policy,
        delete_after: true,
    }
}

fn deployment(s: &DebugSession, ns: &str, name: &str) -> PlannedObject {
    let selector = workload::selector_labels(s);
    let labels = workload::session_labels(s);
    object(
        s,
        &DEPLOYMENT,
        ns,
        name,
        json!({"spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                {"name": "debug", "image": "busybox:stable", "command": ["sleep", "infinity"]}]}},
        }}),
        Source::Workload,
    )
}

fn plan(ns: &str, create: bool, objects: Vec<PlannedObject>) -> DeployPlan {
    DeployPlan {
        namespace: NamespacePlan {
            name: ns.to_owned(),
            create_if_missing: create,
            labels: BTreeMap::new(),
        },
        impersonate: None,
        fail_mode: FailMode::Closed,
        objects,
        warnings: Vec::new(),
        skipped: Vec::new(),
    }
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

async fn create_namespace(client: &Client, name: &str, labels: Value) -> anyhow::Result<()> {
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}}))?,
        )
        .await?;
    Ok(())
}

async fn drop_namespace(client: &Client, name: &str) {
    let _ = Api::<Namespace>::all(client.clone())
        .delete(name, &DeleteParams::background())
        .await;
}

/// A client of target-a acting as `user` (the admin may impersonate anyone).
async fn impersonating(env: &TestEnv, user: &str) -> anyhow::Result<Client> {
    let path = env.kubeconfig(TARGET)?;
    let kubeconfig = kube::config::Kubeconfig::read_from(&path)?;
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    config.auth_info.impersonate = Some(user.to_owned());
    Ok(Client::try_from(config)?)
}

async fn get(
    client: &Client,
    kind: &KindInfo,
    ns: &str,
    name: &str,
) -> anyhow::Result<Option<DynamicObject>> {
    Ok(apply::read(client, kind, Some(ns), name).await?)
}

/// Objects applied in plan order into a namespace the plan creates (with its labels
/// and the session's), recorded with uids and readiness, by server-side apply with our
/// field manager; applying again changes nothing; cleanup removes the namespace (and
/// everything in it) because it carries the session's labels.
#[tokio::test]
async fn a_plan_creates_its_namespace_applies_in_order_and_cleanup_removes_it() -> anyhow::Result<()>
{
    let Some(env) = env()? else { return Ok(()) };
    let client = env.target_client(TARGET).await?;
    let name = unique("dd-order");
    let s = session(&name);
    let ns = name.clone();
    let mut p = plan(
        &ns,
        true,
        vec![
            object(
                &s,
                &CONFIG_MAP,
                &ns,
                "settings",
                json!({"data": {"k": "v"}}),
                aux("settings", Policy::Fail),
            ),
            object(
                &s,
                &BUDGET,
                &ns,
                "budget",
                json!({"spec": {"minAvailable": 0, "selector": {"matchLabels": {"app": "none"}}}}),
                aux("budget", Policy::Fail),
            ),
            deployment(&s, &ns, &name),
        ],
    );
    p.namespace.labels = workload::session_labels(&s);
    p.namespace
        .labels
        .insert("team".to_owned(), "sre".to_owned());
    p.warnings.push("Target namespace defaulted".to_owned());
    let t = Target {
        cluster: TARGET,
        controller: &client,
        writer: &client,
        identity: None,
    };
    let mut applied = Applied::default();
    apply::apply(&t, &s, &p, &mut applied, jiff::Timestamp::now()).await?;

    let kinds: Vec<(&str, Option<&str>)> = applied
        .deployed
        .iter()
        .map(|d| (d.kind.as_str(), d.source.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Namespace", Some("namespace")),
            ("ConfigMap", Some("auxiliary:settings")),
            ("PodDisruptionBudget", Some("auxiliary:budget")),
            ("Deployment", Some("workload"))
        ]
    );
    // A budget is not ready until its controller has observed it (never at creation).
    let budget = &applied.auxiliary[1];
    assert_eq!(
        (budget.ready, budget.ready_status.as_deref()),
        (Some(false), Some("InProgress"))
    );
    assert!(applied.deployed.iter().all(|d| d.uid.is_some()));
    assert_eq!(applied.notes, ["Target namespace defaulted"]);
    let st = &applied.auxiliary[0];
    assert_eq!(
        (
            st.name.as_str(),
            st.kind.as_deref(),
            st.resource_name.as_deref(),
            st.created,
            st.ready,
            st.ready_status.as_deref()
        ),
        (
            "settings",
            Some("ConfigMap"),
            Some("settings"),
            Some(true),
            Some(true),
            Some("Current")
        )
    );

    let created = Api::<Namespace>::all(client.clone()).get(&ns).await?;
    let labels = created.metadata.labels.unwrap_or_default();
    assert_eq!(labels.get("team").map(String::as_str), Some("sre"));
    assert_eq!(
        labels.get("breakglass.telekom.com/debug-session"),
        Some(&name)
    );
    let cm = Api::<ConfigMap>::namespaced(client.clone(), &ns)
        .get("settings")
        .await?;
    let managed = cm.metadata.managed_fields.unwrap_or_default();
    assert!(
        managed
            .iter()
            .any(|m| m.manager.as_deref() == Some("breakglass")
                && m.operation.as_deref() == Some("Apply")),
        "{managed:?}"
    );
    let dep = get(&client, &DEPLOYMENT, &ns, &name).await?.unwrap();
    assert!(
        cm.metadata.creation_timestamp.unwrap().0 <= dep.metadata.creation_timestamp.unwrap().0
    );

    // Again (a lost status write): the same objects, nothing refused.
    let mut again = Applied::default();
    apply::apply(&t, &s, &p, &mut again, jiff::Timestamp::now()).await?;
    assert_eq!(again.deployed, applied.deployed[1..]);

    target::delete_labelled(&client, &workload::session_selector(&s)).await?;
    wait_for(
        Duration::from_secs(60),
        "the created namespace gone",
        || async {
            let left = Api::<Namespace>::all(client.clone()).get_opt(&ns).await?;
            Ok(left.is_none_or(|n| n.metadata.deletion_timestamp.is_some()))
        },
    )
    .await?;
    Ok(())
}

/// A namespace that exists is used and never touched: its labels stay, and cleanup
/// deletes the session's objects in it but not the namespace. A missing namespace
/// without createIfNotExists is an infrastructure failure naming it.
#[tokio::test]
async fn an_existing_namespace_is_used_untouched_and_survives_cleanup() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let client = env.target_client(TARGET).await?;
    let name = unique("dd-keep");
    let s = session(&name);
    let ns = name.clone();
    create_namespace(&client, &ns, json!({"owner": "someone-else"})).await?;
    let mut p = plan(&ns, true, vec![deployment(&s, &ns, &name)]);
    p.namespace.labels = workload::session_labels(&s);
    let t = Target {
        cluster: TARGET,
        controller: &client,
        writer: &client,
        identity: None,
    };
    let mut applied = Applied::default();
    apply::apply(&t, &s, &p, &mut applied, jiff::Timestamp::now()).await?;
    assert_eq!(
        applied.deployed.len(),
        1,
        "no namespace created: {:?}",
        applied.deployed
    );
    let labels = Api::<Namespace>::all(client.clone())
        .get(&ns)
        .await?
        .metadata
        .labels
        .unwrap_or_default();
    assert!(
        !labels.contains_key("breakglass.telekom.com/debug-session"),
        "{labels:?}"
    );

    target::delete_labelled(&client, &workload::session_selector(&s)).await?;
    assert!(
        get(&client, &DEPLOYMENT, &ns, &name)
            .await?
            .is_none_or(|d| d.metadata.deletion_timestamp.is_some())
    );
    let kept = Api::<Namespace>::all(client.clone()).get(&ns).await?;
    assert!(kept.metadata.deletion_timestamp.is_none());

    let missing = unique("dd-missing");
    let p = plan(&missing, false, vec![deployment(&s, &missing, &name)]);
    let err = apply::apply(&t, &s, &p, &mut Applied::default(), jiff::Timestamp::now())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ApplyError::Infra {
            message: format!("target namespace {missing} does not exist on cluster {TARGET}"),
            transient: false
        }
    );
    drop_namespace(&client, &ns).await;
    Ok(())
}

/// An object of the plan's name that exists without the session's labels is never
/// applied over: the session is refused naming it (and with `ignore`, the auxiliary
/// resource records the error and the rest goes on). An object the apiserver rejects
/// (invalid) follows the failure policy: ignore → recorded, warn → recorded and noted,
/// fail → refused naming the resource.
#[tokio::test]
async fn foreign_and_invalid_objects_follow_the_failure_policy() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let client = env.target_client(TARGET).await?;
    let name = unique("dd-policy");
    let s = session(&name);
    let ns = name.clone();
    create_namespace(&client, &ns, json!({})).await?;
    Api::<ConfigMap>::namespaced(client.clone(), &ns)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "theirs"}, "data": {"a": "b"}}))?,
        )
        .await?;
    let t = Target {
        cluster: TARGET,
        controller: &client,
        writer: &client,
        identity: None,
    };
    let foreign = |policy| {
        object(
            &s,
            &CONFIG_MAP,
            &ns,
            "theirs",
            json!({"data": {"a": "ours"}}),
            aux("theirs", policy),
        )
    };
    // Port 0 is invalid: the apiserver answers 422.
    let invalid = |policy| {
        object(
            &s,
            &SERVICE,
            &ns,
            "bad",
            json!({"spec": {"ports": [{"port": 0}]}}),
            aux("bad", policy),
        )
    };

    let err = apply::apply(
        &t,
        &s,
        &plan(&ns, false, vec![foreign(Policy::Fail)]),
        &mut Applied::default(),
        jiff::Timestamp::now(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        ApplyError::Refused(format!(
            "auxiliary resource theirs: ConfigMap {ns}/theirs already exists and does not belong to this session"
        ))
    );
    let theirs = Api::<ConfigMap>::namespaced(client.clone(), &ns)
        .get("theirs")
        .await?;
    assert_eq!(
        theirs.data.unwrap_or_default().get("a").map(String::as_str),
        Some("b"),
        "never applied over"
    );

    let mut applied = Applied::default();
    let p = plan(
        &ns,
        false,
        vec![
            foreign(Policy::Ignore),
            invalid(Policy::Warn),
            deployment(&s, &ns, &name),
        ],
    );
    apply::apply(&t, &s, &p, &mut applied, jiff::Timestamp::now()).await?;
    let errors: Vec<(&str, Option<bool>, bool)> = applied
        .auxiliary
        .iter()
        .map(|a| (a.name.as_str(), a.created, a.error.is_some()))
        .collect();
    assert_eq!(
        errors,
        [("theirs", Some(false), true), ("bad", Some(false), true)]
    );
    assert_eq!(
        applied.notes.len(),
        1,
        "only warn is noted: {:?}",
        applied.notes
    );
    assert!(
        applied.notes[0].starts_with("auxiliary resource bad failed:")
            && applied.notes[0].contains("Invalid"),
        "{:?}",
        applied.notes
    );
    assert_eq!(applied.deployed.len(), 1, "the workload still deployed");

    let err = apply::apply(
        &t,
        &s,
        &plan(&ns, false, vec![invalid(Policy::Fail)]),
        &mut Applied::default(),
        jiff::Timestamp::now(),
    )
    .await
    .unwrap_err();
    let ApplyError::Refused(m) = err else {
        panic!("{err:?}")
    };
    assert!(
        m.starts_with("auxiliary resource bad: applying Service bad:"),
        "{m}"
    );
    drop_namespace(&client, &ns).await;
    Ok(())
}

/// Impersonation: a missing ServiceAccount is refused naming it; a ServiceAccount
/// without rights is refused with the apiserver's own words about that account (the
/// proof that the write was made as the account: the admin controller could have
/// made it); with rights in the namespace the plan applies, by our field manager.
#[tokio::test]
async fn impersonated_writes_are_made_as_the_service_account() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let client = env.target_client(TARGET).await?;
    let name = unique("dd-imp");
    let s = session(&name);
    let ns = name.clone();
    create_namespace(&client, &ns, json!({})).await?;
    let sa = ServiceAccountReference {
        name: "deployer".to_owned(),
        namespace: ns.clone(),
    };
    let err = impersonation::require_service_account(&client, &sa, TARGET)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ApplyError::Refused(format!(
            "impersonation: ServiceAccount {ns}/deployer not found on cluster {TARGET}"
        ))
    );

    let objects: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &target::api_resource(&CONFIG_MAP));
    let apply_admin = |doc: Value| {
        let client = client.clone();
        let ns = ns.clone();
        async move {
            let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
            let plural = match kind.as_str() {
                "ServiceAccount" => "serviceaccounts",
                "Role" => "roles",
                _ => "rolebindings",
            };
            let group = if kind == "ServiceAccount" {
                ""
            } else {
                "rbac.authorization.k8s.io"
            };
            let ar = kube::api::ApiResource::from_gvk_with_plural(
                &kube::api::GroupVersionKind::gvk(group, "v1", &kind),
                plural,
            );
            Api::<DynamicObject>::namespaced_with(client, &ns, &ar)
                .patch(
                    doc["metadata"]["name"].as_str().unwrap_or_default(),
                    &kube::api::PatchParams::apply("e2e"),
                    &kube::api::Patch::Apply(&doc),
                )
                .await
                .map(|_| ())
        }
    };
    apply_admin(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer", "namespace": ns}})).await?;
    impersonation::require_service_account(&client, &sa, TARGET).await?;

    let user = impersonation::user_name(&sa);
    let writer = impersonating(&env, &user).await?;
    let t = Target {
        cluster: TARGET,
        controller: &client,
        writer: &writer,
        identity: Some(&user),
    };
    let p = plan(
        &ns,
        false,
        vec![
            object(
                &s,
                &CONFIG_MAP,
                &ns,
                "settings",
                json!({"data": {"k": "v"}}),
                aux("settings", Policy::Fail),
            ),
            deployment(&s, &ns, &name),
        ],
    );
    let err = apply::apply(&t, &s, &p, &mut Applied::default(), jiff::Timestamp::now())
        .await
        .unwrap_err();
    let ApplyError::Refused(m) = err else {
        panic!("{err:?}")
    };
    assert!(
        m.starts_with(&format!(
            "auxiliary resource settings: impersonation: {user} may not create ConfigMap in {ns}: "
        )) && m.contains(&format!("User \"{user}\" cannot")),
        "{m}"
    );
    assert!(objects.get_opt("settings").await?.is_none());

    apply_admin(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "deployer", "namespace": ns},
        "rules": [{"apiGroups": ["", "apps"], "resources": ["configmaps", "deployments"], "verbs": ["create", "patch"]}]})).await?;
    apply_admin(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "deployer", "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}]})).await?;
    // RBAC changes take effect at once on a single apiserver; retry briefly anyway.
    let mut applied = Applied::default();
    for attempt in 0.. {
        applied = Applied::default();
        match apply::apply(&t, &s, &p, &mut applied, jiff::Timestamp::now()).await {
            Ok(()) => break,
            Err(e) if attempt < 10 => {
                note(&format!("not yet: {e}"));
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => anyhow::bail!("the account with rights is still refused: {e}"),
        }
    }
    assert_eq!(applied.deployed.len(), 2);
    let cm = objects.get("settings").await?;
    // The managed fields name the account whose rights made the write.
    let managed = cm.metadata.managed_fields.unwrap_or_default();
    let manager = format!("breakglass as {user}");
    assert!(
        managed
            .iter()
            .any(|m| m.manager.as_deref() == Some(manager.as_str())
                && m.operation.as_deref() == Some("Apply")),
        "{managed:?}"
    );

    // The same account elsewhere (no rights there) is refused: the write is the account's.
    let other = unique("dd-imp-other");
    create_namespace(&client, &other, json!({})).await?;
    let p = plan(&other, false, vec![deployment(&s, &other, &name)]);
    let err = apply::apply(&t, &s, &p, &mut Applied::default(), jiff::Timestamp::now())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApplyError::Refused(m) if m.starts_with(&format!("impersonation: {user} may not create Deployment in {other}: "))),
        "{err:?}"
    );
    drop_namespace(&client, &other).await;
    drop_namespace(&client, &ns).await;
    Ok(())
}
