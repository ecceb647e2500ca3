//! The OpenAPI 3 document of the REST API, built from the same request and object
//! types the handlers use. `docs/openapi.json` is this document; a test fails when the
//! two drift apart.

use axum::Json;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::escalations::EscalationQuery;
use super::sessions::{CreateSessionRequest, DecisionRequest, ListQuery};
use breakglass_api::rest::escalations::EscalationView;
use breakglass_api::rest::sessions::SessionView;

/// `GET /api/openapi.json`.
pub async fn serve() -> Json<Value> {
    Json(document())
}

pub(crate) fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

pub(crate) fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

pub(crate) fn query_params(schema: &Value) -> Vec<Value> {
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    props
        .into_iter()
        .map(|(name, mut s)| {
            let description = s
                .as_object_mut()
                .and_then(|o| o.remove("description"))
                .unwrap_or(Value::Null);
            json!({"name": name, "in": "query", "required": false, "schema": s, "description": description})
        })
        .collect()
}

fn name_param() -> Value {
    json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"},
           "description": "Session name: a Kubernetes object name (lowercase letters, digits, '-' and '.', at most 253 characters); anything else is 400 before any lookup"})
}

fn action(summary: &str, body: Option<Value>, extra: &[(&str, &str)]) -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".to_owned(),
        json_response(
            "The session after the change",
            reference("BreakglassSession"),
        ),
    );
    responses.insert(
        "401".to_owned(),
        error_response("Missing or invalid bearer token; for approver actions also a token without a verified e-mail (`email_verified: true`)"),
    );
    responses.insert("404".to_owned(), error_response("No such session"));
    responses.insert(
        "409".to_owned(),
        error_response("Already decided, or a concurrent change won; read the session and retry"),
    );
    for (code, description) in extra {
        responses.insert((*code).to_owned(), error_response(description));
    }
    let mut op = json!({
        "summary": summary,
        "security": [{"bearer": []}],
        "parameters": [name_param()],
        "responses": responses,
    });
    if let Some(schema) = body {
        op["requestBody"] = json!({"required": false,
            "content": {"application/json": {"schema": schema}}});
    }
    json!({ "post": op })
}

fn webhook_op() -> Value {
    json!({"post": {
        "summary": "Authorization webhook: target apiservers send a SubjectAccessReview (authorization.k8s.io/v1, or v1beta1 answered in kind) for every request their RBAC does not allow; see docs/webhook.md",
        "parameters": [{"name": "cluster", "in": "path", "required": true, "schema": {"type": "string"},
                        "description": "ClusterConfig name of the calling cluster"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
            "description": "SubjectAccessReview"}}}},
        "responses": {
            "200": {"description": "The review with `status: {allowed, reason, denied?}`"},
            "401": error_response("webhook.tokenDirectory is set and the caller's bearer token is missing or wrong"),
            "413": error_response("Body over 1 MiB"),
            "422": error_response("Not a SubjectAccessReview, or malformed"),
        }
    }})
}

/// Builds the document.
pub fn document() -> Value {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let create = generator.subschema_for::<CreateSessionRequest>().to_value();
    let decision = generator.subschema_for::<DecisionRequest>().to_value();
    let session = generator.subschema_for::<SessionView>().to_value();
    let escalation = generator.subschema_for::<EscalationView>().to_value();
    let list_query = serde_json::to_value(schemars::schema_for!(ListQuery)).unwrap_or(Value::Null);
    let esc_query =
        serde_json::to_value(schemars::schema_for!(EscalationQuery)).unwrap_or(Value::Null);
    let debug_paths = debug_paths(&mut generator);
    let mut schemas: Map<String, Value> = generator.take_definitions(true);
    schemas.insert(
        "Error".to_owned(),
        json!({
            "type": "object",
            "required": ["error", "code"],
            "properties": {
                "error": {"type": "string", "description": "What went wrong, for people"},
                "code": {"type": "string", "enum": ["BAD_REQUEST", "UNAUTHORIZED", "FORBIDDEN",
                    "NOT_FOUND", "CONFLICT", "PAYLOAD_TOO_LARGE", "UNPROCESSABLE_ENTITY",
                    "TOO_MANY_REQUESTS", "INTERNAL_ERROR", "BAD_GATEWAY", "SERVICE_UNAVAILABLE"]},
                "reason": {"type": "string", "description": "Machine-readable reason of a 403, e.g. SELF_APPROVAL_BLOCKED"},
                "session": {"$ref": "#/components/schemas/BreakglassSession",
                    "description": "The conflicting session of a duplicate request (409)"}
            }
        }),
    );
    let session_list = json!({"type": "object", "required": ["items", "total"], "properties": {
        "items": {"type": "array", "items": session},
        "total": {"type": "integer"}}});
    let escalation_list = json!({"type": "object", "required": ["items", "total"], "properties": {
        "items": {"type": "array", "items": escalation},
        "total": {"type": "integer"}}});
    let create_op = |summary: &str| {
        json!({"post": {
            "summary": summary,
            "security": [{"bearer": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": create}}},
            "responses": {
                "201": json_response("The new Pending session", reference("BreakglassSession")),
                "401": error_response("Missing or invalid bearer token, or no user claim"),
                "403": error_response("Not allowed: no ready escalation for your groups, cluster not registered or not ready, identity provider not allowed, or another user"),
                "409": error_response("A pending or approved session for the same cluster, user and group exists (body carries it), or a creation is in progress"),
                "422": error_response("Invalid body: missing cluster or group, bad or missing reason, duration, scheduledStartTime, or a session limit is reached"),
            }
        }})
    };
    let doc = json!({
        "openapi": "3.0.3",
        "info": {
            "title": "breakglass API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Just-in-time access for Kubernetes clusters. Every route except the discovery routes needs an OIDC bearer token of a configured IdentityProvider."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": schemas,
        },
        "paths": {
            "/api/config": {"get": {"summary": "UI configuration", "responses": {"200": {"description": "`{frontend: {oidcAuthority, oidcClientID, brandingName, uiFlavour}}`"}}}},
            "/api/config/idps": {"get": {"summary": "Identity providers (with the client and scopes bgctl logs in with) and which escalations allow which", "responses": {"200": {"description": "`{identityProviders: [{name, displayName, issuer, enabled, oidcAuthority, oidcClientID, cliClientID, cliScopes, uiScopes}], escalationIDPMapping: {...}, userIdentifierClaim}`"}}}},
            "/api/debug/buildinfo": {"get": {"summary": "Server version", "responses": {"200": {"description": "`{version, buildDate}`"}}}},
            "/api/identity-provider": {"get": {"summary": "The default identity provider", "responses": {
                "200": {"description": "`{type, authority, directAuthority, clientId}`"},
                "404": error_response("No identity provider configured")}}},
            "/api/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3 document"}}}},
            "/api/breakglassEscalations": {"get": {
                "summary": "Escalations the caller may request (hidden approvers removed)",
                "security": [{"bearer": []}],
                "parameters": query_params(&esc_query),
                "responses": {
                    "200": json_response("`{items, total}`", escalation_list),
                    "401": error_response("Missing or invalid bearer token"),
                }}},
            "/api/breakglassSessions": {
                "get": {
                    "summary": "Sessions visible to the caller (own, approvable, decided by them); with `token` an approval-link check `{valid, alreadyActive, canApprove}`",
                    "security": [{"bearer": []}],
                    "parameters": query_params(&list_query),
                    "responses": {
                        "200": json_response("`{items, total}`", session_list),
                        "400": error_response("Unknown state filter"),
                        "401": error_response("Missing or invalid bearer token"),
                    }
                },
                "post": create_op("Request access: creates a Pending session")["post"].clone(),
            },
            "/api/breakglassSessions/{name}": {"get": {
                "summary": "One session with what the caller may do with it",
                "security": [{"bearer": []}],
                "parameters": [name_param()],
                "responses": {
                    "200": {"description": "`{session, approvalMeta: {canApprove, canReject, isRequester, isApprover, sessionState, denialReason?, stateMessage?}}`"},
                    "400": error_response("Invalid session name"),
                    "401": error_response("Missing or invalid bearer token"),
                    "403": error_response("Neither requester, nor approver, nor someone who decided on it"),
                    "404": error_response("No such session"),
                }}},
            "/api/breakglassSessions/{name}/approve": action("Approve a pending session (an approver; reason per the escalation)", Some(decision.clone()), &[
                ("400", "Invalid session name, not pending, or the approval window has closed"),
                ("403", "Not an approver (approvers are matched by verified e-mail and groups): see `reason` (SELF_APPROVAL_BLOCKED, DOMAIN_NOT_ALLOWED, IDP_NOT_ALLOWED, NOT_AN_APPROVER, NO_MATCHING_ESCALATION)"),
                ("422", "Mandatory approval reason missing or invalid")]),
            "/api/breakglassSessions/{name}/reject": action("Reject a pending session (an approver, or the requester)", Some(decision.clone()), &[
                ("400", "Not pending, or the approval window has closed"),
                ("403", "Not an approver"),
                ("422", "Mandatory approval reason missing or invalid")]),
            "/api/breakglassSessions/{name}/withdraw": action("Withdraw the caller's pending request", None, &[
                ("400", "Not pending, or a body was sent"), ("403", "Only the requester can withdraw")]),
            "/api/breakglassSessions/{name}/drop": action("End the caller's session: pending → Withdrawn, approved or scheduled → Expired", None, &[
                ("400", "Already ended, or a body was sent"), ("403", "Only the requester can drop")]),
            "/api/breakglassSessions/{name}/cancel": action("Revoke an approved or scheduled session (an approver)", None, &[
                ("400", "Not approved or scheduled, or a body was sent"), ("403", "Not an approver")]),
            "/api/breakglass/webhook/authorize/{cluster}": webhook_op(),
            "/breakglass/webhook/authorize/{cluster}": webhook_op(),
            "/api/breakglass/request": create_op("Alias of POST /api/breakglassSessions; the response also carries `name`"),
            "/api/breakglass/approve/{name}": action("Alias of POST /api/breakglassSessions/{name}/approve", Some(decision), &[
                ("400", "Not pending, or the approval window has closed"), ("403", "Not an approver"),
                ("422", "Mandatory approval reason missing or invalid")]),
        }
    });
    with_paths(doc, debug_paths)
}

/// The routes documented next to their handlers: explain and forRequest, and the
/// debug-session routes.
fn debug_paths(generator: &mut schemars::SchemaGenerator) -> Map<String, Value> {
    let mut paths = super::explain::openapi(generator);
    paths.extend(super::debug::catalogue::openapi());
    paths.extend(super::debug::create::openapi(generator));
    // The read and action routes share `/api/debugSessions` with create: merge by method.
    for (path, ops) in super::debug::sessions::openapi::paths() {
        match (paths.get_mut(&path), ops) {
            (Some(Value::Object(existing)), Value::Object(ops)) => existing.extend(ops),
            (_, ops) => {
                paths.insert(path, ops);
            }
        }
    }
    paths
}

fn with_paths(mut doc: Value, extra: Map<String, Value>) -> Value {
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        paths.extend(extra);
    }
    doc
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn checked_in() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
    }

    /// `BREAKGLASS_UPDATE_OPENAPI=1 cargo test -p breakglass-server openapi` rewrites it.
    #[test]
    fn docs_openapi_json_is_current() {
        let text = serde_json::to_string_pretty(&document()).unwrap() + "\n";
        if std::env::var_os("BREAKGLASS_UPDATE_OPENAPI").is_some() {
            std::fs::write(checked_in(), &text).unwrap();
        }
        let on_disk = std::fs::read_to_string(checked_in()).unwrap_or_default();
        assert!(
            on_disk == text,
            "docs/openapi.json is out of date: run BREAKGLASS_UPDATE_OPENAPI=1 cargo test -p breakglass-server openapi"
        );
    }

    #[test]
    fn every_route_is_documented() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        // Every path literal of the API and webhook routers, however it is formatted.
        let sources = [
            include_str!("mod.rs"),
            include_str!("../webhook/mod.rs"),
            include_str!("debug/catalogue.rs"),
            include_str!("debug/create.rs"),
        ];
        let mut routes = 0;
        for source in sources {
            for piece in source.split("route(").skip(1) {
                let path = piece.trim_start().trim_start_matches('"');
                let path = path.split('"').next().unwrap();
                assert!(
                    paths.contains_key(path),
                    "route {path} is missing from the OpenAPI document"
                );
                routes += 1;
            }
        }
        assert!(
            routes >= 16,
            "found only {routes} routes: the scan is broken"
        );
        // Every $ref resolves.
        let text = doc.to_string();
        for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = piece.split('"').next().unwrap();
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "dangling $ref {name}"
            );
        }
    }
}
