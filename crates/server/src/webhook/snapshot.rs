//! What one decision reads, gathered synchronously from the watched state: the mirrors
//! of [`Stores`] and the [`SessionIndex`]. Nothing here can reach the hub — there is no
//! client in reach and nothing awaits — so a pending session that was approved a moment
//! ago counts as approved once the watch delivers the change (milliseconds), never
//! before. That is the trade-off for not calling the hub per request.

use std::sync::Arc;

use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_api::debug_session::DebugSession;
use breakglass_core::authz::policy_index::ClusterPolicies;
use breakglass_core::authz::{ClusterInfo, IdpHints, SarRequest};

use crate::debug::index::DebugSessionIndex;
use crate::index::{DenyPolicyIndex, EscalationIndex, Objects, SessionIndex};
use crate::store::{ClusterLookup, Stores};

/// The watched state a decision reads.
#[derive(Clone, Copy)]
pub struct WatchedState<'a> {
    /// The mirrors.
    pub stores: &'a Stores,
    /// Sessions by (cluster, user).
    pub sessions: &'a SessionIndex,
    /// Active debug sessions by (cluster, participant).
    pub debug_sessions: &'a DebugSessionIndex,
    /// Ready escalations by the cluster they target.
    pub escalations: &'a EscalationIndex,
    /// DenyPolicies by the clusters they apply to.
    pub policies: &'a DenyPolicyIndex,
    /// `kubernetes.oidcPrefixes`.
    pub prefixes: &'a [String],
}

/// The inputs of one decision.
pub struct Snapshot {
    /// The cluster's registration, `None` when missing or ambiguous (fail closed).
    pub cluster: Option<ClusterInfo>,
    /// The user's sessions on the cluster, as the watch last delivered them.
    pub sessions: Objects<BreakglassSession>,
    /// The user's Active debug sessions on the cluster; looked up only for named pod
    /// requests, the only ones a debug session can grant.
    pub debug_sessions: Objects<DebugSession>,
    /// The DenyPolicies that apply on the cluster, prepared for the request
    /// ([`ClusterPolicies::relevant`]); `None` for an unregistered cluster, which no
    /// policy is evaluated for.
    pub policies: Option<Arc<ClusterPolicies>>,
    /// How many escalations the user could request on the cluster.
    pub escalations_available: usize,
    /// Identity-provider facts for the reason.
    pub idp: IdpHints,
}

impl WatchedState<'_> {
    /// Gathers the inputs for `request` on `cluster`. Per-request work is linear in the
    /// request's groups (one lookup each for the escalation count) plus the user's few
    /// sessions; lists are shared, not copied.
    pub fn snapshot(&self, cluster: &str, request: &SarRequest) -> Snapshot {
        let stores = self.stores;
        let cluster_info = match stores.cluster(cluster) {
            ClusterLookup::Found(cc) => Some(ClusterInfo::from_cluster_config(&cc)),
            // Ambiguous names fail closed: treated as not registered.
            ClusterLookup::Missing | ClusterLookup::Ambiguous => None,
        };
        let sessions = self.sessions.shared(cluster, &request.user);
        let debug_sessions = if request
            .resource()
            .is_some_and(|r| r.is_debug_pod_operation())
        {
            self.debug_sessions.shared(cluster, &request.user)
        } else {
            Objects::default()
        };
        let idps = stores.identity_providers.all();
        let issuer_idp_name = request.issuer.as_deref().and_then(|iss| {
            idps.iter()
                .find(|i| i.effective_issuer() == iss.trim_end_matches('/'))
                .and_then(|i| i.metadata.name.clone())
        });
        let available = idps
            .iter()
            .filter(|i| i.spec.disabled != Some(true))
            .filter_map(|i| i.metadata.name.clone())
            .collect();
        // Only a registered cluster's escalations are counted (the count only appears
        // in reasons of decisions past the cluster check), and only its policies
        // prepared.
        let (escalations_available, policies) = match &cluster_info {
            Some(info) => (
                self.escalations.available(
                    cluster,
                    &request.groups,
                    issuer_idp_name.as_deref(),
                    self.prefixes,
                ),
                Some(self.policies.prepared(cluster, info.tenant.as_deref())),
            ),
            None => (0, None),
        };
        Snapshot {
            cluster: cluster_info,
            sessions,
            debug_sessions,
            policies,
            escalations_available,
            idp: IdpHints {
                issuer_idp_name,
                available,
            },
        }
    }

    /// The escalation owning each of `sessions` (same order), looked up by key. Only
    /// their pod-security overrides are read, so a decision asks for them only when a
    /// pod-security policy is relevant.
    pub fn owners(
        &self,
        sessions: &[Arc<BreakglassSession>],
    ) -> Vec<Option<Arc<BreakglassEscalation>>> {
        sessions
            .iter()
            .map(|s| {
                let owner = breakglass_core::session::owning_escalation(s)?;
                self.escalations.owner(
                    s.metadata.namespace.as_deref().unwrap_or_default(),
                    &owner.name,
                    &owner.uid,
                )
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use breakglass_api::breakglass_session::{
        BreakglassSessionSpec, BreakglassSessionState, BreakglassSessionStatus,
    };
    use breakglass_api::cluster_config::ClusterConfig;
    use breakglass_core::authz::{Attributes, NonResourceAttributes};

    use crate::store::Mirror;

    fn session(name: &str, state: BreakglassSessionState) -> Arc<BreakglassSession> {
        let mut s = BreakglassSession::new(
            name,
            BreakglassSessionSpec {
                cluster: "c1".to_owned(),
                user: "alice".to_owned(),
                granted_group: "ops".to_owned(),
                ..Default::default()
            },
        );
        s.metadata.namespace = Some("bg".to_owned());
        s.status = Some(BreakglassSessionStatus {
            state: Some(state),
            ..Default::default()
        });
        Arc::new(s)
    }

    fn request(user: &str) -> SarRequest {
        SarRequest {
            user: user.to_owned(),
            groups: vec!["oidc:dev".to_owned()],
            attributes: Attributes::NonResource(NonResourceAttributes {
                path: "/api".to_owned(),
                verb: "get".to_owned(),
            }),
            ..SarRequest::default()
        }
    }

    fn state(s: &Snapshot) -> Vec<Option<BreakglassSessionState>> {
        s.sessions
            .iter()
            .map(|s| s.status.as_ref().and_then(|st| st.state))
            .collect()
    }

    /// The inputs come from the index and the mirrors alone: a pending session stays
    /// pending (no live read refreshes it) until the watch applies its approval, and a
    /// deletion removes it. `WatchedState` has no hub client, so no request can read
    /// the hub.
    #[tokio::test]
    async fn inputs_follow_applied_objects_only() {
        let cluster: ClusterConfig = serde_json::from_value(serde_json::json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "ClusterConfig",
            "metadata": {"name": "c1", "namespace": "bg"}, "spec": {}
        }))
        .unwrap();
        let stores = Stores {
            sessions: Mirror::from_objects([]),
            escalations: Mirror::from_objects([]),
            clusters: Mirror::from_objects([cluster]),
            identity_providers: Mirror::from_objects([]),
            deny_policies: Mirror::from_objects([]),
            ..Stores::empty()
        };
        let index = SessionIndex::from_sessions([session("s1", BreakglassSessionState::Pending)]);
        let prefixes = vec!["oidc:".to_owned()];
        let escalations = EscalationIndex::new(stores.escalations.clone());
        let policies = DenyPolicyIndex::new(stores.deny_policies.clone());
        let debug = DebugSessionIndex::default();
        let watched = WatchedState {
            stores: &stores,
            sessions: &index,
            debug_sessions: &debug,
            escalations: &escalations,
            policies: &policies,
            prefixes: &prefixes,
        };
        let snap = watched.snapshot("c1", &request("alice"));
        assert!(snap.cluster.is_some());
        assert_eq!(state(&snap), [Some(BreakglassSessionState::Pending)]);
        assert!(watched.snapshot("c1", &request("bob")).sessions.is_empty());
        assert!(watched.snapshot("c2", &request("alice")).cluster.is_none());

        index.apply(session("s1", BreakglassSessionState::Approved));
        let snap = watched.snapshot("c1", &request("alice"));
        assert_eq!(state(&snap), [Some(BreakglassSessionState::Approved)]);

        index.delete("bg", "s1");
        assert!(
            watched
                .snapshot("c1", &request("alice"))
                .sessions
                .is_empty()
        );
    }
}
