//! Stream-SDK throughput as a share of bare librdkafka, on the same `tansu` broker, topic and
//! message size. The bare clients get the SDK's own defaults (idempotent, `acks=all`, lz4,
//! `linger.ms=5`, cooperative-sticky), so the difference is what the SDK adds: the platform
//! lookup (before timing starts), the route lock, counting and reports, and owned messages.
//!
//! Producers send MESSAGES messages of SIZE bytes in batches of 1,000 and wait for every
//! acknowledgement; consumers (a fresh group each) read everything on the topic from the
//! earliest offset. Bare and SDK take turns, three rounds each.
//!
//! Run with `cargo bench --bench throughput --features ssr [-- MESSAGES [SIZE]]` (default
//! 200,000 messages of 512 bytes). Needs `tansu` on the PATH. Results go in BENCHMARKS.md.
#![recursion_limit = "512"]

#[path = "../tests/support/kafka_drill.rs"]
mod drill;

use drill::Rig;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig as RdConfig;
use std::time::{Duration, Instant};
use watershed_sdk::{Consumer, Producer};

const BATCH: usize = 1_000;
const ROUNDS: usize = 3;
const TOPIC: &str = "shop.orders";

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<usize>().ok());
    let messages = args.next().unwrap_or(200_000);
    let size = args.next().unwrap_or(512);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tansu = drill::tansu_binary().expect("tansu on the PATH (scripts/test.sh installs it)");
        let rig = Rig::start(&tansu, 60, 6).await;
        let cache = rig.dir.path().join("cache");
        let config = |id: &str| drill::client(&rig.platform.base, &rig.world.app_token, &cache, id);
        let value = vec![b'x'; size];
        let (mut bare_out, mut sdk_out, mut bare_in, mut sdk_in) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut on_topic = 0;
        for round in 0..ROUNDS {
            bare_out.push(bare_produce(&rig.east.addr, messages, &value).await);
            let producer = Producer::connect(config(&format!("bench-producer-{round}")))
                .await
                .expect("producer connects");
            sdk_out.push(sdk_produce(&producer, messages, &value).await);
            producer.close().await.ok();
            on_topic += 2 * messages;
            bare_in.push(bare_consume(&rig.east.addr, &format!("bare-{round}"), on_topic).await);
            let consumer = Consumer::connect(
                config(&format!("bench-consumer-{round}"))
                    .with_consumer_group(format!("sdk-{round}")),
            )
            .await
            .expect("consumer connects");
            sdk_in.push(sdk_consume(consumer, on_topic).await);
        }
        let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
        let show = |v: &[f64]| {
            v.iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        println!(
            "\n{messages} messages of {size} bytes per producer run, 6 partitions, one tansu broker\n\
             produce, bare rdkafka: {} msg/s\n\
             produce, Stream-SDK:   {} msg/s ({:.0}% of bare, best against best)\n\
             consume, bare rdkafka: {} msg/s\n\
             consume, Stream-SDK:   {} msg/s ({:.0}% of bare, best against best)",
            show(&bare_out),
            show(&sdk_out),
            100.0 * best(&sdk_out) / best(&bare_out),
            show(&bare_in),
            show(&sdk_in),
            100.0 * best(&sdk_in) / best(&bare_in),
        );
    });
}

/// librdkafka settings as the SDK sets them, for `addr`.
fn bare(addr: &str) -> RdConfig {
    let mut c = RdConfig::new();
    c.set("bootstrap.servers", addr)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5")
        .set("compression.type", "lz4");
    c
}

async fn bare_produce(addr: &str, messages: usize, value: &[u8]) -> f64 {
    let producer: FutureProducer = bare(addr).create().unwrap();
    let started = Instant::now();
    let mut sent = 0;
    while sent < messages {
        // The keys outlive the sends that borrow them.
        let keys: Vec<String> = (sent..(sent + BATCH).min(messages))
            .map(|i| i.to_string())
            .collect();
        let mut pending = Vec::with_capacity(BATCH);
        for key in &keys {
            let record = FutureRecord::to(TOPIC).key(key).payload(value);
            pending.push(producer.send(record, Duration::from_secs(10)));
        }
        sent += pending.len();
        for delivered in futures_util::future::join_all(pending).await {
            delivered.expect("acknowledged");
        }
    }
    messages as f64 / started.elapsed().as_secs_f64()
}

async fn sdk_produce(producer: &Producer, messages: usize, value: &[u8]) -> f64 {
    let started = Instant::now();
    let mut sent = 0;
    while sent < messages {
        let batch: Vec<(Option<Vec<u8>>, Vec<u8>)> = (sent..(sent + BATCH).min(messages))
            .map(|i| (Some(i.to_string().into_bytes()), value.to_vec()))
            .collect();
        sent += batch.len();
        producer.send_batch(batch).await.expect("acknowledged");
    }
    messages as f64 / started.elapsed().as_secs_f64()
}

async fn bare_consume(addr: &str, group: &str, expect: usize) -> f64 {
    let consumer: StreamConsumer = bare(addr)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .create()
        .unwrap();
    consumer.subscribe(&[TOPIC]).unwrap();
    let started = Instant::now();
    let mut read = 0;
    while read < expect {
        consumer.recv().await.expect("a message");
        read += 1;
    }
    expect as f64 / started.elapsed().as_secs_f64()
}

async fn sdk_consume(mut consumer: Consumer, expect: usize) -> f64 {
    let started = Instant::now();
    let mut read = 0;
    while read < expect {
        read += consumer
            .poll(Duration::from_millis(500))
            .await
            .expect("a poll")
            .len();
    }
    let rate = expect as f64 / started.elapsed().as_secs_f64();
    consumer.close().await.ok();
    rate
}
