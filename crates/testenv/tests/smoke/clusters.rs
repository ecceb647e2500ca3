//! Target clusters: simulated nodes, workloads, ephemeral containers.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::json;

use crate::{delete_namespace, env, eventually, namespace};

const TIMEOUT: Duration = Duration::from_secs(90);

fn ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

#[tokio::test]
async fn nodes_are_ready_on_both_targets() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    for target in env.targets() {
        let nodes: Api<Node> = Api::all(env.target_client(target).await?);
        let list = nodes.list(&ListParams::default()).await?;
        assert!(
            list.items.len() >= 3,
            "{target}: {} nodes",
            list.items.len()
        );
        for n in &list.items {
            assert!(ready(n), "{target}: node {:?} not Ready", n.metadata.name);
        }
        let control_planes: Vec<&Node> = list
            .items
            .iter()
            .filter(|n| {
                n.metadata
                    .labels
                    .as_ref()
                    .is_some_and(|l| l.contains_key("node-role.kubernetes.io/control-plane"))
            })
            .collect();
        assert_eq!(control_planes.len(), 1, "{target}: one control-plane node");
        let taints = control_planes[0]
            .spec
            .as_ref()
            .and_then(|s| s.taints.clone())
            .unwrap_or_default();
        assert!(
            taints
                .iter()
                .any(|t| t.key == "node-role.kubernetes.io/control-plane"
                    && t.effect == "NoSchedule"),
            "{target}: control-plane node is tainted NoSchedule"
        );
        let pools: BTreeSet<String> = list
            .items
            .iter()
            .filter_map(|n| n.metadata.labels.as_ref()?.get("node-pool").cloned())
            .collect();
        assert!(
            pools.len() >= 2,
            "{target}: workers in node pools: {pools:?}"
        );
    }
    Ok(())
}

async fn running_pods(pods: &Api<Pod>, selector: &str) -> anyhow::Result<Vec<Pod>> {
    Ok(pods
        .list(&ListParams::default().labels(selector))
        .await?
        .items
        .into_iter()
        .filter(|p| {
            p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
                && p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some()
        })
        .collect())
}

fn node_of(p: &Pod) -> String {
    p.spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn deployment_and_daemonset_get_running_pods_on_simulated_nodes() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let client = env.target_client("target-a").await?;
    let ns = namespace(&client, "smoke-workloads").await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let daemonsets: Api<DaemonSet> = Api::namespaced(client.clone(), &ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);

    let pod_template = |app: &str, tolerate: bool| {
        let mut spec =
            json!({"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]});
        if tolerate {
            spec["tolerations"] = json!([{"operator": "Exists"}]);
        }
        json!({"metadata": {"labels": {"app": app}}, "spec": spec})
    };
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": pod_template("web", false),
        },
    }))?;
    deployments
        .create(&PostParams::default(), &deployment)
        .await?;
    for (name, tolerate) in [("agent", false), ("tolerant-agent", true)] {
        let ds: DaemonSet = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {
                "selector": {"matchLabels": {"app": name}},
                "template": pod_template(name, tolerate),
            },
        }))?;
        daemonsets.create(&PostParams::default(), &ds).await?;
    }

    let web = eventually(TIMEOUT, "2 running Deployment pods", || {
        let pods = pods.clone();
        async move {
            let r = running_pods(&pods, "app=web").await?;
            Ok((r.len() == 2).then_some(r))
        }
    })
    .await?;
    for p in &web {
        assert!(
            !node_of(p).ends_with("control-plane"),
            "Deployment pod on the tainted node"
        );
    }

    let agents = eventually(TIMEOUT, "DaemonSet pods on the 2 workers", || {
        let pods = pods.clone();
        async move {
            let r = running_pods(&pods, "app=agent").await?;
            Ok((r.len() == 2).then_some(r))
        }
    })
    .await?;
    let nodes: BTreeSet<String> = agents.iter().map(node_of).collect();
    assert_eq!(nodes.len(), 2);
    assert!(
        nodes.iter().all(|n| !n.ends_with("control-plane")),
        "{nodes:?}"
    );

    let tolerant = eventually(TIMEOUT, "tolerating DaemonSet pods on all 3 nodes", || {
        let pods = pods.clone();
        async move {
            let r = running_pods(&pods, "app=tolerant-agent").await?;
            Ok((r.len() == 3).then_some(r))
        }
    })
    .await?;
    assert!(
        tolerant
            .iter()
            .any(|p| node_of(p).ends_with("control-plane"))
    );

    // The controllers see the pods as ready too.
    eventually(TIMEOUT, "Deployment Available", || {
        let deployments = deployments.clone();
        async move {
            let d = deployments.get("web").await?;
            Ok((d.status.and_then(|s| s.available_replicas) == Some(2)).then_some(()))
        }
    })
    .await?;

    delete_namespace(&client, &ns).await;
    Ok(())
}

#[tokio::test]
async fn ephemeral_containers_can_be_added() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let client = env.target_client("target-a").await?;
    let ns = namespace(&client, "smoke-debug").await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "app", "labels": {"app": "app"}},
        "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]},
    }))?;
    pods.create(&PostParams::default(), &pod).await?;
    eventually(TIMEOUT, "the pod running", || {
        let pods = pods.clone();
        async move { Ok((running_pods(&pods, "app=app").await?.len() == 1).then_some(())) }
    })
    .await?;

    // kubectl debug PATCHes the ephemeralcontainers subresource.
    let out = env
        .kubectl(
            "target-a",
            None,
            &[
                "debug",
                "-n",
                &ns,
                "app",
                "--image=busybox:1.37",
                "--container=debugger",
                "--profile=general",
            ],
        )
        .await?;
    assert!(out.success(), "kubectl debug failed: {}", out.stderr);

    // A PUT of the whole pod (what controllers do) works as well. kwok updates the
    // pod's status concurrently, so retry on conflicts like a controller would.
    eventually(TIMEOUT, "the ephemeralcontainers update", || {
        let pods = pods.clone();
        async move {
            let mut current = pods.get("app").await?;
            let spec = current.spec.as_mut().expect("pod spec");
            let mut ecs = spec.ephemeral_containers.clone().unwrap_or_default();
            ecs.push(serde_json::from_value(json!({
                "name": "debugger2",
                "image": "busybox:1.37",
                "command": ["sleep", "3600"],
            }))?);
            spec.ephemeral_containers = Some(ecs);
            match pods
                .replace_subresource(
                    "ephemeralcontainers",
                    "app",
                    &PostParams::default(),
                    &current,
                )
                .await
            {
                Ok(_) => Ok(Some(())),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(None),
                Err(e) => Err(e.into()),
            }
        }
    })
    .await?;

    let statuses = eventually(TIMEOUT, "ephemeral containers running", || {
        let pods = pods.clone();
        async move {
            let p = pods.get("app").await?;
            let names: BTreeSet<String> = p
                .status
                .and_then(|s| s.ephemeral_container_statuses)
                .unwrap_or_default()
                .into_iter()
                .filter(|s| {
                    s.state
                        .as_ref()
                        .and_then(|st| st.running.as_ref())
                        .is_some()
                })
                .map(|s| s.name)
                .collect();
            Ok((names.len() == 2).then_some(names))
        }
    })
    .await?;
    assert!(statuses.contains("debugger") && statuses.contains("debugger2"));
    delete_namespace(&client, &ns).await;
    Ok(())
}
