//! The query text both backends run, stamped out once per backend.
//!
//! A macro rather than a generic impl: sqlx's generic bounds over `Database` would be longer
//! than the queries. Placeholders are `$n`, which SQLite and PostgreSQL both accept.

use crate::domain::{
    ActiveSide, AuditEntry, ClusterKind, ClusterView, DataFormat, QueueView, SaslMechanism,
};

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[derive(sqlx::FromRow)]
pub(super) struct QueueDbRow {
    id: i64,
    project: String,
    name: String,
    description: String,
    owner: String,
    tags: String,
    partitions: i64,
    retention_hours: i64,
    data_format: String,
    primary_cluster: String,
    backup_cluster: Option<String>,
    active_side: String,
    topic: String,
    created_at: i64,
    updated_at: i64,
}

impl From<QueueDbRow> for QueueView {
    fn from(r: QueueDbRow) -> Self {
        QueueView {
            id: r.id,
            project: r.project,
            name: r.name,
            description: r.description,
            owner: r.owner,
            tags: serde_json::from_str(&r.tags).unwrap_or_default(),
            partitions: r.partitions,
            retention_hours: r.retention_hours,
            data_format: r.data_format.parse().unwrap_or(DataFormat::Bytes),
            primary_cluster: r.primary_cluster,
            backup_cluster: r.backup_cluster,
            active_side: r.active_side.parse().unwrap_or(ActiveSide::Primary),
            topic: r.topic,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ClusterDbRow {
    id: i64,
    name: String,
    kind: String,
    bootstrap_servers: String,
    region: String,
    cloud: String,
    sasl_mechanism: String,
    sasl_username: String,
    pub(super) sasl_password_enc: Option<String>,
    client_sasl_username: String,
    pub(super) client_sasl_password_enc: Option<String>,
    max_partitions: Option<i64>,
    max_retention_hours: Option<i64>,
    queue_count: i64,
    created_at: i64,
}

impl ClusterDbRow {
    pub(super) fn view(&self) -> ClusterView {
        ClusterView {
            id: self.id,
            name: self.name.clone(),
            kind: self.kind.parse().unwrap_or(ClusterKind::Kafka),
            bootstrap_servers: self
                .bootstrap_servers
                .split(',')
                .map(str::to_string)
                .collect(),
            region: self.region.clone(),
            cloud: self.cloud.clone(),
            sasl_mechanism: self.sasl_mechanism.parse().unwrap_or(SaslMechanism::None),
            sasl_username: self.sasl_username.clone(),
            sasl_password_set: self.sasl_password_enc.is_some(),
            client_sasl_username: self.client_sasl_username.clone(),
            client_sasl_password_set: self.client_sasl_password_enc.is_some(),
            max_partitions: self.max_partitions,
            max_retention_hours: self.max_retention_hours,
            queue_count: self.queue_count,
            created_at: self.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct AuditDbRow {
    id: i64,
    at: i64,
    actor: String,
    action: String,
    target_kind: String,
    target: String,
    summary: String,
}

impl From<AuditDbRow> for AuditEntry {
    fn from(r: AuditDbRow) -> Self {
        AuditEntry {
            id: r.id,
            at: r.at,
            actor: r.actor,
            action: r.action,
            target_kind: r.target_kind,
            target: r.target,
            summary: r.summary,
        }
    }
}

pub(super) const QUEUE_SELECT: &str = "SELECT q.id, p.name AS project, q.name, q.description, q.owner, q.tags, \
    q.partitions, q.retention_hours, q.data_format, c1.name AS primary_cluster, c2.name AS backup_cluster, \
    q.active_side, q.topic, q.created_at, q.updated_at \
    FROM queues q JOIN projects p ON p.id = q.project_id \
    JOIN clusters c1 ON c1.id = q.primary_cluster_id \
    LEFT JOIN clusters c2 ON c2.id = q.backup_cluster_id";

/// The index document query: a queue with the kind of its active cluster and its latest schema.
pub(super) const INDEX_SELECT: &str = "SELECT q.id, p.name AS project, q.name, q.description, q.owner, q.tags, \
    q.partitions, q.retention_hours, q.data_format, c1.name AS primary_cluster, c2.name AS backup_cluster, \
    q.active_side, q.topic, q.created_at, q.updated_at, \
    CASE WHEN q.active_side = 'backup' AND c2.id IS NOT NULL THEN c2.kind ELSE c1.kind END AS cluster_kind, \
    sv.format AS schema_format, sv.definition AS schema_definition, sv.imports AS schema_imports \
    FROM queues q JOIN projects p ON p.id = q.project_id \
    JOIN clusters c1 ON c1.id = q.primary_cluster_id \
    LEFT JOIN clusters c2 ON c2.id = q.backup_cluster_id \
    LEFT JOIN schema_versions sv ON sv.queue_id = q.id \
    AND sv.version = (SELECT MAX(l.version) FROM schema_versions l WHERE l.queue_id = q.id)";

#[derive(sqlx::FromRow)]
pub(super) struct IndexDbRow {
    #[sqlx(flatten)]
    queue: QueueDbRow,
    cluster_kind: String,
    schema_format: Option<String>,
    schema_definition: Option<String>,
    schema_imports: Option<String>,
}

impl From<IndexDbRow> for crate::server::db::IndexDoc {
    fn from(r: IndexDbRow) -> Self {
        crate::server::db::IndexDoc {
            queue: r.queue.into(),
            cluster_kind: r.cluster_kind,
            schema: r
                .schema_format
                .zip(r.schema_definition)
                .map(|(format, definition)| crate::server::db::LatestSchema {
                    format,
                    definition,
                    imports: r
                        .schema_imports
                        .and_then(|i| serde_json::from_str(&i).ok())
                        .unwrap_or_default(),
                }),
        }
    }
}

pub(super) const APP_SELECT: &str =
    "SELECT a.id, p.name AS project, a.name, a.owner, a.description, a.created_at \
    FROM applications a JOIN projects p ON p.id = a.project_id";

#[derive(sqlx::FromRow)]
pub(super) struct AppDbRow {
    id: i64,
    project: String,
    name: String,
    owner: String,
    description: String,
    created_at: i64,
}

impl From<AppDbRow> for crate::domain::ApplicationView {
    fn from(r: AppDbRow) -> Self {
        crate::domain::ApplicationView {
            id: r.id,
            project: r.project,
            name: r.name,
            owner: r.owner,
            description: r.description,
            created_at: r.created_at,
        }
    }
}

pub(super) const REQUEST_SELECT: &str = "SELECT r.id, pa.name AS project, a.name AS application, \
    pq.name AS queue_project, q.name AS queue, r.permission, r.reason, r.duration_days, r.requester, \
    r.needs_admin, r.status, r.created_at \
    FROM access_requests r JOIN applications a ON a.id = r.application_id \
    JOIN projects pa ON pa.id = a.project_id JOIN queues q ON q.id = r.queue_id \
    JOIN projects pq ON pq.id = q.project_id";

#[derive(sqlx::FromRow)]
pub(super) struct RequestDbRow {
    id: i64,
    project: String,
    application: String,
    queue_project: String,
    queue: String,
    permission: String,
    reason: String,
    duration_days: Option<i64>,
    requester: String,
    needs_admin: i64,
    status: String,
    created_at: i64,
}

impl From<RequestDbRow> for crate::domain::AccessRequestView {
    fn from(r: RequestDbRow) -> Self {
        crate::domain::AccessRequestView {
            id: r.id,
            project: r.project,
            application: r.application,
            queue_project: r.queue_project,
            queue: r.queue,
            permission: r
                .permission
                .parse()
                .unwrap_or(crate::domain::Permission::Consume),
            reason: r.reason,
            duration_days: r.duration_days,
            requester: r.requester,
            needs_admin: r.needs_admin != 0,
            status: r
                .status
                .parse()
                .unwrap_or(crate::domain::RequestStatus::Cancelled),
            created_at: r.created_at,
            events: Vec::new(),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct EventDbRow {
    at: i64,
    actor: String,
    kind: String,
    comment: String,
}

impl From<EventDbRow> for crate::domain::RequestEvent {
    fn from(r: EventDbRow) -> Self {
        crate::domain::RequestEvent {
            at: r.at,
            actor: r.actor,
            kind: r.kind,
            comment: r.comment,
        }
    }
}

pub(super) const GRANT_SELECT: &str = "SELECT g.id, pa.name AS project, a.name AS application, \
    pq.name AS queue_project, q.name AS queue, g.permission, g.request_id, g.created_at, g.expires_at, g.revoked_at \
    FROM grants g JOIN applications a ON a.id = g.application_id \
    JOIN projects pa ON pa.id = a.project_id JOIN queues q ON q.id = g.queue_id \
    JOIN projects pq ON pq.id = q.project_id";

#[derive(sqlx::FromRow)]
pub(super) struct GrantDbRow {
    id: i64,
    project: String,
    application: String,
    queue_project: String,
    queue: String,
    permission: String,
    request_id: i64,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<GrantDbRow> for crate::domain::GrantView {
    fn from(r: GrantDbRow) -> Self {
        crate::domain::GrantView {
            id: r.id,
            project: r.project,
            application: r.application,
            queue_project: r.queue_project,
            queue: r.queue,
            permission: r
                .permission
                .parse()
                .unwrap_or(crate::domain::Permission::Consume),
            request_id: r.request_id,
            created_at: r.created_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        }
    }
}

pub(super) const SCHEMA_SELECT: &str = "SELECT s.id, p.name AS project, q.name AS queue, s.version, s.format, \
    s.definition, s.author, s.comment, s.created_at, s.refs, s.imports \
    FROM schema_versions s JOIN queues q ON q.id = s.queue_id JOIN projects p ON p.id = q.project_id";

#[derive(sqlx::FromRow)]
pub(super) struct SchemaDbRow {
    id: i64,
    project: String,
    queue: String,
    version: i64,
    format: String,
    definition: String,
    author: String,
    comment: String,
    created_at: i64,
    refs: String,
    imports: String,
}

impl From<SchemaDbRow> for crate::domain::SchemaVersionView {
    fn from(r: SchemaDbRow) -> Self {
        crate::domain::SchemaVersionView {
            id: r.id,
            project: r.project,
            queue: r.queue,
            version: r.version,
            format: r
                .format
                .parse()
                .unwrap_or(crate::domain::SchemaFormat::Avro),
            definition: r.definition,
            author: r.author,
            comment: r.comment,
            created_at: r.created_at,
            // A list that does not parse leaves the imports empty, so the definition fails to
            // compile and the schema service reports the stored version as corrupt.
            references: serde_json::from_str(&r.refs).unwrap_or_default(),
            imports: serde_json::from_str(&r.imports).unwrap_or_default(),
        }
    }
}

pub(super) const QUEUE_FILTER: &str = " WHERE ($1 IS NULL OR p.name = $1) \
    AND ($2 IS NULL OR c1.name = $2 OR c2.name = $2) \
    AND ($3 IS NULL OR LOWER(p.name || ' ' || q.name || ' ' || q.description || ' ' || q.tags || ' ' || q.owner) LIKE $3 ESCAPE '\\')";

pub(super) const CLUSTER_SELECT: &str = "SELECT c.id, c.name, c.kind, c.bootstrap_servers, c.region, c.cloud, \
    c.sasl_mechanism, c.sasl_username, c.sasl_password_enc, c.client_sasl_username, \
    c.client_sasl_password_enc, c.max_partitions, c.max_retention_hours, c.created_at, \
    (SELECT COUNT(*) FROM queues q WHERE q.primary_cluster_id = c.id OR q.backup_cluster_id = c.id) AS queue_count \
    FROM clusters c";

pub(super) const AUDIT_FILTER: &str =
    " WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR action = $2) \
    AND ($3 IS NULL OR target_kind = $3) AND ($4 IS NULL OR LOWER(target) LIKE $4 ESCAPE '\\')";

macro_rules! sql_store {
    ($store:ident, $db:ty, $name:literal, $migrations:literal) => {
        use $crate::domain::{
            AccessRequestView, AppTokenView, ApplicationView, AuditEntry, AuditFilter, ClusterView,
            DeliveryStatus, GrantView, NotificationView, Page, ProjectView, QueueFilter, QueueView,
            Role, SchemaVersionView, UserView, WebhookDeliveryView,
        };
        use $crate::server::db::sql_store::{
            now_millis, AppDbRow, AuditDbRow, ClusterDbRow, EventDbRow, GrantDbRow, IndexDbRow,
            QueueDbRow, RequestDbRow, SchemaDbRow, APP_SELECT, AUDIT_FILTER, CLUSTER_SELECT,
            GRANT_SELECT, INDEX_SELECT, QUEUE_FILTER, QUEUE_SELECT, REQUEST_SELECT, SCHEMA_SELECT,
        };
        use $crate::server::db::{
            like_pattern, paging, AccessRequestRow, ApplicationRow, Audience, AuditEvent,
            ClusterRecord, ClusterRow, DeliveryOutcome, IndexDoc, Notice, NoticeFor, ProjectRow,
            QueueRow, RequestFilter, RequestTransition, SchemaRow, Store, StoreError, UserRecord,
            WebhookJob,
        };

        impl $store {
            async fn audit_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                ev: &AuditEvent,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO audit_log (at, actor, action, target_kind, target, summary) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(now_millis())
                .bind(&ev.actor)
                .bind(ev.action)
                .bind(ev.target_kind)
                .bind(&ev.target)
                .bind(&ev.summary)
                .execute(&mut **tx)
                .await?;
                // Counted before the commit: a cache that refills in between is corrected by
                // its own periodic check of the change feed.
                $crate::server::db::bump_mutation_epoch();
                Ok(())
            }

            async fn event_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                request_id: i64,
                at: i64,
                actor: &str,
                kind: &str,
                comment: &str,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO request_events (request_id, at, actor, kind, comment) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(request_id)
                .bind(at)
                .bind(actor)
                .bind(kind)
                .bind(comment)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// Writes a notice's notifications and webhook deliveries.
            async fn notice_in(
                tx: &mut sqlx::Transaction<'_, $db>,
                n: &Notice,
                now: i64,
            ) -> StoreResult<()> {
                let mut to = std::collections::BTreeSet::new();
                for a in &n.audience {
                    let names: Vec<(String,)> = match a {
                        Audience::User(u) => vec![(u.clone(),)],
                        Audience::ProjectOwners(p) => sqlx::query_as(
                            "SELECT u.username FROM project_members m JOIN users u ON u.id = m.user_id \
                             JOIN projects p ON p.id = m.project_id WHERE p.name = $1 AND m.role = 'owner'",
                        )
                        .bind(p)
                        .fetch_all(&mut **tx)
                        .await?,
                        Audience::Role(r) => sqlx::query_as("SELECT username FROM users WHERE role = $1")
                            .bind(r.to_string())
                            .fetch_all(&mut **tx)
                            .await?,
                        Audience::RequestParties(id) => {
                            let row: Option<(String, String)> = sqlx::query_as(
                                "SELECT r.requester, a.owner FROM access_requests r \
                                 JOIN applications a ON a.id = r.application_id WHERE r.id = $1",
                            )
                            .bind(id)
                            .fetch_optional(&mut **tx)
                            .await?;
                            row.map(|(r, o)| vec![(r,), (o,)]).unwrap_or_default()
                        }
                    };
                    to.extend(names.into_iter().map(|n| n.0));
                }
                if let Some(except) = &n.except {
                    to.remove(except);
                }
                for user in to {
                    sqlx::query(
                        "INSERT INTO notifications (username, at, event, message, link) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(&user)
                    .bind(now)
                    .bind(n.event)
                    .bind(&n.message)
                    .bind(&n.link)
                    .execute(&mut **tx)
                    .await?;
                }
                let projects: std::collections::BTreeSet<&String> = n.webhook_projects.iter().collect();
                let payload = n.payload.to_string();
                for p in projects {
                    sqlx::query(
                        "INSERT INTO webhook_deliveries (project_id, event, payload, created_at, attempts, \
                         next_attempt_at, last_error) \
                         SELECT id, $2, $3, $4, 0, $4, '' FROM projects WHERE name = $1 AND webhook_url IS NOT NULL",
                    )
                    .bind(p)
                    .bind(n.event)
                    .bind(&payload)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }

            /// Stamps `column` on each due grant still unstamped, adds a system event to its
            /// request's timeline, an audit entry and a notice. Returns the grants it stamped.
            #[allow(clippy::too_many_arguments)]
            async fn mark_grants(
                tx: &mut sqlx::Transaction<'_, $db>,
                due: Vec<GrantView>,
                column: &str,
                now: i64,
                kind: &str,
                action: &'static str,
                comment: impl Fn(&GrantView) -> String,
                notice: NoticeFor<'_, GrantView>,
            ) -> StoreResult<Vec<GrantView>> {
                let mut marked = Vec::with_capacity(due.len());
                for g in due {
                    let done = sqlx::query(&format!(
                        "UPDATE grants SET {column} = $1 WHERE id = $2 AND {column} IS NULL"
                    ))
                    .bind(now)
                    .bind(g.id)
                    .execute(&mut **tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        continue;
                    }
                    Self::event_in(tx, g.request_id, now, "system", kind, &comment(&g)).await?;
                    let ev = AuditEvent {
                        actor: "system".into(),
                        action,
                        target_kind: "grant",
                        target: format!("{}/{} → {}/{}", g.project, g.application, g.queue_project, g.queue),
                        summary: g.permission.to_string(),
                    };
                    Self::audit_in(tx, &ev).await?;
                    Self::notice_in(tx, &notice(&g), now).await?;
                    marked.push(g);
                }
                Ok(marked)
            }

            async fn record_change(
                tx: &mut sqlx::Transaction<'_, $db>,
                queue_id: i64,
            ) -> StoreResult<()> {
                sqlx::query("INSERT INTO queue_changes (queue_id, at) VALUES ($1, $2)")
                    .bind(queue_id)
                    .bind(now_millis())
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            async fn insert_queue(
                tx: &mut sqlx::Transaction<'_, $db>,
                row: &QueueRow,
                now: i64,
                skip_existing: bool,
            ) -> StoreResult<Option<i64>> {
                // Bulk loads skip names that exist; single creates report the conflict.
                let on_conflict = if skip_existing { " ON CONFLICT (project_id, name) DO NOTHING" } else { "" };
                let id: Option<(i64,)> = sqlx::query_as(&format!(
                    "INSERT INTO queues (project_id, name, description, owner, tags, partitions, \
                     retention_hours, data_format, primary_cluster_id, backup_cluster_id, active_side, \
                     topic, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13){on_conflict} RETURNING id",
                ))
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
                .bind(now)
                .fetch_optional(&mut **tx)
                .await?;
                Ok(id.map(|r| r.0))
            }
        }

        #[async_trait::async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                $name
            }

            async fn migrate(&self) -> StoreResult<()> {
                sqlx::migrate!($migrations).run(&self.pool).await?;
                Ok(())
            }

            async fn count_users(&self) -> StoreResult<i64> {
                let n: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n.0)
            }

            async fn create_user(
                &self,
                username: &str,
                password_hash: &str,
                role: Role,
                audit: &AuditEvent,
            ) -> StoreResult<i64> {
                let mut tx = self.pool.begin().await?;
                let id: (i64,) = sqlx::query_as(
                    "INSERT INTO users (username, password_hash, role, created_at) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(username)
                .bind(password_hash)
                .bind(role.as_str())
                .bind(now_millis())
                .fetch_one(&mut *tx)
                .await?;
                Self::audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(id.0)
            }

            async fn user_by_name(&self, username: &str) -> StoreResult<Option<UserRecord>> {
                Ok(sqlx::query_as(
                    "SELECT id, username, password_hash, role, disabled_at FROM users WHERE username = $1",
                )
                .bind(username)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn users_by_names(&self, usernames: &[String]) -> StoreResult<Vec<UserView>> {
                let mut out = Vec::with_capacity(usernames.len());
                for name in usernames {
                    if let Some(u) = self.user_by_name(name).await? {
                        out.push(u.view()?);
                    }
                }
                Ok(out)
            }

            async fn list_users(&self) -> StoreResult<Vec<UserView>> {
                let rows: Vec<UserRecord> = sqlx::query_as(
                    "SELECT id, username, password_hash, role, disabled_at FROM users ORDER BY username",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(UserRecord::view).collect()
            }

            async fn set_password(
                &self,
                user_id: i64,
                password_hash: &str,
                audit: &AuditEvent,
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                    .bind(password_hash)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                // A new password ends every existing session and personal token.
                sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                )
                .bind(now_millis())
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
                Self::audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn set_role(&self, user_id: i64, role: Role, audit: &AuditEvent) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
                    .bind(role.as_str())
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Self::audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_session(
                &self,
                token_hash: &str,
                user_id: i64,
                now: i64,
                expires_at: i64,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(token_hash)
                .bind(user_id)
                .bind(now)
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
                // Sessions are short rows; expired ones are dropped as new ones arrive.
                sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn session_user(&self, token_hash: &str, now: i64) -> StoreResult<Option<UserView>> {
                let row: Option<UserRecord> = sqlx::query_as(
                    "SELECT u.id, u.username, u.password_hash, u.role, u.disabled_at FROM sessions s \
                     JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2 \
                     AND u.disabled_at IS NULL",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|r| r.view()).transpose()
            }

            async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn create_api_token(
                &self,
                user_id: i64,
                name: &str,
                prefix: &str,
                token_hash: &str,
                audit: &AuditEvent,
            ) -> StoreResult<i64> {
                let mut tx = self.pool.begin().await?;
                let id: (i64,) = sqlx::query_as(
                    "INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(user_id)
                .bind(name)
                .bind(prefix)
                .bind(token_hash)
                .bind(now_millis())
                .fetch_one(&mut *tx)
                .await?;
                Self::audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(id.0)
            }

            async fn api_token_user(&self, token_hash: &str) -> StoreResult<Option<UserView>> {
                let row: Option<UserRecord> = sqlx::query_as(
                    "SELECT u.id, u.username, u.password_hash, u.role, u.disabled_at FROM api_tokens t \
                     JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL \
                     AND u.disabled_at IS NULL",
                )
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|r| r.view()).transpose()
            }

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
                let people = row
                    .owner_ids
                    .iter()
                    .map(|u| (*u, "owner"))
                    .chain(
                        row.member_ids
                            .iter()
                            .filter(|m| !row.owner_ids.contains(m))
                            .map(|u| (*u, "member")),
                    );
                for (user_id, role) in people {
                    sqlx::query("INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)")
                        .bind(id.0)
                        .bind(user_id)
                        .bind(role)
                        .execute(&mut *tx)
                        .await?;
                }
                Self::audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(id.0)
            }

            async fn list_projects(&self) -> StoreResult<Vec<ProjectView>> {
                let rows: Vec<(i64, String, String, i64, i64, Option<String>)> = sqlx::query_as(
                    "SELECT p.id, p.name, p.description, p.created_at, \
                     (SELECT COUNT(*) FROM queues q WHERE q.project_id = p.id), p.webhook_url \
                     FROM projects p ORDER BY p.name",
                )
                .fetch_all(&self.pool)
                .await?;
                let people: Vec<(i64, String, String)> = sqlx::query_as(
                    "SELECT pm.project_id, u.username, pm.role FROM project_members pm \
                     JOIN users u ON u.id = pm.user_id ORDER BY u.username",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, name, description, created_at, queue_count, webhook_url)| {
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
                        }
                    })
                    .collect())
            }

            async fn project(&self, name: &str) -> StoreResult<Option<ProjectView>> {
                Ok(self.list_projects().await?.into_iter().find(|p| p.name == name))
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

            async fn create_cluster(&self, row: &ClusterRow, audit: &AuditEvent) -> StoreResult<i64> {
                let mut tx = self.pool.begin().await?;
                let now = now_millis();
                let id: (i64,) = sqlx::query_as(
                    "INSERT INTO clusters (name, kind, bootstrap_servers, region, cloud, sasl_mechanism, \
                     sasl_username, sasl_password_enc, created_at, updated_at, client_sasl_username, \
                     client_sasl_password_enc, max_partitions, max_retention_hours) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13) RETURNING id",
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
                .fetch_one(&mut *tx)
                .await?;
                Self::audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(id.0)
            }

            async fn update_cluster(&self, id: i64, row: &ClusterRow, audit: &AuditEvent) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "UPDATE clusters SET name = $1, kind = $2, bootstrap_servers = $3, region = $4, \
                     cloud = $5, sasl_mechanism = $6, sasl_username = $7, sasl_password_enc = $8, \
                     updated_at = $9, client_sasl_username = $11, client_sasl_password_enc = $12, \
                     max_partitions = $13, max_retention_hours = $14 WHERE id = $10",
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
                Self::audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn list_clusters(&self) -> StoreResult<Vec<ClusterView>> {
                let rows: Vec<ClusterDbRow> =
                    sqlx::query_as(&format!("{CLUSTER_SELECT} ORDER BY c.name"))
                        .fetch_all(&self.pool)
                        .await?;
                Ok(rows.iter().map(ClusterDbRow::view).collect())
            }

            async fn cluster(&self, name: &str) -> StoreResult<Option<ClusterRecord>> {
                let row: Option<ClusterDbRow> =
                    sqlx::query_as(&format!("{CLUSTER_SELECT} WHERE c.name = $1"))
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.map(|r| ClusterRecord {
                    view: r.view(),
                    sasl_password_enc: r.sasl_password_enc,
                    client_sasl_password_enc: r.client_sasl_password_enc,
                }))
            }

            async fn create_queue(&self, row: &QueueRow, audit: &AuditEvent) -> StoreResult<i64> {
                let mut tx = self.pool.begin().await?;
                let id = Self::insert_queue(&mut tx, row, now_millis(), false)
                    .await?
                    .ok_or(StoreError::Conflict)?;
                Self::record_change(&mut tx, id).await?;
                Self::audit_in(&mut tx, audit).await?;
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
                Self::audit_in(&mut tx, audit).await?;
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
                Self::audit_in(&mut tx, audit).await?;
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
                Ok(row.map(Into::into))
            }

            async fn list_queues(&self, filter: &QueueFilter) -> StoreResult<Page<QueueView>> {
                let (offset, limit) = paging(filter.offset, filter.limit);
                let q = filter.q.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(like_pattern);
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
                    items: rows.into_iter().map(Into::into).collect(),
                    total: total.0,
                    offset,
                    limit,
                })
            }

            async fn create_application(&self, row: &ApplicationRow, audit: &AuditEvent) -> StoreResult<i64> {
                let mut tx = self.pool.begin().await?;
                let id: (i64,) = sqlx::query_as(
                    "INSERT INTO applications (project_id, name, owner, description, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(row.project_id)
                .bind(&row.name)
                .bind(&row.owner)
                .bind(&row.description)
                .bind(now_millis())
                .fetch_one(&mut *tx)
                .await?;
                Self::audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(id.0)
            }

            async fn application(&self, project: &str, name: &str) -> StoreResult<Option<ApplicationView>> {
                let row: Option<AppDbRow> =
                    sqlx::query_as(&format!("{APP_SELECT} WHERE p.name = $1 AND a.name = $2"))
                        .bind(project)
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.map(Into::into))
            }

            async fn list_applications(&self, project: Option<&str>) -> StoreResult<Vec<ApplicationView>> {
                let rows: Vec<AppDbRow> =
                    sqlx::query_as(&format!("{APP_SELECT} WHERE ($1 IS NULL OR p.name = $1) ORDER BY p.name, a.name"))
                        .bind(project)
                        .fetch_all(&self.pool)
                        .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn create_app_token(
                &self,
                application_id: i64,
                prefix: &str,
                token_hash: &str,
                audit: &AuditEvent,
            ) -> StoreResult<i64> {
                let mut tx = self.pool.begin().await?;
                let id: (i64,) = sqlx::query_as(
                    "INSERT INTO app_tokens (application_id, prefix, token_hash, created_at) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(application_id)
                .bind(prefix)
                .bind(token_hash)
                .bind(now_millis())
                .fetch_one(&mut *tx)
                .await?;
                Self::audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(id.0)
            }

            async fn revoke_app_token(&self, application_id: i64, token_id: i64, audit: &AuditEvent) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "UPDATE app_tokens SET revoked_at = $1 WHERE id = $2 AND application_id = $3 AND revoked_at IS NULL",
                )
                .bind(now_millis())
                .bind(token_id)
                .bind(application_id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                Self::audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn app_tokens(&self, application_id: i64) -> StoreResult<Vec<AppTokenView>> {
                let rows: Vec<(i64, String, i64, Option<i64>)> = sqlx::query_as(
                    "SELECT id, prefix, created_at, revoked_at FROM app_tokens WHERE application_id = $1 ORDER BY id",
                )
                .bind(application_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, prefix, created_at, revoked_at)| AppTokenView { id, prefix, created_at, revoked_at })
                    .collect())
            }

            async fn app_by_token(&self, token_hash: &str) -> StoreResult<Option<ApplicationView>> {
                let row: Option<AppDbRow> = sqlx::query_as(&format!(
                    "{APP_SELECT} JOIN app_tokens t ON t.application_id = a.id \
                     WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
                ))
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn create_access_request(
                &self,
                row: &AccessRequestRow,
                audit: &AuditEvent,
                notice: NoticeFor<'_, i64>,
            ) -> StoreResult<i64> {
                let mut tx = self.pool.begin().await?;
                let now = now_millis();
                let id: (i64,) = sqlx::query_as(
                    "INSERT INTO access_requests (application_id, queue_id, permission, reason, duration_days, \
                     requester, needs_admin, status, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8) RETURNING id",
                )
                .bind(row.application_id)
                .bind(row.queue_id)
                .bind(&row.permission)
                .bind(&row.reason)
                .bind(row.duration_days)
                .bind(&row.requester)
                .bind(row.needs_admin as i64)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                Self::event_in(&mut tx, id.0, now, &row.requester, "created", &row.reason).await?;
                Self::audit_in(&mut tx, audit).await?;
                Self::notice_in(&mut tx, &notice(&id.0), now).await?;
                tx.commit().await?;
                Ok(id.0)
            }

            async fn open_request(&self, application_id: i64, queue_id: i64, permission: &str) -> StoreResult<Option<i64>> {
                let row: Option<(i64,)> = sqlx::query_as(
                    "SELECT id FROM access_requests WHERE application_id = $1 AND queue_id = $2 \
                     AND permission = $3 AND status IN ('pending', 'owner_approved')",
                )
                .bind(application_id)
                .bind(queue_id)
                .bind(permission)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|r| r.0))
            }

            async fn access_request(&self, id: i64) -> StoreResult<Option<AccessRequestView>> {
                let row: Option<RequestDbRow> = sqlx::query_as(&format!("{REQUEST_SELECT} WHERE r.id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let events: Vec<EventDbRow> = sqlx::query_as(
                    "SELECT at, actor, kind, comment FROM request_events WHERE request_id = $1 ORDER BY id",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                let mut view: AccessRequestView = row.into();
                view.events = events.into_iter().map(Into::into).collect();
                Ok(Some(view))
            }

            async fn list_requests(&self, filter: &RequestFilter) -> StoreResult<Vec<AccessRequestView>> {
                // Statuses come from the enum, never from input; filtering them in SQL (and with
                // no row limit) keeps an inbox complete however many requests are older.
                let (where_status, limit) = if filter.statuses.is_empty() {
                    (String::new(), " LIMIT 500")
                } else {
                    let list: Vec<String> =
                        filter.statuses.iter().map(|s| format!("'{s}'")).collect();
                    (format!(" AND r.status IN ({})", list.join(", ")), "")
                };
                let rows: Vec<RequestDbRow> = sqlx::query_as(&format!(
                    "{REQUEST_SELECT} WHERE ($1 IS NULL OR r.requester = $1) AND ($2 IS NULL OR r.application_id = $2)\
                     {where_status} ORDER BY r.id DESC{limit}"
                ))
                .bind(filter.requester.as_deref())
                .bind(filter.application_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(AccessRequestView::from).collect())
            }

            async fn transition_request(
                &self,
                id: i64,
                t: &RequestTransition,
                audit: &AuditEvent,
                notice: &Notice,
            ) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                let now = now_millis();
                let done = sqlx::query(
                    "UPDATE access_requests SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
                )
                .bind(t.to.to_string())
                .bind(now)
                .bind(id)
                .bind(t.from.to_string())
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                Self::event_in(&mut tx, id, now, &t.actor, t.event, &t.comment).await?;
                if let Some(days) = t.grant {
                    let expires_at = days.map(|d| now + d * 86_400_000);
                    sqlx::query(
                        "INSERT INTO grants (application_id, queue_id, permission, request_id, created_at, expires_at) \
                         SELECT application_id, queue_id, permission, id, $1, $2 FROM access_requests WHERE id = $3",
                    )
                    .bind(now)
                    .bind(expires_at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    Self::event_in(&mut tx, id, now, &t.actor, "granted", "").await?;
                }
                Self::audit_in(&mut tx, audit).await?;
                Self::notice_in(&mut tx, notice, now).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn grants(&self, application_id: i64) -> StoreResult<Vec<GrantView>> {
                let rows: Vec<GrantDbRow> = sqlx::query_as(&format!("{GRANT_SELECT} WHERE g.application_id = $1 ORDER BY g.id"))
                    .bind(application_id)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn grant(&self, id: i64) -> StoreResult<Option<GrantView>> {
                let row: Option<GrantDbRow> = sqlx::query_as(&format!("{GRANT_SELECT} WHERE g.id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(Into::into))
            }

            async fn revoke_grant(
                &self,
                id: i64,
                actor: &str,
                audit: &AuditEvent,
                notice: &Notice,
            ) -> StoreResult<bool> {
                let mut tx = self.pool.begin().await?;
                let now = now_millis();
                let done = sqlx::query("UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO request_events (request_id, at, actor, kind, comment) \
                     SELECT request_id, $1, $2, 'revoked', '' FROM grants WHERE id = $3",
                )
                .bind(now)
                .bind(actor)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                Self::audit_in(&mut tx, audit).await?;
                Self::notice_in(&mut tx, notice, now).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn expire_grants(&self, now: i64, notice: NoticeFor<'_, GrantView>) -> StoreResult<Vec<GrantView>> {
                let mut tx = self.pool.begin().await?;
                let due: Vec<GrantDbRow> = sqlx::query_as(&format!(
                    "{GRANT_SELECT} WHERE g.expires_at <= $1 AND g.revoked_at IS NULL AND g.expired_at IS NULL"
                ))
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
                let due = due.into_iter().map(Into::into).collect();
                let marked =
                    Self::mark_grants(&mut tx, due, "expired_at", now, "expired", "grant.expire", |_| String::new(), notice)
                        .await?;
                tx.commit().await?;
                Ok(marked)
            }

            async fn remind_grants(&self, now: i64, until: i64, notice: NoticeFor<'_, GrantView>) -> StoreResult<Vec<GrantView>> {
                let mut tx = self.pool.begin().await?;
                let due: Vec<GrantDbRow> = sqlx::query_as(&format!(
                    "{GRANT_SELECT} WHERE g.expires_at > $1 AND g.expires_at <= $2 AND g.revoked_at IS NULL \
                     AND g.expired_at IS NULL AND g.reminded_at IS NULL"
                ))
                .bind(now)
                .bind(until)
                .fetch_all(&mut *tx)
                .await?;
                let due = due.into_iter().map(Into::into).collect();
                let marked = Self::mark_grants(&mut tx, due, "reminded_at", now, "reminded", "grant.remind", |g| {
                    format!("expires {}", crate::domain::format_millis(g.expires_at.unwrap_or(now)))
                }, notice)
                .await?;
                tx.commit().await?;
                Ok(marked)
            }

            async fn queue_access(&self, user_id: i64, queue_ids: &[i64], now: i64) -> StoreResult<Vec<(i64, String)>> {
                if queue_ids.is_empty() {
                    return Ok(Vec::new());
                }
                // Ids are integers from the index, so inlining them is safe and keeps one
                // statement for both backends.
                let ids = queue_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
                let rows: Vec<(i64, String)> = sqlx::query_as(&format!(
                    "SELECT g.queue_id, g.permission FROM grants g \
                     JOIN applications a ON a.id = g.application_id \
                     JOIN project_members m ON m.project_id = a.project_id AND m.user_id = $1 \
                     WHERE g.queue_id IN ({ids}) AND g.revoked_at IS NULL AND g.expired_at IS NULL \
                     AND (g.expires_at IS NULL OR g.expires_at > $2) \
                     UNION SELECT r.queue_id, 'requested' FROM access_requests r \
                     JOIN applications a ON a.id = r.application_id \
                     JOIN project_members m ON m.project_id = a.project_id AND m.user_id = $1 \
                     WHERE r.queue_id IN ({ids}) AND r.status IN ('pending', 'owner_approved')"
                ))
                .bind(user_id)
                .bind(now)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows)
            }

            async fn notify(&self, notice: &Notice, audit: &AuditEvent) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                Self::notice_in(&mut tx, notice, now_millis()).await?;
                Self::audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn notifications(&self, username: &str, limit: i64) -> StoreResult<Vec<NotificationView>> {
                let rows: Vec<(i64, i64, String, String, String, Option<i64>)> = sqlx::query_as(
                    "SELECT id, at, event, message, link, read_at FROM notifications \
                     WHERE username = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(username)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, at, event, message, link, read_at)| NotificationView {
                        id,
                        at,
                        event,
                        message,
                        link,
                        read: read_at.is_some(),
                    })
                    .collect())
            }

            async fn unread_notifications(&self, username: &str) -> StoreResult<i64> {
                let n: (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM notifications WHERE username = $1 AND read_at IS NULL",
                )
                .bind(username)
                .fetch_one(&self.pool)
                .await?;
                Ok(n.0)
            }

            async fn mark_notifications_read(&self, username: &str, now: i64, audit: &AuditEvent) -> StoreResult<u64> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query("UPDATE notifications SET read_at = $1 WHERE username = $2 AND read_at IS NULL")
                    .bind(now)
                    .bind(username)
                    .execute(&mut *tx)
                    .await?;
                Self::audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(done.rows_affected())
            }

            async fn set_project_webhook(
                &self,
                project_id: i64,
                url: Option<&str>,
                secret_enc: Option<&str>,
                audit: &AuditEvent,
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query(
                    "UPDATE projects SET webhook_url = $1, \
                     webhook_secret_enc = CASE WHEN $1 IS NULL THEN NULL ELSE COALESCE($2, webhook_secret_enc) END \
                     WHERE id = $3",
                )
                .bind(url)
                .bind(secret_enc)
                .bind(project_id)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Self::audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn project_has_webhook_secret(&self, project_id: i64) -> StoreResult<bool> {
                let row: Option<(Option<String>,)> =
                    sqlx::query_as("SELECT webhook_secret_enc FROM projects WHERE id = $1")
                        .bind(project_id)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.and_then(|r| r.0).is_some())
            }

            async fn claim_deliveries(&self, now: i64, lease_until: i64, limit: i64) -> StoreResult<Vec<WebhookJob>> {
                let mut tx = self.pool.begin().await?;
                // The outer condition is checked again on the row PostgreSQL locks, so of two
                // replicas claiming at once only one moves a given delivery.
                let ids: Vec<(i64,)> = sqlx::query_as(
                    "UPDATE webhook_deliveries SET next_attempt_at = $2 \
                     WHERE next_attempt_at <= $1 AND id IN (SELECT id FROM webhook_deliveries \
                     WHERE next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3) RETURNING id",
                )
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                let mut jobs = Vec::with_capacity(ids.len());
                for (id,) in ids {
                    let job: Option<WebhookJob> = sqlx::query_as(
                        "SELECT d.id, p.name AS project, COALESCE(p.webhook_url, '') AS url, \
                         COALESCE(p.webhook_secret_enc, '') AS secret_enc, d.event, d.payload, d.attempts \
                         FROM webhook_deliveries d JOIN projects p ON p.id = d.project_id WHERE d.id = $1",
                    )
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    jobs.extend(job);
                }
                tx.commit().await?;
                Ok(jobs)
            }

            async fn finish_delivery(&self, id: i64, o: &DeliveryOutcome) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $1, \
                     delivered_at = $2, last_status = $3, last_error = $4 WHERE id = $5",
                )
                .bind(o.next_attempt_at)
                .bind(o.delivered.then_some(o.at))
                .bind(o.status)
                .bind(&o.error)
                .bind(id)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn webhook_deliveries(&self, project_id: i64, limit: i64) -> StoreResult<Vec<WebhookDeliveryView>> {
                #[allow(clippy::type_complexity)]
                let rows: Vec<(i64, String, i64, i64, Option<i64>, Option<i64>, Option<i64>, String)> = sqlx::query_as(
                    "SELECT id, event, created_at, attempts, next_attempt_at, delivered_at, last_status, last_error \
                     FROM webhook_deliveries WHERE project_id = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(project_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, event, created_at, attempts, next_attempt_at, delivered_at, last_status, last_error)| {
                        let status = match (delivered_at, next_attempt_at) {
                            (Some(_), _) => DeliveryStatus::Delivered,
                            (None, Some(_)) => DeliveryStatus::Pending,
                            (None, None) => DeliveryStatus::Failed,
                        };
                        WebhookDeliveryView {
                            id,
                            event,
                            created_at,
                            attempts,
                            status,
                            next_attempt_at,
                            delivered_at,
                            last_status,
                            last_error,
                        }
                    })
                    .collect())
            }

            async fn schema_versions(&self, queue_id: i64) -> StoreResult<Vec<SchemaVersionView>> {
                let rows: Vec<SchemaDbRow> = sqlx::query_as(&format!(
                    "{SCHEMA_SELECT} WHERE s.queue_id = $1 ORDER BY s.version"
                ))
                .bind(queue_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn schema_by_id(&self, id: i64) -> StoreResult<Option<SchemaVersionView>> {
                let row: Option<SchemaDbRow> = sqlx::query_as(&format!("{SCHEMA_SELECT} WHERE s.id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(Into::into))
            }

            async fn latest_schemas(&self) -> StoreResult<Vec<SchemaVersionView>> {
                let rows: Vec<SchemaDbRow> = sqlx::query_as(&format!(
                    "{SCHEMA_SELECT} WHERE s.version = (SELECT MAX(version) FROM schema_versions l \
                     WHERE l.queue_id = s.queue_id) ORDER BY p.name, q.name"
                ))
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
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
                Self::audit_in(&mut tx, audit).await?;
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

            async fn set_compatibility(&self, queue_id: i64, mode: &str, audit: &AuditEvent) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO schema_settings (queue_id, compatibility) VALUES ($1, $2) \
                     ON CONFLICT (queue_id) DO UPDATE SET compatibility = $2",
                )
                .bind(queue_id)
                .bind(mode)
                .execute(&mut *tx)
                .await?;
                Self::audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

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
                let rows: Vec<IndexDbRow> =
                    sqlx::query_as(&format!("{INDEX_SELECT} WHERE q.id > $1 ORDER BY q.id LIMIT $2"))
                        .bind(after_id)
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?;
                Ok(rows.into_iter().map(Into::into).collect())
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
                    out.extend(query.fetch_all(&self.pool).await?.into_iter().map(Into::into));
                }
                Ok(out)
            }

            async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Page<AuditEntry>> {
                let (offset, limit) = paging(filter.offset, filter.limit);
                let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
                let target = nonempty(&filter.target).map(|t| like_pattern(&t));
                let total: (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM audit_log{AUDIT_FILTER}"))
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
    };
}

pub(crate) use sql_store;
