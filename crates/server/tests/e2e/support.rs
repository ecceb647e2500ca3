//! Running breakglass servers against testenv, and the fixtures the scenarios share.
//!
//! One shared server process listens on testenv's webhook address (the address the
//! target apiservers call). Tests that use it hold a read guard of [`GATE`]; tests that
//! need servers of their own (restarts, two replicas) hold the write guard, which stops
//! the shared server while they run. Server processes exit when their stdin closes, so
//! none outlives the test binary.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use breakglass_api::breakglass_escalation::BreakglassEscalation;
use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_api::cluster_config::ClusterConfig;
use breakglass_testenv::TestEnv;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Readers use the shared server; a writer has the hub to itself.
pub static GATE: RwLock<()> = RwLock::const_new(());

/// Namespace of Leases and ClusterConfigs in testenv.
pub const SYSTEM_NS: &str = "breakglass-system";
/// The Lease of the shared server.
pub const SHARED_LEASE: &str = "breakglass-e2e-shared";

fn shared() -> &'static Mutex<Option<ServerProcess>> {
    static SHARED: OnceLock<Mutex<Option<ServerProcess>>> = OnceLock::new();
    SHARED.get_or_init(|| Mutex::new(None))
}

/// The environment, or `None` when the run opted out of testenv.
pub fn env() -> anyhow::Result<Option<TestEnv>> {
    breakglass_server::install_crypto_provider();
    Ok(TestEnv::get()?)
}

/// A directory for this test binary's files (configs, server logs).
pub fn work_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Settings of one server process.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// Listen address.
    pub addr: String,
    /// Lease name (`None`: no election).
    pub lease: Option<String>,
    /// Lease identity.
    pub identity: String,
    /// Extra top-level sections of config.yaml.
    pub extra_server_config: String,
    /// Extra command-line arguments.
    pub extra_args: Vec<String>,
    /// Hub kubeconfig (default: testenv's admin kubeconfig).
    pub kubeconfig: Option<PathBuf>,
}

impl ServerSpec {
    /// A server on a free loopback port.
    pub fn on_free_port(lease: &str, identity: &str) -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?.to_string();
        drop(listener);
        Ok(Self {
            addr,
            lease: Some(lease.to_owned()),
            identity: identity.to_owned(),
            extra_server_config: String::new(),
            extra_args: Vec::new(),
            kubeconfig: None,
        })
    }
}

/// Many tests share one server from one loopback address: unless a test sets its own
/// `rateLimits`, the limits are raised so only the rate-limit tests ever meet them.
fn with_test_rate_limits(extra: &str) -> String {
    if extra.contains("rateLimits:") {
        extra.to_owned()
    } else {
        format!(
            "{extra}rateLimits:\n  perSource: {{perSecond: 10000, burst: 10000}}\n  perUser: {{perSecond: 10000, burst: 10000}}\n  sessionCreation: {{perMinute: 10000, burst: 10000}}\n"
        )
    }
}

/// Approver groups with a mailing-list address, for the mail scenarios (unless a test
/// sets its own `mail` section).
fn with_test_mail(extra: &str) -> String {
    if extra.contains("\nmail:") || extra.starts_with("mail:") {
        extra.to_owned()
    } else {
        format!(
            "{extra}mail:\n  groupAddresses:\n    mail-e2e-list: mail-e2e-list@example.com\n    mail-e2e-hidden: mail-e2e-hidden@example.com\n"
        )
    }
}

/// A `breakglass` process.
pub struct ServerProcess {
    /// Its settings.
    pub spec: ServerSpec,
    child: Child,
    stdin: Option<ChildStdin>,
    /// Its log file.
    pub log: PathBuf,
}

impl ServerProcess {
    /// Starts a server and waits until it is ready.
    pub async fn start(env: &TestEnv, spec: ServerSpec) -> anyhow::Result<Self> {
        static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = work_dir();
        let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tag = format!("{}-{}-{n}", spec.identity, std::process::id());
        let config = dir.join(format!("config-{tag}.yaml"));
        // testenv's `admin` user (group breakglass-admins) may explain others' requests.
        std::fs::write(
            &config,
            format!(
                "server:\n  listenAddress: {addr}\n  enableActivityTracking: true\n  shutdownTimeout: 5s\n\
                 \x20 adminGroups: [breakglass-admins]\n\
                 frontend:\n  baseURL: http://{addr}\n  brandingName: Breakglass\n\
                 kubernetes:\n  oidcPrefixes: ['{prefix}']\n{extra}",
                addr = spec.addr,
                extra = with_test_mail(&with_test_rate_limits(&spec.extra_server_config)),
                prefix = env.group_prefix(),
            ),
        )?;
        let log = dir.join(format!("server-{tag}.log"));
        let out = std::fs::File::create(&log)?;
        let err = out.try_clone()?;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_breakglass"));
        cmd.arg("--config-path")
            .arg(&config)
            .arg("--pod-namespace")
            .arg(SYSTEM_NS)
            .args(
                (!spec
                    .extra_args
                    .iter()
                    .any(|a| a.starts_with("--cluster-config-check-interval")))
                .then_some(["--cluster-config-check-interval", "3s"])
                .into_iter()
                .flatten(),
            )
            .arg("--activity-flush-interval")
            .arg("1s")
            .arg("--exit-on-stdin-eof")
            .args(&spec.extra_args)
            .env(
                "KUBECONFIG",
                spec.kubeconfig
                    .clone()
                    .unwrap_or_else(|| env.hub_kubeconfig()),
            )
            .env("RUST_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        match &spec.lease {
            Some(lease) => {
                cmd.arg("--leader-elect-id")
                    .arg(lease)
                    .arg("--leader-elect-identity")
                    .arg(&spec.identity);
            }
            None => {
                cmd.arg("--enable-leader-election=false");
            }
        }
        let mut child = cmd.spawn().context("starting breakglass")?;
        let stdin = child.stdin.take();
        let mut server = Self {
            spec,
            child,
            stdin,
            log,
        };
        server.wait_ready(Duration::from_secs(60)).await?;
        Ok(server)
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.spec.addr)
    }

    async fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        let http = reqwest::Client::new();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!(
                    "breakglass exited with {status} before it was ready; log:\n{}",
                    self.log_text()
                );
            }
            if let Ok(r) = http.get(format!("{}/readyz", self.url())).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if started.elapsed() > timeout {
                bail!(
                    "breakglass not ready after {timeout:?}; log:\n{}",
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Graceful stop (as on SIGTERM): the Lease is released. Waits for the exit.
    pub fn stop(mut self) -> anyhow::Result<()> {
        drop(self.stdin.take());
        let started = Instant::now();
        loop {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = self.child.kill();
                bail!("breakglass did not stop within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Hard stop (SIGKILL), as in a crash: the Lease stays held until it expires.
    pub fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// A read guard on the shared server, started if needed.
pub struct Shared {
    _guard: RwLockReadGuard<'static, ()>,
    /// Base URL.
    pub url: String,
    /// Log file.
    pub log: PathBuf,
}

/// Uses the shared server on the webhook address.
pub async fn shared_server(env: &TestEnv) -> anyhow::Result<Shared> {
    let guard = GATE.read().await;
    let running = {
        let mut slot = shared()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let alive = slot.as_mut().is_some_and(ServerProcess::alive);
        if alive {
            slot.as_ref().map(|s| (s.url(), s.log.clone()))
        } else {
            *slot = None;
            None
        }
    };
    let (url, log) = match running {
        Some(r) => r,
        None => {
            // Serialise starts: only one reader starts it.
            static STARTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
            let _s = STARTING.lock().await;
            let existing = shared()
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref()
                .map(|s| (s.url(), s.log.clone()));
            match existing {
                Some(r) => r,
                None => {
                    let spec = ServerSpec {
                        addr: env.webhook_addr().to_string(),
                        lease: Some(SHARED_LEASE.to_owned()),
                        identity: "shared".to_owned(),
                        extra_server_config: "audit:\n  statusInterval: 2s\n".to_owned(),
                        extra_args: Vec::new(),
                        kubeconfig: None,
                    };
                    let server = start_with_retry(env, spec).await?;
                    let r = (server.url(), server.log.clone());
                    *shared()
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(server);
                    wait_leader(env, SHARED_LEASE, "shared", Duration::from_secs(40)).await?;
                    r
                }
            }
        }
    };
    Ok(Shared {
        _guard: guard,
        url,
        log,
    })
}

/// The webhook address may still be held by a process of a previous test binary that
/// is shutting down: retry the start for a while.
pub async fn start_with_retry(env: &TestEnv, spec: ServerSpec) -> anyhow::Result<ServerProcess> {
    let started = Instant::now();
    loop {
        match ServerProcess::start(env, spec.clone()).await {
            Ok(s) => return Ok(s),
            Err(e)
                if started.elapsed() < Duration::from_secs(20)
                    && e.to_string().contains("in use") =>
            {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Exclusive use of the hub: the shared server is stopped until the guard is dropped
/// (the next reader starts it again).
pub async fn exclusive() -> anyhow::Result<RwLockWriteGuard<'static, ()>> {
    let guard = GATE.write().await;
    let server = shared()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    if let Some(s) = server {
        s.stop()?;
    }
    Ok(guard)
}

/// Waits until `identity` holds Lease `lease`.
pub async fn wait_leader(
    env: &TestEnv,
    lease: &str,
    identity: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        if lease_holder(env, lease).await?.as_deref() == Some(identity) {
            return Ok(());
        }
        if started.elapsed() > timeout {
            bail!("{identity} did not become leader of {lease} within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The current holder of a Lease.
pub async fn lease_holder(env: &TestEnv, lease: &str) -> anyhow::Result<Option<String>> {
    let hub = env.hub_client().await?;
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> = Api::namespaced(hub, SYSTEM_NS);
    Ok(leases
        .get_opt(lease)
        .await?
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
        .filter(|h| !h.is_empty()))
}

/// A cached ID token (with groups) per test user.
pub async fn token(env: &TestEnv, user: &str) -> anyhow::Result<String> {
    static TOKENS: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let cache = TOKENS.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(t) = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(user)
    {
        return Ok(t.clone());
    }
    let t = env.dex_token(user).await?;
    cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(user.to_owned(), t.clone());
    Ok(t)
}

/// The typed REST client of `url` as the holder of `token`.
pub fn client(url: &str, token: &str) -> anyhow::Result<breakglass_client::Client> {
    Ok(breakglass_client::Client::new(
        url,
        Some(token.to_owned()),
        &breakglass_client::Options::default(),
    )?)
}

/// The HTTP status of a failed call (`None` for a success or no answer).
pub fn status_of<T>(r: &Result<T, breakglass_client::Error>) -> Option<u16> {
    r.as_ref().err().and_then(breakglass_client::Error::status)
}

/// A request body for `group` on `cluster` with the tests' usual reason.
pub fn session_request(
    cluster: &str,
    group: &str,
) -> breakglass_api::rest::sessions::CreateSessionRequest {
    breakglass_api::rest::sessions::CreateSessionRequest {
        cluster: cluster.to_owned(),
        group: group.to_owned(),
        reason: Some("e2e test".to_owned()),
        ..Default::default()
    }
}

/// A response: status and JSON body (`Null` when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: Value,
    /// Raw body text.
    pub text: String,
}

impl Reply {
    /// `body.status.state`.
    pub fn state(&self) -> String {
        self.body["status"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
    /// `body.metadata.name`.
    pub fn name(&self) -> String {
        self.body["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// A small REST client of one server.
#[derive(Clone)]
pub struct RestClient {
    base: String,
    http: reqwest::Client,
}

impl RestClient {
    /// A client of `base`.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// Sends a request; `token` may be `None` or anything (for negative tests).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<Reply> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Reply { status, body, text })
    }

    /// Sends a raw body.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> anyhow::Result<Reply> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .body(body.to_owned());
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Reply { status, body, text })
    }

    /// GET.
    pub async fn get(&self, path: &str, token: &str) -> anyhow::Result<Reply> {
        self.call("GET", path, Some(token), None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, token: &str, body: Value) -> anyhow::Result<Reply> {
        self.call("POST", path, Some(token), Some(body)).await
    }

    /// POST without a body.
    pub async fn post_empty(&self, path: &str, token: &str) -> anyhow::Result<Reply> {
        self.call("POST", path, Some(token), None).await
    }

    /// Requests a session.
    pub async fn request(
        &self,
        token: &str,
        cluster: &str,
        group: &str,
        extra: Value,
    ) -> anyhow::Result<Reply> {
        let mut body = json!({"cluster": cluster, "group": group, "reason": "e2e test"});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        self.post("/api/breakglassSessions", token, body).await
    }

    /// Runs an action (`approve`, `reject`, …) on a session.
    pub async fn act(
        &self,
        name: &str,
        action: &str,
        token: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Reply> {
        self.call(
            "POST",
            &format!("/api/breakglassSessions/{name}/{action}"),
            Some(token),
            body,
        )
        .await
    }
}

/// A namespace of its own and helpers to put escalations into it.
pub struct Fixture {
    /// The test's namespace.
    pub ns: String,
    /// A unique suffix for names.
    pub id: String,
    hub: kube::Client,
    env: TestEnv,
    cleaned: bool,
}

/// Runs `work` on a runtime of its own, to completion: for cleanups from `Drop`, which
/// must not depend on the (possibly panicking) test's runtime.
pub fn run_detached<F>(work: impl FnOnce() -> F + Send + 'static)
where
    F: std::future::Future<Output = ()>,
{
    let _ = std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            rt.block_on(work());
        }
    })
    .join();
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if self.cleaned {
            return;
        }
        // The test failed before cleaning up: remove its namespace anyway, so its
        // sessions do not affect later tests.
        let env = self.env.clone();
        let ns = self.ns.clone();
        run_detached(move || async move {
            if let Ok(hub) = env.hub_client().await {
                let namespaces: Api<Namespace> = Api::all(hub);
                let _ = namespaces.delete(&ns, &DeleteParams::background()).await;
            }
        });
    }
}

impl Fixture {
    /// Creates namespace `e2e-<prefix>-<id>` on the hub.
    pub async fn new(env: &TestEnv, prefix: &str) -> anyhow::Result<Self> {
        let id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let ns = format!("e2e-{prefix}-{id}");
        let hub = env.hub_client().await?;
        let namespaces: Api<Namespace> = Api::all(hub.clone());
        namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": ns}}))?,
            )
            .await?;
        Ok(Self {
            ns,
            id,
            hub,
            env: env.clone(),
            cleaned: false,
        })
    }

    /// The hub client.
    pub fn hub(&self) -> kube::Client {
        self.hub.clone()
    }

    /// A group name unique to this test.
    pub fn group(&self, base: &str) -> String {
        format!("{base}-{}", self.id)
    }

    /// Creates an escalation from a spec (JSON) and waits until the server reports it Ready.
    pub async fn escalation(
        &self,
        name: &str,
        spec: Value,
    ) -> anyhow::Result<BreakglassEscalation> {
        let esc = self.escalation_unchecked(name, spec).await?;
        self.wait_escalation(name, "True").await?;
        Ok(esc)
    }

    /// Creates an escalation without waiting for it.
    pub async fn escalation_unchecked(
        &self,
        name: &str,
        spec: Value,
    ) -> anyhow::Result<BreakglassEscalation> {
        let api: Api<BreakglassEscalation> = Api::namespaced(self.hub.clone(), &self.ns);
        let obj: BreakglassEscalation = serde_json::from_value(json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
            "kind": "BreakglassEscalation",
            "metadata": {"name": name, "namespace": self.ns},
            "spec": spec,
        }))?;
        Ok(api.create(&PostParams::default(), &obj).await?)
    }

    /// Waits until the escalation's Ready condition has `status`.
    pub async fn wait_escalation(&self, name: &str, status: &str) -> anyhow::Result<()> {
        let api: Api<BreakglassEscalation> = Api::namespaced(self.hub.clone(), &self.ns);
        let started = Instant::now();
        loop {
            let e = api.get(name).await?;
            let ready = e
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .into_iter()
                .find(|c| c.type_ == "Ready");
            if ready.as_ref().is_some_and(|c| c.status == status) {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(20) {
                bail!("escalation {name} not Ready={status} after 20 s: {ready:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A session as stored on the hub.
    pub async fn session(&self, name: &str) -> anyhow::Result<BreakglassSession> {
        let api: Api<BreakglassSession> = Api::namespaced(self.hub.clone(), &self.ns);
        Ok(api.get(name).await?)
    }

    /// Whether the session still exists.
    pub async fn session_exists(&self, name: &str) -> anyhow::Result<bool> {
        let api: Api<BreakglassSession> = Api::namespaced(self.hub.clone(), &self.ns);
        Ok(api.get_opt(name).await?.is_some())
    }

    /// Waits until the session reaches `state`; returns it.
    pub async fn wait_state(
        &self,
        name: &str,
        state: &str,
        timeout: Duration,
    ) -> anyhow::Result<BreakglassSession> {
        let api: Api<BreakglassSession> = Api::namespaced(self.hub.clone(), &self.ns);
        let started = Instant::now();
        loop {
            let s = api.get(name).await?;
            let now = s
                .status
                .as_ref()
                .and_then(|st| st.state)
                .map(|st| st.to_string())
                .unwrap_or_default();
            if now == state {
                return Ok(s);
            }
            if started.elapsed() > timeout {
                bail!("session {name} still {now:?} after {timeout:?}, wanted {state}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Deletes the namespace (and everything in it).
    pub async fn cleanup(mut self) -> anyhow::Result<()> {
        let namespaces: Api<Namespace> = Api::all(self.hub.clone());
        let _ = namespaces
            .delete(&self.ns, &DeleteParams::background())
            .await;
        self.cleaned = true;
        Ok(())
    }
}

/// Polls `check` until it returns true.
pub async fn wait_for<F, Fut>(timeout: Duration, what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let started = Instant::now();
    loop {
        match check().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) if started.elapsed() > timeout => {
                return Err(e.context(format!("waiting for {what}")));
            }
            Err(_) => {}
        }
        if started.elapsed() > timeout {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until testenv's ClusterConfigs are Ready (the server's reconciler writes it).
pub async fn wait_clusters_ready(env: &TestEnv) -> anyhow::Result<()> {
    let hub = env.hub_client().await?;
    let api: Api<ClusterConfig> = Api::namespaced(hub, SYSTEM_NS);
    for name in env.targets() {
        wait_for(
            Duration::from_secs(30),
            &format!("ClusterConfig {name} Ready"),
            || async {
                let cc = api.get(name).await?;
                Ok(cc
                    .status
                    .and_then(|s| s.conditions)
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True"))
            },
        )
        .await?;
    }
    Ok(())
}

/// A standard escalation spec: `developers` may request `group` on `clusters`,
/// `sre-leads` approve.
pub fn spec(clusters: &[&str], group: &str) -> Value {
    json!({
        "allowed": {"clusters": clusters, "groups": ["developers"]},
        "approvers": {"groups": ["sre-leads"]},
        "escalatedGroup": group,
        "maxValidFor": "1h",
        "approvalTimeout": "30m",
    })
}

/// Merges `patch` into `base` (top level).
pub fn with(mut base: Value, patch: Value) -> Value {
    if let (Some(b), Some(p)) = (base.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

/// Parses an RFC 3339 time.
pub fn ts(v: &Value) -> Option<jiff::Timestamp> {
    v.as_str().and_then(|s| s.parse().ok())
}

/// Patches a session's status directly on the hub (to simulate state the server did
/// not write, e.g. activity, or a session created by another tool).
pub async fn patch_status(
    hub: &kube::Client,
    ns: &str,
    name: &str,
    status: Value,
) -> anyhow::Result<()> {
    let api: Api<BreakglassSession> = Api::namespaced(hub.clone(), ns);
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({ "status": status })),
    )
    .await?;
    Ok(())
}

/// Writes to the real stderr, past the output capture (progress of long tests).
pub fn note(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// A TCP proxy in front of an address that can be frozen: while frozen it accepts
/// connections but forwards nothing in either direction (as a network partition that
/// drops packets); thawing closes every connection that existed during the freeze and
/// forwards normally again.
pub struct FreezableProxy {
    /// The address clients connect to.
    pub addr: std::net::SocketAddr,
    frozen: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    epoch: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    task: tokio::task::JoinHandle<()>,
}

impl FreezableProxy {
    /// Starts a proxy to `upstream` on a free loopback port.
    pub async fn start(upstream: std::net::SocketAddr) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let frozen = std::sync::Arc::new(tokio::sync::watch::channel(false).0);
        let epoch = std::sync::Arc::new(tokio::sync::watch::channel(0u64).0);
        let (f, e) = (frozen.clone(), epoch.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (f, e) = (f.clone(), e.clone());
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    let mine = *e.borrow();
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::join!(
                        pump(cr, sw, f.subscribe(), e.subscribe(), mine),
                        pump(sr, cw, f.subscribe(), e.subscribe(), mine),
                    );
                });
            }
        });
        Ok(Self {
            addr,
            frozen,
            epoch,
            task,
        })
    }

    /// Stops forwarding; connections are held open.
    pub fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    /// Closes the connections held during the freeze and forwards again.
    pub fn thaw(&self) {
        self.epoch.send_modify(|e| *e += 1);
        self.frozen.send_replace(false);
    }

    /// A copy of `kubeconfig` whose server is this proxy (same TLS names and CA).
    pub fn kubeconfig(&self, kubeconfig: &std::path::Path, tag: &str) -> anyhow::Result<PathBuf> {
        let out = self.rewrite(&std::fs::read_to_string(kubeconfig)?);
        let path = work_dir().join(format!("proxied-{tag}-{}.kubeconfig", std::process::id()));
        std::fs::write(&path, out)?;
        Ok(path)
    }

    /// Kubeconfig text with every `server:` pointing at this proxy.
    pub fn rewrite(&self, text: &str) -> String {
        let mut out = String::new();
        for line in text.lines() {
            if let Some(indent) = line.find("server:") {
                out.push_str(&format!(
                    "{}server: https://{}\n",
                    &line[..indent],
                    self.addr
                ));
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for FreezableProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.thaw();
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: tokio::sync::watch::Receiver<bool>,
    epoch: tokio::sync::watch::Receiver<u64>,
    mine: u64,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if frozen.wait_for(|f| !*f).await.is_err() || *epoch.borrow() != mine {
            return;
        }
        let n = tokio::select! {
            n = from.read(&mut buf) => match n { Ok(0) | Err(_) => return, Ok(n) => n },
            _ = frozen.wait_for(|f| *f) => continue,
        };
        // Data read just before a freeze is held, then dropped with the connection.
        if frozen.wait_for(|f| !*f).await.is_err() || *epoch.borrow() != mine {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// The `breakglass_leader` gauge of a server (`None` when unreachable).
pub async fn leader_gauge_of(url: &str) -> Option<i64> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .ok()?;
    let text = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| l.starts_with("breakglass_leader "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// The `/readyz` status code of a server (`None` when unreachable).
pub async fn readyz_of(url: &str) -> Option<u16> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .ok()?;
    let r = http.get(format!("{url}/readyz")).send().await.ok()?;
    Some(r.status().as_u16())
}

/// The admission server: no writers, HTTPS on a free port with the environment's
/// serving certificate, the hub identity trusted.
pub async fn admission_server(env: &TestEnv, id: &str) -> anyhow::Result<(ServerProcess, String)> {
    let tls = std::net::TcpListener::bind("127.0.0.1:0")?;
    let tls_addr = tls.local_addr()?.to_string();
    drop(tls);
    let (cert, key) = env.serving_cert_files();
    let mut spec = ServerSpec::on_free_port("unused", &format!("admission-{id}"))?;
    spec.lease = None;
    spec.extra_server_config = "webhook:\n  admissionTrustedUsers: [breakglass-hub]\n".to_owned();
    spec.extra_args = vec![
        "--enable-controllers=false".to_owned(),
        "--enable-cleanup=false".to_owned(),
        format!("--tls-listen-address={tls_addr}"),
        format!("--tls-cert-file={}", cert.display()),
        format!("--tls-key-file={}", key.display()),
    ];
    Ok((ServerProcess::start(env, spec).await?, tls_addr))
}

/// Creates a cluster-scoped breakglass object (`DebugPodTemplate`, `DebugSessionTemplate`).
pub async fn create_cluster_object(
    hub: &kube::Client,
    kind: &str,
    plural: &str,
    name: &str,
    spec: Value,
) -> anyhow::Result<()> {
    let api = cluster_objects(hub, kind, plural);
    let obj: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }))?;
    api.create(&PostParams::default(), &obj).await?;
    Ok(())
}

/// Deletes a cluster-scoped breakglass object, ignoring errors (cleanup).
pub async fn delete_cluster_object(hub: &kube::Client, kind: &str, plural: &str, name: &str) {
    let _ = cluster_objects(hub, kind, plural)
        .delete(name, &DeleteParams::default())
        .await;
}

/// The hub API of a cluster-scoped breakglass kind, untyped.
fn cluster_objects(hub: &kube::Client, kind: &str, plural: &str) -> Api<kube::api::DynamicObject> {
    let gvk = kube::api::GroupVersionKind::gvk("breakglass.t-caas.telekom.com", "v1alpha1", kind);
    let ar = kube::api::ApiResource::from_gvk_with_plural(&gvk, plural);
    Api::all_with(hub.clone(), &ar)
}
