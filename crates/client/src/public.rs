//! Endpoints: discovery, readable before sign-in (`/api/config`, `/api/config/idps`,
//! `/api/identity-provider`).

use breakglass_api::rest::public::{FrontendConfig, IdentityProviderInfo, IdpList};

use crate::{Client, Error, NoQuery};

impl Client {
    /// `GET /api/config`: the UI's sign-in settings.
    pub async fn frontend_config(&self) -> Result<FrontendConfig, Error> {
        self.get("api/config", &NoQuery).await
    }

    /// `GET /api/config/idps`: every identity provider and which escalations each may
    /// request.
    pub async fn identity_providers(&self) -> Result<IdpList, Error> {
        self.get("api/config/idps", &NoQuery).await
    }

    /// `GET /api/identity-provider`: the default identity provider.
    pub async fn default_identity_provider(&self) -> Result<IdentityProviderInfo, Error> {
        self.get("api/identity-provider", &NoQuery).await
    }
}
