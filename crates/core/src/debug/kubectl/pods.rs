//! The pods kubectl-debug operations create (pure): debug copies of pods (`createPodCopy`)
//! and node debug pods (`createNodeDebugPod`). Both carry the session labels, so the
//! cleanup by label removes them when the session ends; names derive from the full
//! session name through a hash, never a prefix that collides.

use std::collections::BTreeMap;

use breakglass_api::debug_session::{CopiedPodRecord, DebugSession, DebugSessionStatus};
use breakglass_api::debug_session_template::{
    EphemeralContainersConfig, NodeDebugConfig, PodCopyConfig,
};
use k8s_openapi::api::core::v1::{
    Container, HostPathVolumeSource, Pod, PodSpec, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{MAX_IMAGE_LEN, MAX_NAME_LEN, PolicyViolation, check_image, violation};
use crate::debug::workload::{label_value, session_labels};
use crate::duration::GoDuration;
use crate::namespace::AllowDeny;

/// Label marking a debug copy of a pod.
pub const DEBUG_COPY: &str = "breakglass.telekom.com/debug-copy";
/// Label naming the copied pod.
pub const ORIGINAL_POD: &str = "breakglass.telekom.com/original-pod";
/// Label naming the copied pod's namespace.
pub const ORIGINAL_NAMESPACE: &str = "breakglass.telekom.com/original-namespace";
/// Label marking a node debug pod.
pub const NODE_DEBUG: &str = "breakglass.telekom.com/node-debug";
/// Namespace of pod copies when the template names none.
pub const DEFAULT_COPY_NAMESPACE: &str = "debug-copies";
/// Lifetime of a pod copy when the template names none (2h).
pub const DEFAULT_COPY_TTL: &str = "2h";
/// Image of node debug pods when the template allows any image.
pub const DEFAULT_NODE_IMAGE: &str = "busybox:stable";

const COPY_ENABLED: &str = "kubectlDebug.podCopy.enabled";
const COPY_NAMESPACES: &str = "kubectlDebug.podCopy.allowedNamespaces";
const COPY_TTL: &str = "kubectlDebug.podCopy.ttl";
const NODE_ENABLED: &str = "kubectlDebug.nodeDebug.enabled";
const NODE_SELECTOR: &str = "kubectlDebug.nodeDebug.nodeSelector";
const NODE_IMAGES: &str = "kubectlDebug.nodeDebug.allowedImages";
const COPY_IMAGES: &str = "kubectlDebug.ephemeralContainers.allowedImages";
const COPY_DIGEST: &str = "kubectlDebug.ephemeralContainers.requireImageDigest";

/// A pod copy to create and when it must be deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct PodCopy {
    /// The copy, named and labelled, in the copy namespace.
    pub pod: Pod,
    /// When the copy is deleted (now + `ttl`).
    pub expires_at: jiff::Timestamp,
}

/// Builds the debug copy of `original` for `session`: same spec without node pinning
/// and with `restartPolicy: Never`, an optional `debugger` container running
/// `debug_image`, in `podCopy.targetNamespace` (default `debug-copies`), expiring at
/// `now + ttl` (default 2h).
///
/// The debugger image follows the template's image rules for debugging containers
/// (`ephemeralContainers.allowedImages`, `requireImageDigest`); a template without an
/// `ephemeralContainers` section has no image policy, so no debugger image is accepted.
pub fn pod_copy(
    config: Option<&PodCopyConfig>,
    image_policy: Option<&EphemeralContainersConfig>,
    session: &DebugSession,
    original: &Pod,
    debug_image: Option<&str>,
    now: jiff::Timestamp,
) -> Result<PodCopy, PolicyViolation> {
    let Some(config) = config.filter(|c| c.enabled == Some(true)) else {
        return Err(violation(
            COPY_ENABLED,
            "pod copies are not enabled by the session's template",
        ));
    };
    let pod_name = original.metadata.name.as_deref().unwrap_or_default();
    let pod_ns = original.metadata.namespace.as_deref().unwrap_or_default();
    let filters = AllowDeny {
        allow: config.allowed_namespaces.as_ref(),
        deny: config.denied_namespaces.as_ref(),
    };
    if !filters.is_allowed(pod_ns) {
        return Err(violation(
            COPY_NAMESPACES,
            format!("pods in namespace {pod_ns:?} may not be copied"),
        ));
    }
    let ttl = config.ttl.as_deref().unwrap_or(DEFAULT_COPY_TTL);
    let expires_at = GoDuration::parse_with_days(ttl)
        .ok()
        .filter(|d| d.is_positive())
        .and_then(|d| d.after(now))
        .ok_or_else(|| violation(COPY_TTL, format!("ttl {ttl:?} is not a positive duration")))?;
    let mut spec = original.spec.clone().unwrap_or_default();
    spec.node_name = None;
    spec.restart_policy = Some("Never".to_owned());
    spec.ephemeral_containers = None;
    if let Some(image) = debug_image.filter(|i| !i.is_empty()) {
        let Some(policy) = image_policy else {
            return Err(violation(
                COPY_IMAGES,
                "the template sets no image policy for debugging containers \
                 (kubectlDebug.ephemeralContainers), so no debugImage is allowed",
            ));
        };
        check_image(
            policy.allowed_images.as_deref(),
            policy.require_image_digest == Some(true),
            image,
            COPY_IMAGES,
            COPY_DIGEST,
        )?;
        spec.containers.push(Container {
            name: "debugger".to_owned(),
            image: Some(image.to_owned()),
            command: Some(vec!["sleep".to_owned(), "infinity".to_owned()]),
            stdin: Some(true),
            tty: Some(true),
            ..Default::default()
        });
    }
    let mut labels = config.labels.clone().unwrap_or_default();
    labels.extend(session_labels(session));
    labels.insert(DEBUG_COPY.to_owned(), "true".to_owned());
    labels.insert(ORIGINAL_POD.to_owned(), label_value(pod_name));
    labels.insert(ORIGINAL_NAMESPACE.to_owned(), label_value(pod_ns));
    let namespace = config
        .target_namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| DEFAULT_COPY_NAMESPACE.to_owned());
    let name = derived_name(
        "debug-copy",
        pod_name,
        &[session_key(session).as_str(), pod_ns, pod_name],
    );
    let pod = Pod {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(namespace),
            labels: Some(labels),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    };
    Ok(PodCopy { pod, expires_at })
}

/// Builds the node debug pod for `node` (with labels `node_labels`) in `namespace`:
/// the node must match `nodeDebug.nodeSelector`; the image is the requested one
/// (matching `allowedImages`) or `allowedImages[0]` or `busybox:stable`; pinned to the
/// node, privileged, host `/` at `/host`, host namespaces per `hostNamespaces`.
pub fn node_debug_pod(
    config: Option<&NodeDebugConfig>,
    session: &DebugSession,
    namespace: &str,
    node: &str,
    node_labels: &BTreeMap<String, String>,
    image: Option<&str>,
) -> Result<Pod, PolicyViolation> {
    let Some(config) = config.filter(|c| c.enabled == Some(true)) else {
        return Err(violation(
            NODE_ENABLED,
            "node debugging is not enabled by the session's template",
        ));
    };
    if node.is_empty() || node.len() > MAX_NAME_LEN {
        return Err(violation(
            "nodeName",
            format!("nodeName must be 1..={MAX_NAME_LEN} characters"),
        ));
    }
    let selector = config.node_selector.as_ref();
    if let Some((k, v)) = selector
        .into_iter()
        .flatten()
        .find(|(k, v)| node_labels.get(*k) != Some(*v))
    {
        return Err(violation(
            NODE_SELECTOR,
            format!("node {node:?} does not match the node selector ({k}={v})"),
        ));
    }
    let allowed = config.allowed_images.as_deref().unwrap_or_default();
    let image = match image.filter(|i| !i.is_empty()) {
        Some(requested) => {
            check_image(Some(allowed), false, requested, NODE_IMAGES, NODE_IMAGES)?;
            requested.to_owned()
        }
        None => allowed
            .first()
            .filter(|i| !crate::glob::has_meta(i) && i.len() <= MAX_IMAGE_LEN)
            .cloned()
            .unwrap_or_else(|| DEFAULT_NODE_IMAGE.to_owned()),
    };
    let host = config.host_namespaces.as_ref();
    let mut labels = session_labels(session);
    labels.insert(NODE_DEBUG.to_owned(), label_value(node));
    Ok(Pod {
        metadata: ObjectMeta {
            name: Some(derived_name(
                "node-debugger",
                node,
                &[session_key(session).as_str(), node],
            )),
            namespace: Some(namespace.to_owned()),
            labels: Some(labels),
            ..Default::default()
        },
        spec: Some(PodSpec {
            node_name: Some(node.to_owned()),
            restart_policy: Some("Never".to_owned()),
            host_network: Some(host.and_then(|h| h.host_network).unwrap_or(true)),
            host_pid: Some(host.and_then(|h| h.host_pid).unwrap_or(true)),
            host_ipc: Some(host.and_then(|h| h.host_ipc).unwrap_or(false)),
            tolerations: Some(vec![k8s_openapi::api::core::v1::Toleration {
                operator: Some("Exists".to_owned()),
                ..Default::default()
            }]),
            containers: vec![Container {
                name: "debugger".to_owned(),
                image: Some(image),
                command: Some(vec!["sleep".to_owned(), "infinity".to_owned()]),
                stdin: Some(true),
                tty: Some(true),
                security_context: Some(SecurityContext {
                    privileged: Some(true),
                    ..Default::default()
                }),
                volume_mounts: Some(vec![VolumeMount {
                    name: "host-root".to_owned(),
                    mount_path: "/host".to_owned(),
                    ..Default::default()
                }]),
                ..Default::default()
            }],
            volumes: Some(vec![Volume {
                name: "host-root".to_owned(),
                host_path: Some(HostPathVolumeSource {
                    path: "/".to_owned(),
                    type_: None,
                }),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    })
}

/// The pod copies of `status` whose `expiresAt` is at or before `now`, and the status
/// without them (records and `allowedPods` entries dropped), for the expiry of copies.
/// Copies without `expiresAt` never expire here (the session end removes them).
pub fn expire_copies(
    status: &DebugSessionStatus,
    now: jiff::Timestamp,
) -> (Vec<CopiedPodRecord>, DebugSessionStatus) {
    let mut next = status.clone();
    let copies = next
        .kubectl_debug_status
        .as_mut()
        .and_then(|k| k.copied_pods.as_mut());
    let Some(copies) = copies else {
        return (Vec::new(), next);
    };
    let (expired, kept): (Vec<_>, Vec<_>) = copies
        .drain(..)
        .partition(|c| c.expires_at.as_ref().is_some_and(|t| t.0 <= now));
    *copies = kept;
    if let Some(pods) = next.allowed_pods.as_mut() {
        pods.retain(|p| {
            !expired
                .iter()
                .any(|c| c.copy_namespace == p.namespace && c.copy_name == p.name)
        });
    }
    (expired, next)
}

/// The earliest `expiresAt` of the status's pod copies (the next expiry deadline).
pub fn next_copy_expiry(status: &DebugSessionStatus) -> Option<jiff::Timestamp> {
    status
        .kubectl_debug_status
        .as_ref()
        .and_then(|k| k.copied_pods.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| c.expires_at.as_ref().map(|t| t.0))
        .min()
}

fn session_key(session: &DebugSession) -> String {
    format!(
        "{}/{}",
        session.metadata.namespace.as_deref().unwrap_or_default(),
        session.metadata.name.as_deref().unwrap_or_default()
    )
}

/// `<prefix>-<readable>-<hash of parts>`: a DNS label (≤ 63 characters) unique per
/// `parts` (the full session name is among them; no prefix truncation collides).
pub fn derived_name(prefix: &str, readable: &str, parts: &[&str]) -> String {
    let hash = parts.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, part| {
        part.bytes()
            .chain(std::iter::once(0))
            .fold(h, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    });
    let room = 63 - prefix.len() - 2 - 16;
    let slug: String = readable
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(room)
        .collect();
    let slug = slug.trim_matches('-');
    if slug.is_empty() {
        format!("{prefix}-{hash:016x}")
    } else {
        format!("{prefix}-{slug}-{hash:016x}")
    }
}

#[cfg(test)]
#[path = "pods_tests.rs"]
mod tests;
