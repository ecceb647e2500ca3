//! kubectl-debug operations under policy (pure): which ephemeral containers, pod copies
//! and node debug pods a session's template allows, and the objects they become.
//!
//! The same checks serve the REST operations (`injectEphemeralContainer`,
//! `createPodCopy`, `createNodeDebugPod`) and the ephemeral-container admission webhook
//! on target clusters, so plain `kubectl debug` obeys exactly the rules the API does.

use breakglass_api::debug_session_template::EphemeralContainersConfig;
use k8s_openapi::api::core::v1::{EphemeralContainer, PodSecurityContext};
use thiserror::Error;

/// A request refused by the template's kubectl-debug policy; `rule` names the setting.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message} ({rule})")]
pub struct PolicyViolation {
    /// The template setting that refuses, e.g. `kubectlDebug.ephemeralContainers.allowedImages`.
    pub rule: &'static str,
    /// What is wrong, for the user.
    pub message: String,
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
    let _ = (config, namespace, container, pod_security);
    Err(PolicyViolation {
        rule: "kubectlDebug.ephemeralContainers",
        message: "ephemeral-container policy checks are not implemented yet".to_owned(),
    })
}
