//! Schemas per queue: publishing versions under the queue's compatibility mode, checking
//! drafts and samples, diffs, and the queue as a Flink SQL table.

use super::Ctx;
use super::{projects, queues, require_writer, ServiceError, ServiceResult};
use crate::domain::{
    CatalogTable, Compatibility, FieldChange, FieldError, QueueView, SchemaCheck, SchemaFieldRow,
    SchemaFormat, SchemaImport, SchemaInput, SchemaReference, SchemaVersionView, SideBySideRow,
};
use crate::server::db::{AuditEvent, SchemaRow, Store, StoreError};
use crate::server::schema::{self, Parsed, TableTarget};
use std::collections::BTreeSet;

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

pub(crate) fn parsed(v: &SchemaVersionView) -> ServiceResult<Parsed> {
    schema::parse_with(v.format, &v.definition, &v.imports).map_err(|e| {
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

/// At most this many references per schema (each brings its own imports along).
const MAX_REFERENCES: usize = 64;

/// The format a draft names, or an error naming the field.
fn format_of(input: &SchemaInput) -> Result<SchemaFormat, Vec<FieldError>> {
    input.format.trim().parse().map_err(|_| {
        vec![FieldError::new(
            "format",
            format!(
                "{:?} is not a schema format: use avro, json or protobuf",
                input.format
            ),
        )]
    })
}

/// At most this many files and bytes of imported files per schema, all references together.
const MAX_IMPORTS: usize = 256;
const MAX_IMPORT_BYTES: usize = 4 * MAX_SCHEMA_BYTES;

/// The files a draft's references bring in (each referenced version's own file under the
/// reference's name, and everything that version imports in turn), and the references with
/// `-1` (latest) pinned to the version that was read.
async fn resolve_imports(
    store: &dyn Store,
    format: SchemaFormat,
    references: &[SchemaReference],
) -> ServiceResult<(Vec<SchemaImport>, Vec<SchemaReference>)> {
    if references.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    if format != SchemaFormat::Protobuf {
        return Err(vec![FieldError::new(
            "references",
            "are supported for Protobuf schemas; Avro and JSON schemas must be self-contained",
        )]
        .into());
    }
    if references.len() > MAX_REFERENCES {
        return Err(vec![FieldError::new(
            "references",
            format!("at most {MAX_REFERENCES}"),
        )]
        .into());
    }
    let mut imports: Vec<SchemaImport> = Vec::new();
    let mut pinned = Vec::with_capacity(references.len());
    for r in references {
        let bad = |why: String| {
            ServiceError::from(vec![FieldError::new(
                "references",
                format!("{} ({}, version {}): {why}", r.name, r.subject, r.version),
            )])
        };
        let (project, queue) = crate::domain::parse_subject(&r.subject)
            .ok_or_else(|| bad("subjects are <project>.<queue>-value".into()))?;
        let all = match versions(store, project, queue).await {
            Ok(all) => all,
            Err(ServiceError::NotFound(_)) => return Err(bad("no such subject".into())),
            Err(e) => return Err(e),
        };
        let v = if r.version == -1 {
            all.last()
        } else {
            all.iter().find(|v| v.version == r.version)
        }
        .ok_or_else(|| bad("no such version".into()))?;
        if v.format != SchemaFormat::Protobuf {
            return Err(bad(format!("is {}, not protobuf", v.format)));
        }
        pinned.push(SchemaReference {
            version: v.version,
            ..r.clone()
        });
        for i in v.imports.iter().chain(std::iter::once(&SchemaImport {
            name: r.name.clone(),
            definition: v.definition.clone(),
        })) {
            match imports.iter().find(|have| have.name == i.name) {
                Some(have) if have.definition != i.definition => {
                    return Err(bad(format!(
                        "imports {:?} in another version than another reference does",
                        i.name
                    )))
                }
                Some(_) => {}
                None => imports.push(i.clone()),
            }
        }
        let bytes: usize = imports.iter().map(|i| i.definition.len()).sum();
        if imports.len() > MAX_IMPORTS || bytes > MAX_IMPORT_BYTES {
            return Err(bad(format!(
                "brings in more than {MAX_IMPORTS} files or {} KiB of them",
                MAX_IMPORT_BYTES / 1024
            )));
        }
    }
    Ok((imports, pinned))
}

/// Parses a draft with the files its references bring in.
async fn parse_input(
    store: &dyn Store,
    input: &SchemaInput,
) -> ServiceResult<(Parsed, Vec<SchemaImport>, Vec<SchemaReference>)> {
    let format = format_of(input)?;
    check_size("definition", &input.definition)?;
    let (mut imports, pinned) = resolve_imports(store, format, &input.references).await?;
    let parsed = schema::parse_with(format, &input.definition, &imports)
        .map_err(|e| vec![FieldError::new("definition", e.to_string())])?;
    // Only the files the schema really compiled with are kept with it.
    if let Parsed::Protobuf(p) = &parsed {
        imports.retain(|i| p.pool.get_file_by_name(&i.name).is_some());
    }
    Ok((parsed, imports, pinned))
}

/// A draft from the console's editor, which edits one file: a Protobuf draft keeps the
/// references of the queue's latest version, so its imports still resolve.
pub async fn console_draft(
    store: &dyn Store,
    project: &str,
    queue: &str,
    format: String,
    definition: String,
    comment: String,
) -> ServiceResult<SchemaInput> {
    let references = if format.trim().eq_ignore_ascii_case("protobuf") {
        versions(store, project, queue)
            .await?
            .last()
            .filter(|v| v.format == SchemaFormat::Protobuf)
            .map(|v| v.references.clone())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(SchemaInput {
        format,
        definition,
        comment,
        references,
    })
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
    let format = format_of(input)?;
    let (imports, _) = resolve_imports(store, format, &input.references).await?;
    let new = match schema::parse_with(format, &input.definition, &imports) {
        Ok(p) => p,
        Err(e) => {
            return Ok(SchemaCheck {
                parse_error: Some(e),
                mode,
                ..Default::default()
            })
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
    cx: &Ctx,
    project: &str,
    queue: &str,
    input: &SchemaInput,
) -> ServiceResult<SchemaVersionView> {
    let q = queues::get(cx.store(), project, queue).await?;
    let p = projects::get(cx.store(), &q.project).await?;
    projects::require_member(cx, &p).await?;
    let (new, imports, references) = parse_input(cx.store(), input).await?;
    let comment = input.comment.trim().to_string();
    if comment.chars().count() > 500 {
        return Err(vec![FieldError::new("comment", "at most 500 characters")].into());
    }
    let existing = cx.store.schema_versions(q.id).await?;
    let fingerprint = new.fingerprint();
    for v in &existing {
        if v.format == new.format() && new.is_version(&parsed(v)?) {
            return Ok(v.clone());
        }
    }
    let earlier: Vec<(i64, Parsed)> = existing
        .iter()
        .map(|v| Ok((v.version, parsed(v)?)))
        .collect::<ServiceResult<_>>()?;
    let mode = mode(cx.store(), &q).await?;
    let problems = schema::check(mode, &new, &earlier);
    if !problems.is_empty() {
        return Err(ServiceError::Incompatible(
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
        // What a client sent as a descriptor is kept as the `.proto` text it renders to.
        definition: match &new {
            Parsed::Protobuf(p) => p.text.clone(),
            _ => input.definition.clone(),
        },
        fingerprint,
        author: cx.actor.username.clone(),
        comment: comment.clone(),
        references: serde_json::to_string(&references).map_err(anyhow::Error::from)?,
        imports: serde_json::to_string(&imports).map_err(anyhow::Error::from)?,
    };
    let ev = AuditEvent {
        actor: cx.actor.username.clone(),
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
    let id = cx
        .store()
        .add_schema_version(&row, &ev)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ServiceError::Conflict(FieldError::new(
                "definition",
                format!("version {next} was published meanwhile; reload and check again"),
            )),
            e => e.into(),
        })?;
    by_id(cx.store(), id).await
}

/// What the viewer may do on a queue's schema page: publish (owners and members of its
/// project, admins) and set the mode (owners, admins), by the checks [`publish`] and
/// [`set_mode`] make.
pub async fn permissions(cx: &Ctx, queue: &QueueView) -> ServiceResult<(bool, bool)> {
    let p = projects::get(cx.store(), &queue.project).await?;
    let can_publish = projects::require_member(cx, &p).await.is_ok();
    let can_set_mode = cx.actor.role.can_write() && projects::is_owner(cx, &p).await?;
    Ok((can_publish, can_set_mode))
}

/// Every subject with a schema: `<project>.<queue>-value` of each queue that has one.
pub async fn subjects(store: &dyn Store) -> ServiceResult<Vec<SchemaVersionView>> {
    Ok(store.latest_schemas().await?)
}

/// Sets the queue's compatibility mode; owners of its project and admins may.
pub async fn set_mode(
    cx: &Ctx,
    project: &str,
    queue: &str,
    mode: &str,
) -> ServiceResult<Compatibility> {
    require_writer(&cx.actor)?;
    let q = queues::get(cx.store(), project, queue).await?;
    let p = projects::get(cx.store(), &q.project).await?;
    if !projects::is_owner(cx, &p).await? {
        return Err(ServiceError::Forbidden(format!(
            "only owners of project {:?} set its queues' compatibility",
            p.name
        )));
    }
    let mode = Compatibility::parse("compatibility", mode).map_err(|e| vec![e])?;
    let ev = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "schema.compatibility",
        target_kind: "queue",
        target: format!("{project}/{queue}"),
        summary: mode.to_string(),
    };
    cx.store.set_compatibility(q.id, mode.as_ref(), &ev).await?;
    Ok(mode)
}

/// The most fields owners may mark sensitive on one queue.
pub const MAX_SENSITIVE_FIELDS: usize = 200;

/// A queue's sensitive fields: those its latest schema version marks itself (Avro
/// `"sensitive": true`, JSON Schema `"x-sensitive": true`) and those its owners ticked.
pub async fn sensitive_fields(
    store: &dyn Store,
    queue: &QueueView,
) -> ServiceResult<(Vec<String>, Vec<String>)> {
    let in_schema = match store.schema_versions(queue.id).await?.last() {
        Some(v) => crate::server::peek::sensitive_paths(&parsed(v)?)
            .into_iter()
            .collect(),
        None => Vec::new(),
    };
    Ok((in_schema, store.sensitive_fields(queue.id).await?))
}

/// Marks exactly `paths` (fields of the latest version) sensitive on the queue (its project's
/// owners and admins); audited with what changed.
pub async fn set_sensitive_fields(
    cx: &Ctx,
    project: &str,
    queue: &str,
    paths: &[String],
) -> ServiceResult<Vec<String>> {
    require_writer(&cx.actor)?;
    if paths.len() > MAX_SENSITIVE_FIELDS {
        return Err(vec![FieldError::new(
            "fields",
            format!("at most {MAX_SENSITIVE_FIELDS} fields, not {}", paths.len()),
        )]
        .into());
    }
    let q = queues::get(cx.store(), project, queue).await?;
    let p = projects::get(cx.store(), &q.project).await?;
    if !projects::is_owner(cx, &p).await? {
        return Err(ServiceError::Forbidden(format!(
            "only owners of project {:?} mark its queues' fields sensitive",
            p.name
        )));
    }
    let versions = cx.store.schema_versions(q.id).await?;
    let Some(latest) = versions.last() else {
        return Err(vec![FieldError::new(
            "fields",
            format!("{project}/{queue} has no schema yet, so no fields to mark"),
        )]
        .into());
    };
    let known: BTreeSet<String> = parsed(latest)?
        .fields()
        .into_iter()
        .map(|f| f.path)
        .collect();
    let wanted: BTreeSet<String> = paths.iter().map(|p| p.trim().to_string()).collect();
    if let Some(unknown) = wanted.iter().find(|p| !known.contains(*p)) {
        return Err(vec![FieldError::new(
            "fields",
            format!(
                "{unknown:?} is not a field of version {} of {project}/{queue}",
                latest.version
            ),
        )]
        .into());
    }
    let before: BTreeSet<String> = cx.store.sensitive_fields(q.id).await?.into_iter().collect();
    let list = |s: &BTreeSet<String>| {
        if s.is_empty() {
            "none".to_string()
        } else {
            s.iter().cloned().collect::<Vec<_>>().join(", ")
        }
    };
    let ev = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "schema.sensitive_fields",
        target_kind: "queue",
        target: format!("{project}/{queue}"),
        summary: format!("marked {} (were {})", list(&wanted), list(&before)),
    };
    let wanted: Vec<String> = wanted.into_iter().collect();
    cx.store.set_sensitive_fields(q.id, &wanted, &ev).await?;
    Ok(wanted)
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

/// A version's fields as rows: path, type, nullable, default, doc.
pub fn fields(v: &SchemaVersionView) -> ServiceResult<Vec<SchemaFieldRow>> {
    Ok(parsed(v)?.fields())
}

/// Whether `input` is a version of the queue already (Confluent's lookup): that version.
pub async fn find_same(
    store: &dyn Store,
    project: &str,
    queue: &str,
    input: &SchemaInput,
) -> ServiceResult<Option<SchemaVersionView>> {
    let (wanted, _, _) = parse_input(store, input).await?;
    for v in versions(store, project, queue).await? {
        if v.format == wanted.format() && wanted.is_version(&parsed(&v)?) {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// A Protobuf version's descriptor in the Schema Registry's `serialized` form (base64), named
/// as Confluent's clients expect; `None` for other formats.
pub fn serialized(v: &SchemaVersionView) -> ServiceResult<Option<String>> {
    Ok(match parsed(v)? {
        Parsed::Protobuf(p) => Some(p.serialized(schema::proto::MAIN_FILE)),
        _ => None,
    })
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
