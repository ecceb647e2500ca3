//! Debug-session discovery: the templates a caller may request, the clusters and
//! binding options of one template, and the pod templates.
//!
//! The decisions are [`breakglass_core::debug::resolve::view`]'s; this module reads
//! the mirrors and names the caller.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use breakglass_api::cluster_config::ClusterConfig;
use breakglass_api::debug_pod_template::DebugPodTemplate;
use breakglass_api::rest::debug::catalogue::{
    ContainerView, PodTemplateList, PodTemplateView, TemplateClustersView, TemplateList,
};
use breakglass_api::{DebugSessionClusterBinding, DebugSessionTemplate};
use breakglass_core::debug::resolve::Requester;
use breakglass_core::debug::resolve::view::{
    Catalogue, ClusterFilter, ListOptions, list_templates, template_clusters,
};
use serde_json::{Value, json};

use crate::app::App;
use crate::auth::Identity;
use crate::error::ApiError;
use crate::http::{AppState, Caller};
use crate::identity::{self, Person};

/// The routes of this module, at the reference's paths and the feature documents' aliases.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/debugSessions/templates", get(list))
        .route("/api/v1/debug-session-templates", get(list))
        .route(
            "/api/debugSessions/templates/{name}/clusters",
            get(clusters),
        )
        .route(
            "/api/v1/debug-session-templates/{name}/clusters",
            get(clusters),
        )
        .route("/api/debugSessions/podTemplates", get(pod_templates))
        .route("/api/v1/debug-pod-templates", get(pod_templates))
        .route("/api/debugSessions/podTemplates/{name}", get(pod_template))
        .route("/api/v1/debug-pod-templates/{name}", get(pod_template))
}

/// The caller as a requester of debug sessions, named under `claim`. Without the
/// claim the caller matches no user rule (groups still apply): fail closed.
pub struct RequesterOwned {
    /// The user identifier (empty when the token lacks the claim).
    pub user: String,
    /// Verified e-mail.
    pub email: Option<String>,
    /// Groups, OIDC prefixes stripped.
    pub groups: Vec<String>,
}

impl RequesterOwned {
    /// The caller under `claim`.
    pub fn new(app: &App, caller: &Identity, claim: crate::config::UserIdentifierClaim) -> Self {
        Self {
            user: Person::of_caller(caller, claim)
                .map(|p| p.id)
                .unwrap_or_default(),
            email: identity::verified_email(caller).map(str::to_owned),
            groups: identity::groups(app.prefixes(), caller),
        }
    }

    /// The caller under `claim`; a token without the claim (or with an unverified
    /// e-mail as the claim) is refused.
    pub fn strict(
        app: &App,
        caller: &Identity,
        claim: crate::config::UserIdentifierClaim,
    ) -> Result<Self, identity::IdentityError> {
        Ok(Self {
            user: Person::of_caller(caller, claim)?.id,
            email: identity::verified_email(caller).map(str::to_owned),
            groups: identity::groups(app.prefixes(), caller),
        })
    }

    /// Borrowed form for the core rules.
    pub fn as_requester(&self) -> Requester<'_> {
        Requester {
            user: &self.user,
            email: self.email.as_deref(),
            groups: &self.groups,
        }
    }
}

/// Snapshots of the three mirrors discovery reads.
pub struct Snapshot {
    templates: Vec<Arc<DebugSessionTemplate>>,
    bindings: Vec<Arc<DebugSessionClusterBinding>>,
    clusters: Vec<Arc<ClusterConfig>>,
}

impl Snapshot {
    /// Reads the mirrors; 503 until they have synced (an empty answer would be wrong).
    pub fn take(app: &App) -> Result<Self, ApiError> {
        let s = &app.stores;
        if !(s.debug_templates.is_synced()
            && s.debug_bindings.is_synced()
            && s.clusters.is_synced())
        {
            return Err(ApiError::Unavailable(
                "debug session templates are still loading; retry shortly".to_owned(),
            ));
        }
        Ok(Self {
            templates: s.debug_templates.all(),
            bindings: s.debug_bindings.all(),
            clusters: s.clusters.all(),
        })
    }

    /// The bindings, borrowed.
    pub fn bindings(&self) -> Vec<&DebugSessionClusterBinding> {
        self.bindings.iter().map(AsRef::as_ref).collect()
    }

    /// Runs `f` on the borrowed catalogue.
    pub fn with<R>(&self, f: impl FnOnce(&Catalogue<'_>) -> R) -> R {
        let templates: Vec<&DebugSessionTemplate> =
            self.templates.iter().map(AsRef::as_ref).collect();
        let bindings: Vec<&DebugSessionClusterBinding> =
            self.bindings.iter().map(AsRef::as_ref).collect();
        let clusters: Vec<&ClusterConfig> = self.clusters.iter().map(AsRef::as_ref).collect();
        f(&Catalogue {
            templates: &templates,
            bindings: &bindings,
            clusters: &clusters,
            now: jiff::Timestamp::now(),
        })
    }
}

pub use breakglass_api::rest::debug::catalogue::{ClustersQuery, TemplatesQuery};

fn discovery_requester(app: &App, caller: &Identity) -> RequesterOwned {
    RequesterOwned::new(app, caller, identity::claim_for(&app.config, None))
}

/// `GET /api/debugSessions/templates`: `{templates, total}`.
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<TemplatesQuery>,
) -> Result<Json<TemplateList>, ApiError> {
    let app = &state.app;
    let snapshot = Snapshot::take(app)?;
    let me = discovery_requester(app, &caller);
    let options = ListOptions {
        include_hidden: q.include_hidden.unwrap_or(false),
        include_unavailable: q.include_unavailable.unwrap_or(false),
    };
    let templates = snapshot.with(|cat| list_templates(cat, &me.as_requester(), options));
    let total = templates.len();
    Ok(Json(TemplateList { templates, total }))
}

/// `GET /api/debugSessions/templates/{name}/clusters`.
pub async fn clusters(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    Query(q): Query<ClustersQuery>,
) -> Result<Json<TemplateClustersView>, ApiError> {
    let app = &state.app;
    let snapshot = Snapshot::take(app)?;
    let me = discovery_requester(app, &caller);
    let filter = ClusterFilter {
        environment: q.environment.as_deref(),
        location: q.location.as_deref(),
        binding_name: q.binding_name.as_deref(),
    };
    let view = snapshot
        .with(|cat| template_clusters(cat, &name, &me.as_requester(), filter))
        .ok_or_else(|| not_found("debug session template", &name))?;
    Ok(Json(view))
}

fn not_found(what: &str, name: &str) -> ApiError {
    let shown: String = name.chars().take(253).collect();
    ApiError::NotFound(format!("{what} {shown:?} not found"))
}

fn pod_template_view(t: &DebugPodTemplate) -> PodTemplateView {
    let name = t.metadata.name.clone().unwrap_or_default();
    let containers = t
        .spec
        .template
        .as_ref()
        .map(|tpl| {
            tpl.spec
                .containers
                .iter()
                .map(|c| ContainerView {
                    name: c.name.clone(),
                    image: c.image.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    PodTemplateView {
        display_name: t.spec.display_name.clone().unwrap_or_else(|| name.clone()),
        name,
        description: t.spec.description.clone(),
        kind: if t.spec.template.is_some() {
            "structured"
        } else {
            "templateString"
        }
        .to_owned(),
        containers,
    }
}

fn pod_templates_synced(app: &App) -> Result<(), ApiError> {
    if app.stores.debug_pod_templates.is_synced() {
        Ok(())
    } else {
        Err(ApiError::Unavailable(
            "debug pod templates are still loading; retry shortly".to_owned(),
        ))
    }
}

/// `GET /api/debugSessions/podTemplates`: `{templates, total}`, by name.
pub async fn pod_templates(
    State(state): State<AppState>,
    Caller(_caller): Caller,
) -> Result<Json<PodTemplateList>, ApiError> {
    pod_templates_synced(&state.app)?;
    let mut templates: Vec<PodTemplateView> = state
        .app
        .stores
        .debug_pod_templates
        .all()
        .iter()
        .map(|t| pod_template_view(t))
        .collect();
    templates.sort_by(|a, b| a.name.cmp(&b.name));
    let total = templates.len();
    Ok(Json(PodTemplateList { templates, total }))
}

/// `GET /api/debugSessions/podTemplates/{name}`.
pub async fn pod_template(
    State(state): State<AppState>,
    Caller(_caller): Caller,
    Path(name): Path<String>,
) -> Result<Json<PodTemplateView>, ApiError> {
    pod_templates_synced(&state.app)?;
    let t = state
        .app
        .stores
        .debug_pod_templates
        .get(None, &name)
        .ok_or_else(|| not_found("debug pod template", &name))?;
    Ok(Json(pod_template_view(&t)))
}

/// OpenAPI paths of this module.
pub fn openapi() -> serde_json::Map<String, Value> {
    use crate::rest::openapi::{error_response, query_params};
    let templates_query =
        serde_json::to_value(schemars::schema_for!(TemplatesQuery)).unwrap_or(Value::Null);
    let clusters_query =
        serde_json::to_value(schemars::schema_for!(ClustersQuery)).unwrap_or(Value::Null);
    let name = |what: &str| {
        json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string"},
               "description": what})
    };
    let list = json!({"get": {
    "summary": "Debug session templates the caller may request: only templates a route (the template's own allowed clusters or an active binding) admits the caller to; hidden ones with includeHidden, ones without a Ready cluster with includeUnavailable. Sorted by priority (highest first), then name",
    "security": [{"bearer": []}],
    "parameters": query_params(&templates_query),
    "responses": {
        "200": {"description": "`{templates: [{name, displayName, description, mode, workloadType, podTemplateRef, targetNamespace, constraints, allowedClusters, allowedGroups, requiresApproval, schedulingOptions, namespaceConstraints{allowedPatterns, allowedLabelSelectors, deniedPatterns, deniedLabelSelectors, defaultNamespace, allowUserNamespace}, extraDeployVariables, priority, hidden, deprecated, deprecationMessage, hasAvailableClusters, availableClusterCount}], total}`; scheduling options and variables filtered by the caller's groups"},
        "401": error_response("Missing or invalid bearer token"),
        "503": error_response("The server's view of templates is still loading"),
    }}});
    let cluster_params: Vec<Value> = std::iter::once(name("DebugSessionTemplate name"))
        .chain(query_params(&clusters_query))
        .collect();
    let clusters = json!({"get": {
    "summary": "Clusters the caller may request one template on, with every binding option in the order a request without bindingRef considers them",
    "security": [{"bearer": []}],
    "parameters": cluster_params,
    "responses": {
        "200": {"description": "`{templateName, templateDisplayName, clusters: [{name, displayName, environment, location, site, tenant, status{healthy}, bindingRef, bindingOptions: [{bindingRef{name, namespace, displayNamePrefix}, displayName, constraints, schedulingConstraints{summary, nodeSelector, deniedNodeLabels, tolerations}, schedulingOptions, namespaceConstraints, impersonation{enabled, serviceAccount, namespace}, requiredAuxiliaryResourceCategories, approval{required, approverGroups, approverUsers, canAutoApprove}, requestReason, approvalReason, notification{enabled}}], + the first option's fields}]}`"},
        "401": error_response("Missing or invalid bearer token"),
        "404": error_response("No such template, or no route admits the caller"),
    }}});
    let pods = json!({"get": {
    "summary": "DebugPodTemplates",
    "security": [{"bearer": []}],
    "responses": {
        "200": {"description": "`{templates: [{name, displayName, description, kind (structured|templateString), containers: [{name, image}]}], total}`"},
        "401": error_response("Missing or invalid bearer token"),
    }}});
    let pod = json!({"get": {
    "summary": "One DebugPodTemplate",
    "security": [{"bearer": []}],
    "parameters": [name("DebugPodTemplate name")],
    "responses": {
        "200": {"description": "`{name, displayName, description, kind, containers}`"},
        "401": error_response("Missing or invalid bearer token"),
        "404": error_response("No such pod template"),
    }}});
    let mut paths = serde_json::Map::new();
    for (path, op) in [
        ("/api/debugSessions/templates", &list),
        ("/api/v1/debug-session-templates", &list),
        ("/api/debugSessions/templates/{name}/clusters", &clusters),
        ("/api/v1/debug-session-templates/{name}/clusters", &clusters),
        ("/api/debugSessions/podTemplates", &pods),
        ("/api/v1/debug-pod-templates", &pods),
        ("/api/debugSessions/podTemplates/{name}", &pod),
        ("/api/v1/debug-pod-templates/{name}", &pod),
    ] {
        paths.insert(path.to_owned(), op.clone());
    }
    paths
}
