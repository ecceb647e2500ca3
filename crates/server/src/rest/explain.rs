//! `POST /api/explain` (why would the webhook allow or deny this request now) and
//! `POST /api/breakglassEscalations/forRequest` (which escalations would allow it).
//!
//! Both run the webhook's own decision ([`webhook::decide_with`]) from the same watched
//! state; the only difference is that the request comes from a REST caller instead of
//! a target apiserver. Explaining another user's request needs `server.adminGroups`.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_api::breakglass_session::{
    BreakglassSession, BreakglassSessionState as SessionState,
};
use breakglass_api::rest::explain::{
    EscalationForRequest, ExistingSession, ExplainPolicy, ExplainRequest, ExplainResponse,
    ExplainSession, ExplainStep, ForRequestQuery, ForRequestResponse, MAX_FIELD_LEN, MAX_GROUPS,
    RequestNonResource, RequestResource,
};
use breakglass_core::authz::{
    Attributes, Decision, NonResourceAttributes, ResourceAttributes, SarRequest, explain,
};
use breakglass_core::escalation as esc_core;
use breakglass_core::selector::is_dns1123_subdomain;
use jiff::Timestamp;

use crate::app::App;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::http::{AppState, Caller};
use crate::identity::{self, Person};
use crate::rest::body;
use crate::store::ClusterLookup;
use crate::webhook::{self, Hypothetical};

mod openapi;
pub use openapi::openapi;

/// Escalations evaluated per forRequest call (each distinct group costs one check on the
/// target cluster).
const MAX_ESCALATIONS: usize = 64;

/// The group every authenticated request carries on a target apiserver.
const AUTHENTICATED: &str = "system:authenticated";

/// `POST /api/explain`.
pub async fn explain(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> Result<Json<ExplainResponse>, ApiError> {
    let app = &state.app;
    let req: ExplainRequest = body::strict(&body)?;
    let attributes = validate(
        &req.cluster,
        &req.verb,
        req.resource_attributes.as_ref(),
        req.non_resource_attributes.as_ref(),
        req.groups.as_deref(),
    )?;
    if let Some(u) = &req.user {
        check_text("user", u)?;
    }
    let me = caller_person(app, &caller, &req.cluster);
    let admin = is_admin(app, &caller);
    let own_groups = apiserver_groups(app, &caller);
    let (user, is_self) = match req.user.as_deref().filter(|u| !u.is_empty()) {
        None => (me?.id, true),
        Some(u) if me.as_ref().is_ok_and(|p| p.id == u) => (u.to_owned(), true),
        Some(u) if admin => (u.to_owned(), false),
        Some(_) => {
            return Err(ApiError::Forbidden {
                message: "explaining another user's request needs membership of one of server.adminGroups".to_owned(),
                reason: Some("NOT_AN_ADMIN"),
            });
        }
    };
    let groups = match req.groups {
        Some(g) => checked_groups(g, &own_groups, admin)?,
        None if is_self => own_groups,
        None => vec![AUTHENTICATED.to_owned()],
    };
    let request = SarRequest {
        user,
        groups,
        // The caller's own requests come from their token's issuer; for another user the
        // issuer is unknown, as when an apiserver does not pass it.
        issuer: is_self.then(|| caller.issuer.clone()),
        attributes,
        ..SarRequest::default()
    };
    let decision = webhook::decide(app, &req.cluster, &request, Timestamp::now()).await;
    let claim = identity::claim_for_cluster(&app.config, &app.stores, &req.cluster);
    tracing::info!(
        cluster = %req.cluster, user = %request.user, request = %request.describe(),
        by = %identity::actor(&caller, claim), admin = !is_self,
        stage = decision.trace.stage.name(), allowed = decision.allowed,
        "explained a request (nothing granted)"
    );
    Ok(Json(response(&req.cluster, &request, &decision)))
}

/// `POST /api/breakglassEscalations/forRequest`.
pub async fn for_request(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: Bytes,
) -> Result<Json<ForRequestResponse>, ApiError> {
    let app = &state.app;
    let q: ForRequestQuery = body::strict(&body)?;
    let attributes = validate(
        &q.cluster,
        &q.verb,
        q.resource_attributes.as_ref(),
        q.non_resource_attributes.as_ref(),
        q.groups.as_deref(),
    )?;
    let me = caller_person(app, &caller, &q.cluster)?;
    let own_groups = apiserver_groups(app, &caller);
    let groups = match q.groups {
        Some(g) => checked_groups(g, &own_groups, false)?,
        None => own_groups,
    };
    if !matches!(app.stores.cluster(&q.cluster), ClusterLookup::Found(_)) {
        return Err(ApiError::NotFound(format!(
            "cluster: {:?} is not a registered cluster",
            q.cluster
        )));
    }
    let request = SarRequest {
        user: me.id.clone(),
        groups,
        issuer: Some(caller.issuer.clone()),
        attributes,
        ..SarRequest::default()
    };
    let now = Timestamp::now();
    let existing = app.sessions_by_user.get(&q.cluster, &me.id);
    let mut by_group: HashMap<String, Decision> = HashMap::new();
    let mut items = Vec::new();
    let mut not_allowing = Vec::new();
    for esc in available(app, &caller, &q.cluster) {
        let group = esc.spec.escalated_group.clone();
        if !by_group.contains_key(&group) {
            let session = explain::hypothetical_session(
                &esc,
                &q.cluster,
                &request.user,
                request.issuer.as_deref(),
                now,
            );
            let hypo = Hypothetical {
                session: &session,
                overrides: esc.spec.pod_security_overrides.as_ref(),
            };
            let d = webhook::decide_with(app, &q.cluster, &request, now, Some(hypo)).await;
            by_group.insert(group.clone(), d);
        }
        let Some(d) = by_group.get(&group) else {
            continue;
        };
        let allowed = explain::allowed_by_session(d);
        let item = EscalationForRequest {
            name: esc.metadata.name.clone().unwrap_or_default(),
            namespace: esc.metadata.namespace.clone().unwrap_or_default(),
            reason: if allowed {
                format!(
                    "a session for group {group} would allow {}",
                    request.describe()
                )
            } else {
                d.reason.clone()
            },
            group,
            allowed,
            stage: d.trace.stage.name().to_owned(),
            session: existing_session(&caller, app, &existing, &esc.spec.escalated_group),
        };
        if allowed {
            items.push(item);
        } else {
            not_allowing.push(item);
        }
    }
    let total = items.len();
    tracing::info!(
        cluster = %q.cluster, user = %me.id, request = %request.describe(),
        allowing = total, considered = total + not_allowing.len(),
        "listed the escalations that would allow a request (nothing granted)"
    );
    Ok(Json(ForRequestResponse {
        request: request.describe(),
        items,
        total,
        not_allowing,
    }))
}

/// The caller as named on `cluster`; a token without that cluster's user claim cannot
/// make requests there (403).
fn caller_person(app: &App, caller: &Identity, cluster: &str) -> Result<Person, ApiError> {
    let claim = identity::claim_for_cluster(&app.config, &app.stores, cluster);
    Person::of_caller(caller, claim).map_err(|e| ApiError::Forbidden {
        message: e.to_string(),
        reason: None,
    })
}

/// True when one of the caller's groups (prefix stripped) is in `server.adminGroups`.
fn is_admin(app: &App, caller: &Identity) -> bool {
    let admins = &app.config.server.admin_groups;
    !admins.is_empty()
        && identity::groups(app.prefixes(), caller)
            .iter()
            .any(|g| admins.iter().any(|a| !a.is_empty() && a == g))
}

/// The caller's groups as a target apiserver sees them: each token group with the
/// first configured OIDC prefix (the apiserver adds it to every group), and
/// `system:authenticated`.
fn apiserver_groups(app: &App, caller: &Identity) -> Vec<String> {
    let prefix = app
        .config
        .kubernetes
        .oidc_prefixes
        .iter()
        .find(|p| !p.is_empty())
        .map_or("", String::as_str);
    let mut out: Vec<String> = caller
        .groups
        .iter()
        .take(MAX_GROUPS)
        .map(|g| format!("{prefix}{g}"))
        .collect();
    out.push(AUTHENTICATED.to_owned());
    out
}

/// Groups given in the body: anything for an admin, else only a subset of the caller's
/// own (a user may ask about fewer of their groups, never about someone else's).
fn checked_groups(
    groups: Vec<String>,
    own: &[String],
    admin: bool,
) -> Result<Vec<String>, ApiError> {
    if admin {
        return Ok(groups);
    }
    match groups.iter().find(|g| !own.contains(g)) {
        None => Ok(groups),
        Some(g) => Err(ApiError::Forbidden {
            message: format!(
                "groups: {g:?} is not one of your groups as the cluster sees them ({}); only members of server.adminGroups may name other groups",
                own.join(", ")
            ),
            reason: Some("NOT_AN_ADMIN"),
        }),
    }
}

fn check_text(field: &str, value: &str) -> Result<(), ApiError> {
    if value.len() > MAX_FIELD_LEN {
        return Err(ApiError::Unprocessable(format!(
            "{field}: longer than {MAX_FIELD_LEN} bytes"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::Unprocessable(format!(
            "{field}: must not contain control characters"
        )));
    }
    Ok(())
}

/// Checks the request part shared by both bodies and turns it into SAR attributes.
fn validate(
    cluster: &str,
    verb: &str,
    resource: Option<&RequestResource>,
    non_resource: Option<&RequestNonResource>,
    groups: Option<&[String]>,
) -> Result<Attributes, ApiError> {
    if cluster.is_empty() {
        return Err(ApiError::Unprocessable(
            "cluster: required (a ClusterConfig name)".to_owned(),
        ));
    }
    if !is_dns1123_subdomain(cluster) {
        return Err(ApiError::Unprocessable(format!(
            "cluster: {cluster:?} is not a valid cluster name"
        )));
    }
    if verb.is_empty() {
        return Err(ApiError::Unprocessable(
            "verb: required (get, list, create, …)".to_owned(),
        ));
    }
    check_text("verb", verb)?;
    if verb.chars().any(char::is_whitespace) {
        return Err(ApiError::Unprocessable(
            "verb: must not contain whitespace".to_owned(),
        ));
    }
    if let Some(groups) = groups {
        if groups.len() > MAX_GROUPS {
            return Err(ApiError::Unprocessable(format!(
                "groups: more than {MAX_GROUPS} entries"
            )));
        }
        for (i, g) in groups.iter().enumerate() {
            check_text(&format!("groups[{i}]"), g)?;
            if g.is_empty() {
                return Err(ApiError::Unprocessable(format!("groups[{i}]: empty")));
            }
        }
    }
    match (resource, non_resource) {
        (Some(_), Some(_)) | (None, None) => Err(ApiError::Unprocessable(
            "resourceAttributes, nonResourceAttributes: exactly one is required".to_owned(),
        )),
        (Some(r), None) => {
            for (field, value) in [
                ("group", &r.group),
                ("version", &r.version),
                ("resource", &r.resource),
                ("subresource", &r.subresource),
                ("namespace", &r.namespace),
                ("name", &r.name),
            ] {
                check_text(&format!("resourceAttributes.{field}"), value)?;
            }
            if r.resource.is_empty() {
                return Err(ApiError::Unprocessable(
                    "resourceAttributes.resource: required (pods, deployments, …)".to_owned(),
                ));
            }
            Ok(Attributes::Resource(ResourceAttributes {
                verb: verb.to_owned(),
                group: r.group.clone(),
                version: r.version.clone(),
                resource: r.resource.clone(),
                subresource: r.subresource.clone(),
                namespace: r.namespace.clone(),
                name: r.name.clone(),
            }))
        }
        (None, Some(n)) => {
            check_text("nonResourceAttributes.path", &n.path)?;
            if !n.path.starts_with('/') {
                return Err(ApiError::Unprocessable(
                    "nonResourceAttributes.path: must start with '/'".to_owned(),
                ));
            }
            Ok(Attributes::NonResource(NonResourceAttributes {
                path: n.path.clone(),
                verb: verb.to_owned(),
            }))
        }
    }
}

/// The answer of explain, from the decision and its explanation.
fn response(cluster: &str, request: &SarRequest, d: &Decision) -> ExplainResponse {
    let e = explain::explain(request, d);
    ExplainResponse {
        cluster: cluster.to_owned(),
        user: request.user.clone(),
        groups: request.groups.clone(),
        request: request.describe(),
        allowed: d.allowed,
        stage: d.trace.stage.name().to_owned(),
        source: d.deny_source().to_owned(),
        reason: d.reason.clone(),
        session: e.session.map(|s| ExplainSession {
            name: s.name,
            namespace: s.namespace,
            group: s.group,
            impersonation_group: s.impersonation_group,
        }),
        debug_session: e.debug_session,
        policy: e.policy.map(|p| ExplainPolicy {
            name: p.name,
            kind: p.kind.to_owned(),
            rule: p.rule,
            pass: p.pass,
            error: p.error,
        }),
        trace: e
            .steps
            .into_iter()
            .map(|s| ExplainStep {
                stage: s.stage.to_owned(),
                outcome: s.outcome.as_str().to_owned(),
                detail: s.detail,
            })
            .collect(),
        warnings: d.trace.warnings.clone(),
    }
}

/// Ready escalations the caller may request on `cluster` (as `GET
/// /api/breakglassEscalations?cluster=` lists them), by namespace and name, bounded.
fn available(
    app: &App,
    caller: &Identity,
    cluster: &str,
) -> Vec<std::sync::Arc<BreakglassEscalation>> {
    let groups = identity::groups(app.prefixes(), caller);
    let mut out: Vec<_> = app
        .stores
        .escalations
        .all()
        .into_iter()
        .filter(|e| e.is_ready())
        .filter(|e| esc_core::targets_cluster(&e.spec, cluster))
        .filter(|e| esc_core::requester_in_allowed_groups(&e.spec, &groups, app.prefixes()))
        .filter(|e| esc_core::provider_may_request(&e.spec, Some(caller.provider.as_str())))
        .collect();
    out.sort_by(|a, b| {
        (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name))
    });
    out.truncate(MAX_ESCALATIONS);
    out
}

/// The caller's pending, scheduled or approved session for `group`, if any.
fn existing_session(
    caller: &Identity,
    app: &App,
    sessions: &[std::sync::Arc<BreakglassSession>],
    group: &str,
) -> Option<ExistingSession> {
    let me = identity::Me::new(caller, &app.config, &app.stores);
    sessions
        .iter()
        .filter(|s| s.spec.granted_group == group && me.owns(s))
        .find_map(|s| {
            let state = s.status.as_ref().and_then(|st| st.state)?;
            matches!(
                state,
                SessionState::Pending
                    | SessionState::Approved
                    | SessionState::WaitingForScheduledTime
            )
            .then(|| ExistingSession {
                name: s.metadata.name.clone().unwrap_or_default(),
                namespace: s.metadata.namespace.clone().unwrap_or_default(),
                state: state.to_string(),
            })
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn resource(r: RequestResource) -> Result<Attributes, ApiError> {
        validate("target-a", "get", Some(&r), None, None)
    }

    #[test]
    fn validation_names_the_field() {
        let cases: Vec<(Result<Attributes, ApiError>, &str)> = vec![
            (
                validate(
                    "",
                    "get",
                    None,
                    Some(&RequestNonResource { path: "/x".into() }),
                    None,
                ),
                "cluster: required",
            ),
            (
                validate(
                    "Bad_Name",
                    "get",
                    None,
                    Some(&RequestNonResource { path: "/x".into() }),
                    None,
                ),
                "cluster:",
            ),
            (
                validate(
                    "c",
                    "",
                    None,
                    Some(&RequestNonResource { path: "/x".into() }),
                    None,
                ),
                "verb: required",
            ),
            (
                validate(
                    "c",
                    "get list",
                    None,
                    Some(&RequestNonResource { path: "/x".into() }),
                    None,
                ),
                "verb:",
            ),
            (validate("c", "get", None, None, None), "exactly one"),
            (
                validate(
                    "c",
                    "get",
                    Some(&RequestResource::default()),
                    Some(&RequestNonResource::default()),
                    None,
                ),
                "exactly one",
            ),
            (
                resource(RequestResource::default()),
                "resourceAttributes.resource: required",
            ),
            (
                resource(RequestResource {
                    resource: "pods".into(),
                    namespace: "x".repeat(MAX_FIELD_LEN + 1),
                    ..Default::default()
                }),
                "resourceAttributes.namespace: longer",
            ),
            (
                resource(RequestResource {
                    resource: "pods".into(),
                    name: "a\nb".into(),
                    ..Default::default()
                }),
                "resourceAttributes.name: must not contain control",
            ),
            (
                validate(
                    "c",
                    "get",
                    None,
                    Some(&RequestNonResource {
                        path: "healthz".into(),
                    }),
                    None,
                ),
                "nonResourceAttributes.path",
            ),
            (
                validate(
                    "c",
                    "get",
                    None,
                    Some(&RequestNonResource { path: "/x".into() }),
                    Some(&[String::new()]),
                ),
                "groups[0]: empty",
            ),
            (
                validate(
                    "c",
                    "get",
                    None,
                    Some(&RequestNonResource { path: "/x".into() }),
                    Some(&vec!["g".to_owned(); MAX_GROUPS + 1]),
                ),
                "groups: more than",
            ),
        ];
        for (result, fragment) in cases {
            let err = result.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(fragment), "{fragment:?} not in {err:?}");
        }
        let ok = resource(RequestResource {
            resource: "pods".into(),
            subresource: "exec".into(),
            namespace: "ns".into(),
            name: "p".into(),
            ..Default::default()
        })
        .unwrap();
        let Attributes::Resource(r) = ok else {
            panic!("not a resource request")
        };
        assert_eq!((r.verb.as_str(), r.subresource.as_str()), ("get", "exec"));
    }

    #[test]
    fn non_admins_may_only_narrow_their_own_groups() {
        let own = vec!["oidc:dev".to_owned(), AUTHENTICATED.to_owned()];
        assert!(checked_groups(vec!["oidc:dev".into()], &own, false).is_ok());
        let err = checked_groups(vec!["oidc:admins".into()], &own, false).unwrap_err();
        assert!(matches!(err, ApiError::Forbidden { .. }), "{err:?}");
        assert!(err.to_string().contains("server.adminGroups"));
        assert!(checked_groups(vec!["oidc:admins".into()], &own, true).is_ok());
    }
}
