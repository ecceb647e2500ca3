//! The authorization webhook's decision logic: DenyPolicies, pod-security risk scoring,
//! impersonation guards and the SubjectAccessReview decision pipeline.

pub mod deny;
pub mod impersonation;
mod input;
pub mod oidc;
pub mod pod_security;
mod sar;

#[cfg(test)]
mod tests;

pub use deny::EvalError;
pub use input::{
    AuthzConfig, AuthzInput, ClusterInfo, DebugSessionAllow, IdpHints, ImpersonationSettings,
    NamespaceLabels, PodInfo, SessionInput,
};
pub use sar::{
    Attributes, DEBUG_POD_SUBRESOURCES, ISSUER_EXTRA_KEY, NonResourceAttributes,
    ResourceAttributes, SarError, SarRequest,
};
