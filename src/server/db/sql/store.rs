//! What every backend's storage modules share: audit entries, request events, notices, grant
//! marks, change-feed entries and queue inserts inside a caller's transaction, and the
//! [`Store`] impl itself. Compiled once per backend, like the feature modules beside it.

use super::backend::{Db, This};
use crate::domain::GrantView;
use crate::server::db::rows::now_millis;
use crate::server::db::{Audience, AuditEvent, Notice, NoticeFor, QueueRow, Store};
use crate::server::db::{Backend, StoreResult};

/// A query's arguments on this backend.
type Args<'q> = <Db as sqlx::Database>::Arguments<'q>;

impl This {
    /// Runs `insert` (an `INSERT … RETURNING id`) and writes `audit` in one transaction; the
    /// new row's id.
    pub(super) async fn insert_audited<'q>(
        &self,
        insert: sqlx::query::QueryAs<'q, Db, (i64,), Args<'q>>,
        audit: &AuditEvent,
    ) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let (id,) = insert.fetch_one(&mut *tx).await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Runs `change` and, when it touched a row, writes `audit` in the same transaction;
    /// whether it touched any (nothing is audited when it did not).
    pub(super) async fn update_audited<'q>(
        &self,
        change: sqlx::query::Query<'q, Db, Args<'q>>,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        if change.execute(&mut *tx).await?.rows_affected() == 0 {
            return Ok(false);
        }
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Ends every session of a user and revokes their live personal tokens, inside the
    /// caller's transaction (a new password, a disabled user, one the provider let go).
    pub(super) async fn end_access_in(
        &self,
        tx: &mut sqlx::Transaction<'_, Db>,
        user_id: i64,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub(super) async fn audit_in(
        &self,
        tx: &mut sqlx::Transaction<'_, Db>,
        ev: &AuditEvent,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, target_kind, target, summary) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(now_millis())
        .bind(&ev.actor)
        .bind(ev.action)
        .bind(ev.target_kind)
        .bind(&ev.target)
        .bind(&ev.summary)
        .execute(&mut **tx)
        .await?;
        // Counted before the commit: a cache that refills in between is corrected by its own
        // periodic check of the change feed.
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Ok(())
    }

    pub(super) async fn event_in(
        tx: &mut sqlx::Transaction<'_, Db>,
        request_id: i64,
        at: i64,
        actor: &str,
        kind: &str,
        comment: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO request_events (request_id, at, actor, kind, comment) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(request_id)
        .bind(at)
        .bind(actor)
        .bind(kind)
        .bind(comment)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Writes a notice's notifications and webhook deliveries.
    pub(super) async fn notice_in(
        tx: &mut sqlx::Transaction<'_, Db>,
        n: &Notice,
        now: i64,
    ) -> StoreResult<()> {
        let mut to = std::collections::BTreeSet::new();
        for a in &n.audience {
            let names: Vec<(String,)> = match a {
                Audience::User(u) => vec![(u.clone(),)],
                Audience::ProjectOwners(p) => sqlx::query_as(
                    "SELECT u.username FROM project_members m JOIN users u ON u.id = m.user_id \
                     JOIN projects p ON p.id = m.project_id WHERE p.name = $1 AND m.role = 'owner'",
                )
                .bind(p)
                .fetch_all(&mut **tx)
                .await?,
                Audience::Role(r) => {
                    sqlx::query_as("SELECT username FROM users WHERE role = $1")
                        .bind(r.to_string())
                        .fetch_all(&mut **tx)
                        .await?
                }
                Audience::RequestParties(id) => {
                    let row: Option<(String, String)> = sqlx::query_as(
                        "SELECT r.requester, a.owner FROM access_requests r \
                         JOIN applications a ON a.id = r.application_id WHERE r.id = $1",
                    )
                    .bind(id)
                    .fetch_optional(&mut **tx)
                    .await?;
                    row.map(|(r, o)| vec![(r,), (o,)]).unwrap_or_default()
                }
            };
            to.extend(names.into_iter().map(|n| n.0));
        }
        if let Some(except) = &n.except {
            to.remove(except);
        }
        for user in to {
            sqlx::query(
                "INSERT INTO notifications (username, at, event, message, link) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&user)
            .bind(now)
            .bind(n.event)
            .bind(&n.message)
            .bind(&n.link)
            .execute(&mut **tx)
            .await?;
        }
        let projects: std::collections::BTreeSet<&String> = n.webhook_projects.iter().collect();
        let payload = n.payload.to_string();
        for p in projects {
            sqlx::query(
                "INSERT INTO webhook_deliveries (project_id, event, payload, created_at, attempts, \
                 next_attempt_at, last_error) \
                 SELECT id, $2, $3, $4, 0, $4, '' FROM projects WHERE name = $1 AND webhook_url IS NOT NULL",
            )
            .bind(p)
            .bind(n.event)
            .bind(&payload)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Stamps `column` on each due grant still unstamped, adds a system event to its
    /// request's timeline, an audit entry and a notice. Returns the grants it stamped.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn mark_grants(
        &self,
        tx: &mut sqlx::Transaction<'_, Db>,
        due: Vec<GrantView>,
        column: &str,
        now: i64,
        kind: &str,
        action: &'static str,
        comment: impl Fn(&GrantView) -> String,
        notice: NoticeFor<'_, GrantView>,
    ) -> StoreResult<Vec<GrantView>> {
        let mut marked = Vec::with_capacity(due.len());
        for g in due {
            let done = sqlx::query(&format!(
                "UPDATE grants SET {column} = $1 WHERE id = $2 AND {column} IS NULL"
            ))
            .bind(now)
            .bind(g.id)
            .execute(&mut **tx)
            .await?;
            if done.rows_affected() == 0 {
                continue;
            }
            Self::event_in(tx, g.request_id, now, "system", kind, &comment(&g)).await?;
            let ev = AuditEvent {
                actor: "system".into(),
                action,
                target_kind: "grant",
                target: format!(
                    "{}/{} → {}/{}",
                    g.project, g.application, g.queue_project, g.queue
                ),
                summary: g.permission.to_string(),
            };
            self.audit_in(tx, &ev).await?;
            Self::notice_in(tx, &notice(&g), now).await?;
            marked.push(g);
        }
        Ok(marked)
    }

    pub(super) async fn record_change(
        tx: &mut sqlx::Transaction<'_, Db>,
        queue_id: i64,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO queue_changes (queue_id, at) VALUES ($1, $2)")
            .bind(queue_id)
            .bind(now_millis())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub(super) async fn insert_queue(
        tx: &mut sqlx::Transaction<'_, Db>,
        row: &QueueRow,
        now: i64,
        skip_existing: bool,
    ) -> StoreResult<Option<i64>> {
        // Bulk loads skip names that exist; single creates report the conflict.
        let on_conflict = if skip_existing {
            " ON CONFLICT (project_id, name) DO NOTHING"
        } else {
            ""
        };
        let id: Option<(i64,)> = sqlx::query_as(&format!(
            "INSERT INTO queues (project_id, name, description, owner, tags, partitions, \
             retention_hours, data_format, primary_cluster_id, backup_cluster_id, active_side, \
             topic, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13){on_conflict} RETURNING id",
        ))
        .bind(row.project_id)
        .bind(&row.name)
        .bind(&row.description)
        .bind(&row.owner)
        .bind(serde_json::to_string(&row.tags).unwrap_or_default())
        .bind(row.partitions)
        .bind(row.retention_hours)
        .bind(&row.data_format)
        .bind(row.primary_cluster_id)
        .bind(row.backup_cluster_id)
        .bind(&row.active_side)
        .bind(&row.topic)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(id.map(|r| r.0))
    }
}

#[async_trait::async_trait]
impl Store for This {
    fn backend(&self) -> Backend {
        super::backend::KIND
    }

    async fn migrate(&self) -> StoreResult<()> {
        super::backend::MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    fn mutation_epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::Acquire)
    }
}
