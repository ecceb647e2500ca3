//! Builders shared by the authz tests.

use breakglass_api::breakglass_escalation::PodSecurityOverrides;
use breakglass_api::breakglass_session::{
    BreakglassSessionSpec, BreakglassSessionState, BreakglassSessionStatus,
};
use breakglass_api::{BreakglassSession, DenyPolicy};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::de::DeserializeOwned;

use crate::authz::*;

pub const CLUSTER: &str = "prod-eu";
pub const USER: &str = "alice@example.com";

pub fn now() -> Timestamp {
    "2026-03-01T10:00:00Z".parse().unwrap()
}

pub fn at(offset_secs: i64) -> Timestamp {
    now()
        .checked_add(SignedDuration::from_secs(offset_secs))
        .unwrap()
}

pub fn yaml<T: DeserializeOwned>(text: &str) -> T {
    serde_saphyr::from_str(text).unwrap()
}

/// A DenyPolicy named `name` with the given `spec` YAML (indented as a top-level mapping).
pub fn policy(name: &str, spec: &str) -> DenyPolicy {
    let spec = yaml(spec);
    DenyPolicy::new(name, spec)
}

pub fn pod(text: &str) -> Pod {
    yaml(text)
}

/// Resource attributes: `verb resource` in the core group.
pub fn res(verb: &str, resource: &str) -> ResourceAttributes {
    ResourceAttributes {
        verb: verb.into(),
        resource: resource.into(),
        ..ResourceAttributes::default()
    }
}

pub trait ResExt {
    fn ns(self, ns: &str) -> Self;
    fn named(self, name: &str) -> Self;
    fn sub(self, sub: &str) -> Self;
    fn group(self, group: &str) -> Self;
}

impl ResExt for ResourceAttributes {
    fn ns(mut self, ns: &str) -> Self {
        self.namespace = ns.into();
        self
    }
    fn named(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }
    fn sub(mut self, sub: &str) -> Self {
        self.subresource = sub.into();
        self
    }
    fn group(mut self, group: &str) -> Self {
        self.group = group.into();
        self
    }
}

/// A request by [`USER`] with groups `oidc:developers`.
pub fn request(r: ResourceAttributes) -> SarRequest {
    SarRequest {
        user: USER.into(),
        groups: vec!["oidc:developers".into(), "system:authenticated".into()],
        attributes: Attributes::Resource(r),
        ..SarRequest::default()
    }
}

pub fn non_resource(verb: &str, path: &str) -> SarRequest {
    SarRequest {
        user: USER.into(),
        groups: vec!["system:authenticated".into()],
        attributes: Attributes::NonResource(NonResourceAttributes {
            path: path.into(),
            verb: verb.into(),
        }),
        ..SarRequest::default()
    }
}

pub fn session_in(
    name: &str,
    user: &str,
    cluster: &str,
    group: &str,
    state: BreakglassSessionState,
    expires_in: i64,
) -> BreakglassSession {
    let mut s = BreakglassSession::new(
        name,
        BreakglassSessionSpec {
            cluster: cluster.into(),
            user: user.into(),
            granted_group: group.into(),
            ..BreakglassSessionSpec::default()
        },
    );
    s.metadata.namespace = Some("breakglass".into());
    s.status = Some(BreakglassSessionStatus {
        state: Some(state),
        approved_at: (state == BreakglassSessionState::Approved).then(|| Time(at(-600))),
        expires_at: Some(Time(at(expires_in))),
        timeout_at: (state == BreakglassSessionState::Pending).then(|| Time(at(3600))),
        ..BreakglassSessionStatus::default()
    });
    s
}

/// An approved session of [`USER`] on [`CLUSTER`], valid for another hour.
pub fn approved(name: &str, group: &str) -> BreakglassSession {
    session_in(
        name,
        USER,
        CLUSTER,
        group,
        BreakglassSessionState::Approved,
        3600,
    )
}

pub fn cluster() -> ClusterInfo {
    ClusterInfo {
        name: CLUSTER.into(),
        tenant: Some("tenant-a".into()),
        impersonation: ImpersonationSettings::default(),
    }
}

pub fn overrides(text: &str) -> PodSecurityOverrides {
    yaml(text)
}
