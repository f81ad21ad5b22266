//! Peek over HTTP on a real broker: the newest 500 Avro messages of about 1 KB from a
//! 6-partition queue (p50/p99 of repeated looks), and a field filter that reads MESSAGES
//! messages to find the few that match (time and bytes read, as the answer reports them).
//!
//! Run with `cargo bench --bench peek --features ssr [-- MESSAGES]` (default 100,000). Needs
//! `tansu` on the PATH. Results go in BENCHMARKS.md.
#![recursion_limit = "512"]

#[path = "../tests/support/kafka_drill.rs"]
mod drill;

use drill::{call, Rig};
use rdkafka::producer::{FutureProducer, FutureRecord};
use reqwest::Method as M;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const LOOKS: usize = 40;
const SCHEMA: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
  {"name":"id","type":"long"},{"name":"country","type":"string"},
  {"name":"email","type":"string","sensitive":true},{"name":"note","type":"string"}]}"#;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let messages: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tansu = drill::tansu_binary().expect("tansu on the PATH (scripts/test.sh installs it)");
        let rig = Rig::start(&tansu, 60, 6).await;
        let base = rig.platform.base.clone();
        let api = |p: &str| format!("{base}/api/v1{p}");
        let http = reqwest::Client::new();
        let token = rig.world.ops.clone();
        let v1 = call(
            &http,
            M::POST,
            api("/queues/shop/orders/schemas"),
            &token,
            json!({"format": "avro", "definition": SCHEMA}),
        )
        .await;
        let id = v1["id"].as_i64().unwrap() as u32;
        let schema = apache_avro::Schema::parse_str(SCHEMA).unwrap();
        let note = "n".repeat(950);
        let producer: FutureProducer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &rig.east.addr)
            .set("linger.ms", "5")
            .create()
            .unwrap();
        let started = Instant::now();
        let mut size = 0;
        let mut last = Vec::new();
        for chunk in (0..messages).collect::<Vec<_>>().chunks(1_000) {
            let values: Vec<(String, Vec<u8>)> = chunk
                .iter()
                .map(|&n| {
                    use apache_avro::types::Value as A;
                    // One message in 10,000 is from Iceland: what the filter looks for.
                    let country = if n % 10_000 == 7 { "IS" } else { "FR" };
                    let record = A::Record(vec![
                        ("id".into(), A::Long(n as i64)),
                        ("country".into(), A::String(country.into())),
                        ("email".into(), A::String(format!("buyer{n}@example.com"))),
                        ("note".into(), A::String(note.clone())),
                    ]);
                    let mut v = vec![0];
                    v.extend_from_slice(&id.to_be_bytes());
                    v.extend(apache_avro::writer::datum::GenericDatumWriter::builder(&schema)
            .build()
            .unwrap()
            .write_value_to_vec(record)
            .unwrap());
                    (format!("k{n}"), v)
                })
                .collect();
            size = values[0].1.len();
            last.clone_from(&values[0].1);
            let pending: Vec<_> = values
                .iter()
                .map(|(k, v)| {
                    producer.send(
                        FutureRecord::to("shop.orders").key(k).payload(v),
                        Duration::from_secs(30),
                    )
                })
                .collect();
            for delivered in futures_util::future::join_all(pending).await {
                delivered.expect("acknowledged");
            }
        }
        // Then one message on its own in each partition: tansu 0.6's in-memory storage answers
        // a partition's end offset as its last batch's first offset + 1 (real Kafka counts every
        // message), so a last batch of one makes the end it reports the true one.
        for partition in 0..6 {
            producer
                .send(
                    FutureRecord::to("shop.orders")
                        .key("last")
                        .payload(&last)
                        .partition(partition),
                    Duration::from_secs(30),
                )
                .await
                .expect("acknowledged");
        }
        println!(
            "wrote {messages} messages (and 6 more) of {size} bytes to 6 partitions in {:.1} s",
            started.elapsed().as_secs_f64()
        );

        let mut took = Vec::new();
        for _ in 0..LOOKS {
            let t = Instant::now();
            let peek = call(
                &http,
                M::GET,
                api("/queues/shop/orders/messages?limit=500"),
                &token,
                Value::Null,
            )
            .await;
            took.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(peek["messages"].as_array().unwrap().len(), 500);
        }
        took.sort_by(f64::total_cmp);
        println!(
            "peek of the newest 500 (decoded, masked), {LOOKS} looks: p50 {:.1} ms, p99 {:.1} ms",
            percentile(&took, 0.5),
            percentile(&took, 0.99)
        );

        // A field filter decodes every message it reads; a key filter only compares keys, so
        // the two tell reading from decoding.
        let scan = messages.div_ceil(6) + 1;
        let filters = [
            ("field", "field=country%20%3D%20%22IS%22"),
            ("key", "key=k7"),
        ];
        for round in 1..=3 {
            for (kind, filter) in filters {
                let t = Instant::now();
                let found = call(
                    &http,
                    M::GET,
                    api(&format!(
                        "/queues/shop/orders/messages?limit=500&{filter}&scan={scan}&max_mb=256&max_secs=30"
                    )),
                    &token,
                    Value::Null,
                )
                .await;
                println!(
                    "{kind} filter round {round}: {} found of {} read, {} MB read, {} ms in the server ({:.0} ms over HTTP), stopped: {}",
                    found["messages"].as_array().unwrap().len(),
                    found["scanned"],
                    found["bytes_read"].as_u64().unwrap() >> 20,
                    found["elapsed_ms"],
                    t.elapsed().as_secs_f64() * 1000.0,
                    found["stopped"]
                );
            }
        }
    });
}
