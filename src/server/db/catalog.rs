//! Projects, clusters and logical queues.

use super::*;
use async_trait::async_trait;

/// Projects, clusters and logical queues.
#[async_trait]
pub trait CatalogStore: Send + Sync {
    // projects
    async fn create_project(&self, row: &ProjectRow, audit: &AuditEvent) -> StoreResult<i64>;
    async fn list_projects(&self) -> StoreResult<Vec<ProjectView>>;
    async fn project(&self, name: &str) -> StoreResult<Option<ProjectView>>;
    /// `owner`, `member` or none.
    async fn project_role(&self, project_id: i64, user_id: i64) -> StoreResult<Option<String>>;
    /// The names of the projects `user_id` is an owner or member of.
    async fn member_projects(&self, user_id: i64) -> StoreResult<Vec<String>>;

    // clusters
    async fn create_cluster(&self, row: &ClusterRow, audit: &AuditEvent) -> StoreResult<i64>;
    async fn update_cluster(
        &self,
        id: i64,
        row: &ClusterRow,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn list_clusters(&self) -> StoreResult<Vec<ClusterView>>;
    async fn cluster(&self, name: &str) -> StoreResult<Option<ClusterRecord>>;

    // logical queues
    async fn create_queue(&self, row: &QueueRow, audit: &AuditEvent) -> StoreResult<i64>;
    /// Inserts many queues in one transaction with one audit entry (demo data, imports).
    async fn create_queues(&self, rows: &[QueueRow], audit: &AuditEvent) -> StoreResult<()>;
    async fn update_queue(&self, id: i64, row: &QueueRow, audit: &AuditEvent) -> StoreResult<()>;
    async fn queue(&self, project: &str, name: &str) -> StoreResult<Option<QueueView>>;
    async fn list_queues(&self, filter: &QueueFilter) -> StoreResult<Page<QueueView>>;
}
