//! Parsing SubjectAccessReviews.

use std::collections::BTreeMap;

use k8s_openapi::api::authorization::v1::SubjectAccessReview;

use crate::authz::*;

fn review(json: serde_json::Value) -> SubjectAccessReview {
    serde_json::from_value(json).unwrap()
}

#[test]
fn resource_review_is_read_with_issuer_from_extra() {
    let r = review(serde_json::json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": "alice@example.com",
            "groups": ["oidc:developers", "system:authenticated"],
            "uid": "u-1",
            "extra": {ISSUER_EXTRA_KEY: ["https://idp.example.com"]},
            "resourceAttributes": {
                "verb": "create", "group": "", "version": "v1", "resource": "pods",
                "subresource": "exec", "namespace": "default", "name": "web-0"
            }
        }
    }));
    let sar = SarRequest::from_review(&r).unwrap();
    assert_eq!(sar.user, "alice@example.com");
    assert_eq!(sar.groups, ["oidc:developers", "system:authenticated"]);
    assert_eq!(sar.uid.as_deref(), Some("u-1"));
    assert_eq!(sar.issuer.as_deref(), Some("https://idp.example.com"));
    let res = sar.resource().unwrap();
    assert_eq!(
        (
            res.verb.as_str(),
            res.resource.as_str(),
            res.subresource.as_str()
        ),
        ("create", "pods", "exec")
    );
    assert_eq!(sar.namespace(), "default");
    assert!(res.is_debug_pod_operation());
    assert_eq!(
        sar.describe(),
        "create pods/exec \"web-0\" in namespace default"
    );
}

#[test]
fn issuer_falls_back_to_annotation_and_empty_counts_as_absent() {
    let r = review(serde_json::json!({
        "metadata": {"annotations": {ISSUER_EXTRA_KEY: "https://other.example.com"}},
        "spec": {
            "user": "bob",
            "extra": {ISSUER_EXTRA_KEY: [""]},
            "nonResourceAttributes": {"path": "/healthz", "verb": "get"}
        }
    }));
    let sar = SarRequest::from_review(&r).unwrap();
    assert_eq!(sar.issuer.as_deref(), Some("https://other.example.com"));
    assert_eq!(
        sar.attributes,
        Attributes::NonResource(NonResourceAttributes {
            path: "/healthz".into(),
            verb: "get".into()
        })
    );
    assert!(sar.resource().is_none());
    assert_eq!(sar.describe(), "get /healthz");

    let none = review(serde_json::json!({
        "spec": {"user": "bob", "nonResourceAttributes": {"path": "/api", "verb": "get"}}
    }));
    assert_eq!(SarRequest::from_review(&none).unwrap().issuer, None);
}

#[test]
fn attributes_must_be_exactly_one_kind() {
    let missing = review(serde_json::json!({"spec": {"user": "bob"}}));
    assert_eq!(
        SarRequest::from_review(&missing),
        Err(SarError::MissingAttributes)
    );
    let both = review(serde_json::json!({"spec": {
        "user": "bob",
        "resourceAttributes": {"verb": "get", "resource": "pods"},
        "nonResourceAttributes": {"path": "/api", "verb": "get"}
    }}));
    assert_eq!(
        SarRequest::from_review(&both),
        Err(SarError::AmbiguousAttributes)
    );
}

#[test]
fn absent_fields_are_empty() {
    let r = review(
        serde_json::json!({"spec": {"resourceAttributes": {"verb": "list", "resource": "nodes"}}}),
    );
    let sar = SarRequest::from_review(&r).unwrap();
    assert_eq!(sar.user, "");
    assert!(sar.groups.is_empty());
    assert_eq!(sar.extra, BTreeMap::new());
    let res = sar.resource().unwrap();
    assert_eq!(res.namespace, "");
    assert_eq!(res.group, "");
    assert_eq!(sar.describe(), "list nodes");
}

#[test]
fn debug_pod_operations() {
    let pods = |sub: &str, name: &str, group: &str| ResourceAttributes {
        verb: "create".into(),
        group: group.into(),
        resource: "pods".into(),
        subresource: sub.into(),
        name: name.into(),
        namespace: "default".into(),
        ..ResourceAttributes::default()
    };
    for sub in DEBUG_POD_SUBRESOURCES {
        assert!(pods(sub, "web-0", "").is_debug_pod_operation(), "{sub}");
    }
    assert!(
        !pods("exec", "", "").is_debug_pod_operation(),
        "needs a pod name"
    );
    assert!(!pods("status", "web-0", "").is_debug_pod_operation());
    assert!(
        pods("", "web-0", "").is_debug_pod_operation(),
        "the pod itself"
    );
    assert!(!pods("", "", "").is_debug_pod_operation());
    assert!(!pods("exec", "web-0", "metrics.k8s.io").is_debug_pod_operation());
}
