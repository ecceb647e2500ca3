//! `bgctl auth login` against testenv's Dex, the test playing the user's browser: the
//! authorization-code flow with PKCE and a loopback callback (the URL comes from
//! `$BROWSER`), and the device-code flow (the URL and code come from bgctl's output).
//! The cached token then works against the server.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::cli_support::{bgctl, home};
use crate::support::*;

const USER: &str = "requester@example.com";

/// A browser for Dex: trusts testenv's CA, keeps no cookies Dex would need.
fn browser(env: &breakglass_testenv::TestEnv) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(env.ca_pem().unwrap().as_bytes()).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(ca)
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Dex shows a connector chooser at `/auth`; a user clicks "Log in with Email", which is
/// `/auth/local` with the same query.
fn choose_password_connector(auth_url: &str) -> String {
    let mut u = reqwest::Url::parse(auth_url).unwrap();
    let path = u.path().trim_end_matches('/').to_owned();
    assert!(
        path.ends_with("/auth"),
        "not an authorization URL: {auth_url}"
    );
    u.set_path(&format!("{path}/local"));
    u.to_string()
}

/// Opens Dex's password login at `url`, submits the test user's credentials and follows
/// Dex's redirects to wherever the login ends (bgctl's loopback callback or Dex's device
/// page). Returns the final response's status and body.
async fn log_in_at_dex(http: &reqwest::Client, url: &str) -> (u16, String) {
    let form = http.get(url).send().await.unwrap();
    assert_eq!(form.status(), 200, "login form at {url}");
    let login_url = form.url().clone();
    let html = form.text().await.unwrap();
    assert!(html.contains("password"), "no password form: {html}");
    let done = http
        .post(login_url)
        .form(&[
            ("login", USER),
            ("password", breakglass_testenv::users::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let status = done.status().as_u16();
    (status, done.text().await.unwrap_or_default())
}

/// A context for the test server, trusting testenv's CA (for Dex).
fn set_context(home: &Path, server: &str, env: &breakglass_testenv::TestEnv) {
    let out = std_bgctl(home)
        .args([
            "--server",
            server,
            "config",
            "set-context",
            "lab",
            "--ca-file",
        ])
        .arg(env.ca_file())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn std_bgctl(home: &Path) -> std::process::Command {
    futures_block(bgctl(home)).unwrap()
}

fn futures_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

fn run(home: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = std_bgctl(home).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tokens_file(home: &Path) -> PathBuf {
    home.join(".config").join("bgctl").join("tokens.json")
}

/// The ID token bgctl cached for the `lab` context.
fn cached_id_token(home: &Path) -> String {
    let text = std::fs::read_to_string(tokens_file(home)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["tokens"]["context:lab"]["id-token"]
        .as_str()
        .expect("an ID token in the cache")
        .to_owned()
}

async fn wait_exit(mut child: Child) -> (Option<i32>, String, String) {
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut out = String::new();
                let mut err = String::new();
                if let Some(mut s) = child.stdout.take() {
                    std::io::Read::read_to_string(&mut s, &mut out).unwrap();
                }
                if let Some(mut s) = child.stderr.take() {
                    std::io::Read::read_to_string(&mut s, &mut err).unwrap();
                }
                return (status.code(), out, err);
            }
            if started.elapsed() > Duration::from_secs(90) {
                let _ = child.kill();
                panic!("bgctl auth login did not finish");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await
    .unwrap()
}

/// After a login: status shows the user and a future expiry, the cache is private, the
/// token works against the server; logout forgets it.
async fn check_logged_in(home: &Path, server: &str, env: &breakglass_testenv::TestEnv) {
    let (code, out, err) = run(home, &["auth", "status", "-o", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["user"], USER, "{out}");
    assert_eq!(status["issuer"], env.dex_issuer().as_str(), "{out}");
    assert_eq!(status["context"], "lab");
    let expiry: jiff::Timestamp = status["expiry"].as_str().unwrap().parse().unwrap();
    assert!(expiry > jiff::Timestamp::now(), "expiry {expiry}");
    assert_eq!(status["refreshable"], true, "{out}");
    let (code, out, _) = run(home, &["auth", "status"]);
    assert_eq!(code, Some(0));
    assert!(out.contains(&format!("User:     {USER}")), "{out}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let path = tokens_file(home);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        let dir = std::fs::metadata(path.parent().unwrap()).unwrap();
        assert_eq!(dir.permissions().mode() & 0o777, 0o700);
    }

    // The server accepts the CLI client's token (its audience includes the server's
    // client through Dex's cross-client trust); without it the call is refused.
    let api = RestClient::new(server);
    let token = cached_id_token(home);
    let r = api.get("/api/breakglassSessions", &token).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    let r = api
        .call("GET", "/api/breakglassSessions", None, None)
        .await
        .unwrap();
    assert_eq!(r.status, 401, "{}", r.text);

    // bgctl's own commands use the cached login (no --token anywhere).
    let (code, out, err) = run(home, &["session", "list", "-o", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let list: breakglass_api::rest::sessions::SessionList =
        serde_json::from_str(&out).expect("session list -o json parses");
    assert_eq!(list.total, list.items.len(), "{out}");

    // The login used the CLI client the server advertises, and bgctl kept it.
    let (code, view, _) = run(home, &["config", "view"]);
    assert_eq!(code, Some(0));
    assert!(view.contains("client-id: breakglass-cli"), "{view}");

    let (code, out, _) = run(home, &["auth", "logout"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("Logged out"), "{out}");
    assert!(!tokens_file(home).exists());
    let (code, _, err) = run(home, &["auth", "status"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("auth login"), "{err}");
    // Logged out, the commands refuse to run rather than call the server anonymously.
    let (code, _, err) = run(home, &["session", "list"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("auth login"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_code_login_through_the_browser() {
    let Some(env) = env().unwrap() else { return };
    let server = shared_server(&env).await.unwrap();
    let home = home("login-code").unwrap();
    set_context(&home, &server.url, &env);

    // Not logged in yet: status says how to log in, exit 1.
    let (code, _, err) = run(&home, &["auth", "status"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("auth login"), "{err}");

    // The "browser" records the URL bgctl opens.
    let url_file = home.join("opened-url");
    let script = home.join("browser.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", url_file.display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // The pinned Dex accepts only `localhost` loopback redirects for public clients.
    let child = std_bgctl(&home)
        // The provider named: another test may add a second one meanwhile.
        .args([
            "auth",
            "login",
            "--provider",
            breakglass_testenv::layout::IDENTITY_PROVIDER,
            "--callback-host",
            "localhost",
        ])
        .env("BROWSER", &script)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let mut url = String::new();
    for _ in 0..300 {
        if let Ok(u) = std::fs::read_to_string(&url_file)
            && !u.is_empty()
        {
            url = u;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!url.is_empty(), "bgctl opened no URL");
    let parsed = reqwest::Url::parse(&url).unwrap();
    let q = |k: &str| {
        parsed
            .query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(q("client_id").as_deref(), Some("breakglass-cli"));
    assert_eq!(q("code_challenge_method").as_deref(), Some("S256"));
    let redirect = q("redirect_uri").unwrap();
    assert!(
        redirect.starts_with("http://localhost:") && redirect.ends_with("/callback"),
        "{redirect}"
    );
    assert!(
        q("scope")
            .unwrap()
            .contains("audience:server:client_id:breakglass")
    );

    let (status, body) = log_in_at_dex(&browser(&env), &choose_password_connector(&url)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Logged in"), "{body}");

    let (code, out, err) = wait_exit(child).await;
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains(USER), "{out}");

    check_logged_in(&home, &server.url, &env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_login() {
    let Some(env) = env().unwrap() else { return };
    let server = shared_server(&env).await.unwrap();
    let home = home("login-device").unwrap();
    set_context(&home, &server.url, &env);

    let mut child = std_bgctl(&home)
        .args([
            "auth",
            "login",
            "--provider",
            breakglass_testenv::layout::IDENTITY_PROVIDER,
            "--device-code",
            "--no-browser",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // bgctl prints "To log in, open <url> and enter the code <code>".
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            let _ = tx.send(line);
        }
    });
    let line = tokio::task::spawn_blocking(move || {
        rx.iter()
            .find(|l| l.starts_with("To log in, open"))
            .expect("device login instructions")
    })
    .await
    .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    let verification = words[4];
    let user_code = words[words.len() - 1];
    assert!(
        verification.starts_with(&env.dex_issuer()),
        "verification URL {verification}"
    );

    // Enter the code at Dex, which sends the browser to its login.
    let http = browser(&env);
    let no_redirects = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(env.ca_pem().unwrap().as_bytes()).unwrap(),
        )
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let verify = format!("{}/device/auth/verify_code", env.dex_issuer());
    let r = no_redirects
        .post(&verify)
        .form(&[("user_code", user_code)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let auth_url = reqwest::Url::parse(&verify)
        .unwrap()
        .join(&location)
        .unwrap()
        .to_string();
    let (status, body) = log_in_at_dex(&http, &choose_password_connector(&auth_url)).await;
    assert_eq!(status, 200, "{body}");

    let (code, out, err) = wait_exit(child).await;
    assert_eq!(code, Some(0), "{out}\n{err}");
    check_logged_in(&home, &server.url, &env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_refusals_and_version_against_the_server() {
    let Some(env) = env().unwrap() else { return };
    let server = shared_server(&env).await.unwrap();
    let home = home("login-refusals").unwrap();

    // No context yet: login says how to make one.
    let (code, _, err) = run(&home, &["auth", "login"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("config set-context"), "{err}");

    set_context(&home, &server.url, &env);
    // A provider the server does not advertise is named, with the ones it does.
    let (code, _, err) = run(&home, &["auth", "login", "--provider", "nope"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("--provider") && err.contains("testenv-dex"),
        "{err}"
    );
    // A bad flag value is a usage error naming the flag.
    let (code, _, err) = run(&home, &["auth", "login", "--callback-host", "evil.example"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--callback-host"), "{err}");
    // Commands that need a login say so instead of sending no token.
    let (code, _, err) = run(&home, &["auth", "status"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("auth login"), "{err}");

    // `version` asks the context's server (no login needed); --client does not.
    let (code, out, err) = run(&home, &["version", "-o", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["clientVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["serverVersion"]["version"], env!("CARGO_PKG_VERSION"));
    let (code, out, _) = run(&home, &["version", "--client"]);
    assert_eq!(code, Some(0));
    assert!(
        out.starts_with("Client Version: ") && !out.contains("Server"),
        "{out}"
    );
    // An unreachable server is a runtime error.
    let (code, _, err) = run(&home, &["--server", "http://127.0.0.1:9", "version"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("127.0.0.1:9"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_login_for_automation() {
    let Some(env) = env().unwrap() else { return };
    let server = shared_server(&env).await.unwrap();
    let home = home("login-password").unwrap();
    set_context(&home, &server.url, &env);

    let out = std_bgctl(&home)
        .args(["auth", "login", "--username", USER])
        .env("BGCTL_PASSWORD", "wrong")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused"), "{err}");
    assert!(!tokens_file(&home).exists());

    let out = std_bgctl(&home)
        .args(["auth", "login", "--username", USER])
        .env("BGCTL_PASSWORD", breakglass_testenv::users::PASSWORD)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_logged_in(&home, &server.url, &env).await;
}
