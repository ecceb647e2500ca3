//! Dispatch from a kind name to its typed validator.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::decode::{decode_strict, is_under};
use super::error::{ErrorType, FieldError, ValidationReport, Warning};
use super::hints;
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

/// Decodes `value` as `K` and, when that succeeds, runs the kind's rules.
///
/// Rule findings under a path that already has a decoding error are dropped, since
/// they would only restate it.
pub(crate) fn run_kind<K>(
    value: &Value,
    report: &mut ValidationReport,
    validate: fn(&K) -> Vec<FieldError>,
    warnings: fn(&K) -> Vec<Warning>,
) where
    K: DeserializeOwned + Serialize,
{
    let decoded = decode_strict::<K>(value);
    let decode_paths: Vec<String> = decoded
        .errors
        .iter()
        .map(|e| e.path.clone())
        .chain(decoded.poisoned.iter().cloned())
        .collect();
    for err in decoded.errors {
        let err = match (
            err.error_type,
            hints::unknown_field_hint(&report.kind, &err.path),
        ) {
            (ErrorType::UnknownField, Some(hint)) => {
                FieldError::unknown_field(err.path, Some(hint))
            }
            _ => err,
        };
        report.errors.push(err);
    }
    let Some(object) = decoded.value else {
        return;
    };
    let covered = |path: &str| is_under(path, &decode_paths);
    for err in validate(&object) {
        if !covered(&err.path) && !report.errors.contains(&err) {
            report.errors.push(err);
        }
    }
    report.warnings.extend(warnings(&object));
}
