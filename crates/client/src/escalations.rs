//! Endpoints: escalations (`/api/breakglassEscalations`).
//!
//! The server has one escalation route, the list; a single escalation and the clusters
//! escalations target are read from it.

use std::collections::BTreeMap;

use breakglass_api::rest::escalations::{EscalationList, EscalationQuery, EscalationView};

use crate::{Client, Error};

/// One cluster pattern the caller's escalations name, with what they grant there.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EscalationCluster {
    /// A cluster name or glob from an escalation's `allowed.clusters` or
    /// `clusterConfigRefs`.
    pub cluster: String,
    /// The groups escalations grant there, sorted, without repeats.
    pub groups: Vec<String>,
    /// `namespace/name` of those escalations, sorted.
    pub escalations: Vec<String>,
}

impl Client {
    /// `GET /api/breakglassEscalations`: escalations the caller may request.
    pub async fn list_escalations(&self, query: &EscalationQuery) -> Result<EscalationList, Error> {
        self.get("api/breakglassEscalations", query).await
    }

    /// The escalations called `name` (a bare name, or `namespace/name`), from the list
    /// including ones that are not ready: empty when the caller may request none, more
    /// than one when a bare name is used in several namespaces.
    pub async fn find_escalations(&self, name: &str) -> Result<Vec<EscalationView>, Error> {
        let list = self
            .list_escalations(&EscalationQuery {
                cluster: None,
                active_only: Some(false),
            })
            .await?;
        let (ns, bare) = match name.split_once('/') {
            Some((ns, n)) => (Some(ns), n),
            None => (None, name),
        };
        Ok(list
            .items
            .into_iter()
            .filter(|e| e.metadata.name == bare && ns.is_none_or(|ns| e.metadata.namespace == ns))
            .collect())
    }

    /// The clusters the caller's escalations target (`allowed.clusters` and
    /// `clusterConfigRefs`, names or globs), each with the groups and escalations for it, by cluster.
    pub async fn escalation_clusters(
        &self,
        query: &EscalationQuery,
    ) -> Result<Vec<EscalationCluster>, Error> {
        Ok(clusters_of(&self.list_escalations(query).await?.items))
    }
}

/// Groups escalations by the clusters they name.
pub fn clusters_of(escalations: &[EscalationView]) -> Vec<EscalationCluster> {
    let mut by_cluster: BTreeMap<String, EscalationCluster> = BTreeMap::new();
    for e in escalations {
        let clusters = e
            .spec
            .allowed
            .as_ref()
            .and_then(|a| a.clusters.as_deref())
            .unwrap_or_default()
            .iter()
            .chain(e.spec.cluster_config_refs.as_deref().unwrap_or_default());
        for c in clusters {
            let entry = by_cluster
                .entry(c.clone())
                .or_insert_with(|| EscalationCluster {
                    cluster: c.clone(),
                    ..EscalationCluster::default()
                });
            entry.groups.push(e.spec.escalated_group.clone());
            entry
                .escalations
                .push(format!("{}/{}", e.metadata.namespace, e.metadata.name));
        }
    }
    by_cluster
        .into_values()
        .map(|mut c| {
            c.groups.sort();
            c.groups.dedup();
            c.escalations.sort();
            c.escalations.dedup();
            c
        })
        .collect()
}
