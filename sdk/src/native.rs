//! The native client underneath: librdkafka (through `rdkafka`) for Kafka-protocol clusters.
//!
//! The SDK decides *where* (which cluster, topic and credentials, from the platform); librdkafka
//! does the protocol: leaders, batching, idempotence, the group protocol, SASL and TLS.

use crate::client::kafka_error;
use crate::wire::SdkCluster;
use crate::SdkError;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::{ClientConfig as RdConfig, ClientContext};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a metadata or offset call to a cluster may take.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Properties the SDK owns: where the queue lives, who the client is, and how offsets are kept.
const RESERVED: &[&str] = &[
    "bootstrap.servers",
    "metadata.broker.list",
    "security.protocol",
    "client.id",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
];

/// librdkafka settings for `cluster`: its bootstrap servers and credentials, then the
/// application's own settings (which win, so any librdkafka property can be tuned).
pub(crate) fn rd_config(
    cluster: &SdkCluster,
    client_id: &str,
    overrides: &BTreeMap<String, String>,
) -> Result<RdConfig, SdkError> {
    if cluster.bootstrap_servers.is_empty() {
        return Err(kafka_error(
            &cluster.name,
            "the cluster lists no bootstrap servers",
        ));
    }
    let mut c = RdConfig::new();
    c.set("bootstrap.servers", cluster.bootstrap_servers.join(","))
        .set("client.id", client_id)
        // Errors come back as results; librdkafka's own log goes through `log`, not stderr.
        .set("log_level", "4");
    match cluster.sasl_mechanism.as_str() {
        "" | "none" => {
            c.set("security.protocol", "plaintext");
        }
        m @ ("PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512") => {
            c.set("security.protocol", "sasl_plaintext")
                .set("sasl.mechanism", m)
                .set("sasl.username", &cluster.sasl_username)
                .set(
                    "sasl.password",
                    cluster.sasl_password.as_deref().unwrap_or(""),
                );
        }
        other => {
            return Err(kafka_error(
                &cluster.name,
                format!("SASL mechanism {other:?} is not supported"),
            ))
        }
    }
    for (k, v) in overrides {
        if RESERVED.contains(&k.as_str()) || k.starts_with("sasl.") {
            return Err(SdkError::Invalid {
                field: format!("kafka setting {k}"),
                message: "set by the SDK from what the platform says; it cannot be overridden"
                    .into(),
            });
        }
        c.set(k, v);
    }
    Ok(c)
}

/// The partition ids of `topic`, from the cluster's metadata.
pub(crate) async fn partitions<C>(
    client: std::sync::Arc<C>,
    cluster: &str,
    topic: &str,
) -> Result<Vec<i32>, SdkError>
where
    C: MetadataSource + Send + Sync + 'static,
{
    let t = topic.to_string();
    let found = tokio::task::spawn_blocking(move || client.topic_partitions(&t))
        .await
        .map_err(|e| kafka_error(cluster, e))?
        .map_err(|e| kafka_error(cluster, e))?;
    match found {
        Some(p) if !p.is_empty() => Ok(p),
        _ => Err(kafka_error(
            cluster,
            format!("the cluster has no topic {topic:?}"),
        )),
    }
}

/// A client that can answer a topic's partitions (producers and consumers alike).
pub(crate) trait MetadataSource {
    fn topic_partitions(&self, topic: &str)
        -> Result<Option<Vec<i32>>, rdkafka::error::KafkaError>;
}

fn from_metadata(m: &rdkafka::metadata::Metadata, topic: &str) -> Option<Vec<i32>> {
    let t = m.topics().iter().find(|t| t.name() == topic)?;
    if t.error().is_some() {
        return None;
    }
    Some(t.partitions().iter().map(|p| p.id()).collect())
}

impl<C: ConsumerContext + 'static> MetadataSource for rdkafka::consumer::StreamConsumer<C> {
    fn topic_partitions(
        &self,
        topic: &str,
    ) -> Result<Option<Vec<i32>>, rdkafka::error::KafkaError> {
        Ok(from_metadata(
            &self.fetch_metadata(Some(topic), CALL_TIMEOUT)?,
            topic,
        ))
    }
}

impl<C: ClientContext + 'static> MetadataSource for rdkafka::producer::FutureProducer<C> {
    fn topic_partitions(
        &self,
        topic: &str,
    ) -> Result<Option<Vec<i32>>, rdkafka::error::KafkaError> {
        use rdkafka::producer::Producer as _;
        Ok(from_metadata(
            &self.client().fetch_metadata(Some(topic), CALL_TIMEOUT)?,
            topic,
        ))
    }
}

/// A consumer's callbacks: before partitions are taken away it commits what the application has
/// finished with, so the member that gets them next starts right after it; librdkafka's
/// statistics give each partition's high watermark for lag reports.
pub(crate) struct GroupContext {
    pub(crate) cluster: String,
    pub(crate) topic: String,
    pub(crate) high_watermarks: std::sync::Mutex<BTreeMap<i32, i64>>,
}

impl GroupContext {
    pub(crate) fn new(cluster: &str, topic: &str) -> Self {
        Self {
            cluster: cluster.into(),
            topic: topic.into(),
            high_watermarks: Default::default(),
        }
    }

    /// The latest high watermark librdkafka saw per partition.
    pub(crate) fn high_watermarks(&self) -> BTreeMap<i32, i64> {
        self.high_watermarks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl ClientContext for GroupContext {
    fn stats(&self, statistics: rdkafka::Statistics) {
        let Some(topic) = statistics.topics.get(&self.topic) else {
            return;
        };
        let mut marks = self
            .high_watermarks
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for p in topic.partitions.values() {
            if p.partition >= 0 && p.hi_offset >= 0 {
                marks.insert(p.partition, p.hi_offset);
            }
        }
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            match consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync) {
                Ok(())
                | Err(rdkafka::error::KafkaError::ConsumerCommit(
                    rdkafka::types::RDKafkaErrorCode::NoOffset,
                )) => {}
                Err(e) => tracing::warn!(cluster = %self.cluster, error = %e,
                    "commit before giving up partitions failed; their next owner re-reads from the last commit"),
            }
            tracing::debug!(cluster = %self.cluster, revoked = list.count(), "partitions revoked");
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(list) = rebalance {
            tracing::debug!(cluster = %self.cluster, assigned = list.count(), "partitions assigned");
        }
    }
}
