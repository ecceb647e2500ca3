//! The web UI in a real headless Chromium (Debian's `chromium`, driven by
//! `ui/e2e/flow.mjs` with playwright-core): sign-in through Dex as requester and as
//! approver in separate browser contexts, request an escalation, approve it from the
//! mail's deep link, see it Approved in the requester's view and drop it; create and
//! terminate a debug session; axe-core on every main view; no console errors (the
//! server's CSP stays on); no horizontal scrolling at 375 px. The hub's state is
//! checked here afterwards. Screenshots land in `target/tmp/e2e/ui-screenshots/`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use breakglass_api::debug_session::DebugSession;
use breakglass_api::{DebugPodTemplate, DebugSessionTemplate};
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
    let playwright = ui_dir().join("node_modules/playwright-core");
    if !playwright.exists() || !chromium().exists() {
        bail!(
            "the browser test needs `npm ci` in ui/ ({} missing?) and Chromium at {} \
             (`cargo xtask test` and .ci/run install both)",
            playwright.display(),
            chromium().display()
        );
    }
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
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e/ui-screenshots");

    let run = tokio::process::Command::new("node")
        .arg("e2e/flow.mjs")
        .current_dir(ui_dir())
        .env("BASE_URL", &server.url)
        .env("CLUSTER", A)
        .env("GROUP", &group)
        .env("REQUESTER", "requester@example.com:developers")
        .env("APPROVER", "approver@example.com:sre-leads")
        .env("DEBUG_TEMPLATE", &tpl)
        .env("SHOTS", &shots)
        .env("CHROMIUM", chromium())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .context("the browser scenario did not finish within 240 s")??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        remove_debug_templates(&hub, &pod, &tpl).await;
        bail!(
            "browser scenario failed ({}):\n{stderr}\n{stdout}",
            out.status
        );
    }
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .with_context(|| format!("no result line in {stdout}"))?;

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
