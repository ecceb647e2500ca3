//! Hints for unknown fields whose spelling comes from older documents, so the error
//! says what to write instead.

/// `(kind, path with list indices removed, hint)`.
const HINTS: &[(&str, &str, &str)] = &[
    (
        "BreakglassEscalation",
        "spec.description",
        "BreakglassEscalation has no description field; keep the text in an annotation",
    ),
    (
        "BreakglassEscalation",
        "spec.allowed.users",
        "requesters are matched by group only; list their groups in allowed.groups",
    ),
    (
        "DenyPolicy",
        "spec.appliesTo.escalationRefs",
        "deny policies are scoped by appliesTo.clusters, appliesTo.tenants and appliesTo.sessions",
    ),
    (
        "DenyPolicy",
        "spec.podSecurityRules.exemptions.labels",
        "exempt pods by label with podLabels, or namespaces by label with namespaces.selectorTerms",
    ),
    (
        "DebugSessionTemplate",
        "spec.audit.logCommands",
        "command logging is not part of the API; audit takes enabled, destinations, enableTerminalRecording, recordingRetention and enableShellHistory",
    ),
    (
        "DebugSessionTemplate",
        "spec.audit.sidecar",
        "audit sidecars are not part of the API; audit takes enabled, destinations, enableTerminalRecording, recordingRetention and enableShellHistory",
    ),
    (
        "DebugSessionTemplate",
        "spec.audit.excludePatterns",
        "command logging is not part of the API; audit takes enabled, destinations, enableTerminalRecording, recordingRetention and enableShellHistory",
    ),
    (
        "DebugSessionTemplate",
        "spec.podDisruptionBudget.method",
        "podDisruptionBudget takes enabled, minAvailable and maxUnavailable; the terminal multiplexer is terminalSharing.provider",
    ),
    (
        "DebugSessionTemplate",
        "spec.constraints.requireApprovalForRenewal",
        "renewals are governed by allowRenewal and maxRenewals",
    ),
    (
        "DebugSessionClusterBinding",
        "spec.targetNamespace",
        "a binding sets the namespace with namespaceConstraints.defaultNamespace",
    ),
    (
        "DebugSessionClusterBinding",
        "spec.auxiliaryResources",
        "auxiliary resources are defined on the DebugSessionTemplate; a binding toggles categories with auxiliaryResourceOverrides and requiredAuxiliaryResourceCategories",
    ),
    (
        "DebugSessionClusterBinding",
        "spec.allowUserNodeSelector",
        "not part of the API; scheduling is fixed by schedulingConstraints and schedulingOptions",
    ),
    (
        "DebugSessionClusterBinding",
        "spec.autoApprove",
        "auto-approval is configured with approvers.autoApproveFor",
    ),
    (
        "DebugSessionClusterBinding",
        "spec.mergeMode",
        "not part of the API; one binding applies per template and cluster",
    ),
    (
        "DebugPodTemplate",
        "spec.auxiliaryResources",
        "auxiliary resources are defined on the DebugSessionTemplate (spec.auxiliaryResources)",
    ),
    (
        "DebugSessionTemplate",
        "spec.auxiliaryResources[].requiresApproval",
        "approval is configured for the whole session with approvers",
    ),
];

/// Removes list indices: `a[2].b` → `a[].b`.
fn shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            c => out.push(c),
        }
    }
    out
}

/// The hint for an unknown field of `kind` at `path`, if there is one.
pub(crate) fn unknown_field_hint(kind: &str, path: &str) -> Option<&'static str> {
    let shaped = shape(path);
    HINTS
        .iter()
        .find(|(k, p, _)| *k == kind && *p == shaped)
        .map(|(_, _, h)| *h)
}
