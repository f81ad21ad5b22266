//! Rows as the queries of several features read them, the shared `SELECT`s, and their
//! conversion to domain views. A stored value that is not what was written is
//! [`StoreError::Corrupt`], never a plausible default.

use super::{stored, stored_json, StoreError, StoreResult};
use crate::domain::{AuditEntry, ClusterView, QueueView};

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

impl TryFrom<QueueDbRow> for QueueView {
    type Error = StoreError;

    fn try_from(r: QueueDbRow) -> StoreResult<Self> {
        Ok(QueueView {
            id: r.id,
            project: r.project,
            name: r.name,
            description: r.description,
            owner: r.owner,
            tags: stored_json("queues.tags", &r.tags)?,
            partitions: r.partitions,
            retention_hours: r.retention_hours,
            data_format: stored("queues.data_format", &r.data_format)?,
            primary_cluster: r.primary_cluster,
            backup_cluster: r.backup_cluster,
            active_side: stored("queues.active_side", &r.active_side)?,
            topic: r.topic,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
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
    tls: bool,
    tls_ca_pem: String,
    tls_client_cert_pem: String,
    pub(super) tls_client_key_enc: Option<String>,
    queue_count: i64,
    created_at: i64,
}

impl ClusterDbRow {
    pub(super) fn view(&self) -> StoreResult<ClusterView> {
        Ok(ClusterView {
            id: self.id,
            name: self.name.clone(),
            kind: stored("clusters.kind", &self.kind)?,
            bootstrap_servers: self
                .bootstrap_servers
                .split(',')
                .map(str::to_string)
                .collect(),
            region: self.region.clone(),
            cloud: self.cloud.clone(),
            sasl_mechanism: stored("clusters.sasl_mechanism", &self.sasl_mechanism)?,
            sasl_username: self.sasl_username.clone(),
            sasl_password_set: self.sasl_password_enc.is_some(),
            client_sasl_username: self.client_sasl_username.clone(),
            client_sasl_password_set: self.client_sasl_password_enc.is_some(),
            max_partitions: self.max_partitions,
            max_retention_hours: self.max_retention_hours,
            tls: self.tls,
            tls_ca_pem: self.tls_ca_pem.clone(),
            tls_client_cert_pem: self.tls_client_cert_pem.clone(),
            tls_client_key_set: self.tls_client_key_enc.is_some(),
            queue_count: self.queue_count,
            created_at: self.created_at,
        })
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

impl TryFrom<IndexDbRow> for crate::server::db::IndexDoc {
    type Error = StoreError;

    fn try_from(r: IndexDbRow) -> StoreResult<Self> {
        let imports = match &r.schema_imports {
            Some(i) => stored_json("schema_versions.imports", i)?,
            None => Vec::new(),
        };
        Ok(crate::server::db::IndexDoc {
            queue: r.queue.try_into()?,
            cluster_kind: r.cluster_kind,
            schema: r
                .schema_format
                .zip(r.schema_definition)
                .map(|(format, definition)| crate::server::db::LatestSchema {
                    format,
                    definition,
                    imports,
                }),
        })
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

impl TryFrom<RequestDbRow> for crate::domain::AccessRequestView {
    type Error = StoreError;

    fn try_from(r: RequestDbRow) -> StoreResult<Self> {
        Ok(crate::domain::AccessRequestView {
            id: r.id,
            project: r.project,
            application: r.application,
            queue_project: r.queue_project,
            queue: r.queue,
            permission: stored("access_requests.permission", &r.permission)?,
            reason: r.reason,
            duration_days: r.duration_days,
            requester: r.requester,
            needs_admin: r.needs_admin != 0,
            status: stored("access_requests.status", &r.status)?,
            created_at: r.created_at,
            events: Vec::new(),
        })
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

impl TryFrom<GrantDbRow> for crate::domain::GrantView {
    type Error = StoreError;

    fn try_from(r: GrantDbRow) -> StoreResult<Self> {
        Ok(crate::domain::GrantView {
            id: r.id,
            project: r.project,
            application: r.application,
            queue_project: r.queue_project,
            queue: r.queue,
            permission: stored("grants.permission", &r.permission)?,
            request_id: r.request_id,
            created_at: r.created_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        })
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

impl TryFrom<SchemaDbRow> for crate::domain::SchemaVersionView {
    type Error = StoreError;

    fn try_from(r: SchemaDbRow) -> StoreResult<Self> {
        Ok(crate::domain::SchemaVersionView {
            id: r.id,
            project: r.project,
            queue: r.queue,
            version: r.version,
            format: stored("schema_versions.format", &r.format)?,
            definition: r.definition,
            author: r.author,
            comment: r.comment,
            created_at: r.created_at,
            references: stored_json("schema_versions.refs", &r.refs)?,
            imports: stored_json("schema_versions.imports", &r.imports)?,
        })
    }
}

pub(super) const QUEUE_FILTER: &str = " WHERE ($1 IS NULL OR p.name = $1) \
    AND ($2 IS NULL OR c1.name = $2 OR c2.name = $2) \
    AND ($3 IS NULL OR LOWER(p.name || ' ' || q.name || ' ' || q.description || ' ' || q.tags || ' ' || q.owner) LIKE $3 ESCAPE '\\')";

pub(super) const CLUSTER_SELECT: &str =
    "SELECT c.id, c.name, c.kind, c.bootstrap_servers, c.region, c.cloud, \
    c.sasl_mechanism, c.sasl_username, c.sasl_password_enc, c.client_sasl_username, \
    c.client_sasl_password_enc, c.max_partitions, c.max_retention_hours, c.created_at, \
    c.tls, c.tls_ca_pem, c.tls_client_cert_pem, c.tls_client_key_enc, \
    (SELECT COUNT(*) FROM queues q WHERE q.primary_cluster_id = c.id) \
    + (SELECT COUNT(*) FROM queues q WHERE q.backup_cluster_id = c.id \
       AND q.primary_cluster_id <> c.id) AS queue_count \
    FROM clusters c";

pub(super) const AUDIT_FILTER: &str =
    " WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR action = $2) \
    AND ($3 IS NULL OR target_kind = $3) AND ($4 IS NULL OR LOWER(target) LIKE $4 ESCAPE '\\')";
