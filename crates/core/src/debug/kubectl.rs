//! kubectl-debug operations under policy (pure): which ephemeral containers, pod copies
//! and node debug pods a session's template allows, and the objects they become.
//!
//! The same checks serve the REST operations (`injectEphemeralContainer`,
//! `createPodCopy`, `createNodeDebugPod`) and the ephemeral-container admission webhook
//! on target clusters, so plain `kubectl debug` obeys exactly the rules the API does.

use breakglass_api::debug_session_template::EphemeralContainersConfig;
use k8s_openapi::api::core::v1::{EphemeralContainer, PodSecurityContext};
use thiserror::Error;

use crate::glob;
use crate::namespace::AllowDeny;

pub mod pods;

/// Longest accepted image reference.
pub const MAX_IMAGE_LEN: usize = 512;
/// Longest accepted container, pod or node name.
pub const MAX_NAME_LEN: usize = 253;
/// Most capabilities one container may add.
pub const MAX_ADDED_CAPABILITIES: usize = 64;

const ENABLED: &str = "kubectlDebug.ephemeralContainers.enabled";
const NAMESPACES: &str = "kubectlDebug.ephemeralContainers.allowedNamespaces";
const DENIED: &str = "kubectlDebug.ephemeralContainers.deniedNamespaces";
const IMAGES: &str = "kubectlDebug.ephemeralContainers.allowedImages";
const DIGEST: &str = "kubectlDebug.ephemeralContainers.requireImageDigest";
const CAPS: &str = "kubectlDebug.ephemeralContainers.maxCapabilities";
const PRIVILEGED: &str = "kubectlDebug.ephemeralContainers.allowPrivileged";
const NON_ROOT: &str = "kubectlDebug.ephemeralContainers.requireNonRoot";

/// A request refused by the template's kubectl-debug policy; `rule` names the setting.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message} ({rule})")]
pub struct PolicyViolation {
    /// The template setting that refuses, e.g. `kubectlDebug.ephemeralContainers.allowedImages`.
    pub rule: &'static str,
    /// What is wrong, for the user.
    pub message: String,
}

fn violation(rule: &'static str, message: impl Into<String>) -> PolicyViolation {
    PolicyViolation {
        rule,
        message: message.into(),
    }
}

/// Checks one new ephemeral container for a pod in `namespace` against `config`
/// (`None`: injection not configured, refused). `pod_security` is the target pod's
/// security context (its `runAsNonRoot` counts for `requireNonRoot`).
pub fn check_ephemeral(
    config: Option<&EphemeralContainersConfig>,
    namespace: &str,
    container: &EphemeralContainer,
    pod_security: Option<&PodSecurityContext>,
) -> Result<(), PolicyViolation> {
    let Some(config) = config.filter(|c| c.enabled == Some(true)) else {
        return Err(violation(
            ENABLED,
            "ephemeral containers are not enabled by the session's template",
        ));
    };
    check_namespace(config, namespace)?;
    let image = container.image.as_deref().unwrap_or_default();
    check_image(
        config.allowed_images.as_deref(),
        config.require_image_digest == Some(true),
        image,
        IMAGES,
        DIGEST,
    )?;
    check_security(config, container, pod_security)
}

fn check_namespace(
    config: &EphemeralContainersConfig,
    namespace: &str,
) -> Result<(), PolicyViolation> {
    let deny_only = AllowDeny {
        allow: None,
        deny: config.denied_namespaces.as_ref(),
    };
    if !deny_only.is_allowed(namespace) {
        return Err(violation(
            DENIED,
            format!("namespace {namespace:?} is denied for ephemeral containers"),
        ));
    }
    let both = AllowDeny {
        allow: config.allowed_namespaces.as_ref(),
        deny: config.denied_namespaces.as_ref(),
    };
    if !both.is_allowed(namespace) {
        return Err(violation(
            NAMESPACES,
            format!("namespace {namespace:?} is not allowed for ephemeral containers"),
        ));
    }
    Ok(())
}

/// Checks an image reference: present, bounded, matching one of `allowed`
/// (Go `path.Match` globs; missing or empty = any) and, when `require_digest`, pinned
/// by a `@sha256:` digest. `images_rule`/`digest_rule` name the settings in violations.
pub fn check_image(
    allowed: Option<&[String]>,
    require_digest: bool,
    image: &str,
    images_rule: &'static str,
    digest_rule: &'static str,
) -> Result<(), PolicyViolation> {
    if image.is_empty() {
        return Err(violation(images_rule, "image is required"));
    }
    if image.len() > MAX_IMAGE_LEN || image.chars().any(char::is_whitespace) {
        return Err(violation(
            images_rule,
            format!("image must be at most {MAX_IMAGE_LEN} characters without whitespace"),
        ));
    }
    let allowed = allowed.unwrap_or_default();
    if !allowed.is_empty() && !glob::match_any(allowed, image) {
        return Err(violation(
            images_rule,
            format!("image {image:?} is not in the allowed images"),
        ));
    }
    if require_digest && !has_digest(image) {
        return Err(violation(
            digest_rule,
            format!("image {image:?} must be pinned by digest (name@sha256:<64 hex>)"),
        ));
    }
    Ok(())
}

/// True if the image reference ends in `@sha256:` and 64 lower-case hex digits.
pub fn has_digest(image: &str) -> bool {
    image.rsplit_once("@sha256:").is_some_and(|(name, hex)| {
        !name.is_empty()
            && hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Canonical capability name: upper case, without a `CAP_` prefix.
fn capability(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    upper
        .strip_prefix("CAP_")
        .map(str::to_owned)
        .unwrap_or(upper)
}

fn check_security(
    config: &EphemeralContainersConfig,
    container: &EphemeralContainer,
    pod_security: Option<&PodSecurityContext>,
) -> Result<(), PolicyViolation> {
    let sc = container.security_context.as_ref();
    let added = sc
        .and_then(|s| s.capabilities.as_ref())
        .and_then(|c| c.add.as_deref())
        .unwrap_or_default();
    if added.len() > MAX_ADDED_CAPABILITIES {
        return Err(violation(CAPS, "too many added capabilities"));
    }
    let max: Vec<String> = config
        .max_capabilities
        .iter()
        .flatten()
        .map(|c| capability(c))
        .collect();
    if let Some(extra) = added.iter().find(|c| !max.contains(&capability(c))) {
        return Err(violation(
            CAPS,
            format!("capability {extra:?} is not in the template's maxCapabilities"),
        ));
    }
    let privileged = sc.and_then(|s| s.privileged) == Some(true);
    if privileged && config.allow_privileged != Some(true) {
        return Err(violation(
            PRIVILEGED,
            "privileged ephemeral containers are not allowed",
        ));
    }
    if config.require_non_root != Some(false) {
        let container_non_root = sc.and_then(|s| s.run_as_non_root);
        let pod_non_root = pod_security.and_then(|s| s.run_as_non_root);
        let non_root = container_non_root.or(pod_non_root) == Some(true);
        let root_uid = sc
            .and_then(|s| s.run_as_user)
            .or(pod_security.and_then(|s| s.run_as_user))
            == Some(0);
        if !non_root || root_uid {
            return Err(violation(
                NON_ROOT,
                "the container must run as non-root (securityContext.runAsNonRoot: true on the container or the pod)",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "kubectl_tests.rs"]
mod tests;
