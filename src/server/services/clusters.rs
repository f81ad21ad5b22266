//! Physical clusters, managed by platform operators (admins).

use super::{change_summary, require_admin, ServiceError, ServiceResult};
use crate::domain::{ClusterInput, ClusterSpec, ClusterView, FieldError, UserView};
use crate::server::crypto::SecretBox;
use crate::server::db::{AuditEvent, ClusterRow, Store, StoreError};

fn conflict(name: &str) -> impl Fn(StoreError) -> ServiceError + '_ {
    move |e| match e {
        StoreError::Conflict => ServiceError::Conflict(FieldError::new(
            "name",
            format!("a cluster named {name:?} already exists"),
        )),
        e => e.into(),
    }
}

/// Registers a cluster; its SASL password is sealed before it is stored.
pub async fn create(
    store: &dyn Store,
    secrets: &SecretBox,
    actor: &UserView,
    input: &ClusterInput,
) -> ServiceResult<ClusterView> {
    require_admin(actor, "register clusters")?;
    let spec = input.parse()?;
    let row = row_of(
        &spec,
        spec.sasl_password.as_deref().map(|p| secrets.seal(p)),
    );
    let audit = AuditEvent {
        actor: actor.username.clone(),
        action: "cluster.create",
        target_kind: "cluster",
        target: row.name.clone(),
        summary: summary_of(&row),
    };
    store
        .create_cluster(&row, &audit)
        .await
        .map_err(conflict(&row.name))?;
    get(store, &row.name).await
}

/// Edits a cluster; an empty password keeps the stored one.
pub async fn update(
    store: &dyn Store,
    secrets: &SecretBox,
    actor: &UserView,
    name: &str,
    input: &ClusterInput,
) -> ServiceResult<ClusterView> {
    require_admin(actor, "edit clusters")?;
    let spec = input.parse()?;
    let existing = store
        .cluster(name)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("cluster {name:?}")))?;
    let sealed = match &spec.sasl_password {
        Some(p) => Some(secrets.seal(p)),
        None => existing.sasl_password_enc.clone(),
    };
    let row = row_of(&spec, sealed);
    let before = ClusterRow {
        name: existing.view.name.clone(),
        kind: existing.view.kind.to_string(),
        bootstrap_servers: existing.view.bootstrap_servers.clone(),
        region: existing.view.region.clone(),
        cloud: existing.view.cloud.clone(),
        sasl_mechanism: existing.view.sasl_mechanism.to_string(),
        sasl_username: existing.view.sasl_username.clone(),
        sasl_password_enc: existing.sasl_password_enc.clone(),
    };
    let mut summary = change_summary(Some(&audit_fields(&before)), &audit_fields(&row));
    if spec.sasl_password.is_some() {
        summary.push_str("; sasl_password changed");
    }
    let audit = AuditEvent {
        actor: actor.username.clone(),
        action: "cluster.update",
        target_kind: "cluster",
        target: row.name.clone(),
        summary,
    };
    store
        .update_cluster(existing.view.id, &row, &audit)
        .await
        .map_err(conflict(&row.name))?;
    get(store, &row.name).await
}

/// The row to store for a validated cluster and its sealed password.
fn row_of(spec: &ClusterSpec, sasl_password_enc: Option<String>) -> ClusterRow {
    ClusterRow {
        name: spec.name.to_string(),
        kind: spec.kind.to_string(),
        bootstrap_servers: spec.bootstrap_servers.clone(),
        region: spec.region.clone(),
        cloud: spec.cloud.clone(),
        sasl_mechanism: spec.sasl_mechanism.to_string(),
        sasl_username: spec.sasl_username.clone(),
        sasl_password_enc,
    }
}

/// The audited fields of a cluster: never the password.
fn audit_fields(row: &ClusterRow) -> serde_json::Value {
    serde_json::json!({
        "name": row.name, "kind": row.kind, "bootstrap_servers": row.bootstrap_servers,
        "region": row.region, "cloud": row.cloud, "sasl_mechanism": row.sasl_mechanism,
        "sasl_username": row.sasl_username,
    })
}

fn summary_of(row: &ClusterRow) -> String {
    change_summary(None, &audit_fields(row))
}

/// Every cluster, without secrets.
pub async fn list(store: &dyn Store) -> ServiceResult<Vec<ClusterView>> {
    Ok(store.list_clusters().await?)
}

/// One cluster by name, without secrets.
pub async fn get(store: &dyn Store, name: &str) -> ServiceResult<ClusterView> {
    store
        .cluster(name)
        .await?
        .map(|c| c.view)
        .ok_or_else(|| ServiceError::NotFound(format!("cluster {name:?}")))
}
