//! Target writes of the kubectl-debug operations: inject an ephemeral container into a
//! pod, create a pod copy, create a node debug pod. Policy is decided by
//! `breakglass_core::debug::kubectl`; reads use the controller's client, writes the
//! template's impersonated ServiceAccount when one is set (as the deploy plan does).

use std::collections::BTreeMap;

use breakglass_api::debug_session_template::DebugSessionTemplateSpec;
use breakglass_core::debug::deploy;
use k8s_openapi::api::core::v1::{EphemeralContainer, Node, Pod};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

use super::impersonation;
use super::target::{TARGET_TIMEOUT, TargetError, kube_err};
use crate::app::App;
use crate::error::ApiError;

/// The controller's client and the writing client (impersonating when configured).
pub struct Clients {
    /// Reads.
    pub controller: Client,
    /// Writes.
    pub writer: Client,
}

fn target_error(e: TargetError) -> ApiError {
    ApiError::Unavailable(e.to_string())
}

async fn timed<T>(
    what: &str,
    work: impl std::future::Future<Output = Result<T, kube::Error>>,
) -> Result<T, ApiError> {
    match tokio::time::timeout(TARGET_TIMEOUT, work).await {
        Err(_) => Err(ApiError::Unavailable(format!(
            "{what}: the target did not answer"
        ))),
        Ok(Err(kube::Error::Api(e))) if e.code == 404 => {
            Err(ApiError::NotFound(format!("{what}: {}", e.message)))
        }
        Ok(Err(kube::Error::Api(e))) if e.code == 403 => {
            Err(ApiError::forbidden(format!("{what}: {}", e.message)))
        }
        Ok(Err(kube::Error::Api(e))) if e.code == 400 || e.code == 409 || e.code == 422 => {
            Err(ApiError::BadRequest(format!("{what}: {}", e.message)))
        }
        Ok(Err(e)) => Err(target_error(kube_err(what.to_owned())(e))),
        Ok(Ok(v)) => Ok(v),
    }
}

/// The clients for `cluster` under the session's effective template.
pub async fn clients(
    app: &App,
    cluster: &str,
    effective: &DebugSessionTemplateSpec,
) -> Result<Clients, ApiError> {
    let controller = app
        .clusters
        .get(cluster)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let sa = deploy::impersonation(effective).map_err(|e| ApiError::forbidden(e.to_string()))?;
    let writer = match sa {
        Some(sa) => {
            impersonation::require_service_account(&controller, &sa, cluster)
                .await
                .map_err(|e| ApiError::Unavailable(e.to_string()))?;
            app.clusters
                .impersonating(cluster, &impersonation::user_name(&sa))
                .await
                .map_err(|e| ApiError::Unavailable(e.to_string()))?
        }
        None => controller.clone(),
    };
    Ok(Clients { controller, writer })
}

/// The pod `namespace/name`.
pub async fn pod(client: &Client, namespace: &str, name: &str) -> Result<Pod, ApiError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    timed("reading the pod", api.get(name)).await
}

/// The labels of `node`.
pub async fn node_labels(
    client: &Client,
    node: &str,
) -> Result<BTreeMap<String, String>, ApiError> {
    let api: Api<Node> = Api::all(client.clone());
    let node = timed("reading the node", api.get(node)).await?;
    Ok(node.metadata.labels.unwrap_or_default())
}

/// Adds `container` to the pod's `ephemeralcontainers` subresource.
pub async fn inject(
    client: &Client,
    namespace: &str,
    pod: &str,
    container: &EphemeralContainer,
) -> Result<(), ApiError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let patch = json!({ "spec": { "ephemeralContainers": [container] } });
    let params = PatchParams::default();
    timed(
        "injecting the ephemeral container",
        api.patch_subresource(
            "ephemeralcontainers",
            pod,
            &params,
            &Patch::Strategic(&patch),
        ),
    )
    .await
    .map(|_| ())
}

/// Creates `pod` (a copy or a node debug pod).
pub async fn create(client: &Client, pod: &Pod) -> Result<Pod, ApiError> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    timed(
        "creating the debug pod",
        api.create(&PostParams::default(), pod),
    )
    .await
}
