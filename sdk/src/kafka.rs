//! The platform's own channel to a Kafka-protocol cluster: health probes, provisioning, topic
//! import and lag polling. (The SDK's producers and consumers use librdkafka, in `native`.)
//!
//! End offsets are read with `rskafka`, which follows partition leaders. What rskafka does not
//! offer (cluster metadata with brokers and controller, topic creation with configs,
//! consumer-group offsets and group listings) goes over [`Connection`], a small
//! request/response channel whose messages are encoded by the `kafka-protocol` crate.

use crate::wire::SdkCluster;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    api_versions_request::ApiVersionsRequest, create_topics_request::CreatableTopic,
    create_topics_request::CreatableTopicConfig, create_topics_request::CreateTopicsRequest,
    find_coordinator_request::FindCoordinatorRequest, list_groups_request::ListGroupsRequest,
    metadata_request::MetadataRequest, offset_commit_request::OffsetCommitRequest,
    offset_commit_request::OffsetCommitRequestPartition,
    offset_commit_request::OffsetCommitRequestTopic, offset_fetch_request::OffsetFetchRequest,
    offset_fetch_request::OffsetFetchRequestGroup, offset_fetch_request::OffsetFetchRequestTopic,
    sasl_authenticate_request::SaslAuthenticateRequest,
    sasl_handshake_request::SaslHandshakeRequest, GroupId, RequestHeader, ResponseHeader,
    TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use kafka_protocol::ResponseError;
use rskafka::client::partition::{PartitionClient, UnknownTopicHandling};
use rskafka::client::{ClientBuilder, Credentials, SaslConfig};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest answer read from a broker (a TLS or garbage reply reads as a huge size).
const MAX_ANSWER: i32 = 100 * 1024 * 1024;

/// How long one call to a broker may take before it counts as unreachable.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong talking to a cluster.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("cannot reach broker {addr}: {message}")]
    Unreachable { addr: String, message: String },
    #[error("broker {addr} did not answer within {} s", CALL_TIMEOUT.as_secs())]
    Timeout { addr: String },
    #[error("the broker refused {api}: {error}")]
    Refused { api: &'static str, error: String },
    #[error("unexpected answer from broker {addr}: {message}")]
    Protocol { addr: String, message: String },
    #[error("the cluster has no topic {0:?}")]
    UnknownTopic(String),
    #[error("SASL mechanism {0} is not supported for this call")]
    UnsupportedSasl(String),
    #[error("the cluster lists no bootstrap servers")]
    NoBootstrap,
    #[error(transparent)]
    Client(#[from] rskafka::client::error::Error),
}

pub type KafkaResult<T> = Result<T, KafkaError>;

fn refused(api: &'static str, code: i16, message: Option<&StrBytes>) -> KafkaResult<()> {
    match ResponseError::try_from_code(code) {
        None => Ok(()),
        Some(e) => Err(KafkaError::Refused {
            api,
            error: match message {
                Some(m) if !m.is_empty() => format!("{e} ({})", m.as_str()),
                _ => e.to_string(),
            },
        }),
    }
}

/// The `kafka-protocol` crate reports encoding errors through `anyhow`; only their text is kept.
fn protocol_error(addr: &str, e: impl std::fmt::Display) -> KafkaError {
    KafkaError::Protocol {
        addr: addr.into(),
        message: e.to_string(),
    }
}

fn s(value: &str) -> StrBytes {
    StrBytes::from_string(value.to_string())
}

/// One TCP connection to one broker, speaking request/response with negotiated versions.
pub struct Connection {
    addr: String,
    stream: TcpStream,
    correlation: i32,
    /// The broker's (lowest, highest) version per API key.
    versions: HashMap<i16, (i16, i16)>,
}

impl Connection {
    /// Connects, asks the broker's API versions and authenticates (SASL PLAIN when configured).
    pub async fn open(addr: &str, cluster: &SdkCluster) -> KafkaResult<Self> {
        let stream = tokio::time::timeout(CALL_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| KafkaError::Timeout { addr: addr.into() })?
            .map_err(|e| KafkaError::Unreachable {
                addr: addr.into(),
                message: e.to_string(),
            })?;
        stream.set_nodelay(true).ok();
        let mut conn = Self {
            addr: addr.to_string(),
            stream,
            correlation: 0,
            versions: HashMap::new(),
        };
        let versions = conn.call(ApiVersionsRequest::default(), 0).await?;
        refused("ApiVersions", versions.error_code, None)?;
        conn.versions = versions
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        match cluster.sasl_mechanism.as_str() {
            "" | "none" => {}
            "PLAIN" => conn.sasl_plain(cluster).await?,
            other => return Err(KafkaError::UnsupportedSasl(other.into())),
        }
        Ok(conn)
    }

    /// Opens a connection to the first bootstrap server that answers.
    pub async fn bootstrap(cluster: &SdkCluster) -> KafkaResult<Self> {
        let mut last = KafkaError::NoBootstrap;
        for addr in &cluster.bootstrap_servers {
            match Self::open(addr, cluster).await {
                Ok(c) => return Ok(c),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The broker this connection talks to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The highest version of `R` the broker and this client (from `least` up to `want`)
    /// both speak.
    fn version_between<R: Request>(&self, least: i16, want: i16) -> KafkaResult<i16> {
        let none = |why: String| KafkaError::Protocol {
            addr: self.addr.clone(),
            message: why,
        };
        let &(min, max) = self
            .versions
            .get(&R::KEY)
            .ok_or_else(|| none(format!("the broker does not offer API key {}", R::KEY)))?;
        let v = max.min(want);
        if v < least.max(min) {
            return Err(none(format!(
                "API key {}: the broker speaks versions {min}-{max}, this client {least}-{want}",
                R::KEY
            )));
        }
        Ok(v)
    }

    fn version<R: Request>(&self, want: i16) -> KafkaResult<i16> {
        self.version_between::<R>(0, want)
    }

    /// The broker's (lowest, highest) version per API key, as it announced them.
    pub fn api_versions(&self) -> &HashMap<i16, (i16, i16)> {
        &self.versions
    }

    /// Sends one request and reads its answer.
    pub async fn call<R: Request>(&mut self, request: R, version: i16) -> KafkaResult<R::Response> {
        let addr = self.addr.clone();
        self.correlation = self.correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("watershed")));
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header
            .encode(&mut buf, R::header_version(version))
            .map_err(|e| protocol_error(&addr, e))?;
        request
            .encode(&mut buf, version)
            .map_err(|e| protocol_error(&addr, e))?;
        let len = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        let exchange = async {
            self.stream.write_all(&buf).await?;
            let size = self.stream.read_i32().await?;
            if !(0..=MAX_ANSWER).contains(&size) {
                return Err(std::io::Error::other(format!("an answer of {size} bytes")));
            }
            let mut body = vec![0u8; size as usize];
            self.stream.read_exact(&mut body).await?;
            Ok::<_, std::io::Error>(body)
        };
        let body = tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .map_err(|_| KafkaError::Timeout { addr: addr.clone() })?
            .map_err(|e| KafkaError::Unreachable {
                addr: addr.clone(),
                message: e.to_string(),
            })?;
        let mut body = Bytes::from(body);
        let answer = ResponseHeader::decode(
            &mut body,
            <R::Response as HeaderVersion>::header_version(version),
        )
        .map_err(|e| protocol_error(&addr, e))?;
        if answer.correlation_id != self.correlation {
            return Err(KafkaError::Protocol {
                addr,
                message: "answer to another request".into(),
            });
        }
        R::Response::decode(&mut body, version).map_err(|e| protocol_error(&addr, e))
    }

    async fn sasl_plain(&mut self, cluster: &SdkCluster) -> KafkaResult<()> {
        let v = self.version::<SaslHandshakeRequest>(1)?;
        let hs = self
            .call(
                SaslHandshakeRequest::default().with_mechanism(s("PLAIN")),
                v,
            )
            .await?;
        refused("SaslHandshake", hs.error_code, None)?;
        let mut token = vec![0u8];
        token.extend_from_slice(cluster.sasl_username.as_bytes());
        token.push(0);
        token.extend_from_slice(cluster.sasl_password.as_deref().unwrap_or("").as_bytes());
        let v = self.version::<SaslAuthenticateRequest>(1)?;
        let auth = self
            .call(
                SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token)),
                v,
            )
            .await?;
        refused(
            "SaslAuthenticate",
            auth.error_code,
            auth.error_message.as_ref(),
        )
    }

    /// Cluster metadata: brokers, controller and (all, or the named) topics.
    pub async fn metadata(&mut self, topics: Option<&[String]>) -> KafkaResult<ClusterInfo> {
        let v = self.version_between::<MetadataRequest>(1, 9)?;
        let request = MetadataRequest::default().with_topics(topics.map(|names| {
            names
                .iter()
                .map(|n| {
                    kafka_protocol::messages::metadata_request::MetadataRequestTopic::default()
                        .with_name(Some(TopicName(s(n))))
                })
                .collect()
        }));
        let request = if v >= 4 {
            request.with_allow_auto_topic_creation(false)
        } else {
            request
        };
        let m = self.call(request, v).await?;
        Ok(ClusterInfo {
            cluster_id: m.cluster_id.map(|c| c.to_string()),
            controller_id: m.controller_id.0,
            brokers: m
                .brokers
                .iter()
                .map(|b| Broker {
                    id: b.node_id.0,
                    host: b.host.to_string(),
                    port: b.port,
                })
                .collect(),
            topics: m
                .topics
                .iter()
                .filter(|t| t.error_code == 0)
                .filter_map(|t| {
                    Some(TopicInfo {
                        name: t.name.as_ref()?.0.to_string(),
                        partitions: t.partitions.len() as i32,
                        internal: t.is_internal || t.name.as_ref()?.0.starts_with("__"),
                    })
                })
                .collect(),
            api_versions: self.versions.len(),
        })
    }

    /// Creates a topic; `Ok(false)` when it already existed.
    pub async fn create_topic(&mut self, topic: &TopicPlan) -> KafkaResult<bool> {
        let v = self.version::<CreateTopicsRequest>(5)?;
        let configs = topic
            .configs
            .iter()
            .map(|(k, val)| {
                CreatableTopicConfig::default()
                    .with_name(s(k))
                    .with_value(Some(s(val)))
            })
            .collect();
        let request = CreateTopicsRequest::default()
            .with_timeout_ms(CALL_TIMEOUT.as_millis() as i32)
            .with_topics(vec![CreatableTopic::default()
                .with_name(TopicName(s(&topic.name)))
                .with_num_partitions(topic.partitions)
                .with_replication_factor(topic.replication)
                .with_configs(configs)]);
        let answer = self.call(request, v).await?;
        for t in &answer.topics {
            if ResponseError::try_from_code(t.error_code) == Some(ResponseError::TopicAlreadyExists)
            {
                return Ok(false);
            }
            refused("CreateTopics", t.error_code, t.error_message.as_ref())?;
        }
        Ok(true)
    }

    /// The groups this broker coordinates.
    pub async fn list_groups(&mut self) -> KafkaResult<Vec<String>> {
        let v = self.version::<ListGroupsRequest>(4)?;
        let answer = self.call(ListGroupsRequest::default(), v).await?;
        refused("ListGroups", answer.error_code, None)?;
        Ok(answer
            .groups
            .iter()
            .map(|g| g.group_id.0.to_string())
            .collect())
    }

    /// The broker coordinating `group`, as `host:port`.
    pub async fn coordinator(&mut self, group: &str) -> KafkaResult<String> {
        // Version 4 moved to batched keys; 3 still answers one key in the top-level fields.
        let v = self.version::<FindCoordinatorRequest>(3)?;
        let answer = self
            .call(
                FindCoordinatorRequest::default()
                    .with_key(s(group))
                    .with_key_type(0),
                v,
            )
            .await?;
        refused(
            "FindCoordinator",
            answer.error_code,
            answer.error_message.as_ref(),
        )?;
        Ok(format!("{}:{}", answer.host.as_str(), answer.port))
    }

    /// `group`'s committed offsets in `topic` (partitions without one are absent).
    pub async fn committed(
        &mut self,
        group: &str,
        topic: &str,
        partitions: &[i32],
    ) -> KafkaResult<HashMap<i32, i64>> {
        // Version 8 moved to batched groups; 7 still takes one group.
        let v = self.version_between::<OffsetFetchRequest>(1, 7)?;
        let request = OffsetFetchRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                .with_name(TopicName(s(topic)))
                .with_partition_indexes(partitions.to_vec())]));
        let answer = self.call(request, v).await?;
        refused("OffsetFetch", answer.error_code, None)?;
        let mut out = HashMap::new();
        for t in answer.topics.iter().filter(|t| t.name.0.as_str() == topic) {
            for p in &t.partitions {
                refused("OffsetFetch", p.error_code, None)?;
                if p.committed_offset >= 0 {
                    out.insert(p.partition_index, p.committed_offset);
                }
            }
        }
        Ok(out)
    }

    /// Every committed offset of `group`, by (topic, partition). Asks with version 8's group
    /// list where the broker has it: some brokers answer version 7's "every topic" form with
    /// a null array.
    pub async fn committed_all(&mut self, group: &str) -> KafkaResult<HashMap<(String, i32), i64>> {
        let mut out = HashMap::new();
        let v = self.version::<OffsetFetchRequest>(8)?;
        if v >= 8 {
            let request =
                OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                    .with_group_id(GroupId(s(group)))
                    .with_member_epoch(-1)
                    .with_topics(None)]);
            let answer = self.call(request, v).await?;
            for g in &answer.groups {
                refused("OffsetFetch", g.error_code, None)?;
                for t in &g.topics {
                    for p in t
                        .partitions
                        .iter()
                        .filter(|p| p.error_code == 0 && p.committed_offset >= 0)
                    {
                        out.insert(
                            (t.name.0.to_string(), p.partition_index),
                            p.committed_offset,
                        );
                    }
                }
            }
            return Ok(out);
        }
        // Version 2 is the first where no topic list means every topic.
        let request = OffsetFetchRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_topics(None);
        let v = self.version_between::<OffsetFetchRequest>(2, 7)?;
        let answer = self.call(request, v).await?;
        refused("OffsetFetch", answer.error_code, None)?;
        for t in &answer.topics {
            for p in t
                .partitions
                .iter()
                .filter(|p| p.error_code == 0 && p.committed_offset >= 0)
            {
                out.insert(
                    (t.name.0.to_string(), p.partition_index),
                    p.committed_offset,
                );
            }
        }
        Ok(out)
    }

    /// Commits `group`'s offsets in `topic` as a client outside any group generation.
    pub async fn commit(
        &mut self,
        group: &str,
        topic: &str,
        offsets: &[(i32, i64)],
    ) -> KafkaResult<()> {
        let v = self.version_between::<OffsetCommitRequest>(2, 7)?;
        let request = OffsetCommitRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_generation_id_or_member_epoch(-1)
            .with_member_id(s(""))
            .with_retention_time_ms(-1)
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(TopicName(s(topic)))
                .with_partitions(
                    offsets
                        .iter()
                        .map(|&(p, o)| {
                            OffsetCommitRequestPartition::default()
                                .with_partition_index(p)
                                .with_committed_offset(o)
                        })
                        .collect(),
                )]);
        let answer = self.call(request, v).await?;
        for t in &answer.topics {
            for p in &t.partitions {
                refused("OffsetCommit", p.error_code, None)?;
            }
        }
        Ok(())
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
    /// Internal topics (`__consumer_offsets` and the like) are never imported.
    pub internal: bool,
}

/// What a metadata request tells about a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    pub cluster_id: Option<String>,
    pub controller_id: i32,
    pub brokers: Vec<Broker>,
    pub topics: Vec<TopicInfo>,
    /// How many API keys the answering broker offers.
    pub api_versions: usize,
}

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPlan {
    pub name: String,
    pub partitions: i32,
    pub replication: i16,
    /// Topic configs such as `retention.ms`.
    pub configs: Vec<(String, String)>,
}

/// Cluster-wide operations over [`Connection`]s.
pub struct Admin {
    cluster: SdkCluster,
}

impl Admin {
    /// Operations on the cluster a platform config describes.
    pub fn new(cluster: SdkCluster) -> Self {
        Self { cluster }
    }

    /// Metadata from the first bootstrap server that answers.
    pub async fn describe(&self) -> KafkaResult<ClusterInfo> {
        Connection::bootstrap(&self.cluster)
            .await?
            .metadata(None)
            .await
    }

    /// Creates a topic on the controller; `Ok(false)` when it already existed. A replication
    /// of 0 means three copies, or one per broker on smaller clusters.
    pub async fn create_topic(&self, topic: &TopicPlan) -> KafkaResult<bool> {
        let mut conn = Connection::bootstrap(&self.cluster).await?;
        let info = conn.metadata(Some(&[])).await?;
        let mut topic = topic.clone();
        if topic.replication <= 0 {
            topic.replication = (info.brokers.len() as i16).clamp(1, 3);
        }
        let topic = &topic;
        if let Some(b) = info.brokers.iter().find(|b| b.id == info.controller_id) {
            let addr = format!("{}:{}", b.host, b.port);
            if addr != conn.addr() {
                if let Ok(c) = Connection::open(&addr, &self.cluster).await {
                    conn = c;
                }
            }
        }
        conn.create_topic(topic).await
    }

    /// Every consumer group on the cluster (each broker lists the groups it coordinates).
    pub async fn groups(&self) -> KafkaResult<Vec<String>> {
        let mut conn = Connection::bootstrap(&self.cluster).await?;
        let info = conn.metadata(Some(&[])).await?;
        let mut groups = conn.list_groups().await?;
        for b in &info.brokers {
            let addr = format!("{}:{}", b.host, b.port);
            if addr == conn.addr() {
                continue;
            }
            if let Ok(mut other) = Connection::open(&addr, &self.cluster).await {
                groups.extend(other.list_groups().await?);
            }
        }
        groups.sort();
        groups.dedup();
        Ok(groups)
    }

    /// A connection to the coordinator of `group`.
    pub async fn coordinator(&self, group: &str) -> KafkaResult<Connection> {
        let mut conn = Connection::bootstrap(&self.cluster).await?;
        let addr = conn.coordinator(group).await?;
        if addr == conn.addr() {
            Ok(conn)
        } else {
            Connection::open(&addr, &self.cluster).await
        }
    }
}

/// Produces and fetches records, one partition client per partition, following leaders.
pub struct DataClient {
    client: rskafka::client::Client,
    partitions: tokio::sync::Mutex<HashMap<(String, i32), Arc<PartitionClient>>>,
}

impl DataClient {
    /// Connects to the cluster a platform config describes.
    pub async fn connect(cluster: &SdkCluster, client_id: &str) -> KafkaResult<Self> {
        if cluster.bootstrap_servers.is_empty() {
            return Err(KafkaError::NoBootstrap);
        }
        let mut builder = ClientBuilder::new(cluster.bootstrap_servers.clone())
            .client_id(client_id.to_string())
            .backoff_config(rskafka::BackoffConfig {
                init_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
                // Without a deadline rskafka retries an unreachable cluster forever.
                deadline: Some(CALL_TIMEOUT),
            });
        let credentials = || {
            Credentials::new(
                cluster.sasl_username.clone(),
                cluster.sasl_password.clone().unwrap_or_default(),
            )
        };
        builder = match cluster.sasl_mechanism.as_str() {
            "" | "none" => builder,
            "PLAIN" => builder.sasl_config(SaslConfig::Plain(credentials())),
            "SCRAM-SHA-256" => builder.sasl_config(SaslConfig::ScramSha256(credentials())),
            "SCRAM-SHA-512" => builder.sasl_config(SaslConfig::ScramSha512(credentials())),
            other => return Err(KafkaError::UnsupportedSasl(other.into())),
        };
        let client = tokio::time::timeout(CALL_TIMEOUT, builder.build())
            .await
            .map_err(|_| KafkaError::Timeout {
                addr: cluster.bootstrap_servers.join(","),
            })??;
        Ok(Self {
            client,
            partitions: Default::default(),
        })
    }

    /// The partition ids of `topic`.
    pub async fn partition_ids(&self, topic: &str) -> KafkaResult<Vec<i32>> {
        let topics = self.client.list_topics().await?;
        topics
            .into_iter()
            .find(|t| t.name == topic)
            .map(|t| t.partitions.into_iter().collect())
            .ok_or_else(|| KafkaError::UnknownTopic(topic.into()))
    }

    /// The client of one partition, made once.
    pub async fn partition(
        &self,
        topic: &str,
        partition: i32,
    ) -> KafkaResult<Arc<PartitionClient>> {
        let key = (topic.to_string(), partition);
        if let Some(c) = self.partitions.lock().await.get(&key) {
            return Ok(c.clone());
        }
        let c = Arc::new(
            self.client
                .partition_client(topic, partition, UnknownTopicHandling::Retry)
                .await?,
        );
        self.partitions.lock().await.insert(key, c.clone());
        Ok(c)
    }

    /// The next offset to be written in each partition (the high watermark).
    pub async fn end_offsets(
        &self,
        topic: &str,
        partitions: &[i32],
    ) -> KafkaResult<HashMap<i32, i64>> {
        let mut out = HashMap::new();
        for &p in partitions {
            let c = self.partition(topic, p).await?;
            out.insert(
                p,
                c.get_offset(rskafka::client::partition::OffsetAt::Latest)
                    .await?,
            );
        }
        Ok(out)
    }
}
