//! The webhook sink: posts each event as JSON, or with `batchSize` above 1 batches of
//! `{"events": [...], "count": n}` to `batchURL` (`url` when unset). Headers, Bearer or
//! Basic auth from a Secret (`token`, or `username` and `password`), a CA from a Secret
//! (`ca.crt`), a timeout; any status but 2xx is a failure. Redirects are not followed.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use breakglass_api::audit_config::WebhookSinkConfig;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

/// Bytes reserved per event of a batch body (a webhook decision's event is ~0.5–1 KiB).
const EVENT_SIZE_HINT: usize = 1024;

/// The body of a batch: `{"events": [...], "count": n}`.
#[derive(serde::Serialize)]
struct Batch<'a> {
    events: Vec<&'a AuditEvent>,
    count: usize,
}

use crate::AuditError;
use crate::event::AuditEvent;
use crate::pipeline::BuildContext;

/// The webhook sink.
pub struct WebhookSink {
    client: reqwest::Client,
    url: String,
    batch_url: String,
    batch_size: usize,
}

fn config_err(m: impl Into<String>) -> AuditError {
    AuditError::Config(m.into())
}

fn utf8(bytes: &[u8], what: &str) -> Result<String, AuditError> {
    String::from_utf8(bytes.to_vec())
        .map(|s| s.trim().to_owned())
        .map_err(|_| config_err(format!("{what} is not UTF-8")))
}

fn check_url(url: &str, field: &str) -> Result<(), AuditError> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(config_err(format!("{field} {url:?} is not an http(s) URL"))),
    }
}

impl WebhookSink {
    /// Builds the sink; Secrets come from `ctx`.
    pub fn new(cfg: &WebhookSinkConfig, ctx: &BuildContext) -> Result<Self, AuditError> {
        check_url(&cfg.url, "url")?;
        if let Some(b) = &cfg.batch_url {
            check_url(b, "batchURL")?;
        }
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (k, v) in cfg.headers.iter().flatten() {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| config_err(format!("header name {k:?} is invalid")))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| config_err(format!("value of header {k:?} is invalid")))?;
            headers.insert(name, value);
        }
        if let Some(r) = &cfg.auth_secret_ref {
            let auth = if let Some(token) = ctx.secret_value(r, "token")? {
                format!("Bearer {}", utf8(token, "token")?)
            } else {
                match (
                    ctx.secret_value(r, "username")?,
                    ctx.secret_value(r, "password")?,
                ) {
                    (Some(u), Some(p)) => {
                        let pair = format!("{}:{}", utf8(u, "username")?, utf8(p, "password")?);
                        format!(
                            "Basic {}",
                            base64::engine::general_purpose::STANDARD.encode(pair)
                        )
                    }
                    _ => {
                        return Err(config_err(format!(
                            "Secret {} has neither key token nor keys username and password",
                            r.name
                        )));
                    }
                }
            };
            let mut value = HeaderValue::from_str(&auth)
                .map_err(|_| config_err("the credentials are not a valid header value"))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let timeout = cfg.timeout_seconds.unwrap_or(5).clamp(1, 30);
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(timeout.unsigned_abs().into()))
            .connect_timeout(Duration::from_secs(timeout.unsigned_abs().into()))
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers);
        if let Some(tls) = &cfg.tls {
            if let Some(r) = &tls.ca_secret_ref {
                let pem = ctx
                    .secret_value(r, "ca.crt")?
                    .ok_or_else(|| config_err(format!("Secret {} has no key ca.crt", r.name)))?;
                let certs = reqwest::Certificate::from_pem_bundle(pem)
                    .map_err(|e| config_err(format!("invalid CA in Secret {}: {e}", r.name)))?;
                for cert in certs {
                    builder = builder.add_root_certificate(cert);
                }
            }
            if tls.insecure_skip_verify == Some(true) {
                builder = builder.tls_danger_accept_invalid_certs(true);
            }
        }
        let client = builder
            .build()
            .map_err(|e| config_err(format!("HTTP client: {e}")))?;
        Ok(Self {
            client,
            url: cfg.url.clone(),
            batch_url: cfg.batch_url.clone().unwrap_or_else(|| cfg.url.clone()),
            batch_size: usize::try_from(cfg.batch_size.unwrap_or(1).clamp(1, 1000)).unwrap_or(1),
        })
    }

    /// Events per request.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Posts `batch`.
    pub async fn deliver(&self, batch: &[Arc<AuditEvent>]) -> Result<(), AuditError> {
        if self.batch_size > 1 {
            let events: Vec<&AuditEvent> = batch.iter().map(AsRef::as_ref).collect();
            // Sized for typical events up front: growing a buffer of a hundred events
            // by doubling costs more than writing them.
            let mut body = Vec::with_capacity(batch.len().saturating_mul(EVENT_SIZE_HINT));
            let written = serde_json::to_writer(
                &mut body,
                &Batch {
                    count: events.len(),
                    events,
                },
            );
            return self.post(&self.batch_url, written.map(|()| body)).await;
        }
        for e in batch {
            self.post(&self.url, serde_json::to_vec(e.as_ref())).await?;
        }
        Ok(())
    }

    async fn post(&self, url: &str, body: serde_json::Result<Vec<u8>>) -> Result<(), AuditError> {
        let body = body.map_err(|e| AuditError::Delivery(format!("encoding: {e}")))?;
        let response = self
            .client
            .post(url)
            .body(body)
            .send()
            .await
            .map_err(|e| AuditError::Delivery(format!("POST {url}: {}", error_chain(&e))))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(AuditError::Delivery(format!("POST {url}: HTTP {status}")))
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}
