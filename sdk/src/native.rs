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
    "enable.ssl.certificate.verification",
];

/// librdkafka settings for `cluster`: its bootstrap servers, credentials and TLS, then the
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
    let sasl = match cluster.sasl_mechanism.as_str() {
        "" | "none" => false,
        m @ ("PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512") => {
            c.set("sasl.mechanism", m)
                .set("sasl.username", &cluster.sasl_username)
                .set(
                    "sasl.password",
                    cluster.sasl_password.as_deref().unwrap_or(""),
                );
            true
        }
        other => {
            return Err(kafka_error(
                &cluster.name,
                format!("SASL mechanism {other:?} is not supported"),
            ))
        }
    };
    let protocol = match (&cluster.tls, sasl) {
        (None, false) => "plaintext",
        (None, true) => "sasl_plaintext",
        (Some(_), false) => "ssl",
        (Some(_), true) => "sasl_ssl",
    };
    c.set("security.protocol", protocol);
    if let Some(tls) = &cluster.tls {
        // The broker's host name is checked against its certificate (librdkafka's default,
        // made explicit so no override of it goes unnoticed).
        c.set("ssl.endpoint.identification.algorithm", "https");
        if let Some(ca) = &tls.ca_pem {
            c.set("ssl.ca.pem", ca);
        }
        if let (Some(cert), Some(key)) = (&tls.client_cert_pem, &tls.client_key_pem) {
            c.set("ssl.certificate.pem", cert).set("ssl.key.pem", key);
        }
    }
    for (k, v) in overrides {
        if RESERVED.contains(&k.as_str()) || k.starts_with("sasl.") || k.starts_with("ssl.") {
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

/// The last connection-level trouble librdkafka reported for a client (authentication, TLS,
/// brokers down), so a call that then fails or times out can say why.
#[derive(Debug, Default)]
pub(crate) struct LastError(std::sync::Mutex<Option<(std::time::Instant, String)>>);

/// How long a reported trouble explains later failures.
const TROUBLE_FRESH: Duration = Duration::from_secs(60);

impl LastError {
    pub(crate) fn record(&self, error: &rdkafka::error::KafkaError, reason: &str) {
        use rdkafka::types::RDKafkaErrorCode as Code;
        let code = error.rdkafka_error_code();
        let what = match code {
            Some(Code::Authentication) => "authentication failed",
            Some(Code::SaslAuthenticationFailed) => "the broker refused the credentials",
            Some(Code::SSL) => "TLS failed",
            // librdkafka reports a failed handshake now as SSL, now as a transport failure
            // whose reason is OpenSSL's.
            Some(Code::BrokerTransportFailure)
                if reason.contains("SSL routines") || reason.contains("SSL handshake") =>
            {
                "TLS failed"
            }
            Some(Code::AllBrokersDown) => "no broker answers",
            Some(Code::Resolve) => "a broker address does not resolve",
            Some(Code::BrokerTransportFailure) => "the connection to a broker failed",
            _ => "the client reported",
        };
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // A later "all brokers down" says less than the failure behind it (authentication,
        // TLS, an address that does not resolve, a refused connection).
        let keep = matches!(code, Some(Code::AllBrokersDown))
            && slot.as_ref().is_some_and(|(at, s)| {
                at.elapsed() < TROUBLE_FRESH && !s.starts_with("no broker answers")
            });
        if !keep {
            *slot = Some((std::time::Instant::now(), format!("{what}: {reason}")));
        }
    }

    /// What went wrong lately, if anything did.
    pub(crate) fn get(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|(at, _)| at.elapsed() < TROUBLE_FRESH)
            .map(|(_, s)| s.clone())
    }

    /// `message`, with the connection trouble behind it when librdkafka reported one.
    pub(crate) fn explain(&self, message: impl std::fmt::Display) -> String {
        match self.get() {
            Some(why) => format!("{message} ({why})"),
            None => message.to_string(),
        }
    }
}

/// The context of the SDK's producers and of the platform's admin clients: connection trouble
/// is remembered for error messages, and logged once through `tracing`.
#[derive(Default)]
pub struct WatchContext {
    pub(crate) cluster: String,
    pub(crate) last_error: std::sync::Arc<LastError>,
}

impl WatchContext {
    pub(crate) fn new(cluster: &str) -> Self {
        Self {
            cluster: cluster.into(),
            last_error: Default::default(),
        }
    }
}

impl rdkafka::consumer::ConsumerContext for WatchContext {}

impl ClientContext for WatchContext {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::debug!(cluster = %self.cluster, %error, reason, "cluster connection trouble");
        self.last_error.record(&error, reason);
    }
}

/// The partition ids of `topic`, from the cluster's metadata.
pub(crate) async fn partitions<C>(
    client: std::sync::Arc<C>,
    last_error: &LastError,
    cluster: &str,
    topic: &str,
) -> Result<Vec<i32>, SdkError>
where
    C: MetadataSource + Send + Sync + 'static,
{
    // A queue created a moment ago gets its topic from the platform within a second or two,
    // and brokers take a moment more to tell it in their metadata: a missing topic is asked
    // for again until TOPIC_APPEARS_WITHIN has passed.
    let deadline = tokio::time::Instant::now() + TOPIC_APPEARS_WITHIN;
    loop {
        let t = topic.to_string();
        let asked = client.clone();
        let found = match tokio::task::spawn_blocking(move || asked.topic_partitions(&t))
            .await
            .map_err(|e| kafka_error(cluster, e))?
        {
            Ok(found) => found,
            Err(e) => {
                client.serve_events().await;
                return Err(kafka_error(cluster, last_error.explain(e)));
            }
        };
        match found {
            Some(p) if !p.is_empty() => return Ok(p),
            _ if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            _ => {
                return Err(kafka_error(
                    cluster,
                    format!("the cluster has no topic {topic:?}"),
                ))
            }
        }
    }
}

/// How long a topic that is not there yet is waited for before a client gives up on it.
const TOPIC_APPEARS_WITHIN: Duration = Duration::from_secs(10);

/// A client that can answer a topic's partitions (producers and consumers alike).
pub(crate) trait MetadataSource {
    fn topic_partitions(&self, topic: &str)
        -> Result<Option<Vec<i32>>, rdkafka::error::KafkaError>;

    /// Serves the connection errors librdkafka queued, so they reach the context's
    /// [`LastError`] (producers serve theirs on their own polling thread).
    async fn serve_events(&self) {}
}

fn from_metadata(m: &rdkafka::metadata::Metadata, topic: &str) -> Option<Vec<i32>> {
    let t = m.topics().iter().find(|t| t.name() == topic)?;
    if t.error().is_some() {
        return None;
    }
    Some(t.partitions().iter().map(|p| p.id()).collect())
}

impl MetadataSource for rdkafka::consumer::StreamConsumer<GroupContext> {
    /// Called only when joining failed: a message received here is dropped with the consumer,
    /// its offset never stored.
    async fn serve_events(&self) {
        let _ = tokio::time::timeout(Duration::from_millis(200), async {
            loop {
                let _ = self.recv().await;
            }
        })
        .await;
    }

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

impl MetadataSource for rdkafka::producer::FutureProducer<WatchContext> {
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
    pub(crate) last_error: std::sync::Arc<LastError>,
}

impl GroupContext {
    pub(crate) fn new(cluster: &str, topic: &str) -> Self {
        Self {
            cluster: cluster.into(),
            topic: topic.into(),
            high_watermarks: Default::default(),
            last_error: Default::default(),
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
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::debug!(cluster = %self.cluster, %error, reason, "cluster connection trouble");
        self.last_error.record(&error, reason);
    }

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
