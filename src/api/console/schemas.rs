//! Console server functions for a queue's schema page.

#[cfg(feature = "ssr")]
use super::ssr::Call;
use super::AppError;
use crate::domain::{CatalogTable, Compatibility, FieldChange, SchemaVersionView};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::server::services::{projects, queues, schemas};

/// Everything the schema page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaOverview {
    pub project: String,
    pub queue: String,
    pub mode: Compatibility,
    pub versions: Vec<SchemaVersionView>,
    pub can_publish: bool,
    pub can_set_mode: bool,
    /// (from, to, changes) when two versions are compared.
    pub diff: Option<(i64, i64, Vec<FieldChange>)>,
    pub table: Option<CatalogTable>,
}

/// A queue's schema versions, mode, a diff between two versions (the last two by default)
/// and its Flink table.
#[server(prefix = "/console")]
pub async fn schema_page(
    project: String,
    queue: String,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<SchemaOverview, AppError> {
    let call = Call::new().await?;
    let actor = call.actor()?;
    let store = call.state.store.as_ref();
    let q = queues::get(store, &project, &queue).await?;
    let p = projects::get(store, &q.project).await?;
    let role = store
        .project_role(p.id, actor.id)
        .await
        .map_err(crate::server::services::ServiceError::from)?;
    let versions = schemas::versions(store, &project, &queue).await?;
    let n = versions.len() as i64;
    let (from, to) = (from.unwrap_or(n - 1), to.unwrap_or(n));
    let diff = if from >= 1 && to >= 1 && from != to && from.max(to) <= n {
        Some((
            from,
            to,
            schemas::diff(store, &project, &queue, from, to).await?,
        ))
    } else {
        None
    };
    Ok(SchemaOverview {
        mode: schemas::mode(store, &q).await?,
        can_publish: actor.role.can_write() && (actor.role.is_admin() || role.is_some()),
        can_set_mode: actor.role.can_write()
            && (actor.role.is_admin() || role.as_deref() == Some("owner")),
        table: schemas::table(store, &project, &queue).await?,
        versions,
        diff,
        project,
        queue,
    })
}

#[cfg(feature = "ssr")]
fn schema_path(project: &str, queue: &str) -> String {
    format!("/queues/{project}/{queue}/schema")
}

/// Publishes a version and shows the schema page; a refusal comes back naming each field.
#[server(prefix = "/console")]
pub async fn publish_schema(
    project: String,
    queue: String,
    format: String,
    definition: String,
    #[server(default)] comment: String,
) -> Result<SchemaVersionView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let input = crate::domain::SchemaInput {
            format,
            definition,
            comment,
        };
        Ok(schemas::publish(
            call.state.store.as_ref(),
            call.actor()?,
            &project,
            &queue,
            &input,
        )
        .await?)
    }
    .await;
    call.finish(result, |_| schema_path(&project, &queue))
}

/// Sets the queue's compatibility mode (owners).
#[server(prefix = "/console")]
pub async fn set_schema_mode(
    project: String,
    queue: String,
    compatibility: String,
) -> Result<Compatibility, AppError> {
    let call = Call::new().await?;
    let result = async {
        let store = call.state.store.as_ref();
        Ok(schemas::set_mode(store, call.actor()?, &project, &queue, &compatibility).await?)
    }
    .await;
    call.finish(result, |_| schema_path(&project, &queue))
}
