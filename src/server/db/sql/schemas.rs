//! [`SchemaStore`] for one backend: compiled once per backend, inside the backend's module, where
//! `backend::Db` is its sqlx database and `backend::This` its store.

use super::backend::This;
use crate::server::db::StoreResult;

use crate::domain::SchemaVersionView;
use crate::server::db::rows::{now_millis, SchemaDbRow, SCHEMA_SELECT};
use crate::server::db::{AuditEvent, SchemaRow};

use crate::server::db::schemas::SchemaStore;

#[async_trait::async_trait]
impl SchemaStore for This {
    async fn schema_versions(&self, queue_id: i64) -> StoreResult<Vec<SchemaVersionView>> {
        let rows: Vec<SchemaDbRow> = sqlx::query_as(&format!(
            "{SCHEMA_SELECT} WHERE s.queue_id = $1 ORDER BY s.version"
        ))
        .bind(queue_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn schema_by_id(&self, id: i64) -> StoreResult<Option<SchemaVersionView>> {
        let row: Option<SchemaDbRow> = sqlx::query_as(&format!("{SCHEMA_SELECT} WHERE s.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn latest_schemas(&self) -> StoreResult<Vec<SchemaVersionView>> {
        let rows: Vec<SchemaDbRow> = sqlx::query_as(&format!(
            "{SCHEMA_SELECT} WHERE s.version = (SELECT MAX(version) FROM schema_versions l \
             WHERE l.queue_id = s.queue_id) ORDER BY p.name, q.name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn add_schema_version(&self, row: &SchemaRow, audit: &AuditEvent) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let id: (i64,) = sqlx::query_as(
            "INSERT INTO schema_versions (queue_id, version, format, definition, fingerprint, author, \
             comment, created_at, refs, imports) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             RETURNING id",
        )
        .bind(row.queue_id)
        .bind(row.version)
        .bind(&row.format)
        .bind(&row.definition)
        .bind(&row.fingerprint)
        .bind(&row.author)
        .bind(&row.comment)
        .bind(now_millis())
        .bind(&row.references)
        .bind(&row.imports)
        .fetch_one(&mut *tx)
        .await?;
        self.audit_in(&mut tx, audit).await?;
        // The data map indexes schema fields.
        Self::record_change(&mut tx, row.queue_id).await?;
        tx.commit().await?;
        Ok(id.0)
    }

    async fn compatibility(&self, queue_id: i64) -> StoreResult<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT compatibility FROM schema_settings WHERE queue_id = $1")
                .bind(queue_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.0))
    }

    async fn set_compatibility(
        &self,
        queue_id: i64,
        mode: &str,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO schema_settings (queue_id, compatibility) VALUES ($1, $2) \
             ON CONFLICT (queue_id) DO UPDATE SET compatibility = $2",
        )
        .bind(queue_id)
        .bind(mode)
        .execute(&mut *tx)
        .await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn sensitive_fields(&self, queue_id: i64) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT path FROM sensitive_fields WHERE queue_id = $1 ORDER BY path")
                .bind(queue_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn set_sensitive_fields(
        &self,
        queue_id: i64,
        paths: &[String],
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM sensitive_fields WHERE queue_id = $1")
            .bind(queue_id)
            .execute(&mut *tx)
            .await?;
        for path in paths {
            sqlx::query("INSERT INTO sensitive_fields (queue_id, path) VALUES ($1, $2)")
                .bind(queue_id)
                .bind(path)
                .execute(&mut *tx)
                .await?;
        }
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}
