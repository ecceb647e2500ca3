//! DenyPolicy evaluation: the global pass, then one pass per active session.

#[allow(clippy::wildcard_imports)]
use super::*;

/// A policy match in one pass.
pub(super) struct Hit {
    pub(super) stage: Stage,
    pub(super) reason: String,
}

pub(super) enum PassResult {
    Clear(Vec<String>),
    Hit(Hit),
    Error(Stage),
}

pub(super) struct PassContext<'a, 'b> {
    pub(super) policies: &'b [&'a breakglass_api::DenyPolicy],
    /// The scope; its `session` names the pass (`None`: the global pass).
    pub(super) scope: PolicyScope<'b>,
    pub(super) labels: NamespaceLabels<'a>,
    pub(super) pod: PodInfo<'a>,
    /// Escalations available, for the reason of a match (built only then).
    pub(super) escalations: usize,
}

impl PassContext<'_, '_> {
    /// The pass, for the trace of a match or an error (built only then).
    fn pass(&self) -> Pass {
        self.scope
            .session
            .map_or(Pass::Global, |s| Pass::Session(s.to_owned()))
    }
}

pub(super) fn impersonation_pass(
    ctx: &PassContext<'_, '_>,
    imp: &ImpersonationRequest,
) -> PassResult {
    for policy in ctx.policies {
        let spec = &policy.spec;
        let Some(rules) = spec.impersonation_rules.as_deref() else {
            continue;
        };
        if !deny::scope_matches(spec.applies_to.as_ref(), &ctx.scope) {
            continue;
        }
        let name = policy_name(policy);
        match impersonation::first_matching_rule(rules, imp, ctx.labels) {
            Ok(None) => {}
            Ok(Some(rule)) => {
                let why = rules
                    .get(rule)
                    .and_then(|r| r.reason.as_deref())
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map_or_else(|| default_impersonation_reason(imp), str::to_owned);
                return PassResult::Hit(Hit {
                    reason: format!("Impersonation denied by policy {name}: {why}"),
                    stage: Stage::ImpersonationPolicy {
                        policy: name.to_owned(),
                        rule,
                        pass: ctx.pass(),
                    },
                });
            }
            Err(error) => {
                return PassResult::Error(Stage::PolicyError {
                    policy: name.to_owned(),
                    pass: ctx.pass(),
                    impersonation: true,
                    error,
                });
            }
        }
    }
    PassResult::Clear(Vec::new())
}

pub(super) fn default_impersonation_reason(imp: &ImpersonationRequest) -> String {
    match &imp.kind {
        impersonation::ImpersonationKind::Action { verb, resource, .. } => {
            format!("{verb} on {resource} is not allowed while impersonating")
        }
        impersonation::ImpersonationKind::Identity { resource, name, .. } => {
            format!("impersonating {resource} {name:?} is not allowed")
        }
        impersonation::ImpersonationKind::Unknown => "this impersonation is not allowed".to_owned(),
    }
}

pub(super) fn resource_pass(
    ctx: &PassContext<'_, '_>,
    request: &ResourceAttributes,
    pod_security: Option<Option<&PodSecurityOverrides>>,
    records: &mut Vec<PodSecurityRecord>,
) -> PassResult {
    let mut warnings = Vec::new();
    for policy in ctx.policies {
        let spec = &policy.spec;
        if !deny::scope_matches(spec.applies_to.as_ref(), &ctx.scope) {
            continue;
        }
        let name = policy_name(policy);
        let error = |error| {
            PassResult::Error(Stage::PolicyError {
                policy: name.to_owned(),
                pass: ctx.pass(),
                impersonation: false,
                error,
            })
        };
        if let Some(rules) = spec.rules.as_deref() {
            match deny::first_matching_rule(rules, request, ctx.labels) {
                Ok(None) => {}
                Ok(Some(rule)) => {
                    return PassResult::Hit(Hit {
                        reason: format!(
                            "Denied by policy {name}; {}",
                            escalation_fragment(ctx.escalations)
                        ),
                        stage: Stage::DenyPolicy {
                            policy: name.to_owned(),
                            rule,
                            pass: ctx.pass(),
                        },
                    });
                }
                Err(e) => return error(e),
            }
        }
        if let (Some(overrides), Some(psr)) = (pod_security, spec.pod_security_rules.as_ref()) {
            match pod_security::evaluate(psr, request, ctx.pod, ctx.labels, overrides) {
                Ok(PodSecurityVerdict::NotApplicable) => {}
                Ok(verdict) => {
                    let assessment = match &verdict {
                        PodSecurityVerdict::Allow { assessment, .. }
                        | PodSecurityVerdict::Deny { assessment, .. } => assessment.clone(),
                        PodSecurityVerdict::Warn { assessment, .. } => Some(assessment.clone()),
                        PodSecurityVerdict::NotApplicable => None,
                    };
                    let (score, factors) =
                        assessment.map_or((None, Vec::new()), |a| (Some(a.score), a.factors));
                    records.push(PodSecurityRecord {
                        policy: name.to_owned(),
                        pass: ctx.pass(),
                        action: verdict.action_label(),
                        overridden: matches!(
                            verdict,
                            PodSecurityVerdict::Allow {
                                cause: AllowCause::Override,
                                ..
                            }
                        ),
                        score,
                        factors: factors.clone(),
                    });
                    match verdict {
                        PodSecurityVerdict::Deny { cause, message, .. } => {
                            return PassResult::Hit(Hit {
                                reason: format!(
                                    "Denied by policy {name}: {message}; {}",
                                    escalation_fragment(ctx.escalations)
                                ),
                                stage: Stage::PodSecurity {
                                    policy: name.to_owned(),
                                    pass: ctx.pass(),
                                    score,
                                    factors,
                                    cause,
                                },
                            });
                        }
                        PodSecurityVerdict::Warn { message, .. } => {
                            warnings.push(format!(
                                "pod security warning from policy {name}: {message}"
                            ));
                        }
                        PodSecurityVerdict::Allow { .. } | PodSecurityVerdict::NotApplicable => {}
                    }
                }
                Err(e) => return error(e),
            }
        }
    }
    PassResult::Clear(warnings)
}

/// What the policy passes collect besides a terminal result.
pub(super) struct Accumulated {
    pub(super) warnings: Vec<String>,
    pub(super) pod_records: Vec<PodSecurityRecord>,
    /// Pod-security warnings per active session.
    pub(super) session_warnings: Vec<Vec<String>>,
}

/// What ends the policy evaluation for the whole request.
pub(super) enum Terminal {
    /// A match in any pass: the global one or a session's.
    Hit(Hit),
    /// An evaluation error in any pass.
    Error(Stage),
}

impl From<PassResult> for Option<Terminal> {
    fn from(r: PassResult) -> Self {
        match r {
            PassResult::Clear(_) => None,
            PassResult::Hit(hit) => Some(Terminal::Hit(hit)),
            PassResult::Error(stage) => Some(Terminal::Error(stage)),
        }
    }
}

/// The global pass, then one pass per active session. A match in any pass denies the
/// request, as in the reference: `appliesTo.sessions` naming one of the user's sessions
/// denies the request while that session is active, whatever the other sessions grant.
pub(super) fn evaluate_policies(
    input: &AuthzInput<'_>,
    global: PolicyScope<'_>,
    sessions: &Sessions<'_>,
    request: &ResourceAttributes,
    imp: Option<&ImpersonationRequest>,
    acc: &mut Accumulated,
) -> Option<Terminal> {
    // Callers with an index pass the policies in evaluation order already; sorting them
    // again would only copy the list.
    let sorted;
    let policies = if input.policies.is_sorted_by_key(|p| p.spec.precedence()) {
        input.policies
    } else {
        sorted = deny::by_precedence(input.policies);
        sorted.as_slice()
    };
    let mut ctx = PassContext {
        policies,
        scope: global,
        labels: input.namespace_labels,
        pod: input.pod,
        escalations: input.escalations_available,
    };
    if let Some(imp) = imp
        && let Some(t) = impersonation_pass(&ctx, imp).into()
    {
        return Some(t);
    }
    // Pod security runs per session with that session's overrides; without sessions it
    // runs here, only to give the better reason.
    let global_pod = sessions.active.is_empty().then_some(None);
    match resource_pass(&ctx, request, global_pod, &mut acc.pod_records) {
        PassResult::Clear(w) => acc.warnings.extend(w),
        other => return other.into(),
    }
    for (i, s) in sessions.active.iter().enumerate() {
        ctx.scope = PolicyScope {
            session: Some(s.name),
            ..global
        };
        if let Some(imp) = imp
            && let Some(t) = impersonation_pass(&ctx, imp).into()
        {
            return Some(t);
        }
        match resource_pass(&ctx, request, Some(s.overrides), &mut acc.pod_records) {
            PassResult::Clear(w) => {
                if let Some(slot) = acc.session_warnings.get_mut(i) {
                    *slot = w;
                }
            }
            other => return other.into(),
        }
    }
    None
}

/// Impersonation guards and DenyPolicies for a resource request: the deciding stage
/// and its reason when they deny.
pub(super) fn policy_stage(
    input: &AuthzInput<'_>,
    cluster: &ClusterInfo,
    sessions: &Sessions<'_>,
    r: &ResourceAttributes,
    notes: &DenyNotes,
    config: &AuthzConfig,
    acc: &mut Accumulated,
) -> Option<(Stage, String)> {
    let imp = match impersonation::check_guards(r, &cluster.impersonation, &cluster.name) {
        Err(denial) => {
            let reason = guard_reason(&denial, &cluster.name);
            return Some((Stage::ImpersonationGuard(denial), reason));
        }
        Ok(pass) => pass.map(|p| {
            acc.warnings.extend(p.warnings);
            p.request
        }),
    };
    let global = PolicyScope {
        cluster: input.cluster_name,
        tenant: cluster.tenant.as_deref(),
        session: None,
    };
    match evaluate_policies(input, global, sessions, r, imp.as_ref(), acc)? {
        Terminal::Hit(hit) => {
            // The link is built only for the reason that is sent.
            let link = ui_link(config, input.cluster_name);
            let reason = policy_reason(&hit.stage, hit.reason, notes, link.as_deref());
            Some((hit.stage, reason))
        }
        Terminal::Error(stage) => {
            let reason = error_reason(&stage);
            Some((stage, reason))
        }
    }
}
