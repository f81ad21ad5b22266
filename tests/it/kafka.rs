//! End to end on two real Kafka-compatible brokers (`tansu`, in-memory): a queue bound to
//! both clusters gets its topic on each, a Stream-SDK producer and consumer run through a
//! failover made over the REST API and switch within a heartbeat, the platform is killed
//! and the clients carry on (a new client even starts from the on-disk cache), a failback
//! follows, every acknowledged message is read, and PyPI's confluent-kafka reads what the
//! SDK wrote. On the way: live health, broker-polled offsets and lag, and topic import. A
//! second drill runs a group of SDK consumers through the same.

use crate::drill::{self, call, Fleet, Rig};
use reqwest::Method as M;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use watershed_sdk::cluster::Admin;
use watershed_sdk::kafka::TopicPlan;

/// Heartbeats are shortened to this in the test.
const HEARTBEAT: Duration = Duration::from_secs(2);
/// A client switches at its next heartbeat: one interval, plus connecting to the new cluster
/// with room for a loaded CI machine (the benchmark measures the real figure).
const SWITCH_LIMIT: Duration = Duration::from_millis(4_500);

fn required(what: &str) -> bool {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} is required in CI (the test command installs it)");
    }
    eprintln!("skipped: {what} is not available");
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queues_fail_over_between_real_brokers_without_losing_acknowledged_messages() {
    let Some(tansu) = drill::tansu_binary() else {
        required("tansu");
        return;
    };
    let rig = Rig::start(&tansu, HEARTBEAT.as_secs(), 3).await;
    let Rig {
        east,
        west,
        mut platform,
        world: w,
        dir,
    } = rig;
    let base = platform.base.clone();
    let http = reqwest::Client::new();
    let api = |p: &str| format!("{base}/api/v1{p}");

    // Both topics were made by the platform, and audited.
    let made = call(
        &http,
        M::GET,
        api("/audit?action=topic.create"),
        &w.ops,
        Value::Null,
    )
    .await;
    assert_eq!(made["total"], 2, "{made}");

    // Live health straight from the brokers.
    let health = call(
        &http,
        M::GET,
        api("/clusters/east/health"),
        &w.ops,
        Value::Null,
    )
    .await;
    assert_eq!(health["reachable"], true, "{health}");
    assert_eq!(health["brokers"].as_array().unwrap().len(), 1, "{health}");

    // An application without a grant is told so, with the platform's reason.
    call(
        &http,
        M::POST,
        api("/applications"),
        &w.dev,
        json!({"project": "lab", "name": "spy"}),
    )
    .await;
    let spy = call(
        &http,
        M::POST,
        api("/applications/lab/spy/tokens"),
        &w.dev,
        Value::Null,
    )
    .await;
    let denied = watershed_sdk::Consumer::connect(
        watershed_sdk::ClientConfig::new(
            &base,
            "shop",
            "orders",
            spy["token"].as_str().unwrap(),
            "spy",
        )
        .unwrap()
        .with_cache_dir(dir.path().join("spy-cache"))
        .with_consumer_group("spies"),
    )
    .await
    .err()
    .expect("no grant, no config");
    match &denied {
        watershed_sdk::SdkError::Denied { reason } => {
            assert!(
                reason.contains("lab/spy") && reason.contains("consume"),
                "{reason}"
            )
        }
        other => panic!("expected a denial, got {other}"),
    }

    // A producer and a consumer that only know project, queue and token.
    let cache = dir.path().join("sdk-cache");
    let fleet = Fleet::start(
        &base,
        &w.app_token,
        &cache,
        (1, 1),
        20,
        Duration::from_millis(10),
    )
    .await;
    assert_eq!(fleet.clusters().await, vec!["east", "east"]);
    wait_for(
        || fleet.acked() >= 1_000 && fleet.read() >= 500,
        "traffic before the failover",
    )
    .await;

    // One click (here: one REST call) moves every client to the backup within a heartbeat.
    let clicked = Instant::now();
    drill::fail_over(&base, &w.ops, "backup").await;
    let took = fleet
        .time_until_all_on("west", clicked, Duration::from_secs(10))
        .await;
    let Some(took) = took else {
        panic!("clients still on {:?}", fleet.clusters().await)
    };
    assert!(took <= SWITCH_LIMIT, "switching took {took:?}");
    let before_kill = fleet.acked();
    wait_for(
        || fleet.acked() >= before_kill + 500,
        "traffic on the backup",
    )
    .await;

    // The platform dies; producing and consuming go on.
    platform.kill();
    let (acked, read) = (fleet.acked(), fleet.read());
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        fleet.acked() > acked + 200,
        "producing stopped with the platform down"
    );
    assert!(
        fleet.read() > read + 200,
        "consuming stopped with the platform down"
    );
    // A client started now runs from the config cached on disk: the backup.
    let late = watershed_sdk::Producer::connect(drill::client(&base, &w.app_token, &cache, "late"))
        .await
        .expect("a producer starts from the cache while the platform is down");
    assert_eq!(late.cluster().await, "west");
    late.send(None, b"late")
        .await
        .expect("the cached mapping works");
    // Without a cache there is nothing to go on, and the error says so.
    let nothing = watershed_sdk::Producer::connect(drill::client(
        &base,
        &w.app_token,
        &dir.path().join("empty"),
        "x",
    ))
    .await
    .err()
    .expect("no cache, no platform");
    assert!(
        matches!(nothing, watershed_sdk::SdkError::NoConfig { .. }),
        "{nothing}"
    );
    platform.restart().await;

    // Failback: the consumer resumes on the primary from its group's committed offsets there.
    let clicked = Instant::now();
    drill::fail_over(&base, &w.ops, "primary").await;
    let took = fleet
        .time_until_all_on("east", clicked, Duration::from_secs(10))
        .await;
    assert!(
        took.is_some_and(|t| t <= SWITCH_LIMIT),
        "failback took {took:?}"
    );
    let after = fleet.acked();
    wait_for(
        || fleet.acked() >= after + 500,
        "traffic after the failback",
    )
    .await;
    let tally = fleet.finish(Duration::from_secs(30)).await;
    let lost = tally.lost();
    assert!(
        lost.is_empty(),
        "{} acknowledged messages never read, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    let dupes = tally.duplicates();
    assert!(
        dupes * 100 <= tally.acked.len() as u64,
        "{dupes} duplicates of {} messages",
        tally.acked.len()
    );
    eprintln!(
        "acknowledged {}, duplicates {dupes}, send errors {}",
        tally.acked.len(),
        tally.send_errors
    );

    // The collector read the brokers: end offsets and the consumer group's lag.
    wait_for_json(
        &http,
        &api("/queues/shop/orders/traffic?range=hour"),
        &w.ops,
        |t| {
            let series = |k: &str, name: &str| {
                t[k].as_array()
                    .into_iter()
                    .flatten()
                    .find(|s| s["name"] == name)
                    .map(|s| {
                        s["points"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|p| p[1].as_f64() > Some(0.0))
                    })
            };
            series("messages", "in (brokers)") == Some(true)
                && t["lag"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|s| s["name"] == "billing (brokers)")
        },
    )
    .await;

    // A third-party client reads what the SDK wrote, on both clusters.
    match std::env::var("WATERSHED_TEST_PYTHON") {
        Ok(python) => {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/kafka_read.py");
            let servers = format!("{},{}", east.addr, west.addr);
            let out = tokio::task::spawn_blocking(move || {
                std::process::Command::new(python)
                    .args([script, &servers, "shop.orders"])
                    .output()
            })
            .await
            .unwrap()
            .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let read: std::collections::HashSet<u64> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect();
            let missing = tally.acked.iter().filter(|id| !read.contains(id)).count();
            assert_eq!(
                missing,
                0,
                "confluent-kafka did not find {missing} of {} messages",
                tally.acked.len()
            );
        }
        Err(_) => {
            required("WATERSHED_TEST_PYTHON (a Python with confluent-kafka)");
        }
    }

    // An existing topic is imported as a queue; one that is not there is named as skipped.
    let legacy = watershed_sdk::wire::SdkCluster {
        name: "east".into(),
        kind: "kafka".into(),
        bootstrap_servers: vec![east.addr.clone()],
        sasl_mechanism: "none".into(),
        sasl_username: String::new(),
        sasl_password: None,
        tls: None,
    };
    Admin::new(&legacy)
        .unwrap()
        .create_topic(&TopicPlan {
            name: "Legacy.Events".into(),
            partitions: 2,
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
        json!({"project": "shop", "topics": ["Legacy.Events", "shop.orders", "nope"]}),
    )
    .await;
    assert_eq!(
        imported["imported"],
        json!(["shop/legacy-events"]),
        "{imported}"
    );
    let reasons = crate::harness::strs(&imported["skipped"], "reason");
    assert!(
        reasons[0].contains("shop/orders") && reasons[1].contains("no topic"),
        "{reasons:?}"
    );
    let q = call(
        &http,
        M::GET,
        api("/queues/shop/legacy-events"),
        &w.ops,
        Value::Null,
    )
    .await;
    assert_eq!(
        (q["topic"].as_str(), q["partitions"].as_i64()),
        (Some("Legacy.Events"), Some(2))
    );
    // A developer may not import.
    let r = http
        .post(api("/clusters/east/import"))
        .bearer_auth(&w.dev)
        .json(&json!({"project": "shop", "topics": ["x"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    let audit = call(
        &http,
        M::GET,
        api("/audit?action=cluster.import"),
        &w.ops,
        Value::Null,
    )
    .await;
    assert!(audit.to_string().contains("Legacy.Events"), "{audit}");
}

/// Three SDK consumers in one group on a 6-partition queue over two real brokers: they share
/// the partitions (each owned by one member), a member killed mid-stream has its partitions
/// taken over, a new member gets a share, and the whole group follows a failover and a
/// failback with every acknowledged message read.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_of_sdk_consumers_shares_partitions_and_follows_failover() {
    let Some(tansu) = drill::tansu_binary() else {
        required("tansu");
        return;
    };
    let rig = Rig::start(&tansu, HEARTBEAT.as_secs(), 6).await;
    let (base, w) = (rig.platform.base.clone(), &rig.world);
    let cache = rig.dir.path().join("sdk-cache");
    let mut fleet = Fleet::start(
        &base,
        &w.app_token,
        &cache,
        (2, 3),
        20,
        Duration::from_millis(10),
    )
    .await;
    settled(&fleet, "east", 3).await;
    wait_for(|| fleet.read() >= 1_000, "the group reading").await;

    // Keys land where Kafka's own partitioner puts them (murmur2; values from Kafka's tests).
    let keyed = fleet.producers[0]
        .send_batch(
            ["21", "foobar", "abc", "a-little-bit-long-string"]
                .iter()
                .map(|k| (Some(k.as_bytes().to_vec()), b"0".to_vec()))
                .collect(),
        )
        .await
        .unwrap();
    let partitions: Vec<i32> = keyed.iter().map(|d| d.partition).collect();
    assert_eq!(partitions, vec![0, 0, 3, 2]);

    // A member dies mid-stream: the other two take its partitions.
    let before = fleet.read();
    let killed = fleet.kill_consumer(0).await;
    eprintln!("killed {killed}");
    settled(&fleet, "east", 2).await;
    wait_for(|| fleet.read() >= before + 1_000, "reading after the kill").await;

    // A new member joins and gets a share.
    fleet.add_consumer().await;
    settled(&fleet, "east", 3).await;

    // Failover and failback with all three running: each member follows.
    for (to, cluster) in [("backup", "west"), ("primary", "east")] {
        let clicked = Instant::now();
        drill::fail_over(&base, &w.ops, to).await;
        let took = fleet
            .time_until_all_on(cluster, clicked, Duration::from_secs(10))
            .await;
        assert!(
            took.is_some_and(|t| t <= SWITCH_LIMIT),
            "{to}: {took:?}, clients on {:?}",
            fleet.clusters().await
        );
        settled(&fleet, cluster, 3).await;
        let after = fleet.acked();
        wait_for(
            || fleet.acked() >= after + 1_000,
            "traffic after the switch",
        )
        .await;
    }
    let tally = fleet.finish(Duration::from_secs(40)).await;
    // A message acknowledged but never read is either the client's fault (it is on the topic
    // at the offset its delivery named, and nobody read it) or the broker's (that offset is
    // not on the topic: tansu 0.6 was seen losing acknowledged batches under load). The first
    // must never happen; the second is reported, bounded, and not the SDK's doing.
    let lost = tally.lost();
    assert!(
        lost.len() <= 200,
        "{} acknowledged messages never read",
        lost.len()
    );
    let (mut by_broker, mut by_client) = (Vec::new(), Vec::new());
    for &id in &lost {
        let Some((cluster, p, o)) = tally.written_at.get(&id).cloned() else {
            by_client.push(tally.explain(id));
            continue;
        };
        let addr = if cluster == "east" {
            rig.east.addr.clone()
        } else {
            rig.west.addr.clone()
        };
        match tokio::task::spawn_blocking(move || peek(&addr, p, o))
            .await
            .unwrap()
        {
            // The message is there, where its delivery said: a client skipped it.
            Some((at, value)) if at == o && value == id.to_string().into_bytes() => {
                by_client.push(tally.explain(id))
            }
            _ => by_broker.push(id),
        }
    }
    assert!(
        by_client.is_empty(),
        "{} of {} acknowledged messages are on the topic but were never read: {:?}",
        by_client.len(),
        tally.acked.len(),
        &by_client[..by_client.len().min(5)]
    );
    // Duplicates come from messages handed out but not yet committed when a partition moves,
    // and on tansu mostly from the overlap its JoinGroup allows (see `drill::client`): about
    // fifteen rebalances here, each with up to a second of two members reading one partition.
    let dupes = tally.duplicates();
    assert!(
        dupes * 4 <= tally.acked.len() as u64,
        "{dupes} duplicates of {} messages",
        tally.acked.len()
    );
    eprintln!(
        "group drill: acknowledged {}, duplicates {dupes}, send errors {}, lost by the broker {}",
        tally.acked.len(),
        tally.send_errors,
        by_broker.len()
    );
}

/// Waits until the group on `cluster` has settled: `members` members each own a share, no
/// partition is owned twice, and all six are owned.
async fn settled(fleet: &Fleet, cluster: &str, members: usize) {
    let started = Instant::now();

    loop {
        let seen = fleet.members();
        let on = seen.iter().filter(|(c, _)| c == cluster).count();
        let mut all: Vec<i32> = seen.iter().flat_map(|(_, p)| p.clone()).collect();
        all.sort_unstable();
        let shared = seen.len() == members
            && on == members
            && seen.iter().all(|(_, p)| !p.is_empty())
            && all == (0..6).collect::<Vec<_>>();
        if shared {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the group did not settle on {cluster}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_for(ok: impl FnMut() -> bool, what: &str) {
    drill::wait_until(ok, what, Duration::from_secs(30)).await
}

async fn wait_for_json(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    ok: impl Fn(&Value) -> bool,
) {
    let started = Instant::now();
    loop {
        let v = call(http, M::GET, url.to_string(), token, Value::Null).await;
        if ok(&v) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{url} never showed it: {v}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The first message at or after (partition, offset) of the drill's topic, as (offset, value),
/// read by a plain librdkafka consumer.
fn peek(addr: &str, partition: i32, offset: i64) -> Option<(i64, Vec<u8>)> {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    use rdkafka::message::Message as _;
    let c: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", "peek")
        .create()
        .ok()?;
    let mut list = rdkafka::TopicPartitionList::new();
    list.add_partition_offset("shop.orders", partition, rdkafka::Offset::Offset(offset))
        .ok()?;
    c.assign(&list).ok()?;
    for _ in 0..50 {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
            return Some((m.offset(), m.payload().unwrap_or_default().to_vec()));
        }
    }
    None
}

/// A consumer from PyPI's confluent-kafka joins the group of two SDK consumers: the six
/// partitions are shared among all three, and taken back by the SDK members when it leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_confluent_kafka_consumer_shares_the_sdk_group() {
    let Some(tansu) = drill::tansu_binary() else {
        required("tansu");
        return;
    };
    let Ok(python) = std::env::var("WATERSHED_TEST_PYTHON") else {
        required("WATERSHED_TEST_PYTHON (confluent-kafka)");
        return;
    };
    let rig = Rig::start(&tansu, HEARTBEAT.as_secs(), 6).await;
    let (base, w) = (rig.platform.base.clone(), &rig.world);
    let fleet = Fleet::start(
        &base,
        &w.app_token,
        &rig.dir.path().join("sdk-cache"),
        (1, 2),
        10,
        Duration::from_millis(20),
    )
    .await;
    settled(&fleet, "east", 2).await;

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/kafka_group_member.py"
    );
    let mut member = std::process::Command::new(python)
        .args([script, &rig.east.addr, "shop.orders", "billing"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the confluent-kafka member");
    let owned = std::sync::Arc::new(std::sync::Mutex::new(Vec::<i32>::new()));
    let lines = std::io::BufRead::lines(std::io::BufReader::new(member.stdout.take().unwrap()));
    let (o, last) = (
        owned.clone(),
        std::sync::Arc::new(std::sync::Mutex::new(String::new())),
    );
    let l = last.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if let Ok(parts) = serde_json::from_str::<Vec<i32>>(&line) {
                *o.lock().unwrap() = parts;
            }
            *l.lock().unwrap() = line;
        }
    });

    // All three own a share; no partition is owned twice, none is left out.
    let started = Instant::now();
    loop {
        let python = owned.lock().unwrap().clone();
        let sdk = fleet.members();
        let mut all: Vec<i32> = sdk
            .iter()
            .flat_map(|(_, p)| p.clone())
            .chain(python.iter().copied())
            .collect();
        all.sort_unstable();
        if !python.is_empty()
            && sdk.iter().all(|(c, p)| c == "east" && !p.is_empty())
            && all == (0..6).collect::<Vec<_>>()
        {
            eprintln!("shared: confluent-kafka {python:?}, SDK {sdk:?}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "partitions not shared with confluent-kafka: it owns {python:?}, the SDK members {sdk:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // It leaves: the SDK members take its partitions back.
    drop(member.stdin.take());
    let status = tokio::task::spawn_blocking(move || member.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "the confluent-kafka member failed");
    wait_for(
        || last.lock().unwrap().contains("read"),
        "the confluent-kafka member's tally",
    )
    .await;
    settled(&fleet, "east", 2).await;
    fleet.finish(Duration::from_secs(30)).await;
}

/// A failover and a failback within one of the consumer's heartbeats (A to B and back to A):
/// a producer that heartbeated in between wrote to B, and the consumer, which never saw B,
/// still reads it, because the platform names the clusters the queue passed through and the
/// consumer drains them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_double_switch_within_one_heartbeat_drains_the_cluster_in_between() {
    let Some(tansu) = drill::tansu_binary() else {
        required("tansu");
        return;
    };
    // The platform's interval is 8 s (the consumer's); the producer heartbeats every second.
    let rig = Rig::start(&tansu, 8, 3).await;
    let (base, w) = (rig.platform.base.clone(), &rig.world);
    let cache = rig.dir.path().join("sdk-cache");
    let started = Instant::now();
    let mut consumer = watershed_sdk::Consumer::connect(
        drill::client(&base, &w.app_token, &cache, "slow-consumer").with_consumer_group("billing"),
    )
    .await
    .unwrap();
    let producer = watershed_sdk::Producer::connect(
        drill::client(&base, &w.app_token, &cache, "quick-producer")
            .with_heartbeat_interval(Duration::from_secs(1)),
    )
    .await
    .unwrap();
    let mut sent = Vec::new();
    let mut send = |tag: &'static str| {
        let producer = &producer;
        let batch: Vec<(Option<Vec<u8>>, Vec<u8>)> = (0..20)
            .map(|i| (None, format!("{tag}-{i}").into_bytes()))
            .collect();
        sent.extend(
            batch
                .iter()
                .map(|(_, v)| String::from_utf8(v.clone()).unwrap()),
        );
        async move { producer.send_batch(batch).await.unwrap() }
    };
    let on_east = send("east-before").await;
    assert!(on_east.iter().all(|d| d.cluster == "east"));

    drill::fail_over(&base, &w.ops, "backup").await;
    drill::wait_until(
        || futures_util::FutureExt::now_or_never(producer.cluster()) == Some("west".into()),
        "the producer on west",
        Duration::from_secs(3),
    )
    .await;
    let on_west = send("west").await;
    assert!(on_west.iter().all(|d| d.cluster == "west"), "written on B");
    drill::fail_over(&base, &w.ops, "primary").await;
    drill::wait_until(
        || futures_util::FutureExt::now_or_never(producer.cluster()) == Some("east".into()),
        "the producer back on east",
        Duration::from_secs(3),
    )
    .await;
    send("east-after").await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "both switches within the consumer's first heartbeat interval (took {:?})",
        started.elapsed()
    );
    assert_eq!(consumer.cluster(), "east");

    let mut read = std::collections::BTreeSet::new();
    let limit = Instant::now() + Duration::from_secs(30);
    while read.len() < sent.len() && Instant::now() < limit {
        for m in consumer.poll(Duration::from_millis(200)).await.unwrap() {
            read.insert(String::from_utf8(m.value.unwrap_or_default()).unwrap());
        }
    }
    let missing: Vec<&String> = sent.iter().filter(|v| !read.contains(*v)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} never read, first {:?}",
        missing.len(),
        sent.len(),
        missing.first()
    );
    assert_eq!(consumer.cluster(), "east");
    consumer.close().await.unwrap();
}
