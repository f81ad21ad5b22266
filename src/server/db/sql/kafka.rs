//! [`KafkaStore`] for one backend: compiled once per backend, inside the backend's module, where
//! `backend::Db` is its sqlx database and `backend::This` its store.

use super::backend::This;

use crate::domain::TopicProvision;
use crate::server::db::kafka::{
    BoundQueue, BrokerOffsetRow, GroupOffsetRow, GroupSample, KafkaStore, OffsetSample,
    ProvisionRow,
};
use crate::server::db::{now_millis, AuditEvent, StoreResult};

#[async_trait::async_trait]
impl KafkaStore for This {
    async fn record_provision(
        &self,
        row: &ProvisionRow,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO topic_provisions (queue_id, cluster_id, topic, status, message, at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (queue_id, cluster_id) DO UPDATE SET \
             topic = excluded.topic, status = excluded.status, message = excluded.message, at = excluded.at",
        )
        .bind(row.queue_id)
        .bind(row.cluster_id)
        .bind(&row.topic)
        .bind(row.status)
        .bind(&row.message)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        if let Some(audit) = audit {
            self.audit_in(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn provisions(&self, queue_id: i64) -> StoreResult<Vec<TopicProvision>> {
        let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT c.name, t.topic, t.status, t.message, t.at FROM topic_provisions t \
             JOIN clusters c ON c.id = t.cluster_id WHERE t.queue_id = $1 ORDER BY c.name",
        )
        .bind(queue_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(cluster, topic, status, message, at)| TopicProvision {
                cluster,
                topic,
                status,
                message,
                at,
            })
            .collect())
    }

    async fn failed_provisions(&self) -> StoreResult<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT DISTINCT queue_id FROM topic_provisions WHERE status = 'failed'",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn queues_on_cluster(&self, cluster_id: i64) -> StoreResult<Vec<BoundQueue>> {
        Ok(sqlx::query_as(
            "SELECT q.id AS queue_id, p.name || '/' || q.name AS key, q.topic, q.partitions, \
             q.retention_hours, \
             ((q.active_side = 'primary' AND q.primary_cluster_id = $1) OR \
              (q.active_side = 'backup' AND q.backup_cluster_id = $1)) AS active \
             FROM queues q JOIN projects p ON p.id = q.project_id \
             WHERE q.primary_cluster_id = $1 OR q.backup_cluster_id = $1 ORDER BY q.id",
        )
        .bind(cluster_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn write_broker_offsets(
        &self,
        offsets: &[BrokerOffsetRow],
        groups: &[GroupOffsetRow],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for o in offsets {
            sqlx::query(
                "INSERT INTO broker_offsets (queue_id, cluster_id, bucket, first_offset, end_offset) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (queue_id, cluster_id, bucket) \
                 DO UPDATE SET end_offset = excluded.end_offset",
            )
            .bind(o.queue_id)
            .bind(o.cluster_id)
            .bind(o.bucket)
            .bind(o.end_offset)
            .execute(&mut *tx)
            .await?;
        }
        for g in groups {
            sqlx::query(
                "INSERT INTO broker_group_offsets (queue_id, cluster_id, consumer_group, bucket, \
                 first_committed, committed, lag, lag_seconds) VALUES ($1, $2, $3, $4, $5, $5, $6, $7) \
                 ON CONFLICT (queue_id, cluster_id, consumer_group, bucket) \
                 DO UPDATE SET committed = excluded.committed, lag = excluded.lag, \
                 lag_seconds = excluded.lag_seconds",
            )
            .bind(g.queue_id)
            .bind(g.cluster_id)
            .bind(&g.consumer_group)
            .bind(g.bucket)
            .bind(g.committed)
            .bind(g.lag)
            .bind(g.lag_seconds)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn broker_offsets(
        &self,
        queue_id: i64,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<OffsetSample>> {
        Ok(sqlx::query_as(
            "SELECT bucket, cluster_id, first_offset, end_offset FROM broker_offsets \
             WHERE queue_id = $1 AND bucket >= $2 AND bucket < $3 ORDER BY cluster_id, bucket",
        )
        .bind(queue_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn broker_group_offsets(
        &self,
        queue_id: i64,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<GroupSample>> {
        Ok(sqlx::query_as(
            "SELECT bucket, consumer_group, cluster_id, first_committed, committed, lag, lag_seconds \
             FROM broker_group_offsets \
             WHERE queue_id = $1 AND bucket >= $2 AND bucket < $3 \
             ORDER BY consumer_group, cluster_id, bucket",
        )
        .bind(queue_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn prune_broker_offsets(&self, before: i64) -> StoreResult<u64> {
        let mut gone = 0;
        for sql in [
            "DELETE FROM broker_offsets WHERE bucket < $1",
            "DELETE FROM broker_group_offsets WHERE bucket < $1",
        ] {
            gone += sqlx::query(sql)
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(gone)
    }
}
