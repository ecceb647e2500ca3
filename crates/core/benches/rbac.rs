//! The RBAC mirror's cost: memory for many targets' RBAC and the time of one group check.
//!
//! `cargo bench -p breakglass-core --bench rbac` (`BENCH_TARGETS`, default 100).
//! Each target holds RBAC the size of a busy production cluster: 400 ClusterRoles,
//! 300 ClusterRoleBindings, 50 namespaces with 4 Roles and 12 RoleBindings each (200
//! Roles, 600 RoleBindings), 4 rules per role, plus 50 escalated groups bound in 5
//! namespaces each. Prints resident memory before and after building the indexes and
//! the median and p99 of `RbacIndex::allows` for escalated groups (allowed and denied,
//! cluster-wide and namespaced). The numbers go to `docs/benchmarks.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use breakglass_core::rbac::{Binding, RbacIndex, Request, rules_of};
use k8s_openapi::api::rbac::v1::PolicyRule;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

const VERBS: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];
const RESOURCES: &[&str] = &[
    "pods",
    "pods/log",
    "pods/exec",
    "deployments",
    "statefulsets",
    "configmaps",
    "secrets",
    "services",
    "jobs",
    "cronjobs",
    "ingresses",
    "events",
    "leases",
    "endpoints",
];
const GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "networking.k8s.io",
    "coordination.k8s.io",
];

fn rule(seed: usize) -> PolicyRule {
    let pick = |list: &[&str], n: usize, off: usize| -> Vec<String> {
        (0..n)
            .map(|i| list[(seed * 7 + off + i * 3) % list.len()].to_owned())
            .collect()
    };
    PolicyRule {
        verbs: pick(VERBS, 1 + seed % 3, 0),
        api_groups: Some(pick(GROUPS, 1 + seed % 2, 1)),
        resources: Some(pick(RESOURCES, 1 + seed % 4, 2)),
        resource_names: None,
        non_resource_urls: None,
    }
}

fn rules(seed: usize) -> Vec<PolicyRule> {
    (0..4).map(|i| rule(seed * 4 + i)).collect()
}

fn target(t: usize) -> RbacIndex {
    let mut ix = RbacIndex::new();
    for i in 0..400 {
        ix.put_cluster_role(&format!("operator-{t}-role-{i}"), rules_of(Some(&rules(i))));
    }
    for i in 0..300 {
        let ns = format!("operator-{}", i % 40);
        ix.put_cluster_binding(
            &format!("operator-binding-{i}"),
            Binding::new(
                None,
                "ClusterRole",
                &format!("operator-{t}-role-{i}"),
                [("ServiceAccount", Some(ns.as_str()), "controller")],
            ),
        );
    }
    for n in 0..50 {
        let ns = format!("team-{n}");
        for r in 0..4 {
            ix.put_role(&ns, &format!("role-{r}"), rules_of(Some(&rules(n * 4 + r))));
        }
        for b in 0..12 {
            let group = format!("oidc:team-{n}-{b}");
            let role = if b % 2 == 0 {
                ("Role", format!("role-{}", b % 4))
            } else {
                ("ClusterRole", format!("operator-{t}-role-{}", b * 10))
            };
            ix.put_binding(
                &ns,
                &format!("binding-{b}"),
                Binding::new(
                    Some(&ns),
                    role.0,
                    &role.1,
                    [("Group", None, group.as_str())],
                ),
            );
        }
    }
    // The escalated groups: each bound in 5 namespaces to an edit-like ClusterRole.
    ix.put_cluster_role("breakglass-edit", rules_of(Some(&rules(999))));
    for g in 0..50 {
        let group = format!("oidc:breakglass-{g}");
        for k in 0..5 {
            let ns = format!("team-{}", (g + k * 7) % 50);
            ix.put_binding(
                &ns,
                &format!("breakglass-{g}"),
                Binding::new(
                    Some(&ns),
                    "ClusterRole",
                    "breakglass-edit",
                    [("Group", None, group.as_str())],
                ),
            );
        }
    }
    ix
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn main() {
    let targets: usize = std::env::var("BENCH_TARGETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let before = rss_kib();
    let started = Instant::now();
    let indexes: Vec<RbacIndex> = (0..targets).map(target).collect();
    let built = started.elapsed();
    let after = rss_kib();
    let c = indexes[0].counts();
    println!(
        "{targets} targets of {} objects each ({} ClusterRoles, {} ClusterRoleBindings, {} Roles, {} RoleBindings, {} rules): built in {built:?}; resident memory {:.1} MiB before, {:.1} MiB after: {:.1} MiB, {:.0} KiB per target",
        c.objects(),
        c.cluster_roles,
        c.cluster_role_bindings,
        c.roles,
        c.role_bindings,
        c.rules,
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after - before) as f64 / 1024.0,
        (after - before) as f64 / targets as f64
    );

    // Group checks as the webhook asks them: the synthetic user with one group.
    let user = "system:breakglass-session";
    let groups: Vec<String> = (0..50).map(|g| format!("oidc:breakglass-{g}")).collect();
    let mut questions = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        for k in 0..10 {
            let ns = format!("team-{}", (i + k * 3) % 50);
            questions.push((
                g.clone(),
                ns,
                VERBS[k % VERBS.len()],
                RESOURCES[(i + k) % RESOURCES.len()],
            ));
        }
    }
    let ix = &indexes[targets / 2];
    let mut times = Vec::with_capacity(questions.len() * 20);
    let mut allowed = 0usize;
    for _ in 0..20 {
        for (g, ns, verb, resource) in &questions {
            let (resource, sub) = resource.split_once('/').unwrap_or((resource, ""));
            let request = Request::Resource {
                verb,
                group: "",
                resource,
                subresource: sub,
                namespace: ns,
                name: "x",
            };
            let groups = [g.as_str()];
            let t = Instant::now();
            let a = std::hint::black_box(ix.allows(user, &groups, &request));
            times.push(t.elapsed());
            allowed += usize::from(a);
        }
    }
    times.sort();
    println!(
        "group check: {} checks ({:.0} % allowed), median {:?}, p99 {:?}, max {:?}",
        times.len(),
        allowed as f64 * 100.0 / times.len() as f64,
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1]
    );
}
