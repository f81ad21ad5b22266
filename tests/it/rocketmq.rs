//! End to end on two real RocketMQ clusters (the rocketmq-rust project's name server and broker,
//! one pair each): registered by their name servers, probed, the queue's topic provisioned on
//! primary and backup, a Stream-SDK producer writing through a failover and a failback,
//! RocketMQ's own consumer reading every acknowledged message on both clusters, the group's
//! progress and lag in the console's series, and an existing topic imported.

use crate::drill::{self, call, Platform};
use crate::rocketmq_cluster::Cluster;
use reqwest::Method as M;
use rocketmq_client_rust::DefaultLitePullConsumer;
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use watershed_sdk::cluster::Admin;
use watershed_sdk::kafka::TopicPlan;
use watershed_sdk::Producer;

fn required(what: &str) -> bool {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} is required in CI (the test command installs it)");
    }
    eprintln!("skipped: {what} is not available");
    false
}

/// Reads the topic on `cluster` as consumer group `group` from the earliest offset until
/// `want` messages arrived (or 60 s passed), commits what it read, and answers the bodies.
async fn read_with_rocketmq(
    cluster: &Cluster,
    topic: &str,
    group: &str,
    want: usize,
) -> HashSet<String> {
    let runtime = watershed_sdk::rocketmq::runtime().unwrap();
    let consumer = DefaultLitePullConsumer::builder(runtime)
        .name_server_addr(cluster.namesrv_addr.as_str())
        .consumer_group(group)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .auto_commit(false)
        .poll_timeout_millis(1_000)
        .build()
        .unwrap();
    consumer.subscribe(topic).await.unwrap();
    consumer.start().await.unwrap();
    // Distinct bodies: a queue may be handed out again after a rebalance.
    let mut bodies = HashSet::new();
    let started = Instant::now();
    while bodies.len() < want && started.elapsed() < Duration::from_secs(60) {
        for m in consumer.poll_with_timeout(1_000).await {
            if let Some(body) = m.body() {
                bodies.insert(String::from_utf8_lossy(&body).into_owned());
            }
        }
    }
    consumer.commit_all().await.unwrap();
    // Shutting down persists the committed offsets on the broker.
    consumer.shutdown().await;
    bodies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_queue_lives_on_rocketmq_like_any_other() {
    if crate::rocketmq_cluster::binaries().is_none() {
        required("rocketmq-namesrv-rust and rocketmq-broker-rust");
        return;
    }
    let (east, west) = tokio::join!(Cluster::start("east"), Cluster::start("west"));
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("platform.db").display());
    let (ops, dev) = drill::users(&db_url).await;
    let platform = Platform::start(&dir.path().join("data"), &db_url, 2).await;
    let base = platform.base.clone();
    let rocketmq = |name: &str, c: &Cluster| json!({"name": name, "kind": "rocketmq", "bootstrap_servers": [c.namesrv_addr]});
    // The queue's topic is made on both clusters by the platform (world_on waits for it).
    let w = drill::world_on(
        &base,
        ops,
        dev,
        [rocketmq("east", &east), rocketmq("west", &west)],
        4,
    )
    .await;
    let http = reqwest::Client::new();
    let api = |p: &str| format!("{base}/api/v1{p}");
    // RocketMQ topic names take no dots: the queue's default topic is shop_orders there.
    let q = call(
        &http,
        M::GET,
        api("/queues/shop/orders"),
        &w.ops,
        Value::Null,
    )
    .await;
    assert_eq!(q["topic"], "shop_orders", "{q}");
    let made = call(
        &http,
        M::GET,
        api("/audit?action=topic.create"),
        &w.ops,
        Value::Null,
    )
    .await;
    assert_eq!(made["total"], 2, "{made}");
    for c in [&east, &west] {
        let admin = Admin::new(&c.sdk_cluster("check")).unwrap();
        let info = admin.describe().await.unwrap();
        let topic = info.topics.iter().find(|t| t.name == "shop_orders");
        assert_eq!(topic.map(|t| t.partitions), Some(4), "{info:?}");
    }

    // Health straight from the name server: the broker, and only real topics counted (once
    // the health kept from before provisioning has expired).
    let started = Instant::now();
    let health = loop {
        let health = call(
            &http,
            M::GET,
            api("/clusters/east/health"),
            &w.ops,
            Value::Null,
        )
        .await;
        if health["topics"] == 1 || started.elapsed() > Duration::from_secs(25) {
            break health;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(health["reachable"], true, "{health}");
    let brokers = health["brokers"].as_array().unwrap();
    assert_eq!(brokers.len(), 1, "{health}");
    assert!(
        brokers[0]
            .as_str()
            .unwrap()
            .contains(&east.broker_addr.replace("127.0.0.1:", "")),
        "{health}"
    );
    assert_eq!(
        health["topics"], 1,
        "system topics are not counted: {health}"
    );

    // The SDK producer writes, unchanged, to a queue on RocketMQ: keyed messages keep to one
    // queue (partition), and it follows a failover and a failback.
    let cache = dir.path().join("cache");
    let producer = Producer::connect(drill::client(&base, &w.app_token, &cache, "rmq-producer"))
        .await
        .expect("producer connects to RocketMQ");
    assert_eq!(producer.cluster().await, "east");
    let mut acked = Vec::new();
    let mut partitions_of_key = HashSet::new();
    for i in 0..30 {
        let d = producer
            .send(Some(b"customer-7"), format!("east-{i}").as_bytes())
            .await
            .unwrap();
        assert_eq!(d.cluster, "east");
        partitions_of_key.insert(d.partition);
        acked.push(format!("east-{i}"));
    }
    assert_eq!(partitions_of_key.len(), 1, "one key, one queue");
    for i in 0..10 {
        producer
            .send(None, format!("spread-{i}").as_bytes())
            .await
            .unwrap();
        acked.push(format!("spread-{i}"));
    }
    drill::fail_over(&base, &w.ops, "backup").await;
    let started = Instant::now();
    let mut on_west = 0;
    while on_west < 20 {
        let body = format!("switch-{}", acked.len());
        let d = producer.send(None, body.as_bytes()).await.unwrap();
        acked.push(body);
        if d.cluster == "west" {
            on_west += 1;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the producer never moved to west"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drill::fail_over(&base, &w.ops, "primary").await;
    let started = Instant::now();
    loop {
        let body = format!("back-{}", acked.len());
        let d = producer.send(None, body.as_bytes()).await.unwrap();
        acked.push(body);
        if d.cluster == "west" {
            // Sent before the producer heard of the failback.
            on_west += 1;
        }
        if d.cluster == "east" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the producer never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    producer.close().await.unwrap();

    // RocketMQ's own consumer finds every acknowledged message on one cluster or the other.
    let on_east_count = acked.len() - on_west;
    let mut read = read_with_rocketmq(&west, "shop_orders", "audit", on_west).await;
    read.extend(read_with_rocketmq(&east, "shop_orders", "audit", on_east_count).await);
    let missing: Vec<_> = acked.iter().filter(|b| !read.contains(*b)).collect();
    assert!(
        missing.is_empty(),
        "not found on either cluster: {missing:?}"
    );

    // A group that read part of the queue shows its progress and lag in the console.
    let lagging = read_with_rocketmq(&east, "shop_orders", "lagging", 1).await;
    assert!(!lagging.is_empty());
    let started = Instant::now();
    loop {
        let t = call(
            &http,
            M::GET,
            api("/queues/shop/orders/traffic?range=hour"),
            &w.ops,
            Value::Null,
        )
        .await;
        let has = |k: &str, name: &str| {
            t[k].as_array().into_iter().flatten().any(|s| {
                s["name"] == name
                    && s["points"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|p| p[1].as_f64() > Some(0.0))
            })
        };
        if has("messages", "in (brokers)") && has("lag", "lagging (brokers)") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no broker traffic or lag for lagging: {t}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // An existing RocketMQ topic is imported as a queue with its queue count.
    Admin::new(&east.sdk_cluster("east"))
        .unwrap()
        .create_topic(&TopicPlan {
            name: "Legacy_Trades".into(),
            partitions: 3,
            replication: 0,
            configs: vec![],
        })
        .await
        .unwrap();
    let imported = call(
        &http,
        M::POST,
        api("/clusters/east/import"),
        &w.ops,
        json!({"project": "shop", "topics": ["Legacy_Trades", "nope"]}),
    )
    .await;
    assert_eq!(
        imported["imported"],
        json!(["shop/legacy-trades"]),
        "{imported}"
    );
    let q = call(
        &http,
        M::GET,
        api("/queues/shop/legacy-trades"),
        &w.ops,
        Value::Null,
    )
    .await;
    assert_eq!(
        (q["topic"].as_str(), q["partitions"].as_i64()),
        (Some("Legacy_Trades"), Some(3)),
        "{q}"
    );

    // A group of SDK consumers on RocketMQ follows a failover and a failback between the two
    // clusters with a producer running, and reads everything acknowledged.
    let fleet = group_of_two(&base, &w, &cache, 200).await;
    for (to, cluster) in [("backup", "west"), ("primary", "east")] {
        let clicked = Instant::now();
        drill::fail_over(&base, &w.ops, to).await;
        let took = fleet
            .time_until_all_on(cluster, clicked, Duration::from_secs(20))
            .await;
        assert!(
            took.is_some(),
            "{to}: clients on {:?}",
            fleet.clusters().await
        );
        let after = fleet.read();
        drill::wait_until(
            || fleet.read() >= after + 200,
            "reading after the switch",
            Duration::from_secs(60),
        )
        .await;
    }
    // RocketMQ's client shares queues by itself, on its own schedule: a member that joins reads
    // alongside the member that held its queues until that one rebalances (the broker's notice,
    // or RocketMQ's 20 s rebalance round). Two members starting together overlap for a while.
    let tally = fleet.finish(Duration::from_secs(60)).await;
    let (acked, dupes) = nothing_lost(&tally, 2);
    eprintln!("RocketMQ group through failover and failback: acknowledged {acked}, lost 0, duplicates {dupes}");

    // An unknown name server is a clear error naming the cluster, on the page and in the SDK.
    let nowhere = watershed_sdk::wire::SdkCluster {
        name: "nowhere".into(),
        kind: "rocketmq".into(),
        bootstrap_servers: vec![format!("127.0.0.1:{}", drill::free_port())],
        sasl_mechanism: "none".into(),
        ..Default::default()
    };
    let e = Admin::new(&nowhere).unwrap().describe().await.unwrap_err();
    assert_eq!(e.cluster, "nowhere");
    assert!(
        e.message.contains("cluster nowhere") && e.message.contains("name servers"),
        "{}",
        e.message
    );
    drop(platform);
}

/// A live queue moves from a Kafka-protocol cluster (tansu) to a RocketMQ cluster: a producer
/// and a group of two SDK consumers run through the switch, the consumers drain Kafka and go on
/// reading on RocketMQ as one group there, and nothing acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_live_queue_migrates_from_kafka_to_rocketmq_with_nothing_lost() {
    if crate::rocketmq_cluster::binaries().is_none() {
        required("rocketmq-namesrv-rust and rocketmq-broker-rust");
        return;
    }
    let Some(tansu) = drill::tansu_binary() else {
        required("tansu");
        return;
    };
    let kafka = drill::Broker::start(&tansu, "east").await;
    let rocket = Cluster::start("west").await;
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("platform.db").display());
    let (ops, dev) = drill::users(&db_url).await;
    let platform = Platform::start(&dir.path().join("data"), &db_url, 2).await;
    let base = platform.base.clone();
    let w = drill::world_on(
        &base,
        ops,
        dev,
        [
            json!({"name": "east", "kind": "kafka", "bootstrap_servers": [kafka.addr]}),
            json!({"name": "west", "kind": "rocketmq", "bootstrap_servers": [rocket.namesrv_addr]}),
        ],
        4,
    )
    .await;
    let cache = dir.path().join("cache");
    let fleet = group_of_two(&base, &w, &cache, 300).await;

    let clicked = Instant::now();
    drill::fail_over(&base, &w.ops, "backup").await;
    let took = fleet
        .time_until_all_on("west", clicked, Duration::from_secs(20))
        .await;
    assert!(took.is_some(), "clients on {:?}", fleet.clusters().await);
    let after = fleet.acked();
    drill::wait_until(
        || fleet.acked() >= after + 300,
        "traffic on RocketMQ",
        Duration::from_secs(60),
    )
    .await;
    // The two members share the RocketMQ topic's queues as one group.
    let started = Instant::now();
    loop {
        let members = fleet.members();
        let mut owned: Vec<i32> = members.iter().flat_map(|(_, p)| p.clone()).collect();
        let every_one_holds = members.iter().all(|(c, p)| c == "west" && !p.is_empty());
        owned.sort_unstable();
        let before = owned.len();
        owned.dedup();
        if every_one_holds && owned.len() == before && owned == vec![0, 1, 2, 3] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the group never shared the RocketMQ queues: {members:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let tally = fleet.finish(Duration::from_secs(60)).await;
    let (acked, dupes) = nothing_lost(&tally, 4);
    eprintln!(
        "Kafka to RocketMQ: acknowledged {acked}, lost 0, duplicates {dupes}, switched in {took:?}"
    );
    drop(platform);
}

/// A producer and a group of two SDK consumers on shop/orders, once the group has read `read`
/// messages.
async fn group_of_two(
    base: &str,
    w: &drill::World,
    cache: &std::path::Path,
    read: usize,
) -> drill::Fleet {
    let fleet = drill::Fleet::start(
        base,
        &w.app_token,
        cache,
        (1, 2),
        10,
        Duration::from_millis(20),
    )
    .await;
    drill::wait_until(
        || fleet.read() >= read,
        "the SDK group reading",
        Duration::from_secs(60),
    )
    .await;
    fleet
}

/// Asserts every acknowledged message was read and at most one in `share` was read twice;
/// answers (acknowledged, duplicates).
fn nothing_lost(tally: &drill::Tally, share: u64) -> (usize, u64) {
    let lost = tally.lost();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged messages never read, e.g. {:?}",
        lost.len(),
        tally.acked.len(),
        lost.iter()
            .take(5)
            .map(|id| tally.explain(*id))
            .collect::<Vec<_>>()
    );
    let dupes = tally.duplicates();
    assert!(
        dupes * share <= tally.acked.len() as u64,
        "{dupes} duplicates of {} messages",
        tally.acked.len()
    );
    (tally.acked.len(), dupes)
}
