//! Bearer-token authentication against the configured identity providers.
//!
//! Tokens are OIDC JWTs. The unverified `iss` claim selects the provider; the token is
//! then verified with that provider's signing keys (JWKS, discovered and cached per
//! issuer, refetched on an unknown `kid` at most once per [`MIN_REFETCH_INTERVAL`]),
//! its audience, and its validity window. Only asymmetric algorithms are accepted.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

/// Signing keys are refetched for an unknown `kid` at most this often per issuer, so a
/// flood of forged tokens cannot turn into a flood of requests to the provider.
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// Keys are refreshed in the background after this long even when every `kid` is known.
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(15 * 60);
/// Accepted clock skew for `nbf` and `iat` in the future. Expiry gets none: an expired
/// token is rejected the second it expires.
pub const CLOCK_SKEW_SECS: i64 = 30;

const ALLOWED_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Why a token was refused. Every variant ends in a 401 except [`AuthError::Throttled`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("missing bearer token")]
    Missing,
    /// The header is not exactly `Bearer <token>`.
    #[error("malformed Authorization header: expected 'Bearer <token>'")]
    Malformed,
    /// The token is not a JWT.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// No enabled identity provider has this issuer.
    #[error("token issuer {0:?} is not a configured identity provider")]
    UnknownIssuer(String),
    /// The algorithm is not an allowed asymmetric one.
    #[error("token algorithm {0} is not allowed")]
    Algorithm(String),
    /// No signing key matches.
    #[error("no signing key for this token")]
    UnknownKey,
    /// Signature, audience, expiry or another claim is wrong.
    #[error("token rejected: {0}")]
    Rejected(String),
    /// Signing keys could not be fetched.
    #[error("cannot fetch signing keys of {issuer}: {message}")]
    KeysUnavailable {
        /// The issuer.
        issuer: String,
        /// What failed.
        message: String,
    },
    /// Too many key refetches for unknown `kid`s.
    #[error("too many token verification key lookups, retry later")]
    Throttled,
}

/// One identity provider as the authenticator needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// Name of the IdentityProvider object.
    pub name: String,
    /// Expected `iss` claim.
    pub issuer: String,
    /// Expected `aud` claim.
    pub audience: String,
    /// Base URL for discovery (`<authority>/.well-known/openid-configuration`).
    pub authority: String,
    /// Explicit JWKS URL; skips discovery.
    pub jwks_url: Option<String>,
    /// PEM CA bundle trusted for discovery and JWKS requests.
    pub ca_pem: Option<String>,
}

/// Who a verified token says the caller is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    /// `sub` claim.
    pub subject: String,
    /// `email` claim.
    pub email: Option<String>,
    /// `email_verified` claim: `None` when the token does not carry it.
    pub email_verified: Option<bool>,
    /// `preferred_username` claim.
    pub preferred_username: Option<String>,
    /// `name` claim.
    pub name: Option<String>,
    /// Groups from the `groups` claim (or Keycloak `realm_access.roles`), prefixes kept.
    pub groups: Vec<String>,
    /// Whether the token carried a groups claim at all.
    pub has_groups_claim: bool,
    /// The token issuer.
    pub issuer: String,
    /// Name of the IdentityProvider that verified the token.
    pub provider: String,
}

#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<VerifiedClaim>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    groups: Option<GroupsClaim>,
    #[serde(default)]
    realm_access: Option<RealmAccess>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
}

/// `email_verified`: a JSON boolean, or the strings `"true"`/`"false"` some providers
/// send. Anything else counts as not verified.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum VerifiedClaim {
    Bool(bool),
    Text(String),
}

impl VerifiedClaim {
    fn is_true(&self) -> bool {
        match self {
            Self::Bool(b) => *b,
            Self::Text(t) => t == "true",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum GroupsClaim {
    List(Vec<String>),
    One(String),
}

#[derive(Debug, Deserialize)]
struct RealmAccess {
    #[serde(default)]
    roles: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct UnverifiedIssuer {
    iss: Option<String>,
}

struct KeyCache {
    keys: Option<JwkSet>,
    /// `id_token_signing_alg_values_supported` of the discovery document, when given.
    algorithms: Option<Vec<String>>,
    fetched_at: Option<Instant>,
}

struct Provider {
    config: ProviderConfig,
    http: reqwest::Client,
    cache: RwLock<KeyCache>,
    /// Serialises fetches so concurrent misses cause one request.
    fetch_lock: Mutex<()>,
}

/// Verifies bearer tokens for a set of identity providers keyed by issuer. The set is
/// replaced whenever the IdentityProvider objects change; key caches of unchanged
/// providers survive the replacement.
#[derive(Default, Clone)]
pub struct Authenticator {
    providers: Arc<RwLock<HashMap<String, Arc<Provider>>>>,
}

impl Authenticator {
    /// An authenticator that trusts no provider yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the provider set, keeping the cached keys of unchanged providers.
    pub async fn set_providers(&self, configs: Vec<ProviderConfig>) -> Result<(), String> {
        let mut map = self.providers.write().await;
        let mut next = HashMap::new();
        for config in configs {
            if let Some(existing) = map.get(&config.issuer)
                && existing.config == config
            {
                next.insert(config.issuer.clone(), existing.clone());
                continue;
            }
            let http = http_client(config.ca_pem.as_deref())?;
            next.insert(
                config.issuer.clone(),
                Arc::new(Provider {
                    config,
                    http,
                    cache: RwLock::new(KeyCache {
                        keys: None,
                        algorithms: None,
                        fetched_at: None,
                    }),
                    fetch_lock: Mutex::new(()),
                }),
            );
        }
        *map = next;
        Ok(())
    }

    /// The configured providers.
    pub async fn providers(&self) -> Vec<ProviderConfig> {
        let map = self.providers.read().await;
        let mut list: Vec<ProviderConfig> = map.values().map(|p| p.config.clone()).collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
    }

    /// Verifies the value of an `Authorization` header.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Identity, AuthError> {
        let token = bearer_token(header)?;
        self.verify(token, jiff::Timestamp::now().as_second()).await
    }

    /// Verifies a raw JWT at the given Unix time.
    pub async fn verify(&self, token: &str, now: i64) -> Result<Identity, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthError::InvalidToken(e.to_string()))?;
        if !ALLOWED_ALGORITHMS.contains(&header.alg) {
            return Err(AuthError::Algorithm(format!("{:?}", header.alg)));
        }
        // RFC 7515 §4.1.11: a recipient must reject a token whose `crit` header names
        // extensions it does not understand. We understand none.
        if let Some(crit) = &header.crit {
            return Err(AuthError::InvalidToken(format!(
                "critical header extensions are not supported: {}",
                crit.iter()
                    .take(5)
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let unverified: UnverifiedIssuer = jsonwebtoken::dangerous::insecure_decode(token)
            .map(|data| data.claims)
            .map_err(|e| AuthError::InvalidToken(e.to_string()))?;
        let issuer = unverified
            .iss
            .ok_or_else(|| AuthError::InvalidToken("no iss claim".to_owned()))?;
        let provider = self
            .providers
            .read()
            .await
            .get(&issuer)
            .cloned()
            .ok_or_else(|| AuthError::UnknownIssuer(issuer.clone()))?;

        let jwk = provider.key_for(header.kid.as_deref(), header.alg).await?;
        provider.check_algorithm(header.alg).await?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| AuthError::Rejected(e.to_string()))?;
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[&provider.config.issuer]);
        validation.set_audience(&[&provider.config.audience]);
        validation.validate_nbf = false; // checked below with skew
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| AuthError::Rejected(e.to_string()))?;
        let claims = data.claims;
        if claims.nbf.is_some_and(|nbf| nbf > now + CLOCK_SKEW_SECS) {
            return Err(AuthError::Rejected("token not yet valid (nbf)".to_owned()));
        }
        if claims.iat.is_some_and(|iat| iat > now + CLOCK_SKEW_SECS) {
            return Err(AuthError::Rejected(
                "token issued in the future (iat)".to_owned(),
            ));
        }
        let subject = claims
            .sub
            .filter(|s| !s.is_empty())
            .ok_or_else(|| AuthError::Rejected("token has no sub claim".to_owned()))?;
        let (groups, has_groups_claim) = match (claims.groups, claims.realm_access) {
            (Some(GroupsClaim::List(list)), _) => (list, true),
            (Some(GroupsClaim::One(one)), _) => (vec![one], true),
            (None, Some(realm)) => (realm.roles, true),
            (None, None) => (Vec::new(), false),
        };
        Ok(Identity {
            subject,
            email: claims.email.filter(|s| !s.is_empty()),
            email_verified: claims.email_verified.as_ref().map(VerifiedClaim::is_true),
            preferred_username: claims.preferred_username.filter(|s| !s.is_empty()),
            name: claims.name,
            groups,
            has_groups_claim,
            issuer: claims.iss,
            provider: provider.config.name.clone(),
        })
    }
}

impl Provider {
    /// Finds the key for `kid`, refetching the key set once (rate-limited) when unknown.
    async fn key_for(&self, kid: Option<&str>, alg: Algorithm) -> Result<Jwk, AuthError> {
        let stale = {
            let cache = self.cache.read().await;
            if let Some(keys) = &cache.keys
                && let Some(jwk) = select_key(keys, kid, alg)
            {
                let fresh = cache
                    .fetched_at
                    .is_some_and(|at| at.elapsed() < JWKS_MAX_AGE);
                if fresh {
                    return Ok(jwk);
                }
                Some(jwk)
            } else {
                None
            }
        };
        match self.refresh().await {
            Ok(()) => {}
            // A stale but matching key is still better than failing while the provider is down.
            Err(err) => return stale.ok_or(err),
        }
        let cache = self.cache.read().await;
        cache
            .keys
            .as_ref()
            .and_then(|keys| select_key(keys, kid, alg))
            .ok_or(AuthError::UnknownKey)
    }

    async fn refresh(&self) -> Result<(), AuthError> {
        let _guard = self.fetch_lock.lock().await;
        {
            let cache = self.cache.read().await;
            if cache
                .fetched_at
                .is_some_and(|at| at.elapsed() < MIN_REFETCH_INTERVAL)
            {
                return if cache.keys.is_some() {
                    Ok(())
                } else {
                    Err(AuthError::Throttled)
                };
            }
        }
        let result = self.fetch().await;
        let mut cache = self.cache.write().await;
        cache.fetched_at = Some(Instant::now());
        match result {
            Ok((keys, algorithms)) => {
                cache.keys = Some(keys);
                cache.algorithms = algorithms;
                Ok(())
            }
            Err(message) => {
                tracing::warn!(issuer = %self.config.issuer, error = %message, "fetching signing keys failed");
                Err(AuthError::KeysUnavailable {
                    issuer: self.config.issuer.clone(),
                    message,
                })
            }
        }
    }

    async fn fetch(&self) -> Result<(JwkSet, Option<Vec<String>>), String> {
        let (jwks_url, algorithms) = match &self.config.jwks_url {
            Some(url) => (url.clone(), None),
            None => {
                #[derive(Deserialize)]
                struct Discovery {
                    jwks_uri: String,
                    #[serde(default)]
                    id_token_signing_alg_values_supported: Option<Vec<String>>,
                }
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.config.authority.trim_end_matches('/')
                );
                let discovery: Discovery = get_json(&self.http, &url).await?;
                (
                    discovery.jwks_uri,
                    discovery
                        .id_token_signing_alg_values_supported
                        .filter(|a| !a.is_empty()),
                )
            }
        };
        Ok((get_json(&self.http, &jwks_url).await?, algorithms))
    }

    /// Refuses algorithms the provider does not list as its ID token algorithms (when
    /// its discovery document lists them).
    async fn check_algorithm(&self, alg: Algorithm) -> Result<(), AuthError> {
        let cache = self.cache.read().await;
        match &cache.algorithms {
            Some(list) if !list.iter().any(|a| *a == format!("{alg:?}")) => {
                Err(AuthError::Algorithm(format!(
                    "{alg:?} (the provider signs with {})",
                    list.join(", ")
                )))
            }
            _ => Ok(()),
        }
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, String> {
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("GET {url}: HTTP {}", response.status()));
    }
    response
        .json::<T>()
        .await
        .map_err(|e| format!("GET {url}: {e}"))
}

/// Picks the key for a token: by `kid` when given; without a `kid` only when the set
/// holds exactly one usable key, so a token cannot choose among several keys.
fn select_key(keys: &JwkSet, kid: Option<&str>, alg: Algorithm) -> Option<Jwk> {
    let usable = |jwk: &&Jwk| {
        jwk.common
            .key_algorithm
            .is_none_or(|ka| format!("{ka:?}") == format!("{alg:?}"))
            && !matches!(
                jwk.common.public_key_use,
                Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
            )
    };
    match kid {
        Some(kid) => keys
            .keys
            .iter()
            .filter(usable)
            .find(|jwk| jwk.common.key_id.as_deref() == Some(kid))
            .cloned(),
        None => {
            let mut candidates = keys.keys.iter().filter(usable);
            match (candidates.next(), candidates.next()) {
                (Some(only), None) => Some(only.clone()),
                _ => None,
            }
        }
    }
}

/// Extracts the token from an `Authorization` header value. Exactly one space-free
/// token after a case-sensitive `Bearer `.
pub fn bearer_token(header: Option<&str>) -> Result<&str, AuthError> {
    let header = header.ok_or(AuthError::Missing)?;
    let token = header.strip_prefix("Bearer ").ok_or(AuthError::Malformed)?;
    if token.is_empty() || token.contains(char::is_whitespace) || token.contains(',') {
        return Err(AuthError::Malformed);
    }
    Ok(token)
}

fn http_client(ca_pem: Option<&str>) -> Result<reqwest::Client, String> {
    crate::install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = ca_pem.filter(|p| !p.trim().is_empty()) {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|e| format!("invalid certificateAuthority: {e}"))?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    use super::*;

    struct Idp {
        issuer: String,
        key: EncodingKey,
        fetches: Arc<AtomicUsize>,
    }

    /// Serves discovery and a JWKS holding one ES256 key with kid `k1`.
    async fn idp() -> Idp {
        idp_with(None).await
    }

    /// As [`idp`], with `id_token_signing_alg_values_supported` in the discovery document.
    async fn idp_with(algorithms: Option<Vec<&'static str>>) -> Idp {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let key = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap();
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
        jwk.common.key_id = Some("k1".to_owned());
        let jwks = json!({ "keys": [jwk] });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        let mut discovery = json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/keys") });
        if let Some(algs) = algorithms {
            discovery["id_token_signing_alg_values_supported"] = json!(algs);
        }
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get(move || async move { axum::Json(discovery) }),
            )
            .route(
                "/keys",
                axum::routing::get(move || async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    axum::Json(jwks)
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Idp {
            issuer,
            key,
            fetches,
        }
    }

    async fn authenticator(idp: &Idp) -> Authenticator {
        let auth = Authenticator::new();
        auth.set_providers(vec![ProviderConfig {
            name: "dex".to_owned(),
            issuer: idp.issuer.clone(),
            audience: "breakglass".to_owned(),
            authority: idp.issuer.clone(),
            jwks_url: None,
            ca_pem: None,
        }])
        .await
        .unwrap();
        auth
    }

    fn now() -> i64 {
        jiff::Timestamp::now().as_second()
    }

    fn token(idp: &Idp, kid: Option<&str>, claims: serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = kid.map(str::to_owned);
        encode(&header, &claims, &idp.key).unwrap()
    }

    fn claims(idp: &Idp) -> serde_json::Value {
        json!({
            "iss": idp.issuer, "aud": "breakglass", "sub": "u1",
            "email": "alice@example.com", "groups": ["developers"],
            "exp": now() + 300, "iat": now(),
        })
    }

    #[tokio::test]
    async fn email_verified_is_read_and_anything_but_true_is_unverified() {
        let idp = idp().await;
        let auth = authenticator(&idp).await;
        let cases = [
            (json!(true), Some(true)),
            (json!("true"), Some(true)),
            (json!(false), Some(false)),
            (json!("false"), Some(false)),
            (json!("yes"), Some(false)),
            (json!(null), None),
        ];
        for (value, want) in cases {
            let mut c = claims(&idp);
            c["email_verified"] = value.clone();
            let id = auth
                .verify(&token(&idp, Some("k1"), c), now())
                .await
                .unwrap();
            assert_eq!(id.email_verified, want, "email_verified {value}");
        }
        let id = auth
            .verify(&token(&idp, Some("k1"), claims(&idp)), now())
            .await
            .unwrap();
        assert_eq!(id.email_verified, None, "absent claim");
    }

    #[tokio::test]
    async fn valid_token_yields_identity() {
        let idp = idp().await;
        let auth = authenticator(&idp).await;
        let jwt = token(&idp, Some("k1"), claims(&idp));
        let id = auth
            .authenticate(Some(&format!("Bearer {jwt}")))
            .await
            .unwrap();
        assert_eq!(id.subject, "u1");
        assert_eq!(id.email.as_deref(), Some("alice@example.com"));
        assert_eq!(id.groups, vec!["developers"]);
        assert!(id.has_groups_claim);
        assert_eq!(id.provider, "dex");
        // A token without kid is accepted while the key set holds one key.
        let jwt = token(&idp, None, claims(&idp));
        assert!(auth.verify(&jwt, now()).await.is_ok());
        assert_eq!(idp.fetches.load(Ordering::SeqCst), 1, "keys are cached");
    }

    #[tokio::test]
    async fn invalid_tokens_are_rejected() {
        let idp = idp().await;
        let auth = authenticator(&idp).await;
        let mut cases: Vec<(&str, serde_json::Value)> = Vec::new();
        let mut c = claims(&idp);
        c["exp"] = json!(now() - 1);
        cases.push(("expired one second ago", c));
        let mut c = claims(&idp);
        c["aud"] = json!("someone-else");
        cases.push(("wrong audience", c));
        let mut c = claims(&idp);
        c.as_object_mut().unwrap().remove("aud");
        cases.push(("missing audience", c));
        let mut c = claims(&idp);
        c.as_object_mut().unwrap().remove("exp");
        cases.push(("missing exp", c));
        let mut c = claims(&idp);
        c["nbf"] = json!(now() + 3600);
        cases.push(("future nbf", c));
        let mut c = claims(&idp);
        c["iat"] = json!(now() + 3600);
        cases.push(("future iat", c));
        let mut c = claims(&idp);
        c["iss"] = json!("https://elsewhere.example.com");
        cases.push(("unknown issuer", c));
        for (name, claims) in cases {
            let jwt = token(&idp, Some("k1"), claims);
            assert!(
                auth.verify(&jwt, now()).await.is_err(),
                "{name} must be rejected"
            );
        }
    }

    #[tokio::test]
    async fn critical_header_extensions_are_rejected() {
        let idp = idp().await;
        let auth = authenticator(&idp).await;
        for crit in [vec!["exp"], vec!["b64"], vec![]] {
            let mut header = Header::new(Algorithm::ES256);
            header.kid = Some("k1".to_owned());
            header.crit = Some(crit.iter().map(|c| (*c).to_owned()).collect());
            let jwt = encode(&header, &claims(&idp), &idp.key).unwrap();
            let err = auth.verify(&jwt, now()).await.unwrap_err();
            assert!(
                matches!(&err, AuthError::InvalidToken(m) if m.contains("critical header")),
                "crit {crit:?}: {err}"
            );
        }
        // The same token without `crit` is fine.
        let jwt = token(&idp, Some("k1"), claims(&idp));
        assert!(auth.verify(&jwt, now()).await.is_ok());
    }

    #[tokio::test]
    async fn unknown_kid_refetches_once_then_fails() {
        let idp = idp().await;
        let auth = authenticator(&idp).await;
        let jwt = token(&idp, Some("rotated"), claims(&idp));
        assert_eq!(auth.verify(&jwt, now()).await, Err(AuthError::UnknownKey));
        assert_eq!(auth.verify(&jwt, now()).await, Err(AuthError::UnknownKey));
        assert_eq!(
            idp.fetches.load(Ordering::SeqCst),
            1,
            "a second unknown kid within the refetch interval must not hit the provider"
        );
    }

    #[tokio::test]
    async fn symmetric_and_unsigned_tokens_are_rejected() {
        let idp = idp().await;
        let auth = authenticator(&idp).await;
        let hs = encode(
            &Header::new(Algorithm::HS256),
            &claims(&idp),
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        assert!(matches!(
            auth.verify(&hs, now()).await,
            Err(AuthError::Algorithm(_))
        ));
        assert!(matches!(
            auth.verify("not-a-jwt", now()).await,
            Err(AuthError::InvalidToken(_))
        ));
        // Signature of another key.
        let jwt = token(&idp, Some("k1"), claims(&idp));
        let (head, _) = jwt.rsplit_once('.').unwrap();
        let forged = format!("{head}.AAAA");
        assert!(auth.verify(&forged, now()).await.is_err());
    }

    #[tokio::test]
    async fn only_algorithms_the_provider_lists_are_accepted() {
        let idp = idp_with(Some(vec!["RS256"])).await;
        let auth = authenticator(&idp).await;
        let jwt = token(&idp, Some("k1"), claims(&idp));
        assert!(matches!(
            auth.verify(&jwt, now()).await,
            Err(AuthError::Algorithm(_))
        ));
        let idp = idp_with(Some(vec!["RS256", "ES256"])).await;
        let auth = authenticator(&idp).await;
        let jwt = token(&idp, Some("k1"), claims(&idp));
        assert!(auth.verify(&jwt, now()).await.is_ok());
    }

    #[test]
    fn authorization_header_must_be_exactly_bearer() {
        assert_eq!(bearer_token(None), Err(AuthError::Missing));
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "bearer x",
            "BEARER x",
            "Basic x",
            "BearerToken",
            "Bearer a b",
            "Bearer a,Bearer b",
            "NotBearer x",
        ] {
            assert_eq!(
                bearer_token(Some(bad)),
                Err(AuthError::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(bearer_token(Some("Bearer abc.def.ghi")), Ok("abc.def.ghi"));
    }
}
