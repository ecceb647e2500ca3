//! DenyPolicy rules.

use serde_json::json;

use crate::support::{bad, check_table, check_warnings, many, ok};

const BASE: &str = r#"
apiVersion: breakglass.t-caas.telekom.com/v1alpha1
kind: DenyPolicy
metadata:
  name: protect-secrets
spec:
  appliesTo:
    clusters: [prod-eu]
  precedence: 10
  rules:
    - verbs: [delete]
      apiGroups: [""]
      resources: [secrets]
      namespaces:
        patterns: [kube-*]
      resourceNames: ["db-*"]
"#;

#[test]
fn deny_policy_table() {
    check_table(
        BASE,
        vec![
            bad(
                "no rules of any kind",
                json!({"spec": {"rules": null}}),
                &[
                    "spec: Required value: at least one of rules, impersonationRules or podSecurityRules is required",
                ],
            ),
            bad(
                "empty rules list",
                json!({"spec": {"rules": []}}),
                &[
                    "spec: Required value: at least one of rules, impersonationRules or podSecurityRules is required",
                ],
            ),
            ok(
                "impersonation rules only",
                json!({"spec": {"rules": null, "impersonationRules": [{"modes": ["legacy", "user-info"]}]}}),
            ),
            ok(
                "pod security rules only",
                json!({"spec": {"rules": null, "podSecurityRules": {"thresholds": [{"maxScore": 0, "action": "deny"}]}}}),
            ),
            // precedence
            ok("precedence zero", json!({"spec": {"precedence": 0}})),
            bad(
                "negative precedence",
                json!({"spec": {"precedence": -1}}),
                &["spec.precedence: Invalid value: -1: must be greater than or equal to 0"],
            ),
            // rule fields
            bad(
                "rule without verbs",
                json!({"spec": {"rules": [{"verbs": [], "apiGroups": [""], "resources": ["pods"]}]}}),
                &[
                    "spec.rules[0].verbs: Required value: at least one entry is required (use \"*\" for all)",
                ],
            ),
            bad(
                "rule without apiGroups",
                json!({"spec": {"rules": [{"verbs": ["get"], "resources": ["pods"]}]}}),
                &["spec.rules[0].apiGroups: Required value"],
            ),
            bad(
                "rule with empty resources",
                json!({"spec": {"rules": [{"verbs": ["get"], "apiGroups": ["*"], "resources": []}]}}),
                &[
                    "spec.rules[0].resources: Required value: at least one entry is required (use \"*\" for all)",
                ],
            ),
            bad(
                "21 verbs",
                json!({"spec": {"rules": [{"verbs": many("v", 21), "apiGroups": ["*"], "resources": ["*"]}]}}),
                &["spec.rules[0].verbs: Too many: 21: must have at most 20 items"],
            ),
            bad(
                "malformed resourceNames glob",
                json!({"spec": {"rules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "resourceNames": ["db-["]}]}}),
                &[
                    "spec.rules[0].resourceNames[0]: Invalid value: \"db-[\": syntax error in glob pattern",
                ],
            ),
            bad(
                "selector term In without values",
                json!({"spec": {"rules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "namespaces": {"selectorTerms": [{"matchExpressions": [{"key": "tier", "operator": "In"}]}]}}]}}),
                &[
                    "spec.rules[0].namespaces.selectorTerms[0].matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
                ],
            ),
            bad(
                "selector term Exists with values",
                json!({"spec": {"rules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "namespaces": {"selectorTerms": [{"matchExpressions": [{"key": "tier", "operator": "Exists", "values": ["x"]}]}]}}]}}),
                &[
                    "spec.rules[0].namespaces.selectorTerms[0].matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                ],
            ),
            bad(
                "selector key longer than 63",
                json!({"spec": {"rules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "namespaces": {"selectorTerms": [{"matchExpressions": [{"key": format!("example.com/{}", "k".repeat(52)), "operator": "Exists"}]}]}}]}}),
                &[
                    "spec.rules[0].namespaces.selectorTerms[0].matchExpressions[0].key: Too long: may not be more than 63 bytes",
                ],
            ),
            ok(
                "selector terms",
                json!({"spec": {"rules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"], "namespaces": {"selectorTerms": [{"matchLabels": {"env": "prod"}, "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["dev"]}]}]}}]}}),
            ),
            bad(
                "201 rules",
                json!({"spec": {"rules": (0..201).map(|_| json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})).collect::<Vec<_>>()}}),
                &["spec.rules: Too many: 201: must have at most 200 items"],
            ),
            bad(
                "51 clusters in scope",
                json!({"spec": {"appliesTo": {"clusters": many("c", 51)}}}),
                &["spec.appliesTo.clusters: Too many: 51: must have at most 50 items"],
            ),
            // impersonation rules
            ok(
                "impersonation rule with action verbs and targets",
                json!({"spec": {"impersonationRules": [{"modes": ["legacy"], "actionVerbs": ["create"], "targetResources": ["pods"]}]}}),
            ),
            bad(
                "identities with action verbs",
                json!({"spec": {"impersonationRules": [{"modes": ["legacy"], "identities": ["system:*"], "actionVerbs": ["get"]}]}}),
                &[
                    "spec.impersonationRules[0].actionVerbs: Forbidden: identities and actionVerbs cannot be combined",
                ],
            ),
            bad(
                "targets without action verbs",
                json!({"spec": {"impersonationRules": [{"modes": ["legacy"], "targetAPIGroups": ["apps"]}]}}),
                &[
                    "spec.impersonationRules[0].actionVerbs: Required value: required when targetResources or targetAPIGroups are set",
                ],
            ),
            bad(
                "unknown impersonation mode",
                json!({"spec": {"impersonationRules": [{"modes": ["everything"]}]}}),
                &[
                    "spec.impersonationRules[0].modes[0]: Unsupported value: \"everything\": supported values: \"user-info\", \"serviceaccount\", \"arbitrary-node\", \"associated-node\", \"legacy\"",
                ],
            ),
            bad(
                "reason too long",
                json!({"spec": {"impersonationRules": [{"reason": "r".repeat(513)}]}}),
                &["spec.impersonationRules[0].reason: Too long: may not be more than 512 bytes"],
            ),
            // pod security rules
            bad(
                "negative maxScore",
                json!({"spec": {"podSecurityRules": {"thresholds": [{"maxScore": -1, "action": "allow"}]}}}),
                &[
                    "spec.podSecurityRules.thresholds[0].maxScore: Invalid value: -1: must be greater than or equal to 0",
                ],
            ),
            bad(
                "unknown threshold action",
                json!({"spec": {"podSecurityRules": {"thresholds": [{"maxScore": 10, "action": "block"}]}}}),
                &[
                    "spec.podSecurityRules.thresholds[0].action: Unsupported value: \"block\": supported values: \"allow\", \"warn\", \"deny\"",
                ],
            ),
            ok(
                "block factors",
                json!({"spec": {"podSecurityRules": {"blockFactors": ["hostNetwork", "capability"]}}}),
            ),
            bad(
                "unknown block factor",
                json!({"spec": {"podSecurityRules": {"blockFactors": ["hostNet"]}}}),
                &[
                    "spec.podSecurityRules.blockFactors[0]: Unsupported value: \"hostNet\": supported values: \"hostNetwork\", \"hostPID\", \"hostIPC\", \"privilegedContainer\", \"hostPathWritable\", \"hostPathReadOnly\", \"runAsRoot\", \"capability\"",
                ],
            ),
            bad(
                "invalid exempt pod label",
                json!({"spec": {"podSecurityRules": {"exemptions": {"podLabels": {"app": "debug tool"}}}}}),
                &[
                    "spec.podSecurityRules.exemptions.podLabels[app]: Invalid value: \"debug tool\": must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                ],
            ),
            bad(
                "exemptions.labels is not an alias",
                json!({"spec": {"podSecurityRules": {"exemptions": {"labels": {"app": "debug"}}}}}),
                &[
                    "spec.podSecurityRules.exemptions.labels: unknown field; exempt pods by label with podLabels, or namespaces by label with namespaces.selectorTerms",
                ],
            ),
            bad(
                "unknown fail mode",
                json!({"spec": {"podSecurityRules": {"failMode": "Open"}}}),
                &[
                    "spec.podSecurityRules.failMode: Unsupported value: \"Open\": supported values: \"open\", \"closed\"",
                ],
            ),
        ],
    );
}

#[test]
fn deny_policy_warnings() {
    check_warnings(
        BASE,
        vec![
            (
                "legacy included",
                json!({"spec": {"impersonationRules": [{"modes": ["legacy", "user-info"]}]}}),
                vec![],
            ),
            (
                "no modes means all",
                json!({"spec": {"impersonationRules": [{}]}}),
                vec![],
            ),
            (
                "legacy missing",
                json!({"spec": {"impersonationRules": [{"modes": ["user-info"]}]}}),
                vec![
                    "spec.impersonationRules[0].modes: does not include legacy: requests using the unconstrained impersonate verb are not denied by this rule",
                ],
            ),
        ],
    );
}
