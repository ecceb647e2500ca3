//! BreakglassEscalation rules.

use serde_json::json;

use crate::support::{bad, check_table, check_warnings, many, ok};

const BASE: &str = r#"
apiVersion: breakglass.t-caas.telekom.com/v1alpha1
kind: BreakglassEscalation
metadata:
  name: sre-prod
  namespace: breakglass
spec:
  escalatedGroup: cluster-admin
  allowed:
    clusters: ["prod-*"]
    groups: [sre]
  approvers:
    groups: [sre-leads]
    users: [lead@example.com]
  maxValidFor: 2h
  approvalTimeout: 30m
  idleTimeout: 30m
  retainFor: 7d
"#;

#[test]
fn escalation_table() {
    check_table(
        BASE,
        vec![
            // escalatedGroup: required, ^[a-zA-Z0-9._:-]+$, at most 253
            ok(
                "escalatedGroup with all allowed characters",
                json!({"spec": {"escalatedGroup": "oidc:Team.a_b-c"}}),
            ),
            bad(
                "escalatedGroup missing",
                json!({"spec": {"escalatedGroup": null}}),
                &["spec.escalatedGroup: Required value"],
            ),
            bad(
                "escalatedGroup empty",
                json!({"spec": {"escalatedGroup": ""}}),
                &["spec.escalatedGroup: Required value"],
            ),
            bad(
                "escalatedGroup with a space",
                json!({"spec": {"escalatedGroup": "cluster admin"}}),
                &[
                    "spec.escalatedGroup: Invalid value: \"cluster admin\": must consist of alphanumeric characters, '.', '_', ':' or '-' (regex used for validation is '^[a-zA-Z0-9._:-]+$')",
                ],
            ),
            bad(
                "escalatedGroup too long",
                json!({"spec": {"escalatedGroup": "g".repeat(254)}}),
                &["spec.escalatedGroup: Too long: may not be more than 253 bytes"],
            ),
            bad(
                "escalatedGroup system:masters reaches a system: group",
                json!({"spec": {"escalatedGroup": "system:masters"}}),
                &[
                    "spec.escalatedGroup: Invalid value: \"system:masters\": must not contain \"system:\" (in any letter case): system: groups are never granted, and with an OIDC prefix stripped this group would name one",
                ],
            ),
            bad(
                "escalatedGroup oidc:system:masters reaches a system: group",
                json!({"spec": {"escalatedGroup": "oidc:system:masters"}}),
                &[
                    "spec.escalatedGroup: Invalid value: \"oidc:system:masters\": must not contain \"system:\" (in any letter case): system: groups are never granted, and with an OIDC prefix stripped this group would name one",
                ],
            ),
            bad(
                "escalatedGroup OIDC:System:Masters reaches a system: group",
                json!({"spec": {"escalatedGroup": "OIDC:System:Masters"}}),
                &[
                    "spec.escalatedGroup: Invalid value: \"OIDC:System:Masters\": must not contain \"system:\" (in any letter case): system: groups are never granted, and with an OIDC prefix stripped this group would name one",
                ],
            ),
            bad(
                "escalatedGroup keycloak-SYSTEM:nodes reaches a system: group",
                json!({"spec": {"escalatedGroup": "keycloak-SYSTEM:nodes"}}),
                &[
                    "spec.escalatedGroup: Invalid value: \"keycloak-SYSTEM:nodes\": must not contain \"system:\" (in any letter case): system: groups are never granted, and with an OIDC prefix stripped this group would name one",
                ],
            ),
            // at least one approver
            ok(
                "approver users only",
                json!({"spec": {"approvers": {"groups": null}}}),
            ),
            ok(
                "approver groups only",
                json!({"spec": {"approvers": {"users": null}}}),
            ),
            bad(
                "no approver",
                json!({"spec": {"approvers": {"users": null, "groups": null}}}),
                &[
                    "spec.approvers: Required value: at least one approver user or group is required",
                ],
            ),
            bad(
                "approvers missing",
                json!({"spec": {"approvers": null}}),
                &["spec.approvers: Required value"],
            ),
            // blockSelfApproval
            ok(
                "blockSelfApproval with a separate approver group",
                json!({"spec": {"blockSelfApproval": true}}),
            ),
            bad(
                "blockSelfApproval without approver group",
                json!({"spec": {"blockSelfApproval": true, "approvers": {"groups": null}}}),
                &[
                    "spec.approvers.groups: Required value: blockSelfApproval requires at least one approver group",
                ],
            ),
            bad(
                "blockSelfApproval with the escalated group approving",
                json!({"spec": {"blockSelfApproval": true, "approvers": {"groups": ["sre-leads", "cluster-admin"]}}}),
                &[
                    "spec.escalatedGroup: Forbidden: with blockSelfApproval the escalatedGroup must not be listed in approvers.groups or approvers.hiddenFromUI",
                ],
            ),
            bad(
                "blockSelfApproval with the escalated group hidden",
                json!({"spec": {"blockSelfApproval": true, "approvers": {"hiddenFromUI": ["cluster-admin"]}}}),
                &[
                    "spec.escalatedGroup: Forbidden: with blockSelfApproval the escalatedGroup must not be listed in approvers.groups or approvers.hiddenFromUI",
                ],
            ),
            ok(
                "self-approval allowed: escalated group may approve",
                json!({"spec": {"blockSelfApproval": false, "approvers": {"groups": ["cluster-admin"]}}}),
            ),
            // identity providers
            ok(
                "allowedIdentityProviders alone",
                json!({"spec": {"allowedIdentityProviders": ["corp"]}}),
            ),
            ok(
                "split identity providers together",
                json!({"spec": {"allowedIdentityProvidersForRequests": ["corp"], "allowedIdentityProvidersForApprovers": ["corp", "partner"]}}),
            ),
            bad(
                "allowedIdentityProviders with a split field",
                json!({"spec": {"allowedIdentityProviders": ["corp"], "allowedIdentityProvidersForRequests": ["corp"], "allowedIdentityProvidersForApprovers": ["corp"]}}),
                &[
                    "spec.allowedIdentityProviders: Forbidden: allowedIdentityProviders cannot be combined with allowedIdentityProvidersForRequests or allowedIdentityProvidersForApprovers",
                ],
            ),
            bad(
                "requests without approvers",
                json!({"spec": {"allowedIdentityProvidersForRequests": ["corp"]}}),
                &[
                    "spec.allowedIdentityProvidersForApprovers: Required value: allowedIdentityProvidersForRequests and allowedIdentityProvidersForApprovers must be set together",
                ],
            ),
            bad(
                "approvers without requests",
                json!({"spec": {"allowedIdentityProvidersForApprovers": ["corp"]}}),
                &[
                    "spec.allowedIdentityProvidersForRequests: Required value: allowedIdentityProvidersForRequests and allowedIdentityProvidersForApprovers must be set together",
                ],
            ),
            // approvalTimeout ≤ maxValidFor
            ok(
                "approvalTimeout equal to maxValidFor",
                json!({"spec": {"approvalTimeout": "2h"}}),
            ),
            bad(
                "approvalTimeout above maxValidFor",
                json!({"spec": {"approvalTimeout": "3h"}}),
                &[
                    "spec.approvalTimeout: Invalid value: \"3h\": must not exceed maxValidFor (2h0m0s)",
                ],
            ),
            bad(
                "approvalTimeout above the default maxValidFor",
                json!({"spec": {"maxValidFor": null, "approvalTimeout": "90m", "idleTimeout": null}}),
                &[
                    "spec.approvalTimeout: Invalid value: \"90m\": must not exceed maxValidFor (1h0m0s)",
                ],
            ),
            // idleTimeout: ≥ 1m, ≤ maxValidFor (1h when omitted)
            ok(
                "idleTimeout of one minute",
                json!({"spec": {"idleTimeout": "1m"}}),
            ),
            ok(
                "idleTimeout equal to maxValidFor",
                json!({"spec": {"idleTimeout": "2h"}}),
            ),
            bad(
                "idleTimeout below a minute",
                json!({"spec": {"idleTimeout": "59s"}}),
                &["spec.idleTimeout: Invalid value: \"59s\": must be at least 1m"],
            ),
            bad(
                "idleTimeout above maxValidFor",
                json!({"spec": {"idleTimeout": "1d"}}),
                &["spec.idleTimeout: Invalid value: \"1d\": must not exceed maxValidFor (2h0m0s)"],
            ),
            bad(
                "idleTimeout above the default maxValidFor",
                json!({"spec": {"maxValidFor": null, "approvalTimeout": null, "idleTimeout": "61m"}}),
                &["spec.idleTimeout: Invalid value: \"61m\": must not exceed maxValidFor (1h0m0s)"],
            ),
            // duration formats
            ok(
                "fractional and day durations",
                json!({"spec": {"maxValidFor": "1d12h", "approvalTimeout": "1.5h", "retainFor": "365d"}}),
            ),
            bad(
                "duration in words",
                json!({"spec": {"retainFor": "1 week"}}),
                &[
                    "spec.retainFor: Invalid value: \"1 week\": must be a duration such as \"90m\", \"1.5h\", \"7d\" or \"1d12h\" (units ns, us, ms, s, m, h; an optional leading day count)",
                ],
            ),
            bad(
                "negative duration",
                json!({"spec": {"retainFor": "-1h"}}),
                &[
                    "spec.retainFor: Invalid value: \"-1h\": must be a duration such as \"90m\", \"1.5h\", \"7d\" or \"1d12h\" (units ns, us, ms, s, m, h; an optional leading day count)",
                ],
            ),
            bad(
                "zero duration",
                json!({"spec": {"retainFor": "0s"}}),
                &["spec.retainFor: Invalid value: \"0s\": must be greater than zero"],
            ),
            bad(
                "more than 365 days",
                json!({"spec": {"retainFor": "366d"}}),
                &[
                    "spec.retainFor: Invalid value: \"366d\": invalid duration \"366d\": day count 366 exceeds the maximum of 365 days",
                ],
            ),
            bad(
                "duration of the wrong type",
                json!({"spec": {"retainFor": 3600}}),
                &["spec.retainFor: Invalid value: 3600: must be a string"],
            ),
            // targets
            ok(
                "cluster target without requester groups",
                json!({"spec": {"allowed": {"groups": null}}}),
            ),
            ok(
                "clusterConfigRefs as the only target",
                json!({"spec": {"allowed": {"clusters": null, "groups": null}, "clusterConfigRefs": ["prod-*"]}}),
            ),
            bad(
                "neither groups nor a cluster target",
                json!({"spec": {"allowed": null}}),
                &[
                    "spec.allowed: Required value: allowed.groups or a cluster target (allowed.clusters or clusterConfigRefs) is required",
                ],
            ),
            // list hygiene
            bad(
                "duplicate group",
                json!({"spec": {"allowed": {"groups": ["sre", "sre"]}}}),
                &["spec.allowed.groups[1]: Duplicate value: \"sre\""],
            ),
            bad(
                "empty cluster",
                json!({"spec": {"allowed": {"clusters": ["prod-*", ""]}}}),
                &["spec.allowed.clusters[1]: Required value: entries must not be empty"],
            ),
            bad(
                "duplicate approver user",
                json!({"spec": {"approvers": {"users": ["a@example.com", "a@example.com"]}}}),
                &["spec.approvers.users[1]: Duplicate value: \"a@example.com\""],
            ),
            bad(
                "empty hiddenFromUI entry",
                json!({"spec": {"approvers": {"hiddenFromUI": [" "]}}}),
                &["spec.approvers.hiddenFromUI[0]: Required value: entries must not be empty"],
            ),
            bad(
                "duplicate clusterConfigRef",
                json!({"spec": {"clusterConfigRefs": ["a", "a"]}}),
                &["spec.clusterConfigRefs[1]: Duplicate value: \"a\""],
            ),
            bad(
                "duplicate denyPolicyRef",
                json!({"spec": {"denyPolicyRefs": ["p", "p"]}}),
                &["spec.denyPolicyRefs[1]: Duplicate value: \"p\""],
            ),
            bad(
                "duplicate notification exclusion",
                json!({"spec": {"notificationExclusions": {"groups": ["x", "x"]}}}),
                &["spec.notificationExclusions.groups[1]: Duplicate value: \"x\""],
            ),
            // identifiers and globs
            ok(
                "identifier punctuation",
                json!({"spec": {"allowed": {"groups": ["oidc:team/sre@corp", "grp.(a|b)"]}}}),
            ),
            bad(
                "identifier with a space",
                json!({"spec": {"approvers": {"users": ["first last"]}}}),
                &[
                    "spec.approvers.users[0]: Invalid value: \"first last\": contains a space; identifiers may only contain alphanumeric characters, '.', '_', '-', '@', ':', '/' and the pattern characters '*?[]{}()^$|+\\!'",
                ],
            ),
            bad(
                "identifier too long",
                json!({"spec": {"allowed": {"groups": ["g".repeat(254)]}}}),
                &["spec.allowed.groups[0]: Too long: may not be more than 253 bytes"],
            ),
            bad(
                "malformed cluster glob",
                json!({"spec": {"allowed": {"clusters": ["prod-[a"]}}}),
                &[
                    "spec.allowed.clusters[0]: Invalid value: \"prod-[a\": syntax error in glob pattern",
                ],
            ),
            bad(
                "malformed clusterConfigRefs glob",
                json!({"spec": {"clusterConfigRefs": ["[]"]}}),
                &["spec.clusterConfigRefs[0]: Invalid value: \"[]\": syntax error in glob pattern"],
            ),
            // maxItems
            ok(
                "fifty clusters",
                json!({"spec": {"allowed": {"clusters": many("c", 50)}}}),
            ),
            bad(
                "51 clusters",
                json!({"spec": {"allowed": {"clusters": many("c", 51)}}}),
                &["spec.allowed.clusters: Too many: 51: must have at most 50 items"],
            ),
            bad(
                "31 approver groups",
                json!({"spec": {"approvers": {"groups": many("g", 31)}}}),
                &["spec.approvers.groups: Too many: 31: must have at most 30 items"],
            ),
            bad(
                "101 approver users",
                json!({"spec": {"approvers": {"users": many("u", 101)}}}),
                &["spec.approvers.users: Too many: 101: must have at most 100 items"],
            ),
            bad(
                "21 denyPolicyRefs",
                json!({"spec": {"denyPolicyRefs": many("p", 21)}}),
                &["spec.denyPolicyRefs: Too many: 21: must have at most 20 items"],
            ),
            // approver domains, mail provider
            ok(
                "approver domains",
                json!({"spec": {"allowedApproverDomains": ["example.com", "corp.example.org"]}}),
            ),
            bad(
                "approver domain without a dot",
                json!({"spec": {"allowedApproverDomains": ["localhost"]}}),
                &[
                    "spec.allowedApproverDomains[0]: Invalid value: \"localhost\": must be a domain name such as example.com (lowercase letters, digits, '.' and '-')",
                ],
            ),
            ok(
                "mail provider",
                json!({"spec": {"mailProvider": "corp-smtp"}}),
            ),
            bad(
                "mail provider not a DNS label",
                json!({"spec": {"mailProvider": "Corp_SMTP"}}),
                &[
                    "spec.mailProvider: Invalid value: \"Corp_SMTP\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                ],
            ),
            // podSecurityOverrides
            ok(
                "pod security override",
                json!({"spec": {"podSecurityOverrides": {"enabled": true, "maxAllowedScore": 1000, "exemptFactors": ["hostNetwork", "runAsRoot"], "namespaceScope": {"patterns": ["debug-*"]}}}}),
            ),
            bad(
                "maxAllowedScore above 1000",
                json!({"spec": {"podSecurityOverrides": {"maxAllowedScore": 1001}}}),
                &[
                    "spec.podSecurityOverrides.maxAllowedScore: Invalid value: 1001: must be less than or equal to 1000",
                ],
            ),
            bad(
                "unknown exempt factor",
                json!({"spec": {"podSecurityOverrides": {"exemptFactors": ["capabilities"]}}}),
                &[
                    "spec.podSecurityOverrides.exemptFactors[0]: Unsupported value: \"capabilities\": supported values: \"hostNetwork\", \"hostPID\", \"hostIPC\", \"privilegedContainer\", \"hostPathWritable\", \"hostPathReadOnly\", \"runAsRoot\"",
                ],
            ),
            bad(
                "duplicate exempt factor",
                json!({"spec": {"podSecurityOverrides": {"exemptFactors": ["hostPID", "hostPID"]}}}),
                &["spec.podSecurityOverrides.exemptFactors[1]: Duplicate value: \"hostPID\""],
            ),
            bad(
                "malformed namespace scope",
                json!({"spec": {"podSecurityOverrides": {"namespaceScope": {"patterns": ["debug-["]}}}}),
                &[
                    "spec.podSecurityOverrides.namespaceScope.patterns[0]: Invalid value: \"debug-[\": syntax error in glob pattern",
                ],
            ),
            // sessionLimitsOverride
            ok(
                "session limits",
                json!({"spec": {"sessionLimitsOverride": {"maxActiveSessionsPerUser": 1, "maxActiveSessionsTotal": 10}}}),
            ),
            ok(
                "unlimited sessions",
                json!({"spec": {"sessionLimitsOverride": {"unlimited": true}}}),
            ),
            bad(
                "unlimited with a limit",
                json!({"spec": {"sessionLimitsOverride": {"unlimited": true, "maxActiveSessionsTotal": 3}}}),
                &[
                    "spec.sessionLimitsOverride.unlimited: Forbidden: unlimited cannot be combined with maxActiveSessionsPerUser or maxActiveSessionsTotal",
                ],
            ),
            bad(
                "zero session limit",
                json!({"spec": {"sessionLimitsOverride": {"maxActiveSessionsPerUser": 0}}}),
                &[
                    "spec.sessionLimitsOverride.maxActiveSessionsPerUser: Invalid value: 0: must be greater than or equal to 1",
                ],
            ),
            // strict decoding
            bad(
                "unknown field",
                json!({"spec": {"approver": {"groups": ["x"]}}}),
                &["spec.approver: unknown field"],
            ),
            bad(
                "description is not a field",
                json!({"spec": {"description": "text"}}),
                &[
                    "spec.description: unknown field; BreakglassEscalation has no description field; keep the text in an annotation",
                ],
            ),
        ],
    );
}

#[test]
fn escalation_warnings() {
    check_warnings(
        BASE,
        vec![
            ("none", json!({}), vec![]),
            (
                "requester groups without a cluster target",
                json!({"spec": {"allowed": {"clusters": null}}}),
                vec![
                    "spec.allowed.clusters: no cluster target (allowed.clusters or clusterConfigRefs): the escalation matches no cluster",
                ],
            ),
        ],
    );
}
