//! The consumer: reads wherever the queue lives now, and drains where it lived before.

use crate::client::{kafka_error, ClientConfig, Link, ResumePolicy};
use crate::kafka::{Admin, Connection, DataClient};
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
    async fn fetch(
        &mut self,
        wait: Duration,
        policy: ResumePolicy,
    ) -> Result<Vec<Message>, SdkError> {
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
                (
                    p,
                    offset,
                    client.fetch_records(offset, 1..4_000_000, wait_ms).await,
                )
            });
        }
        let mut out = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let Ok((p, offset, result)) = joined else {
                continue;
            };
            match result {
                Ok((records, high_watermark)) => {
                    self.high_watermark.insert(p, high_watermark);
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
                    self.position.insert(p, next);
                }
                Err(ClientError::ServerError {
                    protocol_error: ProtocolError::OffsetOutOfRange,
                    ..
                }) => {
                    // Retention removed what the group had not read yet: restart by the policy.
                    let start = start_offset(&self.data, &topic, p, policy)
                        .await
                        .map_err(|e| kafka_error(&name, e))?;
                    tracing::warn!(cluster = %name, partition = p, from = offset, to = start,
                        "offset out of range; repositioned");
                    self.position.insert(p, start);
                }
                Err(e) => return Err(kafka_error(&name, e)),
            }
        }
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

/// Reads a logical queue as a consumer group, at least once: what `poll` handed out is
/// committed by [`Consumer::commit`], every commit interval during `poll`, on a switch and on
/// [`Consumer::close`]. A message handed out but not committed before a crash is read again.
pub struct Consumer {
    link: Arc<Link>,
    group: String,
    mapping: watch::Receiver<SdkConfig>,
    current: Source,
    /// The cluster the queue left, read until `until` and then until caught up.
    draining: Option<(Source, Instant)>,
    last_commit: Instant,
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
            draining: None,
            last_commit: Instant::now(),
        })
    }

    /// The next messages, waiting at most `wait` when there are none. Messages from a cluster
    /// the queue just left come before those of the new one.
    pub async fn poll(&mut self, wait: Duration) -> Result<Vec<Message>, SdkError> {
        self.link.check_revoked()?;
        if self.mapping.has_changed().unwrap_or(false) {
            self.switch().await?;
        }
        let mut out = Vec::new();
        if let Some((old, until)) = &mut self.draining {
            let policy = self.link.config.resume;
            match old.fetch(Duration::from_millis(10), policy).await {
                Ok(messages) => out = messages,
                Err(e) => {
                    tracing::warn!(error = %e, "the old cluster failed while draining; leaving it");
                    *until = Instant::now();
                    old.position.clear();
                }
            }
            if out.is_empty()
                && Instant::now() >= *until
                && (old.caught_up() || old.position.is_empty())
            {
                let (mut old, _) = self.draining.take().expect("draining");
                if let Err(e) = old.commit(&self.group).await {
                    tracing::warn!(error = %e, cluster = old.name(), "final commit on the old cluster failed");
                }
                tracing::info!(cluster = old.name(), "drained the old cluster");
            }
        }
        if out.is_empty() {
            let wait = if self.draining.is_some() {
                wait.min(Duration::from_millis(100))
            } else {
                wait
            };
            out = self
                .current
                .fetch(wait, self.link.config.resume)
                .await
                .inspect_err(|_| {
                    self.link.count_error();
                })?;
        }
        let bytes: usize = out
            .iter()
            .map(|m| m.value.as_ref().map_or(0, Vec::len) + m.key.as_ref().map_or(0, Vec::len))
            .sum();
        self.link.count(out.len(), bytes);
        self.link.set_offsets(self.current.offsets());
        if self.last_commit.elapsed() >= self.link.config.commit_interval {
            self.commit().await?;
        }
        Ok(out)
    }

    /// Commits what `poll` has handed out, on the current cluster and one being drained.
    pub async fn commit(&mut self) -> Result<(), SdkError> {
        self.last_commit = Instant::now();
        if let Some((old, _)) = &mut self.draining {
            old.commit(&self.group).await?;
        }
        self.current.commit(&self.group).await
    }

    /// Commits on the old cluster, then reads the new one, keeping the old one to drain.
    async fn switch(&mut self) -> Result<(), SdkError> {
        let config = self.mapping.borrow_and_update().clone();
        if config.config_version == self.current.config.config_version {
            return Ok(());
        }
        if let Err(e) = self.current.commit(&self.group).await {
            tracing::warn!(error = %e, "commit before the switch failed");
        }
        let next = match Source::open(
            config.clone(),
            &self.group,
            &self.link.config.client_id,
            self.link.config.resume,
        )
        .await
        {
            Ok(s) => s,
            Err(e) => {
                // Not reachable yet: stay, and try again at the next poll.
                tracing::warn!(error = %e, "cannot reach the new cluster yet; reading the old one");
                self.link.count_error();
                return Ok(());
            }
        };
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
        // Same cluster and topic (a failback before the drain ended) needs no second reader.
        if old.config.cluster != self.current.config.cluster
            || old.config.topic != self.current.config.topic
        {
            if let Some((mut older, _)) = self.draining.replace((old, Instant::now() + drain)) {
                let _ = older.commit(&self.group).await;
            }
        }
        Ok(())
    }

    /// The cluster the consumer reads now.
    pub fn cluster(&self) -> &str {
        self.current.name()
    }

    /// Whether a cluster the queue left is still being drained.
    pub fn draining(&self) -> bool {
        self.draining.is_some()
    }

    /// Commits, reports, and stops heartbeating.
    pub async fn close(mut self) -> Result<(), SdkError> {
        self.commit().await?;
        self.link.report().await
    }
}
