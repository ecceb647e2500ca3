//! Compatibility aliases: older or documented spellings that are rewritten into the
//! current schema before typed deserialisation.
//!
//! An alias is accepted only when it maps one-to-one onto an existing field with the
//! same meaning and cannot be read two ways. Every rewrite is reported, so a user sees
//! it as a warning and can update the manifest. The list is documented in
//! `docs/compatibility.md` ("Accepted aliases").

use serde_json::{Map, Value};

use super::api_version::{API_GROUP, split_api_version};
use super::error::AppliedAlias;

/// `spec.podTemplateRef: "name"` → `spec.podTemplateRef: {name: "name"}`.
pub const POD_TEMPLATE_REF_STRING: &str = "podTemplateRef-string";
/// DebugPodTemplate `spec.podSpec` → `spec.template.spec`.
pub const POD_SPEC: &str = "podSpec";
/// `spec.terminalSharing.method` → `spec.terminalSharing.provider`.
pub const TERMINAL_SHARING_METHOD: &str = "terminalSharing-method";
/// A namespace filter written as a list of patterns → `{patterns: [...]}`.
pub const NAMESPACE_FILTER_LIST: &str = "namespaceFilter-list";
/// `namespaceConstraints.allowedPatterns`/`deniedPatterns` →
/// `allowedNamespaces.patterns`/`deniedNamespaces.patterns`.
pub const NAMESPACE_CONSTRAINTS_PATTERNS: &str = "namespaceConstraints-patterns";

/// Every alias name, in documentation order.
pub const ALL_ALIASES: &[&str] = &[
    POD_TEMPLATE_REF_STRING,
    POD_SPEC,
    TERMINAL_SHARING_METHOD,
    NAMESPACE_FILTER_LIST,
    NAMESPACE_CONSTRAINTS_PATTERNS,
];

/// Rewrites documented alias spellings of a breakglass object in place and returns what
/// was rewritten. Objects of other API groups are left untouched.
///
/// This is a pure function of the document; it never removes information: when both the
/// alias and its target are present nothing is rewritten, so strict validation reports
/// the alias field as unknown instead of silently picking one.
pub fn normalize_aliases(object: &mut Value) -> Vec<AppliedAlias> {
    let mut applied = Vec::new();
    let Some(obj) = object.as_object_mut() else {
        return applied;
    };
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if split_api_version(api_version).0 != API_GROUP {
        return applied;
    }
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return applied;
    };
    match kind.as_str() {
        "DebugSessionTemplate" => {
            pod_template_ref_string(spec, &mut applied);
            terminal_sharing_method(spec, &mut applied);
            if let Some(kd) = spec.get_mut("kubectlDebug").and_then(Value::as_object_mut) {
                for block in ["ephemeralContainers", "podCopy"] {
                    if let Some(b) = kd.get_mut(block).and_then(Value::as_object_mut) {
                        let base = format!("spec.kubectlDebug.{block}");
                        for field in ["allowedNamespaces", "deniedNamespaces"] {
                            namespace_filter_list(b, field, &base, &mut applied);
                        }
                    }
                }
            }
            namespace_constraints(spec, &mut applied);
        }
        "DebugSessionClusterBinding" => namespace_constraints(spec, &mut applied),
        "DebugPodTemplate" => pod_spec(spec, &mut applied),
        "DenyPolicy" => {
            if let Some(rules) = spec.get_mut("rules").and_then(Value::as_array_mut) {
                for (i, rule) in rules.iter_mut().enumerate() {
                    if let Some(r) = rule.as_object_mut() {
                        namespace_filter_list(
                            r,
                            "namespaces",
                            &format!("spec.rules[{i}]"),
                            &mut applied,
                        );
                    }
                }
            }
            if let Some(rules) = spec
                .get_mut("impersonationRules")
                .and_then(Value::as_array_mut)
            {
                for (i, rule) in rules.iter_mut().enumerate() {
                    if let Some(r) = rule.as_object_mut() {
                        let base = format!("spec.impersonationRules[{i}]");
                        namespace_filter_list(r, "namespaces", &base, &mut applied);
                    }
                }
            }
            if let Some(ex) = spec
                .get_mut("podSecurityRules")
                .and_then(Value::as_object_mut)
                .and_then(|p| p.get_mut("exemptions"))
                .and_then(Value::as_object_mut)
            {
                let base = "spec.podSecurityRules.exemptions";
                namespace_filter_list(ex, "namespaces", base, &mut applied);
            }
        }
        "BreakglassEscalation" => {
            if let Some(o) = spec
                .get_mut("podSecurityOverrides")
                .and_then(Value::as_object_mut)
            {
                namespace_filter_list(
                    o,
                    "namespaceScope",
                    "spec.podSecurityOverrides",
                    &mut applied,
                );
            }
        }
        "AuditConfig" => {
            if let Some(f) = spec.get_mut("filtering").and_then(Value::as_object_mut) {
                for field in ["includeNamespaces", "excludeNamespaces"] {
                    namespace_filter_list(f, field, "spec.filtering", &mut applied);
                }
            }
        }
        _ => {}
    }
    applied
}

fn pod_template_ref_string(spec: &mut Map<String, Value>, applied: &mut Vec<AppliedAlias>) {
    if let Some(Value::String(name)) = spec.get("podTemplateRef") {
        let name = name.clone();
        let message = format!(
            "podTemplateRef given as a string is read as {{name: {name:?}}}; write it as an object"
        );
        let mut obj = Map::new();
        obj.insert("name".to_string(), Value::String(name));
        spec.insert("podTemplateRef".to_string(), Value::Object(obj));
        applied.push(AppliedAlias {
            name: POD_TEMPLATE_REF_STRING,
            path: "spec.podTemplateRef".to_string(),
            message,
        });
    }
}

fn terminal_sharing_method(spec: &mut Map<String, Value>, applied: &mut Vec<AppliedAlias>) {
    let Some(ts) = spec
        .get_mut("terminalSharing")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    if ts.contains_key("provider") {
        return;
    }
    if let Some(method) = ts.remove("method") {
        ts.insert("provider".to_string(), method);
        applied.push(AppliedAlias {
            name: TERMINAL_SHARING_METHOD,
            path: "spec.terminalSharing.method".to_string(),
            message: "terminalSharing.method is read as terminalSharing.provider; rename the field"
                .to_string(),
        });
    }
}

fn pod_spec(spec: &mut Map<String, Value>, applied: &mut Vec<AppliedAlias>) {
    if spec.contains_key("template") {
        return;
    }
    if let Some(pod_spec) = spec.remove("podSpec") {
        let mut template = Map::new();
        template.insert("spec".to_string(), pod_spec);
        spec.insert("template".to_string(), Value::Object(template));
        applied.push(AppliedAlias {
            name: POD_SPEC,
            path: "spec.podSpec".to_string(),
            message: "podSpec is read as template.spec; move the pod spec under template.spec"
                .to_string(),
        });
    }
}

/// A namespace filter written as a list of strings becomes `{patterns: [...]}`.
fn namespace_filter_list(
    parent: &mut Map<String, Value>,
    field: &str,
    base: &str,
    applied: &mut Vec<AppliedAlias>,
) {
    let Some(Value::Array(items)) = parent.get(field) else {
        return;
    };
    if !items.iter().all(Value::is_string) {
        return;
    }
    let items = items.clone();
    let mut filter = Map::new();
    filter.insert("patterns".to_string(), Value::Array(items));
    parent.insert(field.to_string(), Value::Object(filter));
    applied.push(AppliedAlias {
        name: NAMESPACE_FILTER_LIST,
        path: format!("{base}.{field}"),
        message: format!("a list of namespace patterns is read as {field}: {{patterns: [...]}}; write it as an object"),
    });
}

/// `namespaceConstraints` with a bare list, or with `allowedPatterns`/`deniedPatterns`.
fn namespace_constraints(spec: &mut Map<String, Value>, applied: &mut Vec<AppliedAlias>) {
    let Some(nc) = spec
        .get_mut("namespaceConstraints")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let base = "spec.namespaceConstraints";
    for (alias, target) in [
        ("allowedPatterns", "allowedNamespaces"),
        ("deniedPatterns", "deniedNamespaces"),
    ] {
        if nc.contains_key(target) {
            continue;
        }
        let Some(Value::Array(items)) = nc.get(alias) else {
            continue;
        };
        if !items.iter().all(Value::is_string) {
            continue;
        }
        let items = items.clone();
        nc.remove(alias);
        let mut filter = Map::new();
        filter.insert("patterns".to_string(), Value::Array(items));
        nc.insert(target.to_string(), Value::Object(filter));
        applied.push(AppliedAlias {
            name: NAMESPACE_CONSTRAINTS_PATTERNS,
            path: format!("{base}.{alias}"),
            message: format!("{alias} is read as {target}.patterns; move the list there"),
        });
    }
    for field in ["allowedNamespaces", "deniedNamespaces"] {
        namespace_filter_list(nc, field, base, applied);
    }
}
