//! End to end on two real Kafka-compatible brokers (`tansu`, in-memory): a queue bound to
//! both clusters gets its topic on each, a Stream-SDK producer and consumer run through a
//! failover made over the REST API and switch within a heartbeat, the platform is killed
//! and the clients carry on (a new client even starts from the on-disk cache), a failback
//! follows, every acknowledged message is read, and PyPI's confluent-kafka reads what the
//! SDK wrote. On the way: live health, broker-polled offsets and lag, and topic import.

use crate::drill::{self, call, Fleet, Rig};
use reqwest::Method as M;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use watershed_sdk::kafka::{Admin, TopicPlan};

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
        1,
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
    };
    Admin::new(legacy)
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

async fn wait_for(mut ok: impl FnMut() -> bool, what: &str) {
    let started = Instant::now();
    while !ok() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
