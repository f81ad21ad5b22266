//! [`CollectorStore`] for one backend: compiled once per backend, inside the backend's module, where
//! `backend::Db` is its sqlx database and `backend::This` its store.

use super::backend::{Db, This};

use crate::domain::ClientView;
use crate::server::db::collector::{
    CollectedBatch, CollectorStore, PruneBefore, TrafficPoint, TrafficRow, ROWS_PER_STATEMENT,
};
use crate::server::db::StoreResult;
use sqlx::QueryBuilder;

async fn upsert_traffic(
    tx: &mut sqlx::Transaction<'_, Db>,
    table: &str,
    rows: &[TrafficRow],
) -> StoreResult<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Db>::new(format!(
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
impl CollectorStore for This {
    async fn write_collected(&self, batch: &CollectedBatch) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        Self::insert_reports(&mut tx, &batch.reports).await?;
        for chunk in batch.lags.chunks(ROWS_PER_STATEMENT) {
            let mut q = QueryBuilder::<Db>::new(
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
            let mut q = QueryBuilder::<Db>::new(
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
            (
                "DELETE FROM traffic_minutes WHERE bucket < $1",
                before.minutes,
            ),
            ("DELETE FROM lag_minutes WHERE bucket < $1", before.minutes),
            ("DELETE FROM traffic_hours WHERE bucket < $1", before.hours),
            (
                "DELETE FROM sdk_clients WHERE last_seen < $1",
                before.clients,
            ),
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
        let table = if hourly {
            "traffic_hours"
        } else {
            "traffic_minutes"
        };
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
        type Row = (
            String,
            Option<String>,
            String,
            String,
            String,
            Option<String>,
            String,
            String,
            i64,
            i64,
        );
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
        rows.into_iter()
            .map(|r| {
                Ok(ClientView {
                    client_id: r.0,
                    app: r.1.unwrap_or_else(|| "(deleted)".into()),
                    role: crate::server::db::stored("sdk_clients.role", &r.2)?,
                    host: r.3,
                    ip: r.4,
                    consumer_group: r.5,
                    sdk_version: r.6,
                    config_version: r.7,
                    first_seen: r.8,
                    last_seen: r.9,
                })
            })
            .collect()
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
        let rows: Vec<(Option<i64>,)> =
            sqlx::query_as("SELECT seq FROM sdk_reports WHERE client_id = $1 ORDER BY seq")
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
