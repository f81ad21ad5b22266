//! [`NotifyStore`] for one backend: compiled once per backend, inside the backend's module, where
//! `backend::Db` is its sqlx database and `backend::This` its store.

use super::backend::This;
use crate::server::db::StoreResult;

use crate::domain::{DeliveryStatus, NotificationView, WebhookDeliveryView};
use crate::server::db::rows::now_millis;
use crate::server::db::{AuditEvent, DeliveryOutcome, Notice, StoreError, WebhookJob};

use crate::server::db::notify::NotifyStore;

#[async_trait::async_trait]
impl NotifyStore for This {
    async fn notify(&self, notice: &Notice, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        Self::notice_in(&mut tx, notice, now_millis()).await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn notifications(
        &self,
        username: &str,
        limit: i64,
    ) -> StoreResult<Vec<NotificationView>> {
        let rows: Vec<(i64, i64, String, String, String, Option<i64>)> = sqlx::query_as(
            "SELECT id, at, event, message, link, read_at FROM notifications \
             WHERE username = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(username)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, at, event, message, link, read_at)| NotificationView {
                id,
                at,
                event,
                message,
                link,
                read: read_at.is_some(),
            })
            .collect())
    }

    async fn unread_notifications(&self, username: &str) -> StoreResult<i64> {
        let n: (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM notifications WHERE username = $1 AND read_at IS NULL",
        )
        .bind(username)
        .fetch_one(&self.pool)
        .await?;
        Ok(n.0)
    }

    async fn mark_notifications_read(
        &self,
        username: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE notifications SET read_at = $1 WHERE username = $2 AND read_at IS NULL",
        )
        .bind(now)
        .bind(username)
        .execute(&mut *tx)
        .await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn set_project_webhook(
        &self,
        project_id: i64,
        url: Option<&str>,
        secret_enc: Option<&str>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let change = sqlx::query(
            "UPDATE projects SET webhook_url = $1, \
             webhook_secret_enc = CASE WHEN $1 IS NULL THEN NULL ELSE COALESCE($2, webhook_secret_enc) END \
             WHERE id = $3",
        )
        .bind(url)
        .bind(secret_enc)
        .bind(project_id);
        if self.update_audited(change, audit).await? {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn project_has_webhook_secret(&self, project_id: i64) -> StoreResult<bool> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT webhook_secret_enc FROM projects WHERE id = $1")
                .bind(project_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|r| r.0).is_some())
    }

    async fn claim_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<WebhookJob>> {
        let mut tx = self.pool.begin().await?;
        // The outer condition is checked again on the row PostgreSQL locks, so of two
        // replicas claiming at once only one moves a given delivery.
        let ids: Vec<(i64,)> = sqlx::query_as(
            "UPDATE webhook_deliveries SET next_attempt_at = $2 \
             WHERE next_attempt_at <= $1 AND id IN (SELECT id FROM webhook_deliveries \
             WHERE next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3) RETURNING id",
        )
        .bind(now)
        .bind(lease_until)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut jobs = Vec::with_capacity(ids.len());
        for (id,) in ids {
            let job: Option<WebhookJob> = sqlx::query_as(
                "SELECT d.id, p.name AS project, COALESCE(p.webhook_url, '') AS url, \
                 COALESCE(p.webhook_secret_enc, '') AS secret_enc, d.event, d.payload, d.attempts \
                 FROM webhook_deliveries d JOIN projects p ON p.id = d.project_id WHERE d.id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            jobs.extend(job);
        }
        tx.commit().await?;
        Ok(jobs)
    }

    async fn finish_delivery(&self, id: i64, o: &DeliveryOutcome) -> StoreResult<()> {
        sqlx::query(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $1, \
             delivered_at = $2, last_status = $3, last_error = $4 WHERE id = $5",
        )
        .bind(o.next_attempt_at)
        .bind(o.delivered.then_some(o.at))
        .bind(o.status)
        .bind(&o.error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn webhook_deliveries(
        &self,
        project_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<WebhookDeliveryView>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, String, i64, i64, Option<i64>, Option<i64>, Option<i64>, String)> = sqlx::query_as(
            "SELECT id, event, created_at, attempts, next_attempt_at, delivered_at, last_status, last_error \
             FROM webhook_deliveries WHERE project_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(project_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    event,
                    created_at,
                    attempts,
                    next_attempt_at,
                    delivered_at,
                    last_status,
                    last_error,
                )| {
                    let status = match (delivered_at, next_attempt_at) {
                        (Some(_), _) => DeliveryStatus::Delivered,
                        (None, Some(_)) => DeliveryStatus::Pending,
                        (None, None) => DeliveryStatus::Failed,
                    };
                    WebhookDeliveryView {
                        id,
                        event,
                        created_at,
                        attempts,
                        status,
                        next_attempt_at,
                        delivered_at,
                        last_status,
                        last_error,
                    }
                },
            )
            .collect())
    }
}
