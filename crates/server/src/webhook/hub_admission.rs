//! The hub's admission webhooks for every breakglass kind, on the HTTPS listener:
//!
//! * `POST /validate-breakglass` — the same rules `bgctl validate` applies
//!   ([`breakglass_core::validation::validate_object`]; the refusal lists the same
//!   messages), the update rules of sessions and debug sessions, and the cross-object
//!   rules ([`breakglass_core::validation::cross_object`]) against the server's watched
//!   copies of the hub: conflicts refuse, dangling references come back as warnings.
//! * `POST /mutate-breakglass` — rewrites the documented compatibility aliases to their
//!   canonical fields (one JSON patch replacing `spec`), so what is stored is what the
//!   server reads; defaults are the CRD schema's own.
//!
//! Neither calls the hub: both read the in-memory mirrors. Until those are synced the
//! validating webhook refuses (fail closed) and asks to retry. DELETE and CONNECT are
//! always allowed (registrations should not send them).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_api::debug_session::DebugSession;
use breakglass_api::debug_session_cluster_binding::DebugSessionClusterBindingSpec;
use breakglass_core::validation::{
    self as v, CrossReport, FieldError, HubObjects, ObjectError, cross_object,
};
use kube::ResourceExt;
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use serde_json::Value;

use crate::http::AppState;
use crate::store::Stores;

/// The validating webhook's path.
pub const VALIDATE_PATH: &str = "/validate-breakglass";
/// The mutating webhook's path.
pub const MUTATE_PATH: &str = "/mutate-breakglass";

/// The routes.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route(VALIDATE_PATH, axum::routing::post(validate))
        .route(MUTATE_PATH, axum::routing::post(mutate))
}

fn answer(response: AdmissionResponse) -> Response {
    Json(response.into_review()).into_response()
}

fn parse(body: &[u8]) -> Result<AdmissionRequest<DynamicObject>, Box<AdmissionResponse>> {
    let review: AdmissionReview<DynamicObject> = serde_json::from_slice(body).map_err(|e| {
        Box::new(AdmissionResponse::invalid(format!(
            "body is not an admission.k8s.io/v1 AdmissionReview: {e}"
        )))
    })?;
    review.try_into().map_err(|_| {
        Box::new(AdmissionResponse::invalid(
            "AdmissionReview without request",
        ))
    })
}

async fn validate(State(state): State<AppState>, body: Bytes) -> Response {
    let req = match parse(&body) {
        Ok(r) => r,
        Err(resp) => return answer(*resp),
    };
    let stores = &state.app.stores;
    let synced = stores.sessions.is_synced()
        && stores.escalations.is_synced()
        && stores.clusters.is_synced()
        && stores.identity_providers.is_synced()
        && stores.mail_providers.is_synced()
        && stores.debug_templates.is_synced()
        && stores.debug_pod_templates.is_synced()
        && stores.debug_bindings.is_synced();
    let response = review(&req, synced, &MirrorObjects(stores));
    let user = req.user_info.username.as_deref().unwrap_or_default();
    if response.allowed {
        tracing::debug!(kind = %req.kind.kind, name = %req.name, namespace = req.namespace.as_deref().unwrap_or_default(), user, "admitted");
    } else {
        tracing::info!(kind = %req.kind.kind, name = %req.name, namespace = req.namespace.as_deref().unwrap_or_default(), user, reason = %response.result.message, "admission refused");
    }
    answer(response)
}

/// Decides one validating review.
pub fn review(
    req: &AdmissionRequest<DynamicObject>,
    synced: bool,
    hub: &dyn HubObjects,
) -> AdmissionResponse {
    let response = AdmissionResponse::from(req);
    if !matches!(req.operation, Operation::Create | Operation::Update) {
        return response;
    }
    let Some(object) = req.object.as_ref() else {
        return response.deny("the review carries no object");
    };
    let Ok(mut value) = serde_json::to_value(object) else {
        return response.deny("the object cannot be read");
    };
    // The apiserver sends the name in the request when generateName is used on create.
    if value.pointer("/metadata/name").is_none() && !req.name.is_empty() {
        value["metadata"]["name"] = Value::String(req.name.clone());
    }
    let report = match v::validate_object(&value) {
        Ok(r) => r,
        Err(ObjectError::Foreign { api_version, kind }) => {
            return response.deny(format!(
                "{kind} of {api_version} is not a breakglass kind (check the webhook's rules)"
            ));
        }
        Err(e) => return response.deny(e.to_string()),
    };
    let mut errors = report.errors.clone();
    if req.operation == Operation::Update
        && let Some(old) = req.old_object.as_ref()
    {
        for e in update_errors(&report.kind, old, object) {
            if !errors.contains(&e) {
                errors.push(e);
            }
        }
    }
    let mut warnings: Vec<String> = report.warnings.iter().map(ToString::to_string).collect();
    if errors.is_empty() {
        if !synced {
            return response.deny(
                "breakglass is starting and has not loaded the hub's objects yet; retry in a few seconds",
            );
        }
        // The rules across objects judge the canonical form (aliases applied).
        let mut canonical = value.clone();
        v::normalize_aliases(&mut canonical);
        let CrossReport {
            errors: cross,
            warnings: notes,
        } = cross_object(&canonical, hub);
        errors.extend(cross);
        warnings.extend(notes.iter().map(ToString::to_string));
    }
    let mut response = if errors.is_empty() {
        response
    } else {
        let subject = format!("{}/{}", report.kind, report.name);
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        response.deny(format!("{subject}: {}", lines.join("; ")))
    };
    if !warnings.is_empty() {
        response.warnings = Some(warnings);
    }
    response
}

/// The update rules of the kinds that have them.
fn update_errors(kind: &str, old: &DynamicObject, new: &DynamicObject) -> Vec<FieldError> {
    fn typed<T: serde::de::DeserializeOwned>(o: &DynamicObject) -> Option<T> {
        serde_json::to_value(o)
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
    }
    match kind {
        "BreakglassSession" => match (
            typed::<BreakglassSession>(old),
            typed::<BreakglassSession>(new),
        ) {
            (Some(o), Some(n)) => v::validate_breakglass_session_update(&o, &n),
            _ => Vec::new(),
        },
        "DebugSession" => match (typed::<DebugSession>(old), typed::<DebugSession>(new)) {
            (Some(o), Some(n)) => v::validate_debug_session_update(&o, &n),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

async fn mutate(body: Bytes) -> Response {
    let req = match parse(&body) {
        Ok(r) => r,
        Err(resp) => return answer(*resp),
    };
    answer(canonicalize(&req))
}

/// Answers one mutating review: a patch to the canonical fields, or nothing.
pub fn canonicalize(req: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
    let response = AdmissionResponse::from(req);
    if !matches!(req.operation, Operation::Create | Operation::Update) {
        return response;
    }
    let Some(value) = req
        .object
        .as_ref()
        .and_then(|o| serde_json::to_value(o).ok())
    else {
        return response;
    };
    let mut canonical = value.clone();
    let applied = v::normalize_aliases(&mut canonical);
    if applied.is_empty() || canonical.get("spec") == value.get("spec") {
        return response;
    }
    let Some(spec) = canonical.get("spec").cloned() else {
        return response;
    };
    let patch = serde_json::json!([{"op": "replace", "path": "/spec", "value": spec}]);
    match serde_json::from_value::<json_patch::Patch>(patch) {
        Ok(p) => match response.clone().with_patch(p) {
            Ok(r) => r,
            Err(e) => response.deny(format!("cannot build the patch: {e}")),
        },
        Err(e) => response.deny(format!("cannot build the patch: {e}")),
    }
}

/// The mirrors as the cross-object rules see the hub.
struct MirrorObjects<'a>(&'a Stores);

impl HubObjects for MirrorObjects<'_> {
    fn namespaces_of(&self, kind: &str, name: &str) -> Vec<String> {
        let s = self.0;
        let namespaces = match kind {
            "BreakglassEscalation" => s
                .escalations
                .by_name(name)
                .iter()
                .map(|o| o.namespace())
                .collect(),
            "BreakglassSession" => s
                .sessions
                .by_name(name)
                .iter()
                .map(|o| o.namespace())
                .collect(),
            "ClusterConfig" => s
                .clusters
                .by_name(name)
                .iter()
                .map(|o| o.namespace())
                .collect(),
            _ => Vec::new(),
        };
        namespaces
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect()
    }

    fn default_mail_providers(&self) -> Vec<String> {
        self.0
            .mail_providers
            .filter(|m| m.spec.default == Some(true) && m.spec.disabled != Some(true))
            .iter()
            .map(|m| m.name_any())
            .collect()
    }

    fn identity_provider_issuers(&self) -> Vec<(String, String)> {
        self.0
            .identity_providers
            .all()
            .iter()
            .map(|i| {
                let issuer = i
                    .spec
                    .issuer
                    .clone()
                    .filter(|x| !x.is_empty())
                    .unwrap_or_else(|| i.spec.oidc.authority.clone());
                (i.name_any(), issuer)
            })
            .collect()
    }

    fn exists(&self, kind: &str, name: &str) -> bool {
        let s = self.0;
        match kind {
            "MailProvider" => !s.mail_providers.by_name(name).is_empty(),
            "IdentityProvider" => !s.identity_providers.by_name(name).is_empty(),
            "DebugSessionTemplate" => !s.debug_templates.by_name(name).is_empty(),
            "DebugPodTemplate" => !s.debug_pod_templates.by_name(name).is_empty(),
            // Unknown kinds are not judged: no warning.
            _ => true,
        }
    }

    fn template_display_name(&self, name: &str) -> Option<String> {
        self.0
            .debug_templates
            .by_name(name)
            .first()
            .and_then(|t| t.spec.display_name.clone())
    }

    fn bindings(&self) -> Vec<(String, String, DebugSessionClusterBindingSpec)> {
        self.0
            .debug_bindings
            .all()
            .iter()
            .map(|b| {
                (
                    b.namespace().unwrap_or_default(),
                    b.name_any(),
                    b.spec.clone(),
                )
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "hub_admission_tests.rs"]
mod tests;
