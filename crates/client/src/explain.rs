//! Endpoints: explain (`POST /api/explain`) and the escalations that would allow a
//! request (`POST /api/breakglassEscalations/forRequest`).

use breakglass_api::rest::explain::{
    ExplainRequest, ExplainResponse, ForRequestQuery, ForRequestResponse,
};

use crate::{Client, Error};

impl Client {
    /// Why the authorization webhook would allow or deny `request` now: the decision, the
    /// stage that decided and every stage in order. Explaining another user's request
    /// needs membership of the server's `adminGroups` (403 otherwise).
    pub async fn explain(&self, request: &ExplainRequest) -> Result<ExplainResponse, Error> {
        self.post("/api/explain", Some(request)).await
    }

    /// The caller's escalations on the cluster whose group would allow exactly this
    /// request if the caller held a session for it (`items`), and the others with the
    /// reason (`notAllowing`).
    pub async fn escalations_for_request(
        &self,
        query: &ForRequestQuery,
    ) -> Result<ForRequestResponse, Error> {
        self.post("/api/breakglassEscalations/forRequest", Some(query))
            .await
    }
}
