//! The platform's channel to a RocketMQ cluster, through the rocketmq-rust project's client
//! (`rocketmq-client-rust`): the same questions as [`crate::kafka`] asks a Kafka-protocol
//! cluster (brokers, topics, creating a queue's topic, end offsets, consumer groups and what
//! they consumed), so probes, provisioning, imports and lag polling treat both alike.
//!
//! A cluster is registered by its name-server addresses. RocketMQ splits a topic into message
//! queues per broker; the platform numbers them like partitions, in the order of broker name
//! then queue id, so a one-broker topic's partition *n* is its queue *n*.

use crate::kafka::{Broker, ClusterInfo, KafkaError, KafkaResult, TopicInfo, TopicPlan};
use crate::wire::SdkCluster;
use cheetah_string::CheetahString;
use rocketmq_client_rust::{
    AclClientRPCHook, ClientError, ClientRuntime, ClientRuntimeConfig, ConsumerAdmin,
    DefaultLitePullConsumer, DefaultMQAdminExt, DefaultMQProducer, RouteAdmin, SendStatus,
    SessionCredentials, TelemetryHandle, TopicAdmin,
};
use rocketmq_model::common::config::TopicConfig;
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_model::message::MessageQueue;
use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How long one call to a cluster may take before it counts as unreachable.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The client's own runtime, shared by every RocketMQ client of the process: the client runs
/// its background work (routes, heartbeats, offset persistence) there, while callers simply
/// await its calls from wherever they run.
static RUNTIME: OnceLock<Result<(RuntimeOwner, Arc<ClientRuntime>), String>> = OnceLock::new();

/// The RocketMQ client runtime the SDK's clients run in, made on first use; applications that
/// also use RocketMQ's client directly can share it.
pub fn runtime() -> Result<Arc<ClientRuntime>, String> {
    let slot = RUNTIME.get_or_init(|| {
        let owner = RuntimeOwner::plan(RuntimeConfig::for_parallelism("watershed-rocketmq", 2))
            .map_err(|e| format!("RocketMQ client runtime: {e}"))?
            .build()
            .map_err(|e| format!("RocketMQ client runtime: {e}"))?;
        let client = ClientRuntime::try_new(
            owner.root_context().component("rocketmq-client"),
            ClientRuntimeConfig::default(),
            TelemetryHandle::noop(),
        )
        .map_err(|e| format!("RocketMQ client runtime: {}", describe(&e)))?;
        Ok((owner, client))
    });
    slot.as_ref().map(|(_, c)| c.clone()).map_err(Clone::clone)
}

/// A client error in words. The client's own `Display` keeps only a catalog code and a generic
/// sentence; the causes behind it say what actually happened.
pub(crate) fn describe(e: &ClientError) -> String {
    let mut out = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let said = c.to_string();
        if !said.is_empty() && !out.contains(&said) {
            out.push_str(": ");
            out.push_str(&said);
        }
        cause = c.source();
    }
    let class = e.class().to_string().to_ascii_lowercase();
    if class.contains("unavailable") || class.contains("timeout") {
        format!("no name server or broker answers ({out})")
    } else {
        out
    }
}

/// The name-server list the client takes (`a:9876;b:9876`), or why there is none.
pub(crate) fn name_servers(cluster: &SdkCluster) -> Result<String, String> {
    if cluster.bootstrap_servers.is_empty() {
        return Err("the cluster lists no name-server addresses".into());
    }
    if cluster.tls.is_some() {
        return Err(
            "TLS to RocketMQ clusters is not supported yet; register it without TLS".into(),
        );
    }
    Ok(cluster.bootstrap_servers.join(";"))
}

/// The ACL signer for clusters registered with credentials: RocketMQ's access key and secret
/// key are the registration's user name and password.
pub(crate) fn acl(cluster: &SdkCluster) -> Option<Arc<AclClientRPCHook>> {
    match cluster.sasl_mechanism.as_str() {
        "" | "none" => None,
        _ => Some(Arc::new(AclClientRPCHook::new(
            SessionCredentials::with_keys(
                cluster.sasl_username.clone(),
                cluster.sasl_password.clone().unwrap_or_default(),
            ),
        ))),
    }
}

/// Topics a RocketMQ cluster keeps for itself (and the ones its brokers create under their own
/// names), never shown or imported as queues.
fn internal_topic(topic: &str, names: &[String]) -> bool {
    rocketmq_model::topic::is_system_topic(topic)
        || topic.starts_with("%RETRY%")
        || topic.starts_with("%DLQ%")
        || topic.starts_with("rmq_sys_")
        || topic == "TBW102"
        || topic.ends_with("_REPLY_TOPIC")
        || topic == "BenchmarkTest"
        || topic == "SCHEDULE_TOPIC_XXXX"
        || names.iter().any(|n| n == topic)
}

/// Cluster-wide operations on a RocketMQ cluster, through its name servers. It never joins a
/// consumer group.
pub struct Admin {
    cluster: SdkCluster,
    servers: String,
    client: tokio::sync::OnceCell<DefaultMQAdminExt>,
}

/// A topic's message queues in partition order, each with the address of its broker's master.
type Queues = Vec<(String, i32, Option<CheetahString>)>;

impl Admin {
    /// An admin for the cluster a platform config describes; it connects on the first call.
    pub fn new(cluster: &SdkCluster) -> KafkaResult<Self> {
        let servers = name_servers(cluster).map_err(|m| KafkaError {
            cluster: cluster.name.clone(),
            message: m,
        })?;
        Ok(Self {
            cluster: cluster.clone(),
            servers,
            client: tokio::sync::OnceCell::new(),
        })
    }

    pub fn cluster(&self) -> &str {
        &self.cluster.name
    }

    pub fn config(&self) -> &SdkCluster {
        &self.cluster
    }

    /// `message`, naming the name servers asked.
    pub fn explain(&self, message: impl std::fmt::Display) -> String {
        format!(
            "cluster {}: {message} (name servers {})",
            self.cluster.name,
            self.cluster.bootstrap_servers.join(", ")
        )
    }

    fn error(&self, message: impl std::fmt::Display) -> KafkaError {
        KafkaError {
            cluster: self.cluster.name.clone(),
            message: self.explain(message),
        }
    }

    async fn client(&self) -> KafkaResult<&DefaultMQAdminExt> {
        self.client
            .get_or_try_init(|| async {
                let runtime = runtime().map_err(|e| self.error(e))?;
                let mut admin = match acl(&self.cluster) {
                    Some(hook) => {
                        DefaultMQAdminExt::with_rpc_hook_and_timeout(runtime, hook, CALL_TIMEOUT)
                    }
                    None => DefaultMQAdminExt::with_timeout(runtime, CALL_TIMEOUT),
                };
                admin.set_namesrv_addr(self.servers.as_str());
                admin.start().await.map_err(|e| self.error(describe(&e)))?;
                Ok(admin)
            })
            .await
    }

    /// Runs one call with the admin, bounded by [`CALL_TIMEOUT`].
    async fn call<'a, T, F>(
        &'a self,
        what: &str,
        call: impl FnOnce(&'a DefaultMQAdminExt) -> F,
    ) -> KafkaResult<T>
    where
        F: std::future::Future<Output = Result<T, ClientError>> + 'a,
    {
        let client = self.client().await?;
        match tokio::time::timeout(CALL_TIMEOUT, call(client)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.error(format!("{what}: {}", describe(&e)))),
            Err(_) => Err(self.error(format!(
                "{what}: no answer within {} s",
                CALL_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Brokers (masters by name; slaves after them) and the topics the name servers know.
    pub async fn describe(&self) -> KafkaResult<ClusterInfo> {
        let info = self
            .call("cluster info", |c| c.examine_broker_cluster_info())
            .await?;
        let mut names: Vec<String> = info
            .cluster_addr_table
            .iter()
            .flat_map(|t| t.keys().map(|k| k.to_string()))
            .collect();
        names.sort();
        let table: BTreeMap<String, _> = info
            .broker_addr_table
            .iter()
            .flatten()
            .map(|(name, data)| (name.to_string(), data))
            .collect();
        if table.is_empty() {
            return Err(self.error("the name servers know no broker"));
        }
        let mut brokers = Vec::new();
        for (name, data) in &table {
            let mut addrs: Vec<_> = data.broker_addrs().iter().collect();
            addrs.sort();
            for (id, addr) in addrs {
                let (host, port) = addr.rsplit_once(':').unwrap_or((addr.as_str(), "0"));
                brokers.push(Broker {
                    id: *id as i32,
                    host: format!("{name}@{host}"),
                    port: port.parse().unwrap_or(0),
                });
            }
        }
        let own_names: Vec<String> = names.iter().chain(table.keys()).cloned().collect();
        let listed = self
            .call("topic list", |c| c.fetch_all_topic_list())
            .await?
            .topic_list;
        let mut topics = Vec::new();
        for topic in listed {
            let name = topic.to_string();
            let internal = internal_topic(&name, &own_names);
            let partitions = if internal {
                0
            } else {
                self.queues(&name).await?.len() as i32
            };
            topics.push(TopicInfo {
                name,
                partitions,
                internal,
            });
        }
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(ClusterInfo {
            cluster_id: (!names.is_empty()).then(|| names.join(",")),
            brokers,
            topics,
        })
    }

    /// `topic`'s readable message queues in partition order; none when the topic does not exist.
    pub(crate) async fn queues(&self, topic: &str) -> KafkaResult<Queues> {
        let route = self
            .call("topic route", |c| c.examine_topic_route_info(topic.into()))
            .await?;
        let Some(route) = route else {
            return Ok(Vec::new());
        };
        let masters: HashMap<String, CheetahString> = route
            .broker_datas
            .iter()
            .filter_map(|b| {
                b.broker_addrs()
                    .get(&0)
                    .map(|a| (b.broker_name().to_string(), a.clone()))
            })
            .collect();
        let mut queues: Queues = route
            .queue_datas
            .iter()
            .flat_map(|q| {
                let broker = q.broker_name().to_string();
                let master = masters.get(&broker).cloned();
                (0..q.read_queue_nums() as i32).map(move |id| (broker.clone(), id, master.clone()))
            })
            .collect();
        queues.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        Ok(queues)
    }

    /// The addresses of the cluster's master brokers (broker id 0), sorted.
    async fn masters(&self) -> KafkaResult<Vec<CheetahString>> {
        let info = self
            .call("cluster info", |c| c.examine_broker_cluster_info())
            .await?;
        let mut masters: Vec<CheetahString> = info
            .broker_addr_table
            .iter()
            .flatten()
            .filter_map(|(_, b)| b.broker_addrs().get(&0).cloned())
            .collect();
        masters.sort();
        masters.dedup();
        Ok(masters)
    }

    /// Creates `plan.name` on every master broker of the cluster, its partitions spread over
    /// them (at least one queue each). Answers whether it was created (`false`: it existed).
    /// RocketMQ has no replication factor or per-topic configs to set: both are broker-wide.
    pub async fn create_topic(&self, plan: &TopicPlan) -> KafkaResult<bool> {
        if !self.queues(&plan.name).await?.is_empty() {
            return Ok(false);
        }
        let masters = self.masters().await?;
        if masters.is_empty() {
            return Err(self.error("the name servers know no master broker to create the topic on"));
        }
        let per_broker = (plan.partitions.max(1) as u32).div_ceil(masters.len() as u32);
        for addr in masters {
            let config = TopicConfig::with_queues(plan.name.as_str(), per_broker, per_broker);
            self.call("create topic", |c| {
                c.create_and_update_topic_config(addr.clone(), config)
            })
            .await?;
        }
        Ok(true)
    }

    /// A RocketMQ topic carries no configs of its own (retention is the broker's
    /// `fileReservedTime`): always empty.
    pub async fn topic_configs(&self, _topic: &str) -> KafkaResult<HashMap<String, String>> {
        Ok(HashMap::new())
    }

    /// The next offset to be written in each of `topics`' partitions.
    pub async fn end_offsets(
        &self,
        topics: &[(String, Vec<i32>)],
    ) -> KafkaResult<HashMap<(String, i32), i64>> {
        let mut out = HashMap::new();
        for (topic, partitions) in topics {
            let queues = self.queues(topic).await?;
            if queues.is_empty() {
                continue;
            }
            let stats = self
                .call("topic stats", |c| {
                    c.examine_topic_stats(topic.as_str().into(), None)
                })
                .await?;
            let table = stats.get_offset_table();
            for &p in partitions {
                let Some((broker, id, _)) = queues.get(p as usize) else {
                    continue;
                };
                if let Some((_, offset)) = table
                    .iter()
                    .find(|(mq, _)| mq.broker_name().as_str() == broker && mq.queue_id() == *id)
                {
                    out.insert((topic.clone(), p), offset.get_max_offset());
                }
            }
        }
        Ok(out)
    }

    /// Every consumer group the master brokers know, leaving out the cluster's own, in no
    /// particular order (a group on several brokers is named once per broker).
    pub async fn groups(&self) -> KafkaResult<Vec<String>> {
        let mut groups = Vec::new();
        for addr in self.masters().await? {
            let wrapper = self
                .call("consumer groups", |c| {
                    c.get_all_subscription_group(addr, CALL_TIMEOUT.as_millis() as u64)
                })
                .await?;
            groups.extend(
                wrapper
                    .get_subscription_group_table()
                    .keys()
                    .map(|g| g.to_string())
                    .filter(|g| !system_group(g)),
            );
        }
        Ok(groups)
    }

    /// Every consumer group with its member count, which is not asked of RocketMQ here (None).
    pub async fn group_members(&self) -> KafkaResult<Vec<(String, Option<i64>)>> {
        Ok(self
            .groups()
            .await?
            .into_iter()
            .map(|g| (g, None))
            .collect())
    }

    /// What `group` has consumed on `topics`' partitions (the offset it will read next); queues
    /// it never consumed are left out.
    pub async fn committed(
        &self,
        group: &str,
        topics: &[(String, Vec<i32>)],
    ) -> KafkaResult<HashMap<(String, i32), i64>> {
        let mut out = HashMap::new();
        for (topic, partitions) in topics {
            let queues = self.queues(topic).await?;
            let mut masters: Vec<CheetahString> =
                queues.iter().filter_map(|q| q.2.clone()).collect();
            masters.sort();
            masters.dedup();
            for addr in masters {
                let stats = self
                    .call("consume stats", |c| {
                        c.examine_consume_stats(
                            group.into(),
                            Some(topic.as_str().into()),
                            None,
                            Some(addr),
                            Some(CALL_TIMEOUT.as_millis() as u64),
                        )
                    })
                    .await;
                // A group that never consumed this topic on this broker has nothing to say.
                let Ok(stats) = stats else { continue };
                for (mq, offsets) in stats.get_offset_table() {
                    let position = queues.iter().position(|(b, id, _)| {
                        mq.broker_name().as_str() == b && mq.queue_id() == *id
                    });
                    if let Some(p) = position.map(|p| p as i32) {
                        if partitions.contains(&p) && offsets.get_consumer_offset() >= 0 {
                            out.insert((topic.clone(), p), offsets.get_consumer_offset());
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

/// A name RocketMQ accepts for a group (letters, digits, `-`, `_`, `%`, `|`), from any text.
fn group_name(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect()
}

/// The key's bytes as RocketMQ's string key: the text where it is UTF-8, else hex.
fn key_text(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(text) => text.to_string(),
        Err(_) => key.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// The queue a key goes to: FNV-1a over its bytes, so every SDK producer (in any process) puts
/// one key on one queue, and keyed messages keep their order.
fn queue_for(key: &[u8], queues: usize) -> usize {
    let hash = key.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    });
    hash as usize % queues.max(1)
}

/// A RocketMQ producer for one queue's topic: the client and the topic's writable message
/// queues in partition order.
pub(crate) struct Sender {
    cluster: String,
    producer: DefaultMQProducer,
    queues: Vec<MessageQueue>,
    turn: std::sync::atomic::AtomicUsize,
}

impl Sender {
    /// Starts a producer on `cluster` for `topic`, once the topic's route is known (a topic the
    /// name servers do not know is an error here, not on the first send).
    pub(crate) async fn connect(
        cluster: &SdkCluster,
        topic: &str,
        client_id: &str,
    ) -> Result<Self, crate::SdkError> {
        let fail = |m: String| crate::client::kafka_error(&cluster.name, m);
        let servers = name_servers(cluster).map_err(fail)?;
        let runtime = runtime().map_err(fail)?;
        let mut builder = DefaultMQProducer::builder(runtime)
            .name_server_addr(servers.as_str())
            .producer_group(format!("watershed_{}", group_name(client_id)))
            .send_msg_timeout(CALL_TIMEOUT.as_millis() as u32);
        if let Some(hook) = acl(cluster) {
            builder = builder.rpc_hook(hook);
        }
        let mut producer = builder.build();
        producer.start().await.map_err(|e| fail(describe(&e)))?;
        let queues =
            tokio::time::timeout(CALL_TIMEOUT, producer.fetch_publish_message_queues(topic))
                .await
                .map_err(|_| {
                    fail(format!(
                        "no route for topic {topic} within {} s",
                        CALL_TIMEOUT.as_secs()
                    ))
                })?
                .map_err(|e| fail(format!("topic {topic}: {}", describe(&e))))?;
        let mut queues: Vec<MessageQueue> = queues
            .into_iter()
            .filter(|q| q.topic().as_str() == topic)
            .collect();
        if queues.is_empty() {
            producer.shutdown().await;
            return Err(fail(format!(
                "topic {topic} has no writable queue on the cluster"
            )));
        }
        queues.sort_by(|a, b| {
            (a.broker_name().as_str(), a.queue_id()).cmp(&(b.broker_name().as_str(), b.queue_id()))
        });
        Ok(Self {
            cluster: cluster.name.clone(),
            producer,
            queues,
            turn: Default::default(),
        })
    }

    /// Sends one message and waits for the broker's acknowledgement: its partition (queue in
    /// partition order) and offset. With a key, one key always goes to one queue; without,
    /// queues take turns.
    pub(crate) async fn send(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: &[u8],
    ) -> Result<(i32, i64), crate::SdkError> {
        let fail = |m: String| crate::client::kafka_error(&self.cluster, m);
        let index = match key {
            Some(k) => queue_for(k, self.queues.len()),
            None => {
                self.turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.queues.len()
            }
        };
        let mut message = Message::builder().topic(topic).body_slice(value);
        if let Some(k) = key {
            message = message.key(key_text(k));
        }
        let message = message.build().map_err(|e| fail(e.to_string()))?;
        let sent = self
            .producer
            .send_to_queue_with_timeout(
                message,
                self.queues[index].clone(),
                CALL_TIMEOUT.as_millis() as u64,
            )
            .await
            .map_err(|e| fail(describe(&e)))?
            .ok_or_else(|| fail("the broker did not answer the send".into()))?;
        if sent.send_status != SendStatus::SendOk {
            return Err(fail(format!("the broker answered {:?}", sent.send_status)));
        }
        Ok((index as i32, sent.queue_offset as i64))
    }

    /// Stops the client (its connections and background tasks).
    pub(crate) async fn close(&self) {
        // The client's handles share one producer: stopping a copy stops it.
        self.producer.clone().shutdown().await;
    }
}

/// This member of a consumer group on a RocketMQ topic: RocketMQ's lite pull consumer in
/// clustering mode (the brokers share the topic's queues among the group's members and move
/// them when members come and go), with offsets committed only for what the application was
/// handed and is done with.
pub(crate) struct Reader {
    topic: String,
    group: String,
    consumer: DefaultLitePullConsumer,
    /// The topic's message queues in partition order.
    queues: Vec<MessageQueue>,
    /// For the group's progress on the brokers (drain checks).
    admin: Admin,
}

impl Reader {
    /// Joins `group` on `cluster` for `topic`; where the group has no committed offset it
    /// starts from the earliest message (`earliest`) or the latest.
    pub(crate) async fn open(
        cluster: &SdkCluster,
        topic: &str,
        group: &str,
        earliest: bool,
    ) -> Result<Self, crate::SdkError> {
        let fail = |m: String| crate::client::kafka_error(&cluster.name, m);
        let servers = name_servers(cluster).map_err(fail)?;
        let runtime = runtime().map_err(fail)?;
        let mut builder = DefaultLitePullConsumer::builder(runtime)
            .name_server_addr(servers.as_str())
            .consumer_group(group_name(group))
            .consume_from_where(if earliest {
                ConsumeFromWhere::ConsumeFromFirstOffset
            } else {
                ConsumeFromWhere::ConsumeFromLastOffset
            })
            .auto_commit(false)
            .pull_batch_size(64)
            .poll_timeout_millis(1_000);
        if let Some(hook) = acl(cluster) {
            builder = builder.rpc_hook(hook);
        }
        let consumer = builder.build().map_err(|e| fail(describe(&e)))?;
        let queues = Admin::new(cluster).map_err(|e| fail(e.message))?;
        let known = queues.queues(topic).await.map_err(|e| fail(e.message))?;
        if known.is_empty() {
            return Err(fail(format!("topic {topic} does not exist on the cluster")));
        }
        consumer
            .subscribe(topic)
            .await
            .map_err(|e| fail(format!("topic {topic}: {}", describe(&e))))?;
        consumer.start().await.map_err(|e| fail(describe(&e)))?;
        let mut list: Vec<MessageQueue> = known
            .iter()
            .map(|(broker, id, _)| MessageQueue::from_parts(topic, broker.as_str(), *id))
            .collect();
        list.sort_by(|a, b| {
            (a.broker_name().as_str(), a.queue_id()).cmp(&(b.broker_name().as_str(), b.queue_id()))
        });
        Ok(Self {
            topic: topic.to_string(),
            group: group_name(group),
            consumer,
            queues: list,
            admin: queues,
        })
    }

    fn partition_of(&self, broker: &str, queue_id: i32) -> Option<i32> {
        self.queues
            .iter()
            .position(|q| q.broker_name().as_str() == broker && q.queue_id() == queue_id)
            .map(|p| p as i32)
    }

    /// What arrived, waiting at most `wait` for the first message, in partition terms (the
    /// application's properties as headers).
    pub(crate) async fn poll(&self, wait: Duration) -> Vec<crate::consumer::Message> {
        let messages = self
            .consumer
            .poll_with_timeout(wait.as_millis().max(1) as u64)
            .await;
        messages
            .into_iter()
            .filter_map(|m| {
                let partition = self.partition_of(m.broker_name(), m.queue_id())?;
                let key = m
                    .keys()
                    .and_then(|k| k.into_iter().next())
                    .map(String::into_bytes);
                let headers = m
                    .properties()
                    .iter()
                    .filter(|(k, _)| !SYSTEM_PROPERTIES.contains(&k.as_str()))
                    .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                    .collect();
                Some(crate::consumer::Message {
                    cluster: self.admin.cluster().to_string(),
                    topic: self.topic.clone(),
                    partition,
                    offset: m.queue_offset(),
                    key,
                    value: m.body().map(|b| b.to_vec()),
                    timestamp_ms: m.born_timestamp(),
                    headers,
                })
            })
            .collect()
    }

    /// The partitions this member holds now.
    pub(crate) async fn assignment(&self) -> Vec<i32> {
        let held = self.consumer.assignment().await.unwrap_or_default();
        let mut out: Vec<i32> = held
            .iter()
            .filter_map(|q| self.partition_of(q.broker_name().as_str(), q.queue_id()))
            .collect();
        out.sort_unstable();
        out
    }

    /// Commits the next offsets to read of `offsets`' partitions (those this member still
    /// holds: a queue that moved is its new owner's to commit) and persists them on the broker.
    pub(crate) async fn commit(&self, offsets: &BTreeMap<i32, i64>) {
        if offsets.is_empty() {
            return;
        }
        let held = self.assignment().await;
        let map: HashMap<MessageQueue, i64> = offsets
            .iter()
            .filter(|(p, _)| held.contains(p))
            .filter_map(|(&p, &next)| Some((self.queues.get(p as usize)?.clone(), next)))
            .collect();
        if !map.is_empty() {
            self.consumer.commit_sync_with_map(map, true).await;
        }
    }

    /// Whether the group has consumed everything this cluster holds for the topic, as the
    /// brokers see it.
    pub(crate) async fn group_drained(&self) -> Result<bool, crate::SdkError> {
        let partitions: Vec<i32> = (0..self.queues.len() as i32).collect();
        let topics = [(self.topic.clone(), partitions.clone())];
        let ends = self.admin.end_offsets(&topics).await?;
        let done = self.admin.committed(&self.group, &topics).await?;
        Ok(partitions.iter().all(|p| {
            let end = ends.get(&(self.topic.clone(), *p)).copied().unwrap_or(0);
            end == 0
                || done
                    .get(&(self.topic.clone(), *p))
                    .is_some_and(|c| *c >= end)
        }))
    }

    /// Leaves the group: the client persists its offsets and stops.
    pub(crate) async fn close(&self) {
        self.consumer.shutdown().await;
    }
}

/// Message properties RocketMQ sets for itself, not the application's headers.
const SYSTEM_PROPERTIES: &[&str] = &[
    "KEYS",
    "TAGS",
    "WAIT",
    "UNIQ_KEY",
    "MIN_OFFSET",
    "MAX_OFFSET",
    "CONSUME_START_TIME",
    "REAL_TOPIC",
    "REAL_QID",
    "TRAN_MSG",
    "CLUSTER",
    "RETRY_TOPIC",
    "__BORNHOST",
    "DELAY",
    "bname",
];

/// Groups RocketMQ brokers create for their own tools.
fn system_group(group: &str) -> bool {
    rocketmq_model::common::mix_all::is_sys_consumer_group(group)
        || matches!(
            group,
            "TOOLS_CONSUMER"
                | "FILTERSRV_CONSUMER"
                | "SELF_TEST_C_GROUP"
                | "CID_ONS-HTTP-PROXY"
                | "CID_ONSAPI_PERMISSION"
                | "CID_ONSAPI_OWNER"
                | "CID_ONSAPI_PULL"
                | "CID_RMQ_SYS_TRANS"
        )
        || group.starts_with("CID_RMQ_SYS_")
        || group.starts_with("CID_SYS_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clusters_own_topics_and_groups_are_not_queues() {
        let own = vec!["DefaultCluster".to_string(), "broker-a".to_string()];
        for t in [
            "TBW102",
            "SCHEDULE_TOPIC_XXXX",
            "%RETRY%billing",
            "%DLQ%billing",
            "broker-a",
            "DefaultCluster",
            "RMQ_SYS_TRACE_TOPIC",
        ] {
            assert!(internal_topic(t, &own), "{t}");
        }
        assert!(!internal_topic("shop.orders", &own));
        assert!(system_group("TOOLS_CONSUMER"));
        assert!(system_group("CID_RMQ_SYS_TRANS"));
        assert!(!system_group("billing"));
    }

    #[test]
    fn keys_pick_one_queue_and_names_fit_rocketmq() {
        let first = queue_for(b"order-1", 8);
        assert!((0..100).all(|_| queue_for(b"order-1", 8) == first));
        let spread: std::collections::HashSet<_> = (0..64)
            .map(|i| queue_for(format!("order-{i}").as_bytes(), 8))
            .collect();
        assert!(spread.len() > 4, "{spread:?}");
        assert_eq!(group_name("billing@host-1:42/a.b"), "billing_host-1_42_a_b");
        assert_eq!(key_text(b"k1"), "k1");
        assert_eq!(key_text(&[0xff, 0x00]), "ff00");
    }

    /// No broker needed: a name server nobody runs is an `SdkError` naming the cluster, for a
    /// producer as for a consumer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unknown_name_server_is_an_error_naming_the_cluster() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = SdkCluster {
            name: "trade".into(),
            kind: "rocketmq".into(),
            bootstrap_servers: vec![format!("127.0.0.1:{port}")],
            sasl_mechanism: "none".into(),
            ..Default::default()
        };
        let producer = Sender::connect(&cluster, "shop_orders", "billing-1").await;
        let consumer = Reader::open(&cluster, "shop_orders", "billing", true).await;
        for e in [producer.err().unwrap(), consumer.err().unwrap()] {
            match e {
                crate::SdkError::Kafka { cluster, message } => {
                    assert_eq!(cluster, "trade");
                    assert!(!message.is_empty());
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_cluster_without_name_servers_or_with_tls_is_refused_by_name() {
        let mut cluster = SdkCluster {
            name: "trade".into(),
            kind: "rocketmq".into(),
            ..Default::default()
        };
        let e = Admin::new(&cluster).err().unwrap();
        assert_eq!(e.cluster, "trade");
        assert!(e.message.contains("name-server"), "{}", e.message);
        cluster.bootstrap_servers = vec!["127.0.0.1:9876".into()];
        cluster.tls = Some(Default::default());
        let e = Admin::new(&cluster).err().unwrap();
        assert!(e.message.contains("TLS"), "{}", e.message);
    }
}
