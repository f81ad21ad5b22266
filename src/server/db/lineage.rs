//! Storage for lineage: the edges the collector writes from SDK reports, the edges OpenLineage
//! run events add, and the lookups that map a Kafka dataset to a queue.

use super::{AuditEvent, StoreResult};
use async_trait::async_trait;

/// An application's edge to a queue, with both ends named.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AppEdgeRecord {
    pub app_project: String,
    pub app_name: String,
    pub app_owner: String,
    pub queue_project: String,
    pub queue_name: String,
    pub queue_owner: String,
    /// `producer` (the app writes) or `consumer` (it reads).
    pub role: String,
    pub consumer_group: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub messages: i64,
    pub bytes: i64,
}

/// A job's edge to a queue.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct JobEdgeRecord {
    pub job_namespace: String,
    pub job_name: String,
    pub queue_project: String,
    pub queue_name: String,
    pub queue_owner: String,
    pub role: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub runs: i64,
}

/// A job's read or write of a queue seen in one run event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobEdgeRow {
    pub job_namespace: String,
    pub job_name: String,
    pub queue_id: i64,
    /// `producer` (the job writes) or `consumer` (it reads).
    pub role: &'static str,
    pub at: i64,
    /// A completed run: counted in `runs` (other events only refresh `last_seen`).
    pub completed: bool,
}

/// A queue whose physical topic has a given name, with the bootstrap servers of its clusters.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TopicQueue {
    pub queue_id: i64,
    pub project: String,
    pub name: String,
    /// Comma-separated, as stored.
    pub primary_servers: String,
    pub backup_servers: Option<String>,
}

/// Lineage storage.
#[async_trait]
pub trait LineageStore: Send + Sync {
    /// Application edges seen at or after `since` (ms), with names, for building and
    /// refreshing the graph: handed to `each` in chunks of at most `chunk` rows as they are
    /// read, so a million rows are never in memory at once.
    async fn app_edges_since(
        &self,
        since: i64,
        chunk: usize,
        each: &mut (dyn FnMut(Vec<AppEdgeRecord>) + Send),
    ) -> StoreResult<()>;
    /// Job edges seen at or after `since`.
    async fn job_edges_since(&self, since: i64) -> StoreResult<Vec<JobEdgeRecord>>;
    /// Queues whose physical topic is `topic`.
    async fn queues_by_topic(&self, topic: &str) -> StoreResult<Vec<TopicQueue>>;
    /// Records a run event's edges and its audit entry in one transaction.
    async fn record_job_edges(&self, rows: &[JobEdgeRow], audit: &AuditEvent) -> StoreResult<()>;
}
