//! [`TrustStore`] for one backend: this file is compiled once per backend, inside the backend's
//! module, where `backend::Db` is its sqlx database and `backend::This` its store.

use super::backend::This;
use crate::domain::{PersonalTokenView, Role, UserAccount, UserView};
use crate::server::db::trust::{PersonalTokenRow, TopicUse, TrustStore};
use crate::server::db::{AuditEvent, StoreError, StoreResult};
use async_trait::async_trait;

/// Uses of a token are written at most this often, so a busy script does not write per call.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

#[derive(sqlx::FromRow)]
struct TokenDbRow {
    id: i64,
    name: String,
    prefix: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<TokenDbRow> for PersonalTokenView {
    fn from(r: TokenDbRow) -> Self {
        PersonalTokenView {
            id: r.id,
            name: r.name,
            prefix: r.prefix,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct TokenUserDbRow {
    token_id: i64,
    last_used_at: Option<i64>,
    id: i64,
    username: String,
    role: String,
}

#[derive(sqlx::FromRow)]
struct AccountDbRow {
    id: i64,
    username: String,
    role: String,
    disabled_at: Option<i64>,
}

/// A role read back from the database; an unknown one is corruption, not a viewer.
fn stored_role(raw: &str) -> StoreResult<Role> {
    Role::parse(raw).ok_or_else(|| StoreError::Corrupt(format!("unknown role {raw:?}")))
}

#[async_trait]
impl TrustStore for This {
    async fn record_audit(&self, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_personal_token(
        &self,
        row: &PersonalTokenRow,
        audit: &AuditEvent,
    ) -> StoreResult<i64> {
        let insert = sqlx::query_as(
            "INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(row.user_id)
        .bind(&row.name)
        .bind(&row.prefix)
        .bind(&row.token_hash)
        .bind(row.created_at)
        .bind(row.expires_at);
        self.insert_audited(insert, audit).await
    }

    async fn personal_tokens(&self, user_id: i64) -> StoreResult<Vec<PersonalTokenView>> {
        let rows: Vec<TokenDbRow> = sqlx::query_as(
            "SELECT id, name, prefix, created_at, expires_at, last_used_at, revoked_at \
             FROM api_tokens WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn revoke_personal_token(
        &self,
        user_id: i64,
        token_id: i64,
        now: i64,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let change = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 \
             WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(token_id)
        .bind(user_id);
        self.update_audited(change, audit).await
    }

    async fn personal_token_user(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<UserView>> {
        let row: Option<TokenUserDbRow> = sqlx::query_as(
            "SELECT t.id AS token_id, t.last_used_at, u.id, u.username, u.role \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL \
             AND (t.expires_at IS NULL OR t.expires_at > $2) AND u.disabled_at IS NULL",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        if row
            .last_used_at
            .is_none_or(|at| now - at >= LAST_USED_RESOLUTION_MS)
        {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(row.token_id)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(UserView {
            id: row.id,
            username: row.username,
            role: stored_role(&row.role)?,
        }))
    }

    async fn user_accounts(&self) -> StoreResult<Vec<UserAccount>> {
        let rows: Vec<AccountDbRow> =
            sqlx::query_as("SELECT id, username, role, disabled_at FROM users ORDER BY username")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|r| {
                Ok(UserAccount {
                    id: r.id,
                    role: stored_role(&r.role)?,
                    username: r.username,
                    disabled_at: r.disabled_at,
                })
            })
            .collect()
    }

    async fn set_user_disabled(
        &self,
        user_id: i64,
        disabled: bool,
        now: i64,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = if disabled {
            sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
                .bind(now)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
        } else {
            sqlx::query(
                "UPDATE users SET disabled_at = NULL WHERE id = $1 AND disabled_at IS NOT NULL",
            )
            .bind(user_id)
            .execute(&mut *tx)
            .await?
        };
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        if disabled {
            self.end_access_in(&mut tx, user_id, now).await?;
        }
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_own_apps_access(
        &self,
        project_id: i64,
        enabled: bool,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        self.update_audited(
            sqlx::query("UPDATE projects SET own_apps_access = $1 WHERE id = $2")
                .bind(i64::from(enabled))
                .bind(project_id),
            audit,
        )
        .await?;
        Ok(())
    }

    async fn own_apps_access(&self, project: &str) -> StoreResult<bool> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT own_apps_access FROM projects WHERE name = $1")
                .bind(project)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.is_some_and(|r| r.0 != 0))
    }

    async fn own_access_projects(&self, user_id: i64) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT p.name FROM projects p \
             JOIN project_members m ON m.project_id = p.id AND m.user_id = $1 \
             WHERE p.own_apps_access = 1 \
             AND EXISTS (SELECT 1 FROM applications a WHERE a.project_id = p.id) ORDER BY p.name",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn set_project_people(
        &self,
        project_id: i64,
        owner_ids: &[i64],
        member_ids: &[i64],
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM project_members WHERE project_id = $1")
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
        let owners = owner_ids.iter().map(|u| (*u, "owner"));
        let members = member_ids
            .iter()
            .filter(|m| !owner_ids.contains(m))
            .map(|u| (*u, "member"));
        for (user_id, role) in owners.chain(members) {
            sqlx::query(
                "INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)",
            )
            .bind(project_id)
            .bind(user_id)
            .bind(role)
            .execute(&mut *tx)
            .await?;
        }
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn queues_on_topic(&self, topic: &str) -> StoreResult<Vec<TopicUse>> {
        Ok(sqlx::query_as(
            "SELECT q.id AS queue_id, p.name AS project, q.name AS queue, q.primary_cluster_id, \
             q.backup_cluster_id FROM queues q JOIN projects p ON p.id = q.project_id \
             WHERE q.topic = $1 ORDER BY q.id",
        )
        .bind(topic)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn grant_holder_owners(&self, queue_id: i64, now: i64) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT a.owner FROM grants g JOIN applications a ON a.id = g.application_id \
             WHERE g.queue_id = $1 AND g.revoked_at IS NULL AND g.expired_at IS NULL \
             AND (g.expires_at IS NULL OR g.expires_at > $2) ORDER BY a.owner",
        )
        .bind(queue_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(o,)| o).collect())
    }

    async fn prune_notices(
        &self,
        read_before: i64,
        finished_before: i64,
    ) -> StoreResult<(u64, u64)> {
        let notes =
            sqlx::query("DELETE FROM notifications WHERE read_at IS NOT NULL AND read_at < $1")
                .bind(read_before)
                .execute(&self.pool)
                .await?;
        let deliveries = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE next_attempt_at IS NULL AND created_at < $1",
        )
        .bind(finished_before)
        .execute(&self.pool)
        .await?;
        Ok((notes.rows_affected(), deliveries.rows_affected()))
    }
}
