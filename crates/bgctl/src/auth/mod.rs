//! `bgctl auth login|status|logout`: logging in against the identity provider of the
//! selected context, or the one its server advertises (`/api/config/idps`).

pub mod cache;
mod flows;
pub mod oidc;

use std::io::Read as _;

use anyhow::Context as _;
use breakglass_client::rest::public::{IdpList, IdpView};
use clap::Subcommand;
use serde::Serialize;

use crate::Global;
use crate::config::{self, Context, DEFAULT_SCOPES, GrantType, OidcProvider};
use crate::context::{self, Selected};
use crate::output::Format;

/// Arguments of this command.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Log in to the selected context (browser, device code, or automation flows).
    Login(LoginArgs),
    /// Show who is logged in to the selected context and until when.
    Status,
    /// Forget the selected context's cached login.
    Logout,
}

#[derive(Debug, clap::Args)]
struct LoginArgs {
    /// Identity provider the server advertises, by name (needed when it advertises
    /// several; replaces the one chosen at an earlier login).
    #[arg(long)]
    provider: Option<String>,
    /// Device-code flow: print a URL and a code to enter in any browser.
    #[arg(long, conflicts_with_all = ["client_credentials", "username"])]
    device_code: bool,
    /// Client-credentials flow (needs the provider's client secret).
    #[arg(long, conflicts_with = "username")]
    client_credentials: bool,
    /// Password flow for automation: this user, the password from BGCTL_PASSWORD or
    /// (with --password-stdin) standard input.
    #[arg(long)]
    username: Option<String>,
    /// Read the password of --username from standard input.
    #[arg(long, requires = "username")]
    password_stdin: bool,
    /// Do not open a browser; only print the URL.
    #[arg(long, env = "BGCTL_NO_BROWSER")]
    no_browser: bool,
    /// Host of the loopback redirect: 127.0.0.1 (default) or localhost (for providers
    /// that accept only that name, such as Dex before 2.42).
    #[arg(long, value_parser = ["127.0.0.1", "localhost"])]
    callback_host: Option<String>,
}

/// Runs the command; returns the exit code.
pub async fn run(global: &Global, args: &Args) -> anyhow::Result<u8> {
    let sel = context::select(global)?;
    match &args.command {
        Cmd::Login(a) => login(global, &sel, a).await,
        Cmd::Status => status(global, &sel),
        Cmd::Logout => logout(global, &sel),
    }
}

async fn login(global: &Global, sel: &Selected, args: &LoginArgs) -> anyhow::Result<u8> {
    let ctx = context::target(global, sel)?.clone();
    let named = ctx.oidc_provider.is_some();
    anyhow::ensure!(
        !(named && args.provider.is_some()),
        "--provider: context {:?} logs in with oidc-provider {:?} from the config",
        ctx.name,
        ctx.oidc_provider.as_deref().unwrap_or_default()
    );
    let (key, mut provider) = match sel.config.provider_of(&ctx)? {
        Some(found) if args.provider.is_none() => found,
        _ => {
            let mut p = advertised(sel, &ctx, args).await?;
            p.callback_host.clone_from(&args.callback_host);
            // Kept in the context, so refreshes and `auth status` need no server call.
            let mut config = sel.config.clone();
            if let Some(c) = config.contexts.iter_mut().find(|c| c.name == ctx.name) {
                c.oidc = Some(p.clone());
            }
            config.validate()?;
            config::save(&sel.config_path, &config)?;
            (format!("context:{}", ctx.name), p)
        }
    };
    if let Some(h) = &args.callback_host {
        provider.callback_host = Some(h.clone());
    }
    let grant = if args.device_code {
        GrantType::DeviceCode
    } else if args.client_credentials {
        GrantType::ClientCredentials
    } else if args.username.is_some() {
        GrantType::Password
    } else {
        provider.grant()
    };
    let http = oidc::http_client(&provider)?;
    let disc = oidc::discover(&http, &provider.authority).await?;
    let browser = flows::Browser {
        open: !(args.no_browser || global.non_interactive),
    };
    let resp = match grant {
        GrantType::AuthorizationCode => {
            flows::authorization_code(&provider, &disc, &http, browser).await?
        }
        GrantType::DeviceCode => flows::device_code(&provider, &disc, &http, browser).await?,
        GrantType::ClientCredentials => flows::client_credentials(&provider, &disc, &http).await?,
        GrantType::Password => {
            let user = args
                .username
                .as_deref()
                .ok_or_else(|| anyhow::anyhow!("--username is required for the password grant"))?;
            let password = read_password(args.password_stdin)?;
            flows::password(&provider, &disc, &http, user, &password).await?
        }
    };
    let tokens = oidc::to_cached(&provider, resp, None);
    let path = sel.tokens_path();
    let mut cache = cache::load(&path)?;
    cache.tokens.insert(key, tokens.clone());
    cache::save(&path, &cache)?;
    let view = StatusView::of(&ctx, &provider, &tokens);
    println!(
        "Logged in to context {:?} as {} (issuer {}){}",
        ctx.name,
        view.user.as_deref().unwrap_or("?"),
        view.issuer.as_deref().unwrap_or("?"),
        view.expiry
            .map(|e| format!(", valid until {e}"))
            .unwrap_or_default()
    );
    Ok(0)
}

fn read_password(stdin: bool) -> anyhow::Result<String> {
    if stdin {
        let mut s = String::new();
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut s)
            .context("reading the password from standard input")?;
        let s = s.trim_end_matches(['\r', '\n']).to_owned();
        anyhow::ensure!(!s.is_empty(), "--password-stdin: standard input is empty");
        return Ok(s);
    }
    std::env::var("BGCTL_PASSWORD").map_err(|_| {
        anyhow::anyhow!("--username needs the password in BGCTL_PASSWORD or --password-stdin")
    })
}

/// The provider the context's server advertises, as an inline provider.
async fn advertised(
    sel: &Selected,
    ctx: &Context,
    args: &LoginArgs,
) -> anyhow::Result<OidcProvider> {
    let options = context::options(&sel.config, Some(ctx))?;
    let client = breakglass_client::Client::new(&ctx.server, None, &options)?;
    let no_query: [(&str, &str); 0] = [];
    let list: IdpList = client
        .get("api/config/idps", &no_query)
        .await
        .with_context(|| format!("asking {} for its identity providers", ctx.server))?;
    let idp = pick(&list.identity_providers, args.provider.as_deref())?;
    Ok(from_advertisement(idp, &list.user_identifier_claim, ctx))
}

/// The enabled provider named `wanted`, or the only enabled one.
fn pick<'a>(idps: &'a [IdpView], wanted: Option<&str>) -> anyhow::Result<&'a IdpView> {
    let enabled: Vec<&IdpView> = idps.iter().filter(|i| i.enabled).collect();
    let names = || {
        enabled
            .iter()
            .filter_map(|i| i.name.as_deref())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted {
        Some(w) => enabled
            .iter()
            .find(|i| i.name.as_deref() == Some(w))
            .copied()
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--provider: the server advertises no enabled provider {w:?} (it has: {})",
                    names()
                )
            }),
        None => match enabled.as_slice() {
            [only] => Ok(only),
            [] => anyhow::bail!("the server advertises no enabled identity provider"),
            _ => anyhow::bail!(
                "the server advertises several identity providers; pick one with --provider \
                 ({})",
                names()
            ),
        },
    }
}

/// An inline provider from an advertisement: the CLI client, the default scopes plus
/// the advertised ones, and the context's CA (the organisation's CA usually signs both).
fn from_advertisement(idp: &IdpView, user_claim: &str, ctx: &Context) -> OidcProvider {
    let mut scopes: Vec<String> = DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    for s in &idp.cli_scopes {
        if !scopes.contains(s) {
            scopes.push(s.clone());
        }
    }
    let client_id = if idp.cli_client_id.is_empty() {
        idp.oidc_client_id.clone()
    } else {
        idp.cli_client_id.clone()
    };
    OidcProvider {
        name: String::new(),
        authority: idp.oidc_authority.clone(),
        client_id,
        scopes,
        ca_file: ctx.ca_file.clone(),
        user_claim: (!user_claim.is_empty()).then(|| user_claim.to_owned()),
        ..OidcProvider::default()
    }
}

/// What `auth status` shows.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusView {
    context: String,
    server: String,
    issuer: Option<String>,
    user: Option<String>,
    groups: Vec<String>,
    expiry: Option<jiff::Timestamp>,
    expired: bool,
    refreshable: bool,
}

impl StatusView {
    fn of(ctx: &Context, provider: &OidcProvider, t: &cache::CachedTokens) -> Self {
        let claims = t.claims().unwrap_or_default();
        let text = |k: &str| claims.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        let claim = provider.user_claim.as_deref().unwrap_or("email");
        let user = text(claim)
            .or_else(|| text("email"))
            .or_else(|| text("preferred_username"))
            .or_else(|| text("sub"));
        let groups = claims
            .get("groups")
            .and_then(|g| g.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let (_, expiry) = t.bearer(provider.token.unwrap_or_default());
        Self {
            context: ctx.name.clone(),
            server: ctx.server.clone(),
            issuer: text("iss").or_else(|| Some(t.authority.clone())),
            user,
            groups,
            expiry,
            expired: expiry.is_some_and(|e| e <= jiff::Timestamp::now()),
            refreshable: t.refresh_token.is_some(),
        }
    }
}

fn status(global: &Global, sel: &Selected) -> anyhow::Result<u8> {
    let ctx = context::target(global, sel)?;
    let (key, provider) = context::provider(sel, ctx)?;
    let cache = cache::load(&sel.tokens_path())?;
    let tokens = cache
        .tokens
        .get(&key)
        .filter(|t| t.matches(&provider))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "not logged in to context {:?}: run `bgctl auth login`",
                ctx.name
            )
        })?;
    let v = StatusView::of(ctx, &provider, tokens);
    match global.output.unwrap_or(Format::Table) {
        Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
        Format::Yaml => print!("{}", serde_saphyr::to_string(&v)?),
        Format::Table | Format::Wide => {
            let none = || "-".to_owned();
            println!("Context:  {}", v.context);
            println!("Server:   {}", v.server);
            println!("Issuer:   {}", v.issuer.clone().unwrap_or_else(none));
            println!("User:     {}", v.user.clone().unwrap_or_else(none));
            if !v.groups.is_empty() {
                println!("Groups:   {}", v.groups.join(", "));
            }
            let expiry = match v.expiry {
                Some(e) if v.expired && v.refreshable => {
                    format!("{e} (expired; refreshed on next use)")
                }
                Some(e) if v.expired => format!("{e} (expired; run `bgctl auth login`)"),
                Some(e) => e.to_string(),
                None => "unknown".to_owned(),
            };
            println!("Expires:  {expiry}");
        }
    }
    Ok(0)
}

fn logout(global: &Global, sel: &Selected) -> anyhow::Result<u8> {
    let ctx = context::target(global, sel)?;
    let key = match sel.config.provider_of(ctx)? {
        Some((key, _)) => key,
        None => format!("context:{}", ctx.name),
    };
    let path = sel.tokens_path();
    let mut cache = cache::load(&path)?;
    if cache.tokens.remove(&key).is_some() {
        cache::save(&path, &cache)?;
        println!("Logged out of context {:?}", ctx.name);
    } else {
        println!("Not logged in to context {:?}", ctx.name);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idp(name: &str, enabled: bool) -> IdpView {
        IdpView {
            name: Some(name.to_owned()),
            enabled,
            oidc_authority: format!("https://{name}.example"),
            oidc_client_id: "ui".to_owned(),
            ..IdpView::default()
        }
    }

    #[test]
    fn the_only_enabled_provider_is_picked_else_the_named_one() {
        let list = [idp("a", true), idp("b", false)];
        assert_eq!(pick(&list, None).unwrap().name.as_deref(), Some("a"));
        let e = pick(&list, Some("b")).unwrap_err().to_string();
        assert!(e.contains("--provider") && e.contains("\"b\""), "{e}");
        let two = [idp("a", true), idp("c", true)];
        let e = pick(&two, None).unwrap_err().to_string();
        assert!(e.contains("--provider") && e.contains("a, c"), "{e}");
        assert_eq!(pick(&two, Some("c")).unwrap().name.as_deref(), Some("c"));
        assert!(pick(&[], None).is_err());
    }

    #[test]
    fn advertisement_becomes_a_provider_with_the_cli_client_and_scopes() {
        let ctx = Context {
            name: "x".into(),
            server: "https://bg.example".into(),
            ca_file: Some("/ca.pem".into()),
            ..Context::default()
        };
        let mut i = idp("dex", true);
        i.cli_client_id = "cli".into();
        i.cli_scopes = vec!["groups".into(), "openid".into()];
        let p = from_advertisement(&i, "preferred_username", &ctx);
        assert_eq!(p.client_id, "cli");
        assert_eq!(
            p.scopes,
            ["openid", "email", "profile", "offline_access", "groups"]
        );
        assert_eq!(p.ca_file.as_deref(), Some(std::path::Path::new("/ca.pem")));
        assert_eq!(p.user_claim.as_deref(), Some("preferred_username"));
        // A server that advertises no CLI client: the UI's client is used.
        let p = from_advertisement(&idp("dex", true), "", &ctx);
        assert_eq!(p.client_id, "ui");
        assert_eq!(p.user_claim, None);
    }
}
