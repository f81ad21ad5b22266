//! [`FailoverStore`] for one backend: compiled once per backend, inside the backend's module, where
//! `backend::Db` is its sqlx database and `backend::This` its store.

use super::backend::This;

use crate::domain::SwitchView;
use crate::server::db::failover::{FailoverStore, SwitchDbRow, SwitchRow};
use crate::server::db::{now_millis, AuditEvent, StoreError, StoreResult};

#[async_trait::async_trait]
impl FailoverStore for This {
    async fn switch_queue(&self, row: &SwitchRow, audit: &AuditEvent) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let now = now_millis();
        // Conditional on the queue being as the caller saw it: of two operators
        // switching at once, exactly one wins.
        let done = sqlx::query(
            "UPDATE queues SET active_side = $1, primary_cluster_id = $2, \
             backup_cluster_id = $3, updated_at = $4 \
             WHERE id = $5 AND active_side = $6 AND primary_cluster_id = $7 \
             AND COALESCE(backup_cluster_id, 0) = COALESCE($8, 0)",
        )
        .bind(&row.side)
        .bind(row.primary_cluster_id)
        .bind(row.backup_cluster_id)
        .bind(now)
        .bind(row.queue_id)
        .bind(&row.expected_side)
        .bind(row.expected_primary)
        .bind(row.expected_backup)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO queue_switches (queue_id, at, actor, kind, from_side, to_side, \
             from_cluster, to_cluster, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING id",
        )
        .bind(row.queue_id)
        .bind(now)
        .bind(&row.actor)
        .bind(row.kind)
        .bind(&row.expected_side)
        .bind(&row.side)
        .bind(&row.from_cluster)
        .bind(&row.to_cluster)
        .bind(&row.reason)
        .fetch_one(&mut *tx)
        .await?;
        Self::record_change(&mut tx, row.queue_id).await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn queue_switches(&self, queue_id: i64, limit: i64) -> StoreResult<Vec<SwitchView>> {
        let rows: Vec<SwitchDbRow> = sqlx::query_as(
            "SELECT s.id, p.name AS project, q.name AS queue, s.at, s.actor, s.kind, \
             s.from_side, s.to_side, s.from_cluster, s.to_cluster, s.reason \
             FROM queue_switches s JOIN queues q ON q.id = s.queue_id \
             JOIN projects p ON p.id = q.project_id \
             WHERE s.queue_id = $1 ORDER BY s.at DESC, s.id DESC LIMIT $2",
        )
        .bind(queue_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}
