//! Kafka (`cargo xtask testenv up --with kafka`): a real broker, spoken to with rskafka.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rskafka::client::ClientBuilder;
use rskafka::client::partition::{Compression, OffsetAt, UnknownTopicHandling};
use rskafka::record::Record;

use crate::{env, eventually, unique};

fn record(key: &str, value: &str, now_ms: i64) -> anyhow::Result<Record> {
    Ok(Record {
        key: Some(key.as_bytes().to_vec()),
        value: Some(value.as_bytes().to_vec()),
        headers: BTreeMap::from([("source".to_owned(), b"smoke".to_vec())]),
        timestamp: rskafka::chrono::DateTime::from_timestamp_millis(now_ms)
            .ok_or_else(|| anyhow::anyhow!("timestamp {now_ms} out of range"))?,
    })
}

#[tokio::test]
async fn kafka_creates_topics_on_first_use_and_round_trips_messages() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let bootstrap = env.kafka_bootstrap()?;
    assert!(bootstrap.starts_with("127.0.0.1:"), "{bootstrap}");
    let client = ClientBuilder::new(vec![bootstrap]).build().await?;
    let topic = unique("smoke-audit");

    // The topic does not exist: the first use creates it, with one partition.
    assert!(!client.list_topics().await?.iter().any(|t| t.name == topic));
    let partition = client
        .partition_client(topic.clone(), 0, UnknownTopicHandling::Retry)
        .await?;
    let topics = client.list_topics().await?;
    let created = topics.iter().find(|t| t.name == topic);
    assert_eq!(
        created.map(|t| t.partitions.len()),
        Some(1),
        "topic {topic} in {topics:?}"
    );

    let now_ms = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;
    let offsets = partition
        .produce(
            vec![
                record("session-1", "approved", now_ms)?,
                record("session-1", "expired", now_ms + 1)?,
            ],
            Compression::NoCompression,
        )
        .await?;
    assert_eq!(offsets, vec![0, 1]);
    assert_eq!(partition.get_offset(OffsetAt::Latest).await?, 2);

    // A separate client reads them back, in order, with key, header and timestamp.
    let reader = ClientBuilder::new(vec![env.kafka_bootstrap()?])
        .build()
        .await?
        .partition_client(topic.clone(), 0, UnknownTopicHandling::Error)
        .await?;
    let records = eventually(Duration::from_secs(10), "both records", || {
        let reader = &reader;
        async move {
            let (records, high_watermark) = reader.fetch_records(0, 1..1_000_000, 500).await?;
            Ok((high_watermark == 2 && records.len() == 2).then_some(records))
        }
    })
    .await?;
    let values: Vec<_> = records
        .iter()
        .map(|r| (r.offset, r.record.value.clone()))
        .collect();
    assert_eq!(
        values,
        vec![
            (0, Some(b"approved".to_vec())),
            (1, Some(b"expired".to_vec()))
        ]
    );
    let first = &records[0].record;
    assert_eq!(first.key.as_deref(), Some(&b"session-1"[..]));
    assert_eq!(
        first.headers.get("source").map(Vec::as_slice),
        Some(&b"smoke"[..])
    );
    assert_eq!(first.timestamp.timestamp_millis(), now_ms);
    Ok(())
}

#[tokio::test]
async fn kafka_bootstrap_is_what_env_prints() -> anyhow::Result<()> {
    let Some(env) = env()? else { return Ok(()) };
    let bootstrap = env.kafka_bootstrap()?;
    let port = bootstrap
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok());
    assert_eq!(port, Some(env.layout().kafka_port()));
    let vars = breakglass_testenv::harness::env_vars(env.layout())?;
    let printed = vars
        .iter()
        .find(|(k, _)| k == breakglass_testenv::layout::ENV_KAFKA)
        .map(|(_, v)| v.as_str());
    assert_eq!(printed, Some(bootstrap.as_str()));
    Ok(())
}
