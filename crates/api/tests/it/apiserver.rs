//! The manifests against the hub's kube-apiserver of the test environment: the CRDs install,
//! every sample validates, the CEL rules reject what they should and defaults are applied.
//! Skipped (with a message) when the environment is not up and `BREAKGLASS_SKIP_TESTENV=1`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use breakglass_api::crds;
use breakglass_testenv::TestEnv;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use serde_json::{Value, json};

use crate::sample_documents;

const MANAGER: &str = "breakglass-api-tests";
const NAMESPACE: &str = "breakglass-system";

/// Installs the generated CRDs and waits until they are served.
async fn install_crds(client: &kube::Client) -> anyhow::Result<BTreeMap<String, (String, bool)>> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut kinds = BTreeMap::new();
    for crd in crds::all() {
        let name = crd.metadata.name.clone().context("CRD name")?;
        api.patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await
        .with_context(|| format!("applying {name}"))?;
        kinds.insert(
            crd.spec.names.kind.clone(),
            (
                crd.spec.names.plural.clone(),
                crd.spec.scope == "Namespaced",
            ),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for crd in crds::all() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        loop {
            let current = api.get(&name).await?;
            let conditions = current
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default();
            if let Some(c) = conditions.iter().find(|c| c.type_ == "NonStructuralSchema") {
                bail!("{name} is not structural: {:?}", c.message);
            }
            if conditions
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
            {
                break;
            }
            if Instant::now() > deadline {
                bail!("{name} not established: {conditions:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if namespaces.get_opt(NAMESPACE).await?.is_none() {
        let ns = serde_json::from_value(json!({"metadata": {"name": NAMESPACE}}))?;
        namespaces.create(&PostParams::default(), &ns).await?;
    }
    Ok(kinds)
}

fn api_for(
    client: &kube::Client,
    kinds: &BTreeMap<String, (String, bool)>,
    doc: &Value,
) -> anyhow::Result<Api<DynamicObject>> {
    let kind = doc["kind"].as_str().context("kind")?;
    let (plural, namespaced) = kinds
        .get(kind)
        .with_context(|| format!("unknown kind {kind}"))?;
    let gvk = GroupVersionKind::gvk(breakglass_api::GROUP, breakglass_api::VERSION, kind);
    let resource = ApiResource::from_gvk_with_plural(&gvk, plural);
    Ok(if *namespaced {
        Api::namespaced_with(client.clone(), NAMESPACE, &resource)
    } else {
        Api::all_with(client.clone(), &resource)
    })
}

async fn dry_run_create(
    client: &kube::Client,
    kinds: &BTreeMap<String, (String, bool)>,
    doc: &Value,
) -> Result<DynamicObject, kube::Error> {
    let api = api_for(client, kinds, doc).map_err(|e| kube::Error::Service(e.into()))?;
    let obj: DynamicObject =
        serde_json::from_value(doc.clone()).map_err(kube::Error::SerdeError)?;
    api.create(
        &PostParams {
            dry_run: true,
            ..Default::default()
        },
        &obj,
    )
    .await
}

fn object(kind: &str, spec: Value) -> Value {
    json!({
        "apiVersion": breakglass_api::API_VERSION,
        "kind": kind,
        "metadata": {"name": "api-test", "namespace": NAMESPACE},
        "spec": spec,
    })
}

#[tokio::test]
async fn manifests_against_a_real_apiserver() -> anyhow::Result<()> {
    let Some(env) = TestEnv::get()? else {
        return Ok(());
    };
    let client = env.hub_client().await?;
    let kinds = install_crds(&client).await?;

    for (file, doc) in sample_documents() {
        let api = api_for(&client, &kinds, &doc)?;
        let name = doc["metadata"]["name"].as_str().context("name")?;
        let mut params = PatchParams::apply(MANAGER).force();
        params.dry_run = true;
        api.patch(name, &params, &Patch::Apply(&doc))
            .await
            .with_context(|| format!("{file}: {name} is rejected"))?;
    }

    let rejected: &[(&str, Value, &str)] = &[
        (
            "BreakglassEscalation",
            json!({"escalatedGroup": "g", "approvers": {}}),
            "at least one approver",
        ),
        (
            "BreakglassEscalation",
            json!({"escalatedGroup": "g", "approvers": {"users": ["a@example.com"]}, "blockSelfApproval": true}),
            "requires at least one approver group",
        ),
        (
            "BreakglassEscalation",
            json!({"escalatedGroup": "g", "approvers": {"groups": ["x"], "hiddenFromUI": ["g"]}, "blockSelfApproval": true}),
            "must not be listed",
        ),
        (
            "BreakglassEscalation",
            json!({"escalatedGroup": "g", "approvers": {"groups": ["x"]}, "allowedIdentityProviders": ["a"], "allowedIdentityProvidersForRequests": ["a"], "allowedIdentityProvidersForApprovers": ["a"]}),
            "cannot be combined",
        ),
        (
            "BreakglassEscalation",
            json!({"escalatedGroup": "g", "approvers": {"groups": ["x"]}, "allowedIdentityProvidersForApprovers": ["a"]}),
            "must be set together",
        ),
        (
            "BreakglassEscalation",
            json!({"escalatedGroup": "a b", "approvers": {"groups": ["x"]}}),
            "should match",
        ),
        (
            "BreakglassSession",
            json!({"cluster": "c", "user": "u", "grantedGroup": "g", "maxValidFor": "1 hour"}),
            "should match",
        ),
        ("DenyPolicy", json!({"rules": []}), "at least one of rules"),
        (
            "DenyPolicy",
            json!({"impersonationRules": [{"identities": ["a"], "actionVerbs": ["get"]}]}),
            "cannot be combined",
        ),
        (
            "DebugSessionTemplate",
            json!({"impersonation": {"groups": ["system:masters"]}}),
            "system:masters",
        ),
        (
            "DebugSessionTemplate",
            json!({"impersonation": {"mode": "serviceaccount", "userName": "system:serviceaccount:a:b", "uid": "1"}}),
            "user name only",
        ),
        (
            "DebugSessionTemplate",
            json!({"impersonation": {"mode": "user-info", "userName": "system:node:n1"}}),
            "cannot target",
        ),
        (
            "DebugSessionTemplate",
            json!({"impersonation": {"mode": "arbitrary-node", "userName": "system:node:Bad_Node"}}),
            "DNS subdomain",
        ),
        (
            "DebugSessionTemplate",
            json!({"impersonation": {"mode": "associated-node"}}),
            "associated-node",
        ),
        (
            "DebugSessionClusterBinding",
            json!({"impersonation": {"mode": "associated-node"}}),
            "associated-node",
        ),
        (
            "DebugSessionTemplate",
            json!({"mode": "interactive"}),
            "Unsupported value",
        ),
        (
            "MailProvider",
            json!({"smtp": {"host": "h", "port": 0}, "sender": {"address": "a@example.com"}}),
            "greater than or equal to 1",
        ),
    ];
    for (kind, spec, message) in rejected {
        let doc = object(kind, spec.clone());
        match dry_run_create(&client, &kinds, &doc).await {
            Ok(_) => bail!("{kind} {spec} was accepted"),
            Err(e) => anyhow::ensure!(e.to_string().contains(message), "{kind} {spec}: {e}"),
        }
    }

    let accepted: &[(&str, Value)] = &[
        (
            "DebugSessionTemplate",
            json!({"impersonation": {"mode": "arbitrary-node", "userName": "system:node:worker-1.example.com"}}),
        ),
        ("DenyPolicy", json!({"podSecurityRules": {}})),
    ];
    for (kind, spec) in accepted {
        dry_run_create(&client, &kinds, &object(kind, spec.clone()))
            .await
            .with_context(|| format!("{kind} {spec}"))?;
    }

    let defaulted: &[(&str, Value, &str, Value)] = &[
        (
            "BreakglassEscalation",
            json!({"escalatedGroup": "g", "approvers": {"groups": ["x"]}}),
            "/spec/maxValidFor",
            json!("1h"),
        ),
        (
            "BreakglassEscalation",
            json!({"escalatedGroup": "g", "approvers": {"groups": ["x"]}}),
            "/spec/approvalTimeout",
            json!("1h"),
        ),
        (
            "BreakglassSession",
            json!({"cluster": "c", "user": "u", "grantedGroup": "g"}),
            "/spec/retainFor",
            json!("720h"),
        ),
        (
            "ClusterConfig",
            json!({"kubeconfigSecretRef": {"name": "k", "namespace": NAMESPACE}}),
            "/spec/kubeconfigSecretRef/key",
            json!("value"),
        ),
        (
            "ClusterConfig",
            json!({}),
            "/spec/authType",
            json!("Kubeconfig"),
        ),
        (
            "DebugSessionTemplate",
            json!({}),
            "/spec/mode",
            json!("workload"),
        ),
        (
            "DebugSessionTemplate",
            json!({"constraints": {}}),
            "/spec/constraints/maxDuration",
            json!("4h"),
        ),
        (
            "DebugSessionTemplate",
            json!({"allowedPodOperations": {}}),
            "/spec/allowedPodOperations",
            json!({"exec": true, "attach": true, "logs": false, "portForward": true}),
        ),
        (
            "DebugSessionClusterBinding",
            json!({"constraints": {"maxRenewals": 1}}),
            "/spec/constraints",
            json!({"maxRenewals": 1}),
        ),
        (
            "DenyPolicy",
            json!({"podSecurityRules": {"appliesTo": {}}}),
            "/spec/podSecurityRules/appliesTo/subresources",
            json!(["exec", "attach", "portforward"]),
        ),
    ];
    for (kind, spec, pointer, want) in defaulted {
        let created = dry_run_create(&client, &kinds, &object(kind, spec.clone()))
            .await
            .with_context(|| format!("{kind} {spec}"))?;
        let got = serde_json::to_value(&created)?;
        anyhow::ensure!(
            got.pointer(pointer) == Some(want),
            "{kind} {spec}: {pointer} is {:?}",
            got.pointer(pointer)
        );
    }
    Ok(())
}
