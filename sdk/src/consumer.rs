//! The consumer: a member of its consumer group on wherever the queue lives now, and on the
//! clusters it lived on before until they are drained.

use crate::client::{kafka_error, ClientConfig, Link, ResumePolicy};
use crate::native::{self, GroupContext, CALL_TIMEOUT};
use crate::wire::{PartitionOffset, SdkConfig, SdkRole};
use crate::SdkError;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::error::KafkaError as RdError;
use rdkafka::message::{Headers as _, Message as _};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// At most this many messages come out of one `poll`.
const MAX_BATCH: usize = 1_000;

/// A message as the consumer hands it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The cluster it was read from.
    pub cluster: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    /// When the producer made it, in milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    pub headers: BTreeMap<String, Vec<u8>>,
}

type GroupConsumer = StreamConsumer<GroupContext>;

/// One cluster being read: this instance's membership of the group there.
struct Source {
    config: SdkConfig,
    reader: Reader,
    /// Received from librdkafka but not yet handed out (a `poll` cancelled midway leaves them
    /// here for the next one).
    buffer: VecDeque<Message>,
    /// Per partition, the offset after the last message handed out: stored for the next commit
    /// when the application asks for more (it is done with what it had).
    handed_out: BTreeMap<i32, i64>,
    /// Offsets handed out since the last report (the group's position as this member sees it).
    positions: BTreeMap<i32, i64>,
    /// RocketMQ: offsets stored for the next commit (librdkafka keeps its own).
    #[cfg_attr(not(feature = "rocketmq"), allow(dead_code))]
    stored: BTreeMap<i32, i64>,
    /// RocketMQ: the partitions held at the last fetch.
    #[cfg_attr(not(feature = "rocketmq"), allow(dead_code))]
    held: Vec<i32>,
    /// Set once `leave` has served the revocation; otherwise dropping serves it (see `Drop`).
    left: bool,
}

/// The native consumer underneath.
enum Reader {
    Kafka(Arc<GroupConsumer>),
    #[cfg(feature = "rocketmq")]
    RocketMq(Arc<crate::rocketmq::Reader>),
}

impl Source {
    fn name(&self) -> &str {
        &self.config.cluster.name
    }

    /// Joins the group on the queue's cluster. Where the group has no committed offset it
    /// starts by `policy`.
    async fn open(config: SdkConfig, link: &Link, policy: ResumePolicy) -> Result<Self, SdkError> {
        let name = config.cluster.name.clone();
        let group = link.config.consumer_group.clone().unwrap_or_default();
        if config.cluster.kind == "rocketmq" {
            #[cfg(feature = "rocketmq")]
            {
                let reader = crate::rocketmq::Reader::open(
                    &config.cluster,
                    &config.topic,
                    &group,
                    policy == ResumePolicy::Earliest,
                )
                .await?;
                tracing::info!(cluster = %name, topic = %config.topic, %group, "consumer joined its group (RocketMQ)");
                return Ok(Self::with(config, Reader::RocketMq(Arc::new(reader))));
            }
            #[cfg(not(feature = "rocketmq"))]
            return Err(kafka_error(
                &name,
                "this build has no RocketMQ client (feature `rocketmq`)",
            ));
        }
        let mut rd =
            native::rd_config(&config.cluster, &link.config.client_id, &link.config.kafka)?;
        rd.set("group.id", &group)
            // Offsets are stored only for what the application finished, and committed by
            // the SDK (every commit interval, before partitions move, on switch and close).
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set(
                "auto.offset.reset",
                match policy {
                    ResumePolicy::Earliest => "earliest",
                    ResumePolicy::Latest => "latest",
                },
            );
        for (k, v) in CONSUMER_DEFAULTS {
            if !link.config.kafka.contains_key(*k) {
                rd.set(*k, *v);
            }
        }
        let consumer: GroupConsumer = rd
            .create_with_context(GroupContext::new(&name, &config.topic))
            .map_err(|e| kafka_error(&name, e))?;
        let consumer = Arc::new(consumer);
        let last_error = consumer.context().last_error.clone();
        native::partitions(consumer.clone(), &last_error, &name, &config.topic).await?;
        consumer
            .subscribe(&[&config.topic])
            .map_err(|e| kafka_error(&name, e))?;
        tracing::info!(cluster = %name, topic = %config.topic, %group, "consumer joined its group");
        Ok(Self::with(config, Reader::Kafka(consumer)))
    }

    fn with(config: SdkConfig, reader: Reader) -> Self {
        Self {
            config,
            reader,
            buffer: VecDeque::new(),
            handed_out: BTreeMap::new(),
            positions: BTreeMap::new(),
            stored: BTreeMap::new(),
            held: Vec::new(),
            left: false,
        }
    }

    /// Stores what earlier polls handed out, for the next commit. A partition this member no
    /// longer owns is skipped: its new owner reads it again from the last commit.
    fn store(&mut self) {
        let consumer = match &self.reader {
            Reader::Kafka(c) => c,
            #[cfg(feature = "rocketmq")]
            Reader::RocketMq(_) => {
                self.stored.append(&mut self.handed_out);
                return;
            }
        };
        for (p, next) in std::mem::take(&mut self.handed_out) {
            if let Err(e) = consumer.store_offset(&self.config.topic, p, next - 1) {
                tracing::debug!(cluster = %self.config.cluster.name, partition = p, error = %e,
                    "offset not stored (the partition moved to another member)");
            }
        }
    }

    /// Stores what was handed out and commits it, waiting for the cluster's answer (off the
    /// async threads). Commits are never left in flight: librdkafka must not be closing a
    /// consumer while one is.
    async fn commit(&mut self) -> Result<(), SdkError> {
        self.store();
        let consumer = match &self.reader {
            Reader::Kafka(c) => c.clone(),
            #[cfg(feature = "rocketmq")]
            Reader::RocketMq(r) => {
                r.commit(&std::mem::take(&mut self.stored)).await;
                return Ok(());
            }
        };
        let committed =
            tokio::task::spawn_blocking(move || consumer.commit_consumer_state(CommitMode::Sync))
                .await
                .map_err(|e| kafka_error(self.name(), e))?;
        match committed {
            Ok(()) | Err(RdError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => Ok(()),
            Err(e) => Err(kafka_error(self.name(), e)),
        }
    }

    /// What is there, waiting at most `wait` for the first message. Messages go to the buffer
    /// as they arrive and leave it only when returned, so a cancelled call loses none.
    async fn fetch(&mut self, wait: Duration) -> Result<Vec<Message>, SdkError> {
        let consumer = match &self.reader {
            Reader::Kafka(c) => c.clone(),
            #[cfg(feature = "rocketmq")]
            Reader::RocketMq(r) => {
                let r = r.clone();
                if self.buffer.is_empty() {
                    self.buffer.extend(r.poll(wait).await);
                }
                self.held = r.assignment().await;
                return Ok(self.hand_out());
            }
        };
        let deadline = Instant::now() + wait;
        let mut failure = None;
        while self.buffer.len() < MAX_BATCH {
            let next = if self.buffer.is_empty() {
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, consumer.recv()).await {
                    Ok(r) => r,
                    Err(_) => break,
                }
            } else {
                match futures_util::FutureExt::now_or_never(consumer.recv()) {
                    Some(r) => r,
                    None => break,
                }
            };
            match next {
                Ok(m) => {
                    let message = owned(&self.config, &m);
                    self.buffer.push_back(message);
                }
                Err(e) if is_fatal(&e) => {
                    failure = Some(e);
                    break;
                }
                // librdkafka recovers from these by itself (a broker restarting, a leader
                // moving); they are logged and counted, not handed to the application.
                Err(e) => {
                    tracing::debug!(cluster = %self.config.cluster.name, error = %e, "consumer error");
                    if self.buffer.is_empty() && Instant::now() >= deadline {
                        break;
                    }
                }
            }
        }
        // Messages of a partition taken away while they waited here are still handed out: if
        // the partition comes back to this member, librdkafka goes on after them, so dropping
        // them could lose them; handed out, at worst its new owner reads them again.
        if self.buffer.is_empty() {
            if let Some(e) = failure {
                return Err(kafka_error(self.name(), e));
            }
        }
        Ok(self.hand_out())
    }

    /// Hands out what the buffer holds, noting the offsets to commit once the application is
    /// done with them.
    fn hand_out(&mut self) -> Vec<Message> {
        let out: Vec<Message> = self.buffer.drain(..).collect();
        for m in &out {
            self.handed_out.insert(m.partition, m.offset + 1);
            self.positions.insert(m.partition, m.offset + 1);
        }
        out
    }

    /// The partitions this member owns now.
    fn assignment(&self) -> Vec<i32> {
        let consumer = match &self.reader {
            Reader::Kafka(c) => c,
            #[cfg(feature = "rocketmq")]
            Reader::RocketMq(_) => return self.held.clone(),
        };
        let mut out: Vec<i32> = consumer
            .assignment()
            .map(|l| l.elements().iter().map(|e| e.partition()).collect())
            .unwrap_or_default();
        out.sort_unstable();
        out
    }

    /// Whether the whole group has read and committed everything this cluster holds for the
    /// queue: every partition's committed offset at its high watermark (or the partition
    /// empty). Asked by each member, so a member leaving never strands another's partitions.
    async fn group_drained(&self) -> Result<bool, SdkError> {
        let consumer = match &self.reader {
            Reader::Kafka(c) => c.clone(),
            #[cfg(feature = "rocketmq")]
            Reader::RocketMq(r) => return r.group_drained().await,
        };
        let topic = self.config.topic.clone();
        let answer = tokio::task::spawn_blocking(move || -> Result<bool, RdError> {
            let metadata = consumer.fetch_metadata(Some(&topic), CALL_TIMEOUT)?;
            let mut list = TopicPartitionList::new();
            for t in metadata.topics().iter().filter(|t| t.name() == topic) {
                for p in t.partitions() {
                    list.add_partition(&topic, p.id());
                }
            }
            let committed = consumer.committed_offsets(list.clone(), CALL_TIMEOUT)?;
            for e in list.elements() {
                let (low, high) = consumer.fetch_watermarks(&topic, e.partition(), CALL_TIMEOUT)?;
                let at = committed
                    .find_partition(&topic, e.partition())
                    .and_then(|c| match c.offset() {
                        Offset::Offset(o) => Some(o),
                        _ => None,
                    });
                let done = match at {
                    Some(o) => o >= high,
                    None => low >= high,
                };
                if !done {
                    return Ok(false);
                }
            }
            Ok(true)
        })
        .await
        .map_err(|e| kafka_error(self.name(), e))?;
        answer.map_err(|e| kafka_error(self.name(), e))
    }

    /// Positions and lag per partition this member read, for the platform's reports.
    fn offsets(&self) -> Vec<PartitionOffset> {
        // RocketMQ's client tells no end offsets: its lag comes from the platform's polling.
        let marks = match &self.reader {
            Reader::Kafka(c) => c.context().high_watermarks(),
            #[cfg(feature = "rocketmq")]
            Reader::RocketMq(_) => Default::default(),
        };
        let owned = self.assignment();
        self.positions
            .iter()
            .filter(|(p, _)| owned.contains(p))
            .map(|(&partition, &offset)| PartitionOffset {
                partition,
                offset,
                lag: marks.get(&partition).map_or(0, |h| (h - offset).max(0)),
            })
            .collect()
    }

    /// Leaves the group on this cluster: librdkafka commits what was stored as the partitions
    /// are revoked, then closes (off the async threads: closing waits for the broker).
    async fn leave(mut self) {
        if let Err(e) = self.commit().await {
            tracing::warn!(cluster = %self.config.cluster.name, error = %e,
                "commit before leaving failed; the group re-reads from its last commit");
        }
        let name = self.config.cluster.name.clone();
        self.left = true;
        match &self.reader {
            Reader::Kafka(c) => {
                let consumer = c.clone();
                drop(self);
                serve_revocation(consumer).await;
            }
            #[cfg(feature = "rocketmq")]
            Reader::RocketMq(r) => {
                let reader = r.clone();
                drop(self);
                reader.close().await;
            }
        }
        tracing::info!(cluster = %name, "left the group on the old cluster");
    }
}

/// Leaves the group and closes. The revocation is served here, before closing: left to
/// librdkafka's close (rdkafka's drop), a cooperative revocation blocks forever in
/// `incremental_unassign` or trips librdkafka's `assignment_in_progress` assertion. What
/// arrives meanwhile is not handed out (nothing of it is stored, so its next owner reads it).
async fn serve_revocation(consumer: Arc<GroupConsumer>) {
    consumer.unsubscribe();
    let deadline = Instant::now() + CALL_TIMEOUT;
    while Instant::now() < deadline
        && consumer
            .assignment()
            .map(|a| a.count() > 0)
            .unwrap_or(false)
    {
        let _ = tokio::time::timeout(Duration::from_millis(100), consumer.recv()).await;
    }
    // Closing waits for the broker: off the async threads.
    let _ = tokio::task::spawn_blocking(move || drop(consumer)).await;
}

/// A consumer dropped without `close` still leaves its group safely: without a commit (the
/// group re-reads what was not committed), with the revocation served on the runtime.
impl Drop for Source {
    fn drop(&mut self) {
        if self.left {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            match &self.reader {
                Reader::Kafka(c) => {
                    runtime.spawn(serve_revocation(c.clone()));
                }
                #[cfg(feature = "rocketmq")]
                Reader::RocketMq(r) => {
                    let reader = r.clone();
                    runtime.spawn(async move { reader.close().await });
                }
            }
        }
    }
}

/// What a consumer runs with unless the application says otherwise.
const CONSUMER_DEFAULTS: &[(&str, &str)] = &[
    // Members of a group share partitions incrementally: a member joining or leaving moves
    // only the partitions that must move, and nobody stops reading the rest.
    ("partition.assignment.strategy", "cooperative-sticky"),
    // High watermarks for lag reports.
    ("statistics.interval.ms", "1000"),
];

/// Errors the application has to see: librdkafka does not recover from them by retrying.
fn is_fatal(e: &RdError) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        e.rdkafka_error_code(),
        Some(
            C::SaslAuthenticationFailed
                | C::Authentication
                | C::TopicAuthorizationFailed
                | C::GroupAuthorizationFailed
                | C::ClusterAuthorizationFailed
                | C::UnknownTopicOrPartition
                | C::UnknownTopic,
        )
    )
}

fn owned(config: &SdkConfig, m: &rdkafka::message::BorrowedMessage<'_>) -> Message {
    let headers = m
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| {
                    (
                        h.key.to_string(),
                        h.value.map(<[u8]>::to_vec).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Message {
        cluster: config.cluster.name.clone(),
        topic: config.topic.clone(),
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        timestamp_ms: m.timestamp().to_millis().unwrap_or(0),
        headers,
    }
}

/// Reads a logical queue as a member of a consumer group, at least once. Instances of one
/// group (threads, processes, hosts) share the queue's partitions; each partition is read by
/// one member at a time (cooperative-sticky rebalancing, librdkafka's group protocol).
///
/// What `poll` hands out is stored for commit when the application polls again (it is done
/// with it by then) and committed every commit interval; [`Consumer::commit`], a rebalance
/// that takes partitions away, a switch and [`Consumer::close`] commit too. A message handed
/// out but not committed before a crash is read again, by this member or another.
pub struct Consumer {
    link: Arc<Link>,
    mapping: watch::Receiver<SdkConfig>,
    current: Source,
    /// Clusters the queue left, each read until its deadline and then until the group has
    /// read and committed everything there.
    draining: Vec<Drain>,
    last_commit: Instant,
    /// After a failed switch, when to try again.
    retry_switch: Option<Instant>,
}

/// A cluster the queue left, still being read.
struct Drain {
    source: Source,
    until: Instant,
    /// When the last drained check ran, and since when checks have been failing.
    checked: Option<Instant>,
    failing_since: Option<Instant>,
}

impl Consumer {
    /// Asks the platform where the queue lives and joins the group there: it resumes from
    /// the group's committed offsets (by [`ResumePolicy`] where it has none).
    pub async fn connect(config: ClientConfig) -> Result<Self, SdkError> {
        let link = Link::open(config, SdkRole::Consumer).await?;
        let mut mapping = link.subscribe();
        let first = mapping.borrow_and_update().clone();
        let current = Source::open(first, &link, link.config.resume).await?;
        Ok(Self {
            link,
            mapping,
            current,
            draining: Vec::new(),
            last_commit: Instant::now(),
            retry_switch: None,
        })
    }

    /// The next messages, waiting at most `wait` when there are none. Messages from a cluster
    /// the queue just left come before those of the new one.
    pub async fn poll(&mut self, wait: Duration) -> Result<Vec<Message>, SdkError> {
        self.link.check_revoked()?;
        // The application is done with what earlier polls handed out.
        self.current.store();
        for d in &mut self.draining {
            d.source.store();
        }
        if self.last_commit.elapsed() >= self.link.config.commit_interval {
            if let Err(e) = self.commit_all().await {
                tracing::warn!(error = %e, "commit failed; will retry");
                self.link.count_error();
            }
        }
        let retry_due = self.retry_switch.is_none_or(|at| Instant::now() >= at);
        if retry_due && self.mapping.has_changed().unwrap_or(false) {
            self.switch().await;
        }
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.draining.len() && out.is_empty() {
            let d = &mut self.draining[i];
            match d.source.fetch(Duration::from_millis(10)).await {
                Ok(messages) => out = messages,
                Err(e) => {
                    tracing::warn!(error = %e, cluster = d.source.name(), "draining the old cluster failed")
                }
            }
            if out.is_empty() && self.drained(i).await {
                let d = self.draining.remove(i);
                d.source.leave().await;
            } else {
                i += 1;
            }
        }
        if out.is_empty() {
            let wait = if self.draining.is_empty() {
                wait
            } else {
                wait.min(Duration::from_millis(100))
            };
            out = self.current.fetch(wait).await.inspect_err(|_| {
                self.link.count_error();
            })?;
        }
        let bytes: usize = out
            .iter()
            .map(|m| m.value.as_ref().map_or(0, Vec::len) + m.key.as_ref().map_or(0, Vec::len))
            .sum();
        self.link.count(out.len(), bytes);
        self.link.set_offsets(self.current.offsets());
        Ok(out)
    }

    /// Whether the cluster being drained at `i` is done with: past its deadline, and the
    /// group has committed everything there (asked at most twice a second). A cluster that
    /// cannot be asked is given up a drain period after its deadline.
    async fn drained(&mut self, i: usize) -> bool {
        let d = &mut self.draining[i];
        let now = Instant::now();
        if now < d.until
            || d.checked
                .is_some_and(|t| now - t < Duration::from_millis(500))
        {
            return false;
        }
        d.checked = Some(now);
        if let Err(e) = d.source.commit().await {
            tracing::debug!(error = %e, cluster = d.source.name(), "commit while draining failed");
        }
        match d.source.group_drained().await {
            Ok(done) => {
                d.failing_since = None;
                done
            }
            Err(e) => {
                let since = *d.failing_since.get_or_insert(now);
                let give_up = now - since >= CALL_TIMEOUT * 3;
                tracing::warn!(error = %e, cluster = d.source.name(), give_up,
                    "cannot tell whether the old cluster is drained");
                give_up
            }
        }
    }

    /// Commits what `poll` has handed out, on the current cluster and those being drained,
    /// and waits for the clusters' answers; each cluster is committed even when another fails.
    pub async fn commit(&mut self) -> Result<(), SdkError> {
        self.current.store();
        for d in &mut self.draining {
            d.source.store();
        }
        self.commit_all().await
    }

    async fn commit_all(&mut self) -> Result<(), SdkError> {
        self.last_commit = Instant::now();
        let mut first_error = None;
        for d in &mut self.draining {
            if let Err(e) = d.source.commit().await {
                first_error.get_or_insert(e);
            }
        }
        if let Err(e) = self.current.commit().await {
            first_error.get_or_insert(e);
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Commits on the old cluster, then joins the group on the new one, keeping the old one to
    /// drain. When the new cluster cannot be reached yet, stays and tries again a second later.
    async fn switch(&mut self) {
        let config = self.mapping.borrow().clone();
        if config.config_version == self.current.config.config_version {
            self.mapping.borrow_and_update();
            return;
        }
        let same =
            |s: &Source| s.config.cluster == config.cluster && s.config.topic == config.topic;
        let drain = self.link.config.drain.unwrap_or_else(|| {
            2 * self
                .link
                .config
                .heartbeat_interval
                .unwrap_or(Duration::from_secs(config.heartbeat_interval_secs.max(1)))
        });
        if same(&self.current) {
            // Back where it was (A to B and back within one heartbeat): this instance stays a
            // member here, and drains what the queue passed through.
            self.current.config = config.clone();
            self.retry_switch = None;
            self.mapping.borrow_and_update();
            self.drain_recent(&config, drain).await;
            return;
        }
        if let Err(e) = self.current.commit().await {
            tracing::warn!(error = %e, "commit before the switch failed");
        }
        // Back to a cluster still being drained (a quick failback): this instance is still a
        // member of the group there, so it simply goes on reading it.
        let next = match self.draining.iter().position(|d| same(&d.source)) {
            Some(i) => Ok(self.draining.remove(i).source),
            // A switch never skips what producers wrote on the new cluster before this
            // consumer got there: where the group has no committed offset it starts at the
            // earliest.
            None => Source::open(config.clone(), &self.link, ResumePolicy::Earliest).await,
        };
        let mut next = match next {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot reach the new cluster yet; reading the old one");
                self.link.count_error();
                self.retry_switch = Some(Instant::now() + Duration::from_secs(1));
                return;
            }
        };
        next.config = config.clone();
        self.retry_switch = None;
        self.mapping.borrow_and_update();
        let old = std::mem::replace(&mut self.current, next);
        tracing::info!(
            from = old.name(),
            to = self.current.name(),
            drain_ms = drain.as_millis() as u64,
            "consumer switched cluster"
        );
        self.draining.push(Drain {
            source: old,
            until: Instant::now() + drain,
            checked: None,
            failing_since: None,
        });
        self.drain_recent(&config, drain).await;
    }

    /// Joins the group on the clusters the queue passed through since this consumer last
    /// looked (A to B to C within one heartbeat: B), to read what producers wrote there. A
    /// cluster this consumer already reads or drains is left as it is; one that cannot be
    /// reached is logged and counted, not waited for.
    async fn drain_recent(&mut self, config: &SdkConfig, drain: Duration) {
        for cluster in &config.recent {
            let known = cluster.name == self.current.config.cluster.name
                || self
                    .draining
                    .iter()
                    .any(|d| d.source.config.cluster.name == cluster.name);
            if known {
                continue;
            }
            let passed = SdkConfig {
                cluster: cluster.clone(),
                config_version: format!("recent:{}", cluster.name),
                recent: Vec::new(),
                ..config.clone()
            };
            match Source::open(passed, &self.link, ResumePolicy::Earliest).await {
                Ok(source) => {
                    tracing::info!(cluster = %cluster.name,
                        "draining a cluster the queue passed through");
                    self.draining.push(Drain {
                        source,
                        until: Instant::now() + drain,
                        checked: None,
                        failing_since: None,
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, cluster = %cluster.name,
                        "cannot drain a cluster the queue passed through");
                    self.link.count_error();
                }
            }
        }
    }

    /// The cluster the consumer reads now.
    pub fn cluster(&self) -> &str {
        self.current.name()
    }

    /// The partitions of the queue this instance owns now on the current cluster.
    pub fn assignment(&self) -> Vec<i32> {
        self.current.assignment()
    }

    /// Whether a cluster the queue left is still being drained.
    pub fn draining(&self) -> bool {
        !self.draining.is_empty()
    }

    /// Commits, leaves the group on every cluster (its partitions go to the other members at
    /// once), reports, and stops heartbeating.
    pub async fn close(mut self) -> Result<(), SdkError> {
        let committed = self.commit().await;
        for d in self.draining.drain(..) {
            d.source.leave().await;
        }
        self.current.leave().await;
        committed?;
        self.link.report().await
    }
}
