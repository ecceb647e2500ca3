//! CRD types of `breakglass.t-caas.telekom.com/v1alpha1`.
//!
//! One module per kind (the debug kinds share [`debug_common`]), shared types in [`common`],
//! label keys in [`labels`], and CRD manifest generation in [`crds`].
//!
//! Conventions: every optional field is an `Option` that is left out when `None`, so objects
//! round-trip through JSON and YAML unchanged. Defaults live in the OpenAPI schema (the
//! apiserver applies them); helpers such as [`common::SecretKeyReference::key_or_default`]
//! give the same defaults to code that reads objects the apiserver has not seen. Durations
//! are Go duration strings; parsing them is left to the consumers.

// Scenario tests may be long; the length limit is for the code they test.
#![cfg_attr(test, allow(clippy::too_many_lines))]
// `#[kube(printcolumn(..), selectable = ..)]` repeats keys by design.
#![allow(clippy::duplicated_attributes)]

mod macros;
mod schema;

pub mod audit_config;
pub mod breakglass_escalation;
pub mod breakglass_session;
pub mod cluster_config;
pub mod common;
pub mod crds;
pub mod debug_common;
pub mod debug_pod_template;
pub mod debug_session;
pub mod debug_session_cluster_binding;
pub mod debug_session_template;
pub mod deny_policy;
pub mod identity_provider;
pub mod labels;
pub mod mail_provider;
pub mod rest;

pub use audit_config::{AuditConfig, AuditConfigSpec, AuditConfigStatus};
pub use breakglass_escalation::{
    BreakglassEscalation, BreakglassEscalationSpec, BreakglassEscalationStatus,
};
pub use breakglass_session::{
    BreakglassSession, BreakglassSessionSpec, BreakglassSessionState, BreakglassSessionStatus,
};
pub use cluster_config::{ClusterConfig, ClusterConfigSpec, ClusterConfigStatus};
pub use debug_pod_template::{DebugPodTemplate, DebugPodTemplateSpec, DebugPodTemplateStatus};
pub use debug_session::{DebugSession, DebugSessionSpec, DebugSessionState, DebugSessionStatus};
pub use debug_session_cluster_binding::{
    DebugSessionClusterBinding, DebugSessionClusterBindingSpec, DebugSessionClusterBindingStatus,
};
pub use debug_session_template::{
    DebugSessionTemplate, DebugSessionTemplateSpec, DebugSessionTemplateStatus,
};
pub use deny_policy::{DenyPolicy, DenyPolicySpec, DenyPolicyStatus};
pub use identity_provider::{IdentityProvider, IdentityProviderSpec, IdentityProviderStatus};
pub use mail_provider::{MailProvider, MailProviderSpec, MailProviderStatus};

/// API group of every kind.
pub const GROUP: &str = "breakglass.t-caas.telekom.com";
/// API version of every kind.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of every kind.
pub const API_VERSION: &str = "breakglass.t-caas.telekom.com/v1alpha1";

/// Durations of escalations and sessions: Go durations, optionally led by a day count (`7d`, `1d12h`).
pub const DURATION_PATTERN: &str =
    r"^([0-9]+d([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))*|([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+)$";
/// Durations of debug sessions and templates (`30m`, `4h`, `1d`).
pub const DEBUG_DURATION_PATTERN: &str = r"^([0-9]+(ns|us|ms|s|m|h|d))+$";
/// An RFC 1123 DNS label.
pub const DNS_LABEL_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// A string that is not one of the values an enum accepts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} value {value:?}")]
pub struct UnknownValue {
    /// Name of the enum.
    pub kind: &'static str,
    /// The rejected value.
    pub value: String,
}
