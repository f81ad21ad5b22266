//! The embedded default: SQLite in WAL mode.

use super::StoreResult;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

/// SQLite storage.
pub struct SqliteStore {
    pool: sqlx::SqlitePool,
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
        Ok(Self { pool })
    }
}

super::sql_store::sql_store!(SqliteStore, sqlx::Sqlite, "sqlite", "migrations/sqlite");
super::collector::collector_store!(SqliteStore, sqlx::Sqlite);
super::lineage::lineage_store!(SqliteStore, sqlx::Sqlite);
super::failover::failover_store!(SqliteStore, sqlx::Sqlite);
