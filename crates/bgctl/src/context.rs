//! Which server and which token a command uses: flags, environment, config file,
//! cached login.
//!
//! Order: `--server` with `--token` never reads the config file (scripts); otherwise the
//! context (`--context`, else the config's current context) names the server, and its
//! cached login supplies the token, refreshed when it is about to expire.

use std::path::PathBuf;

use anyhow::Context as _;
use breakglass_client::Client;

use crate::Global;
use crate::auth::cache::{self, Freshness};
use crate::config::{self, Config, Context, OidcProvider};

/// The config file and the context a command runs in.
#[derive(Debug, Clone)]
pub struct Selected {
    /// Path of the config file.
    pub config_path: PathBuf,
    /// Its content (empty when the file does not exist).
    pub config: Config,
    /// The selected context, when there is one.
    pub context: Option<Context>,
}

impl Selected {
    /// The selected context or an error that says how to get one.
    pub fn require_context(&self) -> anyhow::Result<&Context> {
        self.context.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "no context selected: create one with `bgctl --server URL config set-context NAME` \
                 (or pass --server and --token)"
            )
        })
    }

    /// The token cache file next to the config.
    pub fn tokens_path(&self) -> PathBuf {
        config::tokens_path(&self.config_path)
    }
}

/// Reads the config and selects the context (`--context`, else the current context).
pub fn select(global: &Global) -> anyhow::Result<Selected> {
    let config_path = config::path(global.config.as_deref())?;
    let config = config::load(&config_path)?;
    let context = match &global.context {
        Some(name) => Some(
            config
                .context(name)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("--context: context {name:?} does not exist"))?,
        ),
        None => config
            .current_context
            .as_deref()
            .and_then(|n| config.context(n))
            .cloned(),
    };
    Ok(Selected {
        config_path,
        config,
        context,
    })
}

/// Client options of a context (its CA, the configured timeout).
pub fn options(
    config: &Config,
    ctx: Option<&Context>,
) -> anyhow::Result<breakglass_client::Options> {
    let ca_pem = match ctx.and_then(|c| c.ca_file.as_ref()) {
        Some(p) => Some(std::fs::read(p).with_context(|| format!("ca-file {}", p.display()))?),
        None => None,
    };
    Ok(breakglass_client::Options {
        ca_pem,
        insecure_skip_tls_verify: false,
        timeout: config.settings.timeout()?,
    })
}

/// A client for the selected server with the selected credentials.
pub async fn connect(global: &Global) -> anyhow::Result<Client> {
    if let (Some(server), Some(token)) = (&global.server, &global.token) {
        return Ok(Client::new(
            server,
            Some(token.clone()),
            &breakglass_client::Options::default(),
        )?);
    }
    let sel = select(global)?;
    let ctx = target(global, &sel)?;
    let options = options(&sel.config, Some(ctx))?;
    let token = match &global.token {
        Some(t) => t.clone(),
        None => cached_token(&sel, ctx).await?,
    };
    Ok(Client::new(&ctx.server, Some(token), &options)?)
}

/// The context a command acts on: with `--server`, the context of that server (never
/// another server's login); else the selected context.
pub fn target<'a>(global: &Global, sel: &'a Selected) -> anyhow::Result<&'a Context> {
    match &global.server {
        Some(server) => sel
            .config
            .contexts
            .iter()
            .find(|c| same_server(&c.server, server))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no context for --server {server}: pass --token, or create one with \
                     `bgctl --server {server} config set-context NAME` and run `bgctl auth login`"
                )
            }),
        None => sel.require_context(),
    }
}

/// Whether two server URLs name the same server (trailing slashes aside).
fn same_server(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// The cache key and provider of a context, or the error telling the user to log in.
pub fn provider(sel: &Selected, ctx: &Context) -> anyhow::Result<(String, OidcProvider)> {
    sel.config.provider_of(ctx)?.ok_or_else(|| {
        anyhow::anyhow!(
            "not logged in to context {:?}: run `bgctl auth login`",
            ctx.name
        )
    })
}

/// The context's cached bearer token, refreshed (and saved back) when it is about to
/// expire.
pub async fn cached_token(sel: &Selected, ctx: &Context) -> anyhow::Result<String> {
    let (key, provider) = provider(sel, ctx)?;
    let path = sel.tokens_path();
    let mut cache = cache::load(&path)?;
    let login_again = || {
        anyhow::anyhow!(
            "not logged in to context {:?}: run `bgctl auth login`",
            ctx.name
        )
    };
    let entry = cache
        .tokens
        .get(&key)
        .filter(|t| t.matches(&provider))
        .cloned()
        .ok_or_else(login_again)?;
    let kind = provider.token.unwrap_or_default();
    let entry = match entry.freshness(kind, jiff::Timestamp::now()) {
        Freshness::Valid => entry,
        Freshness::Expired => anyhow::bail!(
            "the login of context {:?} expired: run `bgctl auth login`",
            ctx.name
        ),
        Freshness::Refresh => {
            let fresh = crate::auth::oidc::refresh(&provider, &entry)
                .await
                .with_context(|| {
                    format!(
                        "the login of context {:?} expired and could not be refreshed; \
                         run `bgctl auth login`",
                        ctx.name
                    )
                })?;
            cache.tokens.insert(key, fresh.clone());
            cache::save(&path, &cache)?;
            fresh
        }
    };
    Ok(entry.bearer(kind).0.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    fn jwt(claims: &serde_json::Value) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode(br#"{"alg":"RS256"}"#),
            e.encode(claims.to_string())
        )
    }

    /// A tiny OIDC provider on loopback: discovery and a token endpoint that answers
    /// every request with `token_answer`. Returns its URL and the token requests' bodies.
    async fn fake_idp(
        token_status: u16,
        token_answer: serde_json::Value,
    ) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (b, s) = (base.clone(), seen.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut c, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = c.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    let n = c.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                let (status, body) = if head.starts_with("GET /.well-known/openid-configuration") {
                    (
                        200,
                        serde_json::json!({
                            "issuer": b,
                            "authorization_endpoint": format!("{b}/auth"),
                            "token_endpoint": format!("{b}/token"),
                        }),
                    )
                } else {
                    s.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buf[head_end..]).to_string());
                    (token_status, token_answer.clone())
                };
                let body = body.to_string();
                let msg = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = c.write_all(msg.as_bytes()).await;
            }
        });
        (base, seen)
    }

    fn setup(name: &str, authority: &str, exp: i64, refresh: Option<&str>) -> Selected {
        let dir = std::env::temp_dir().join(format!("bgctl-ctx-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config_path = dir.join("config.yaml");
        let ctx = Context {
            name: "lab".into(),
            server: "http://127.0.0.1:1".into(),
            oidc: Some(OidcProvider {
                authority: authority.to_owned(),
                client_id: "cli".into(),
                ..OidcProvider::default()
            }),
            ..Context::default()
        };
        let mut config = Config::default_v1();
        config.contexts.push(ctx.clone());
        config.current_context = Some("lab".into());
        config::save(&config_path, &config).unwrap();
        let mut c = cache::TokenCache::default();
        c.tokens.insert(
            "context:lab".into(),
            cache::CachedTokens {
                authority: authority.to_owned(),
                client_id: "cli".into(),
                id_token: Some(jwt(&serde_json::json!({"exp": exp, "email": "old@x"}))),
                access_token: "a1".into(),
                refresh_token: refresh.map(str::to_owned),
                access_expiry: None,
            },
        );
        cache::save(&config::tokens_path(&config_path), &c).unwrap();
        Selected {
            config_path,
            config,
            context: Some(ctx),
        }
    }

    #[tokio::test]
    async fn an_expired_login_is_refreshed_and_saved_back() {
        let now = jiff::Timestamp::now().as_second();
        let fresh = jwt(&serde_json::json!({"exp": now + 3600, "email": "new@x"}));
        let (idp, seen) = fake_idp(
            200,
            serde_json::json!({"access_token": "a2", "id_token": fresh, "expires_in": 3600}),
        )
        .await;
        let sel = setup("refresh", &idp, now - 5, Some("r1"));
        let ctx = sel.context.clone().unwrap();
        assert_eq!(cached_token(&sel, &ctx).await.unwrap(), fresh);
        let body = seen.lock().unwrap().join("|");
        assert!(body.contains("grant_type=refresh_token"), "{body}");
        assert!(
            body.contains("refresh_token=r1") && body.contains("client_id=cli"),
            "{body}"
        );
        // Saved back: the new ID token, and the refresh token kept (not rotated).
        let saved = cache::load(&sel.tokens_path()).unwrap();
        let t = &saved.tokens["context:lab"];
        assert_eq!(t.id_token.as_deref(), Some(fresh.as_str()));
        assert_eq!(t.refresh_token.as_deref(), Some("r1"));
        // A valid login is used without asking the provider.
        assert_eq!(cached_token(&sel, &ctx).await.unwrap(), fresh);
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_refused_refresh_or_no_refresh_token_asks_for_login() {
        let now = jiff::Timestamp::now().as_second();
        let (idp, _) = fake_idp(400, serde_json::json!({"error": "invalid_grant"})).await;
        let sel = setup("refused", &idp, now - 5, Some("r1"));
        let ctx = sel.context.clone().unwrap();
        let e = format!("{:#}", cached_token(&sel, &ctx).await.unwrap_err());
        assert!(
            e.contains("auth login") && e.contains("invalid_grant"),
            "{e}"
        );
        let sel = setup("norefresh", &idp, now - 5, None);
        let e = cached_token(&sel, &ctx).await.unwrap_err().to_string();
        assert!(e.contains("expired") && e.contains("auth login"), "{e}");
    }

    #[tokio::test]
    async fn server_and_token_flags_skip_the_config_and_server_alone_needs_a_context() {
        use clap::Parser as _;
        let mut g = crate::Cli::try_parse_from([
            "bgctl",
            "--config",
            "/nonexistent/dir/config.yaml",
            "--server",
            "https://bg.example",
            "--token",
            "t",
            "version",
        ])
        .unwrap()
        .global;
        assert!(connect(&g).await.is_ok());
        g.token = None;
        let e = connect(&g).await.unwrap_err().to_string();
        assert!(e.contains("--server") && e.contains("--token"), "{e}");
        g.server = None;
        let e = connect(&g).await.unwrap_err().to_string();
        assert!(e.contains("no context"), "{e}");
    }
}
