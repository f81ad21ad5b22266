//! [`CatalogStore`] for one backend: compiled once per backend, inside the backend's module, where
//! `backend::Db` is its sqlx database and `backend::This` its store.

use super::backend::This;
use crate::server::db::StoreResult;

use crate::domain::{ClusterView, Page, ProjectView, QueueFilter, QueueView};
use crate::server::db::rows::{
    now_millis, ClusterDbRow, QueueDbRow, CLUSTER_SELECT, QUEUE_FILTER, QUEUE_SELECT,
};
use crate::server::db::{
    like_pattern, paging, AuditEvent, ClusterRecord, ClusterRow, ProjectRow, QueueRow, StoreError,
};

use crate::server::db::catalog::CatalogStore;

#[async_trait::async_trait]
impl CatalogStore for This {
    async fn create_project(&self, row: &ProjectRow, audit: &AuditEvent) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let id: (i64,) = sqlx::query_as(
            "INSERT INTO projects (name, description, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(&row.name)
        .bind(&row.description)
        .bind(now_millis())
        .fetch_one(&mut *tx)
        .await?;
        let people = row.owner_ids.iter().map(|u| (*u, "owner")).chain(
            row.member_ids
                .iter()
                .filter(|m| !row.owner_ids.contains(m))
                .map(|u| (*u, "member")),
        );
        for (user_id, role) in people {
            sqlx::query(
                "INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)",
            )
            .bind(id.0)
            .bind(user_id)
            .bind(role)
            .execute(&mut *tx)
            .await?;
        }
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(id.0)
    }

    async fn list_projects(&self) -> StoreResult<Vec<ProjectView>> {
        projects_named(self, None).await
    }

    async fn project(&self, name: &str) -> StoreResult<Option<ProjectView>> {
        // One project's row, people and queue count (an index range of its own queues), not
        // every project's: this is read on most requests that touch a queue.
        Ok(projects_named(self, Some(name)).await?.pop())
    }

    async fn project_role(&self, project_id: i64, user_id: i64) -> StoreResult<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT role FROM project_members WHERE project_id = $1 AND user_id = $2",
        )
        .bind(project_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.0))
    }

    async fn member_projects(&self, user_id: i64) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT p.name FROM projects p JOIN project_members m ON m.project_id = p.id \
             WHERE m.user_id = $1 ORDER BY p.name",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn create_cluster(&self, row: &ClusterRow, audit: &AuditEvent) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let now = now_millis();
        let id: (i64,) = sqlx::query_as(
            "INSERT INTO clusters (name, kind, bootstrap_servers, region, cloud, sasl_mechanism, \
             sasl_username, sasl_password_enc, created_at, updated_at, client_sasl_username, \
             client_sasl_password_enc, max_partitions, max_retention_hours, tls, tls_ca_pem, \
             tls_client_cert_pem, tls_client_key_enc) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             RETURNING id",
        )
        .bind(&row.name)
        .bind(&row.kind)
        .bind(row.bootstrap_servers.join(","))
        .bind(&row.region)
        .bind(&row.cloud)
        .bind(&row.sasl_mechanism)
        .bind(&row.sasl_username)
        .bind(&row.sasl_password_enc)
        .bind(now)
        .bind(&row.client_sasl_username)
        .bind(&row.client_sasl_password_enc)
        .bind(row.max_partitions)
        .bind(row.max_retention_hours)
        .bind(row.tls)
        .bind(&row.tls_ca_pem)
        .bind(&row.tls_client_cert_pem)
        .bind(&row.tls_client_key_enc)
        .fetch_one(&mut *tx)
        .await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(id.0)
    }

    async fn update_cluster(
        &self,
        id: i64,
        row: &ClusterRow,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE clusters SET name = $1, kind = $2, bootstrap_servers = $3, region = $4, \
             cloud = $5, sasl_mechanism = $6, sasl_username = $7, sasl_password_enc = $8, \
             updated_at = $9, client_sasl_username = $11, client_sasl_password_enc = $12, \
             max_partitions = $13, max_retention_hours = $14, tls = $15, tls_ca_pem = $16, \
             tls_client_cert_pem = $17, tls_client_key_enc = $18 WHERE id = $10",
        )
        .bind(&row.name)
        .bind(&row.kind)
        .bind(row.bootstrap_servers.join(","))
        .bind(&row.region)
        .bind(&row.cloud)
        .bind(&row.sasl_mechanism)
        .bind(&row.sasl_username)
        .bind(&row.sasl_password_enc)
        .bind(now_millis())
        .bind(id)
        .bind(&row.client_sasl_username)
        .bind(&row.client_sasl_password_enc)
        .bind(row.max_partitions)
        .bind(row.max_retention_hours)
        .bind(row.tls)
        .bind(&row.tls_ca_pem)
        .bind(&row.tls_client_cert_pem)
        .bind(&row.tls_client_key_enc)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "INSERT INTO queue_changes (queue_id, at) SELECT id, $1 FROM queues \
             WHERE primary_cluster_id = $2 OR backup_cluster_id = $2",
        )
        .bind(now_millis())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_clusters(&self) -> StoreResult<Vec<ClusterView>> {
        let rows: Vec<ClusterDbRow> = sqlx::query_as(&format!("{CLUSTER_SELECT} ORDER BY c.name"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(ClusterDbRow::view).collect()
    }

    async fn cluster(&self, name: &str) -> StoreResult<Option<ClusterRecord>> {
        let row: Option<ClusterDbRow> =
            sqlx::query_as(&format!("{CLUSTER_SELECT} WHERE c.name = $1"))
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(ClusterRecord {
                view: r.view()?,
                sasl_password_enc: r.sasl_password_enc,
                client_sasl_password_enc: r.client_sasl_password_enc,
                tls_client_key_enc: r.tls_client_key_enc,
            })
        })
        .transpose()
    }

    async fn create_queue(&self, row: &QueueRow, audit: &AuditEvent) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let id = Self::insert_queue(&mut tx, row, now_millis(), false)
            .await?
            .ok_or_else(|| {
                StoreError::Conflict(crate::server::db::Unique {
                    table: "queues".into(),
                    columns: vec!["project_id".into(), "name".into()],
                })
            })?;
        Self::record_change(&mut tx, id).await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn create_queues(&self, rows: &[QueueRow], audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let now = now_millis();
        for row in rows {
            if let Some(id) = Self::insert_queue(&mut tx, row, now, true).await? {
                Self::record_change(&mut tx, id).await?;
            }
        }
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_queue(&self, id: i64, row: &QueueRow, audit: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE queues SET project_id = $1, name = $2, description = $3, owner = $4, tags = $5, \
             partitions = $6, retention_hours = $7, data_format = $8, primary_cluster_id = $9, \
             backup_cluster_id = $10, active_side = $11, topic = $12, updated_at = $13 WHERE id = $14",
        )
        .bind(row.project_id)
        .bind(&row.name)
        .bind(&row.description)
        .bind(&row.owner)
        .bind(serde_json::to_string(&row.tags).unwrap_or_default())
        .bind(row.partitions)
        .bind(row.retention_hours)
        .bind(&row.data_format)
        .bind(row.primary_cluster_id)
        .bind(row.backup_cluster_id)
        .bind(&row.active_side)
        .bind(&row.topic)
        .bind(now_millis())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Self::record_change(&mut tx, id).await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn queue(&self, project: &str, name: &str) -> StoreResult<Option<QueueView>> {
        let row: Option<QueueDbRow> =
            sqlx::query_as(&format!("{QUEUE_SELECT} WHERE p.name = $1 AND q.name = $2"))
                .bind(project)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn list_queues(&self, filter: &QueueFilter) -> StoreResult<Page<QueueView>> {
        let (offset, limit) = paging(filter.offset, filter.limit);
        let q = filter
            .q
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(like_pattern);
        let project = filter.project.as_deref().filter(|s| !s.is_empty());
        let cluster = filter.cluster.as_deref().filter(|s| !s.is_empty());
        let total: (i64,) = sqlx::query_as(&format!(
            "SELECT COUNT(*) FROM queues q JOIN projects p ON p.id = q.project_id \
             JOIN clusters c1 ON c1.id = q.primary_cluster_id \
             LEFT JOIN clusters c2 ON c2.id = q.backup_cluster_id{QUEUE_FILTER}"
        ))
        .bind(project)
        .bind(cluster)
        .bind(q.as_deref())
        .fetch_one(&self.pool)
        .await?;
        let rows: Vec<QueueDbRow> = sqlx::query_as(&format!(
            "{QUEUE_SELECT}{QUEUE_FILTER} ORDER BY p.name, q.name LIMIT $4 OFFSET $5"
        ))
        .bind(project)
        .bind(cluster)
        .bind(q.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(Page {
            items: rows
                .into_iter()
                .map(TryInto::try_into)
                .collect::<StoreResult<_>>()?,
            total: total.0,
            offset,
            limit,
        })
    }
}

/// A project's row: id, name, description, created at, queue count, webhook, own access.
type ProjectRecord = (i64, String, String, i64, i64, Option<String>, i64);

/// Every project, or the one named, with its owners, members and queue count. Two statements
/// each way: `($1 IS NULL OR …)` would keep the planners from the name's unique index.
async fn projects_named(store: &This, name: Option<&str>) -> StoreResult<Vec<ProjectView>> {
    const ROW: &str = "SELECT p.id, p.name, p.description, p.created_at, \
         (SELECT COUNT(*) FROM queues q WHERE q.project_id = p.id), p.webhook_url, \
         p.own_apps_access FROM projects p";
    const PEOPLE: &str = "SELECT pm.project_id, u.username, pm.role FROM project_members pm \
         JOIN users u ON u.id = pm.user_id";
    let (rows, people): (Vec<ProjectRecord>, Vec<(i64, String, String)>) = match name {
        Some(name) => {
            let rows: Vec<ProjectRecord> = sqlx::query_as(&format!("{ROW} WHERE p.name = $1"))
                .bind(name)
                .fetch_all(&store.pool)
                .await?;
            let people = match rows.first() {
                Some(row) => {
                    sqlx::query_as(&format!(
                        "{PEOPLE} WHERE pm.project_id = $1 ORDER BY u.username"
                    ))
                    .bind(row.0)
                    .fetch_all(&store.pool)
                    .await?
                }
                None => Vec::new(),
            };
            (rows, people)
        }
        None => (
            sqlx::query_as(&format!("{ROW} ORDER BY p.name"))
                .fetch_all(&store.pool)
                .await?,
            sqlx::query_as(&format!("{PEOPLE} ORDER BY u.username"))
                .fetch_all(&store.pool)
                .await?,
        ),
    };
    Ok(rows
        .into_iter()
        .map(
            |(id, name, description, created_at, queue_count, webhook_url, own)| {
                let of = |role: &str| {
                    people
                        .iter()
                        .filter(|(p, _, r)| *p == id && r == role)
                        .map(|(_, u, _)| u.clone())
                        .collect()
                };
                ProjectView {
                    id,
                    name,
                    description,
                    owners: of("owner"),
                    members: of("member"),
                    queue_count,
                    created_at,
                    webhook_url,
                    own_apps_access: own != 0,
                }
            },
        )
        .collect())
}
