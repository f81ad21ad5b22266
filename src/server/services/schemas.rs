//! Schemas per queue: publishing versions under the queue's compatibility mode, checking
//! drafts and samples, diffs, and the queue as a Flink SQL table.

use super::{projects, queues, require_writer, ServiceError, ServiceResult};
use crate::domain::{
    CatalogTable, Compatibility, FieldChange, FieldError, QueueView, SchemaCheck, SchemaFormat,
    SchemaInput, SchemaVersionView, SideBySideRow, UserView,
};
use crate::server::db::{AuditEvent, SchemaRow, Store, StoreError};
use crate::server::schema::{self, Parsed, TableTarget};

/// A queue's versions, oldest first.
pub async fn versions(
    store: &dyn Store,
    project: &str,
    queue: &str,
) -> ServiceResult<Vec<SchemaVersionView>> {
    let q = queues::get(store, project, queue).await?;
    Ok(store.schema_versions(q.id).await?)
}

/// One version of a queue's schema.
pub async fn version(
    store: &dyn Store,
    project: &str,
    queue: &str,
    version: i64,
) -> ServiceResult<SchemaVersionView> {
    versions(store, project, queue)
        .await?
        .into_iter()
        .find(|v| v.version == version)
        .ok_or_else(|| ServiceError::NotFound(format!("version {version} of {project}/{queue}")))
}

/// A version by its global id (the Schema Registry's `GET /schemas/ids/{id}`).
pub async fn by_id(store: &dyn Store, id: i64) -> ServiceResult<SchemaVersionView> {
    store
        .schema_by_id(id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("schema {id}")))
}

/// The queue's compatibility mode (BACKWARD unless set).
pub async fn mode(store: &dyn Store, queue: &QueueView) -> ServiceResult<Compatibility> {
    Ok(store
        .compatibility(queue.id)
        .await?
        .and_then(|m| m.parse().ok())
        .unwrap_or_default())
}

fn parsed(v: &SchemaVersionView) -> ServiceResult<Parsed> {
    schema::parse(v.format, &v.definition).map_err(|e| {
        ServiceError::Internal(anyhow::anyhow!(
            "stored schema {} no longer parses: {e}",
            v.id
        ))
    })
}

/// The largest schema (or sample message) any path takes.
pub const MAX_SCHEMA_BYTES: usize = 256 * 1024;

/// Refuses text over [`MAX_SCHEMA_BYTES`] before anything parses it.
pub fn check_size(field: &str, text: &str) -> Result<(), Vec<FieldError>> {
    if text.len() > MAX_SCHEMA_BYTES {
        return Err(vec![FieldError::new(
            field,
            format!("is at most {} KiB", MAX_SCHEMA_BYTES / 1024),
        )]);
    }
    Ok(())
}

fn parse_input(input: &SchemaInput) -> Result<Parsed, Vec<FieldError>> {
    let format: SchemaFormat = input.format.trim().parse().map_err(|_| {
        vec![FieldError::new(
            "format",
            format!(
                "{:?} is not a schema format: use avro or json",
                input.format
            ),
        )]
    })?;
    check_size("definition", &input.definition)?;
    schema::parse(format, &input.definition)
        .map_err(|e| vec![FieldError::new("definition", e.to_string())])
}

/// What publishing `input` would do: parse errors, what breaks the mode, and the changes from
/// the latest version. Nothing is stored.
pub async fn check_draft(
    store: &dyn Store,
    project: &str,
    queue: &str,
    input: &SchemaInput,
    mode_override: Option<Compatibility>,
) -> ServiceResult<SchemaCheck> {
    check_size("definition", &input.definition)?;
    let q = queues::get(store, project, queue).await?;
    let mode = match mode_override {
        Some(m) => m,
        None => mode(store, &q).await?,
    };
    let new = match parse_input(input) {
        Ok(p) => p,
        Err(errors) => {
            let format_error = errors.iter().find(|e| e.field == "format");
            return match format_error {
                Some(_) => Err(errors.into()),
                None => Ok(SchemaCheck {
                    parse_error: schema::parse(
                        input.format.parse().unwrap_or(SchemaFormat::Avro),
                        &input.definition,
                    )
                    .err(),
                    mode,
                    ..Default::default()
                }),
            };
        }
    };
    let earlier = earlier_versions(store, q.id).await?;
    Ok(SchemaCheck {
        parse_error: None,
        mode,
        problems: schema::check(mode, &new, &earlier),
        changes: earlier
            .last()
            .map(|(_, latest)| schema::diff(latest, &new))
            .unwrap_or_default(),
    })
}

async fn earlier_versions(store: &dyn Store, queue_id: i64) -> ServiceResult<Vec<(i64, Parsed)>> {
    store
        .schema_versions(queue_id)
        .await?
        .iter()
        .map(|v| Ok((v.version, parsed(v)?)))
        .collect()
}

/// Publishes a new version if it keeps the queue's mode; the same schema again returns the
/// version that has it. Owners and members of the queue's project may.
pub async fn publish(
    store: &dyn Store,
    actor: &UserView,
    project: &str,
    queue: &str,
    input: &SchemaInput,
) -> ServiceResult<SchemaVersionView> {
    let q = queues::get(store, project, queue).await?;
    let p = projects::get(store, &q.project).await?;
    projects::require_member(store, actor, &p).await?;
    let new = parse_input(input)?;
    let comment = input.comment.trim().to_string();
    if comment.chars().count() > 500 {
        return Err(vec![FieldError::new("comment", "at most 500 characters")].into());
    }
    let existing = store.schema_versions(q.id).await?;
    let fingerprint = new.fingerprint();
    for v in &existing {
        if v.format == new.format() && parsed(v)?.fingerprint() == fingerprint {
            return Ok(v.clone());
        }
    }
    let earlier: Vec<(i64, Parsed)> = existing
        .iter()
        .map(|v| Ok((v.version, parsed(v)?)))
        .collect::<ServiceResult<_>>()?;
    let mode = mode(store, &q).await?;
    let problems = schema::check(mode, &new, &earlier);
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(
            problems
                .iter()
                .map(|p| FieldError::new("definition", format!("breaks {mode}: {p}")))
                .collect(),
        ));
    }
    let next = existing.last().map_or(1, |v| v.version + 1);
    let row = SchemaRow {
        queue_id: q.id,
        version: next,
        format: new.format().to_string(),
        definition: input.definition.clone(),
        fingerprint,
        author: actor.username.clone(),
        comment: comment.clone(),
    };
    let ev = AuditEvent {
        actor: actor.username.clone(),
        action: "schema.publish",
        target_kind: "queue",
        target: format!("{project}/{queue}"),
        summary: format!(
            "version {next} ({}){}",
            row.format,
            if comment.is_empty() {
                String::new()
            } else {
                format!(": {comment}")
            }
        ),
    };
    let id = store
        .add_schema_version(&row, &ev)
        .await
        .map_err(|e| match e {
            StoreError::Conflict => ServiceError::Conflict(FieldError::new(
                "definition",
                format!("version {next} was published meanwhile; reload and check again"),
            )),
            e => e.into(),
        })?;
    by_id(store, id).await
}

/// Sets the queue's compatibility mode; owners of its project and admins may.
pub async fn set_mode(
    store: &dyn Store,
    actor: &UserView,
    project: &str,
    queue: &str,
    mode: &str,
) -> ServiceResult<Compatibility> {
    require_writer(actor)?;
    let q = queues::get(store, project, queue).await?;
    let p = projects::get(store, &q.project).await?;
    if !projects::is_owner(store, actor, &p).await? {
        return Err(ServiceError::Forbidden(format!(
            "only owners of project {:?} set its queues' compatibility",
            p.name
        )));
    }
    let mode = Compatibility::parse("compatibility", mode).map_err(|e| vec![e])?;
    let ev = AuditEvent {
        actor: actor.username.clone(),
        action: "schema.compatibility",
        target_kind: "queue",
        target: format!("{project}/{queue}"),
        summary: mode.to_string(),
    };
    store.set_compatibility(q.id, mode.as_ref(), &ev).await?;
    Ok(mode)
}

/// The field-level changes from version `from` to version `to`.
pub async fn diff(
    store: &dyn Store,
    project: &str,
    queue: &str,
    from: i64,
    to: i64,
) -> ServiceResult<Vec<FieldChange>> {
    let a = version(store, project, queue, from).await?;
    let b = version(store, project, queue, to).await?;
    Ok(schema::diff(&parsed(&a)?, &parsed(&b)?))
}

/// Two versions' definitions, pretty-printed alike, line by line side by side.
pub fn side_by_side(
    a: &SchemaVersionView,
    b: &SchemaVersionView,
) -> ServiceResult<Vec<SideBySideRow>> {
    Ok(schema::side_by_side(
        &parsed(a)?.schema_text(),
        &parsed(b)?.schema_text(),
    ))
}

/// Why a sample message does not fit a version (the latest when `version` is `None`).
pub async fn check_sample(
    store: &dyn Store,
    project: &str,
    queue: &str,
    version_no: Option<i64>,
    message: &str,
) -> ServiceResult<Vec<String>> {
    check_size("message", message)?;
    let all = versions(store, project, queue).await?;
    let v = match version_no {
        Some(n) => all.into_iter().find(|v| v.version == n),
        None => all.into_iter().last(),
    }
    .ok_or_else(|| ServiceError::NotFound(format!("a schema of {project}/{queue}")))?;
    Ok(parsed(&v)?.sample_errors(message))
}

async fn table_for(store: &dyn Store, v: &SchemaVersionView) -> ServiceResult<CatalogTable> {
    let q = queues::get(store, &v.project, &v.queue).await?;
    let cluster = store
        .cluster(q.active_cluster())
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("cluster {}", q.active_cluster())))?
        .view;
    let p = parsed(v)?;
    let target = TableTarget {
        project: q.project.clone(),
        queue: q.name.clone(),
        topic: q.topic.clone(),
        bootstrap_servers: cluster.bootstrap_servers.clone(),
        sasl_mechanism: cluster.sasl_mechanism.to_string(),
        sasl_username: cluster.sasl_username.clone(),
        description: q.description.clone(),
    };
    Ok(CatalogTable {
        project: q.project.clone(),
        queue: q.name.clone(),
        schema_version: v.version,
        format: v.format,
        cluster: cluster.name,
        topic: q.topic,
        columns: schema::columns(&p),
        flink_ddl: schema::flink_ddl(&target, &p),
    })
}

/// The queue as a table, from its latest schema; `None` without a schema.
pub async fn table(
    store: &dyn Store,
    project: &str,
    queue: &str,
) -> ServiceResult<Option<CatalogTable>> {
    match versions(store, project, queue).await?.last() {
        Some(v) => Ok(Some(table_for(store, v).await?)),
        None => Ok(None),
    }
}

/// Every queue with a schema, as a table, for a metadata centre to sync.
pub async fn catalog(store: &dyn Store) -> ServiceResult<Vec<CatalogTable>> {
    let mut out = Vec::new();
    for v in store.latest_schemas().await? {
        out.push(table_for(store, &v).await?);
    }
    Ok(out)
}
