//! Audit in the server: every replica follows the AuditConfigs (and the Secrets of the
//! controller namespace they reference) and rebuilds its pipeline when they change;
//! session lifecycle events from the [`EventBus`] and the webhook's decisions become
//! audit events; the leader writes each AuditConfig's status periodically.
//!
//! Which replica emits what: a session event is emitted by the replica that made the
//! change (the one serving the REST call, or the leader for timers), a webhook decision
//! by the replica that answered it, so each event is emitted once. Status shows the
//! leader's counts; every replica's own are in its metrics.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use breakglass_api::AuditConfig;
use breakglass_api::breakglass_session::BreakglassSession;
use breakglass_api::debug_session::DebugSession;
use breakglass_api::debug_session_template::DebugSessionTemplate;
use breakglass_audit::metrics::AuditMetrics;
use breakglass_audit::pipeline::{BuildContext, StatsRegistry};
use breakglass_audit::{Actor, AuditEvent, Manager, Target, types};
use breakglass_core::authz::impersonation::{self, VerbClass};
use breakglass_core::authz::{Attributes, Decision, Pass, PodSecurityRecord, SarRequest};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio::sync::broadcast;

use crate::events::{DebugEvent, DebugEventKind, EventBus, EventKind, SessionEvent};
use crate::store::Mirror;

/// Webhook decisions waiting to become audit events.
pub const ACCESS_INTAKE: usize = 65_536;

/// Decisions turned into events at once.
const ACCESS_SLICE: usize = 512;

/// How long the intake gathers decisions after handling some (unless it took a full
/// slice): the most an `access.*` event is delayed by it. At the intake's size this
/// leaves room for over a million decisions a second.
pub const ACCESS_GATHER: Duration = Duration::from_millis(20);

/// A webhook decision as the decision path hands it over: the parts it already has, so
/// that building the envelope (id, details, grant id parsing) happens off that path.
pub struct AccessRecord {
    cluster: String,
    request: SarRequest,
    allowed: bool,
    reason: String,
    stage: &'static str,
    deny_source: &'static str,
    /// Pod-security evaluations (empty, and unallocated, for nearly every review).
    pod_security: Vec<PodSecurityRecord>,
    at: jiff::Timestamp,
}

/// The audit pipeline of this replica, swapped whole on reload.
pub struct Audit {
    current: RwLock<Arc<Manager>>,
    enabled: AtomicBool,
    /// Pipelines of debug-session templates' own destinations
    /// (`spec.audit.destinations`), by template name; see [`template_config`].
    templates: RwLock<Arc<HashMap<String, Arc<Manager>>>>,
    /// Counts of the template pipelines (no status is written for them).
    template_stats: StatsRegistry,
    access: tokio::sync::mpsc::Sender<AccessRecord>,
    /// Metrics of the pipeline.
    pub metrics: AuditMetrics,
    /// Counts kept across reloads, for the status.
    pub stats: StatsRegistry,
}

impl Audit {
    /// A pipeline that records nothing until [`Audit::replace`]; starts the task that
    /// turns webhook decisions into events (needs a Tokio runtime).
    pub fn new(metrics: AuditMetrics) -> Arc<Self> {
        let (access, mut intake) = tokio::sync::mpsc::channel::<AccessRecord>(ACCESS_INTAKE);
        let audit = Arc::new(Self {
            current: RwLock::new(Arc::new(Manager::empty())),
            enabled: AtomicBool::new(false),
            templates: RwLock::new(Arc::new(HashMap::new())),
            template_stats: StatsRegistry::default(),
            access,
            metrics,
            stats: StatsRegistry::default(),
        });
        let weak = Arc::downgrade(&audit);
        tokio::spawn(async move {
            let mut slice = Vec::with_capacity(ACCESS_SLICE);
            while intake.recv_many(&mut slice, ACCESS_SLICE).await > 0 {
                let full = slice.len() == ACCESS_SLICE;
                {
                    let Some(audit) = weak.upgrade() else { break };
                    for record in slice.drain(..) {
                        access_events(&record, |e| audit.emit(e));
                    }
                }
                // Decisions arrive one per review; gathering them for a moment wakes
                // this task, the pipeline's workers and its sinks once per handful
                // instead of once per event, which is most of their cost under load.
                if !full {
                    tokio::time::sleep(ACCESS_GATHER).await;
                }
            }
        });
        audit
    }

    /// Puts `manager` in effect; the previous one drains and stops.
    pub fn replace(&self, manager: Manager) {
        self.enabled.store(!manager.is_empty(), Ordering::Release);
        let mut current = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *current = Arc::new(manager);
    }

    /// True when some AuditConfig is in effect (callers skip building events otherwise).
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    /// Records `event`; never waits.
    pub fn emit(&self, event: AuditEvent) {
        let manager = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        manager.emit(event);
    }

    /// Records the webhook's decision (see [`access_events`]): a `try_send` of what the
    /// decision path already holds
    /// into a bounded intake ([`ACCESS_INTAKE`]); the envelope is built by a task of its
    /// own. Nothing when audit is off; never waits. A full intake is counted
    /// (`breakglass_audit_intake_dropped_total`) rather than logged per event, which
    /// would put the log's cost on the decision path.
    pub fn access(&self, cluster: &str, request: SarRequest, decision: &Decision) {
        if !self.enabled() {
            return;
        }
        let record = AccessRecord {
            cluster: cluster.to_owned(),
            request,
            allowed: decision.allowed,
            reason: decision.reason.clone(),
            stage: decision.trace.stage.name(),
            deny_source: decision.deny_source(),
            pod_security: decision.trace.pod_security.clone(),
            at: jiff::Timestamp::now(),
        };
        if self.access.try_send(record).is_err() {
            self.metrics.intake_dropped.inc();
        }
    }

    /// Follows the session and debug-session lifecycle events of `bus`.
    pub fn follow(self: &Arc<Self>, bus: &EventBus) {
        let audit = self.clone();
        crate::events::consume(bus.subscribe(), "audit of session events", move |event| {
            if audit.enabled() {
                audit.emit(session_event(&event));
            }
        });
        let audit = self.clone();
        crate::events::consume(
            bus.subscribe_debug(),
            "audit of debug-session events",
            move |event| {
                let template = audit.template(&event.session.spec.template_ref);
                if template.is_none() && !audit.enabled() {
                    return;
                }
                let e = debug_event(&event);
                if let Some(t) = template {
                    t.emit(e.clone());
                }
                if audit.enabled() {
                    audit.emit(e);
                }
            },
        );
    }

    /// The pipeline of template `name`'s own destinations, if it has any.
    fn template(&self, name: &str) -> Option<Arc<Manager>> {
        self.templates
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Puts the template pipelines in effect; the previous ones drain and stop.
    fn replace_templates(&self, managers: HashMap<String, Arc<Manager>>) {
        *self
            .templates
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(managers);
    }
}

/// Name prefix of the pipelines built for templates' own destinations (in logs and the
/// `config` label of the audit metrics).
pub const TEMPLATE_CONFIG_PREFIX: &str = "debug-template.";

/// The pipeline a DebugSessionTemplate's `spec.audit` asks for, as an AuditConfig:
/// its debug sessions' `debug_session.*` events go to each `webhook` destination (the
/// envelope, POSTed with the destination's headers) and, for a `kubernetes`
/// destination, become Events on the hub regarding the session. The `breakglass`
/// destination is the operator's AuditConfigs, which record these events anyway, so
/// it adds nothing; neither does `enabled: false`, which cannot switch the operator's
/// audit off. `None` when nothing beyond that is asked for.
pub fn template_config(t: &DebugSessionTemplate) -> Option<AuditConfig> {
    use breakglass_api::debug_session_template::DebugAuditDestinationType as Kind;
    let audit = t.spec.audit.as_ref()?;
    if audit.enabled == Some(false) {
        return None;
    }
    let mut sinks = Vec::new();
    for (i, d) in audit.destinations.iter().flatten().enumerate() {
        let name = format!("destination-{i}");
        match (d.type_, d.url.as_deref()) {
            (Kind::Webhook, Some(url)) if !url.is_empty() => sinks.push(json!({
                "name": name, "type": "webhook",
                "webhook": {"url": url, "headers": d.headers, "timeoutSeconds": 5},
            })),
            (Kind::Kubernetes, _) => sinks.push(json!({
                "name": name, "type": "kubernetes",
                "kubernetes": {"eventTypes": ["debug_session.*"]},
            })),
            _ => {}
        }
    }
    if sinks.is_empty() {
        return None;
    }
    serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "AuditConfig",
        "metadata": {"name": format!("{TEMPLATE_CONFIG_PREFIX}{}", t.name_any())},
        "spec": {
            "sinks": sinks,
            "filtering": {"includeEventTypes": ["debug_session.*"]},
            "queue": {"size": 1024, "workers": 1},
        },
    }))
    .ok()
}

/// Follows the DebugSessionTemplates and rebuilds the pipelines of their own audit
/// destinations when those change. Runs on every replica, like [`reload_loop`].
pub async fn template_loop(
    audit: Arc<Audit>,
    templates: Mirror<DebugSessionTemplate>,
    hub: Client,
    namespace: String,
    instance: String,
) {
    let mut changes = templates.subscribe();
    let mut built_from: Option<String> = None;
    loop {
        if templates.is_synced() {
            let configs: Vec<(String, AuditConfig)> = templates
                .all()
                .iter()
                .filter_map(|t| template_config(t).map(|c| (t.name_any(), c)))
                .collect();
            let fingerprint = configs
                .iter()
                .map(|(n, c)| {
                    format!(
                        "{n}:{};",
                        serde_json::to_string(&c.spec).unwrap_or_default()
                    )
                })
                .collect::<String>();
            if built_from.as_deref() != Some(fingerprint.as_str()) {
                let ctx = BuildContext {
                    hub: Some(hub.clone()),
                    namespace: namespace.clone(),
                    instance: instance.clone(),
                    secrets: BTreeMap::new(),
                    metrics: audit.metrics.clone(),
                    stats: audit.template_stats.clone(),
                };
                let managers: HashMap<String, Arc<Manager>> = configs
                    .into_iter()
                    .map(|(n, c)| (n, Arc::new(Manager::build(&[c], &ctx))))
                    .collect();
                audit.template_stats.retain(
                    &managers
                        .keys()
                        .map(|n| format!("{TEMPLATE_CONFIG_PREFIX}{n}"))
                        .collect::<Vec<_>>(),
                );
                let names: Vec<&String> = managers.keys().collect();
                tracing::info!(templates = ?names, "audit destinations of debug-session templates built");
                audit.replace_templates(managers);
                built_from = Some(fingerprint);
            }
        }
        tokio::select! {
            r = changes.recv() => if matches!(r, Err(broadcast::error::RecvError::Closed)) { break },
            () = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        while changes.try_recv().is_ok() {}
    }
}

/// The audit events of a webhook decision, in order: for each pod-security evaluation
/// `pod_security.evaluated`, then `pod_security.override`, `.warning` or `.denied` when
/// the evaluation was one; `resource.impersonate` when the request was to impersonate
/// (whatever the answer); last the decision itself, `access.granted`, `access.denied` or
/// `access.denied.policy`.
pub fn access_events(r: &AccessRecord, mut emit: impl FnMut(AuditEvent)) {
    let access = access_event(r);
    for p in &r.pod_security {
        let evaluated = pod_security_event(types::POD_SECURITY_EVALUATED, &access, p);
        let outcome = if p.overridden {
            Some(types::POD_SECURITY_OVERRIDE)
        } else {
            match p.action {
                "warn" => Some(types::POD_SECURITY_WARNING),
                "deny" => Some(types::POD_SECURITY_DENIED),
                _ => None,
            }
        };
        emit(evaluated);
        if let Some(type_) = outcome {
            emit(pod_security_event(type_, &access, p));
        }
    }
    if let Some(e) = impersonation_event(r, &access) {
        emit(e);
    }
    emit(access);
}

/// A `pod_security.*` event: the decision's actor and target (the pod), the request and
/// the evaluation.
fn pod_security_event(type_: &str, access: &AuditEvent, p: &PodSecurityRecord) -> AuditEvent {
    let pass = match &p.pass {
        Pass::Global => "global",
        Pass::Session(name) => name.as_str(),
    };
    let mut e = AuditEvent::new(type_, access.actor.clone(), access.target.clone());
    e.timestamp = access.timestamp;
    for key in ["verb", "subresource", "stage", "reason"] {
        if let Some(v) = access.details.get(key) {
            e.details.insert(key.to_owned(), v.clone());
        }
    }
    let mut e = e
        .detail("policy", p.policy.as_str())
        .detail("pass", pass)
        .detail("action", p.action)
        .detail("allowed", access.type_ == types::ACCESS_GRANTED);
    if let Some(score) = p.score {
        e = e.detail("riskScore", score);
    }
    if !p.factors.is_empty() {
        e = e.detail("factors", p.factors.clone());
    }
    e
}

/// `resource.impersonate` for a request whose verb is an impersonation verb
/// (`impersonate`, `impersonate:<mode>`, `impersonate-on:<mode>:<verb>`, or one that
/// only looks like one): who asked, to impersonate what, and the answer.
fn impersonation_event(r: &AccessRecord, access: &AuditEvent) -> Option<AuditEvent> {
    let Attributes::Resource(a) = &r.request.attributes else {
        return None;
    };
    let mode = match impersonation::classify_verb(&a.verb) {
        VerbClass::NotImpersonation => return None,
        VerbClass::Impersonation(v) => v.mode().as_str(),
        VerbClass::Unrecognised => "unrecognised",
    };
    let mut e = AuditEvent::new(
        types::RESOURCE_IMPERSONATE,
        access.actor.clone(),
        access.target.clone(),
    );
    e.timestamp = access.timestamp;
    e.details = access.details.clone();
    Some(
        e.detail("mode", mode)
            .detail("allowed", r.allowed)
            .detail("extraKey", a.subresource.as_str()),
    )
}

/// The `access.*` event of a webhook decision.
fn access_event(r: &AccessRecord) -> AuditEvent {
    let type_ = if r.allowed {
        types::ACCESS_GRANTED
    } else if matches!(r.stage, "deny-policy" | "pod-security" | "policy-error") {
        types::ACCESS_DENIED_POLICY
    } else {
        types::ACCESS_DENIED
    };
    let request = &r.request;
    let (kind, name, namespace, verb, group, subresource, path) = match &request.attributes {
        Attributes::Resource(a) => (
            a.resource.as_str(),
            a.name.as_str(),
            a.namespace.as_str(),
            a.verb.as_str(),
            a.group.as_str(),
            a.subresource.as_str(),
            "",
        ),
        Attributes::NonResource(n) => ("", "", "", n.verb.as_str(), "", "", n.path.as_str()),
    };
    let mut e = AuditEvent::new(
        type_,
        Actor {
            user: request.user.clone(),
            identity_provider: request.issuer.clone(),
            groups: request.groups.clone(),
            source_ip: None,
        },
        Target {
            cluster: r.cluster.clone(),
            kind: kind.to_owned(),
            name: name.to_owned(),
            namespace: namespace.to_owned(),
        },
    )
    .detail("verb", verb)
    .detail("apiGroup", group)
    .detail("resource", kind)
    .detail("subresource", subresource)
    .detail("path", path)
    .detail("stage", r.stage)
    .detail("reason", r.reason.as_str());
    e.timestamp = r.at;
    if !r.allowed {
        e = e.detail("denySource", r.deny_source);
    }
    if let Some(g) = breakglass_core::authz::grant::Grant::find(&r.reason) {
        e = e
            .detail("grantId", g.to_string())
            .detail("session", format!("{}/{}", g.namespace, g.name))
            .detail("approver", g.approver.unwrap_or_default());
    }
    e
}

/// The audit event of a session lifecycle event.
pub fn session_event(event: &SessionEvent) -> AuditEvent {
    let (type_, reason) = match event.kind {
        EventKind::Requested => (types::SESSION_REQUESTED, ""),
        EventKind::Approved => (types::SESSION_APPROVED, ""),
        EventKind::Activated => (types::SESSION_ACTIVATED, ""),
        EventKind::Rejected => (types::SESSION_DENIED, "rejected"),
        EventKind::Withdrawn => (types::SESSION_WITHDRAWN, ""),
        EventKind::Dropped => (types::SESSION_DROPPED, ""),
        EventKind::Canceled => (types::SESSION_REVOKED, "canceled"),
        EventKind::Expired => (types::SESSION_EXPIRED, "time"),
        EventKind::ApprovalTimeout => (types::SESSION_EXPIRED, "approval_timeout"),
        EventKind::IdleExpired => (types::SESSION_EXPIRED, "idle"),
    };
    session_audit(type_, reason, &event.actor, &event.session).detail("event", event.kind.as_str())
}

/// The audit event of a debug-session lifecycle event.
pub fn debug_event(event: &DebugEvent) -> AuditEvent {
    let (type_, reason) = match event.kind {
        DebugEventKind::Created => (types::DEBUG_CREATED, ""),
        DebugEventKind::ApprovalRequested => (types::DEBUG_APPROVAL_REQUESTED, ""),
        DebugEventKind::Approved => (types::DEBUG_APPROVED, ""),
        DebugEventKind::Rejected => (types::DEBUG_TERMINATED, "rejected"),
        DebugEventKind::Activated => (types::DEBUG_STARTED, ""),
        DebugEventKind::ApprovalTimedOut => (types::DEBUG_APPROVAL_TIMEOUT, ""),
        DebugEventKind::Expired => (types::DEBUG_EXPIRED, ""),
        DebugEventKind::ExpiryNotified => (types::DEBUG_EXPIRY_NOTIFIED, ""),
        DebugEventKind::Terminated => (types::DEBUG_TERMINATED, "terminated"),
        DebugEventKind::Failed => (types::DEBUG_FAILED, ""),
        DebugEventKind::Renewed => (types::DEBUG_RENEWED, ""),
        DebugEventKind::BindingUnresolved => (types::DEBUG_BINDING_UNRESOLVED, ""),
        DebugEventKind::PodFailed => (types::DEBUG_POD_FAILED, ""),
        DebugEventKind::PodRestarted => (types::DEBUG_POD_RESTARTED, ""),
        DebugEventKind::ResourceDeployed => (types::DEBUG_RESOURCE_DEPLOYED, ""),
        DebugEventKind::ResourceCleanup => (types::DEBUG_RESOURCE_CLEANUP, ""),
    };
    let s: &DebugSession = &event.session;
    let status = s.status.as_ref();
    let e = AuditEvent::new(
        type_,
        Actor {
            user: event.actor.clone(),
            ..Actor::default()
        },
        Target {
            cluster: s.spec.cluster.clone(),
            kind: "DebugSession".to_owned(),
            name: s.name_any(),
            namespace: s.namespace().unwrap_or_default(),
        },
    )
    .detail("event", event.kind.as_str())
    .detail("reason", reason)
    .detail("message", event.message.clone().unwrap_or_default())
    .detail("uid", s.uid().unwrap_or_default())
    .detail("requester", s.spec.requested_by.as_str())
    .detail("template", s.spec.template_ref.as_str())
    .detail(
        "targetNamespace",
        s.spec.target_namespace.clone().unwrap_or_default(),
    )
    .detail("requestReason", s.spec.reason.clone().unwrap_or_default())
    .detail(
        "state",
        status
            .and_then(|st| st.state)
            .map(|st| st.as_str())
            .unwrap_or_default(),
    )
    .detail(
        "expiresAt",
        status
            .and_then(|st| st.expires_at.as_ref())
            .map(|t| t.0.to_string())
            .unwrap_or_default(),
    );
    // The event's own details (the pod, the resources, the binding) come last: they
    // say more than the session-wide ones where a name is shared (`reason`).
    event
        .details
        .iter()
        .fold(e, |e, (k, v)| e.detail(k, v.clone()))
}

fn session_audit(type_: &str, reason: &str, actor: &str, s: &BreakglassSession) -> AuditEvent {
    let status = s.status.as_ref();
    let time = |t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>| {
        t.map(|t| t.0.to_string()).unwrap_or_default()
    };
    AuditEvent::new(
        type_,
        Actor {
            user: actor.to_owned(),
            identity_provider: if actor == s.spec.user {
                s.spec.identity_provider_name.clone()
            } else {
                None
            },
            ..Actor::default()
        },
        Target {
            cluster: s.spec.cluster.clone(),
            kind: "BreakglassSession".to_owned(),
            name: s.name_any(),
            namespace: s.namespace().unwrap_or_default(),
        },
    )
    .detail("reason", reason)
    .detail("uid", s.uid().unwrap_or_default())
    .detail("requester", s.spec.user.as_str())
    .detail("grantedGroup", s.spec.granted_group.as_str())
    .detail(
        "requestReason",
        s.spec.request_reason.clone().unwrap_or_default(),
    )
    .detail(
        "identityProvider",
        s.spec.identity_provider_name.clone().unwrap_or_default(),
    )
    .detail(
        "state",
        status
            .and_then(|st| st.state)
            .map(|st| st.as_str())
            .unwrap_or_default(),
    )
    .detail(
        "approver",
        status
            .and_then(|st| st.approver.clone())
            .unwrap_or_default(),
    )
    .detail(
        "approvalReason",
        status
            .and_then(|st| st.approval_reason.clone())
            .unwrap_or_default(),
    )
    .detail(
        "expiresAt",
        time(status.and_then(|st| st.expires_at.as_ref())),
    )
}

/// Secrets of the controller namespace that `configs` reference.
fn referenced_secrets(configs: &[Arc<AuditConfig>]) -> Vec<String> {
    let mut names = Vec::new();
    for c in configs.iter().filter(|c| c.spec.enabled()) {
        for s in &c.spec.sinks {
            if let Some(w) = &s.webhook {
                names.extend(w.auth_secret_ref.iter().map(|r| r.name.clone()));
                names.extend(
                    w.tls
                        .iter()
                        .flat_map(|t| t.ca_secret_ref.iter())
                        .map(|r| r.name.clone()),
                );
            }
            if let Some(k) = &s.kafka {
                names.extend(k.sasl.iter().map(|s| s.credentials_secret_ref.name.clone()));
                if let Some(t) = &k.tls {
                    names.extend(t.ca_secret_ref.iter().map(|r| r.name.clone()));
                    names.extend(t.client_cert_secret_ref.iter().map(|r| r.name.clone()));
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// Follows AuditConfigs and the Secrets of `namespace`, rebuilding the pipeline when
/// what it is built from changes. Runs on every replica.
pub async fn reload_loop(
    audit: Arc<Audit>,
    configs: Mirror<AuditConfig>,
    hub: Client,
    namespace: String,
    instance: String,
) {
    let secrets: Mirror<Secret> = Mirror::watch(Api::namespaced(hub.clone(), &namespace)).0;
    let mut config_changes = configs.subscribe();
    let mut secret_changes = secrets.subscribe();
    let mut built_from: Option<String> = None;
    loop {
        if configs.is_synced() {
            let all = configs.all();
            let names = referenced_secrets(&all);
            let mut data = BTreeMap::new();
            let mut fingerprint = String::new();
            for c in &all {
                fingerprint.push_str(&format!(
                    "{}:{}:{};",
                    c.name_any(),
                    c.uid().unwrap_or_default(),
                    c.metadata.generation.unwrap_or_default()
                ));
            }
            for name in &names {
                if let Some(s) = secrets.get(Some(&namespace), name) {
                    fingerprint.push_str(&format!(
                        "{name}:{};",
                        s.resource_version().unwrap_or_default()
                    ));
                    let map: BTreeMap<String, Vec<u8>> = s
                        .data
                        .iter()
                        .flatten()
                        .map(|(k, v)| (k.clone(), v.0.clone()))
                        .collect();
                    data.insert(name.clone(), map);
                }
            }
            if built_from.as_deref() != Some(fingerprint.as_str()) {
                let ctx = BuildContext {
                    hub: Some(hub.clone()),
                    namespace: namespace.clone(),
                    instance: instance.clone(),
                    secrets: data,
                    metrics: audit.metrics.clone(),
                    stats: audit.stats.clone(),
                };
                let list: Vec<AuditConfig> = all.iter().map(|c| (**c).clone()).collect();
                let manager = Manager::build(&list, &ctx);
                audit
                    .stats
                    .retain(&all.iter().map(|c| c.name_any()).collect::<Vec<_>>());
                tracing::info!(configs = ?manager.config_names(), "audit pipeline built");
                audit.replace(manager);
                built_from = Some(fingerprint);
            }
        }
        tokio::select! {
            r = config_changes.recv() => if matches!(r, Err(broadcast::error::RecvError::Closed)) { break },
            r = secret_changes.recv() => if matches!(r, Err(broadcast::error::RecvError::Closed)) { break },
            () = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
        // Coalesce a burst of changes into one rebuild.
        tokio::time::sleep(Duration::from_millis(200)).await;
        while config_changes.try_recv().is_ok() || secret_changes.try_recv().is_ok() {}
    }
}

/// Writes every AuditConfig's status each `interval`. Leader only.
pub async fn status_loop(
    audit: Arc<Audit>,
    configs: Mirror<AuditConfig>,
    hub: Client,
    interval: Duration,
) {
    let api: Api<AuditConfig> = Api::all(hub);
    loop {
        tokio::time::sleep(interval).await;
        for c in configs.all() {
            let name = c.name_any();
            let mut status = audit
                .stats
                .get(&name)
                .status(c.metadata.generation, jiff::Timestamp::now());
            if !c.spec.enabled() {
                status.active_sinks = Some(Vec::new());
                status.conditions = Some(vec![
                    k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
                        type_: "Ready".to_owned(),
                        status: "False".to_owned(),
                        reason: "Disabled".to_owned(),
                        message: "spec.enabled is false".to_owned(),
                        observed_generation: c.metadata.generation,
                        last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                            jiff::Timestamp::now(),
                        ),
                    },
                ]);
            }
            keep_transition_times(&c, &mut status);
            if c.status.as_ref() == Some(&status) {
                continue;
            }
            let patch = json!({"status": status});
            if let Err(e) = api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                tracing::warn!(config = %name, error = %e, "writing AuditConfig status failed");
            }
        }
    }
}

/// A condition whose status did not change keeps its transition time.
fn keep_transition_times(
    c: &AuditConfig,
    status: &mut breakglass_api::audit_config::AuditConfigStatus,
) {
    let old = c.status.as_ref().and_then(|s| s.conditions.as_ref());
    for cond in status.conditions.iter_mut().flatten() {
        if let Some(prev) = old
            .into_iter()
            .flatten()
            .find(|p| p.type_ == cond.type_ && p.status == cond.status)
        {
            cond.last_transition_time = prev.last_transition_time.clone();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn template(audit: Value) -> DebugSessionTemplate {
        serde_json::from_value(json!({
            "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
            "kind": "DebugSessionTemplate",
            "metadata": {"name": "net"},
            "spec": {"audit": audit},
        }))
        .unwrap()
    }

    #[test]
    fn template_destinations_become_a_pipeline_of_their_own() {
        let t = template(json!({"destinations": [
            {"type": "breakglass"},
            {"type": "webhook", "url": "https://siem.example.com/debug", "headers": {"X-Team": "net"}},
            {"type": "kubernetes"},
        ]}));
        let c = template_config(&t).unwrap();
        assert_eq!(c.name_any(), "debug-template.net");
        assert_eq!(c.spec.sinks.len(), 2);
        let web = c.spec.sinks[0].webhook.as_ref().unwrap();
        assert_eq!(c.spec.sinks[0].name, "destination-1");
        assert_eq!(web.url, "https://siem.example.com/debug");
        assert_eq!(web.headers.as_ref().unwrap()["X-Team"], "net");
        assert_eq!(c.spec.sinks[1].name, "destination-2");
        assert_eq!(
            c.spec.sinks[1].type_,
            breakglass_api::audit_config::AuditSinkType::Kubernetes
        );
        let f = breakglass_audit::filter::ConfigFilter::new(&c.spec).unwrap();
        let e = |t: &str| AuditEvent::new(t, Actor::default(), Target::default());
        assert!(f.admits(&e("debug_session.failed")));
        assert!(!f.admits(&e("session.approved")));
        assert!(!f.admits(&e("access.granted")));
    }

    #[test]
    fn templates_without_destinations_of_their_own_have_no_pipeline() {
        for audit in [
            json!({}),
            json!({"destinations": [{"type": "breakglass"}]}),
            json!({"destinations": [{"type": "webhook"}]}),
            json!({"enabled": false, "destinations": [{"type": "kubernetes"}]}),
        ] {
            assert!(
                template_config(&template(audit.clone())).is_none(),
                "{audit}"
            );
        }
        let mut t = template(json!({}));
        t.spec.audit = None;
        assert!(template_config(&t).is_none());
    }

    fn record(verb: &str, resource: &str, allowed: bool, stage: &'static str) -> AccessRecord {
        AccessRecord {
            cluster: "prod".into(),
            request: SarRequest {
                user: "ann@example.com".into(),
                groups: vec!["oidc:sre".into()],
                attributes: Attributes::Resource(breakglass_core::authz::ResourceAttributes {
                    verb: verb.into(),
                    resource: resource.into(),
                    namespace: "shop".into(),
                    name: "web-0".into(),
                    subresource: if resource == "pods" {
                        "exec".into()
                    } else {
                        String::new()
                    },
                    ..Default::default()
                }),
                ..Default::default()
            },
            allowed,
            reason: "why".into(),
            stage,
            deny_source: "global",
            pod_security: Vec::new(),
            at: jiff::Timestamp::now(),
        }
    }

    fn psr(action: &'static str, overridden: bool) -> PodSecurityRecord {
        PodSecurityRecord {
            policy: "risky-exec".into(),
            pass: Pass::Session("s-1".into()),
            action,
            overridden,
            score: Some(80),
            factors: vec!["hostNetwork".into(), "privilegedContainer:app".into()],
        }
    }

    fn types_of(r: &AccessRecord) -> Vec<AuditEvent> {
        let mut out = Vec::new();
        access_events(r, |e| out.push(e));
        out
    }

    #[test]
    fn a_plain_decision_is_one_access_event() {
        let events = types_of(&record("get", "pods", true, "session"));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].type_, "access.granted");
        let events = types_of(&record("get", "secrets", false, "deny-policy"));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].type_, "access.denied.policy");
    }

    #[test]
    fn pod_security_evaluations_become_their_events() {
        let cases = [
            ("allow", false, true, vec!["pod_security.evaluated"]),
            (
                "warn",
                false,
                true,
                vec!["pod_security.evaluated", "pod_security.warning"],
            ),
            (
                "allow",
                true,
                true,
                vec!["pod_security.evaluated", "pod_security.override"],
            ),
            (
                "deny",
                false,
                false,
                vec!["pod_security.evaluated", "pod_security.denied"],
            ),
        ];
        for (action, overridden, allowed, want) in cases {
            let stage = if allowed { "session" } else { "pod-security" };
            let mut r = record("create", "pods", allowed, stage);
            r.pod_security = vec![psr(action, overridden)];
            let events = types_of(&r);
            let types: Vec<&str> = events.iter().map(|e| e.type_.as_str()).collect();
            let last = if allowed {
                "access.granted"
            } else {
                "access.denied.policy"
            };
            let mut expected = want.clone();
            expected.push(last);
            assert_eq!(types, expected, "{action} overridden={overridden}");
            for e in &events[..events.len() - 1] {
                assert_eq!(e.details["policy"], "risky-exec");
                assert_eq!(e.details["pass"], "s-1");
                assert_eq!(e.details["action"], action);
                assert_eq!(e.details["riskScore"], 80);
                assert_eq!(e.details["factors"][1], "privilegedContainer:app");
                assert_eq!(e.details["allowed"], allowed);
                assert_eq!(e.details["subresource"], "exec");
                assert_eq!(e.target.name, "web-0");
                assert_eq!(e.target.namespace, "shop");
                assert_eq!(e.actor.user, "ann@example.com");
                assert_eq!(e.timestamp, r.at);
            }
        }
        // Two policies evaluated: a set for each, global pass named as such.
        let mut r = record("create", "pods", true, "session");
        let mut global = psr("warn", false);
        global.pass = Pass::Global;
        r.pod_security = vec![global, psr("allow", false)];
        let events = types_of(&r);
        let types: Vec<&str> = events.iter().map(|e| e.type_.as_str()).collect();
        assert_eq!(
            types,
            [
                "pod_security.evaluated",
                "pod_security.warning",
                "pod_security.evaluated",
                "access.granted"
            ]
        );
        assert_eq!(events[0].details["pass"], "global");
        assert_eq!(events[0].severity, breakglass_audit::Severity::Info);
        assert_eq!(events[1].severity, breakglass_audit::Severity::Warning);
    }

    #[test]
    fn impersonation_requests_are_recorded_whatever_the_answer() {
        for (verb, mode) in [
            ("impersonate", "legacy"),
            ("impersonate:user-info", "user-info"),
            ("impersonate-on:serviceaccount:list", "serviceaccount"),
            ("impersonate:bogus", "unrecognised"),
        ] {
            for allowed in [true, false] {
                let stage = if allowed {
                    "session"
                } else {
                    "impersonation-guard"
                };
                let events = types_of(&record(verb, "users", allowed, stage));
                assert_eq!(events.len(), 2, "{verb}");
                let e = &events[0];
                assert_eq!(e.type_, "resource.impersonate");
                assert_eq!(e.details["mode"], mode);
                assert_eq!(e.details["verb"], verb);
                assert_eq!(e.details["resource"], "users");
                assert_eq!(e.details["allowed"], allowed);
                assert_eq!(e.target.name, "web-0");
                assert!(e.is_sensitive());
            }
        }
        for verb in ["get", "impersonator", "create"] {
            let events = types_of(&record(verb, "users", true, "session"));
            assert_eq!(events.len(), 1, "{verb}");
        }
    }

    #[test]
    fn session_events_map_to_the_reference_types() {
        let mut s = BreakglassSession::new("s-1", Default::default());
        s.metadata.namespace = Some("breakglass".into());
        s.spec.cluster = "prod".into();
        s.spec.user = "ann@example.com".into();
        s.spec.granted_group = "oncall".into();
        let cases = [
            (EventKind::Requested, "session.requested", None),
            (EventKind::Approved, "session.approved", None),
            (EventKind::Activated, "session.activated", None),
            (EventKind::Rejected, "session.denied", Some("rejected")),
            (EventKind::Withdrawn, "session.withdrawn", None),
            (EventKind::Dropped, "session.dropped", None),
            (EventKind::Canceled, "session.revoked", Some("canceled")),
            (EventKind::Expired, "session.expired", Some("time")),
            (
                EventKind::ApprovalTimeout,
                "session.expired",
                Some("approval_timeout"),
            ),
            (EventKind::IdleExpired, "session.expired", Some("idle")),
        ];
        for (kind, type_, reason) in cases {
            let e = session_event(&SessionEvent {
                kind,
                actor: "bob@example.com".into(),
                session: s.clone(),
            });
            assert_eq!(e.type_, type_, "{kind:?}");
            assert_eq!(
                e.details.get("reason").and_then(|v| v.as_str()),
                reason,
                "{kind:?}"
            );
            assert_eq!(e.actor.user, "bob@example.com");
            assert_eq!(e.target.kind, "BreakglassSession");
            assert_eq!(e.session(), Some(("breakglass", "s-1")));
            assert_eq!(e.details["grantedGroup"], "oncall");
            assert_eq!(e.details["requester"], "ann@example.com");
            assert!(e.is_sensitive());
        }
    }

    #[test]
    fn debug_events_map_to_debug_session_types() {
        let mut s = DebugSession::new("d-1", Default::default());
        s.metadata.namespace = Some("breakglass".into());
        s.spec.cluster = "prod".into();
        s.spec.template_ref = "net".into();
        let cases = [
            (DebugEventKind::Created, "debug_session.created"),
            (
                DebugEventKind::ApprovalRequested,
                "debug_session.approval_requested",
            ),
            (DebugEventKind::Approved, "debug_session.approved"),
            (DebugEventKind::Rejected, "debug_session.terminated"),
            (DebugEventKind::Activated, "debug_session.started"),
            (
                DebugEventKind::ApprovalTimedOut,
                "debug_session.approval_timeout",
            ),
            (DebugEventKind::Expired, "debug_session.expired"),
            (
                DebugEventKind::ExpiryNotified,
                "debug_session.expiry_notified",
            ),
            (DebugEventKind::Terminated, "debug_session.terminated"),
            (DebugEventKind::Failed, "debug_session.failed"),
            (DebugEventKind::Renewed, "debug_session.renewed"),
            (
                DebugEventKind::BindingUnresolved,
                "debug_session.binding_unresolved",
            ),
            (DebugEventKind::PodFailed, "debug_session.pod_failed"),
            (DebugEventKind::PodRestarted, "debug_session.pod_restarted"),
            (
                DebugEventKind::ResourceDeployed,
                "debug_session.resource_deployed",
            ),
            (
                DebugEventKind::ResourceCleanup,
                "debug_session.resource_cleanup",
            ),
        ];
        for (kind, type_) in cases {
            let e = debug_event(&DebugEvent {
                kind,
                actor: "system".into(),
                message: Some("why".into()),
                details: Default::default(),
                session: s.clone(),
            });
            assert_eq!(e.type_, type_, "{kind:?}");
            assert!(
                breakglass_audit::types::EMITTED
                    .iter()
                    .any(|(t, _)| *t == type_),
                "{type_} is not listed"
            );
            assert_eq!(e.target.kind, "DebugSession");
            assert_eq!(e.details["template"], "net");
            assert_eq!(e.details["message"], "why");
            assert!(e.is_sensitive(), "{type_}");
        }
    }

    #[test]
    fn debug_event_details_reach_the_record_and_win_over_shared_names() {
        let mut s = DebugSession::new("d-1", Default::default());
        s.metadata.namespace = Some("breakglass".into());
        s.spec.cluster = "prod".into();
        let details = serde_json::json!({
            "pod": "dbg-abc",
            "podNamespace": "debug",
            "container": "shell",
            "restartCount": 3,
            "reason": "OOMKilled",
        });
        let e = debug_event(&DebugEvent {
            kind: DebugEventKind::PodRestarted,
            actor: "system".into(),
            message: None,
            details: details.as_object().cloned().unwrap_or_default(),
            session: s,
        });
        assert_eq!(e.type_, "debug_session.pod_restarted");
        assert_eq!(e.details["pod"], "dbg-abc");
        assert_eq!(e.details["restartCount"], 3);
        assert_eq!(e.details["reason"], "OOMKilled");
        assert_eq!(e.details["event"], "pod-restarted");
        assert_eq!(e.target.name, "d-1");
    }
}
