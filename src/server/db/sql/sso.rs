//! [`SsoStore`] for one backend: compiled once per backend, inside the backend's module, where
//! `backend::This` is its store.

use super::backend::This;
use crate::server::db::sso::{SsoAccount, SsoLogin, SsoStore};
use crate::server::db::{AuditEvent, StoreResult};
use async_trait::async_trait;

const ACCOUNT: &str =
    "SELECT a.user_id, u.username, a.issuer, a.subject, a.email, a.display_name, \
     a.groups, a.refresh_enc, a.signed_in_at, a.checked_at \
     FROM sso_accounts a JOIN users u ON u.id = a.user_id";

#[async_trait]
impl SsoStore for This {
    async fn begin_sso_login(&self, login: &SsoLogin, stale_before: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM sso_logins WHERE created_at < $1")
            .bind(stale_before)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sso_logins (state_hash, nonce, verifier_enc, next_path, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&login.state_hash)
        .bind(&login.nonce)
        .bind(&login.verifier_enc)
        .bind(&login.next_path)
        .bind(login.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn take_sso_login(&self, state_hash: &str) -> StoreResult<Option<SsoLogin>> {
        Ok(sqlx::query_as(
            "DELETE FROM sso_logins WHERE state_hash = $1 \
             RETURNING state_hash, nonce, verifier_enc, next_path, created_at",
        )
        .bind(state_hash)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn sso_account(&self, issuer: &str, subject: &str) -> StoreResult<Option<SsoAccount>> {
        Ok(
            sqlx::query_as(&format!("{ACCOUNT} WHERE a.issuer = $1 AND a.subject = $2"))
                .bind(issuer)
                .bind(subject)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn sso_account_of(&self, user_id: i64) -> StoreResult<Option<SsoAccount>> {
        Ok(sqlx::query_as(&format!("{ACCOUNT} WHERE a.user_id = $1"))
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn save_sso_account(&self, a: &SsoAccount) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sso_accounts (user_id, issuer, subject, email, display_name, groups, \
             refresh_enc, signed_in_at, checked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (user_id) DO UPDATE SET issuer = excluded.issuer, \
             subject = excluded.subject, email = excluded.email, \
             display_name = excluded.display_name, groups = excluded.groups, \
             refresh_enc = excluded.refresh_enc, signed_in_at = excluded.signed_in_at, \
             checked_at = excluded.checked_at",
        )
        .bind(a.user_id)
        .bind(&a.issuer)
        .bind(&a.subject)
        .bind(&a.email)
        .bind(&a.display_name)
        .bind(&a.groups)
        .bind(&a.refresh_enc)
        .bind(a.signed_in_at)
        .bind(a.checked_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn sso_accounts_due(&self, before: i64, limit: i64) -> StoreResult<Vec<SsoAccount>> {
        Ok(sqlx::query_as(&format!(
            "{ACCOUNT} WHERE a.checked_at < $1 AND a.refresh_enc IS NOT NULL \
             AND u.disabled_at IS NULL ORDER BY a.checked_at LIMIT $2"
        ))
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn sso_checked(
        &self,
        user_id: i64,
        old_refresh_enc: &str,
        refresh_enc: Option<&str>,
        checked_at: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE sso_accounts SET refresh_enc = $1, checked_at = $2 \
             WHERE user_id = $3 AND refresh_enc = $4",
        )
        .bind(refresh_enc)
        .bind(checked_at)
        .bind(user_id)
        .bind(old_refresh_enc)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn sso_places(&self, user_id: i64) -> StoreResult<Vec<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT project_id, place FROM sso_places WHERE user_id = $1 ORDER BY project_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn set_sso_places(&self, user_id: i64, places: &[(i64, String)]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM sso_places WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for (project_id, place) in places {
            sqlx::query("INSERT INTO sso_places (user_id, project_id, place) VALUES ($1, $2, $3)")
                .bind(user_id)
                .bind(project_id)
                .bind(place)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_sso_session(
        &self,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
        id_token: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, id_token) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .bind(id_token)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session_id_token(&self, token_hash: &str) -> StoreResult<Option<String>> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT id_token FROM sessions WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|r| r.0))
    }

    async fn end_user_access(&self, user_id: i64, now: i64, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        self.end_access_in(&mut tx, user_id, now).await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}
