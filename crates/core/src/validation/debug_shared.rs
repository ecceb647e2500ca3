//! Rules for the types the debug kinds share (template, binding, session).

use std::collections::{BTreeMap, HashSet};

use breakglass_api::common::{ImpersonationMode, NamespaceFilter, NotificationExclusions};
use breakglass_api::debug_common::{
    AuxiliaryResource, DebugApprovalReasonConfig, DebugRequestReasonConfig, DebugSessionAllowed,
    DebugSessionApprovers, DebugSessionNotificationConfig, ExtraDeployInputType,
    ExtraDeployVariable, ImpersonationConfig, SchedulingConstraints, SchedulingOptions,
};

use super::error::{FieldError, Warning};
use super::gotemplate;
use super::path::Path;
use super::rules::{self, DurationFormat, Errors, ListRules};
use super::selectors;

/// Default of `requestReason.minLength`.
const DEFAULT_MIN_REASON: i64 = 10;
/// Default of `requestReason.maxLength`.
const DEFAULT_MAX_REASON: i64 = 1000;

/// Checks a Go template source with the engine's parser, reporting the first error
/// with its line and column.
pub(crate) fn template_source(errs: &mut Errors, p: &Path, source: &str) {
    if let Err(e) = gotemplate::check(source) {
        errs.push(FieldError::invalid_raw(
            p,
            "<template>",
            &format!("template syntax error: {e}"),
        ));
    }
}

/// A debug duration (`30m`, `2h`, `1d`), positive.
pub(crate) fn debug_duration(errs: &mut Errors, p: &Path, value: Option<&str>) {
    if let Some(v) = value {
        rules::duration(errs, p, v, DurationFormat::Debug, true);
    }
}

/// Identifiers of users, groups or cluster patterns: no empty or repeated entries.
pub(crate) fn identifiers(errs: &mut Errors, p: &Path, list: Option<&Vec<String>>, globs: bool) {
    if let Some(list) = list {
        rules::string_list(errs, p, list, ListRules::unique(), |errs, p, v| {
            if globs {
                rules::glob(errs, p, v);
            }
        });
    }
}

/// `allowed{groups, users, clusters, clusterSelector}`.
pub(crate) fn allowed(errs: &mut Errors, p: &Path, allowed: &DebugSessionAllowed) {
    identifiers(errs, &p.child("groups"), allowed.groups.as_ref(), false);
    identifiers(errs, &p.child("users"), allowed.users.as_ref(), false);
    identifiers(errs, &p.child("clusters"), allowed.clusters.as_ref(), true);
    if let Some(sel) = &allowed.cluster_selector {
        selectors::label_selector(errs, &p.child("clusterSelector"), sel);
    }
}

/// `approvers{groups, users, autoApproveFor{groups, clusters}}`.
pub(crate) fn approvers(errs: &mut Errors, p: &Path, approvers: &DebugSessionApprovers) {
    identifiers(errs, &p.child("groups"), approvers.groups.as_ref(), false);
    identifiers(errs, &p.child("users"), approvers.users.as_ref(), false);
    if let Some(auto) = &approvers.auto_approve_for {
        let ap = p.child("autoApproveFor");
        identifiers(errs, &ap.child("groups"), auto.groups.as_ref(), false);
        identifiers(errs, &ap.child("clusters"), auto.clusters.as_ref(), true);
    }
}

/// Session limits, as on templates and (as overrides) on bindings.
pub(crate) struct ConstraintFields<'a> {
    pub max_duration: Option<&'a str>,
    pub default_duration: Option<&'a str>,
    pub max_renewals: Option<i32>,
    pub renewal_limit: Option<i32>,
    pub max_concurrent_sessions: Option<i32>,
}

pub(crate) fn constraints(errs: &mut Errors, p: &Path, c: &ConstraintFields<'_>) {
    debug_duration(errs, &p.child("maxDuration"), c.max_duration);
    debug_duration(errs, &p.child("defaultDuration"), c.default_duration);
    if let Some(n) = c.max_renewals {
        rules::int_range(errs, &p.child("maxRenewals"), n.into(), 0, None);
    }
    if let Some(n) = c.renewal_limit {
        rules::int_range(errs, &p.child("renewalLimit"), n.into(), 0, None);
    }
    if let Some(n) = c.max_concurrent_sessions {
        rules::int_range(errs, &p.child("maxConcurrentSessions"), n.into(), 0, None);
    }
}

pub(crate) fn constraint_warnings(warns: &mut Vec<Warning>, p: &Path, c: &ConstraintFields<'_>) {
    if c.renewal_limit.is_some() {
        warns.push(Warning::new(
            p.child("renewalLimit"),
            "renewalLimit is deprecated; use maxRenewals",
        ));
    }
}

/// Namespace constraints, as on templates and (as overrides) on bindings.
pub(crate) struct NamespaceConstraintFields<'a> {
    pub allowed: Option<&'a NamespaceFilter>,
    pub denied: Option<&'a NamespaceFilter>,
    pub default_namespace: Option<&'a str>,
    pub namespace_labels: Option<&'a BTreeMap<String, String>>,
}

pub(crate) fn namespace_constraints(
    errs: &mut Errors,
    p: &Path,
    nc: &NamespaceConstraintFields<'_>,
) {
    if let Some(f) = nc.allowed {
        selectors::namespace_filter(errs, &p.child("allowedNamespaces"), f);
    }
    if let Some(f) = nc.denied {
        selectors::namespace_filter(errs, &p.child("deniedNamespaces"), f);
    }
    if let Some(ns) = nc.default_namespace {
        rules::dns1123_label(errs, &p.child("defaultNamespace"), ns);
    }
    if let Some(labels) = nc.namespace_labels {
        rules::label_map(errs, &p.child("namespaceLabels"), labels);
    }
}

/// `schedulingConstraints`: well-formed node selector, denied node globs and labels.
pub(crate) fn scheduling_constraints(errs: &mut Errors, p: &Path, sc: &SchedulingConstraints) {
    if let Some(ns) = &sc.node_selector {
        rules::label_map(errs, &p.child("nodeSelector"), ns);
    }
    if let Some(nodes) = &sc.denied_nodes {
        rules::string_list(
            errs,
            &p.child("deniedNodes"),
            nodes,
            ListRules::unique(),
            rules::glob,
        );
    }
    if let Some(labels) = &sc.denied_node_labels {
        let lp = p.child("deniedNodeLabels");
        for (k, v) in labels {
            rules::label_key(errs, &lp, k);
            if v != "*" {
                rules::label_value(errs, &lp.key(k), v);
            }
        }
    }
}

/// `schedulingOptions`: at least one option, DNS-label names without repeats, a display
/// name each, at most one default.
pub(crate) fn scheduling_options(errs: &mut Errors, p: &Path, so: &SchedulingOptions) {
    let op = p.child("options");
    if so.options.is_empty() {
        errs.push(FieldError::required(&op, "at least one option is required"));
    }
    let mut names = HashSet::new();
    let mut defaults = 0;
    for (i, option) in so.options.iter().enumerate() {
        let ip = op.index(i);
        if rules::required_str(errs, &ip.child("name"), &option.name) {
            rules::dns1123_label(errs, &ip.child("name"), &option.name);
            if !names.insert(option.name.as_str()) {
                errs.push(FieldError::duplicate(ip.child("name"), &option.name));
            }
        }
        rules::required_str(errs, &ip.child("displayName"), &option.display_name);
        if option.default == Some(true) {
            defaults += 1;
            if defaults > 1 {
                errs.push(FieldError::invalid_raw(
                    ip.child("default"),
                    "true",
                    "at most one option may be the default",
                ));
            }
        }
        if let Some(sc) = &option.scheduling_constraints {
            scheduling_constraints(errs, &ip.child("schedulingConstraints"), sc);
        }
        identifiers(
            errs,
            &ip.child("allowedGroups"),
            option.allowed_groups.as_ref(),
            false,
        );
        identifiers(
            errs,
            &ip.child("allowedUsers"),
            option.allowed_users.as_ref(),
            false,
        );
    }
}

/// `impersonation`: the KEP-5284 shapes the CRD's CEL rules enforce, plus list limits.
pub(crate) fn impersonation(errs: &mut Errors, p: &Path, imp: &ImpersonationConfig) {
    if let Some(sa) = &imp.service_account_ref {
        let sp = p.child("serviceAccountRef");
        if rules::required_str(errs, &sp.child("name"), &sa.name) {
            rules::dns1123_subdomain(errs, &sp.child("name"), &sa.name);
        }
        if rules::required_str(errs, &sp.child("namespace"), &sa.namespace) {
            rules::dns1123_label(errs, &sp.child("namespace"), &sa.namespace);
        }
    }
    if let Some(user) = &imp.user_name {
        rules::max_len(errs, &p.child("userName"), user, 253);
    }
    if let Some(uid) = &imp.uid {
        rules::max_len(errs, &p.child("uid"), uid, 253);
    }
    if let Some(groups) = &imp.groups {
        let gp = p.child("groups");
        rules::string_list(errs, &gp, groups, ListRules::strict(32), |errs, p, g| {
            rules::max_len(errs, p, g, 253);
            if g == "system:masters" {
                errs.push(FieldError::forbidden(
                    p,
                    "impersonation.groups must not contain system:masters",
                ));
            }
        });
    }
    if let Some(extra) = &imp.extra
        && extra.len() > 32
    {
        errs.push(FieldError::too_many(p.child("extra"), extra.len(), 32));
    }
    if let Some(ids) = &imp.allowed_identities {
        rules::string_list(
            errs,
            &p.child("allowedIdentities"),
            ids,
            ListRules::strict(100),
            |errs, p, v| {
                rules::max_len(errs, p, v, 253);
            },
        );
    }
    if let Some(verbs) = &imp.action_verbs {
        rules::string_list(
            errs,
            &p.child("actionVerbs"),
            verbs,
            ListRules::strict(32),
            |errs, p, v| {
                rules::max_len(errs, p, v, 63);
            },
        );
    }
    let Some(mode) = imp.mode else {
        return;
    };
    let mp = p.child("mode");
    match mode {
        ImpersonationMode::AssociatedNode => errs.push(FieldError::forbidden(
            &mp,
            "impersonation mode associated-node cannot be used to deploy debug resources",
        )),
        ImpersonationMode::UserInfo => {
            if let Some(user) = &imp.user_name
                && (user.starts_with("system:serviceaccount:") || user.starts_with("system:node:"))
            {
                errs.push(FieldError::forbidden(
                    p.child("userName"),
                    "user-info impersonation cannot target service account or node user names",
                ));
            }
        }
        _ => {}
    }
    if matches!(
        mode,
        ImpersonationMode::ServiceAccount
            | ImpersonationMode::ArbitraryNode
            | ImpersonationMode::AssociatedNode
    ) && (imp.groups.as_ref().is_some_and(|g| !g.is_empty())
        || imp.uid.is_some()
        || imp.extra.as_ref().is_some_and(|e| !e.is_empty()))
    {
        errs.push(FieldError::forbidden(
            &mp,
            "serviceaccount and node impersonation modes take a user name only (no groups, uid or extra)",
        ));
    }
    if mode == ImpersonationMode::ArbitraryNode
        && let Some(user) = &imp.user_name
    {
        let node = user.strip_prefix("system:node:").unwrap_or(user);
        if !rules::is_dns1123_subdomain(node) {
            errs.push(FieldError::invalid(
                p.child("userName"),
                user,
                "node impersonation needs a node name that is a DNS subdomain",
            ));
        }
    }
}

/// Category names: lowercase letters, digits and `-`, at most 63.
fn category(errs: &mut Errors, p: &Path, value: &str) {
    rules::dns1123_label(errs, p, value);
}

/// `auxiliaryResources`: unique DNS-label names, a category, exactly one of
/// `templateString` and the deprecated `template`, a well-formed template.
pub(crate) fn auxiliary_resources(errs: &mut Errors, p: &Path, resources: &[AuxiliaryResource]) {
    let mut names = HashSet::new();
    for (i, res) in resources.iter().enumerate() {
        let rp = p.index(i);
        if rules::required_str(errs, &rp.child("name"), &res.name) {
            rules::dns1123_label(errs, &rp.child("name"), &res.name);
            if !names.insert(res.name.as_str()) {
                errs.push(FieldError::duplicate(rp.child("name"), &res.name));
            }
        }
        if let Some(c) = &res.category {
            category(errs, &rp.child("category"), c);
        }
        match (&res.template_string, &res.template) {
            (Some(_), Some(_)) => errs.push(FieldError::forbidden(
                &rp,
                "template and templateString are mutually exclusive",
            )),
            (None, None) => errs.push(FieldError::required(
                rp.child("templateString"),
                "one of templateString or template is required",
            )),
            (Some(s), None) => {
                if rules::required_str(errs, &rp.child("templateString"), s) {
                    template_source(errs, &rp.child("templateString"), s);
                }
            }
            (None, Some(t)) => structured_template(errs, &rp.child("template"), &t.0),
        }
    }
}

/// The deprecated structured `template`: every string (value or key) holding `{{` is
/// rendered as a template of its own, so each must parse.
fn structured_template(errs: &mut Errors, p: &Path, value: &serde_json::Value) {
    match value {
        serde_json::Value::String(s) if s.contains("{{") => template_source(errs, p, s),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                structured_template(errs, &p.index(i), item);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let kp = p.child(k);
                if k.contains("{{") {
                    template_source(errs, &kp, k);
                }
                structured_template(errs, &kp, v);
            }
        }
        _ => {}
    }
}

pub(crate) fn auxiliary_resource_warnings(
    warns: &mut Vec<Warning>,
    p: &Path,
    resources: &[AuxiliaryResource],
) {
    for (i, res) in resources.iter().enumerate() {
        let rp = p.index(i);
        if res.template.is_some() {
            warns.push(Warning::new(
                rp.child("template"),
                "template is deprecated; use templateString",
            ));
        }
        if res.optional.is_some() {
            warns.push(Warning::new(
                rp.child("optional"),
                "optional is deprecated; use failurePolicy",
            ));
        }
    }
}

/// Category names of `requiredAuxiliaryResourceCategories` and the keys of
/// `auxiliaryResourceDefaults`/`auxiliaryResourceOverrides`.
pub(crate) fn categories(errs: &mut Errors, p: &Path, list: Option<&Vec<String>>) {
    if let Some(list) = list {
        rules::string_list(errs, p, list, ListRules::unique(), category);
    }
}

pub(crate) fn category_map(errs: &mut Errors, p: &Path, map: Option<&BTreeMap<String, bool>>) {
    for key in map.into_iter().flat_map(BTreeMap::keys) {
        category(errs, &p.key(key), key);
    }
}

/// `extraDeployVariables`: unique Go-identifier names, options for select types,
/// consistent validation bounds.
pub(crate) fn extra_deploy_variables(errs: &mut Errors, p: &Path, vars: &[ExtraDeployVariable]) {
    let mut names = HashSet::new();
    for (i, var) in vars.iter().enumerate() {
        let vp = p.index(i);
        rules::go_identifier(errs, &vp.child("name"), &var.name, 63);
        if !var.name.is_empty() && !names.insert(var.name.as_str()) {
            errs.push(FieldError::duplicate(vp.child("name"), &var.name));
        }
        let options = var.options.as_deref().unwrap_or_default();
        if matches!(
            var.input_type(),
            ExtraDeployInputType::Select | ExtraDeployInputType::MultiSelect
        ) && options.is_empty()
        {
            errs.push(FieldError::required(
                vp.child("options"),
                "select and multiSelect variables need options",
            ));
        }
        let mut values = HashSet::new();
        for (j, option) in options.iter().enumerate() {
            let op = vp.child("options").index(j);
            if rules::required_str(errs, &op.child("value"), &option.value)
                && !values.insert(option.value.as_str())
            {
                errs.push(FieldError::duplicate(op.child("value"), &option.value));
            }
        }
        identifiers(
            errs,
            &vp.child("allowedGroups"),
            var.allowed_groups.as_ref(),
            false,
        );
        if let Some(v) = &var.validation {
            let lp = vp.child("validation");
            for (name, n) in [
                ("minLength", v.min_length),
                ("maxLength", v.max_length),
                ("minItems", v.min_items),
                ("maxItems", v.max_items),
            ] {
                if let Some(n) = n {
                    rules::int_range(errs, &lp.child(name), n.into(), 0, None);
                }
            }
            if let (Some(min), Some(max)) = (v.min_length, v.max_length)
                && min > max
            {
                errs.push(FieldError::invalid_raw(
                    lp.child("minLength"),
                    &min.to_string(),
                    "must not exceed maxLength",
                ));
            }
            if let (Some(min), Some(max)) = (v.min_items, v.max_items)
                && min > max
            {
                errs.push(FieldError::invalid_raw(
                    lp.child("minItems"),
                    &min.to_string(),
                    "must not exceed maxItems",
                ));
            }
            for (name, q) in [
                ("minStorage", &v.min_storage),
                ("maxStorage", &v.max_storage),
            ] {
                if let Some(q) = q {
                    rules::quantity(errs, &lp.child(name), q);
                }
            }
            for (name, n) in [("min", &v.min), ("max", &v.max)] {
                if let Some(n) = n
                    && n.parse::<f64>().map_or(true, |f| !f.is_finite())
                {
                    errs.push(FieldError::invalid(lp.child(name), n, "must be a number"));
                }
            }
        }
    }
}

fn exclusions(errs: &mut Errors, p: &Path, ex: &NotificationExclusions) {
    identifiers(errs, &p.child("users"), ex.users.as_ref(), false);
    identifiers(errs, &p.child("groups"), ex.groups.as_ref(), false);
}

/// `notification`: recipients look like e-mail addresses (contain `@`), no repeats.
pub(crate) fn notification(errs: &mut Errors, p: &Path, n: &DebugSessionNotificationConfig) {
    if let Some(recipients) = &n.additional_recipients {
        rules::string_list(
            errs,
            &p.child("additionalRecipients"),
            recipients,
            ListRules::unique(),
            |errs, p, r| {
                if !r.contains('@') {
                    errs.push(FieldError::invalid(
                        p,
                        r,
                        "must be an e-mail address (contain '@')",
                    ));
                }
            },
        );
    }
    if let Some(ex) = &n.excluded_recipients {
        exclusions(errs, &p.child("excludedRecipients"), ex);
    }
}

/// `requestReason`: 0 ≤ minLength ≤ maxLength, maxLength ≥ 1, suggestions non-empty and unique.
pub(crate) fn request_reason(errs: &mut Errors, p: &Path, r: &DebugRequestReasonConfig) {
    if let Some(min) = r.min_length {
        rules::int_range(errs, &p.child("minLength"), min.into(), 0, None);
    }
    if let Some(max) = r.max_length {
        rules::int_range(errs, &p.child("maxLength"), max.into(), 1, None);
    }
    let min = r.min_length.map_or(DEFAULT_MIN_REASON, i64::from);
    let max = r.max_length.map_or(DEFAULT_MAX_REASON, i64::from);
    if min > max && min >= 0 && max >= 1 {
        errs.push(FieldError::invalid_raw(
            p.child("minLength"),
            &min.to_string(),
            &format!("must not exceed maxLength ({max})"),
        ));
    }
    if let Some(s) = &r.suggested_reasons {
        rules::string_list(
            errs,
            &p.child("suggestedReasons"),
            s,
            ListRules::unique(),
            |_, _, _| {},
        );
    }
}

/// `approvalReason`: minLength ≥ 0.
pub(crate) fn approval_reason(errs: &mut Errors, p: &Path, r: &DebugApprovalReasonConfig) {
    if let Some(min) = r.min_length {
        rules::int_range(errs, &p.child("minLength"), min.into(), 0, None);
    }
}
