//! Pod-security risk scoring (inventory §3.4, tests-doc §3.4).

use std::collections::BTreeMap;

use breakglass_api::deny_policy::{PodSecurityRules, RiskFactors};
use k8s_openapi::api::core::v1::Pod;

use super::fixtures::*;
use crate::authz::pod_security::*;
use crate::authz::*;

/// The weights of the reference's score table test.
fn table_weights() -> RiskFactors {
    yaml(
        "{hostNetwork: 10, hostPID: 15, hostIPC: 10, privilegedContainer: 50, hostPathWritable: 25, hostPathReadOnly: 5, runAsRoot: 20, capabilities: {NET_ADMIN: 30, SYS_ADMIN: 40}}",
    )
}

fn pod_spec(spec: &str) -> Pod {
    pod(&format!(
        "{{metadata: {{name: web-0, namespace: default, labels: {{app: web}}}}, spec: {spec}}}"
    ))
}

const PLAIN: &str = "{containers: [{name: app, image: nginx}]}";
const PRIVILEGED: &str =
    "{containers: [{name: app, image: x, securityContext: {privileged: true}}]}";

#[test]
fn score_table() {
    let w = table_weights();
    // (pod spec, score, factors)
    let cases: Vec<(&str, i64, Vec<&str>)> = vec![
        (PLAIN, 0, vec![]),
        (
            "{hostNetwork: true, containers: [{name: app}]}",
            10,
            vec!["hostNetwork"],
        ),
        (PRIVILEGED, 50, vec!["privilegedContainer:app"]),
        (
            "{hostNetwork: true, hostPID: true, containers: [{name: app, securityContext: {privileged: true}}]}",
            75,
            vec!["hostNetwork", "hostPID", "privilegedContainer:app"],
        ),
        (
            "{containers: [{name: app, volumeMounts: [{name: host, mountPath: /h}]}], volumes: [{name: host, hostPath: {path: /var}}]}",
            25,
            vec!["hostPathWritable:host"],
        ),
        (
            "{containers: [{name: app, volumeMounts: [{name: host, mountPath: /h, readOnly: true}]}], volumes: [{name: host, hostPath: {path: /var}}]}",
            5,
            vec!["hostPathReadOnly:host"],
        ),
        (
            "{containers: [{name: app, securityContext: {runAsUser: 0}}]}",
            20,
            vec!["runAsRoot:app"],
        ),
        (
            "{containers: [{name: app, securityContext: {capabilities: {add: [NET_ADMIN]}}}]}",
            30,
            vec!["capability:NET_ADMIN:app"],
        ),
        (
            "{containers: [{name: app, securityContext: {capabilities: {add: [SYS_ADMIN]}}}]}",
            40,
            vec!["capability:SYS_ADMIN:app"],
        ),
        // Init containers count.
        (
            "{initContainers: [{name: init, securityContext: {privileged: true}}], containers: [{name: app}]}",
            50,
            vec!["privilegedContainer:init"],
        ),
        // Ephemeral containers count.
        (
            "{containers: [{name: app}], ephemeralContainers: [{name: debugger, securityContext: {capabilities: {add: [SYS_ADMIN]}}}]}",
            40,
            vec!["capability:SYS_ADMIN:debugger"],
        ),
        (
            "{hostIPC: true, containers: [{name: app}]}",
            10,
            vec!["hostIPC"],
        ),
    ];
    for (i, (spec, score, factors)) in cases.into_iter().enumerate() {
        let a = assess(&pod_spec(spec), Some(&w));
        assert_eq!(a.score, score, "case {i}: {spec}");
        assert_eq!(a.factors, factors, "case {i}: {spec}");
    }
}

#[test]
fn privileged_and_root_count_once_per_pod() {
    let w: RiskFactors = yaml("{privilegedContainer: 30, runAsRoot: 20}");
    let p = pod_spec(
        "{containers: [{name: a, securityContext: {privileged: true, runAsUser: 0}}, {name: b, securityContext: {privileged: true, runAsUser: 0}}, {name: c, securityContext: {privileged: true, runAsUser: 0}}]}",
    );
    let a = assess(&p, Some(&w));
    assert_eq!(a.score, 50, "not 150");
    assert_eq!(
        a.factors.len(),
        6,
        "every container is named: {:?}",
        a.factors
    );
}

#[test]
fn capabilities_count_per_container_and_cap() {
    let w = table_weights();
    let p = pod_spec(
        "{containers: [{name: a, securityContext: {capabilities: {add: [NET_ADMIN, SYS_ADMIN, NET_ADMIN]}}}, {name: b, securityContext: {capabilities: {add: [NET_ADMIN, CHOWN]}}}]}",
    );
    let a = assess(&p, Some(&w));
    assert_eq!(
        a.score,
        30 + 40 + 30,
        "a duplicate in one container counts once, unscored caps not at all"
    );
    assert_eq!(
        a.factors,
        [
            "capability:NET_ADMIN:a",
            "capability:SYS_ADMIN:a",
            "capability:NET_ADMIN:b"
        ]
    );
}

#[test]
fn hardening_cases() {
    let w = table_weights();
    // CAP_ prefix and lower case are the same capability to a container runtime.
    let spelled = pod_spec(
        "{containers: [{name: a, securityContext: {capabilities: {add: [CAP_SYS_ADMIN, net_admin]}}}]}",
    );
    assert_eq!(assess(&spelled, Some(&w)).score, 70);
    // ALL adds every scored capability.
    let all = pod_spec("{containers: [{name: a, securityContext: {capabilities: {add: [ALL]}}}]}");
    assert_eq!(assess(&all, Some(&w)).score, 70);
    // runAsUser is inherited from the pod security context; a container may override it.
    let inherited = pod_spec(
        "{securityContext: {runAsUser: 0}, containers: [{name: a}, {name: b, securityContext: {runAsUser: 1000}}]}",
    );
    let a = assess(&inherited, Some(&w));
    assert_eq!((a.score, a.factors), (20, vec!["runAsRoot:a".to_owned()]));
    // A negative weight counts as zero, so it cannot hide another factor.
    let neg: RiskFactors = yaml("{hostNetwork: -100, hostPID: 15}");
    let p = pod_spec("{hostNetwork: true, hostPID: true, containers: [{name: a}]}");
    assert_eq!(assess(&p, Some(&neg)).score, 15);
    // A hostPath volume no container mounts is read-only risk.
    let unmounted = pod_spec(
        "{containers: [{name: a}], volumes: [{name: h, hostPath: {path: /}}, {name: e, emptyDir: {}}]}",
    );
    assert_eq!(assess(&unmounted, Some(&w)).factors, ["hostPathReadOnly:h"]);
    // Writable when any container mounts it writable.
    let mixed = pod_spec(
        "{containers: [{name: a, volumeMounts: [{name: h, mountPath: /a, readOnly: true}]}, {name: b, volumeMounts: [{name: h, mountPath: /b}]}], volumes: [{name: h, hostPath: {path: /}}]}",
    );
    assert_eq!(assess(&mixed, Some(&w)).factors, ["hostPathWritable:h"]);
    // No weights: factors are still named, the score is 0.
    let a = assess(&pod_spec(PRIVILEGED), None);
    assert_eq!((a.score, a.factors.len()), (0, 1));
}

fn rules(text: &str) -> PodSecurityRules {
    yaml(text)
}

fn exec() -> ResourceAttributes {
    res("create", "pods")
        .ns("default")
        .named("web-0")
        .sub("exec")
}

fn eval(r: &PodSecurityRules, req: &ResourceAttributes, pod: &Pod) -> PodSecurityVerdict {
    evaluate(
        r,
        req,
        PodInfo::Known(pod),
        NamespaceLabels::NotFetched,
        None,
    )
    .unwrap()
}

fn is_deny(v: &PodSecurityVerdict) -> bool {
    matches!(v, PodSecurityVerdict::Deny { .. })
}

fn is_allow(v: &PodSecurityVerdict) -> bool {
    matches!(v, PodSecurityVerdict::Allow { .. })
}

const REF: &str = "{riskFactors: {privilegedContainer: 100, hostNetwork: 50, hostPID: 75}, thresholds: [{maxScore: 79, action: allow}, {maxScore: 1000, action: deny}]}";

#[test]
fn subresource_scope() {
    let r = rules(REF);
    let p = pod_spec(PRIVILEGED);
    let base = res("create", "pods").ns("default").named("web-0");
    // (subresource, scored by default)
    for (sub, scored) in [
        ("exec", true),
        ("attach", true),
        ("portforward", true),
        ("log", false),
        ("status", false),
        ("proxy", false),
        ("", false),
    ] {
        let v = eval(&r, &base.clone().sub(sub), &p);
        assert_eq!(v != PodSecurityVerdict::NotApplicable, scored, "{sub}");
        assert_eq!(
            applies_to_request(&r, &base.clone().sub(sub)),
            scored,
            "{sub}"
        );
    }
    // Not pods, or pods of another group: never scored.
    assert_eq!(
        eval(
            &r,
            &res("create", "services")
                .ns("default")
                .named("web-0")
                .sub("proxy"),
            &p
        ),
        PodSecurityVerdict::NotApplicable
    );
    assert_eq!(
        eval(&r, &exec().group("metrics.k8s.io"), &p),
        PodSecurityVerdict::NotApplicable
    );
    // Narrowed scope: exec only.
    let narrow = rules(&REF.replacen('{', "{appliesTo: {subresources: [exec]}, ", 1));
    assert!(is_deny(&eval(&narrow, &exec(), &p)));
    assert_eq!(
        eval(&narrow, &exec().sub("attach"), &p),
        PodSecurityVerdict::NotApplicable
    );
    // An explicit empty list means the default.
    let empty = rules(&REF.replacen('{', "{appliesTo: {subresources: []}, ", 1));
    assert!(is_deny(&eval(&empty, &exec().sub("attach"), &p)));
}

#[test]
fn fail_mode() {
    let closed = rules(REF);
    let v = evaluate(
        &closed,
        &exec(),
        PodInfo::Unavailable,
        NamespaceLabels::NotFetched,
        None,
    )
    .unwrap();
    let PodSecurityVerdict::Deny {
        cause,
        message,
        assessment,
    } = v
    else {
        panic!("closed must deny: {v:?}");
    };
    assert_eq!(cause, DenyCause::PodUnavailable);
    assert_eq!(assessment, None);
    assert!(message.contains("pod spec unavailable"), "{message}");
    assert!(message.contains("(fail-closed)"), "{message}");
    assert!(message.contains("default/web-0"), "{message}");

    let open = rules(&REF.replacen('{', "{failMode: open, ", 1));
    let v = evaluate(
        &open,
        &exec(),
        PodInfo::Unavailable,
        NamespaceLabels::NotFetched,
        None,
    )
    .unwrap();
    assert_eq!(
        v,
        PodSecurityVerdict::Allow {
            cause: AllowCause::FailOpen,
            assessment: None
        }
    );
    // Without a pod name there is nothing to fetch: the same as unavailable.
    let unnamed = res("create", "pods").ns("default").sub("exec");
    assert!(is_deny(
        &evaluate(
            &closed,
            &unnamed,
            PodInfo::NotFetched,
            NamespaceLabels::NotFetched,
            None
        )
        .unwrap()
    ));
    // Not fetched although needed is a caller bug: an error, which denies.
    assert!(matches!(
        evaluate(
            &closed,
            &exec(),
            PodInfo::NotFetched,
            NamespaceLabels::NotFetched,
            None
        ),
        Err(EvalError::PodNotFetched { .. })
    ));
    // A pod that is not the requested one is never scored.
    let other =
        pod("{metadata: {name: other, namespace: default}, spec: {containers: [{name: a}]}}");
    assert!(matches!(
        evaluate(
            &closed,
            &exec(),
            PodInfo::Known(&other),
            NamespaceLabels::NotFetched,
            None
        ),
        Err(EvalError::PodMismatch { .. })
    ));
}

#[test]
fn thresholds_reference_case() {
    let r = rules(REF);
    let denied = eval(&r, &exec(), &pod_spec(PRIVILEGED));
    assert!(
        matches!(
            denied,
            PodSecurityVerdict::Deny {
                cause: DenyCause::Threshold { max_score: 1000 },
                ..
            }
        ),
        "{denied:?}"
    );
    assert!(is_allow(&eval(&r, &exec(), &pod_spec(PLAIN))));
    // attach is evaluated like exec.
    assert!(is_deny(&eval(
        &r,
        &exec().sub("attach"),
        &pod_spec(PRIVILEGED)
    )));
}

#[test]
fn cumulative_thresholds_allow_warn_deny() {
    let r = rules(
        "{riskFactors: {hostNetwork: 30, hostPID: 30, runAsRoot: 30}, thresholds: [{maxScore: 59, action: allow}, {maxScore: 89, action: warn, reason: 'score {{.Score}}: {{ .Factors }}'}, {maxScore: 1000, action: deny}]}",
    );
    let one = pod_spec("{hostNetwork: true, containers: [{name: a}]}");
    let two = pod_spec("{hostNetwork: true, hostPID: true, containers: [{name: a}]}");
    let three = pod_spec(
        "{hostNetwork: true, hostPID: true, containers: [{name: a, securityContext: {runAsUser: 0}}]}",
    );
    assert!(is_allow(&eval(&r, &exec(), &one)));
    match eval(&r, &exec(), &two) {
        PodSecurityVerdict::Warn {
            assessment,
            message,
        } => {
            assert_eq!(assessment.score, 60);
            assert_eq!(message, "score 60: hostNetwork, hostPID");
        }
        other => panic!("two factors warn: {other:?}"),
    }
    assert!(is_deny(&eval(&r, &exec(), &three)));
}

#[test]
fn above_every_threshold_or_no_thresholds_denies() {
    let r = rules(
        "{riskFactors: {privilegedContainer: 100}, thresholds: [{maxScore: 50, action: allow}]}",
    );
    let v = eval(&r, &exec(), &pod_spec(PRIVILEGED));
    let PodSecurityVerdict::Deny { cause, message, .. } = v else {
        panic!("{v:?}");
    };
    assert_eq!(cause, DenyCause::AboveThresholds);
    assert!(message.contains("risk score 100"), "{message}");
    // No thresholds at all: every scored request is denied, even score 0.
    let none = rules("{riskFactors: {privilegedContainer: 100}}");
    assert!(is_deny(&eval(&none, &exec(), &pod_spec(PLAIN))));
    // First match in list order, not the tightest.
    let order =
        rules("{thresholds: [{maxScore: 1000, action: allow}, {maxScore: 0, action: deny}]}");
    assert!(is_allow(&eval(&order, &exec(), &pod_spec(PLAIN))));
}

#[test]
fn block_factors_beat_thresholds() {
    let r = rules(
        "{riskFactors: {hostNetwork: 1}, thresholds: [{maxScore: 1000, action: allow}], blockFactors: [hostNetwork, capability]}",
    );
    let v = eval(
        &r,
        &exec(),
        &pod_spec("{hostNetwork: true, containers: [{name: a}]}"),
    );
    let PodSecurityVerdict::Deny { cause, message, .. } = v else {
        panic!("{v:?}");
    };
    assert_eq!(cause, DenyCause::BlockedFactors(vec!["hostNetwork".into()]));
    assert!(
        message.contains("blocked security factor detected"),
        "{message}"
    );
    // Block factors compare the part before the first colon.
    let cap =
        pod_spec("{containers: [{name: a, securityContext: {capabilities: {add: [NET_RAW]}}}]}");
    let r2 = rules(
        "{riskFactors: {capabilities: {NET_RAW: 1}}, thresholds: [{maxScore: 1000, action: allow}], blockFactors: [capability]}",
    );
    assert!(is_deny(&eval(&r2, &exec(), &cap)));
    // portforward to a hostPID pod with hostPID blocked.
    let r3 = rules("{thresholds: [{maxScore: 1000, action: allow}], blockFactors: [hostPID]}");
    assert!(is_deny(&eval(
        &r3,
        &exec().sub("portforward"),
        &pod_spec("{hostPID: true, containers: [{name: a}]}")
    )));
    assert_eq!(factor_kind("capability:NET_ADMIN:app"), "capability");
    assert_eq!(factor_kind("hostNetwork"), "hostNetwork");
}

#[test]
fn exemptions() {
    let r = rules(
        "{riskFactors: {privilegedContainer: 100}, thresholds: [{maxScore: 10, action: allow}], exemptions: {namespaces: {patterns: [kube-system], selectorTerms: [{matchLabels: {debug: 'true'}}]}, podLabels: {breakglass.t-caas.telekom.com/exempt: 'true', team: sre}}}",
    );
    let privileged = |ns: &str, labels: &str| {
        pod(&format!(
            "{{metadata: {{name: web-0, namespace: {ns}, labels: {labels}}}, spec: {PRIVILEGED}}}"
        ))
    };
    let in_ns = |ns: &str| exec().ns(ns);
    let exempt = |v: &PodSecurityVerdict| {
        matches!(
            v,
            PodSecurityVerdict::Allow {
                cause: AllowCause::Exempt,
                ..
            }
        )
    };

    assert!(exempt(&eval(
        &r,
        &in_ns("kube-system"),
        &privileged("kube-system", "{}")
    )));
    assert!(is_deny(&eval(
        &r,
        &in_ns("default"),
        &privileged("default", "{}")
    )));
    // All pod labels must match.
    assert!(exempt(&eval(
        &r,
        &in_ns("default"),
        &privileged(
            "default",
            "{breakglass.t-caas.telekom.com/exempt: 'true', team: sre, x: y}"
        )
    )));
    assert!(is_deny(&eval(
        &r,
        &in_ns("default"),
        &privileged("default", "{breakglass.t-caas.telekom.com/exempt: 'true'}")
    )));
    // Namespace selector terms use the labels; without them the exemption does not apply.
    let debug_ns: BTreeMap<String, String> = [("debug".to_owned(), "true".to_owned())].into();
    let p = privileged("tools", "{}");
    let with_labels = evaluate(
        &r,
        &in_ns("tools"),
        PodInfo::Known(&p),
        NamespaceLabels::Known(&debug_ns),
        None,
    )
    .unwrap();
    assert!(exempt(&with_labels));
    let without = evaluate(
        &r,
        &in_ns("tools"),
        PodInfo::Known(&p),
        NamespaceLabels::Unavailable,
        None,
    )
    .unwrap();
    assert!(is_deny(&without));
    // An empty podLabels map exempts nobody.
    let empty = rules("{thresholds: [], exemptions: {podLabels: {}}}");
    assert!(is_deny(&eval(&empty, &exec(), &pod_spec(PLAIN))));
}

#[test]
fn escalation_override() {
    let r = rules(
        "{riskFactors: {privilegedContainer: 100, hostNetwork: 50}, thresholds: [{maxScore: 79, action: allow}, {maxScore: 1000, action: deny}], blockFactors: [hostNetwork]}",
    );
    let privileged = pod_spec(PRIVILEGED);
    let with = |o: &str, req: &ResourceAttributes, p: &Pod| {
        let o = overrides(o);
        evaluate(
            &r,
            req,
            PodInfo::Known(p),
            NamespaceLabels::NotFetched,
            Some(&o),
        )
        .unwrap()
    };
    // maxAllowedScore 200 covers the privileged pod's 100.
    assert!(matches!(
        with("{enabled: true, maxAllowedScore: 200}", &exec(), &privileged),
        PodSecurityVerdict::Allow { cause: AllowCause::Override, assessment: Some(a) } if a.score == 100
    ));
    // Not enabled, out of scope, or too low: thresholds decide.
    assert!(is_deny(&with(
        "{enabled: false, maxAllowedScore: 200}",
        &exec(),
        &privileged
    )));
    assert!(is_deny(&with(
        "{maxAllowedScore: 200}",
        &exec(),
        &privileged
    )));
    assert!(is_deny(&with(
        "{enabled: true, maxAllowedScore: 99}",
        &exec(),
        &privileged
    )));
    assert!(is_deny(&with(
        "{enabled: true, maxAllowedScore: 200, namespaceScope: {patterns: [debug-tools]}}",
        &exec(),
        &privileged
    )));
    assert!(is_allow(&with(
        "{enabled: true, maxAllowedScore: 200, namespaceScope: {patterns: [debug-tools]}}",
        &exec().ns("debug-tools"),
        &pod(
            "{metadata: {name: web-0, namespace: debug-tools}, spec: {containers: [{name: app, securityContext: {privileged: true}}]}}"
        )
    )));
    // Block factors still block unless exempted by the override.
    let host_net = pod_spec("{hostNetwork: true, containers: [{name: a}]}");
    assert!(is_deny(&with(
        "{enabled: true, maxAllowedScore: 200}",
        &exec(),
        &host_net
    )));
    assert!(is_allow(&with(
        "{enabled: true, maxAllowedScore: 200, exemptFactors: [hostNetwork]}",
        &exec(),
        &host_net
    )));
    // exemptFactors without a score allowance: the block is lifted, thresholds decide (50 ≤ 79).
    assert!(matches!(
        with(
            "{enabled: true, exemptFactors: [hostNetwork]}",
            &exec(),
            &host_net
        ),
        PodSecurityVerdict::Allow {
            cause: AllowCause::Threshold,
            ..
        }
    ));
}

#[test]
fn capability_risk_factors_and_network_debugging() {
    let r = rules(
        "{riskFactors: {hostNetwork: 20, capabilities: {NET_ADMIN: 30, NET_RAW: 20, SYS_ADMIN: 100}}, thresholds: [{maxScore: 80, action: allow}, {maxScore: 1000, action: deny, reason: 'SYS_ADMIN and similar need an SRE escalation (score {{.Score}})'}]}",
    );
    let caps = |add: &str, host: bool| {
        pod_spec(&format!(
            "{{hostNetwork: {host}, containers: [{{name: tcpdump, securityContext: {{capabilities: {{add: {add}}}}}}}]}}"
        ))
    };
    assert!(is_allow(&eval(
        &r,
        &exec(),
        &caps("[NET_ADMIN, NET_RAW]", false)
    )));
    assert!(
        is_allow(&eval(&r, &exec(), &caps("[NET_ADMIN]", true))),
        "20 + 30 = 50 < 80"
    );
    assert!(is_allow(&eval(&r, &exec(), &caps("[NET_RAW]", false))));
    match eval(&r, &exec(), &caps("[SYS_ADMIN]", false)) {
        PodSecurityVerdict::Deny { message, .. } => {
            assert_eq!(
                message,
                "SYS_ADMIN and similar need an SRE escalation (score 100)"
            );
        }
        other => panic!("SYS_ADMIN must be denied: {other:?}"),
    }
}

#[test]
fn reason_templates() {
    let factors = vec![
        "hostNetwork".to_owned(),
        "privilegedContainer:app".to_owned(),
    ];
    let vars = TemplateVars {
        score: 150,
        factors: &factors,
        pod: "web-0",
        namespace: "default",
    };
    let generated = || "generated".to_owned();
    // (template, text)
    let cases = [
        (
            Some("score {{.Score}} on {{.Namespace}}/{{.Pod}}: {{.Factors}}"),
            "score 150 on default/web-0: hostNetwork, privilegedContainer:app",
        ),
        (Some("{{ .Score }}"), "150"),
        (Some("no actions at all"), "no actions at all"),
        (Some("braces }} alone are text"), "braces }} alone are text"),
        // Invalid ⇒ raw.
        (Some("{{.Unknown}} field"), "{{.Unknown}} field"),
        (Some("unclosed {{.Score"), "unclosed {{.Score"),
        (Some("{{if .Score}}x{{end}}"), "{{if .Score}}x{{end}}"),
        // Empty ⇒ generated.
        (Some(""), "generated"),
        (Some("   "), "generated"),
        (None, "generated"),
    ];
    for (template, want) in cases {
        assert_eq!(
            reason_text(template, &vars, generated),
            want,
            "{template:?}"
        );
    }
}

#[test]
fn deny_threshold_reason_is_templated_or_generated() {
    let templated = rules(
        "{riskFactors: {privilegedContainer: 100}, thresholds: [{maxScore: 1000, action: deny, reason: 'Exec into privileged pods requires SRE escalation ({{.Pod}})'}]}",
    );
    let PodSecurityVerdict::Deny { message, .. } = eval(&templated, &exec(), &pod_spec(PRIVILEGED))
    else {
        panic!("must deny");
    };
    assert_eq!(
        message,
        "Exec into privileged pods requires SRE escalation (web-0)"
    );
    let generated = rules(
        "{riskFactors: {privilegedContainer: 100}, thresholds: [{maxScore: 1000, action: deny}]}",
    );
    let PodSecurityVerdict::Deny { message, .. } = eval(&generated, &exec(), &pod_spec(PRIVILEGED))
    else {
        panic!("must deny");
    };
    assert!(
        message.contains("default/web-0") && message.contains("risk score 100"),
        "{message}"
    );
    assert!(message.contains("privilegedContainer:app"), "{message}");
}

#[test]
fn label_needs() {
    let plain = rules("{thresholds: []}");
    let selector_exemption =
        rules("{exemptions: {namespaces: {selectorTerms: [{matchLabels: {a: b}}]}}}");
    let pattern_exemption = rules("{exemptions: {namespaces: {patterns: [kube-system]}}}");
    let scoped =
        overrides("{enabled: true, namespaceScope: {selectorTerms: [{matchLabels: {a: b}}]}}");
    let disabled =
        overrides("{enabled: false, namespaceScope: {selectorTerms: [{matchLabels: {a: b}}]}}");
    assert!(!needs_labels(&plain, None, &exec()));
    assert!(needs_labels(&selector_exemption, None, &exec()));
    assert!(
        !needs_labels(&selector_exemption, None, &exec().sub("log")),
        "not scored"
    );
    assert!(!needs_labels(&pattern_exemption, None, &exec()));
    assert!(needs_labels(&plain, Some(&scoped), &exec()));
    assert!(!needs_labels(&plain, Some(&disabled), &exec()));
}
