//! Which escalations a requester may use: cluster targeting, requester groups, OIDC
//! group prefixes and identity-provider restrictions.
//!
//! Groups are compared after stripping the configured OIDC prefixes (`oidc:`,
//! `keycloak:` …) on both sides, so an escalation written with bare group names matches
//! tokens whose groups carry a prefix and vice versa.

use breakglass_api::breakglass_escalation::{
    BreakglassEscalation, BreakglassEscalationApprovers, BreakglassEscalationSpec,
};

use crate::glob;

/// Strips the first matching prefix of `prefixes` from `group`.
pub fn strip_prefix<'a>(group: &'a str, prefixes: &[String]) -> &'a str {
    prefixes
        .iter()
        .filter(|p| !p.is_empty())
        .find_map(|p| group.strip_prefix(p.as_str()))
        .unwrap_or(group)
}

/// The groups with prefixes stripped, empty entries dropped, duplicates removed
/// (first occurrence kept). Linear in the number of groups: they come from the caller.
pub fn normalize_groups<S: AsRef<str>>(groups: &[S], prefixes: &[String]) -> Vec<String> {
    let mut seen: std::collections::HashSet<&str> =
        std::collections::HashSet::with_capacity(groups.len());
    let mut out: Vec<String> = Vec::with_capacity(groups.len());
    for group in groups {
        let stripped = strip_prefix(group.as_ref(), prefixes);
        if !stripped.is_empty() && seen.insert(stripped) {
            out.push(stripped.to_owned());
        }
    }
    out
}

/// True when the escalation targets `cluster`: a glob of `allowed.clusters` or of
/// `clusterConfigRefs` matches it. Invalid globs never match.
pub fn targets_cluster(spec: &BreakglassEscalationSpec, cluster: &str) -> bool {
    let allowed = spec
        .allowed
        .as_ref()
        .and_then(|a| a.clusters.as_deref())
        .unwrap_or_default();
    let refs = spec.cluster_config_refs.as_deref().unwrap_or_default();
    glob::match_any(allowed, cluster) || glob::match_any(refs, cluster)
}

/// True when one of the requester's (normalised) groups is in `allowed.groups`
/// (normalised the same way). Exact names: `allowed.groups` takes no globs.
pub fn requester_in_allowed_groups(
    spec: &BreakglassEscalationSpec,
    user_groups: &[String],
    prefixes: &[String],
) -> bool {
    let allowed = spec
        .allowed
        .as_ref()
        .and_then(|a| a.groups.as_deref())
        .unwrap_or_default();
    allowed
        .iter()
        .map(|g| strip_prefix(g, prefixes))
        .any(|g| user_groups.iter().any(|u| u == g))
}

/// The identity providers allowed for requesting, or `None` when unrestricted.
pub fn request_idps(spec: &BreakglassEscalationSpec) -> Option<&[String]> {
    non_empty(spec.allowed_identity_providers.as_deref())
        .or_else(|| non_empty(spec.allowed_identity_providers_for_requests.as_deref()))
}

/// The identity providers allowed for approving, or `None` when unrestricted.
pub fn approver_idps(spec: &BreakglassEscalationSpec) -> Option<&[String]> {
    non_empty(spec.allowed_identity_providers.as_deref())
        .or_else(|| non_empty(spec.allowed_identity_providers_for_approvers.as_deref()))
}

/// True when the escalation restricts identity providers in any way.
pub fn restricts_idps(spec: &BreakglassEscalationSpec) -> bool {
    request_idps(spec).is_some() || approver_idps(spec).is_some()
}

/// True when `provider` (the IdentityProvider name that verified the token) may
/// request. Unrestricted escalations allow every provider, including an unknown one;
/// restricted ones fail closed on an unknown provider.
pub fn provider_may_request(spec: &BreakglassEscalationSpec, provider: Option<&str>) -> bool {
    match request_idps(spec) {
        None => true,
        Some(list) => provider.is_some_and(|p| list.iter().any(|l| l == p)),
    }
}

/// True when `provider` may approve; see [`provider_may_request`].
pub fn provider_may_approve(spec: &BreakglassEscalationSpec, provider: Option<&str>) -> bool {
    match approver_idps(spec) {
        None => true,
        Some(list) => provider.is_some_and(|p| list.iter().any(|l| l == p)),
    }
}

fn non_empty(list: Option<&[String]>) -> Option<&[String]> {
    list.filter(|l| !l.is_empty())
}

/// What a requester asks for.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Target cluster name.
    pub cluster: &'a str,
    /// Requester groups, already normalised with [`normalize_groups`].
    pub user_groups: &'a [String],
    /// Name of the IdentityProvider that verified the requester's token.
    pub provider: Option<&'a str>,
}

/// True when the escalation is offered to the requester on the cluster: it is Ready,
/// targets the cluster, lists one of the requester's groups and allows their provider.
pub fn is_available(
    escalation: &BreakglassEscalation,
    request: &Request<'_>,
    prefixes: &[String],
) -> bool {
    let spec = &escalation.spec;
    escalation.is_ready()
        && targets_cluster(spec, request.cluster)
        && requester_in_allowed_groups(spec, request.user_groups, prefixes)
        && provider_may_request(spec, request.provider)
}

/// [`is_available`] for a caller whose normalised groups are a set: each allowed group
/// is one lookup, so the cost does not multiply the caller's groups (which a webhook
/// caller chooses) by the escalation's list.
pub fn is_available_to_set(
    escalation: &BreakglassEscalation,
    cluster: &str,
    user_groups: &std::collections::HashSet<&str>,
    provider: Option<&str>,
    prefixes: &[String],
) -> bool {
    let spec = &escalation.spec;
    escalation.is_ready()
        && targets_cluster(spec, cluster)
        && provider_may_request(spec, provider)
        && spec
            .allowed
            .as_ref()
            .and_then(|a| a.groups.as_deref())
            .unwrap_or_default()
            .iter()
            .any(|g| user_groups.contains(strip_prefix(g, prefixes)))
}

/// The escalations that grant `group` to the requester on the cluster, in a stable
/// order (namespace, then name), so that every replica picks the same one.
pub fn matching<'e>(
    escalations: impl IntoIterator<Item = &'e BreakglassEscalation>,
    request: &Request<'_>,
    group: &str,
    prefixes: &[String],
) -> Vec<&'e BreakglassEscalation> {
    let group = strip_prefix(group, prefixes);
    let mut out: Vec<&BreakglassEscalation> = escalations
        .into_iter()
        .filter(|e| strip_prefix(&e.spec.escalated_group, prefixes) == group)
        .filter(|e| is_available(e, request, prefixes))
        .collect();
    out.sort_by(|a, b| {
        (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name))
    });
    out
}

/// The approvers as shown to requesters: entries of `hiddenFromUI` removed from both
/// the user and the group list.
pub fn visible_approvers(
    approvers: &BreakglassEscalationApprovers,
) -> BreakglassEscalationApprovers {
    let hidden = approvers.hidden_from_ui.as_deref().unwrap_or_default();
    let keep = |list: &Option<Vec<String>>| {
        list.as_ref().map(|l| {
            l.iter()
                .filter(|x| !hidden.contains(x))
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    BreakglassEscalationApprovers {
        users: keep(&approvers.users),
        groups: keep(&approvers.groups),
        hidden_from_ui: None,
    }
}

/// Names of the objects an escalation may reference, as the hub has them now.
#[derive(Debug, Clone, Copy, Default)]
pub struct KnownObjects<'a> {
    /// IdentityProvider names.
    pub identity_providers: &'a [String],
    /// ClusterConfig names.
    pub cluster_configs: &'a [String],
    /// DenyPolicy names.
    pub deny_policies: &'a [String],
}

/// The status conditions of an escalation: `ConfigValidated` (from the field
/// validation errors passed in), `IDPRefsValid`, `ClusterRefsValid` (exact
/// `clusterConfigRefs` must exist; globs are not checked), `DenyPolicyRefsValid`, and
/// `Ready` when all of them hold. Only a Ready escalation is offered or used.
pub fn readiness_conditions(
    spec: &BreakglassEscalationSpec,
    validation_errors: &[String],
    known: KnownObjects<'_>,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    use breakglass_api::breakglass_escalation::BreakglassEscalationConditionType as T;
    let missing = |refs: &[&String], known: &[String]| -> Vec<String> {
        refs.iter()
            .filter(|r| !known.contains(r))
            .map(|r| (*r).clone())
            .collect()
    };
    let idp_refs: Vec<&String> = [
        spec.allowed_identity_providers.as_deref(),
        spec.allowed_identity_providers_for_requests.as_deref(),
        spec.allowed_identity_providers_for_approvers.as_deref(),
    ]
    .into_iter()
    .flatten()
    .flatten()
    .collect();
    let cluster_refs: Vec<&String> = spec
        .cluster_config_refs
        .iter()
        .flatten()
        .filter(|r| !glob::has_meta(r))
        .collect();
    let deny_refs: Vec<&String> = spec.deny_policy_refs.iter().flatten().collect();
    let checks = [
        (
            T::ConfigValidated,
            validation_errors.to_vec(),
            "Valid",
            "Invalid",
            "configuration is valid".to_owned(),
        ),
        (
            T::IdpRefsValid,
            missing(&idp_refs, known.identity_providers),
            "IdentityProvidersFound",
            "IdentityProviderNotFound",
            "referenced identity providers exist".to_owned(),
        ),
        (
            T::ClusterRefsValid,
            missing(&cluster_refs, known.cluster_configs),
            "ClusterConfigsFound",
            "ClusterConfigNotFound",
            "referenced clusters exist".to_owned(),
        ),
        (
            T::DenyPolicyRefsValid,
            missing(&deny_refs, known.deny_policies),
            "DenyPoliciesFound",
            "DenyPolicyNotFound",
            "referenced deny policies exist".to_owned(),
        ),
    ];
    let mut conditions = Vec::new();
    let mut problems = Vec::new();
    for (type_, errors, ok_reason, bad_reason, ok_message) in checks {
        let c = if errors.is_empty() {
            crate::condition::new(
                type_.as_str(),
                crate::condition::TRUE,
                ok_reason,
                ok_message,
                now,
            )
        } else {
            let message = match type_ {
                T::ConfigValidated => errors.join("; "),
                _ => format!("not found: {}", errors.join(", ")),
            };
            problems.push(format!("{}: {message}", type_.as_str()));
            crate::condition::new(
                type_.as_str(),
                crate::condition::FALSE,
                bad_reason,
                message,
                now,
            )
        };
        conditions.push(c);
    }
    let ready = if problems.is_empty() {
        crate::condition::new(
            T::Ready.as_str(),
            crate::condition::TRUE,
            "Ready",
            "escalation is ready",
            now,
        )
    } else {
        crate::condition::new(
            T::Ready.as_str(),
            crate::condition::FALSE,
            "NotReady",
            problems.join("; "),
            now,
        )
    };
    conditions.insert(0, ready);
    for c in &mut conditions {
        c.observed_generation = generation;
    }
    conditions
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use breakglass_api::breakglass_escalation::BreakglassEscalationAllowed;

    fn esc(
        name: &str,
        clusters: &[&str],
        groups: &[&str],
        escalated: &str,
    ) -> BreakglassEscalation {
        let mut e = BreakglassEscalation::new(
            name,
            BreakglassEscalationSpec {
                allowed: Some(BreakglassEscalationAllowed {
                    clusters: Some(clusters.iter().map(|s| s.to_string()).collect()),
                    groups: Some(groups.iter().map(|s| s.to_string()).collect()),
                }),
                escalated_group: escalated.to_owned(),
                ..Default::default()
            },
        );
        e.metadata.namespace = Some("ns".to_owned());
        e
    }

    fn p(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn prefixes_are_stripped_once_and_first_match_wins() {
        let prefixes = p(&["oidc:", "keycloak:"]);
        assert_eq!(strip_prefix("oidc:dev", &prefixes), "dev");
        assert_eq!(strip_prefix("keycloak:dev", &prefixes), "dev");
        assert_eq!(strip_prefix("oidc:oidc:dev", &prefixes), "oidc:dev");
        assert_eq!(strip_prefix("dev", &prefixes), "dev");
        assert_eq!(strip_prefix("oidc:", &prefixes), "");
        assert_eq!(
            normalize_groups(&["oidc:a", "a", "", "oidc:", "b"], &prefixes),
            vec!["a", "b"]
        );
    }

    #[test]
    fn cluster_targeting_by_glob_or_cluster_config_refs() {
        let e = esc("e", &["prod-*"], &["dev"], "g");
        assert!(targets_cluster(&e.spec, "prod-eu"));
        assert!(!targets_cluster(&e.spec, "staging"));
        let mut e = esc("e", &[], &["dev"], "g");
        e.spec.cluster_config_refs = Some(p(&["staging"]));
        assert!(targets_cluster(&e.spec, "staging"));
        assert!(!targets_cluster(&e.spec, "prod"));
        let e = esc("e", &["[bad"], &["dev"], "g");
        assert!(!targets_cluster(&e.spec, "[bad"));
    }

    #[test]
    fn availability_against_a_group_set_agrees_with_is_available() {
        let prefixes = p(&["oidc:"]);
        let escalations = [
            esc("a", &["prod-*"], &["oidc:developers"], "g"),
            esc("b", &["prod-*"], &["ops"], "g"),
            esc("c", &["staging"], &["developers"], "g"),
            esc("d", &["*"], &["system:authenticated"], "g"),
        ];
        let cases: [&[&str]; 4] = [
            &["oidc:developers"],
            &["ops", "x"],
            &[],
            &["developers", "oidc:ops"],
        ];
        for (groups, cluster) in cases.iter().flat_map(|g| [(g, "prod-eu"), (g, "staging")]) {
            let mut user = normalize_groups(groups, &prefixes);
            user.push("system:authenticated".to_owned());
            let set: std::collections::HashSet<&str> = user.iter().map(String::as_str).collect();
            let req = Request {
                cluster,
                user_groups: &user,
                provider: None,
            };
            for e in &escalations {
                assert_eq!(
                    is_available_to_set(e, cluster, &set, None, &prefixes),
                    is_available(e, &req, &prefixes),
                    "{:?} {groups:?} {cluster}",
                    e.metadata.name
                );
            }
        }
    }

    #[test]
    fn requester_groups_compare_without_prefixes() {
        let prefixes = p(&["oidc:"]);
        let e = esc("e", &["*"], &["oidc:developers"], "g");
        let groups = normalize_groups(&["oidc:developers"], &prefixes);
        assert!(requester_in_allowed_groups(&e.spec, &groups, &prefixes));
        let e = esc("e", &["*"], &["developers"], "g");
        assert!(requester_in_allowed_groups(&e.spec, &groups, &prefixes));
        assert!(!requester_in_allowed_groups(
            &e.spec,
            &p(&["developers-x"]),
            &prefixes
        ));
        // No globs in allowed.groups.
        let e = esc("e", &["*"], &["dev*"], "g");
        assert!(!requester_in_allowed_groups(
            &e.spec,
            &p(&["developers"]),
            &prefixes
        ));
    }

    #[test]
    fn identity_provider_restrictions_fail_closed() {
        let mut e = esc("e", &["*"], &["dev"], "g");
        assert!(provider_may_request(&e.spec, None));
        assert!(!restricts_idps(&e.spec));
        e.spec.allowed_identity_providers = Some(p(&["corp"]));
        assert!(provider_may_request(&e.spec, Some("corp")));
        assert!(provider_may_approve(&e.spec, Some("corp")));
        assert!(!provider_may_request(&e.spec, Some("contractors")));
        assert!(!provider_may_request(&e.spec, None));
        let mut e = esc("e", &["*"], &["dev"], "g");
        e.spec.allowed_identity_providers_for_requests = Some(p(&["contractors"]));
        e.spec.allowed_identity_providers_for_approvers = Some(p(&["corp"]));
        assert!(provider_may_request(&e.spec, Some("contractors")));
        assert!(!provider_may_approve(&e.spec, Some("contractors")));
        assert!(provider_may_approve(&e.spec, Some("corp")));
        assert!(restricts_idps(&e.spec));
    }

    #[test]
    fn matching_filters_and_orders_escalations() {
        let prefixes = p(&["oidc:"]);
        let groups = p(&["developers"]);
        let mut b = esc("b", &["target-*"], &["developers"], "admin");
        b.metadata.namespace = Some("z".to_owned());
        let a = esc("a", &["target-a"], &["developers"], "oidc:admin");
        let other_group = esc("c", &["*"], &["developers"], "viewer");
        let other_cluster = esc("d", &["prod"], &["developers"], "admin");
        let not_mine = esc("e", &["*"], &["ops"], "admin");
        let mut not_ready = esc("f", &["*"], &["developers"], "admin");
        not_ready.metadata.generation = Some(2);
        let all = [b, a, other_group, other_cluster, not_mine, not_ready];
        let req = Request {
            cluster: "target-a",
            user_groups: &groups,
            provider: Some("dex"),
        };
        let names: Vec<_> = matching(&all, &req, "admin", &prefixes)
            .iter()
            .map(|e| e.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(names, vec!["a", "b"]);
        assert!(matching(&all, &req, "nope", &prefixes).is_empty());
    }

    #[test]
    fn readiness_reports_each_missing_reference() {
        let now = jiff::Timestamp::UNIX_EPOCH;
        let mut e = esc("e", &["*"], &["dev"], "g");
        let known_idps = p(&["corp"]);
        let known_clusters = p(&["target-a"]);
        let known = KnownObjects {
            identity_providers: &known_idps,
            cluster_configs: &known_clusters,
            deny_policies: &[],
        };
        let ready = |c: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]| {
            crate::condition::find(c, "Ready").unwrap().status.clone()
        };
        let c = readiness_conditions(&e.spec, &[], known, Some(3), now);
        assert_eq!(ready(&c), "True");
        assert!(c.iter().all(|c| c.observed_generation == Some(3)));
        e.spec.allowed_identity_providers = Some(p(&["corp", "missing-idp"]));
        e.spec.cluster_config_refs = Some(p(&["target-a", "prod-*", "gone"]));
        e.spec.deny_policy_refs = Some(p(&["no-such-policy"]));
        let c = readiness_conditions(&e.spec, &["spec.x: bad".to_owned()], known, None, now);
        assert_eq!(ready(&c), "False");
        let msg = |t: &str| crate::condition::find(&c, t).unwrap().message.clone();
        assert_eq!(msg("IDPRefsValid"), "not found: missing-idp");
        assert_eq!(msg("ClusterRefsValid"), "not found: gone");
        assert_eq!(msg("DenyPolicyRefsValid"), "not found: no-such-policy");
        assert_eq!(msg("ConfigValidated"), "spec.x: bad");
        assert!(msg("Ready").contains("IDPRefsValid"));
    }

    #[test]
    fn hidden_approvers_are_removed() {
        let approvers = BreakglassEscalationApprovers {
            users: Some(p(&["alice@example.com", "bot@example.com"])),
            groups: Some(p(&["sre", "security-oncall"])),
            hidden_from_ui: Some(p(&["bot@example.com", "security-oncall"])),
        };
        let shown = visible_approvers(&approvers);
        assert_eq!(shown.users, Some(p(&["alice@example.com"])));
        assert_eq!(shown.groups, Some(p(&["sre"])));
        assert_eq!(shown.hidden_from_ui, None);
    }
}
