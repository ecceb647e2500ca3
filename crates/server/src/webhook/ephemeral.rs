//! The ephemeral-container admission webhook of target clusters:
//! `POST /validate-ephemeral-containers/{cluster}` answers an `admission.k8s.io/v1`
//! AdmissionReview for a `pods/ephemeralcontainers` UPDATE (what `kubectl debug` sends).
//! The cluster is a path segment because apiservers refuse webhook URLs with query
//! parameters; `/validate-ephemeral-containers?cluster=X` is accepted as well.
//!
//! It allows only users with an Active debug session on the cluster that allows
//! kubectl-debug, and only containers that session's
//! `kubectlDebug.ephemeralContainers` policy admits (the pure decision is
//! [`breakglass_core::debug::admission::decide`]). Users listed in
//! `webhook.admissionTrustedUsers` (the server's own identity on the targets: its REST
//! `injectEphemeralContainer` checked the policy before writing) are allowed as they
//! are. The answer reads only the in-memory debug-session index and the ClusterConfig
//! mirror, never the hub. Everything else fails closed: a request that is not a
//! `pods/ephemeralcontainers` UPDATE, no or an unknown `cluster`, a server whose
//! mirrors are not synced yet. Every grant is logged.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use breakglass_api::debug_session::DebugSession;
use breakglass_core::debug::admission::{EphemeralRequest, decide};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{EphemeralContainer, Pod};
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use serde::Deserialize;

use crate::http::AppState;

/// The path target apiservers call.
pub const PATH: &str = "/validate-ephemeral-containers";

/// Longest accepted `cluster` parameter (a Kubernetes object name).
const MAX_CLUSTER_LEN: usize = 253;

/// The admission routes.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route(PATH, axum::routing::post(validate_query))
        .route(
            &format!("{PATH}/{{cluster}}"),
            axum::routing::post(validate_path),
        )
}

/// Query parameters.
#[derive(Debug, Deserialize)]
pub struct Params {
    /// The target cluster the apiserver belongs to.
    pub cluster: Option<String>,
}

/// What the decision reads besides the request.
pub struct Inputs<'a> {
    /// True when the ClusterConfig and DebugSession mirrors are synced.
    pub synced: bool,
    /// True when a ClusterConfig of that name exists.
    pub cluster_known: bool,
    /// `webhook.admissionTrustedUsers`.
    pub trusted_users: &'a [String],
    /// The user's Active debug sessions on the cluster.
    pub sessions: &'a [Arc<DebugSession>],
}

/// The ephemeral containers `new` has and `old` does not (by name).
pub fn new_containers(new: Option<&Pod>, old: Option<&Pod>) -> Vec<EphemeralContainer> {
    let ephemeral = |p: Option<&Pod>| {
        p.and_then(|p| p.spec.as_ref())
            .and_then(|s| s.ephemeral_containers.clone())
            .unwrap_or_default()
    };
    let before = ephemeral(old);
    ephemeral(new)
        .into_iter()
        .filter(|c| !before.iter().any(|b| b.name == c.name))
        .collect()
}

/// Decides one review on `cluster` (from the URL, checked by the caller).
pub fn review(
    req: &AdmissionRequest<Pod>,
    cluster: &str,
    inputs: &Inputs<'_>,
    now: Timestamp,
) -> AdmissionResponse {
    let response = AdmissionResponse::from(req);
    let is_pod = req.resource.group.is_empty() && req.resource.resource == "pods";
    if !is_pod
        || req.sub_resource.as_deref() != Some("ephemeralcontainers")
        || req.operation != Operation::Update
    {
        return response
            .deny("this webhook answers only UPDATE of pods/ephemeralcontainers (check the webhook's rules)");
    }
    if !inputs.synced {
        return response.deny("breakglass is starting: debug sessions are not loaded yet; retry");
    }
    if !inputs.cluster_known {
        return response.deny(format!(
            "cluster {cluster:?} (from the webhook URL) is not known to breakglass"
        ));
    }
    let user = req.user_info.username.as_deref().unwrap_or_default();
    let namespace = req.namespace.as_deref().unwrap_or_default();
    let added = new_containers(req.object.as_ref(), req.old_object.as_ref());
    if !user.is_empty() && inputs.trusted_users.iter().any(|u| u == user) {
        for c in &added {
            tracing::info!(cluster, user, pod = %req.name, namespace, container = %c.name,
                image = c.image.as_deref().unwrap_or_default(),
                "ephemeral container allowed: trusted user (webhook.admissionTrustedUsers)");
        }
        return response;
    }
    let pod_security = req
        .object
        .as_ref()
        .and_then(|p| p.spec.as_ref())
        .and_then(|s| s.security_context.as_ref());
    let request = EphemeralRequest {
        cluster,
        user,
        namespace,
        new_containers: &added,
        pod_security,
    };
    match decide(inputs.sessions.iter().map(AsRef::as_ref), &request, now) {
        Ok(grant) => {
            for c in &added {
                tracing::info!(cluster, user, session = %grant.session,
                    session_namespace = %grant.session_namespace, role = grant.role.as_str(),
                    pod = %req.name, namespace, container = %c.name,
                    image = c.image.as_deref().unwrap_or_default(),
                    "ephemeral container allowed by debug session");
            }
            response
        }
        Err(denial) => {
            tracing::info!(cluster, user, pod = %req.name, namespace, reason = %denial,
                "ephemeral container denied");
            response.deny(denial.to_string())
        }
    }
}

fn answer(response: AdmissionResponse) -> Response {
    Json(response.into_review()).into_response()
}

/// `POST /validate-ephemeral-containers/{cluster}`.
async fn validate_path(
    State(state): State<AppState>,
    Path(cluster): Path<String>,
    body: Bytes,
) -> Response {
    validate(&state, cluster, &body)
}

/// `POST /validate-ephemeral-containers?cluster=X` (without it: denied).
async fn validate_query(
    State(state): State<AppState>,
    Query(params): Query<Params>,
    body: Bytes,
) -> Response {
    validate(&state, params.cluster.unwrap_or_default(), &body)
}

/// Answers one review body. The body is bounded by the router's body limit
/// ([`crate::http::MAX_BODY_BYTES`]).
fn validate(state: &AppState, cluster: String, body: &[u8]) -> Response {
    let parsed: AdmissionReview<Pod> = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return answer(AdmissionResponse::invalid(format!(
                "body is not an admission.k8s.io/v1 AdmissionReview of a Pod: {e}"
            )));
        }
    };
    let req: AdmissionRequest<Pod> = match parsed.try_into() {
        Ok(r) => r,
        Err(_) => {
            return answer(AdmissionResponse::invalid(
                "AdmissionReview without request",
            ));
        }
    };
    if cluster.is_empty() || cluster.len() > MAX_CLUSTER_LEN {
        return answer(AdmissionResponse::from(&req).deny(format!(
            "the cluster is required in the webhook URL (/validate-ephemeral-containers/<cluster>, 1-{MAX_CLUSTER_LEN} characters)"
        )));
    }
    let app = &state.app;
    let user = req.user_info.username.clone().unwrap_or_default();
    let sessions = app.debug_sessions_by_user.get(&cluster, &user);
    let inputs = Inputs {
        synced: app.stores.clusters.is_synced() && app.stores.debug_sessions.is_synced(),
        cluster_known: !app.stores.clusters.by_name(&cluster).is_empty(),
        trusted_users: &app.config.webhook.admission_trusted_users,
        sessions: &sessions,
    };
    answer(review(&req, &cluster, &inputs, Timestamp::now()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "ephemeral_tests.rs"]
mod tests;
