//! The decision pipeline: [`data_needs`] → [`precheck`] → (group check by the server)
//! → [`finalize`].
//!
//! Stages, in order (inventory §3.2):
//!
//! 1. the cluster must be registered;
//! 2. the debug-session seam: a caller-computed allow for a pod
//!    exec/attach/portforward/log request wins immediately (before DenyPolicies, as in
//!    the reference);
//! 3. impersonation guards: unrecognised verbs, `system:masters`, the wildcard name,
//!    forbidden legacy impersonation;
//! 4. DenyPolicies, by precedence: a *global pass* (no session context) and then one
//!    *pass per active session*, so `appliesTo.sessions` can name a session. Each pass
//!    evaluates `impersonationRules` of every policy in scope, then per policy its
//!    resource `rules` and its `podSecurityRules`. Resource requests only.
//!    * A match in the global pass denies the request.
//!    * A match in a session's pass denies the request too, as in the reference: a
//!      policy scoped by `appliesTo.sessions` to one of the user's sessions denies
//!      while that session is active, whatever the user's other sessions grant.
//!    * Pod security is evaluated per session with the overrides of *that session's*
//!      escalation, so an override granted for one escalation never lends its
//!      allowance to another session's group. Without active sessions it runs in the
//!      global pass (without overrides), only to give the better reason.
//!    * Any evaluation error denies the request (fail closed).
//! 5. the group check, done by the server: may an active session's granted group
//!    (tried as stored and with each OIDC prefix added, never stripped) do this on the
//!    target cluster? A group that is or could be spelled as a `system:` group is
//!    never checked, so it never grants. Optionally
//!    preceded by one combined probe with all those groups;
//! 6. the reason.
//!
//! Left to the caller: the late debug-session check of the reference (it reads the same
//! snapshot as the early one, so it cannot change the outcome), escalation discovery
//! (passed in as a count), and recording activity for the session in
//! [`Trace::allowing_session`].

use breakglass_api::BreakglassSession;
use breakglass_api::breakglass_escalation::PodSecurityOverrides;
use breakglass_api::breakglass_session::BreakglassSessionState;

use super::deny::{self, EvalError, PolicyScope, policy_name};
use super::grant::{Grant, GrantKind};
use super::impersonation::{self, GuardDenial, ImpersonationRequest, SYSTEM_MASTERS};
use super::input::{
    AuthzConfig, AuthzInput, ClusterInfo, DebugSessionAllow, NamespaceLabels, PodInfo,
};
use super::message::{escalation_fragment, idp_hint, join_limited, quote_untrusted, ui_link};
use super::oidc;
use super::pod_security::{self, AllowCause, DenyCause, PodSecurityVerdict};
use super::sar::ResourceAttributes;
use crate::session;

mod passes;
mod reasons;
mod sessions;

use passes::{Accumulated, policy_stage};
use reasons::{error_reason, guard_reason, no_session_reason, policy_reason, push_common};
use sessions::{DenyNotes, Sessions, classify, notes};

/// The answer to one SubjectAccessReview.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Whether breakglass allows the request.
    pub allowed: bool,
    /// What the user reads.
    pub reason: String,
    /// What decided, for audit, metrics and tests.
    pub trace: Trace,
}

impl Decision {
    /// `allowed` or `denied` (the SAR metrics' `decision` label).
    pub fn decision_label(&self) -> &'static str {
        if self.allowed { "allowed" } else { "denied" }
    }

    /// The metrics' `deny_source` label (named so in the reference for allows too):
    /// `rbac`, `session`, `debug-session` when allowed; `cluster-missing`, `global`,
    /// `session`, `policy-error`, `final`, `system-masters`, `system-masters-wildcard`,
    /// `legacy-fallback-forbidden`, `impersonation-policy`,
    /// `impersonation-policy-error`, `impersonation-unrecognised-verb` when denied.
    pub fn deny_source(&self) -> &'static str {
        self.trace.stage.source_label()
    }
}

/// Which pass of the DenyPolicy evaluation decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pass {
    /// Without session context.
    Global,
    /// In the context of this session (name).
    Session(String),
}

/// The stage that decided, with what it found.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// No ClusterConfig has the requested name.
    ClusterMissing,
    /// The caller's debug-session allow.
    DebugSession {
        /// DebugSession name.
        session: String,
        /// The user's role.
        role: String,
        /// The pod operation.
        operation: String,
    },
    /// A fixed impersonation guard.
    ImpersonationGuard(GuardDenial),
    /// A DenyPolicy `impersonationRules` entry.
    ImpersonationPolicy {
        /// Policy name.
        policy: String,
        /// Index in `impersonationRules`.
        rule: usize,
        /// Where it matched.
        pass: Pass,
    },
    /// A DenyPolicy resource rule.
    DenyPolicy {
        /// Policy name.
        policy: String,
        /// Index in `rules`.
        rule: usize,
        /// Where it matched.
        pass: Pass,
    },
    /// DenyPolicy `podSecurityRules` denied.
    PodSecurity {
        /// Policy name.
        policy: String,
        /// Where it denied.
        pass: Pass,
        /// The risk score, when the pod was scored.
        score: Option<i64>,
        /// The detected factors.
        factors: Vec<String>,
        /// What denied.
        cause: DenyCause,
    },
    /// A DenyPolicy could not be evaluated; denied fail-closed.
    PolicyError {
        /// Policy name.
        policy: String,
        /// Where.
        pass: Pass,
        /// Whether its impersonation rules failed (else resource or pod-security rules).
        impersonation: bool,
        /// The error.
        error: EvalError,
    },
    /// The combined probe with all remaining session groups allowed.
    Rbac {
        /// Number of distinct session groups probed.
        group_count: usize,
    },
    /// A session's group allowed.
    Session {
        /// Session name.
        session: String,
        /// Session namespace.
        namespace: String,
        /// The granted group.
        group: String,
        /// The spelling the target cluster accepted.
        impersonation_group: String,
    },
    /// The user has no active session here.
    NoSession {
        /// Sessions waiting for approval.
        pending: usize,
        /// Approved sessions waiting for their scheduled start.
        scheduled: usize,
        /// Active sessions from a different identity provider.
        idp_mismatch: usize,
    },
    /// Sessions were checked and none allowed.
    Final {
        /// Sessions checked.
        candidates: usize,
        /// Checks that failed (errors, not answers).
        failed_checks: usize,
    },
}

impl Stage {
    /// A stable name of the stage: `cluster-missing`, `debug-session`, `impersonation`,
    /// `deny-policy`, `pod-security`, `policy-error`, `rbac`, `session`, `no-session`, `final`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ClusterMissing => "cluster-missing",
            Self::DebugSession { .. } => "debug-session",
            Self::ImpersonationGuard(_) | Self::ImpersonationPolicy { .. } => "impersonation",
            Self::DenyPolicy { .. } => "deny-policy",
            Self::PodSecurity { .. } => "pod-security",
            Self::PolicyError { .. } => "policy-error",
            Self::Rbac { .. } => "rbac",
            Self::Session { .. } => "session",
            Self::NoSession { .. } => "no-session",
            Self::Final { .. } => "final",
        }
    }

    /// The `deny_source` metrics label (see [`Decision::deny_source`]).
    pub fn source_label(&self) -> &'static str {
        match self {
            Self::ClusterMissing => "cluster-missing",
            Self::DebugSession { .. } => "debug-session",
            Self::ImpersonationGuard(g) => match g {
                GuardDenial::UnrecognisedVerb { .. } => "impersonation-unrecognised-verb",
                GuardDenial::SystemMasters => "system-masters",
                GuardDenial::Wildcard { .. } => "system-masters-wildcard",
                GuardDenial::LegacyForbidden => "legacy-fallback-forbidden",
            },
            Self::ImpersonationPolicy { .. } => "impersonation-policy",
            Self::PolicyError {
                impersonation: true,
                ..
            } => "impersonation-policy-error",
            Self::PolicyError { .. } => "policy-error",
            Self::DenyPolicy { pass, .. } | Self::PodSecurity { pass, .. } => match pass {
                Pass::Global => "global",
                Pass::Session(_) => "session",
            },
            Self::Rbac { .. } => "rbac",
            Self::Session { .. } => "session",
            Self::NoSession { .. } | Self::Final { .. } => "final",
        }
    }
}

/// One applicable pod-security evaluation (for metrics and audit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSecurityRecord {
    /// Policy name.
    pub policy: String,
    /// Where it was evaluated.
    pub pass: Pass,
    /// `allow`, `warn` or `deny`.
    pub action: &'static str,
    /// Allowed because the escalation's override covers the score.
    pub overridden: bool,
    /// The score, when the pod was scored.
    pub score: Option<i64>,
    /// The detected factors.
    pub factors: Vec<String>,
}

/// Why a decision came out as it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The deciding stage.
    pub stage: Stage,
    /// Warnings that did not change the decision (pod-security `warn`, legacy impersonation).
    pub warnings: Vec<String>,
    /// Every applicable pod-security evaluation.
    pub pod_security: Vec<PodSecurityRecord>,
    /// Active sessions whose granted group is, or could be spelled as, a `system:`
    /// group: never candidates, whatever the target cluster would answer.
    pub system_group_sessions: Vec<String>,
    /// Active sessions set aside because they came from a different identity provider.
    pub idp_mismatch_sessions: Vec<String>,
}

impl Trace {
    fn new(stage: Stage) -> Self {
        Self {
            stage,
            warnings: Vec::new(),
            pod_security: Vec::new(),
            system_group_sessions: Vec::new(),
            idp_mismatch_sessions: Vec::new(),
        }
    }

    /// `(namespace, name)` of the session whose group allowed, to record its activity.
    pub fn allowing_session(&self) -> Option<(&str, &str)> {
        match &self.stage {
            Stage::Session {
                session, namespace, ..
            } => Some((namespace, session)),
            _ => None,
        }
    }
}

/// Data the server must fetch from the target cluster before [`precheck`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataNeeds {
    /// Fetch the labels of this namespace (the request namespace).
    pub namespace_labels: Option<String>,
    /// Fetch this pod.
    pub pod: Option<PodRef>,
}

impl DataNeeds {
    /// True when nothing needs fetching.
    pub fn is_empty(&self) -> bool {
        self.namespace_labels.is_none() && self.pod.is_none()
    }
}

/// A pod to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// The result of [`precheck`].
#[derive(Debug, Clone, PartialEq)]
pub enum PreCheck {
    /// Decided without asking the target cluster.
    Decided(Decision),
    /// Ask the target cluster about these sessions' groups, then call [`finalize`].
    NeedsGroupCheck(GroupCheckPlan),
}

/// A session whose group the server must check on the target cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Session name.
    pub session: String,
    /// Session namespace.
    pub namespace: String,
    /// The granted group, as stored on the session.
    pub group: String,
    /// Spellings to try, in order (see [`oidc::group_spellings`]); stop at the first allowed.
    pub spellings: Vec<String>,
    /// Warnings from this session's pod-security evaluation.
    pub warnings: Vec<String>,
    /// The escalation the session was created from (its ownerReference), for the grant id.
    pub escalation: Option<String>,
    /// Who approved the session, for the grant id.
    pub approver: Option<String>,
}

/// What the server checks on the target cluster, and what [`finalize`] needs to finish.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupCheckPlan {
    /// Sessions to check, in the order to try them (namespace, then name).
    pub candidates: Vec<Candidate>,
    cluster: String,
    notes: DenyNotes,
    trace: Trace,
}

impl GroupCheckPlan {
    /// Every spelling of every candidate's group, without duplicates: the group list of
    /// the optional combined probe (`system:auth-checker` with all groups).
    pub fn combined_groups(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        self.candidates
            .iter()
            .flat_map(|c| &c.spellings)
            .filter(|s| seen.insert(s.as_str()))
            .cloned()
            .collect()
    }
}

/// What the target cluster answered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupCheckResults {
    /// The combined probe, if the server ran it.
    pub combined: ProbeOutcome,
    /// One entry per checked candidate.
    pub sessions: Vec<SessionCheck>,
}

/// The answer for one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCheck {
    /// Session namespace.
    pub namespace: String,
    /// Session name.
    pub session: String,
    /// What the cluster said.
    pub outcome: ProbeOutcome,
}

/// One probe's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ProbeOutcome {
    /// Not run.
    #[default]
    NotRun,
    /// Allowed; for a session check, with the spelling that was allowed.
    Allowed {
        /// The group spelling the cluster allowed (empty for the combined probe).
        group: String,
    },
    /// The cluster answered "not allowed".
    NotAllowed,
    /// The check failed (unreachable cluster, bad credentials, …).
    Failed,
}

/// What to fetch from the target cluster before [`precheck`]: the namespace labels
/// only when a rule that could match depends on them, the pod only when a policy in
/// scope scores this request. Over-approximates — never misses what [`precheck`] reads.
pub fn data_needs(input: &AuthzInput<'_>) -> DataNeeds {
    let mut needs = DataNeeds::default();
    let Some(cluster) = input.cluster else {
        return needs;
    };
    let Some(r) = input.request.resource() else {
        return needs;
    };
    if input.debug_session.is_some() && r.is_debug_pod_operation() {
        return needs;
    }
    let imp = match impersonation::check_guards(r, &cluster.impersonation, &cluster.name) {
        Err(_) => return needs,
        Ok(pass) => pass.map(|p| p.request),
    };
    let sessions = classify(input);
    let global = PolicyScope {
        cluster: input.cluster_name,
        tenant: cluster.tenant.as_deref(),
        session: None,
    };
    // (scope, overrides, whether pod security runs in this pass)
    let mut passes: Vec<(PolicyScope<'_>, Option<&PodSecurityOverrides>, bool)> =
        vec![(global, None, sessions.active.is_empty())];
    for s in &sessions.active {
        passes.push((
            PolicyScope {
                session: Some(s.name),
                ..global
            },
            s.overrides,
            true,
        ));
    }
    let mut labels = false;
    let mut pod = false;
    for policy in input.policies {
        let spec = &policy.spec;
        for (scope, overrides, with_pod) in &passes {
            if !deny::scope_matches(spec.applies_to.as_ref(), scope) {
                continue;
            }
            if let (Some(imp), Some(rules)) = (&imp, spec.impersonation_rules.as_deref()) {
                labels |= impersonation::rules_need_labels(rules, imp);
            }
            if let Some(rules) = spec.rules.as_deref() {
                labels |= deny::rules_need_labels(rules, r);
            }
            if let Some(psr) = spec.pod_security_rules.as_ref()
                && *with_pod
                && pod_security::applies_to_request(psr, r)
            {
                pod |= !r.name.is_empty();
                labels |= pod_security::needs_labels(psr, *overrides, r);
            }
        }
    }
    if labels {
        needs.namespace_labels = Some(r.namespace.clone());
    }
    if pod {
        needs.pod = Some(PodRef {
            namespace: r.namespace.clone(),
            name: r.name.clone(),
        });
    }
    needs
}

/// Runs every stage up to the group check (see the module docs). Returns a final
/// decision, or the sessions whose groups the server must check.
pub fn precheck(input: &AuthzInput<'_>, config: &AuthzConfig) -> PreCheck {
    let Some(cluster) = input.cluster else {
        return PreCheck::Decided(Decision {
            allowed: false,
            reason: format!(
                "Access denied: cluster {} is not registered with Breakglass, so no breakglass access can be granted there; check the cluster name or ask the platform team to register it",
                quote_untrusted(input.cluster_name)
            ),
            trace: Trace::new(Stage::ClusterMissing),
        });
    };
    let mut warnings: Vec<String> = Vec::new();
    if let Some(d) = input.debug_session {
        if let Some(decided) = debug_session_allow(input, d) {
            return PreCheck::Decided(decided);
        }
        warnings.push(format!(
            "ignored the allow of debug session {}: the request is not a pod exec, attach, portforward or log",
            d.session
        ));
    }
    let sessions = classify(input);
    let notes = notes(input, &sessions, config);
    let mut acc = Accumulated {
        warnings,
        pod_records: Vec::new(),
        session_warnings: vec![Vec::new(); sessions.active.len()],
    };
    let idp_mismatch: Vec<String> = sessions
        .mismatched
        .iter()
        .map(|s| s.metadata.name.clone().unwrap_or_default())
        .collect();
    let deny = |mut trace: Trace, reason: String| {
        trace.idp_mismatch_sessions = idp_mismatch.clone();
        PreCheck::Decided(Decision {
            allowed: false,
            reason,
            trace,
        })
    };
    if let Some(r) = input.request.resource()
        && let Some((stage, reason)) =
            policy_stage(input, cluster, &sessions, r, &notes, config, &mut acc)
    {
        let mut trace = Trace::new(stage);
        trace.warnings = acc.warnings;
        trace.pod_security = acc.pod_records;
        return deny(trace, reason);
    }
    if sessions.active.is_empty() {
        let mut trace = Trace::new(Stage::NoSession {
            pending: sessions.pending.len(),
            scheduled: sessions.scheduled.len(),
            idp_mismatch: sessions.mismatched.len(),
        });
        trace.warnings = acc.warnings;
        trace.pod_security = acc.pod_records;
        let link = ui_link(config, input.cluster_name);
        let reason = no_session_reason(input.cluster_name, &notes, link.as_deref());
        return deny(trace, reason);
    }
    let mut trace = Trace::new(Stage::Final {
        candidates: 0,
        failed_checks: 0,
    });
    trace.idp_mismatch_sessions = idp_mismatch.clone();
    let candidates = candidates(input, config, &sessions, acc.session_warnings, &mut trace);
    trace.stage = Stage::Final {
        candidates: candidates.len(),
        failed_checks: 0,
    };
    trace.warnings.splice(0..0, acc.warnings);
    trace.pod_security = acc.pod_records;
    PreCheck::NeedsGroupCheck(GroupCheckPlan {
        candidates,
        cluster: input.cluster_name.to_owned(),
        notes,
        trace,
    })
}

/// The debug-session seam: the caller's allow wins for the pod operations it covers.
fn debug_session_allow(input: &AuthzInput<'_>, d: &DebugSessionAllow) -> Option<Decision> {
    let resource = input.request.resource()?;
    let grant = Grant {
        kind: GrantKind::Debug,
        cluster: input.cluster_name.to_owned(),
        namespace: d.namespace.clone(),
        name: d.session.clone(),
        origin: Some(d.template.clone()),
        detail: Some(d.role.clone()),
        operation: Some(d.operation.clone()),
        approver: d.approver.clone(),
    };
    resource.is_debug_pod_operation().then(|| Decision {
        allowed: true,
        reason: format!(
            "Allowed by debug session {} (role: {}, operation: {}) {grant}",
            d.session, d.role, d.operation
        ),
        trace: Trace::new(Stage::DebugSession {
            session: d.session.clone(),
            role: d.role.clone(),
            operation: d.operation.clone(),
        }),
    })
}

/// The active sessions whose groups the target cluster must judge, with the spellings
/// to try. A session whose group is, or could be spelled as, a `system:` group is never
/// a candidate (it is recorded in the trace).
fn candidates(
    input: &AuthzInput<'_>,
    config: &AuthzConfig,
    sessions: &Sessions<'_>,
    session_warnings: Vec<Vec<String>>,
    trace: &mut Trace,
) -> Vec<Candidate> {
    let mut out = Vec::with_capacity(sessions.active.len());
    for (s, warnings) in sessions.active.iter().zip(session_warnings) {
        if oidc::could_be_system_group(s.group) {
            trace.system_group_sessions.push(s.name.to_owned());
            trace.warnings.push(format!(
                "session {} grants the group {}, which is or could be spelled as a system: group; it never grants access",
                s.name,
                quote_untrusted(s.group)
            ));
            continue;
        }
        out.push(Candidate {
            session: s.name.to_owned(),
            namespace: s.namespace.to_owned(),
            group: s.group.to_owned(),
            spellings: oidc::group_spellings(s.group, &input.request.groups, &config.oidc_prefixes),
            warnings,
            escalation: session::owning_escalation(s.session).map(|o| o.name.clone()),
            approver: s.session.status.as_ref().and_then(|st| st.approver.clone()),
        });
    }
    out
}

/// Turns the target cluster's answers into the decision. The combined probe wins when
/// it allowed; otherwise the first candidate (plan order) whose check allowed with one
/// of its spellings. Answers for sessions not in the plan are ignored.
pub fn finalize(
    plan: GroupCheckPlan,
    results: &GroupCheckResults,
    config: &AuthzConfig,
) -> Decision {
    let GroupCheckPlan {
        candidates,
        cluster,
        notes,
        mut trace,
    } = plan;
    let with_warnings = |trace: &mut Trace, c: &Candidate| {
        for w in &c.warnings {
            if !trace.warnings.contains(w) {
                trace.warnings.push(w.clone());
            }
        }
    };

    if matches!(results.combined, ProbeOutcome::Allowed { .. }) {
        let mut groups: Vec<&str> = candidates.iter().map(|c| c.group.as_str()).collect();
        groups.sort_unstable();
        groups.dedup();
        for c in &candidates {
            with_warnings(&mut trace, c);
        }
        trace.stage = Stage::Rbac {
            group_count: groups.len(),
        };
        return Decision {
            allowed: true,
            reason: format!("Allowed by RBAC (groupCount={})", groups.len()),
            trace,
        };
    }

    let mut failed = usize::from(results.combined == ProbeOutcome::Failed);
    for c in &candidates {
        let answer = results
            .sessions
            .iter()
            .find(|r| r.session == c.session && r.namespace == c.namespace);
        match answer.map(|a| &a.outcome) {
            Some(ProbeOutcome::Allowed { group }) if c.spellings.contains(group) => {
                with_warnings(&mut trace, c);
                trace.stage = Stage::Session {
                    session: c.session.clone(),
                    namespace: c.namespace.clone(),
                    group: c.group.clone(),
                    impersonation_group: group.clone(),
                };
                let grant = Grant {
                    kind: GrantKind::Session,
                    cluster: cluster.clone(),
                    namespace: c.namespace.clone(),
                    name: c.session.clone(),
                    origin: c.escalation.clone(),
                    detail: Some(c.group.clone()),
                    operation: None,
                    approver: c.approver.clone(),
                };
                return Decision {
                    allowed: true,
                    reason: format!(
                        "Allowed by breakglass session (session={}, sessionGroup={}, impersonationGroup={group}) {grant}",
                        c.session, c.group
                    ),
                    trace,
                };
            }
            Some(ProbeOutcome::Allowed { group }) => trace.warnings.push(format!(
                "ignored an allow for session {} with group {group:?}, which is not one of its spellings",
                c.session
            )),
            Some(ProbeOutcome::Failed) => failed += 1,
            Some(ProbeOutcome::NotAllowed | ProbeOutcome::NotRun) | None => {}
        }
    }

    trace.stage = Stage::Final {
        candidates: candidates.len(),
        failed_checks: failed,
    };
    let mut groups: Vec<&str> = Vec::new();
    for c in &candidates {
        if !groups.contains(&c.group.as_str()) {
            groups.push(&c.group);
        }
    }
    let mut reason = format!(
        "Access denied: your active breakglass session(s) on cluster {cluster} (group(s) {}) do not allow {}",
        join_limited(&groups, 5),
        notes.request
    );
    if failed > 0 {
        reason.push_str(&format!(
            "; {failed} check(s) against the cluster failed, so your sessions could not all be verified — try again"
        ));
    }
    if !trace.system_group_sessions.is_empty() {
        reason.push_str(&format!(
            "; session(s) {} grant a system: group, which Breakglass never grants",
            join_limited(&trace.system_group_sessions, 5)
        ));
    }
    push_common(&mut reason, &notes, ui_link(config, &cluster).as_deref());
    Decision {
        allowed: false,
        reason,
        trace,
    }
}

/// [`data_needs`], [`precheck`] and [`finalize`] in one call, for synchronous callers
/// and tests: `fetch` fills the data [`data_needs`] names into the input, `check`
/// answers the group check.
pub fn decide<'a>(
    input: &AuthzInput<'a>,
    config: &AuthzConfig,
    fetch: impl FnOnce(&DataNeeds, &mut AuthzInput<'a>),
    check: impl FnOnce(&GroupCheckPlan) -> GroupCheckResults,
) -> Decision {
    let needs = data_needs(input);
    let mut filled = input.clone();
    fetch(&needs, &mut filled);
    match precheck(&filled, config) {
        PreCheck::Decided(d) => d,
        PreCheck::NeedsGroupCheck(plan) => {
            let results = check(&plan);
            finalize(plan, &results, config)
        }
    }
}
