//! Configuration files of the daemons, written into the run directory.

use std::path::Path;

use anyhow::Context;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::pki::{Pair, Pki};
use crate::layout::{
    AUTOMATION_CLIENT_ID, AUTOMATION_CLIENT_SECRET, CLI_CLIENT_ID, DEX_HEADER_CONNECTOR, HUB,
    Layout, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, TEST_REDIRECT_URI, UI_ALT_CLIENT_ID, UI_CLIENT_ID,
};
use crate::users;

/// Serialises a JSON value as YAML.
pub fn yaml(v: &Value) -> anyhow::Result<String> {
    serde_saphyr::to_string(v).context("serialising YAML")
}

fn write_yaml(path: &Path, v: &Value) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, yaml(v)?).with_context(|| format!("writing {}", path.display()))
}

/// A kubeconfig for `server` with an optional client certificate.
pub fn kubeconfig(cluster: &str, server: &str, ca: &str, user: Option<&Pair>) -> Value {
    let user_value = match user {
        Some(p) => json!({
            "client-certificate-data": B64.encode(&p.cert),
            "client-key-data": B64.encode(&p.key),
        }),
        None => json!({}),
    };
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": cluster,
            "cluster": {
                "server": server,
                "certificate-authority-data": B64.encode(ca),
            },
        }],
        "users": [{ "name": cluster, "user": user_value }],
        "contexts": [{
            "name": cluster,
            "context": { "cluster": cluster, "user": cluster },
        }],
        "current-context": cluster,
    })
}

/// Writes every kubeconfig of a cluster.
pub fn cluster_kubeconfigs(layout: &Layout, pki: &Pki, cluster: &str) -> anyhow::Result<()> {
    let server = layout.server_url(cluster);
    write_yaml(
        &layout.kubeconfig(cluster),
        &kubeconfig(cluster, &server, &pki.ca, Some(&pki.admin)),
    )?;
    write_yaml(
        &layout.token_kubeconfig(cluster),
        &kubeconfig(cluster, &server, &pki.ca, None),
    )?;
    if cluster != HUB {
        write_yaml(
            &layout.hub_identity_kubeconfig(cluster),
            &kubeconfig(cluster, &server, &pki.ca, Some(&pki.hub_identity)),
        )?;
    }
    Ok(())
}

/// `AuthenticationConfiguration` trusting Dex.
pub fn authentication_config(layout: &Layout, pki: &Pki) -> Value {
    json!({
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "AuthenticationConfiguration",
        "jwt": [{
            "issuer": {
                "url": layout.dex_issuer(),
                "certificateAuthority": pki.ca,
                "audiences": [OIDC_CLIENT_ID],
            },
            "claimMappings": {
                "username": { "claim": "email", "prefix": "" },
                "groups": { "claim": "groups", "prefix": layout.settings.group_prefix },
            },
        }],
    })
}

/// `AuthorizationConfiguration`: Node → RBAC → Webhook `breakglass`.
pub fn authorization_config(layout: &Layout, cluster: &str) -> Value {
    let webhook_kubeconfig = layout.cluster_dir(cluster).join("webhook.kubeconfig");
    json!({
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "AuthorizationConfiguration",
        "authorizers": [
            { "type": "Node", "name": "node" },
            { "type": "RBAC", "name": "rbac" },
            {
                "type": "Webhook",
                "name": "breakglass",
                "webhook": {
                    "timeout": "3s",
                    "subjectAccessReviewVersion": "v1",
                    "matchConditionSubjectAccessReviewVersion": "v1",
                    "failurePolicy": layout.settings.failure_policy.as_str(),
                    "cacheAuthorizedRequests": false,
                    "cacheUnauthorizedRequests": false,
                    "connectionInfo": {
                        "type": "KubeConfigFile",
                        "kubeConfigFile": webhook_kubeconfig.display().to_string(),
                    },
                    "matchConditions": [
                        { "expression": "'system:authenticated' in request.groups" },
                        { "expression": "!request.user.startsWith('system:')" },
                        { "expression": "!('system:serviceaccounts' in request.groups)" },
                        { "expression": format!("request.user != '{}'", crate::layout::HUB_IDENTITY) },
                    ],
                },
            },
        ],
    })
}

/// The kubeconfig the webhook authorizer uses to reach the breakglass server.
pub fn webhook_kubeconfig(layout: &Layout, cluster: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "breakglass",
            "cluster": { "server": layout.webhook_url(cluster) },
        }],
        "users": [{ "name": cluster, "user": {} }],
        "contexts": [{
            "name": "webhook",
            "context": { "cluster": "breakglass", "user": cluster },
        }],
        "current-context": "webhook",
    })
}

/// Writes authentication and authorization configuration of a cluster.
pub fn cluster_auth_files(layout: &Layout, pki: &Pki, cluster: &str) -> anyhow::Result<()> {
    let dir = layout.cluster_dir(cluster);
    write_yaml(
        &dir.join("authentication.yaml"),
        &authentication_config(layout, pki),
    )?;
    if cluster != HUB {
        write_yaml(
            &dir.join("authorization.yaml"),
            &authorization_config(layout, cluster),
        )?;
        write_yaml(
            &dir.join("webhook.kubeconfig"),
            &webhook_kubeconfig(layout, cluster),
        )?;
    }
    Ok(())
}

/// Dex configuration: static users and clients, header connector, memory storage.
pub fn dex_config(layout: &Layout) -> anyhow::Result<Value> {
    let pki = layout.pki_dir();
    let mut passwords = Vec::new();
    for u in users::ALL {
        let hash = bcrypt::hash(u.password, 10).context("hashing a test password")?;
        passwords.push(json!({
            "email": u.email,
            "hash": hash,
            "username": u.name,
            "userID": format!("testenv-{}", u.name),
        }));
    }
    let webhook = layout.settings.webhook_addr;
    let ui_redirects = json!([
        format!("http://{webhook}/auth/callback"),
        format!("http://{webhook}/auth/silent-renew"),
        format!("http://localhost:{}/auth/callback", webhook.port()),
        format!("http://localhost:{}/auth/silent-renew", webhook.port()),
    ]);
    Ok(json!({
        "issuer": layout.dex_issuer(),
        "storage": { "type": "memory" },
        "web": {
            "https": format!("127.0.0.1:{}", layout.dex_port()),
            "tlsCert": pki.join("serving.crt").display().to_string(),
            "tlsKey": pki.join("serving.key").display().to_string(),
            // The web UI fetches discovery, keys and tokens from the browser.
            "allowedOrigins": [
                format!("http://{webhook}"),
                format!("http://localhost:{}", webhook.port()),
            ],
        },
        "telemetry": { "http": format!("127.0.0.1:{}", layout.dex_telemetry_port()) },
        "logger": { "level": "info", "format": "text" },
        "expiry": { "idTokens": "8h" },
        "oauth2": {
            "skipApprovalScreen": true,
            "passwordConnector": "local",
            "responseTypes": ["code"],
        },
        "enablePasswordDB": true,
        "staticPasswords": passwords,
        "connectors": [{
            "type": "authproxy",
            "id": DEX_HEADER_CONNECTOR,
            "name": "Test users (identity from request headers)",
            "config": {
                "userHeader": "X-Remote-User",
                "groupHeader": "X-Remote-Group",
            },
        }],
        "staticClients": [
            {
                "id": OIDC_CLIENT_ID,
                "name": "Breakglass",
                "secret": OIDC_CLIENT_SECRET,
                // The CLI may ask for this client's audience (cross-client trust), so its
                // tokens are accepted wherever the UI's are.
                "trustedPeers": [CLI_CLIENT_ID, UI_CLIENT_ID, UI_ALT_CLIENT_ID],
                "redirectURIs": [
                    TEST_REDIRECT_URI,
                    format!("http://{webhook}/"),
                    format!("http://{webhook}/callback"),
                    format!("http://localhost:{}/", webhook.port()),
                    format!("http://localhost:{}/callback", webhook.port()),
                ],
            },
            {
                // Public, and without redirectURIs on purpose: only then does Dex accept
                // `http://localhost:<any port>/…` redirects and the device flow.
                "id": CLI_CLIENT_ID,
                "name": "bgctl",
                "public": true,
            },
            {
                // The web UI: public (PKCE), redirects only to the UI.
                "id": UI_CLIENT_ID,
                "name": "Breakglass web UI",
                "public": true,
                "redirectURIs": ui_redirects,
            },
            {
                // The same, for a second IdentityProvider in the UI's browser test.
                "id": UI_ALT_CLIENT_ID,
                "name": "Breakglass web UI (second provider)",
                "public": true,
                "redirectURIs": ui_redirects.clone(),
            },
            {
                "id": AUTOMATION_CLIENT_ID,
                "name": "Breakglass automation",
                "secret": AUTOMATION_CLIENT_SECRET,
                "redirectURIs": [TEST_REDIRECT_URI],
            },
        ],
    }))
}

/// Writes Dex's configuration file; returns its path.
pub fn write_dex_config(layout: &Layout) -> anyhow::Result<std::path::PathBuf> {
    let path = layout.dir.join("dex").join("config.yaml");
    write_yaml(&path, &dex_config(layout)?)?;
    Ok(path)
}

/// Writes kwok's configuration (its stock stages plus ours); returns its path.
pub fn write_kwok_config(
    layout: &Layout,
    stock_stages: &[std::path::PathBuf],
    own_stages_dir: &Path,
) -> anyhow::Result<std::path::PathBuf> {
    let mut docs = Vec::new();
    for s in stock_stages {
        docs.push(std::fs::read_to_string(s).with_context(|| format!("reading {}", s.display()))?);
    }
    let mut own: Vec<_> = std::fs::read_dir(own_stages_dir)
        .with_context(|| format!("reading {}", own_stages_dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    own.sort();
    for s in own {
        docs.push(std::fs::read_to_string(&s)?);
    }
    let path = layout.dir.join("kwok-stages.yaml");
    let text: Vec<String> = docs
        .iter()
        .map(|d| d.trim().trim_start_matches("---").trim().to_owned())
        .collect();
    std::fs::write(&path, text.join("\n---\n") + "\n")?;
    Ok(path)
}
