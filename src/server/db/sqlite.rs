//! The embedded default: SQLite in WAL mode.

use super::collector::{ClientRow, ReportRow, CLIENTS_ON_CONFLICT, ROWS_PER_STATEMENT};
use super::StoreResult;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::QueryBuilder;
use std::str::FromStr;
use std::time::Duration;

/// SQLite storage.
pub struct SqliteStore {
    pool: sqlx::SqlitePool,
    /// Audited mutations made through this store (see [`Store::mutation_epoch`]).
    epoch: std::sync::atomic::AtomicU64,
}

impl SqliteStore {
    /// Opens (creating when missing) the SQLite file a `sqlite://` URL names.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            epoch: Default::default(),
        })
    }
}

/// The collector's two row-per-report statements, as multi-row `VALUES` lists.
impl SqliteStore {
    async fn insert_reports(
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        rows: &[ReportRow],
    ) -> StoreResult<()> {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO sdk_reports (at, queue_id, application_id, client_id, seq, role, \
                 host, ip, consumer_group, messages, bytes, lag, offsets) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(r.at)
                    .push_bind(r.queue_id)
                    .push_bind(r.application_id)
                    .push_bind(&r.client_id)
                    .push_bind(r.seq)
                    .push_bind(r.role)
                    .push_bind(&r.host)
                    .push_bind(&r.ip)
                    .push_bind(&r.consumer_group)
                    .push_bind(r.messages)
                    .push_bind(r.bytes)
                    .push_bind(r.lag)
                    .push_bind(&r.offsets);
            });
            q.build().execute(&mut **tx).await?;
        }
        Ok(())
    }

    async fn upsert_clients(
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        rows: &[ClientRow],
    ) -> StoreResult<()> {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO sdk_clients (client_id, queue_id, role, application_id, host, ip, \
                 consumer_group, sdk_version, config_version, first_seen, last_seen) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(&r.client_id)
                    .push_bind(r.queue_id)
                    .push_bind(r.role)
                    .push_bind(r.application_id)
                    .push_bind(&r.host)
                    .push_bind(&r.ip)
                    .push_bind(&r.consumer_group)
                    .push_bind(&r.sdk_version)
                    .push_bind(&r.config_version)
                    .push_bind(r.at)
                    .push_bind(r.at);
            });
            q.push(CLIENTS_ON_CONFLICT);
            q.build().execute(&mut **tx).await?;
        }
        Ok(())
    }
}

/// The backend the plain-Rust storage modules below are compiled for.
mod backend {
    pub(super) type Db = sqlx::Sqlite;
    pub(super) type This = super::SqliteStore;
    pub(super) const KIND: crate::server::db::Backend = crate::server::db::Backend::Sqlite;
    pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
}

// The same plain-Rust modules are compiled once per backend, against this backend's `Db`.
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;
