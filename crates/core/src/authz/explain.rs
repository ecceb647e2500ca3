//! Turns a [`Decision`] into an explanation a person can follow: every stage of the
//! pipeline in order, which one decided, and the session, debug session or DenyPolicy
//! involved.
//!
//! The pipeline is strictly ordered and stops at the first stage that decides, so the
//! deciding stage alone tells what happened before it (every earlier stage let the
//! request through) and after it (nothing ran). No second evaluation takes place here.

use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_api::breakglass_session::{
    BreakglassSession, BreakglassSessionSpec, BreakglassSessionState, BreakglassSessionStatus,
};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::decision::{Decision, Pass, Stage};
use super::impersonation::GuardDenial;
use super::pod_security::DenyCause;
use super::sar::SarRequest;

/// The pipeline's stages as the explanation names them, in order.
pub const STEPS: [&str; 6] = [
    "cluster",
    "debug-session",
    "impersonation",
    "deny-policy",
    "sessions",
    "group-check",
];

/// What a stage did for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Ran and let the request go on.
    Passed,
    /// Decided: allowed.
    Allowed,
    /// Decided: denied.
    Denied,
    /// Did not run: an earlier stage decided.
    NotReached,
    /// Does not apply to this kind of request.
    Skipped,
}

impl Outcome {
    /// `passed`, `allowed`, `denied`, `not-reached`, `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Allowed => "allowed",
            Self::Denied => "denied",
            Self::NotReached => "not-reached",
            Self::Skipped => "skipped",
        }
    }
}

/// One stage of the explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// One of [`STEPS`].
    pub stage: &'static str,
    /// What it did.
    pub outcome: Outcome,
    /// What it found, in words.
    pub detail: String,
}

/// The DenyPolicy that decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRef {
    /// Policy name.
    pub name: String,
    /// `rules`, `impersonationRules` or `podSecurityRules`.
    pub kind: &'static str,
    /// Index of the rule that matched.
    pub rule: Option<usize>,
    /// `global` or `session <name>`.
    pub pass: String,
    /// The evaluation error, for a policy that could not be evaluated.
    pub error: Option<String>,
}

/// The session that allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRef {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Granted group.
    pub group: String,
    /// The spelling the target cluster accepted.
    pub impersonation_group: String,
}

/// A decision, explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// Every stage of [`STEPS`], in order.
    pub steps: Vec<Step>,
    /// The session that allowed.
    pub session: Option<SessionRef>,
    /// The debug session that allowed.
    pub debug_session: Option<String>,
    /// The DenyPolicy that denied.
    pub policy: Option<PolicyRef>,
}

fn pass_name(pass: &Pass) -> String {
    match pass {
        Pass::Global => "global".to_owned(),
        Pass::Session(s) => format!("session {s}"),
    }
}

/// Index in [`STEPS`] of the stage that decided, and its outcome and detail.
fn deciding(decision: &Decision) -> (usize, Outcome, String) {
    let stage = &decision.trace.stage;
    match stage {
        Stage::ClusterMissing => (
            0,
            Outcome::Denied,
            "the cluster is not registered with breakglass".to_owned(),
        ),
        Stage::DebugSession {
            session,
            role,
            operation,
        } => (
            1,
            Outcome::Allowed,
            format!("debug session {session} allows {operation} (role {role})"),
        ),
        Stage::ImpersonationGuard(g) => (2, Outcome::Denied, guard_detail(g)),
        Stage::ImpersonationPolicy { policy, rule, pass } => (
            2,
            Outcome::Denied,
            format!(
                "DenyPolicy {policy} impersonationRules[{rule}] matched ({} pass)",
                pass_name(pass)
            ),
        ),
        Stage::DenyPolicy { policy, rule, pass } => (
            3,
            Outcome::Denied,
            format!(
                "DenyPolicy {policy} rules[{rule}] matched ({} pass)",
                pass_name(pass)
            ),
        ),
        Stage::PodSecurity {
            policy,
            pass,
            score,
            cause,
            ..
        } => (
            3,
            Outcome::Denied,
            format!(
                "DenyPolicy {policy} podSecurityRules denied ({} pass{}): {}",
                pass_name(pass),
                score
                    .map(|s| format!(", risk score {s}"))
                    .unwrap_or_default(),
                cause_detail(cause)
            ),
        ),
        Stage::PolicyError {
            policy,
            pass,
            error,
            impersonation,
        } => (
            if *impersonation { 2 } else { 3 },
            Outcome::Denied,
            format!(
                "DenyPolicy {policy} could not be evaluated ({} pass), denied fail-closed: {error}",
                pass_name(pass)
            ),
        ),
        Stage::NoSession {
            pending,
            scheduled,
            idp_mismatch,
        } => (
            4,
            Outcome::Denied,
            format!(
                "no active session of the user on this cluster ({pending} pending, {scheduled} scheduled, {idp_mismatch} from another identity provider)"
            ),
        ),
        Stage::Rbac { group_count } => (
            5,
            Outcome::Allowed,
            format!("the combined check of {group_count} session group(s) allowed"),
        ),
        Stage::Session {
            session,
            group,
            impersonation_group,
            ..
        } => (
            5,
            Outcome::Allowed,
            format!(
                "session {session}: the cluster allows group {group} (checked as {impersonation_group})"
            ),
        ),
        Stage::Final {
            candidates,
            failed_checks,
        } => (
            5,
            Outcome::Denied,
            format!(
                "the cluster allows none of the {candidates} active session group(s){}",
                if *failed_checks > 0 {
                    format!("; {failed_checks} check(s) failed")
                } else {
                    String::new()
                }
            ),
        ),
    }
}

fn guard_detail(g: &GuardDenial) -> String {
    match g {
        GuardDenial::UnrecognisedVerb { verb } => {
            format!(
                "the impersonation verb {verb:?} is not recognised and the cluster denies such verbs"
            )
        }
        GuardDenial::SystemMasters => "impersonating system:masters is never allowed".to_owned(),
        GuardDenial::Wildcard { resource } => {
            format!("impersonating the wildcard name of {resource} is never allowed")
        }
        GuardDenial::LegacyForbidden => {
            "legacy impersonation is forbidden on this cluster".to_owned()
        }
    }
}

fn cause_detail(cause: &DenyCause) -> String {
    match cause {
        DenyCause::PodUnavailable => "the pod could not be read and failMode is closed".to_owned(),
        DenyCause::BlockedFactors(f) => format!("blocked factors {}", f.join(", ")),
        DenyCause::Threshold { max_score } => format!("a deny threshold (maxScore {max_score})"),
        DenyCause::AboveThresholds => "the score is above every threshold".to_owned(),
    }
}

/// What a stage before the deciding one found (it let the request through).
fn passed_detail(index: usize, request: &SarRequest, decision: &Decision) -> (Outcome, String) {
    let resource = request.resource();
    let trace = &decision.trace;
    match index {
        0 => (Outcome::Passed, "the cluster is registered".to_owned()),
        1 => match resource {
            Some(r) if r.is_debug_pod_operation() => (
                Outcome::Passed,
                "no debug session of the user allows this pod operation".to_owned(),
            ),
            _ => (
                Outcome::Skipped,
                "only named pod exec, attach, portforward and log requests".to_owned(),
            ),
        },
        2 => match resource {
            Some(r) if r.verb.starts_with("impersonate") => (
                Outcome::Passed,
                "the impersonation guards and impersonationRules let it through".to_owned(),
            ),
            _ => (Outcome::Skipped, "not an impersonation request".to_owned()),
        },
        3 => match resource {
            Some(_) => {
                let mut detail = "no DenyPolicy in scope matched".to_owned();
                for p in &trace.pod_security {
                    detail.push_str(&format!(
                        "; podSecurityRules of {} ({}): {}",
                        p.policy,
                        pass_name(&p.pass),
                        p.action
                    ));
                }
                (Outcome::Passed, detail)
            }
            None => (
                Outcome::Skipped,
                "DenyPolicies apply to resource requests only".to_owned(),
            ),
        },
        4 => {
            let mut detail = "the user has active session(s) on the cluster".to_owned();
            if !trace.system_group_sessions.is_empty() {
                detail.push_str(&format!(
                    "; set aside because their group is a system: group: {}",
                    trace.system_group_sessions.join(", ")
                ));
            }
            if !trace.idp_mismatch_sessions.is_empty() {
                detail.push_str(&format!(
                    "; set aside because they come from another identity provider: {}",
                    trace.idp_mismatch_sessions.join(", ")
                ));
            }
            (Outcome::Passed, detail)
        }
        _ => (Outcome::Passed, String::new()),
    }
}

/// Explains `decision`, taken for `request`.
pub fn explain(request: &SarRequest, decision: &Decision) -> Explanation {
    let (at, outcome, detail) = deciding(decision);
    let mut steps = Vec::with_capacity(STEPS.len());
    for (i, stage) in STEPS.iter().enumerate() {
        let (outcome, detail) = match i.cmp(&at) {
            std::cmp::Ordering::Less => passed_detail(i, request, decision),
            std::cmp::Ordering::Equal => (outcome, detail.clone()),
            std::cmp::Ordering::Greater => {
                (Outcome::NotReached, "an earlier stage decided".to_owned())
            }
        };
        steps.push(Step {
            stage,
            outcome,
            detail,
        });
    }
    let stage = &decision.trace.stage;
    let session = match stage {
        Stage::Session {
            session,
            namespace,
            group,
            impersonation_group,
        } => Some(SessionRef {
            name: session.clone(),
            namespace: namespace.clone(),
            group: group.clone(),
            impersonation_group: impersonation_group.clone(),
        }),
        _ => None,
    };
    let debug_session = match stage {
        Stage::DebugSession { session, .. } => Some(session.clone()),
        _ => None,
    };
    let policy = match stage {
        Stage::ImpersonationPolicy { policy, rule, pass } => Some(PolicyRef {
            name: policy.clone(),
            kind: "impersonationRules",
            rule: Some(*rule),
            pass: pass_name(pass),
            error: None,
        }),
        Stage::DenyPolicy { policy, rule, pass } => Some(PolicyRef {
            name: policy.clone(),
            kind: "rules",
            rule: Some(*rule),
            pass: pass_name(pass),
            error: None,
        }),
        Stage::PodSecurity { policy, pass, .. } => Some(PolicyRef {
            name: policy.clone(),
            kind: "podSecurityRules",
            rule: None,
            pass: pass_name(pass),
            error: None,
        }),
        Stage::PolicyError {
            policy,
            pass,
            impersonation,
            error,
        } => Some(PolicyRef {
            name: policy.clone(),
            kind: if *impersonation {
                "impersonationRules"
            } else {
                "rules"
            },
            rule: None,
            pass: pass_name(pass),
            error: Some(error.to_string()),
        }),
        _ => None,
    };
    Explanation {
        steps,
        session,
        debug_session,
        policy,
    }
}

/// Prefix of [`hypothetical_session`] names. It is not a valid session-name prefix the
/// server generates (those start with the cluster name), so a DenyPolicy scoped to named
/// sessions never matches one by accident.
pub const HYPOTHETICAL_PREFIX: &str = "hypothetical-";

/// An active session for `escalation`'s group, as `user` would hold it on `cluster`
/// right after approval: the input of "which escalations would allow this request".
/// It is never stored; it only feeds the decision pipeline.
pub fn hypothetical_session(
    escalation: &BreakglassEscalation,
    cluster: &str,
    user: &str,
    issuer: Option<&str>,
    now: Timestamp,
) -> BreakglassSession {
    let name = format!(
        "{HYPOTHETICAL_PREFIX}{}",
        escalation.metadata.name.as_deref().unwrap_or_default()
    );
    let mut s = BreakglassSession::new(
        &name,
        BreakglassSessionSpec {
            cluster: cluster.to_owned(),
            user: user.to_owned(),
            granted_group: escalation.spec.escalated_group.clone(),
            identity_provider_issuer: issuer.map(str::to_owned),
            ..BreakglassSessionSpec::default()
        },
    );
    s.metadata.namespace = escalation.metadata.namespace.clone();
    let expires = now
        .checked_add(SignedDuration::from_hours(1))
        .unwrap_or(now);
    s.status = Some(BreakglassSessionStatus {
        state: Some(BreakglassSessionState::Approved),
        approved_at: Some(Time(now)),
        expires_at: Some(Time(expires)),
        ..BreakglassSessionStatus::default()
    });
    s
}

/// True when a decision taken with a hypothetical session as the user's only session
/// allowed *because of a session group*: a debug-session grant or a deny does not
/// make the escalation useful for the request.
pub fn allowed_by_session(decision: &Decision) -> bool {
    decision.allowed
        && matches!(
            decision.trace.stage,
            Stage::Session { .. } | Stage::Rbac { .. }
        )
}
