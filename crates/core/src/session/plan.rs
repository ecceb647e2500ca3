//! The rules for a new session request, as pure functions: duration and schedule
//! bounds, the request reason, the duplicate slot, session limits, and the object to
//! create. The server gathers the inputs (escalation, cluster, caller, sessions, `now`)
//! and persists the result; every decision is taken here.

use std::collections::BTreeMap;

use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_api::breakglass_session::{
    BreakglassSession, BreakglassSessionSpec, BreakglassSessionState as State,
};
use breakglass_api::labels;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use thiserror::Error;

use crate::duration::{self, GoDuration};
use crate::escalation::{restricts_idps, strip_prefix};
use crate::limits::{self, LimitExceeded, Limits};
use crate::user_reason::{ReasonError, sanitize_reason};

/// The shortest duration a requester may ask for, in seconds.
pub const MIN_DURATION_SECS: i64 = 60;

/// What was asked for and who asks; everything the plan decides from.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Target cluster name (trimmed).
    pub cluster: &'a str,
    /// Name of the ClusterConfig that registered the cluster.
    pub cluster_config: &'a str,
    /// Whether the ClusterConfig restricts identity providers (`identityProviderRefs`).
    pub cluster_restricts_idps: bool,
    /// The requester's user name under the cluster's user-identifier claim.
    pub user: &'a str,
    /// The IdentityProvider that verified the requester's token.
    pub provider: &'a str,
    /// The requester's token issuer.
    pub issuer: &'a str,
    /// The escalation that offers the group.
    pub escalation: &'a BreakglassEscalation,
    /// The request reason as sent (sanitised here).
    pub reason: Option<&'a str>,
    /// Requested duration in seconds; `None` or 0 means the escalation's `maxValidFor`.
    pub duration_secs: Option<i64>,
    /// Requested RFC 3339 start time, as sent.
    pub scheduled_start: Option<&'a str>,
    /// The least time ahead a scheduled start may be.
    pub min_schedule_lead: SignedDuration,
    /// The current time.
    pub now: Timestamp,
}

/// A request that breaks a rule; each maps to 422 with this message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlanError {
    /// `duration` is negative.
    #[error("duration must be positive, got {0} seconds")]
    NegativeDuration(i64),
    /// `duration` is below [`MIN_DURATION_SECS`].
    #[error("duration must be at least {MIN_DURATION_SECS} seconds, got {0}")]
    DurationTooShort(i64),
    /// `duration` exceeds the escalation's `maxValidFor`.
    #[error("duration {secs}s exceeds the escalation's maxValidFor {max} ({max_secs}s)")]
    DurationTooLong {
        /// Requested seconds.
        secs: i64,
        /// `maxValidFor` as written.
        max: String,
        /// `maxValidFor` in seconds.
        max_secs: i64,
    },
    /// `scheduledStartTime` does not parse.
    #[error("scheduledStartTime {0:?} is not an RFC 3339 time")]
    ScheduleNotRfc3339(String),
    /// `scheduledStartTime` is not in the future.
    #[error("scheduledStartTime must be in the future")]
    ScheduleInPast,
    /// `scheduledStartTime` is closer than the minimum lead.
    #[error(
        "scheduledStartTime must be at least {lead_minutes} minutes in the future (earliest {earliest})"
    )]
    ScheduleTooSoon {
        /// The minimum lead in minutes.
        lead_minutes: i64,
        /// The earliest accepted start.
        earliest: Timestamp,
    },
    /// The request reason is missing or invalid.
    #[error("{}", reason_message(.0))]
    Reason(ReasonError),
    /// A computed time left the representable range.
    #[error("time out of range")]
    TimeOutOfRange,
}

fn reason_message(err: &ReasonError) -> String {
    match err {
        ReasonError::Missing => "missing required request reason".to_owned(),
        other => format!("invalid request reason: {other}"),
    }
}

/// The session to create, without name and status.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The object to create (`metadata.generateName`, namespace, labels, owner).
    pub session: BreakglassSession,
    /// The approval window: `status.timeoutAt = now + approval_timeout`.
    pub approval_timeout: GoDuration,
    /// The scheduled start, when one was asked for.
    pub scheduled_start: Option<Timestamp>,
}

/// Checks the request's reason, duration and schedule and builds the session.
pub fn plan(req: &Request<'_>) -> Result<Plan, PlanError> {
    let espec = &req.escalation.spec;
    let mandatory = espec
        .request_reason
        .as_ref()
        .is_some_and(|r| r.is_mandatory());
    let reason =
        sanitize_reason(req.reason.unwrap_or_default(), mandatory).map_err(PlanError::Reason)?;
    let max_valid_for = max_valid_for(req)?;
    let scheduled_start = scheduled_start(req)?;
    let approval_timeout = duration::parse_or_default(
        espec.approval_timeout.as_deref(),
        duration::DEFAULT_APPROVAL_TIMEOUT,
    );
    let approval_timeout = if approval_timeout.is_positive() {
        approval_timeout
    } else {
        duration::DEFAULT_APPROVAL_TIMEOUT
    };
    let mut session = BreakglassSession::new(
        "",
        BreakglassSessionSpec {
            cluster: req.cluster.to_owned(),
            user: req.user.to_owned(),
            granted_group: espec.escalated_group.clone(),
            max_valid_for: Some(max_valid_for),
            idle_timeout: espec.idle_timeout.clone(),
            retain_for: espec.retain_for.clone(),
            cluster_config_ref: Some(req.cluster_config.to_owned()),
            deny_policy_refs: espec.deny_policy_refs.clone(),
            request_reason: Some(reason).filter(|r| !r.is_empty()),
            scheduled_start_time: scheduled_start.map(Time),
            identity_provider_name: Some(req.provider.to_owned()),
            identity_provider_issuer: Some(req.issuer.to_owned()),
            allow_idp_mismatch: Some(!(restricts_idps(espec) || req.cluster_restricts_idps)),
            request_reason_config: espec.request_reason.clone(),
            approval_reason_config: espec.approval_reason.clone(),
        },
    );
    session.metadata = metadata(req);
    Ok(Plan {
        session,
        approval_timeout,
        scheduled_start,
    })
}

/// `spec.maxValidFor` of the new session: the requested duration within
/// [`MIN_DURATION_SECS`] and the escalation's `maxValidFor`, else `maxValidFor` itself.
fn max_valid_for(req: &Request<'_>) -> Result<String, PlanError> {
    let espec = &req.escalation.spec;
    let max = duration::valid_for_or_default(espec.max_valid_for.as_deref());
    let max_secs = max.as_secs();
    match req.duration_secs {
        None | Some(0) => Ok(espec
            .max_valid_for
            .clone()
            .unwrap_or_else(|| max.to_string())),
        Some(d) if d < 0 => Err(PlanError::NegativeDuration(d)),
        Some(d) if d < MIN_DURATION_SECS => Err(PlanError::DurationTooShort(d)),
        Some(d) if d > max_secs => Err(PlanError::DurationTooLong {
            secs: d,
            max: max.to_string(),
            max_secs,
        }),
        Some(d) => GoDuration::from_secs(d)
            .map(|g| g.to_string())
            .ok_or(PlanError::TimeOutOfRange),
    }
}

fn scheduled_start(req: &Request<'_>) -> Result<Option<Timestamp>, PlanError> {
    let Some(text) = req.scheduled_start.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let at: Timestamp = text
        .parse()
        .map_err(|_| PlanError::ScheduleNotRfc3339(text.to_owned()))?;
    if at <= req.now {
        return Err(PlanError::ScheduleInPast);
    }
    let earliest = req
        .now
        .checked_add(req.min_schedule_lead)
        .map_err(|_| PlanError::TimeOutOfRange)?;
    if at < earliest {
        return Err(PlanError::ScheduleTooSoon {
            lead_minutes: req.min_schedule_lead.as_secs() / 60,
            earliest,
        });
    }
    Ok(Some(at))
}

fn metadata(req: &Request<'_>) -> ObjectMeta {
    let esc = req.escalation;
    let group = &esc.spec.escalated_group;
    ObjectMeta {
        generate_name: Some(generate_name(req.cluster, group)),
        namespace: Some(
            esc.metadata
                .namespace
                .clone()
                .unwrap_or_else(|| "default".to_owned()),
        ),
        labels: Some(BTreeMap::from([
            (labels::SESSION_CLUSTER.to_owned(), label_value(req.cluster)),
            (labels::SESSION_USER.to_owned(), label_value(req.user)),
            (labels::SESSION_GROUP.to_owned(), label_value(group)),
        ])),
        owner_references: Some(vec![OwnerReference {
            api_version: breakglass_api::API_VERSION.to_owned(),
            kind: "BreakglassEscalation".to_owned(),
            name: esc.metadata.name.clone().unwrap_or_default(),
            uid: esc.metadata.uid.clone().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: None,
        }]),
        ..ObjectMeta::default()
    }
}

/// Why a request is a duplicate; the reference's 409 messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicate {
    /// The requester's session for the slot is still pending.
    AlreadyRequested,
    /// The requester's session for the slot is approved or scheduled.
    AlreadyApproved,
    /// Another slot-occupying session exists.
    Exists,
}

impl Duplicate {
    /// The message answered with the 409.
    pub fn message(self) -> &'static str {
        match self {
            Self::AlreadyRequested => "already requested",
            Self::AlreadyApproved => "already approved",
            Self::Exists => "session exists",
        }
    }
}

/// The requester's session that already holds the slot (same cluster, same group with
/// prefixes ignored, pending or granting), if any. `owned` says whether a session is
/// the requester's (the server's identity rule: issuer and user name, exact).
pub fn duplicate<'s>(
    sessions: impl IntoIterator<Item = &'s BreakglassSession>,
    owned: impl Fn(&BreakglassSession) -> bool,
    cluster: &str,
    group: &str,
    prefixes: &[String],
    now: Timestamp,
) -> Option<(&'s BreakglassSession, Duplicate)> {
    let bare = strip_prefix(group, prefixes);
    let existing = sessions.into_iter().find(|s| {
        s.spec.cluster == cluster
            && strip_prefix(&s.spec.granted_group, prefixes) == bare
            && owned(s)
            && super::occupies_slot(s, now)
    })?;
    let kind = match existing.status.as_ref().and_then(|st| st.state) {
        Some(State::Pending) => Duplicate::AlreadyRequested,
        Some(State::Approved | State::WaitingForScheduledTime) => Duplicate::AlreadyApproved,
        _ => Duplicate::Exists,
    };
    Some((existing, kind))
}

/// Checks that one more session fits the limits: the requester's slot-occupying
/// sessions (`owned`) and the escalation's (by owner UID).
pub fn check_limits<'s>(
    limits: Limits,
    sessions: impl IntoIterator<Item = &'s BreakglassSession>,
    owned: impl Fn(&BreakglassSession) -> bool,
    escalation: &BreakglassEscalation,
    now: Timestamp,
) -> Result<(), LimitExceeded> {
    let uid = escalation.metadata.uid.as_deref().unwrap_or_default();
    let (mut user_active, mut esc_active) = (0, 0);
    for s in sessions {
        if !super::occupies_slot(s, now) {
            continue;
        }
        if owned(s) {
            user_active += 1;
        }
        if super::owning_escalation(s).is_some_and(|o| o.uid == uid) {
            esc_active += 1;
        }
    }
    limits::check(limits, user_active, esc_active)
}

/// `<cluster>-<group>-`, lowercased and reduced to RFC 1123 characters, short enough
/// that the generated name fits 63 characters.
pub fn generate_name(cluster: &str, group: &str) -> String {
    let raw = format!("{cluster}-{group}").to_ascii_lowercase();
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    let mut out: String = out.trim_matches('-').chars().take(56).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("session");
    }
    out.push('-');
    out
}

/// A label value for `value`: invalid characters become `_`, at most 63 characters,
/// starting and ending alphanumeric (empty when nothing is left).
pub fn label_value(value: &str) -> String {
    let mapped: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    mapped
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
