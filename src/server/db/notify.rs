//! Notifications and project webhooks with their deliveries.

use super::*;
use async_trait::async_trait;

/// Notifications and project webhooks with their deliveries.
#[async_trait]
pub trait NotifyStore: Send + Sync {
    // notifications and webhooks
    /// Writes a notice on its own (a webhook test, say).
    async fn notify(&self, notice: &Notice, audit: &AuditEvent) -> StoreResult<()>;
    /// Newest first.
    async fn notifications(&self, username: &str, limit: i64)
        -> StoreResult<Vec<NotificationView>>;
    async fn unread_notifications(&self, username: &str) -> StoreResult<i64>;
    /// Returns how many were unread.
    async fn mark_notifications_read(
        &self,
        username: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> StoreResult<u64>;
    /// Sets or removes a project's webhook; `secret_enc: None` keeps the stored secret.
    async fn set_project_webhook(
        &self,
        project_id: i64,
        url: Option<&str>,
        secret_enc: Option<&str>,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn project_has_webhook_secret(&self, project_id: i64) -> StoreResult<bool>;
    /// Claims up to `limit` due deliveries by moving their next attempt to `lease_until`, so
    /// a crash mid-send retries them and two replicas never send one twice at once.
    async fn claim_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<WebhookJob>>;
    async fn finish_delivery(&self, id: i64, outcome: &DeliveryOutcome) -> StoreResult<()>;
    /// A project's deliveries, newest first.
    async fn webhook_deliveries(
        &self,
        project_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<WebhookDeliveryView>>;
}
