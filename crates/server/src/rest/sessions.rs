//! `/api/breakglassSessions`: request, list, read and decide on sessions.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_api::breakglass_session::{
    BreakglassSession, BreakglassSessionSpec, BreakglassSessionState as SessionState,
};
use breakglass_api::labels;
use breakglass_core::approval::{self, Approver, ClusterPolicy, Denial};
use breakglass_core::duration::GoDuration;
use breakglass_core::escalation::{self as esc_core, strip_prefix};
use breakglass_core::limits;
use breakglass_core::session::{self as sm, SessionEvent, TransitionError};
use breakglass_core::user_reason::{ReasonError, sanitize_reason};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde::Deserialize;
use serde_json::{Value, json};

use super::body;
use crate::app::App;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::events::EventKind;
use crate::http::{AppState, Caller};
use crate::identity;
use crate::metrics;
use crate::session_writes::{self, WriteError};
use crate::store::ClusterLookup;

/// The shortest duration a requester may ask for, in seconds.
pub const MIN_DURATION_SECS: i64 = 60;

/// Body of `POST /api/breakglassSessions`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSessionRequest {
    /// Target cluster (ClusterConfig name).
    #[serde(default)]
    pub cluster: String,
    /// Requesting user; defaults to the caller and must name the caller.
    #[serde(default)]
    pub user: Option<String>,
    /// The group to be granted (an escalation's `escalatedGroup`).
    #[serde(default)]
    pub group: String,
    /// Why access is needed.
    #[serde(default)]
    pub reason: Option<String>,
    /// Requested validity in seconds (at least 60, at most the escalation's `maxValidFor`;
    /// 0 or absent means `maxValidFor`).
    #[serde(default)]
    pub duration: Option<i64>,
    /// RFC 3339 start time, at least 5 minutes ahead.
    #[serde(default)]
    pub scheduled_start_time: Option<String>,
}

/// Body of the approve and reject actions.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// The approver's reason (mandatory when the escalation says so).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Query of `GET /api/breakglassSessions`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// Only sessions of this cluster.
    pub cluster: Option<String>,
    /// Only sessions of this user.
    pub user: Option<String>,
    /// Only sessions granting this group.
    pub group: Option<String>,
    /// Include the caller's own sessions.
    pub mine: Option<bool>,
    /// Include sessions the caller may approve (default true unless `mine` or `approvedByMe`).
    pub approver: Option<bool>,
    /// Include sessions the caller approved, rejected or cancelled.
    pub approved_by_me: Option<bool>,
    /// Only sessions that grant access now.
    pub active_only: Option<bool>,
    /// Comma-separated states (`pending`, `approved`, `waiting`, `rejected`, `withdrawn`,
    /// `expired`, `idleexpired`, `timeout`, `all`).
    pub state: Option<String>,
    /// Approval-link check: the session name to check.
    pub token: Option<String>,
}

/// The session as returned to clients: the object without managed fields.
pub fn session_json(session: &BreakglassSession) -> Value {
    let mut s = session.clone();
    s.metadata.managed_fields = None;
    let mut v = serde_json::to_value(&s).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.entry("apiVersion")
            .or_insert_with(|| json!(breakglass_api::API_VERSION));
        obj.entry("kind")
            .or_insert_with(|| json!("BreakglassSession"));
    }
    v
}

fn now() -> Timestamp {
    Timestamp::now()
}

fn state_of(s: &BreakglassSession) -> Option<SessionState> {
    s.status.as_ref().and_then(|st| st.state)
}

/// A session by name, from the mirror or (right after a write the watch has not
/// delivered yet) from the hub.
pub async fn find(app: &App, name: &str) -> Result<BreakglassSession, ApiError> {
    let mut found = app.stores.sessions.by_name(name);
    if found.len() == 1
        && let Some(s) = found.pop()
    {
        return Ok((*s).clone());
    }
    if found.len() > 1 {
        return Err(ApiError::conflict(format!(
            "several sessions are named {name:?}; session names must be unique"
        )));
    }
    let api: Api<BreakglassSession> = Api::all(app.hub.clone());
    let list = api
        .list(&ListParams::default().fields(&format!("metadata.name={name}")))
        .await?;
    match list.items.len() {
        0 => Err(ApiError::NotFound(format!("session {name:?} not found"))),
        1 => list
            .items
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::NotFound(format!("session {name:?} not found"))),
        _ => Err(ApiError::conflict(format!(
            "several sessions are named {name:?}; session names must be unique"
        ))),
    }
}

/// The latest version of a session from the hub (for decisions, which must not act on
/// a stale copy).
async fn fresh(app: &App, name: &str) -> Result<BreakglassSession, ApiError> {
    let cached = find(app, name).await?;
    let api = session_writes::api_for(&app.hub, &cached);
    api.get_opt(name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("session {name:?} not found")))
}

fn cluster_policy<'a>(lookup: &'a ClusterLookup) -> ClusterPolicy<'a> {
    match lookup {
        ClusterLookup::Found(cc) => ClusterPolicy::Found(&cc.spec),
        ClusterLookup::Missing => ClusterPolicy::Missing,
        ClusterLookup::Ambiguous => ClusterPolicy::Ambiguous,
    }
}

/// Decides whether a caller may approve (reject, cancel) sessions; built once per
/// request so that a list checks every session against one copy of the escalations.
struct ApproverCheck<'a> {
    app: &'a App,
    caller: &'a Identity,
    groups: Vec<String>,
    escalations: Vec<Arc<BreakglassEscalation>>,
}

impl<'a> ApproverCheck<'a> {
    fn new(app: &'a App, caller: &'a Identity) -> Self {
        Self {
            app,
            caller,
            groups: identity::groups(app.prefixes(), caller),
            escalations: app.stores.escalations.all(),
        }
    }

    fn check(&self, session: &BreakglassSession) -> Result<(), Denial> {
        let prefixes = self.app.prefixes();
        let candidates = approval::candidates(
            session,
            self.escalations.iter().map(|e| e.as_ref()),
            prefixes,
        );
        let lookup = self.app.stores.cluster(&session.spec.cluster);
        let approver = Approver {
            email: self.caller.email.as_deref(),
            username: self.caller.preferred_username.as_deref(),
            subject: &self.caller.subject,
            groups: &self.groups,
            provider: Some(self.caller.provider.as_str()),
        };
        approval::authorize(
            &approver,
            session,
            &candidates,
            cluster_policy(&lookup),
            prefixes,
        )
        .map(|_| ())
    }
}

/// [`ApproverCheck`] for one session.
fn authorize_approver(
    app: &App,
    caller: &Identity,
    session: &BreakglassSession,
) -> Result<(), Denial> {
    ApproverCheck::new(app, caller).check(session)
}

fn denial_error(denial: Denial) -> ApiError {
    match denial {
        Denial::Unauthenticated => ApiError::Unauthorized(denial.to_string()),
        other => ApiError::Forbidden {
            message: other.to_string(),
            reason: Some(other.code()),
        },
    }
}

fn reason_error(err: ReasonError, what: &str) -> ApiError {
    match err {
        ReasonError::Missing => ApiError::Unprocessable(format!("missing required {what} reason")),
        other => ApiError::Unprocessable(format!("invalid {what} reason: {other}")),
    }
}

/// Maps a refused or failed write of a decision to the reference's status codes.
fn write_error(err: WriteError, action: &'static str) -> ApiError {
    match err {
        WriteError::Transition(t) => transition_error(t, action),
        WriteError::Conflict => ApiError::conflict("session update conflict, please retry"),
        WriteError::NotFound => ApiError::NotFound("session not found".to_owned()),
        WriteError::Kube(e) => ApiError::Internal(e.to_string()),
    }
}

fn transition_error(err: TransitionError, action: &'static str) -> ApiError {
    let decision = matches!(action, "approve" | "reject");
    match err {
        TransitionError::AlreadyInState { .. } => ApiError::conflict(err.to_string()),
        // A concurrent decision won: approving a rejected session or rejecting an
        // approved one is a conflict between two approvers, not a bad request.
        TransitionError::NotPending {
            state:
                SessionState::Approved | SessionState::WaitingForScheduledTime | SessionState::Rejected,
            ..
        } if decision => ApiError::conflict(format!("session was already decided: {err}")),
        TransitionError::NotPending { .. } if action == "withdraw" => {
            ApiError::BadRequest("Session is not pending and cannot be withdrawn".to_owned())
        }
        TransitionError::NoState => {
            ApiError::conflict("session is still being created, please retry")
        }
        other => ApiError::BadRequest(other.to_string()),
    }
}

fn email_of(caller: &Identity) -> String {
    caller
        .email
        .clone()
        .or_else(|| caller.preferred_username.clone())
        .unwrap_or_else(|| caller.subject.clone())
}

// ---------------------------------------------------------------------------
// Create

/// `POST /api/breakglassSessions`.
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> Response {
    match create_session(&state.app, &caller, &body).await {
        Ok(session) => (StatusCode::CREATED, Json(session_json(&session))).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/breakglass/request`: the path the feature documents show. Same as
/// [`create`], with the session name also at the top level (`.name`).
pub async fn create_alias(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> Response {
    match create_session(&state.app, &caller, &body).await {
        Ok(session) => {
            let mut v = session_json(&session);
            if let Some(obj) = v.as_object_mut() {
                obj.insert("name".to_owned(), json!(session.metadata.name));
            }
            (StatusCode::CREATED, Json(v)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn create_session(
    app: &App,
    caller: &Identity,
    raw: &[u8],
) -> Result<BreakglassSession, ApiError> {
    let req: CreateSessionRequest = body::strict(raw)?;
    let cluster_name = req.cluster.trim().to_owned();
    let group = req.group.trim().to_owned();
    if cluster_name.is_empty() || group.is_empty() {
        return Err(ApiError::Unprocessable(
            "missing input request data: cluster and group are required".to_owned(),
        ));
    }
    let fail = |reason: &str| count_failure(app, &cluster_name, reason);
    let lookup = app.stores.cluster(&cluster_name);
    let cluster = match &lookup {
        ClusterLookup::Found(cc) => cc.clone(),
        ClusterLookup::Missing => {
            fail("cluster_not_registered");
            return Err(ApiError::forbidden(format!(
                "cluster {cluster_name:?} is not registered with Breakglass"
            )));
        }
        ClusterLookup::Ambiguous => {
            fail("cluster_ambiguous");
            return Err(ApiError::forbidden(format!(
                "cluster {cluster_name:?} is ambiguous: several ClusterConfigs share the name"
            )));
        }
    };
    let claim = identity::claim_for(&app.config, Some(&cluster));
    let Some(user) = identity::user_id(caller, claim) else {
        return Err(ApiError::Unauthorized(format!(
            "your token has no {claim:?} claim, which names users on cluster {cluster_name:?}"
        )));
    };
    if let Some(requested) = req.user.as_deref().map(str::trim).filter(|u| !u.is_empty())
        && !identity::is_caller(caller, requested)
    {
        fail("user_mismatch");
        return Err(ApiError::forbidden(
            "the requested user does not match your identity; sessions can only be requested for yourself",
        ));
    }
    if !cluster.is_ready() {
        fail("cluster_not_ready");
        return Err(ApiError::forbidden(format!(
            "cluster {cluster_name:?} is not ready; try again later or contact the platform team"
        )));
    }
    if let Some(refs) = cluster
        .spec
        .identity_provider_refs
        .as_deref()
        .filter(|r| !r.is_empty())
        && !refs.contains(&caller.provider)
    {
        fail("idp_not_allowed");
        return Err(ApiError::forbidden(format!(
            "your identity provider {:?} is not allowed for cluster {cluster_name:?}",
            caller.provider
        )));
    }

    let prefixes = app.prefixes();
    let groups = identity::groups(app.prefixes(), caller);
    let escalations = app.stores.escalations.all();
    let request = esc_core::Request {
        cluster: &cluster_name,
        user_groups: &groups,
        provider: Some(caller.provider.as_str()),
    };
    let matching = esc_core::matching(
        escalations.iter().map(|e| e.as_ref()),
        &request,
        &group,
        prefixes,
    );
    let Some(escalation) = matching.first().copied() else {
        fail("no_escalation");
        return Err(ApiError::forbidden(format!(
            "user not authorized for requested group {group:?} on cluster {cluster_name:?}: no ready escalation offers it to your groups"
        )));
    };
    let espec = &escalation.spec;

    // Reason.
    let reason_config = espec.request_reason.clone();
    let mandatory = reason_config.as_ref().is_some_and(|r| r.is_mandatory());
    let reason = sanitize_reason(req.reason.as_deref().unwrap_or_default(), mandatory)
        .map_err(|e| reason_error(e, "request"))?;

    // Duration.
    let max_valid_for =
        breakglass_core::duration::valid_for_or_default(espec.max_valid_for.as_deref());
    let max_secs = max_valid_for.as_secs();
    let max_valid_for_text = match req.duration {
        None | Some(0) => espec
            .max_valid_for
            .clone()
            .unwrap_or_else(|| max_valid_for.to_string()),
        Some(d) if d < 0 => {
            return Err(ApiError::Unprocessable(format!(
                "duration must be positive, got {d} seconds"
            )));
        }
        Some(d) if d < MIN_DURATION_SECS => {
            return Err(ApiError::Unprocessable(format!(
                "duration must be at least {MIN_DURATION_SECS} seconds, got {d}"
            )));
        }
        Some(d) if d > max_secs => {
            return Err(ApiError::Unprocessable(format!(
                "duration {d}s exceeds the escalation's maxValidFor {max_valid_for} ({max_secs}s)"
            )));
        }
        Some(d) => GoDuration::from_secs(d)
            .map(|g| g.to_string())
            .ok_or_else(|| ApiError::Unprocessable("duration out of range".to_owned()))?,
    };

    // Scheduled start.
    let now = now();
    let scheduled_start = match req
        .scheduled_start_time
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(text) => {
            let at: Timestamp = text.parse().map_err(|_| {
                ApiError::Unprocessable(format!(
                    "scheduledStartTime {text:?} is not an RFC 3339 time"
                ))
            })?;
            if at <= now {
                return Err(ApiError::Unprocessable(
                    "scheduledStartTime must be in the future".to_owned(),
                ));
            }
            let earliest = now
                .checked_add(app.settings.min_schedule_lead)
                .map_err(|_| ApiError::Internal("time out of range".to_owned()))?;
            if at < earliest {
                return Err(ApiError::Unprocessable(format!(
                    "scheduledStartTime must be at least {} minutes in the future (earliest {earliest})",
                    app.settings.min_schedule_lead.as_secs() / 60
                )));
            }
            Some(at)
        }
    };

    let bare_group = strip_prefix(&group, prefixes).to_owned();

    // Across replicas: one creation per triple at a time, then an authoritative look
    // at the hub for a session that already holds the slot.
    let lock_name = crate::creation_lock::lock_name(&cluster_name, &user, &bare_group);
    let Some(lock) = crate::creation_lock::CreationLock::acquire(
        &app.hub,
        &app.settings.lock_namespace,
        &app.settings.identity,
        &lock_name,
    )
    .await?
    else {
        fail("in_progress");
        return Err(ApiError::conflict("session creation already in progress"));
    };
    let result = create_locked(
        app,
        caller,
        Locked {
            cluster: cluster.as_ref(),
            cluster_name: &cluster_name,
            user: &user,
            bare_group: &bare_group,
            escalation,
            groups: &groups,
            prefixes,
            reason,
            reason_config,
            max_valid_for_text,
            scheduled_start,
            now,
        },
    )
    .await;
    lock.release().await;
    result
}

fn count_failure(app: &App, cluster: &str, reason: &str) {
    app.metrics
        .session_create_failed
        .get_or_create(&metrics::ClusterReasonLabel {
            cluster: metrics::bounded_cluster(&app.stores, cluster),
            reason: reason.to_owned(),
        })
        .inc();
}

/// What [`create_locked`] works with, decided before the lock was taken.
struct Locked<'a> {
    cluster: &'a breakglass_api::cluster_config::ClusterConfig,
    cluster_name: &'a str,
    user: &'a str,
    bare_group: &'a str,
    escalation: &'a BreakglassEscalation,
    groups: &'a [String],
    prefixes: &'a [String],
    reason: String,
    reason_config: Option<breakglass_api::common::ReasonConfig>,
    max_valid_for_text: String,
    scheduled_start: Option<Timestamp>,
    now: Timestamp,
}

/// The sessions of the hub for the triple's cluster and group, read live.
async fn live_sessions(
    app: &App,
    cluster: &str,
    group: &str,
) -> Result<Vec<BreakglassSession>, ApiError> {
    let api: Api<BreakglassSession> = Api::all(app.hub.clone());
    let selector = format!(
        "{}={},{}={}",
        labels::SESSION_CLUSTER,
        label_value(cluster),
        labels::SESSION_GROUP,
        label_value(group)
    );
    Ok(api
        .list(&ListParams::default().labels(&selector))
        .await?
        .items)
}

async fn create_locked(
    app: &App,
    caller: &Identity,
    l: Locked<'_>,
) -> Result<BreakglassSession, ApiError> {
    let Locked {
        cluster,
        cluster_name,
        user,
        bare_group,
        escalation,
        groups,
        prefixes,
        reason,
        reason_config,
        max_valid_for_text,
        scheduled_start,
        now,
    } = l;
    let (cluster_name, user, bare_group) = (
        cluster_name.to_owned(),
        user.to_owned(),
        bare_group.to_owned(),
    );
    let espec = &escalation.spec;
    let same = |s: &BreakglassSession| {
        s.spec.cluster == cluster_name
            && s.spec.user == user
            && strip_prefix(&s.spec.granted_group, prefixes) == bare_group
    };
    let live = live_sessions(app, &cluster_name, &espec.escalated_group).await?;
    if let Some(existing) = live.iter().find(|s| same(s) && sm::occupies_slot(s, now)) {
        count_failure(app, &cluster_name, "duplicate");
        let message = match state_of(existing) {
            Some(SessionState::Pending) => "already requested",
            Some(SessionState::Approved | SessionState::WaitingForScheduledTime) => {
                "already approved"
            }
            _ => "session exists",
        };
        return Err(ApiError::Conflict {
            message: message.to_owned(),
            existing: Some(session_json(existing)),
        });
    }
    // Limits count from the mirror: they are a budget, not an exclusion.
    let sessions = app.stores.sessions.all();
    let idp = app.stores.identity_providers.get(None, &caller.provider);
    let limits = limits::effective(
        espec.session_limits_override.as_ref(),
        idp.as_ref().and_then(|i| i.spec.session_limits.as_ref()),
        groups,
    );
    let user_active = sessions
        .iter()
        .filter(|s| s.spec.user == user && sm::occupies_slot(s, now))
        .count();
    let esc_uid = escalation.metadata.uid.clone().unwrap_or_default();
    let esc_active = sessions
        .iter()
        .filter(|s| owner_uid(s).as_deref() == Some(esc_uid.as_str()) && sm::occupies_slot(s, now))
        .count();
    if let Err(e) = limits::check(limits, user_active, esc_active) {
        count_failure(app, &cluster_name, "session_limit");
        return Err(ApiError::Unprocessable(e.to_string()));
    }

    // Build and create.
    let approval_timeout = breakglass_core::duration::parse_or_default(
        espec.approval_timeout.as_deref(),
        breakglass_core::duration::DEFAULT_APPROVAL_TIMEOUT,
    );
    let approval_timeout = if approval_timeout.is_positive() {
        approval_timeout
    } else {
        breakglass_core::duration::DEFAULT_APPROVAL_TIMEOUT
    };
    let restricts = esc_core::restricts_idps(espec)
        || cluster
            .spec
            .identity_provider_refs
            .as_ref()
            .is_some_and(|r| !r.is_empty());
    let namespace = escalation
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let mut session = BreakglassSession::new(
        "",
        BreakglassSessionSpec {
            cluster: cluster_name.clone(),
            user: user.clone(),
            granted_group: espec.escalated_group.clone(),
            max_valid_for: Some(max_valid_for_text),
            idle_timeout: espec.idle_timeout.clone(),
            retain_for: espec.retain_for.clone(),
            cluster_config_ref: cluster.metadata.name.clone(),
            deny_policy_refs: espec.deny_policy_refs.clone(),
            request_reason: Some(reason).filter(|r| !r.is_empty()),
            scheduled_start_time: scheduled_start.map(Time),
            identity_provider_name: Some(caller.provider.clone()),
            identity_provider_issuer: Some(caller.issuer.clone()),
            allow_idp_mismatch: Some(!restricts),
            request_reason_config: reason_config,
            approval_reason_config: espec.approval_reason.clone(),
        },
    );
    session.metadata = ObjectMeta {
        generate_name: Some(generate_name(&cluster_name, &espec.escalated_group)),
        namespace: Some(namespace.clone()),
        labels: Some(BTreeMap::from([
            (
                labels::SESSION_CLUSTER.to_owned(),
                label_value(&cluster_name),
            ),
            (labels::SESSION_USER.to_owned(), label_value(&user)),
            (
                labels::SESSION_GROUP.to_owned(),
                label_value(&espec.escalated_group),
            ),
        ])),
        owner_references: Some(vec![OwnerReference {
            api_version: breakglass_api::API_VERSION.to_owned(),
            kind: "BreakglassEscalation".to_owned(),
            name: escalation.metadata.name.clone().unwrap_or_default(),
            uid: esc_uid,
            controller: Some(true),
            block_owner_deletion: None,
        }]),
        ..ObjectMeta::default()
    };
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
        .get_or_create(&metrics::cluster(&cluster_name))
        .inc();
    tracing::info!(
        session = %name, namespace = %namespace, cluster = %cluster_name, user = %user,
        group = %written.spec.granted_group, escalation = escalation.metadata.name.as_deref().unwrap_or_default(),
        scheduled = scheduled_start.is_some(), "session requested"
    );
    app.events.emit(EventKind::Requested, &user, &written);
    Ok(written)
}

fn owner_uid(s: &BreakglassSession) -> Option<String> {
    sm::owning_escalation(s).map(|o| o.uid.clone())
}

/// `<cluster>-<group>-`, lowercased and reduced to RFC 1123 characters, short enough
/// that the generated name fits 63 characters.
pub fn generate_name(cluster: &str, group: &str) -> String {
    let raw = format!("{cluster}-{group}").to_ascii_lowercase();
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    let mut out: String = out.trim_matches('-').chars().take(56).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("session");
    }
    out.push('-');
    out
}

/// A label value for `value`: invalid characters become `_`, at most 63 characters,
/// starting and ending alphanumeric (empty when nothing is left).
pub fn label_value(value: &str) -> String {
    let mapped: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    mapped
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

// ---------------------------------------------------------------------------
// Read

/// `GET /api/breakglassSessions/{name}`.
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let app = &state.app;
    let session = find(app, &name).await?;
    let is_requester = identity::is_caller(&caller, &session.spec.user);
    let approval = authorize_approver(app, &caller, &session);
    let email = email_of(&caller);
    let decided_by_me = session
        .status
        .as_ref()
        .and_then(|s| s.approvers.as_ref())
        .is_some_and(|a| a.iter().any(|x| x.eq_ignore_ascii_case(&email)));
    if !is_requester && approval.is_err() && !decided_by_me {
        return Err(ApiError::forbidden("you may not read this session"));
    }
    let state_ = state_of(&session);
    let decidable = state_ == Some(SessionState::Pending) && !approval_timed_out(&session, now());
    let is_approver = approval.is_ok();
    let mut meta = json!({
        "canApprove": is_approver && decidable,
        "canReject": (is_approver || is_requester) && decidable,
        "isRequester": is_requester,
        "isApprover": is_approver,
        "sessionState": state_.map(|s| s.as_str()).unwrap_or_default(),
    });
    if let Err(d) = &approval {
        meta["denialReason"] = json!(d.code());
        meta["denialMessage"] = json!(d.to_string());
    }
    if let Some(message) = state_message(&session) {
        meta["stateMessage"] = json!(message);
    }
    Ok(Json(
        json!({ "session": session_json(&session), "approvalMeta": meta }),
    ))
}

fn approval_timed_out(s: &BreakglassSession, now: Timestamp) -> bool {
    s.status
        .as_ref()
        .and_then(|st| st.timeout_at.as_ref())
        .is_some_and(|t| now >= t.0)
}

fn state_message(s: &BreakglassSession) -> Option<String> {
    let st = s.status.as_ref()?;
    Some(match st.state? {
        SessionState::Pending if approval_timed_out(s, now()) => {
            "the approval window has closed".to_owned()
        }
        SessionState::Pending => "waiting for approval".to_owned(),
        SessionState::WaitingForScheduledTime => format!(
            "approved; starts at {}",
            s.spec
                .scheduled_start_time
                .as_ref()
                .map(|t| t.0.to_string())
                .unwrap_or_default()
        ),
        SessionState::Approved => format!(
            "active until {}",
            st.expires_at
                .as_ref()
                .map(|t| t.0.to_string())
                .unwrap_or_default()
        ),
        other => format!(
            "ended ({}{})",
            other,
            st.reason_ended
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
    })
}

fn parse_states(raw: Option<&str>) -> Result<Option<Vec<SessionState>>, ApiError> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for token in raw.split(',').map(|t| t.trim().to_ascii_lowercase()) {
        let states: &[SessionState] = match token.as_str() {
            "" => continue,
            "all" => return Ok(None),
            "pending" => &[SessionState::Pending],
            "approved" | "active" => &[SessionState::Approved],
            "waiting" | "waitingforscheduledtime" | "scheduled" => {
                &[SessionState::WaitingForScheduledTime]
            }
            "rejected" => &[SessionState::Rejected],
            "withdrawn" => &[SessionState::Withdrawn],
            "expired" => &[SessionState::Expired],
            "idleexpired" => &[SessionState::IdleExpired],
            "timeout" | "approvaltimeout" => &[SessionState::ApprovalTimeout],
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown state {other:?}; use pending, approved, active, waiting, rejected, withdrawn, expired, idleexpired, timeout or all"
                )));
            }
        };
        out.extend_from_slice(states);
    }
    Ok(Some(out))
}

/// `GET /api/breakglassSessions`.
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let app = &state.app;
    if let Some(token) = q.token.as_deref().filter(|t| !t.is_empty()) {
        return token_check(app, &caller, token).await;
    }
    let states = parse_states(q.state.as_deref())?;
    let mine = q.mine.unwrap_or(false);
    let approved_by_me = q.approved_by_me.unwrap_or(false);
    let approver = q.approver.unwrap_or(!mine && !approved_by_me);
    let approvers = ApproverCheck::new(app, &caller);
    let email = email_of(&caller);
    let now = now();
    let mut items: Vec<Arc<BreakglassSession>> = app
        .stores
        .sessions
        .all()
        .into_iter()
        .filter(|s| q.cluster.as_deref().is_none_or(|c| s.spec.cluster == c))
        .filter(|s| q.user.as_deref().is_none_or(|u| s.spec.user == u))
        .filter(|s| q.group.as_deref().is_none_or(|g| s.spec.granted_group == g))
        .filter(|s| {
            states
                .as_ref()
                .is_none_or(|st| state_of(s).is_some_and(|x| st.contains(&x)))
        })
        .filter(|s| !q.active_only.unwrap_or(false) || sm::is_access_active(s, now))
        .filter(|s| {
            (mine && identity::is_caller(&caller, &s.spec.user))
                || (approved_by_me
                    && s.status
                        .as_ref()
                        .and_then(|st| st.approvers.as_ref())
                        .is_some_and(|a| a.iter().any(|x| x.eq_ignore_ascii_case(&email))))
                || (approver && approvers.check(s).is_ok())
        })
        .collect();
    items.sort_by(|a, b| {
        let ka = (
            a.metadata.creation_timestamp.as_ref().map(|t| t.0),
            &a.metadata.name,
        );
        let kb = (
            b.metadata.creation_timestamp.as_ref().map(|t| t.0),
            &b.metadata.name,
        );
        kb.cmp(&ka)
    });
    let total = items.len();
    let items: Vec<Value> = items
        .iter()
        .map(|s| {
            let mut v = session_json(s);
            let config = s.spec.approval_reason_config.clone().unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                obj.insert(
                    "approvalReason".to_owned(),
                    json!({"mandatory": config.is_mandatory(), "description": config.description}),
                );
            }
            v
        })
        .collect();
    Ok(Json(json!({ "items": items, "total": total })).into_response())
}

async fn token_check(app: &App, caller: &Identity, name: &str) -> Result<Response, ApiError> {
    let session = match find(app, name).await {
        Ok(s) => s,
        Err(ApiError::NotFound(_)) => {
            return Ok((StatusCode::NOT_FOUND, Json(json!({"valid": false}))).into_response());
        }
        Err(e) => return Err(e),
    };
    let is_requester = identity::is_caller(caller, &session.spec.user);
    let approval = authorize_approver(app, caller, &session);
    if let Err(Denial::Unauthenticated) = approval
        && !is_requester
    {
        return Err(ApiError::Unauthorized(
            "your identity is unknown".to_owned(),
        ));
    }
    if !is_requester && approval.is_err() {
        return Err(ApiError::forbidden("you may not read this session"));
    }
    let state_ = state_of(&session);
    let pending = state_ == Some(SessionState::Pending) && !approval_timed_out(&session, now());
    Ok(Json(json!({
        "valid": pending || matches!(state_, Some(SessionState::Approved | SessionState::WaitingForScheduledTime)),
        "alreadyActive": matches!(state_, Some(SessionState::Approved | SessionState::WaitingForScheduledTime)),
        "canApprove": approval.is_ok() && pending,
    }))
    .into_response())
}

// ---------------------------------------------------------------------------
// Decisions

async fn decide(
    app: &App,
    caller: &Identity,
    name: &str,
    action: &'static str,
    raw: &[u8],
) -> Result<BreakglassSession, ApiError> {
    let session = fresh(app, name).await?;
    let me = email_of(caller);
    let is_requester = identity::is_caller(caller, &session.spec.user);
    let event = match action {
        "approve" | "reject" => {
            let req: DecisionRequest = body::optional(raw)?;
            // The requester may reject (cancel) their own pending request.
            if !(action == "reject" && is_requester) {
                authorize_approver(app, caller, &session).map_err(denial_error)?;
            }
            let mandatory = session
                .spec
                .approval_reason_config
                .as_ref()
                .is_some_and(|c| c.is_mandatory());
            let reason = sanitize_reason(req.reason.as_deref().unwrap_or_default(), mandatory)
                .map_err(|e| reason_error(e, "approval"))?;
            let reason = Some(reason).filter(|r| !r.is_empty());
            if action == "approve" {
                SessionEvent::Approve {
                    approver: me.clone(),
                    reason,
                }
            } else {
                SessionEvent::Reject {
                    rejector: me.clone(),
                    reason,
                }
            }
        }
        "withdraw" => {
            body::none(raw)?;
            if !is_requester {
                return Err(ApiError::forbidden(
                    "only the session requester can withdraw",
                ));
            }
            SessionEvent::Withdraw
        }
        "drop" => {
            body::none(raw)?;
            if !is_requester {
                return Err(ApiError::forbidden(
                    "only the session requester can drop the session",
                ));
            }
            SessionEvent::Drop
        }
        _ => {
            body::none(raw)?;
            authorize_approver(app, caller, &session).map_err(denial_error)?;
            SessionEvent::Cancel {
                approver: me.clone(),
            }
        }
    };
    let (_, written) = session_writes::transition(
        &app.hub,
        &app.events,
        &app.metrics,
        &session,
        event,
        &me,
        now(),
    )
    .await
    .map_err(|e| write_error(e, action))?;
    Ok(written)
}

macro_rules! action {
    ($fn_name:ident, $action:literal, $doc:literal) => {
        #[doc = $doc]
        pub async fn $fn_name(
            State(state): State<AppState>,
            Caller(caller): Caller,
            Path(name): Path<String>,
            body: Bytes,
        ) -> Result<Json<Value>, ApiError> {
            decide(&state.app, &caller, &name, $action, &body)
                .await
                .map(|s| Json(session_json(&s)))
        }
    };
}

action!(
    approve,
    "approve",
    "`POST /api/breakglassSessions/{name}/approve`."
);
action!(
    reject,
    "reject",
    "`POST /api/breakglassSessions/{name}/reject`."
);
action!(
    withdraw,
    "withdraw",
    "`POST /api/breakglassSessions/{name}/withdraw`."
);
action!(
    drop_session,
    "drop",
    "`POST /api/breakglassSessions/{name}/drop`."
);
action!(
    cancel,
    "cancel",
    "`POST /api/breakglassSessions/{name}/cancel`."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_and_labels_are_valid() {
        assert_eq!(generate_name("target-a", "admin"), "target-a-admin-");
        assert_eq!(
            generate_name("Prod_EU", "oidc:Cluster.Admin"),
            "prod-eu-oidc-cluster-admin-"
        );
        let long = generate_name(&"c".repeat(80), "g");
        assert!(long.len() <= 57 && long.ends_with('-'), "{long}");
        assert_eq!(generate_name("::", "::"), "session-");
        assert_eq!(
            label_value("requester@example.com"),
            "requester_example.com"
        );
        assert_eq!(label_value("oidc:admins"), "oidc_admins");
        assert_eq!(label_value("@x@"), "x");
        assert!(label_value(&"a".repeat(100)).len() == 63);
    }

    #[test]
    fn state_filter_tokens() {
        assert_eq!(parse_states(None).ok(), Some(None));
        assert_eq!(parse_states(Some("all")).ok(), Some(None));
        assert_eq!(
            parse_states(Some("pending, Active,scheduled")).ok(),
            Some(Some(vec![
                SessionState::Pending,
                SessionState::Approved,
                SessionState::WaitingForScheduledTime
            ]))
        );
        assert!(parse_states(Some("bogus")).is_err());
    }

    #[test]
    fn decision_conflicts_are_409() {
        let e = transition_error(
            TransitionError::NotPending {
                action: "reject",
                state: SessionState::Approved,
            },
            "reject",
        );
        assert_eq!(e.status(), StatusCode::CONFLICT);
        let e = transition_error(
            TransitionError::NotPending {
                action: "approve",
                state: SessionState::Withdrawn,
            },
            "approve",
        );
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        let e = transition_error(
            TransitionError::AlreadyInState {
                state: SessionState::Approved,
            },
            "approve",
        );
        assert_eq!(e.status(), StatusCode::CONFLICT);
        let e = transition_error(
            TransitionError::NotPending {
                action: "withdraw",
                state: SessionState::Approved,
            },
            "withdraw",
        );
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert!(e.to_string().contains("cannot be withdrawn"));
    }
}
