//! Users, sessions and API tokens.

use super::*;
use async_trait::async_trait;

/// Users, sessions and API tokens.
#[async_trait]
pub trait AccountStore: Send + Sync {
    // users and sign-in
    async fn count_users(&self) -> StoreResult<i64>;
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        audit: &AuditEvent,
    ) -> StoreResult<i64>;
    async fn user_by_name(&self, username: &str) -> StoreResult<Option<UserRecord>>;
    async fn users_by_names(&self, usernames: &[String]) -> StoreResult<Vec<UserView>>;
    async fn list_users(&self) -> StoreResult<Vec<UserView>>;
    async fn set_password(
        &self,
        user_id: i64,
        password_hash: &str,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn set_role(&self, user_id: i64, role: Role, audit: &AuditEvent) -> StoreResult<()>;
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()>;
    async fn session_user(&self, token_hash: &str, now: i64) -> StoreResult<Option<UserView>>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    async fn create_api_token(
        &self,
        user_id: i64,
        name: &str,
        prefix: &str,
        token_hash: &str,
        audit: &AuditEvent,
    ) -> StoreResult<i64>;
    async fn api_token_user(&self, token_hash: &str) -> StoreResult<Option<UserView>>;
}
