//! A second OIDC issuer, trusted by the hub through its own IdentityProvider, whose tokens
//! carry whatever claims an attack needs: another user's e-mail as `preferred_username`
//! or `sub`, an unverified e-mail, the victim's e-mail from another issuer. The issuer is
//! real as far as the server can tell: HTTPS with the environment's CA, OpenID discovery,
//! a JWKS and ES256 signatures; only the claims are ours to choose.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use breakglass_api::IdentityProvider;
use breakglass_testenv::TestEnv;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use kube::api::{DeleteParams, PostParams};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// A running issuer and its IdentityProvider on the hub (removed on drop by `close`).
pub struct SecondIssuer {
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// Name of its IdentityProvider.
    pub provider: String,
    key: EncodingKey,
    kid: String,
    server: JoinHandle<()>,
    hub: kube::Client,
}

impl SecondIssuer {
    /// Starts the issuer with the environment's serving certificate and registers it.
    pub async fn start(env: &TestEnv, name: &str) -> anyhow::Result<Self> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let point = key.public_key_raw();
        anyhow::ensure!(
            point.len() == 65 && point[0] == 4,
            "uncompressed P-256 point"
        );
        let kid = format!("{name}-key");
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        let encoding = EncodingKey::from_ec_pem(key.serialize_pem().as_bytes())?;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("https://{}", listener.local_addr()?);
        let pki = env.layout().pki_dir();
        let certs = CertificateDer::pem_file_iter(pki.join("serving.crt"))?
            .collect::<Result<Vec<_>, _>>()?;
        let private = PrivateKeyDer::from_pem_file(pki.join("serving.key"))?;
        let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, private)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let discovery = json!({
            "issuer": url,
            "jwks_uri": format!("{url}/keys"),
            "id_token_signing_alg_values_supported": ["ES256"],
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
        });
        let keys = json!({"keys": [jwk]});
        let router = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || {
                    let d = discovery.clone();
                    async move { Json(d) }
                }),
            )
            .route(
                "/keys",
                get(move || {
                    let k = keys.clone();
                    async move { Json(k) }
                }),
            );
        let server = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let router = router.clone();
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper_util::service::TowerToHyperService::new(router);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });

        let hub = env.hub_client().await?;
        let provider = format!("e2e-{name}");
        let idp: IdentityProvider = serde_json::from_value(json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
            "kind": "IdentityProvider",
            "metadata": {"name": provider},
            "spec": {
                "displayName": "second issuer (e2e)",
                "issuer": url,
                "oidc": {
                    "authority": url,
                    "clientID": "breakglass",
                    "expectedAudience": "breakglass",
                    "certificateAuthority": env.ca_pem()?,
                },
            },
        }))?;
        let api: kube::Api<IdentityProvider> = kube::Api::all(hub.clone());
        let _ = api.delete(&provider, &DeleteParams::default()).await;
        api.create(&PostParams::default(), &idp).await?;
        Ok(Self {
            url,
            provider,
            key: encoding,
            kid,
            server,
            hub,
        })
    }

    /// A signed ID token with `claims` on top of `iss`, `aud`, `iat` and `exp`.
    pub fn token(&self, claims: Value) -> anyhow::Result<String> {
        let now = jiff::Timestamp::now().as_second();
        let mut all = json!({"iss": self.url, "aud": "breakglass", "iat": now, "exp": now + 600});
        if let (Some(a), Some(c)) = (all.as_object_mut(), claims.as_object()) {
            for (k, v) in c {
                a.insert(k.clone(), v.clone());
            }
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, &all, &self.key)?)
    }

    /// Waits until the server at `base` accepts this issuer's tokens.
    pub async fn wait_trusted(&self, base: &str) -> anyhow::Result<()> {
        let probe = self.token(json!({
            "sub": "probe", "email": "probe@second.example", "email_verified": true,
            "groups": ["nothing"],
        }))?;
        let http = reqwest::Client::new();
        let started = std::time::Instant::now();
        loop {
            let status = http
                .get(format!("{base}/api/breakglassSessions"))
                .bearer_auth(&probe)
                .send()
                .await?
                .status();
            if status.is_success() {
                return Ok(());
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not trust the second issuer within 30 s (last {status})"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Removes the IdentityProvider and stops serving.
    pub async fn close(self) {
        let api: kube::Api<IdentityProvider> = kube::Api::all(self.hub.clone());
        let _ = api.delete(&self.provider, &DeleteParams::default()).await;
        self.server.abort();
    }
}
