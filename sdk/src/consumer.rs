//! The consumer: reads wherever the queue lives now, and drains where it lived before.

use crate::client::{kafka_error, ClientConfig, Link, ResumePolicy};
use crate::kafka::{Admin, Connection, DataClient, CALL_TIMEOUT};
use crate::wire::{PartitionOffset, SdkConfig, SdkRole};
use crate::SdkError;
use rskafka::client::error::{Error as ClientError, ProtocolError};
use rskafka::client::partition::OffsetAt;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

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

/// One cluster being read: where each partition stands.
struct Source {
    config: SdkConfig,
    data: DataClient,
    /// The next offset to fetch, per partition.
    position: BTreeMap<i32, i64>,
    /// The next offset after what `poll` handed out, per partition: what a commit stores.
    handed_out: BTreeMap<i32, i64>,
    /// What was last committed, to skip commits that change nothing.
    committed: BTreeMap<i32, i64>,
    high_watermark: BTreeMap<i32, i64>,
    coordinator: Option<Connection>,
}

impl Source {
    fn name(&self) -> &str {
        &self.config.cluster.name
    }

    async fn open(
        config: SdkConfig,
        group: &str,
        client_id: &str,
        policy: ResumePolicy,
    ) -> Result<Self, SdkError> {
        let name = config.cluster.name.clone();
        let err = |e| kafka_error(&name, e);
        let data = DataClient::connect(&config.cluster, client_id)
            .await
            .map_err(err)?;
        let partitions = data.partition_ids(&config.topic).await.map_err(err)?;
        let mut coordinator = Admin::new(config.cluster.clone())
            .coordinator(group)
            .await
            .map_err(err)?;
        let committed = coordinator
            .committed(group, &config.topic, &partitions)
            .await
            .map_err(err)?;
        let mut position = BTreeMap::new();
        for &p in &partitions {
            let start = match committed.get(&p) {
                Some(&o) => o,
                None => start_offset(&data, &config.topic, p, policy)
                    .await
                    .map_err(err)?,
            };
            position.insert(p, start);
        }
        tracing::info!(cluster = %name, topic = %config.topic, ?position, "consumer positioned");
        Ok(Self {
            handed_out: position.clone(),
            committed: committed.into_iter().collect(),
            high_watermark: BTreeMap::new(),
            position,
            config,
            data,
            coordinator: Some(coordinator),
        })
    }

    /// Fetches what is there from every partition, waiting at most `wait` for something new.
    /// All or nothing: positions move only when every partition answered, so an error (or a
    /// cancelled `poll`) never skips a record.
    async fn fetch(&mut self, wait: Duration) -> Result<Vec<Message>, SdkError> {
        let name = self.config.cluster.name.clone();
        let topic = self.config.topic.clone();
        let mut tasks = tokio::task::JoinSet::new();
        for (&p, &offset) in &self.position {
            let client = self
                .data
                .partition(&topic, p)
                .await
                .map_err(|e| kafka_error(&name, e))?;
            let wait_ms = wait.as_millis().min(i32::MAX as u128) as i32;
            tasks.spawn(async move {
                let fetched = tokio::time::timeout(
                    wait + CALL_TIMEOUT,
                    client.fetch_records(offset, 1..4_000_000, wait_ms),
                )
                .await;
                (p, offset, fetched)
            });
        }
        let mut out = Vec::new();
        let mut moved = Vec::new();
        let mut watermarks = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let (p, offset, fetched) = joined.map_err(|e| kafka_error(&name, e))?;
            match fetched.map_err(|_| kafka_error(&name, "fetch timed out"))? {
                Ok((records, high_watermark)) => {
                    watermarks.push((p, high_watermark));
                    let mut next = offset;
                    for r in records.into_iter().filter(|r| r.offset >= offset) {
                        next = r.offset + 1;
                        out.push(Message {
                            cluster: name.clone(),
                            topic: topic.clone(),
                            partition: p,
                            offset: r.offset,
                            key: r.record.key,
                            value: r.record.value,
                            timestamp_ms: r.record.timestamp.timestamp_millis(),
                            headers: r.record.headers,
                        });
                    }
                    moved.push((p, next));
                }
                Err(ClientError::ServerError {
                    protocol_error: ProtocolError::OffsetOutOfRange,
                    ..
                }) => {
                    // Below the log start (retention removed it): the oldest kept record.
                    // Past the end (a recreated topic): its end. Nothing kept is skipped.
                    let err = |e| kafka_error(&name, e);
                    let earliest = start_offset(&self.data, &topic, p, ResumePolicy::Earliest)
                        .await
                        .map_err(err)?;
                    let latest = start_offset(&self.data, &topic, p, ResumePolicy::Latest)
                        .await
                        .map_err(err)?;
                    let start = if offset < earliest { earliest } else { latest };
                    tracing::warn!(cluster = %name, partition = p, from = offset, to = start,
                        "offset out of range; repositioned");
                    moved.push((p, start));
                }
                Err(e) => return Err(kafka_error(&name, e)),
            }
        }
        self.high_watermark.extend(watermarks);
        self.position.extend(moved);
        out.sort_by_key(|m| (m.partition, m.offset));
        for m in &out {
            self.handed_out.insert(m.partition, m.offset + 1);
        }
        Ok(out)
    }

    /// Stores what was handed out as the group's position on this cluster.
    async fn commit(&mut self, group: &str) -> Result<(), SdkError> {
        let changed: Vec<(i32, i64)> = self
            .handed_out
            .iter()
            .filter(|(p, o)| self.committed.get(p) != Some(o))
            .map(|(&p, &o)| (p, o))
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        let name = self.config.cluster.name.clone();
        let conn = match self.coordinator.take() {
            Some(c) => c,
            None => Admin::new(self.config.cluster.clone())
                .coordinator(group)
                .await
                .map_err(|e| kafka_error(&name, e))?,
        };
        let mut conn = conn;
        conn.commit(group, &self.config.topic, &changed)
            .await
            .map_err(|e| kafka_error(&name, e))?;
        self.coordinator = Some(conn);
        self.committed.extend(changed);
        Ok(())
    }

    /// Whether everything the cluster holds has been handed out.
    fn caught_up(&self) -> bool {
        self.position
            .iter()
            .all(|(p, o)| self.high_watermark.get(p).is_some_and(|h| o >= h))
    }

    fn offsets(&self) -> Vec<PartitionOffset> {
        self.handed_out
            .iter()
            .map(|(&partition, &offset)| PartitionOffset {
                partition,
                offset,
                lag: self
                    .high_watermark
                    .get(&partition)
                    .map_or(0, |h| (h - offset).max(0)),
            })
            .collect()
    }
}

async fn start_offset(
    data: &DataClient,
    topic: &str,
    partition: i32,
    policy: ResumePolicy,
) -> Result<i64, crate::kafka::KafkaError> {
    let at = match policy {
        ResumePolicy::Earliest => OffsetAt::Earliest,
        ResumePolicy::Latest => OffsetAt::Latest,
    };
    Ok(data
        .partition(topic, partition)
        .await?
        .get_offset(at)
        .await?)
}

/// Reads a logical queue as a consumer group, at least once: each `poll` first commits what
/// the previous polls handed out (every commit interval), and [`Consumer::commit`], a switch
/// and [`Consumer::close`] commit too. A message handed out but not committed before a crash is
/// read again.
pub struct Consumer {
    link: Arc<Link>,
    group: String,
    mapping: watch::Receiver<SdkConfig>,
    current: Source,
    /// Clusters the queue left, each read until its deadline and then until caught up.
    draining: Vec<(Source, Instant)>,
    last_commit: Instant,
    /// After a failed switch, when to try again.
    retry_switch: Option<Instant>,
}

impl Consumer {
    /// Asks the platform where the queue lives, connects, and positions at the group's
    /// committed offsets (by [`ResumePolicy`] where it has none).
    pub async fn connect(config: ClientConfig) -> Result<Self, SdkError> {
        let link = Link::open(config, SdkRole::Consumer).await?;
        let group = link.config.consumer_group.clone().unwrap_or_default();
        let mut mapping = link.subscribe();
        let first = mapping.borrow_and_update().clone();
        let current =
            Source::open(first, &group, &link.config.client_id, link.config.resume).await?;
        Ok(Self {
            link,
            group,
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
        if self.last_commit.elapsed() >= self.link.config.commit_interval {
            // What earlier polls handed out, now processed; a failure is retried next time.
            if let Err(e) = self.commit().await {
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
            let (old, until) = &mut self.draining[i];
            match old.fetch(Duration::from_millis(10)).await {
                Ok(messages) => out = messages,
                // Tried again at the next poll, until the deadline.
                Err(e) => {
                    tracing::warn!(error = %e, cluster = old.name(), "draining the old cluster failed")
                }
            }
            let failed_past_deadline = Instant::now() >= *until && old.high_watermark.is_empty();
            if out.is_empty()
                && Instant::now() >= *until
                && (old.caught_up() || failed_past_deadline)
            {
                let (mut old, _) = self.draining.remove(i);
                if let Err(e) = old.commit(&self.group).await {
                    tracing::warn!(error = %e, cluster = old.name(), "final commit on the old cluster failed");
                }
                tracing::info!(cluster = old.name(), "drained the old cluster");
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

    /// Commits what `poll` has handed out, on the current cluster and those being drained;
    /// each cluster is committed even when another fails.
    pub async fn commit(&mut self) -> Result<(), SdkError> {
        self.last_commit = Instant::now();
        let mut first_error = None;
        for (old, _) in &mut self.draining {
            if let Err(e) = old.commit(&self.group).await {
                first_error.get_or_insert(e);
            }
        }
        if let Err(e) = self.current.commit(&self.group).await {
            first_error.get_or_insert(e);
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Commits on the old cluster, then reads the new one, keeping the old one to drain. When
    /// the new cluster cannot be reached yet, stays and tries again a second later.
    async fn switch(&mut self) {
        let config = self.mapping.borrow().clone();
        if config.config_version == self.current.config.config_version {
            self.mapping.borrow_and_update();
            return;
        }
        if let Err(e) = self.current.commit(&self.group).await {
            tracing::warn!(error = %e, "commit before the switch failed");
        }
        // Going back to a cluster still being drained: its position is committed first, so
        // the new reader starts where the draining one stopped.
        for (old, _) in &mut self.draining {
            if old.config.cluster == config.cluster && old.config.topic == config.topic {
                let _ = old.commit(&self.group).await;
            }
        }
        // A switch never skips what producers wrote on the new cluster before this consumer
        // got there: without a committed offset it starts at the earliest.
        let next = Source::open(
            config.clone(),
            &self.group,
            &self.link.config.client_id,
            ResumePolicy::Earliest,
        )
        .await;
        let next = match next {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot reach the new cluster yet; reading the old one");
                self.link.count_error();
                self.retry_switch = Some(Instant::now() + Duration::from_secs(1));
                return;
            }
        };
        self.retry_switch = None;
        self.mapping.borrow_and_update();
        let drain = self.link.config.drain.unwrap_or_else(|| {
            2 * self
                .link
                .config
                .heartbeat_interval
                .unwrap_or(Duration::from_secs(config.heartbeat_interval_secs.max(1)))
        });
        let old = std::mem::replace(&mut self.current, next);
        tracing::info!(
            from = old.name(),
            to = self.current.name(),
            drain_ms = drain.as_millis() as u64,
            "consumer switched cluster"
        );
        let same = |s: &Source| {
            s.config.cluster == self.current.config.cluster
                && s.config.topic == self.current.config.topic
        };
        // Back to a cluster still being drained (a quick failback): one reader is enough.
        if let Some(i) = self.draining.iter().position(|(s, _)| same(s)) {
            let (mut dup, _) = self.draining.remove(i);
            let _ = dup.commit(&self.group).await;
        }
        if !same(&old) {
            self.draining.push((old, Instant::now() + drain));
        }
    }

    /// The cluster the consumer reads now.
    pub fn cluster(&self) -> &str {
        self.current.name()
    }

    /// Whether a cluster the queue left is still being drained.
    pub fn draining(&self) -> bool {
        !self.draining.is_empty()
    }

    /// Commits, reports, and stops heartbeating.
    pub async fn close(mut self) -> Result<(), SdkError> {
        self.commit().await?;
        self.link.report().await
    }
}
