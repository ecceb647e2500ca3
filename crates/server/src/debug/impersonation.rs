//! Deploying as a ServiceAccount of the target (A3 §35, `impersonation.serviceAccountRef`).
//!
//! The account must exist (read with the controller's identity); every write of the
//! session's plan — the namespace it creates included, the stricter choice: creating a
//! namespace is a right the account must hold as well — is then made by a client
//! impersonating `system:serviceaccount:<ns>:<name>`. Reads, readiness checks and
//! cleanup stay with the controller's identity, so a session is always removed
//! completely, whatever the account may do.

use breakglass_api::debug_common::ServiceAccountReference;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::{Api, Client};

use super::apply::ApplyError;
use super::target::{bounded, kube_err};

/// The user name Kubernetes gives the ServiceAccount.
pub fn user_name(sa: &ServiceAccountReference) -> String {
    format!("system:serviceaccount:{}:{}", sa.namespace, sa.name)
}

/// Fails unless the ServiceAccount exists on the cluster.
pub async fn require_service_account(
    controller: &Client,
    sa: &ServiceAccountReference,
    cluster: &str,
) -> Result<(), ApplyError> {
    let api: Api<ServiceAccount> = Api::namespaced(controller.clone(), &sa.namespace);
    let found = bounded("reading the impersonated ServiceAccount", async {
        api.get_opt(&sa.name).await.map_err(kube_err(format!(
            "reading ServiceAccount {}/{}",
            sa.namespace, sa.name
        )))
    })
    .await
    .map_err(|e| ApplyError::Infra {
        message: format!("impersonation: {e}"),
        transient: true,
    })?;
    match found {
        Some(_) => Ok(()),
        None => Err(ApplyError::Refused(format!(
            "impersonation: ServiceAccount {}/{} not found on cluster {cluster}",
            sa.namespace, sa.name
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_name_is_the_service_account_name_kubernetes_uses() {
        let sa = ServiceAccountReference {
            name: "deployer".to_owned(),
            namespace: "breakglass-debug".to_owned(),
        };
        assert_eq!(
            user_name(&sa),
            "system:serviceaccount:breakglass-debug:deployer"
        );
    }
}
