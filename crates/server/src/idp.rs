//! Keeps the token verifier in step with the IdentityProvider objects.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use breakglass_api::identity_provider::IdentityProvider;
use tokio::sync::broadcast::error::RecvError;

use crate::auth::{Authenticator, ProviderConfig};
use crate::store::Stores;

/// The verifier settings of one IdentityProvider, `None` when it is disabled.
pub fn provider_config(idp: &IdentityProvider) -> Option<ProviderConfig> {
    if idp.spec.disabled == Some(true) {
        return None;
    }
    let oidc = &idp.spec.oidc;
    let authority = oidc.authority.trim_end_matches('/').to_owned();
    let issuer = idp.effective_issuer().to_owned();
    Some(ProviderConfig {
        name: idp.metadata.name.clone().unwrap_or_default(),
        issuer,
        audience: oidc.expected_audience.clone(),
        authority,
        jwks_url: oidc.jwks_endpoint.clone().filter(|u| !u.is_empty()),
        ca_pem: oidc.certificate_authority.clone().filter(|c| !c.is_empty()),
    })
}

/// Applies the current IdentityProviders to `auth`, now and after every change. The
/// returned flag turns true once the first set is applied (readiness waits for it, so
/// no token is refused for want of providers right after a start).
pub fn sync(stores: Stores, auth: Authenticator) -> Arc<AtomicBool> {
    let loaded = Arc::new(AtomicBool::new(false));
    let flag = loaded.clone();
    tokio::spawn(async move {
        let mut changes = stores.identity_providers.subscribe();
        tracing::debug!("identity provider sync waiting for the watch");
        stores.identity_providers.wait_synced().await;
        tracing::debug!("identity provider watch ready");
        loop {
            let configs: Vec<ProviderConfig> = stores
                .identity_providers
                .all()
                .iter()
                .filter_map(|idp| provider_config(idp))
                .collect();
            let names: Vec<String> = configs.iter().map(|c| c.name.clone()).collect();
            tracing::debug!(providers = ?names, "applying identity providers");
            if let Err(e) = auth.set_providers(configs).await {
                tracing::error!(error = %e, "identity provider configuration rejected");
            }
            flag.store(true, Ordering::Release);
            tracing::info!(providers = ?names, "identity providers loaded");
            match changes.recv().await {
                Ok(_) | Err(RecvError::Lagged(_)) => {
                    // Coalesce a burst of changes into one reload.
                    while changes.try_recv().is_ok() {}
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
    loaded
}
