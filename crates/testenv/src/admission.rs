//! Admission webhooks of the breakglass server on a target: the serving certificate
//! and the `ValidatingWebhookConfiguration` for `pods/ephemeralcontainers`.
//!
//! Target apiservers call admission webhooks only over HTTPS. The environment's
//! serving certificate (`pki/serving.crt`, `pki/serving.key`) is issued by its CA for
//! 127.0.0.1 and localhost, so a breakglass server serves it on its HTTPS listener
//! (`server.tls`) and the configuration names the CA as `caBundle`. Registration is
//! per test, not part of `up`: a test that needs the webhook registers it with a
//! namespace selector of its own, so other tests' pods are never sent to a server that
//! may not be running (`failurePolicy: Fail`).

use std::net::SocketAddr;
use std::path::PathBuf;

use base64::Engine as _;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::json;

use crate::{Error, TestEnv};

/// The breakglass resources (plural names) the hub's admission webhooks cover.
pub const HUB_RESOURCES: [&str; 11] = [
    "breakglassescalations",
    "breakglasssessions",
    "denypolicies",
    "clusterconfigs",
    "identityproviders",
    "mailproviders",
    "auditconfigs",
    "debugpodtemplates",
    "debugsessiontemplates",
    "debugsessionclusterbindings",
    "debugsessions",
];

impl TestEnv {
    /// The serving certificate and key (PEM files) for a server on 127.0.0.1.
    pub fn serving_cert_files(&self) -> (PathBuf, PathBuf) {
        let dir = self.layout().pki_dir();
        (dir.join("serving.crt"), dir.join("serving.key"))
    }

    /// Creates the `ValidatingWebhookConfiguration` `name` on `cluster`: UPDATE of
    /// `pods/ephemeralcontainers` in namespaces labelled `label.0=label.1` goes to
    /// `https://<tls_addr>/validate-ephemeral-containers/<cluster>`
    /// (`failurePolicy: Fail`, `sideEffects: None`, v1 reviews, the CA as `caBundle`).
    pub async fn register_ephemeral_admission(
        &self,
        cluster: &str,
        name: &str,
        tls_addr: SocketAddr,
        label: (&str, &str),
    ) -> Result<(), Error> {
        let ca = base64::engine::general_purpose::STANDARD.encode(self.ca_pem()?);
        let config: ValidatingWebhookConfiguration = serde_json::from_value(json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": name},
            "webhooks": [{
                "name": "ephemeral-containers.breakglass.telekom.com",
                "clientConfig": {
                    "url": format!("https://{tls_addr}/validate-ephemeral-containers/{cluster}"),
                    "caBundle": ca,
                },
                "rules": [{
                    "apiGroups": [""], "apiVersions": ["v1"], "operations": ["UPDATE"],
                    "resources": ["pods/ephemeralcontainers"], "scope": "Namespaced",
                }],
                "namespaceSelector": {"matchLabels": {label.0: label.1}},
                "failurePolicy": "Fail",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": 5,
            }],
        }))
        .map_err(|e| Error::Object(format!("ValidatingWebhookConfiguration {name}: {e}")))?;
        let api: Api<ValidatingWebhookConfiguration> = Api::all(self.target_client(cluster).await?);
        api.create(&PostParams::default(), &config).await?;
        Ok(())
    }

    /// Registers the hub's admission webhooks of a breakglass server whose HTTPS
    /// listener is `tls_addr`: a `ValidatingWebhookConfiguration` and a
    /// `MutatingWebhookConfiguration`, both named `name`, for CREATE and UPDATE of every
    /// breakglass kind, sent to `/validate-breakglass` and `/mutate-breakglass`
    /// (`failurePolicy: Fail`). Only objects labelled `label.0=label.1` are sent, so other
    /// tests never depend on the server being up.
    pub async fn register_hub_admission(
        &self,
        name: &str,
        tls_addr: SocketAddr,
        label: (&str, &str),
    ) -> Result<(), Error> {
        let ca = base64::engine::general_purpose::STANDARD.encode(self.ca_pem()?);
        let rules = json!([{
            "apiGroups": ["breakglass.t-caas.telekom.com"], "apiVersions": ["v1alpha1"],
            "operations": ["CREATE", "UPDATE"], "resources": HUB_RESOURCES, "scope": "*",
        }]);
        let webhook = |hook: &str, path: &str| {
            json!({
                "name": hook,
                "clientConfig": {"url": format!("https://{tls_addr}{path}"), "caBundle": ca},
                "rules": rules,
                "objectSelector": {"matchLabels": {label.0: label.1}},
                "failurePolicy": "Fail",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": 5,
            })
        };
        let mut mutating = webhook("mutate.breakglass.t-caas.telekom.com", "/mutate-breakglass");
        mutating["reinvocationPolicy"] = json!("Never");
        let hub = self.hub_client().await?;
        let validating: ValidatingWebhookConfiguration = serde_json::from_value(json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": name},
            "webhooks": [webhook("validate.breakglass.t-caas.telekom.com", "/validate-breakglass")],
        }))
        .map_err(|e| Error::Object(format!("ValidatingWebhookConfiguration {name}: {e}")))?;
        let mutating: MutatingWebhookConfiguration = serde_json::from_value(json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": name},
            "webhooks": [mutating],
        }))
        .map_err(|e| Error::Object(format!("MutatingWebhookConfiguration {name}: {e}")))?;
        Api::<ValidatingWebhookConfiguration>::all(hub.clone())
            .create(&PostParams::default(), &validating)
            .await?;
        Api::<MutatingWebhookConfiguration>::all(hub)
            .create(&PostParams::default(), &mutating)
            .await?;
        Ok(())
    }

    /// Deletes what [`TestEnv::register_hub_admission`] created (absent is fine).
    pub async fn unregister_hub_admission(&self, name: &str) -> Result<(), Error> {
        let hub = self.hub_client().await?;
        let gone = |r: Result<_, kube::Error>| match r {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
            Err(e) => Err(Error::from(e)),
        };
        gone(
            Api::<ValidatingWebhookConfiguration>::all(hub.clone())
                .delete(name, &DeleteParams::default())
                .await
                .map(|_| ()),
        )?;
        gone(
            Api::<MutatingWebhookConfiguration>::all(hub)
                .delete(name, &DeleteParams::default())
                .await
                .map(|_| ()),
        )
    }

    /// Deletes the `ValidatingWebhookConfiguration` `name` on `cluster` (absent is fine).
    pub async fn unregister_admission(&self, cluster: &str, name: &str) -> Result<(), Error> {
        let api: Api<ValidatingWebhookConfiguration> = Api::all(self.target_client(cluster).await?);
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
