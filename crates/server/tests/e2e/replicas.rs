//! Restarts and several replicas: deadlines live in status, one leader writes.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::json;

use crate::support::*;

const A: &str = "target-a";

fn leader_gauge(metrics: &str) -> Option<i64> {
    metrics
        .lines()
        .find(|l| l.starts_with("breakglass_leader "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

async fn metrics_of(url: &str) -> anyhow::Result<String> {
    Ok(reqwest::get(format!("{url}/metrics")).await?.text().await?)
}

#[tokio::test]
async fn a_restart_in_the_middle_of_a_session_keeps_its_deadline() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _hub = exclusive().await?;
    let lease = format!(
        "bg-e2e-restart-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    );
    let first = ServerProcess::start(&env, ServerSpec::on_free_port(&lease, "restart-1")?).await?;
    wait_leader(&env, &lease, "restart-1", Duration::from_secs(30)).await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "restart").await?;
    let group = fx.group("restart");
    fx.escalation(
        "esc",
        with(
            spec(&[A], &group),
            json!({"maxValidFor": "12s", "approvalTimeout": "12s"}),
        ),
    )
    .await?;
    let api = RestClient::new(&first.url());
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    let name = api.request(&requester, A, &group, json!({})).await?.name();
    let r = api.act(&name, "approve", &approver, None).await?;
    assert_eq!(r.status, 200, "{}", r.text);
    let expires = ts(&r.body["status"]["expiresAt"]).expect("expiresAt");

    // Graceful restart: the Lease is released, the new process leads at once and
    // expires the session on time from the deadline in its status.
    first.stop()?;
    let second = ServerProcess::start(&env, ServerSpec::on_free_port(&lease, "restart-2")?).await?;
    wait_leader(&env, &lease, "restart-2", Duration::from_secs(10)).await?;
    let s = fx
        .wait_state(&name, "Expired", Duration::from_secs(30))
        .await?;
    let seen = Timestamp::now();
    let late = Duration::try_from(seen.duration_since(expires)).unwrap_or_default();
    note(&format!(
        "expiry across a graceful restart: {late:?} after expiresAt"
    ));
    assert!(
        late <= Duration::from_millis(2500),
        "expired {late:?} late after a restart"
    );
    assert_eq!(
        s.status
            .and_then(|st| st.reason_ended)
            .map(|r| r.to_string())
            .as_deref(),
        Some("timeExpired")
    );

    // Crash: the Lease stays held until it runs out; the successor then catches up on
    // every deadline that passed meanwhile.
    let api = RestClient::new(&second.url());
    let name = api.request(&requester, A, &group, json!({})).await?.name();
    let r = api.act(&name, "approve", &approver, None).await?;
    let expires = ts(&r.body["status"]["expiresAt"]).expect("expiresAt");
    second.kill()?;
    let crashed_at = Instant::now();
    let third = ServerProcess::start(&env, ServerSpec::on_free_port(&lease, "restart-3")?).await?;
    wait_leader(&env, &lease, "restart-3", Duration::from_secs(40)).await?;
    let took_over = crashed_at.elapsed();
    note(&format!("takeover after a crash: {took_over:?}"));
    assert!(
        took_over <= Duration::from_secs(25),
        "takeover took {took_over:?}"
    );
    let s = fx
        .wait_state(&name, "Expired", Duration::from_secs(30))
        .await?;
    let st = s.status.unwrap_or_default();
    assert_eq!(st.expires_at.map(|t| t.0), Some(expires));
    assert_eq!(
        st.reason_ended.map(|r| r.to_string()).as_deref(),
        Some("timeExpired")
    );
    third.stop()?;
    fx.cleanup().await
}

#[tokio::test]
async fn two_replicas_serve_and_exactly_one_leads() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _hub = exclusive().await?;
    let lease = format!(
        "bg-e2e-ha-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    );
    let one = ServerProcess::start(&env, ServerSpec::on_free_port(&lease, "replica-1")?).await?;
    let two = ServerProcess::start(&env, ServerSpec::on_free_port(&lease, "replica-2")?).await?;
    wait_for(Duration::from_secs(30), "a leader", || async {
        Ok(lease_holder(&env, &lease).await?.is_some())
    })
    .await?;
    let holder = lease_holder(&env, &lease).await?.unwrap_or_default();
    // The gauges agree with the Lease: exactly one replica leads.
    wait_for(Duration::from_secs(10), "leader gauges", || async {
        let g1 = leader_gauge(&metrics_of(&one.url()).await?);
        let g2 = leader_gauge(&metrics_of(&two.url()).await?);
        Ok(match holder.as_str() {
            "replica-1" => g1 == Some(1) && g2 == Some(0),
            "replica-2" => g1 == Some(0) && g2 == Some(1),
            _ => false,
        })
    })
    .await?;
    wait_clusters_ready(&env).await?;
    let fx = Fixture::new(&env, "ha").await?;
    let group = fx.group("ha");
    fx.escalation(
        "esc",
        with(
            spec(&[A], &group),
            json!({"maxValidFor": "6s", "approvalTimeout": "6s"}),
        ),
    )
    .await?;
    let requester = token(&env, "requester").await?;
    let approver = token(&env, "approver").await?;
    // Both serve the API: request on one, approve on the other.
    let name = RestClient::new(&one.url())
        .request(&requester, A, &group, json!({}))
        .await?
        .name();
    let r = RestClient::new(&two.url())
        .act(&name, "approve", &approver, None)
        .await?;
    assert_eq!(r.status, 200, "{}", r.text);
    // Duplicate requests through both replicas at once: one session.
    let group2 = fx.group("ha2");
    fx.escalation("esc2", spec(&[A], &group2)).await?;
    let (api1, api2) = (RestClient::new(&one.url()), RestClient::new(&two.url()));
    let (a, b) = tokio::join!(
        api1.request(&requester, A, &group2, json!({})),
        api2.request(&requester, A, &group2, json!({})),
    );
    let mut codes = [a?.status, b?.status];
    codes.sort_unstable();
    assert_eq!(codes, [201, 409]);

    // The leader leaves; the other takes over and runs the timers.
    let (leader, follower, follower_id) = if holder == "replica-1" {
        (one, two, "replica-2")
    } else {
        (two, one, "replica-1")
    };
    let left = Instant::now();
    leader.stop()?;
    wait_leader(&env, &lease, follower_id, Duration::from_secs(25)).await?;
    note(&format!(
        "failover after a graceful stop: {:?}",
        left.elapsed()
    ));
    let s = fx
        .wait_state(&name, "Expired", Duration::from_secs(20))
        .await?;
    assert_eq!(
        s.status
            .and_then(|st| st.reason_ended)
            .map(|r| r.to_string())
            .as_deref(),
        Some("timeExpired")
    );
    assert_eq!(leader_gauge(&metrics_of(&follower.url()).await?), Some(1));
    follower.stop()?;
    fx.cleanup().await
}
