//! Consumer health end to end on real brokers (tansu) with real SDK clients and the real
//! `watershed` binary: a consumer that stops committing is judged STALLED, the queue's rule
//! fires once after its duration and reaches the console, a signed webhook and an SMTP server
//! (PyPI's aiosmtpd); lag in seconds is checked against when the unread messages were really
//! written; the consumer resumes, catches up, and the alert resolves, once. Rules, silences
//! and acknowledgements are checked for bad input and stored on both databases.

use crate::drill::{self, call, Rig};
use crate::harness::{world, Backend};
use crate::notify::{receiver, signature_is_valid};
use crate::on_both_backends;
use reqwest::{Method as M, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::BufRead;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use watershed::server::db::now_millis;
use watershed_sdk::{Consumer, Producer};

/// The platform polls offsets every 2 s in the drill.
const POLL: Duration = Duration::from_secs(2);
/// The evaluation window, shortened for the test.
const WINDOW_SECS: u64 = 6;
/// The rule's duration.
const RULE_SECS: i64 = 8;

fn required(what: &str) -> bool {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} is required in CI (the test command installs it)");
    }
    eprintln!("skipped: {what} is not available");
    false
}

/// PyPI's aiosmtpd on a loopback port, collecting what it receives.
struct SmtpSink {
    port: u16,
    child: std::process::Child,
    got: Arc<Mutex<Vec<Value>>>,
}

impl SmtpSink {
    fn start(python: &str) -> SmtpSink {
        let port = drill::free_port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/smtp_sink.py");
        let mut child = std::process::Command::new(python)
            .args([script, &port.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start aiosmtpd");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = lines.next().expect("aiosmtpd says it is ready").unwrap();
        assert!(ready.contains("ready"), "{ready}");
        let got: Arc<Mutex<Vec<Value>>> = Arc::default();
        let g = got.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line) {
                    g.lock().unwrap().push(v);
                }
            }
        });
        SmtpSink { port, child, got }
    }

    /// Messages to `to` whose text contains `text`.
    fn count(&self, to: &str, text: &str) -> usize {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|m| {
                m["to"].as_array().unwrap().iter().any(|t| t == to)
                    && m["data"].as_str().unwrap_or("").contains(text)
            })
            .count()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn get(base: &str, token: &str, path: &str) -> Value {
    call(
        &reqwest::Client::new(),
        M::GET,
        format!("{base}/api/v1{path}"),
        token,
        Value::Null,
    )
    .await
}

fn billing(health: &Value) -> Option<Value> {
    health["groups"]
        .as_array()?
        .iter()
        .find(|g| g["consumer_group"] == "billing")
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_consumer_fires_one_alert_everywhere_and_resolves_once_when_it_catches_up() {
    let Some(tansu) = drill::tansu_binary() else {
        required("tansu");
        return;
    };
    let Ok(python) = std::env::var("WATERSHED_TEST_PYTHON") else {
        required("WATERSHED_TEST_PYTHON (aiosmtpd)");
        return;
    };
    let smtp = SmtpSink::start(&python);
    let hook = receiver(Vec::new()).await;
    let rig = Rig::start_with(
        &tansu,
        POLL.as_secs(),
        2,
        &[
            ("WATERSHED_HEALTH_WINDOW_SECS", WINDOW_SECS.to_string()),
            (
                "WATERSHED_SMTP_URL",
                format!("smtp://127.0.0.1:{}", smtp.port),
            ),
            ("WATERSHED_SMTP_FROM", "watershed@example.com".into()),
            ("WATERSHED_WEBHOOK_ALLOW", "127.0.0.0/8".into()),
        ],
    )
    .await;
    let (base, w) = (rig.platform.base.clone(), &rig.world);
    let http = reqwest::Client::new();
    let api = |p: &str| format!("{base}/api/v1{p}");
    let secret = "a-very-secret-secret";
    call(
        &http,
        M::PUT,
        api("/projects/shop/webhook"),
        &w.ops,
        json!({"url": hook.url, "secret": secret}),
    )
    .await;
    call(
        &http,
        M::PUT,
        api("/me/email"),
        &w.ops,
        json!({"email": "ops@example.com"}),
    )
    .await;
    call(
        &http,
        M::PUT,
        api("/me/email"),
        &w.dev,
        json!({"email": "dev@example.com"}),
    )
    .await;
    let rules = call(
        &http,
        M::PUT,
        api("/queues/shop/orders/alert-rules/group_stalled"),
        &w.ops,
        json!({"for_seconds": RULE_SECS}),
    )
    .await;
    let stalled = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "group_stalled")
        .unwrap();
    assert_eq!(stalled["for_seconds"], RULE_SECS);
    assert_eq!(stalled["default"], false);

    // A producer writing all along, remembering when each message was acknowledged.
    let cache = rig.dir.path().join("sdk-cache");
    let producer = Producer::connect(drill::client(&base, &w.app_token, &cache, "p"))
        .await
        .unwrap();
    let written: Arc<Mutex<HashMap<(i32, i64), i64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let (wr, st) = (written.clone(), stop.clone());
    let writer = tokio::spawn(async move {
        let mut n = 0u64;
        while !st.load(Ordering::Relaxed) {
            let batch = (0..5)
                .map(|i| (None, (n + i).to_string().into_bytes()))
                .collect();
            if let Ok(deliveries) = producer.send_batch(batch).await {
                let at = now_millis();
                let mut wr = wr.lock().unwrap();
                for d in deliveries {
                    wr.insert((d.partition, d.offset), at);
                }
                n += 5;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });

    // A consumer in group billing that can be paused: it keeps its membership and its SDK
    // heartbeats, but stops reading and committing.
    let paused = Arc::new(AtomicBool::new(false));
    let mut consumer = Consumer::connect(
        drill::client(&base, &w.app_token, &cache, "c").with_consumer_group("billing"),
    )
    .await
    .unwrap();
    let (pz, st) = (paused.clone(), stop.clone());
    let reader = tokio::spawn(async move {
        while !st.load(Ordering::Relaxed) {
            if pz.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            let _ = consumer.poll(Duration::from_millis(200)).await;
        }
        consumer
    });

    // Consuming: the group is OK and close behind.
    let health_of = |h: &Value| billing(h).map(|g| g["status"].as_str().unwrap().to_string());
    let started = Instant::now();
    loop {
        let h = get(&base, &w.ops, "/queues/shop/orders/health").await;
        if health_of(&h).as_deref() == Some("OK")
            && billing(&h).unwrap()["lag_seconds"].as_i64().unwrap() <= 4
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never consuming: {h}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Paused: STALLED once a whole window passed without a commit (members and SDK clients are
    // still there), then the alert after the rule's duration.
    paused.store(true, Ordering::Relaxed);
    let paused_at = now_millis();
    let mut stalled_seen: Option<i64> = None;
    let alert = loop {
        let h = get(&base, &w.ops, "/queues/shop/orders/health").await;
        if stalled_seen.is_none() && health_of(&h).as_deref() == Some("STALLED") {
            stalled_seen = Some(now_millis());
            let g = billing(&h).unwrap();
            assert!(
                g["reason"].as_str().unwrap().contains("has not moved"),
                "{g}"
            );
        }
        let firing = h["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["state"] == "firing")
            .cloned();
        if let Some(a) = firing {
            break a;
        }
        assert!(
            now_millis() - paused_at < 60_000,
            "no alert within a minute of pausing: {h}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let stalled_at = stalled_seen.expect("STALLED was shown before the alert fired");
    assert_eq!(alert["kind"], "group_stalled");
    assert_eq!(alert["consumer_group"], "billing");
    let after = alert["fired_at"].as_i64().unwrap() - stalled_at;
    assert!(
        after >= RULE_SECS * 1000 - POLL.as_millis() as i64
            && after <= RULE_SECS * 1000 + 2 * POLL.as_millis() as i64,
        "fired {after} ms after STALLED was first shown; the rule says {RULE_SECS} s"
    );

    // Lag in seconds against the truth: how long ago the oldest unread message was written.
    let admin = watershed_sdk::cluster::Admin::new(&watershed::domain::SdkCluster {
        name: "east".into(),
        kind: "kafka".into(),
        bootstrap_servers: vec![rig.east.addr.clone()],
        sasl_mechanism: "none".into(),
        sasl_username: String::new(),
        sasl_password: None,
        tls: None,
    })
    .unwrap();
    tokio::time::sleep(2 * POLL).await;
    let h = get(&base, &w.ops, "/queues/shop/orders/health").await;
    let reported = billing(&h).unwrap()["lag_seconds"].as_i64().unwrap();
    let evaluated_at = billing(&h).unwrap()["at"].as_i64().unwrap();
    let committed = admin
        .committed("billing", &[("shop.orders".into(), vec![0, 1])])
        .await
        .unwrap();
    let oldest_unread = committed
        .iter()
        .filter_map(|((_, p), o)| written.lock().unwrap().get(&(*p, *o)).copied())
        .min()
        .expect("the committed offsets point at messages the producer wrote");
    let truth = (evaluated_at - oldest_unread) / 1000;
    assert!(
        (reported - truth).abs() <= POLL.as_secs() as i64 + 1,
        "lag reported {reported} s, truly {truth} s (paused {} s ago)",
        (evaluated_at - paused_at) / 1000
    );

    // Delivered once each: the console (queue owner and the group's application owner), the
    // webhook (signed), e-mail.
    for user in [&w.ops, &w.dev] {
        let notes = get(&base, user, "/notifications").await;
        let firing = notes
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["event"] == "alert.firing")
            .count();
        assert_eq!(firing, 1, "{notes}");
    }
    let hook_events = |event: &str| {
        hook.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(headers, body)| {
                let sig = headers
                    .get("x-watershed-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                assert!(
                    signature_is_valid(secret, sig, body),
                    "bad signature on {body}"
                );
                serde_json::from_str::<Value>(body).unwrap()["event"] == event
            })
            .count()
    };
    drill::wait_until(
        || hook_events("alert.firing") == 1,
        "the alert.firing webhook",
        Duration::from_secs(30),
    )
    .await;
    drill::wait_until(
        || {
            smtp.count("ops@example.com", "FIRING") == 1
                && smtp.count("dev@example.com", "FIRING") == 1
        },
        "the FIRING e-mails",
        Duration::from_secs(30),
    )
    .await;
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"watershed_consumer_group_status{project="shop",queue="orders",group="billing",cluster="east"} 2"#),
        "no STALLED gauge in /metrics"
    );
    assert!(metrics.contains(
        r#"watershed_consumer_lag_seconds{project="shop",queue="orders",group="billing""#
    ));

    // Resumed: it catches up, the alert resolves, once.
    paused.store(false, Ordering::Relaxed);
    let started = Instant::now();
    loop {
        let h = get(&base, &w.ops, "/queues/shop/orders/health").await;
        let a = h["alerts"].as_array().unwrap();
        if a.iter().all(|a| a["state"] == "resolved") {
            assert_eq!(a.len(), 1, "one alert, fired once: {h}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never resolved: {h}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A few more polls change nothing: no flood.
    tokio::time::sleep(3 * POLL).await;
    drill::wait_until(
        || hook_events("alert.resolved") == 1,
        "the alert.resolved webhook",
        Duration::from_secs(30),
    )
    .await;
    drill::wait_until(
        || smtp.count("ops@example.com", "RESOLVED") == 1,
        "the RESOLVED e-mail",
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(hook_events("alert.firing"), 1);
    let h = get(&base, &w.ops, "/queues/shop/orders/health").await;
    assert_eq!(h["alerts"].as_array().unwrap().len(), 1, "{h}");
    let notes = get(&base, &w.ops, "/notifications").await;
    let resolved = notes
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["event"] == "alert.resolved")
        .count();
    assert_eq!(resolved, 1, "{notes}");
    let audit = get(&base, &w.ops, "/audit?action=alert.firing").await;
    assert!(audit.to_string().contains("alert.firing"), "{audit}");

    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    let consumer = reader.await.unwrap();
    let _ = consumer.close().await;
}

/// Bad rules, silences and acknowledgements name the field, and change nothing.
async fn bad_alert_input_names_the_field(b: Backend) {
    let w = world(b).await;
    let cases = [
        (
            "/api/v1/queues/shop/orders/alert-rules/lag_messages",
            M::PUT,
            json!({"threshold": -5, "for_seconds": 60}),
            "threshold",
        ),
        (
            "/api/v1/queues/shop/orders/alert-rules/lag_seconds",
            M::PUT,
            json!({"threshold": 10_000_000_000i64, "for_seconds": 60}),
            "threshold",
        ),
        (
            "/api/v1/queues/shop/orders/alert-rules/lag_seconds",
            M::PUT,
            json!({"threshold": 60, "for_seconds": 99_999_999}),
            "for_seconds",
        ),
        (
            "/api/v1/queues/shop/orders/alert-rules/group_stalled",
            M::PUT,
            json!({"threshold": 3, "for_seconds": 60}),
            "threshold",
        ),
        (
            "/api/v1/queues/shop/orders/alert-rules/everything",
            M::PUT,
            json!({"for_seconds": 60}),
            "kind",
        ),
        (
            "/api/v1/queues/shop/orders/silences",
            M::POST,
            json!({"comment": "deploy", "ends_at": now_millis() - 1000}),
            "ends_at",
        ),
        (
            "/api/v1/queues/shop/orders/silences",
            M::POST,
            json!({"comment": "", "ends_at": now_millis() + 60_000}),
            "comment",
        ),
        (
            "/api/v1/me/email",
            M::PUT,
            json!({"email": "not-an-address"}),
            "email",
        ),
    ];
    for (path, method, body, field) in cases {
        let (s, e) = w
            .call(method.clone(), path, &w.olga, Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path} {body}: {e}");
        assert_eq!(e["fields"][0]["field"], field, "{path} {body}: {e}");
    }
    let (s, e) = w
        .call(M::GET, "/api/v1/queues/shop/orders/health", &w.olga, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert!(
        e["rules"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["default"] == true),
        "{e}"
    );
    assert!(e["silences"].as_array().unwrap().is_empty(), "{e}");
}

/// Owners set, change and reset rules and silences; others may not; each change is audited;
/// an alert is recorded, acknowledged (with a silence of its subject) and resolved once.
async fn rules_silences_and_alerts_are_kept_and_audited(b: Backend) {
    let w = world(b).await;
    let (s, e) = w
        .call(
            M::PUT,
            "/api/v1/queues/shop/orders/alert-rules/lag_seconds",
            &w.dev,
            Some(json!({"threshold": 60, "for_seconds": 120})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a developer outside shop: {e}");
    let (s, e) = w
        .call(
            M::PUT,
            "/api/v1/queues/shop/orders/alert-rules/lag_seconds",
            &w.olga,
            Some(json!({"threshold": 60, "for_seconds": 120, "muted": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let rule = e
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "lag_seconds")
        .unwrap()
        .clone();
    assert_eq!(rule["threshold"], 60);
    assert_eq!(rule["muted"], true);
    assert_eq!(rule["updated_by"], "olga");
    let (s, e) = w
        .call(
            M::DELETE,
            "/api/v1/queues/shop/orders/alert-rules/lag_seconds",
            &w.olga,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let rule = e
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "lag_seconds")
        .unwrap()
        .clone();
    assert_eq!(rule["default"], true, "back to the default: {rule}");

    // billing has been seen on orders (the brokers' figures say so).
    let orders = w
        .app
        .store()
        .queue("shop", "orders")
        .await
        .unwrap()
        .unwrap();
    let k1 = w.app.store().cluster("k1").await.unwrap().unwrap().view.id;
    w.app
        .store()
        .write_broker_offsets(
            &[],
            &[watershed::server::db::kafka::GroupOffsetRow {
                queue_id: orders.id,
                cluster_id: k1,
                consumer_group: "billing".into(),
                bucket: now_millis() - now_millis() % 60_000,
                committed: 5,
                lag: 3,
                lag_seconds: Some(40),
            }],
        )
        .await
        .unwrap();
    let (s, silence) = w
        .call(
            M::POST,
            "/api/v1/queues/shop/orders/silences",
            &w.olga,
            Some(json!({"consumer_group": "billing", "kind": "group_stalled",
                "comment": "planned maintenance", "ends_at": now_millis() + 3_600_000})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{silence}");
    assert_eq!(silence["consumer_group"], "billing");

    // An alert as the judge records it, then acknowledged and resolved.
    let store = w.app.store();
    let q = store.queue("shop", "orders").await.unwrap().unwrap();
    let audit = |action: &'static str| watershed::server::db::AuditEvent {
        actor: "watershed".into(),
        action,
        target_kind: "queue",
        target: "shop/orders".into(),
        summary: String::new(),
    };
    let id = store
        .open_alert(
            &watershed::server::db::alerts::NewAlert {
                queue_id: q.id,
                consumer_group: "billing".into(),
                kind: watershed::domain::AlertKind::GroupStalled,
                reason: "group billing is STALLED".into(),
                at: now_millis(),
                silenced: false,
            },
            None,
            &audit("alert.firing"),
        )
        .await
        .unwrap()
        .expect("no alert open on that subject yet");
    // A second replica judging the same episode opens nothing: one open alert per subject.
    let again = store
        .open_alert(
            &watershed::server::db::alerts::NewAlert {
                queue_id: q.id,
                consumer_group: "billing".into(),
                kind: watershed::domain::AlertKind::GroupStalled,
                reason: "group billing is STALLED".into(),
                at: now_millis(),
                silenced: false,
            },
            None,
            &audit("alert.firing"),
        )
        .await
        .unwrap();
    assert_eq!(again, None, "one open alert per subject");
    let (s, e) = w
        .call(
            M::POST,
            &format!("/api/v1/alerts/{id}/acknowledge"),
            &w.olga,
            Some(json!({"comment": "", "until": now_millis() - 1})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, e) = w
        .call(
            M::POST,
            &format!("/api/v1/alerts/{id}/acknowledge"),
            &w.olga,
            Some(json!({"comment": "on it", "until": now_millis() + 600_000})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(e["acknowledged_by"], "olga");
    assert_eq!(e["state"], "firing");
    assert!(store
        .resolve_alert(id, now_millis(), None, &audit("alert.resolved"))
        .await
        .unwrap());
    assert!(
        !store
            .resolve_alert(id, now_millis(), None, &audit("alert.resolved"))
            .await
            .unwrap(),
        "resolved once"
    );
    let (_, h) = w
        .call(M::GET, "/api/v1/queues/shop/orders/health", &w.olga, None)
        .await;
    assert_eq!(h["alerts"][0]["state"], "resolved", "{h}");
    assert_eq!(
        h["silences"].as_array().unwrap().len(),
        2,
        "the silence and the acknowledgement's: {h}"
    );

    let (s, e) = w
        .call(
            M::DELETE,
            &format!("/api/v1/queues/shop/orders/silences/{}", silence["id"]),
            &w.olga,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (_, h) = w
        .call(M::GET, "/api/v1/queues/shop/orders/health", &w.olga, None)
        .await;
    assert_eq!(h["silences"].as_array().unwrap().len(), 1, "{h}");

    let (_, log) = w
        .call(M::GET, "/api/v1/audit?limit=100", &w.admin, None)
        .await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "alert_rule.set",
        "alert_rule.reset",
        "alert.silence",
        "alert.acknowledge",
        "alert.unsilence",
        "alert.firing",
        "alert.resolved",
    ] {
        assert!(
            actions.contains(&action),
            "{action} not audited: {actions:?}"
        );
    }
}

on_both_backends!(
    bad_alert_input_names_the_field,
    rules_silences_and_alerts_are_kept_and_audited
);
