use serde_json::json;

use super::*;

fn request(
    user: &str,
    sub: &str,
    operation: &str,
    old: &[&str],
    new: &[&str],
) -> AdmissionRequest<Pod> {
    let pod = |names: &[&str]| {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-0", "namespace": "dbg"},
            "spec": {
                "containers": [{"name": "app", "image": "nginx"}],
                "ephemeralContainers": names.iter().map(|n| json!({"name": n, "image": "busybox:1.36"})).collect::<Vec<_>>(),
            }
        })
    };
    let review: AdmissionReview<Pod> = serde_json::from_value(json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "u-1",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "subResource": sub,
            "name": "web-0", "namespace": "dbg",
            "operation": operation,
            "userInfo": {"username": user},
            "object": pod(new),
            "oldObject": pod(old),
        }
    }))
    .unwrap();
    review.try_into().unwrap()
}

fn inputs<'a>(trusted: &'a [String], sessions: &'a [Arc<DebugSession>]) -> Inputs<'a> {
    Inputs {
        synced: true,
        cluster_known: true,
        trusted_users: trusted,
        sessions,
    }
}

/// Only the ephemeral containers the update adds are checked.
#[test]
fn new_containers_are_those_the_old_pod_lacks() {
    let req = request(
        "alice",
        "ephemeralcontainers",
        "UPDATE",
        &["d1"],
        &["d1", "d2"],
    );
    let added = new_containers(req.object.as_ref(), req.old_object.as_ref());
    assert_eq!(
        added.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["d2"]
    );
    assert!(new_containers(None, req.old_object.as_ref()).is_empty());
}

/// Fail closed: wrong subresource or operation, mirrors not synced, unknown cluster,
/// a user without a session; the trusted identity passes; the answer carries the uid.
#[test]
fn decisions_fail_closed_and_trust_only_listed_users() {
    let trusted = vec!["breakglass-hub".to_owned()];
    let none: Vec<Arc<DebugSession>> = Vec::new();
    let now = Timestamp::now();
    let ok = inputs(&trusted, &none);

    let r = review(
        &request(
            "breakglass-hub",
            "ephemeralcontainers",
            "UPDATE",
            &[],
            &["d"],
        ),
        "target-a",
        &ok,
        now,
    );
    assert!(r.allowed);
    assert_eq!(r.uid, "u-1");

    let r = review(
        &request("mallory", "ephemeralcontainers", "UPDATE", &[], &["d"]),
        "target-a",
        &ok,
        now,
    );
    assert!(!r.allowed);
    assert!(
        r.result.message.contains("no active debug session"),
        "{}",
        r.result.message
    );
    assert!(
        r.result.message.contains("\"mallory\""),
        "{}",
        r.result.message
    );

    // A user named like the trusted one but differently cased is not trusted.
    let r = review(
        &request(
            "Breakglass-Hub",
            "ephemeralcontainers",
            "UPDATE",
            &[],
            &["d"],
        ),
        "target-a",
        &ok,
        now,
    );
    assert!(!r.allowed);

    for (sub, op) in [
        ("", "UPDATE"),
        ("status", "UPDATE"),
        ("ephemeralcontainers", "CREATE"),
    ] {
        let r = review(
            &request("breakglass-hub", sub, op, &[], &["d"]),
            "target-a",
            &ok,
            now,
        );
        assert!(!r.allowed, "{sub} {op}");
        assert!(r.result.message.contains("pods/ephemeralcontainers"));
    }

    let unknown = Inputs {
        cluster_known: false,
        ..inputs(&trusted, &none)
    };
    let r = review(
        &request(
            "breakglass-hub",
            "ephemeralcontainers",
            "UPDATE",
            &[],
            &["d"],
        ),
        "nope",
        &unknown,
        now,
    );
    assert!(!r.allowed);
    assert!(
        r.result.message.contains("\"nope\""),
        "{}",
        r.result.message
    );

    let starting = Inputs {
        synced: false,
        ..inputs(&trusted, &none)
    };
    let r = review(
        &request(
            "breakglass-hub",
            "ephemeralcontainers",
            "UPDATE",
            &[],
            &["d"],
        ),
        "target-a",
        &starting,
        now,
    );
    assert!(!r.allowed);
    assert!(r.result.message.contains("not loaded yet"));
}
