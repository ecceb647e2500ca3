//! The request model: what a SubjectAccessReview asks, in a shape the decision reads.

use std::collections::BTreeMap;

use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use thiserror::Error;

/// Key of the SAR `spec.extra` entry (or annotation) that carries the token issuer.
///
/// Target apiservers must be configured to copy the issuer there for multi-IDP checks.
pub const ISSUER_EXTRA_KEY: &str = "identity.t-caas.telekom.com/issuer";

/// Why a SubjectAccessReview cannot be decided.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SarError {
    /// Neither `resourceAttributes` nor `nonResourceAttributes` is set.
    #[error("the SubjectAccessReview has neither resourceAttributes nor nonResourceAttributes")]
    MissingAttributes,
    /// Both are set; the apiserver never sends that, so the request is ambiguous.
    #[error("the SubjectAccessReview has both resourceAttributes and nonResourceAttributes")]
    AmbiguousAttributes,
}

/// One authorization question from a target apiserver.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SarRequest {
    /// `spec.user` (empty when absent).
    pub user: String,
    /// `spec.groups`, as sent (OIDC prefixes included).
    pub groups: Vec<String>,
    /// `spec.uid`.
    pub uid: Option<String>,
    /// `spec.extra`.
    pub extra: BTreeMap<String, Vec<String>>,
    /// The token issuer from [`ISSUER_EXTRA_KEY`], when the apiserver passes it.
    pub issuer: Option<String>,
    /// What is asked.
    pub attributes: Attributes,
}

/// What the request does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attributes {
    /// An API resource request.
    Resource(ResourceAttributes),
    /// A request for a non-resource URL (`/healthz`, `/api`, …).
    NonResource(NonResourceAttributes),
}

impl Default for Attributes {
    fn default() -> Self {
        Self::NonResource(NonResourceAttributes::default())
    }
}

/// Attributes of a resource request; absent fields are empty strings, as the apiserver means them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceAttributes {
    /// Verb (`get`, `create`, `impersonate:user-info`, …).
    pub verb: String,
    /// API group (`""` for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Resource (`pods`).
    pub resource: String,
    /// Subresource (`exec`), empty for the main resource.
    pub subresource: String,
    /// Namespace, empty for cluster-scoped requests.
    pub namespace: String,
    /// Object name, empty for collection requests.
    pub name: String,
}

/// Attributes of a non-resource request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NonResourceAttributes {
    /// URL path.
    pub path: String,
    /// HTTP verb in lower case (`get`).
    pub verb: String,
}

/// Pod subresources a debug session can open (`log` included, unlike pod-security scoring).
pub const DEBUG_POD_SUBRESOURCES: [&str; 4] = ["exec", "attach", "portforward", "log"];

impl SarRequest {
    /// Reads a SubjectAccessReview as sent by an apiserver.
    ///
    /// The issuer is taken from `spec.extra` first and from the annotation of the same
    /// key second; an empty value counts as absent.
    pub fn from_review(review: &SubjectAccessReview) -> Result<Self, SarError> {
        let spec = &review.spec;
        let attributes = match (&spec.resource_attributes, &spec.non_resource_attributes) {
            (Some(_), Some(_)) => return Err(SarError::AmbiguousAttributes),
            (None, None) => return Err(SarError::MissingAttributes),
            (Some(r), None) => Attributes::Resource(ResourceAttributes {
                verb: r.verb.clone().unwrap_or_default(),
                group: r.group.clone().unwrap_or_default(),
                version: r.version.clone().unwrap_or_default(),
                resource: r.resource.clone().unwrap_or_default(),
                subresource: r.subresource.clone().unwrap_or_default(),
                namespace: r.namespace.clone().unwrap_or_default(),
                name: r.name.clone().unwrap_or_default(),
            }),
            (None, Some(n)) => Attributes::NonResource(NonResourceAttributes {
                path: n.path.clone().unwrap_or_default(),
                verb: n.verb.clone().unwrap_or_default(),
            }),
        };
        let extra = spec.extra.clone().unwrap_or_default();
        let from_extra = extra
            .get(ISSUER_EXTRA_KEY)
            .and_then(|v| v.iter().find(|s| !s.is_empty()))
            .cloned();
        let from_annotation = review
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ISSUER_EXTRA_KEY))
            .filter(|s| !s.is_empty())
            .cloned();
        Ok(Self {
            user: spec.user.clone().unwrap_or_default(),
            groups: spec.groups.clone().unwrap_or_default(),
            uid: spec.uid.clone(),
            extra,
            issuer: from_extra.or(from_annotation),
            attributes,
        })
    }

    /// The resource attributes, for resource requests.
    pub fn resource(&self) -> Option<&ResourceAttributes> {
        match &self.attributes {
            Attributes::Resource(r) => Some(r),
            Attributes::NonResource(_) => None,
        }
    }

    /// The namespace of a resource request (empty for cluster-scoped and non-resource requests).
    pub fn namespace(&self) -> &str {
        self.resource().map_or("", |r| r.namespace.as_str())
    }

    /// A short description for reasons: `get secrets/db in namespace prod`, `get /healthz`.
    pub fn describe(&self) -> String {
        match &self.attributes {
            Attributes::NonResource(n) => format!("{} {}", n.verb, n.path),
            Attributes::Resource(r) => {
                use std::fmt::Write as _;
                // One allocation: the parts' lengths bound the text but for the name's
                // escapes.
                let mut s = String::with_capacity(
                    r.verb.len()
                        + r.resource.len()
                        + r.group.len()
                        + r.subresource.len()
                        + r.name.len()
                        + r.namespace.len()
                        + 32,
                );
                s.push_str(&r.verb);
                s.push(' ');
                s.push_str(&r.resource);
                if !r.group.is_empty() {
                    s.push('.');
                    s.push_str(&r.group);
                }
                if !r.subresource.is_empty() {
                    s.push('/');
                    s.push_str(&r.subresource);
                }
                if !r.name.is_empty() {
                    let _ = write!(s, " {:?}", r.name);
                }
                if !r.namespace.is_empty() {
                    s.push_str(" in namespace ");
                    s.push_str(&r.namespace);
                }
                s
            }
        }
    }
}

impl ResourceAttributes {
    /// True for a core-group `pods` request.
    pub fn is_pod(&self) -> bool {
        self.group.is_empty() && self.resource == "pods"
    }

    /// True for a named pod request a debug session can allow: the pod itself (kubectl
    /// reads it before exec) or one of [`DEBUG_POD_SUBRESOURCES`]. The verb is checked by
    /// `debug::access`, which computes the allow.
    pub fn is_debug_pod_operation(&self) -> bool {
        self.is_pod()
            && !self.name.is_empty()
            && (self.subresource.is_empty()
                || DEBUG_POD_SUBRESOURCES.contains(&self.subresource.as_str()))
    }
}
