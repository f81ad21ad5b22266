//! Storage for what the security review asked for: personal tokens that expire and can be
//! revoked, disabled users, project people managed by owners, one queue per physical topic,
//! sign-in audit entries, and pruning of old notifications and deliveries.
//!
//! Written once as plain Rust in `sql/trust.rs`, which each backend compiles as its own module
//! with its own `Db` type: one copy of the SQL that rustfmt and rust-analyzer see whole.

use super::{AuditEvent, StoreResult};
use crate::domain::{PersonalTokenView, UserAccount, UserView};
use async_trait::async_trait;

/// A new personal token, hashed.
#[derive(Debug, Clone)]
pub struct PersonalTokenRow {
    pub user_id: i64,
    pub name: String,
    pub prefix: String,
    pub token_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A queue that uses a physical topic, with the clusters it is bound to.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TopicUse {
    pub queue_id: i64,
    pub project: String,
    pub queue: String,
    pub primary_cluster_id: i64,
    pub backup_cluster_id: Option<i64>,
}

impl TopicUse {
    /// Whether the queue is bound to `cluster_id` on either side.
    pub fn on(&self, cluster_id: i64) -> bool {
        self.primary_cluster_id == cluster_id || self.backup_cluster_id == Some(cluster_id)
    }
}

/// Storage for accounts' safety, project people and topic ownership.
#[async_trait]
pub trait TrustStore: Send + Sync {
    /// Writes one audit entry on its own (sign-ins and their failures).
    async fn record_audit(&self, audit: &AuditEvent) -> StoreResult<()>;

    /// Stores a personal token; returns its id.
    async fn create_personal_token(
        &self,
        row: &PersonalTokenRow,
        audit: &AuditEvent,
    ) -> StoreResult<i64>;
    /// A user's personal tokens, newest first.
    async fn personal_tokens(&self, user_id: i64) -> StoreResult<Vec<PersonalTokenView>>;
    /// Revokes one of the user's live tokens; false when there was none by that id.
    async fn revoke_personal_token(
        &self,
        user_id: i64,
        token_id: i64,
        now: i64,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// The user behind a live personal token: not revoked, not expired, user not disabled.
    /// Records the use, at most once a minute per token.
    async fn personal_token_user(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<UserView>>;

    /// Every user with their state, by name.
    async fn user_accounts(&self) -> StoreResult<Vec<UserAccount>>;
    /// Disables (ending their sessions and revoking their personal tokens) or re-enables a
    /// user; false when nothing changed.
    async fn set_user_disabled(
        &self,
        user_id: i64,
        disabled: bool,
        now: i64,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;

    /// Replaces a project's owners and members.
    /// Lets a project's own applications use its queues without a request, or not; audited.
    async fn set_own_apps_access(
        &self,
        project_id: i64,
        enabled: bool,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Whether the project's own applications use its queues without a request (false for a
    /// project that does not exist).
    async fn own_apps_access(&self, project: &str) -> StoreResult<bool>;
    /// The projects `user_id` belongs to whose own applications (at least one) use their queues
    /// without a request.
    async fn own_access_projects(&self, user_id: i64) -> StoreResult<Vec<String>>;
    async fn set_project_people(
        &self,
        project_id: i64,
        owner_ids: &[i64],
        member_ids: &[i64],
        audit: &AuditEvent,
    ) -> StoreResult<()>;

    /// The queues whose physical topic is `topic`.
    async fn queues_on_topic(&self, topic: &str) -> StoreResult<Vec<TopicUse>>;
    /// The owners of the applications that hold a live grant on a queue.
    async fn grant_holder_owners(&self, queue_id: i64, now: i64) -> StoreResult<Vec<String>>;

    /// Deletes read notifications read before `read_before` and webhook deliveries finished
    /// (delivered or given up) before `finished_before`. Returns how many of each.
    async fn prune_notices(
        &self,
        read_before: i64,
        finished_before: i64,
    ) -> StoreResult<(u64, u64)>;
}
