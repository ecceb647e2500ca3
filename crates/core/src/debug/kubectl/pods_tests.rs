use std::collections::BTreeMap;

use breakglass_api::common::NamespaceFilter;
use breakglass_api::debug_session::{DebugSession, DebugSessionSpec};
use breakglass_api::debug_session_template::{NodeDebugConfig, PodCopyConfig};
use breakglass_api::labels;
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;

fn session(name: &str) -> DebugSession {
    DebugSession {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some("breakglass".to_owned()),
            ..Default::default()
        },
        spec: DebugSessionSpec {
            cluster: "target-a".to_owned(),
            template_ref: "tpl".to_owned(),
            ..Default::default()
        },
        status: None,
    }
}

fn original() -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("web-1".to_owned()),
            namespace: Some("app".to_owned()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            node_name: Some("n1".to_owned()),
            restart_policy: Some("Always".to_owned()),
            containers: vec![Container {
                name: "web".to_owned(),
                image: Some("nginx".to_owned()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        status: None,
    }
}

fn copy_config() -> PodCopyConfig {
    PodCopyConfig {
        enabled: Some(true),
        denied_namespaces: Some(NamespaceFilter {
            patterns: Some(vec!["kube-*".to_owned()]),
            selector_terms: None,
        }),
        ..Default::default()
    }
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn rule<T>(r: Result<T, PolicyViolation>) -> &'static str {
    r.err().map(|v| v.rule).unwrap_or("ok")
}

#[test]
fn copy_is_labelled_never_restarts_and_expires() {
    let s = session("a-very-long-debug-session-name-1");
    let got = pod_copy(
        Some(&copy_config()),
        Some(&images(&["busybox:*"])),
        &s,
        &original(),
        Some("busybox:1"),
        now(),
    );
    let Ok(copy) = got else {
        return assert_eq!(rule(got), "ok");
    };
    let labels = copy.pod.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get(labels::DEBUG_SESSION).map(String::as_str),
        Some("a-very-long-debug-session-name-1")
    );
    assert_eq!(labels.get(DEBUG_COPY).map(String::as_str), Some("true"));
    assert_eq!(labels.get(ORIGINAL_POD).map(String::as_str), Some("web-1"));
    assert_eq!(
        copy.pod.metadata.namespace.as_deref(),
        Some(DEFAULT_COPY_NAMESPACE)
    );
    let spec = copy.pod.spec.unwrap_or_default();
    assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
    assert_eq!(spec.node_name, None);
    assert_eq!(spec.containers.len(), 2);
    assert_eq!(spec.containers[1].image.as_deref(), Some("busybox:1"));
    assert_eq!(copy.expires_at.as_second() - now().as_second(), 7200);
    // Sessions sharing an 8-character prefix get distinct copy names.
    let other = pod_copy(
        Some(&copy_config()),
        None,
        &session("a-very-long-debug-session-name-2"),
        &original(),
        None,
        now(),
    );
    let other_name = other.ok().and_then(|c| c.pod.metadata.name);
    assert_ne!(copy.pod.metadata.name, other_name);
    assert!(
        copy.pod
            .metadata
            .name
            .is_some_and(|n| n.len() <= 63 && n.starts_with("debug-copy-web-1-"))
    );
}

#[test]
fn copy_refusals() {
    let s = session("s");
    assert_eq!(
        rule(pod_copy(None, None, &s, &original(), None, now())),
        COPY_ENABLED
    );
    let mut pod = original();
    pod.metadata.namespace = Some("kube-system".to_owned());
    assert_eq!(
        rule(pod_copy(Some(&copy_config()), None, &s, &pod, None, now())),
        COPY_NAMESPACES
    );
    let bad_ttl = PodCopyConfig {
        ttl: Some("-1h".to_owned()),
        ..copy_config()
    };
    assert_eq!(
        rule(pod_copy(Some(&bad_ttl), None, &s, &original(), None, now())),
        COPY_TTL
    );
    let custom = PodCopyConfig {
        ttl: Some("30m".to_owned()),
        target_namespace: Some("copies".to_owned()),
        ..copy_config()
    };
    let copy = pod_copy(Some(&custom), None, &s, &original(), None, now());
    assert!(
        copy.is_ok_and(|c| c.expires_at.as_second() - now().as_second() == 1800
            && c.pod.metadata.namespace.as_deref() == Some("copies"))
    );
}

fn images(allowed: &[&str]) -> EphemeralContainersConfig {
    EphemeralContainersConfig {
        enabled: Some(true),
        allowed_images: Some(allowed.iter().map(|s| (*s).to_owned()).collect()),
        ..Default::default()
    }
}

#[test]
fn copy_debugger_image_follows_the_debug_image_policy() {
    let s = session("s");
    let copy = |policy: Option<&EphemeralContainersConfig>, image: &str| {
        rule(pod_copy(
            Some(&copy_config()),
            policy,
            &s,
            &original(),
            Some(image),
            now(),
        ))
    };
    // No image policy at all: any debugger image is refused (fail closed).
    assert_eq!(copy(None, "busybox:1"), COPY_IMAGES);
    // Outside the allowed images.
    assert_eq!(
        copy(Some(&images(&["busybox:*"])), "evil/tools:1"),
        COPY_IMAGES
    );
    assert_eq!(copy(Some(&images(&["busybox:*"])), "busybox:1"), "ok");
    // Digest required.
    let pinned = EphemeralContainersConfig {
        require_image_digest: Some(true),
        ..images(&["busybox*"])
    };
    assert_eq!(copy(Some(&pinned), "busybox:1"), COPY_DIGEST);
    let digest = format!("busybox@sha256:{}", "a".repeat(64));
    assert_eq!(copy(Some(&pinned), &digest), "ok");
    // Without a debugger image, no policy is needed.
    assert_eq!(
        rule(pod_copy(
            Some(&copy_config()),
            None,
            &s,
            &original(),
            None,
            now()
        )),
        "ok"
    );
}

fn node_config() -> NodeDebugConfig {
    NodeDebugConfig {
        enabled: Some(true),
        allowed_images: Some(vec![
            "busybox:1.36".to_owned(),
            "registry.example/*".to_owned(),
        ]),
        host_namespaces: None,
        node_selector: Some(BTreeMap::from([("debug".to_owned(), "yes".to_owned())])),
    }
}

#[test]
fn node_pod_is_pinned_privileged_and_labelled() {
    let node_labels = BTreeMap::from([("debug".to_owned(), "yes".to_owned())]);
    let s = session("s1");
    let got = node_debug_pod(
        Some(&node_config()),
        &s,
        "breakglass",
        "n1",
        &node_labels,
        None,
    );
    let Ok(pod) = got else {
        return assert_eq!(rule(got), "ok");
    };
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get(labels::DEBUG_SESSION).map(String::as_str),
        Some("s1")
    );
    let spec = pod.spec.unwrap_or_default();
    assert_eq!(spec.node_name.as_deref(), Some("n1"));
    assert_eq!(
        (spec.host_network, spec.host_pid, spec.host_ipc),
        (Some(true), Some(true), Some(false))
    );
    let c = &spec.containers[0];
    assert_eq!(c.image.as_deref(), Some("busybox:1.36"));
    assert_eq!(
        c.security_context.as_ref().and_then(|s| s.privileged),
        Some(true)
    );
    let host = spec.volumes.unwrap_or_default();
    assert_eq!(
        host[0].host_path.as_ref().map(|h| h.path.as_str()),
        Some("/")
    );
}

#[test]
fn node_pod_refusals_and_images() {
    let s = session("s1");
    let ok_labels = BTreeMap::from([("debug".to_owned(), "yes".to_owned())]);
    let wrong = BTreeMap::from([("debug".to_owned(), "no".to_owned())]);
    let cfg = node_config();
    assert_eq!(
        rule(node_debug_pod(None, &s, "ns", "n1", &ok_labels, None)),
        NODE_ENABLED
    );
    assert_eq!(
        rule(node_debug_pod(Some(&cfg), &s, "ns", "n1", &wrong, None)),
        NODE_SELECTOR
    );
    assert_eq!(
        rule(node_debug_pod(
            Some(&cfg),
            &s,
            "ns",
            "n1",
            &BTreeMap::new(),
            None
        )),
        NODE_SELECTOR
    );
    assert_eq!(
        rule(node_debug_pod(Some(&cfg), &s, "ns", "", &ok_labels, None)),
        "nodeName"
    );
    assert_eq!(
        rule(node_debug_pod(
            Some(&cfg),
            &s,
            "ns",
            "n1",
            &ok_labels,
            Some("nginx")
        )),
        NODE_IMAGES
    );
    let pod = node_debug_pod(
        Some(&cfg),
        &s,
        "ns",
        "n1",
        &ok_labels,
        Some("registry.example/nsenter"),
    );
    assert!(pod.is_ok_and(|p| {
        p.spec
            .is_some_and(|s| s.containers[0].image.as_deref() == Some("registry.example/nsenter"))
    }));
    let open = NodeDebugConfig {
        allowed_images: None,
        node_selector: None,
        ..cfg
    };
    let pod = node_debug_pod(Some(&open), &s, "ns", "n2", &BTreeMap::new(), None);
    assert!(pod.is_ok_and(|p| {
        p.spec
            .is_some_and(|s| s.containers[0].image.as_deref() == Some(DEFAULT_NODE_IMAGE))
    }));
}

#[test]
fn expired_copies_leave_status_and_allowed_pods() {
    use breakglass_api::debug_session::{
        AllowedPodRef, CopiedPodRecord, DebugSessionStatus, KubectlDebugStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    let at = |secs: i64| Some(Time(jiff::Timestamp::from_second(secs).unwrap_or(now())));
    let record = |name: &str, exp| CopiedPodRecord {
        original_pod: "web-1".to_owned(),
        original_namespace: "app".to_owned(),
        copy_name: name.to_owned(),
        copy_namespace: "debug-copies".to_owned(),
        created_at: None,
        expires_at: exp,
    };
    let allowed = |name: &str| AllowedPodRef {
        namespace: "debug-copies".to_owned(),
        name: name.to_owned(),
        ..Default::default()
    };
    let status = DebugSessionStatus {
        kubectl_debug_status: Some(KubectlDebugStatus {
            ephemeral_containers_injected: None,
            copied_pods: Some(vec![
                record("old", at(100)),
                record("new", at(300)),
                record("forever", None),
            ]),
        }),
        allowed_pods: Some(vec![allowed("old"), allowed("new"), allowed("forever")]),
        ..Default::default()
    };
    assert_eq!(next_copy_expiry(&status).map(|t| t.as_second()), Some(100));
    let (expired, next) =
        expire_copies(&status, jiff::Timestamp::from_second(200).unwrap_or(now()));
    assert_eq!(
        expired
            .iter()
            .map(|c| c.copy_name.as_str())
            .collect::<Vec<_>>(),
        ["old"]
    );
    let left: Vec<_> = next
        .allowed_pods
        .unwrap_or_default()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(left, ["new", "forever"]);
    assert_eq!(next_copy_expiry(&status).map(|t| t.as_second()), Some(100));
}
