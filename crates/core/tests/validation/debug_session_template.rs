//! DebugSessionTemplate rules.

use serde_json::json;

use crate::support::{bad, check_table, check_warnings, ok};

pub const BASE: &str = r#"
apiVersion: breakglass.t-caas.telekom.com/v1alpha1
kind: DebugSessionTemplate
metadata:
  name: network-debug
spec:
  displayName: Network debug
  mode: workload
  podTemplateRef:
    name: netshoot
  workloadType: DaemonSet
  targetNamespace: breakglass-debug
  allowed:
    groups: [sre]
    clusters: ["prod-*"]
  approvers:
    groups: [sre-leads]
    autoApproveFor:
      clusters: ["dev-*"]
  constraints:
    maxDuration: 4h
    defaultDuration: 1h
    maxRenewals: 2
"#;

fn kubectl_debug() -> serde_json::Value {
    json!({"ephemeralContainers": {"enabled": true, "allowedNamespaces": {"patterns": ["app-*"]}, "allowedImages": ["busybox:*"]}})
}

#[test]
fn debug_session_template_table() {
    check_table(
        BASE,
        vec![
            // mode requirements and pod template sources
            ok(
                "pod template string",
                json!({"spec": {"podTemplateRef": null, "podTemplateString": "containers: []"}}),
            ),
            bad(
                "podTemplateRef and podTemplateString",
                json!({"spec": {"podTemplateString": "containers: []"}}),
                &["spec: Forbidden: podTemplateRef and podTemplateString are mutually exclusive"],
            ),
            bad(
                "workload without a pod template",
                json!({"spec": {"podTemplateRef": null}}),
                &[
                    "spec.podTemplateRef: Required value: one of podTemplateRef or podTemplateString is required in workload mode",
                ],
            ),
            bad(
                "mode defaults to workload",
                json!({"spec": {"mode": null, "podTemplateRef": null}}),
                &[
                    "spec.podTemplateRef: Required value: one of podTemplateRef or podTemplateString is required in workload mode",
                ],
            ),
            ok(
                "kubectl-debug without a pod template",
                json!({"spec": {"mode": "kubectl-debug", "podTemplateRef": null, "workloadType": null, "kubectlDebug": kubectl_debug()}}),
            ),
            bad(
                "kubectl-debug without kubectlDebug",
                json!({"spec": {"mode": "kubectl-debug", "podTemplateRef": null}}),
                &["spec.kubectlDebug: Required value: required in kubectl-debug mode"],
            ),
            ok(
                "hybrid with both",
                json!({"spec": {"mode": "hybrid", "kubectlDebug": kubectl_debug()}}),
            ),
            bad(
                "hybrid without kubectlDebug",
                json!({"spec": {"mode": "hybrid"}}),
                &["spec.kubectlDebug: Required value: required in hybrid mode"],
            ),
            bad(
                "hybrid without a pod template",
                json!({"spec": {"mode": "hybrid", "podTemplateRef": null, "kubectlDebug": kubectl_debug()}}),
                &[
                    "spec.podTemplateRef: Required value: one of podTemplateRef or podTemplateString is required in hybrid mode",
                ],
            ),
            bad(
                "unknown mode",
                json!({"spec": {"mode": "shell"}}),
                &[
                    "spec.mode: Unsupported value: \"shell\": supported values: \"workload\", \"kubectl-debug\", \"hybrid\"",
                ],
            ),
            bad(
                "empty podTemplateRef name",
                json!({"spec": {"podTemplateRef": {"name": ""}}}),
                &["spec.podTemplateRef.name: Required value"],
            ),
            // replicas
            ok(
                "one replica",
                json!({"spec": {"workloadType": "Deployment", "replicas": 1}}),
            ),
            bad(
                "zero replicas",
                json!({"spec": {"replicas": 0}}),
                &["spec.replicas: Invalid value: 0: must be greater than or equal to 1"],
            ),
            // scheduling options
            ok(
                "scheduling options",
                json!({"spec": {"schedulingOptions": {"required": true, "options": [{"name": "sriov", "displayName": "SR-IOV", "default": true}, {"name": "any", "displayName": "Any", "schedulingConstraints": {}}]}}}),
            ),
            bad(
                "two defaults",
                json!({"spec": {"schedulingOptions": {"options": [{"name": "a", "displayName": "A", "default": true}, {"name": "b", "displayName": "B", "default": true}]}}}),
                &[
                    "spec.schedulingOptions.options[1].default: Invalid value: true: at most one option may be the default",
                ],
            ),
            bad(
                "option name not a DNS label",
                json!({"spec": {"schedulingOptions": {"options": [{"name": "SR_IOV", "displayName": "A"}]}}}),
                &[
                    "spec.schedulingOptions.options[0].name: Invalid value: \"SR_IOV\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                ],
            ),
            bad(
                "duplicate option name",
                json!({"spec": {"schedulingOptions": {"options": [{"name": "a", "displayName": "A"}, {"name": "a", "displayName": "B"}]}}}),
                &["spec.schedulingOptions.options[1].name: Duplicate value: \"a\""],
            ),
            bad(
                "option without display name",
                json!({"spec": {"schedulingOptions": {"options": [{"name": "a", "displayName": ""}]}}}),
                &["spec.schedulingOptions.options[0].displayName: Required value"],
            ),
            bad(
                "no options",
                json!({"spec": {"schedulingOptions": {"required": true, "options": []}}}),
                &[
                    "spec.schedulingOptions.options: Required value: at least one option is required",
                ],
            ),
            // scheduling constraints
            ok(
                "scheduling constraints",
                json!({"spec": {"schedulingConstraints": {"nodeSelector": {"node-pool": "general"}, "deniedNodes": ["control-plane-*"], "deniedNodeLabels": {"node-role.kubernetes.io/control-plane": "*"}}}}),
            ),
            bad(
                "malformed denied node glob",
                json!({"spec": {"schedulingConstraints": {"deniedNodes": ["cp-["]}}}),
                &[
                    "spec.schedulingConstraints.deniedNodes[0]: Invalid value: \"cp-[\": syntax error in glob pattern",
                ],
            ),
            bad(
                "invalid denied node label key",
                json!({"spec": {"schedulingConstraints": {"deniedNodeLabels": {"-bad": "*"}}}}),
                &[
                    "spec.schedulingConstraints.deniedNodeLabels: Invalid value: \"-bad\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                ],
            ),
            // kubectlDebug
            bad(
                "malformed image glob",
                json!({"spec": {"mode": "hybrid", "kubectlDebug": {"ephemeralContainers": {"allowedImages": ["busybox:["]}}}}),
                &[
                    "spec.kubectlDebug.ephemeralContainers.allowedImages[0]: Invalid value: \"busybox:[\": syntax error in glob pattern",
                ],
            ),
            bad(
                "pod copy ttl in the wrong format",
                json!({"spec": {"mode": "hybrid", "kubectlDebug": {"podCopy": {"enabled": true, "ttl": "1.5h"}}}}),
                &[
                    "spec.kubectlDebug.podCopy.ttl: Invalid value: \"1.5h\": must be a duration such as \"30m\", \"2h\" or \"1d\" (whole numbers with units ns, us, ms, s, m, h, d)",
                ],
            ),
            // constraints
            ok(
                "durations in days",
                json!({"spec": {"constraints": {"maxDuration": "1d", "defaultDuration": "2h"}}}),
            ),
            bad(
                "zero max duration",
                json!({"spec": {"constraints": {"maxDuration": "0h"}}}),
                &["spec.constraints.maxDuration: Invalid value: \"0h\": must be greater than zero"],
            ),
            bad(
                "negative renewals",
                json!({"spec": {"constraints": {"maxRenewals": -1}}}),
                &[
                    "spec.constraints.maxRenewals: Invalid value: -1: must be greater than or equal to 0",
                ],
            ),
            // allowed / approvers
            bad(
                "duplicate allowed group",
                json!({"spec": {"allowed": {"groups": ["sre", "sre"]}}}),
                &["spec.allowed.groups[1]: Duplicate value: \"sre\""],
            ),
            bad(
                "malformed auto-approve cluster glob",
                json!({"spec": {"approvers": {"autoApproveFor": {"clusters": ["dev-["]}}}}),
                &[
                    "spec.approvers.autoApproveFor.clusters[0]: Invalid value: \"dev-[\": syntax error in glob pattern",
                ],
            ),
            bad(
                "cluster selector with a bad operator",
                json!({"spec": {"allowed": {"clusterSelector": {"matchExpressions": [{"key": "env", "operator": "Equals", "values": ["prod"]}]}}}}),
                &[
                    "spec.allowed.clusterSelector.matchExpressions[0].operator: Unsupported value: \"Equals\": supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"",
                ],
            ),
            // namespaces
            bad(
                "target namespace not a DNS label",
                json!({"spec": {"targetNamespace": "Breakglass"}}),
                &[
                    "spec.targetNamespace: Invalid value: \"Breakglass\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                ],
            ),
            ok(
                "namespace constraints",
                json!({"spec": {"namespaceConstraints": {"defaultNamespace": "debug", "allowUserNamespace": true, "allowedNamespaces": {"patterns": ["debug-*"]}, "namespaceLabels": {"purpose": "debug"}}}}),
            ),
            bad(
                "In without values in namespace constraints",
                json!({"spec": {"namespaceConstraints": {"deniedNamespaces": {"selectorTerms": [{"matchExpressions": [{"key": "env", "operator": "NotIn", "values": []}]}]}}}}),
                &[
                    "spec.namespaceConstraints.deniedNamespaces.selectorTerms[0].matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
                ],
            ),
            // impersonation
            ok(
                "service account impersonation",
                json!({"spec": {"impersonation": {"serviceAccountRef": {"name": "deployer", "namespace": "breakglass"}}}}),
            ),
            bad(
                "system:masters",
                json!({"spec": {"impersonation": {"mode": "user-info", "userName": "deployer", "groups": ["system:masters"]}}}),
                &[
                    "spec.impersonation.groups[0]: Forbidden: impersonation.groups must not contain system:masters",
                ],
            ),
            bad(
                "associated-node",
                json!({"spec": {"impersonation": {"mode": "associated-node"}}}),
                &[
                    "spec.impersonation.mode: Forbidden: impersonation mode associated-node cannot be used to deploy debug resources",
                ],
            ),
            bad(
                "service account mode with groups",
                json!({"spec": {"impersonation": {"mode": "serviceaccount", "userName": "system:serviceaccount:ns:sa", "groups": ["g"]}}}),
                &[
                    "spec.impersonation.mode: Forbidden: serviceaccount and node impersonation modes take a user name only (no groups, uid or extra)",
                ],
            ),
            bad(
                "user-info targeting a node",
                json!({"spec": {"impersonation": {"mode": "user-info", "userName": "system:node:n1"}}}),
                &[
                    "spec.impersonation.userName: Forbidden: user-info impersonation cannot target service account or node user names",
                ],
            ),
            bad(
                "node name not a DNS subdomain",
                json!({"spec": {"impersonation": {"mode": "arbitrary-node", "userName": "system:node:Node_1"}}}),
                &[
                    "spec.impersonation.userName: Invalid value: \"system:node:Node_1\": node impersonation needs a node name that is a DNS subdomain",
                ],
            ),
            bad(
                "33 groups",
                json!({"spec": {"impersonation": {"groups": crate::support::many("g", 33)}}}),
                &["spec.impersonation.groups: Too many: 33: must have at most 32 items"],
            ),
            // auxiliary resources
            ok(
                "auxiliary resource",
                json!({"spec": {"auxiliaryResources": [{"name": "netpol", "category": "network-policy", "templateString": "kind: NetworkPolicy\nmetadata:\n  name: x-{{ .session.name }}\n"}], "auxiliaryResourceDefaults": {"network-policy": true}, "requiredAuxiliaryResourceCategories": ["network-policy"]}}),
            ),
            bad(
                "auxiliary resource with both sources",
                json!({"spec": {"auxiliaryResources": [{"name": "a", "templateString": "x", "template": {"kind": "ConfigMap"}}]}}),
                &[
                    "spec.auxiliaryResources[0]: Forbidden: template and templateString are mutually exclusive",
                ],
            ),
            bad(
                "auxiliary templateString that does not parse",
                json!({"spec": {"auxiliaryResources": [{"name": "a", "templateString": "kind: ConfigMap\nmetadata:\n  name: {{ .session.name | nope }}\n"}]}}),
                &[
                    "spec.auxiliaryResources[0].templateString: Invalid value: <template>: template syntax error: line 3, column 28: function \"nope\" not defined",
                ],
            ),
            bad(
                "structured auxiliary template with a malformed string",
                json!({"spec": {"auxiliaryResources": [{"name": "a", "template": {"kind": "ConfigMap", "metadata": {"name": "x-{{ .session.name", "labels": {"{{ end }}": "v"}}, "data": {"k": ["ok {{ .vars.x }}", "{{ if .x }}"]}}}]}}),
                &[
                    "spec.auxiliaryResources[0].template.data.k[1]: Invalid value: <template>: template syntax error: line 1, column 4: unexpected EOF: {{if}} has no matching {{end}}",
                    "spec.auxiliaryResources[0].template.metadata.labels.{{ end }}: Invalid value: <template>: template syntax error: line 1, column 4: unexpected {{end}}",
                    "spec.auxiliaryResources[0].template.metadata.name: Invalid value: <template>: template syntax error: line 1, column 3: unclosed action",
                ],
            ),
            bad(
                "auxiliary resource without a source",
                json!({"spec": {"auxiliaryResources": [{"name": "a"}]}}),
                &[
                    "spec.auxiliaryResources[0].templateString: Required value: one of templateString or template is required",
                ],
            ),
            bad(
                "duplicate auxiliary resource",
                json!({"spec": {"auxiliaryResources": [{"name": "a", "templateString": "x"}, {"name": "a", "templateString": "y"}]}}),
                &["spec.auxiliaryResources[1].name: Duplicate value: \"a\""],
            ),
            bad(
                "category with upper case",
                json!({"spec": {"requiredAuxiliaryResourceCategories": ["RBAC"]}}),
                &[
                    "spec.requiredAuxiliaryResourceCategories[0]: Invalid value: \"RBAC\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                ],
            ),
            bad(
                "unknown failure policy",
                json!({"spec": {"auxiliaryResources": [{"name": "a", "templateString": "x", "failurePolicy": "retry"}]}}),
                &[
                    "spec.auxiliaryResources[0].failurePolicy: Unsupported value: \"retry\": supported values: \"fail\", \"ignore\", \"warn\"",
                ],
            ),
            // extra deploy variables
            ok(
                "extra deploy variables",
                json!({"spec": {"extraDeployVariables": [{"name": "logLevel", "inputType": "select", "options": [{"value": "info"}, {"value": "debug"}]}, {"name": "size", "inputType": "storageSize", "validation": {"minStorage": "1Gi", "maxStorage": "10Gi"}}]}}),
            ),
            bad(
                "variable name not a Go identifier",
                json!({"spec": {"extraDeployVariables": [{"name": "log-level"}]}}),
                &[
                    "spec.extraDeployVariables[0].name: Invalid value: \"log-level\": must be a Go identifier (a letter or '_' followed by letters, digits or '_')",
                ],
            ),
            bad(
                "select without options",
                json!({"spec": {"extraDeployVariables": [{"name": "level", "inputType": "multiSelect"}]}}),
                &[
                    "spec.extraDeployVariables[0].options: Required value: select and multiSelect variables need options",
                ],
            ),
            bad(
                "min above max length",
                json!({"spec": {"extraDeployVariables": [{"name": "x", "validation": {"minLength": 5, "maxLength": 2}}]}}),
                &[
                    "spec.extraDeployVariables[0].validation.minLength: Invalid value: 5: must not exceed maxLength",
                ],
            ),
            bad(
                "bad storage quantity",
                json!({"spec": {"extraDeployVariables": [{"name": "x", "validation": {"maxStorage": "10 GB"}}]}}),
                &[
                    "spec.extraDeployVariables[0].validation.maxStorage: Invalid value: \"10 GB\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                ],
            ),
            ok(
                "variable defaults that pass their own rules",
                json!({"spec": {"extraDeployVariables": [
                    {"name": "debug", "inputType": "boolean", "default": true},
                    {"name": "replicas", "inputType": "number", "default": "2", "validation": {"min": "1", "max": "5"}},
                    {"name": "label", "default": "app-1", "validation": {"pattern": "^[a-z][a-z0-9-]*$", "maxLength": 10}},
                    {"name": "disk", "inputType": "storageSize", "default": "5Gi", "validation": {"minStorage": "1Gi", "maxStorage": "10Gi"}},
                    {"name": "level", "inputType": "select", "default": "info", "options": [{"value": "info"}, {"value": "debug"}]},
                    {"name": "tools", "inputType": "multiSelect", "default": ["gdb"], "options": [{"value": "gdb", "allowedGroups": ["sre"]}], "validation": {"maxItems": 1}}]}}),
            ),
            bad(
                "variable defaults that fail their own rules",
                json!({"spec": {"extraDeployVariables": [
                    {"name": "debug", "inputType": "boolean", "default": "maybe"},
                    {"name": "replicas", "inputType": "number", "default": 9, "validation": {"min": "1", "max": "5"}},
                    {"name": "label", "default": "App", "validation": {"pattern": "^[a-z]+$", "patternError": "lower-case letters only"}},
                    {"name": "disk", "inputType": "storageSize", "default": "50Gi", "validation": {"maxStorage": "10Gi"}},
                    {"name": "level", "inputType": "select", "default": "trace", "options": [{"value": "info"}]},
                    {"name": "tools", "inputType": "multiSelect", "default": "gdb,gdb", "options": [{"value": "gdb"}]}]}}),
                &[
                    "spec.extraDeployVariables[0].default: Invalid value: \"maybe\": must be true or false",
                    "spec.extraDeployVariables[1].default: Invalid value: \"9\": must be at most 5",
                    "spec.extraDeployVariables[2].default: Invalid value: \"App\": lower-case letters only",
                    "spec.extraDeployVariables[3].default: Invalid value: \"50Gi\": must be at most 10Gi",
                    "spec.extraDeployVariables[4].default: Invalid value: \"trace\": \"trace\" is not one of the options (info)",
                    "spec.extraDeployVariables[5].default: Invalid value: \"gdb,gdb\": option \"gdb\" is selected twice",
                ],
            ),
            bad(
                "variable rules that cannot hold",
                json!({"spec": {"extraDeployVariables": [
                    {"name": "n", "inputType": "number", "validation": {"min": "10", "max": "1"}},
                    {"name": "s", "inputType": "storageSize", "validation": {"minStorage": "2Gi", "maxStorage": "1Gi"}},
                    {"name": "t", "validation": {"pattern": "([a-z]"}}]}}),
                &[
                    "spec.extraDeployVariables[0].validation.min: Invalid value: \"10\": must not exceed validation.max",
                    "spec.extraDeployVariables[1].validation.minStorage: Invalid value: \"2Gi\": must not exceed validation.maxStorage",
                    "spec.extraDeployVariables[2].validation.pattern: Invalid value: \"([a-z]\": not a valid regular expression: unclosed group",
                ],
            ),
            // notification and reasons
            bad(
                "recipient without @",
                json!({"spec": {"notification": {"additionalRecipients": ["oncall"]}}}),
                &[
                    "spec.notification.additionalRecipients[0]: Invalid value: \"oncall\": must be an e-mail address (contain '@')",
                ],
            ),
            ok(
                "reason bounds",
                json!({"spec": {"requestReason": {"mandatory": true, "minLength": 5, "maxLength": 200, "suggestedReasons": ["Incident", "Maintenance"]}}}),
            ),
            bad(
                "minLength above maxLength",
                json!({"spec": {"requestReason": {"minLength": 20, "maxLength": 10}}}),
                &[
                    "spec.requestReason.minLength: Invalid value: 20: must not exceed maxLength (10)",
                ],
            ),
            bad(
                "minLength above the default maxLength",
                json!({"spec": {"requestReason": {"minLength": 1001}}}),
                &[
                    "spec.requestReason.minLength: Invalid value: 1001: must not exceed maxLength (1000)",
                ],
            ),
            bad(
                "duplicate suggestion",
                json!({"spec": {"requestReason": {"suggestedReasons": ["Incident", "Incident"]}}}),
                &["spec.requestReason.suggestedReasons[1]: Duplicate value: \"Incident\""],
            ),
            bad(
                "empty suggestion",
                json!({"spec": {"requestReason": {"suggestedReasons": [""]}}}),
                &[
                    "spec.requestReason.suggestedReasons[0]: Required value: entries must not be empty",
                ],
            ),
            bad(
                "negative approval reason length",
                json!({"spec": {"approvalReason": {"minLength": -1}}}),
                &[
                    "spec.approvalReason.minLength: Invalid value: -1: must be greater than or equal to 0",
                ],
            ),
            // resources
            ok(
                "resource quota",
                json!({"spec": {"resourceQuota": {"maxPods": 5, "maxCPU": "2", "maxMemory": "2Gi", "maxStorage": "500M"}}}),
            ),
            bad(
                "bad CPU quantity",
                json!({"spec": {"resourceQuota": {"maxCPU": "two"}}}),
                &[
                    "spec.resourceQuota.maxCPU: Invalid value: \"two\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                ],
            ),
            ok(
                "PDB with minAvailable",
                json!({"spec": {"podDisruptionBudget": {"enabled": true, "minAvailable": 1}}}),
            ),
            bad(
                "PDB with both bounds",
                json!({"spec": {"podDisruptionBudget": {"enabled": true, "minAvailable": 1, "maxUnavailable": "50%"}}}),
                &[
                    "spec.podDisruptionBudget: Forbidden: only one of minAvailable and maxUnavailable may be set",
                ],
            ),
            // misc
            bad(
                "grace period in the escalation format",
                json!({"spec": {"gracePeriodBeforeExpiry": "0.5h"}}),
                &[
                    "spec.gracePeriodBeforeExpiry: Invalid value: \"0.5h\": must be a duration such as \"30m\", \"2h\" or \"1d\" (whole numbers with units ns, us, ms, s, m, h, d)",
                ],
            ),
            bad(
                "invalid label",
                json!({"spec": {"labels": {"team/": "sre"}}}),
                &["spec.labels: Invalid value: \"team/\": name part must be non-empty"],
            ),
            bad(
                "terminal sharing without participants",
                json!({"spec": {"terminalSharing": {"enabled": true, "maxParticipants": 0}}}),
                &[
                    "spec.terminalSharing.maxParticipants: Invalid value: 0: must be greater than or equal to 1",
                ],
            ),
            bad(
                "unknown terminal provider",
                json!({"spec": {"terminalSharing": {"provider": "zellij"}}}),
                &[
                    "spec.terminalSharing.provider: Unsupported value: \"zellij\": supported values: \"tmux\", \"screen\"",
                ],
            ),
            // per-template audit destinations
            ok(
                "audit destinations",
                json!({"spec": {"audit": {"destinations": [
                    {"type": "breakglass"},
                    {"type": "webhook", "url": "https://siem.example.com/x", "headers": {"X-Team": "net", "Authorization": "Bearer abc\tdef"}},
                    {"type": "kubernetes"},
                ]}}}),
            ),
            bad(
                "webhook destination without a url",
                json!({"spec": {"audit": {"destinations": [{"type": "webhook"}]}}}),
                &[
                    "spec.audit.destinations[0].url: Required value: required for a webhook destination",
                ],
            ),
            bad(
                "header name and value that would split the request",
                json!({"spec": {"audit": {"destinations": [{"type": "webhook", "url": "https://x.example.com", "headers": {"X Bad": "v", "X-Ok": "a\r\nInjected: 1"}}]}}}),
                &[
                    "spec.audit.destinations[0].headers[X Bad]: Invalid value: \"X Bad\": a header name is letters, digits and !#$%&'*+-.^_`|~ only",
                    "spec.audit.destinations[0].headers[X-Ok]: Invalid value: \"\": a header value may not contain control characters or line breaks",
                ],
            ),
            bad(
                "too many destinations",
                json!({"spec": {"audit": {"destinations": vec![json!({"type": "kubernetes"}); 11]}}}),
                &["spec.audit.destinations: Too many: 11: must have at most 10 items"],
            ),
            bad(
                "pod template reference of the wrong shape",
                json!({"spec": {"podTemplateRef": ["netshoot"]}}),
                &["spec.podTemplateRef: Invalid value: \"array\": must be an object"],
            ),
        ],
    );
}

#[test]
fn debug_session_template_warnings() {
    check_warnings(
        BASE,
        vec![
            (
                "deprecated",
                json!({"spec": {"deprecated": true, "deprecationMessage": "use network-debug-v2"}}),
                vec!["spec.deprecated: this template is deprecated: use network-debug-v2"],
            ),
            (
                "renewalLimit",
                json!({"spec": {"constraints": {"renewalLimit": 2}}}),
                vec!["spec.constraints.renewalLimit: renewalLimit is deprecated; use maxRenewals"],
            ),
            (
                "structured auxiliary template",
                json!({"spec": {"auxiliaryResources": [{"name": "cm", "template": {"apiVersion": "v1", "kind": "ConfigMap"}, "optional": true}]}}),
                vec![
                    "spec.auxiliaryResources[0].template: template is deprecated; use templateString",
                    "spec.auxiliaryResources[0].optional: optional is deprecated; use failurePolicy",
                ],
            ),
            (
                "terminal recording and ignored destination fields",
                json!({"spec": {"audit": {"enableTerminalRecording": true, "destinations": [{"type": "kubernetes", "url": "https://x.example.com"}]}}}),
                vec![
                    "spec.audit.enableTerminalRecording: terminal sessions are not recorded; the session's lifecycle is audited and the target's audit log records each exec",
                    "spec.audit.destinations[0]: url and headers are ignored for a kubernetes destination",
                ],
            ),
        ],
    );
}
