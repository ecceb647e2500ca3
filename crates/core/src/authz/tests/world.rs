//! A whole decision world: everything an [`AuthzInput`] borrows, and the pipeline run
//! the way the server runs it.

use std::collections::BTreeMap;

use breakglass_api::breakglass_escalation::PodSecurityOverrides;
use breakglass_api::{BreakglassSession, DenyPolicy};
use k8s_openapi::api::core::v1::Pod;

use super::fixtures::*;
use crate::authz::*;

/// Owns everything an [`AuthzInput`] borrows, with defaults for a plain request.
pub struct World {
    pub cluster: Option<ClusterInfo>,
    pub request: SarRequest,
    pub sessions: Vec<(BreakglassSession, Option<PodSecurityOverrides>)>,
    pub policies: Vec<DenyPolicy>,
    pub debug: Option<DebugSessionAllow>,
    pub escalations: usize,
    pub idp: IdpHints,
    pub labels: Option<BTreeMap<String, String>>,
    pub labels_unavailable: bool,
    /// The request namespace does not exist on the target.
    pub namespace_missing: bool,
    pub pod: Option<Pod>,
    pub pod_unavailable: bool,
    pub config: AuthzConfig,
}

impl World {
    pub fn new(request: SarRequest) -> Self {
        Self {
            cluster: Some(cluster()),
            request,
            sessions: Vec::new(),
            policies: Vec::new(),
            debug: None,
            escalations: 0,
            idp: IdpHints::default(),
            labels: None,
            labels_unavailable: false,
            namespace_missing: false,
            pod: None,
            pod_unavailable: false,
            config: AuthzConfig {
                oidc_prefixes: vec!["oidc:".into(), "keycloak:".into()],
                ..AuthzConfig::default()
            },
        }
    }

    pub fn session(mut self, s: BreakglassSession) -> Self {
        self.sessions.push((s, None));
        self
    }

    pub fn session_with(mut self, s: BreakglassSession, o: PodSecurityOverrides) -> Self {
        self.sessions.push((s, Some(o)));
        self
    }

    pub fn policy(mut self, p: DenyPolicy) -> Self {
        self.policies.push(p);
        self
    }

    pub fn labels(mut self, pairs: &[(&str, &str)]) -> Self {
        self.labels = Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        self
    }

    pub fn pod(mut self, p: Pod) -> Self {
        self.pod = Some(p);
        self
    }

    /// Builds the input (nothing fetched unless given) and hands it to `f`.
    pub fn with_input<R>(
        &self,
        labels: NamespaceLabels<'_>,
        pod: PodInfo<'_>,
        f: impl FnOnce(&AuthzInput<'_>) -> R,
    ) -> R {
        let sessions: Vec<SessionInput<'_>> = self
            .sessions
            .iter()
            .map(|(s, o)| SessionInput {
                session: s,
                pod_security_overrides: o.as_ref(),
            })
            .collect();
        let policies: Vec<&DenyPolicy> = self.policies.iter().collect();
        let input = AuthzInput {
            cluster_name: CLUSTER,
            cluster: self.cluster.as_ref(),
            request: &self.request,
            sessions: &sessions,
            policies: &policies,
            debug_session: self.debug.as_ref(),
            escalations_available: self.escalations,
            idp: &self.idp,
            namespace_labels: labels,
            pod,
            now: now(),
        };
        f(&input)
    }

    /// Runs the whole pipeline, fetching what `data_needs` asks for from this world and
    /// answering each candidate's group check with `cluster_allows`.
    pub fn decide_with(&self, cluster_allows: &dyn Fn(&Candidate) -> ProbeOutcome) -> Decision {
        self.with_input(NamespaceLabels::NotFetched, PodInfo::NotFetched, |input| {
            decide(
                input,
                &self.config,
                |needs, filled| {
                    if needs.namespace_labels.is_some() {
                        filled.namespace_labels = match (&self.labels, self.labels_unavailable) {
                            _ if self.namespace_missing => NamespaceLabels::Missing,
                            (Some(l), false) => NamespaceLabels::Known(l),
                            _ => NamespaceLabels::Unavailable,
                        };
                    }
                    if needs.pod.is_some() {
                        filled.pod = match (&self.pod, self.pod_unavailable) {
                            (Some(p), false) => PodInfo::Known(p),
                            _ => PodInfo::Unavailable,
                        };
                    }
                },
                |plan| GroupCheckResults {
                    combined: ProbeOutcome::NotRun,
                    sessions: plan
                        .candidates
                        .iter()
                        .map(|c| SessionCheck {
                            namespace: c.namespace.clone(),
                            session: c.session.clone(),
                            outcome: cluster_allows(c),
                        })
                        .collect(),
                },
            )
        })
    }

    /// The target cluster allows every session group (in its first spelling).
    pub fn decide(&self) -> Decision {
        self.decide_with(&|c| ProbeOutcome::Allowed {
            group: c.spellings.first().cloned().unwrap_or_default(),
        })
    }

    /// What `data_needs` asks for.
    pub fn needs(&self) -> DataNeeds {
        self.with_input(NamespaceLabels::NotFetched, PodInfo::NotFetched, data_needs)
    }
}
