//! Reading review bodies with bounded sizes.

use serde_json::json;

use crate::authz::review::*;
use crate::authz::*;

fn body(spec: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": SAR_V1, "kind": "SubjectAccessReview", "spec": spec
    }))
    .unwrap()
}

fn pods() -> serde_json::Value {
    json!({"verb": "get", "version": "v1", "resource": "pods", "namespace": "default"})
}

#[test]
fn a_review_is_read_like_from_review() {
    let value = json!({
        "apiVersion": SAR_V1, "kind": "SubjectAccessReview",
        "metadata": {"annotations": {"other": "x", ISSUER_EXTRA_KEY: "https://a"}},
        "spec": {
            "user": "alice@example.com", "groups": ["oidc:dev", "system:authenticated"],
            "uid": "u-1", "extra": {"scopes": ["a", "b"]},
            "resourceAttributes": {"verb": "create", "group": "", "version": "v1",
                "resource": "pods", "subresource": "exec", "namespace": "default", "name": "web-0",
                "fieldSelector": {"rawSelector": "x=y"}}
        }
    });
    let (parsed, version) = parse_review(&serde_json::to_vec(&value).unwrap()).unwrap();
    let typed: k8s_openapi::api::authorization::v1::SubjectAccessReview =
        serde_json::from_value(value).unwrap();
    assert_eq!(version, SAR_V1);
    assert_eq!(parsed, SarRequest::from_review(&typed).unwrap());
    assert_eq!(parsed.issuer.as_deref(), Some("https://a"));
}

#[test]
fn v1beta1_groups_are_read_from_group() {
    let b = serde_json::to_vec(&json!({
        "apiVersion": SAR_V1BETA1, "kind": "SubjectAccessReview",
        "spec": {"user": "u", "group": ["g1"], "nonResourceAttributes": {"path": "/api", "verb": "get"}}
    }))
    .unwrap();
    let (r, version) = parse_review(&b).unwrap();
    assert_eq!(version, SAR_V1BETA1);
    assert_eq!(r.groups, ["g1"]);
}

#[test]
fn too_many_groups_are_refused_with_the_count_and_the_limit() {
    let groups: Vec<String> = (0..100_000).map(|i| format!("g{i}")).collect();
    let err = parse_review(&body(
        json!({"user": "u", "groups": groups, "resourceAttributes": pods()}),
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.groups: 100000 entries exceed the limit of 5000"
    );
    // At the limit is fine.
    let groups: Vec<String> = (0..MAX_GROUPS).map(|i| format!("g{i}")).collect();
    let (r, _) = parse_review(&body(
        json!({"user": "u", "groups": groups, "resourceAttributes": pods()}),
    ))
    .unwrap();
    assert_eq!(r.groups.len(), MAX_GROUPS);
}

#[test]
fn long_strings_and_big_extra_are_refused_naming_the_field() {
    let long = "x".repeat(MAX_NAME_BYTES + 1);
    let cases = [
        (
            json!({"user": long, "resourceAttributes": pods()}),
            "spec.user: 1025 bytes exceed the limit of 1024",
        ),
        (
            json!({"user": "u", "groups": ["ok", long], "resourceAttributes": pods()}),
            "spec.groups[1]: 1025 bytes exceed the limit of 1024",
        ),
        (
            json!({"user": "u", "resourceAttributes": {"verb": "get", "namespace": long}}),
            "spec.resourceAttributes.namespace: 1025 bytes exceed the limit of 1024",
        ),
        (
            json!({"user": "u", "resourceAttributes": {"verb": "get", "name": long}}),
            "spec.resourceAttributes.name: 1025 bytes exceed the limit of 1024",
        ),
        (
            json!({"user": "u", "resourceAttributes": {"verb": "get", "resource": long}}),
            "spec.resourceAttributes.resource: 1025 bytes exceed the limit of 1024",
        ),
    ];
    for (spec, message) in cases {
        assert_eq!(parse_review(&body(spec)).unwrap_err().to_string(), message);
    }
    let extra: serde_json::Map<String, serde_json::Value> =
        (0..100).map(|i| (format!("k{i}"), json!(["v"]))).collect();
    let err = parse_review(&body(
        json!({"user": "u", "extra": extra, "resourceAttributes": pods()}),
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.extra: 100 keys exceed the limit of 64"
    );
    let values = vec!["v"; MAX_EXTRA_VALUES + 1];
    let err = parse_review(&body(
        json!({"user": "u", "extra": {"k": values}, "resourceAttributes": pods()}),
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.extra.k: 1001 entries exceed the limit of 1000"
    );
}

#[test]
fn malformed_bodies_say_what_is_wrong() {
    let cases: [(&[u8], &str); 6] = [
        (b"{", "invalid JSON"),
        (br#"{"apiVersion":"v1","kind":"Pod","spec":{}}"#, "apiVersion \"v1\""),
        (br#"{"apiVersion":"authorization.k8s.io/v1","kind":"Pod","spec":{}}"#, "kind"),
        (br#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview"}"#, "spec is missing"),
        (br#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":7,"resourceAttributes":{}}}"#, "spec.user: invalid type"),
        (br#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"x"}}"#, "neither"),
    ];
    for (b, wanted) in cases {
        let err = parse_review(b).unwrap_err().to_string();
        assert!(err.contains(wanted), "{wanted:?} not in {err:?}");
    }
}
