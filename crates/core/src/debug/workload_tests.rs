use super::*;
use k8s_openapi::api::core::v1::NodeSelectorRequirement;
use serde_json::json;

fn session(spec: serde_json::Value) -> DebugSession {
    let mut base = json!({
        "cluster": "target-a",
        "templateRef": "net-debug",
        "requestedBy": "requester@example.com",
    });
    if let (Some(b), Some(p)) = (base.as_object_mut(), spec.as_object()) {
        for (k, v) in p {
            b.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "DebugSession",
        "metadata": {"name": "debug-requester-target-a-abc123", "namespace": "breakglass-system"},
        "spec": base,
    }))
    .unwrap()
}

fn template(spec: serde_json::Value) -> DebugSessionTemplateSpec {
    serde_json::from_value(spec).unwrap()
}

fn pod_template(spec: serde_json::Value) -> DebugPodTemplateSpec {
    serde_json::from_value(spec).unwrap()
}

fn basic_pod() -> DebugPodTemplateSpec {
    pod_template(json!({
        "template": {
            "metadata": {"labels": {"app": "netshoot", "breakglass.telekom.com/debug-session": "forged"}},
            "spec": {
                "containers": [{"name": "debug", "image": "nicolaka/netshoot"}],
                "restartPolicy": "Never",
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "tolerations": [{"key": "pod-template", "operator": "Exists"}],
            }
        }
    }))
}

fn build_with(
    s: &DebugSession,
    t: &DebugSessionTemplateSpec,
    p: &DebugPodTemplateSpec,
    nodes: &[&str],
) -> Result<Workload, WorkloadError> {
    let names: Vec<String> = nodes.iter().map(|n| (*n).to_owned()).collect();
    build(&WorkloadInput {
        session: s,
        effective: t,
        pod_template: Some(("netshoot", p)),
        node_names: &names,
    })
}

fn spec_of(w: &Workload) -> PodSpec {
    w.pod_spec().cloned().unwrap()
}

fn required_terms(spec: &PodSpec) -> Vec<NodeSelectorTerm> {
    spec.affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .map(|r| r.node_selector_terms.clone())
        .unwrap_or_default()
}

use k8s_openapi::api::core::v1::NodeSelectorTerm;

fn field(name: &str) -> NodeSelectorRequirement {
    NodeSelectorRequirement {
        key: "metadata.name".to_owned(),
        operator: "NotIn".to_owned(),
        values: Some(vec![name.to_owned()]),
    }
}

#[test]
fn daemonset_is_named_labelled_and_selected_by_the_session() {
    let s = session(json!({}));
    let t = template(json!({"labels": {"team": "net"}}));
    let w = build_with(&s, &t, &basic_pod(), &[]).unwrap();
    assert_eq!(w.kind(), "DaemonSet");
    let ds = match &w {
        Workload::DaemonSet(ds) => Some(ds),
        Workload::Deployment(_) => None,
    }
    .unwrap();
    assert_eq!(
        ds.metadata.name.as_deref(),
        Some("debug-requester-target-a-abc123")
    );
    assert_eq!(ds.metadata.namespace.as_deref(), Some("breakglass-debug"));
    let labels = ds.metadata.labels.clone().unwrap();
    for (k, v) in [
        (MANAGED_BY, "breakglass"),
        (labels::DEBUG_SESSION, "debug-requester-target-a-abc123"),
        (SESSION_NAMESPACE, "breakglass-system"),
        (labels::DEBUG_TEMPLATE, "net-debug"),
        (labels::DEBUG_CLUSTER, "target-a"),
        ("team", "net"),
    ] {
        assert_eq!(labels.get(k).map(String::as_str), Some(v), "{k}");
    }
    let spec = ds.spec.as_ref().unwrap();
    let selector = spec.selector.match_labels.clone().unwrap();
    assert_eq!(selector, selector_labels(&s));
    let pod_labels = spec
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .clone()
        .unwrap();
    // The pod carries every session label, and a template cannot forge the owner.
    for (k, v) in session_labels(&s) {
        assert_eq!(pod_labels.get(&k), Some(&v), "{k}");
    }
    assert_eq!(pod_labels.get("app").map(String::as_str), Some("netshoot"));
    // The selector matches the pod template (the apiserver insists).
    assert!(selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)));
    let pod = spec_of(&w);
    assert_eq!(pod.restart_policy.as_deref(), Some("Always"));
    assert_eq!(pod.automount_service_account_token, Some(false));
    assert_eq!(
        pod.containers[0].image.as_deref(),
        Some("nicolaka/netshoot")
    );
    assert_eq!(
        session_selector(&s),
        "breakglass.telekom.com/debug-session=debug-requester-target-a-abc123,breakglass.telekom.com/debug-session-namespace=breakglass-system"
    );
    assert_eq!(
        owner_of(&labels),
        Some((
            "breakglass-system".to_owned(),
            "debug-requester-target-a-abc123".to_owned()
        ))
    );
}

#[test]
fn deployment_replicas_default_and_cap() {
    let s = session(json!({}));
    let cases = [
        (json!({"workloadType": "Deployment"}), Ok(1)),
        (json!({"workloadType": "Deployment", "replicas": 3}), Ok(3)),
        (
            json!({"workloadType": "Deployment", "replicas": 5, "resourceQuota": {"maxPods": 2}}),
            Ok(2),
        ),
        (
            json!({"workloadType": "Deployment", "replicas": 0}),
            Err(WorkloadError::Replicas(0)),
        ),
    ];
    for (t, want) in cases {
        let t = template(t);
        let got = build_with(&s, &t, &basic_pod(), &[]).map(|w| match w {
            Workload::Deployment(d) => d.spec.and_then(|s| s.replicas).unwrap_or(-1),
            Workload::DaemonSet(_) => -2,
        });
        assert_eq!(got, want, "{t:?}");
    }
}

#[test]
fn target_namespace_order() {
    let cases = [
        (
            json!({"targetNamespace": "mine"}),
            json!({"targetNamespace": "tpl"}),
            "mine",
        ),
        (
            json!({}),
            json!({"targetNamespace": "tpl", "namespaceConstraints": {"defaultNamespace": "dflt"}}),
            "dflt",
        ),
        (json!({}), json!({"targetNamespace": "tpl"}), "tpl"),
        (
            json!({"targetNamespace": ""}),
            json!({}),
            "breakglass-debug",
        ),
    ];
    for (s, t, want) in cases {
        assert_eq!(target_namespace(&session(s), &template(t)), want);
    }
}

#[test]
fn rendered_and_missing_sources_fail_with_a_message() {
    let s = session(json!({}));
    let t = template(json!({"podTemplateString": "containers: []"}));
    let err = build_with(&s, &t, &basic_pod(), &[]).unwrap_err();
    assert!(err.to_string().contains("issue #10"), "{err}");
    assert!(err.to_string().contains("podTemplateString"), "{err}");

    let p = pod_template(json!({"templateString": "spec: {}"}));
    let err = build_with(&s, &template(json!({})), &p, &[]).unwrap_err();
    assert!(err.to_string().contains("templateString"), "{err}");
    assert!(matches!(err, WorkloadError::RenderedTemplate(_)));

    let err = build_with(&s, &template(json!({})), &pod_template(json!({})), &[]).unwrap_err();
    assert_eq!(err, WorkloadError::EmptyPodTemplate("netshoot".to_owned()));

    let err = build(&WorkloadInput {
        session: &s,
        effective: &template(json!({})),
        pod_template: None,
        node_names: &[],
    })
    .unwrap_err();
    assert_eq!(err, WorkloadError::NoPodTemplate);
    assert!(!deploys_workload(&template(
        json!({"mode": "kubectl-debug"})
    )));
    assert!(deploys_workload(&template(json!({"mode": "hybrid"}))));
    assert!(deploys_workload(&template(json!({}))));
}

#[test]
fn scheduling_sources_apply_in_order() {
    let s = session(json!({
        "nodeSelector": {"node-pool": "general"},
        "resolvedSchedulingConstraints": {
            "nodeSelector": {"zone": "a"},
            "tolerations": [{"key": "constraint", "operator": "Exists"}],
        },
    }));
    let t = template(json!({
        "additionalTolerations": [{"key": "additional", "operator": "Exists"}],
        "affinityOverrides": {"podAffinity": {}},
        "podOverrides": {"spec": {"hostNetwork": true}},
        // Ignored: the resolved constraints recorded on the session win.
        "schedulingConstraints": {"nodeSelector": {"zone": "b"}},
    }));
    let pod = spec_of(&build_with(&s, &t, &basic_pod(), &[]).unwrap());
    let ns = pod.node_selector.clone().unwrap();
    assert_eq!(
        ns,
        BTreeMap::from([
            ("kubernetes.io/os".to_owned(), "linux".to_owned()),
            ("node-pool".to_owned(), "general".to_owned()),
            ("zone".to_owned(), "a".to_owned()),
        ])
    );
    let keys: Vec<_> = pod
        .tolerations
        .unwrap()
        .into_iter()
        .filter_map(|t| t.key)
        .collect();
    assert_eq!(keys, ["pod-template", "additional", "constraint"]);
    assert!(pod.affinity.unwrap().pod_affinity.is_some());
    assert_eq!(pod.host_network, Some(true));

    // Without resolved constraints the effective template's apply.
    let s = session(json!({}));
    let pod = spec_of(&build_with(&s, &t, &basic_pod(), &[]).unwrap());
    assert_eq!(
        pod.node_selector.unwrap().get("zone").map(String::as_str),
        Some("b")
    );
}

#[test]
fn node_selector_conflicts_are_errors() {
    let cases = [
        // The request against the pod template.
        (
            json!({"nodeSelector": {"kubernetes.io/os": "windows"}}),
            json!({}),
        ),
        // The constraints against the request.
        (
            json!({"nodeSelector": {"zone": "b"}}),
            json!({"schedulingConstraints": {"nodeSelector": {"zone": "a"}}}),
        ),
    ];
    for (s, t) in cases {
        let err = build_with(&session(s), &template(t), &basic_pod(), &[]).unwrap_err();
        assert!(
            matches!(err, WorkloadError::NodeSelectorConflict { .. }),
            "{err}"
        );
    }
    // Equal values are no conflict.
    let s = session(json!({"nodeSelector": {"kubernetes.io/os": "linux"}}));
    assert!(build_with(&s, &template(json!({})), &basic_pod(), &[]).is_ok());
}

#[test]
fn denied_nodes_exact_and_glob_become_field_requirements() {
    let s = session(json!({}));
    let t = template(json!({"schedulingConstraints": {
        "deniedNodes": ["*-control-plane", "gpu-1", "cp-[0-9]"],
    }}));
    let nodes = [
        "a-control-plane",
        "a-worker",
        "cp-1",
        "cp-x",
        "b-control-plane",
    ];
    let pod = spec_of(&build_with(&s, &t, &basic_pod(), &nodes).unwrap());
    let terms = required_terms(&pod);
    assert_eq!(terms.len(), 1);
    assert_eq!(
        terms[0].match_fields.clone().unwrap(),
        vec![
            field("a-control-plane"),
            field("b-control-plane"),
            field("cp-1"),
            field("gpu-1")
        ]
    );
    let many: Vec<String> = (0..=scheduling::MAX_DENIED_NODES)
        .map(|i| format!("n{i}"))
        .collect();
    let t = template(json!({"schedulingConstraints": {"deniedNodes": many}}));
    assert_eq!(
        build_with(&s, &t, &basic_pod(), &[]).unwrap_err(),
        WorkloadError::TooManyDeniedNodes(scheduling::MAX_DENIED_NODES + 1)
    );
    let t = template(json!({"schedulingConstraints": {"deniedNodes": ["[bad"]}}));
    assert_eq!(
        build_with(&s, &t, &basic_pod(), &nodes).unwrap_err(),
        WorkloadError::BadDeniedNodePattern("[bad".to_owned())
    );
}

#[test]
fn denied_node_labels_are_anded_into_every_term() {
    let s = session(json!({}));
    let mut p = basic_pod();
    let pspec = &mut p.template.as_mut().unwrap().spec;
    pspec.affinity = serde_json::from_value(json!({"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["a"]}]},
            {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["b"]}]},
        ]}
    }}))
    .unwrap();
    let t = template(json!({"schedulingConstraints": {
        "deniedNodeLabels": {"node-role.kubernetes.io/control-plane": "*", "tier": "prod"},
        "requiredNodeAffinity": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "os", "operator": "In", "values": ["linux"]}]},
        ]},
        "deniedNodes": ["n1"],
    }}));
    let pod = spec_of(&build_with(&s, &t, &p, &[]).unwrap());
    let terms = required_terms(&pod);
    assert_eq!(terms.len(), 2);
    for (term, pool) in terms.iter().zip(["a", "b"]) {
        let exprs = term.match_expressions.clone().unwrap();
        let keys: Vec<(&str, &str)> = exprs
            .iter()
            .map(|e| (e.key.as_str(), e.operator.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("pool", "In"),
                ("os", "In"),
                ("node-role.kubernetes.io/control-plane", "DoesNotExist"),
                ("tier", "NotIn"),
            ]
        );
        assert_eq!(exprs[0].values, Some(vec![pool.to_owned()]));
        assert_eq!(exprs[3].values, Some(vec!["prod".to_owned()]));
        assert_eq!(term.match_fields.clone().unwrap(), vec![field("n1")]);
    }
}

#[test]
fn too_many_affinity_terms_are_refused() {
    let term = |i: usize| json!({"matchExpressions": [{"key": "k", "operator": "In", "values": [i.to_string()]}]});
    let many: Vec<_> = (0..12).map(term).collect();
    let mut p = basic_pod();
    p.template.as_mut().unwrap().spec.affinity = serde_json::from_value(json!({"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": many}
    }}))
    .unwrap();
    let t = template(
        json!({"schedulingConstraints": {"requiredNodeAffinity": {"nodeSelectorTerms": many}}}),
    );
    assert_eq!(
        build_with(&session(json!({})), &t, &p, &[]).unwrap_err(),
        WorkloadError::TooManyAffinityTerms(144)
    );
}

#[test]
fn label_values_are_valid_and_distinct() {
    assert_eq!(label_value("target-a"), "target-a");
    let long = "x".repeat(80);
    let v = label_value(&long);
    assert!(v.len() <= 63, "{v}");
    assert_ne!(
        label_value(&format!("{long}1")),
        label_value(&format!("{long}2"))
    );
    let odd = label_value("a/b c");
    assert!(odd.starts_with("a-b-c-"), "{odd}");
    assert!(label_value("---").starts_with('h'));
}

#[test]
fn allowed_pods_report_state_and_skip_terminating_pods() {
    let pod = |name: &str, deleting: bool| -> Pod {
        serde_json::from_value(json!({
            "metadata": {
                "name": name, "namespace": "breakglass-debug",
                "deletionTimestamp": deleting.then_some("2026-01-01T00:00:00Z"),
            },
            "spec": {"nodeName": "a-worker", "containers": [{"name": "debug"}]},
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{
                    "name": "debug", "ready": true, "restartCount": 2, "image": "x", "imageID": "",
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
                }],
            },
        }))
        .unwrap()
    };
    let pods = [pod("p2", false), pod("p1", false), pod("p0", true)];
    let got = allowed_pods(&pods);
    assert_eq!(
        got.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["p1", "p2"]
    );
    assert_eq!(got[0].node_name.as_deref(), Some("a-worker"));
    assert_eq!(got[0].ready, Some(true));
    assert_eq!(got[0].phase.as_deref(), Some("Running"));
    let cs = got[0].container_status.clone().unwrap();
    assert_eq!(cs.waiting_reason.as_deref(), Some("CrashLoopBackOff"));
    assert_eq!(cs.restart_count, Some(2));
    assert_eq!(cs.last_termination_reason.as_deref(), Some("Error"));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("node-role.kubernetes.io/control-plane".to_owned()),
            Just("kubernetes.io/hostname".to_owned()),
            Just("zone".to_owned()),
            "[a-z]{1,6}",
        ]
    }

    proptest! {
        /// Whatever nodeSelector a user asks for, every required term still excludes the
        /// denied nodes and labels (or the build fails; it never drops them).
        #[test]
        fn user_values_never_remove_a_denial(
            user in proptest::collection::btree_map(key(), "[a-z*]{0,5}", 0..5),
            nodes in proptest::collection::vec("[a-c]-(worker|control-plane)", 0..6),
        ) {
            let s = session(json!({"nodeSelector": user}));
            let t = template(json!({"schedulingConstraints": {
                "deniedNodes": ["*-control-plane", "gpu-1"],
                "deniedNodeLabels": {"node-role.kubernetes.io/control-plane": "*"},
            }}));
            if let Ok(w) = build_with(&s, &t, &basic_pod(), &nodes.iter().map(String::as_str).collect::<Vec<_>>()) {
                let terms = required_terms(&spec_of(&w));
                prop_assert!(!terms.is_empty());
                for term in terms {
                    let fields = term.match_fields.unwrap_or_default();
                    prop_assert!(fields.contains(&field("gpu-1")));
                    for n in nodes.iter().filter(|n| n.ends_with("-control-plane")) {
                        prop_assert!(fields.contains(&field(n)));
                    }
                    let exprs = term.match_expressions.unwrap_or_default();
                    prop_assert!(exprs.iter().any(|e| e.key == "node-role.kubernetes.io/control-plane" && e.operator == "DoesNotExist"));
                }
            }
        }
    }
}

/// The fields a rendered pod spec may set are exactly the CRD's DebugPodTemplate
/// `template.spec` properties (the list cannot drift from the type).
#[test]
fn rendered_pod_fields_match_the_structured_pod_spec() {
    let crd = breakglass_api::crds::all()
        .into_iter()
        .find(|c| c.spec.names.kind == "DebugPodTemplate")
        .unwrap();
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .unwrap();
    let props = |s: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps,
                 key: &str| { s.properties.as_ref().unwrap().get(key).unwrap().clone() };
    let spec = props(&props(&props(schema, "spec"), "template"), "spec");
    let mut keys: Vec<&str> = spec
        .properties
        .as_ref()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut fields = rendered::POD_SPEC_FIELDS.to_vec();
    fields.sort_unstable();
    assert_eq!(keys, fields);
}

#[test]
fn first_documents_read_as_pods() {
    let doc = json!({"containers": [{"name": "c", "image": "i"}], "hostPID": true, "restartPolicy": "Never"});
    let parts = rendered::first_document(&doc, DebugWorkloadType::DaemonSet).unwrap();
    assert_eq!(parts.spec.host_pid, Some(true));
    assert_eq!(parts.spec.automount_service_account_token, Some(false));
    for (doc, want) in [
        (
            json!("text"),
            "the pod template's first document is not a usable pod: the first document is not a mapping",
        ),
        (
            json!({"containers": "x"}),
            "the pod template's first document is not a usable pod: containers: invalid type: string \"x\", expected a sequence",
        ),
        (
            json!({"apiVersion": "v1", "kind": "Pod"}),
            "the pod template's first document is not a usable pod: the Pod document has no spec",
        ),
        (
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "spec": {}}),
            "the pod template's first document is not a usable pod: the DaemonSet document has no spec.template",
        ),
        (
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"a": 1}}, "spec": {"containers": [{"name": "c"}]}}),
            "the pod template's first document is not a usable pod: metadata.labels must map strings to strings",
        ),
    ] {
        let err = rendered::first_document(&doc, DebugWorkloadType::DaemonSet).unwrap_err();
        assert_eq!(err.to_string(), want);
    }
}
