//! Which server and which token a command uses: flags, environment, config file,
//! cached login.

use breakglass_client::Client;

use crate::Global;

/// A client for the selected server with the selected credentials.
///
/// Today: `--server` and `--token` only (contexts and cached logins are being built).
#[allow(dead_code)] // Until the first command that talks to the server lands.
pub async fn connect(global: &Global) -> anyhow::Result<Client> {
    let Some(server) = &global.server else {
        anyhow::bail!("no server: pass --server or set BGCTL_SERVER");
    };
    Ok(Client::new(
        server,
        global.token.clone(),
        &breakglass_client::Options::default(),
    )?)
}
