//! A queue as a Flink SQL table: columns from its schema, Kafka connector options from its
//! active cluster and physical topic.

use super::Parsed;
use crate::domain::{SchemaFormat, TableColumn};
use serde_json::Value;

/// Where the table's data lives.
#[derive(Debug, Clone)]
pub struct TableTarget {
    pub project: String,
    pub queue: String,
    pub topic: String,
    pub bootstrap_servers: Vec<String>,
    /// `none`, `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`.
    pub sasl_mechanism: String,
    pub sasl_username: String,
    pub description: String,
}

/// The top-level fields as columns.
pub fn columns(parsed: &Parsed) -> Vec<TableColumn> {
    match parsed {
        Parsed::Protobuf(p) => p
            .columns()
            .into_iter()
            .map(|(name, sql_type, nullable, doc)| TableColumn {
                name,
                sql_type,
                nullable,
                doc,
            })
            .collect(),
        Parsed::Avro { raw, .. } => match raw.get("fields").and_then(Value::as_array) {
            Some(fields) => fields
                .iter()
                .map(|f| {
                    let (sql_type, nullable) = avro_type(f.get("type").unwrap_or(&Value::Null));
                    TableColumn {
                        name: text(f, "name"),
                        sql_type,
                        nullable,
                        doc: text(f, "doc"),
                    }
                })
                .collect(),
            None => {
                let (sql_type, nullable) = avro_type(raw);
                vec![TableColumn {
                    name: "value".into(),
                    sql_type,
                    nullable,
                    doc: String::new(),
                }]
            }
        },
        Parsed::Json { raw } => {
            let required: Vec<&str> = raw
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            raw.get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    props
                        .iter()
                        .map(|(name, p)| TableColumn {
                            name: name.clone(),
                            sql_type: json_type(p),
                            nullable: !required.contains(&name.as_str()),
                            doc: text(p, "description"),
                        })
                        .collect()
                })
                .unwrap_or_default()
        }
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A Flink type for an Avro type, and whether null is allowed.
fn avro_type(t: &Value) -> (String, bool) {
    match t {
        Value::String(s) => (avro_primitive(s).to_string(), s == "null"),
        Value::Array(branches) => {
            let nullable = branches.iter().any(|b| b == "null");
            let others: Vec<&Value> = branches.iter().filter(|b| *b != "null").collect();
            match others.as_slice() {
                [one] => (avro_type(one).0, nullable),
                // Flink's Avro format has no general unions; the value is kept as text.
                _ => ("STRING".into(), nullable),
            }
        }
        Value::Object(o) => {
            let base = o.get("type").and_then(Value::as_str).unwrap_or("");
            let sql = match (o.get("logicalType").and_then(Value::as_str), base) {
                (Some("timestamp-millis" | "local-timestamp-millis"), _) => "TIMESTAMP(3)".into(),
                (Some("timestamp-micros" | "local-timestamp-micros"), _) => "TIMESTAMP(6)".into(),
                (Some("date"), _) => "DATE".into(),
                (Some("time-millis"), _) => "TIME(3)".into(),
                (Some("time-micros"), _) => "TIME(6)".into(),
                (Some("decimal"), _) => format!(
                    "DECIMAL({}, {})",
                    o.get("precision").and_then(Value::as_u64).unwrap_or(38),
                    o.get("scale").and_then(Value::as_u64).unwrap_or(0)
                ),
                (_, "record") => {
                    let fields: Vec<String> = o
                        .get("fields")
                        .and_then(Value::as_array)
                        .map(|fs| {
                            fs.iter()
                                .map(|f| {
                                    let (t, n) = avro_type(f.get("type").unwrap_or(&Value::Null));
                                    format!("{} {t}{}", ident(&text(f, "name")), not_null(n))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    format!("ROW<{}>", fields.join(", "))
                }
                (_, "array") => format!(
                    "ARRAY<{}>",
                    avro_type(o.get("items").unwrap_or(&Value::Null)).0
                ),
                (_, "map") => format!(
                    "MAP<STRING, {}>",
                    avro_type(o.get("values").unwrap_or(&Value::Null)).0
                ),
                (_, "enum") => "STRING".into(),
                (_, "fixed") => format!(
                    "BINARY({})",
                    o.get("size").and_then(Value::as_u64).unwrap_or(1)
                ),
                (_, other) => avro_primitive(other).to_string(),
            };
            (sql, false)
        }
        _ => ("STRING".into(), true),
    }
}

fn avro_primitive(p: &str) -> &'static str {
    match p {
        "boolean" => "BOOLEAN",
        "int" => "INT",
        "long" => "BIGINT",
        "float" => "FLOAT",
        "double" => "DOUBLE",
        "bytes" => "BYTES",
        "null" => "NULL",
        // Named types defined elsewhere and strings alike read as text.
        _ => "STRING",
    }
}

fn json_type(p: &Value) -> String {
    let t = match p.get("type") {
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string"),
        _ if p.get("properties").is_some() => "object",
        _ => "string",
    };
    match (t, p.get("format").and_then(Value::as_str)) {
        ("string", Some("date-time")) => "TIMESTAMP(3)".into(),
        ("string", Some("date")) => "DATE".into(),
        ("string", Some("time")) => "TIME(3)".into(),
        ("integer", _) => "BIGINT".into(),
        ("number", _) => "DOUBLE".into(),
        ("boolean", _) => "BOOLEAN".into(),
        ("array", _) => format!(
            "ARRAY<{}>",
            json_type(p.get("items").unwrap_or(&Value::Null))
        ),
        ("object", _) => {
            let required: Vec<&str> = p
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match p.get("properties").and_then(Value::as_object) {
                Some(props) if !props.is_empty() => format!(
                    "ROW<{}>",
                    props
                        .iter()
                        .map(|(n, sub)| format!(
                            "{} {}{}",
                            ident(n),
                            json_type(sub),
                            not_null(!required.contains(&n.as_str()))
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => "MAP<STRING, STRING>".into(),
            }
        }
        _ => "STRING".into(),
    }
}

fn not_null(nullable: bool) -> &'static str {
    if nullable {
        ""
    } else {
        " NOT NULL"
    }
}

/// A Flink identifier, backquoted.
fn ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

/// A Flink string literal.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `CREATE TABLE` for Flink SQL's Kafka connector. The table is `project`.`queue`; a SASL
/// password is left as a placeholder for the job's secret store, never printed.
pub fn flink_ddl(target: &TableTarget, parsed: &Parsed) -> String {
    let cols: Vec<String> = columns(parsed)
        .iter()
        .map(|c| {
            let mut line = format!(
                "  {} {}{}",
                ident(&c.name),
                c.sql_type,
                not_null(c.nullable)
            );
            if !c.doc.is_empty() {
                line.push_str(&format!(" COMMENT {}", literal(&c.doc)));
            }
            line
        })
        .collect();
    let mut options = vec![
        ("connector", "kafka".to_string()),
        ("topic", target.topic.clone()),
        (
            "properties.bootstrap.servers",
            target.bootstrap_servers.join(","),
        ),
        (
            "properties.group.id",
            format!("flink-{}-{}", target.project, target.queue),
        ),
        ("scan.startup.mode", "group-offsets".into()),
        ("properties.auto.offset.reset", "earliest".into()),
        (
            "value.format",
            match parsed.format() {
                SchemaFormat::Avro => "avro".into(),
                SchemaFormat::Json => "json".into(),
                SchemaFormat::Protobuf => "protobuf".into(),
            },
        ),
    ];
    if let Parsed::Protobuf(p) = parsed {
        options.push(("value.protobuf.message-class-name", p.java_class()));
    }
    if target.sasl_mechanism != "none" && !target.sasl_mechanism.is_empty() {
        let module = if target.sasl_mechanism == "PLAIN" {
            "org.apache.kafka.common.security.plain.PlainLoginModule"
        } else {
            "org.apache.kafka.common.security.scram.ScramLoginModule"
        };
        options.push(("properties.security.protocol", "SASL_SSL".into()));
        options.push(("properties.sasl.mechanism", target.sasl_mechanism.clone()));
        options.push((
            "properties.sasl.jaas.config",
            format!(
                "{module} required username=\"{}\" password=\"${{WATERSHED_SASL_PASSWORD}}\";",
                target.sasl_username
            ),
        ));
    }
    let opts: Vec<String> = options
        .iter()
        .map(|(k, v)| format!("  {} = {}", literal(k), literal(v)))
        .collect();
    let comment = if target.description.is_empty() {
        String::new()
    } else {
        format!("\nCOMMENT {}", literal(&target.description))
    };
    format!(
        "CREATE TABLE {}.{} (\n{}\n){comment}\nWITH (\n{}\n);",
        ident(&target.project),
        ident(&target.queue),
        cols.join(",\n"),
        opts.join(",\n")
    )
}
