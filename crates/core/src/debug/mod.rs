//! Debug sessions, pure: which templates a caller may request where and with what
//! effective configuration ([`resolve`], [`merge`]), what a request becomes
//! ([`request`]), who approves ([`approval`]), the
//! workloads deployed on a target ([`workload`], [`deploy`]) and whether they are ready
//! ([`readiness`]), the pod access a session grants
//! ([`access`]), what changed in its pods ([`pod_changes`]) and the state machine
//! ([`session`]).

pub mod access;
pub mod admission;
pub mod approval;
pub mod deploy;
pub mod kubectl;
pub mod merge;
pub mod pod_changes;
pub mod readiness;
pub mod render;
pub mod request;
pub mod resolve;
pub mod session;
pub mod vars;
pub mod workload;
