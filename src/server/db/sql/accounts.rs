//! [`AccountStore`] for one backend: compiled once per backend, inside the backend's module, where
//! `backend::Db` is its sqlx database and `backend::This` its store.

use super::backend::This;
use crate::server::db::StoreResult;

use crate::domain::{Role, UserView};
use crate::server::db::rows::now_millis;
use crate::server::db::{AuditEvent, StoreError, UserRecord};

use crate::server::db::accounts::AccountStore;

#[async_trait::async_trait]
impl AccountStore for This {
    async fn count_users(&self) -> StoreResult<i64> {
        let n: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(n.0)
    }

    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        audit: &AuditEvent,
    ) -> StoreResult<i64> {
        let insert = sqlx::query_as(
            "INSERT INTO users (username, password_hash, role, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(username)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(now_millis());
        self.insert_audited(insert, audit).await
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        Ok(sqlx::query_as(
            "SELECT id, username, password_hash, role, disabled_at FROM users WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn users_by_names(&self, usernames: &[String]) -> StoreResult<Vec<UserView>> {
        let mut out = Vec::with_capacity(usernames.len());
        for name in usernames {
            if let Some(u) = self.user_by_name(name).await? {
                out.push(u.view()?);
            }
        }
        Ok(out)
    }

    async fn list_users(&self) -> StoreResult<Vec<UserView>> {
        let rows: Vec<UserRecord> = sqlx::query_as(
            "SELECT id, username, password_hash, role, disabled_at FROM users ORDER BY username",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(UserRecord::view).collect()
    }

    async fn set_password(
        &self,
        user_id: i64,
        password_hash: &str,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        // A new password ends every existing session and personal token.
        self.end_access_in(&mut tx, user_id, now_millis()).await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_role(&self, user_id: i64, role: Role, audit: &AuditEvent) -> StoreResult<()> {
        if self
            .update_audited(
                sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
                    .bind(role.as_str())
                    .bind(user_id),
                audit,
            )
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        // Sessions are short rows; expired ones are dropped as new ones arrive.
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now: i64) -> StoreResult<Option<UserView>> {
        let row: Option<UserRecord> = sqlx::query_as(
            "SELECT u.id, u.username, u.password_hash, u.role, u.disabled_at FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2 \
             AND u.disabled_at IS NULL",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.view()).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_api_token(
        &self,
        user_id: i64,
        name: &str,
        prefix: &str,
        token_hash: &str,
        audit: &AuditEvent,
    ) -> StoreResult<i64> {
        let insert = sqlx::query_as(
            "INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user_id)
        .bind(name)
        .bind(prefix)
        .bind(token_hash)
        .bind(now_millis());
        self.insert_audited(insert, audit).await
    }

    async fn api_token_user(&self, token_hash: &str) -> StoreResult<Option<UserView>> {
        let row: Option<UserRecord> = sqlx::query_as(
            "SELECT u.id, u.username, u.password_hash, u.role, u.disabled_at FROM api_tokens t \
             JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL \
             AND u.disabled_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| r.view()).transpose()
    }
}
