//! Storage for the streaming metrics collector: raw SDK reports, per-minute and per-hour
//! traffic rollups, consumer lag, and every client instance's last sighting. One batch is
//! one transaction of multi-row statements, the same SQL on SQLite and PostgreSQL.

use super::StoreResult;
use crate::domain::ClientView;
use async_trait::async_trait;

/// At most this many rows per multi-row statement (well under both databases' bind limits).
pub(super) const ROWS_PER_STATEMENT: usize = 500;

/// How a client sighting updates the stored one (an empty version keeps what is known).
pub(super) const CLIENTS_ON_CONFLICT: &str = " ON CONFLICT (client_id, queue_id, role) DO UPDATE SET \
     application_id = excluded.application_id, host = excluded.host, ip = excluded.ip, \
     consumer_group = excluded.consumer_group, \
     sdk_version = CASE WHEN excluded.sdk_version = '' THEN sdk_clients.sdk_version ELSE excluded.sdk_version END, \
     config_version = CASE WHEN excluded.config_version = '' THEN sdk_clients.config_version ELSE excluded.config_version END, \
     last_seen = excluded.last_seen";

/// One report as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub at: i64,
    pub queue_id: i64,
    pub application_id: i64,
    pub client_id: String,
    pub seq: Option<i64>,
    pub role: &'static str,
    pub host: String,
    pub ip: String,
    pub consumer_group: Option<String>,
    pub messages: i64,
    pub bytes: i64,
    pub lag: Option<i64>,
    pub offsets: Option<String>,
}

/// Traffic summed over a bucket (a minute or an hour).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficRow {
    pub queue_id: i64,
    pub application_id: i64,
    pub role: &'static str,
    pub bucket: i64,
    pub messages: i64,
    pub bytes: i64,
    pub reports: i64,
}

/// A consumer instance's latest lag in a minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LagRow {
    pub queue_id: i64,
    pub consumer_group: String,
    pub client_id: String,
    pub bucket: i64,
    pub lag: i64,
}

/// A client instance heard from (config call or report): inserted or refreshed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRow {
    pub client_id: String,
    pub queue_id: i64,
    pub role: &'static str,
    pub application_id: i64,
    pub host: String,
    pub ip: String,
    pub consumer_group: Option<String>,
    pub sdk_version: String,
    /// Empty when unknown (a report does not carry it): the stored one is kept.
    pub config_version: String,
    pub at: i64,
}

/// A lineage edge seen in a batch: an application writing or reading a queue (per group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeRow {
    pub application_id: i64,
    pub queue_id: i64,
    pub role: &'static str,
    /// Empty for producers.
    pub consumer_group: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub messages: i64,
    pub bytes: i64,
}

/// A heartbeat's sighting of a client on one queue: last seen and the config it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTouch {
    pub client_id: String,
    pub queue_id: i64,
    pub role: &'static str,
    pub config_version: String,
    pub at: i64,
}

/// What the collector writes in one transaction, already aggregated so that no statement
/// touches a row twice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectedBatch {
    pub reports: Vec<ReportRow>,
    pub minutes: Vec<TrafficRow>,
    pub hours: Vec<TrafficRow>,
    pub lags: Vec<LagRow>,
    pub edges: Vec<EdgeRow>,
    pub clients: Vec<ClientRow>,
    pub touches: Vec<ClientTouch>,
}

impl CollectedBatch {
    pub fn is_empty(&self) -> bool {
        self.reports.is_empty() && self.clients.is_empty() && self.touches.is_empty()
    }
}

/// Rows older than these instants (ms) are pruned.
#[derive(Debug, Clone, Copy)]
pub struct PruneBefore {
    pub raw: i64,
    pub minutes: i64,
    pub hours: i64,
    pub clients: i64,
}

/// Traffic in one bucket of a chart: (bucket start, role, messages, bytes).
pub type TrafficPoint = (i64, String, i64, i64);

/// The collector's storage.
#[async_trait]
pub trait CollectorStore: Send + Sync {
    /// Writes one batch in one transaction.
    async fn write_collected(&self, batch: &CollectedBatch) -> StoreResult<()>;
    /// Deletes what is past its retention; returns how many rows went.
    async fn prune_collected(&self, before: PruneBefore) -> StoreResult<u64>;
    /// A queue's traffic per bucket of `bucket_ms` in `[from, to)`, from the hourly rollups
    /// when `hourly`, else the minute ones.
    async fn queue_traffic(
        &self,
        queue_id: i64,
        from: i64,
        to: i64,
        bucket_ms: i64,
        hourly: bool,
    ) -> StoreResult<Vec<TrafficPoint>>;
    /// Total lag per consumer group per bucket: (bucket start, group, lag).
    async fn queue_lag(
        &self,
        queue_id: i64,
        from: i64,
        to: i64,
        bucket_ms: i64,
    ) -> StoreResult<Vec<(i64, String, i64)>>;
    /// A queue's client instances, most recently seen first.
    async fn queue_clients(&self, queue_id: i64, limit: i64) -> StoreResult<Vec<ClientView>>;
    /// (role, messages, bytes) since `since` over the queues whose active side is on the cluster.
    async fn cluster_traffic(
        &self,
        cluster_id: i64,
        since: i64,
    ) -> StoreResult<Vec<(String, i64, i64)>>;
    /// The sequence numbers of a client's stored reports (tests and audits of loss).
    async fn report_seqs(&self, client_id: &str) -> StoreResult<Vec<i64>>;
    /// How many raw reports are stored.
    async fn count_reports(&self) -> StoreResult<i64>;
}

macro_rules! collector_store {
    ($store:ident, $db:ty) => {
        const _: () = {
            use $crate::domain::{ClientView, SdkRole};
            use $crate::server::db::collector::{
                CollectedBatch, CollectorStore, PruneBefore, TrafficPoint, TrafficRow,
                ROWS_PER_STATEMENT,
            };
            use $crate::server::db::StoreResult;
            use sqlx::QueryBuilder;

            async fn upsert_traffic(
                tx: &mut sqlx::Transaction<'_, $db>,
                table: &str,
                rows: &[TrafficRow],
            ) -> StoreResult<()> {
                for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                    let mut q = QueryBuilder::<$db>::new(format!(
                        "INSERT INTO {table} (queue_id, application_id, role, bucket, messages, bytes, reports) "
                    ));
                    q.push_values(chunk, |mut b, r| {
                        b.push_bind(r.queue_id)
                            .push_bind(r.application_id)
                            .push_bind(r.role)
                            .push_bind(r.bucket)
                            .push_bind(r.messages)
                            .push_bind(r.bytes)
                            .push_bind(r.reports);
                    });
                    q.push(format!(
                        " ON CONFLICT (queue_id, application_id, role, bucket) DO UPDATE SET \
                         messages = {table}.messages + excluded.messages, \
                         bytes = {table}.bytes + excluded.bytes, \
                         reports = {table}.reports + excluded.reports"
                    ));
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            #[async_trait::async_trait]
            impl CollectorStore for $store {
                async fn write_collected(&self, batch: &CollectedBatch) -> StoreResult<()> {
                    let mut tx = self.pool.begin().await?;
                    Self::insert_reports(&mut tx, &batch.reports).await?;
                    for chunk in batch.lags.chunks(ROWS_PER_STATEMENT) {
                        let mut q = QueryBuilder::<$db>::new(
                            "INSERT INTO lag_minutes (queue_id, consumer_group, client_id, bucket, lag) ",
                        );
                        q.push_values(chunk, |mut b, r| {
                            b.push_bind(r.queue_id)
                                .push_bind(&r.consumer_group)
                                .push_bind(&r.client_id)
                                .push_bind(r.bucket)
                                .push_bind(r.lag);
                        });
                        q.push(
                            " ON CONFLICT (queue_id, consumer_group, client_id, bucket) \
                             DO UPDATE SET lag = excluded.lag",
                        );
                        q.build().execute(&mut *tx).await?;
                    }
                    for chunk in batch.edges.chunks(ROWS_PER_STATEMENT) {
                        let mut q = QueryBuilder::<$db>::new(
                            "INSERT INTO lineage_edges (application_id, queue_id, role, consumer_group, \
                             first_seen, last_seen, messages, bytes) ",
                        );
                        q.push_values(chunk, |mut b, e| {
                            b.push_bind(e.application_id)
                                .push_bind(e.queue_id)
                                .push_bind(e.role)
                                .push_bind(&e.consumer_group)
                                .push_bind(e.first_seen)
                                .push_bind(e.last_seen)
                                .push_bind(e.messages)
                                .push_bind(e.bytes);
                        });
                        q.push(
                            " ON CONFLICT (application_id, queue_id, role, consumer_group) DO UPDATE SET \
                             first_seen = CASE WHEN excluded.first_seen < lineage_edges.first_seen \
                               THEN excluded.first_seen ELSE lineage_edges.first_seen END, \
                             last_seen = CASE WHEN excluded.last_seen > lineage_edges.last_seen \
                               THEN excluded.last_seen ELSE lineage_edges.last_seen END, \
                             messages = lineage_edges.messages + excluded.messages, \
                             bytes = lineage_edges.bytes + excluded.bytes",
                        );
                        q.build().execute(&mut *tx).await?;
                    }
                    Self::upsert_clients(&mut tx, &batch.clients).await?;
                    for t in &batch.touches {
                        sqlx::query(
                            "UPDATE sdk_clients SET last_seen = $1, config_version = $2 \
                             WHERE client_id = $3 AND queue_id = $4 AND role = $5",
                        )
                        .bind(t.at)
                        .bind(&t.config_version)
                        .bind(&t.client_id)
                        .bind(t.queue_id)
                        .bind(t.role)
                        .execute(&mut *tx)
                        .await?;
                    }
                    // Rows every batch shares (per-minute and per-hour traffic) last, so that
                    // concurrent writers wait for each other as briefly as possible.
                    upsert_traffic(&mut tx, "traffic_minutes", &batch.minutes).await?;
                    upsert_traffic(&mut tx, "traffic_hours", &batch.hours).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn prune_collected(&self, before: PruneBefore) -> StoreResult<u64> {
                    let mut gone = 0;
                    // Raw rows go in chunks so no one statement holds the database for long.
                    loop {
                        let n = sqlx::query(
                            "DELETE FROM sdk_reports WHERE id IN \
                             (SELECT id FROM sdk_reports WHERE at < $1 ORDER BY id LIMIT 5000)",
                        )
                        .bind(before.raw)
                        .execute(&self.pool)
                        .await?
                        .rows_affected();
                        gone += n;
                        if n < 5000 {
                            break;
                        }
                    }
                    for (sql, cutoff) in [
                        ("DELETE FROM traffic_minutes WHERE bucket < $1", before.minutes),
                        ("DELETE FROM lag_minutes WHERE bucket < $1", before.minutes),
                        ("DELETE FROM traffic_hours WHERE bucket < $1", before.hours),
                        ("DELETE FROM sdk_clients WHERE last_seen < $1", before.clients),
                    ] {
                        gone += sqlx::query(sql)
                            .bind(cutoff)
                            .execute(&self.pool)
                            .await?
                            .rows_affected();
                    }
                    Ok(gone)
                }

                async fn queue_traffic(
                    &self,
                    queue_id: i64,
                    from: i64,
                    to: i64,
                    bucket_ms: i64,
                    hourly: bool,
                ) -> StoreResult<Vec<TrafficPoint>> {
                    let table = if hourly { "traffic_hours" } else { "traffic_minutes" };
                    Ok(sqlx::query_as(&format!(
                        "SELECT (bucket / $4) * $4 AS b, role, CAST(SUM(messages) AS BIGINT), \
                         CAST(SUM(bytes) AS BIGINT) FROM {table} \
                         WHERE queue_id = $1 AND bucket >= $2 AND bucket < $3 \
                         GROUP BY 1, 2 ORDER BY 1"
                    ))
                    .bind(queue_id)
                    .bind(from)
                    .bind(to)
                    .bind(bucket_ms)
                    .fetch_all(&self.pool)
                    .await?)
                }

                async fn queue_lag(
                    &self,
                    queue_id: i64,
                    from: i64,
                    to: i64,
                    bucket_ms: i64,
                ) -> StoreResult<Vec<(i64, String, i64)>> {
                    Ok(sqlx::query_as(
                        "SELECT b, consumer_group, CAST(SUM(l) AS BIGINT) FROM ( \
                         SELECT (bucket / $4) * $4 AS b, consumer_group, client_id, MAX(lag) AS l \
                         FROM lag_minutes WHERE queue_id = $1 AND bucket >= $2 AND bucket < $3 \
                         GROUP BY 1, 2, 3) per_client \
                         GROUP BY b, consumer_group ORDER BY b",
                    )
                    .bind(queue_id)
                    .bind(from)
                    .bind(to)
                    .bind(bucket_ms)
                    .fetch_all(&self.pool)
                    .await?)
                }

                async fn queue_clients(&self, queue_id: i64, limit: i64) -> StoreResult<Vec<ClientView>> {
                    type Row = (String, Option<String>, String, String, String, Option<String>, String, String, i64, i64);
                    let rows: Vec<Row> = sqlx::query_as(
                        "SELECT c.client_id, p.name || '/' || a.name, c.role, c.host, c.ip, c.consumer_group, \
                         c.sdk_version, c.config_version, c.first_seen, c.last_seen \
                         FROM sdk_clients c LEFT JOIN applications a ON a.id = c.application_id \
                         LEFT JOIN projects p ON p.id = a.project_id \
                         WHERE c.queue_id = $1 ORDER BY c.last_seen DESC, c.client_id LIMIT $2",
                    )
                    .bind(queue_id)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows
                        .into_iter()
                        .map(|r| ClientView {
                            client_id: r.0,
                            app: r.1.unwrap_or_else(|| "(deleted)".into()),
                            role: r.2.parse().unwrap_or(SdkRole::Producer),
                            host: r.3,
                            ip: r.4,
                            consumer_group: r.5,
                            sdk_version: r.6,
                            config_version: r.7,
                            first_seen: r.8,
                            last_seen: r.9,
                        })
                        .collect())
                }

                async fn cluster_traffic(
                    &self,
                    cluster_id: i64,
                    since: i64,
                ) -> StoreResult<Vec<(String, i64, i64)>> {
                    Ok(sqlx::query_as(
                        "SELECT t.role, CAST(SUM(t.messages) AS BIGINT), CAST(SUM(t.bytes) AS BIGINT) \
                         FROM traffic_minutes t JOIN queues q ON q.id = t.queue_id \
                         WHERE t.bucket >= $2 AND (CASE WHEN q.active_side = 'backup' AND q.backup_cluster_id IS NOT NULL \
                         THEN q.backup_cluster_id ELSE q.primary_cluster_id END) = $1 \
                         GROUP BY t.role",
                    )
                    .bind(cluster_id)
                    .bind(since)
                    .fetch_all(&self.pool)
                    .await?)
                }

                async fn report_seqs(&self, client_id: &str) -> StoreResult<Vec<i64>> {
                    let rows: Vec<(Option<i64>,)> = sqlx::query_as(
                        "SELECT seq FROM sdk_reports WHERE client_id = $1 ORDER BY seq",
                    )
                    .bind(client_id)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows.into_iter().filter_map(|r| r.0).collect())
                }

                async fn count_reports(&self) -> StoreResult<i64> {
                    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sdk_reports")
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(n)
                }
            }
        };
    };
}

pub(crate) use collector_store;
