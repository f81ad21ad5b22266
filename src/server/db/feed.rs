//! The search index's change feed and the audit log.

use super::*;
use async_trait::async_trait;

/// The search index's change feed and the audit log.
#[async_trait]
pub trait FeedStore: Send + Sync {
    // the search index's change feed
    /// The newest change sequence number (0 when there is none).
    async fn queue_change_seq(&self) -> StoreResult<i64>;
    /// Queue ids changed after `seq`, oldest first, with their sequence numbers.
    async fn queue_changes_since(&self, seq: i64, limit: i64) -> StoreResult<Vec<(i64, i64)>>;
    /// Queues to index, in id order after `after_id`.
    async fn index_docs(&self, after_id: i64, limit: i64) -> StoreResult<Vec<IndexDoc>>;
    /// Queues to index by id; ids that no longer exist are absent.
    async fn index_docs_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<IndexDoc>>;

    // audit
    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Page<AuditEntry>>;
}
