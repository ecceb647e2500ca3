//! The generated CRDs: committed files, structure, defaults, names, columns, rules.

use std::collections::BTreeMap;

use breakglass_api::crds;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use serde_json::Value;

use crate::repo_root;

/// Kind, scope, short names and print columns (name, type, JSON path) of the reference.
struct Expected {
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    columns: &'static [(&'static str, &'static str, &'static str)],
    selectable: &'static [&'static str],
    cel_rules: usize,
}

const READY: (&str, &str, &str) = (
    "Ready",
    "string",
    r#".status.conditions[?(@.type=="Ready")].status"#,
);
const AGE: (&str, &str, &str) = ("Age", "date", ".metadata.creationTimestamp");

const EXPECTED: &[Expected] = &[
    Expected {
        kind: "BreakglassEscalation",
        namespaced: true,
        short_names: &["bge"],
        columns: &[
            ("Clusters", "string", ".spec.allowed.clusters"),
            ("Groups", "string", ".spec.allowed.groups"),
            READY,
            AGE,
        ],
        selectable: &[],
        cel_rules: 5,
    },
    Expected {
        kind: "BreakglassSession",
        namespaced: true,
        short_names: &["bgs"],
        columns: &[
            ("State", "string", ".status.state"),
            ("User", "string", ".spec.user"),
            ("Cluster", "string", ".spec.cluster"),
            ("Granted Group", "string", ".spec.grantedGroup"),
            ("Expires At", "string", ".status.expiresAt"),
            ("Scheduled Start", "string", ".spec.scheduledStartTime"),
            ("Retained Until", "string", ".status.retainedUntil"),
            AGE,
        ],
        selectable: &[
            ".spec.cluster",
            ".spec.user",
            ".spec.grantedGroup",
            ".status.state",
        ],
        cel_rules: 0,
    },
    Expected {
        kind: "DenyPolicy",
        namespaced: false,
        short_names: &["dpolicy"],
        columns: &[("Precedence", "integer", ".spec.precedence"), READY],
        selectable: &[],
        cel_rules: 2,
    },
    Expected {
        kind: "ClusterConfig",
        namespaced: true,
        short_names: &["ccfg"],
        columns: &[
            ("Tenant", "string", ".spec.tenant"),
            ("ClusterID", "string", ".spec.clusterID"),
            READY,
        ],
        selectable: &[],
        cel_rules: 0,
    },
    Expected {
        kind: "IdentityProvider",
        namespaced: false,
        short_names: &[],
        columns: &[
            ("Issuer", "string", ".spec.issuer"),
            ("GroupSync", "string", ".spec.groupSyncProvider"),
            READY,
            AGE,
        ],
        selectable: &[],
        cel_rules: 0,
    },
    Expected {
        kind: "MailProvider",
        namespaced: false,
        short_names: &[],
        columns: &[
            ("Host", "string", ".spec.smtp.host"),
            ("Port", "integer", ".spec.smtp.port"),
            ("Default", "boolean", ".spec.default"),
            READY,
            AGE,
        ],
        selectable: &[],
        cel_rules: 0,
    },
    Expected {
        kind: "AuditConfig",
        namespaced: false,
        short_names: &["ac"],
        columns: &[
            ("Enabled", "boolean", ".spec.enabled"),
            ("Sinks", "string", ".status.activeSinks"),
            ("Processed", "integer", ".status.eventsProcessed"),
            ("Dropped", "integer", ".status.eventsDropped"),
            READY,
            AGE,
        ],
        selectable: &[],
        cel_rules: 0,
    },
    Expected {
        kind: "DebugPodTemplate",
        namespaced: false,
        short_names: &["dpt"],
        columns: &[
            ("Display Name", "string", ".spec.displayName"),
            ("Description", "string", ".spec.description"),
            READY,
            AGE,
        ],
        selectable: &[],
        cel_rules: 0,
    },
    Expected {
        kind: "DebugSessionTemplate",
        namespaced: false,
        short_names: &["dst"],
        columns: &[
            ("Display Name", "string", ".spec.displayName"),
            ("Mode", "string", ".spec.mode"),
            ("Workload Type", "string", ".spec.workloadType"),
            ("Active Sessions", "integer", ".status.activeSessionCount"),
            READY,
            AGE,
        ],
        selectable: &[],
        cel_rules: 5,
    },
    Expected {
        kind: "DebugSessionClusterBinding",
        namespaced: true,
        short_names: &["dscb", "debugbinding"],
        columns: &[
            ("Template", "string", ".spec.templateRef.name"),
            ("Clusters", "string", ".status.resolvedClusters[*].name"),
            ("Active", "integer", ".status.activeSessionCount"),
            READY,
            AGE,
        ],
        selectable: &[],
        cel_rules: 5,
    },
    Expected {
        kind: "DebugSession",
        namespaced: true,
        short_names: &["ds"],
        columns: &[
            ("State", "string", ".status.state"),
            ("Cluster", "string", ".spec.cluster"),
            ("Template", "string", ".spec.templateRef"),
            ("Target NS", "string", ".spec.targetNamespace"),
            ("Requested By", "string", ".spec.requestedBy"),
            ("Expires At", "string", ".status.expiresAt"),
            AGE,
        ],
        selectable: &[
            ".spec.cluster",
            ".spec.requestedBy",
            ".spec.templateRef",
            ".status.state",
        ],
        cel_rules: 5,
    },
];

fn schema_of(crd: &CustomResourceDefinition) -> &JSONSchemaProps {
    crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .unwrap()
}

#[test]
fn committed_manifests_match_the_types() {
    let dir = repo_root().join("config/crd");
    let rendered = crds::render_all().unwrap();
    for (name, contents) in &rendered {
        let committed = std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|_| panic!("config/crd/{name} is missing; run `cargo xtask crds`"));
        assert!(
            committed == *contents,
            "config/crd/{name} differs from the types; run `cargo xtask crds`"
        );
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            rendered.iter().any(|(n, _)| *n == name),
            "config/crd/{name} is not generated by the types; run `cargo xtask crds`"
        );
    }
}

#[test]
fn rendered_yaml_parses_back_to_the_same_crd() {
    for crd in crds::all() {
        let yaml = crds::render_yaml(&crd).unwrap();
        let parsed: CustomResourceDefinition = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(parsed, crd, "{}", crds::file_name(&crd));
    }
}

#[test]
fn names_scope_columns_and_selectable_fields_match_the_reference() {
    let all = crds::all();
    assert_eq!(all.len(), EXPECTED.len());
    for (crd, want) in all.iter().zip(EXPECTED) {
        let names = &crd.spec.names;
        assert_eq!(names.kind, want.kind);
        assert_eq!(crd.spec.group, breakglass_api::GROUP);
        assert_eq!(
            names.plural,
            format!("{}s", want.kind.to_lowercase()).replace("ys", "ies")
        );
        assert_eq!(
            crd.metadata.name.as_deref(),
            Some(format!("{}.{}", names.plural, breakglass_api::GROUP).as_str())
        );
        let scope = if want.namespaced {
            "Namespaced"
        } else {
            "Cluster"
        };
        assert_eq!(crd.spec.scope, scope, "{}", want.kind);
        let short: Vec<&str> = names
            .short_names
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        assert_eq!(short, want.short_names, "{}", want.kind);

        assert_eq!(crd.spec.versions.len(), 1);
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, breakglass_api::VERSION);
        assert!(version.served && version.storage);
        assert!(
            version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some(),
            "{} has a status subresource",
            want.kind
        );
        let columns: Vec<(&str, &str, &str)> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| (c.name.as_str(), c.type_.as_str(), c.json_path.as_str()))
            .collect();
        assert_eq!(columns, want.columns, "{}", want.kind);
        let selectable: Vec<&str> = version
            .selectable_fields
            .iter()
            .flatten()
            .map(|f| f.json_path.as_str())
            .collect();
        assert_eq!(selectable, want.selectable, "{}", want.kind);

        let schema = schema_of(crd);
        for (name, type_, path) in want.columns {
            if path.starts_with(".metadata") {
                continue;
            }
            let found = resolve(schema, path).unwrap_or_else(|| {
                panic!("{}: column {name} path {path} not in schema", want.kind)
            });
            let found_type = found.type_.as_deref().unwrap_or_default();
            let ok = match *type_ {
                "string" => ["string", "array"].contains(&found_type),
                other => found_type == other,
            };
            assert!(
                ok,
                "{}: column {name} is {type_} but {path} is {found_type}",
                want.kind
            );
        }
        for path in want.selectable {
            let found = resolve(schema, path)
                .unwrap_or_else(|| panic!("{}: selectable {path} not in schema", want.kind));
            assert_eq!(
                found.type_.as_deref(),
                Some("string"),
                "{}: {path}",
                want.kind
            );
        }

        let mut rules = 0;
        visit(schema, &mut |s| {
            rules += s.x_kubernetes_validations.as_ref().map_or(0, Vec::len)
        });
        assert_eq!(rules, want.cel_rules, "{} CEL rules", want.kind);
    }
}

/// The schema at a simple JSONPath (`.a.b`, `.a[*].b`, `.a[?(..)].b`).
fn resolve<'a>(schema: &'a JSONSchemaProps, path: &str) -> Option<&'a JSONSchemaProps> {
    let mut node = schema;
    let mut plain = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => {
                depth += 1;
                plain.push('[');
            }
            ']' => depth -= 1,
            _ if depth > 0 => {}
            _ => plain.push(c),
        }
    }
    for raw in plain.trim_start_matches('.').split('.') {
        let (field, index) = match raw.find('[') {
            Some(i) => (&raw[..i], true),
            None => (raw, false),
        };
        if field.is_empty() {
            continue;
        }
        node = node.properties.as_ref()?.get(field)?;
        if index {
            node = match node.items.as_ref()? {
                JSONSchemaPropsOrArray::Schema(s) => s,
                JSONSchemaPropsOrArray::Schemas(_) => return None,
            };
        }
    }
    Some(node)
}

fn visit(schema: &JSONSchemaProps, f: &mut impl FnMut(&JSONSchemaProps)) {
    let mut schema = schema.clone();
    crds::visit_schemas(&mut schema, &mut |s| f(s));
}

#[test]
fn schemas_are_structural() {
    for crd in crds::all() {
        let kind = crd.spec.names.kind.clone();
        let mut problems = Vec::new();
        check_structural(schema_of(&crd), &kind, &mut problems);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

fn check_structural(s: &JSONSchemaProps, path: &str, problems: &mut Vec<String>) {
    let mut fail = |what: &str| problems.push(format!("{path}: {what}"));
    if s.ref_path.is_some() {
        fail("$ref");
    }
    if s.any_of.is_some() || s.one_of.is_some() || s.all_of.is_some() || s.not.is_some() {
        fail("anyOf/oneOf/allOf/not");
    }
    if s.nullable.is_some() {
        fail("nullable");
    }
    if s.definitions.is_some() || s.title.is_some() {
        fail("definitions or title");
    }
    let int_or_string = s.x_kubernetes_int_or_string == Some(true);
    let preserve = s.x_kubernetes_preserve_unknown_fields == Some(true);
    if s.type_.is_none() && !int_or_string && !preserve {
        fail("no type");
    }
    if s.type_.as_deref() == Some("array") && s.items.is_none() {
        fail("array without items");
    }
    if s.properties.is_some() && s.additional_properties.is_some() {
        fail("both properties and additionalProperties");
    }
    if let Some(default) = &s.default
        && let Err(e) = validate(&default.0, s)
    {
        fail(&format!("default {} does not validate: {e}", default.0));
    }
    for (name, child) in s.properties.iter().flatten() {
        check_structural(child, &format!("{path}.{name}"), problems);
    }
    if let Some(JSONSchemaPropsOrArray::Schema(items)) = &s.items {
        check_structural(items, &format!("{path}[]"), problems);
    }
    if let Some(JSONSchemaPropsOrBool::Schema(values)) = &s.additional_properties {
        check_structural(values, &format!("{path}{{}}"), problems);
    }
}

/// Checks a value against the parts of a schema the apiserver checks defaults with.
fn validate(value: &Value, s: &JSONSchemaProps) -> Result<(), String> {
    if s.x_kubernetes_preserve_unknown_fields == Some(true) && s.type_.is_none() {
        return Ok(());
    }
    if s.x_kubernetes_int_or_string == Some(true) {
        return if value.is_string() || value.is_i64() {
            Ok(())
        } else {
            Err("not int-or-string".into())
        };
    }
    let type_ok = match s.type_.as_deref() {
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some("array") => value.is_array(),
        Some("object") => value.is_object(),
        _ => false,
    };
    if !type_ok {
        return Err(format!("not of type {:?}", s.type_));
    }
    if let Some(values) = &s.enum_
        && !values.iter().any(|v| v.0 == *value)
    {
        return Err("not in enum".into());
    }
    if let Some(text) = value.as_str() {
        let len = text.chars().count() as i64;
        if s.min_length.is_some_and(|m| len < m) || s.max_length.is_some_and(|m| len > m) {
            return Err("length out of range".into());
        }
        if let Some(pattern) = &s.pattern
            && !regex::Regex::new(pattern).unwrap().is_match(text)
        {
            return Err(format!("does not match {pattern}"));
        }
    }
    if let Some(n) = value.as_f64()
        && (s.minimum.is_some_and(|m| n < m) || s.maximum.is_some_and(|m| n > m))
    {
        return Err("out of range".into());
    }
    if let Some(items) = value.as_array() {
        let len = items.len() as i64;
        if s.min_items.is_some_and(|m| len < m) || s.max_items.is_some_and(|m| len > m) {
            return Err("item count out of range".into());
        }
        if let Some(JSONSchemaPropsOrArray::Schema(item_schema)) = &s.items {
            for item in items {
                validate(item, item_schema)?;
            }
        }
    }
    if let Some(map) = value.as_object() {
        for required in s.required.iter().flatten() {
            if !map.contains_key(required) {
                return Err(format!("missing {required}"));
            }
        }
        for (key, v) in map {
            if let Some(child) = s.properties.as_ref().and_then(|p| p.get(key)) {
                validate(v, child)?;
            }
        }
    }
    Ok(())
}

#[test]
fn defaults_of_the_reference_are_in_the_schema() {
    let all: BTreeMap<String, CustomResourceDefinition> = crds::all()
        .into_iter()
        .map(|c| (c.spec.names.kind.clone(), c))
        .collect();
    let cases: &[(&str, &str, Value)] = &[
        ("BreakglassEscalation", ".spec.maxValidFor", "1h".into()),
        ("BreakglassEscalation", ".spec.approvalTimeout", "1h".into()),
        ("BreakglassSession", ".spec.maxValidFor", "1h".into()),
        ("BreakglassSession", ".spec.retainFor", "720h".into()),
        ("ClusterConfig", ".spec.authType", "Kubeconfig".into()),
        (
            "ClusterConfig",
            ".spec.kubeconfigSecretRef.key",
            "value".into(),
        ),
        (
            "ClusterConfig",
            ".spec.constrainedImpersonation.support",
            "Auto".into(),
        ),
        (
            "ClusterConfig",
            ".spec.constrainedImpersonation.legacyFallback",
            "Allow".into(),
        ),
        (
            "ClusterConfig",
            ".spec.constrainedImpersonation.denyUnrecognisedVerbs",
            true.into(),
        ),
        (
            "ClusterConfig",
            ".spec.oidcAuth.fallbackPolicy",
            "None".into(),
        ),
        (
            "DenyPolicy",
            ".spec.podSecurityRules.failMode",
            "closed".into(),
        ),
        (
            "DenyPolicy",
            ".spec.podSecurityRules.appliesTo.subresources",
            serde_json::json!(["exec", "attach", "portforward"]),
        ),
        ("IdentityProvider", ".spec.keycloak.cacheTTL", "10m".into()),
        (
            "IdentityProvider",
            ".spec.keycloak.requestTimeout",
            "10s".into(),
        ),
        ("MailProvider", ".spec.retry.count", 3.into()),
        ("MailProvider", ".spec.retry.initialBackoffMs", 100.into()),
        ("MailProvider", ".spec.retry.queueSize", 1000.into()),
        ("AuditConfig", ".spec.enabled", true.into()),
        ("AuditConfig", ".spec.queue.size", 100_000.into()),
        ("AuditConfig", ".spec.queue.workers", 5.into()),
        ("AuditConfig", ".spec.sampling.rate", "1.0".into()),
        (
            "AuditConfig",
            ".spec.sinks[*].kafka.compression",
            "snappy".into(),
        ),
        (
            "AuditConfig",
            ".spec.sinks[*].kafka.requiredAcks",
            (-1).into(),
        ),
        (
            "AuditConfig",
            ".spec.sinks[*].webhook.timeoutSeconds",
            5.into(),
        ),
        ("AuditConfig", ".spec.sinks[*].log.format", "json".into()),
        (
            "DebugPodTemplate",
            ".spec.template.spec.restartPolicy",
            "Never".into(),
        ),
        (
            "DebugPodTemplate",
            ".spec.template.spec.automountServiceAccountToken",
            false.into(),
        ),
        ("DebugSessionTemplate", ".spec.mode", "workload".into()),
        ("DebugSessionTemplate", ".spec.replicas", 1.into()),
        (
            "DebugSessionTemplate",
            ".spec.targetNamespace",
            "breakglass-debug".into(),
        ),
        ("DebugSessionTemplate", ".spec.failMode", "closed".into()),
        (
            "DebugSessionTemplate",
            ".spec.expirationBehavior",
            "terminate".into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.gracePeriodBeforeExpiry",
            "15m".into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.constraints.maxDuration",
            "4h".into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.constraints.defaultDuration",
            "1h".into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.constraints.maxConcurrentSessions",
            2.into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.namespaceConstraints.defaultNamespace",
            "breakglass-debug".into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.terminalSharing.provider",
            "tmux".into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.terminalSharing.maxParticipants",
            5.into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.audit.recordingRetention",
            "90d".into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.kubectlDebug.podCopy.targetNamespace",
            "debug-copies".into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.kubectlDebug.podCopy.ttl",
            "2h".into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.kubectlDebug.ephemeralContainers.requireNonRoot",
            true.into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.kubectlDebug.nodeDebug.hostNamespaces.hostPID",
            true.into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.requestReason.minLength",
            10.into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.requestReason.maxLength",
            1000.into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.approvalReason.mandatoryForRejection",
            true.into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.auxiliaryResources[*].failurePolicy",
            "fail".into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.auxiliaryResources[*].createBefore",
            true.into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.extraDeployVariables[*].inputType",
            "text".into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.allowedPodOperations.exec",
            true.into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.allowedPodOperations.logs",
            false.into(),
        ),
        (
            "DebugSessionTemplate",
            ".spec.notification.notifyOnExpiry",
            true.into(),
        ),
        ("DebugSessionClusterBinding", ".spec.disabled", false.into()),
        ("DebugSessionClusterBinding", ".spec.hidden", false.into()),
        (
            "DebugSession",
            ".status.resolvedTemplate.mode",
            "workload".into(),
        ),
    ];
    for (kind, path, want) in cases {
        let schema = resolve(schema_of(&all[*kind]), path)
            .unwrap_or_else(|| panic!("{kind}: {path} not in schema"));
        assert_eq!(
            schema.default.as_ref().map(|d| &d.0),
            Some(want),
            "{kind} {path}"
        );
    }
    // Binding overrides replace template values field by field, so they carry no defaults.
    for path in [
        ".spec.constraints.maxDuration",
        ".spec.namespaceConstraints.defaultNamespace",
    ] {
        let schema = resolve(schema_of(&all["DebugSessionClusterBinding"]), path).unwrap();
        assert!(schema.default.is_none(), "binding {path} has no default");
    }
}

#[test]
fn embedded_objects_keep_unknown_fields() {
    let all: BTreeMap<String, CustomResourceDefinition> = crds::all()
        .into_iter()
        .map(|c| (c.spec.names.kind.clone(), c))
        .collect();
    for (kind, path) in [
        (
            "DebugSessionTemplate",
            ".spec.auxiliaryResources[*].template",
        ),
        (
            "DebugSessionTemplate",
            ".spec.extraDeployVariables[*].default",
        ),
    ] {
        let schema = resolve(schema_of(&all[kind]), path).unwrap();
        assert_eq!(
            schema.x_kubernetes_preserve_unknown_fields,
            Some(true),
            "{kind} {path}"
        );
    }
    let values = resolve(schema_of(&all["DebugSession"]), ".spec.extraDeployValues").unwrap();
    match &values.additional_properties {
        Some(JSONSchemaPropsOrBool::Schema(s)) => {
            assert_eq!(s.x_kubernetes_preserve_unknown_fields, Some(true));
        }
        other => panic!("extraDeployValues values: {other:?}"),
    }
    let quantity = resolve(
        schema_of(&all["DebugPodTemplate"]),
        ".spec.template.spec.containers[*].resources.limits",
    )
    .unwrap();
    match &quantity.additional_properties {
        Some(JSONSchemaPropsOrBool::Schema(s)) => {
            assert_eq!(s.x_kubernetes_int_or_string, Some(true));
        }
        other => panic!("resource limits values: {other:?}"),
    }
}
