//! `POST /api/breakglassSessions`: the checks that need I/O (cluster, escalation, the
//! creation lock, the hub's sessions) around the pure rules of
//! [`breakglass_core::session::plan`].

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_api::cluster_config::ClusterConfig;
use breakglass_api::labels;
use breakglass_api::rest::sessions::CreatedSession;
use breakglass_core::escalation::{self as esc_core, strip_prefix};
use breakglass_core::limits;
use breakglass_core::session::plan::{self, Plan};
use breakglass_core::session::{self as sm};
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};

use super::{CreateSessionRequest, now};
use crate::app::App;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::events::EventKind;
use crate::http::{AppState, Caller};
use crate::identity::{self, Person};
use crate::metrics;
use crate::rest::body;
use crate::rest::views;
use crate::session_writes;
use crate::store::ClusterLookup;

/// `POST /api/breakglassSessions`.
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let session = request(&state, &caller, &body).await?;
    Ok((StatusCode::CREATED, Json(views::session(&session))).into_response())
}

/// `POST /api/breakglass/request`: the path the feature documents show. Same as
/// [`create`], with the session name also at the top level (`.name`).
pub async fn create_alias(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let session = request(&state, &caller, &body).await?;
    let created = CreatedSession {
        name: session.metadata.name.clone().unwrap_or_default(),
        session: views::session(&session),
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// A refusal that is also counted in `session_create_failed{reason}`.
fn refuse(app: &App, cluster: &str, reason: &str, err: ApiError) -> ApiError {
    app.metrics
        .session_create_failed
        .get_or_create(&metrics::ClusterReasonLabel {
            cluster: metrics::bounded_cluster(&app.stores, cluster),
            reason: reason.to_owned(),
        })
        .inc();
    err
}

/// The registered, ready cluster the caller may use, and the caller's user name on it.
fn admit_cluster(
    app: &App,
    caller: &Identity,
    cluster: &str,
    requested_user: Option<&str>,
) -> Result<(Arc<ClusterConfig>, Person), ApiError> {
    let no = |reason: &str, msg: String| refuse(app, cluster, reason, ApiError::forbidden(msg));
    let cc = match app.stores.cluster(cluster) {
        ClusterLookup::Found(cc) => cc,
        ClusterLookup::Missing => {
            return Err(no(
                "cluster_not_registered",
                format!("cluster {cluster:?} is not registered with Breakglass"),
            ));
        }
        ClusterLookup::Ambiguous => {
            return Err(no(
                "cluster_ambiguous",
                format!("cluster {cluster:?} is ambiguous: several ClusterConfigs share the name"),
            ));
        }
    };
    let me = Person::of_caller(caller, identity::claim_for(&app.config, Some(&cc)))?;
    // The requested user must be exactly the caller's user name on this cluster.
    if requested_user.is_some_and(|u| u != me.id) {
        return Err(no(
            "user_mismatch",
            "the requested user does not match your identity; sessions can only be requested for yourself".to_owned(),
        ));
    }
    if !cc.is_ready() {
        return Err(no(
            "cluster_not_ready",
            format!(
                "cluster {cluster:?} is not ready; try again later or contact the platform team"
            ),
        ));
    }
    if let Some(refs) = cc
        .spec
        .identity_provider_refs
        .as_deref()
        .filter(|r| !r.is_empty())
        && !refs.contains(&caller.provider)
    {
        return Err(no(
            "idp_not_allowed",
            format!(
                "your identity provider {:?} is not allowed for cluster {cluster:?}",
                caller.provider
            ),
        ));
    }
    Ok((cc, me))
}

/// A session request through either path: the per-person budget first, then the request.
async fn request(
    state: &AppState,
    caller: &Identity,
    body: &[u8],
) -> Result<BreakglassSession, ApiError> {
    limit_creation(state, caller)?;
    create_session(&state.app, caller, body).await
}

/// The per-person budget of session requests (see `rateLimits.sessionCreation`).
fn limit_creation(state: &AppState, caller: &Identity) -> Result<(), ApiError> {
    let person = crate::identity::limit_key(caller);
    state.limits.check_creation(&person).map_err(|wait| {
        tracing::debug!(issuer = %caller.issuer, "session request refused by the creation rate limit");
        ApiError::too_many(wait, "user's session requests")
    })
}

async fn create_session(
    app: &App,
    caller: &Identity,
    raw: &[u8],
) -> Result<BreakglassSession, ApiError> {
    let req: CreateSessionRequest = body::strict(raw)?;
    let cluster = req.cluster.trim();
    let group = req.group.trim();
    if cluster.is_empty() || group.is_empty() {
        return Err(ApiError::Unprocessable(
            "missing input request data: cluster and group are required".to_owned(),
        ));
    }
    let requested_user = req.user.as_deref().map(str::trim).filter(|u| !u.is_empty());
    let (cc, me) = admit_cluster(app, caller, cluster, requested_user)?;
    let prefixes = app.prefixes();
    let groups = identity::groups(prefixes, caller);
    let escalations = app.stores.escalations.all();
    let request = esc_core::Request {
        cluster,
        user_groups: &groups,
        provider: Some(caller.provider.as_str()),
    };
    let matching = esc_core::matching(
        escalations.iter().map(|e| e.as_ref()),
        &request,
        group,
        prefixes,
    );
    let Some(escalation) = matching.first().copied() else {
        return Err(refuse(
            app,
            cluster,
            "no_escalation",
            ApiError::forbidden(format!(
                "user not authorized for requested group {group:?} on cluster {cluster:?}: no ready escalation offers it to your groups"
            )),
        ));
    };
    let plan = plan::plan(&plan::Request {
        cluster,
        cluster_config: cc.metadata.name.as_deref().unwrap_or(cluster),
        cluster_restricts_idps: cc
            .spec
            .identity_provider_refs
            .as_ref()
            .is_some_and(|r| !r.is_empty()),
        user: &me.id,
        provider: &caller.provider,
        issuer: &caller.issuer,
        escalation,
        reason: req.reason.as_deref(),
        duration_secs: req.duration,
        scheduled_start: req.scheduled_start_time.as_deref(),
        min_schedule_lead: app.settings.min_schedule_lead,
        now: now(),
    })?;

    // Across replicas: one creation per triple at a time, then an authoritative look
    // at the hub for a session that already holds the slot.
    let bare_group = strip_prefix(group, prefixes);
    let lock_name = crate::creation_lock::lock_name(cluster, &me.id, bare_group);
    let Some(lock) = crate::creation_lock::CreationLock::acquire(
        &app.hub,
        &app.settings.lock_namespace,
        &app.settings.identity,
        &lock_name,
    )
    .await?
    else {
        return Err(refuse(
            app,
            cluster,
            "in_progress",
            ApiError::conflict("session creation already in progress"),
        ));
    };
    let result = create_locked(app, caller, &groups, escalation, plan).await;
    lock.release().await;
    result
}

/// The sessions of the hub for the cluster and group, read live.
async fn live_sessions(
    app: &App,
    cluster: &str,
    group: &str,
) -> Result<Vec<BreakglassSession>, ApiError> {
    let api: Api<BreakglassSession> = Api::all(app.hub.clone());
    let selector = format!(
        "{}={},{}={}",
        labels::SESSION_CLUSTER,
        plan::label_value(cluster),
        labels::SESSION_GROUP,
        plan::label_value(group)
    );
    Ok(api
        .list(&ListParams::default().labels(&selector))
        .await?
        .items)
}

/// Under the creation lock: the duplicate slot (live from the hub), the limits (from
/// the mirror: a budget, not an exclusion), then the create and the initial status.
async fn create_locked(
    app: &App,
    caller: &Identity,
    groups: &[String],
    escalation: &BreakglassEscalation,
    plan: Plan,
) -> Result<BreakglassSession, ApiError> {
    let Plan {
        session,
        approval_timeout,
        scheduled_start,
    } = plan;
    let cluster = session.spec.cluster.clone();
    let now = now();
    let me = identity::Me::new(caller, &app.config, &app.stores);
    let owned = |s: &BreakglassSession| me.owns(s);
    let live = live_sessions(app, &cluster, &session.spec.granted_group).await?;
    if let Some((existing, kind)) = plan::duplicate(
        &live,
        owned,
        &cluster,
        &session.spec.granted_group,
        app.prefixes(),
        now,
    ) {
        return Err(refuse(
            app,
            &cluster,
            "duplicate",
            ApiError::Conflict {
                message: kind.message().to_owned(),
                existing: Some(views::session_json(existing)),
            },
        ));
    }
    let idp = app.stores.identity_providers.get(None, &caller.provider);
    let limits = limits::effective(
        escalation.spec.session_limits_override.as_ref(),
        idp.as_ref().and_then(|i| i.spec.session_limits.as_ref()),
        groups,
    );
    let sessions = app.stores.sessions.all();
    plan::check_limits(
        limits,
        sessions.iter().map(|s| s.as_ref()),
        owned,
        escalation,
        now,
    )
    .map_err(|e| refuse(app, &cluster, "session_limit", e.into()))?;

    let namespace = session.metadata.namespace.clone().unwrap_or_default();
    let api: Api<BreakglassSession> = Api::namespaced(app.hub.clone(), &namespace);
    let created = api.create(&PostParams::default(), &session).await?;
    let name = created.metadata.name.clone().unwrap_or_default();
    let status =
        sm::initial_status(now, approval_timeout).map_err(|e| ApiError::Internal(e.to_string()))?;
    let written = match session_writes::write_status(&app.hub, &created, status).await {
        Ok(s) => s,
        Err(e) => {
            // Never leave a stateless session behind: it would block new requests.
            let _ = api.delete(&name, &DeleteParams::default()).await;
            return Err(ApiError::Internal(format!(
                "initialising session status: {e}"
            )));
        }
    };
    app.metrics
        .session_created
        .get_or_create(&metrics::cluster(&cluster))
        .inc();
    tracing::info!(
        session = %name, namespace = %namespace, cluster = %cluster, user = %written.spec.user,
        issuer = %caller.issuer, group = %written.spec.granted_group,
        escalation = escalation.metadata.name.as_deref().unwrap_or_default(),
        scheduled = scheduled_start.is_some(), "session requested"
    );
    app.events
        .emit(EventKind::Requested, &written.spec.user, &written);
    Ok(written)
}
