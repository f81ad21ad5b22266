//! JSON Schema (drafts 2020-12 and 07): validation with the `jsonschema` crate, flattening
//! object properties, and which property types accept which.

use super::{Field, Parsed, Shape, Ty};
use crate::domain::ParseProblem;
use serde_json::Value;

const DRAFTS: [&str; 3] = [
    "https://json-schema.org/draft/2020-12/schema",
    "http://json-schema.org/draft-07/schema#",
    "http://json-schema.org/draft-07/schema",
];

fn problem(message: String) -> ParseProblem {
    ParseProblem {
        message,
        line: None,
        column: None,
    }
}

pub(super) fn parse(raw: Value) -> Result<Parsed, ParseProblem> {
    if !raw.is_object() {
        return Err(problem("a JSON Schema here is an object".into()));
    }
    if let Some(draft) = raw.get("$schema") {
        let known = draft.as_str().is_some_and(|d| DRAFTS.contains(&d));
        if !known {
            return Err(problem(format!(
                "$schema {draft} is not supported: use draft 2020-12 ({}) or draft 07 ({})",
                DRAFTS[0], DRAFTS[1]
            )));
        }
    }
    jsonschema::validator_for(&raw).map_err(|e| {
        let at = e.instance_path().to_string();
        problem(format!(
            "not a valid JSON Schema{}: {e}",
            if at.is_empty() {
                String::new()
            } else {
                format!(" at {at}")
            }
        ))
    })?;
    Ok(Parsed::Json { raw })
}

fn types(node: &Value) -> Vec<String> {
    let mut t: Vec<String> = match node.get("type") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ if node.get("properties").is_some() => vec!["object".into()],
        _ => Vec::new(),
    };
    t.sort();
    t
}

fn ty(node: &Value) -> Ty {
    Ty::Json {
        types: types(node),
        values: node.get("enum").and_then(Value::as_array).cloned(),
        format: node.get("format").and_then(Value::as_str).map(String::from),
    }
}

pub(super) fn shape(raw: &Value) -> Shape {
    let mut shape = Shape::default();
    walk(raw, "", &mut shape);
    shape
}

fn walk(node: &Value, prefix: &str, shape: &mut Shape) {
    if node.get("additionalProperties") == Some(&Value::Bool(false)) {
        shape.closed.insert(prefix.to_string());
    }
    if let Some(items) = node.get("items").filter(|i| i.is_object()) {
        let path = format!("{prefix}[]");
        if items.get("properties").is_some() {
            shape.fields.insert(
                path.clone(),
                Field {
                    ty: ty(items),
                    default: None,
                    doc: None,
                    required: true,
                    aliases: Vec::new(),
                },
            );
            walk(items, &path, shape);
        }
    }
    let Some(props) = node.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = node
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, sub) in props {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        shape.fields.insert(
            path.clone(),
            Field {
                ty: ty(sub),
                default: sub.get("default").cloned(),
                doc: sub
                    .get("description")
                    .and_then(Value::as_str)
                    .map(String::from),
                required: required.contains(&name.as_str()),
                aliases: Vec::new(),
            },
        );
        walk(sub, &path, shape);
    }
}

/// Does a reader accept every value the writer's property allows?
pub(super) fn readable(writer: &Ty, reader: &Ty) -> Result<(), String> {
    let (
        Ty::Json {
            types: wt,
            values: wv,
            ..
        },
        Ty::Json {
            types: rt,
            values: rv,
            ..
        },
    ) = (writer, reader)
    else {
        return Err(format!("{writer} cannot be read as {reader}"));
    };
    if !rt.is_empty() {
        if wt.is_empty() {
            return Err(format!(
                "the old schema allows any type, the new only {reader}"
            ));
        }
        let accepted =
            |t: &String| rt.contains(t) || (t == "integer" && rt.iter().any(|r| r == "number"));
        if let Some(t) = wt.iter().find(|t| !accepted(t)) {
            return Err(format!("{t} values are not accepted as {reader}"));
        }
    }
    if let Some(rv) = rv {
        match wv {
            None => return Err(format!("any value was allowed, now only {reader}")),
            Some(wv) => {
                if let Some(v) = wv.iter().find(|v| !rv.contains(v)) {
                    return Err(format!("the value {v} is no longer allowed"));
                }
            }
        }
    }
    Ok(())
}

/// Where `value` breaks the schema, each as the value's location and the schema rule that
/// failed (`/email: fails /properties/email/type`), quoting nothing of the value.
pub(super) fn sample_error_places(schema: &Value, value: &Value) -> Vec<String> {
    validation_errors(schema, value, |e| {
        let at = e.instance_path().to_string();
        let at = if at.is_empty() { "/" } else { at.as_str() };
        format!("{at}: fails {}", e.schema_path())
    })
}

/// Every way a sample breaks the schema, with where.
pub(super) fn sample_errors(schema: &Value, value: &Value) -> Vec<String> {
    validation_errors(schema, value, |e| {
        let at = e.instance_path().to_string();
        if at.is_empty() {
            e.to_string()
        } else {
            format!("{at}: {e}")
        }
    })
}

fn validation_errors(
    schema: &Value,
    value: &Value,
    describe: impl Fn(&jsonschema::ValidationError) -> String,
) -> Vec<String> {
    let Ok(validator) = jsonschema::validator_for(schema) else {
        return vec!["the schema itself is not valid".into()];
    };
    validator.iter_errors(value).map(|e| describe(&e)).collect()
}
