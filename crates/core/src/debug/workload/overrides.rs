//! Pod overrides (`podOverrides`, a rendered `podOverridesTemplate`): host namespaces
//! of the pod, and per container (matched by name) its security context and resources
//! (replaced) and environment (added; a variable of the same name is replaced).
//!
//! An override naming a container the pod does not have is an error rather than
//! silently ignored: an administrator who restricts a container must see that the
//! restriction did not land.

use breakglass_api::debug_session_template::DebugPodOverrides;
use k8s_openapi::api::core::v1::PodSpec;

use super::WorkloadError;

/// Applies `overrides` to `spec`; `field` names them in errors.
pub fn apply(
    spec: &mut PodSpec,
    overrides: &DebugPodOverrides,
    field: &'static str,
) -> Result<(), WorkloadError> {
    let Some(o) = overrides.spec.as_ref() else {
        return Ok(());
    };
    spec.host_network = o.host_network.or(spec.host_network);
    spec.host_pid = o.host_pid.or(spec.host_pid);
    spec.host_ipc = o.host_ipc.or(spec.host_ipc);
    for c in o.containers.iter().flatten() {
        let Some(target) = spec.containers.iter_mut().find(|t| t.name == c.name) else {
            return Err(WorkloadError::OverrideContainer {
                field,
                name: c.name.clone(),
            });
        };
        if let Some(sc) = &c.security_context {
            target.security_context = Some(sc.clone());
        }
        if let Some(r) = &c.resources {
            target.resources = Some(r.clone());
        }
        for var in c.env.iter().flatten() {
            let env = target.env.get_or_insert_with(Vec::new);
            match env.iter_mut().find(|e| e.name == var.name) {
                Some(existing) => *existing = var.clone(),
                None => env.push(var.clone()),
            }
        }
    }
    Ok(())
}
