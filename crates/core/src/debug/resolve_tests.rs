use std::collections::BTreeMap;

use breakglass_api::DebugSessionClusterBinding;
use breakglass_api::cluster_config::{ClusterConfig, ClusterConfigSpec, ClusterConfigStatus};
use breakglass_api::debug_common::{
    DebugSessionAllowed, DebugSessionApprovers, ExtraDeployOption, ExtraDeployVariable,
    SchedulingOption, SchedulingOptions,
};
use breakglass_api::debug_session_cluster_binding::{
    DebugSessionClusterBindingSpec, TemplateReference,
};
use breakglass_api::debug_session_template::{DebugSessionTemplate, DebugSessionTemplateSpec};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};

use super::view::{Catalogue, ClusterFilter, ListOptions, list_templates, template_clusters};
use super::*;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn now() -> Timestamp {
    "2026-06-01T12:00:00Z".parse().unwrap_or_default()
}

fn at(s: &str) -> Time {
    Time(s.parse().unwrap_or_default())
}

fn cluster(name: &str, l: &[(&str, &str)], ready: bool) -> ClusterConfig {
    let mut c = ClusterConfig::new(name, ClusterConfigSpec::default());
    c.metadata.namespace = Some("breakglass".into());
    c.metadata.labels = Some(labels(l));
    c.status = Some(ClusterConfigStatus {
        conditions: Some(vec![Condition {
            type_: "Ready".into(),
            status: if ready { "True" } else { "False" }.into(),
            last_transition_time: at("2026-01-01T00:00:00Z"),
            message: String::new(),
            reason: "Test".into(),
            observed_generation: None,
        }]),
        ..Default::default()
    });
    c
}

fn template(name: &str, allowed: Option<DebugSessionAllowed>) -> DebugSessionTemplate {
    let mut t = DebugSessionTemplate::new(
        name,
        DebugSessionTemplateSpec {
            allowed,
            ..Default::default()
        },
    );
    t.metadata.labels = Some(labels(&[("team", "sre")]));
    t
}

fn groups_allowed(groups: &[&str]) -> DebugSessionAllowed {
    DebugSessionAllowed {
        groups: Some(strings(groups)),
        ..Default::default()
    }
}

fn binding(name: &str, template: &str, clusters: &[&str]) -> DebugSessionClusterBinding {
    let mut b = DebugSessionClusterBinding::new(
        name,
        DebugSessionClusterBindingSpec {
            template_ref: Some(TemplateReference {
                name: template.into(),
            }),
            clusters: Some(strings(clusters)),
            ..Default::default()
        },
    );
    b.metadata.namespace = Some("breakglass".into());
    b
}

fn requester<'a>(user: &'a str, groups: &'a [String]) -> Requester<'a> {
    Requester {
        user,
        email: None,
        groups,
    }
}

#[test]
fn binding_activity_window() {
    let mut b = binding("b", "t", &["c"]).spec;
    assert!(binding_active(&b, now()));
    b.disabled = Some(true);
    assert!(!binding_active(&b, now()));
    b.disabled = Some(false);
    b.effective_from = Some(at("2026-07-01T00:00:00Z"));
    assert!(!binding_active(&b, now()), "not yet");
    b.effective_from = Some(at("2026-05-01T00:00:00Z"));
    b.expires_at = Some(at("2026-06-01T12:00:00Z"));
    assert!(!binding_active(&b, now()), "expired at exactly now");
    b.expires_at = Some(at("2026-06-02T00:00:00Z"));
    assert!(binding_active(&b, now()));
}

#[test]
fn binding_to_templates_by_ref_or_selector() {
    let t = template("net", None);
    assert!(binding_applies(&binding("b", "net", &[]).spec, &t));
    assert!(!binding_applies(&binding("b", "other", &[]).spec, &t));
    let mut sel = binding("b", "x", &[]).spec;
    sel.template_ref = None;
    sel.template_selector = Some(LabelSelector {
        match_labels: Some(labels(&[("team", "sre")])),
        match_expressions: None,
    });
    assert!(binding_applies(&sel, &t));
    sel.template_selector = Some(LabelSelector {
        match_labels: Some(labels(&[("team", "dev")])),
        match_expressions: None,
    });
    assert!(!binding_applies(&sel, &t));
}

#[test]
fn binding_clusters_exact_glob_and_selector() {
    let prod = cluster("prod-eu-1", &[("env", "prod")], true);
    let dev = cluster("dev-1", &[("env", "dev")], true);
    type Row<'a> = (&'a [&'a str], Option<(&'a str, &'a str)>, bool, bool);
    let table: &[Row<'_>] = &[
        (&["prod-eu-1"], None, true, false),
        (&["prod-*"], None, true, false),
        (&["prod-??-1"], None, true, false),
        (&["*"], None, true, true),
        (&["[a"], None, false, false),
        (&[], Some(("env", "dev")), false, true),
        (&["prod-*"], Some(("env", "dev")), true, true),
    ];
    for (clusters, selector, on_prod, on_dev) in table {
        let mut b = binding("b", "t", clusters).spec;
        b.cluster_selector = selector.map(|(k, v)| LabelSelector {
            match_labels: Some(labels(&[(k, v)])),
            match_expressions: None,
        });
        assert_eq!(
            binding_grants_cluster(&b, &prod),
            *on_prod,
            "{clusters:?} {selector:?}"
        );
        assert_eq!(
            binding_grants_cluster(&b, &dev),
            *on_dev,
            "{clusters:?} {selector:?}"
        );
    }
}

#[test]
fn template_clusters_globs_and_selector() {
    let prod = cluster("prod-1", &[("env", "prod")], true);
    let t = template(
        "t",
        Some(DebugSessionAllowed {
            clusters: Some(strings(&["dev-*"])),
            ..Default::default()
        }),
    );
    assert!(!template_grants_cluster(&t.spec, &prod));
    let t = template(
        "t",
        Some(DebugSessionAllowed {
            cluster_selector: Some(LabelSelector {
                match_labels: Some(labels(&[("env", "prod")])),
                match_expressions: None,
            }),
            ..Default::default()
        }),
    );
    assert!(template_grants_cluster(&t.spec, &prod));
    assert!(
        !template_grants_cluster(&template("t", None).spec, &prod),
        "no allowed ⇒ unusable alone"
    );
}

#[test]
fn requester_rules() {
    let devs = strings(&["developers"]);
    let none: Vec<String> = Vec::new();
    let alice = requester("alice", &devs);
    let bob = requester("bob", &none);
    assert!(admits(None, &bob), "no rule admits everyone");
    assert!(admits(Some(&DebugSessionAllowed::default()), &bob));
    let by_group = groups_allowed(&["dev*"]);
    assert!(admits(Some(&by_group), &alice));
    assert!(!admits(Some(&by_group), &bob));
    let by_user = DebugSessionAllowed {
        users: Some(strings(&["b*", "carol@example.com"])),
        ..Default::default()
    };
    assert!(admits(Some(&by_user), &bob));
    assert!(!admits(Some(&by_user), &alice));
    let carol = Requester {
        user: "c123",
        email: Some("Carol@Example.com"),
        groups: &none,
    };
    assert!(admits(Some(&by_user), &carol));
}

#[test]
fn binding_allowed_replaces_template_allowed_only_when_listing() {
    let t = template("t", Some(groups_allowed(&["developers"])));
    let mut b = binding("b", "t", &["c"]).spec;
    assert_eq!(
        effective_allowed(&t.spec, Some(&b)),
        t.spec.allowed.as_ref()
    );
    b.allowed = Some(DebugSessionAllowed::default());
    assert_eq!(
        effective_allowed(&t.spec, Some(&b)),
        t.spec.allowed.as_ref()
    );
    b.allowed = Some(groups_allowed(&["sre"]));
    assert_eq!(effective_allowed(&t.spec, Some(&b)), b.allowed.as_ref());
}

fn ask<'a>(r: &'a Requester<'a>, binding_ref: Option<&'a str>) -> Ask<'a> {
    Ask {
        requester: r,
        binding_ref,
        now: now(),
    }
}

#[test]
fn highest_priority_admitting_binding_wins() {
    let t = template("t", Some(groups_allowed(&["developers"])));
    let c = cluster("prod-1", &[], true);
    let mut low = binding("a-low", "t", &["prod-*"]);
    low.spec.priority = Some(1);
    let mut high = binding("z-high", "t", &["prod-1"]);
    high.spec.priority = Some(10);
    let mut sre_only = binding("top", "t", &["*"]);
    sre_only.spec.priority = Some(100);
    sre_only.spec.allowed = Some(groups_allowed(&["sre"]));
    let bindings = [&low, &high, &sre_only];
    let devs = strings(&["developers"]);
    let alice = requester("alice", &devs);
    let chosen = choose(&t, &bindings, &c, &ask(&alice, None)).ok();
    assert_eq!(
        chosen.and_then(|c| c.binding).map(binding_key),
        Some(("breakglass", "z-high"))
    );
    // Equal priority: namespace/name decides.
    high.spec.priority = Some(1);
    let bindings = [&high, &low, &sre_only];
    let chosen = choose(&t, &bindings, &c, &ask(&alice, None)).ok();
    assert_eq!(
        chosen.and_then(|c| c.binding).map(binding_key),
        Some(("breakglass", "a-low"))
    );
    // The SRE gets the top binding.
    let sre = strings(&["sre"]);
    let sam = requester("sam", &sre);
    let chosen = choose(&t, &bindings, &c, &ask(&sam, None)).ok();
    assert_eq!(
        chosen.and_then(|c| c.binding).map(binding_key),
        Some(("breakglass", "top"))
    );
}

#[test]
fn inactive_and_foreign_bindings_are_skipped() {
    let t = template("t", None);
    let c = cluster("prod-1", &[], true);
    let mut off = binding("off", "t", &["prod-1"]);
    off.spec.disabled = Some(true);
    let other = binding("other", "u", &["prod-1"]);
    let elsewhere = binding("elsewhere", "t", &["dev-*"]);
    let none: Vec<String> = Vec::new();
    let bob = requester("bob", &none);
    let err = choose(&t, &[&off, &other, &elsewhere], &c, &ask(&bob, None)).err();
    assert!(
        matches!(err, Some(ResolveError::NotAvailable { .. })),
        "{err:?}"
    );
}

#[test]
fn hidden_bindings_only_by_name() {
    let t = template("t", None);
    let c = cluster("prod-1", &[], true);
    let mut hidden = binding("hidden", "t", &["prod-1"]);
    hidden.spec.hidden = Some(true);
    let none: Vec<String> = Vec::new();
    let bob = requester("bob", &none);
    let implicit = choose(&t, &[&hidden], &c, &ask(&bob, None)).err();
    assert!(
        matches!(implicit, Some(ResolveError::NotAvailable { .. })),
        "{implicit:?}"
    );
    let named = choose(&t, &[&hidden], &c, &ask(&bob, Some("breakglass/hidden")));
    assert!(named.is_ok_and(|c| c.binding.is_some()));
}

#[test]
fn template_route_when_no_binding_admits() {
    let t = template(
        "t",
        Some(DebugSessionAllowed {
            clusters: Some(strings(&["prod-*"])),
            groups: Some(strings(&["developers"])),
            ..Default::default()
        }),
    );
    let c = cluster("prod-1", &[], true);
    let mut sre = binding("sre", "t", &["prod-1"]);
    sre.spec.allowed = Some(groups_allowed(&["sre"]));
    let devs = strings(&["developers"]);
    let alice = requester("alice", &devs);
    let chosen = choose(&t, &[&sre], &c, &ask(&alice, None));
    assert!(chosen.is_ok_and(|c| c.binding.is_none()));
    let none: Vec<String> = Vec::new();
    let bob = requester("bob", &none);
    let err = choose(&t, &[&sre], &c, &ask(&bob, None)).err();
    assert!(
        matches!(err, Some(ResolveError::NotAllowed { .. })),
        "{err:?}"
    );
}

#[test]
fn explicit_binding_ref_rules() {
    let t = template("t", None);
    let c = cluster("prod-1", &[], true);
    let good = binding("good", "t", &["prod-*"]);
    let mut off = binding("off", "t", &["prod-1"]);
    off.spec.expires_at = Some(at("2026-01-01T00:00:00Z"));
    let other_tpl = binding("other-tpl", "u", &["prod-1"]);
    let other_cluster = binding("other-cluster", "t", &["dev-1"]);
    let mut sre = binding("sre", "t", &["prod-1"]);
    sre.spec.allowed = Some(groups_allowed(&["sre"]));
    let all = [&good, &off, &other_tpl, &other_cluster, &sre];
    let none: Vec<String> = Vec::new();
    let bob = requester("bob", &none);
    let run = |r: &str| choose(&t, &all, &c, &ask(&bob, Some(r)));
    assert!(run("breakglass/good").is_ok_and(|c| c.binding.is_some()));
    for (reference, bad_request) in [
        ("good", true),
        ("breakglass/missing", true),
        ("other/good", true),
        ("breakglass/off", false),
        ("breakglass/other-tpl", false),
        ("breakglass/other-cluster", false),
        ("breakglass/sre", false),
    ] {
        let err = run(reference).err();
        assert_eq!(
            err.as_ref().map(ResolveError::is_bad_request),
            Some(bad_request),
            "{reference}: {err:?}"
        );
    }
    assert!(matches!(
        run("breakglass/sre").err(),
        Some(ResolveError::NotAdmittedByBinding(_))
    ));
}

#[test]
fn chosen_binding_is_merged() {
    let mut t = template("t", None);
    t.spec.approvers = Some(DebugSessionApprovers {
        groups: Some(strings(&["sre-leads"])),
        ..Default::default()
    });
    let c = cluster("dev-1", &[], true);
    let mut b = binding("auto", "t", &["dev-*"]);
    b.spec.approvers = Some(DebugSessionApprovers::default());
    let none: Vec<String> = Vec::new();
    let bob = requester("bob", &none);
    let choice = choose(&t, &[&b], &c, &ask(&bob, None));
    assert!(
        choice.is_ok_and(|c| !crate::debug::approval::requires_approval(
            &c.effective,
            "dev-1",
            &[]
        ))
    );
}

fn option(name: &str, groups: &[&str]) -> SchedulingOption {
    SchedulingOption {
        name: name.into(),
        display_name: name.into(),
        allowed_groups: Some(strings(groups)),
        ..Default::default()
    }
}

#[test]
fn discovery_lists_only_what_the_caller_may_request() {
    let mut t_dev = template("dev-tools", Some(groups_allowed(&["developers"])));
    t_dev.spec.priority = Some(5);
    t_dev.spec.scheduling_options = Some(SchedulingOptions {
        required: None,
        options: vec![option("any", &[]), option("gpu", &["sre"])],
    });
    t_dev.spec.extra_deploy_variables = Some(vec![
        ExtraDeployVariable {
            name: "size".into(),
            options: Some(vec![
                ExtraDeployOption {
                    value: "small".into(),
                    ..Default::default()
                },
                ExtraDeployOption {
                    value: "huge".into(),
                    allowed_groups: Some(strings(&["sre"])),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        },
        ExtraDeployVariable {
            name: "secret".into(),
            allowed_groups: Some(strings(&["sre"])),
            ..Default::default()
        },
    ]);
    let t_sre = template("sre-tools", Some(groups_allowed(&["sre"])));
    let mut t_hidden = template("hidden-tools", None);
    t_hidden.spec.hidden = Some(true);
    let t_nowhere = template("nowhere", None);
    let c1 = cluster("prod-1", &[], true);
    let c2 = cluster("prod-2", &[], false);
    let c3 = cluster("dev-1", &[], true);
    let b_dev = binding("dev", "dev-tools", &["prod-*", "dev-1"]);
    let b_sre = binding("sre", "sre-tools", &["prod-1"]);
    let b_hidden = binding("h", "hidden-tools", &["prod-1"]);
    let mut b_hidden_binding = binding("hb", "sre-tools", &["dev-1"]);
    b_hidden_binding.spec.hidden = Some(true);
    let templates = [&t_dev, &t_sre, &t_hidden, &t_nowhere];
    let bindings = [&b_dev, &b_sre, &b_hidden, &b_hidden_binding];
    let clusters = [&c1, &c2, &c3];
    let cat = Catalogue {
        templates: &templates,
        bindings: &bindings,
        clusters: &clusters,
        now: now(),
    };
    let devs = strings(&["developers"]);
    let sre = strings(&["sre"]);
    let none: Vec<String> = Vec::new();
    let names = |r: &Requester<'_>, o: ListOptions| -> Vec<String> {
        list_templates(&cat, r, o)
            .into_iter()
            .map(|t| t.name)
            .collect()
    };
    let d = ListOptions::default();
    assert_eq!(
        names(&requester("alice", &devs), d),
        vec!["dev-tools".to_owned()]
    );
    assert_eq!(
        names(&requester("sam", &sre), d),
        vec!["sre-tools".to_owned()]
    );
    assert_eq!(names(&requester("nobody", &none), d), Vec::<String>::new());
    let hidden_too = ListOptions {
        include_hidden: true,
        include_unavailable: false,
    };
    assert_eq!(
        names(&requester("alice", &devs), hidden_too),
        vec!["dev-tools".to_owned(), "hidden-tools".to_owned()]
    );
    let list = list_templates(&cat, &requester("alice", &devs), d);
    let dev = &list[0];
    assert_eq!(dev.available_cluster_count, 2, "prod-2 is not Ready");
    assert!(dev.has_available_clusters);
    let opts: Vec<_> = dev
        .scheduling_options
        .iter()
        .flat_map(|o| o.options.iter().map(|o| o.name.clone()))
        .collect();
    assert_eq!(opts, vec!["any".to_owned()]);
    assert_eq!(dev.extra_deploy_variables.len(), 1);
    assert_eq!(
        dev.extra_deploy_variables[0].options.as_ref().map(Vec::len),
        Some(1)
    );
    // The hidden binding authorizes but is not counted.
    let sre_list = list_templates(&cat, &requester("sam", &sre), d);
    assert_eq!(sre_list[0].available_cluster_count, 1);
}

#[test]
fn discovery_includes_unavailable_on_request() {
    let t = template("t", Some(groups_allowed(&["developers"])));
    let down = cluster("prod-1", &[], false);
    let b = binding("b", "t", &["prod-1"]);
    let cat = Catalogue {
        templates: &[&t],
        bindings: &[&b],
        clusters: &[&down],
        now: now(),
    };
    let devs = strings(&["developers"]);
    let alice = requester("alice", &devs);
    assert!(list_templates(&cat, &alice, ListOptions::default()).is_empty());
    let all = list_templates(
        &cat,
        &alice,
        ListOptions {
            include_hidden: false,
            include_unavailable: true,
        },
    );
    assert_eq!(all.len(), 1);
    assert!(!all[0].has_available_clusters);
}

#[test]
fn cluster_view_options_in_choice_order() {
    let mut t = template("t", None);
    t.spec.display_name = Some("Net".into());
    t.spec.approvers = Some(DebugSessionApprovers {
        groups: Some(strings(&["sre-leads"])),
        auto_approve_for: Some(breakglass_api::debug_common::AutoApproveConfig {
            clusters: Some(strings(&["dev-*"])),
            groups: None,
        }),
        ..Default::default()
    });
    let mut c1 = cluster("prod-1", &[], true);
    c1.spec.environment = Some("prod".into());
    let mut c2 = cluster("dev-1", &[], true);
    c2.spec.environment = Some("dev".into());
    let mut low = binding("low", "t", &["*"]);
    low.spec.display_name_prefix = Some("Low".into());
    let mut high = binding("high", "t", &["prod-1"]);
    high.spec.priority = Some(5);
    high.spec.display_name = Some("High".into());
    let cat = Catalogue {
        templates: &[&t],
        bindings: &[&low, &high],
        clusters: &[&c1, &c2],
        now: now(),
    };
    let none: Vec<String> = Vec::new();
    let bob = requester("bob", &none);
    let view = template_clusters(&cat, "t", &bob, ClusterFilter::default());
    assert!(view.is_some(), "template visible");
    let Some(view) = view else { return };
    assert_eq!(view.template_display_name, "Net");
    let names: Vec<_> = view.clusters.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["dev-1", "prod-1"]);
    let prod = &view.clusters[1];
    assert_eq!(
        prod.binding_ref.as_ref().map(|b| b.name.as_str()),
        Some("high")
    );
    let shown: Vec<_> = prod
        .binding_options
        .iter()
        .map(|o| o.display_name.as_str())
        .collect();
    assert_eq!(shown, ["High", "Low - Net"]);
    assert!(prod.details.as_ref().is_some_and(|d| d.approval.required));
    let dev = &view.clusters[0];
    let approval = &dev.binding_options[0].details.approval;
    assert!(!approval.required && approval.can_auto_approve);
    // Filters.
    let only_dev = template_clusters(
        &cat,
        "t",
        &bob,
        ClusterFilter {
            environment: Some("dev"),
            ..Default::default()
        },
    );
    assert_eq!(only_dev.map(|v| v.clusters.len()), Some(1));
    let only_high = template_clusters(
        &cat,
        "t",
        &bob,
        ClusterFilter {
            binding_name: Some("high"),
            ..Default::default()
        },
    );
    assert_eq!(only_high.map(|v| v.clusters.len()), Some(1));
    assert!(template_clusters(&cat, "missing", &bob, ClusterFilter::default()).is_none());
}

#[test]
fn cluster_view_hidden_from_callers_without_a_route() {
    let t = template("t", None);
    let c = cluster("prod-1", &[], true);
    let mut b = binding("b", "t", &["prod-1"]);
    b.spec.allowed = Some(groups_allowed(&["sre"]));
    let cat = Catalogue {
        templates: &[&t],
        bindings: &[&b],
        clusters: &[&c],
        now: now(),
    };
    let none: Vec<String> = Vec::new();
    assert!(
        template_clusters(
            &cat,
            "t",
            &requester("bob", &none),
            ClusterFilter::default()
        )
        .is_none()
    );
}
