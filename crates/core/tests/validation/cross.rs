//! Cross-object rules: conflicts refuse, dangling references warn.

use breakglass_api::debug_session_cluster_binding::DebugSessionClusterBindingSpec;
use breakglass_core::validation::{CrossReport, HubObjects, cross_object};
use serde_json::{Value, json};

#[derive(Default)]
struct Hub {
    named: Vec<(&'static str, &'static str, &'static str)>,
    defaults: Vec<&'static str>,
    issuers: Vec<(&'static str, &'static str)>,
    existing: Vec<(&'static str, &'static str)>,
    template_names: Vec<(&'static str, &'static str)>,
    bindings: Vec<(&'static str, &'static str, Value)>,
}

impl HubObjects for Hub {
    fn namespaces_of(&self, kind: &str, name: &str) -> Vec<String> {
        self.named
            .iter()
            .filter(|(k, _, n)| *k == kind && *n == name)
            .map(|(_, ns, _)| ns.to_string())
            .collect()
    }
    fn default_mail_providers(&self) -> Vec<String> {
        self.defaults.iter().map(|s| s.to_string()).collect()
    }
    fn identity_provider_issuers(&self) -> Vec<(String, String)> {
        self.issuers
            .iter()
            .map(|(n, i)| (n.to_string(), i.to_string()))
            .collect()
    }
    fn exists(&self, kind: &str, name: &str) -> bool {
        self.existing.iter().any(|(k, n)| *k == kind && *n == name)
    }
    fn template_display_name(&self, name: &str) -> Option<String> {
        self.template_names
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| d.to_string())
    }
    fn bindings(&self) -> Vec<(String, String, DebugSessionClusterBindingSpec)> {
        self.bindings
            .iter()
            .map(|(ns, n, spec)| {
                (
                    ns.to_string(),
                    n.to_string(),
                    serde_json::from_value(spec.clone()).unwrap(),
                )
            })
            .collect()
    }
}

fn obj(kind: &str, ns: Option<&str>, name: &str, spec: Value) -> Value {
    let mut meta = json!({"name": name});
    if let Some(ns) = ns {
        meta["namespace"] = json!(ns);
    }
    json!({"apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": kind, "metadata": meta, "spec": spec})
}

fn messages(r: &CrossReport) -> Vec<String> {
    r.errors.iter().map(|e| e.to_string()).collect()
}

#[test]
fn names_of_sessions_escalations_and_clusters_are_unique_across_namespaces() {
    let hub = Hub {
        named: vec![
            ("BreakglassEscalation", "team-a", "sre"),
            ("ClusterConfig", "breakglass", "prod"),
        ],
        ..Hub::default()
    };
    let esc = json!({"escalatedGroup": "g", "allowed": {"groups": ["x"]}});
    let r = cross_object(
        &obj("BreakglassEscalation", Some("team-b"), "sre", esc.clone()),
        &hub,
    );
    assert_eq!(
        messages(&r),
        [
            "metadata.name: Forbidden: a BreakglassEscalation named \"sre\" already exists in namespace \"team-a\"; names of this kind must be unique across namespaces"
        ]
    );
    // The same object again (an update) and other names pass.
    assert!(
        cross_object(
            &obj("BreakglassEscalation", Some("team-a"), "sre", esc.clone()),
            &hub
        )
        .errors
        .is_empty()
    );
    assert!(
        cross_object(
            &obj("BreakglassEscalation", Some("team-b"), "ops", esc),
            &hub
        )
        .errors
        .is_empty()
    );
    let r = cross_object(
        &obj("ClusterConfig", Some("other"), "prod", json!({})),
        &hub,
    );
    assert_eq!(r.errors.len(), 1, "{r:?}");
    // Kinds without the rule may repeat names.
    let r = cross_object(
        &obj(
            "DebugSessionClusterBinding",
            Some("other"),
            "prod",
            json!({}),
        ),
        &hub,
    );
    assert!(r.errors.is_empty());
}

#[test]
fn one_enabled_default_mail_provider() {
    let hub = Hub {
        defaults: vec!["corp"],
        ..Hub::default()
    };
    let smtp = json!({"smtp": {"host": "h", "port": 25}, "sender": {"address": "a@b.c"}});
    let mut spec = smtp.clone();
    spec["default"] = json!(true);
    let r = cross_object(&obj("MailProvider", None, "second", spec.clone()), &hub);
    assert_eq!(
        messages(&r),
        [
            "spec.default: Forbidden: MailProvider \"corp\" is already the default; only one enabled MailProvider may be the default"
        ]
    );
    // The default itself, a disabled second default, and a non-default pass.
    assert!(
        cross_object(&obj("MailProvider", None, "corp", spec.clone()), &hub)
            .errors
            .is_empty()
    );
    spec["disabled"] = json!(true);
    assert!(
        cross_object(&obj("MailProvider", None, "second", spec), &hub)
            .errors
            .is_empty()
    );
    assert!(
        cross_object(&obj("MailProvider", None, "second", smtp), &hub)
            .errors
            .is_empty()
    );
}

#[test]
fn an_issuer_names_one_identity_provider() {
    let hub = Hub {
        issuers: vec![("corp", "https://idp.example.com/realms/x")],
        ..Hub::default()
    };
    let spec = |issuer: Option<&str>, authority: &str| {
        let mut s =
            json!({"oidc": {"authority": authority, "clientID": "ui", "expectedAudience": "aud"}});
        if let Some(i) = issuer {
            s["issuer"] = json!(i);
        }
        s
    };
    let r = cross_object(
        &obj(
            "IdentityProvider",
            None,
            "copy",
            spec(Some("https://idp.example.com/realms/x/"), "https://other"),
        ),
        &hub,
    );
    assert_eq!(r.errors.len(), 1, "{r:?}");
    assert!(messages(&r)[0].starts_with("spec.issuer: Forbidden: IdentityProvider \"corp\""));
    // Without an issuer, the authority is the issuer.
    let r = cross_object(
        &obj(
            "IdentityProvider",
            None,
            "copy",
            spec(None, "https://idp.example.com/realms/x"),
        ),
        &hub,
    );
    assert!(
        messages(&r)[0].starts_with("spec.oidc.authority: Forbidden"),
        "{r:?}"
    );
    assert!(
        cross_object(
            &obj(
                "IdentityProvider",
                None,
                "corp",
                spec(None, "https://idp.example.com/realms/x")
            ),
            &hub
        )
        .errors
        .is_empty()
    );
    assert!(
        cross_object(
            &obj(
                "IdentityProvider",
                None,
                "copy",
                spec(None, "https://idp2.example.com")
            ),
            &hub
        )
        .errors
        .is_empty()
    );
}

#[test]
fn dangling_references_warn_and_do_not_refuse() {
    let hub = Hub {
        existing: vec![("IdentityProvider", "corp")],
        ..Hub::default()
    };
    let r = cross_object(
        &obj(
            "BreakglassEscalation",
            Some("ns"),
            "e",
            json!({"escalatedGroup": "g", "allowed": {"groups": ["x"]}, "approvers": {"groups": ["y"]}, "mailProvider": "missing",
                   "allowedIdentityProviders": ["corp", "gone"]}),
        ),
        &hub,
    );
    assert!(r.errors.is_empty());
    let paths: Vec<&str> = r.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        paths,
        ["spec.mailProvider", "spec.allowedIdentityProviders[1]"]
    );
    let r = cross_object(
        &obj(
            "ClusterConfig",
            Some("ns"),
            "c",
            json!({"identityProviderRefs": ["corp"]}),
        ),
        &hub,
    );
    assert!(r.warnings.is_empty() && r.errors.is_empty());
}

#[test]
fn two_enabled_bindings_may_not_offer_a_template_on_a_cluster_under_one_name() {
    let hub = Hub {
        existing: vec![("DebugSessionTemplate", "net")],
        template_names: vec![("net", "Network debug")],
        bindings: vec![(
            "sre",
            "net-prod",
            json!({"templateRef": {"name": "net"}, "clusters": ["prod-1", "prod-2"], "displayNamePrefix": "SRE"}),
        )],
        ..Hub::default()
    };
    let same = json!({"templateRef": {"name": "net"}, "clusters": ["prod-2"], "displayName": "SRE - Network debug"});
    let r = cross_object(
        &obj(
            "DebugSessionClusterBinding",
            Some("ops"),
            "mine",
            same.clone(),
        ),
        &hub,
    );
    assert_eq!(
        messages(&r),
        [
            "spec.displayName: Forbidden: binding sre/net-prod already offers template \"net\" on cluster \"prod-2\" as \"SRE - Network debug\"; give one of them another displayName or displayNamePrefix"
        ]
    );
    // Another name, another cluster, a disabled binding, or the binding itself pass.
    let mut other = same.clone();
    other["displayName"] = json!("Ops - Network debug");
    assert!(
        cross_object(
            &obj("DebugSessionClusterBinding", Some("ops"), "mine", other),
            &hub
        )
        .errors
        .is_empty()
    );
    let mut elsewhere = same.clone();
    elsewhere["clusters"] = json!(["stage"]);
    assert!(
        cross_object(
            &obj("DebugSessionClusterBinding", Some("ops"), "mine", elsewhere),
            &hub
        )
        .errors
        .is_empty()
    );
    let mut disabled = same.clone();
    disabled["disabled"] = json!(true);
    assert!(
        cross_object(
            &obj("DebugSessionClusterBinding", Some("ops"), "mine", disabled),
            &hub
        )
        .errors
        .is_empty()
    );
    assert!(
        cross_object(
            &obj("DebugSessionClusterBinding", Some("sre"), "net-prod", same),
            &hub
        )
        .errors
        .is_empty()
    );
}

#[test]
fn pod_templates_are_rendered_with_sample_values() {
    let hub = Hub::default();
    let pod = "containers:\n- name: debug\n  image: busybox\n  args: [\"{{ .session.name }}\"]\n";
    let r = cross_object(
        &obj(
            "DebugPodTemplate",
            None,
            "p",
            json!({"templateString": pod}),
        ),
        &hub,
    );
    assert!(r.errors.is_empty() && r.warnings.is_empty(), "{r:?}");
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {}\n";
    let r = cross_object(
        &obj(
            "DebugPodTemplate",
            None,
            "p",
            json!({"templateString": deployment}),
        ),
        &hub,
    );
    assert!(r.errors.is_empty(), "{r:?}");
    let config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n";
    let r = cross_object(
        &obj(
            "DebugPodTemplate",
            None,
            "p",
            json!({"templateString": config_map}),
        ),
        &hub,
    );
    assert_eq!(
        messages(&r),
        [
            "spec.templateString: Invalid value: \"<template>\": the first rendered document is a ConfigMap, not a PodSpec, Pod, Deployment or DaemonSet"
        ]
    );
    // A failure that depends on values only warns.
    let failing = "containers:\n- name: {{ fail \"needs a value\" }}\n";
    let r = cross_object(
        &obj(
            "DebugPodTemplate",
            None,
            "p",
            json!({"templateString": failing}),
        ),
        &hub,
    );
    assert!(r.errors.is_empty(), "{r:?}");
    assert_eq!(r.warnings.len(), 1, "{r:?}");
    assert!(r.warnings[0].message.contains("needs a value"), "{r:?}");
}
