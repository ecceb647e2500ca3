//! A replica cut off from the hub: it stops leading within the renew deadline, its
//! `/readyz` fails, and after the partition heals it never takes the Lease back.

use std::time::{Duration, Instant};

use crate::support::*;

/// One sample of both replicas.
#[derive(Debug, Clone)]
struct Sample {
    at: Duration,
    cut_leads: Option<i64>,
    other_leads: Option<i64>,
    cut_ready: Option<u16>,
    holder: Option<String>,
}

struct Watch<'a> {
    env: &'a breakglass_testenv::TestEnv,
    lease: &'a str,
    cut: String,
    other: String,
    started: Instant,
}

impl Watch<'_> {
    /// Samples both replicas and the Lease every ~100 ms for `period`.
    async fn sample_for(&self, period: Duration, samples: &mut Vec<Sample>) {
        let until = Instant::now() + period;
        while Instant::now() < until {
            let (cut_leads, other_leads, cut_ready, holder) = tokio::join!(
                leader_gauge_of(&self.cut),
                leader_gauge_of(&self.other),
                readyz_of(&self.cut),
                lease_holder(self.env, self.lease),
            );
            samples.push(Sample {
                at: self.started.elapsed(),
                cut_leads,
                other_leads,
                cut_ready,
                holder: holder.ok().flatten(),
            });
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test]
async fn a_partitioned_leader_steps_down_and_never_takes_the_lease_back() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let _hub = exclusive().await?;
    let lease = format!(
        "bg-e2e-part-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    );
    let hub_addr: std::net::SocketAddr = env
        .server_url("hub")?
        .trim_start_matches("https://")
        .parse()?;
    let proxy = FreezableProxy::start(hub_addr).await?;
    let mut spec = ServerSpec::on_free_port(&lease, "part-cut")?;
    spec.kubeconfig = Some(proxy.kubeconfig(&env.hub_kubeconfig(), "part-cut")?);
    let cut = ServerProcess::start(&env, spec).await?;
    wait_leader(&env, &lease, "part-cut", Duration::from_secs(30)).await?;
    let other = ServerProcess::start(&env, ServerSpec::on_free_port(&lease, "part-other")?).await?;

    let watch = Watch {
        env: &env,
        lease: &lease,
        cut: cut.url(),
        other: other.url(),
        started: Instant::now(),
    };
    let mut samples: Vec<Sample> = Vec::new();
    // Settle: the cut replica leads and is ready.
    watch.sample_for(Duration::from_secs(3), &mut samples).await;
    let frozen_at = watch.started.elapsed();
    proxy.freeze();
    note("partition: hub link of the leader frozen");
    watch
        .sample_for(Duration::from_secs(40), &mut samples)
        .await;
    let thawed_at = watch.started.elapsed();
    proxy.thaw();
    note("partition: healed");
    watch
        .sample_for(Duration::from_secs(25), &mut samples)
        .await;

    // At most one replica believes it leads, in every sample.
    for s in &samples {
        assert!(
            !(s.cut_leads == Some(1) && s.other_leads == Some(1)),
            "two leaders at {:?}: {s:?}",
            s.at
        );
    }
    let before: Vec<&Sample> = samples.iter().filter(|s| s.at < frozen_at).collect();
    assert!(
        before
            .iter()
            .all(|s| s.cut_leads == Some(1) && s.cut_ready == Some(200)),
        "the cut replica led and was ready before the partition"
    );
    // The cut replica stops leading within the renew deadline (plus one retry period
    // and sampling slack), and the other takes over.
    let stepped_down = samples
        .iter()
        .find(|s| s.at > frozen_at && s.cut_leads == Some(0))
        .map(|s| s.at - frozen_at);
    note(&format!(
        "partitioned leader stepped down after {stepped_down:?}"
    ));
    assert!(
        stepped_down.is_some_and(|d| d <= Duration::from_secs(13)),
        "the partitioned leader kept leading: {stepped_down:?}"
    );
    let took_over = samples
        .iter()
        .find(|s| s.at > frozen_at && s.other_leads == Some(1))
        .map(|s| s.at - frozen_at);
    note(&format!("the other replica took over after {took_over:?}"));
    assert!(
        took_over.is_some_and(|d| d <= Duration::from_secs(25)),
        "no takeover: {took_over:?}"
    );
    // The Lease is never taken back from the valid holder after the partition.
    let first_other = samples
        .iter()
        .position(|s| s.holder.as_deref() == Some("part-other"))
        .expect("the other replica acquired the Lease");
    for s in &samples[first_other..] {
        assert_ne!(
            s.holder.as_deref(),
            Some("part-cut"),
            "the stale leader took the Lease back at {:?}",
            s.at
        );
    }
    let after: Vec<&Sample> = samples.iter().filter(|s| s.at > thawed_at).collect();
    assert!(
        after.iter().all(|s| s.cut_leads != Some(1)),
        "the healed replica led again"
    );
    // /readyz of the cut replica fails during the partition and recovers after it.
    let not_ready = samples
        .iter()
        .find(|s| s.at > frozen_at && s.at < thawed_at && s.cut_ready == Some(503))
        .map(|s| s.at - frozen_at);
    note(&format!(
        "partitioned replica not ready after {not_ready:?}"
    ));
    assert!(
        not_ready.is_some_and(|d| d <= Duration::from_secs(15)),
        "/readyz stayed 200 during the partition: {not_ready:?}"
    );
    let ready_again = after
        .iter()
        .find(|s| s.cut_ready == Some(200))
        .map(|s| s.at - thawed_at);
    note(&format!("healed replica ready again after {ready_again:?}"));
    assert!(
        ready_again.is_some(),
        "/readyz did not recover after the partition"
    );
    assert_eq!(
        samples.last().and_then(|s| s.cut_ready),
        Some(200),
        "ready at the end"
    );
    other.stop()?;
    cut.stop()?;
    Ok(())
}
