//! Rendered pod templates, override templates and rendered auxiliary resources in plans
//! (the examples of docs/debug-sessions.md among them).

use super::*;

fn rendered_pod(source: &str) -> DebugPodTemplateSpec {
    serde_json::from_value(json!({"templateString": source})).unwrap()
}

fn with_vars(extra: Json) -> DebugSessionTemplateSpec {
    let mut t = json!({"extraDeployVariables": [
        {"name": "image"}, {"name": "ticket"}, {"name": "hostNetwork", "inputType": "boolean"},
    ]});
    if let (Some(m), Some(e)) = (t.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    template(t)
}

fn pod_spec_of(p: &DeployPlan) -> &Json {
    let w = p
        .objects
        .iter()
        .find(|o| o.source == Source::Workload)
        .unwrap();
    &w.object["spec"]["template"]["spec"]
}

const APP_DEBUG_POD: &str = r#"containers:
  - name: debug
    image: {{ .vars.image | default "alpine:3.20" }}
    command: ["sleep", "infinity"]
    envFrom:
      - configMapRef:
          name: debug-config-{{ .session.name }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: debug-config-{{ .session.name }}
data:
  CLUSTER: {{ .session.cluster | quote }}
  TICKET: {{ .vars.ticket | quote }}
"#;

#[test]
fn multi_document_pod_template_plans_its_documents_before_the_workload() {
    let s = session(
        json!({"extraDeployValues": {"ticket": "INC-42\nkind: Secret", "image": "busybox:1.36"}}),
    );
    let t = with_vars(json!({}));
    let p = plan_for(&s, &t, Some(&rendered_pod(APP_DEBUG_POD))).unwrap();
    let order: Vec<(&str, String, &str)> = p
        .objects
        .iter()
        .map(|o| (o.kind.kind, o.name.clone(), o.source.label()))
        .collect();
    assert_eq!(
        order,
        [
            (
                "ConfigMap",
                format!("debug-config-{SESSION}"),
                "pod-template"
            ),
            ("DaemonSet", SESSION.to_owned(), "workload"),
        ]
    );
    let cm = &p.objects[0];
    assert_eq!(cm.object["metadata"]["namespace"], "debug-ns");
    assert_eq!(
        label(cm, "breakglass.telekom.com/debug-resource"),
        Some("pod-template")
    );
    assert_eq!(
        label(cm, "breakglass.telekom.com/debug-session"),
        Some(SESSION)
    );
    // The user's value is one string, however it looks.
    assert_eq!(
        cm.object["data"],
        json!({"CLUSTER": "target-a", "TICKET": "INC-42\nkind: Secret"})
    );
    let spec = pod_spec_of(&p);
    assert_eq!(spec["containers"][0]["image"], "busybox:1.36");
    assert_eq!(spec["restartPolicy"], "Always");
    assert_eq!(spec["automountServiceAccountToken"], false);
    // Without a value the default applies.
    let p = plan_for(&session(json!({})), &t, Some(&rendered_pod(APP_DEBUG_POD))).unwrap();
    assert_eq!(pod_spec_of(&p)["containers"][0]["image"], "alpine:3.20");
}

#[test]
fn user_values_cannot_add_structure_to_the_pod() {
    let s = session(
        json!({"extraDeployValues": {"image": "x\n    securityContext: {privileged: true}"}}),
    );
    let src = "containers:\n  - name: debug\n    image: {{ .vars.image }}\n";
    let p = plan_for(&s, &with_vars(json!({})), Some(&rendered_pod(src))).unwrap();
    let c = &pod_spec_of(&p)["containers"][0];
    assert_eq!(c["image"], "x\n    securityContext: {privileged: true}");
    assert!(c.get("securityContext").is_none());
}

#[test]
fn the_first_document_decides_the_workload() {
    let s = session(json!({}));
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {tier: debug}\n  annotations: {a: b}\nspec:\n  containers: [{name: c, image: busybox}]\n";
    let p = plan_for(&s, &template(json!({})), Some(&rendered_pod(pod))).unwrap();
    let w = &p.objects[0].object;
    assert_eq!(w["kind"], "DaemonSet");
    assert_eq!(w["spec"]["template"]["metadata"]["labels"]["tier"], "debug");
    assert_eq!(w["spec"]["template"]["metadata"]["annotations"]["a"], "b");
    let deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ignored}\nspec:\n  template:\n    metadata: {labels: {tier: dep}}\n    spec:\n      containers: [{name: c, image: busybox}]\n";
    let t = template(json!({"workloadType": "Deployment", "replicas": 2}));
    let p = plan_for(&s, &t, Some(&rendered_pod(deploy))).unwrap();
    let w = &p.objects[0].object;
    assert_eq!(
        (w["kind"].as_str(), w["metadata"]["name"].as_str()),
        (Some("Deployment"), Some(SESSION))
    );
    assert_eq!(w["spec"]["replicas"], 2);
    assert_eq!(w["spec"]["template"]["metadata"]["labels"]["tier"], "dep");
    let cases = [
        (
            deploy,
            json!({}),
            "template renders a Deployment but workloadType is DaemonSet; these must match",
        ),
        (
            &deploy.replace("Deployment", "DaemonSet"),
            json!({"workloadType": "Deployment"}),
            "template renders a DaemonSet but workloadType is Deployment; these must match",
        ),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n",
            json!({}),
            "the pod template's first document is a v1 Service; it must be a PodSpec, a v1 Pod, or an apps/v1 Deployment or DaemonSet",
        ),
        (
            "containers: []\n",
            json!({}),
            "the pod template has no containers (at least one is required)",
        ),
        (
            "kind: Pod\nspec: {containers: [{name: c}]}\n",
            json!({}),
            "the pod template's first document is a (no apiVersion) Pod; it must be a PodSpec, a v1 Pod, or an apps/v1 Deployment or DaemonSet",
        ),
        (
            "nodeName: worker-1\ncontainers: [{name: c, image: busybox}]\n",
            json!({}),
            "the pod template sets nodeName, which a debug pod may not set",
        ),
        (
            "apiVersion: v1\nkind: Pod\nspec:\n  hostUsers: false\n  containers: [{name: c, image: busybox}]\n",
            json!({}),
            "the pod template sets spec.hostUsers, which a debug pod may not set",
        ),
        (
            "containers: [{name: c, image: busybox}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
            json!({}),
            "netshoot.templateString: document 2 has no metadata.name",
        ),
        (
            "containers: [{name: c, image: busybox}]\n---\nkind: ConfigMap\nmetadata: {name: x}\n",
            json!({}),
            "netshoot.templateString: document 2 has no apiVersion",
        ),
        (
            "containers: [{name: c, image: busybox}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
            json!({}),
            "pod template document 2: kind Deployment (apps/v1) is not allowed; allowed kinds: policy/v1 PodDisruptionBudget, v1 ServiceAccount, v1 ConfigMap, v1 Secret, v1 PersistentVolumeClaim, v1 Service, networking.k8s.io/v1 NetworkPolicy, rbac.authorization.k8s.io/v1 Role, rbac.authorization.k8s.io/v1 RoleBinding",
        ),
        (
            "containers: [{name: c, image: busybox}]\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: x, namespace: default}\n",
            json!({}),
            "pod template document 2: Secret \"x\" names namespace \"default\"; objects of a session must be in its target namespace \"debug-ns\"",
        ),
        (
            "{{- /* nothing */ -}}\n",
            json!({}),
            "netshoot.templateString: renders no documents",
        ),
    ];
    for (src, t, want) in cases {
        let err = plan_for(&s, &template(t), Some(&rendered_pod(src))).unwrap_err();
        assert_eq!(err.to_string(), want, "{src}");
    }
    let err = plan_for(
        &s,
        &template(json!({})),
        Some(&rendered_pod("containers: [{{ .nope }")),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("template netshoot.templateString: line 1"),
        "{err}"
    );
}

#[test]
fn pod_sources_in_precedence_order() {
    let s = session(json!({}));
    let mut both = structured_pod(json!({}));
    both.template_string = Some("containers: [{name: from-string, image: busybox}]".into());
    let p = plan_for(&s, &template(json!({})), Some(&both)).unwrap();
    assert_eq!(pod_spec_of(&p)["containers"][0]["name"], "from-string");
    let t = template(
        json!({"podTemplateString": "containers: [{name: from-template, image: busybox}]"}),
    );
    let p = plan_for(&s, &t, Some(&both)).unwrap();
    assert_eq!(pod_spec_of(&p)["containers"][0]["name"], "from-template");
    // podTemplateString needs no DebugPodTemplate.
    let p = plan_for(&s, &t, None).unwrap();
    assert_eq!(pod_spec_of(&p)["containers"][0]["name"], "from-template");
    let empty: DebugPodTemplateSpec = serde_json::from_value(json!({})).unwrap();
    let err = plan_for(&s, &template(json!({})), Some(&empty)).unwrap_err();
    assert_eq!(err.to_string(), "pod template \"netshoot\" has no template");
}

#[test]
fn override_templates_apply_after_structured_overrides() {
    let src = "{{- if eq .vars.hostNetwork \"true\" }}\nhostNetwork: true\n{{- end }}\ncontainers:\n  - name: debug\n    env: [{name: TICKET, value: {{ .vars.ticket | quote }}}]\n";
    let t = with_vars(
        json!({"podOverridesTemplate": src, "podOverrides": {"spec": {"hostPID": true, "hostNetwork": false}}}),
    );
    let s = session(json!({"extraDeployValues": {"hostNetwork": true, "ticket": "T-1"}}));
    let p = plan_for(&s, &t, Some(&structured_pod(json!({})))).unwrap();
    let spec = pod_spec_of(&p);
    assert_eq!(
        (spec["hostNetwork"].as_bool(), spec["hostPID"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(
        spec["containers"][0]["env"],
        json!([{"name": "TICKET", "value": "T-1"}])
    );
    let p = plan_for(&session(json!({})), &t, Some(&structured_pod(json!({})))).unwrap();
    assert_eq!(pod_spec_of(&p)["hostNetwork"], false);
    // Under `spec:` works too; nothing else may be overridden.
    let t = template(json!({"podOverridesTemplate": "spec:\n  hostIPC: true\n"}));
    let p = plan_for(&session(json!({})), &t, Some(&structured_pod(json!({})))).unwrap();
    assert_eq!(pod_spec_of(&p)["hostIPC"], true);
    for (src, want) in [
        (
            "nodeName: x\n",
            "podOverridesTemplate: nodeName cannot be overridden (only hostNetwork, hostPID, hostIPC, containers)",
        ),
        (
            "containers: [{name: debug, image: evil}]\n",
            "podOverridesTemplate: containers[0].image cannot be overridden (only name, securityContext, resources, env)",
        ),
        (
            "hostNetwork: true\n---\nhostPID: true\n",
            "podOverridesTemplate: renders more than one document",
        ),
        (
            "containers: [{name: ghost}]\n",
            "podOverridesTemplate: the pod has no container named \"ghost\"",
        ),
    ] {
        let t = template(json!({"podOverridesTemplate": src}));
        let err = plan_for(&session(json!({})), &t, Some(&structured_pod(json!({})))).unwrap_err();
        assert_eq!(err.to_string(), want);
    }
}

#[test]
fn enforcement_checks_the_rendered_pod() {
    let t = template(json!({"resourceQuota": {"maxMemory": "1Gi"}}));
    let src = "containers:\n  - name: fio\n    image: fio\n    resources: {requests: {cpu: 100m}, limits: {cpu: 1, memory: 1Gi}}\n";
    let err = plan_for(&session(json!({})), &t, Some(&rendered_pod(src))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "container fio has no memory request (resourceQuota.enforceResourceRequests)"
    );
}

/// docs/debug-sessions.md "Auxiliary resources": the feature document's NetworkPolicy
/// (structured) and RBAC bundle (templateString).
fn feature_examples() -> Json {
    json!({
        "requiredAuxiliaryResourceCategories": ["network-policy"],
        "auxiliaryResourceDefaults": {"rbac": true},
        "auxiliaryResources": [
            {
                "name": "debug-network-policy",
                "category": "network-policy",
                "template": {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "metadata": {
                        "name": "debug-{{ .Session.Name }}-isolation",
                        "namespace": "{{ .Session.Spec.TargetNamespace }}",
                    },
                    "spec": {
                        "podSelector": {"matchLabels": {"breakglass.telekom.com/debug-session": "{{ .Session.Name }}"}},
                        "policyTypes": ["Ingress", "Egress"],
                        "egress": [{"ports": [{"protocol": "UDP", "port": 53}]}],
                    },
                },
            },
            {
                "name": "debug-rbac-bundle",
                "category": "rbac",
                "templateString": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: debug-{{ .Session.Name }}-sa\n  namespace: {{ .Target.Namespace }}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: debug-{{ .Session.Name }}-role\nrules:\n  - apiGroups: [\"\"]\n    resources: [\"pods\", \"pods/log\"]\n    verbs: [\"get\", \"list\"]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: debug-{{ .Session.Name }}-binding\nsubjects:\n  - kind: ServiceAccount\n    name: debug-{{ .Session.Name }}-sa\n    namespace: {{ .Target.Namespace }}\nroleRef:\n  kind: Role\n  name: debug-{{ .Session.Name }}-role\n  apiGroup: rbac.authorization.k8s.io\n",
            },
        ],
    })
}

#[test]
fn feature_document_examples_render_into_the_plan() {
    let s = session(json!({}));
    let t = template(feature_examples());
    let p = plan_for(&s, &t, Some(&structured_pod(json!({})))).unwrap();
    let order: Vec<(&str, String)> = p
        .objects
        .iter()
        .map(|o| (o.kind.kind, o.name.clone()))
        .collect();
    assert_eq!(
        order,
        [
            ("NetworkPolicy", format!("debug-{SESSION}-isolation")),
            ("ServiceAccount", format!("debug-{SESSION}-sa")),
            ("Role", format!("debug-{SESSION}-role")),
            ("RoleBinding", format!("debug-{SESSION}-binding")),
            ("DaemonSet", SESSION.to_owned()),
        ]
    );
    let np = &p.objects[0].object;
    assert_eq!(
        np["spec"]["podSelector"]["matchLabels"]["breakglass.telekom.com/debug-session"],
        SESSION
    );
    assert_eq!(np["spec"]["egress"][0]["ports"][0]["port"], 53);
    // The NetworkPolicy selects what the workload's pods carry.
    let pods = &p.objects[4].object["spec"]["template"]["metadata"]["labels"];
    assert_eq!(pods["breakglass.telekom.com/debug-session"], SESSION);
    for o in &p.objects[..4] {
        assert_eq!(o.object["metadata"]["namespace"], "debug-ns");
        assert_eq!(
            label(o, "breakglass.telekom.com/debug-resource"),
            Some("auxiliary")
        );
    }
    assert_eq!(
        label(&p.objects[1], "breakglass.telekom.com/auxiliary-resource"),
        Some("debug-rbac-bundle")
    );
    assert_eq!(p.objects[3].object["subjects"][0]["namespace"], "debug-ns");
    // docs "Allowed kinds": narrowed by the template, RBAC denied by the binding.
    let mut narrowed = feature_examples();
    narrowed["allowedAuxiliaryResourceKinds"] = json!([
        {"group": "", "kind": "ConfigMap"},
        {"group": "networking.k8s.io", "kind": "NetworkPolicy"},
        {"group": "rbac.authorization.k8s.io", "kind": "*"},
    ]);
    let b: breakglass_api::debug_session_cluster_binding::DebugSessionClusterBindingSpec =
        serde_json::from_value(json!({"deniedAuxiliaryResourceKinds": [{"group": "rbac.authorization.k8s.io", "kind": "*"}]})).unwrap();
    let eff = merge::effective_template(&template(narrowed), Some(&b));
    let err = plan_for(&s, &eff, Some(&structured_pod(json!({})))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "auxiliary resource \"debug-rbac-bundle\" document 1: kind ServiceAccount (v1) is not allowed; allowed kinds: v1 ConfigMap, networking.k8s.io/v1 NetworkPolicy"
    );
    // enabledResources reaches the pod template.
    let src = "containers:\n  - name: c\n    image: busybox\n    env: [{name: AUX, value: {{ join \",\" .enabledResources | quote }}}]\n";
    let p = plan_for(&s, &t, Some(&rendered_pod(src))).unwrap();
    assert_eq!(
        pod_spec_of(&p)["containers"][0]["env"][0]["value"],
        "debug-network-policy,debug-rbac-bundle"
    );
}

#[test]
fn rendered_auxiliary_failures_follow_the_policy() {
    let s = session(json!({}));
    let res = |policy: &str| {
        template(json!({
            "requiredAuxiliaryResourceCategories": ["c"],
            "auxiliaryResources": [{"name": "cfg", "category": "c", "failurePolicy": policy,
                "templateString": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ required \"ticket is required\" .vars.ticket }}\n"}],
        }))
    };
    let err = plan_for(&s, &res("fail"), Some(&structured_pod(json!({})))).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "auxiliary resource \"cfg\": template auxiliaryResources[cfg].templateString: line 4"
        ),
        "{err}"
    );
    assert!(err.to_string().contains("ticket is required"), "{err}");
    let p = plan_for(&s, &res("warn"), Some(&structured_pod(json!({})))).unwrap();
    assert_eq!(p.objects.len(), 1);
    assert!(
        p.warnings[0].starts_with(
            "auxiliary resource \"cfg\" was not deployed (failurePolicy warn): template"
        ),
        "{:?}",
        p.warnings
    );
    let p = plan_for(&s, &res("ignore"), Some(&structured_pod(json!({})))).unwrap();
    assert!(p.warnings.is_empty());
    assert!(p.skipped[0].message.contains("ticket is required"));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever a requester types, the plan has the same objects and keys, and the
        /// value arrives as one exact string (also through `quote` and string building).
        #[test]
        fn user_values_never_change_the_plan_structure(
            ticket in "[ -~\n\t]{0,40}|(---|\\{\\{|\n- |: |#|&a |\\*a|!!str |\"|').{0,10}",
        ) {
            let s = session(json!({"extraDeployValues": {"ticket": ticket.clone(), "image": ticket.clone()}}));
            let src = "containers:\n  - name: c\n    image: x-{{ .vars.image }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  plain: {{ .vars.ticket }}\n  quoted: {{ .vars.ticket | quote }}\n  built: pre-{{ .vars.ticket }}-post\n";
            let p = plan_for(&s, &with_vars(json!({})), Some(&rendered_pod(src))).unwrap();
            prop_assert_eq!(p.objects.len(), 2);
            let data = p.objects[0].object["data"].as_object().unwrap();
            prop_assert_eq!(data.len(), 3);
            prop_assert_eq!(data["quoted"].as_str(), Some(ticket.as_str()));
            let built = format!("pre-{ticket}-post");
            prop_assert_eq!(data["built"].as_str(), Some(built.as_str()));
            // Unquoted: the same text, or a typed scalar of it when it is a plain word.
            let plain = &data["plain"];
            prop_assert!(plain.as_str() == Some(ticket.as_str()) || !plain.is_string() || ticket.is_empty(), "{plain:?} vs {ticket:?}");
            let container = &pod_spec_of(&p)["containers"][0];
            let image = format!("x-{ticket}");
            prop_assert_eq!(container["image"].as_str(), Some(image.as_str()));
            prop_assert_eq!(container.as_object().unwrap().len(), 2);
        }
    }
}

/// Feature document 001's `templateString` examples (dynamic-debug-pod, storage-debug-pod).
#[test]
fn feature_document_pod_templates_render() {
    let dynamic = r#"containers:
  - name: debug-{{ .session.name | trunc 15 }}
    image: {{ .vars.image | default "alpine:latest" }}
    command: ["sleep", "infinity"]
    env:
      - name: SESSION_NAME
        value: {{ .session.name | quote }}
      - name: CLUSTER
        value: {{ .session.cluster | quote }}
      - name: REQUESTED_BY
        value: {{ .session.requestedBy | quote }}
    resources:
      limits:
        cpu: {{ .vars.cpuLimit | default "500m" }}
        memory: {{ .vars.memoryLimit | default "256Mi" }}
{{- if eq .vars.hostNetwork "true" }}
hostNetwork: true
{{- end }}
"#;
    let s = session(json!({"extraDeployValues": {"hostNetwork": true}}));
    let p = plan_for(&s, &with_vars(json!({})), Some(&rendered_pod(dynamic))).unwrap();
    let spec = pod_spec_of(&p);
    assert_eq!(spec["hostNetwork"], true);
    let c = &spec["containers"][0];
    assert_eq!(c["name"], "debug-debug-requester");
    assert_eq!(c["image"], "alpine:latest");
    assert_eq!(
        c["env"][2],
        json!({"name": "REQUESTED_BY", "value": "requester@example.com"})
    );
    assert_eq!(
        c["resources"]["limits"],
        json!({"cpu": "500m", "memory": "256Mi"})
    );

    let storage = r#"# First document: PodSpec
containers:
  - name: fio
    image: wallnerryan/fiotools:latest
    command: ["sleep", "infinity"]
    volumeMounts:
      - name: test-volume
        mountPath: /data
volumes:
  - name: test-volume
    persistentVolumeClaim:
      claimName: pvc-{{ .session.name | trunc 20 }}
---
# Second document: PVC (created before pod starts)
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: pvc-{{ .session.name | trunc 20 }}
spec:
  accessModes:
    - ReadWriteOnce
  storageClassName: {{ .vars.storageClass | default "standard" }}
  resources:
    requests:
      storage: {{ .vars.pvcSize | default "10Gi" }}
---
# nothing here
"#;
    let t = template(
        json!({"extraDeployVariables": [{"name": "pvcSize", "inputType": "storageSize"}]}),
    );
    let s = session(json!({"extraDeployValues": {"pvcSize": "20Gi"}}));
    let p = plan_for(&s, &t, Some(&rendered_pod(storage))).unwrap();
    assert_eq!(p.objects.len(), 2);
    let pvc = &p.objects[0];
    assert_eq!(
        (pvc.kind.kind, pvc.name.as_str()),
        ("PersistentVolumeClaim", "pvc-debug-requester-targ")
    );
    assert_eq!(
        pvc.object["spec"]["resources"]["requests"]["storage"],
        "20Gi"
    );
    assert_eq!(pvc.object["spec"]["storageClassName"], "standard");
    assert_eq!(
        pod_spec_of(&p)["volumes"][0]["persistentVolumeClaim"]["claimName"],
        "pvc-debug-requester-targ"
    );
}
