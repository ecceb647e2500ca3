//! Typed client for the breakglass REST API.
//!
//! Every request and response type comes from [`breakglass_api::rest`], the same
//! definitions the server serialises, so client and server cannot drift apart. Failed
//! calls map the server's `{error, code}` body to [`Error::Api`].
//!
//! Endpoint methods live in one file per API area (`impl Client` blocks).

mod debug;
mod error;
mod escalations;
mod explain;
mod public;
mod sessions;
#[cfg(test)]
mod tests;

pub use breakglass_api::rest;
pub use error::Error;
pub use escalations::{EscalationCluster, clusters_of};

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A connection to one breakglass server, optionally authenticated with a bearer token.
#[derive(Debug, Clone)]
pub struct Client {
    base: url::Url,
    token: Option<String>,
    http: reqwest::Client,
}

/// How to reach the server.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// PEM bundle trusted in addition to the system roots.
    pub ca_pem: Option<Vec<u8>>,
    /// Skip TLS verification (for tests against self-signed servers only).
    pub insecure_skip_tls_verify: bool,
    /// Per-request timeout; 30 s when `None`.
    pub timeout: Option<Duration>,
}

impl Client {
    /// A client for the server at `base` (e.g. `https://breakglass.example.com`).
    pub fn new(base: &str, token: Option<String>, options: &Options) -> Result<Self, Error> {
        let mut base = url::Url::parse(base)
            .map_err(|e| Error::Config(format!("server URL {base:?}: {e}")))?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        // reqwest is built without a default crypto provider; install ring once.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout.unwrap_or(Duration::from_secs(30)))
            .user_agent(concat!("breakglass-client/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &options.ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::Config(format!("CA bundle: {e}")))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        if options.insecure_skip_tls_verify {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http = builder
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Self { base, token, http })
    }

    /// The server this client talks to.
    pub fn base(&self) -> &url::Url {
        &self.base
    }

    /// The same client with another bearer token.
    #[must_use]
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.token = token;
        self
    }

    fn url(&self, path: &str) -> Result<url::Url, Error> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| Error::Config(format!("path {path:?}: {e}")))
    }

    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, Error> {
        let mut rb = self.http.request(method, self.url(path)?);
        if let Some(token) = &self.token {
            rb = rb.bearer_auth(token);
        }
        Ok(rb)
    }

    /// `GET path?query`, decoding a JSON answer.
    pub async fn get<Q: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<R, Error> {
        let rb = self.request(reqwest::Method::GET, path)?.query(query);
        decode(rb.send().await?).await
    }

    /// `POST path` with a JSON body (or none), decoding a JSON answer.
    pub async fn post<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        path: &str,
        body: Option<&B>,
    ) -> Result<R, Error> {
        self.post_query(path, &NoQuery, body).await
    }

    /// `POST path?query` with a JSON body (or none), decoding a JSON answer.
    pub async fn post_query<Q: Serialize + ?Sized, B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        path: &str,
        query: &Q,
        body: Option<&B>,
    ) -> Result<R, Error> {
        let mut rb = self.request(reqwest::Method::POST, path)?.query(query);
        if let Some(body) = body {
            rb = rb.json(body);
        }
        decode(rb.send().await?).await
    }

    /// `POST path?query` without a body (actions that take none), decoding a JSON answer.
    pub async fn post_empty<Q: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<R, Error> {
        self.post_query(path, query, None::<&()>).await
    }
}

/// An empty query string (for [`Client::get`] and [`Client::post_empty`]).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct NoQuery;

/// A path segment with everything but unreserved characters percent-encoded, so a
/// name can never change the path it is put into.
pub(crate) fn segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes a success body as `R`, or maps a failure to [`Error::Api`].
async fn decode<R: DeserializeOwned>(resp: reqwest::Response) -> Result<R, Error> {
    let status = resp.status();
    let request_id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = resp.bytes().await?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            status: status.as_u16(),
            message: e.to_string(),
        });
    }
    Err(Error::from_failure(status.as_u16(), &bytes, request_id))
}
