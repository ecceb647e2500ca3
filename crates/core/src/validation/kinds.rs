//! Dispatch from a kind name to its typed validator.

use serde_json::Value;

use super::error::ValidationReport;
use super::object::run_kind;
use super::{
    audit_config, cluster_config, debug_binding, debug_session, debug_templates, deny_policy,
    escalation, providers, session,
};

/// Runs the typed validator of `kind` (already known to be one of ours) on `value`.
pub(crate) fn dispatch(kind: &str, value: &Value, report: &mut ValidationReport) {
    match kind {
        "BreakglassSession" => run_kind(
            value,
            report,
            session::validate_breakglass_session,
            session::breakglass_session_warnings,
        ),
        "DebugPodTemplate" => run_kind(
            value,
            report,
            debug_templates::validate_debug_pod_template,
            debug_templates::debug_pod_template_warnings,
        ),
        "DebugSessionTemplate" => run_kind(
            value,
            report,
            debug_templates::validate_debug_session_template,
            debug_templates::debug_session_template_warnings,
        ),
        "DebugSession" => run_kind(
            value,
            report,
            debug_session::validate_debug_session,
            debug_session::debug_session_warnings,
        ),
        "BreakglassEscalation" => run_kind(
            value,
            report,
            escalation::validate_breakglass_escalation,
            escalation::breakglass_escalation_warnings,
        ),
        "DenyPolicy" => run_kind(
            value,
            report,
            deny_policy::validate_deny_policy,
            deny_policy::deny_policy_warnings,
        ),
        "ClusterConfig" => run_kind(
            value,
            report,
            cluster_config::validate_cluster_config,
            cluster_config::cluster_config_warnings,
        ),
        "IdentityProvider" => run_kind(
            value,
            report,
            providers::validate_identity_provider,
            providers::identity_provider_warnings,
        ),
        "MailProvider" => run_kind(
            value,
            report,
            providers::validate_mail_provider,
            providers::mail_provider_warnings,
        ),
        "AuditConfig" => run_kind(
            value,
            report,
            audit_config::validate_audit_config,
            audit_config::audit_config_warnings,
        ),
        "DebugSessionClusterBinding" => run_kind(
            value,
            report,
            debug_binding::validate_debug_session_cluster_binding,
            debug_binding::debug_session_cluster_binding_warnings,
        ),
        _ => {}
    }
}
