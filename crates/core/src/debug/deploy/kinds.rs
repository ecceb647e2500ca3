//! Which kinds a plan may hold (S002 "Allowed Resource Types").
//!
//! [`KNOWN_KINDS`](super::KNOWN_KINDS) is everything a plan can ever contain; cleanup
//! deletes labelled objects of exactly these. Auxiliary resources and the extra
//! documents of a rendered pod template may create the [`DEFAULT_AUXILIARY_KINDS`]
//! (the known kinds minus the workloads and the quota, which only the session itself
//! creates). A template's `allowedAuxiliaryResourceKinds` narrows that list; a binding's
//! `deniedAuxiliaryResourceKinds` removes kinds from it ([`narrow`], applied by the
//! merge). Nothing widens it: a template cannot create arbitrary or cluster-scoped
//! objects.

use breakglass_api::debug_common::ResourceKindRef;

use super::{KNOWN_KINDS, KindInfo};

/// Kinds auxiliary resources and extra pod-template documents may create by default.
pub const DEFAULT_AUXILIARY_KINDS: &[&str] = &[
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "PersistentVolumeClaim",
    "Service",
    "NetworkPolicy",
    "Role",
    "RoleBinding",
    "PodDisruptionBudget",
];

/// Well-known cluster-scoped kinds, named in refusals so the message says why.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "StorageClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "RuntimeClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "APIService",
    "CSIDriver",
    "IngressClass",
];

/// True for a kind Kubernetes keeps outside namespaces (as far as we know it).
pub fn is_cluster_scoped(kind: &str) -> bool {
    CLUSTER_SCOPED.contains(&kind)
}

/// The known kind with this group and kind (any version).
pub fn known(group: &str, kind: &str) -> Option<&'static KindInfo> {
    KNOWN_KINDS
        .iter()
        .find(|k| k.group == group && k.kind == kind)
}

/// The group of an `apiVersion` (`""` for `v1`).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

fn matches(r: &ResourceKindRef, k: &KindInfo) -> bool {
    r.group == k.group && (r.kind == "*" || r.kind == k.kind)
}

/// The default auxiliary kinds as [`KindInfo`]s.
pub fn default_auxiliary() -> impl Iterator<Item = &'static KindInfo> {
    KNOWN_KINDS
        .iter()
        .filter(|k| DEFAULT_AUXILIARY_KINDS.contains(&k.kind))
}

/// The kinds auxiliary resources may create under `allowed` (a template's
/// `allowedAuxiliaryResourceKinds`; `None`: the default list). Entries outside the
/// default list are ignored: the list only narrows.
pub fn allowed(allowed: Option<&[ResourceKindRef]>) -> Vec<&'static KindInfo> {
    default_auxiliary()
        .filter(|k| allowed.is_none_or(|list| list.iter().any(|r| matches(r, k))))
        .collect()
}

/// The effective allow-list of a template on a binding: the template's (or the
/// default) minus the binding's denials, written out kind by kind so the recorded
/// effective template says exactly what is allowed. No denials: the template's list
/// unchanged.
pub fn narrow(
    template: Option<&[ResourceKindRef]>,
    denied: Option<&[ResourceKindRef]>,
) -> Option<Vec<ResourceKindRef>> {
    let denied = denied.filter(|d| !d.is_empty());
    let Some(denied) = denied else {
        return template.map(<[ResourceKindRef]>::to_vec);
    };
    Some(
        allowed(template)
            .into_iter()
            .filter(|k| !denied.iter().any(|d| matches(d, k)))
            .map(|k| ResourceKindRef {
                group: k.group.to_owned(),
                kind: k.kind.to_owned(),
            })
            .collect(),
    )
}

/// Entries of an allowed or denied kinds list that match no kind auxiliary resources
/// can create, as `(index, detail)`: such an entry does nothing (an allowance that can
/// never allow, a denial that never denies — often a misspelt group), so validation
/// refuses it rather than accept a setting that is silently ignored.
pub fn ineffective(list: &[ResourceKindRef]) -> Vec<(usize, String)> {
    let known = || {
        default_auxiliary()
            .map(|k| format!("{} {}", k.api_version(), k.kind))
            .collect::<Vec<_>>()
            .join(", ")
    };
    list.iter()
        .enumerate()
        .filter(|(_, r)| !default_auxiliary().any(|k| matches(r, k)))
        .map(|(i, r)| {
            (
                i,
                format!(
                    "matches no kind of group {:?} that auxiliary resources may create ({})",
                    r.group,
                    known()
                ),
            )
        })
        .collect()
}
