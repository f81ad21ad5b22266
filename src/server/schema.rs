//! The schema engine: parsing Avro, JSON Schema and Protobuf, flattening them into fields, the semantic
//! diff, compatibility checks with Confluent Schema Registry's modes, sample-message checks and
//! Flink SQL tables.
//!
//! Both formats are flattened into a [`Shape`]: every field by dotted path with its type,
//! default, doc and whether it is required. The diff compares two shapes; each change says
//! whether new readers can still read old data (backward) and old readers new data (forward).
//! A compatibility check is the diff against the latest version (or every version, for the
//! transitive modes) filtered by the mode's directions, following Avro's (Java's) resolution
//! rules as Confluent applies them; for Avro the `apache-avro` crate's resolution check is
//! consulted as well and can only add a problem.

mod avro;
mod flink;
mod json;
pub mod proto;

pub use flink::{columns, flink_ddl, TableTarget};

use crate::domain::{
    ChangeKind, Compatibility, CompatibilityProblem, FieldChange, LineChange, ParseProblem,
    SchemaFieldRow, SchemaFormat, SchemaImport, SideBySideRow,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A schema that parsed and is valid in its language.
#[derive(Debug, Clone)]
pub enum Parsed {
    Avro {
        raw: Value,
        schema: Box<apache_avro::Schema>,
    },
    Json {
        raw: Value,
    },
    Protobuf(Box<proto::Proto>),
}

/// A field's type, enough to decide whether one can be read as another.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// An Avro primitive: null, boolean, int, long, float, double, bytes, string.
    Prim(String),
    /// A record, with the other names a reader of it reads (its `aliases`).
    Record {
        name: String,
        aliases: Vec<String>,
    },
    Enum {
        name: String,
        symbols: Vec<String>,
        has_default: bool,
        aliases: Vec<String>,
    },
    Fixed {
        name: String,
        size: u64,
        aliases: Vec<String>,
    },
    Array(Box<Ty>),
    Map(Box<Ty>),
    Union(Vec<Ty>),
    /// A reference to a named type defined elsewhere in the schema.
    Named(String),
    Logical {
        logical: String,
        base: Box<Ty>,
    },
    /// A JSON Schema property: its allowed types (empty: any) and enum.
    Json {
        types: Vec<String>,
        values: Option<Vec<Value>>,
        format: Option<String>,
    },
}

impl std::fmt::Display for Ty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ty::Prim(p) => f.write_str(p),
            Ty::Record { name: n, .. } | Ty::Named(n) => f.write_str(n),
            Ty::Enum { name, symbols, .. } => write!(f, "enum {name} {{{}}}", symbols.join(", ")),
            Ty::Fixed { name, size, .. } => write!(f, "fixed {name}({size})"),
            Ty::Array(t) => write!(f, "array<{t}>"),
            Ty::Map(t) => write!(f, "map<{t}>"),
            Ty::Union(ts) => {
                let parts: Vec<String> = ts.iter().map(ToString::to_string).collect();
                write!(f, "[{}]", parts.join(", "))
            }
            Ty::Logical { logical, base } => write!(f, "{base} ({logical})"),
            Ty::Json {
                types,
                values,
                format,
            } => {
                f.write_str(&if types.is_empty() {
                    "any".to_string()
                } else {
                    types.join(" | ")
                })?;
                if let Some(fmt) = format {
                    write!(f, " ({fmt})")?;
                }
                if let Some(v) = values {
                    let vs: Vec<String> = v.iter().map(ToString::to_string).collect();
                    write!(f, " enum {{{}}}", vs.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

/// One flattened field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub ty: Ty,
    pub default: Option<Value>,
    pub doc: Option<String>,
    /// JSON Schema: listed in its object's `required`. Avro: has no default.
    pub required: bool,
    /// Avro: other names a reader of this field reads it under (the field's `aliases`).
    pub aliases: Vec<String>,
}

/// A schema flattened: fields by dotted path (`[]` marks array items, `{}` map values) and,
/// for JSON Schema, the objects that forbid additional properties (`""` is the root).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shape {
    pub fields: BTreeMap<String, Field>,
    pub closed: BTreeSet<String>,
}

/// The path's parent object (`""` for a top-level field).
fn parent(path: &str) -> &str {
    path.rfind('.').map_or("", |i| &path[..i])
}

/// The path of a field named `name` beside the one at `path`.
fn sibling(path: &str, name: &str) -> String {
    match parent(path) {
        "" => name.to_string(),
        p => format!("{p}.{name}"),
    }
}

/// Parses and validates a schema text that imports nothing.
pub fn parse(format: SchemaFormat, text: &str) -> Result<Parsed, ParseProblem> {
    parse_with(format, text, &[])
}

/// Parses and validates a schema text with the files it imports (Protobuf only).
pub fn parse_with(
    format: SchemaFormat,
    text: &str,
    imports: &[SchemaImport],
) -> Result<Parsed, ParseProblem> {
    if format == SchemaFormat::Protobuf {
        return proto::parse(text, imports);
    }
    let raw: Value = serde_json::from_str(text).map_err(|e| ParseProblem {
        message: format!("not valid JSON: {e}"),
        line: Some(e.line()),
        column: Some(e.column()),
    })?;
    match format {
        SchemaFormat::Avro => avro::parse(raw),
        SchemaFormat::Json => json::parse(raw),
        SchemaFormat::Protobuf => unreachable!("Protobuf is not JSON"),
    }
}

impl Parsed {
    pub fn format(&self) -> SchemaFormat {
        match self {
            Parsed::Avro { .. } => SchemaFormat::Avro,
            Parsed::Json { .. } => SchemaFormat::Json,
            Parsed::Protobuf(_) => SchemaFormat::Protobuf,
        }
    }

    /// Equal for schemas that mean the same (Avro: the whole definition normalized; JSON with
    /// sorted keys and no whitespace; Protobuf: the compiled descriptor without positions, and
    /// its comments), so publishing the same schema twice is one version.
    pub fn fingerprint(&self) -> String {
        match self {
            Parsed::Avro { raw, .. } => avro::identity(raw),
            Parsed::Json { raw } => raw.to_string(),
            Parsed::Protobuf(p) => p.identity(),
        }
    }

    /// Whether this schema, as submitted, is the stored `version`: the same fingerprint, except
    /// that a Protobuf descriptor (which carries no comments) matches a version by everything
    /// but its comments.
    pub fn is_version(&self, version: &Parsed) -> bool {
        match (self, version) {
            (Parsed::Protobuf(new), Parsed::Protobuf(old)) if !new.documented => {
                new.shape_identity() == old.shape_identity()
            }
            _ => self.format() == version.format() && self.fingerprint() == version.fingerprint(),
        }
    }

    /// The schema as text to read and compare: JSON pretty-printed, `.proto` as published.
    pub fn schema_text(&self) -> String {
        match self {
            Parsed::Avro { raw, .. } | Parsed::Json { raw } => {
                serde_json::to_string_pretty(raw).unwrap_or_default()
            }
            Parsed::Protobuf(p) => p.text.clone(),
        }
    }

    pub fn shape(&self) -> Shape {
        match self {
            Parsed::Avro { raw, .. } => avro::shape(raw),
            Parsed::Json { raw } => json::shape(raw),
            Parsed::Protobuf(p) => p.shape(),
        }
    }

    /// Every field as a row an analyst reads: path, type, nullable, default, doc.
    pub fn fields(&self) -> Vec<SchemaFieldRow> {
        if let Parsed::Protobuf(p) = self {
            return p.fields();
        }
        self.shape()
            .fields
            .into_iter()
            .map(|(path, f)| SchemaFieldRow {
                nullable: match &f.ty {
                    Ty::Union(ts) => ts.iter().any(|t| *t == Ty::Prim("null".into())),
                    Ty::Json { types, .. } => {
                        !f.required || types.is_empty() || types.iter().any(|t| t == "null")
                    }
                    _ => false,
                },
                path: if path.is_empty() {
                    "(value)".into()
                } else {
                    path
                },
                ty: f.ty.to_string(),
                default: f.default.as_ref().map(ToString::to_string),
                doc: f.doc,
            })
            .collect()
    }

    /// Field paths (and Protobuf message names), and every doc, for the data map to index.
    pub fn index_words(&self) -> (Vec<String>, String) {
        let raw = match self {
            Parsed::Protobuf(p) => return p.index_words(),
            Parsed::Avro { raw, .. } | Parsed::Json { raw } => raw,
        };
        let shape = self.shape();
        let mut names = Vec::with_capacity(shape.fields.len());
        let mut docs = String::new();
        for (path, field) in shape.fields {
            names.push(path);
            if let Some(d) = field.doc {
                docs.push_str(&d);
                docs.push('\n');
            }
        }
        if let Some(d) = raw
            .get("doc")
            .or_else(|| raw.get("description"))
            .and_then(Value::as_str)
        {
            docs.push_str(d);
        }
        (names, docs)
    }

    /// Why a sample message (JSON) does not fit the schema; empty when it fits.
    pub fn sample_errors(&self, message: &str) -> Vec<String> {
        let value: Value = match serde_json::from_str(message) {
            Ok(v) => v,
            Err(e) => {
                return vec![format!(
                    "line {}, column {}: not valid JSON: {e}",
                    e.line(),
                    e.column()
                )]
            }
        };
        match self {
            Parsed::Avro { schema, .. } => avro::sample_errors(schema, value),
            Parsed::Json { raw } => json::sample_errors(raw, &value),
            Parsed::Protobuf(p) => p.sample_errors(message),
        }
    }
}

/// Why a JSON value does not fit a JSON Schema version; empty when it fits (and for other
/// formats).
pub fn json_errors(parsed: &Parsed, value: &Value) -> Vec<String> {
    match parsed {
        Parsed::Json { raw } => json::sample_errors(raw, value),
        _ => Vec::new(),
    }
}

/// Where `value` breaks a JSON Schema and which rule, without quoting any of the value (for
/// readers from whom parts of it are masked).
pub fn json_error_places(parsed: &Parsed, value: &Value) -> Vec<String> {
    match parsed {
        Parsed::Json { raw } => json::sample_error_places(raw, value),
        _ => Vec::new(),
    }
}

/// Whether data of type `writer` can be read as `reader`; the error says why not.
pub fn readable(writer: &Ty, reader: &Ty) -> Result<(), String> {
    match (writer, reader) {
        (Ty::Json { .. }, Ty::Json { .. }) => json::readable(writer, reader),
        _ => avro::readable(writer, reader),
    }
}

/// The field-level differences from `old` to `new`, each with what it breaks.
pub fn diff(old: &Parsed, new: &Parsed) -> Vec<FieldChange> {
    if let (Parsed::Protobuf(a), Parsed::Protobuf(b)) = (old, new) {
        return proto::diff(a, b);
    }
    let (a, b) = (old.shape(), new.shape());
    let json = matches!(new, Parsed::Json { .. });
    // A field whose parent appears or disappears is covered by its parent's change.
    let parent_in_both = |p: &str| {
        parent(p).is_empty()
            || (a.fields.contains_key(parent(p)) && b.fields.contains_key(parent(p)))
    };
    // Avro schema resolution: a reader's field whose aliases name a writer's field reads it, so
    // a new field aliasing an old one that is gone is that field renamed.
    let renames: BTreeMap<&str, &str> = b
        .fields
        .iter()
        .filter(|(p, _)| !a.fields.contains_key(*p))
        .filter_map(|(p, f)| {
            f.aliases
                .iter()
                .map(|alias| sibling(p, alias))
                .find(|old| a.fields.contains_key(old) && !b.fields.contains_key(old))
                .and_then(|old| {
                    a.fields
                        .get_key_value(&old)
                        .map(|(k, _)| (k.as_str(), p.as_str()))
                })
        })
        .collect();
    let mut out = Vec::new();
    for (path, was) in &a.fields {
        if !parent_in_both(path) {
            continue;
        }
        if let Some(new_path) = renames.get(path.as_str()) {
            let now = &b.fields[*new_path];
            let forward = was.default.is_none();
            out.push(change(
                new_path,
                ChangeKind::Renamed,
                Some(path.clone()),
                Some((*new_path).to_string()),
                false,
                forward,
                if forward {
                    format!("renamed from {path}, which it aliases; readers of the old version look for {path} and have no default for it")
                } else {
                    format!("renamed from {path}, which it aliases; readers of the old version fall back to its default")
                },
            ));
            if was.ty != now.ty {
                out.push(type_change(new_path, was, now));
            }
            continue;
        }
        let Some(now) = b.fields.get(path) else {
            let (bb, bf, reason) = if json {
                let closed = b.closed.contains(parent(path));
                (
                    closed,
                    was.required,
                    match (closed, was.required) {
                        (true, _) => "removed while its object forbids additional properties: old data may still carry it",
                        (false, true) => "removed, but readers of the old version require it",
                        (false, false) => "removed; it was optional",
                    },
                )
            } else if was.default.is_none() {
                (
                    false,
                    true,
                    "removed, and readers of the old version have no default for it",
                )
            } else {
                (
                    false,
                    false,
                    "removed; readers of the old version fall back to its default",
                )
            };
            out.push(change(
                path,
                ChangeKind::Removed,
                Some(was.ty.to_string()),
                None,
                bb,
                bf,
                reason.into(),
            ));
            continue;
        };
        if was.ty != now.ty {
            out.push(type_change(path, was, now));
        }
        if json && was.required != now.required {
            let (bb, bf, reason) = if now.required {
                (true, false, "became required: old data may lack it")
            } else {
                (
                    false,
                    true,
                    "became optional, but readers of the old version require it",
                )
            };
            out.push(change(
                path,
                ChangeKind::RequiredChanged,
                Some(if was.required { "required" } else { "optional" }.into()),
                Some(if now.required { "required" } else { "optional" }.into()),
                bb,
                bf,
                reason.into(),
            ));
        }
        if was.default != now.default {
            // Avro: losing the default matters only against versions without the field, which
            // the transitive check compares separately.
            out.push(change(
                path,
                ChangeKind::DefaultChanged,
                was.default.as_ref().map(ToString::to_string),
                now.default.as_ref().map(ToString::to_string),
                false,
                false,
                "defaults apply only when a field is missing".into(),
            ));
        }
        if was.doc != now.doc {
            out.push(change(
                path,
                ChangeKind::DocChanged,
                was.doc.clone(),
                now.doc.clone(),
                false,
                false,
                "documentation only".into(),
            ));
        }
    }
    for (path, now) in &b.fields {
        if a.fields.contains_key(path)
            || !parent_in_both(path)
            || renames.values().any(|p| p == path)
        {
            continue;
        }
        let (bb, bf, reason) = if json {
            let closed = a.closed.contains(parent(path));
            (
                now.required,
                closed,
                match (now.required, closed) {
                    (true, _) => "added as required: old data lacks it",
                    (false, true) => "added, but the old version forbids additional properties",
                    (false, false) => "added as optional",
                },
            )
        } else if now.default.is_none() {
            (
                true,
                false,
                "added without a default: data written with the old version has no value for it",
            )
        } else {
            (false, false, "added with a default")
        };
        out.push(change(
            path,
            ChangeKind::Added,
            None,
            Some(now.ty.to_string()),
            bb,
            bf,
            reason.into(),
        ));
    }
    out
}

/// A field's type changed: what each side's readers make of the other's data.
fn type_change(path: &str, was: &Field, now: &Field) -> FieldChange {
    let bb = readable(&was.ty, &now.ty).err();
    let bf = readable(&now.ty, &was.ty).err();
    let reason = match (&bb, &bf) {
        (None, None) => "the types read each other".to_string(),
        (Some(e), _) => format!("new readers cannot read old data: {e}"),
        (None, Some(e)) => format!("old readers cannot read new data: {e}"),
    };
    change(
        path,
        ChangeKind::TypeChanged,
        Some(was.ty.to_string()),
        Some(now.ty.to_string()),
        bb.is_some(),
        bf.is_some(),
        reason,
    )
}

fn change(
    field: &str,
    kind: ChangeKind,
    before: Option<String>,
    after: Option<String>,
    breaks_backward: bool,
    breaks_forward: bool,
    reason: String,
) -> FieldChange {
    FieldChange {
        field: if field.is_empty() {
            "(value)".into()
        } else {
            field.into()
        },
        kind,
        before,
        after,
        breaks_backward,
        breaks_forward,
        reason,
    }
}

/// Why `new` breaks `mode` against `earlier` (oldest first, with their version numbers);
/// empty when it does not. The latest version only, unless the mode is transitive.
pub fn check(
    mode: Compatibility,
    new: &Parsed,
    earlier: &[(i64, Parsed)],
) -> Vec<CompatibilityProblem> {
    let against: &[(i64, Parsed)] = if mode.transitive() {
        earlier
    } else {
        earlier.last().map_or(&[], std::slice::from_ref)
    };
    let mut problems = Vec::new();
    for (version, old) in against {
        if old.format() != new.format() {
            problems.push(CompatibilityProblem {
                field: "format".into(),
                version: *version,
                message: format!(
                    "version {version} is {}; a queue keeps one format",
                    old.format()
                ),
            });
            continue;
        }
        let changes = diff(old, new);
        for (wanted, backward) in [(mode.backward(), true), (mode.forward(), false)] {
            if !wanted {
                continue;
            }
            let mut found: Vec<CompatibilityProblem> = changes
                .iter()
                .filter(|c| {
                    if backward {
                        c.breaks_backward
                    } else {
                        c.breaks_forward
                    }
                })
                .map(|c| CompatibilityProblem {
                    field: c.field.clone(),
                    version: *version,
                    message: c.reason.clone(),
                })
                .collect();
            if let (
                Parsed::Avro {
                    schema: o, raw: ro, ..
                },
                Parsed::Avro {
                    schema: n, raw: rn, ..
                },
            ) = (old, new)
            {
                // A second opinion: the crate's reader/writer resolution. It is laxer than
                // Java's (Confluent's) on a writer's union, so it only ever adds a problem. It
                // does not apply named types' aliases, so a reader that has them goes without.
                let (writer, reader) = if backward { (o, n) } else { (n, o) };
                let reader_aliases = avro::has_type_aliases(if backward { rn } else { ro });
                if let (Err(e), true) = (
                    avro::can_read(writer, reader),
                    found.is_empty() && !reader_aliases,
                ) {
                    found.push(CompatibilityProblem {
                        field: "(schema)".into(),
                        version: *version,
                        message: e,
                    });
                }
            }
            problems.extend(found);
        }
    }
    problems
}

/// Two schema texts line by line, side by side: equal lines paired, removed lines on the left
/// only, added on the right only, and replaced runs paired row by row.
pub fn side_by_side(old: &str, new: &str) -> Vec<SideBySideRow> {
    let diff = similar::TextDiff::from_lines(old, new);
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let line =
        |lines: &[&str], i: usize| Some((i + 1, lines.get(i).copied().unwrap_or("").to_string()));
    let mut rows = Vec::new();
    for op in diff.ops() {
        let (tag, l, r) = op.as_tag_tuple();
        let change = match tag {
            similar::DiffTag::Equal => LineChange::Same,
            similar::DiffTag::Delete => LineChange::Removed,
            similar::DiffTag::Insert => LineChange::Added,
            similar::DiffTag::Replace => LineChange::Changed,
        };
        for k in 0..l.len().max(r.len()) {
            rows.push(SideBySideRow {
                left: (k < l.len()).then(|| line(&a, l.start + k)).flatten(),
                right: (k < r.len()).then(|| line(&b, r.start + k)).flatten(),
                change,
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests;
