//! Everything a request handler or background task needs, in one shared value.

use std::sync::Arc;
use std::time::Duration;

use kube::Client;

use crate::activity::ActivityTracker;
use crate::auth::Authenticator;
use crate::clusters::ClusterClients;
use crate::config::Config;
use crate::events::EventBus;
use crate::metrics::Metrics;
use crate::store::Stores;

/// Runtime settings that are not part of the configuration file.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How often buffered webhook activity is written to sessions.
    pub activity_flush_interval: Duration,
    /// How often the leader probes every cluster.
    pub cluster_check_interval: Duration,
    /// The least time ahead a scheduled start may be requested.
    pub min_schedule_lead: jiff::SignedDuration,
    /// Namespace of the session-creation locks (the server's own namespace).
    pub lock_namespace: String,
    /// This replica's name, as holder of locks.
    pub identity: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            activity_flush_interval: Duration::from_secs(30),
            cluster_check_interval: Duration::from_secs(600),
            min_schedule_lead: jiff::SignedDuration::from_mins(5),
            lock_namespace: "default".to_owned(),
            identity: "breakglass".to_owned(),
        }
    }
}

/// The shared application state.
pub struct App {
    /// The configuration file.
    pub config: Arc<Config>,
    /// Runtime settings.
    pub settings: Settings,
    /// Client of the hub cluster (where all breakglass objects live).
    pub hub: Client,
    /// Watched mirrors of the breakglass objects.
    pub stores: Stores,
    /// Token verification.
    pub auth: Authenticator,
    /// True once the identity providers have been loaded.
    pub auth_ready: Arc<std::sync::atomic::AtomicBool>,
    /// Metrics handles.
    pub metrics: Metrics,
    /// Session lifecycle events.
    pub events: EventBus,
    /// Clients of the target clusters.
    pub clusters: ClusterClients,
    /// Webhook activity awaiting its flush.
    pub activity: ActivityTracker,
    /// Sessions by (cluster, user), for the webhook.
    pub sessions_by_user: crate::index::SessionIndex,
    /// Active debug sessions by (cluster, participant), for the webhook.
    pub debug_sessions_by_user: crate::debug::index::DebugSessionIndex,
    /// Ready escalations by the cluster they target, for the webhook.
    pub escalations_by_cluster: crate::index::EscalationIndex,
    /// DenyPolicies by the clusters they apply to, for the webhook.
    pub deny_policies_by_cluster: crate::index::DenyPolicyIndex,
    /// What the webhook asks target clusters.
    pub access: Arc<dyn crate::target_access::TargetAccess>,
    /// The decision pipeline's configuration, derived once from `config`.
    pub authz: breakglass_core::authz::AuthzConfig,
    /// The audit pipeline (records nothing until an AuditConfig is in effect).
    pub audit: Arc<crate::audit::Audit>,
}

impl App {
    /// True when every mirror is synced and the identity providers are loaded.
    pub fn is_ready(&self) -> bool {
        self.stores.is_synced() && self.auth_ready.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Group prefixes to strip, longest first.
    pub fn prefixes(&self) -> &[String] {
        &self.authz.oidc_prefixes
    }
}
