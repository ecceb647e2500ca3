use breakglass_api::common::NamespaceFilter;
use breakglass_api::debug_session_template::EphemeralContainersConfig;
use k8s_openapi::api::core::v1::{
    Capabilities, EphemeralContainer, PodSecurityContext, SecurityContext,
};

use super::*;

const DIGEST_HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn filter(patterns: &[&str]) -> NamespaceFilter {
    NamespaceFilter {
        patterns: Some(patterns.iter().map(|p| (*p).to_owned()).collect()),
        selector_terms: None,
    }
}

fn config() -> EphemeralContainersConfig {
    EphemeralContainersConfig {
        enabled: Some(true),
        allowed_namespaces: Some(filter(&["app-*", "prod"])),
        denied_namespaces: Some(filter(&["prod", "kube-*"])),
        allowed_images: Some(vec![
            "busybox:*".to_owned(),
            "registry.example/tools/*".to_owned(),
            "alpine@sha256:*".to_owned(),
        ]),
        require_image_digest: None,
        max_capabilities: Some(vec!["NET_ADMIN".to_owned(), "SYS_PTRACE".to_owned()]),
        allow_privileged: None,
        require_non_root: None,
    }
}

fn container(image: &str) -> EphemeralContainer {
    EphemeralContainer {
        name: "dbg".to_owned(),
        image: Some(image.to_owned()),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn with_sc(image: &str, f: impl FnOnce(&mut SecurityContext)) -> EphemeralContainer {
    let mut c = container(image);
    if let Some(sc) = c.security_context.as_mut() {
        f(sc);
    }
    c
}

fn rule(r: Result<(), PolicyViolation>) -> &'static str {
    r.err().map(|v| v.rule).unwrap_or("ok")
}

#[test]
fn table() {
    let cfg = config();
    let digest = format!("alpine@sha256:{DIGEST_HEX}");
    let caps = |add: &[&str]| {
        with_sc("busybox:1.36", |sc| {
            sc.capabilities = Some(Capabilities {
                add: Some(add.iter().map(|s| (*s).to_owned()).collect()),
                drop: None,
            })
        })
    };
    let cases: Vec<(&str, &str, EphemeralContainer, &str)> = vec![
        ("allowed", "app-1", container("busybox:1.36"), "ok"),
        (
            "nested glob",
            "app-1",
            container("registry.example/tools/net:1"),
            "ok",
        ),
        (
            "star does not cross /",
            "app-1",
            container("registry.example/tools/x/y:1"),
            IMAGES,
        ),
        ("digest glob", "app-1", container(&digest), "ok"),
        ("image not allowed", "app-1", container("nginx:1"), IMAGES),
        ("empty image", "app-1", container(""), IMAGES),
        ("huge image", "app-1", container(&"a".repeat(600)), IMAGES),
        (
            "namespace not allowed",
            "other",
            container("busybox:1"),
            NAMESPACES,
        ),
        (
            "deny wins over allow",
            "prod",
            container("busybox:1"),
            DENIED,
        ),
        ("denied only", "kube-system", container("busybox:1"), DENIED),
        (
            "allowed caps",
            "app-1",
            caps(&["NET_ADMIN", "CAP_SYS_PTRACE"]),
            "ok",
        ),
        ("extra cap", "app-1", caps(&["SYS_ADMIN"]), CAPS),
        (
            "privileged",
            "app-1",
            with_sc("busybox:1", |sc| sc.privileged = Some(true)),
            PRIVILEGED,
        ),
        (
            "root",
            "app-1",
            with_sc("busybox:1", |sc| sc.run_as_non_root = None),
            NON_ROOT,
        ),
        (
            "explicit root",
            "app-1",
            with_sc("busybox:1", |sc| sc.run_as_non_root = Some(false)),
            NON_ROOT,
        ),
        (
            "uid 0",
            "app-1",
            with_sc("busybox:1", |sc| sc.run_as_user = Some(0)),
            NON_ROOT,
        ),
    ];
    for (name, ns, c, want) in cases {
        assert_eq!(
            rule(check_ephemeral(Some(&cfg), ns, &c, None)),
            want,
            "{name}"
        );
    }
}

#[test]
fn disabled_or_missing_refuses() {
    let c = container("busybox:1");
    assert_eq!(rule(check_ephemeral(None, "app-1", &c, None)), ENABLED);
    let off = EphemeralContainersConfig {
        enabled: None,
        ..config()
    };
    assert_eq!(
        rule(check_ephemeral(Some(&off), "app-1", &c, None)),
        ENABLED
    );
}

#[test]
fn empty_lists_allow_any_image_and_namespace_but_no_caps() {
    let cfg = EphemeralContainersConfig {
        enabled: Some(true),
        ..Default::default()
    };
    let c = container("anything/at:all");
    assert_eq!(
        rule(check_ephemeral(Some(&cfg), "whatever", &c, None)),
        "ok"
    );
    let c = with_sc("x:1", |sc| {
        sc.capabilities = Some(Capabilities {
            add: Some(vec!["NET_RAW".to_owned()]),
            drop: None,
        })
    });
    assert_eq!(
        rule(check_ephemeral(Some(&cfg), "whatever", &c, None)),
        CAPS
    );
}

#[test]
fn digest_required() {
    let cfg = EphemeralContainersConfig {
        require_image_digest: Some(true),
        ..config()
    };
    let ok = container(&format!("alpine@sha256:{DIGEST_HEX}"));
    assert_eq!(rule(check_ephemeral(Some(&cfg), "app-1", &ok, None)), "ok");
    let tag = container("busybox:1.36");
    assert_eq!(
        rule(check_ephemeral(Some(&cfg), "app-1", &tag, None)),
        DIGEST
    );
    let short = container("alpine@sha256:abc");
    assert_eq!(
        rule(check_ephemeral(Some(&cfg), "app-1", &short, None)),
        DIGEST
    );
}

#[test]
fn non_root_from_pod_and_opt_out_and_privileged_allowed() {
    let cfg = config();
    let c = with_sc("busybox:1", |sc| sc.run_as_non_root = None);
    let pod = PodSecurityContext {
        run_as_non_root: Some(true),
        ..Default::default()
    };
    assert_eq!(
        rule(check_ephemeral(Some(&cfg), "app-1", &c, Some(&pod))),
        "ok"
    );
    let c = with_sc("busybox:1", |sc| sc.run_as_non_root = Some(false));
    assert_eq!(
        rule(check_ephemeral(Some(&cfg), "app-1", &c, Some(&pod))),
        NON_ROOT,
        "container false overrides pod true"
    );
    let relaxed = EphemeralContainersConfig {
        require_non_root: Some(false),
        allow_privileged: Some(true),
        ..config()
    };
    let c = with_sc("busybox:1", |sc| {
        sc.run_as_non_root = None;
        sc.privileged = Some(true);
    });
    assert_eq!(
        rule(check_ephemeral(Some(&relaxed), "app-1", &c, None)),
        "ok"
    );
}

#[test]
fn violation_message_names_rule() {
    let err = check_ephemeral(Some(&config()), "app-1", &container("nginx:1"), None).err();
    assert!(
        err.as_ref()
            .is_some_and(|e| e.to_string().contains(IMAGES) && e.message.contains("nginx:1")),
        "{err:?}"
    );
}
