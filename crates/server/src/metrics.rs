//! Prometheus metrics, named as the reference names them (`breakglass_*`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Label set with only a cluster.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterLabel {
    /// Cluster name.
    pub cluster: String,
}

/// Label set of an API endpoint.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabel {
    /// Route template, e.g. `/api/breakglassSessions/{name}/approve`.
    pub endpoint: String,
}

/// Label set of an API error.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointStatusLabel {
    /// Route template.
    pub endpoint: String,
    /// HTTP status code.
    pub status_code: String,
}

/// Label set of a failed session creation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterReasonLabel {
    /// Cluster name.
    pub cluster: String,
    /// Short machine-readable reason.
    pub reason: String,
}

/// Label set of a JWT validation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IdpLabel {
    /// Identity provider name (or `unknown`).
    pub identity_provider: String,
}

/// Label set of a failed JWT validation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IdpReasonLabel {
    /// Identity provider name (or `unknown`).
    pub identity_provider: String,
    /// Why it failed.
    pub reason: String,
}

/// Label set of session activity.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterGroupLabel {
    /// Cluster name.
    pub cluster: String,
    /// The session's group.
    pub granted_group: String,
}

/// Label set of a webhook decision.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabel {
    /// Cluster name.
    pub cluster: String,
    /// `allowed` or `denied`.
    pub decision: String,
    /// The reference's source label (`session`, `global`, `cluster-missing`, …).
    pub deny_source: String,
    /// The deciding stage (`session`, `deny-policy`, `pod-security`, `no-session`, …).
    pub stage: String,
}

/// Label set of the webhook latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterDecisionLabel {
    /// Cluster name.
    pub cluster: String,
    /// `allowed` or `denied`.
    pub decision: String,
}

/// Label set of a pod-security evaluation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PodSecurityLabel {
    /// Cluster name.
    pub cluster: String,
    /// DenyPolicy name.
    pub policy: String,
    /// `allow`, `warn` or `deny`.
    pub action: String,
}

/// Every metric the server exports. Cloning is cheap: metrics are shared handles.
#[derive(Clone)]
pub struct Metrics {
    /// Sessions created.
    pub session_created: Family<ClusterLabel, Counter>,
    /// Session creations refused.
    pub session_create_failed: Family<ClusterReasonLabel, Counter>,
    /// Session status updates written.
    pub session_updated: Family<ClusterLabel, Counter>,
    /// Sessions deleted after retention.
    pub session_deleted: Family<ClusterLabel, Counter>,
    /// Sessions expired by time.
    pub session_expired: Family<ClusterLabel, Counter>,
    /// Sessions expired by idleness.
    pub session_idle_expired: Family<ClusterLabel, Counter>,
    /// Sessions approved for a later start.
    pub session_scheduled: Family<ClusterLabel, Counter>,
    /// Sessions that became active.
    pub session_activated: Family<ClusterLabel, Counter>,
    /// Sessions approved.
    pub session_approved: Family<ClusterLabel, Counter>,
    /// Sessions rejected.
    pub session_rejected: Family<ClusterLabel, Counter>,
    /// Debug sessions failed because their `bindingRef` could not be used, by reason
    /// (`not_found`, `inactive`).
    pub debug_binding_unresolved: Family<ClusterReasonLabel, Counter>,
    /// API requests by endpoint.
    pub api_requests: Family<EndpointLabel, Counter>,
    /// API errors by endpoint and status.
    pub api_errors: Family<EndpointStatusLabel, Counter>,
    /// API latency by endpoint.
    pub api_duration: Family<EndpointLabel, Histogram, fn() -> Histogram>,
    /// Token validations attempted.
    pub jwt_requests: Family<IdpLabel, Counter>,
    /// Token validations that succeeded.
    pub jwt_success: Family<IdpLabel, Counter>,
    /// Token validations that failed.
    pub jwt_failure: Family<IdpReasonLabel, Counter>,
    /// ClusterConfigs checked.
    pub clusterconfigs_checked: Family<ClusterLabel, Counter>,
    /// ClusterConfig checks that failed.
    pub clusterconfigs_failed: Family<ClusterLabel, Counter>,
    /// Requests to a target that waited for a token of its `spec.qps`/`burst` limit.
    pub target_client_throttled: Family<ClusterLabel, Counter>,
    /// Requests to a target not sent: no token of its limit within the bounded wait.
    pub target_client_rejected: Family<ClusterLabel, Counter>,
    /// 1 while this replica is the leader.
    pub leader: Gauge,
    /// Webhook reviews received.
    pub webhook_requests: Family<ClusterLabel, Counter>,
    /// Webhook reviews refused as malformed.
    pub webhook_malformed: Family<ClusterLabel, Counter>,
    /// Webhook decisions by result and deciding stage.
    pub webhook_decisions: Family<DecisionLabel, Counter>,
    /// Webhook reviews allowed.
    pub webhook_allowed: Family<ClusterLabel, Counter>,
    /// Webhook reviews denied.
    pub webhook_denied: Family<ClusterLabel, Counter>,
    /// Webhook decision latency.
    pub webhook_duration: Family<ClusterDecisionLabel, Histogram, fn() -> Histogram>,
    /// Group checks the target allowed.
    pub session_sar_allowed: Family<ClusterLabel, Counter>,
    /// Group checks the target refused.
    pub session_sar_denied: Family<ClusterLabel, Counter>,
    /// Group checks that failed.
    pub session_sar_errors: Family<ClusterLabel, Counter>,
    /// Requests granted by a session.
    pub session_activity: Family<ClusterGroupLabel, Counter>,
    /// Pod-security evaluations.
    pub pod_security_evaluations: Family<PodSecurityLabel, Counter>,
    /// The mirrors of the targets' RBAC.
    pub rbac: crate::rbac::RbacMetrics,
    /// How long revoked sessions kept granting.
    pub revocation: crate::revocation::RevocationClock,
}

fn webhook_histogram() -> Histogram {
    Histogram::new([
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    ])
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    ])
}

impl Metrics {
    /// Creates the metrics and registers them under the `breakglass` prefix.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Self {
            session_created: Family::default(),
            session_create_failed: Family::default(),
            session_updated: Family::default(),
            session_deleted: Family::default(),
            session_expired: Family::default(),
            session_idle_expired: Family::default(),
            session_scheduled: Family::default(),
            session_activated: Family::default(),
            session_approved: Family::default(),
            session_rejected: Family::default(),
            debug_binding_unresolved: Family::default(),
            api_requests: Family::default(),
            api_errors: Family::default(),
            api_duration: Family::new_with_constructor(latency_histogram),
            jwt_requests: Family::default(),
            jwt_success: Family::default(),
            jwt_failure: Family::default(),
            clusterconfigs_checked: Family::default(),
            clusterconfigs_failed: Family::default(),
            target_client_throttled: Family::default(),
            target_client_rejected: Family::default(),
            leader: Gauge::default(),
            webhook_requests: Family::default(),
            webhook_malformed: Family::default(),
            webhook_decisions: Family::default(),
            webhook_allowed: Family::default(),
            webhook_denied: Family::default(),
            webhook_duration: Family::new_with_constructor(webhook_histogram),
            session_sar_allowed: Family::default(),
            session_sar_denied: Family::default(),
            session_sar_errors: Family::default(),
            session_activity: Family::default(),
            pod_security_evaluations: Family::default(),
            rbac: crate::rbac::RbacMetrics::default(),
            revocation: crate::revocation::RevocationClock::default(),
        };
        metrics.register_sessions(registry);
        metrics.register_service(registry);
        metrics.register_webhook(registry);
        metrics
    }

    /// Registers the session lifecycle counters.
    fn register_sessions(&self, r: &mut Registry) {
        r.register(
            "session_created",
            "Sessions created",
            self.session_created.clone(),
        );
        r.register(
            "session_create_failed",
            "Session creations refused",
            self.session_create_failed.clone(),
        );
        r.register(
            "session_updated",
            "Session status updates",
            self.session_updated.clone(),
        );
        r.register(
            "session_deleted",
            "Sessions deleted after retention",
            self.session_deleted.clone(),
        );
        r.register(
            "session_expired",
            "Sessions expired by time",
            self.session_expired.clone(),
        );
        r.register(
            "session_idle_expired",
            "Sessions expired after inactivity",
            self.session_idle_expired.clone(),
        );
        r.register(
            "session_scheduled",
            "Sessions approved for a later start",
            self.session_scheduled.clone(),
        );
        r.register(
            "session_activated",
            "Sessions that became active",
            self.session_activated.clone(),
        );
        r.register(
            "session_approved",
            "Sessions approved",
            self.session_approved.clone(),
        );
        r.register(
            "session_rejected",
            "Sessions rejected",
            self.session_rejected.clone(),
        );
        r.register(
            "debug_session_binding_unresolved",
            "Debug sessions whose bindingRef could not be used",
            self.debug_binding_unresolved.clone(),
        );
    }

    /// Registers the aPI, token, cluster-check and leadership metrics.
    fn register_service(&self, r: &mut Registry) {
        r.register(
            "api_endpoint_requests",
            "API requests",
            self.api_requests.clone(),
        );
        r.register("api_endpoint_errors", "API errors", self.api_errors.clone());
        r.register(
            "api_endpoint_duration_seconds",
            "API latency",
            self.api_duration.clone(),
        );
        r.register(
            "jwt_validation_requests",
            "Token validations",
            self.jwt_requests.clone(),
        );
        r.register(
            "jwt_validation_success",
            "Successful token validations",
            self.jwt_success.clone(),
        );
        r.register(
            "jwt_validation_failure",
            "Failed token validations",
            self.jwt_failure.clone(),
        );
        r.register(
            "clusterconfigs_checked",
            "ClusterConfig checks",
            self.clusterconfigs_checked.clone(),
        );
        r.register(
            "clusterconfigs_failed",
            "Failed ClusterConfig checks",
            self.clusterconfigs_failed.clone(),
        );
        r.register(
            "cluster_client_throttled",
            "Requests to a target cluster that waited for its client-side rate limit (spec.qps/burst)",
            self.target_client_throttled.clone(),
        );
        r.register(
            "cluster_client_rejected",
            "Requests to a target cluster not sent: no token of its rate limit within the bounded wait",
            self.target_client_rejected.clone(),
        );
        r.register("leader", "1 while this replica leads", self.leader.clone());
    }

    /// Registers the webhook decision metrics.
    fn register_webhook(&self, r: &mut Registry) {
        r.register(
            "webhook_sar_requests",
            "SubjectAccessReviews received",
            self.webhook_requests.clone(),
        );
        r.register(
            "webhook_sar_malformed",
            "SubjectAccessReviews refused as malformed",
            self.webhook_malformed.clone(),
        );
        r.register(
            "webhook_sar_decisions",
            "SubjectAccessReview decisions by result, source and stage",
            self.webhook_decisions.clone(),
        );
        r.register(
            "webhook_sar_allowed",
            "SubjectAccessReviews allowed",
            self.webhook_allowed.clone(),
        );
        r.register(
            "webhook_sar_denied",
            "SubjectAccessReviews denied",
            self.webhook_denied.clone(),
        );
        r.register(
            "webhook_sar_duration_seconds",
            "SubjectAccessReview decision latency",
            self.webhook_duration.clone(),
        );
        r.register(
            "webhook_session_sar_allowed",
            "Group checks the target cluster allowed",
            self.session_sar_allowed.clone(),
        );
        r.register(
            "webhook_session_sar_denied",
            "Group checks the target cluster refused",
            self.session_sar_denied.clone(),
        );
        r.register(
            "webhook_session_sar_errors",
            "Group checks that failed",
            self.session_sar_errors.clone(),
        );
        r.register(
            "webhook_rbac_local_checks",
            "Group checks answered from the mirrored target RBAC",
            self.rbac.local.clone(),
        );
        r.register(
            "webhook_rbac_fallback_checks",
            "Group checks sent to the target as SubjectAccessReviews, by why the mirror could not answer",
            self.rbac.fallback.clone(),
        );
        r.register(
            "revocation_latency_seconds",
            "From a session's deadline, or from learning that it ended, to the first decision for its user and cluster that no longer rests on it",
            self.revocation.latency.clone(),
        );
        r.register(
            "webhook_rbac_objects",
            "RBAC objects mirrored per target",
            self.rbac.objects.clone(),
        );
        r.register(
            "session_activity_requests",
            "Requests granted by a session",
            self.session_activity.clone(),
        );
        r.register(
            "pod_security_evaluations",
            "Pod-security evaluations by policy and action",
            self.pod_security_evaluations.clone(),
        );
    }

    /// Counts and times one webhook decision.
    pub fn observe_decision(
        &self,
        cluster: &str,
        decision: &breakglass_core::authz::Decision,
        seconds: f64,
    ) {
        let c = self::cluster(cluster);
        if decision.allowed {
            self.webhook_allowed.get_or_create(&c).inc();
        } else {
            self.webhook_denied.get_or_create(&c).inc();
        }
        self.webhook_decisions
            .get_or_create(&DecisionLabel {
                cluster: cluster.to_owned(),
                decision: decision.decision_label().to_owned(),
                deny_source: decision.deny_source().to_owned(),
                stage: decision.trace.stage.name().to_owned(),
            })
            .inc();
        self.webhook_duration
            .get_or_create(&ClusterDecisionLabel {
                cluster: cluster.to_owned(),
                decision: decision.decision_label().to_owned(),
            })
            .observe(seconds);
        for record in &decision.trace.pod_security {
            self.pod_security_evaluations
                .get_or_create(&PodSecurityLabel {
                    cluster: cluster.to_owned(),
                    policy: record.policy.clone(),
                    action: record.action.to_owned(),
                })
                .inc();
        }
    }

    /// Counts one API request.
    pub fn observe_api(&self, endpoint: &str, status: u16, seconds: f64) {
        let label = EndpointLabel {
            endpoint: endpoint.to_owned(),
        };
        self.api_requests.get_or_create(&label).inc();
        self.api_duration.get_or_create(&label).observe(seconds);
        if status >= 400 {
            self.api_errors
                .get_or_create(&EndpointStatusLabel {
                    endpoint: endpoint.to_owned(),
                    status_code: status.to_string(),
                })
                .inc();
        }
    }
}

/// Renders the registry in the Prometheus text format.
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, registry).is_err() {
        out.clear();
    }
    out
}

/// Counter-name helper: cluster label value.
pub fn cluster(name: &str) -> ClusterLabel {
    ClusterLabel {
        cluster: name.to_owned(),
    }
}

/// The cluster label for a name that came from a request: registered names as they are,
/// anything else as `_unknown`, so clients cannot create unbounded label values.
pub fn bounded_cluster(stores: &crate::store::Stores, name: &str) -> String {
    match stores.cluster(name) {
        crate::store::ClusterLookup::Missing => "_unknown".to_owned(),
        _ => name.to_owned(),
    }
}
