//! The hub: CRDs, samples, and the objects that let the server reach the targets.

use std::collections::{BTreeMap, BTreeSet};

use breakglass_testenv::harness::setup::{CRD_GROUP, read_manifests};
use breakglass_testenv::layout::{KUBECONFIG_SECRET_KEY, SYSTEM_NAMESPACE, repo_root};
use k8s_openapi::api::core::v1::{Node, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use crate::{delete_namespace, env, namespace};

/// The breakglass CRDs the hub serves, by kind: (plural, namespaced, versions).
async fn served_crds(
    client: &kube::Client,
) -> anyhow::Result<BTreeMap<String, (String, bool, Vec<String>)>> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut out = BTreeMap::new();
    for crd in crds.list(&ListParams::default()).await? {
        if crd.spec.group != CRD_GROUP {
            continue;
        }
        let established = crd
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            });
        assert!(established, "CRD {:?} not Established", crd.metadata.name);
        let versions = crd
            .spec
            .versions
            .iter()
            .filter(|v| v.served)
            .map(|v| v.name.clone())
            .collect();
        out.insert(
            crd.spec.names.kind.clone(),
            (
                crd.spec.names.plural.clone(),
                crd.spec.scope == "Namespaced",
                versions,
            ),
        );
    }
    Ok(out)
}

#[tokio::test]
async fn crds_are_served_and_every_sample_is_accepted() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let client = env.hub_client().await?;
    let served = served_crds(&client).await?;

    let crd_dir = repo_root().join("config").join("crd");
    let expected: BTreeSet<String> = read_manifests(&crd_dir)?
        .into_iter()
        .filter(|(_, d)| d["kind"] == "CustomResourceDefinition")
        .filter_map(|(_, d)| d.pointer("/spec/names/kind")?.as_str().map(str::to_owned))
        .collect();
    assert!(!expected.is_empty(), "no CRDs in {}", crd_dir.display());
    for kind in &expected {
        assert!(
            served.contains_key(kind),
            "CRD for {kind} is not served by the hub"
        );
    }

    let samples_dir = repo_root().join("config").join("samples");
    let samples = read_manifests(&samples_dir)?;
    assert!(
        !samples.is_empty(),
        "no samples in {}: every CRD kind needs one",
        samples_dir.display()
    );

    let ns = namespace(&client, "smoke-samples").await?;
    let mut covered = BTreeSet::new();
    let mut failures = Vec::new();
    for (file, mut doc) in samples {
        let api_version = doc["apiVersion"].as_str().unwrap_or_default().to_owned();
        let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
        let name = doc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let (group, version) = api_version
            .split_once('/')
            .map_or((String::new(), api_version.clone()), |(g, v)| {
                (g.to_owned(), v.to_owned())
            });
        let gvk = GroupVersionKind::gvk(&group, &version, &kind);
        let (ar, namespaced) = match served.get(&kind).filter(|_| group == CRD_GROUP) {
            Some((plural, namespaced, _)) => {
                (ApiResource::from_gvk_with_plural(&gvk, plural), *namespaced)
            }
            None => match kube::discovery::pinned_kind(&client, &gvk).await {
                Ok((ar, caps)) => (ar, caps.scope == kube::discovery::Scope::Namespaced),
                Err(e) => {
                    failures.push(format!("{file}: {api_version} {kind} {name}: {e}"));
                    continue;
                }
            },
        };
        let api: Api<DynamicObject> = if namespaced {
            doc["metadata"]["namespace"] = Value::String(ns.clone());
            Api::namespaced_with(client.clone(), &ns, &ar)
        } else {
            Api::all_with(client.clone(), &ar)
        };
        let obj: DynamicObject = serde_json::from_value(doc)?;
        let params = PostParams {
            dry_run: true,
            ..PostParams::default()
        };
        match api.create(&params, &obj).await {
            Ok(_) => {
                covered.insert(kind);
            }
            Err(e) => failures.push(format!("{file}: {kind} {name} rejected: {e}")),
        }
    }
    delete_namespace(&client, &ns).await;
    assert!(
        failures.is_empty(),
        "samples rejected by the hub:\n{}",
        failures.join("\n")
    );
    let missing: Vec<&String> = expected.iter().filter(|k| !covered.contains(*k)).collect();
    assert!(
        missing.is_empty(),
        "kinds without a sample in config/samples/: {missing:?}"
    );
    Ok(())
}

#[tokio::test]
async fn hub_has_cluster_configs_with_working_kubeconfigs() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let hub = env.hub_client().await?;
    let secrets: Api<Secret> = Api::namespaced(hub.clone(), SYSTEM_NAMESPACE);
    let gvk = GroupVersionKind::gvk(CRD_GROUP, "v1alpha1", "ClusterConfig");
    let ccs: Api<DynamicObject> = Api::namespaced_with(
        hub.clone(),
        SYSTEM_NAMESPACE,
        &ApiResource::from_gvk_with_plural(&gvk, "clusterconfigs"),
    );
    for target in env.targets() {
        let cc = ccs.get(target).await?;
        let reference = &cc.data["spec"]["kubeconfigSecretRef"];
        assert_eq!(cc.data["spec"]["clusterID"], Value::from(target));
        let secret_name = reference["name"].as_str().expect("secret name");
        let key = reference["key"].as_str().unwrap_or(KUBECONFIG_SECRET_KEY);
        let secret = secrets.get(secret_name).await?;
        let data = secret
            .data
            .and_then(|d| d.get(key).cloned())
            .expect("kubeconfig in the secret");
        let kubeconfig = String::from_utf8(data.0)?;
        // The kubeconfig reaches the target as the hub's identity.
        let kc = kube::config::Kubeconfig::from_yaml(&kubeconfig)?;
        let cfg =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await?;
        let client = kube::Client::try_from(cfg)?;
        let nodes: Api<Node> = Api::all(client);
        let n = nodes.list(&ListParams::default()).await?.items.len();
        assert!(
            n >= 3,
            "{target}: {n} nodes through the Secret's kubeconfig"
        );
    }
    Ok(())
}

#[tokio::test]
async fn hub_serves_its_own_api_with_rbac() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let client = env.hub_client().await?;
    let version = client.apiserver_version().await?;
    let pinned = breakglass_testenv::harness::build::Versions::load()?;
    assert_eq!(version.git_version, pinned.get("KUBERNETES_VERSION")?);
    let ns = namespace(&client, "smoke-hub").await?;
    let cms: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns,
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("", "v1", "ConfigMap"),
            "configmaps",
        ),
    );
    let cm: DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "probe"}, "data": {"k": "v"},
    }))?;
    cms.create(&PostParams::default(), &cm).await?;
    delete_namespace(&client, &ns).await;
    Ok(())
}
