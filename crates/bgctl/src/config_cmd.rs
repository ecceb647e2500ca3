//! `bgctl config`: contexts, OIDC providers and settings in the config file.
//!
//! Every change is validated as a whole before it is written, so the file on disk is
//! always one `bgctl` can read.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;

use crate::Global;
use crate::config::{
    self, Config, Context, GrantType, OidcProvider, OutputFormat, TokenStorage, check_server_url,
};
use crate::output::{Format, Printer, Table};

/// Arguments of this command.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Create a config file with one context, named by --context (default `default`);
    /// refuses to overwrite without --force.
    Init(InitArgs),
    /// Print the config (client secrets redacted).
    View,
    /// List the contexts.
    GetContexts,
    /// Print the current context's name.
    CurrentContext,
    /// Switch to a context; with --server or login flags, create or change it first.
    #[command(visible_aliases = ["use", "use-context"])]
    SetContext(SetContextArgs),
    /// Add a context (refuses an existing name).
    AddContext(SetContextArgs),
    /// Remove a context and its cached login.
    DeleteContext {
        /// Context name.
        name: String,
    },
    /// Set a setting: output-format, color, page-size, timeout, token-storage or
    /// current-context.
    Set {
        /// Setting name (`settings.` prefix optional).
        key: String,
        /// New value.
        value: String,
    },
    /// Add or replace a named OIDC provider.
    AddOidcProvider(ProviderArgs),
    /// List the OIDC providers.
    GetOidcProviders,
    /// Remove an OIDC provider no context uses.
    DeleteOidcProvider {
        /// Provider name.
        name: String,
    },
}

#[derive(Debug, clap::Args)]
struct InitArgs {
    #[command(flatten)]
    ctx: ContextFlags,
    /// Replace an existing config file.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, clap::Args)]
struct SetContextArgs {
    /// Context name.
    name: String,
    #[command(flatten)]
    ctx: ContextFlags,
}

/// Flags that define a context. The server URL comes from the global `--server`.
#[derive(Debug, Clone, Default, clap::Args)]
struct ContextFlags {
    /// Named OIDC provider (`config add-oidc-provider`) to log in with; without one,
    /// `auth login` uses the provider the server advertises.
    #[arg(long)]
    oidc_provider: Option<String>,
    /// Issuer URL of an inline OIDC provider (with --oidc-client-id).
    #[arg(long, requires = "oidc_client_id")]
    oidc_authority: Option<String>,
    /// Client ID of an inline OIDC provider (with --oidc-authority).
    #[arg(long, requires = "oidc_authority")]
    oidc_client_id: Option<String>,
    /// PEM CA bundle trusted for the server (and the provider it advertises).
    #[arg(long)]
    ca_file: Option<PathBuf>,
}

impl ContextFlags {
    fn is_empty(&self) -> bool {
        self.oidc_provider.is_none() && self.oidc_authority.is_none() && self.ca_file.is_none()
    }

    /// Applies the flags (and the global `--server`) to `ctx`.
    fn apply(&self, server: Option<&str>, ctx: &mut Context) -> anyhow::Result<()> {
        if let Some(s) = server {
            check_server_url(s).map_err(|e| anyhow::anyhow!("--server: {e}"))?;
            s.clone_into(&mut ctx.server);
        }
        if let Some(p) = &self.oidc_provider {
            ctx.oidc_provider = Some(p.clone());
            ctx.oidc = None;
        }
        if let (Some(a), Some(c)) = (&self.oidc_authority, &self.oidc_client_id) {
            anyhow::ensure!(
                self.oidc_provider.is_none(),
                "--oidc-provider and --oidc-authority exclude each other"
            );
            check_server_url(a).map_err(|e| anyhow::anyhow!("--oidc-authority: {e}"))?;
            ctx.oidc = Some(OidcProvider {
                authority: a.clone(),
                client_id: c.clone(),
                ..OidcProvider::default()
            });
            ctx.oidc_provider = None;
        }
        if let Some(ca) = &self.ca_file {
            anyhow::ensure!(ca.is_file(), "--ca-file: {} is not a file", ca.display());
            ctx.ca_file = Some(absolute(ca)?);
        }
        Ok(())
    }
}

#[derive(Debug, clap::Args)]
struct ProviderArgs {
    /// Provider name.
    name: String,
    /// Issuer URL.
    #[arg(long)]
    authority: String,
    /// OAuth client ID.
    #[arg(long)]
    client_id: String,
    /// Client secret (stored in the file; prefer --client-secret-env or -file).
    #[arg(long, conflicts_with_all = ["client_secret_env", "client_secret_file"])]
    client_secret: Option<String>,
    /// Environment variable holding the client secret.
    #[arg(long, conflicts_with = "client_secret_file")]
    client_secret_env: Option<String>,
    /// File holding the client secret.
    #[arg(long)]
    client_secret_file: Option<PathBuf>,
    /// Login flow.
    #[arg(long, value_enum)]
    grant_type: Option<GrantType>,
    /// PEM CA bundle trusted for the provider.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Scopes, comma-separated (default `openid,email,profile,offline_access`).
    #[arg(long, value_delimiter = ',')]
    scopes: Vec<String>,
    /// Host of the loopback redirect: 127.0.0.1 (default) or localhost.
    #[arg(long, value_parser = ["127.0.0.1", "localhost"])]
    callback_host: Option<String>,
    /// Extra authorization-URL parameter `KEY=VALUE` (repeatable).
    #[arg(long = "extra-auth-param", value_parser = parse_key_value)]
    extra_auth_params: Vec<(String, String)>,
    /// Token claim naming the user (default `email`).
    #[arg(long)]
    user_claim: Option<String>,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

fn absolute(p: &std::path::Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("resolving {}", p.display()))
}

/// Runs the command; returns the exit code.
pub async fn run(global: &Global, args: &Args) -> anyhow::Result<u8> {
    let path = config::path(global.config.as_deref())?;
    let mut out = std::io::stdout().lock();
    run_on(global, &args.command, &path, &mut out)
}

fn run_on(
    global: &Global,
    cmd: &Cmd,
    path: &std::path::Path,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<u8> {
    if let Cmd::Init(a) = cmd {
        anyhow::ensure!(
            a.force || !path.exists(),
            "{} exists; pass --force to replace it",
            path.display()
        );
        let server = global
            .server
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("--server is required for config init"))?;
        let name = global
            .context
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let mut ctx = Context {
            name: name.clone(),
            ..Context::default()
        };
        a.ctx.apply(Some(server), &mut ctx)?;
        let mut c = Config::default_v1();
        c.current_context = Some(ctx.name.clone());
        c.contexts.push(ctx);
        write(path, &c)?;
        writeln!(out, "Wrote {} with context {name:?}", path.display())?;
        return Ok(0);
    }
    let mut c = config::load(path)?;
    match cmd {
        Cmd::Init(_) => Ok(0),
        Cmd::View => {
            let r = c.redacted();
            match global.output.unwrap_or(Format::Yaml) {
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&r)?)?,
                _ => write!(out, "{}", serde_saphyr::to_string(&r)?)?,
            }
            Ok(0)
        }
        Cmd::GetContexts => {
            print_contexts(&c, global, out)?;
            Ok(0)
        }
        Cmd::CurrentContext => match &c.current_context {
            Some(n) => {
                writeln!(out, "{n}")?;
                Ok(0)
            }
            None => anyhow::bail!("no current context; set one with `bgctl config use NAME`"),
        },
        Cmd::SetContext(a) => set_context(global, &mut c, a, false, path, out),
        Cmd::AddContext(a) => set_context(global, &mut c, a, true, path, out),
        Cmd::DeleteContext { name } => {
            let before = c.contexts.len();
            c.contexts.retain(|x| &x.name != name);
            anyhow::ensure!(c.contexts.len() < before, "context {name:?} does not exist");
            if c.current_context.as_deref() == Some(name.as_str()) {
                c.current_context = None;
            }
            write(path, &c)?;
            // A deleted context's inline login must not linger in the token cache.
            let tokens = config::tokens_path(path);
            let mut cache = crate::auth::cache::load(&tokens)?;
            if cache.tokens.remove(&format!("context:{name}")).is_some() {
                crate::auth::cache::save(&tokens, &cache)?;
            }
            writeln!(out, "Deleted context {name:?}")?;
            Ok(0)
        }
        Cmd::Set { key, value } => {
            set(&mut c, key, value)?;
            write(path, &c)?;
            writeln!(out, "Set {key} to {value}")?;
            Ok(0)
        }
        Cmd::AddOidcProvider(a) => add_provider(&mut c, a, path, out),
        Cmd::GetOidcProviders => {
            print_providers(&c, global, out)?;
            Ok(0)
        }
        Cmd::DeleteOidcProvider { name } => {
            let users: Vec<&str> = c
                .contexts
                .iter()
                .filter(|x| x.oidc_provider.as_deref() == Some(name.as_str()))
                .map(|x| x.name.as_str())
                .collect();
            anyhow::ensure!(
                users.is_empty(),
                "OIDC provider {name:?} is used by context(s) {}",
                users.join(", ")
            );
            let before = c.oidc_providers.len();
            c.oidc_providers.retain(|p| &p.name != name);
            anyhow::ensure!(
                c.oidc_providers.len() < before,
                "OIDC provider {name:?} does not exist"
            );
            write(path, &c)?;
            let tokens = config::tokens_path(path);
            let mut cache = crate::auth::cache::load(&tokens)?;
            if cache.tokens.remove(name).is_some() {
                crate::auth::cache::save(&tokens, &cache)?;
            }
            writeln!(out, "Deleted OIDC provider {name:?}")?;
            Ok(0)
        }
    }
}

fn set_context(
    global: &Global,
    c: &mut Config,
    a: &SetContextArgs,
    adding: bool,
    path: &std::path::Path,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<u8> {
    let exists = c.context(&a.name).is_some();
    anyhow::ensure!(!(adding && exists), "context {:?} exists", a.name);
    let defining = global.server.is_some() || !a.ctx.is_empty();
    if !exists {
        anyhow::ensure!(
            global.server.is_some(),
            "context {:?} does not exist; pass --server to create it",
            a.name
        );
        c.contexts.push(Context {
            name: a.name.clone(),
            ..Context::default()
        });
    }
    if let Some(ctx) = c.contexts.iter_mut().find(|x| x.name == a.name) {
        a.ctx.apply(global.server.as_deref(), ctx)?;
    }
    // set-context switches (the reference's `use`); add-context switches only
    // to the first context.
    if !adding || c.current_context.is_none() {
        c.current_context = Some(a.name.clone());
    }
    write(path, c)?;
    let verb = match (exists, defining) {
        (false, _) => "Created",
        (true, true) => "Updated",
        (true, false) => "Using",
    };
    writeln!(out, "{verb} context {:?}", a.name)?;
    if c.current_context.as_deref() == Some(&a.name) && verb != "Using" {
        writeln!(out, "Current context is {:?}", a.name)?;
    }
    Ok(0)
}

fn add_provider(
    c: &mut Config,
    a: &ProviderArgs,
    path: &std::path::Path,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<u8> {
    check_server_url(&a.authority).map_err(|e| anyhow::anyhow!("--authority: {e}"))?;
    let ca_file = match &a.ca_file {
        Some(ca) => {
            anyhow::ensure!(ca.is_file(), "--ca-file: {} is not a file", ca.display());
            Some(absolute(ca)?)
        }
        None => None,
    };
    let p = OidcProvider {
        name: a.name.clone(),
        authority: a.authority.clone(),
        client_id: a.client_id.clone(),
        client_secret: a.client_secret.clone(),
        client_secret_env: a.client_secret_env.clone(),
        client_secret_file: a.client_secret_file.clone(),
        grant_type: a.grant_type,
        ca_file,
        scopes: a.scopes.clone(),
        callback_host: a.callback_host.clone(),
        extra_auth_params: a.extra_auth_params.iter().cloned().collect(),
        user_claim: a.user_claim.clone(),
        ..OidcProvider::default()
    };
    let replaced = if let Some(old) = c.oidc_providers.iter_mut().find(|x| x.name == a.name) {
        *old = p;
        true
    } else {
        c.oidc_providers.push(p);
        false
    };
    write(path, c)?;
    let verb = if replaced { "Replaced" } else { "Added" };
    writeln!(out, "{verb} OIDC provider {:?}", a.name)?;
    Ok(0)
}
fn write(path: &std::path::Path, c: &Config) -> anyhow::Result<()> {
    c.validate()?;
    config::save(path, c)
}

/// `config set KEY VALUE`.
fn set(c: &mut Config, key: &str, value: &str) -> anyhow::Result<()> {
    use clap::ValueEnum as _;
    let key = key.strip_prefix("settings.").unwrap_or(key);
    let s = &mut c.settings;
    let bad = |what: &str| anyhow::anyhow!("{key}: {value:?} is not {what}");
    match key {
        "output-format" => {
            s.output_format = Some(
                OutputFormat::from_str(value, true)
                    .map_err(|_| bad("table, wide, json or yaml"))?,
            );
        }
        "color" => {
            s.color = Some(
                config::Color::from_str(value, true).map_err(|_| bad("auto, always or never"))?,
            );
        }
        "page-size" => {
            s.page_size = Some(value.parse().map_err(|_| bad("a number"))?);
        }
        "timeout" => {
            config::parse_duration(value).map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
            s.timeout = Some(value.to_owned());
        }
        "token-storage" => {
            s.token_storage =
                Some(TokenStorage::from_str(value, true).map_err(|_| bad("file or keychain"))?);
        }
        "current-context" => {
            anyhow::ensure!(
                c.context(value).is_some(),
                "current-context: context {value:?} does not exist"
            );
            c.current_context = Some(value.to_owned());
        }
        _ => anyhow::bail!(
            "unknown setting {key:?}; one of output-format, color, page-size, timeout, \
             token-storage, current-context"
        ),
    }
    Ok(())
}

/// The printer of `config` listings: `-o` wins, then the config file's output format.
fn printer(c: &Config, global: &Global) -> Printer {
    let mut printer = Printer::new(global);
    printer.format = global
        .output
        .or(c.settings.output_format.map(Format::from))
        .unwrap_or(Format::Table);
    printer
}

fn print_contexts(c: &Config, global: &Global, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let mut table = Table::new(&["CURRENT", "NAME", "SERVER", "OIDC-PROVIDER"]);
    for x in &c.contexts {
        let current = if c.current_context.as_deref() == Some(x.name.as_str()) {
            "*"
        } else {
            ""
        };
        let provider = match (&x.oidc_provider, &x.oidc) {
            (Some(n), _) => n.clone(),
            (None, Some(p)) => p.authority.clone(),
            (None, None) => "(from server)".to_owned(),
        };
        table.row(vec![
            current.to_owned(),
            x.name.clone(),
            x.server.clone(),
            provider,
        ]);
    }
    printer(c, global).print(out, &c.redacted().contexts, |_| table)
}

/// The kebab-case name of a grant, as the file and `--grant-type` spell it.
pub fn grant_name(g: GrantType) -> String {
    use clap::ValueEnum as _;
    g.to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

fn print_providers(
    c: &Config,
    global: &Global,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let mut table = Table::new(&["NAME", "AUTHORITY", "CLIENT-ID", "GRANT-TYPE"]);
    for p in &c.oidc_providers {
        table.row(vec![
            p.name.clone(),
            p.authority.clone(),
            p.client_id.clone(),
            grant_name(p.grant()),
        ]);
    }
    printer(c, global).print(out, &c.redacted().oidc_providers, |_| table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    struct Run {
        code: Result<u8, String>,
        out: String,
    }

    fn run(path: &std::path::Path, argv: &[&str]) -> Run {
        let mut full = vec!["bgctl", "--config", path.to_str().unwrap()];
        full.extend_from_slice(argv);
        let cli = crate::Cli::try_parse_from(full).unwrap();
        let crate::Command::Config(a) = &cli.command else {
            panic!("not a config command")
        };
        let mut out = Vec::new();
        let code = run_on(&cli.global, &a.command, path, &mut out).map_err(|e| format!("{e:#}"));
        Run {
            code,
            out: String::from_utf8(out).unwrap(),
        }
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("bgctl-cfg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("config.yaml")
    }

    #[test]
    fn contexts_are_created_switched_listed_and_deleted() {
        let p = temp("contexts");
        let r = run(&p, &["config", "set-context", "prod"]);
        assert!(r.code.unwrap_err().contains("--server"));
        assert_eq!(
            run(
                &p,
                &[
                    "--server",
                    "https://bg.example",
                    "config",
                    "set-context",
                    "prod"
                ]
            )
            .code,
            Ok(0)
        );
        assert_eq!(
            run(
                &p,
                &[
                    "--server",
                    "http://127.0.0.1:8080",
                    "config",
                    "add-context",
                    "dev"
                ]
            )
            .code,
            Ok(0)
        );
        // add-context does not switch away from an existing current context.
        assert_eq!(run(&p, &["config", "current-context"]).out, "prod\n");
        assert_eq!(run(&p, &["config", "use", "dev"]).code, Ok(0));
        assert_eq!(run(&p, &["config", "current-context"]).out, "dev\n");
        let list = run(&p, &["config", "get-contexts"]).out;
        let dev_line = list.lines().find(|l| l.contains("dev")).unwrap();
        assert!(dev_line.starts_with('*'), "{list}");
        assert!(list.contains("https://bg.example"), "{list}");
        let json: serde_json::Value =
            serde_json::from_str(&run(&p, &["-o", "json", "config", "get-contexts"]).out).unwrap();
        assert_eq!(json[1]["server"], "http://127.0.0.1:8080");
        // add-context refuses an existing name; use refuses an unknown one.
        assert!(
            run(
                &p,
                &[
                    "--server",
                    "https://x.example",
                    "config",
                    "add-context",
                    "dev"
                ]
            )
            .code
            .unwrap_err()
            .contains("exists")
        );
        assert!(run(&p, &["config", "use", "nope"]).code.is_err());
        assert_eq!(run(&p, &["config", "delete-context", "dev"]).code, Ok(0));
        assert!(run(&p, &["config", "current-context"]).code.is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn bad_values_are_refused_with_the_field_named_and_nothing_written() {
        let p = temp("bad");
        let r = run(&p, &["--server", "ftp://x", "config", "set-context", "a"]);
        assert!(r.code.unwrap_err().contains("--server"));
        assert!(!p.exists());
        assert_eq!(
            run(&p, &["--server", "https://a.example", "config", "use", "a"]).code,
            Ok(0)
        );
        let e = run(&p, &["config", "set", "page-size", "0"])
            .code
            .unwrap_err();
        assert!(e.contains("page-size"), "{e}");
        let e = run(&p, &["config", "set", "output-format", "xml"])
            .code
            .unwrap_err();
        assert!(e.contains("output-format"), "{e}");
        let e = run(&p, &["config", "set", "colour", "auto"])
            .code
            .unwrap_err();
        assert!(e.contains("unknown setting"), "{e}");
        let e = run(&p, &["config", "set", "token-storage", "keychain"])
            .code
            .unwrap_err();
        assert!(e.contains("token-storage"), "{e}");
        assert_eq!(
            run(&p, &["config", "set", "settings.timeout", "2m"]).code,
            Ok(0)
        );
        assert!(run(&p, &["config", "view"]).out.contains("timeout: 2m"));
        // A context must not name an unknown provider.
        let e = run(
            &p,
            &["config", "set-context", "a", "--oidc-provider", "ghost"],
        )
        .code
        .unwrap_err();
        assert!(e.contains("oidc-provider") && e.contains("ghost"), "{e}");
    }

    #[test]
    fn providers_are_added_used_and_protected_and_secrets_redacted() {
        let p = temp("providers");
        let add = [
            "config",
            "add-oidc-provider",
            "corp",
            "--authority",
            "https://idp.example",
            "--client-id",
            "bgctl",
            "--client-secret",
            "s3cret",
            "--grant-type",
            "device-code",
            "--scopes",
            "openid,email",
        ];
        assert_eq!(run(&p, &add).code, Ok(0));
        let view = run(&p, &["config", "view"]).out;
        assert!(
            !view.contains("s3cret") && view.contains(config::REDACTED),
            "{view}"
        );
        // The file keeps the secret (it is 0600).
        let c = config::load(&p).unwrap();
        assert_eq!(c.oidc_providers[0].client_secret.as_deref(), Some("s3cret"));
        assert_eq!(c.oidc_providers[0].grant(), GrantType::DeviceCode);
        assert_eq!(c.oidc_providers[0].scopes, ["openid", "email"]);
        let list = run(&p, &["config", "get-oidc-providers"]).out;
        assert!(
            list.contains("corp") && list.contains("device-code"),
            "{list}"
        );
        assert_eq!(
            run(
                &p,
                &[
                    "--server",
                    "https://bg.example",
                    "config",
                    "set-context",
                    "prod",
                    "--oidc-provider",
                    "corp"
                ]
            )
            .code,
            Ok(0)
        );
        let e = run(&p, &["config", "delete-oidc-provider", "corp"])
            .code
            .unwrap_err();
        assert!(e.contains("prod"), "{e}");
    }

    #[test]
    fn init_refuses_to_overwrite_without_force() {
        let p = temp("init");
        assert_eq!(
            run(&p, &["--server", "https://bg.example", "config", "init"]).code,
            Ok(0)
        );
        assert_eq!(run(&p, &["config", "current-context"]).out, "default\n");
        let e = run(&p, &["--server", "https://bg.example", "config", "init"])
            .code
            .unwrap_err();
        assert!(e.contains("--force"), "{e}");
        assert_eq!(
            run(
                &p,
                &[
                    "--server",
                    "https://b.example",
                    "config",
                    "init",
                    "--context",
                    "b",
                    "--force"
                ]
            )
            .code,
            Ok(0)
        );
        assert_eq!(run(&p, &["config", "current-context"]).out, "b\n");
    }
}
