//! A realistic demo dataset: projects, clusters, people and queues generated from vocabularies.

mod fleet;

use super::db::{now_millis, AuditEvent, QueueRow};
use super::services::{accounts, clusters, projects, schemas, Ctx, ServiceResult};
use crate::domain::{ClusterInput, ProjectInput, Role, SchemaInput};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

const PEOPLE: [(&str, Role); 5] = [
    ("alice", Role::Developer),
    ("bob", Role::Approver),
    ("carol", Role::Developer),
    ("dave", Role::Viewer),
    ("erin", Role::Developer),
];

const PROJECTS: [(&str, &str, &str); 6] = [
    (
        "shop",
        "Storefront: carts, orders and checkout events",
        "alice",
    ),
    (
        "payments",
        "Payment authorisations, captures and refunds",
        "bob",
    ),
    (
        "search",
        "Query logs and ranking signals for site search",
        "carol",
    ),
    ("ads", "Ad impressions, clicks and budget pacing", "erin"),
    (
        "logistics",
        "Warehouse, inventory and shipment tracking",
        "alice",
    ),
    (
        "growth",
        "Sign-ups, referrals and lifecycle messaging",
        "carol",
    ),
];

/// Demo clusters have no brokers: their addresses are under `.invalid`, a name that never
/// resolves (RFC 6761), and the platform says so instead of probing them.
const CLUSTERS: [(&str, &str, &str, &str, &str); 5] = [
    (
        "kafka-bj-1",
        "kafka",
        "kafka-bj-1a.demo.invalid:9092,kafka-bj-1b.demo.invalid:9092,kafka-bj-1c.demo.invalid:9092",
        "beijing",
        "on-prem",
    ),
    (
        "kafka-sh-1",
        "kafka",
        "kafka-sh-1a.demo.invalid:9092,kafka-sh-1b.demo.invalid:9092",
        "shanghai",
        "on-prem",
    ),
    (
        "automq-prod",
        "automq",
        "automq-prod.demo.invalid:9092",
        "beijing",
        "aliyun",
    ),
    (
        "msk-us-east",
        "cloud-kafka",
        "b-1.msk.us-east-1.demo.invalid:9096,b-2.msk.us-east-1.demo.invalid:9096",
        "us-east-1",
        "aws",
    ),
    (
        "rocketmq-trade",
        "rocketmq",
        "rmq-ns-1.demo.invalid:9876,rmq-ns-2.demo.invalid:9876",
        "shanghai",
        "on-prem",
    ),
];

const ENTITIES: [&str; 24] = [
    "orders",
    "payments",
    "refunds",
    "clicks",
    "impressions",
    "sessions",
    "carts",
    "checkouts",
    "inventory",
    "shipments",
    "returns",
    "searches",
    "recommendations",
    "signups",
    "referrals",
    "notifications",
    "invoices",
    "pricing",
    "reviews",
    "fraud-signals",
    "page-views",
    "coupons",
    "deliveries",
    "ledger",
];
const KINDS: [(&str, &str); 6] = [
    ("events", "Every {e} event as it happens, in order per key"),
    (
        "changes",
        "Change-data capture of the {e} table (insert, update, delete)",
    ),
    (
        "snapshots",
        "Hourly compacted snapshots of {e} state per entity",
    ),
    (
        "enriched",
        "{E} joined with user and product dimensions, ready for analytics",
    ),
    (
        "dlq",
        "Dead letters: {e} messages that failed processing, with the error",
    ),
    (
        "metrics",
        "Per-minute aggregates of {e} for dashboards and alerting",
    ),
];
const TAGS: [&str; 10] = [
    "pii",
    "core",
    "realtime",
    "analytics",
    "finance",
    "cdc",
    "gold",
    "silver",
    "bronze",
    "experimental",
];
const FORMATS: [&str; 4] = ["avro", "json", "protobuf", "avro"];

/// The name, description and tags of the i-th generated queue; deterministic.
pub fn queue_at(i: usize) -> (String, String, Vec<String>) {
    let e = ENTITIES[i % ENTITIES.len()];
    let (k, desc) = KINDS[(i / ENTITIES.len()) % KINDS.len()];
    let round = i / (ENTITIES.len() * KINDS.len());
    let name = if round == 0 {
        format!("{e}-{k}")
    } else {
        format!("{e}-{k}-{round}")
    };
    let cap = e[..1].to_uppercase() + &e[1..];
    let description = desc.replace("{e}", e).replace("{E}", &cap);
    let tags = vec![
        TAGS[i % TAGS.len()].to_string(),
        TAGS[(i * 7 + 3) % TAGS.len()].to_string(),
    ];
    let mut tags: Vec<String> = tags.into_iter().collect();
    tags.dedup();
    (name, description, tags)
}

/// Seeds people, projects and clusters if missing, then `queues` queues, batched, with a progress bar.
pub async fn seed(cx: &Ctx, queues: usize, progress: bool) -> ServiceResult<()> {
    let (store, actor) = (cx.store(), &cx.actor);
    for (name, role) in PEOPLE {
        if store.user_by_name(name).await?.is_none() {
            accounts::create_user(store, Some(actor), name, &accounts::random_token(), role)
                .await?;
        }
    }
    for (name, description, owner) in PROJECTS {
        if store.project(name).await?.is_none() {
            let input = ProjectInput {
                name: name.into(),
                description: description.into(),
                owners: vec![owner.into()],
                members: PEOPLE
                    .iter()
                    .map(|(p, _)| p.to_string())
                    .filter(|p| p != owner)
                    .take(2)
                    .collect(),
            };
            projects::create(cx, &input).await?;
        }
    }
    for (name, kind, servers, region, cloud) in CLUSTERS {
        if store.cluster(name).await?.is_none() {
            let sasl = kind == "cloud-kafka";
            let input = ClusterInput {
                name: name.into(),
                kind: kind.into(),
                bootstrap_servers: servers.split(',').map(str::to_string).collect(),
                region: region.into(),
                cloud: cloud.into(),
                sasl_mechanism: if sasl { "SCRAM-SHA-512" } else { "none" }.into(),
                sasl_username: if sasl {
                    "watershed".into()
                } else {
                    String::new()
                },
                sasl_password: if sasl {
                    accounts::random_token()
                } else {
                    String::new()
                },
                client_sasl_username: if sasl { "apps".into() } else { String::new() },
                client_sasl_password: if sasl {
                    accounts::random_token()
                } else {
                    String::new()
                },
                max_partitions: Some(64),
                max_retention_hours: Some(24 * 90),
                tls: false,
                tls_ca_pem: String::new(),
                tls_client_cert_pem: String::new(),
                tls_client_key_pem: String::new(),
            };
            clusters::create(cx, &input).await?;
        }
    }
    let project_ids: Vec<(i64, String, String)> = store
        .list_projects()
        .await?
        .into_iter()
        .map(|p| {
            (
                p.id,
                p.name,
                // The project's own owner, not the admin who seeded it.
                p.owners
                    .iter()
                    .find(|o| **o != actor.username)
                    .cloned()
                    .unwrap_or_else(|| actor.username.clone()),
            )
        })
        .collect();
    let cluster_ids: Vec<i64> = store
        .list_clusters()
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    let existing = store.list_queues(&Default::default()).await?.total as usize;

    let bar = if progress {
        ProgressBar::new(queues as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} queues ({per_sec}, eta {eta})")
            .expect("static template"),
    );
    const BATCH: usize = 2_000;
    let mut start = 0;
    while start < queues {
        let end = (start + BATCH).min(queues);
        let rows: Vec<QueueRow> = (start..end)
            .map(|n| {
                let i = existing + n;
                let (name, description, tags) = queue_at(i);
                let (project_id, project, owner) = project_ids[i % project_ids.len()].clone();
                let primary = cluster_ids[i % cluster_ids.len()];
                let backup = i
                    .is_multiple_of(3)
                    .then(|| cluster_ids[(i + 1) % cluster_ids.len()]);
                QueueRow {
                    project_id,
                    topic: format!("{project}.{name}"),
                    name,
                    description,
                    owner,
                    tags,
                    partitions: [3, 6, 12, 24][i % 4],
                    retention_hours: [24, 72, 168, 720][i % 4],
                    data_format: FORMATS[i % FORMATS.len()].into(),
                    primary_cluster_id: primary,
                    backup_cluster_id: backup,
                    active_side: "primary".into(),
                }
            })
            .collect();
        let audit = AuditEvent {
            actor: actor.username.clone(),
            action: "queue.create_batch",
            target_kind: "queue",
            target: format!("{} demo queues", rows.len()),
            summary: format!("generated queues {}..{}", existing + start, existing + end),
        };
        store.create_queues(&rows, &audit).await?;
        bar.inc((end - start) as u64);
        start = end;
    }
    bar.finish_and_clear();
    if existing == 0 {
        seed_schemas(cx, queues.min(SCHEMA_QUEUES)).await?;
        let projects = store.list_projects().await?;
        let mut first = Vec::new();
        for i in 0..queues.min(FLEET_QUEUES) {
            let (name, _, _) = queue_at(i);
            first.extend(
                store
                    .queue(&projects[i % projects.len()].name, &name)
                    .await?,
            );
        }
        fleet::seed(cx, &first).await?;
        quiet_inboxes(cx).await?;
    }
    Ok(())
}

/// Marks the notifications the demo's own history wrote (requests filed and decided while
/// seeding) read for everyone: a fresh demo starts with quiet inboxes.
async fn quiet_inboxes(cx: &Ctx) -> ServiceResult<()> {
    let store = cx.store();
    for user in store.list_users().await? {
        let audit = AuditEvent {
            actor: cx.actor.username.clone(),
            action: "notification.read",
            target_kind: "user",
            target: user.username.clone(),
            summary: "the demo's seeded history, marked read".into(),
        };
        store
            .mark_notifications_read(&user.username, now_millis(), &audit)
            .await?;
    }
    Ok(())
}

/// The first this many demo queues carry the demo fleet's pipelines.
const FLEET_QUEUES: usize = 32;

/// The first this many demo queues (every entity's events and changes) get schemas.
const SCHEMA_QUEUES: usize = 48;

/// Publishes schemas for the first `n` demo queues in Avro, JSON Schema or Protobuf (by the
/// queue's format), a second compatible version for every third.
async fn seed_schemas(cx: &Ctx, n: usize) -> ServiceResult<()> {
    let store = cx.store();
    let projects = store.list_projects().await?;
    for i in 0..n {
        let format = FORMATS[i % FORMATS.len()];
        let (name, description, _) = queue_at(i);
        let project = &projects[i % projects.len()].name;
        let e = ENTITIES[i % ENTITIES.len()];
        let changes = (i / ENTITIES.len()) % KINDS.len() == 1;
        let mut versions = vec![(demo_fields(e, changes, false), "first version")];
        if i % 3 == 0 {
            versions.push((
                demo_fields(e, changes, true),
                "adds the source of the event",
            ));
        }
        for (fields, comment) in versions {
            let definition = match format {
                "avro" => serde_json::to_string_pretty(&avro_schema(e, &description, &fields)),
                "json" => serde_json::to_string_pretty(&json_schema(e, &description, &fields)),
                _ => Ok(proto_schema(e, &description, &fields)),
            };
            let input = SchemaInput {
                format: format.into(),
                definition: definition.unwrap_or_default(),
                comment: comment.into(),
                references: Vec::new(),
            };
            schemas::publish(cx, project, &name, &input).await?;
        }
    }
    Ok(())
}

/// A demo entity's event as a proto3 file: comments as docs, the optional fields `optional`,
/// the change operation an enum.
fn proto_schema(entity: &str, description: &str, fields: &[DemoField]) -> String {
    let message: String = entity
        .split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<String>()
        + "Event";
    let mut out = format!(
        "syntax = \"proto3\";\npackage demo.{};\n\n// {description}\nmessage {message} {{\n",
        entity.replace('-', "_")
    );
    for (i, (name, ty, optional, _, doc)) in fields.iter().enumerate() {
        let ty = match *ty {
            "long" | "timestamp" => "int64",
            "double" => "double",
            "op" => "Op",
            _ => "string",
        };
        let label = if *optional { "optional " } else { "" };
        out.push_str(&format!("  // {doc}\n  {label}{ty} {name} = {};\n", i + 1));
    }
    if fields.iter().any(|f| f.1 == "op") {
        out.push_str("\n  enum Op {\n    OP_UNSPECIFIED = 0;\n    INSERT = 1;\n    UPDATE = 2;\n    DELETE = 3;\n  }\n");
    }
    out.push_str("}\n");
    out
}

/// A demo field: name, type (`string`, `long`, `double`, `timestamp`, `op`), optional,
/// default, doc.
type DemoField = (String, &'static str, bool, Option<Value>, String);

fn demo_fields(entity: &str, changes: bool, with_source: bool) -> Vec<DemoField> {
    let key = format!("{}_id", entity.trim_end_matches('s').replace('-', "_"));
    let mut fields: Vec<DemoField> = vec![
        (
            "event_id".into(),
            "string",
            false,
            None,
            "Unique id of the event".into(),
        ),
        (
            "occurred_at".into(),
            "timestamp",
            false,
            None,
            "When it happened, in milliseconds since the epoch".into(),
        ),
        (
            key,
            "string",
            false,
            None,
            format!("The {entity} record it concerns"),
        ),
        (
            "user_id".into(),
            "string",
            true,
            None,
            "The user, when known".into(),
        ),
    ];
    let money = [
        "orders",
        "payments",
        "refunds",
        "invoices",
        "ledger",
        "pricing",
        "coupons",
        "checkouts",
        "carts",
    ];
    if money.contains(&entity) {
        fields.push((
            "amount".into(),
            "double",
            false,
            None,
            "Amount in the currency's major unit".into(),
        ));
        fields.push((
            "currency".into(),
            "string",
            false,
            None,
            "ISO 4217 currency code".into(),
        ));
    } else {
        fields.push((
            "status".into(),
            "string",
            false,
            None,
            format!("State of the {entity} record"),
        ));
    }
    if changes {
        fields.push((
            "op".into(),
            "op",
            false,
            None,
            "Change-data-capture operation".into(),
        ));
    }
    if with_source {
        fields.push((
            "source".into(),
            "string",
            false,
            Some(json!("web")),
            "Channel the event came from".into(),
        ));
    }
    fields
}

fn record_name(entity: &str) -> String {
    entity
        .split('-')
        .map(|w| w[..1].to_uppercase() + &w[1..])
        .collect::<String>()
        + "Event"
}

fn avro_schema(entity: &str, doc: &str, fields: &[DemoField]) -> Value {
    let fields: Vec<Value> = fields
        .iter()
        .map(|(name, ty, optional, default, doc)| {
            let base = match *ty {
                "timestamp" => json!({"type": "long", "logicalType": "timestamp-millis"}),
                "op" => {
                    json!({"type": "enum", "name": "Op", "symbols": ["INSERT", "UPDATE", "DELETE"]})
                }
                t => json!(t),
            };
            let mut f = json!({"name": name, "doc": doc});
            if *optional {
                f["type"] = json!(["null", base]);
                f["default"] = Value::Null;
            } else {
                f["type"] = base;
            }
            if let Some(d) = default {
                f["default"] = d.clone();
            }
            f
        })
        .collect();
    json!({"type": "record", "name": record_name(entity), "namespace": "watershed.demo", "doc": doc, "fields": fields})
}

fn json_schema(entity: &str, doc: &str, fields: &[DemoField]) -> Value {
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    for (name, ty, optional, default, fdoc) in fields {
        let mut p = match *ty {
            "timestamp" => json!({"type": "integer", "format": "timestamp-millis"}),
            "long" => json!({"type": "integer"}),
            "double" => json!({"type": "number"}),
            "op" => json!({"type": "string", "enum": ["INSERT", "UPDATE", "DELETE"]}),
            _ => json!({"type": "string"}),
        };
        p["description"] = json!(fdoc);
        if let Some(d) = default {
            p["default"] = d.clone();
        }
        if !optional && default.is_none() {
            required.push(name.clone());
        }
        properties.insert(name.clone(), p);
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": record_name(entity),
        "description": doc,
        "type": "object",
        "properties": properties,
        "required": required,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_queue_names_are_unique_and_valid() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..5_000 {
            let (name, description, tags) = queue_at(i);
            assert!(crate::domain::Slug::parse("name", &name).is_ok(), "{name}");
            assert!(!description.is_empty() && !tags.is_empty());
            assert!(seen.insert(name), "duplicate at {i}");
        }
    }
}
