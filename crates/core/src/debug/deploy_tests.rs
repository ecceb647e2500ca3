use super::*;
use breakglass_api::debug_common::ResourceKindRef;
use breakglass_api::debug_session_cluster_binding::DebugSessionClusterBindingSpec;
use serde_json::{Value as Json, json};

use crate::debug::merge;

pub(super) const SESSION: &str = "debug-requester-target-a-abc123";

pub(super) fn session(spec: Json) -> DebugSession {
    let mut base = json!({
        "cluster": "target-a",
        "templateRef": "net-debug",
        "requestedBy": "requester@example.com",
        "targetNamespace": "debug-ns",
    });
    if let (Some(b), Some(p)) = (base.as_object_mut(), spec.as_object()) {
        for (k, v) in p {
            b.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(json!({
        "metadata": {"name": SESSION, "namespace": "breakglass-system"},
        "spec": base,
    }))
    .unwrap()
}

pub(super) fn template(spec: Json) -> DebugSessionTemplateSpec {
    serde_json::from_value(spec).unwrap()
}

pub(super) fn structured_pod(resources: Json) -> DebugPodTemplateSpec {
    serde_json::from_value(json!({
        "template": {
            "metadata": {"labels": {"app": "netshoot"}},
            "spec": {
                "containers": [{"name": "debug", "image": "nicolaka/netshoot", "resources": resources}],
            }
        }
    }))
    .unwrap()
}

pub(super) fn now() -> jiff::Timestamp {
    "2026-06-01T12:00:00Z".parse().unwrap()
}

pub(super) fn plan_for(
    s: &DebugSession,
    t: &DebugSessionTemplateSpec,
    p: Option<&DebugPodTemplateSpec>,
) -> Result<DeployPlan, DeployError> {
    plan(&DeployInput {
        session: s,
        effective: t,
        pod_template: p.map(|p| ("netshoot", p)),
        node_names: &[],
        now: now(),
    })
}

fn summary(p: &DeployPlan) -> Vec<(String, String, String)> {
    p.objects
        .iter()
        .map(|o| {
            (
                o.kind.kind.to_owned(),
                o.name.clone(),
                o.source.label().to_owned(),
            )
        })
        .collect()
}

fn label<'a>(o: &'a PlannedObject, key: &str) -> Option<&'a str> {
    o.object["metadata"]["labels"][key].as_str()
}

fn full_resources() -> Json {
    json!({"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}})
}

fn kind_refs(list: &[(&str, &str)]) -> Vec<ResourceKindRef> {
    list.iter()
        .map(|(g, k)| ResourceKindRef {
            group: (*g).to_owned(),
            kind: (*k).to_owned(),
        })
        .collect()
}

fn kind_names(list: &[&KindInfo]) -> Vec<&'static str> {
    list.iter().map(|k| k.kind).collect()
}

#[test]
fn known_kinds_and_the_default_allow_list() {
    assert_eq!(KNOWN_KINDS.len(), 12);
    assert!(KNOWN_KINDS.iter().all(|k| k.namespaced));
    assert_eq!(
        known_kind("apps", "DaemonSet").unwrap().api_version(),
        "apps/v1"
    );
    assert_eq!(known_kind("", "ConfigMap").unwrap().api_version(), "v1");
    assert_eq!(
        known_kind("policy", "PodDisruptionBudget").unwrap().plural,
        "poddisruptionbudgets"
    );
    let default = kind_names(&kinds::allowed(None));
    assert_eq!(
        default,
        [
            "PodDisruptionBudget",
            "ServiceAccount",
            "ConfigMap",
            "Secret",
            "PersistentVolumeClaim",
            "Service",
            "NetworkPolicy",
            "Role",
            "RoleBinding"
        ]
    );
    for own in ["DaemonSet", "Deployment", "ResourceQuota"] {
        assert!(!default.contains(&own), "{own} is the session's own kind");
    }
}

#[test]
fn allowed_kinds_only_narrow() {
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case<'_>] = &[
        (&[("", "ConfigMap")], &["ConfigMap"]),
        (
            &[("", "*")],
            &[
                "ServiceAccount",
                "ConfigMap",
                "Secret",
                "PersistentVolumeClaim",
                "Service",
            ],
        ),
        (
            &[("rbac.authorization.k8s.io", "*")],
            &["Role", "RoleBinding"],
        ),
        // Never wider than the defaults: workloads, quotas and unknown kinds stay out.
        (
            &[
                ("apps", "DaemonSet"),
                ("", "ResourceQuota"),
                ("rbac.authorization.k8s.io", "ClusterRole"),
            ],
            &[],
        ),
        (&[("", "NetworkPolicy")], &[]), // wrong group
        (&[], &[]),
    ];
    for (list, want) in cases {
        let refs = kind_refs(list);
        assert_eq!(kind_names(&kinds::allowed(Some(&refs))), *want, "{list:?}");
    }
}

#[test]
fn binding_denials_remove_kinds_in_the_merge() {
    // No denials: the template's list (or its absence) is kept as written.
    assert_eq!(kinds::narrow(None, None), None);
    let t = kind_refs(&[("", "ConfigMap"), ("rbac.authorization.k8s.io", "Role")]);
    assert_eq!(kinds::narrow(Some(&t), Some(&[])), Some(t.clone()));
    // Denials against the default list write out what remains.
    let denied = kind_refs(&[("rbac.authorization.k8s.io", "*"), ("", "Secret")]);
    let narrowed = kinds::narrow(None, Some(&denied)).unwrap();
    assert_eq!(
        narrowed,
        kind_refs(&[
            ("policy", "PodDisruptionBudget"),
            ("", "ServiceAccount"),
            ("", "ConfigMap"),
            ("", "PersistentVolumeClaim"),
            ("", "Service"),
            ("networking.k8s.io", "NetworkPolicy"),
        ])
    );
    assert_eq!(
        kinds::narrow(
            Some(&t),
            Some(&kind_refs(&[("rbac.authorization.k8s.io", "Role")]))
        ),
        Some(kind_refs(&[("", "ConfigMap")]))
    );
    // Through the merge, with the binding's category switches over the defaults.
    let tpl = template(json!({
        "allowedAuxiliaryResourceKinds": [{"kind": "ConfigMap"}, {"group": "rbac.authorization.k8s.io", "kind": "Role"}],
        "auxiliaryResourceDefaults": {"monitoring": true, "rbac": true},
    }));
    let b: DebugSessionClusterBindingSpec = serde_json::from_value(json!({
        "deniedAuxiliaryResourceKinds": [{"group": "rbac.authorization.k8s.io", "kind": "*"}],
        "auxiliaryResourceOverrides": {"monitoring": false, "network-policy": true},
    }))
    .unwrap();
    let eff = merge::effective_template(&tpl, Some(&b));
    assert_eq!(
        eff.allowed_auxiliary_resource_kinds,
        Some(kind_refs(&[("", "ConfigMap")]))
    );
    let defaults = eff.auxiliary_resource_defaults.unwrap();
    assert_eq!(defaults.get("monitoring"), Some(&false));
    assert_eq!(defaults.get("network-policy"), Some(&true));
    assert_eq!(defaults.get("rbac"), Some(&true));
}

#[test]
fn kind_entries_that_can_match_nothing_are_refused_at_validation() {
    use crate::validation::{
        validate_debug_session_cluster_binding, validate_debug_session_template,
    };
    use breakglass_api::{DebugSessionClusterBinding, DebugSessionTemplate};
    let t: DebugSessionTemplate = serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "DebugSessionTemplate",
        "metadata": {"name": "t"},
        "spec": {"mode": "kubectl-debug", "allowedAuxiliaryResourceKinds": [
            {"kind": "ConfigMap"}, {"group": "apps", "kind": "Deployment"}, {"group": "rbac", "kind": "*"},
        ]},
    }))
    .unwrap();
    let errs: Vec<(String, String)> = validate_debug_session_template(&t)
        .into_iter()
        .filter(|e| e.path.contains("AuxiliaryResourceKinds"))
        .map(|e| (e.path, e.message))
        .collect();
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(errs[0].0, "spec.allowedAuxiliaryResourceKinds[1].kind");
    assert!(errs[0].1.starts_with("Invalid value: \"Deployment\": matches no kind of group \"apps\" that auxiliary resources may create (policy/v1 PodDisruptionBudget, v1 ServiceAccount"), "{}", errs[0].1);
    assert_eq!(errs[1].0, "spec.allowedAuxiliaryResourceKinds[2].kind");
    let b: DebugSessionClusterBinding = serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "DebugSessionClusterBinding",
        "metadata": {"name": "b", "namespace": "n"},
        "spec": {"templateRef": {"name": "t"}, "clusters": ["c"], "deniedAuxiliaryResourceKinds": [
            {"group": "rbac.authorization.k8s.io", "kind": "*"}, {"group": "rbac", "kind": "*"},
        ]},
    }))
    .unwrap();
    let errs: Vec<String> = validate_debug_session_cluster_binding(&b)
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(errs, ["spec.deniedAuxiliaryResourceKinds[1].kind"]);
}

#[test]
fn structured_plan_orders_names_and_labels_everything() {
    let s = session(json!({}));
    let t = template(json!({
        "workloadType": "Deployment",
        "replicas": 5,
        "labels": {"team": "sre", "breakglass.telekom.com/debug-session": "forged"},
        "annotations": {"owner": "sre"},
        "resourceQuota": {"maxPods": 3, "maxCPU": "2", "maxMemory": "1Gi"},
        "podDisruptionBudget": {"enabled": true, "maxUnavailable": "50%"},
        "namespaceConstraints": {"createIfNotExists": true, "namespaceLabels": {"purpose": "debug"}},
        "impersonation": {"serviceAccountRef": {"name": "deployer", "namespace": "debug-ns"}},
        "failMode": "open",
    }));
    let p = plan_for(&s, &t, Some(&structured_pod(full_resources()))).unwrap();
    assert_eq!(
        summary(&p),
        [
            (
                "ResourceQuota".into(),
                format!("{SESSION}-quota"),
                "quota".into()
            ),
            (
                "PodDisruptionBudget".into(),
                format!("{SESSION}-pdb"),
                "pdb".into()
            ),
            ("Deployment".into(), SESSION.into(), "workload".into()),
        ]
    );
    for o in &p.objects {
        assert_eq!(o.namespace.as_deref(), Some("debug-ns"));
        assert_eq!(o.object["metadata"]["namespace"], "debug-ns");
        assert_eq!(
            label(o, "breakglass.telekom.com/debug-session"),
            Some(SESSION)
        );
        assert_eq!(label(o, "app.kubernetes.io/managed-by"), Some("breakglass"));
        assert_eq!(label(o, "team"), Some("sre"));
        assert_eq!(o.object["metadata"]["annotations"]["owner"], "sre");
        assert_eq!(o.object["kind"], o.kind.kind);
        assert_eq!(o.object["apiVersion"], o.kind.api_version());
    }
    let quota = &p.objects[0].object["spec"]["hard"];
    assert_eq!(
        quota,
        &json!({"pods": "3", "requests.cpu": "2", "limits.cpu": "2", "requests.memory": "1Gi", "limits.memory": "1Gi"})
    );
    let pdb = &p.objects[1].object["spec"];
    assert_eq!(pdb["maxUnavailable"], "50%");
    assert_eq!(
        pdb["selector"]["matchLabels"],
        json!({"breakglass.telekom.com/debug-session": SESSION, "breakglass.telekom.com/debug-session-namespace": "breakglass-system"})
    );
    let deploy = &p.objects[2].object;
    assert_eq!(deploy["spec"]["replicas"], 3, "replicas capped at maxPods");
    assert_eq!(
        deploy["spec"]["template"]["spec"]["restartPolicy"],
        "Always"
    );
    assert_eq!(
        deploy["spec"]["template"]["metadata"]["labels"]["app"],
        "netshoot"
    );
    assert_eq!(
        deploy["spec"]["template"]["metadata"]["labels"]["breakglass.telekom.com/debug-session"],
        SESSION
    );
    assert_eq!(
        p.namespace,
        NamespacePlan {
            name: "debug-ns".into(),
            create_if_missing: true,
            labels: {
                let mut l = workload::session_labels(&s);
                l.insert("purpose".into(), "debug".into());
                l
            },
        }
    );
    assert_eq!(p.impersonate.as_ref().unwrap().name, "deployer");
    assert_eq!(p.fail_mode, FailMode::Open);
    assert!(p.warnings.is_empty() && p.skipped.is_empty());
}

#[test]
fn defaults_without_quota_pdb_or_impersonation() {
    let s = session(json!({"targetNamespace": null}));
    let t = template(json!({}));
    let p = plan_for(&s, &t, Some(&structured_pod(json!({})))).unwrap();
    assert_eq!(
        summary(&p),
        [("DaemonSet".into(), SESSION.into(), "workload".into())]
    );
    assert_eq!(p.namespace.name, "breakglass-debug");
    assert!(!p.namespace.create_if_missing);
    assert_eq!(p.impersonate, None);
    assert_eq!(p.fail_mode, FailMode::Closed);
    // kubectl-debug templates deploy no workload.
    let t = template(json!({"mode": "kubectl-debug", "podDisruptionBudget": {"enabled": true}}));
    assert!(plan_for(&s, &t, None).unwrap().objects.is_empty());
    // A workload template without a pod template cannot be planned.
    let err = plan_for(&s, &template(json!({})), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "template has no podTemplateRef: nothing to deploy"
    );
    let t = template(json!({"podTemplateRef": {"name": "gone"}}));
    let err = plan_for(&s, &t, None).unwrap_err();
    assert_eq!(err.to_string(), "pod template \"gone\" not found");
}

#[test]
fn quota_and_budget_settings_are_validated() {
    let s = session(json!({}));
    let cases = [
        (
            json!({"resourceQuota": {"maxCPU": "two"}}),
            "resourceQuota.maxCPU: \"two\" is not a quantity",
        ),
        (
            json!({"resourceQuota": {"maxMemory": "-1Gi"}}),
            "resourceQuota.maxMemory: \"-1Gi\" must be positive",
        ),
        (
            json!({"resourceQuota": {"maxStorage": "1Zi"}}),
            "resourceQuota.maxStorage: \"1Zi\" is not a quantity",
        ),
        (
            json!({"resourceQuota": {"maxPods": 0}}),
            "resourceQuota.maxPods: 0 would let no debug pod run",
        ),
        (
            json!({"podDisruptionBudget": {"enabled": true, "minAvailable": 1, "maxUnavailable": 1}}),
            "podDisruptionBudget: set minAvailable or maxUnavailable, not both",
        ),
        (
            json!({"podDisruptionBudget": {"enabled": true, "minAvailable": "half"}}),
            "podDisruptionBudget.minAvailable: must be a non-negative number or a percentage",
        ),
    ];
    for (t, want) in cases {
        let err = plan_for(
            &s,
            &template(t.clone()),
            Some(&structured_pod(full_resources())),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with(want), "{t}: {err}");
    }
    // Storage adds the ephemeral-storage request; a disabled budget adds nothing; a
    // budget without bounds keeps one pod.
    let t = template(json!({
        "resourceQuota": {"maxStorage": "10Gi", "enforceResourceRequests": false, "enforceResourceLimits": false},
        "podDisruptionBudget": {"enabled": false},
    }));
    let p = plan_for(&s, &t, Some(&structured_pod(json!({})))).unwrap();
    assert_eq!(
        p.objects[0].object["spec"]["hard"],
        json!({"requests.ephemeral-storage": "10Gi"})
    );
    assert_eq!(p.objects.len(), 2);
    let t = template(json!({"podDisruptionBudget": {"enabled": true}}));
    let p = plan_for(&s, &t, Some(&structured_pod(json!({})))).unwrap();
    assert_eq!(p.objects[0].object["spec"]["minAvailable"], 1);
}

#[test]
fn long_session_names_keep_derived_names_valid_and_distinct() {
    let long = "a".repeat(250);
    let mut s = session(json!({}));
    s.metadata.name = Some(long.clone());
    let q = quota::derived_name(&s, "quota");
    assert!(q.len() <= 253 && q.ends_with("-quota"), "{q}");
    s.metadata.name = Some(format!("{}b", "a".repeat(249)));
    assert_ne!(quota::derived_name(&s, "quota"), q);
    s.metadata.name = Some("short".into());
    assert_eq!(quota::derived_name(&s, "pdb"), "short-pdb");
}

#[test]
fn resource_enforcement_names_container_resource_and_setting() {
    let s = session(json!({}));
    let quota = |extra: Json| {
        let mut q = json!({"maxCPU": "4", "maxMemory": "4Gi"});
        if let (Some(q), Some(e)) = (q.as_object_mut(), extra.as_object()) {
            q.extend(e.clone());
        }
        template(json!({"resourceQuota": q}))
    };
    let cases = [
        (
            json!({}),
            json!({}),
            "container debug has no cpu request (resourceQuota.enforceResourceRequests)",
        ),
        (
            json!({}),
            json!({"requests": {"cpu": "1"}, "limits": {"cpu": "1", "memory": "1Gi"}}),
            "container debug has no memory request (resourceQuota.enforceResourceRequests)",
        ),
        (
            json!({}),
            json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1"}}),
            "container debug has no memory limit (resourceQuota.enforceResourceLimits)",
        ),
        (
            json!({"maxStorage": "1Gi"}),
            full_resources(),
            "container debug has no ephemeral-storage request (resourceQuota.enforceResourceRequests)",
        ),
    ];
    for (extra, resources, want) in cases {
        let err = plan_for(&s, &quota(extra), Some(&structured_pod(resources))).unwrap_err();
        assert_eq!(err.to_string(), want);
    }
    // Init containers are checked too.
    let mut pod = structured_pod(full_resources());
    if let Some(t) = pod.template.as_mut() {
        t.spec.init_containers = Some(vec![
            serde_json::from_value(json!({"name": "init", "image": "busybox"})).unwrap(),
        ]);
    }
    let err = plan_for(&s, &quota(json!({})), Some(&pod)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "init container init has no cpu request (resourceQuota.enforceResourceRequests)"
    );
    // Switched off, or without a quota, nothing is required.
    let off = quota(json!({"enforceResourceRequests": false, "enforceResourceLimits": false}));
    assert!(plan_for(&s, &off, Some(&structured_pod(json!({})))).is_ok());
    let only_limits = quota(json!({"enforceResourceRequests": false}));
    let err = plan_for(
        &s,
        &only_limits,
        Some(&structured_pod(
            json!({"requests": {"cpu": "1", "memory": "1Gi"}}),
        )),
    )
    .unwrap_err();
    assert!(err.to_string().contains("no cpu limit"), "{err}");
    assert!(plan_for(&s, &template(json!({})), Some(&structured_pod(json!({})))).is_ok());
    // Enforcement sees the final pod: a podOverrides resources block satisfies it.
    let t = template(json!({
        "resourceQuota": {"maxCPU": "4"},
        "podOverrides": {"spec": {"containers": [{"name": "debug", "resources": full_resources()}]}},
    }));
    assert!(plan_for(&s, &t, Some(&structured_pod(json!({})))).is_ok());
}

#[test]
fn only_service_account_impersonation_deploys() {
    let s = session(json!({}));
    for (imp, field) in [
        (
            json!({"mode": "serviceaccount", "userName": "system:serviceaccount:a:b"}),
            "mode",
        ),
        (json!({"userName": "someone"}), "userName"),
        (
            json!({"serviceAccountRef": {"name": "d", "namespace": "n"}, "actionVerbs": ["create"]}),
            "actionVerbs",
        ),
        (
            json!({"serviceAccountRef": {"name": "d", "namespace": "n"}, "allowedIdentities": ["x"]}),
            "allowedIdentities",
        ),
        (
            json!({"serviceAccountRef": {"name": "d", "namespace": "n"}, "groups": ["g"]}),
            "groups",
        ),
    ] {
        let t = template(json!({"impersonation": imp}));
        let err = plan_for(&s, &t, Some(&structured_pod(json!({})))).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "impersonation: only serviceAccountRef impersonation deploys debug resources ({field} is set)"
            )
        );
    }
    let t = template(json!({"impersonation": {}}));
    assert_eq!(
        plan_for(&s, &t, Some(&structured_pod(json!({}))))
            .unwrap()
            .impersonate,
        None
    );
}

#[test]
fn pod_overrides_apply_host_namespaces_and_containers() {
    let s = session(json!({}));
    let t = template(json!({"podOverrides": {"spec": {
        "hostNetwork": true,
        "containers": [{"name": "debug", "env": [{"name": "A", "value": "1"}], "securityContext": {"privileged": false}}],
    }}}));
    let p = plan_for(&s, &t, Some(&structured_pod(json!({})))).unwrap();
    let spec = &p.objects[0].object["spec"]["template"]["spec"];
    assert_eq!(spec["hostNetwork"], true);
    assert_eq!(
        spec["containers"][0]["env"],
        json!([{"name": "A", "value": "1"}])
    );
    assert_eq!(
        spec["containers"][0]["securityContext"]["privileged"],
        false
    );
    let t = template(json!({"podOverrides": {"spec": {"containers": [{"name": "other"}]}}}));
    let err = plan_for(&s, &t, Some(&structured_pod(json!({})))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "podOverrides: the pod has no container named \"other\""
    );
}

#[test]
fn cleanup_selector_spares_kept_objects() {
    let s = session(json!({}));
    assert_eq!(
        workload::cleanup_selector(&s),
        format!(
            "breakglass.telekom.com/debug-session={SESSION},breakglass.telekom.com/debug-session-namespace=breakglass-system,!breakglass.telekom.com/debug-keep"
        )
    );
}

#[path = "deploy_aux_tests.rs"]
mod aux;

#[path = "deploy_render_tests.rs"]
mod rendered;
