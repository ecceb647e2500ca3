//! The OpenAPI paths of the debug-session read and action routes (merged into the
//! document by `rest::openapi`), under both prefixes.

use serde_json::{Map, Value, json};

use super::PREFIXES;
use super::act::RenewRequest;
use super::kubectl::{CopyRequest, InjectRequest, NodeRequest};
use super::read::ListQuery;
use crate::rest::sessions::DecisionRequest;

fn error(description: &str) -> Value {
    json!({"description": description,
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn schema<T: schemars::JsonSchema>() -> Value {
    let mut s = serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null);
    if let Some(o) = s.as_object_mut() {
        o.remove("$schema");
    }
    s
}

fn params(with_namespace: bool) -> Vec<Value> {
    let mut p = vec![
        json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"},
        "description": "DebugSession name (a Kubernetes object name)"}),
    ];
    if with_namespace {
        p.push(json!({"name": "namespace", "in": "query", "required": false, "schema": {"type": "string"},
            "description": "Namespace of the DebugSession, when names repeat across namespaces"}));
    }
    p
}

fn action(summary: &str, body: Option<Value>, ok: &str, errors: &[(&str, &str)]) -> Value {
    let mut responses = Map::new();
    responses.insert("200".into(), json!({"description": ok}));
    responses.insert("401".into(), error("Missing or invalid bearer token"));
    responses.insert("404".into(), error("No such debug session"));
    for (code, d) in errors {
        responses.insert((*code).into(), error(d));
    }
    let mut op = json!({"summary": summary, "security": [{"bearer": []}],
        "parameters": params(true), "responses": responses});
    if let Some(schema) = body {
        op["requestBody"] =
            json!({"required": false, "content": {"application/json": {"schema": schema}}});
    }
    json!({"post": op})
}

/// The paths, keyed as in the router.
pub fn paths() -> Map<String, Value> {
    let decision = schema::<DecisionRequest>();
    let renew = schema::<RenewRequest>();
    let query = schema::<ListQuery>();
    let list_params: Vec<Value> = query["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, s)| json!({"name": name, "in": "query", "required": false, "schema": s}))
        .collect();
    let decided = "Not awaiting approval, already decided, timed out or a concurrent decision won";
    let mut out = Map::new();
    for p in PREFIXES {
        out.insert(p.to_owned(), json!({"get": {
            "summary": "Debug sessions the caller may read (requester, participants, invitees, approvers), newest first",
            "security": [{"bearer": []}],
            "parameters": list_params,
            "responses": {
                "200": {"description": "`{sessions: [{name, namespace, templateRef, targetNamespace, cluster, requestedBy, requestedByDisplayName, state, statusMessage, startsAt, expiresAt, participants, isParticipant, allowedPods, allowedPodOperations, canApprove, canReject}], total}`"},
                "400": error("Unknown state filter"),
                "401": error("Missing or invalid bearer token"),
            }}}));
        out.insert(format!("{p}/{{name}}"), json!({"get": {
            "summary": "One debug session with what the caller may do with it",
            "security": [{"bearer": []}],
            "parameters": params(true),
            "responses": {
                "200": {"description": "The DebugSession object plus `canApprove`, `canReject`, `isOwner`, `isParticipant`, `role`"},
                "400": error("Invalid name"),
                "401": error("Missing or invalid bearer token"),
                "403": error("Not the requester, a participant, an invitee or an approver"),
                "404": error("No such debug session"),
            }}}));
        out.insert(format!("{p}/{{name}}/approve"), action(
            "Record an approval (state stays PendingApproval; the controller deploys and activates)",
            Some(decision.clone()), "The DebugSession with `canApprove`, `canReject`",
            &[("400", "Reason missing, too short or too long"),
              ("403", "Not an approver of this session; `reason: SELF_APPROVAL_BLOCKED` for the requester"),
              ("409", decided)]));
        out.insert(format!("{p}/{{name}}/reject"), action(
            "Reject the request (→ Terminated \"Rejected by X\")",
            Some(decision.clone()), "The DebugSession",
            &[("400", "Reason missing (required to reject once approvalReasonConfig is set), too short or too long"),
              ("403", "Not an approver of this session"),
              ("409", decided)]));
        out.insert(format!("{p}/{{name}}/renew"), action(
            "Extend an active session (owner or active participant)",
            Some(renew.clone()), "`{message, newExpiresAt, renewalCount}`",
            &[("400", "extendBy missing, not a positive duration, session not active or expired"),
              ("403", "Not the owner or an active participant; renewals not allowed, maxRenewals reached, or beyond startsAt + maxDuration"),
              ("409", "A concurrent change kept winning"),
              ("422", "Malformed body or unknown fields")]));
        out.insert(format!("{p}/{{name}}/terminate"), action(
            "End the session or withdraw the request (owner only; → Terminated \"Terminated by X\")",
            None, "The DebugSession",
            &[("400", "A body was sent"), ("403", "Not the owner"), ("409", "Already ended")]));
        out.insert(format!("{p}/{{name}}/join"), action(
            "Join an active session as an invitee (role participant, or viewer with terminalSharing.readOnlyParticipants)",
            None, "`{message, role}`",
            &[("400", "Not active, or a body was sent"),
              ("403", "Not invited, or maxParticipants reached (everyone who ever joined counts)"),
              ("409", "Already taking part")]));
        out.insert(
            format!("{p}/{{name}}/leave"),
            action(
                "Leave a session (participants and viewers)",
                None,
                "`{message}`",
                &[
                    ("400", "Not active, or a body was sent"),
                    ("403", "The owner cannot leave; terminate instead"),
                    ("409", "Already left"),
                ],
            ),
        );
        kubectl_paths(&mut out, p);
    }
    out
}

fn kubectl_paths(out: &mut Map<String, Value>, p: &str) {
    let common = [
        (
            "400",
            "Malformed body or field, template not in kubectl-debug/hybrid mode (\"does not support kubectl-debug mode\"), session not Active",
        ),
        (
            "403",
            "Not the owner or an active participant (viewers included), or refused by the template's policy (the message names the rule, e.g. kubectlDebug.ephemeralContainers.allowedImages)",
        ),
        ("409", "A concurrent change kept winning"),
        ("503", "The target cluster failed or did not answer"),
    ];
    out.insert(
        format!("{p}/{{name}}/injectEphemeralContainer"),
        action(
            "Inject an ephemeral container into a pod on the target; the pod enters allowedPods",
            Some(schema::<InjectRequest>()),
            "`{message, pod, namespace, container}`",
            &common,
        ),
    );
    out.insert(format!("{p}/{{name}}/createPodCopy"), action(
        "Create a debug copy of a pod (labelled with the session, deleted at expiresAt or session end); the copy enters allowedPods",
        Some(schema::<CopyRequest>()), "`{message, copyName, copyNamespace, originalPod, originalNamespace}`", &common));
    out.insert(format!("{p}/{{name}}/createNodeDebugPod"), action(
        "Create a privileged debug pod pinned to a node matching nodeDebug.nodeSelector; it enters allowedPods",
        Some(schema::<NodeRequest>()), "`{message, podName, namespace, node}`", &common));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route of `super::routes` is documented, under both prefixes.
    #[test]
    fn every_route_is_documented() {
        let paths = paths();
        let suffixes = [
            "",
            "/{name}",
            "/{name}/approve",
            "/{name}/reject",
            "/{name}/renew",
            "/{name}/terminate",
            "/{name}/join",
            "/{name}/leave",
            "/{name}/injectEphemeralContainer",
            "/{name}/createPodCopy",
            "/{name}/createNodeDebugPod",
        ];
        for p in PREFIXES {
            for s in suffixes {
                assert!(paths.contains_key(&format!("{p}{s}")), "{p}{s}");
            }
        }
        assert_eq!(paths.len(), PREFIXES.len() * suffixes.len());
        let routes = include_str!("../sessions.rs").matches(".route(").count();
        assert_eq!(
            routes,
            suffixes.len(),
            "routes and documented suffixes differ"
        );
    }
}
