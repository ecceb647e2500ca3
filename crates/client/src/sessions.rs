//! Endpoints: breakglass sessions (`/api/breakglassSessions…`).

use breakglass_api::rest::sessions::{
    CreateSessionRequest, DecisionRequest, ListQuery, SessionDetail, SessionList, SessionView,
    TokenCheck,
};

use crate::{Client, Error, NoQuery, segment};

impl Client {
    /// `GET /api/breakglassSessions`: the sessions the query selects (own, approvable,
    /// decided by the caller), newest first.
    pub async fn list_sessions(&self, query: &ListQuery) -> Result<SessionList, Error> {
        self.get("api/breakglassSessions", query).await
    }

    /// `GET /api/breakglassSessions?token={name}`: the approval-link check (may the
    /// caller still decide on the session?). An unknown session is an [`Error::Api`]
    /// with status 404.
    pub async fn check_approval_link(&self, name: &str) -> Result<TokenCheck, Error> {
        let query = ListQuery {
            token: Some(name.to_owned()),
            ..ListQuery::default()
        };
        self.get("api/breakglassSessions", &query).await
    }

    /// `GET /api/breakglassSessions/{name}`: the session and what the caller may do with it.
    pub async fn get_session(&self, name: &str) -> Result<SessionDetail, Error> {
        self.get(
            &format!("api/breakglassSessions/{}", segment(name)),
            &NoQuery,
        )
        .await
    }

    /// `POST /api/breakglassSessions`: requests a session; answers the new session.
    pub async fn request_session(
        &self,
        request: &CreateSessionRequest,
    ) -> Result<SessionView, Error> {
        self.post("api/breakglassSessions", Some(request)).await
    }

    /// `POST …/{name}/approve` with the approver's reason.
    pub async fn approve_session(
        &self,
        name: &str,
        decision: &DecisionRequest,
    ) -> Result<SessionView, Error> {
        self.post(&action_path(name, "approve"), Some(decision))
            .await
    }

    /// `POST …/{name}/reject` with the rejector's reason.
    pub async fn reject_session(
        &self,
        name: &str,
        decision: &DecisionRequest,
    ) -> Result<SessionView, Error> {
        self.post(&action_path(name, "reject"), Some(decision))
            .await
    }

    /// `POST …/{name}/withdraw`: the requester takes back a pending request.
    pub async fn withdraw_session(&self, name: &str) -> Result<SessionView, Error> {
        self.post_empty(&action_path(name, "withdraw"), &NoQuery)
            .await
    }

    /// `POST …/{name}/drop`: the requester ends a pending or active session.
    pub async fn drop_session(&self, name: &str) -> Result<SessionView, Error> {
        self.post_empty(&action_path(name, "drop"), &NoQuery).await
    }

    /// `POST …/{name}/cancel`: an approver ends an approved or scheduled session.
    pub async fn cancel_session(&self, name: &str) -> Result<SessionView, Error> {
        self.post_empty(&action_path(name, "cancel"), &NoQuery)
            .await
    }
}

fn action_path(name: &str, action: &str) -> String {
    format!("api/breakglassSessions/{}/{action}", segment(name))
}
