//! Peek on a real broker (tansu): Avro messages in the Schema Registry's wire format under the
//! queue's registered schema, read back decoded with the version named; a sensitive field
//! masked for a grant holder and clear for the project's owner who asks (audited); a value
//! that breaks the contract flagged; filters by key, field and text; JSON lines; bad input
//! naming its field; a stranger refused; a cluster that is down named; and no consumer group
//! left on the broker.

use crate::drill::{self, call, Broker, Platform};
use rdkafka::producer::{FutureProducer, FutureRecord};
use reqwest::Method as M;
use serde_json::{json, Value};
use std::time::Duration;
use watershed::domain::Role;

const ORDER: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
  {"name":"id","type":"long"},
  {"name":"country","type":"string"},
  {"name":"email","type":"string","sensitive":true}]}"#;

/// A GET that may fail: its status and JSON body.
async fn get(http: &reqwest::Client, url: String, token: &str) -> (u16, Value) {
    let r = http.get(&url).bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// An order in the wire format: a zero byte, the schema id, the Avro datum.
fn framed(id: u32, n: i64, country: &str) -> Vec<u8> {
    use apache_avro::types::Value as A;
    let schema = apache_avro::Schema::parse_str(ORDER).unwrap();
    let record = A::Record(vec![
        ("id".into(), A::Long(n)),
        ("country".into(), A::String(country.into())),
        ("email".into(), A::String(format!("buyer{n}@example.com"))),
    ]);
    let mut out = vec![0];
    out.extend_from_slice(&id.to_be_bytes());
    out.extend(
        apache_avro::writer::datum::GenericDatumWriter::builder(&schema)
            .build()
            .unwrap()
            .write_value_to_vec(record)
            .unwrap(),
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn peek_decodes_masks_filters_and_never_joins_a_group() {
    let Some(tansu) = drill::tansu_binary() else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "tansu is required in CI (the test command installs it)"
        );
        eprintln!("skipped: tansu is not available");
        return;
    };
    let broker = Broker::start(&tansu, "east").await;
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("watershed.db").display());
    let (ops, dev) = drill::users(&db_url).await;
    let eve = {
        let store = watershed::server::db::connect(&db_url).await.unwrap();
        drill::user_token(store.as_ref(), "eve", Role::Developer).await
    };
    let platform = Platform::start(&dir.path().join("data"), &db_url, 60).await;
    let base = platform.base.clone();
    let w = drill::world(&base, ops, dev, &broker.addr, &broker.addr, 3).await;
    let http = reqwest::Client::new();
    let api = |p: &str| format!("{base}/api/v1{p}");

    // The queue's schema, with a sensitive field; its registry id frames the values.
    let v1 = call(
        &http,
        M::POST,
        api("/queues/shop/orders/schemas"),
        &w.ops,
        json!({"format": "avro", "definition": ORDER}),
    )
    .await;
    let id = v1["id"].as_i64().unwrap() as u32;
    let topic = call(
        &http,
        M::GET,
        api("/queues/shop/orders"),
        &w.ops,
        Value::Null,
    )
    .await["topic"]
        .as_str()
        .unwrap()
        .to_string();
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .create()
        .unwrap();
    for n in 0..30i64 {
        let value = framed(id, n, if n % 2 == 0 { "FR" } else { "DE" });
        let key = format!("k{n}");
        producer
            .send(
                FutureRecord::to(&topic)
                    .key(&key)
                    .payload(&value)
                    .partition((n % 3) as i32),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
    // A producer breaking the contract: plain text on an Avro queue.
    producer
        .send(
            FutureRecord::to(&topic)
                .key("bad")
                .payload("not avro at all")
                .partition(0),
            Duration::from_secs(10),
        )
        .await
        .unwrap();

    // A grant holder (dev's application consumes the queue) sees decoded values, masked.
    let (status, peek) = get(&http, api("/queues/shop/orders/messages?limit=5"), &w.dev).await;
    assert_eq!(status, 200, "{peek}");
    let messages = peek["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 5, "{peek}");
    assert_eq!(peek["schema_version"], 1);
    assert_eq!(peek["cluster"], "east");
    assert_eq!(peek["can_unmask"], false);
    let decoded: Vec<&Value> = messages
        .iter()
        .filter(|m| m["encoding"] == "avro")
        .collect();
    assert!(!decoded.is_empty(), "{peek}");
    for m in &decoded {
        assert_eq!(m["schema_id"], id, "{m}");
        assert_eq!(m["schema_version"], 1, "{m}");
        let value: Value = serde_json::from_str(m["value"].as_str().unwrap()).unwrap();
        assert!(
            value["country"] == "FR" || value["country"] == "DE",
            "{value}"
        );
        assert!(
            value["email"].as_str().unwrap().starts_with("•••"),
            "masked for a grant holder: {value}"
        );
        assert_eq!(m["masked_fields"], json!(["email"]));
        assert!(m["producer_command"].is_null());
    }
    // Newest first.
    let times: Vec<i64> = messages
        .iter()
        .map(|m| m["timestamp"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    // The contract breaker is flagged with the reason.
    let (_, all) = get(&http, api("/queues/shop/orders/messages?limit=500"), &w.dev).await;
    assert_eq!(all["messages"].as_array().unwrap().len(), 31, "{all}");
    assert_eq!(all["stopped"], "end");
    let bad = all["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == "bad")
        .unwrap();
    assert_eq!(bad["encoding"], "text");
    assert!(
        bad["problem"].as_str().unwrap().contains("wire format"),
        "{bad}"
    );
    // Its sensitive fields cannot be told from the rest, so it is masked whole.
    assert_eq!(bad["value"], "••• text, 9–32 chars", "{bad}");

    // The project's owner (ops made shop) may unmask, and that is audited apart.
    let (status, clear) = get(
        &http,
        api("/queues/shop/orders/messages?limit=3&unmask=true"),
        &w.ops,
    )
    .await;
    assert_eq!(status, 200, "{clear}");
    assert_eq!(clear["unmasked"], true);
    let first = clear["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["encoding"] == "avro")
        .unwrap();
    let value: Value = serde_json::from_str(first["value"].as_str().unwrap()).unwrap();
    assert!(
        value["email"].as_str().unwrap().ends_with("@example.com"),
        "{value}"
    );
    assert!(first["producer_command"]
        .as_str()
        .unwrap()
        .starts_with("producer.send(Some(b\"k"));
    let (status, refused) = get(
        &http,
        api("/queues/shop/orders/messages?unmask=true"),
        &w.dev,
    )
    .await;
    assert_eq!(status, 403, "only owners unmask: {refused}");

    // Filters: a field's value, a key, text; a masked field cannot be filtered on.
    let (_, de) = get(
        &http,
        api("/queues/shop/orders/messages?limit=500&field=country%20%3D%20%22DE%22"),
        &w.dev,
    )
    .await;
    assert_eq!(de["messages"].as_array().unwrap().len(), 15, "{de}");
    assert_eq!(de["scanned"], 31, "{de}");
    assert!(de["bytes_read"].as_u64().unwrap() > 0);
    let (_, k7) = get(&http, api("/queues/shop/orders/messages?key=k7"), &w.dev).await;
    assert_eq!(k7["messages"].as_array().unwrap().len(), 1, "{k7}");
    assert_eq!(k7["messages"][0]["key"], "k7");
    let (_, text) = get(&http, api("/queues/shop/orders/messages?text=BAD"), &w.dev).await;
    assert_eq!(text["messages"].as_array().unwrap().len(), 1, "{text}");
    assert_eq!(text["messages"][0]["key"], "bad", "{text}");
    let (_, text) = get(
        &http,
        api("/queues/shop/orders/messages?text=AT%20ALL"),
        &w.dev,
    )
    .await;
    assert_eq!(
        text["messages"].as_array().unwrap().len(),
        0,
        "the broken value is masked for a grant holder: {text}"
    );
    let (_, text) = get(
        &http,
        api("/queues/shop/orders/messages?text=AT%20ALL&unmask=true"),
        &w.ops,
    )
    .await;
    assert_eq!(text["messages"].as_array().unwrap().len(), 1, "{text}");
    assert_eq!(text["messages"][0]["value"], "not avro at all", "{text}");
    let (_, hidden) = get(
        &http,
        api("/queues/shop/orders/messages?text=example.com"),
        &w.dev,
    )
    .await;
    assert_eq!(
        hidden["messages"].as_array().unwrap().len(),
        0,
        "a masked value cannot be found by text: {hidden}"
    );
    let (status, masked) = get(
        &http,
        api("/queues/shop/orders/messages?field=email%3Dx"),
        &w.dev,
    )
    .await;
    assert_eq!(status, 422, "{masked}");
    assert_eq!(masked["fields"][0]["field"], "field", "{masked}");

    // From an offset of one partition: oldest first.
    let (_, p0) = get(
        &http,
        api("/queues/shop/orders/messages?partition=0&offset=2&limit=3"),
        &w.dev,
    )
    .await;
    let offsets: Vec<i64> = p0["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets, [2, 3, 4], "{p0}");
    assert_eq!(p0["stopped"], "limit");

    // JSON lines, masked as shown.
    let r = http
        .get(api("/queues/shop/orders/messages/download?limit=4"))
        .bearer_auth(&w.dev)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let body = r.text().await.unwrap();
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{body}");
    assert!(!body.contains("@example.com"), "{body}");

    // Bad input names its field; a stranger is refused.
    for (query, field) in [
        ("offset=1000000", "offset"),
        ("partition=9", "partition"),
        ("from_time=2999-01-01T00:00:00Z", "from_time"),
        ("limit=501", "limit"),
        ("side=other&partition=x", "partition"),
    ] {
        let (status, e) = get(
            &http,
            api(&format!("/queues/shop/orders/messages?{query}")),
            &w.dev,
        )
        .await;
        assert_eq!(status, 422, "{query}: {e}");
        assert_eq!(e["fields"][0]["field"], field, "{query}: {e}");
    }
    let (status, e) = get(&http, api("/queues/shop/orders/messages"), &eve).await;
    assert_eq!(status, 403, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("request access"),
        "{e}"
    );

    // Every look is in the audit log, with who, how many and the filters.
    let peeks = call(
        &http,
        M::GET,
        api("/audit?action=queue.peek"),
        &w.ops,
        Value::Null,
    )
    .await;
    // Nine looks succeeded without unmasking (refused and invalid ones leave no entry).
    assert_eq!(peeks["total"], 9, "{peeks}");
    let summaries = peeks.to_string();
    assert!(
        summaries.contains("field country = \\\"DE\\\""),
        "{summaries}"
    );
    let unmasked = call(
        &http,
        M::GET,
        api("/audit?action=queue.peek_unmasked"),
        &w.ops,
        Value::Null,
    )
    .await;
    assert_eq!(unmasked["total"], 2, "{unmasked}");

    // An owner marks a field sensitive on the schema page's behalf: masked from then on,
    // audited; a field the schema does not have is named.
    let marked = call(
        &http,
        M::PUT,
        api("/queues/shop/orders/sensitive-fields"),
        &w.ops,
        json!({"fields": ["country"]}),
    )
    .await;
    assert_eq!(
        marked,
        json!({"in_schema": ["email"], "marked": ["country"]})
    );
    let (_, now) = get(&http, api("/queues/shop/orders/messages?limit=2"), &w.dev).await;
    let newest_order = now["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["encoding"] == "avro")
        .unwrap();
    let value: Value = serde_json::from_str(newest_order["value"].as_str().unwrap()).unwrap();
    assert!(
        value["country"].as_str().unwrap().starts_with("•••"),
        "{value}"
    );
    let (status, _) = get(
        &http,
        api("/queues/shop/orders/messages?field=country%3DFR"),
        &w.dev,
    )
    .await;
    assert_eq!(status, 422);
    let r = http
        .put(api("/queues/shop/orders/sensitive-fields"))
        .bearer_auth(&w.ops)
        .json(&json!({"fields": ["nope"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["fields"][0]["field"], "fields", "{e}");
    let r = http
        .put(api("/queues/shop/orders/sensitive-fields"))
        .bearer_auth(&w.dev)
        .json(&json!({"fields": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403, "only shop's owners mark fields");
    let audit = call(
        &http,
        M::GET,
        api("/audit?action=schema.sensitive_fields"),
        &w.ops,
        Value::Null,
    )
    .await;
    assert_eq!(audit["total"], 1, "{audit}");

    // No consumer group was made on the broker.
    let admin = watershed_sdk::cluster::Admin::new(&watershed_sdk::wire::SdkCluster {
        name: "east".into(),
        kind: "kafka".into(),
        bootstrap_servers: vec![broker.addr.clone()],
        sasl_mechanism: "none".into(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(admin.groups().await.unwrap(), Vec::<String>::new());

    // A cluster that is down is named.
    let dead = format!("127.0.0.1:{}", drill::free_port());
    call(
        &http,
        M::POST,
        api("/clusters"),
        &w.ops,
        json!({"name": "dead", "kind": "kafka", "bootstrap_servers": [dead]}),
    )
    .await;
    call(
        &http,
        M::POST,
        api("/queues"),
        &w.ops,
        json!({"project": "shop", "name": "stuck", "primary_cluster": "dead"}),
    )
    .await;
    let (status, e) = get(&http, api("/queues/shop/stuck/messages?max_secs=1"), &w.ops).await;
    assert_eq!(status, 503, "{e}");
    assert!(e["error"].as_str().unwrap().contains("dead"), "{e}");
}
