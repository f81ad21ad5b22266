//! [`LineageStore`] for one backend: compiled once per backend, inside the backend's module, where
//! `backend::Db` is its sqlx database and `backend::This` its store.

use super::backend::This;

use crate::server::db::lineage::{
    AppEdgeRecord, JobEdgeRecord, JobEdgeRow, LineageStore, TopicQueue,
};
use crate::server::db::{AuditEvent, StoreResult};

#[async_trait::async_trait]
impl LineageStore for This {
    async fn app_edges_since(
        &self,
        since: i64,
        chunk: usize,
        each: &mut (dyn FnMut(Vec<AppEdgeRecord>) + Send),
    ) -> StoreResult<()> {
        use futures_util::TryStreamExt;
        let chunk = chunk.max(1);
        let mut rows = sqlx::query_as::<_, AppEdgeRecord>(
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
        .fetch(&self.pool);
        let mut batch = Vec::with_capacity(chunk);
        while let Some(row) = rows.try_next().await? {
            batch.push(row);
            if batch.len() == chunk {
                each(std::mem::replace(&mut batch, Vec::with_capacity(chunk)));
            }
        }
        if !batch.is_empty() {
            each(batch);
        }
        Ok(())
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

    async fn record_job_edges(&self, rows: &[JobEdgeRow], audit: &AuditEvent) -> StoreResult<()> {
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
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}
