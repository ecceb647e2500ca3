//! DebugSession: create and update rules.

use breakglass_api::DebugSession;

use super::debug_shared;
use super::error::{FieldError, Warning};
use super::immutable;
use super::path::Path;
use super::rules::{self, Errors, ListRules};

/// Validates a DebugSession as the admission webhook does on create: required fields,
/// a positive duration, well-formed names and `extraDeployValues` keys that are Go
/// identifiers.
pub fn validate_debug_session(s: &DebugSession) -> Vec<FieldError> {
    let mut errs = Errors::new();
    let p = Path::new("spec");
    let spec = &s.spec;
    rules::required_str(&mut errs, &p.child("cluster"), &spec.cluster);
    rules::required_str(&mut errs, &p.child("templateRef"), &spec.template_ref);
    rules::required_str(&mut errs, &p.child("requestedBy"), &spec.requested_by);
    debug_shared::debug_duration(
        &mut errs,
        &p.child("requestedDuration"),
        spec.requested_duration.as_deref(),
    );
    if let Some(ns) = &spec.target_namespace {
        rules::dns1123_label(&mut errs, &p.child("targetNamespace"), ns);
    }
    if let Some(ns) = &spec.node_selector {
        rules::label_map(&mut errs, &p.child("nodeSelector"), ns);
    }
    if let Some(list) = &spec.invited_participants {
        rules::string_list(
            &mut errs,
            &p.child("invitedParticipants"),
            list,
            ListRules::unique(),
            |_, _, _| {},
        );
    }
    if let Some(b) = &spec.binding_ref {
        let bp = p.child("bindingRef");
        rules::required_str(&mut errs, &bp.child("name"), &b.name);
        rules::required_str(&mut errs, &bp.child("namespace"), &b.namespace);
    }
    if let Some(sc) = &spec.resolved_scheduling_constraints {
        debug_shared::scheduling_constraints(
            &mut errs,
            &p.child("resolvedSchedulingConstraints"),
            sc,
        );
    }
    for key in spec.extra_deploy_values.iter().flat_map(|m| m.keys()) {
        rules::go_identifier(&mut errs, &p.child("extraDeployValues").key(key), key, 63);
    }
    errs
}

/// Warnings of a DebugSession (none so far).
pub(crate) fn debug_session_warnings(_: &DebugSession) -> Vec<Warning> {
    Vec::new()
}

/// Validates an update of a DebugSession: the new object's own rules, an unchanged
/// spec, and status timestamps (`startsAt`, `expiresAt`, `approval.approvedAt`,
/// `approval.rejectedAt`) that are never cleared or moved backwards.
pub fn validate_debug_session_update(old: &DebugSession, new: &DebugSession) -> Vec<FieldError> {
    let mut errs = validate_debug_session(new);
    immutable::spec_unchanged(&mut errs, &old.spec, &new.spec);
    let old_status = old.status.clone().unwrap_or_default();
    let new_status = new.status.clone().unwrap_or_default();
    let sp = Path::new("status");
    immutable::time_monotonic(
        &mut errs,
        &sp.child("startsAt"),
        old_status.starts_at.as_ref(),
        new_status.starts_at.as_ref(),
    );
    immutable::time_monotonic(
        &mut errs,
        &sp.child("expiresAt"),
        old_status.expires_at.as_ref(),
        new_status.expires_at.as_ref(),
    );
    let old_approval = old_status.approval.unwrap_or_default();
    let new_approval = new_status.approval.unwrap_or_default();
    let ap = sp.child("approval");
    immutable::time_monotonic(
        &mut errs,
        &ap.child("approvedAt"),
        old_approval.approved_at.as_ref(),
        new_approval.approved_at.as_ref(),
    );
    immutable::time_monotonic(
        &mut errs,
        &ap.child("rejectedAt"),
        old_approval.rejected_at.as_ref(),
        new_approval.rejected_at.as_ref(),
    );
    errs
}
