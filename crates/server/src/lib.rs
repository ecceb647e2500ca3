//! The breakglass hub server: REST API, authorization webhook, controllers.

// Scenario tests may be long; the length limit is for the code they test.
#![cfg_attr(test, allow(clippy::too_many_lines))]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use prometheus_client::registry::Registry;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub mod activity;
pub mod app;
pub mod audit;
pub mod auth;
pub mod clusters;
pub mod config;
pub mod creation_lock;
pub mod debug;
pub mod deny_policy_reconciler;
pub mod error;
pub mod escalation_reconciler;
pub mod events;
pub mod http;
pub mod hub_answer;
pub mod identity;
pub mod idp;
pub mod index;
pub mod leader;
pub mod mail;
pub mod metrics;
pub mod rate_limit;
pub mod rbac;
pub mod rest;
pub mod revocation;
pub mod session_writes;
pub mod store;
pub mod target_access;
pub mod target_limit;
pub mod timers;
pub mod tls;
pub mod ui;
pub mod webhook;

/// Installs ring as the process-wide TLS crypto provider (idempotent). Every TLS client
/// and server of the process uses it; we ship exactly one provider.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Fails only if another provider was installed first, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listen address is not an address.
    #[error("invalid listen address {0:?}: expected host:port or :port")]
    ListenAddress(String),
    /// Binding or serving failed.
    #[error("HTTP server on {addr}: {source}")]
    Http {
        /// The address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The election's timing is unsafe.
    #[error("leader election: {0}")]
    Leader(#[from] leader::TimingError),
    /// A configuration value is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// TLS settings are unusable.
    #[error("TLS: {0}")]
    Tls(String),
}

/// Which parts of the server run, and how.
pub struct Options {
    /// The configuration file.
    pub config: config::Config,
    /// Runtime settings.
    pub settings: app::Settings,
    /// Client of the hub cluster.
    pub hub: kube::Client,
    /// Serve the REST API (`/api/...`).
    pub enable_api: bool,
    /// Run the session timers (expiry, approval timeout, activation, deletion).
    pub enable_cleanup: bool,
    /// Run the escalation and ClusterConfig reconcilers.
    pub enable_controllers: bool,
    /// The Lease election; `None` runs the writers unconditionally (one replica).
    pub election: Option<leader::Election>,
}

/// Parses `:8080`, `0.0.0.0:8080` or `[::1]:8080`.
pub fn parse_listen_address(text: &str) -> Result<SocketAddr, ServerError> {
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else {
        text.to_owned()
    };
    full.parse()
        .map_err(|_| ServerError::ListenAddress(text.to_owned()))
}

/// How often the hub probe asks the hub for its version (readiness).
const HUB_PROBE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs the server until `shutdown` completes, then stops gracefully: leadership is
/// released, in-flight requests finish (bounded by `server.shutdownTimeout`), and
/// buffered activity is written.
pub async fn run(
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    install_crypto_provider();
    let addr = parse_listen_address(&options.config.server.listen_address)?;
    if options.config.server.tls_cert_file.is_some() {
        return Err(ServerError::Tls(
            "serving HTTPS directly is not supported yet; terminate TLS in front of the server (ingress or sidecar)".to_owned(),
        ));
    }
    if let Some(e) = &options.election {
        e.timing.validate()?;
    }
    let tls_listener = match &options.config.server.tls {
        Some(settings) => Some(bind_tls(settings).await?),
        None => None,
    };
    let mut registry = Registry::with_prefix("breakglass");
    let metrics = metrics::Metrics::new(&mut registry);
    let mail_metrics = mail::MailMetrics::new(&mut registry);
    let audit_metrics = breakglass_audit::metrics::AuditMetrics::new(&mut registry);
    let wake_clusters = Arc::new(Notify::new());
    let Options {
        config,
        settings,
        hub,
        enable_api,
        enable_cleanup,
        enable_controllers,
        election,
    } = options;
    let app = build_app(
        config,
        settings,
        hub,
        metrics.clone(),
        audit_metrics,
        wake_clusters.clone(),
    );
    let mail = start_mail(&app, mail_metrics);
    let flusher = tokio::spawn(
        app.activity
            .clone()
            .flush_loop(app.hub.clone(), app.settings.activity_flush_interval),
    );
    let hub_contact = store::HubContact::default();
    let hub_probe = tokio::spawn(hub_contact.clone().probe_loop(
        app.hub.clone(),
        HUB_PROBE_INTERVAL,
        HUB_PROBE_INTERVAL,
    ));
    let limits = Arc::new(
        rate_limit::RateLimits::new(&app.config.rate_limits, &app.config.server.trusted_proxies)
            .map_err(|e| ServerError::Config(e.to_string()))?,
    );
    let limits_cleanup = limits.spawn_cleanup();
    let state = http::AppState {
        app: app.clone(),
        registry: Arc::new(registry),
        hub_contact: hub_contact.clone(),
        limits,
    };
    let api = if enable_api {
        rest::router().merge(webhook::router())
    } else {
        axum::Router::new()
    };
    let admission = http::router(state.clone(), webhook::admission_router(), false);
    let router = http::router(state, api, enable_api);

    let stop = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Http {
            addr: addr.to_string(),
            source,
        })?;
    tracing::info!(address = %addr, "listening");

    let spawn = writers(
        app.clone(),
        enable_cleanup,
        enable_controllers,
        wake_clusters,
        mail,
    );
    let leader_stop = stop.clone();
    let leader = tokio::spawn(leader::run(
        app.hub.clone(),
        election,
        metrics,
        hub_contact,
        spawn,
        Box::pin(async move { leader_stop.cancelled().await }),
    ));

    let tls_server = tls_listener.map(|(listener, config)| {
        tokio::spawn(tls::serve(listener, admission, config, stop.clone()))
    });
    let trigger = stop.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down");
        trigger.cancel();
    });
    let result = serve(listener, router, stop, app.config.shutdown_timeout()).await;
    if let Err(e) = leader.await {
        tracing::warn!(error = %e, "leader election task failed");
    }
    if let Some(t) = tls_server {
        let _ = t.await;
    }
    hub_probe.abort();
    flusher.abort();
    limits_cleanup.abort();
    app.activity.flush(&app.hub).await;
    tracing::info!("stopped");
    result
}

/// Loads the certificate pair and binds the HTTPS listener of `server.tls`.
async fn bind_tls(
    settings: &config::TlsListenerConfig,
) -> Result<(tokio::net::TcpListener, rustls::ServerConfig), ServerError> {
    let addr = parse_listen_address(&settings.listen_address)?;
    let certs = tls::ReloadingCert::new(&settings.cert_file, &settings.key_file)
        .map_err(|e| ServerError::Tls(e.to_string()))?;
    let config =
        tls::server_config(Arc::new(certs)).map_err(|e| ServerError::Tls(e.to_string()))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Http {
            addr: addr.to_string(),
            source,
        })?;
    tracing::info!(address = %addr, "listening (HTTPS, admission webhooks)");
    Ok((listener, config))
}

/// Builds the shared application state and starts the watches every replica runs.
fn build_app(
    config: config::Config,
    settings: app::Settings,
    hub: kube::Client,
    metrics: metrics::Metrics,
    audit_metrics: breakglass_audit::metrics::AuditMetrics,
    wake_clusters: Arc<Notify>,
) -> Arc<app::App> {
    let stores = store::Stores::start(&hub);
    let auth = auth::Authenticator::new();
    let auth_ready = idp::sync(stores.clone(), auth.clone());
    let events = events::EventBus::new();
    events.log_events();
    let clusters =
        clusters::ClusterClients::new(hub.clone(), stores.clone()).with_metrics(metrics.clone());
    clusters::watch_secrets(clusters.clone(), wake_clusters);
    let activity = activity::ActivityTracker::new();
    let (group_ttl, pod_ttl) = config.webhook_cache();
    let rbac = (!config.webhook.disable_local_rbac).then(|| {
        let rbac = rbac::TargetRbac::new(
            clusters.clone(),
            config
                .webhook
                .local_rbac_max_objects
                .unwrap_or(rbac::DEFAULT_MAX_OBJECTS),
            metrics.rbac.clone(),
        );
        tokio::spawn(rbac.clone().supervise(stores.clusters.clone()));
        rbac
    });
    let access: Arc<dyn target_access::TargetAccess> = Arc::new(target_access::KubeAccess::new(
        clusters.clone(),
        rbac,
        target_access::CacheSettings {
            group_check_ttl: group_ttl,
            pod_ttl,
        },
    ));
    metrics.revocation.follow(stores.sessions.clone());
    let sessions_by_user = index::SessionIndex::follow(stores.sessions.clone());
    let debug_sessions_by_user =
        debug::index::DebugSessionIndex::follow(stores.debug_sessions.clone());
    let escalations_by_cluster = index::EscalationIndex::follow(stores.escalations.clone());
    let deny_policies_by_cluster = index::DenyPolicyIndex::follow(stores.deny_policies.clone());
    let authz = webhook::authz_config(&config);
    let audit = audit::Audit::new(audit_metrics);
    audit.follow(&events);
    tokio::spawn(audit::reload_loop(
        audit.clone(),
        stores.audit_configs.clone(),
        hub.clone(),
        settings.lock_namespace.clone(),
        settings.identity.clone(),
    ));
    tokio::spawn(audit::template_loop(
        audit.clone(),
        stores.debug_templates.clone(),
        hub.clone(),
        settings.lock_namespace.clone(),
        settings.identity.clone(),
    ));
    Arc::new(app::App {
        config: Arc::new(config),
        settings,
        hub,
        stores,
        auth,
        auth_ready,
        metrics,
        events,
        clusters,
        activity,
        sessions_by_user,
        debug_sessions_by_user,
        escalations_by_cluster,
        deny_policies_by_cluster,
        access,
        authz,
        audit,
    })
}

/// What the leader needs to write MailProvider status.
struct MailWriter {
    mailer: Arc<mail::Mailer>,
    providers: store::Mirror<breakglass_api::mail_provider::MailProvider>,
    changed: Arc<Notify>,
}

/// Starts the mail senders every replica runs: the MailProvider watch and the event
/// subscribers.
fn start_mail(app: &Arc<app::App>, metrics: mail::MailMetrics) -> MailWriter {
    let mailer = mail::Mailer::new(&app.config, metrics);
    let changed = Arc::new(Notify::new());
    let providers = mail::providers::watch(mailer.clone(), app.hub.clone(), changed.clone());
    mail::sessions::follow(mailer.clone(), &app.events, app.stores.clone());
    mail::debug::follow(mailer.clone(), &app.events, app.stores.clone());
    MailWriter {
        mailer,
        providers,
        changed,
    }
}

/// The leader-only writers: timers, reconcilers, garbage collection.
fn writers(
    app: Arc<app::App>,
    enable_cleanup: bool,
    enable_controllers: bool,
    wake_clusters: Arc<Notify>,
    mail: MailWriter,
) -> leader::Spawner {
    Box::new(move || {
        let a = app.clone();
        let mut tasks = Vec::new();
        if enable_cleanup {
            // One context for both kinds: the same hub, mirrors, bus and timer settings.
            let ctx = timers::Context {
                hub: a.hub.clone(),
                stores: a.stores.clone(),
                bus: a.events.clone(),
                metrics: a.metrics.clone(),
                debug: a.config.debug_timers(),
            };
            tasks.push(tokio::spawn(timers::run::<
                breakglass_api::breakglass_session::BreakglassSession,
            >(ctx.clone())));
            tasks.push(tokio::spawn(timers::run::<
                breakglass_api::debug_session::DebugSession,
            >(ctx)));
            tasks.push(tokio::spawn(creation_lock::collect_loop(
                a.hub.clone(),
                a.settings.lock_namespace.clone(),
            )));
        }
        // Status reports, not decisions: the leader writes them even without cleanup.
        tasks.push(tokio::spawn(audit::status_loop(
            a.audit.clone(),
            a.stores.audit_configs.clone(),
            a.hub.clone(),
            a.config.audit_status_interval(),
        )));
        if enable_controllers {
            tasks.push(tokio::spawn(escalation_reconciler::run(
                a.hub.clone(),
                a.stores.clone(),
            )));
            tasks.push(tokio::spawn(debug::reconcile::run(
                debug::reconcile::Context {
                    hub: a.hub.clone(),
                    stores: a.stores.clone(),
                    clusters: a.clusters.clone(),
                    timers: a.config.debug_timers(),
                    bus: a.events.clone(),
                    metrics: a.metrics.clone(),
                },
            )));
            tasks.push(tokio::spawn(mail::status::run(
                mail.mailer.clone(),
                a.hub.clone(),
                mail.providers.clone(),
                mail.changed.clone(),
            )));
            tasks.push(tokio::spawn(deny_policy_reconciler::run(
                a.hub.clone(),
                a.stores.clone(),
            )));
            tasks.push(tokio::spawn(clusters::reconcile_loop(
                a.hub.clone(),
                a.stores.clone(),
                a.clusters.clone(),
                a.metrics.clone(),
                a.settings.cluster_check_interval,
                wake_clusters.clone(),
            )));
        }
        tasks
    })
}

/// Serves until `stop` is cancelled, then lets in-flight requests finish within `grace`.
async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    stop: CancellationToken,
    grace: std::time::Duration,
) -> Result<(), ServerError> {
    let addr = listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    let graceful = stop.clone();
    // The peer address feeds the per-source rate limit.
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, service).with_graceful_shutdown(async move {
        graceful.cancelled().await;
    });
    let served = tokio::spawn(async move { server.await });
    stop.cancelled().await;
    match tokio::time::timeout(grace, served).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(source))) => Err(ServerError::Http { addr, source }),
        Ok(Err(e)) => Err(ServerError::Http {
            addr,
            source: std::io::Error::other(e.to_string()),
        }),
        Err(_) => {
            tracing::warn!("in-flight requests did not finish within the shutdown timeout");
            Ok(())
        }
    }
}
