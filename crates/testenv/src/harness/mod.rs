//! The harness behind `cargo xtask testenv`: build, up, down, status, env.
//!
//! Each cluster gets its own etcd and kube-apiserver; the targets also run
//! kube-controller-manager, kube-scheduler and kwok (the hub runs a
//! controller-manager too, for namespace deletion and garbage collection).
//! Dex and mailpit are shared; Kafka is optional (`up --with kafka`). All
//! processes are plain daemons with pid files and logs in the run directory.

pub mod build;
pub(crate) mod kafka;
pub mod pki;
mod plan;
pub mod process;
pub mod render;
pub mod setup;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use self::build::{Binaries, fmt_duration};
use self::plan::{Health, Planned, plan};
use self::process::Recorded;
use crate::layout::{
    CLUSTERS, ENV_KAFKA, HUB, KUBECONFIG_SECRET_KEY, KafkaRuntime, Layout, OIDC_CLIENT_ID,
    OIDC_CLIENT_SECRET, SYSTEM_NAMESPACE, State, TARGETS,
};

/// How long an apiserver may take to become ready.
const APISERVER_TIMEOUT: Duration = Duration::from_secs(180);
/// How long any other component may take.
const COMPONENT_TIMEOUT: Duration = Duration::from_secs(90);
/// How long `down` waits after SIGTERM before SIGKILL. Nothing in the environment
/// keeps state across `up`, and a kube-apiserver whose etcd or clients go away at the
/// same time can take minutes to finish its graceful shutdown.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// Installs ring as the process-wide rustls crypto provider (idempotent).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

struct Probe {
    plain: reqwest::Client,
    tls: reqwest::Client,
}

impl Probe {
    fn new(layout: &Layout) -> anyhow::Result<Probe> {
        install_crypto_provider();
        let pki = layout.pki_dir();
        let ca = reqwest::Certificate::from_pem(&std::fs::read(pki.join("ca.crt"))?)?;
        let mut id = std::fs::read(pki.join("admin.crt"))?;
        id.extend(std::fs::read(pki.join("admin.key"))?);
        let tls = reqwest::Client::builder()
            .tls_certs_only([ca])
            .identity(reqwest::Identity::from_pem(&id)?)
            .timeout(Duration::from_secs(5))
            .build()?;
        let plain = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .no_proxy()
            .build()?;
        Ok(Probe { plain, tls })
    }

    async fn check(&self, h: &Health) -> Result<(), String> {
        let (client, url) = match h {
            Health::Http(u) => (&self.plain, u),
            Health::Https(u) => (&self.tls, u),
            Health::Kafka(addr) => return kafka::probe(*addr).await,
        };
        match client.get(url).send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("{url} answered {}", r.status())),
            Err(e) => Err(format!("{url}: {e}")),
        }
    }
}

async fn wait_healthy(
    layout: &Layout,
    probe: &Probe,
    planned: &[&Planned],
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut pending: Vec<&Planned> = planned.to_vec();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for p in pending {
            if probe.check(&p.health).await.is_ok() {
                continue;
            }
            let alive = process::find(layout, &p.daemon.name).is_some_and(|r| r.alive());
            if !alive {
                bail!(
                    "{} exited during start-up; last lines of {}:\n{}",
                    p.daemon.name,
                    process::log_file(layout, &p.daemon.name).display(),
                    process::log_tail(layout, &p.daemon.name, 30)
                );
            }
            still.push(p);
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            let p = pending[0];
            let why = probe.check(&p.health).await.err().unwrap_or_default();
            bail!(
                "{} not healthy after {timeout:?} ({why}); last lines of {}:\n{}",
                p.daemon.name,
                process::log_file(layout, &p.daemon.name).display(),
                process::log_tail(layout, &p.daemon.name, 30)
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

/// Options of `up`.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Where the environment lives and how it is configured.
    pub layout: Layout,
    /// Restart even if an environment with the same settings is up.
    pub restart: bool,
    /// Run Kafka too. An environment that runs Kafka keeps it through later `up`s
    /// (until `down`), with or without this.
    pub kafka: bool,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")
}

/// `cargo xtask testenv build`: builds (or finds cached) binaries, and with `kafka`
/// resolves Kafka's class path (or finds it cached).
pub fn build(kafka: bool) -> anyhow::Result<Binaries> {
    let bins = build::ensure_built()?;
    for c in build::COMPONENTS {
        if let Some(dir) = bins.dir(c.name) {
            println!("{:<12} {}", c.name, dir.display());
        }
    }
    if kafka {
        let rt = kafka::ensure_runtime()?;
        println!("{:<12} {}", "kafka", rt.libs.display());
    }
    Ok(bins)
}

/// `cargo xtask testenv up`.
pub fn up(opts: &UpOptions) -> anyhow::Result<()> {
    install_crypto_provider();
    let bins = build::ensure_built()?;
    let layout = &opts.layout;
    let had_kafka = State::read(&layout.dir).is_ok_and(|s| s.kafka.is_some());
    let kafka = if opts.kafka || had_kafka {
        Some(kafka::ensure_runtime()?)
    } else {
        None
    };
    let rt = runtime()?;
    let result = rt.block_on(up_async(opts, &bins, kafka.as_ref()));
    if let Err(e) = &result
        && State::read(&layout.dir).is_err()
    {
        eprintln!(
            "testenv: start-up failed, stopping what was started (logs stay in {})",
            layout.log_dir().display()
        );
        let all = process::recorded(layout);
        process::stop(layout, &all, STOP_GRACE);
        return Err(anyhow::anyhow!("{e:#}"));
    }
    result
}

fn binaries_map(bins: &Binaries) -> BTreeMap<String, PathBuf> {
    build::COMPONENTS
        .iter()
        .filter_map(|c| {
            bins.dir(c.name)
                .map(|d| (c.name.to_owned(), d.to_path_buf()))
        })
        .collect()
}

async fn all_healthy(layout: &Layout, plan: &[Planned]) -> bool {
    let Ok(probe) = Probe::new(layout) else {
        return false;
    };
    for p in plan {
        let alive = process::find(layout, &p.daemon.name).is_some_and(|r| r.alive());
        if !alive || probe.check(&p.health).await.is_err() {
            return false;
        }
    }
    true
}

/// Removes what a previous run left in the run directory (only testenv's own entries).
fn clean_run_dir(layout: &Layout) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = [
        "state.json",
        "pki",
        "logs",
        "pids",
        "dex",
        "mail",
        "kafka",
        "kwok-stages.yaml",
    ]
    .iter()
    .map(|e| layout.dir.join(e))
    .collect();
    entries.extend(CLUSTERS.iter().map(|c| layout.cluster_dir(c)));
    for e in entries {
        if e.is_dir() {
            std::fs::remove_dir_all(&e).with_context(|| format!("removing {}", e.display()))?;
        } else if e.exists() {
            std::fs::remove_file(&e).with_context(|| format!("removing {}", e.display()))?;
        }
    }
    Ok(())
}

fn check_ports_free(layout: &Layout, kafka: bool) -> anyhow::Result<()> {
    let mut ports = vec![
        layout.dex_port(),
        layout.dex_telemetry_port(),
        layout.smtp_addr().port(),
        layout.mail_http_port(),
    ];
    if kafka {
        ports.extend(kafka_ports(layout));
    }
    for c in CLUSTERS {
        let p = layout.ports(c);
        ports.extend([
            p.apiserver,
            p.etcd_client,
            p.etcd_peer,
            p.controller_manager,
        ]);
        if c != HUB {
            ports.extend([p.scheduler, p.kwok]);
        }
    }
    wait_ports_free(&ports)
}

fn kafka_ports(layout: &Layout) -> [u16; 2] {
    [layout.kafka_port(), layout.kafka_controller_port()]
}

fn wait_ports_free(ports: &[u16]) -> anyhow::Result<()> {
    // Ports of processes stopped a moment ago may take a little while to free up.
    let deadline = Instant::now() + Duration::from_secs(10);
    for &port in ports {
        while TcpListener::bind(("127.0.0.1", port)).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        if TcpListener::bind(("127.0.0.1", port)).is_err() {
            bail!(
                "port {port} on 127.0.0.1 is in use; stop what uses it, or move testenv's ports with {}=<first port>",
                crate::layout::ENV_PORT_BASE
            );
        }
    }
    Ok(())
}

async fn up_async(
    opts: &UpOptions,
    bins: &Binaries,
    kafka: Option<&KafkaRuntime>,
) -> anyhow::Result<()> {
    let layout = &opts.layout;
    let started = Instant::now();
    let plan = plan(layout, bins);
    let binaries = binaries_map(bins);

    if !opts.restart
        && let Ok(state) = State::read(&layout.dir)
        && state.settings == layout.settings
        && state.binaries == binaries
        && all_healthy(layout, &plan).await
    {
        return already_up(layout, state, kafka).await;
    }
    let previous = process::recorded(layout);
    if !previous.is_empty() {
        println!("testenv: stopping the previous environment");
        process::stop(layout, &previous, STOP_GRACE);
    }
    clean_run_dir(layout)?;
    check_ports_free(layout, kafka.is_some())?;
    std::fs::create_dir_all(&layout.dir)?;

    // Formatting Kafka's storage starts a JVM for a few seconds: do it while the
    // certificates are made and the first daemons start.
    let mut kafka_format = kafka.map(|rt| {
        let (layout, rt) = (layout.clone(), rt.clone());
        std::thread::spawn(move || kafka::prepare(&layout, &rt))
    });
    let kafka_plan: Vec<Planned> = kafka
        .map(|rt| kafka::planned(layout, rt))
        .into_iter()
        .collect();

    let pki = pki::generate(layout)?;
    for c in CLUSTERS {
        std::fs::create_dir_all(layout.cluster_dir(c))?;
        render::cluster_kubeconfigs(layout, &pki, c)?;
        render::cluster_auth_files(layout, &pki, c)?;
    }
    render::write_dex_config(layout)?;
    std::fs::create_dir_all(layout.dir.join("mail"))?;
    render::write_kwok_config(
        layout,
        &bins.kwok_stages(),
        &crate::layout::repo_root().join("testenv").join("kwok"),
    )?;
    let probe = Probe::new(layout)?;

    for phase in 1..=3u8 {
        let mut items: Vec<&Planned> = plan.iter().filter(|p| p.phase == phase).collect();
        let t = Instant::now();
        for p in &items {
            process::spawn(layout, &p.daemon)?;
        }
        if phase == 1
            && let Some(job) = kafka_format.take()
        {
            job.join()
                .map_err(|_| anyhow::anyhow!("formatting Kafka's storage panicked"))??;
            for p in &kafka_plan {
                process::spawn(layout, &p.daemon)?;
            }
        }
        if phase == 3 {
            // Kafka was started with the first phase; it is waited for with the last.
            items.extend(kafka_plan.iter());
        }
        let names: Vec<&str> = items.iter().map(|p| p.daemon.name.as_str()).collect();
        let timeout = if phase == 2 {
            APISERVER_TIMEOUT
        } else {
            COMPONENT_TIMEOUT
        };
        if phase == 3 {
            // Nodes and RBAC can be created while the controllers start.
            for t in TARGETS {
                setup::setup_target(layout, t).await?;
            }
        }
        wait_healthy(layout, &probe, &items, timeout).await?;
        println!(
            "testenv: {} healthy after {}",
            names.join(", "),
            fmt_duration(t.elapsed())
        );
    }

    let t = Instant::now();
    let warnings = reconcile_hub(layout).await?;
    for target in TARGETS {
        setup::wait_nodes_ready(layout, target, COMPONENT_TIMEOUT).await?;
    }
    for c in CLUSTERS {
        setup::wait_default_service_account(layout, c, COMPONENT_TIMEOUT).await?;
    }
    println!(
        "testenv: nodes Ready, CRDs Established, hub objects created after {}",
        fmt_duration(t.elapsed())
    );

    let versions = build::Versions::load()?;
    let state = State {
        settings: layout.settings.clone(),
        binaries,
        versions: versions
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        kubectl: bins.path("kubectl"),
        kafka: kafka.cloned(),
    };
    std::fs::write(layout.state_file(), serde_json::to_string_pretty(&state)?)?;
    if !warnings.is_empty() {
        println!("testenv: up with {} warning(s), see above", warnings.len());
    }
    println!(
        "testenv: up in {} (run directory {}); `cargo xtask testenv env` prints the variables",
        fmt_duration(started.elapsed()),
        layout.dir.display()
    );
    Ok(())
}

/// `up` on a healthy environment with the same settings: re-applies the hub objects and
/// starts Kafka if it is wanted and not (or no longer) running.
async fn already_up(
    layout: &Layout,
    mut state: State,
    kafka: Option<&KafkaRuntime>,
) -> anyhow::Result<()> {
    println!("testenv: already up in {}", layout.dir.display());
    reconcile_hub(layout).await?;
    if let Some(rt) = kafka {
        let kafka_plan = kafka::planned(layout, rt);
        if state.kafka.as_ref() != Some(rt) || !all_healthy(layout, &[kafka_plan]).await {
            add_kafka(layout, rt).await?;
            state.kafka = Some(rt.clone());
            std::fs::write(layout.state_file(), serde_json::to_string_pretty(&state)?)?;
        }
    }
    Ok(())
}

/// Starts Kafka beside a running environment (again, if a previous one died or runs
/// another release). On failure it stops what it started; the rest keeps running.
async fn add_kafka(layout: &Layout, rt: &KafkaRuntime) -> anyhow::Result<()> {
    let t = Instant::now();
    let stale: Vec<Recorded> = process::find(layout, kafka::NAME).into_iter().collect();
    process::stop(layout, &stale, STOP_GRACE);
    wait_ports_free(&kafka_ports(layout))?;
    let planned = kafka::planned(layout, rt);
    let started = async {
        let (l, r) = (layout.clone(), rt.clone());
        tokio::task::spawn_blocking(move || kafka::prepare(&l, &r)).await??;
        process::spawn(layout, &planned.daemon)?;
        let probe = Probe::new(layout)?;
        wait_healthy(layout, &probe, &[&planned], COMPONENT_TIMEOUT).await
    }
    .await;
    if let Err(e) = started {
        let started: Vec<Recorded> = process::find(layout, kafka::NAME).into_iter().collect();
        process::stop(layout, &started, STOP_GRACE);
        return Err(e);
    }
    println!(
        "testenv: kafka healthy after {} on {}",
        fmt_duration(t.elapsed()),
        layout.kafka_bootstrap()
    );
    Ok(())
}

/// Applies `config/crd/` and the hub objects; returns warnings.
async fn reconcile_hub(layout: &Layout) -> anyhow::Result<Vec<String>> {
    let client = setup::client(&layout.kubeconfig(HUB)).await?;
    let crd_dir = crate::layout::repo_root().join("config").join("crd");
    let crds = setup::apply_crds(&client, &crd_dir, COMPONENT_TIMEOUT).await?;
    let mut warnings = Vec::new();
    if crds.is_empty() {
        warnings.push(format!(
            "no CRDs found in {}; none installed on the hub",
            crd_dir.display()
        ));
    } else {
        println!("testenv: {} CRDs Established on the hub", crds.len());
    }
    warnings.extend(setup::setup_hub(layout, &client, &TARGETS).await?);
    for w in &warnings {
        println!("testenv: warning: {w}");
    }
    Ok(warnings)
}

/// `cargo xtask testenv down`: stops every daemon. Idempotent.
pub fn down(layout: &Layout) -> anyhow::Result<()> {
    let all = process::recorded(layout);
    let live = all.iter().filter(|r| r.alive()).count();
    process::stop(layout, &all, STOP_GRACE);
    let _ = std::fs::remove_file(layout.state_file());
    if live == 0 {
        println!("testenv: nothing was running");
    } else {
        println!(
            "testenv: stopped {live} processes (logs kept in {})",
            layout.log_dir().display()
        );
    }
    Ok(())
}

/// One line of `status`.
#[derive(Debug, Clone)]
pub struct ComponentStatus {
    /// Daemon name.
    pub name: String,
    /// Pid, if recorded.
    pub pid: Option<i32>,
    /// Process alive.
    pub alive: bool,
    /// Health check result.
    pub health: Result<(), String>,
    /// Resident memory in KiB.
    pub rss_kib: u64,
}

/// Status of every component (no build; the binary paths come from `state.json`).
pub fn component_status(layout: &Layout) -> anyhow::Result<Vec<ComponentStatus>> {
    install_crypto_provider();
    let recorded: BTreeMap<String, Recorded> = process::recorded(layout)
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    let state = State::read(&layout.dir).ok();
    let fake_bins = match &state {
        Some(state) => build_binaries_from_state(state),
        None => Binaries::from_dirs(&BTreeMap::new()),
    };
    let mut plan = plan(layout, &fake_bins);
    // Kafka is listed when the environment runs it, or when a start left it behind.
    let kafka = state.and_then(|s| s.kafka).or_else(|| {
        recorded.get(kafka::NAME).map(|r| KafkaRuntime {
            version: String::new(),
            java: r.bin.clone(),
            libs: PathBuf::new(),
        })
    });
    plan.extend(kafka.map(|rt| kafka::planned(layout, &rt)));
    let rt = runtime()?;
    let probe = Probe::new(layout).ok();
    let mut out = Vec::new();
    for p in plan {
        let r = recorded.get(&p.daemon.name);
        let alive = r.is_some_and(Recorded::alive);
        let health = match (&probe, alive) {
            (Some(probe), true) => rt.block_on(probe.check(&p.health)),
            (_, true) => Err("no certificates in the run directory".to_owned()),
            (_, false) => Err("not running".to_owned()),
        };
        out.push(ComponentStatus {
            name: p.daemon.name.clone(),
            pid: r.map(|r| r.pid),
            alive,
            health,
            rss_kib: r
                .filter(|r| r.alive())
                .map_or(0, |r| process::rss_kib(r.pid)),
        });
    }
    Ok(out)
}

fn build_binaries_from_state(state: &State) -> Binaries {
    Binaries::from_dirs(&state.binaries)
}

/// `cargo xtask testenv status`: prints every component; fails unless all are healthy.
pub fn status(layout: &Layout) -> anyhow::Result<()> {
    let st = component_status(layout)?;
    println!("{:<34} {:>8} {:>9}  state", "component", "pid", "rss");
    let mut total = 0;
    let mut ok = 0;
    for c in &st {
        total += c.rss_kib;
        let state = match (&c.health, c.alive) {
            (Ok(()), _) => {
                ok += 1;
                "healthy".to_owned()
            }
            (Err(e), true) => format!("running, not healthy: {e}"),
            (Err(_), false) => "down".to_owned(),
        };
        println!(
            "{:<34} {:>8} {:>7}Mi  {state}",
            c.name,
            c.pid
                .map(|p| p.to_string())
                .unwrap_or_else(|| "-".to_owned()),
            c.rss_kib / 1024,
        );
    }
    println!(
        "{ok} of {} components healthy, {} MiB resident in total; run directory {}",
        st.len(),
        total / 1024,
        layout.dir.display()
    );
    if ok != st.len() {
        bail!("testenv is not (fully) up: start it with `cargo xtask testenv up`");
    }
    Ok(())
}

/// The variables `env` prints, in order.
pub fn env_vars(layout: &Layout) -> anyhow::Result<Vec<(String, String)>> {
    let state = State::read(&layout.dir).map_err(|_| {
        anyhow::anyhow!(
            "testenv is not up (no {}): start it with `cargo xtask testenv up`",
            layout.state_file().display()
        )
    })?;
    let l = Layout::new(layout.dir.clone(), state.settings.clone());
    let d = |p: &Path| p.display().to_string();
    let mut v = vec![
        ("BREAKGLASS_TESTENV_DIR".to_owned(), d(&l.dir)),
        (
            "BREAKGLASS_HUB_KUBECONFIG".to_owned(),
            d(&l.kubeconfig(HUB)),
        ),
        ("BREAKGLASS_HUB_URL".to_owned(), l.server_url(HUB)),
    ];
    for t in TARGETS {
        let key = t.to_uppercase().replace('-', "_");
        v.push((format!("BREAKGLASS_{key}_KUBECONFIG"), d(&l.kubeconfig(t))));
        v.push((format!("BREAKGLASS_{key}_URL"), l.server_url(t)));
    }
    v.extend([
        ("BREAKGLASS_CA_FILE".to_owned(), d(&l.ca_file())),
        (
            "BREAKGLASS_WEBHOOK_ADDR".to_owned(),
            l.settings.webhook_addr.to_string(),
        ),
        (
            "BREAKGLASS_WEBHOOK_URL_PREFIX".to_owned(),
            format!(
                "http://{}{}",
                l.settings.webhook_addr,
                crate::layout::WEBHOOK_PATH
            ),
        ),
        (
            "BREAKGLASS_WEBHOOK_FAILURE_POLICY".to_owned(),
            l.settings.failure_policy.as_str().to_owned(),
        ),
        ("BREAKGLASS_OIDC_ISSUER".to_owned(), l.dex_issuer()),
        (
            "BREAKGLASS_OIDC_CLIENT_ID".to_owned(),
            OIDC_CLIENT_ID.to_owned(),
        ),
        (
            "BREAKGLASS_OIDC_CLIENT_SECRET".to_owned(),
            OIDC_CLIENT_SECRET.to_owned(),
        ),
        (
            "BREAKGLASS_OIDC_CLI_CLIENT_ID".to_owned(),
            crate::layout::CLI_CLIENT_ID.to_owned(),
        ),
        (
            "BREAKGLASS_OIDC_GROUP_PREFIX".to_owned(),
            l.settings.group_prefix.clone(),
        ),
        ("BREAKGLASS_SMTP_ADDR".to_owned(), l.smtp_addr().to_string()),
        ("BREAKGLASS_MAIL_API".to_owned(), l.mail_api()),
        (
            "BREAKGLASS_CLUSTER_NAMESPACE".to_owned(),
            SYSTEM_NAMESPACE.to_owned(),
        ),
        (
            "BREAKGLASS_KUBECONFIG_SECRET_KEY".to_owned(),
            KUBECONFIG_SECRET_KEY.to_owned(),
        ),
        ("KUBECTL".to_owned(), d(&state.kubectl)),
    ]);
    let kafka_alive = process::find(&l, kafka::NAME).is_some_and(|r| r.alive());
    if state.kafka.is_some() && kafka_alive {
        v.push((ENV_KAFKA.to_owned(), l.kafka_bootstrap().to_string()));
    }
    Ok(v)
}

/// Quotes a value for a POSIX shell.
pub fn shell_quote(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=,+@%".contains(c))
    {
        v.to_owned()
    } else {
        format!("'{}'", v.replace('\'', "'\\''"))
    }
}

/// `cargo xtask testenv env`: prints `export NAME=value` lines.
pub fn env(layout: &Layout) -> anyhow::Result<()> {
    for (k, v) in env_vars(layout)? {
        println!("export {k}={}", shell_quote(&v));
    }
    Ok(())
}

/// `cargo xtask testenv token USER`: an ID token of a test user, with groups
/// (or from the password grant, without groups).
pub fn token(layout: &Layout, user: &str, password_grant: bool) -> anyhow::Result<String> {
    let env = crate::TestEnv::load(&layout.dir)?;
    let rt = runtime()?;
    rt.block_on(async {
        if password_grant {
            Ok(env.dex_password_tokens(user).await?.id_token)
        } else {
            Ok(env.dex_token(user).await?)
        }
    })
}
