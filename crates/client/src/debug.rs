//! Endpoints: debug sessions (`/api/debugSessions…`), their catalogue (templates, the
//! clusters of a template, pod templates) and the kubectl-debug operations.
//!
//! Every call on one session takes an optional namespace: the `?namespace=` hint that
//! picks the session when its name exists in several namespaces.

use breakglass_api::rest::debug::catalogue::{
    ClustersQuery, PodTemplateList, PodTemplateView, TemplateClustersView, TemplateList,
    TemplateView, TemplatesQuery,
};
use breakglass_api::rest::debug::{
    CopyRequest, CopyResponse, CreateDebugSessionRequest, CreatedDebugSession, DebugSessionDetail,
    DebugSessionList, DecisionRequest, InjectRequest, InjectResponse, ListQuery,
    MembershipResponse, NamespaceHint, NodeRequest, NodeResponse, RenewRequest, RenewResponse,
};

use crate::{Client, Error, NoQuery, segment};

const BASE: &str = "api/debugSessions";

fn hint(namespace: Option<&str>) -> NamespaceHint {
    NamespaceHint {
        namespace: namespace.map(str::to_owned),
    }
}

fn session_path(name: &str, action: Option<&str>) -> String {
    match action {
        Some(a) => format!("{BASE}/{}/{a}", segment(name)),
        None => format!("{BASE}/{}", segment(name)),
    }
}

impl Client {
    /// `GET /api/debugSessions`: debug sessions the caller may read, newest first.
    pub async fn list_debug_sessions(&self, query: &ListQuery) -> Result<DebugSessionList, Error> {
        self.get(BASE, query).await
    }

    /// `GET /api/debugSessions/{name}`: the session and what the caller may do with it.
    pub async fn get_debug_session(
        &self,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<DebugSessionDetail, Error> {
        self.get(&session_path(name, None), &hint(namespace)).await
    }

    /// `POST /api/debugSessions`: requests a debug session.
    pub async fn request_debug_session(
        &self,
        request: &CreateDebugSessionRequest,
    ) -> Result<CreatedDebugSession, Error> {
        self.post(BASE, Some(request)).await
    }

    /// `POST …/{name}/approve`.
    pub async fn approve_debug_session(
        &self,
        name: &str,
        namespace: Option<&str>,
        decision: &DecisionRequest,
    ) -> Result<DebugSessionDetail, Error> {
        self.post_query(
            &session_path(name, Some("approve")),
            &hint(namespace),
            Some(decision),
        )
        .await
    }

    /// `POST …/{name}/reject`.
    pub async fn reject_debug_session(
        &self,
        name: &str,
        namespace: Option<&str>,
        decision: &DecisionRequest,
    ) -> Result<DebugSessionDetail, Error> {
        self.post_query(
            &session_path(name, Some("reject")),
            &hint(namespace),
            Some(decision),
        )
        .await
    }

    /// `POST …/{name}/join`: takes part in a session the caller was invited to.
    pub async fn join_debug_session(
        &self,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<MembershipResponse, Error> {
        self.post_empty(&session_path(name, Some("join")), &hint(namespace))
            .await
    }

    /// `POST …/{name}/leave`.
    pub async fn leave_debug_session(
        &self,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<MembershipResponse, Error> {
        self.post_empty(&session_path(name, Some("leave")), &hint(namespace))
            .await
    }

    /// `POST …/{name}/renew`: extends an active session.
    pub async fn renew_debug_session(
        &self,
        name: &str,
        namespace: Option<&str>,
        request: &RenewRequest,
    ) -> Result<RenewResponse, Error> {
        self.post_query(
            &session_path(name, Some("renew")),
            &hint(namespace),
            Some(request),
        )
        .await
    }

    /// `POST …/{name}/terminate`: the owner ends an active session.
    pub async fn terminate_debug_session(
        &self,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<DebugSessionDetail, Error> {
        self.post_empty(&session_path(name, Some("terminate")), &hint(namespace))
            .await
    }

    /// `POST …/{name}/injectEphemeralContainer`.
    pub async fn inject_ephemeral_container(
        &self,
        name: &str,
        namespace: Option<&str>,
        request: &InjectRequest,
    ) -> Result<InjectResponse, Error> {
        self.post_query(
            &session_path(name, Some("injectEphemeralContainer")),
            &hint(namespace),
            Some(request),
        )
        .await
    }

    /// `POST …/{name}/createPodCopy`.
    pub async fn create_pod_copy(
        &self,
        name: &str,
        namespace: Option<&str>,
        request: &CopyRequest,
    ) -> Result<CopyResponse, Error> {
        self.post_query(
            &session_path(name, Some("createPodCopy")),
            &hint(namespace),
            Some(request),
        )
        .await
    }

    /// `POST …/{name}/createNodeDebugPod`.
    pub async fn create_node_debug_pod(
        &self,
        name: &str,
        namespace: Option<&str>,
        request: &NodeRequest,
    ) -> Result<NodeResponse, Error> {
        self.post_query(
            &session_path(name, Some("createNodeDebugPod")),
            &hint(namespace),
            Some(request),
        )
        .await
    }

    /// `GET /api/debugSessions/templates`: templates the caller may request.
    pub async fn list_debug_templates(
        &self,
        query: &TemplatesQuery,
    ) -> Result<TemplateList, Error> {
        self.get(&format!("{BASE}/templates"), query).await
    }

    /// One template from the list (hidden and unavailable ones included); `None` when
    /// the caller may not request it. The server has no single-template route.
    pub async fn get_debug_template(&self, name: &str) -> Result<Option<TemplateView>, Error> {
        let list = self
            .list_debug_templates(&TemplatesQuery {
                include_hidden: Some(true),
                include_unavailable: Some(true),
            })
            .await?;
        Ok(list.templates.into_iter().find(|t| t.name == name))
    }

    /// `GET /api/debugSessions/templates/{name}/clusters`: where the template may be
    /// requested, and through which bindings.
    pub async fn debug_template_clusters(
        &self,
        name: &str,
        query: &ClustersQuery,
    ) -> Result<TemplateClustersView, Error> {
        self.get(
            &format!("{BASE}/templates/{}/clusters", segment(name)),
            query,
        )
        .await
    }

    /// `GET /api/debugSessions/podTemplates`.
    pub async fn list_debug_pod_templates(&self) -> Result<PodTemplateList, Error> {
        self.get(&format!("{BASE}/podTemplates"), &NoQuery).await
    }

    /// `GET /api/debugSessions/podTemplates/{name}`.
    pub async fn get_debug_pod_template(&self, name: &str) -> Result<PodTemplateView, Error> {
        self.get(&format!("{BASE}/podTemplates/{}", segment(name)), &NoQuery)
            .await
    }
}
