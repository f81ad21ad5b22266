//! [`AccessStore`] for one backend: compiled once per backend, inside the backend's module, where
//! `backend::Db` is its sqlx database and `backend::This` its store.

use super::backend::This;
use crate::server::db::StoreResult;

use crate::domain::{AccessRequestView, AppTokenView, ApplicationView, GrantView};
use crate::server::db::rows::{
    now_millis, AppDbRow, EventDbRow, GrantDbRow, RequestDbRow, APP_SELECT, GRANT_SELECT,
    REQUEST_SELECT,
};
use crate::server::db::{
    AccessRequestRow, ApplicationRow, AuditEvent, Notice, NoticeFor, RequestFilter,
    RequestTransition,
};

use crate::server::db::access::AccessStore;

/// The most requests one reminder pass stamps (the sweeper runs every minute), so a first
/// deployment over a long backlog does not remind of everything in one transaction.
const REMIND_PER_PASS: i64 = 100;

#[async_trait::async_trait]
impl AccessStore for This {
    async fn create_application(
        &self,
        row: &ApplicationRow,
        audit: &AuditEvent,
    ) -> StoreResult<i64> {
        let insert = sqlx::query_as(
            "INSERT INTO applications (project_id, name, owner, description, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(row.project_id)
        .bind(&row.name)
        .bind(&row.owner)
        .bind(&row.description)
        .bind(now_millis());
        self.insert_audited(insert, audit).await
    }

    async fn application(&self, project: &str, name: &str) -> StoreResult<Option<ApplicationView>> {
        let row: Option<AppDbRow> =
            sqlx::query_as(&format!("{APP_SELECT} WHERE p.name = $1 AND a.name = $2"))
                .bind(project)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(Into::into))
    }

    async fn list_applications(&self, project: Option<&str>) -> StoreResult<Vec<ApplicationView>> {
        let rows: Vec<AppDbRow> = sqlx::query_as(&format!(
            "{APP_SELECT} WHERE ($1 IS NULL OR p.name = $1) ORDER BY p.name, a.name"
        ))
        .bind(project)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn create_app_token(
        &self,
        application_id: i64,
        prefix: &str,
        token_hash: &str,
        audit: &AuditEvent,
    ) -> StoreResult<i64> {
        let insert = sqlx::query_as(
            "INSERT INTO app_tokens (application_id, prefix, token_hash, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(application_id)
        .bind(prefix)
        .bind(token_hash)
        .bind(now_millis());
        self.insert_audited(insert, audit).await
    }

    async fn revoke_app_token(
        &self,
        application_id: i64,
        token_id: i64,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let change = sqlx::query(
            "UPDATE app_tokens SET revoked_at = $1 WHERE id = $2 AND application_id = $3 AND revoked_at IS NULL",
        )
        .bind(now_millis())
        .bind(token_id)
        .bind(application_id);
        self.update_audited(change, audit).await
    }

    async fn app_tokens(&self, application_id: i64) -> StoreResult<Vec<AppTokenView>> {
        let rows: Vec<(i64, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, prefix, created_at, revoked_at FROM app_tokens WHERE application_id = $1 ORDER BY id",
        )
        .bind(application_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, prefix, created_at, revoked_at)| AppTokenView {
                id,
                prefix,
                created_at,
                revoked_at,
            })
            .collect())
    }

    async fn app_by_token(&self, token_hash: &str) -> StoreResult<Option<ApplicationView>> {
        let row: Option<AppDbRow> = sqlx::query_as(&format!(
            "{APP_SELECT} JOIN app_tokens t ON t.application_id = a.id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Into::into))
    }

    async fn create_access_request(
        &self,
        row: &AccessRequestRow,
        audit: &AuditEvent,
        notice: NoticeFor<'_, i64>,
    ) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let now = now_millis();
        let id: (i64,) = sqlx::query_as(
            "INSERT INTO access_requests (application_id, queue_id, permission, reason, duration_days, \
             requester, needs_admin, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8) RETURNING id",
        )
        .bind(row.application_id)
        .bind(row.queue_id)
        .bind(&row.permission)
        .bind(&row.reason)
        .bind(row.duration_days)
        .bind(&row.requester)
        .bind(row.needs_admin as i64)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        Self::event_in(&mut tx, id.0, now, &row.requester, "created", &row.reason).await?;
        self.audit_in(&mut tx, audit).await?;
        Self::notice_in(&mut tx, &notice(&id.0), now).await?;
        tx.commit().await?;
        Ok(id.0)
    }

    async fn open_request(
        &self,
        application_id: i64,
        queue_id: i64,
        permission: &str,
    ) -> StoreResult<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM access_requests WHERE application_id = $1 AND queue_id = $2 \
             AND permission = $3 AND status IN ('pending', 'owner_approved')",
        )
        .bind(application_id)
        .bind(queue_id)
        .bind(permission)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.0))
    }

    async fn access_request(&self, id: i64) -> StoreResult<Option<AccessRequestView>> {
        let row: Option<RequestDbRow> =
            sqlx::query_as(&format!("{REQUEST_SELECT} WHERE r.id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let events: Vec<EventDbRow> = sqlx::query_as(
            "SELECT at, actor, kind, comment FROM request_events WHERE request_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut view = AccessRequestView::try_from(row)?;
        view.events = events.into_iter().map(Into::into).collect();
        Ok(Some(view))
    }

    async fn list_requests(&self, filter: &RequestFilter) -> StoreResult<Vec<AccessRequestView>> {
        // Statuses come from the enum, never from input; filtering them in SQL (and with
        // no row limit) keeps an inbox complete however many requests are older.
        let (where_status, limit) = if filter.statuses.is_empty() {
            (String::new(), " LIMIT 500")
        } else {
            let list: Vec<String> = filter.statuses.iter().map(|s| format!("'{s}'")).collect();
            (format!(" AND r.status IN ({})", list.join(", ")), "")
        };
        let rows: Vec<RequestDbRow> = sqlx::query_as(&format!(
            "{REQUEST_SELECT} WHERE ($1 IS NULL OR r.requester = $1) AND ($2 IS NULL OR r.application_id = $2)\
             {where_status} ORDER BY r.id DESC{limit}"
        ))
        .bind(filter.requester.as_deref())
        .bind(filter.application_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(AccessRequestView::try_from).collect()
    }

    async fn transition_request(
        &self,
        id: i64,
        t: &RequestTransition,
        audit: &AuditEvent,
        notice: &Notice,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let now = now_millis();
        let done = sqlx::query(
            "UPDATE access_requests SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
        )
        .bind(t.to.to_string())
        .bind(now)
        .bind(id)
        .bind(t.from.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        Self::event_in(&mut tx, id, now, &t.actor, t.event, &t.comment).await?;
        if let Some(days) = t.grant {
            let expires_at = days.map(|d| now + d * 86_400_000);
            sqlx::query(
                "INSERT INTO grants (application_id, queue_id, permission, request_id, created_at, expires_at) \
                 SELECT application_id, queue_id, permission, id, $1, $2 FROM access_requests WHERE id = $3",
            )
            .bind(now)
            .bind(expires_at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            Self::event_in(&mut tx, id, now, &t.actor, "granted", "").await?;
        }
        self.audit_in(&mut tx, audit).await?;
        Self::notice_in(&mut tx, notice, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn grants(&self, application_id: i64) -> StoreResult<Vec<GrantView>> {
        let rows: Vec<GrantDbRow> = sqlx::query_as(&format!(
            "{GRANT_SELECT} WHERE g.application_id = $1 ORDER BY g.id"
        ))
        .bind(application_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn grant(&self, id: i64) -> StoreResult<Option<GrantView>> {
        let row: Option<GrantDbRow> = sqlx::query_as(&format!("{GRANT_SELECT} WHERE g.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn revoke_grant(
        &self,
        id: i64,
        actor: &str,
        audit: &AuditEvent,
        notice: &Notice,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let now = now_millis();
        let done =
            sqlx::query("UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO request_events (request_id, at, actor, kind, comment) \
             SELECT request_id, $1, $2, 'revoked', '' FROM grants WHERE id = $3",
        )
        .bind(now)
        .bind(actor)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        self.audit_in(&mut tx, audit).await?;
        Self::notice_in(&mut tx, notice, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn expire_grants(
        &self,
        now: i64,
        notice: NoticeFor<'_, GrantView>,
    ) -> StoreResult<Vec<GrantView>> {
        let mut tx = self.pool.begin().await?;
        let due: Vec<GrantDbRow> = sqlx::query_as(&format!(
            "{GRANT_SELECT} WHERE g.expires_at <= $1 AND g.revoked_at IS NULL AND g.expired_at IS NULL"
        ))
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let due = due
            .into_iter()
            .map(TryInto::try_into)
            .collect::<StoreResult<_>>()?;
        let marked = self
            .mark_grants(
                &mut tx,
                due,
                "expired_at",
                now,
                "expired",
                "grant.expire",
                |_| String::new(),
                notice,
            )
            .await?;
        tx.commit().await?;
        Ok(marked)
    }

    async fn remind_grants(
        &self,
        now: i64,
        until: i64,
        notice: NoticeFor<'_, GrantView>,
    ) -> StoreResult<Vec<GrantView>> {
        let mut tx = self.pool.begin().await?;
        let due: Vec<GrantDbRow> = sqlx::query_as(&format!(
            "{GRANT_SELECT} WHERE g.expires_at > $1 AND g.expires_at <= $2 AND g.revoked_at IS NULL \
             AND g.expired_at IS NULL AND g.reminded_at IS NULL"
        ))
        .bind(now)
        .bind(until)
        .fetch_all(&mut *tx)
        .await?;
        let due = due
            .into_iter()
            .map(TryInto::try_into)
            .collect::<StoreResult<_>>()?;
        let marked = self
            .mark_grants(
                &mut tx,
                due,
                "reminded_at",
                now,
                "reminded",
                "grant.remind",
                |g| {
                    format!(
                        "expires {}",
                        crate::domain::format_millis(g.expires_at.unwrap_or(now))
                    )
                },
                notice,
            )
            .await?;
        tx.commit().await?;
        Ok(marked)
    }

    async fn remind_requests(
        &self,
        now: i64,
        waiting_since: i64,
        again_after: i64,
        notice: NoticeFor<'_, AccessRequestView>,
    ) -> StoreResult<Vec<AccessRequestView>> {
        let mut tx = self.pool.begin().await?;
        let due: Vec<RequestDbRow> = sqlx::query_as(&format!(
            "{REQUEST_SELECT} WHERE r.status IN ('pending', 'owner_approved') AND r.updated_at <= $1 \
             AND (r.reminded_at IS NULL OR r.reminded_at <= $2) ORDER BY r.id LIMIT {REMIND_PER_PASS}"
        ))
        .bind(waiting_since)
        .bind(again_after)
        .fetch_all(&mut *tx)
        .await?;
        let mut reminded = Vec::with_capacity(due.len());
        for row in due {
            let r = AccessRequestView::try_from(row)?;
            // Conditional, so a replica that read the same rows sends nothing twice.
            let done = sqlx::query(
                "UPDATE access_requests SET reminded_at = $1 WHERE id = $2 AND status = $3 \
                 AND (reminded_at IS NULL OR reminded_at <= $4)",
            )
            .bind(now)
            .bind(r.id)
            .bind(r.status.to_string())
            .bind(again_after)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                continue;
            }
            let waited = crate::domain::waited(r.created_at, now);
            Self::event_in(
                &mut tx,
                r.id,
                now,
                "system",
                "reminder",
                &format!("waiting {waited}"),
            )
            .await?;
            let ev = AuditEvent {
                actor: "system".into(),
                action: "access_request.remind",
                target_kind: "access_request",
                target: format!("request {}", r.id),
                summary: format!("{} waiting {waited}", r.status),
            };
            self.audit_in(&mut tx, &ev).await?;
            Self::notice_in(&mut tx, &notice(&r), now).await?;
            reminded.push(r);
        }
        tx.commit().await?;
        Ok(reminded)
    }

    async fn queue_access(
        &self,
        user_id: i64,
        queue_ids: &[i64],
        now: i64,
    ) -> StoreResult<Vec<(i64, String)>> {
        if queue_ids.is_empty() {
            return Ok(Vec::new());
        }
        // Ids are integers from the index, so inlining them is safe and keeps one
        // statement for both backends.
        let ids = queue_ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let rows: Vec<(i64, String)> = sqlx::query_as(&format!(
            "SELECT g.queue_id, g.permission FROM grants g \
             JOIN applications a ON a.id = g.application_id \
             JOIN project_members m ON m.project_id = a.project_id AND m.user_id = $1 \
             WHERE g.queue_id IN ({ids}) AND g.revoked_at IS NULL AND g.expired_at IS NULL \
             AND (g.expires_at IS NULL OR g.expires_at > $2) \
             UNION SELECT r.queue_id, 'requested' FROM access_requests r \
             JOIN applications a ON a.id = r.application_id \
             JOIN project_members m ON m.project_id = a.project_id AND m.user_id = $1 \
             WHERE r.queue_id IN ({ids}) AND r.status IN ('pending', 'owner_approved')"
        ))
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }
}
