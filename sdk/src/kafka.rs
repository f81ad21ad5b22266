//! The platform's own channel to a Kafka-protocol cluster: health probes, provisioning, topic
//! import and lag polling, through librdkafka like the SDK's producers and consumers, so TLS and
//! every SASL mechanism work the same on every path.
//!
//! librdkafka's calls block; each runs on tokio's blocking pool.

use crate::native::{self, WatchContext};
use crate::wire::SdkCluster;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

mod read;
pub use read::{PartitionSpan, PlanProblem, RawMessage, ReadFrom, ReadPlan, ReadReport, ReadStop};

/// How long one call to a cluster may take before it counts as unreachable.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong talking to a cluster: the reason in words, with the connection trouble
/// (authentication, TLS, brokers down) librdkafka reported behind it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct KafkaError {
    /// The cluster's registered name.
    pub cluster: String,
    pub message: String,
}

pub type KafkaResult<T> = Result<T, KafkaError>;

impl From<KafkaError> for crate::SdkError {
    fn from(e: KafkaError) -> Self {
        crate::SdkError::Kafka {
            cluster: e.cluster,
            message: e.message,
        }
    }
}

/// Serves what librdkafka queued on a consumer-type client without a group (its logs and
/// connection errors): a fixed number of immediate polls, as a poll answers nothing both for
/// an empty queue and for an event it served. Such a client is assigned nothing, so no message
/// is taken here.
fn serve(client: &BaseConsumer<WatchContext>) {
    for _ in 0..64 {
        let _ = client.poll(Duration::ZERO);
    }
}

/// A broker of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

/// A topic as the cluster's metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: i32,
    /// Internal topics (`__consumer_offsets` and the like, named with two underscores) are
    /// never imported.
    pub internal: bool,
}

/// What a cluster's metadata tells about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    pub cluster_id: Option<String>,
    pub brokers: Vec<Broker>,
    pub topics: Vec<TopicInfo>,
}

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPlan {
    pub name: String,
    pub partitions: i32,
    /// Copies of each partition; 0 means three, or one per broker on smaller clusters.
    pub replication: i16,
    /// Topic configs such as `retention.ms`.
    pub configs: Vec<(String, String)>,
}

/// Cluster-wide operations: metadata, topics and their configs, end offsets, consumer groups
/// and their committed offsets. It never joins a group.
///
/// One long-lived reader serves metadata and end offsets (the frequent calls); the rarer ones
/// (creating topics, reading configs, listing groups, committed offsets) get a client of their
/// own that lives for the call.
pub struct KafkaAdmin {
    cluster: SdkCluster,
    reader: Arc<BaseConsumer<WatchContext>>,
}

impl KafkaAdmin {
    /// Clients for the cluster a platform config describes. Fails only on settings librdkafka
    /// refuses (a CA bundle that is not PEM, say); connecting happens on the first call.
    pub fn new(cluster: &SdkCluster) -> KafkaResult<Self> {
        let fail = |e: &dyn std::fmt::Display| KafkaError {
            cluster: cluster.name.clone(),
            message: e.to_string(),
        };
        let reader = native::rd_config(cluster, "watershed-platform", &BTreeMap::new())
            .map_err(|e| fail(&e))?
            .create_with_context(WatchContext::new(&cluster.name))
            .map_err(|e| fail(&e))?;
        Ok(Self {
            cluster: cluster.clone(),
            reader: Arc::new(reader),
        })
    }

    /// librdkafka settings for a client of this cluster's.
    fn settings(&self) -> KafkaResult<rdkafka::ClientConfig> {
        native::rd_config(&self.cluster, "watershed-platform", &BTreeMap::new())
            .map_err(|e| self.error(e))
    }

    /// The cluster's registered name.
    pub fn cluster(&self) -> &str {
        &self.cluster.name
    }

    /// What the clients were made with.
    pub fn config(&self) -> &SdkCluster {
        &self.cluster
    }

    /// `message`, with the connection trouble (authentication, TLS, brokers down) librdkafka
    /// reported lately, when it did.
    pub fn explain(&self, message: impl std::fmt::Display) -> String {
        self.serve_events();
        self.reader.context().last_error.explain(message)
    }

    /// Serves what librdkafka queued for the reader (its logs and connection errors), so errors
    /// reach its [`WatchContext`] and the queue never grows. A poll answers nothing both for an
    /// empty queue and for an event it served, so a fixed number of polls it is (each returns
    /// at once).
    fn serve_events(&self) {
        serve(&self.reader);
    }

    fn error(&self, e: impl std::fmt::Display) -> KafkaError {
        KafkaError {
            cluster: self.cluster.name.clone(),
            message: self.explain(e),
        }
    }

    /// Runs a blocking librdkafka call on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&BaseConsumer<WatchContext>) -> rdkafka::error::KafkaResult<T>
            + Send
            + 'static,
    ) -> KafkaResult<T> {
        self.serve_events();
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || call(&reader))
            .await
            .map_err(|e| self.error(e))?
            .map_err(|e| self.error(e))
    }

    /// An admin client for one call.
    fn admin_client(&self) -> KafkaResult<AdminClient<WatchContext>> {
        self.settings()?
            .create_with_context(WatchContext::new(&self.cluster.name))
            .map_err(|e| self.error(e))
    }

    /// Closes a per-call admin client off the async threads (closing joins its thread), and
    /// explains a failed answer with what that client saw.
    fn close<T>(
        &self,
        admin: AdminClient<WatchContext>,
        answer: rdkafka::error::KafkaResult<T>,
    ) -> KafkaResult<T> {
        let why = admin.inner().context().last_error.get();
        tokio::task::spawn_blocking(move || drop(admin));
        answer.map_err(|e| match why {
            Some(why) => self.error(format!("{e} ({why})")),
            None => self.error(e),
        })
    }

    /// Brokers and topics, with the cluster id where the brokers tell it.
    pub async fn describe(&self) -> KafkaResult<ClusterInfo> {
        self.blocking(|c| {
            let m = c.fetch_metadata(None, CALL_TIMEOUT)?;
            let brokers = m
                .brokers()
                .iter()
                .map(|b| Broker {
                    id: b.id(),
                    host: b.host().to_string(),
                    port: b.port(),
                })
                .collect();
            let topics = m
                .topics()
                .iter()
                .filter(|t| t.error().is_none())
                .map(|t| TopicInfo {
                    name: t.name().to_string(),
                    partitions: t.partitions().len() as i32,
                    internal: t.name().starts_with("__"),
                })
                .collect();
            let cluster_id = c.client().fetch_cluster_id(CALL_TIMEOUT);
            Ok(ClusterInfo {
                cluster_id,
                brokers,
                topics,
            })
        })
        .await
    }

    /// Creates a topic; `Ok(false)` when it already existed.
    pub async fn create_topic(&self, plan: &TopicPlan) -> KafkaResult<bool> {
        let mut replication = plan.replication;
        if replication <= 0 {
            let brokers = self.describe().await?.brokers.len();
            replication = (brokers as i16).clamp(1, 3);
        }
        let mut topic = NewTopic::new(
            &plan.name,
            plan.partitions,
            TopicReplication::Fixed(replication.into()),
        );
        for (k, v) in &plan.configs {
            topic = topic.set(k, v);
        }
        let options = AdminOptions::new()
            .request_timeout(Some(CALL_TIMEOUT))
            .operation_timeout(Some(CALL_TIMEOUT));
        let admin = self.admin_client()?;
        let answer = admin.create_topics([&topic], &options).await;
        let answer = self.close(admin, answer)?;
        match answer.into_iter().next() {
            Some(Ok(_)) => Ok(true),
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(false),
            Some(Err((name, code))) => Err(self.error(format!("topic {name}: {code}"))),
            None => Err(self.error("the cluster did not answer for the topic")),
        }
    }

    /// A topic's configuration as the brokers hold it (`retention.ms` and the like), defaults
    /// included.
    pub async fn topic_configs(&self, topic: &str) -> KafkaResult<HashMap<String, String>> {
        let options = AdminOptions::new().request_timeout(Some(CALL_TIMEOUT));
        let admin = self.admin_client()?;
        let answer = admin
            .describe_configs([&ResourceSpecifier::Topic(topic)], &options)
            .await;
        let answer = self.close(admin, answer)?;
        match answer.into_iter().next() {
            Some(Ok(resource)) => Ok(resource
                .entries
                .into_iter()
                .filter_map(|e| Some((e.name, e.value?)))
                .collect()),
            Some(Err(code)) => Err(self.error(format!("topic {topic}: {code}"))),
            None => Err(self.error("the cluster did not answer for the topic")),
        }
    }

    /// The next offset to be written in each of `topics`' partitions (their high watermarks),
    /// in one request per broker.
    pub async fn end_offsets(
        &self,
        topics: &[(String, Vec<i32>)],
    ) -> KafkaResult<HashMap<(String, i32), i64>> {
        let mut list = TopicPartitionList::new();
        for (topic, partitions) in topics {
            for &p in partitions {
                list.add_partition_offset(topic, p, Offset::End)
                    .map_err(|e| self.error(e))?;
            }
        }
        if list.count() == 0 {
            return Ok(HashMap::new());
        }
        let found = self
            .blocking(move |c| c.offsets_for_times(list, CALL_TIMEOUT))
            .await?;
        let mut out = HashMap::new();
        for e in found.elements() {
            if let Offset::Offset(o) = e.offset() {
                out.insert((e.topic().to_string(), e.partition()), o);
            }
        }
        Ok(out)
    }

    /// Every consumer group on the cluster, in no particular order.
    pub async fn groups(&self) -> KafkaResult<Vec<String>> {
        Ok(self
            .group_members()
            .await?
            .into_iter()
            .map(|(g, _)| g)
            .collect())
    }

    /// Every consumer group on the cluster with how many members it has now (as its
    /// coordinator describes it), in no particular order.
    pub async fn group_members(&self) -> KafkaResult<Vec<(String, Option<i64>)>> {
        // A client of its own, metadata first (librdkafka asks every broker the metadata
        // named): on the long-lived reader, listing was seen failing on SASL brokers while
        // metadata calls went through.
        let lister: BaseConsumer<WatchContext> = self
            .settings()?
            .create_with_context(WatchContext::new(&self.cluster.name))
            .map_err(|e| self.error(e))?;
        let (listed, why) = tokio::task::spawn_blocking(move || {
            let listed = lister
                .fetch_metadata(None, CALL_TIMEOUT)
                .and_then(|_| lister.fetch_group_list(None, CALL_TIMEOUT))
                .map(|list| {
                    list.groups()
                        .iter()
                        .filter(|g| g.protocol_type().is_empty() || g.protocol_type() == "consumer")
                        .map(|g| (g.name().to_string(), Some(g.members().len() as i64)))
                        .collect::<Vec<_>>()
                });
            serve(&lister);
            let why = lister.context().last_error.get();
            (listed, why)
        })
        .await
        .map_err(|e| self.error(e))?;
        listed.map_err(|e| match why {
            Some(why) => self.error(format!("{e} ({why})")),
            None => self.error(e),
        })
    }

    /// What `group` has committed on `topics`' partitions; partitions it never committed are
    /// left out. Asks the group's coordinator without joining the group.
    pub async fn committed(
        &self,
        group: &str,
        topics: &[(String, Vec<i32>)],
    ) -> KafkaResult<HashMap<(String, i32), i64>> {
        let mut rd = self.settings()?;
        rd.set("group.id", group).set("enable.auto.commit", "false");
        let consumer: BaseConsumer<WatchContext> = rd
            .create_with_context(WatchContext::new(&self.cluster.name))
            .map_err(|e| self.error(e))?;
        let mut list = TopicPartitionList::new();
        for (topic, partitions) in topics {
            for &p in partitions {
                list.add_partition(topic, p);
            }
        }
        let found = tokio::task::spawn_blocking(move || {
            let answer = consumer.committed_offsets(list, CALL_TIMEOUT);
            drop(consumer);
            answer
        })
        .await
        .map_err(|e| self.error(e))?
        .map_err(|e| self.error(format!("group {group}: {e}")))?;
        let mut out = HashMap::new();
        for e in found.elements() {
            if let Offset::Offset(o) = e.offset() {
                out.insert((e.topic().to_string(), e.partition()), o);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No broker needed: an address that does not resolve is reported with the address.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unresolvable_cluster_is_explained() {
        let cluster = SdkCluster {
            name: "nowhere".into(),
            kind: "kafka".into(),
            bootstrap_servers: vec!["no-such-host.invalid:9092".into()],
            sasl_mechanism: "none".into(),
            ..Default::default()
        };
        let admin = KafkaAdmin::new(&cluster).unwrap();
        let answer =
            tokio::time::timeout(std::time::Duration::from_secs(3), admin.describe()).await;
        assert!(
            !matches!(answer, Ok(Ok(_))),
            "described a cluster that does not exist"
        );
        let why = admin.explain("no answer");
        assert!(why.contains("no-such-host.invalid:9092"), "{why}");
    }
}
