//! The OIDC protocol pieces bgctl needs: discovery, the token endpoint, PKCE, refresh.

use anyhow::Context as _;
use base64::Engine as _;
use serde::Deserialize;
use sha2::Digest as _;

use super::cache::CachedTokens;
use crate::config::OidcProvider;

/// Largest discovery or token response read.
const MAX_RESPONSE: usize = 256 * 1024;

/// The endpoints of a provider's discovery document that bgctl uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    /// `issuer`.
    pub issuer: String,
    /// `authorization_endpoint`.
    pub authorization_endpoint: String,
    /// `token_endpoint`.
    pub token_endpoint: String,
    /// `device_authorization_endpoint`, when the provider offers the device flow.
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
}

/// A token endpoint's success answer.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    /// Access token.
    pub access_token: String,
    /// ID token (OIDC).
    #[serde(default)]
    pub id_token: Option<String>,
    /// Refresh token.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Lifetime of the access token in seconds.
    #[serde(default)]
    pub expires_in: Option<i64>,
}

/// A token endpoint's error answer (RFC 6749 §5.2).
#[derive(Debug, Clone, Deserialize, thiserror::Error)]
#[error("{error}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
pub struct OAuthError {
    /// `error`, e.g. `invalid_grant`, `authorization_pending`.
    pub error: String,
    /// `error_description`.
    #[serde(default, rename = "error_description")]
    pub description: Option<String>,
}

/// HTTP client for talking to the provider (system roots plus its `ca-file`).
pub fn http_client(provider: &OidcProvider) -> anyhow::Result<reqwest::Client> {
    // reqwest is built without a default crypto provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        // Redirects from a token endpoint are never followed: credentials stay put.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("bgctl/", env!("CARGO_PKG_VERSION")));
    if let Some(ca) = &provider.ca_file {
        let pem = std::fs::read(ca).with_context(|| format!("ca-file {}", ca.display()))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("ca-file {}: not a PEM bundle", ca.display()))?
        {
            b = b.add_root_certificate(cert);
        }
    }
    b.build().context("building the HTTP client")
}

async fn read_body(resp: reqwest::Response) -> anyhow::Result<Vec<u8>> {
    let mut resp = resp;
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        anyhow::ensure!(
            body.len() + chunk.len() <= MAX_RESPONSE,
            "answer larger than {MAX_RESPONSE} bytes"
        );
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads `<authority>/.well-known/openid-configuration`.
pub async fn discover(http: &reqwest::Client, authority: &str) -> anyhow::Result<Discovery> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        authority.trim_end_matches('/')
    );
    let resp = http
        .get(&url)
        .send()
        .await
        .with_context(|| format!("OIDC discovery at {url}"))?;
    let status = resp.status();
    let body = read_body(resp).await?;
    anyhow::ensure!(status.is_success(), "OIDC discovery at {url}: {status}");
    let disc: Discovery =
        serde_json::from_slice(&body).with_context(|| format!("OIDC discovery at {url}"))?;
    // OIDC Discovery §4.3: a document naming another issuer is not this provider's.
    anyhow::ensure!(
        disc.issuer.trim_end_matches('/') == authority.trim_end_matches('/'),
        "OIDC discovery at {url} names issuer {:?}, not {authority:?}",
        disc.issuer
    );
    Ok(disc)
}

/// Posts `form` to the token (or device) endpoint with the client's credentials.
pub async fn post_form(
    http: &reqwest::Client,
    endpoint: &str,
    provider: &OidcProvider,
    form: &[(&str, &str)],
) -> anyhow::Result<Result<Vec<u8>, OAuthError>> {
    let mut rb = http.post(endpoint);
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    let secret = provider.secret()?;
    match &secret {
        Some(s) => rb = rb.basic_auth(&provider.client_id, Some(s)),
        // Public clients identify themselves in the body (RFC 6749 §2.3).
        None if !fields.iter().any(|(k, _)| *k == "client_id") => {
            fields.push(("client_id", &provider.client_id));
        }
        None => {}
    }
    let resp = rb
        .form(&fields)
        .send()
        .await
        .with_context(|| format!("calling {endpoint}"))?;
    let status = resp.status();
    let body = read_body(resp).await?;
    if status.is_success() {
        return Ok(Ok(body));
    }
    match serde_json::from_slice::<OAuthError>(&body) {
        Ok(e) => Ok(Err(e)),
        Err(_) => anyhow::bail!(
            "{endpoint} answered {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ),
    }
}

/// A token request that must succeed.
pub async fn token(
    http: &reqwest::Client,
    disc: &Discovery,
    provider: &OidcProvider,
    form: &[(&str, &str)],
) -> anyhow::Result<TokenResponse> {
    let body = post_form(http, &disc.token_endpoint, provider, form)
        .await?
        .map_err(|e| anyhow::anyhow!("the identity provider refused: {e}"))?;
    serde_json::from_slice(&body).context("decoding the token response")
}

/// Turns a token response into a cache entry; keeps the old refresh token when the
/// provider does not rotate it.
pub fn to_cached(
    provider: &OidcProvider,
    resp: TokenResponse,
    previous_refresh: Option<String>,
) -> CachedTokens {
    let access_expiry = resp.expires_in.filter(|s| *s > 0).and_then(|s| {
        jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(s))
            .ok()
    });
    CachedTokens {
        authority: provider.authority.clone(),
        client_id: provider.client_id.clone(),
        id_token: resp.id_token,
        access_token: resp.access_token,
        refresh_token: resp.refresh_token.or(previous_refresh),
        access_expiry,
    }
}

/// New tokens from the refresh token.
pub async fn refresh(
    provider: &OidcProvider,
    cached: &CachedTokens,
) -> anyhow::Result<CachedTokens> {
    let rt = cached
        .refresh_token
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("no refresh token"))?;
    let http = http_client(provider)?;
    let disc = discover(&http, &provider.authority).await?;
    let resp = token(
        &http,
        &disc,
        provider,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await?;
    Ok(to_cached(provider, resp, Some(rt.to_owned())))
}

/// `n` random bytes, base64url: PKCE verifiers and `state` values.
pub fn random_token(n: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// The S256 challenge of a PKCE verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

/// Constant-time comparison of the `state` returned with the one sent.
pub fn state_matches(sent: &str, got: &str) -> bool {
    sent.len() == got.len()
        && sent
            .bytes()
            .zip(got.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_rfc7636_s256() {
        // The example of RFC 7636 appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_tokens_are_long_and_distinct() {
        let a = random_token(32).unwrap();
        let b = random_token(32).unwrap();
        assert_eq!(a.len(), 43); // 32 bytes → 43 base64url chars, a valid PKCE verifier
        assert_ne!(a, b);
    }

    #[test]
    fn state_must_match_exactly() {
        assert!(state_matches("abc", "abc"));
        assert!(!state_matches("abc", "abd"));
        assert!(!state_matches("abc", "ab"));
        assert!(!state_matches("abc", ""));
    }
}
