//! The storage trait and its two implementations, SQLite and PostgreSQL.
//!
//! SQL lives only here. Both backends share the query text (`$n` placeholders work in both)
//! through the `sql_store!` macro, and each has its own migrations directory.

pub mod collector;
pub mod failover;
pub mod kafka;
pub mod lineage;
mod postgres;
mod sql_store;
mod sqlite;
pub mod trust;

pub use postgres::PgStore;
pub use sql_store::now_millis;
pub use sqlite::SqliteStore;

use crate::domain::{
    AccessRequestView, AppTokenView, ApplicationView, AuditEntry, AuditFilter, ClusterView,
    GrantView, NotificationView, Page, ProjectView, QueueFilter, QueueView, RequestStatus, Role,
    SchemaVersionView, UserView, WebhookDeliveryView,
};
use async_trait::async_trait;
use std::sync::Arc;

/// Counts audited mutations made by this process. Caches of what the database says (the SDK's
/// config and token caches) compare it on each use and drop what they hold when it moved.
static MUTATION_EPOCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The number of audited mutations this process has made so far.
pub fn mutation_epoch() -> u64 {
    MUTATION_EPOCH.load(std::sync::atomic::Ordering::Acquire)
}

pub(crate) fn bump_mutation_epoch() {
    MUTATION_EPOCH.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
}

/// Errors from storage; the text of a database error never reaches a user.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated: the thing already exists.
    #[error("already exists")]
    Conflict,
    #[error("not found")]
    NotFound,
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value that cannot be what was written: never shown as a plausible default.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
            sqlx::Error::RowNotFound => StoreError::NotFound,
            _ => StoreError::Database(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What a mutation records in the audit log, written in the mutation's own transaction.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub actor: String,
    pub action: &'static str,
    pub target_kind: &'static str,
    pub target: String,
    pub summary: String,
}

/// Who a notice is for; resolved to user names inside the mutation's transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Audience {
    User(String),
    /// The owners of the project with this name.
    ProjectOwners(String),
    /// Every user with this role.
    Role(Role),
    /// The requester of this access request and the owner of its application.
    RequestParties(i64),
}

/// What a mutation tells people, written in the mutation's own transaction: a console
/// notification for each user of `audience` but `except`, and a webhook delivery of `payload`
/// for each of `webhook_projects` that has a webhook.
#[derive(Debug, Clone)]
pub struct Notice {
    pub event: &'static str,
    pub message: String,
    pub link: String,
    pub audience: Vec<Audience>,
    /// Whoever caused the event is not told about it.
    pub except: Option<String>,
    pub webhook_projects: Vec<String>,
    pub payload: serde_json::Value,
}

/// Builds the notice for a row a mutation is about to create or mark.
pub type NoticeFor<'a, T> = &'a (dyn Fn(&T) -> Notice + Send + Sync);

/// A webhook delivery claimed for sending.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookJob {
    pub id: i64,
    pub project: String,
    pub url: String,
    pub secret_enc: String,
    pub event: String,
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// How one delivery attempt went.
#[derive(Debug, Clone)]
pub struct DeliveryOutcome {
    pub at: i64,
    pub delivered: bool,
    pub status: Option<i64>,
    pub error: String,
    /// When to try again; `None` when delivered or given up.
    pub next_attempt_at: Option<i64>,
}

/// A new schema version, validated.
#[derive(Debug, Clone)]
pub struct SchemaRow {
    pub queue_id: i64,
    /// The next version number; a concurrent publish of the same number is a conflict.
    pub version: i64,
    pub format: String,
    pub definition: String,
    pub fingerprint: String,
    pub author: String,
    pub comment: String,
    /// The references it was published with, as a JSON array.
    pub references: String,
    /// Every file its definition imports, as a JSON array of names and texts.
    pub imports: String,
}

/// A stored user with the password hash, for sign-in only.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    /// Disabled users cannot sign in.
    pub disabled_at: Option<i64>,
}

impl UserRecord {
    /// The user without secrets; an unknown stored role is corruption, never a viewer.
    pub fn view(&self) -> StoreResult<UserView> {
        Ok(UserView {
            id: self.id,
            username: self.username.clone(),
            role: Role::parse(&self.role)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown role {:?}", self.role)))?,
        })
    }
}

/// A stored cluster with its encrypted SASL passwords (the platform's and the clients').
#[derive(Debug, Clone)]
pub struct ClusterRecord {
    pub view: ClusterView,
    pub sasl_password_enc: Option<String>,
    pub client_sasl_password_enc: Option<String>,
}

/// A cluster row ready to store: validated, password already encrypted.
#[derive(Debug, Clone)]
pub struct ClusterRow {
    pub name: String,
    pub kind: String,
    pub bootstrap_servers: Vec<String>,
    pub region: String,
    pub cloud: String,
    pub sasl_mechanism: String,
    pub sasl_username: String,
    pub sasl_password_enc: Option<String>,
    pub client_sasl_username: String,
    pub client_sasl_password_enc: Option<String>,
    pub max_partitions: Option<i64>,
    pub max_retention_hours: Option<i64>,
}

/// A queue row ready to store: names already resolved to ids.
#[derive(Debug, Clone)]
pub struct QueueRow {
    pub project_id: i64,
    pub name: String,
    pub description: String,
    pub owner: String,
    pub tags: Vec<String>,
    pub partitions: i64,
    pub retention_hours: i64,
    pub data_format: String,
    pub primary_cluster_id: i64,
    pub backup_cluster_id: Option<i64>,
    pub active_side: String,
    pub topic: String,
}

/// A queue with what the search index needs beyond its view.
#[derive(Debug, Clone)]
pub struct IndexDoc {
    pub queue: QueueView,
    /// The kind of the active cluster.
    pub cluster_kind: String,
    /// The latest schema version, when the queue has one.
    pub schema: Option<LatestSchema>,
}

/// A queue's latest schema, as the data map indexes it.
#[derive(Debug, Clone)]
pub struct LatestSchema {
    pub format: String,
    pub definition: String,
    pub imports: Vec<crate::domain::SchemaImport>,
}

/// A new application, its project resolved.
#[derive(Debug, Clone)]
pub struct ApplicationRow {
    pub project_id: i64,
    pub name: String,
    pub owner: String,
    pub description: String,
}

/// A new access request, names resolved.
#[derive(Debug, Clone)]
pub struct AccessRequestRow {
    pub application_id: i64,
    pub queue_id: i64,
    pub permission: String,
    pub reason: String,
    pub duration_days: Option<i64>,
    pub requester: String,
    pub needs_admin: bool,
}

/// A decision moving a request from one status to another, recorded as an event; a final
/// approval also creates the grant.
#[derive(Debug, Clone)]
pub struct RequestTransition {
    pub from: RequestStatus,
    pub to: RequestStatus,
    pub actor: String,
    pub event: &'static str,
    pub comment: String,
    /// `Some(duration_days)` creates a grant lasting that many days from the decision
    /// (`None` inside: permanent).
    pub grant: Option<Option<i64>>,
}

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub requester: Option<String>,
    pub statuses: Vec<RequestStatus>,
    pub application_id: Option<i64>,
}

/// A new project with its people resolved to user ids.
#[derive(Debug, Clone)]
pub struct ProjectRow {
    pub name: String,
    pub description: String,
    pub owner_ids: Vec<i64>,
    pub member_ids: Vec<i64>,
}

/// Everything Watershed keeps, behind one interface with a SQLite and a PostgreSQL implementation.
#[async_trait]
pub trait Store:
    collector::CollectorStore
    + failover::FailoverStore
    + kafka::KafkaStore
    + lineage::LineageStore
    + trust::TrustStore
    + Send
    + Sync
    + 'static
{
    /// Which backend this is, for logs and tests.
    fn backend(&self) -> &'static str;

    /// Applies this backend's migrations.
    async fn migrate(&self) -> StoreResult<()>;

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

    // projects
    async fn create_project(&self, row: &ProjectRow, audit: &AuditEvent) -> StoreResult<i64>;
    async fn list_projects(&self) -> StoreResult<Vec<ProjectView>>;
    async fn project(&self, name: &str) -> StoreResult<Option<ProjectView>>;
    /// `owner`, `member` or none.
    async fn project_role(&self, project_id: i64, user_id: i64) -> StoreResult<Option<String>>;

    // clusters
    async fn create_cluster(&self, row: &ClusterRow, audit: &AuditEvent) -> StoreResult<i64>;
    async fn update_cluster(
        &self,
        id: i64,
        row: &ClusterRow,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn list_clusters(&self) -> StoreResult<Vec<ClusterView>>;
    async fn cluster(&self, name: &str) -> StoreResult<Option<ClusterRecord>>;

    // logical queues
    async fn create_queue(&self, row: &QueueRow, audit: &AuditEvent) -> StoreResult<i64>;
    /// Inserts many queues in one transaction with one audit entry (demo data, imports).
    async fn create_queues(&self, rows: &[QueueRow], audit: &AuditEvent) -> StoreResult<()>;
    async fn update_queue(&self, id: i64, row: &QueueRow, audit: &AuditEvent) -> StoreResult<()>;
    async fn queue(&self, project: &str, name: &str) -> StoreResult<Option<QueueView>>;
    async fn list_queues(&self, filter: &QueueFilter) -> StoreResult<Page<QueueView>>;

    // applications, access requests and grants
    async fn create_application(
        &self,
        row: &ApplicationRow,
        audit: &AuditEvent,
    ) -> StoreResult<i64>;
    async fn application(&self, project: &str, name: &str) -> StoreResult<Option<ApplicationView>>;
    async fn list_applications(&self, project: Option<&str>) -> StoreResult<Vec<ApplicationView>>;
    async fn create_app_token(
        &self,
        application_id: i64,
        prefix: &str,
        token_hash: &str,
        audit: &AuditEvent,
    ) -> StoreResult<i64>;
    /// Revokes one token of an application; false when there was no live token by that id.
    async fn revoke_app_token(
        &self,
        application_id: i64,
        token_id: i64,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    async fn app_tokens(&self, application_id: i64) -> StoreResult<Vec<AppTokenView>>;
    /// The application a live token belongs to.
    async fn app_by_token(&self, token_hash: &str) -> StoreResult<Option<ApplicationView>>;
    /// Conflict when an open request for the same application, queue and permission exists.
    async fn create_access_request(
        &self,
        row: &AccessRequestRow,
        audit: &AuditEvent,
        notice: NoticeFor<'_, i64>,
    ) -> StoreResult<i64>;
    async fn open_request(
        &self,
        application_id: i64,
        queue_id: i64,
        permission: &str,
    ) -> StoreResult<Option<i64>>;
    async fn access_request(&self, id: i64) -> StoreResult<Option<AccessRequestView>>;
    async fn list_requests(&self, filter: &RequestFilter) -> StoreResult<Vec<AccessRequestView>>;
    /// Applies a decision only if the request is still in `t.from` (one transaction, a
    /// conditional update): of two approvers deciding at once exactly one wins. Returns
    /// whether this one did.
    async fn transition_request(
        &self,
        id: i64,
        t: &RequestTransition,
        audit: &AuditEvent,
        notice: &Notice,
    ) -> StoreResult<bool>;
    async fn grants(&self, application_id: i64) -> StoreResult<Vec<GrantView>>;
    async fn grant(&self, id: i64) -> StoreResult<Option<GrantView>>;
    /// False when the grant was already revoked.
    async fn revoke_grant(
        &self,
        id: i64,
        actor: &str,
        audit: &AuditEvent,
        notice: &Notice,
    ) -> StoreResult<bool>;
    /// Marks live grants whose expiry has passed as expired (once each), with a timeline event,
    /// an audit entry and a notice. Returns them.
    async fn expire_grants(
        &self,
        now: i64,
        notice: NoticeFor<'_, GrantView>,
    ) -> StoreResult<Vec<GrantView>>;
    /// Marks live grants expiring before `until` as reminded (once each), with a timeline
    /// event, an audit entry and a notice. Returns them.
    async fn remind_grants(
        &self,
        now: i64,
        until: i64,
        notice: NoticeFor<'_, GrantView>,
    ) -> StoreResult<Vec<GrantView>>;
    /// What the applications of the user's projects may do with each of `queue_ids`: rows of
    /// (queue id, `consume` | `produce` | `both` | `requested`).
    async fn queue_access(
        &self,
        user_id: i64,
        queue_ids: &[i64],
        now: i64,
    ) -> StoreResult<Vec<(i64, String)>>;

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

    // schemas
    /// A queue's versions, oldest first.
    async fn schema_versions(&self, queue_id: i64) -> StoreResult<Vec<SchemaVersionView>>;
    async fn schema_by_id(&self, id: i64) -> StoreResult<Option<SchemaVersionView>>;
    /// The latest version of every queue that has a schema.
    async fn latest_schemas(&self) -> StoreResult<Vec<SchemaVersionView>>;
    /// Conflict when `row.version` was taken meanwhile.
    async fn add_schema_version(&self, row: &SchemaRow, audit: &AuditEvent) -> StoreResult<i64>;
    async fn compatibility(&self, queue_id: i64) -> StoreResult<Option<String>>;
    async fn set_compatibility(
        &self,
        queue_id: i64,
        mode: &str,
        audit: &AuditEvent,
    ) -> StoreResult<()>;

    // the search index's change feed
    /// The newest change sequence number (0 when there is none).
    async fn queue_change_seq(&self) -> StoreResult<i64>;
    /// Queue ids changed after `seq`, oldest first, with their sequence numbers.
    async fn queue_changes_since(&self, seq: i64, limit: i64) -> StoreResult<Vec<(i64, i64)>>;
    /// Queues to index, in id order after `after_id`.
    async fn index_docs(&self, after_id: i64, limit: i64) -> StoreResult<Vec<IndexDoc>>;
    /// Queues to index by id; ids that no longer exist are absent.
    async fn index_docs_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<IndexDoc>>;

    // audit
    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Page<AuditEntry>>;
}

/// Opens the database a URL names: `postgres://…` or `sqlite://…` (created when missing).
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    }
}

/// Clamps paging input to sane bounds.
pub(crate) fn paging(offset: Option<i64>, limit: Option<i64>) -> (i64, i64) {
    (
        offset.unwrap_or(0).max(0),
        limit.unwrap_or(50).clamp(1, 500),
    )
}

/// Escapes `%` and `_` and lowercases, for a `LIKE … ESCAPE '\'` substring search.
pub(crate) fn like_pattern(s: &str) -> String {
    let escaped = s
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
