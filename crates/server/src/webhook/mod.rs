//! The authorization webhook: target apiservers ask, for every request their own RBAC
//! does not allow, whether one of the user's breakglass sessions grants it.
//!
//! `POST /api/breakglass/webhook/authorize/{cluster}` (and the legacy
//! `/breakglass/webhook/authorize/{cluster}`) take an `authorization.k8s.io/v1`
//! SubjectAccessReview and answer it with HTTP 200. The decision is the pure pipeline of
//! `breakglass_core::authz`; this module reads the body with bounded sizes, gathers the
//! inputs synchronously from the watched state ([`snapshot`]; never from the hub),
//! fetches what the pipeline asks for from the target cluster (namespace labels, the
//! target pod), runs the group check through [`TargetAccess`], and records metrics,
//! activity and a log line for every grant. Errors answer through [`ApiError`].

#[cfg(test)]
mod differential_tests;
pub mod ephemeral;
pub mod hub_admission;
pub mod snapshot;

use std::time::Instant;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::FromRequest;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use breakglass_api::breakglass_escalation::PodSecurityOverrides;
use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_core::authz::policy_index::Relevant;
use breakglass_core::authz::{
    self, AuthzConfig, AuthzInput, Decision, GroupCheckPlan, GroupCheckResults, NamespaceLabels,
    PodInfo, PreCheck, ProbeOutcome, SarRequest, SessionCheck, SessionInput,
};
use jiff::Timestamp;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use serde_json::json;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::app::App;
use crate::error::ApiError;
use crate::http::AppState;
use crate::metrics;

pub use crate::target_access::{AccessError, KubeAccess, TargetAccess};
pub use breakglass_core::authz::review::{ReviewError, SAR_V1, SAR_V1BETA1, parse_review};
use snapshot::WatchedState;

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

/// The admission routes, served on the HTTPS listener (`server.tls`).
pub fn admission_router() -> axum::Router<AppState> {
    ephemeral::router().merge(hub_admission::router())
}

/// Bodies up to this size (far above a real review) are read on the async worker;
/// larger ones on the blocking pool, so that no body keeps the workers that answer
/// probes and other requests busy.
const INLINE_BODY_BYTES: usize = 64 * 1024;

/// Large bodies read at once (each bounded by the 1 MiB body limit). There is no queue:
/// when both are taken, another large review is refused with a 503 before its body is
/// read, so memory stays bounded under a flood.
static LARGE_READS: Semaphore = Semaphore::const_new(2);

/// Seconds a caller refused as busy is asked to wait.
const BUSY_RETRY_AFTER_SECS: &str = "1";

/// Why a review body was not read.
#[derive(Debug)]
enum ReadError {
    /// Every large-read slot is taken.
    Busy,
    /// The body exceeds [`crate::http::MAX_BODY_BYTES`].
    TooLarge,
    /// The body could not be received.
    Body(String),
    /// The body is not a review we answer.
    Review(ReviewError),
}

impl ReadError {
    fn into_response(self) -> Response {
        match self {
            Self::Busy => busy(),
            Self::TooLarge => ApiError::PayloadTooLarge(format!(
                "request body exceeds the limit of {} bytes",
                crate::http::MAX_BODY_BYTES
            ))
            .into_response(),
            Self::Body(message) => ApiError::BadRequest(message).into_response(),
            Self::Review(e) => ApiError::from(e).into_response(),
        }
    }
}

/// The 503 for a large review while all large-read slots are taken: `{error, code}` and
/// a Retry-After (built here rather than through [`ApiError`], which logs every 5xx as
/// an error; a flood must not flood the log too).
fn busy() -> Response {
    let e = ApiError::Unavailable(
        "the webhook is busy reading other large reviews; retry shortly".to_owned(),
    );
    let mut response = (
        e.status(),
        Json(json!({"error": e.to_string(), "code": e.code()})),
    )
        .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(BUSY_RETRY_AFTER_SECS),
    );
    response
}

/// A large-read slot, or [`ReadError::Busy`] at once (never a wait).
fn large_slot(reads: &Semaphore) -> Result<SemaphorePermit<'_>, ReadError> {
    reads.try_acquire().map_err(|_| ReadError::Busy)
}

/// Receives and parses a review body (see [`parse_review`]); large bodies only with a
/// slot of `reads` (taken before the body is received when its length is announced)
/// and parsed off the async workers.
async fn read_review(
    headers: &HeaderMap,
    body: Body,
    reads: &Semaphore,
) -> Result<(SarRequest, &'static str), ReadError> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut permit = match announced {
        Some(n) if n > INLINE_BODY_BYTES as u64 => Some(large_slot(reads)?),
        _ => None,
    };
    // The extractor recognises the body-limit layer's refusal (a 413) among body errors.
    let body = Bytes::from_request(axum::extract::Request::new(body), &())
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ReadError::TooLarge
            } else {
                ReadError::Body(rejection.body_text())
            }
        })?;
    if body.len() > crate::http::MAX_BODY_BYTES {
        return Err(ReadError::TooLarge);
    }
    if body.len() <= INLINE_BODY_BYTES {
        return parse_review(&body).map_err(ReadError::Review);
    }
    if permit.is_none() {
        permit = Some(large_slot(reads)?);
    }
    let parsed = tokio::task::spawn_blocking(move || parse_review(&body))
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "reading a review failed");
            Err(ReviewError::Invalid(
                "the review could not be read".to_owned(),
            ))
        });
    drop(permit);
    parsed.map_err(ReadError::Review)
}

/// A body that is not a review we answer is a 422 naming what is wrong (or which
/// limit it exceeds).
impl From<ReviewError> for ApiError {
    fn from(e: ReviewError) -> Self {
        Self::Unprocessable(e.to_string())
    }
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
    body: Body,
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
        return ApiError::Unauthorized(message).into_response();
    }
    // Only an authenticated caller's body is received and parsed, bounded while
    // deserializing: an oversized review is refused without being built.
    let (request, version) = match read_review(&headers, body, &LARGE_READS).await {
        Ok(r) => r,
        Err(ReadError::Busy) => {
            tracing::debug!(cluster = %label, "large review refused: the webhook is busy");
            return busy();
        }
        Err(e) => {
            if matches!(e, ReadError::Review(_)) {
                app.metrics
                    .webhook_malformed
                    .get_or_create(&metrics::cluster(&label))
                    .inc();
            }
            return e.into_response();
        }
    };
    let now = Timestamp::now();
    let decision = decide(app, &cluster, &request, now).await;
    let elapsed = started.elapsed().as_secs_f64();
    app.metrics.observe_decision(&label, &decision, elapsed);
    app.metrics.revocation.decided(
        &cluster,
        &request.user,
        decision.trace.allowing_session(),
        now,
        |ns, name| app.stores.sessions.get(Some(ns), name),
    );
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
    // Handed to a bounded queue; never waits (see crate::audit).
    app.audit.access(&cluster, request, &decision);
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
    decide_with(app, cluster, request, now, None).await
}

/// A session that does not exist, to ask "what if the user held it": the decision then
/// sees only this session (none of the user's real sessions, no debug session).
#[derive(Debug, Clone, Copy)]
pub struct Hypothetical<'a> {
    /// The session, built as an active one.
    pub session: &'a BreakglassSession,
    /// Its escalation's pod-security overrides.
    pub overrides: Option<&'a PodSecurityOverrides>,
}

/// Decides one review from the watched state, the way [`decide`] does; with
/// `hypothetical`, as if the user's only session were that one (the REST endpoint that
/// finds the escalations allowing a request).
pub async fn decide_with(
    app: &App,
    cluster: &str,
    request: &SarRequest,
    now: Timestamp,
    hypothetical: Option<Hypothetical<'_>>,
) -> Decision {
    let watched = WatchedState {
        stores: &app.stores,
        sessions: &app.sessions_by_user,
        debug_sessions: &app.debug_sessions_by_user,
        escalations: &app.escalations_by_cluster,
        policies: &app.deny_policies_by_cluster,
        prefixes: app.prefixes(),
    };
    let snap = watched.snapshot(cluster, request);
    // Only the policies that can change this request's decision, in evaluation order
    // (non-resource requests are not subject to DenyPolicies).
    let policies: Relevant<'_> = match (&snap.policies, request.resource()) {
        (Some(prepared), Some(r)) => prepared.relevant(r),
        _ => Relevant::new(),
    };
    // The owners' pod-security overrides are read by pod-security rules alone.
    let owners = if policies.iter().any(|p| p.spec.pod_security_rules.is_some()) {
        watched.owners(&snap.sessions)
    } else {
        Vec::new()
    };
    let inputs: Vec<SessionInput<'_>> = match hypothetical {
        Some(h) => vec![SessionInput {
            session: h.session,
            pod_security_overrides: h.overrides,
        }],
        None => snap
            .sessions
            .iter()
            .enumerate()
            .map(|(i, s)| SessionInput {
                session: s.as_ref(),
                pod_security_overrides: owners
                    .get(i)
                    .and_then(Option::as_ref)
                    .and_then(|e| e.spec.pod_security_overrides.as_ref()),
            })
            .collect(),
    };
    // Debug-session access decides before DenyPolicies; `log_decision` logs the grant
    // with the session named in the reason.
    let debug_allow = if hypothetical.is_some() {
        None
    } else {
        breakglass_core::debug::access::pod_access(
            snap.debug_sessions.iter().map(|s| s.as_ref()),
            cluster,
            request,
            now,
        )
    };
    let mut input = AuthzInput {
        cluster_name: cluster,
        cluster: snap.cluster.as_ref(),
        request,
        sessions: &inputs,
        policies: &policies,
        debug_session: debug_allow.as_ref(),
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
        Some(Ok(Some(map))) => input.namespace_labels = NamespaceLabels::Known(map),
        Some(Ok(None)) => input.namespace_labels = NamespaceLabels::Missing,
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
    match authz::precheck(&input, &app.authz) {
        PreCheck::Decided(d) => d,
        PreCheck::NeedsGroupCheck(plan) => {
            let results = group_check(app, cluster, request, &plan).await;
            authz::finalize(plan, &results, &app.authz)
        }
    }
}

/// Asks the target cluster about each candidate's spellings, in order, until one allows.
async fn group_check(
    app: &App,
    cluster: &str,
    request: &SarRequest,
    plan: &GroupCheckPlan,
) -> GroupCheckResults {
    let label = metrics::bounded_cluster(&app.stores, cluster);
    let counter = |c: &Family<metrics::ClusterLabel, Counter>| {
        c.get_or_create(&metrics::cluster(&label)).inc();
    };
    let mut results = GroupCheckResults::default();
    for candidate in &plan.candidates {
        let mut outcome = ProbeOutcome::NotAllowed;
        for spelling in &candidate.spellings {
            match app.access.group_allowed(cluster, spelling, request).await {
                Ok(true) => {
                    counter(&app.metrics.session_sar_allowed);
                    results.sessions.push(SessionCheck {
                        namespace: candidate.namespace.clone(),
                        session: candidate.session.clone(),
                        outcome: ProbeOutcome::Allowed {
                            group: spelling.clone(),
                        },
                    });
                    return results;
                }
                Ok(false) => counter(&app.metrics.session_sar_denied),
                Err(e) => {
                    counter(&app.metrics.session_sar_errors);
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
    results
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const REVIEW: &str = r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"alice","nonResourceAttributes":{"path":"/healthz","verb":"get"}}}"#;

    /// A valid review padded with whitespace to `len` bytes.
    fn padded(len: usize) -> String {
        format!("{REVIEW}{}", " ".repeat(len.saturating_sub(REVIEW.len())))
    }

    fn announced(len: usize) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        h
    }

    /// Regression: large reviews waited for a slot without limit, each holding its body.
    #[tokio::test]
    async fn large_reviews_are_refused_when_busy_never_queued() {
        let none = Semaphore::new(0);
        let big = padded(INLINE_BODY_BYTES + 1);
        // A wait for a slot (the old queue) fails the test instead of hanging it.
        let at_once = |headers: HeaderMap, body: String| {
            let none = &none;
            async move {
                tokio::time::timeout(
                    std::time::Duration::from_secs(2),
                    read_review(&headers, Body::from(body), none),
                )
                .await
                .expect("a busy large read must not wait")
            }
        };
        // Announced: refused before the body is received.
        let r = at_once(announced(big.len()), big.clone()).await;
        assert!(matches!(r, Err(ReadError::Busy)), "{r:?}");
        // Not announced (chunked): refused once it turns out large.
        let r = at_once(HeaderMap::new(), big.clone()).await;
        assert!(matches!(r, Err(ReadError::Busy)), "{r:?}");
        // Small reviews need no slot.
        let r = read_review(&announced(REVIEW.len()), Body::from(REVIEW), &none).await;
        assert!(r.is_ok(), "{r:?}");
        // With a slot free, a large review is read and the slot given back.
        let one = Semaphore::new(1);
        let r = read_review(&announced(big.len()), Body::from(big), &one).await;
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(one.available_permits(), 1);
        // Too large for the body limit.
        let huge = padded(crate::http::MAX_BODY_BYTES + 1);
        let r = read_review(&HeaderMap::new(), Body::from(huge), &one).await;
        assert!(matches!(r, Err(ReadError::TooLarge)), "{r:?}");
    }

    #[tokio::test]
    async fn busy_is_a_json_503_with_retry_after() {
        let response = busy();
        assert_eq!(response.status(), 503);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER).unwrap(),
            BUSY_RETRY_AFTER_SECS
        );
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["code"], "SERVICE_UNAVAILABLE");
        assert!(v["error"].as_str().unwrap().contains("busy"), "{v}");
    }
}
