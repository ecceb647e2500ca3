//! OpenAPI entries of the explain routes.

use breakglass_api::rest::explain::{
    ExplainRequest, ExplainResponse, ForRequestQuery, ForRequestResponse,
};
use serde_json::{Map, Value, json};

use crate::rest::openapi::{error_response, json_response};

/// The paths of `POST /api/explain` and `POST /api/breakglassEscalations/forRequest`.
pub fn openapi(generator: &mut schemars::SchemaGenerator) -> Map<String, Value> {
    let explain_body = generator.subschema_for::<ExplainRequest>().to_value();
    let explain_answer = generator.subschema_for::<ExplainResponse>().to_value();
    let for_body = generator.subschema_for::<ForRequestQuery>().to_value();
    let for_answer = generator.subschema_for::<ForRequestResponse>().to_value();
    let mut paths = Map::new();
    paths.insert(
        "/api/explain".to_owned(),
        json!({"post": {
            "summary": "Explain the decision the authorization webhook would take now for a request on a cluster: allowed or denied, the stage that decided, the reason, the session or DenyPolicy involved and every stage in order. `user` defaults to the caller; another user's request needs membership of `server.adminGroups`",
            "security": [{"bearer": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": explain_body}}},
            "responses": {
                "200": json_response("The decision, explained", explain_answer),
                "401": error_response("Missing or invalid bearer token"),
                "403": error_response("Another user's request, or groups that are not the caller's, without membership of server.adminGroups (reason NOT_AN_ADMIN); or a token without the cluster's user claim"),
                "422": error_response("Invalid body: unknown field, missing cluster or verb, not exactly one of resourceAttributes and nonResourceAttributes, or a field over its limit (the message names the field)"),
            }
        }}),
    );
    paths.insert(
        "/api/breakglassEscalations/forRequest".to_owned(),
        json!({"post": {
            "summary": "The escalations the caller may request on the cluster whose group would allow exactly this request of theirs (the target cluster's RBAC for the group and the DenyPolicies that would apply, decided as the webhook decides), each with the caller's pending or active session for it; `notAllowing` lists the others with the reason",
            "security": [{"bearer": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": for_body}}},
            "responses": {
                "200": json_response("`{request, items, total, notAllowing}`", for_answer),
                "401": error_response("Missing or invalid bearer token"),
                "403": error_response("Groups that are not the caller's, or a token without the cluster's user claim"),
                "404": error_response("The cluster is not registered"),
                "422": error_response("Invalid body (the message names the field)"),
            }
        }}),
    );
    paths
}
