//! Notification e-mail through mailpit: who gets which mail, subjects and deep links,
//! per-escalation providers, disabled providers, and an SMTP server that is down while
//! an approval happens.
//!
//! Mailpit is shared by every test of the run: each test uses its own groups (so its
//! own subjects) and unique approver addresses, and filters instead of clearing.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use breakglass_api::mail_provider::MailProvider;
use breakglass_api::rest::sessions::DecisionRequest;
use breakglass_testenv::{Mailbox, MessageSummary};
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;

const A: &str = "target-a";
/// How long a mail may take from event to mailbox.
const DELIVERY: Duration = Duration::from_secs(20);
/// How long we watch for a mail that must not come, after a later one arrived.
const SILENCE: Duration = Duration::from_secs(2);

fn request_subject(group: &str) -> String {
    format!(
        "Cluster \"{A}\" user \"requester@example.com\" is requesting breakglass group assignment \"{group}\""
    )
}

/// Recipients of every message with exactly `subject`.
async fn recipients(mailbox: &Mailbox, subject: &str) -> anyhow::Result<BTreeSet<String>> {
    Ok(mailbox
        .list()
        .await?
        .into_iter()
        .filter(|m| m.subject == subject)
        .flat_map(|m| m.to.into_iter().map(|a| a.address.to_lowercase()))
        .collect())
}

/// Waits until the messages with `subject` went to exactly `want` (and stay so for
/// [`SILENCE`]); returns one of them.
pub(crate) async fn expect_exactly(
    mailbox: &Mailbox,
    subject: &str,
    want: &[&str],
) -> anyhow::Result<breakglass_testenv::Message> {
    let want: BTreeSet<String> = want.iter().map(|s| s.to_lowercase()).collect();
    let started = Instant::now();
    loop {
        let got = recipients(mailbox, subject).await?;
        if got == want {
            break;
        }
        if !got.is_subset(&want) || started.elapsed() > DELIVERY {
            anyhow::bail!("mail {subject:?}: recipients {got:?}, wanted {want:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(SILENCE).await;
    let got = recipients(mailbox, subject).await?;
    assert_eq!(got, want, "late extra recipients of {subject:?}");
    let s = subject.to_owned();
    Ok(mailbox
        .wait_for(Duration::from_secs(1), move |m: &MessageSummary| {
            m.subject == s
        })
        .await?)
}

async fn none_with(mailbox: &Mailbox, needle: &str) -> anyhow::Result<()> {
    let hits: Vec<String> = mailbox
        .list()
        .await?
        .into_iter()
        .filter(|m| m.subject.contains(needle))
        .map(|m| format!("{} -> {:?}", m.subject, m.to))
        .collect();
    assert!(hits.is_empty(), "unexpected mails about {needle}: {hits:?}");
    Ok(())
}

/// A MailProvider for this test, deleted when dropped.
struct ProviderGuard {
    name: String,
    env: breakglass_testenv::TestEnv,
}

impl Drop for ProviderGuard {
    fn drop(&mut self) {
        let env = self.env.clone();
        let name = self.name.clone();
        run_detached(move || async move {
            if let Ok(hub) = env.hub_client().await {
                let api: Api<MailProvider> = Api::all(hub);
                let _ = api.delete(&name, &DeleteParams::default()).await;
            }
        });
    }
}

async fn provider(
    env: &breakglass_testenv::TestEnv,
    name: &str,
    smtp: SocketAddr,
    extra: Value,
) -> anyhow::Result<ProviderGuard> {
    let mut spec = json!({
        "smtp": {"host": smtp.ip().to_string(), "port": smtp.port(), "disableTLS": true},
        "sender": {"address": "breakglass-e2e@example.com", "name": "Breakglass e2e"},
    });
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    let obj: MailProvider = serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1",
        "kind": "MailProvider",
        "metadata": {"name": name},
        "spec": spec,
    }))?;
    let api: Api<MailProvider> = Api::all(env.hub_client().await?);
    api.create(&PostParams::default(), &obj).await?;
    Ok(ProviderGuard {
        name: name.to_owned(),
        env: env.clone(),
    })
}

/// Waits until the leader reports the provider's `Ready` condition as `status`.
async fn wait_provider_ready(
    env: &breakglass_testenv::TestEnv,
    name: &str,
    status: &str,
) -> anyhow::Result<()> {
    let api: Api<MailProvider> = Api::all(env.hub_client().await?);
    wait_for(
        Duration::from_secs(30),
        &format!("MailProvider {name} Ready={status}"),
        || async {
            let mp = api.get(name).await?;
            Ok(mp
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == status))
        },
    )
    .await
}

/// A TCP forwarder owned by the test, in front of mailpit's SMTP port: closing it
/// refuses connections (SMTP down), reopening listens on the same port again.
struct Forwarder {
    addr: SocketAddr,
    upstream: SocketAddr,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Forwarder {
    async fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let f = Self {
            addr: listener.local_addr()?,
            upstream,
            tasks: Arc::default(),
        };
        f.serve(listener);
        Ok(f)
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let upstream = self.upstream;
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let conn = tokio::spawn(async move {
                    if let Ok(mut out) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                tasks.lock().unwrap().push(conn);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Stops listening and cuts every connection.
    fn close(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    /// Listens on the same port again.
    async fn reopen(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => {
                    self.serve(l);
                    return Ok(());
                }
                Err(e) if started.elapsed() < Duration::from_secs(10) => {
                    note(&format!("reopening the SMTP forwarder: {e}; retrying"));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.close();
    }
}

/// Escalation spec for `group` with the given approvers and extras.
fn escalation(group: &str, approvers: Value, extra: Value) -> Value {
    with(
        with(spec(&[A], group), json!({"approvers": approvers})),
        extra,
    )
}

#[tokio::test]
async fn session_mails_reach_exactly_the_right_recipients() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "mail").await?;
    let mailbox = env.mailbox();
    let id = fx.id.clone();
    let extra_user = format!("mail-extra-{id}@example.com");
    let excluded_user = format!("mail-excluded-{id}@example.com");
    let hidden_user = format!("mail-hidden-{id}@example.com");
    let approvers = json!({
        "users": ["approver@example.com", extra_user, excluded_user, hidden_user],
        // `mail-e2e-list` has a list address in the shared server's mail.groupAddresses;
        // `mail-e2e-hidden` too, but it is hidden from the UI and so from mails.
        "groups": ["sre-leads", "mail-e2e-list", "mail-e2e-hidden"],
        "hiddenFromUI": [hidden_user, "mail-e2e-hidden"],
    });
    let exclusions = json!({"notificationExclusions": {"users": [excluded_user]}});
    let g_approve = fx.group("approve");
    let g_reject = fx.group("reject");
    let g_timeout = fx.group("timeout");
    let g_withdraw = fx.group("withdraw");
    fx.escalation(
        "approve",
        escalation(
            &g_approve,
            approvers.clone(),
            with(
                exclusions.clone(),
                json!({"maxValidFor": "8s", "approvalTimeout": "8s"}),
            ),
        ),
    )
    .await?;
    fx.escalation(
        "reject",
        escalation(&g_reject, approvers.clone(), exclusions.clone()),
    )
    .await?;
    fx.escalation(
        "timeout",
        escalation(
            &g_timeout,
            json!({"users": ["approver@example.com"]}),
            json!({"approvalTimeout": "4s"}),
        ),
    )
    .await?;
    fx.escalation(
        "withdraw",
        escalation(
            &g_withdraw,
            json!({"users": ["approver@example.com"]}),
            json!({}),
        ),
    )
    .await?;
    let requester = client(&server.url, &token(&env, "requester").await?)?;
    let approver = client(&server.url, &token(&env, "approver").await?)?;

    // Request: one mail per approver (explicit users and the group's list address),
    // none for the excluded and the hidden, the deep link to the approval page.
    let approve_name = requester
        .request_session(&session_request(A, &g_approve))
        .await?
        .name()
        .to_owned();
    let request = expect_exactly(
        &mailbox,
        &request_subject(&g_approve),
        &[
            "approver@example.com",
            &extra_user,
            "mail-e2e-list@example.com",
        ],
    )
    .await?;
    let link = format!("{}/session/{approve_name}/approve", server.url);
    assert!(request.text.contains(&link), "{}", request.text);
    assert!(
        request.html.contains(&format!("href=\"{link}\"")),
        "{}",
        request.html
    );
    assert!(
        request.text.contains("e2e test"),
        "the reason: {}",
        request.text
    );

    // Approval, then expiry: to the requester only.
    approver
        .approve_session(&approve_name, &DecisionRequest::default())
        .await?;
    let approved = expect_exactly(
        &mailbox,
        &format!("Breakglass Access Approved - {g_approve} on {A}"),
        &["requester@example.com"],
    )
    .await?;
    assert!(
        approved.text.contains("approver@example.com"),
        "{}",
        approved.text
    );
    expect_exactly(
        &mailbox,
        &format!("[Breakglass] Session Expired: {approve_name}"),
        &["requester@example.com"],
    )
    .await?;

    // Rejection.
    let reject_name = requester
        .request_session(&session_request(A, &g_reject))
        .await?
        .name()
        .to_owned();
    approver
        .reject_session(
            &reject_name,
            &DecisionRequest {
                reason: Some("<script>alert(1)</script> not now".into()),
            },
        )
        .await?;
    let rejected = expect_exactly(
        &mailbox,
        &format!("Breakglass Access Rejected - {g_reject} on {A}"),
        &["requester@example.com"],
    )
    .await?;
    assert!(!rejected.html.contains("<script>"), "{}", rejected.html);

    // Nobody decides: the approval timeout mail.
    let timeout_name = requester
        .request_session(&session_request(A, &g_timeout))
        .await?
        .name()
        .to_owned();
    expect_exactly(
        &mailbox,
        &format!("[Breakglass] Session Expired: {timeout_name}"),
        &["requester@example.com"],
    )
    .await?;

    // Withdrawn: the request mail, nothing after.
    let withdraw_name = requester
        .request_session(&session_request(A, &g_withdraw))
        .await?
        .name()
        .to_owned();
    expect_exactly(
        &mailbox,
        &request_subject(&g_withdraw),
        &["approver@example.com"],
    )
    .await?;
    requester.withdraw_session(&withdraw_name).await?;
    tokio::time::sleep(SILENCE).await;
    none_with(&mailbox, &withdraw_name).await?;
    fx.cleanup().await
}

#[tokio::test]
async fn smtp_down_during_an_approval_delays_the_mail_not_the_approval() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "mailsmtp").await?;
    let mailbox = env.mailbox();
    let forwarder = Forwarder::start(mailbox.smtp_addr()).await?;
    let name = format!("mail-fwd-{}", fx.id);
    let _provider = provider(
        &env,
        &name,
        forwarder.addr,
        json!({"retry": {"count": 10, "initialBackoffMs": 500, "queueSize": 10}}),
    )
    .await?;
    wait_provider_ready(&env, &name, "True").await?;
    let group = fx.group("smtp");
    fx.escalation(
        "esc",
        escalation(
            &group,
            json!({"users": ["approver@example.com"]}),
            json!({"mailProvider": name}),
        ),
    )
    .await?;
    let requester = client(&server.url, &token(&env, "requester").await?)?;
    let approver = client(&server.url, &token(&env, "approver").await?)?;
    let session = requester
        .request_session(&session_request(A, &group))
        .await?
        .name()
        .to_owned();
    // Through the escalation's provider (the forwarder) while it is up.
    expect_exactly(
        &mailbox,
        &request_subject(&group),
        &["approver@example.com"],
    )
    .await?;

    forwarder.close();
    let started = Instant::now();
    approver
        .approve_session(&session, &DecisionRequest::default())
        .await?;
    let took = started.elapsed();
    note(&format!("approval with SMTP down answered in {took:?}"));
    assert!(
        took < Duration::from_secs(2),
        "approval waited for SMTP: {took:?}"
    );
    let subject = format!("Breakglass Access Approved - {group} on {A}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        recipients(&mailbox, &subject).await?.is_empty(),
        "mail arrived while SMTP was down"
    );
    let api: Api<MailProvider> = Api::all(env.hub_client().await?);
    wait_for(
        Duration::from_secs(30),
        "lastSendError on the provider",
        || async {
            let st = api.get(&name).await?.status.unwrap_or_default();
            Ok(st.last_send_error.is_some() && st.last_send_attempt.is_some())
        },
    )
    .await?;

    forwarder.reopen().await?;
    let reopened = Instant::now();
    let s = subject.clone();
    mailbox
        .wait_for(Duration::from_secs(60), move |m: &MessageSummary| {
            m.subject == s && m.is_for("requester@example.com")
        })
        .await?;
    note(&format!(
        "approval mail arrived {:?} after SMTP returned",
        reopened.elapsed()
    ));
    expect_exactly(&mailbox, &subject, &["requester@example.com"]).await?;
    fx.cleanup().await
}

#[tokio::test]
async fn disabled_or_missing_providers_and_disable_notifications_send_nothing() -> anyhow::Result<()>
{
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "mailoff").await?;
    let mailbox = env.mailbox();
    let off = format!("mail-off-{}", fx.id);
    let _off = provider(&env, &off, mailbox.smtp_addr(), json!({"disabled": true})).await?;
    wait_provider_ready(&env, &off, "False").await?;
    let approvers = json!({"users": ["approver@example.com"]});
    let g_disabled = fx.group("disabledprov");
    let g_missing = fx.group("missingprov");
    let g_quiet = fx.group("quiet");
    let g_control = fx.group("control");
    fx.escalation(
        "disabled",
        escalation(&g_disabled, approvers.clone(), json!({"mailProvider": off})),
    )
    .await?;
    fx.escalation(
        "missing",
        escalation(
            &g_missing,
            approvers.clone(),
            json!({"mailProvider": format!("mail-missing-{}", fx.id)}),
        ),
    )
    .await?;
    fx.escalation(
        "quiet",
        escalation(
            &g_quiet,
            approvers.clone(),
            json!({"disableNotifications": true}),
        ),
    )
    .await?;
    fx.escalation(
        "control",
        escalation(&g_control, approvers.clone(), json!({})),
    )
    .await?;
    let requester = client(&server.url, &token(&env, "requester").await?)?;
    for g in [&g_disabled, &g_missing, &g_quiet, &g_control] {
        requester.request_session(&session_request(A, g)).await?;
    }
    // The control's mail proves the events before it were handled.
    expect_exactly(
        &mailbox,
        &request_subject(&g_control),
        &["approver@example.com"],
    )
    .await?;
    for g in [&g_disabled, &g_missing, &g_quiet] {
        none_with(&mailbox, g).await?;
    }
    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await?
        .text()
        .await?;
    // One request each, so each counter is exactly 1.
    let missing = format!("mail-missing-{}", fx.id);
    for (provider, reason) in [(off.as_str(), "disabled"), (missing.as_str(), "missing")] {
        let line = metrics
            .lines()
            .find(|l| {
                l.starts_with("breakglass_mail_unroutable_total")
                    && l.contains(&format!("provider=\"{provider}\""))
                    && l.contains(&format!("reason=\"{reason}\""))
            })
            .unwrap_or_default();
        assert!(line.ends_with(" 1"), "metric for {provider}: {line:?}");
    }
    fx.cleanup().await
}

/// Templates and sessions of the debug mail test, removed at the end (and from `Drop`).
struct DebugObjects {
    env: breakglass_testenv::TestEnv,
    pod_template: String,
    template: String,
    sessions: Vec<String>,
}

impl Drop for DebugObjects {
    fn drop(&mut self) {
        let env = self.env.clone();
        let (pod, template, sessions) = (
            self.pod_template.clone(),
            self.template.clone(),
            std::mem::take(&mut self.sessions),
        );
        run_detached(move || async move {
            if let Ok(hub) = env.hub_client().await {
                let dp = DeleteParams::default();
                let s: Api<breakglass_api::debug_session::DebugSession> =
                    Api::namespaced(hub.clone(), SYSTEM_NS);
                for name in sessions {
                    let _ = s.delete(&name, &dp).await;
                }
                let _ = Api::<breakglass_api::DebugSessionTemplate>::all(hub.clone())
                    .delete(&template, &dp)
                    .await;
                let _ = Api::<breakglass_api::DebugPodTemplate>::all(hub)
                    .delete(&pod, &dp)
                    .await;
            }
        });
    }
}

/// Messages with `subject` whose text mentions `needle`, by recipient.
async fn recipients_mentioning(
    mailbox: &Mailbox,
    subject: &str,
    needle: &str,
) -> anyhow::Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for m in mailbox.list().await? {
        if m.subject != subject {
            continue;
        }
        if mailbox.get(&m.id).await?.text.contains(needle) {
            out.extend(m.to.into_iter().map(|a| a.address.to_lowercase()));
        }
    }
    Ok(out)
}

#[tokio::test]
async fn debug_session_mails_follow_the_templates_notification_block() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let server = shared_server(&env).await?;
    wait_clusters_ready(&env).await?;
    let hub = env.hub_client().await?;
    let mailbox = env.mailbox();
    let id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let extra = format!("mail-dbg-extra-{id}@example.com");
    let excluded = format!("mail-dbg-excluded-{id}@example.com");
    let audit = format!("mail-dbg-audit-{id}@example.com");
    let mut objects = DebugObjects {
        env: env.clone(),
        pod_template: format!("mail-dbg-pod-{id}"),
        template: format!("mail-dbg-{id}"),
        sessions: Vec::new(),
    };
    let pod: breakglass_api::DebugPodTemplate = serde_json::from_value(json!({
        "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "DebugPodTemplate",
        "metadata": {"name": objects.pod_template},
        "spec": {"template": {"spec": {"containers": [
            {"name": "debug", "image": "busybox:stable", "command": ["sleep", "infinity"]}]}}}}))?;
    Api::<breakglass_api::DebugPodTemplate>::all(hub.clone())
        .create(&PostParams::default(), &pod)
        .await?;
    let template: breakglass_api::DebugSessionTemplate = serde_json::from_value(json!({
    "apiVersion": "breakglass.t-caas.telekom.com/v1alpha1", "kind": "DebugSessionTemplate",
    "metadata": {"name": objects.template},
    "spec": {
        "podTemplateRef": {"name": objects.pod_template},
        "allowed": {"clusters": [A], "groups": ["developers"]},
        "constraints": {"maxConcurrentSessions": 50},
        "approvers": {"users": ["approver@example.com", extra, excluded]},
        "notification": {
            "additionalRecipients": [audit],
            "excludedRecipients": {"users": [excluded]},
        },
    }}))?;
    Api::<breakglass_api::DebugSessionTemplate>::all(hub.clone())
        .create(&PostParams::default(), &template)
        .await?;
    let api = RestClient::new(&server.url);
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    // The template reaches the server's mirror within moments.
    let started = Instant::now();
    let name = loop {
        let r = api
            .post(
                "/api/debugSessions",
                &requester,
                json!({"templateRef": objects.template, "cluster": A, "reason": "mail e2e"}),
            )
            .await?;
        if r.status == 201 {
            break r.name();
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(20),
            "debug session not created: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    objects.sessions.push(name.clone());

    expect_exactly(
        &mailbox,
        &format!("[Breakglass] Debug Session Created: {name}"),
        &["requester@example.com"],
    )
    .await?;
    // The request: approver users and additional recipients, not the excluded.
    let subject = format!("[Breakglass] Debug Session Request: requester@example.com on {A}");
    let want: BTreeSet<String> = ["approver@example.com", extra.as_str(), audit.as_str()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    wait_for(DELIVERY, "the debug request mails", || async {
        let got = recipients_mentioning(&mailbox, &subject, &name).await?;
        anyhow::ensure!(got.is_subset(&want), "unexpected recipients {got:?}");
        Ok(got == want)
    })
    .await?;
    tokio::time::sleep(SILENCE).await;
    assert_eq!(
        recipients_mentioning(&mailbox, &subject, &name).await?,
        want
    );

    let r = api
        .post(
            &format!("/api/debugSessions/{name}/reject"),
            &approver,
            json!({"reason": "not during the freeze"}),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let rejected = expect_exactly(
        &mailbox,
        &format!("[Breakglass] Debug Session Rejected: {name}"),
        &["requester@example.com"],
    )
    .await?;
    assert!(
        rejected.text.contains("not during the freeze"),
        "{}",
        rejected.text
    );
    assert!(
        rejected
            .text
            .contains(&format!("{}/debug-sessions/{name}", server.url)),
        "{}",
        rejected.text
    );

    // Approved: the requester only (additional recipients hear of requests and expiry).
    let r = api
        .post(
            "/api/debugSessions",
            &requester,
            json!({"templateRef": objects.template, "cluster": A, "reason": "mail e2e, approved"}),
        )
        .await?;
    assert_eq!(r.status, 201, "{}", r.text);
    let second = r.name();
    objects.sessions.push(second.clone());
    let r = api
        .post(
            &format!("/api/debugSessions/{second}/approve"),
            &approver,
            json!({"reason": "go ahead"}),
        )
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let approved = expect_exactly(
        &mailbox,
        &format!("[Breakglass] Debug Session Approved: {second}"),
        &["requester@example.com"],
    )
    .await?;
    assert!(
        approved
            .text
            .contains(&format!("{}/debug-sessions/{second}", server.url)),
        "{}",
        approved.text
    );
    drop(objects);
    Ok(())
}
