//! BreakglassEscalation.

use breakglass_api::BreakglassEscalation;
use breakglass_api::breakglass_escalation::BreakglassEscalationSpec;

use super::error::{FieldError, Warning};
use super::path::Path;
use super::rules::{self, DurationFormat, Errors, ListRules};
use super::{selectors, timeouts};

/// An identifier list: at most `max` entries, none empty or repeated, each in the
/// identifier charset (≤253), optionally a well-formed glob.
fn identifiers(errs: &mut Errors, p: &Path, list: Option<&Vec<String>>, max: usize, globs: bool) {
    if let Some(list) = list {
        rules::string_list(errs, p, list, ListRules::strict(max), |errs, p, v| {
            rules::identifier(errs, p, v);
            if globs {
                rules::glob(errs, p, v);
            }
        });
    }
}

fn non_empty(list: Option<&Vec<String>>) -> bool {
    list.is_some_and(|l| !l.is_empty())
}

/// Validates a BreakglassEscalation: the CRD's CEL rules (an approver, self-approval
/// blocking, identity-provider fields) and the admission webhook's checks (escalated
/// group, targets, list hygiene, identifiers, durations and their relationships,
/// session limits).
pub fn validate_breakglass_escalation(e: &BreakglassEscalation) -> Vec<FieldError> {
    let mut errs = Errors::new();
    let p = Path::new("spec");
    let spec = &e.spec;

    escalated_group(&mut errs, &p, &spec.escalated_group);

    let allowed = spec.allowed.clone().unwrap_or_default();
    let ap = p.child("allowed");
    identifiers(
        &mut errs,
        &ap.child("clusters"),
        allowed.clusters.as_ref(),
        50,
        true,
    );
    identifiers(
        &mut errs,
        &ap.child("groups"),
        allowed.groups.as_ref(),
        50,
        false,
    );
    identifiers(
        &mut errs,
        &p.child("clusterConfigRefs"),
        spec.cluster_config_refs.as_ref(),
        50,
        true,
    );
    let has_target =
        non_empty(allowed.clusters.as_ref()) || non_empty(spec.cluster_config_refs.as_ref());
    if !non_empty(allowed.groups.as_ref()) && !has_target {
        errs.push(FieldError::required(
            &ap,
            "allowed.groups or a cluster target (allowed.clusters or clusterConfigRefs) is required",
        ));
    }

    approvers(&mut errs, &p, spec);
    identifiers(
        &mut errs,
        &p.child("denyPolicyRefs"),
        spec.deny_policy_refs.as_ref(),
        20,
        false,
    );
    if let Some(ex) = &spec.notification_exclusions {
        let xp = p.child("notificationExclusions");
        identifiers(
            &mut errs,
            &xp.child("users"),
            ex.users.as_ref(),
            usize::MAX,
            false,
        );
        identifiers(
            &mut errs,
            &xp.child("groups"),
            ex.groups.as_ref(),
            usize::MAX,
            false,
        );
    }

    timeouts::validity_and_idle(
        &mut errs,
        &p,
        spec.max_valid_for.as_deref(),
        spec.idle_timeout.as_deref(),
        spec.approval_timeout.as_deref(),
    );
    if let Some(v) = &spec.retain_for {
        rules::duration(
            &mut errs,
            &p.child("retainFor"),
            v,
            DurationFormat::Escalation,
            true,
        );
    }

    if let Some(domains) = &spec.allowed_approver_domains {
        let dp = p.child("allowedApproverDomains");
        rules::string_list(
            &mut errs,
            &dp,
            domains,
            ListRules::strict(20),
            rules::email_domain,
        );
    }
    identity_providers(&mut errs, &p, spec);
    if let Some(mp) = &spec.mail_provider {
        rules::dns1123_label(&mut errs, &p.child("mailProvider"), mp);
    }

    pod_security_overrides(&mut errs, &p, spec);
    session_limits(&mut errs, &p, spec);
    errs
}

/// Approver lists, "at least one approver" and the self-approval rules.
fn approvers(errs: &mut Errors, p: &Path, spec: &BreakglassEscalationSpec) {
    let ap = p.child("approvers");
    let a = &spec.approvers;
    identifiers(errs, &ap.child("users"), a.users.as_ref(), 100, false);
    identifiers(errs, &ap.child("groups"), a.groups.as_ref(), 30, false);
    identifiers(
        errs,
        &ap.child("hiddenFromUI"),
        a.hidden_from_ui.as_ref(),
        30,
        false,
    );
    if !non_empty(a.users.as_ref()) && !non_empty(a.groups.as_ref()) {
        errs.push(FieldError::required(
            &ap,
            "at least one approver user or group is required",
        ));
    }
    if spec.block_self_approval == Some(true) {
        if !non_empty(a.groups.as_ref()) {
            errs.push(FieldError::required(
                ap.child("groups"),
                "blockSelfApproval requires at least one approver group",
            ));
        }
        let listed = |l: Option<&Vec<String>>| l.is_some_and(|l| l.contains(&spec.escalated_group));
        if listed(a.groups.as_ref()) || listed(a.hidden_from_ui.as_ref()) {
            errs.push(FieldError::forbidden(
                p.child("escalatedGroup"),
                "with blockSelfApproval the escalatedGroup must not be listed in approvers.groups or approvers.hiddenFromUI",
            ));
        }
    }
}

/// `allowedIdentityProviders` excludes the split fields, which must be set together.
fn identity_providers(errs: &mut Errors, p: &Path, spec: &BreakglassEscalationSpec) {
    let both = spec.allowed_identity_providers.as_ref();
    let req = spec.allowed_identity_providers_for_requests.as_ref();
    let appr = spec.allowed_identity_providers_for_approvers.as_ref();
    identifiers(errs, &p.child("allowedIdentityProviders"), both, 20, false);
    identifiers(
        errs,
        &p.child("allowedIdentityProvidersForRequests"),
        req,
        20,
        false,
    );
    identifiers(
        errs,
        &p.child("allowedIdentityProvidersForApprovers"),
        appr,
        20,
        false,
    );
    if non_empty(both) && (non_empty(req) || non_empty(appr)) {
        errs.push(FieldError::forbidden(
            p.child("allowedIdentityProviders"),
            "allowedIdentityProviders cannot be combined with allowedIdentityProvidersForRequests or allowedIdentityProvidersForApprovers",
        ));
    }
    let message = "allowedIdentityProvidersForRequests and allowedIdentityProvidersForApprovers must be set together";
    match (non_empty(req), non_empty(appr)) {
        (true, false) => errs.push(FieldError::required(
            p.child("allowedIdentityProvidersForApprovers"),
            message,
        )),
        (false, true) => errs.push(FieldError::required(
            p.child("allowedIdentityProvidersForRequests"),
            message,
        )),
        _ => {}
    }
}

/// Warnings of a BreakglassEscalation: requester groups without any cluster target.
pub(crate) fn breakglass_escalation_warnings(e: &BreakglassEscalation) -> Vec<Warning> {
    let mut warns = Vec::new();
    let spec = &e.spec;
    let allowed = spec.allowed.clone().unwrap_or_default();
    if non_empty(allowed.groups.as_ref())
        && !non_empty(allowed.clusters.as_ref())
        && !non_empty(spec.cluster_config_refs.as_ref())
    {
        warns.push(Warning::new(
            "spec.allowed.clusters",
            "no cluster target (allowed.clusters or clusterConfigRefs): the escalation matches no cluster",
        ));
    }
    warns
}

/// `escalatedGroup`: required, a group name of at most 253 bytes, and never a `system:`
/// group in any spelling: the group is granted on target clusters, and a configured OIDC
/// prefix (unknown here) stripped off `oidc:system:masters` would leave `system:masters`.
fn escalated_group(errs: &mut Errors, p: &Path, group: &str) {
    let gp = p.child("escalatedGroup");
    if rules::required_str(errs, &gp, group) {
        rules::group_name(errs, &gp, group);
        rules::max_len(errs, &gp, group, 253);
        if crate::authz::oidc::could_be_system_group(group) {
            errs.push(FieldError::invalid(
                gp,
                group,
                "must not contain \"system:\" (in any letter case): system: groups are never granted, and with an OIDC prefix stripped this group would name one",
            ));
        }
    }
}

/// `podSecurityOverrides`: score range, exempt factors, namespace scope.
fn pod_security_overrides(errs: &mut Errors, p: &Path, spec: &BreakglassEscalationSpec) {
    if let Some(o) = &spec.pod_security_overrides {
        let op = p.child("podSecurityOverrides");
        if let Some(score) = o.max_allowed_score {
            rules::int_range(
                errs,
                &op.child("maxAllowedScore"),
                score.into(),
                0,
                Some(1000),
            );
        }
        if let Some(factors) = &o.exempt_factors {
            let fp = op.child("exemptFactors");
            rules::max_items(errs, &fp, factors, 10);
            let mut seen = Vec::new();
            for (i, f) in factors.iter().enumerate() {
                if seen.contains(f) {
                    errs.push(FieldError::duplicate(fp.index(i), f.as_str()));
                }
                seen.push(*f);
            }
        }
        if let Some(f) = &o.namespace_scope {
            selectors::namespace_filter(errs, &op.child("namespaceScope"), f);
        }
    }
}

/// `sessionLimitsOverride`: `unlimited` excludes the numbers; numbers are at least 1.
fn session_limits(errs: &mut Errors, p: &Path, spec: &BreakglassEscalationSpec) {
    if let Some(l) = &spec.session_limits_override {
        let lp = p.child("sessionLimitsOverride");
        if l.unlimited == Some(true)
            && (l.max_active_sessions_per_user.is_some() || l.max_active_sessions_total.is_some())
        {
            errs.push(FieldError::forbidden(
            lp.child("unlimited"),
            "unlimited cannot be combined with maxActiveSessionsPerUser or maxActiveSessionsTotal",
        ));
        }
        for (name, v) in [
            ("maxActiveSessionsPerUser", l.max_active_sessions_per_user),
            ("maxActiveSessionsTotal", l.max_active_sessions_total),
        ] {
            if let Some(v) = v {
                rules::int_range(errs, &lp.child(name), v.into(), 1, None);
            }
        }
    }
}
