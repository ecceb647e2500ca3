//! The test-support API: clients, tokens, mailbox and kubectl for a running environment.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;

use crate::error::Error;
use crate::harness::process;
use crate::layout::{
    AUTOMATION_CLIENT_ID, AUTOMATION_CLIENT_SECRET, CLUSTERS, DEX_HEADER_CONNECTOR, ENV_SKIP, HUB,
    Layout, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, State, TARGETS, TEST_REDIRECT_URI, default_run_dir,
};
use crate::mailbox::Mailbox;
use crate::users::{self, TestUser};

/// Tokens from Dex's token endpoint.
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    /// The ID token (a JWT; what the target apiservers accept as a bearer token).
    pub id_token: String,
    /// The access token.
    pub access_token: String,
    /// The refresh token, if `offline_access` was granted.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Lifetime in seconds.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// What a `kubectl` run produced.
#[derive(Debug, Clone)]
pub struct KubectlOutput {
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl KubectlOutput {
    /// True if kubectl exited with 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// A running test environment.
///
/// Create one per test with [`TestEnv::get`]; clients are created per call
/// because a kube client belongs to the tokio runtime of the test that made it.
#[derive(Debug, Clone)]
pub struct TestEnv {
    layout: Layout,
    state: State,
}

fn skip_requested() -> bool {
    std::env::var(ENV_SKIP).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

impl TestEnv {
    /// The running environment.
    ///
    /// * up: `Ok(Some(env))`;
    /// * not up and `BREAKGLASS_SKIP_TESTENV=1`: prints that the test is skipped and
    ///   returns `Ok(None)`;
    /// * not up otherwise: [`Error::NotRunning`], whose message says how to start it.
    ///
    /// ```ignore
    /// let Some(env) = TestEnv::get()? else { return Ok(()) };
    /// ```
    pub fn get() -> Result<Option<TestEnv>, Error> {
        match TestEnv::load(&default_run_dir()) {
            Ok(env) => Ok(Some(env)),
            Err(Error::NotRunning { .. }) if skip_requested() => {
                let name = std::thread::current()
                    .name()
                    .unwrap_or("this test")
                    .to_owned();
                // Written to the real stderr, past the test harness's output capture,
                // so that a skipped test says so even when it passes.
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED {name}: {ENV_SKIP} is set and testenv is not running"
                );
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The environment in run directory `dir`, if it is up.
    pub fn load(dir: &Path) -> Result<TestEnv, Error> {
        let state = State::read(dir).map_err(|_| Error::NotRunning {
            reason: format!("no {}", dir.join("state.json").display()),
        })?;
        let layout = Layout::new(dir, state.settings.clone());
        let recorded = process::recorded(&layout);
        let mut dead = Vec::new();
        for c in CLUSTERS {
            for d in ["etcd", "kube-apiserver"] {
                let name = format!("{d}-{c}");
                if !recorded.iter().any(|r| r.name == name && r.alive()) {
                    dead.push(name);
                }
            }
        }
        for name in ["dex", "mailpit"] {
            if !recorded.iter().any(|r| r.name == name && r.alive()) {
                dead.push(name.to_owned());
            }
        }
        if !dead.is_empty() {
            return Err(Error::NotRunning {
                reason: format!("not running: {}", dead.join(", ")),
            });
        }
        Ok(TestEnv { layout, state })
    }

    /// Paths and addresses of the environment.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The run directory.
    pub fn run_dir(&self) -> &Path {
        &self.layout.dir
    }

    /// Names of the target clusters.
    pub fn targets(&self) -> [&'static str; 2] {
        TARGETS
    }

    fn check_cluster(cluster: &str) -> Result<(), Error> {
        if CLUSTERS.contains(&cluster) {
            Ok(())
        } else {
            Err(Error::UnknownCluster(cluster.to_owned()))
        }
    }

    /// Admin (`system:masters`) kubeconfig of a cluster.
    pub fn kubeconfig(&self, cluster: &str) -> Result<PathBuf, Error> {
        Self::check_cluster(cluster)?;
        Ok(self.layout.kubeconfig(cluster))
    }

    /// Admin kubeconfig of the hub.
    pub fn hub_kubeconfig(&self) -> PathBuf {
        self.layout.kubeconfig(HUB)
    }

    /// URL of a cluster's kube-apiserver.
    pub fn server_url(&self, cluster: &str) -> Result<String, Error> {
        Self::check_cluster(cluster)?;
        Ok(self.layout.server_url(cluster))
    }

    /// The CA certificate (PEM) of every server in the environment.
    pub fn ca_pem(&self) -> Result<String, Error> {
        let path = self.layout.ca_file();
        std::fs::read_to_string(&path).map_err(Error::io(format!("reading {}", path.display())))
    }

    /// Path of the CA certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.layout.ca_file()
    }

    /// Address the target apiservers send SubjectAccessReviews to.
    pub fn webhook_addr(&self) -> std::net::SocketAddr {
        self.layout.settings.webhook_addr
    }

    /// The webhook URL a target calls.
    pub fn webhook_url(&self, cluster: &str) -> String {
        self.layout.webhook_url(cluster)
    }

    /// The OIDC issuer (Dex).
    pub fn dex_issuer(&self) -> String {
        self.layout.dex_issuer()
    }

    /// Prefix the targets put before OIDC groups.
    pub fn group_prefix(&self) -> &str {
        &self.layout.settings.group_prefix
    }

    /// Kafka's bootstrap address (`127.0.0.1:<port>`, one PLAINTEXT broker, topics created
    /// on first use with one partition), when the environment runs Kafka
    /// (`cargo xtask testenv up --with kafka`); [`Error::KafkaNotRunning`] otherwise.
    pub fn kafka_bootstrap(&self) -> Result<String, Error> {
        if self.state.kafka.is_none() {
            return Err(Error::KafkaNotRunning {
                reason: "the environment was started without it".to_owned(),
            });
        }
        let alive =
            process::find(&self.layout, crate::harness::kafka::NAME).is_some_and(|r| r.alive());
        if !alive {
            return Err(Error::KafkaNotRunning {
                reason: "its process is gone".to_owned(),
            });
        }
        Ok(self.layout.kafka_bootstrap().to_string())
    }

    /// Path of the kubectl that matches the clusters.
    pub fn kubectl_path(&self) -> &Path {
        &self.state.kubectl
    }

    /// Path of the Helm CLI built with the environment (`None` when the environment was
    /// started by a testenv that did not build it yet).
    pub fn helm_path(&self) -> Option<PathBuf> {
        self.state
            .binaries
            .get("helm")
            .map(|dir| dir.join("helm"))
            .filter(|p| p.exists())
    }

    /// A kube client for a cluster as admin (`system:masters`).
    pub async fn client(&self, cluster: &str) -> Result<kube::Client, Error> {
        let path = self.kubeconfig(cluster)?;
        let text = std::fs::read_to_string(&path)
            .map_err(Error::io(format!("reading {}", path.display())))?;
        client_from_yaml(&path, &text).await
    }

    /// A kube client for the hub as admin.
    pub async fn hub_client(&self) -> Result<kube::Client, Error> {
        self.client(HUB).await
    }

    /// A kube client for a target (`"target-a"` or `"target-b"`) as admin.
    pub async fn target_client(&self, cluster: &str) -> Result<kube::Client, Error> {
        if cluster == HUB {
            return Err(Error::UnknownCluster(format!("{cluster} is not a target")));
        }
        self.client(cluster).await
    }

    /// A kube client for a cluster that authenticates with a bearer token
    /// (e.g. from [`TestEnv::dex_token`]).
    pub async fn client_with_token(
        &self,
        cluster: &str,
        token: &str,
    ) -> Result<kube::Client, Error> {
        Self::check_cluster(cluster)?;
        let path = self.layout.token_kubeconfig(cluster);
        let text = std::fs::read_to_string(&path)
            .map_err(Error::io(format!("reading {}", path.display())))?;
        let mut doc: serde_json::Value =
            serde_saphyr::from_str(&text).map_err(|e| Error::Kubeconfig {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        if let Some(user) = doc.pointer_mut("/users/0/user") {
            *user = serde_json::json!({ "token": token });
        }
        let text = serde_json::to_string(&doc).map_err(|e| Error::Kubeconfig {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        client_from_yaml(&path, &text).await
    }

    fn http(&self) -> Result<reqwest::Client, Error> {
        crate::harness::install_crypto_provider();
        let ca = reqwest::Certificate::from_pem(self.ca_pem()?.as_bytes())
            .map_err(Error::http("reading the testenv CA"))?;
        reqwest::Client::builder()
            .tls_certs_only([ca])
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(Error::http("building an HTTP client"))
    }

    fn user(name: &str) -> Result<TestUser, Error> {
        users::find(name).ok_or_else(|| Error::UnknownUser(name.to_owned()))
    }

    /// An ID token of a test user (by short name or e-mail), with the user's groups.
    ///
    /// The token's audience is the `breakglass` client, which the target apiservers
    /// accept; its `email` claim is the Kubernetes user name and its `groups` claim
    /// carries the groups of [`crate::users`] (the targets add the group prefix).
    pub async fn dex_token(&self, user: &str) -> Result<String, Error> {
        Ok(self.dex_tokens(user).await?.id_token)
    }

    /// All tokens of a login of a test user through Dex's header connector
    /// (authorization-code flow, so the groups claim is filled).
    pub async fn dex_tokens(&self, user: &str) -> Result<Tokens, Error> {
        let u = Self::user(user)?;
        let http = self.http()?;
        let issuer = self.dex_issuer();
        let mut url = url::Url::parse(&format!("{issuer}/auth/{DEX_HEADER_CONNECTOR}"))
            .map_err(|e| Error::Dex(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("client_id", OIDC_CLIENT_ID)
            .append_pair("redirect_uri", TEST_REDIRECT_URI)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid email profile groups offline_access")
            .append_pair("state", "testenv");
        let groups = u.groups.join(",");
        let mut next = url.to_string();
        let mut code = None;
        for _ in 0..8 {
            let mut req = http.get(&next).header("X-Remote-User", u.email);
            if !groups.is_empty() {
                req = req.header("X-Remote-Group", &groups);
            }
            let resp = req.send().await.map_err(Error::http("logging in at Dex"))?;
            let status = resp.status();
            let Some(location) = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned)
            else {
                let body = resp.text().await.unwrap_or_default();
                return Err(Error::Dex(format!(
                    "login of {} stopped at {next} with {status}: {}",
                    u.email,
                    body.chars().take(300).collect::<String>()
                )));
            };
            let resolved = url::Url::parse(&next)
                .and_then(|base| base.join(&location))
                .map_err(|e| Error::Dex(e.to_string()))?;
            if resolved.as_str().starts_with(TEST_REDIRECT_URI) {
                code = resolved
                    .query_pairs()
                    .find(|(k, _)| k == "code")
                    .map(|(_, v)| v.into_owned());
                break;
            }
            next = resolved.to_string();
        }
        let code =
            code.ok_or_else(|| Error::Dex(format!("no authorization code for {}", u.email)))?;
        self.token_request(
            &http,
            OIDC_CLIENT_ID,
            OIDC_CLIENT_SECRET,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", TEST_REDIRECT_URI),
            ],
        )
        .await
    }

    /// Tokens from the password grant for a test user and the `breakglass` client.
    ///
    /// The pinned Dex puts no groups into tokens of password-database users; use
    /// [`TestEnv::dex_token`] when groups matter.
    pub async fn dex_password_tokens(&self, user: &str) -> Result<Tokens, Error> {
        let u = Self::user(user)?;
        let http = self.http()?;
        self.token_request(
            &http,
            OIDC_CLIENT_ID,
            OIDC_CLIENT_SECRET,
            &[
                ("grant_type", "password"),
                ("username", u.email),
                ("password", u.password),
                ("scope", "openid email profile groups"),
            ],
        )
        .await
    }

    /// A token for automation: the `automation` user through the
    /// `breakglass-automation` confidential client (password grant; the pinned
    /// Dex has no client-credentials grant). Its audience is `breakglass-automation`.
    pub async fn automation_token(&self) -> Result<String, Error> {
        let http = self.http()?;
        let u = users::AUTOMATION;
        Ok(self
            .token_request(
                &http,
                AUTOMATION_CLIENT_ID,
                AUTOMATION_CLIENT_SECRET,
                &[
                    ("grant_type", "password"),
                    ("username", u.email),
                    ("password", u.password),
                    ("scope", "openid email profile"),
                ],
            )
            .await?
            .id_token)
    }

    async fn token_request(
        &self,
        http: &reqwest::Client,
        client_id: &str,
        secret: &str,
        form: &[(&str, &str)],
    ) -> Result<Tokens, Error> {
        let resp = http
            .post(format!("{}/token", self.dex_issuer()))
            .basic_auth(client_id, Some(secret))
            .form(form)
            .send()
            .await
            .map_err(Error::http("calling Dex's token endpoint"))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(Error::http("reading Dex's token response"))?;
        if !status.is_success() {
            return Err(Error::Dex(format!(
                "token endpoint answered {status}: {body}"
            )));
        }
        serde_json::from_str(&body).map_err(|e| Error::Dex(format!("token response: {e}: {body}")))
    }

    /// The mail catcher's mailbox.
    pub fn mailbox(&self) -> Mailbox {
        Mailbox::new(self.layout.mail_api(), self.layout.smtp_addr())
    }

    /// Runs the environment's kubectl against a cluster, as admin (`token: None`)
    /// or with a bearer token.
    pub async fn kubectl(
        &self,
        cluster: &str,
        token: Option<&str>,
        args: &[&str],
    ) -> Result<KubectlOutput, Error> {
        Self::check_cluster(cluster)?;
        let mut cmd = tokio::process::Command::new(&self.state.kubectl);
        match token {
            Some(t) => {
                cmd.arg(format!(
                    "--kubeconfig={}",
                    self.layout.token_kubeconfig(cluster).display()
                ));
                cmd.arg(format!("--token={t}"));
            }
            None => {
                cmd.arg(format!(
                    "--kubeconfig={}",
                    self.layout.kubeconfig(cluster).display()
                ));
            }
        }
        cmd.args(args)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let out = cmd.output().await.map_err(Error::io(format!(
            "running {}",
            self.state.kubectl.display()
        )))?;
        Ok(KubectlOutput {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

async fn client_from_yaml(path: &Path, text: &str) -> Result<kube::Client, Error> {
    crate::harness::install_crypto_provider();
    let err = |message: String| Error::Kubeconfig {
        path: path.display().to_string(),
        message,
    };
    let kc = kube::config::Kubeconfig::from_yaml(text).map_err(|e| err(e.to_string()))?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .map_err(|e| err(e.to_string()))?;
    kube::Client::try_from(cfg).map_err(Error::Kube)
}
