//! Console server functions for a queue's schema page.

#[cfg(feature = "ssr")]
use super::ssr::Call;
use super::AppError;
use crate::domain::{
    CatalogTable, Compatibility, FieldChange, SchemaCheck, SchemaFieldRow, SchemaVersionView,
    SideBySideRow,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::server::services::{queues, schemas};

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
    /// The two compared versions' definitions, line by line.
    pub side_by_side: Vec<SideBySideRow>,
    pub table: Option<CatalogTable>,
    /// The sample message checked against the latest version, and what does not fit.
    pub sample: Option<(String, Vec<String>)>,
    /// The latest version's fields, as the page shows them first.
    pub fields: Vec<SchemaFieldRow>,
    /// The format a first version starts in: the queue's data format where it has a schema
    /// language, else Avro.
    pub default_format: String,
    /// Fields the latest version marks sensitive itself, and those the owners marked.
    pub sensitive_in_schema: Vec<String>,
    pub sensitive_marked: Vec<String>,
}

/// A queue's schema versions, mode, a diff between two versions (the last two by default),
/// its Flink table and, when one is given, a sample message checked against the latest version.
#[server(prefix = "/console")]
pub async fn schema_page(
    project: String,
    queue: String,
    from: Option<i64>,
    to: Option<i64>,
    sample: Option<String>,
) -> Result<SchemaOverview, AppError> {
    let call = Call::new().await?;
    let cx = call.ctx()?;
    let store = cx.store();
    let q = queues::get(store, &project, &queue).await?;
    let (can_publish, can_set_mode) = schemas::permissions(&cx, &q).await?;
    let versions = schemas::versions(store, &project, &queue).await?;
    let n = versions.len() as i64;
    let (from, to) = (from.unwrap_or(n - 1), to.unwrap_or(n));
    let (diff, side_by_side) = if from >= 1 && to >= 1 && from != to && from.max(to) <= n {
        let (a, b) = (&versions[from as usize - 1], &versions[to as usize - 1]);
        (
            Some((
                from,
                to,
                schemas::diff(store, &project, &queue, from, to).await?,
            )),
            schemas::side_by_side(a, b)?,
        )
    } else {
        (None, Vec::new())
    };
    let sample = match sample.filter(|s| !s.trim().is_empty()) {
        Some(text) if n > 0 => {
            let errors = schemas::check_sample(store, &project, &queue, None, &text).await?;
            Some((text, errors))
        }
        _ => None,
    };
    let fields = match versions.last() {
        Some(v) => schemas::fields(v)?,
        None => Vec::new(),
    };
    let default_format = match q.data_format.as_ref() {
        f @ ("avro" | "json" | "protobuf") => f.to_string(),
        _ => "avro".to_string(),
    };
    let (sensitive_in_schema, sensitive_marked) = schemas::sensitive_fields(store, &q).await?;
    Ok(SchemaOverview {
        fields,
        default_format,
        sensitive_in_schema,
        sensitive_marked,
        mode: schemas::mode(store, &q).await?,
        can_publish,
        can_set_mode,
        table: schemas::table(store, &project, &queue).await?,
        versions,
        diff,
        side_by_side,
        sample,
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
        let store = call.state.store.as_ref();
        let input =
            schemas::console_draft(store, &project, &queue, format, definition, comment).await?;
        Ok(schemas::publish(&call.ctx()?, &project, &queue, &input).await?)
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
        let cx = call.ctx()?;
        Ok(schemas::set_mode(&cx, &project, &queue, &compatibility).await?)
    }
    .await;
    call.finish(result, |_| schema_path(&project, &queue))
}

/// What publishing a draft would do (parse error with its position, what breaks the mode, the
/// changes from the latest version); nothing is stored. The editor calls it as the user types.
#[server(prefix = "/console")]
pub async fn check_schema_draft(
    project: String,
    queue: String,
    format: String,
    definition: String,
) -> Result<SchemaCheck, AppError> {
    let call = Call::new().await?;
    call.actor()?;
    let store = call.state.store.as_ref();
    let input =
        schemas::console_draft(store, &project, &queue, format, definition, String::new()).await?;
    Ok(schemas::check_draft(store, &project, &queue, &input, None).await?)
}

/// A queue as a Flink SQL table, when it has a schema (for the queue page).
#[server(prefix = "/console")]
pub async fn queue_table(project: String, queue: String) -> Result<Option<CatalogTable>, AppError> {
    let call = Call::new().await?;
    call.actor()?;
    let store = call.state.store.as_ref();
    call.kept("table", &format!("{project}/{queue}"), || {
        schemas::table(store, &project, &queue)
    })
    .await
}

/// Marks the fields ticked on the schema page sensitive, and no others (owners). Each ticked
/// box sends `marked[<n>]=<path>`: paths hold brackets (`lines[].sku`), so they travel as
/// values, not in names.
#[server(prefix = "/console")]
pub async fn set_sensitive_fields(
    project: String,
    queue: String,
    marked: Option<std::collections::HashMap<String, String>>,
) -> Result<Vec<String>, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let paths: Vec<String> = marked.unwrap_or_default().into_values().collect();
        Ok(schemas::set_sensitive_fields(&cx, &project, &queue, &paths).await?)
    }
    .await;
    call.finish(result, |_| schema_path(&project, &queue))
}
