//! Avro: parsing with `apache-avro`, flattening record fields, and type resolution rules.

use super::{Field, Parsed, Shape, Ty};
use crate::domain::ParseProblem;
use serde_json::Value;

const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

pub(super) fn parse(raw: Value) -> Result<Parsed, ParseProblem> {
    match apache_avro::Schema::parse(&raw) {
        Ok(schema) => Ok(Parsed::Avro {
            raw,
            schema: Box::new(schema),
        }),
        Err(e) => Err(ParseProblem {
            message: format!("not a valid Avro schema: {e}"),
            line: None,
            column: None,
        }),
    }
}

/// A schema's identity: the whole definition with keys sorted (serde_json's map is ordered),
/// primitive types in their short spelling (`{"type": "int"}` is `"int"`), and named types by
/// their full names (a `namespace` written apart or in the name, references resolved against
/// the enclosing namespace, as the specification's canonical form does). So whitespace, key
/// order and spelling do not make a new version while `default`, `doc`, `aliases` and `order`
/// do. Avro's Parsing Canonical Form drops those by design, which made a changed default look
/// like the same schema.
pub fn identity(raw: &Value) -> String {
    normalized(raw, "").to_string()
}

/// What a type definition's `type` may say besides a primitive.
const KEYWORDS: [&str; 6] = ["record", "error", "enum", "fixed", "array", "map"];

/// `name` in full, inside namespace `ns`.
fn full_name(name: &str, ns: &str) -> String {
    if name.contains('.') || ns.is_empty() {
        name.to_string()
    } else {
        format!("{ns}.{name}")
    }
}

/// A value in a type position (the schema, a field's or union branch's type, items, values),
/// inside namespace `ns`.
fn normalized(v: &Value, ns: &str) -> Value {
    match v {
        Value::String(s) if !PRIMITIVES.contains(&s.as_str()) => Value::String(full_name(s, ns)),
        Value::Array(branches) => {
            Value::Array(branches.iter().map(|b| normalized(b, ns)).collect())
        }
        Value::Object(map) => {
            let kind = map.get("type").and_then(Value::as_str);
            if let (1, Some(t)) = (map.len(), kind) {
                if PRIMITIVES.contains(&t) {
                    return Value::String(t.to_string());
                }
            }
            let named = matches!(kind, Some("record" | "error" | "enum" | "fixed"));
            let (mut out, mut inner) = (serde_json::Map::new(), ns.to_string());
            if let (true, Some(name)) = (named, map.get("name").and_then(Value::as_str)) {
                let own = map.get("namespace").and_then(Value::as_str).unwrap_or(ns);
                let full = full_name(name, own);
                inner = full
                    .rsplit_once('.')
                    .map_or(String::new(), |(n, _)| n.to_string());
                out.insert("name".into(), Value::String(full));
            }
            for (k, val) in map {
                let val = match k.as_str() {
                    "name" | "namespace" if named => continue,
                    "aliases" if named => Value::Array(
                        val.as_array()
                            .into_iter()
                            .flatten()
                            .map(|a| match a.as_str() {
                                Some(a) => Value::String(full_name(a, &inner)),
                                None => a.clone(),
                            })
                            .collect(),
                    ),
                    // A type definition's own keyword ("record", "array", "long"…); any
                    // other name is a reference (`{"type": "Order"}`).
                    "type" if kind.is_some_and(|t| KEYWORDS.contains(&t)) => val.clone(),
                    "type" | "items" | "values" => normalized(val, &inner),
                    "fields" => Value::Array(
                        val.as_array()
                            .into_iter()
                            .flatten()
                            .map(|f| field(f, &inner))
                            .collect(),
                    ),
                    _ => val.clone(),
                };
                out.insert(k.clone(), val);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// A record field: only its type is a type position (a default is data, a name is the field's).
fn field(f: &Value, ns: &str) -> Value {
    match f {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if k == "type" {
                        normalized(v, ns)
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The short name of a possibly namespaced type name.
fn short(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// The unqualified names of an `aliases` list.
fn names(aliases: Option<&Value>) -> Vec<String> {
    aliases
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|n| short(n).to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A named type of the writer's is read by the reader's type of the same unqualified name, or
/// by one whose aliases name it (the specification's schema resolution).
fn same_name(writer: &str, reader: &str, reader_aliases: &[String]) -> bool {
    writer == reader || reader_aliases.iter().any(|a| a == writer)
}

/// A named type's name and aliases.
fn named(t: &Ty) -> Option<(&str, &[String])> {
    match t {
        Ty::Record { name, aliases }
        | Ty::Enum { name, aliases, .. }
        | Ty::Fixed { name, aliases, .. } => Some((name, aliases)),
        Ty::Named(name) => Some((name, &[])),
        _ => None,
    }
}

fn ty(v: &Value) -> Ty {
    match v {
        Value::String(s) if PRIMITIVES.contains(&s.as_str()) => Ty::Prim(s.clone()),
        Value::String(s) => Ty::Named(short(s).to_string()),
        Value::Array(branches) => Ty::Union(branches.iter().map(ty).collect()),
        Value::Object(o) => {
            let name = o
                .get("name")
                .and_then(Value::as_str)
                .map(|n| short(n).to_string())
                .unwrap_or_default();
            let aliases = names(o.get("aliases"));
            let base = match o.get("type").and_then(Value::as_str).unwrap_or("") {
                "record" | "error" => Ty::Record { name, aliases },
                "enum" => Ty::Enum {
                    name,
                    symbols: o
                        .get("symbols")
                        .and_then(Value::as_array)
                        .map(|s| {
                            s.iter()
                                .filter_map(|x| x.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default(),
                    has_default: o.contains_key("default"),
                    aliases,
                },
                "fixed" => Ty::Fixed {
                    name,
                    size: o.get("size").and_then(Value::as_u64).unwrap_or(0),
                    aliases,
                },
                "array" => Ty::Array(Box::new(ty(o.get("items").unwrap_or(&Value::Null)))),
                "map" => Ty::Map(Box::new(ty(o.get("values").unwrap_or(&Value::Null)))),
                other => ty(&Value::String(other.to_string())),
            };
            match o.get("logicalType").and_then(Value::as_str) {
                Some(logical) => Ty::Logical {
                    logical: logical.to_string(),
                    base: Box::new(base),
                },
                None => base,
            }
        }
        _ => Ty::Prim("null".into()),
    }
}

/// Record fields by path; nested records (directly, in unions, as array items or map values)
/// are walked too.
pub(super) fn shape(raw: &Value) -> Shape {
    let mut shape = Shape::default();
    if is_record(raw) {
        walk(raw, "", &mut shape);
    } else {
        shape.fields.insert(
            String::new(),
            Field {
                ty: ty(raw),
                default: None,
                doc: None,
                required: true,
                aliases: Vec::new(),
            },
        );
    }
    shape
}

fn is_record(v: &Value) -> bool {
    matches!(
        v.get("type").and_then(Value::as_str),
        Some("record" | "error")
    )
}

fn walk(record: &Value, prefix: &str, shape: &mut Shape) {
    let Some(fields) = record.get("fields").and_then(Value::as_array) else {
        return;
    };
    for f in fields {
        let Some(name) = f.get("name").and_then(Value::as_str) else {
            continue;
        };
        let path = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        let t = f.get("type").unwrap_or(&Value::Null);
        let default = f.get("default").cloned();
        shape.fields.insert(
            path.clone(),
            Field {
                ty: ty(t),
                required: default.is_none(),
                default,
                doc: f.get("doc").and_then(Value::as_str).map(String::from),
                aliases: names(f.get("aliases")),
            },
        );
        nested(t, &path, shape);
    }
}

/// Walks the records a field's type holds.
fn nested(t: &Value, path: &str, shape: &mut Shape) {
    match t {
        Value::Object(o) if is_record(t) => {
            let _ = o;
            walk(t, path, shape);
        }
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("array") => {
                if let Some(items) = o.get("items") {
                    nested_container(items, &format!("{path}[]"), shape);
                }
            }
            Some("map") => {
                if let Some(values) = o.get("values") {
                    nested_container(values, &format!("{path}{{}}"), shape);
                }
            }
            _ => {}
        },
        // A union's record branch (the common optional record: ["null", {record}]).
        Value::Array(branches) => {
            for b in branches {
                nested(b, path, shape);
            }
        }
        _ => {}
    }
}

fn nested_container(inner: &Value, path: &str, shape: &mut Shape) {
    if is_record(inner) {
        shape.fields.insert(
            path.to_string(),
            Field {
                ty: ty(inner),
                default: None,
                doc: None,
                required: true,
                aliases: Vec::new(),
            },
        );
        walk(inner, path, shape);
    }
}

/// Avro's promotions: what a reader of type `reader` accepts from a writer's primitive.
fn promotes(writer: &str, reader: &str) -> bool {
    writer == reader
        || matches!(
            (writer, reader),
            ("int", "long" | "float" | "double")
                | ("long", "float" | "double")
                | ("float", "double")
                | ("string", "bytes")
                | ("bytes", "string")
        )
}

/// Avro schema resolution for one field's types.
pub(super) fn readable(writer: &Ty, reader: &Ty) -> Result<(), String> {
    match (writer, reader) {
        (Ty::Logical { base, .. }, r) => readable(base, r),
        (w, Ty::Logical { base, .. }) => readable(w, base),
        (Ty::Union(ws), r) => {
            for w in ws {
                readable(w, r)
                    .map_err(|e| format!("the writer's branch {w} is unreadable: {e}"))?;
            }
            Ok(())
        }
        (w, Ty::Union(rs)) => {
            if rs.iter().any(|r| readable(w, r).is_ok()) {
                Ok(())
            } else {
                Err(format!("{w} is not among the reader's branches {reader}"))
            }
        }
        (Ty::Prim(w), Ty::Prim(r)) if promotes(w, r) => Ok(()),
        (Ty::Array(w), Ty::Array(r)) | (Ty::Map(w), Ty::Map(r)) => readable(w, r),
        (
            Ty::Enum {
                name: wn,
                symbols: ws,
                ..
            },
            Ty::Enum {
                name: rn,
                symbols: rs,
                has_default,
                aliases,
            },
        ) if same_name(wn, rn, aliases) => {
            let missing: Vec<&String> = ws.iter().filter(|s| !rs.contains(s)).collect();
            if missing.is_empty() || *has_default {
                Ok(())
            } else {
                Err(format!(
                    "the reader's enum lacks the symbols {} and has no default",
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
        }
        (
            Ty::Fixed {
                name: wn, size: ws, ..
            },
            Ty::Fixed {
                name: rn,
                size: rs,
                aliases,
            },
        ) if same_name(wn, rn, aliases) => {
            if ws == rs {
                Ok(())
            } else {
                Err(format!(
                    "fixed {rn} holds {rs} bytes, the writer's {wn} {ws}"
                ))
            }
        }
        (Ty::Record { name: w, .. }, Ty::Record { name: r, aliases })
            if same_name(w, r, aliases) =>
        {
            Ok(())
        }
        // A reference by name on either side: the definition it names is compared where it
        // appears in the schema.
        (w @ Ty::Named(_), r) | (w, r @ Ty::Named(_)) if matches!((named(w), named(r)), (Some((wn, _)), Some((rn, ra))) if same_name(wn, rn, ra)) => {
            Ok(())
        }
        (w, r) => Err(format!("{w} cannot be read as {r}")),
    }
}

/// Whether a named type (record, enum, fixed) anywhere in the schema has aliases.
pub(super) fn has_type_aliases(raw: &Value) -> bool {
    match raw {
        Value::Object(o) => {
            let named = matches!(
                o.get("type").and_then(Value::as_str),
                Some("record" | "error" | "enum" | "fixed")
            );
            (named && !names(o.get("aliases")).is_empty()) || o.values().any(has_type_aliases)
        }
        Value::Array(items) => items.iter().any(has_type_aliases),
        _ => false,
    }
}

/// The `apache-avro` crate's verdict: can `reader` read data written with `writer`?
pub(super) fn can_read(
    writer: &apache_avro::Schema,
    reader: &apache_avro::Schema,
) -> Result<(), String> {
    apache_avro::schema_compatibility::SchemaCompatibility::can_read(writer, reader)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A JSON value as the untyped Avro value schema resolution starts from: integers as longs,
/// other numbers as doubles, objects as maps (resolution turns them into records).
fn from_json(v: Value) -> apache_avro::types::Value {
    use apache_avro::types::Value as A;
    match v {
        Value::Null => A::Null,
        Value::Bool(b) => A::Boolean(b),
        Value::Number(n) => n
            .as_i64()
            .map_or(A::Double(n.as_f64().unwrap_or(f64::NAN)), A::Long),
        Value::String(s) => A::String(s),
        Value::Array(a) => A::Array(a.into_iter().map(from_json).collect()),
        Value::Object(o) => A::Map(o.into_iter().map(|(k, v)| (k, from_json(v))).collect()),
    }
}

/// Resolves a JSON sample against the schema; each problem names its field's path.
pub(super) fn sample_errors(schema: &apache_avro::Schema, value: Value) -> Vec<String> {
    if from_json(value.clone()).resolve(schema).is_ok() {
        return Vec::new();
    }
    let mut errors = Vec::new();
    field_errors(schema, schema, &value, "", &mut errors);
    if errors.is_empty() {
        // Resolution failed somewhere the walk does not reach (a union of records, say).
        if let Err(e) = from_json(value).resolve(schema) {
            errors.push(format!("message: {e}"));
        }
    }
    errors
}

/// Walks records field by field so that a failure is reported at the deepest field that has
/// it; anything else is resolved whole against `schema` (named types looked up in `root`).
fn field_errors(
    root: &apache_avro::Schema,
    schema: &apache_avro::Schema,
    value: &Value,
    path: &str,
    out: &mut Vec<String>,
) {
    if let (apache_avro::Schema::Record(r), Value::Object(map)) = (schema, value) {
        for f in &r.fields {
            let at = if path.is_empty() {
                f.name.clone()
            } else {
                format!("{path}.{}", f.name)
            };
            match map.get(&f.name) {
                None if f.default.is_some() => {}
                None => out.push(format!("{at}: missing, and the field has no default")),
                Some(v) => field_errors(root, &f.schema, v, &at, out),
            }
        }
        return;
    }
    if let Err(e) = from_json(value.clone()).resolve_schemata(schema, vec![root]) {
        let at = if path.is_empty() { "message" } else { path };
        out.push(format!("{at}: {e}"));
    }
}
