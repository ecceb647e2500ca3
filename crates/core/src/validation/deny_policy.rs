//! DenyPolicy.

use breakglass_api::DenyPolicy;
use breakglass_api::common::ImpersonationMode;
use breakglass_api::deny_policy::{DenyRule, ImpersonationDenyRule, PodSecurityRules};

use super::error::{FieldError, Warning};
use super::path::Path;
use super::rules::{self, Errors, ListRules};
use super::selectors;

/// The factor names `blockFactors` can name (detected factors are compared by the part
/// before the first colon, e.g. `capability:NET_ADMIN:debug` → `capability`).
pub const BLOCK_FACTORS: &[&str] = &[
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "privilegedContainer",
    "hostPathWritable",
    "hostPathReadOnly",
    "runAsRoot",
    "capability",
];

fn non_empty<T>(list: Option<&Vec<T>>) -> bool {
    list.is_some_and(|l| !l.is_empty())
}

/// Validates a DenyPolicy: at least one of rules, impersonationRules and
/// podSecurityRules; non-negative precedence; every rule naming verbs, API groups and
/// resources; impersonation rule shapes; threshold scores ≥ 0; list limits.
pub fn validate_deny_policy(d: &DenyPolicy) -> Vec<FieldError> {
    let mut errs = Errors::new();
    let p = Path::new("spec");
    let spec = &d.spec;
    if !non_empty(spec.rules.as_ref())
        && !non_empty(spec.impersonation_rules.as_ref())
        && spec.pod_security_rules.is_none()
    {
        errs.push(FieldError::required(
            &p,
            "at least one of rules, impersonationRules or podSecurityRules is required",
        ));
    }
    if let Some(precedence) = spec.precedence {
        rules::int_range(
            &mut errs,
            &p.child("precedence"),
            precedence.into(),
            0,
            None,
        );
    }
    if let Some(scope) = &spec.applies_to {
        let sp = p.child("appliesTo");
        for (name, list) in [
            ("clusters", &scope.clusters),
            ("tenants", &scope.tenants),
            ("sessions", &scope.sessions),
        ] {
            if let Some(list) = list {
                rules::max_items(&mut errs, &sp.child(name), list, 50);
            }
        }
    }
    if let Some(rules_list) = &spec.rules {
        let rp = p.child("rules");
        rules::max_items(&mut errs, &rp, rules_list, 200);
        for (i, rule) in rules_list.iter().enumerate() {
            deny_rule(&mut errs, &rp.index(i), rule);
        }
    }
    if let Some(imp) = &spec.impersonation_rules {
        let ip = p.child("impersonationRules");
        rules::max_items(&mut errs, &ip, imp, 100);
        for (i, rule) in imp.iter().enumerate() {
            impersonation_rule(&mut errs, &ip.index(i), rule);
        }
    }
    if let Some(psr) = &spec.pod_security_rules {
        pod_security_rules(&mut errs, &p.child("podSecurityRules"), psr);
    }
    errs
}

fn deny_rule(errs: &mut Errors, p: &Path, rule: &DenyRule) {
    for (name, list, max) in [
        ("verbs", &rule.verbs, 20),
        ("apiGroups", &rule.api_groups, 50),
        ("resources", &rule.resources, 100),
    ] {
        if list.is_empty() {
            errs.push(FieldError::required(
                p.child(name),
                "at least one entry is required (use \"*\" for all)",
            ));
        }
        rules::max_items(errs, &p.child(name), list, max);
    }
    if let Some(f) = &rule.namespaces {
        selectors::namespace_filter(errs, &p.child("namespaces"), f);
    }
    if let Some(names) = &rule.resource_names {
        let np = p.child("resourceNames");
        rules::string_list(
            errs,
            &np,
            names,
            ListRules {
                max_items: Some(100),
                no_empty: true,
                no_duplicates: false,
            },
            rules::glob,
        );
    }
    if let Some(subs) = &rule.subresources {
        rules::max_items(errs, &p.child("subresources"), subs, 20);
    }
}

fn impersonation_rule(errs: &mut Errors, p: &Path, rule: &ImpersonationDenyRule) {
    let identities = non_empty(rule.identities.as_ref());
    let verbs = non_empty(rule.action_verbs.as_ref());
    if identities && verbs {
        errs.push(FieldError::forbidden(
            p.child("actionVerbs"),
            "identities and actionVerbs cannot be combined",
        ));
    }
    if !verbs
        && (non_empty(rule.target_resources.as_ref()) || non_empty(rule.target_api_groups.as_ref()))
    {
        errs.push(FieldError::required(
            p.child("actionVerbs"),
            "required when targetResources or targetAPIGroups are set",
        ));
    }
    if let Some(ids) = &rule.identities {
        rules::string_list(
            errs,
            &p.child("identities"),
            ids,
            ListRules::unique(),
            rules::glob,
        );
    }
    if let Some(f) = &rule.namespaces {
        selectors::namespace_filter(errs, &p.child("namespaces"), f);
    }
    if let Some(reason) = &rule.reason {
        rules::max_len(errs, &p.child("reason"), reason, 512);
    }
}

fn pod_security_rules(errs: &mut Errors, p: &Path, psr: &PodSecurityRules) {
    if let Some(subs) = psr
        .applies_to
        .as_ref()
        .and_then(|a| a.subresources.as_ref())
    {
        rules::max_items(errs, &p.child("appliesTo").child("subresources"), subs, 10);
    }
    if let Some(thresholds) = &psr.thresholds {
        let tp = p.child("thresholds");
        rules::max_items(errs, &tp, thresholds, 20);
        for (i, t) in thresholds.iter().enumerate() {
            rules::int_range(
                errs,
                &tp.index(i).child("maxScore"),
                t.max_score.into(),
                0,
                None,
            );
        }
    }
    if let Some(factors) = &psr.block_factors {
        let bp = p.child("blockFactors");
        rules::string_list(errs, &bp, factors, ListRules::strict(10), |errs, p, f| {
            rules::one_of(errs, p, f, BLOCK_FACTORS);
        });
    }
    if let Some(ex) = &psr.exemptions {
        let ep = p.child("exemptions");
        if let Some(f) = &ex.namespaces {
            selectors::namespace_filter(errs, &ep.child("namespaces"), f);
        }
        if let Some(labels) = &ex.pod_labels {
            rules::label_map(errs, &ep.child("podLabels"), labels);
        }
    }
}

/// Warnings of a DenyPolicy: impersonation rules whose `modes` leave out `legacy`, so
/// the unconstrained `impersonate` verb is not covered.
pub(crate) fn deny_policy_warnings(d: &DenyPolicy) -> Vec<Warning> {
    let mut warns = Vec::new();
    for (i, rule) in d.spec.impersonation_rules.iter().flatten().enumerate() {
        if let Some(modes) = &rule.modes
            && !modes.is_empty()
            && !modes.contains(&ImpersonationMode::Legacy)
        {
            warns.push(Warning::new(
                format!("spec.impersonationRules[{i}].modes"),
                "does not include legacy: requests using the unconstrained impersonate verb are not denied by this rule",
            ));
        }
    }
    warns
}
