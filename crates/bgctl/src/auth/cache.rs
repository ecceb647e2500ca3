//! The token cache: `tokens.json` next to the config file, mode 0600, one entry per
//! OIDC provider (by name; a context's inline provider under `context:<name>`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::{OidcProvider, TokenKind};

/// Tokens are refreshed this long before they expire, so a request never races expiry.
pub const REFRESH_MARGIN: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// The whole cache file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TokenCache {
    /// Format version (1).
    #[serde(default)]
    pub version: u32,
    /// Tokens by provider key.
    #[serde(default)]
    pub tokens: BTreeMap<String, CachedTokens>,
}

/// One login's tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CachedTokens {
    /// The provider's authority when the tokens were issued.
    pub authority: String,
    /// The client id they were issued to.
    pub client_id: String,
    /// ID token, when the provider returned one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Access token.
    pub access_token: String,
    /// Refresh token, when the provider returned one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When the access token expires (from `expires_in`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_expiry: Option<Timestamp>,
}

/// What to do with cached tokens before a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Use as they are.
    Valid,
    /// Expired or about to: refresh first.
    Refresh,
    /// Expired and no refresh token: log in again.
    Expired,
}

impl CachedTokens {
    /// Whether these tokens belong to `provider` (a provider re-pointed elsewhere must
    /// never reuse another issuer's tokens).
    pub fn matches(&self, provider: &OidcProvider) -> bool {
        self.authority.trim_end_matches('/') == provider.authority.trim_end_matches('/')
            && self.client_id == provider.client_id
    }

    /// The token sent to the server and its expiry (`None`: unknown).
    pub fn bearer(&self, kind: TokenKind) -> (&str, Option<Timestamp>) {
        match (kind, &self.id_token) {
            (TokenKind::IdToken, Some(id)) => (id.as_str(), jwt_expiry(id)),
            _ => (
                self.access_token.as_str(),
                jwt_expiry(&self.access_token).or(self.access_expiry),
            ),
        }
    }

    /// The refresh decision at `now`.
    pub fn freshness(&self, kind: TokenKind, now: Timestamp) -> Freshness {
        let (_, expiry) = self.bearer(kind);
        let Some(expiry) = expiry else {
            // No expiry known: the server decides; a 401 then says to log in again.
            return Freshness::Valid;
        };
        if now + REFRESH_MARGIN < expiry {
            Freshness::Valid
        } else if self.refresh_token.is_some() {
            Freshness::Refresh
        } else {
            Freshness::Expired
        }
    }

    /// Claims of the ID token (else the access token), unverified: for display only.
    pub fn claims(&self) -> Option<serde_json::Value> {
        self.id_token
            .as_deref()
            .and_then(jwt_claims)
            .or_else(|| jwt_claims(&self.access_token))
    }
}

/// The payload of a JWT, unverified (the server verifies; the client only reads expiry
/// and names). `None` when the token is not a JWT.
pub fn jwt_claims(token: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    if payload.len() > 64 * 1024 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn jwt_expiry(token: &str) -> Option<Timestamp> {
    let exp = jwt_claims(token)?.get("exp")?.as_i64()?;
    Timestamp::from_second(exp).ok()
}

/// Reads the cache; a missing file is empty.
pub fn load(path: &Path) -> anyhow::Result<TokenCache> {
    let Some(text) = crate::config::read_bounded(path)? else {
        return Ok(TokenCache::default());
    };
    serde_json::from_str(&text).with_context(|| {
        format!(
            "token cache {} is damaged; delete it and log in again",
            path.display()
        )
    })
}

/// Writes the cache (0600, atomically); an empty cache removes the file.
pub fn save(path: &Path, cache: &TokenCache) -> anyhow::Result<()> {
    if cache.tokens.is_empty() {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", path.display()))
            }
            _ => Ok(()),
        };
    }
    let mut c = cache.clone();
    c.version = 1;
    let text = serde_json::to_vec_pretty(&c)?;
    crate::config::write_private(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &serde_json::Value) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode(br#"{"alg":"RS256"}"#),
            e.encode(claims.to_string())
        )
    }

    fn tokens(exp: i64, refresh: bool) -> CachedTokens {
        CachedTokens {
            authority: "https://idp.example/".into(),
            client_id: "cli".into(),
            id_token: Some(jwt(&serde_json::json!({"exp": exp, "email": "a@b"}))),
            access_token: "opaque".into(),
            refresh_token: refresh.then(|| "r".to_owned()),
            access_expiry: None,
        }
    }

    #[test]
    fn refresh_decision_follows_expiry_margin_and_refresh_token() {
        let now = Timestamp::from_second(1_000_000).unwrap();
        let k = TokenKind::IdToken;
        assert_eq!(
            tokens(1_000_000 + 3600, false).freshness(k, now),
            Freshness::Valid
        );
        // Inside the margin counts as expired.
        assert_eq!(
            tokens(1_000_000 + 30, true).freshness(k, now),
            Freshness::Refresh
        );
        assert_eq!(
            tokens(1_000_000 - 10, true).freshness(k, now),
            Freshness::Refresh
        );
        assert_eq!(
            tokens(1_000_000 - 10, false).freshness(k, now),
            Freshness::Expired
        );
        // The access token is opaque and has no known expiry: used as is.
        assert_eq!(
            tokens(1_000_000 - 10, false).freshness(TokenKind::AccessToken, now),
            Freshness::Valid
        );
    }

    #[test]
    fn tokens_of_another_authority_or_client_do_not_match() {
        let t = tokens(0, false);
        let mut p = OidcProvider {
            authority: "https://idp.example".into(),
            client_id: "cli".into(),
            ..OidcProvider::default()
        };
        assert!(t.matches(&p));
        p.client_id = "other".into();
        assert!(!t.matches(&p));
        p.client_id = "cli".into();
        p.authority = "https://evil.example".into();
        assert!(!t.matches(&p));
    }

    #[test]
    fn cache_file_is_private_and_empty_cache_removes_it() {
        let dir = std::env::temp_dir().join(format!("bgctl-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("tokens.json");
        let mut c = TokenCache::default();
        c.tokens.insert("p".into(), tokens(5, true));
        save(&path, &c).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        assert_eq!(load(&path).unwrap().tokens["p"], tokens(5, true));
        save(&path, &TokenCache::default()).unwrap();
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(dir);
    }
}
