//! `POST /api/debugSessions`: request a debug session.
//!
//! Order: rate limit, strict body, bounds; the template (404) and whether any route
//! admits the caller at all (403) before the cluster is looked up, so a caller without
//! rights learns nothing about clusters; then the cluster (name, ClusterConfig ID or
//! unique tenant; 409 for a name several ClusterConfigs share, 403 unknown or not
//! Ready), the route ([`resolve::choose`]), the request's fields ([`request::plan`]);
//! finally, under creation locks serialised across replicas, the limits against the
//! hub's live sessions and the create. The session is created without status: the
//! leader's reconciler resolves and activates it.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use breakglass_api::cluster_config::ClusterConfig;
use breakglass_api::debug_session::DebugSession;
use breakglass_api::{DebugSessionClusterBinding, DebugSessionTemplate};
use breakglass_core::debug::request::{self, Asked, Context, LiveNamespace};
use breakglass_core::debug::resolve::{
    self, Ask, admits, binding_active, binding_applies, effective_allowed,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::{Value, json};

use super::catalogue::{RequesterOwned, Snapshot};
use crate::app::App;
use crate::auth::Identity;
use crate::creation_lock::{CreationLock, lock_name};
use crate::error::ApiError;
use crate::events::DebugEventKind;
use crate::http::{AppState, Caller};
use crate::identity;
use crate::rest::body;
use crate::rest::views;
use crate::store::ClusterLookup;

/// Longest template, cluster or binding reference accepted.
const MAX_REF_LEN: usize = 317;
/// Longest raw reason accepted before sanitising.
const MAX_RAW_REASON: usize = 4096;
/// How long a request waits for another creation on the same template or binding.
const LOCK_WAIT: Duration = Duration::from_secs(5);
/// How long reading the target namespace's labels may take.
const NAMESPACE_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest target error quoted in a refusal.
const MAX_REASON_LEN: usize = 300;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/debugSessions", post(create))
        .route("/api/v1/debug-sessions", post(create))
}

pub use breakglass_api::rest::debug::CreateDebugSessionRequest;
use breakglass_api::rest::debug::CreatedDebugSession;

fn bad(message: String) -> ApiError {
    ApiError::BadRequest(message)
}

fn bounded(field: &str, value: &str) -> Result<(), ApiError> {
    if value.len() > MAX_REF_LEN {
        return Err(bad(format!("{field}: at most {MAX_REF_LEN} characters")));
    }
    Ok(())
}

/// Required fields, lengths and the namespace alias.
fn check_shape(req: &CreateDebugSessionRequest) -> Result<Option<String>, ApiError> {
    if req.template_ref.trim().is_empty() {
        return Err(bad("templateRef: required".to_owned()));
    }
    if req.cluster.trim().is_empty() {
        return Err(bad("cluster: required".to_owned()));
    }
    bounded("templateRef", &req.template_ref)?;
    bounded("cluster", &req.cluster)?;
    if let Some(b) = &req.binding_ref {
        bounded("bindingRef", b)?;
    }
    if req
        .reason
        .as_ref()
        .is_some_and(|r| r.len() > MAX_RAW_REASON)
    {
        return Err(bad(format!("reason: at most {MAX_RAW_REASON} bytes")));
    }
    for (field, v) in [
        ("namespace", &req.namespace),
        ("targetNamespace", &req.target_namespace),
        ("selectedSchedulingOption", &req.selected_scheduling_option),
        ("requestedDuration", &req.requested_duration),
    ] {
        if let Some(v) = v {
            bounded(field, v)?;
        }
    }
    let alias = req
        .namespace
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let target = req
        .target_namespace
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match (alias, target) {
        (Some(a), Some(t)) if a != t => Err(bad(
            "namespace: deprecated alias of targetNamespace; they differ, send only targetNamespace"
                .to_owned(),
        )),
        (a, t) => Ok(t.or(a).map(str::to_owned)),
    }
}

/// `POST /api/debugSessions`: 201 with the new DebugSession and `warnings`.
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    raw: Bytes,
) -> Result<Response, ApiError> {
    state
        .limits
        .check_creation(&identity::limit_key(&caller))
        .map_err(|wait| ApiError::too_many(wait, "user's session requests"))?;
    let req: CreateDebugSessionRequest =
        body::strict(&raw).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let target_namespace = check_shape(&req)?;
    let (session, warnings) = request_session(&state.app, &caller, &req, target_namespace).await?;
    // The explicit client view (no annotations, managed fields or finalizers); a new
    // session has no status yet.
    let out = CreatedDebugSession {
        api_version: breakglass_api::API_VERSION.to_owned(),
        kind: "DebugSession".to_owned(),
        metadata: views::meta(&session.metadata),
        spec: session.spec,
        status: session.status,
        warnings,
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// The ClusterConfig a request names: name or cluster ID (several ClusterConfigs of
/// that name: 409), else a unique `spec.tenant` (several: 403), else 403.
fn find_cluster(app: &App, name: &str) -> Result<Arc<ClusterConfig>, ApiError> {
    match app.stores.cluster(name) {
        ClusterLookup::Found(cc) => Ok(cc),
        ClusterLookup::Ambiguous => Err(ApiError::conflict(format!(
            "cluster {name:?} is ambiguous: several ClusterConfigs share the name"
        ))),
        ClusterLookup::Missing => {
            let mut by_tenant = app
                .stores
                .clusters
                .filter(|c| c.spec.tenant.as_deref() == Some(name));
            match by_tenant.len() {
                1 => by_tenant
                    .pop()
                    .ok_or_else(|| ApiError::Internal("tenant lookup".to_owned())),
                0 => Err(ApiError::forbidden(format!(
                    "cluster {name:?} is not configured for debug sessions"
                ))),
                _ => Err(ApiError::forbidden(format!(
                    "tenant {name:?} names several clusters; request one by its cluster name"
                ))),
            }
        }
    }
}

/// True when some route of the template (its own or an active binding's) admits the
/// requester anywhere.
fn admitted_anywhere(
    template: &DebugSessionTemplate,
    bindings: &[&DebugSessionClusterBinding],
    requester: &resolve::Requester<'_>,
    now: jiff::Timestamp,
) -> bool {
    let own = template.spec.allowed.as_ref().is_some_and(|a| {
        a.clusters.as_ref().is_some_and(|c| !c.is_empty()) || a.cluster_selector.is_some()
    }) && admits(effective_allowed(&template.spec, None), requester);
    own || bindings.iter().any(|b| {
        binding_active(&b.spec, now)
            && binding_applies(&b.spec, template)
            && admits(effective_allowed(&template.spec, Some(&b.spec)), requester)
    })
}

fn resolve_error(e: &resolve::ResolveError) -> ApiError {
    if e.is_bad_request() {
        ApiError::BadRequest(format!("bindingRef: {e}"))
    } else {
        ApiError::forbidden(e.to_string())
    }
}

fn request_error(e: request::RequestError) -> ApiError {
    match e {
        request::RequestError::Invalid { .. } => ApiError::BadRequest(e.to_string()),
        request::RequestError::Forbidden { .. } => ApiError::forbidden(e.to_string()),
    }
}

/// Everything up to the create: the session to write and its warnings.
async fn request_session(
    app: &App,
    caller: &Identity,
    req: &CreateDebugSessionRequest,
    target_namespace: Option<String>,
) -> Result<(DebugSession, Vec<String>), ApiError> {
    let snapshot = Snapshot::take(app)?;
    let template_name = req.template_ref.trim();
    let template = app
        .stores
        .debug_templates
        .get(None, template_name)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "debug session template {template_name:?} not found"
            ))
        })?;
    let cluster_arg = req.cluster.trim();
    let now = jiff::Timestamp::now();
    let bindings = snapshot.bindings();
    // Before the cluster is known, the caller is named under the claim of the cluster
    // the argument names (the server-wide claim when it names none).
    let claim = identity::claim_for_cluster(&app.config, &app.stores, cluster_arg);
    let first = RequesterOwned::new(app, caller, claim);
    if !admitted_anywhere(&template, &bindings, &first.as_requester(), now) {
        return Err(ApiError::forbidden(format!(
            "you are not allowed to request debug session template {template_name:?}"
        )));
    }
    let cc = find_cluster(app, cluster_arg)?;
    let cluster = resolve::cluster_name(&cc).to_owned();
    if !cc.is_ready() {
        return Err(ApiError::forbidden(format!(
            "cluster {cluster:?} is not ready; try again later"
        )));
    }
    // The session's user is the cluster's claim, exactly as its apiserver names users.
    let me = RequesterOwned::strict(app, caller, identity::claim_for(&app.config, Some(&cc)))?;
    let requester = me.as_requester();
    let choice = resolve::choose(
        &template,
        &bindings,
        &cc,
        &Ask {
            requester: &requester,
            binding_ref: req
                .binding_ref
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty()),
            now,
        },
    )
    .map_err(|e| resolve_error(&e))?;
    let ctx = Context {
        template: &template,
        binding: choice.binding,
        effective: &choice.effective,
        cluster: &cluster,
        requester: &requester,
        display_name: caller.name.as_deref(),
    };
    let mut asked = Asked {
        requested_duration: req.requested_duration.as_deref(),
        node_selector: req.node_selector.as_ref(),
        target_namespace: target_namespace.as_deref(),
        reason: req.reason.as_deref(),
        invited_participants: req.invited_participants.as_deref(),
        selected_scheduling_option: req.selected_scheduling_option.as_deref(),
        extra_deploy_values: req.extra_deploy_values.as_ref(),
        live_namespace: None,
    };
    let live = match request::namespace_to_read(&ctx, &asked).map_err(request_error)? {
        Some(ns) => Some(read_namespace(app, &cluster, &ns).await?),
        None => None,
    };
    asked.live_namespace = live.as_ref();
    let planned = request::plan(&ctx, &asked).map_err(request_error)?;
    let nanos = u128::try_from(now.as_nanosecond()).unwrap_or_default();
    let name = request::session_name(&me.user, &cluster, nanos);
    let mut session = DebugSession::new(&name, planned.spec);
    session.metadata.namespace = cc.metadata.namespace.clone();
    session.metadata.labels = Some(request::session_labels(&name, template_name, &cluster));
    let created = create_locked(app, &template, choice.binding, session).await?;
    tracing::info!(
        session = %name,
        namespace = created.metadata.namespace.as_deref().unwrap_or_default(),
        cluster = %cluster, template = %template_name, user = %me.user, issuer = %caller.issuer,
        binding = ?choice.binding.map(resolve::binding_key),
        target_namespace = created.spec.target_namespace.as_deref().unwrap_or_default(),
        "debug session requested"
    );
    app.events.emit_debug(
        DebugEventKind::Created,
        &me.user,
        created.spec.reason.as_deref(),
        &created,
    );
    Ok((created, planned.warnings))
}

/// The target namespace as the target sees it now (its labels decide whether it
/// may be used). Any failure refuses the request (fail closed), naming the namespace.
async fn read_namespace(app: &App, cluster: &str, ns: &str) -> Result<LiveNamespace, ApiError> {
    let refuse = |reason: String| {
        let reason: String = reason.chars().take(MAX_REASON_LEN).collect();
        ApiError::BadRequest(format!(
            "targetNamespace: cannot read namespace {ns:?} on cluster {cluster:?} to check its labels: {reason}"
        ))
    };
    let read = async {
        let client = app.clusters.get(cluster).await.map_err(|e| e.to_string())?;
        Api::<Namespace>::all(client)
            .get_metadata_opt(ns)
            .await
            .map_err(|e| e.to_string())
    };
    match tokio::time::timeout(NAMESPACE_READ_TIMEOUT, read).await {
        Err(_) => Err(refuse(format!(
            "no answer within {}s",
            NAMESPACE_READ_TIMEOUT.as_secs()
        ))),
        Ok(Err(e)) => Err(refuse(e)),
        Ok(Ok(None)) => Ok(LiveNamespace::Missing),
        Ok(Ok(Some(meta))) => Ok(LiveNamespace::Exists(
            meta.metadata.labels.unwrap_or_default(),
        )),
    }
}

/// Takes a creation lock, waiting up to [`LOCK_WAIT`] for another creation to finish.
async fn lock(app: &App, name: &str) -> Result<CreationLock, ApiError> {
    let deadline = tokio::time::Instant::now() + LOCK_WAIT;
    loop {
        if let Some(l) = CreationLock::acquire(
            &app.hub,
            &app.settings.lock_namespace,
            &app.settings.identity,
            name,
        )
        .await?
        {
            return Ok(l);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::conflict(
                "another debug session request for this template is being created; retry",
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Under the template's (and binding's) creation lock: the limits, counted over the
/// hub's live sessions, then the create.
async fn create_locked(
    app: &App,
    template: &DebugSessionTemplate,
    binding: Option<&DebugSessionClusterBinding>,
    session: DebugSession,
) -> Result<DebugSession, ApiError> {
    let tname = template.metadata.name.as_deref().unwrap_or_default();
    let template_lock = lock(app, &lock_name("debug-template", tname, "")).await?;
    let binding_lock = match binding {
        Some(b) => {
            let (ns, name) = resolve::binding_key(b);
            match lock(app, &lock_name("debug-binding", ns, name)).await {
                Ok(l) => Some(l),
                Err(e) => {
                    template_lock.release().await;
                    return Err(e);
                }
            }
        }
        None => None,
    };
    let result = async {
        let live: Api<DebugSession> = Api::all(app.hub.clone());
        let sessions = live.list(&ListParams::default()).await?.items;
        request::check_limits(&sessions, template, binding, &session.spec.requested_by)
            .map_err(|e| ApiError::forbidden(e.to_string()))?;
        let ns = session.metadata.namespace.clone().unwrap_or_default();
        let api: Api<DebugSession> = Api::namespaced(app.hub.clone(), &ns);
        Ok::<_, ApiError>(api.create(&PostParams::default(), &session).await?)
    }
    .await;
    if let Some(l) = binding_lock {
        l.release().await;
    }
    template_lock.release().await;
    result
}

/// OpenAPI paths of this module (`POST` only: the list is another module's).
pub fn openapi(generator: &mut schemars::SchemaGenerator) -> serde_json::Map<String, Value> {
    use crate::rest::openapi::error_response;
    let body = generator
        .subschema_for::<CreateDebugSessionRequest>()
        .to_value();
    let op = json!({"post": {
    "summary": "Request a debug session: created without status (the reconciler resolves, asks for approval or activates)",
    "security": [{"bearer": []}],
    "requestBody": {"required": true, "content": {"application/json": {"schema": body}}},
    "responses": {
        "201": {"description": "The DebugSession object plus `warnings: [string]` (e.g. `Target namespace defaulted to 'X'`)"},
        "400": error_response("Invalid body (unknown field, missing templateRef/cluster), or a field refused: requestedDuration over maxDuration, reason rules, targetNamespace not allowed (by name, or by the live labels of the namespace on the target: missing there without createIfNotExists, or unreadable), unknown scheduling option, required option without a default, or nodeSelector conflict, undeclared extraDeployValues key or a value refused by its variable's type and rules (`extraDeployValues.<name>: …`), unknown or malformed bindingRef; the message starts with the field"),
        "401": error_response("Missing or invalid bearer token, or no user claim"),
        "403": error_response("Not allowed: no route admits the caller, the cluster is unknown, ambiguous by tenant or not Ready, the template is not available there, bindingRef inactive / for another template or cluster / not admitting the caller, scheduling option, variable or variable option not allowed for the caller (allowedUsers/allowedGroups), or a limit reached (maxConcurrentSessions, maxActiveSessionsPerUser, maxActiveSessionsTotal)"),
        "404": error_response("No such template"),
        "409": error_response("Several ClusterConfigs share the cluster name, or another creation for the template held the lock too long"),
        "429": error_response("Session creation rate limit (rateLimits.sessionCreation)"),
    }}});
    let mut paths = serde_json::Map::new();
    paths.insert("/api/debugSessions".to_owned(), op.clone());
    paths.insert("/api/v1/debug-sessions".to_owned(), op);
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list (another module) and the create share `/api/debugSessions`: merging
    /// a GET route there with these routes must not panic.
    #[test]
    fn list_and_create_share_the_path() {
        let list: Router<AppState> = Router::new()
            .route("/api/debugSessions", axum::routing::get(|| async { "" }))
            .route(
                "/api/v1/debug-sessions",
                axum::routing::get(|| async { "" }),
            );
        let _merged = list.merge(routes());
    }

    #[test]
    fn shape_checks_name_the_field() {
        let req =
            |v: Value| serde_json::from_value::<CreateDebugSessionRequest>(v).unwrap_or_default();
        for (body, field) in [
            (json!({"cluster": "c"}), "templateRef"),
            (json!({"templateRef": "t"}), "cluster"),
            (
                json!({"templateRef": "t", "cluster": "c".repeat(400)}),
                "cluster",
            ),
            (
                json!({"templateRef": "t", "cluster": "c", "namespace": "a", "targetNamespace": "b"}),
                "namespace",
            ),
            (
                json!({"templateRef": "t", "cluster": "c", "reason": "r".repeat(5000)}),
                "reason",
            ),
        ] {
            let err = check_shape(&req(body))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.starts_with(field), "{field}: {err}");
        }
        let alias = req(json!({"templateRef": "t", "cluster": "c", "namespace": "a"}));
        assert_eq!(check_shape(&alias).ok().flatten().as_deref(), Some("a"));
    }
}
