//! Everything a decision reads besides the request: the cluster, the user's sessions,
//! the policies, data fetched from the target cluster, and configuration.
//!
//! The server fills an [`AuthzInput`] from its snapshot, asks
//! [`data_needs`](super::data_needs) what to fetch, fills in the fetched data and
//! runs [`precheck`](super::precheck).

use std::collections::BTreeMap;

use breakglass_api::breakglass_escalation::PodSecurityOverrides;
use breakglass_api::cluster_config::{ClusterConfig, LegacyImpersonationFallback};
use breakglass_api::{BreakglassSession, DenyPolicy};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;

use super::sar::SarRequest;

/// A registered target cluster, as the decision needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterInfo {
    /// Cluster name (the webhook path segment, the ClusterConfig name).
    pub name: String,
    /// `spec.tenant`, matched by DenyPolicy `appliesTo.tenants`.
    pub tenant: Option<String>,
    /// How impersonation requests are guarded on this cluster.
    pub impersonation: ImpersonationSettings,
}

impl ClusterInfo {
    /// Reads the parts of a ClusterConfig the decision uses; absent settings take their
    /// CRD defaults.
    pub fn from_cluster_config(config: &ClusterConfig) -> Self {
        let ci = config.spec.constrained_impersonation.as_ref();
        Self {
            name: config.metadata.name.clone().unwrap_or_default(),
            tenant: config.spec.tenant.clone().filter(|t| !t.is_empty()),
            impersonation: ImpersonationSettings {
                deny_unrecognised_verbs: ci.and_then(|c| c.deny_unrecognised_verbs).unwrap_or(true),
                legacy_fallback: ci
                    .and_then(|c| c.legacy_fallback)
                    .unwrap_or(LegacyImpersonationFallback::Allow),
            },
        }
    }
}

/// The ClusterConfig `constrainedImpersonation` settings the webhook enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImpersonationSettings {
    /// Deny impersonation verbs we cannot parse (default true).
    pub deny_unrecognised_verbs: bool,
    /// What legacy `impersonate` requests get (default `Allow`).
    pub legacy_fallback: LegacyImpersonationFallback,
}

impl Default for ImpersonationSettings {
    fn default() -> Self {
        Self {
            deny_unrecognised_verbs: true,
            legacy_fallback: LegacyImpersonationFallback::Allow,
        }
    }
}

/// One of the user's sessions, with the pod-security overrides of the escalation that
/// owns it (looked up by the server through the session's ownerReference).
#[derive(Debug, Clone, Copy)]
pub struct SessionInput<'a> {
    /// The session object.
    pub session: &'a BreakglassSession,
    /// `podSecurityOverrides` of the owning escalation, if any.
    pub pod_security_overrides: Option<&'a PodSecurityOverrides>,
}

/// An allow the caller computed with [`crate::debug::access::pod_access`] for a
/// debug-session participant (the seam for debug sessions: get, exec, attach,
/// portforward or log on a pod the session whitelists). It decides before DenyPolicies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugSessionAllow {
    /// DebugSession name.
    pub session: String,
    /// DebugSession namespace (for the grant id).
    pub namespace: String,
    /// The template the session was created from (for the grant id).
    pub template: String,
    /// Who approved the session; `None` when no approval was needed.
    pub approver: Option<String>,
    /// The user's role in it (`owner`, `participant`, `viewer`).
    pub role: String,
    /// The pod operation allowed (`get`, `exec`, `attach`, `portforward`, `log`).
    pub operation: String,
}

/// Labels of the request's namespace, fetched from the target cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NamespaceLabels<'a> {
    /// Fetched.
    Known(&'a BTreeMap<String, String>),
    /// The fetch failed; rules that would need them deny (fail closed).
    Unavailable,
    /// The namespace does not exist on the target cluster; rules that select by label
    /// deny (fail closed, as the reference does), grants by label do not match.
    Missing,
    /// Not fetched because [`DataNeeds`](super::DataNeeds) said they were not needed.
    #[default]
    NotFetched,
}

/// The target pod of an exec/attach/portforward request, fetched from the target cluster.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum PodInfo<'a> {
    /// Fetched.
    Known(&'a Pod),
    /// The fetch failed; `podSecurityRules.failMode` decides.
    Unavailable,
    /// Not fetched because [`DataNeeds`](super::DataNeeds) said it was not needed.
    #[default]
    NotFetched,
}

/// Identity-provider facts for the reason text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdpHints {
    /// Name of the IdentityProvider whose issuer is the SAR's issuer, if known.
    pub issuer_idp_name: Option<String>,
    /// Names of the enabled IdentityProviders (shown only when hints are not hardened).
    pub available: Vec<String>,
}

/// Server configuration the decision reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzConfig {
    /// `frontend.baseURL`; when set, deny reasons that can lead to a request link to the UI.
    pub ui_base_url: Option<String>,
    /// `server.hardenedIDPHints` (default true): do not list the available identity providers.
    pub hardened_idp_hints: bool,
    /// `kubernetes.oidcPrefixes`.
    pub oidc_prefixes: Vec<String>,
}

impl Default for AuthzConfig {
    fn default() -> Self {
        Self {
            ui_base_url: None,
            hardened_idp_hints: true,
            oidc_prefixes: Vec::new(),
        }
    }
}

/// Everything one decision reads. Borrowed from the caller's snapshot; no I/O happens here.
#[derive(Debug, Clone)]
pub struct AuthzInput<'a> {
    /// The cluster named in the webhook path.
    pub cluster_name: &'a str,
    /// Its registration; `None` when no ClusterConfig has that name.
    pub cluster: Option<&'a ClusterInfo>,
    /// The request.
    pub request: &'a SarRequest,
    /// The user's sessions on this cluster (others are ignored, so passing more is safe).
    pub sessions: &'a [SessionInput<'a>],
    /// Every DenyPolicy (scopes are evaluated here).
    pub policies: &'a [&'a DenyPolicy],
    /// A debug-session allow computed by the caller, if any.
    pub debug_session: Option<&'a DebugSessionAllow>,
    /// How many escalations the user could request on this cluster (for the reason text).
    pub escalations_available: usize,
    /// Identity-provider facts for the reason text.
    pub idp: &'a IdpHints,
    /// Labels of the request namespace, when [`DataNeeds::namespace_labels`](super::DataNeeds) asked for them.
    pub namespace_labels: NamespaceLabels<'a>,
    /// The target pod, when [`DataNeeds::pod`](super::DataNeeds) asked for it.
    pub pod: PodInfo<'a>,
    /// The current time.
    pub now: Timestamp,
}
