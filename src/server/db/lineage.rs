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
    /// refreshing the graph.
    async fn app_edges_since(&self, since: i64) -> StoreResult<Vec<AppEdgeRecord>>;
    /// Job edges seen at or after `since`.
    async fn job_edges_since(&self, since: i64) -> StoreResult<Vec<JobEdgeRecord>>;
    /// Queues whose physical topic is `topic`.
    async fn queues_by_topic(&self, topic: &str) -> StoreResult<Vec<TopicQueue>>;
    /// Records a run event's edges and its audit entry in one transaction.
    async fn record_job_edges(&self, rows: &[JobEdgeRow], audit: &AuditEvent) -> StoreResult<()>;
}

macro_rules! lineage_store {
    ($store:ident, $db:ty) => {
        const _: () = {
            use $crate::server::db::lineage::{
                AppEdgeRecord, JobEdgeRecord, JobEdgeRow, LineageStore, TopicQueue,
            };
            use $crate::server::db::{AuditEvent, StoreResult};

            #[async_trait::async_trait]
            impl LineageStore for $store {
                async fn app_edges_since(&self, since: i64) -> StoreResult<Vec<AppEdgeRecord>> {
                    Ok(sqlx::query_as(
                        "SELECT ap.name AS app_project, a.name AS app_name, a.owner AS app_owner, \
                         qp.name AS queue_project, q.name AS queue_name, q.owner AS queue_owner, \
                         e.role, e.consumer_group, e.first_seen, e.last_seen, e.messages, e.bytes \
                         FROM lineage_edges e \
                         JOIN applications a ON a.id = e.application_id \
                         JOIN projects ap ON ap.id = a.project_id \
                         JOIN queues q ON q.id = e.queue_id \
                         JOIN projects qp ON qp.id = q.project_id \
                         WHERE e.last_seen >= $1",
                    )
                    .bind(since)
                    .fetch_all(&self.pool)
                    .await?)
                }

                async fn job_edges_since(&self, since: i64) -> StoreResult<Vec<JobEdgeRecord>> {
                    Ok(sqlx::query_as(
                        "SELECT e.job_namespace, e.job_name, qp.name AS queue_project, \
                         q.name AS queue_name, q.owner AS queue_owner, e.role, e.first_seen, \
                         e.last_seen, e.runs \
                         FROM lineage_job_edges e \
                         JOIN queues q ON q.id = e.queue_id \
                         JOIN projects qp ON qp.id = q.project_id \
                         WHERE e.last_seen >= $1",
                    )
                    .bind(since)
                    .fetch_all(&self.pool)
                    .await?)
                }

                async fn queues_by_topic(&self, topic: &str) -> StoreResult<Vec<TopicQueue>> {
                    Ok(sqlx::query_as(
                        "SELECT q.id AS queue_id, p.name AS project, q.name, \
                         pc.bootstrap_servers AS primary_servers, \
                         bc.bootstrap_servers AS backup_servers \
                         FROM queues q \
                         JOIN projects p ON p.id = q.project_id \
                         JOIN clusters pc ON pc.id = q.primary_cluster_id \
                         LEFT JOIN clusters bc ON bc.id = q.backup_cluster_id \
                         WHERE q.topic = $1 ORDER BY q.id",
                    )
                    .bind(topic)
                    .fetch_all(&self.pool)
                    .await?)
                }

                async fn record_job_edges(
                    &self,
                    rows: &[JobEdgeRow],
                    audit: &AuditEvent,
                ) -> StoreResult<()> {
                    let mut tx = self.pool.begin().await?;
                    for r in rows {
                        sqlx::query(
                            "INSERT INTO lineage_job_edges (job_namespace, job_name, queue_id, role, \
                             first_seen, last_seen, runs) VALUES ($1, $2, $3, $4, $5, $5, $6) \
                             ON CONFLICT (job_namespace, job_name, queue_id, role) DO UPDATE SET \
                             last_seen = CASE WHEN excluded.last_seen > lineage_job_edges.last_seen \
                               THEN excluded.last_seen ELSE lineage_job_edges.last_seen END, \
                             runs = lineage_job_edges.runs + excluded.runs",
                        )
                        .bind(&r.job_namespace)
                        .bind(&r.job_name)
                        .bind(r.queue_id)
                        .bind(r.role)
                        .bind(r.at)
                        .bind(i64::from(r.completed))
                        .execute(&mut *tx)
                        .await?;
                    }
                    Self::audit_in(&mut tx, audit).await?;
                    tx.commit().await?;
                    Ok(())
                }
            }
        };
    };
}
pub(super) use lineage_store;
