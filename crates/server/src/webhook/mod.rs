//! The authorization webhook: target apiservers ask, for every request their own RBAC
//! does not allow, whether one of the user's breakglass sessions grants it.
//!
//! `POST /api/breakglass/webhook/authorize/{cluster}` (and the legacy
//! `/breakglass/webhook/authorize/{cluster}`) take an `authorization.k8s.io/v1`
//! SubjectAccessReview and answer it with HTTP 200. The decision is the pure pipeline of
//! `breakglass_core::authz`; this module gathers its inputs from the in-memory mirrors,
//! fetches what the pipeline asks for from the target cluster (namespace labels, the
//! target pod), runs the group check through [`TargetAccess`], and records metrics,
//! activity and a log line for every grant.

pub mod access;

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_api::deny_policy::DenyPolicy;
use breakglass_core::authz::{
    self, AuthzConfig, AuthzInput, ClusterInfo, Decision, GroupCheckResults, IdpHints,
    NamespaceLabels, PodInfo, PreCheck, ProbeOutcome, SarRequest, SessionCheck, SessionInput,
};
use breakglass_core::escalation as esc_core;
use jiff::Timestamp;
use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use serde_json::{Value, json};

use crate::app::App;
use crate::http::AppState;
use crate::metrics;
use crate::store::ClusterLookup;

pub use access::{AccessError, KubeAccess, TargetAccess};

/// API version of the reviews we answer natively.
pub const SAR_V1: &str = "authorization.k8s.io/v1";
/// The older version, accepted and answered in kind.
pub const SAR_V1BETA1: &str = "authorization.k8s.io/v1beta1";

/// The webhook routes.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/api/breakglass/webhook/authorize/{cluster}",
            axum::routing::post(authorize),
        )
        .route(
            "/breakglass/webhook/authorize/{cluster}",
            axum::routing::post(authorize),
        )
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let code = match status {
        StatusCode::UNAUTHORIZED => "UNAUTHORIZED",
        StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
        _ => "UNPROCESSABLE_ENTITY",
    };
    (status, Json(json!({"error": message.into(), "code": code}))).into_response()
}

/// Parses the body: a v1 SubjectAccessReview, or a v1beta1 one (whose groups field is
/// called `group`), converted. Returns the review and the version to answer in.
pub fn parse_review(body: &[u8]) -> Result<(SubjectAccessReview, &'static str), String> {
    let mut value: Value =
        serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let version = match value.get("apiVersion").and_then(Value::as_str) {
        Some(SAR_V1) => SAR_V1,
        Some(SAR_V1BETA1) => SAR_V1BETA1,
        Some(other) => {
            return Err(format!(
                "apiVersion {other:?} is not a SubjectAccessReview version; expected {SAR_V1}"
            ));
        }
        None => return Err(format!("apiVersion is missing; expected {SAR_V1}")),
    };
    if version == SAR_V1BETA1
        && let Some(spec) = value.get_mut("spec").and_then(Value::as_object_mut)
        && let Some(groups) = spec.remove("group")
    {
        spec.insert("groups".to_owned(), groups);
    }
    if let Some(obj) = value.as_object_mut() {
        obj.insert("apiVersion".to_owned(), json!(SAR_V1));
    }
    match value.get("kind").and_then(Value::as_str) {
        Some("SubjectAccessReview") => {}
        other => {
            return Err(format!("kind {other:?} is not SubjectAccessReview"));
        }
    }
    if value.get("spec").is_none() {
        return Err("spec is missing".to_owned());
    }
    let review: SubjectAccessReview = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        format!("invalid SubjectAccessReview at {path}: {}", e.into_inner())
    })?;
    Ok((review, version))
}

/// Checks the caller's bearer token when `webhook.tokenDirectory` is configured: the
/// file named like the cluster holds the token that cluster's apiserver must send.
fn check_caller(app: &App, cluster: &str, headers: &HeaderMap) -> Result<(), String> {
    let Some(dir) = app.config.webhook.token_directory.as_deref() else {
        return Ok(());
    };
    if cluster.is_empty()
        || !cluster
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err("invalid cluster name".to_owned());
    }
    let expected = std::fs::read_to_string(std::path::Path::new(dir).join(cluster))
        .map_err(|_| format!("no webhook token is configured for cluster {cluster:?}"))?;
    let expected = expected.trim();
    if expected.is_empty() {
        return Err(format!("the webhook token of cluster {cluster:?} is empty"));
    }
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err("missing or wrong webhook bearer token".to_owned())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `POST …/webhook/authorize/{cluster}`.
pub async fn authorize(
    State(state): State<AppState>,
    Path(cluster): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let app = &state.app;
    let started = Instant::now();
    let label = metrics::bounded_cluster(&app.stores, &cluster);
    app.metrics
        .webhook_requests
        .get_or_create(&metrics::cluster(&label))
        .inc();
    if let Err(message) = check_caller(app, &cluster, &headers) {
        tracing::warn!(cluster = %label, "webhook call refused: {message}");
        return error(StatusCode::UNAUTHORIZED, message);
    }
    let (review, version) = match parse_review(&body) {
        Ok(r) => r,
        Err(message) => {
            app.metrics
                .webhook_malformed
                .get_or_create(&metrics::cluster(&label))
                .inc();
            return error(StatusCode::UNPROCESSABLE_ENTITY, message);
        }
    };
    let request = match SarRequest::from_review(&review) {
        Ok(r) => r,
        Err(e) => {
            app.metrics
                .webhook_malformed
                .get_or_create(&metrics::cluster(&label))
                .inc();
            return error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string());
        }
    };
    let decision = decide(app, &cluster, &request, Timestamp::now()).await;
    let elapsed = started.elapsed().as_secs_f64();
    app.metrics.observe_decision(&label, &decision, elapsed);
    if let Some((namespace, name)) = decision.trace.allowing_session() {
        if app.config.server.enable_activity_tracking {
            app.activity.record(namespace, name, Timestamp::now()).await;
        }
        if let Some(s) = app.stores.sessions.get(Some(namespace), name) {
            app.metrics
                .session_activity
                .get_or_create(&metrics::ClusterGroupLabel {
                    cluster: label.clone(),
                    granted_group: s.spec.granted_group.clone(),
                })
                .inc();
        }
    }
    log_decision(&cluster, &request, &decision, elapsed);
    let explicit = app.config.webhook.explicit_policy_deny
        && !decision.allowed
        && matches!(
            decision.deny_source(),
            "global" | "session" | "impersonation-policy"
        );
    let mut status = json!({"allowed": decision.allowed, "reason": decision.reason});
    if explicit {
        status["denied"] = json!(true);
    }
    Json(json!({"apiVersion": version, "kind": "SubjectAccessReview", "status": status}))
        .into_response()
}

fn log_decision(cluster: &str, request: &SarRequest, decision: &Decision, elapsed: f64) {
    let micros = (elapsed * 1e6) as u64;
    if decision.allowed {
        tracing::info!(
            cluster, user = %request.user, request = %request.describe(),
            stage = decision.trace.stage.name(), reason = %decision.reason,
            warnings = ?decision.trace.warnings, micros,
            "access granted"
        );
    } else {
        tracing::debug!(
            cluster, user = %request.user, request = %request.describe(),
            stage = decision.trace.stage.name(), reason = %decision.reason, micros,
            "access denied"
        );
    }
}

/// What the pipeline reads, gathered from the mirrors.
struct Snapshot {
    cluster: Option<ClusterInfo>,
    sessions: Vec<Arc<BreakglassSession>>,
    overrides: Vec<Option<breakglass_api::breakglass_escalation::PodSecurityOverrides>>,
    policies: Vec<Arc<DenyPolicy>>,
    escalations_available: usize,
    idp: IdpHints,
}

/// A session the mirror shows as waiting may have been approved a moment ago, before
/// the watch delivered it: read those few live, so a fresh approval is never denied.
async fn refresh_waiting(
    app: &App,
    sessions: Vec<Arc<BreakglassSession>>,
) -> Vec<Arc<BreakglassSession>> {
    use breakglass_api::breakglass_session::BreakglassSessionState as S;
    let mut out = Vec::with_capacity(sessions.len());
    for s in sessions {
        let waiting = matches!(
            s.status.as_ref().and_then(|st| st.state),
            Some(S::Pending | S::WaitingForScheduledTime)
        );
        if !waiting {
            out.push(s);
            continue;
        }
        let api = crate::session_writes::api_for(&app.hub, &s);
        let name = s.metadata.name.clone().unwrap_or_default();
        match tokio::time::timeout(std::time::Duration::from_secs(1), api.get_opt(&name)).await {
            Ok(Ok(Some(live))) => out.push(Arc::new(live)),
            Ok(Ok(None)) => {}
            _ => out.push(s),
        }
    }
    out
}

async fn snapshot(app: &App, cluster: &str, request: &SarRequest) -> Snapshot {
    let cluster_info = match app.stores.cluster(cluster) {
        ClusterLookup::Found(cc) => Some(ClusterInfo::from_cluster_config(&cc)),
        // Ambiguous names fail closed: treated as not registered.
        ClusterLookup::Missing | ClusterLookup::Ambiguous => None,
    };
    let sessions = refresh_waiting(app, app.sessions_by_user.get(cluster, &request.user)).await;
    // Only the owners of the user's few sessions are looked up, by key.
    let overrides = sessions
        .iter()
        .map(|s| {
            let owner = breakglass_core::session::owning_escalation(s)?;
            let esc = app
                .stores
                .escalations
                .get(s.metadata.namespace.as_deref(), &owner.name)
                .filter(|e| e.metadata.uid.as_deref() == Some(owner.uid.as_str()))?;
            esc.spec.pod_security_overrides.clone()
        })
        .collect();
    let idps = app.stores.identity_providers.all();
    let issuer_idp_name = request.issuer.as_deref().and_then(|iss| {
        idps.iter()
            .find(|i| i.effective_issuer() == iss.trim_end_matches('/'))
            .and_then(|i| i.metadata.name.clone())
    });
    let available = idps
        .iter()
        .filter(|i| i.spec.disabled != Some(true))
        .filter_map(|i| i.metadata.name.clone())
        .collect();
    let prefixes = app.prefixes();
    let mut groups = esc_core::normalize_groups(&request.groups, prefixes);
    groups.push("system:authenticated".to_owned());
    let req = esc_core::Request {
        cluster,
        user_groups: &groups,
        provider: issuer_idp_name.as_deref(),
    };
    let escalations_available = app
        .stores
        .escalations
        .all()
        .iter()
        .filter(|e| esc_core::is_available(e, &req, prefixes))
        .count();
    Snapshot {
        cluster: cluster_info,
        sessions,
        overrides,
        policies: app.stores.deny_policies.all(),
        escalations_available,
        idp: IdpHints {
            issuer_idp_name,
            available,
        },
    }
}

/// The pipeline's configuration from the configuration file.
pub fn authz_config(config: &crate::config::Config) -> AuthzConfig {
    AuthzConfig {
        ui_base_url: config.frontend.base_url.clone(),
        hardened_idp_hints: config.hardened_idp_hints(),
        oidc_prefixes: config.oidc_prefixes(),
    }
}

/// Decides one review.
pub async fn decide(app: &App, cluster: &str, request: &SarRequest, now: Timestamp) -> Decision {
    let snap = snapshot(app, cluster, request).await;
    let config = &app.authz;
    let inputs: Vec<SessionInput<'_>> = snap
        .sessions
        .iter()
        .zip(&snap.overrides)
        .map(|(s, o)| SessionInput {
            session: s.as_ref(),
            pod_security_overrides: o.as_ref(),
        })
        .collect();
    let policies: Vec<&DenyPolicy> = snap.policies.iter().map(|p| p.as_ref()).collect();
    let mut input = AuthzInput {
        cluster_name: cluster,
        cluster: snap.cluster.as_ref(),
        request,
        sessions: &inputs,
        policies: &policies,
        debug_session: None,
        escalations_available: snap.escalations_available,
        idp: &snap.idp,
        namespace_labels: NamespaceLabels::NotFetched,
        pod: PodInfo::NotFetched,
        now,
    };
    let needs = authz::data_needs(&input);
    let labels = match &needs.namespace_labels {
        Some(ns) => Some(app.access.namespace_labels(cluster, ns).await),
        None => None,
    };
    let pod = match &needs.pod {
        Some(p) => Some(app.access.pod(cluster, &p.namespace, &p.name).await),
        None => None,
    };
    match &labels {
        Some(Ok(map)) => input.namespace_labels = NamespaceLabels::Known(map),
        Some(Err(e)) => {
            tracing::warn!(cluster, error = %e, "namespace labels unavailable");
            input.namespace_labels = NamespaceLabels::Unavailable;
        }
        None => {}
    }
    match &pod {
        Some(Ok(Some(p))) => input.pod = PodInfo::Known(p.as_ref()),
        Some(Ok(None)) => input.pod = PodInfo::Unavailable,
        Some(Err(e)) => {
            tracing::warn!(cluster, error = %e, "target pod unavailable");
            input.pod = PodInfo::Unavailable;
        }
        None => {}
    }
    match authz::precheck(&input, config) {
        PreCheck::Decided(d) => d,
        PreCheck::NeedsGroupCheck(plan) => {
            let label = metrics::bounded_cluster(&app.stores, cluster);
            let mut results = GroupCheckResults::default();
            'candidates: for candidate in &plan.candidates {
                let mut outcome = ProbeOutcome::NotAllowed;
                for spelling in &candidate.spellings {
                    match app.access.group_allowed(cluster, spelling, request).await {
                        Ok(true) => {
                            app.metrics
                                .session_sar_allowed
                                .get_or_create(&metrics::cluster(&label))
                                .inc();
                            results.sessions.push(SessionCheck {
                                namespace: candidate.namespace.clone(),
                                session: candidate.session.clone(),
                                outcome: ProbeOutcome::Allowed {
                                    group: spelling.clone(),
                                },
                            });
                            break 'candidates;
                        }
                        Ok(false) => {
                            app.metrics
                                .session_sar_denied
                                .get_or_create(&metrics::cluster(&label))
                                .inc();
                        }
                        Err(e) => {
                            app.metrics
                                .session_sar_errors
                                .get_or_create(&metrics::cluster(&label))
                                .inc();
                            tracing::warn!(cluster, session = %candidate.session, error = %e, "group check failed");
                            outcome = ProbeOutcome::Failed;
                        }
                    }
                }
                results.sessions.push(SessionCheck {
                    namespace: candidate.namespace.clone(),
                    session: candidate.session.clone(),
                    outcome,
                });
            }
            authz::finalize(plan, &results, config)
        }
    }
}
