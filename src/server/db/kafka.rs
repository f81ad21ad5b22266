//! Storage for what Watershed learns from real clusters: the topic behind each queue on each
//! cluster, and the end offsets and consumer-group offsets the collector reads off brokers.

use super::{AuditEvent, StoreResult};
use crate::domain::TopicProvision;
use async_trait::async_trait;

/// The outcome of making sure a queue's topic exists on one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionRow {
    pub queue_id: i64,
    pub cluster_id: i64,
    pub topic: String,
    /// `created`, `existed` or `failed`.
    pub status: &'static str,
    pub message: String,
}

/// A queue's topic on a cluster: the sum of its partitions' end offsets at one minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerOffsetRow {
    pub queue_id: i64,
    pub cluster_id: i64,
    pub bucket: i64,
    pub end_offset: i64,
}

/// A consumer group's committed offsets (summed) and lag on a queue's topic at one minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOffsetRow {
    pub queue_id: i64,
    pub cluster_id: i64,
    pub consumer_group: String,
    pub bucket: i64,
    pub committed: i64,
    pub lag: i64,
    /// How old the oldest unread message is, where known.
    pub lag_seconds: Option<i64>,
}

/// A queue bound to a cluster: id, project/queue, physical topic, partitions, retention
/// hours, and whether the cluster is its active side.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BoundQueue {
    pub queue_id: i64,
    pub key: String,
    pub topic: String,
    pub partitions: i64,
    pub retention_hours: i64,
    pub active: bool,
}

/// A minute of a queue's end offsets on one cluster: at the minute's first and last poll.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OffsetSample {
    pub bucket: i64,
    pub cluster_id: i64,
    pub first_offset: i64,
    pub end_offset: i64,
}

/// A minute of a consumer group's committed offsets and lag on a queue's topic on one cluster.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GroupSample {
    pub bucket: i64,
    pub consumer_group: String,
    pub cluster_id: i64,
    pub first_committed: i64,
    pub committed: i64,
    pub lag: i64,
    pub lag_seconds: Option<i64>,
}

/// Storage for cluster-side facts.
#[async_trait]
pub trait KafkaStore: Send + Sync {
    /// Records a provisioning outcome; a topic Watershed created is audited in the same transaction.
    async fn record_provision(
        &self,
        row: &ProvisionRow,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<()>;
    /// The topics behind a queue, per cluster.
    async fn provisions(&self, queue_id: i64) -> StoreResult<Vec<TopicProvision>>;
    /// Queues whose last provisioning on some cluster failed.
    async fn failed_provisions(&self) -> StoreResult<Vec<i64>>;
    /// Every queue bound to a cluster (as primary or backup).
    async fn queues_on_cluster(&self, cluster_id: i64) -> StoreResult<Vec<BoundQueue>>;
    /// Upserts one poll's samples (the latest sample in a minute wins).
    async fn write_broker_offsets(
        &self,
        offsets: &[BrokerOffsetRow],
        groups: &[GroupOffsetRow],
    ) -> StoreResult<()>;
    /// A queue's end-offset samples in `[from, to)`.
    async fn broker_offsets(
        &self,
        queue_id: i64,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<OffsetSample>>;
    /// A queue's consumer-group samples in `[from, to)`.
    async fn broker_group_offsets(
        &self,
        queue_id: i64,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<GroupSample>>;
    /// Drops samples older than `before`.
    async fn prune_broker_offsets(&self, before: i64) -> StoreResult<u64>;
}
