//! Applying a session's [`DeployPlan`] on its target cluster.
//!
//! The namespace first (used when it exists, never touched then; created with the
//! plan's labels when missing and allowed), then every object in plan order by
//! server-side apply with our field manager. Before each write the object is read with
//! the controller's identity: one that exists without this session's labels is foreign
//! and is never applied over; one with them is applied again (idempotent after a lost
//! status write). Writes go through the writer client — the controller, or the
//! ServiceAccount the plan impersonates — reads through the controller.
//!
//! What happened to each object is collected in [`Applied`], also when applying stops
//! half-way, so a failed session's status says which object failed and why.

use breakglass_api::debug_common::AuxiliaryResourceFailurePolicy as Policy;
use breakglass_api::debug_session::{
    AuxiliaryResourceStatus, DebugSession, DeployedResourceRef, PodTemplateResourceStatus,
    RenderedResourceStatus,
};
use breakglass_core::debug::deploy::{DeployPlan, KindInfo, PlannedObject, Source};
use breakglass_core::debug::readiness;
use breakglass_core::debug::workload;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::{Api, Client};

use super::target::{self, NAMESPACE, TargetError, api_resource, bounded, kube_err};

/// Our field manager on every target write made with the controller's identity.
pub const FIELD_MANAGER: &str = "breakglass";

/// The longest field manager the apiserver accepts.
const MAX_FIELD_MANAGER: usize = 128;

/// The field manager of a write: [`FIELD_MANAGER`], or `breakglass as <user>` for a
/// write impersonating `user`, so the objects' `managedFields` say whose rights made them.
pub fn field_manager(identity: Option<&str>) -> String {
    match identity {
        None => FIELD_MANAGER.to_owned(),
        Some(user) => format!("{FIELD_MANAGER} as {user}")
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_FIELD_MANAGER)
            .collect(),
    }
}

/// Where and as whom a plan is applied.
pub struct Target<'a> {
    /// The cluster's name (for messages).
    pub cluster: &'a str,
    /// The controller's identity: reads and foreign-object checks.
    pub controller: &'a Client,
    /// Writes: the controller, or a client impersonating [`Self::identity`].
    pub writer: &'a Client,
    /// The impersonated user (`system:serviceaccount:ns:name`), when writes are impersonated.
    pub identity: Option<&'a str>,
}

/// What applying a plan did, object by object.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Applied {
    /// Every object written (namespace included when created), for `status.deployedResources`.
    pub deployed: Vec<DeployedResourceRef>,
    /// One entry per auxiliary resource of the plan.
    pub auxiliary: Vec<AuxiliaryResourceStatus>,
    /// One entry per extra document of a rendered pod template.
    pub pod_template: Vec<PodTemplateResourceStatus>,
    /// What the requester should know: plan warnings and `warn` failures.
    pub notes: Vec<String>,
}

/// Why applying a plan stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// A refusal — an object that is not ours, a write the target forbids or rejects,
    /// impersonation that cannot work: the session fails whatever its `failMode`.
    #[error("{0}")]
    Refused(String),
    /// The target could not do it: `failMode` decides; `transient` failures (no answer,
    /// server errors) are worth a few retries first.
    #[error("{message}")]
    Infra {
        /// What failed.
        message: String,
        /// Worth retrying.
        transient: bool,
    },
}

impl ApplyError {
    /// Classifies a failed target operation; `identity` is the impersonated user when
    /// the operation was a write made as it (reads are the controller's).
    fn from_target(e: TargetError, identity: Option<&str>, verb: &str, what: &str) -> Self {
        match &e {
            TargetError::Kube {
                source: kube::Error::Api(a),
                ..
            } if a.code == 403 && identity.is_some() => Self::Refused(format!(
                "impersonation: {} may not {verb} {what}: {}",
                identity.unwrap_or_default(),
                a.message
            )),
            TargetError::Kube {
                source: kube::Error::Api(a),
                ..
            } if matches!(a.code, 400 | 403 | 404 | 409 | 422) => Self::Refused(e.to_string()),
            TargetError::Kube {
                source: kube::Error::Api(a),
                ..
            } if a.code < 500 && a.code != 429 => Self::Infra {
                message: e.to_string(),
                transient: false,
            },
            _ => Self::Infra {
                message: e.to_string(),
                transient: true,
            },
        }
    }
}

/// Applies `plan` for `session` on `target`, recording every step in `applied`.
pub async fn apply(
    target: &Target<'_>,
    session: &DebugSession,
    plan: &DeployPlan,
    applied: &mut Applied,
    now: jiff::Timestamp,
) -> Result<(), ApplyError> {
    applied.notes.extend(plan.warnings.iter().cloned());
    // Left out while planning (could not be rendered; `ignore`/`warn`, the latter
    // already among the warnings): recorded like a resource that failed to apply.
    for skipped in &plan.skipped {
        applied.auxiliary.push(AuxiliaryResourceStatus {
            name: skipped.name.clone(),
            category: skipped.category.clone(),
            created: Some(false),
            error: Some(skipped.message.clone()),
            ..AuxiliaryResourceStatus::default()
        });
    }
    ensure_namespace(target, session, plan, applied).await?;
    for object in &plan.objects {
        let result = apply_object(target, session, object).await;
        record(applied, object, &result, now);
        let Err(e) = result else { continue };
        match &object.source {
            Source::Auxiliary {
                name,
                failure_policy: Policy::Ignore,
                ..
            } => {
                tracing::info!(debug_session = %name_of(session), resource = %name, error = %e, "auxiliary resource failed; ignored (failurePolicy ignore)");
            }
            Source::Auxiliary {
                name,
                failure_policy: Policy::Warn,
                ..
            } => applied
                .notes
                .push(format!("auxiliary resource {name} failed: {e}")),
            Source::Auxiliary { name, .. } => {
                return Err(retag(e, |m| format!("auxiliary resource {name}: {m}")));
            }
            Source::PodTemplateResource => {
                return Err(retag(e, |m| format!("pod template resource: {m}")));
            }
            Source::Workload | Source::ResourceQuota | Source::DisruptionBudget => {
                return Err(e);
            }
        }
    }
    Ok(())
}

fn name_of(session: &DebugSession) -> &str {
    session.metadata.name.as_deref().unwrap_or_default()
}

fn retag(e: ApplyError, f: impl FnOnce(&str) -> String) -> ApplyError {
    match e {
        ApplyError::Refused(m) => ApplyError::Refused(f(&m)),
        ApplyError::Infra { message, transient } => ApplyError::Infra {
            message: f(&message),
            transient,
        },
    }
}

/// Uses the plan's namespace when it exists; creates it (as the writer) when it is
/// missing and the plan allows it; otherwise fails (an infrastructure failure:
/// `failMode` decides).
async fn ensure_namespace(
    target: &Target<'_>,
    session: &DebugSession,
    plan: &DeployPlan,
    applied: &mut Applied,
) -> Result<(), ApplyError> {
    let ns = &plan.namespace;
    let exists = target::namespace_exists(target.controller, &ns.name)
        .await
        .map_err(|e| ApplyError::from_target(e, None, "read", "namespaces"))?;
    if exists {
        return Ok(());
    }
    if !ns.create_if_missing {
        return Err(ApplyError::Infra {
            message: format!(
                "target namespace {} does not exist on cluster {}",
                ns.name, target.cluster
            ),
            transient: false,
        });
    }
    // The session's labels are what makes cleanup delete the namespace later (and only
    // a namespace carrying them): they are asserted whatever the plan's labels say.
    let mut labels = ns.labels.clone();
    labels.extend(workload::session_labels(session));
    let object = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": ns.name, "labels": labels},
    });
    let created = server_side_apply(target, &NAMESPACE, None, &ns.name, &object, false)
        .await
        .map_err(|e| {
            ApplyError::from_target(
                e,
                target.identity,
                "create",
                &format!("namespace {}", ns.name),
            )
        })?;
    tracing::info!(namespace = %ns.name, cluster = target.cluster, "created the debug session's namespace");
    applied.deployed.push(DeployedResourceRef {
        api_version: "v1".to_owned(),
        kind: "Namespace".to_owned(),
        name: ns.name.clone(),
        namespace: None,
        source: Some("namespace".to_owned()),
        uid: created.metadata.uid,
    });
    Ok(())
}

/// What applying one object produced.
struct Written {
    uid: Option<String>,
    readiness: readiness::Readiness,
}

async fn apply_object(
    target: &Target<'_>,
    session: &DebugSession,
    object: &PlannedObject,
) -> Result<Written, ApplyError> {
    let kind = object.kind;
    let ns = object.namespace.as_deref();
    let what = match ns {
        Some(ns) => format!("{} {ns}/{}", kind.kind, object.name),
        None => format!("{} {}", kind.kind, object.name),
    };
    let existing = read(target.controller, kind, ns, &object.name)
        .await
        .map_err(|e| ApplyError::from_target(e, None, "read", &what))?;
    let ours = workload::selector_labels(session);
    if let Some(existing) = &existing {
        let labels = &existing.metadata.labels;
        if !ours
            .iter()
            .all(|(k, v)| labels.as_ref().and_then(|l| l.get(k)) == Some(v))
        {
            return Err(ApplyError::Refused(format!(
                "{what} already exists and does not belong to this session"
            )));
        }
    }
    let verb = if existing.is_some() {
        "update"
    } else {
        "create"
    };
    let place = match ns {
        Some(ns) => format!("{} in {ns}", kind.kind),
        None => kind.kind.to_owned(),
    };
    // Force only over our own object (a field taken by someone else since is ours to
    // set back); a new object needs no force.
    let written = server_side_apply(
        target,
        kind,
        ns,
        &object.name,
        &object.object,
        existing.is_some(),
    )
    .await
    .map_err(|e| ApplyError::from_target(e, target.identity, verb, &place))?;
    let value = serde_json::to_value(&written).unwrap_or_default();
    Ok(Written {
        uid: written.metadata.uid,
        readiness: readiness::assess(kind.kind, &value),
    })
}

/// Reads one object (`None` when it does not exist).
pub async fn read(
    client: &Client,
    kind: &KindInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<Option<DynamicObject>, TargetError> {
    let ar = api_resource(kind);
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    bounded("reading an object", async {
        api.get_opt(name)
            .await
            .map_err(kube_err(format!("reading {} {name}", kind.kind)))
    })
    .await
}

async fn server_side_apply(
    target: &Target<'_>,
    kind: &KindInfo,
    namespace: Option<&str>,
    name: &str,
    object: &serde_json::Value,
    force: bool,
) -> Result<DynamicObject, TargetError> {
    let ar = api_resource(kind);
    let client = target.writer;
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    let mut pp = PatchParams::apply(&field_manager(target.identity));
    pp.force = force;
    bounded("applying an object", async {
        api.patch(name, &pp, &Patch::Apply(object))
            .await
            .map_err(kube_err(format!("applying {} {name}", kind.kind)))
    })
    .await
}

/// Records the outcome of applying `object` in `applied`.
fn record(
    applied: &mut Applied,
    object: &PlannedObject,
    result: &Result<Written, ApplyError>,
    now: jiff::Timestamp,
) {
    let kind = object.kind;
    if let Ok(w) = result {
        applied.deployed.push(DeployedResourceRef {
            api_version: kind.api_version(),
            kind: kind.kind.to_owned(),
            name: object.name.clone(),
            namespace: object.namespace.clone(),
            source: Some(source_name(&object.source)),
            uid: w.uid.clone(),
        });
    }
    let rendered = RenderedResourceStatus {
        api_version: kind.api_version(),
        kind: kind.kind.to_owned(),
        name: object.name.clone(),
        namespace: object.namespace.clone(),
        created: Some(result.is_ok()),
        created_at: result.is_ok().then_some(Time(now)),
        ready: result.as_ref().ok().map(|w| w.readiness.is_ready()),
        deleted: None,
        deleted_at: None,
        error: result.as_ref().err().map(ToString::to_string),
    };
    match &object.source {
        Source::PodTemplateResource => applied.pod_template.push(rendered),
        Source::Auxiliary { name, category, .. } => {
            let readiness = result
                .as_ref()
                .ok()
                .map(|w| w.readiness.as_str().to_owned());
            record_auxiliary(applied, name, category.as_deref(), rendered, readiness);
        }
        Source::Workload | Source::ResourceQuota | Source::DisruptionBudget => {}
    }
}

/// The first object of an auxiliary resource fills its status; further documents of
/// the same resource go to `additionalResources`. An error on any of them is the
/// resource's error.
fn record_auxiliary(
    applied: &mut Applied,
    name: &str,
    category: Option<&str>,
    rendered: RenderedResourceStatus,
    readiness: Option<String>,
) {
    if let Some(st) = applied.auxiliary.iter_mut().find(|s| s.name == name) {
        if rendered.error.is_some() {
            st.error.clone_from(&rendered.error);
        }
        if rendered.ready == Some(false) || rendered.error.is_some() {
            st.ready = Some(false);
        }
        st.additional_resources
            .get_or_insert_with(Vec::new)
            .push(rendered);
        return;
    }
    applied.auxiliary.push(AuxiliaryResourceStatus {
        name: name.to_owned(),
        category: category.map(str::to_owned),
        api_version: Some(rendered.api_version),
        kind: Some(rendered.kind),
        resource_name: Some(rendered.name),
        namespace: rendered.namespace,
        created: rendered.created,
        created_at: rendered.created_at,
        ready: rendered.ready,
        ready_status: readiness,
        deleted: None,
        deleted_at: None,
        error: rendered.error,
        additional_resources: None,
    });
}

/// `status.deployedResources[].source` of an object.
pub fn source_name(source: &Source) -> String {
    match source {
        Source::Workload => "workload".to_owned(),
        Source::ResourceQuota => "resourceQuota".to_owned(),
        Source::DisruptionBudget => "podDisruptionBudget".to_owned(),
        Source::PodTemplateResource => "podTemplateResource".to_owned(),
        Source::Auxiliary { name, .. } => format!("auxiliary:{name}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn impersonated_writes_name_the_account_in_their_field_manager() {
        assert_eq!(field_manager(None), "breakglass");
        assert_eq!(
            field_manager(Some("system:serviceaccount:ops:deployer")),
            "breakglass as system:serviceaccount:ops:deployer"
        );
        let long = format!("system:serviceaccount:ops:{}", "a".repeat(253));
        assert_eq!(
            field_manager(Some(&long)).chars().count(),
            MAX_FIELD_MANAGER
        );
        assert_eq!(field_manager(Some("a\nb")), "breakglass as ab");
    }

    fn api_error(code: u16) -> TargetError {
        TargetError::Kube {
            what: "applying ConfigMap c".to_owned(),
            source: kube::Error::Api(
                kube::core::Status::failure("configmaps is forbidden", "Forbidden")
                    .with_code(code)
                    .boxed(),
            ),
        }
    }

    #[test]
    fn refusals_fail_whatever_the_fail_mode_and_server_trouble_is_infrastructure() {
        let as_sa = Some("system:serviceaccount:ns:sa");
        assert_eq!(
            ApplyError::from_target(api_error(403), as_sa, "create", "ConfigMap in ns"),
            ApplyError::Refused(
                "impersonation: system:serviceaccount:ns:sa may not create ConfigMap in ns: configmaps is forbidden"
                    .to_owned()
            )
        );
        let plain = None;
        for code in [400, 403, 404, 409, 422] {
            assert!(
                matches!(
                    ApplyError::from_target(api_error(code), plain, "create", "x"),
                    ApplyError::Refused(m) if m.starts_with("applying ConfigMap c: ")
                ),
                "{code}"
            );
        }
        for code in [429, 500, 503] {
            assert!(matches!(
                ApplyError::from_target(api_error(code), plain, "create", "x"),
                ApplyError::Infra {
                    transient: true,
                    ..
                }
            ));
        }
        assert!(matches!(
            ApplyError::from_target(api_error(410), plain, "create", "x"),
            ApplyError::Infra {
                transient: false,
                ..
            }
        ));
        let timeout = TargetError::Timeout { what: "applying" };
        assert!(matches!(
            ApplyError::from_target(timeout, plain, "create", "x"),
            ApplyError::Infra {
                transient: true,
                ..
            }
        ));
    }

    static CM: KindInfo = KindInfo {
        group: "",
        version: "v1",
        kind: "ConfigMap",
        plural: "configmaps",
        namespaced: true,
    };

    fn planned(name: &str, source: Source) -> PlannedObject {
        PlannedObject {
            kind: &CM,
            name: name.to_owned(),
            namespace: Some("ns".to_owned()),
            object: serde_json::json!({}),
            source,
        }
    }

    fn aux(name: &str) -> Source {
        Source::Auxiliary {
            name: name.to_owned(),
            category: Some("net".to_owned()),
            failure_policy: Policy::Fail,
            delete_after: true,
        }
    }

    #[test]
    fn further_documents_of_an_auxiliary_resource_are_its_additional_resources() {
        let now = jiff::Timestamp::UNIX_EPOCH;
        let mut applied = Applied::default();
        let ok = |r: readiness::Readiness| -> Result<Written, ApplyError> {
            Ok(Written {
                uid: Some("u".to_owned()),
                readiness: r,
            })
        };
        record(
            &mut applied,
            &planned("a1", aux("a")),
            &ok(readiness::Readiness::Current),
            now,
        );
        record(
            &mut applied,
            &planned("a2", aux("a")),
            &ok(readiness::Readiness::InProgress),
            now,
        );
        let failed = Err(ApplyError::Refused("no".to_owned()));
        record(&mut applied, &planned("b1", aux("b")), &failed, now);
        record(
            &mut applied,
            &planned("x", Source::PodTemplateResource),
            &ok(readiness::Readiness::Current),
            now,
        );
        record(
            &mut applied,
            &planned("w", Source::Workload),
            &ok(readiness::Readiness::InProgress),
            now,
        );

        let sources: Vec<String> = applied
            .deployed
            .iter()
            .map(|d| d.source.clone().unwrap_or_default())
            .collect();
        assert_eq!(
            sources,
            [
                "auxiliary:a",
                "auxiliary:a",
                "podTemplateResource",
                "workload"
            ]
        );
        assert_eq!(applied.auxiliary.len(), 2);
        let a = &applied.auxiliary[0];
        assert_eq!(
            (
                a.resource_name.as_deref(),
                a.category.as_deref(),
                a.ready,
                a.ready_status.as_deref()
            ),
            (Some("a1"), Some("net"), Some(false), Some("Current")),
            "not ready while a further document is not"
        );
        let extra = a.additional_resources.as_ref().unwrap();
        assert_eq!(
            (extra[0].name.as_str(), extra[0].ready),
            ("a2", Some(false))
        );
        let b = &applied.auxiliary[1];
        assert_eq!(
            (b.created, b.created_at.is_none(), b.error.as_deref()),
            (Some(false), true, Some("no"))
        );
        assert_eq!(applied.pod_template.len(), 1);
        assert_eq!(applied.pod_template[0].ready, Some(true));
    }
}
