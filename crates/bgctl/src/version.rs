//! `bgctl version`: the client's version and, when a server is configured, the server's
//! (`/api/debug/buildinfo`, no login needed).

use anyhow::Context as _;
use breakglass_client::rest::public::BuildInfo;
use serde::Serialize;

use crate::Global;
use crate::output::Format;

/// Arguments of this command.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only the client's version; do not ask the server.
    #[arg(long)]
    client: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Versions {
    client_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_version: Option<BuildInfo>,
}

/// Runs the command; returns the exit code.
pub async fn run(global: &Global, args: &Args) -> anyhow::Result<u8> {
    let mut v = Versions {
        client_version: env!("CARGO_PKG_VERSION").to_owned(),
        server_version: None,
    };
    let server = if args.client { None } else { server(global)? };
    if let Some((url, options)) = &server {
        let client = breakglass_client::Client::new(url, None, options)?;
        let no_query: [(&str, &str); 0] = [];
        let info: BuildInfo = client
            .get("api/debug/buildinfo", &no_query)
            .await
            .with_context(|| format!("asking {url} for its version"))?;
        v.server_version = Some(info);
    }
    match global.output.unwrap_or(Format::Table) {
        Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
        Format::Yaml => print!("{}", serde_saphyr::to_string(&v)?),
        Format::Table | Format::Wide => {
            println!("Client Version: {}", v.client_version);
            if let Some(s) = &v.server_version {
                println!("Server Version: {} (built {})", s.version, s.build_date);
            }
        }
    }
    Ok(0)
}

/// The server to ask: `--server`, else the selected context's (none: client only).
fn server(global: &Global) -> anyhow::Result<Option<(String, breakglass_client::Options)>> {
    if let Some(s) = &global.server {
        return Ok(Some((s.clone(), breakglass_client::Options::default())));
    }
    let sel = crate::context::select(global)?;
    let Some(ctx) = &sel.context else {
        return Ok(None);
    };
    let options = crate::context::options(&sel.config, Some(ctx))?;
    Ok(Some((ctx.server.clone(), options)))
}
