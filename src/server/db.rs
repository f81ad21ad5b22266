//! The storage traits and their two implementations, SQLite and PostgreSQL.
//!
//! SQL lives only here. [`Store`] is the sum of one trait per feature (accounts, catalog,
//! access, notify, schemas, feed, collector, lineage, failover, kafka, trust), each declared in
//! `<feature>.rs` and written once as plain Rust in `sql/<feature>.rs`. Each backend module
//! (`sqlite.rs`, `postgres.rs`) compiles the `sql/` directory as its own child module, where
//! `backend::Db` is its sqlx database and `backend::This` its store type: one copy of the query
//! text (`$n` placeholders work in both), seen whole by rustfmt and rust-analyzer. Each backend
//! has its own migrations directory.

pub mod access;
pub mod accounts;
pub mod alerts;
pub mod catalog;
pub mod collector;
pub mod failover;
pub mod feed;
pub mod kafka;
pub mod lineage;
pub mod notify;
mod postgres;
mod rows;
pub mod schemas;
mod sqlite;
pub mod sso;
pub mod trust;

pub use postgres::PgStore;
pub use rows::now_millis;
pub use sqlite::SqliteStore;

use crate::domain::{
    AccessRequestView, AppTokenView, ApplicationView, AuditEntry, AuditFilter, ClusterView,
    GrantView, NotificationView, Page, ProjectView, QueueFilter, QueueView, RequestStatus, Role,
    SchemaVersionView, UserView, WebhookDeliveryView,
};
use async_trait::async_trait;
use std::sync::Arc;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::Display)]
#[strum(serialize_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Errors from storage; the text of a database error never reaches a user.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated: the thing already exists.
    #[error("{0} already exists")]
    Conflict(Unique),
    /// A conditional write found the row changed since it was read.
    #[error("changed meanwhile")]
    Stale,
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

/// The unique constraint a write ran into, named alike on both backends: its table and columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unique {
    pub table: String,
    pub columns: Vec<String>,
}

impl Unique {
    /// The column a person would name: the last of the key (`name` of `(project_id, name)`).
    pub fn field(&self) -> &str {
        self.columns.last().map_or("", String::as_str)
    }

    /// Whether this is the constraint on `table` over exactly `columns`.
    pub fn is(&self, table: &str, columns: &[&str]) -> bool {
        self.table == table
            && self
                .columns
                .iter()
                .map(String::as_str)
                .eq(columns.iter().copied())
    }

    /// From SQLite's `UNIQUE constraint failed: queues.project_id, queues.name` or PostgreSQL's
    /// detail `Key (project_id, name)=(1, orders) already exists.` with the error's table.
    fn from_database(d: &dyn sqlx::error::DatabaseError) -> Self {
        let message = d.message();
        if let Some(list) = message.strip_prefix("UNIQUE constraint failed: ") {
            let pairs: Vec<(&str, &str)> = list
                .split(", ")
                .filter_map(|c| c.trim().split_once('.'))
                .collect();
            return Unique {
                table: pairs.first().map_or("", |p| p.0).to_string(),
                columns: pairs.iter().map(|p| p.1.to_string()).collect(),
            };
        }
        let detail = d
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .and_then(|pg| pg.detail())
            .unwrap_or("");
        let columns = detail
            .strip_prefix("Key (")
            .and_then(|rest| rest.split_once(")="))
            .map(|(cols, _)| cols.split(", ").map(str::to_string).collect())
            .unwrap_or_default();
        Unique {
            table: d.table().unwrap_or("").to_string(),
            columns,
        }
    }
}

impl std::fmt::Display for Unique {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.table, self.columns.join(", "))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict(Unique::from_database(d.as_ref()))
            }
            sqlx::Error::RowNotFound => StoreError::NotFound,
            _ => StoreError::Database(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A value read back from the database as the type it was written as; anything else is
/// corruption, reported as such rather than shown as a plausible default.
pub(crate) fn stored<T: std::str::FromStr>(column: &str, raw: &str) -> StoreResult<T> {
    raw.parse()
        .map_err(|_| StoreError::Corrupt(format!("{column} = {raw:?}")))
}

/// A JSON column read back; unreadable JSON is corruption.
pub(crate) fn stored_json<T: serde::de::DeserializeOwned>(
    column: &str,
    raw: &str,
) -> StoreResult<T> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

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
    pub tls_client_key_enc: Option<String>,
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
    pub tls: bool,
    pub tls_ca_pem: String,
    pub tls_client_cert_pem: String,
    pub tls_client_key_enc: Option<String>,
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
    accounts::AccountStore
    + catalog::CatalogStore
    + access::AccessStore
    + notify::NotifyStore
    + schemas::SchemaStore
    + feed::FeedStore
    + collector::CollectorStore
    + failover::FailoverStore
    + kafka::KafkaStore
    + lineage::LineageStore
    + trust::TrustStore
    + sso::SsoStore
    + alerts::AlertStore
    + Send
    + Sync
    + 'static
{
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// Applies this backend's migrations.
    async fn migrate(&self) -> StoreResult<()>;

    /// The number of audited mutations this store has made so far. Caches of what the database
    /// says (the SDK's config and token caches) compare it on each use and drop what they hold
    /// when it moved.
    fn mutation_epoch(&self) -> u64;
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
