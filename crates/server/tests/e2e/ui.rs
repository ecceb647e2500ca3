//! The web UI in a real headless Chromium (Debian's `chromium`, driven by scripts in
//! `ui/e2e/` with playwright-core).
//!
//! `flow.mjs`: sign-in through Dex as requester and as approver in separate browser
//! contexts, request an escalation, approve it from the mail's deep link, see it Approved
//! in the requester's view and drop it; create and terminate a debug session; axe-core on
//! every main view; no console errors (the server's CSP stays on); no horizontal
//! scrolling at 375 px. The hub's state is checked here afterwards.
//!
//! `renew.mjs` and `chooser.mjs`, with the hub to themselves (they add identity
//! providers): tokens renewed with the refresh token before and after expiry, a refused
//! renewal ending signed out; the provider chooser with a second real provider and an
//! unreachable one. Screenshots land in `target/tmp/e2e/ui-screenshots/`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use breakglass_api::debug_session::DebugSession;
use breakglass_api::{DebugPodTemplate, DebugSessionTemplate, IdentityProvider};
use breakglass_testenv::TestEnv;
use breakglass_testenv::layout::{
    CLI_AUDIENCE_SCOPE, IDENTITY_PROVIDER, OIDC_CLIENT_ID, UI_ALT_CLIENT_ID, UI_CLIENT_ID,
};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;

const A: &str = "target-a";

fn ui_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui")
}

fn chromium() -> PathBuf {
    std::env::var_os("BREAKGLASS_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Fails with what to install when the browser or playwright-core is missing.
fn browser_available() -> anyhow::Result<()> {
    let playwright = ui_dir().join("node_modules/playwright-core");
    if !playwright.exists() || !chromium().exists() {
        bail!(
            "the browser test needs `npm ci` in ui/ ({} missing?) and Chromium at {} \
             (`cargo xtask test` and .ci/run install both)",
            playwright.display(),
            chromium().display()
        );
    }
    Ok(())
}

fn shots_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e/ui-screenshots")
}

/// Runs `ui/e2e/<script>` against the server at `base` with `vars`; its result line.
async fn scenario(script: &str, base: &str, vars: &[(&str, String)]) -> anyhow::Result<Value> {
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(format!("e2e/{script}"))
        .current_dir(ui_dir())
        .env("BASE_URL", base)
        .env("SHOTS", shots_dir())
        .env("CHROMIUM", chromium())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(240), cmd.output())
        .await
        .with_context(|| format!("the browser scenario {script} did not finish within 240 s"))??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!(
            "browser scenario {script} failed ({}):\n{stderr}\n{stdout}",
            out.status
        );
    }
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .with_context(|| format!("no result line in {stdout}"))
}

async fn debug_templates(hub: &kube::Client, id: &str) -> anyhow::Result<(String, String)> {
    let pod = format!("ui-pod-{id}");
    let tpl = format!("ui-debug-{id}");
    let p: DebugPodTemplate = serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "DebugPodTemplate",
        "metadata": {"name": pod},
        "spec": {"template": {"spec": {"containers": [
            {"name": "debug", "image": "busybox:stable", "command": ["sleep", "infinity"]}]}}}}))?;
    Api::<DebugPodTemplate>::all(hub.clone())
        .create(&PostParams::default(), &p)
        .await?;
    let t: DebugSessionTemplate = serde_json::from_value(json!({
    "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "DebugSessionTemplate",
    "metadata": {"name": tpl},
    "spec": {
        "displayName": "UI network check",
        "podTemplateRef": {"name": pod},
        "allowed": {"clusters": [A], "groups": ["developers"]},
        "constraints": {"maxConcurrentSessions": 50},
    }}))?;
    Api::<DebugSessionTemplate>::all(hub.clone())
        .create(&PostParams::default(), &t)
        .await?;
    Ok((pod, tpl))
}

async fn remove_debug_templates(hub: &kube::Client, pod: &str, tpl: &str) {
    let _ = Api::<DebugSessionTemplate>::all(hub.clone())
        .delete(tpl, &DeleteParams::default())
        .await;
    let _ = Api::<DebugPodTemplate>::all(hub.clone())
        .delete(pod, &DeleteParams::default())
        .await;
}

#[tokio::test]
async fn request_approve_from_the_deep_link_and_drop_in_a_browser() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    browser_available()?;
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "ui").await?;
    let group = fx.group("ui-admin");
    fx.escalation(
        "esc",
        with(spec(&[A], &group), json!({"maxValidFor": "2h"})),
    )
    .await?;
    let hub = fx.hub();
    let (pod, tpl) = debug_templates(&hub, &fx.id).await?;
    let shots = shots_dir();

    let result = scenario(
        "flow.mjs",
        &server.url,
        &[
            ("CLUSTER", A.to_owned()),
            ("GROUP", group.clone()),
            ("REQUESTER", "requester@example.com:developers".to_owned()),
            ("APPROVER", "approver@example.com:sre-leads".to_owned()),
            ("DEBUG_TEMPLATE", tpl.clone()),
        ],
    )
    .await;
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            remove_debug_templates(&hub, &pod, &tpl).await;
            return Err(e);
        }
    };

    // What the clicks did, as the hub records it.
    let name = result["session"].as_str().unwrap_or_default().to_owned();
    let s = fx.session(&name).await?;
    let status = s.status.clone().unwrap_or_default();
    assert_eq!(s.spec.user, "requester@example.com");
    assert_eq!(s.spec.granted_group, group);
    assert_eq!(
        status.state.map(|x| x.as_str().to_owned()).as_deref(),
        Some("Expired"),
        "{status:?}"
    );
    let st = serde_json::to_value(&status)?;
    assert_eq!(st["reasonEnded"], "dropped", "{st}");
    assert_eq!(st["approver"], "approver@example.com", "{st}");
    assert!(
        s.spec
            .request_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("INC-7")),
        "{:?}",
        s.spec.request_reason
    );

    let debug = result["debugSession"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let d = Api::<DebugSession>::namespaced(hub.clone(), SYSTEM_NS)
        .get(&debug)
        .await?;
    assert_eq!(d.spec.requested_by, "requester@example.com");
    assert_eq!(d.spec.template_ref, tpl);
    assert_eq!(d.state().map(|x| x.as_str()), Some("Terminated"));

    for view in [
        "signin",
        "request",
        "approve-link",
        "sessions",
        "debug-create",
    ] {
        assert!(
            result["axe"][view].is_array(),
            "axe ran on {view}: {result}"
        );
        assert!(
            shots.join(format!("{view}.png")).exists(),
            "screenshot of {view}"
        );
    }
    assert_eq!(result["consoleErrors"], json!([]));
    remove_debug_templates(&hub, &pod, &tpl).await;
    fx.cleanup().await?;
    Ok(())
}

/// An IdentityProvider for the UI's sign-in page (`authority` doubles as its issuer).
fn ui_provider(
    env: &TestEnv,
    name: &str,
    display: &str,
    authority: &str,
    client: &str,
) -> anyhow::Result<IdentityProvider> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "IdentityProvider",
        "metadata": {"name": name},
        "spec": {
            "displayName": display,
            "issuer": authority,
            "oidc": {
                "authority": authority,
                "clientID": client,
                "expectedAudience": OIDC_CLIENT_ID,
                "uiScopes": [CLI_AUDIENCE_SCOPE],
                "certificateAuthority": env.ca_pem()?,
            },
        },
    }))?)
}

/// Waits until the server at `base` advertises exactly `names` as enabled providers.
async fn wait_advertised(base: &str, names: &[&str]) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    loop {
        let v: Value = reqwest::get(format!("{base}/api/config/idps"))
            .await?
            .json()
            .await?;
        let mut got: Vec<String> = v["identityProviders"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["enabled"] != json!(false))
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect();
        got.sort();
        let mut want: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        want.sort();
        if got == want {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the server advertises {got:?}, not {want:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Renewal and the provider chooser. Both need the sign-in page to see a known set of
/// providers, so the test has the hub to itself and its own server on the webhook
/// address (the UI's redirect URIs at Dex name that address).
#[tokio::test]
async fn tokens_renew_in_the_browser_and_the_chooser_signs_in_with_the_chosen_provider()
-> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    browser_available()?;
    let _hub = exclusive().await?;
    let id = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let server = start_with_retry(
        &env,
        ServerSpec {
            addr: env.webhook_addr().to_string(),
            lease: Some(format!("bg-e2e-ui-auth-{id}")),
            identity: "ui-auth".to_owned(),
            extra_server_config: String::new(),
            extra_args: Vec::new(),
            kubeconfig: None,
        },
    )
    .await?;
    let base = server.url();
    wait_advertised(&base, &[IDENTITY_PROVIDER]).await?;
    // A user of Dex's password database: Dex gives refresh tokens only through
    // connectors that can refresh, and the header connector cannot.
    let renewing = breakglass_testenv::users::REQUESTER2;
    let user = format!("ui-choose-{id}@example.com:developers");

    // 1. One provider: straight to Dex; renewal before and after expiry; a refused one.
    let renew = scenario(
        "renew.mjs",
        &base,
        &[
            ("USER", renewing.email.to_owned()),
            ("PASSWORD", renewing.password.to_owned()),
            ("PROVIDER", IDENTITY_PROVIDER.to_owned()),
            ("CLIENT_ID", UI_CLIENT_ID.to_owned()),
        ],
    )
    .await?;
    eprintln!("renew.mjs: {renew}");
    let renewals = renew["renewals"].as_array().cloned().unwrap_or_default();
    assert_eq!(renewals.len(), 3, "{renew}");
    for (i, r) in renewals.iter().enumerate() {
        assert_eq!(r["clientId"], UI_CLIENT_ID, "{r}");
        assert_eq!(
            r["status"],
            if i < 2 { 200 } else { 400 },
            "renewal {i}: {r}"
        );
    }
    let calls = renew["apiCalls"].as_array().cloned().unwrap_or_default();
    let exps: Vec<i64> = calls.iter().filter_map(|c| c["exp"].as_i64()).collect();
    assert!(calls.iter().all(|c| c["status"] == 200), "{renew}");
    assert!(
        exps.len() >= 4 && exps.windows(2).all(|w| w[0] <= w[1]),
        "{renew}"
    );
    let fields = &renew["storage"]["userFields"];
    assert!(
        fields
            .as_array()
            .is_some_and(|f| f.contains(&json!("refresh_token"))),
        "{renew}"
    );
    assert_eq!(renew["storage"]["localStorage"], json!([]), "{renew}");
    assert_eq!(renew["consoleErrors"], json!([]));

    // 2. Three providers: testenv's Dex, the same Dex under `localhost` with the second UI
    // client (its own issuer string, so the hub admits it), and one nobody answers at.
    let dex_port = env.layout().dex_port();
    let alt_name = format!("ui-alt-{id}");
    let alt_authority = format!("https://localhost:{dex_port}/dex");
    let down_name = format!("ui-down-{id}");
    let down_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let down_authority = format!("https://127.0.0.1:{down_port}/down");
    let idps = Api::<IdentityProvider>::all(env.hub_client().await?);
    let chooser = async {
        for (name, display, authority, client) in [
            (&alt_name, "Dex (second client)", &alt_authority, UI_ALT_CLIENT_ID),
            (&down_name, "Offline IdP", &down_authority, UI_CLIENT_ID),
        ] {
            idps.create(
                &PostParams::default(),
                &ui_provider(&env, name, display, authority, client)?,
            )
            .await?;
        }
        wait_advertised(&base, &[IDENTITY_PROVIDER, &alt_name, &down_name]).await?;
        scenario(
            "chooser.mjs",
            &base,
            &[
                ("USER", user.clone()),
                (
                    "PROVIDERS",
                    format!(
                        "{IDENTITY_PROVIDER}={UI_CLIENT_ID},{alt_name}={UI_ALT_CLIENT_ID},{down_name}={UI_CLIENT_ID}"
                    ),
                ),
                ("CHOOSE", alt_name.clone()),
                ("CHOOSE_AUTHORITY", alt_authority.clone()),
                ("UNREACHABLE", down_name.clone()),
            ],
        )
        .await
    }
    .await;
    for name in [&alt_name, &down_name] {
        let _ = idps.delete(name, &DeleteParams::default()).await;
    }
    server.stop()?;
    let chooser = chooser?;
    eprintln!("chooser.mjs: {chooser}");
    assert_eq!(chooser["azp"], UI_ALT_CLIENT_ID, "{chooser}");
    assert_eq!(chooser["apiStatus"], 200, "{chooser}");
    assert!(
        chooser["unreachableError"]
            .as_str()
            .is_some_and(|e| e.contains("Offline IdP") && e.contains(&down_authority)),
        "{chooser}"
    );
    for view in ["chooser", "chooser-unreachable", "renewal-failed"] {
        assert!(
            shots_dir().join(format!("{view}.png")).exists(),
            "screenshot of {view}"
        );
    }
    assert!(chooser["axe"]["chooser"].is_array(), "{chooser}");
    assert_eq!(chooser["consoleErrors"], json!([]));
    Ok(())
}

#[tokio::test]
async fn the_ui_is_served_with_spa_fallback_caching_and_a_strict_csp() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let get = |path: &str| http.get(format!("{}{path}", server.url)).send();

    // Client-side routes, the mail's deep link among them, get the entry page.
    let index = get("/session/some-session/approve").await?;
    assert_eq!(index.status(), 200);
    let h = index.headers().clone();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str()?.to_owned();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    // The browser must reach Dex (discovery, tokens), and only Dex besides us.
    let dex = env.dex_issuer();
    let dex_origin = dex.trim_end_matches("/dex");
    assert!(
        csp.contains(&format!("connect-src 'self' {dex_origin};")),
        "{csp}"
    );
    let html = index.text().await?;
    assert!(html.contains("<div id=\"app\">"), "{html}");

    // Hashed assets: cached for a year, with their own content type.
    let script = html
        .split('"')
        .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
        .map(str::to_owned)
        .context("no script in the entry page")?;
    let js = get(&script).await?;
    assert_eq!(js.status(), 200);
    assert_eq!(
        js.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        js.headers()["content-type"]
            .to_str()?
            .starts_with("text/javascript")
    );

    // A stale asset is a 404, not the entry page; API paths keep their JSON 404s.
    assert_eq!(get("/assets/gone-123.js").await?.status(), 404);
    assert_eq!(get("/favicon.ico").await?.status(), 404);
    let api = get("/api/no-such-route").await?;
    assert_eq!(api.status(), 404);
    assert!(api.text().await?.contains("\"code\""));
    // The UI is read-only: other methods are refused.
    let post = http.post(format!("{}/sessions", server.url)).send().await?;
    assert_eq!(post.status(), 405);
    Ok(())
}
