//! The reason texts of denials.

#[allow(clippy::wildcard_imports)]
use super::*;

pub(super) fn guard_reason(denial: &GuardDenial, cluster: &str) -> String {
    match denial {
        GuardDenial::UnrecognisedVerb { verb } => format!(
            "Access denied: Breakglass does not recognise the impersonation verb {verb:?}, so it is denied; known forms are impersonate, impersonate:<mode> and impersonate-on:<mode>:<verb> with mode user-info, serviceaccount, arbitrary-node or associated-node"
        ),
        GuardDenial::SystemMasters => format!(
            "Access denied: impersonating the group {SYSTEM_MASTERS} is never allowed through Breakglass"
        ),
        GuardDenial::Wildcard { resource } => format!(
            "Access denied: impersonating the wildcard name \"*\" ({resource}) is never allowed through Breakglass; it would stand for every identity, {SYSTEM_MASTERS} included"
        ),
        GuardDenial::LegacyForbidden => format!(
            "Access denied: legacy (unconstrained) impersonation is forbidden on cluster {cluster}; use constrained impersonation (impersonate:<mode>) instead"
        ),
    }
}

pub(super) fn error_reason(stage: &Stage) -> String {
    let Stage::PolicyError { policy, error, .. } = stage else {
        return "Access denied: DenyPolicy evaluation failed; request denied fail-closed"
            .to_owned();
    };
    let advice = match error {
        EvalError::BadPattern { .. } => "ask the policy owner to fix the policy",
        EvalError::LabelsUnavailable { .. } | EvalError::PodMismatch { .. } => "try again",
        EvalError::NamespaceMissing { .. } => "check the namespace name",
        EvalError::LabelsNotFetched { .. } | EvalError::PodNotFetched { .. } => {
            "report this to the Breakglass operators"
        }
    };
    format!(
        "Access denied: DenyPolicy evaluation failed; request denied fail-closed (policy {policy}: {error}); {advice}"
    )
}

pub(super) fn policy_reason(
    stage: &Stage,
    base: String,
    notes: &DenyNotes,
    link: Option<&str>,
) -> String {
    let mut reason = base;
    match stage {
        // Impersonation restrictions are not lifted by requesting access.
        Stage::ImpersonationPolicy { .. } => {}
        _ => {
            if let Some(h) = &notes.idp_hint {
                reason.push(' ');
                reason.push_str(h);
            }
            if let Some(l) = link {
                reason.push_str(l);
            }
        }
    }
    reason
}

pub(super) fn no_session_reason(cluster: &str, notes: &DenyNotes, link: Option<&str>) -> String {
    let mut reason = format!(
        "Access denied: you have no active breakglass session on cluster {cluster} for {}",
        notes.request
    );
    for (name, group) in &notes.pending {
        reason.push_str(&format!(
            "; your session {name} for group {group} is still waiting for approval"
        ));
    }
    for (name, group) in &notes.scheduled {
        reason.push_str(&format!(
            "; your session {name} for group {group} is approved but has not reached its scheduled start"
        ));
    }
    push_common(&mut reason, notes, link);
    reason
}

/// Appends the IDP-mismatch note, the escalation fragment, the IDP hint and the link.
pub(super) fn push_common(reason: &mut String, notes: &DenyNotes, link: Option<&str>) {
    if notes.idp_mismatch_count > 0 {
        let via = if notes.idp_mismatch_providers.is_empty() {
            String::new()
        } else {
            format!(" ({})", join_limited(&notes.idp_mismatch_providers, 5))
        };
        reason.push_str(&format!(
            "; {} active session(s) were granted through a different identity provider{via} and do not apply to this token — sign in through that identity provider to use them",
            notes.idp_mismatch_count
        ));
    }
    reason.push_str("; ");
    reason.push_str(&escalation_fragment(notes.escalations_available));
    if let Some(h) = &notes.idp_hint {
        reason.push(' ');
        reason.push_str(h);
    }
    if let Some(l) = link {
        reason.push_str(l);
    }
}
