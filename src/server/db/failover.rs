//! Storage for switches: a queue's active side or cluster changed in one conditional update,
//! with its history row, change-feed entry and audit entry in the same transaction.

use super::{AuditEvent, StoreResult};
use crate::domain::SwitchView;
use async_trait::async_trait;

/// A switch to make: the queue's clusters and side before (checked) and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchRow {
    pub queue_id: i64,
    pub expected_side: String,
    pub expected_primary: i64,
    pub expected_backup: Option<i64>,
    pub side: String,
    pub primary_cluster_id: i64,
    pub backup_cluster_id: Option<i64>,
    pub actor: String,
    pub kind: &'static str,
    pub from_cluster: String,
    pub to_cluster: String,
    pub reason: String,
}

/// Storage for switches.
#[async_trait]
pub trait FailoverStore: Send + Sync {
    /// Applies the switch if the queue is still as expected; `Conflict` when another switch
    /// or edit got there first. Returns the history row's id.
    async fn switch_queue(&self, row: &SwitchRow, audit: &AuditEvent) -> StoreResult<i64>;
    /// A queue's switches, newest first.
    async fn queue_switches(&self, queue_id: i64, limit: i64) -> StoreResult<Vec<SwitchView>>;
}

#[derive(sqlx::FromRow)]
pub(super) struct SwitchDbRow {
    id: i64,
    project: String,
    queue: String,
    at: i64,
    actor: String,
    kind: String,
    from_side: String,
    to_side: String,
    from_cluster: String,
    to_cluster: String,
    reason: String,
}

impl From<SwitchDbRow> for SwitchView {
    fn from(r: SwitchDbRow) -> Self {
        use crate::domain::{ActiveSide, SwitchKind};
        SwitchView {
            id: r.id,
            project: r.project,
            queue: r.queue,
            at: r.at,
            actor: r.actor,
            kind: r.kind.parse().unwrap_or(SwitchKind::Migration),
            from_side: r.from_side.parse().unwrap_or(ActiveSide::Primary),
            to_side: r.to_side.parse().unwrap_or(ActiveSide::Primary),
            from_cluster: r.from_cluster,
            to_cluster: r.to_cluster,
            reason: r.reason,
        }
    }
}

macro_rules! failover_store {
    ($store:ident, $db:ty) => {
        const _: () = {
            use $crate::domain::SwitchView;
            use $crate::server::db::failover::{FailoverStore, SwitchDbRow, SwitchRow};
            use $crate::server::db::{now_millis, AuditEvent, StoreError, StoreResult};

            #[async_trait::async_trait]
            impl FailoverStore for $store {
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
                        return Err(StoreError::Conflict);
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
                    Self::audit_in(&mut tx, audit).await?;
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
                    Ok(rows.into_iter().map(Into::into).collect())
                }
            }
        };
    };
}
pub(super) use failover_store;
