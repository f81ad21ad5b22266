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

impl TryFrom<SwitchDbRow> for SwitchView {
    type Error = super::StoreError;

    fn try_from(r: SwitchDbRow) -> StoreResult<Self> {
        use super::stored;
        Ok(SwitchView {
            id: r.id,
            project: r.project,
            queue: r.queue,
            at: r.at,
            actor: r.actor,
            kind: stored("queue_switches.kind", &r.kind)?,
            from_side: stored("queue_switches.from_side", &r.from_side)?,
            to_side: stored("queue_switches.to_side", &r.to_side)?,
            from_cluster: r.from_cluster,
            to_cluster: r.to_cluster,
            reason: r.reason,
        })
    }
}
