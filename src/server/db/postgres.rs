//! PostgreSQL, for several console processes on one database.

use super::collector::{ClientRow, ReportRow, CLIENTS_ON_CONFLICT};
use super::StoreResult;
use sqlx::postgres::PgPoolOptions;

/// PostgreSQL storage.
pub struct PgStore {
    pool: sqlx::PgPool,
    /// Audited mutations made through this store (see [`Store::mutation_epoch`]).
    epoch: std::sync::atomic::AtomicU64,
}

impl PgStore {
    /// Connects to the database a `postgres://` URL names.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await?;
        Ok(Self {
            pool,
            epoch: Default::default(),
        })
    }
}

/// The collector's two row-per-report statements, one array per column through `UNNEST`: one
/// short statement per batch instead of thousands of bound parameters to parse and plan.
impl PgStore {
    async fn insert_reports(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        rows: &[ReportRow],
    ) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let col = |f: fn(&ReportRow) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
        let text = |f: fn(&ReportRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
        sqlx::query(
            "INSERT INTO sdk_reports (at, queue_id, application_id, client_id, seq, role, host, ip, \
             consumer_group, messages, bytes, lag, offsets) \
             SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::text[], $5::int8[], \
             $6::text[], $7::text[], $8::text[], $9::text[], $10::int8[], $11::int8[], $12::int8[], \
             $13::text[])",
        )
        .bind(col(|r| r.at))
        .bind(col(|r| r.queue_id))
        .bind(col(|r| r.application_id))
        .bind(text(|r| &r.client_id))
        .bind(rows.iter().map(|r| r.seq).collect::<Vec<Option<i64>>>())
        .bind(text(|r| r.role))
        .bind(text(|r| &r.host))
        .bind(text(|r| &r.ip))
        .bind(rows.iter().map(|r| r.consumer_group.as_deref()).collect::<Vec<Option<&str>>>())
        .bind(col(|r| r.messages))
        .bind(col(|r| r.bytes))
        .bind(rows.iter().map(|r| r.lag).collect::<Vec<Option<i64>>>())
        .bind(rows.iter().map(|r| r.offsets.as_deref()).collect::<Vec<Option<&str>>>())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn upsert_clients(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        rows: &[ClientRow],
    ) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        // Sorted by key, so concurrent batches lock rows in one order.
        let mut rows: Vec<&ClientRow> = rows.iter().collect();
        rows.sort_by(|a, b| {
            (&a.client_id, a.queue_id, a.role).cmp(&(&b.client_id, b.queue_id, b.role))
        });
        let text = |f: fn(&ClientRow) -> &str| rows.iter().map(|r| f(r)).collect::<Vec<&str>>();
        let col = |f: fn(&ClientRow) -> i64| rows.iter().map(|r| f(r)).collect::<Vec<i64>>();
        sqlx::query(&format!(
            "INSERT INTO sdk_clients (client_id, queue_id, role, application_id, host, ip, \
             consumer_group, sdk_version, config_version, first_seen, last_seen) \
             SELECT c, q, r, a, h, i, g, s, v, t, t FROM UNNEST($1::text[], $2::int8[], $3::text[], \
             $4::int8[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int8[]) \
             AS u(c, q, r, a, h, i, g, s, v, t){CLIENTS_ON_CONFLICT}"
        ))
        .bind(text(|r| &r.client_id))
        .bind(col(|r| r.queue_id))
        .bind(text(|r| r.role))
        .bind(col(|r| r.application_id))
        .bind(text(|r| &r.host))
        .bind(text(|r| &r.ip))
        .bind(rows.iter().map(|r| r.consumer_group.as_deref()).collect::<Vec<Option<&str>>>())
        .bind(text(|r| &r.sdk_version))
        .bind(text(|r| &r.config_version))
        .bind(col(|r| r.at))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// The backend the plain-Rust storage modules below are compiled for.
mod backend {
    pub(super) type Db = sqlx::Postgres;
    pub(super) type This = super::PgStore;
    pub(super) const KIND: crate::server::db::Backend = crate::server::db::Backend::Postgres;
    pub(super) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");
}

// The same plain-Rust modules are compiled once per backend, against this backend's `Db`.
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;
