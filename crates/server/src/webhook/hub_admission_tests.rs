#![allow(clippy::unwrap_used, clippy::expect_used)]

use breakglass_api::mail_provider::MailProvider;
use serde_json::json;

use super::*;
use crate::store::Mirror;

fn request(operation: &str, object: Value, old: Option<Value>) -> AdmissionRequest<DynamicObject> {
    let kind = object["kind"].as_str().unwrap_or_default().to_owned();
    let review = json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "u-1",
            "kind": {"group": "breakglass.t-caas.telekom.com", "version": "v1alpha1", "kind": kind},
            "resource": {"group": "breakglass.t-caas.telekom.com", "version": "v1alpha1", "resource": "x"},
            "name": object["metadata"]["name"],
            "namespace": object["metadata"]["namespace"],
            "operation": operation,
            "userInfo": {"username": "alice"},
            "object": object,
            "oldObject": old,
            "dryRun": false,
        }
    });
    let review: AdmissionReview<DynamicObject> = serde_json::from_value(review).unwrap();
    review.try_into().unwrap()
}

fn escalation(group: &str) -> Value {
    json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "BreakglassEscalation",
        "metadata": {"name": "sre", "namespace": "team-a"},
        "spec": {"escalatedGroup": group, "allowed": {"clusters": ["prod"], "groups": ["sre"]},
                 "approvers": {"groups": ["leads"]}, "mailProvider": "corp-mail"},
    })
}

fn mail_provider(name: &str) -> MailProvider {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"default": true, "smtp": {"host": "h", "port": 25}, "sender": {"address": "a@b.c"}},
    }))
    .unwrap()
}

#[test]
fn invalid_objects_are_refused_with_the_validators_messages() {
    let stores = Stores::empty();
    let r = review(
        &request("CREATE", escalation("cluster admin"), None),
        true,
        &MirrorObjects(&stores),
    );
    assert!(!r.allowed);
    assert_eq!(
        r.result.message,
        "BreakglassEscalation/sre: spec.escalatedGroup: Invalid value: \"cluster admin\": must consist of alphanumeric characters, '.', '_', ':' or '-' (regex used for validation is '^[a-zA-Z0-9._:-]+$')"
    );
}

#[test]
fn valid_objects_pass_with_warnings_for_dangling_references() {
    let stores = Stores::empty();
    let r = review(
        &request("CREATE", escalation("admins"), None),
        true,
        &MirrorObjects(&stores),
    );
    assert!(r.allowed, "{:?}", r.result);
    let warnings = r.warnings.unwrap_or_default();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("spec.mailProvider"), "{warnings:?}");
    // Once the provider exists, nothing to say.
    let stores = Stores {
        mail_providers: Mirror::from_objects([mail_provider("corp-mail")]),
        ..Stores::empty()
    };
    let r = review(
        &request("CREATE", escalation("admins"), None),
        true,
        &MirrorObjects(&stores),
    );
    assert!(r.allowed && r.warnings.is_none(), "{:?}", r.warnings);
}

#[test]
fn conflicts_with_the_hub_are_refused_and_an_unsynced_server_refuses_to_judge() {
    let stores = Stores {
        mail_providers: Mirror::from_objects([mail_provider("corp-mail")]),
        ..Stores::empty()
    };
    let second = serde_json::to_value(mail_provider("other")).unwrap();
    let mut second = second;
    second["apiVersion"] = json!("breakglass.t-caas.telekom.com/v1alpha1");
    second["kind"] = json!("MailProvider");
    let r = review(
        &request("CREATE", second.clone(), None),
        true,
        &MirrorObjects(&stores),
    );
    assert!(!r.allowed);
    assert!(r.result.message.starts_with("MailProvider/other: spec.default: Forbidden: MailProvider \"corp-mail\" is already the default"), "{}", r.result.message);
    let r = review(
        &request("CREATE", second, None),
        false,
        &MirrorObjects(&stores),
    );
    assert!(!r.allowed);
    assert!(r.result.message.contains("retry"), "{}", r.result.message);
}

#[test]
fn session_specs_are_immutable_on_update_and_deletes_pass() {
    let stores = Stores::empty();
    let session = |group: &str| {
        json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "BreakglassSession",
            "metadata": {"name": "s1", "namespace": "team-a"},
            "spec": {"cluster": "prod", "user": "bob@example.com", "grantedGroup": group},
        })
    };
    let r = review(
        &request("UPDATE", session("admins"), Some(session("readers"))),
        true,
        &MirrorObjects(&stores),
    );
    assert!(!r.allowed);
    assert!(
        r.result.message.contains("spec.grantedGroup"),
        "{}",
        r.result.message
    );
    let r = review(
        &request("DELETE", session("admins"), None),
        true,
        &MirrorObjects(&stores),
    );
    assert!(r.allowed);
}

#[test]
fn the_mutating_webhook_rewrites_aliases_and_leaves_canonical_objects_alone() {
    let template = |pod_ref: Value| {
        json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "DebugSessionTemplate",
            "metadata": {"name": "t"},
            "spec": {"podTemplateRef": pod_ref, "allowed": {"groups": ["sre"]}},
        })
    };
    let r = canonicalize(&request("CREATE", template(json!("busybox")), None));
    assert!(r.allowed);
    let patch: Value = serde_json::from_slice(r.patch.as_deref().unwrap()).unwrap();
    assert_eq!(patch[0]["op"], "replace");
    assert_eq!(patch[0]["path"], "/spec");
    assert_eq!(
        patch[0]["value"]["podTemplateRef"],
        json!({"name": "busybox"})
    );
    let r = canonicalize(&request(
        "CREATE",
        template(json!({"name": "busybox"})),
        None,
    ));
    assert!(r.allowed && r.patch.is_none());
    // Only breakglass objects: a foreign kind is refused by the validating webhook.
    let foreign = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}});
    let stores = Stores::empty();
    let r = review(
        &request("CREATE", foreign, None),
        true,
        &MirrorObjects(&stores),
    );
    assert!(!r.allowed);
}
