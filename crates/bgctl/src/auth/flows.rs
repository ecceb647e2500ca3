//! The login flows: authorization code + PKCE with a loopback redirect, device code,
//! client credentials and (for automation) the password grant.

use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::oidc::{self, Discovery, TokenResponse};
use crate::config::OidcProvider;

/// How long a browser or device login may take.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(300);
/// Largest HTTP request accepted on the loopback listener.
const MAX_CALLBACK_REQUEST: usize = 16 * 1024;

/// How to show the user a URL.
#[derive(Debug, Clone, Copy)]
pub struct Browser {
    /// Open it (else only print it).
    pub open: bool,
}

impl Browser {
    /// Prints the URL, and opens it through `$BROWSER` or the system's browser.
    pub fn show(self, url: &str) {
        eprintln!("Open this URL to log in:\n  {url}");
        if !self.open {
            return;
        }
        let opened = match std::env::var("BROWSER") {
            Ok(cmd) if !cmd.trim().is_empty() => run_browser_var(&cmd, url),
            _ => webbrowser::open(url).map_err(anyhow::Error::from),
        };
        if let Err(e) = opened {
            eprintln!("(could not open a browser: {e:#}; open the URL yourself)");
        }
    }
}

/// Runs `$BROWSER` the conventional way: the first of a `:`-separated list, `%s`
/// replaced by the URL or the URL appended.
fn run_browser_var(var: &str, url: &str) -> anyhow::Result<()> {
    let first = var.split(':').next().unwrap_or(var);
    let mut words = first.split_whitespace();
    let program = words
        .next()
        .ok_or_else(|| anyhow::anyhow!("$BROWSER is empty"))?;
    let mut args: Vec<String> = words.map(str::to_owned).collect();
    if args.iter().any(|a| a.contains("%s")) {
        args.iter_mut().for_each(|a| *a = a.replace("%s", url));
    } else {
        args.push(url.to_owned());
    }
    std::process::Command::new(program)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("running $BROWSER ({program})"))?;
    Ok(())
}

/// Authorization code + PKCE (S256) with a loopback redirect on a random port.
pub async fn authorization_code(
    provider: &OidcProvider,
    disc: &Discovery,
    http: &reqwest::Client,
    browser: Browser,
) -> anyhow::Result<TokenResponse> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("opening the loopback listener for the login callback")?;
    let port = listener.local_addr()?.port();
    let host = provider.callback_host.as_deref().unwrap_or("127.0.0.1");
    anyhow::ensure!(
        matches!(host, "127.0.0.1" | "localhost"),
        "callback-host must be 127.0.0.1 or localhost, not {host:?}"
    );
    let redirect = format!("http://{host}:{port}/callback");
    let verifier = oidc::random_token(32)?;
    let state = oidc::random_token(24)?;
    let mut url = url::Url::parse(&disc.authorization_endpoint)
        .context("the provider's authorization_endpoint")?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &provider.client_id)
            .append_pair("redirect_uri", &redirect)
            .append_pair("scope", &provider.effective_scopes().join(" "))
            .append_pair("state", &state)
            .append_pair("code_challenge", &oidc::pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        for (k, v) in &provider.extra_auth_params {
            q.append_pair(k, v);
        }
    }
    browser.show(url.as_str());
    let code = tokio::time::timeout(LOGIN_TIMEOUT, wait_for_code(&listener, &state))
        .await
        .map_err(|_| anyhow::anyhow!("no login within {}s", LOGIN_TIMEOUT.as_secs()))??;
    oidc::token(
        http,
        disc,
        provider,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("code_verifier", &verifier),
        ],
    )
    .await
}

/// Serves the loopback listener until the `/callback` request arrives.
async fn wait_for_code(listener: &tokio::net::TcpListener, state: &str) -> anyhow::Result<String> {
    loop {
        let (mut conn, _) = listener.accept().await?;
        let target = match read_request_target(&mut conn).await {
            Ok(t) => t,
            Err(_) => continue, // a stray or broken connection; keep waiting
        };
        let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{target}")) else {
            respond(&mut conn, 400, "Bad request.").await;
            continue;
        };
        if url.path() != "/callback" {
            respond(&mut conn, 404, "Not found.").await;
            continue;
        }
        let get = |k: &str| {
            url.query_pairs()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.into_owned())
        };
        let outcome = callback_outcome(
            state,
            get("state"),
            get("code"),
            get("error"),
            get("error_description"),
        );
        match &outcome {
            Ok(_) => respond(&mut conn, 200, "Logged in. You can close this window.").await,
            Err(e) => respond(&mut conn, 400, &format!("Login failed: {e}")).await,
        }
        return outcome;
    }
}

/// The code of a callback, or why the login failed. A wrong `state` ends the login: it
/// may be a forged redirect (fail closed).
pub fn callback_outcome(
    sent_state: &str,
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    description: Option<String>,
) -> anyhow::Result<String> {
    if let Some(e) = error {
        anyhow::bail!(
            "the identity provider refused the login: {e}{}",
            description.map(|d| format!(": {d}")).unwrap_or_default()
        );
    }
    let state = state.unwrap_or_default();
    anyhow::ensure!(
        oidc::state_matches(sent_state, &state),
        "the login callback's state does not match this login; refusing it"
    );
    code.filter(|c| !c.is_empty())
        .ok_or_else(|| anyhow::anyhow!("the login callback carries no code"))
}

async fn read_request_target(conn: &mut tokio::net::TcpStream) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    let read = async {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut chunk).await?;
            anyhow::ensure!(n > 0, "connection closed");
            buf.extend_from_slice(&chunk[..n]);
            anyhow::ensure!(buf.len() <= MAX_CALLBACK_REQUEST, "request too large");
        }
        Ok(())
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .map_err(|_| anyhow::anyhow!("request timed out"))??;
    let text = String::from_utf8_lossy(&buf);
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    anyhow::ensure!(parts.next() == Some("GET"), "not a GET");
    parts
        .next()
        .filter(|t| t.starts_with('/'))
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no request target"))
}

async fn respond(conn: &mut tokio::net::TcpStream, status: u16, text: &str) {
    let reason = if status == 200 { "OK" } else { "Error" };
    let body = format!(
        "<!doctype html><title>bgctl</title><p>{}</p>\n",
        html_escape(text)
    );
    let msg = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.write_all(msg.as_bytes()).await;
    let _ = conn.shutdown().await;
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[derive(Debug, serde::Deserialize)]
struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    #[serde(alias = "verification_url")]
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    interval: Option<u64>,
}

/// Device code (RFC 8628): print the URL and code, poll until the user finished.
pub async fn device_code(
    provider: &OidcProvider,
    disc: &Discovery,
    http: &reqwest::Client,
    browser: Browser,
) -> anyhow::Result<TokenResponse> {
    let endpoint = disc
        .device_authorization_endpoint
        .as_deref()
        .ok_or_else(|| {
            anyhow::anyhow!(
                "the identity provider offers no device flow (no device_authorization_endpoint)"
            )
        })?;
    let scope = provider.effective_scopes().join(" ");
    let body = oidc::post_form(
        http,
        endpoint,
        provider,
        &[("client_id", &provider.client_id), ("scope", &scope)],
    )
    .await?
    .map_err(|e| anyhow::anyhow!("the identity provider refused the device login: {e}"))?;
    let auth: DeviceAuthorization =
        serde_json::from_slice(&body).context("decoding the device authorization")?;
    eprintln!(
        "To log in, open {} and enter the code {}",
        auth.verification_uri, auth.user_code
    );
    if let Some(complete) = &auth.verification_uri_complete {
        browser.show(complete);
    }
    let mut interval = auth.interval.unwrap_or(5).clamp(1, 60);
    let lifetime = auth.expires_in.unwrap_or(600).clamp(10, 1800);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(lifetime);
    let grant = "urn:ietf:params:oauth:grant-type:device_code";
    loop {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the device code expired before the login was finished"
        );
        let form = [
            ("grant_type", grant),
            ("device_code", auth.device_code.as_str()),
        ];
        match oidc::post_form(http, &disc.token_endpoint, provider, &form).await? {
            Ok(body) => {
                return serde_json::from_slice(&body).context("decoding the token response");
            }
            Err(e) if e.error == "authorization_pending" => {}
            // RFC 8628 §3.5: back off by 5 s on every slow_down.
            Err(e) if e.error == "slow_down" => interval = (interval + 5).min(60),
            Err(e) => anyhow::bail!("device login failed: {e}"),
        }
    }
}

/// Client credentials (machine to machine); needs the client secret.
pub async fn client_credentials(
    provider: &OidcProvider,
    disc: &Discovery,
    http: &reqwest::Client,
) -> anyhow::Result<TokenResponse> {
    anyhow::ensure!(
        provider.secret()?.is_some(),
        "grant-type client-credentials needs client-secret, client-secret-env or client-secret-file"
    );
    let scope = provider.effective_scopes().join(" ");
    oidc::token(
        http,
        disc,
        provider,
        &[("grant_type", "client_credentials"), ("scope", &scope)],
    )
    .await
}

/// Resource-owner password grant, for CI where no browser exists. Discouraged: the
/// password passes through bgctl.
pub async fn password(
    provider: &OidcProvider,
    disc: &Discovery,
    http: &reqwest::Client,
    username: &str,
    password: &str,
) -> anyhow::Result<TokenResponse> {
    let scope = provider.effective_scopes().join(" ");
    oidc::token(
        http,
        disc,
        provider,
        &[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
            ("scope", &scope),
        ],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_needs_the_same_state_and_a_code() {
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            callback_outcome("st", s("st"), s("c0de"), None, None).unwrap(),
            "c0de"
        );
        let e = callback_outcome("st", s("other"), s("c0de"), None, None).unwrap_err();
        assert!(e.to_string().contains("state"), "{e}");
        assert!(callback_outcome("st", None, s("c0de"), None, None).is_err());
        assert!(callback_outcome("st", s("st"), None, None, None).is_err());
        let e = callback_outcome("st", s("st"), None, s("access_denied"), s("no"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("access_denied: no"), "{e}");
    }

    #[tokio::test]
    async fn loopback_listener_ignores_other_paths_and_checks_state() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let waiter = tokio::spawn(async move { wait_for_code(&listener, "good").await });
        let get = |path: String| async move {
            let mut c = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            c.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let mut out = String::new();
            c.read_to_string(&mut out).await.unwrap();
            out
        };
        assert!(get("/favicon.ico".into()).await.starts_with("HTTP/1.1 404"));
        let ok = get("/callback?code=abc&state=good".into()).await;
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
        assert_eq!(waiter.await.unwrap().unwrap(), "abc");
    }
}
