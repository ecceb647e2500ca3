//! Objects `up` creates inside the clusters: simulated nodes, RBAC, CRDs,
//! ClusterConfigs and kubeconfig Secrets.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::{Node, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use crate::layout::{
    CLI_AUDIENCE_SCOPE, CLI_CLIENT_ID, HUB_IDENTITY, IDENTITY_PROVIDER, KUBECONFIG_SECRET_KEY,
    Layout, MAIL_PROVIDER, OIDC_CLIENT_ID, SYSTEM_NAMESPACE, UI_CLIENT_ID,
};

const MANAGER: &str = "breakglass-testenv";
/// API group of the breakglass CRDs.
pub const CRD_GROUP: &str = "breakglass.t-caas.telekom.com";
/// Version of the breakglass CRDs.
pub const CRD_VERSION: &str = "v1alpha1";

fn apply_params() -> PatchParams {
    PatchParams::apply(MANAGER).force()
}

/// A kube client from a kubeconfig file.
pub async fn client(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading {}", kubeconfig.display()))?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .context("loading kubeconfig")?;
    kube::Client::try_from(cfg).context("building a kube client")
}

/// Names and labels of the simulated nodes of a target.
pub fn node_specs(cluster: &str) -> Vec<(String, Value)> {
    let base = |name: &str, extra: Value| -> Value {
        let mut labels = json!({
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "type": "kwok",
        });
        if let (Some(l), Some(e)) = (labels.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                l.insert(k.clone(), v.clone());
            }
        }
        labels
    };
    let cp = format!("{cluster}-control-plane");
    let w1 = format!("{cluster}-worker");
    let w2 = format!("{cluster}-worker2");
    vec![
        (
            cp.clone(),
            json!({
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": cp,
                    "labels": base(&cp, json!({"node-role.kubernetes.io/control-plane": ""})),
                    "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                },
                "spec": {
                    "taints": [{
                        "key": "node-role.kubernetes.io/control-plane",
                        "effect": "NoSchedule",
                    }],
                },
            }),
        ),
        (
            w1.clone(),
            json!({
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": w1,
                    "labels": base(&w1, json!({"node-pool": "general"})),
                    "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                },
            }),
        ),
        (
            w2.clone(),
            json!({
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": w2,
                    "labels": base(&w2, json!({"node-pool": "highmem"})),
                    "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                },
            }),
        ),
    ]
}

/// The default namespace of debug-session workloads, created on every target.
pub const DEBUG_NAMESPACE: &str = "breakglass-debug";

/// Creates the simulated nodes of a target, the debug namespace and the hub identity's
/// binding.
pub async fn setup_target(layout: &Layout, cluster: &str) -> anyhow::Result<()> {
    let client = client(&layout.kubeconfig(cluster)).await?;
    let nodes: Api<Node> = Api::all(client.clone());
    for (name, node) in node_specs(cluster) {
        nodes
            .patch(&name, &apply_params(), &Patch::Apply(&node))
            .await
            .with_context(|| format!("creating node {name} on {cluster}"))?;
    }
    // The default namespace of debug-session workloads, as an operator would create it.
    let namespaces: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("", "v1", "Namespace"),
            "namespaces",
        ),
    );
    namespaces
        .patch(
            DEBUG_NAMESPACE,
            &apply_params(),
            &Patch::Apply(&json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": DEBUG_NAMESPACE},
            })),
        )
        .await
        .with_context(|| format!("creating namespace {DEBUG_NAMESPACE} on {cluster}"))?;
    let crbs: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"),
            "clusterrolebindings",
        ),
    );
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": HUB_IDENTITY},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": HUB_IDENTITY}],
    });
    crbs.patch(HUB_IDENTITY, &apply_params(), &Patch::Apply(&binding))
        .await
        .with_context(|| format!("binding {HUB_IDENTITY} on {cluster}"))?;
    Ok(())
}

/// Waits until all nodes of a target are Ready.
pub async fn wait_nodes_ready(
    layout: &Layout,
    cluster: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let client = client(&layout.kubeconfig(cluster)).await?;
    let nodes: Api<Node> = Api::all(client);
    let want: Vec<String> = node_specs(cluster).into_iter().map(|(n, _)| n).collect();
    let deadline = Instant::now() + timeout;
    loop {
        let list = nodes.list(&Default::default()).await;
        let ready: Vec<String> = list
            .map(|l| {
                l.items
                    .into_iter()
                    .filter(|n| {
                        n.status
                            .as_ref()
                            .and_then(|s| s.conditions.as_ref())
                            .is_some_and(|cs| {
                                cs.iter().any(|c| c.type_ == "Ready" && c.status == "True")
                            })
                    })
                    .filter_map(|n| n.metadata.name)
                    .collect()
            })
            .unwrap_or_default();
        if want.iter().all(|w| ready.contains(w)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "nodes of {cluster} not Ready after {timeout:?} (Ready: {ready:?}); see logs/kwok-{cluster}.log"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until the controller-manager created the `default` ServiceAccount.
pub async fn wait_default_service_account(
    layout: &Layout,
    cluster: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let client = client(&layout.kubeconfig(cluster)).await?;
    let sas: Api<ServiceAccount> = Api::namespaced(client, "default");
    let deadline = Instant::now() + timeout;
    loop {
        if sas.get_opt("default").await.ok().flatten().is_some() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "no default ServiceAccount on {cluster} after {timeout:?}; see logs/kube-controller-manager-{cluster}.log"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Every YAML document of every `*.yaml` file in `dir`, sorted by file name.
pub fn read_manifests(dir: &Path) -> anyhow::Result<Vec<(String, Value)>> {
    let mut files: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
            .with_context(|| format!("parsing {}", f.display()))?;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.extend(
            docs.into_iter()
                .filter(|d| !d.is_null())
                .map(|d| (name.clone(), d)),
        );
    }
    Ok(out)
}

/// Applies every CRD of `dir` to the hub and waits until all are Established.
/// Returns the names of the CRDs.
pub async fn apply_crds(
    client: &kube::Client,
    dir: &Path,
    timeout: Duration,
) -> anyhow::Result<Vec<String>> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut names = Vec::new();
    for (file, doc) in read_manifests(dir)? {
        if doc.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
            continue;
        }
        let name = doc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .with_context(|| format!("{file}: CRD without metadata.name"))?
            .to_owned();
        crds.patch(&name, &apply_params(), &Patch::Apply(&doc))
            .await
            .with_context(|| format!("applying CRD {name} from config/crd/{file}"))?;
        names.push(name);
    }
    let deadline = Instant::now() + timeout;
    for name in &names {
        loop {
            let crd = crds.get(name).await?;
            let established = crd
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                });
            if established {
                break;
            }
            if Instant::now() > deadline {
                bail!("CRD {name} not Established after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(names)
}

fn dynamic_api(
    client: &kube::Client,
    gvk: GroupVersionKind,
    plural: &str,
    ns: &str,
) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::from_gvk_with_plural(&gvk, plural),
    )
}

/// Name of the ClusterConfig CRD.
pub fn cluster_config_crd() -> String {
    format!("clusterconfigs.{CRD_GROUP}")
}

/// The system namespace and one kubeconfig Secret per target.
async fn namespace_and_secrets(
    layout: &Layout,
    client: &kube::Client,
    targets: &[&str],
) -> anyhow::Result<()> {
    let ns_api: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("", "v1", "Namespace"),
            "namespaces",
        ),
    );
    ns_api
        .patch(
            SYSTEM_NAMESPACE,
            &apply_params(),
            &Patch::Apply(&json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": SYSTEM_NAMESPACE},
            })),
        )
        .await
        .context("creating the breakglass-system namespace")?;

    let secrets = dynamic_api(
        client,
        GroupVersionKind::gvk("", "v1", "Secret"),
        "secrets",
        SYSTEM_NAMESPACE,
    );
    for t in targets {
        let kubeconfig = std::fs::read_to_string(layout.hub_identity_kubeconfig(t))?;
        let name = format!("{t}-kubeconfig");
        let mut data = BTreeMap::new();
        data.insert(KUBECONFIG_SECRET_KEY, kubeconfig);
        secrets
            .patch(
                &name,
                &apply_params(),
                &Patch::Apply(&json!({
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {
                        "name": name,
                        "namespace": SYSTEM_NAMESPACE,
                        "labels": {"app.kubernetes.io/managed-by": MANAGER},
                    },
                    "type": "Opaque",
                    "stringData": data,
                })),
            )
            .await
            .with_context(|| format!("creating Secret {name}"))?;
    }

    Ok(())
}

/// One ClusterConfig per target (tenants a, b, …); failures become warnings.
async fn cluster_configs(client: &kube::Client, targets: &[&str], warnings: &mut Vec<String>) {
    let ccs = dynamic_api(
        client,
        GroupVersionKind::gvk(CRD_GROUP, CRD_VERSION, "ClusterConfig"),
        "clusterconfigs",
        SYSTEM_NAMESPACE,
    );
    for (i, t) in targets.iter().enumerate() {
        let tenant = format!(
            "tenant-{}",
            ["a", "b", "c", "d"].get(i).copied().unwrap_or("x")
        );
        let obj = json!({
            "apiVersion": format!("{CRD_GROUP}/{CRD_VERSION}"),
            "kind": "ClusterConfig",
            "metadata": {
                "name": t,
                "namespace": SYSTEM_NAMESPACE,
                "labels": {"app.kubernetes.io/managed-by": MANAGER},
            },
            "spec": {
                "clusterID": t,
                "tenant": tenant,
                "kubeconfigSecretRef": {
                    "name": format!("{t}-kubeconfig"),
                    "namespace": SYSTEM_NAMESPACE,
                    "key": KUBECONFIG_SECRET_KEY,
                },
            },
        });
        if let Err(e) = ccs.patch(t, &apply_params(), &Patch::Apply(&obj)).await {
            warnings.push(format!("could not create ClusterConfig {t}: {e}"));
        }
    }
}

/// The IdentityProvider (Dex) and the default MailProvider (mailpit).
async fn providers(
    layout: &Layout,
    client: &kube::Client,
    warnings: &mut Vec<String>,
) -> anyhow::Result<()> {
    // The identity provider the server verifies user tokens with, and the mail
    // provider it sends through.
    let ca = std::fs::read_to_string(layout.ca_file())?;
    let idps = cluster_dynamic_api(
        client,
        GroupVersionKind::gvk(CRD_GROUP, CRD_VERSION, "IdentityProvider"),
        "identityproviders",
    );
    let idp = json!({
        "apiVersion": format!("{CRD_GROUP}/{CRD_VERSION}"),
        "kind": "IdentityProvider",
        "metadata": {"name": IDENTITY_PROVIDER, "labels": {"app.kubernetes.io/managed-by": MANAGER}},
        "spec": {
            "displayName": "Dex (testenv)",
            "issuer": layout.dex_issuer(),
            "oidc": {
                "authority": layout.dex_issuer(),
                "clientID": UI_CLIENT_ID,
                "expectedAudience": OIDC_CLIENT_ID,
                "cliClientID": CLI_CLIENT_ID,
                "cliScopes": [CLI_AUDIENCE_SCOPE, "groups"],
                "uiScopes": [CLI_AUDIENCE_SCOPE],
                "certificateAuthority": ca,
            },
        },
    });
    if let Err(e) = idps
        .patch(IDENTITY_PROVIDER, &apply_params(), &Patch::Apply(&idp))
        .await
    {
        warnings.push(format!(
            "could not create IdentityProvider {IDENTITY_PROVIDER}: {e}"
        ));
    }
    let mails = cluster_dynamic_api(
        client,
        GroupVersionKind::gvk(CRD_GROUP, CRD_VERSION, "MailProvider"),
        "mailproviders",
    );
    let smtp = layout.smtp_addr();
    let mail = json!({
        "apiVersion": format!("{CRD_GROUP}/{CRD_VERSION}"),
        "kind": "MailProvider",
        "metadata": {"name": MAIL_PROVIDER, "labels": {"app.kubernetes.io/managed-by": MANAGER}},
        "spec": {
            "displayName": "mailpit (testenv)",
            "default": true,
            "smtp": {"host": smtp.ip().to_string(), "port": smtp.port(), "disableTLS": true},
            "sender": {"address": "breakglass@example.com", "name": "Breakglass"},
        },
    });
    if let Err(e) = mails
        .patch(MAIL_PROVIDER, &apply_params(), &Patch::Apply(&mail))
        .await
    {
        warnings.push(format!(
            "could not create MailProvider {MAIL_PROVIDER}: {e}"
        ));
    }
    Ok(())
}

/// Creates the namespace, kubeconfig Secrets and (if the CRD is installed) the
/// ClusterConfigs of the targets on the hub. Returns warnings.
pub async fn setup_hub(
    layout: &Layout,
    client: &kube::Client,
    targets: &[&str],
) -> anyhow::Result<Vec<String>> {
    let mut warnings = Vec::new();
    namespace_and_secrets(layout, client, targets).await?;

    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    if crds.get_opt(&cluster_config_crd()).await?.is_none() {
        warnings.push(format!(
            "CRD {} is not installed: no ClusterConfig objects were created (add config/crd/ and run `up` again)",
            cluster_config_crd()
        ));
        return Ok(warnings);
    }
    cluster_configs(client, targets, &mut warnings).await;
    providers(layout, client, &mut warnings).await?;
    Ok(warnings)
}

fn cluster_dynamic_api(
    client: &kube::Client,
    gvk: GroupVersionKind,
    plural: &str,
) -> Api<DynamicObject> {
    Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(&gvk, plural),
    )
}
