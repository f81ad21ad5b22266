//! PostgreSQL, for several console processes on one database.

use super::StoreResult;
use sqlx::postgres::PgPoolOptions;

/// PostgreSQL storage.
pub struct PgStore {
    pool: sqlx::PgPool,
}

impl PgStore {
    /// Connects to the database a `postgres://` URL names.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await?;
        Ok(Self { pool })
    }
}

super::sql_store::sql_store!(PgStore, sqlx::Postgres, "postgres", "migrations/postgres");
super::collector::collector_store!(PgStore, sqlx::Postgres);
super::lineage::lineage_store!(PgStore, sqlx::Postgres);
super::failover::failover_store!(PgStore, sqlx::Postgres);
