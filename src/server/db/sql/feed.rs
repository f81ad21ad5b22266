//! [`FeedStore`] for one backend: compiled once per backend, inside the backend's module, where
//! `backend::Db` is its sqlx database and `backend::This` its store.

use super::backend::This;
use crate::server::db::StoreResult;

use crate::domain::{AuditEntry, AuditFilter, Page};
use crate::server::db::rows::{AuditDbRow, IndexDbRow, AUDIT_FILTER, INDEX_SELECT};
use crate::server::db::{like_pattern, paging, IndexDoc};

use crate::server::db::feed::FeedStore;

#[async_trait::async_trait]
impl FeedStore for This {
    async fn queue_change_seq(&self) -> StoreResult<i64> {
        let row: (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM queue_changes")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.0.unwrap_or(0))
    }

    async fn queue_changes_since(&self, seq: i64, limit: i64) -> StoreResult<Vec<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT seq, queue_id FROM queue_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn index_docs(&self, after_id: i64, limit: i64) -> StoreResult<Vec<IndexDoc>> {
        let rows: Vec<IndexDbRow> = sqlx::query_as(&format!(
            "{INDEX_SELECT} WHERE q.id > $1 ORDER BY q.id LIMIT $2"
        ))
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn index_docs_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<IndexDoc>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("{INDEX_SELECT} WHERE q.id IN ({})", placeholders.join(", "));
            let mut query = sqlx::query_as::<_, IndexDbRow>(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.pool).await? {
                out.push(row.try_into()?);
            }
        }
        Ok(out)
    }

    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Page<AuditEntry>> {
        let (offset, limit) = paging(filter.offset, filter.limit);
        let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
        let target = nonempty(&filter.target).map(|t| like_pattern(&t));
        let total: (i64,) =
            sqlx::query_as(&format!("SELECT COUNT(*) FROM audit_log{AUDIT_FILTER}"))
                .bind(nonempty(&filter.actor))
                .bind(nonempty(&filter.action))
                .bind(nonempty(&filter.target_kind))
                .bind(target.clone())
                .fetch_one(&self.pool)
                .await?;
        let rows: Vec<AuditDbRow> = sqlx::query_as(&format!(
            "SELECT id, at, actor, action, target_kind, target, summary FROM audit_log{AUDIT_FILTER} \
             ORDER BY id DESC LIMIT $5 OFFSET $6"
        ))
        .bind(nonempty(&filter.actor))
        .bind(nonempty(&filter.action))
        .bind(nonempty(&filter.target_kind))
        .bind(target)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(Page {
            items: rows.into_iter().map(Into::into).collect(),
            total: total.0,
            offset,
            limit,
        })
    }
}
