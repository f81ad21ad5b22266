//! Schema versions and compatibility modes per queue.

use super::*;
use async_trait::async_trait;

/// Schema versions and compatibility modes per queue.
#[async_trait]
pub trait SchemaStore: Send + Sync {
    // schemas
    /// A queue's versions, oldest first.
    async fn schema_versions(&self, queue_id: i64) -> StoreResult<Vec<SchemaVersionView>>;
    async fn schema_by_id(&self, id: i64) -> StoreResult<Option<SchemaVersionView>>;
    /// The latest version of every queue that has a schema.
    async fn latest_schemas(&self) -> StoreResult<Vec<SchemaVersionView>>;
    /// Conflict when `row.version` was taken meanwhile.
    async fn add_schema_version(&self, row: &SchemaRow, audit: &AuditEvent) -> StoreResult<i64>;
    async fn compatibility(&self, queue_id: i64) -> StoreResult<Option<String>>;
    async fn set_compatibility(
        &self,
        queue_id: i64,
        mode: &str,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// The field paths the queue's owners marked sensitive, sorted.
    async fn sensitive_fields(&self, queue_id: i64) -> StoreResult<Vec<String>>;
    /// Replaces the marked field paths, audited.
    async fn set_sensitive_fields(
        &self,
        queue_id: i64,
        paths: &[String],
        audit: &AuditEvent,
    ) -> StoreResult<()>;
}
