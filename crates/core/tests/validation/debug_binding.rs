//! DebugSessionClusterBinding rules.

use serde_json::json;

use crate::support::{bad, check_table, check_warnings, ok};

const BASE: &str = r#"
apiVersion: breakglass.t-caas.telekom.com/v1alpha1
kind: DebugSessionClusterBinding
metadata:
  name: sre-production
  namespace: breakglass
spec:
  templateRef:
    name: network-debug
  clusters: [production-eu, production-us]
  allowed:
    groups: [sre-team]
  constraints:
    maxDuration: 2h
  effectiveFrom: "2026-01-01T00:00:00Z"
  expiresAt: "2026-12-31T00:00:00Z"
"#;

#[test]
fn debug_binding_table() {
    check_table(
        BASE,
        vec![
            ok(
                "template selector",
                json!({"spec": {"templateRef": null, "templateSelector": {"matchLabels": {"team": "sre"}}}}),
            ),
            bad(
                "templateRef and templateSelector",
                json!({"spec": {"templateSelector": {"matchLabels": {"team": "sre"}}}}),
                &["spec: Forbidden: templateRef and templateSelector are mutually exclusive"],
            ),
            bad(
                "no template",
                json!({"spec": {"templateRef": null}}),
                &[
                    "spec.templateRef: Required value: one of templateRef or templateSelector is required",
                ],
            ),
            bad(
                "empty template name",
                json!({"spec": {"templateRef": {"name": ""}}}),
                &["spec.templateRef.name: Required value"],
            ),
            ok(
                "cluster selector",
                json!({"spec": {"clusters": null, "clusterSelector": {"matchLabels": {"env": "prod"}}}}),
            ),
            ok(
                "glob cluster pattern",
                json!({"spec": {"clusters": ["prod-*", "stage-[ab]"]}}),
            ),
            bad(
                "malformed glob cluster pattern",
                json!({"spec": {"clusters": ["prod-[a"]}}),
                &["spec.clusters[0]: Invalid value: \"prod-[a\": syntax error in glob pattern"],
            ),
            bad(
                "no cluster target",
                json!({"spec": {"clusters": null}}),
                &["spec.clusters: Required value: clusters or clusterSelector is required"],
            ),
            bad(
                "empty cluster list",
                json!({"spec": {"clusters": []}}),
                &["spec.clusters: Required value: clusters or clusterSelector is required"],
            ),
            bad(
                "duplicate cluster",
                json!({"spec": {"clusters": ["production-eu", "production-eu"]}}),
                &["spec.clusters[1]: Duplicate value: \"production-eu\""],
            ),
            bad(
                "selector with Exists and values",
                json!({"spec": {"clusters": null, "clusterSelector": {"matchExpressions": [{"key": "env", "operator": "Exists", "values": ["prod"]}]}}}),
                &[
                    "spec.clusterSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                ],
            ),
            bad(
                "time window reversed",
                json!({"spec": {"effectiveFrom": "2027-01-01T00:00:00Z"}}),
                &[
                    "spec.expiresAt: Invalid value: \"2026-12-31T00:00:00Z\": expiresAt must be after effectiveFrom",
                ],
            ),
            bad(
                "session limit zero",
                json!({"spec": {"maxActiveSessionsTotal": 0}}),
                &[
                    "spec.maxActiveSessionsTotal: Invalid value: 0: must be greater than or equal to 1",
                ],
            ),
            bad(
                "override duration in the wrong format",
                json!({"spec": {"constraints": {"defaultDuration": "30 minutes"}}}),
                &[
                    "spec.constraints.defaultDuration: Invalid value: \"30 minutes\": must be a duration such as \"30m\", \"2h\" or \"1d\" (whole numbers with units ns, us, ms, s, m, h, d)",
                ],
            ),
            bad(
                "scheduling option default twice",
                json!({"spec": {"schedulingOptions": {"options": [{"name": "a", "displayName": "A", "default": true}, {"name": "b", "displayName": "B", "default": true}]}}}),
                &[
                    "spec.schedulingOptions.options[1].default: Invalid value: true: at most one option may be the default",
                ],
            ),
            bad(
                "auxiliary override category",
                json!({"spec": {"auxiliaryResourceOverrides": {"Network_Policy": false}}}),
                &[
                    "spec.auxiliaryResourceOverrides[Network_Policy]: Invalid value: \"Network_Policy\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                ],
            ),
            bad(
                "recipient without @",
                json!({"spec": {"notification": {"additionalRecipients": ["team"]}}}),
                &[
                    "spec.notification.additionalRecipients[0]: Invalid value: \"team\": must be an e-mail address (contain '@')",
                ],
            ),
            bad(
                "impersonation of system:masters",
                json!({"spec": {"impersonation": {"groups": ["system:masters"]}}}),
                &[
                    "spec.impersonation.groups[0]: Forbidden: impersonation.groups must not contain system:masters",
                ],
            ),
            bad(
                "targetNamespace is not a binding field",
                json!({"spec": {"targetNamespace": "debug"}}),
                &[
                    "spec.targetNamespace: unknown field; a binding sets the namespace with namespaceConstraints.defaultNamespace",
                ],
            ),
        ],
    );
}

#[test]
fn debug_binding_warnings() {
    check_warnings(
        BASE,
        vec![
            ("none", json!({}), vec![]),
            (
                "glob in clusters is a pattern, no warning",
                json!({"spec": {"clusters": ["prod-*"]}}),
                vec![],
            ),
            (
                "prefix without selector",
                json!({"spec": {"displayNamePrefix": "SRE"}}),
                vec![
                    "spec.displayNamePrefix: ignored: displayNamePrefix applies only with templateSelector",
                ],
            ),
        ],
    );
}
