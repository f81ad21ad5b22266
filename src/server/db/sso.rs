//! Single sign-on: accounts linked to the provider, sign-ins in flight, and the project places
//! the group mapping gave.

use super::*;

/// A sign-in in flight, stored until its callback takes it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SsoLogin {
    pub state_hash: String,
    pub nonce: String,
    /// The PKCE verifier, sealed.
    pub verifier_enc: String,
    /// Where the browser goes after signing in (a path on this site).
    pub next_path: String,
    pub created_at: i64,
}

/// A user's link to the provider.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SsoAccount {
    pub user_id: i64,
    pub username: String,
    pub issuer: String,
    pub subject: String,
    pub email: String,
    pub display_name: String,
    /// JSON array.
    pub groups: String,
    pub refresh_enc: Option<String>,
    pub signed_in_at: i64,
    pub checked_at: i64,
}

/// Storage for single sign-on.
#[async_trait]
pub trait SsoStore: Send + Sync {
    /// Keeps a sign-in in flight, dropping those begun before `stale_before`.
    async fn begin_sso_login(&self, login: &SsoLogin, stale_before: i64) -> StoreResult<()>;
    /// Takes (deletes and returns) the sign-in with this state hash: a state works once.
    async fn take_sso_login(&self, state_hash: &str) -> StoreResult<Option<SsoLogin>>;
    /// The account linked to the provider's subject.
    async fn sso_account(&self, issuer: &str, subject: &str) -> StoreResult<Option<SsoAccount>>;
    /// The account of a user, if they are linked.
    async fn sso_account_of(&self, user_id: i64) -> StoreResult<Option<SsoAccount>>;
    /// Links or updates a user's account (the row as given, keyed by user).
    async fn save_sso_account(&self, account: &SsoAccount) -> StoreResult<()>;
    /// Linked accounts last checked before `before`, oldest first.
    async fn sso_accounts_due(&self, before: i64, limit: i64) -> StoreResult<Vec<SsoAccount>>;
    /// Records a check of a user with the provider and the refresh token it left (`None`:
    /// none to check with), only if the account still holds `old_refresh_enc` (a sign-in
    /// meanwhile wins); whether it did.
    async fn sso_checked(
        &self,
        user_id: i64,
        old_refresh_enc: &str,
        refresh_enc: Option<&str>,
        checked_at: i64,
    ) -> StoreResult<bool>;
    /// The project places (project id, `owner`/`member`) the mapping gave a user.
    async fn sso_places(&self, user_id: i64) -> StoreResult<Vec<(i64, String)>>;
    /// Replaces the project places the mapping gave a user.
    async fn set_sso_places(&self, user_id: i64, places: &[(i64, String)]) -> StoreResult<()>;
    /// Opens a session carrying the provider's ID token.
    async fn create_sso_session(
        &self,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
        id_token: &str,
    ) -> StoreResult<()>;
    /// The provider's ID token of a session, when it is a single sign-on one.
    async fn session_id_token(&self, token_hash: &str) -> StoreResult<Option<String>>;
    /// Ends every session of a user and revokes their personal tokens (the provider no longer
    /// lets them in); audited.
    async fn end_user_access(&self, user_id: i64, now: i64, audit: &AuditEvent) -> StoreResult<()>;
}
