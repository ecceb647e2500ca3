//! `POST …/{name}/injectEphemeralContainer`, `…/createPodCopy`, `…/createNodeDebugPod`
//! (A7): kubectl-debug operations of an active `kubectl-debug`/`hybrid` session, by its
//! owner or an active participant. The template's policy
//! (`breakglass_core::debug::kubectl`) decides (403 naming the rule), the target write
//! follows, then the session's status records it and lists the pod in `allowedPods`
//! so the webhook grants the session's pod operations on exactly that pod.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use breakglass_api::debug_session::{
    AllowedPodRef, CopiedPodRecord, DebugSession, DebugSessionState, DebugSessionStatus,
    EphemeralContainerRecord,
};
use breakglass_api::debug_session_template::DebugSessionTemplateSpec;
use breakglass_api::rest::debug::{CopyResponse, InjectResponse, NodeResponse};
use breakglass_core::debug::kubectl::{self, MAX_NAME_LEN, PolicyViolation, pods};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::EphemeralContainer;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{NamespaceHint, Relation, fresh, with_retry};
use crate::app::App;
use crate::debug::kubectl_ops::{self, Clients};
use crate::error::ApiError;
use crate::http::{AppState, Caller};
use crate::rest::body;

pub use breakglass_api::rest::debug::{CopyRequest, InjectRequest, NodeRequest};

const MAX_COMMAND: usize = 64;
const MAX_ARG: usize = 4096;

fn name_field(field: &str, value: &str) -> Result<(), ApiError> {
    let ok = !value.is_empty()
        && value.len() <= MAX_NAME_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "{field} must be a lower-case DNS name of 1..={MAX_NAME_LEN} characters"
        )))
    }
}

fn refused(v: PolicyViolation) -> ApiError {
    ApiError::forbidden(v.to_string())
}

/// The session, checked: caller may use it, mode allows kubectl-debug, Active; with its
/// effective template and the caller's user.
async fn usable(
    app: &App,
    caller: &crate::auth::Identity,
    name: &str,
    hint: Option<&str>,
) -> Result<(DebugSession, DebugSessionTemplateSpec, String), ApiError> {
    let session = fresh(app, name, hint).await?;
    let relation = Relation::of(app, caller, &session);
    relation.readable()?;
    if !relation.may_use() {
        return Err(ApiError::forbidden(
            "only the owner and active participants may use kubectl-debug operations",
        ));
    }
    let user = relation.user.clone().unwrap_or_default();
    let status = session.status.as_ref();
    let Some(effective) = status.and_then(|s| s.resolved_template.clone()) else {
        return Err(ApiError::BadRequest(
            "the debug session has no resolved template yet".to_owned(),
        ));
    };
    if !effective.mode.is_some_and(|m| m.allows_kubectl_debug()) {
        return Err(ApiError::BadRequest(
            "the debug session's template does not support kubectl-debug mode".to_owned(),
        ));
    }
    if status.and_then(|s| s.state) != Some(DebugSessionState::Active) {
        return Err(ApiError::BadRequest(
            "the debug session is not Active".to_owned(),
        ));
    }
    Ok((session, effective, user))
}

fn allow_pod(status: &mut DebugSessionStatus, namespace: &str, name: &str, node: Option<String>) {
    let pods = status.allowed_pods.get_or_insert_with(Vec::new);
    if !pods
        .iter()
        .any(|p| p.namespace == namespace && p.name == name)
    {
        pods.push(AllowedPodRef {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            node_name: node,
            ..Default::default()
        });
    }
}

/// `POST /api/debugSessions/{name}/injectEphemeralContainer` →
/// `{message, pod, namespace, container}`.
pub async fn inject(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    Query(hint): Query<NamespaceHint>,
    raw: Bytes,
) -> Result<Json<InjectResponse>, ApiError> {
    let app: &App = &state.app;
    let req: InjectRequest = body::strict(&raw)?;
    name_field("namespace", &req.namespace)?;
    name_field("podName", &req.pod_name)?;
    name_field("containerName", &req.container_name)?;
    let command = req.command.unwrap_or_default();
    if command.len() > MAX_COMMAND || command.iter().any(|a| a.len() > MAX_ARG) {
        return Err(ApiError::BadRequest(format!(
            "command must have at most {MAX_COMMAND} arguments of at most {MAX_ARG} bytes"
        )));
    }
    let (session, effective, user) = usable(app, &caller, &name, hint.namespace.as_deref()).await?;
    let Clients { controller, writer } =
        kubectl_ops::clients(app, &session.spec.cluster, &effective).await?;
    let target = kubectl_ops::pod(&controller, &req.namespace, &req.pod_name).await?;
    let container = EphemeralContainer {
        name: req.container_name.clone(),
        image: Some(req.image.clone()),
        command: (!command.is_empty()).then_some(command),
        security_context: req.security_context,
        stdin: Some(true),
        tty: Some(true),
        ..Default::default()
    };
    let config = effective
        .kubectl_debug
        .as_ref()
        .and_then(|k| k.ephemeral_containers.as_ref());
    let pod_sc = target
        .spec
        .as_ref()
        .and_then(|s| s.security_context.as_ref());
    kubectl::check_ephemeral(config, &req.namespace, &container, pod_sc).map_err(refused)?;
    kubectl_ops::inject(&writer, &req.namespace, &req.pod_name, &container).await?;
    let node = target.spec.and_then(|s| s.node_name);
    let now = Timestamp::now();
    with_retry(app, &name, hint.namespace.as_deref(), |s| {
        let mut status = s.status.clone().unwrap_or_default();
        let kd = status
            .kubectl_debug_status
            .get_or_insert_with(Default::default);
        kd.ephemeral_containers_injected
            .get_or_insert_with(Vec::new)
            .push(EphemeralContainerRecord {
                pod_name: req.pod_name.clone(),
                namespace: req.namespace.clone(),
                container_name: req.container_name.clone(),
                image: Some(req.image.clone()),
                injected_at: Some(Time(now)),
                injected_by: Some(user.clone()),
            });
        allow_pod(&mut status, &req.namespace, &req.pod_name, node.clone());
        Ok((status, ()))
    })
    .await?;
    tracing::info!(debug_session = %name, cluster = %session.spec.cluster, user = %user,
        namespace = %req.namespace, pod = %req.pod_name, container = %req.container_name,
        image = %req.image, "ephemeral container injected; pod access granted");
    Ok(Json(InjectResponse {
        message: format!(
            "Ephemeral container {} injected into {}/{}",
            req.container_name, req.namespace, req.pod_name
        ),
        pod: req.pod_name,
        namespace: req.namespace,
        container: req.container_name,
    }))
}

/// `POST /api/debugSessions/{name}/createPodCopy` →
/// `{message, copyName, copyNamespace, originalPod, originalNamespace}`.
pub async fn copy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    Query(hint): Query<NamespaceHint>,
    raw: Bytes,
) -> Result<Json<CopyResponse>, ApiError> {
    let app: &App = &state.app;
    let req: CopyRequest = body::strict(&raw)?;
    name_field("namespace", &req.namespace)?;
    name_field("podName", &req.pod_name)?;
    let (session, effective, user) = usable(app, &caller, &name, hint.namespace.as_deref()).await?;
    let Clients { controller, writer } =
        kubectl_ops::clients(app, &session.spec.cluster, &effective).await?;
    let original = kubectl_ops::pod(&controller, &req.namespace, &req.pod_name).await?;
    let config = effective
        .kubectl_debug
        .as_ref()
        .and_then(|k| k.pod_copy.as_ref());
    let now = Timestamp::now();
    let plan = pods::pod_copy(config, &session, &original, req.debug_image.as_deref(), now)
        .map_err(refused)?;
    let created = kubectl_ops::create(&writer, &plan.pod).await?;
    let copy_name = created.metadata.name.unwrap_or_default();
    let copy_ns = created.metadata.namespace.unwrap_or_default();
    with_retry(app, &name, hint.namespace.as_deref(), |s| {
        let mut status = s.status.clone().unwrap_or_default();
        let kd = status
            .kubectl_debug_status
            .get_or_insert_with(Default::default);
        kd.copied_pods
            .get_or_insert_with(Vec::new)
            .push(CopiedPodRecord {
                original_pod: req.pod_name.clone(),
                original_namespace: req.namespace.clone(),
                copy_name: copy_name.clone(),
                copy_namespace: copy_ns.clone(),
                created_at: Some(Time(now)),
                expires_at: Some(Time(plan.expires_at)),
            });
        allow_pod(&mut status, &copy_ns, &copy_name, None);
        Ok((status, ()))
    })
    .await?;
    tracing::info!(debug_session = %name, cluster = %session.spec.cluster, user = %user,
        copy = %format!("{copy_ns}/{copy_name}"), "pod copy created; pod access granted");
    Ok(Json(CopyResponse {
        message: format!("Pod copy {copy_ns}/{copy_name} created"),
        copy_name,
        copy_namespace: copy_ns,
        original_pod: req.pod_name,
        original_namespace: req.namespace,
    }))
}

/// `POST /api/debugSessions/{name}/createNodeDebugPod` → `{message, podName, namespace, node}`.
pub async fn node(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    Query(hint): Query<NamespaceHint>,
    raw: Bytes,
) -> Result<Json<NodeResponse>, ApiError> {
    let app: &App = &state.app;
    let req: NodeRequest = body::strict(&raw)?;
    name_field("nodeName", &req.node_name)?;
    let (session, effective, user) = usable(app, &caller, &name, hint.namespace.as_deref()).await?;
    let Clients { controller, writer } =
        kubectl_ops::clients(app, &session.spec.cluster, &effective).await?;
    let labels = kubectl_ops::node_labels(&controller, &req.node_name).await?;
    let config = effective
        .kubectl_debug
        .as_ref()
        .and_then(|k| k.node_debug.as_ref());
    let namespace = session
        .spec
        .target_namespace
        .clone()
        .or_else(|| effective.target_namespace.clone())
        .unwrap_or_else(|| breakglass_api::debug_common::DEFAULT_TARGET_NAMESPACE.to_owned());
    let pod = pods::node_debug_pod(
        config,
        &session,
        &namespace,
        &req.node_name,
        &labels,
        req.image.as_deref(),
    )
    .map_err(refused)?;
    let created = kubectl_ops::create(&writer, &pod).await?;
    let pod_name = created.metadata.name.unwrap_or_default();
    with_retry(app, &name, hint.namespace.as_deref(), |s| {
        let mut status = s.status.clone().unwrap_or_default();
        allow_pod(
            &mut status,
            &namespace,
            &pod_name,
            Some(req.node_name.clone()),
        );
        Ok((status, ()))
    })
    .await?;
    tracing::info!(debug_session = %name, cluster = %session.spec.cluster, user = %user,
        node = %req.node_name, pod = %pod_name, "node debug pod created; pod access granted");
    Ok(Json(NodeResponse {
        message: format!(
            "Node debug pod {namespace}/{pod_name} created on {}",
            req.node_name
        ),
        pod_name,
        namespace,
        node: req.node_name,
    }))
}
