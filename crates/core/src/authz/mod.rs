//! The authorization webhook's decision logic: DenyPolicies, pod-security risk scoring,
//! impersonation guards and the SubjectAccessReview decision pipeline.
//!
//! Pure: no I/O, no clock. The server drives it in four steps:
//!
//! 1. [`SarRequest::from_review`] parses the SAR; the server builds an [`AuthzInput`]
//!    from its snapshot (cluster, the user's sessions, all DenyPolicies, escalation
//!    count, an optional debug-session allow) with nothing fetched yet;
//! 2. [`data_needs`] names what to fetch from the target cluster (namespace labels,
//!    the target pod) — only what the decision will read;
//! 3. [`precheck`] with the fetched data returns a final [`Decision`] or a
//!    [`GroupCheckPlan`] of sessions whose groups the target cluster must judge;
//! 4. the server asks the target cluster (each [`Candidate`]'s spellings, in order) and
//!    [`finalize`] turns the answers into the [`Decision`].
//!
//! [`decide`] runs all four synchronously for tests and simple callers.

mod decision;
pub mod deny;
pub mod explain;
pub mod grant;
pub mod impersonation;
mod input;
pub mod message;
pub mod oidc;
pub mod pod_security;
pub mod policy_index;
pub mod review;
mod sar;

#[cfg(test)]
mod tests;

pub use decision::{
    Candidate, DataNeeds, Decision, GroupCheckPlan, GroupCheckResults, Pass, PodRef,
    PodSecurityRecord, PreCheck, ProbeOutcome, SessionCheck, Stage, Trace, data_needs, decide,
    finalize, precheck,
};
pub use deny::EvalError;
pub use input::{
    AuthzConfig, AuthzInput, ClusterInfo, DebugSessionAllow, IdpHints, ImpersonationSettings,
    NamespaceLabels, PodInfo, SessionInput,
};
pub use sar::{
    Attributes, DEBUG_POD_SUBRESOURCES, ISSUER_EXTRA_KEY, NonResourceAttributes,
    ResourceAttributes, SarError, SarRequest,
};
