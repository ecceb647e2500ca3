//! `BreakglassSession`: one request for, and grant of, an escalated group to a user on a cluster.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::ReasonConfig;
use crate::macros::string_enum;

/// Default of `spec.maxValidFor`.
pub const DEFAULT_MAX_VALID_FOR: &str = "1h";
/// Default of `spec.retainFor`.
pub const DEFAULT_RETAIN_FOR: &str = "720h";

/// A request for, and grant of, `grantedGroup` to `user` on `cluster`; the spec is immutable after creation.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "breakglass.t-caas.telekom.com",
    version = "v1alpha1",
    kind = "BreakglassSession",
    plural = "breakglasssessions",
    singular = "breakglasssession",
    shortname = "bgs",
    namespaced,
    status = "BreakglassSessionStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "A request for, and grant of, an escalated group to a user on a cluster.",
    printcolumn(name = "State", type_ = "string", json_path = ".status.state"),
    printcolumn(name = "User", type_ = "string", json_path = ".spec.user"),
    printcolumn(name = "Cluster", type_ = "string", json_path = ".spec.cluster"),
    printcolumn(
        name = "Granted Group",
        type_ = "string",
        json_path = ".spec.grantedGroup"
    ),
    printcolumn(
        name = "Expires At",
        type_ = "string",
        format = "date-time",
        json_path = ".status.expiresAt"
    ),
    printcolumn(
        name = "Scheduled Start",
        type_ = "string",
        format = "date-time",
        json_path = ".spec.scheduledStartTime"
    ),
    printcolumn(
        name = "Retained Until",
        type_ = "string",
        format = "date-time",
        json_path = ".status.retainedUntil"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    selectable = ".spec.cluster",
    selectable = ".spec.user",
    selectable = ".spec.grantedGroup",
    selectable = ".status.state"
)]
#[serde(rename_all = "camelCase")]
pub struct BreakglassSessionSpec {
    /// Target cluster name (the cluster segment of the authorization webhook path).
    #[schemars(length(min = 1))]
    pub cluster: String,
    /// User identifier, as the target apiserver reports it in SubjectAccessReviews.
    #[schemars(length(min = 1))]
    pub user: String,
    /// Group granted while the session is approved.
    #[schemars(length(min = 1))]
    pub granted_group: String,
    /// Lifetime after approval (Go duration, `d` allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_max_valid_for", regex(pattern = crate::DURATION_PATTERN))]
    pub max_valid_for: Option<String>,
    /// Expire the approved session after this long without activity (at least 1m, at most maxValidFor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = crate::DURATION_PATTERN))]
    pub idle_timeout: Option<String>,
    /// How long the session is kept after it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(default = "default_retain_for", regex(pattern = crate::DURATION_PATTERN))]
    pub retain_for: Option<String>,
    /// Name of the ClusterConfig of the target cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_config_ref: Option<String>,
    /// DenyPolicies copied from the matching escalation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny_policy_refs: Option<Vec<String>>,
    /// Reason given by the requester.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_reason: Option<String>,
    /// Activate the session at this time instead of on approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_start_time: Option<Time>,
    /// IdentityProvider that authenticated the requester.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider_name: Option<String>,
    /// Issuer of the requester's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider_issuer: Option<String>,
    /// Accept requests from any issuer (set when neither escalation nor cluster restricts identity providers).
    #[serde(
        default,
        rename = "allowIDPMismatch",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(default = "default_false")]
    pub allow_idp_mismatch: Option<bool>,
    /// Request reason settings of the escalation at creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_reason_config: Option<ReasonConfig>,
    /// Approval reason settings of the escalation at creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_reason_config: Option<ReasonConfig>,
}

fn default_max_valid_for() -> Option<String> {
    Some(DEFAULT_MAX_VALID_FOR.to_owned())
}

fn default_retain_for() -> Option<String> {
    Some(DEFAULT_RETAIN_FOR.to_owned())
}

fn default_false() -> Option<bool> {
    Some(false)
}

/// Observed state of a BreakglassSession.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BreakglassSessionStatus {
    /// Generation last processed by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: Idle, Approved, Rejected, Expired, Canceled, Active, SessionExpired, ScheduledStartTimeReached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// When the session was approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<Time>,
    /// When the grant became active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_start_time: Option<Time>,
    /// When the session was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_at: Option<Time>,
    /// When the requester withdrew the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<Time>,
    /// When the grant ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
    /// When a pending session times out unapproved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_at: Option<Time>,
    /// When the ended session is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retained_until: Option<Time>,
    /// Lifecycle state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<BreakglassSessionState>,
    /// Last approver who acted on the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
    /// Everyone who approved or cancelled the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvers: Option<Vec<String>>,
    /// Reason given by the approver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_reason: Option<String>,
    /// Why the session ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_ended: Option<SessionEndReason>,
    /// Last authorization request that used the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity: Option<Time>,
    /// Number of authorization requests that used the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_count: Option<i64>,
}

string_enum! {
    /// Lifecycle state of a BreakglassSession.
    pub enum BreakglassSessionState {
        /// Waiting for an approver.
        Pending = "Pending",
        /// Approved and active until `expiresAt`.
        Approved = "Approved",
        /// Rejected by an approver or the requester.
        Rejected = "Rejected",
        /// Ended: validity elapsed, dropped or cancelled.
        Expired = "Expired",
        /// Ended after `idleTimeout` without activity.
        IdleExpired = "IdleExpired",
        /// Withdrawn by the requester before approval.
        Withdrawn = "Withdrawn",
        /// Nobody approved before `timeoutAt`.
        ApprovalTimeout = "ApprovalTimeout",
        /// Approved, waiting for `scheduledStartTime`.
        WaitingForScheduledTime = "WaitingForScheduledTime",
    }
}

impl BreakglassSessionState {
    /// True for states a session never leaves (only deletion follows).
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Rejected
                | Self::Expired
                | Self::IdleExpired
                | Self::Withdrawn
                | Self::ApprovalTimeout
        )
    }

    /// True for states that occupy a slot for duplicate detection and session limits.
    pub const fn occupies_slot(self) -> bool {
        matches!(
            self,
            Self::Pending | Self::Approved | Self::WaitingForScheduledTime
        )
    }

    /// True for the only state that grants access.
    pub const fn grants_access(self) -> bool {
        matches!(self, Self::Approved)
    }
}

string_enum! {
    /// Why a BreakglassSession ended (`status.reasonEnded`).
    pub enum SessionEndReason {
        /// Validity elapsed.
        TimeExpired = "timeExpired",
        /// Nobody approved in time.
        ApprovalTimeout = "approvalTimeout",
        /// An approver cancelled the active session.
        Canceled = "canceled",
        /// The requester dropped the session.
        Dropped = "dropped",
        /// The requester withdrew the pending request.
        Withdrawn = "withdrawn",
        /// An approver or the requester rejected the request.
        Rejected = "rejected",
        /// A duplicate session for the same cluster, user and group was removed.
        DuplicateCleanup = "duplicateCleanup",
        /// No activity within `idleTimeout`.
        IdleTimeout = "idleTimeout",
        /// A scheduled session had no start time.
        MissingScheduledStartTime = "missingScheduledStartTime",
        /// A scheduled session expired before it could be activated.
        ScheduledSessionExpiredBeforeActivation = "scheduledSessionExpiredBeforeActivation",
    }
}

string_enum! {
    /// Condition types written on BreakglassSessions.
    pub enum BreakglassSessionConditionType {
        /// Idle state (also the type of the condition written at creation).
        Idle = "Idle",
        /// The session was approved.
        Approved = "Approved",
        /// The session was rejected.
        Rejected = "Rejected",
        /// The session expired or timed out.
        Expired = "Expired",
        /// The session was withdrawn or cancelled.
        Canceled = "Canceled",
        /// The grant is active.
        Active = "Active",
        /// The validity elapsed.
        SessionExpired = "SessionExpired",
        /// The scheduled start time was reached and the session activated.
        ScheduledStartTimeReached = "ScheduledStartTimeReached",
    }
}

string_enum! {
    /// Condition reasons written on BreakglassSessions.
    pub enum BreakglassSessionConditionReason {
        /// Written with the initial condition at creation.
        EditedByApprover = "EditedByApprover",
        /// The validity elapsed.
        ExpiredByTime = "ExpiredByTime",
        /// No activity within the idle timeout.
        IdleTimeout = "IdleTimeout",
        /// Nobody approved in time.
        ApprovalTimeout = "ApprovalTimeout",
    }
}

impl BreakglassSession {
    /// The state, if the controller has set one.
    pub fn state(&self) -> Option<BreakglassSessionState> {
        self.status.as_ref().and_then(|s| s.state)
    }
}
