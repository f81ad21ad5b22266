//! Real-cluster features on both databases, without a broker: what an unreachable cluster
//! says, who may import, and the storage of provisioning outcomes and broker samples.

use crate::harness::world;
use crate::harness::Backend;
use crate::on_both_backends;
use reqwest::{Method as M, StatusCode};
use serde_json::json;
use std::time::Duration;
use watershed::server::db::kafka::{BrokerOffsetRow, GroupOffsetRow, ProvisionRow};
use watershed::server::db::AuditEvent;

on_both_backends!(
    an_unreachable_cluster_says_why,
    only_admins_import_and_bad_input_names_the_field,
    tls_fields_take_only_what_they_name,
    provisions_and_broker_samples_are_stored_per_queue_and_cluster,
    a_queue_on_rocketmq_gets_a_topic_rocketmq_accepts,
);

async fn an_unreachable_cluster_says_why(b: Backend) {
    let w = world(b).await;
    // k1:9092 does not resolve here.
    let (s, h) = w
        .call(M::GET, "/api/v1/clusters/k1/health", &w.vera, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{h}");
    assert_eq!(h["reachable"], false);
    assert!(h["error"].as_str().unwrap().contains("k1:9092"), "{h}");
    let (s, e) = w
        .call(M::GET, "/api/v1/clusters/k1/topics", &w.vera, None)
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{e}");
    assert!(e["error"].as_str().unwrap().contains("k1"), "{e}");
    let (s, _) = w
        .call(M::GET, "/api/v1/clusters/nope/health", &w.vera, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The queue's topic could not be made; the queue page says why.
    let row = crate::harness::eventually(
        "a provisioning outcome",
        Duration::from_secs(30),
        || async {
            let (_, t) = w
                .call(M::GET, "/api/v1/queues/shop/orders/topics", &w.vera, None)
                .await;
            t.as_array()
                .and_then(|a| a.first())
                .cloned()
                .ok_or_else(|| t.to_string())
        },
    )
    .await;
    assert_eq!(row["cluster"], "k1");
    assert_eq!(row["status"], "failed");
    assert!(!row["message"].as_str().unwrap().is_empty());
}

async fn only_admins_import_and_bad_input_names_the_field(b: Backend) {
    let w = world(b).await;
    let body = json!({"project": "shop", "topics": ["t1"]});
    let (s, _) = w
        .call(M::POST, "/api/v1/clusters/k1/import", &w.olga, Some(body))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = w
        .call(
            M::POST,
            "/api/v1/clusters/k1/import",
            &w.admin,
            Some(json!({"project": "shop", "topics": []})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["fields"][0]["field"], "topics");
    let (s, e) = w
        .call(
            M::POST,
            "/api/v1/clusters/k1/import",
            &w.admin,
            Some(json!({"project": "nope", "topics": ["t"]})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["fields"][0]["field"], "project");
    let (s, e) = w
        .call(
            M::GET,
            "/api/v1/queues/shop/orders/traffic?range=year",
            &w.vera,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["fields"][0]["field"], "range");
}

/// A private key pasted into a certificate field would be shown to every reader and handed to
/// SDK clients: refused, naming the field, never quoting it; nothing stored changes.
async fn tls_fields_take_only_what_they_name(b: Backend) {
    let w = world(b).await;
    let key = "-----BEGIN PRIVATE KEY-----\r\nMC4CAQAwBQYDK2VwBCIEIKeyBytesThatMustNotBeEchoed0000000000000\r\n-----END PRIVATE KEY-----";
    let base =
        json!({"name": "k9", "kind": "kafka", "bootstrap_servers": ["k9:9093"], "tls": true});
    let mut cases = Vec::new();
    for (field, text) in [
        ("tls_ca_pem", key.to_string()),
        ("tls_client_cert_pem", format!("{key}\n")),
        ("tls_ca_pem", "not pem at all".to_string()),
        (
            "tls_ca_pem",
            "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----".to_string(),
        ),
    ] {
        let mut body = base.clone();
        body[field] = json!(text);
        cases.push((field, body));
    }
    let mut body = base.clone();
    body["tls_client_cert_pem"] = json!(crate::secure::test_certificate());
    body["tls_client_key_pem"] = json!(
        "-----BEGIN PRIVATE KEY-----\nKeyBytesThatMustNotBeEchoed\n-----END PRIVATE KEY-----"
    );
    cases.push(("tls_client_key_pem", body));
    let (cert, other_key) = crate::secure::mismatched_certificate_and_key();
    let mut body = base.clone();
    body["tls_client_cert_pem"] = json!(cert);
    body["tls_client_key_pem"] = json!(other_key);
    cases.push(("tls_client_key_pem", body));
    for (field, body) in cases {
        let (s, e) = w
            .call(M::POST, "/api/v1/clusters", &w.admin, Some(body))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {e}");
        assert_eq!(e["fields"][0]["field"], field, "{e}");
        assert!(
            !e.to_string().contains("KeyBytesThatMustNotBeEchoed"),
            "{e}"
        );
    }
    let (s, _) = w.call(M::GET, "/api/v1/clusters/k9", &w.admin, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing was stored");
    // Certificates pasted with Windows line ends are kept, with Unix ones.
    let mut body = base.clone();
    body["tls_ca_pem"] = json!(crate::secure::test_certificate().replace('\n', "\r\n"));
    let (s, e) = w
        .call(M::POST, "/api/v1/clusters", &w.admin, Some(body))
        .await;
    assert!(s.is_success(), "{e}");
    let (_, c) = w.call(M::GET, "/api/v1/clusters/k9", &w.admin, None).await;
    let ca = c["tls_ca_pem"].as_str().unwrap();
    assert!(
        ca.starts_with("-----BEGIN CERTIFICATE-----\n") && !ca.contains('\r'),
        "{c}"
    );
}

async fn provisions_and_broker_samples_are_stored_per_queue_and_cluster(b: Backend) {
    // The agent stays out of the way: its own attempts on the unreachable k1 would race the
    // rows this test writes.
    let mut settings = watershed::server::sdk::SdkSettings::default();
    settings.kafka.provision = false;
    settings.kafka.poll_every = None;
    let w = crate::harness::world_with(b, settings).await;
    let store = w.app.store();
    let q = store.queue("shop", "orders").await.unwrap().unwrap();
    let k1 = store.cluster("k1").await.unwrap().unwrap().view.id;
    let audit = AuditEvent {
        actor: "watershed".into(),
        action: "topic.create",
        target_kind: "queue",
        target: "shop/orders".into(),
        summary: "topic shop.orders on cluster k1".into(),
    };
    let row = |status| ProvisionRow {
        queue_id: q.id,
        cluster_id: k1,
        topic: "shop.orders".into(),
        status,
        message: format!("{status} here"),
    };
    store.record_provision(&row("failed"), None).await.unwrap();
    assert_eq!(store.failed_provisions().await.unwrap(), vec![q.id]);
    store
        .record_provision(&row("created"), Some(&audit))
        .await
        .unwrap();
    let p = store.provisions(q.id).await.unwrap();
    assert_eq!(
        (p.len(), p[0].status.as_str(), p[0].cluster.as_str()),
        (1, "created", "k1")
    );
    assert!(store.failed_provisions().await.unwrap().is_empty());
    let (_, log) = w
        .call(M::GET, "/api/v1/audit?action=topic.create", &w.admin, None)
        .await;
    assert_eq!(log["total"], 1, "{log}");

    let bound = store.queues_on_cluster(k1).await.unwrap();
    let orders = bound.iter().find(|b| b.key == "shop/orders").unwrap();
    assert!(orders.active && orders.topic == "shop.orders", "{orders:?}");

    let sample = |bucket, end_offset| BrokerOffsetRow {
        queue_id: q.id,
        cluster_id: k1,
        bucket,
        end_offset,
    };
    let group = |bucket, committed, lag| GroupOffsetRow {
        queue_id: q.id,
        cluster_id: k1,
        consumer_group: "billing".into(),
        bucket,
        committed,
        lag,
        lag_seconds: Some(lag * 10),
    };
    store
        .write_broker_offsets(
            &[sample(60_000, 10), sample(120_000, 40)],
            &[group(60_000, 5, 5)],
        )
        .await
        .unwrap();
    // The latest sample in a minute wins.
    store
        .write_broker_offsets(&[sample(120_000, 50)], &[group(60_000, 8, 2)])
        .await
        .unwrap();
    let ends: Vec<(i64, i64, i64)> = store
        .broker_offsets(q.id, 0, 1_000_000)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.bucket, s.first_offset, s.end_offset))
        .collect();
    // A minute keeps its first and last poll.
    assert_eq!(ends, vec![(60_000, 10, 10), (120_000, 40, 50)]);
    let groups = store
        .broker_group_offsets(q.id, 0, 1_000_000)
        .await
        .unwrap();
    assert_eq!(groups.len(), 1);
    let g = &groups[0];
    assert_eq!(
        (
            g.consumer_group.as_str(),
            g.first_committed,
            g.committed,
            g.lag,
            g.lag_seconds
        ),
        ("billing", 5, 8, 2, Some(20)),
        "lag in seconds is kept beside lag in messages"
    );
    assert_eq!(store.prune_broker_offsets(100_000).await.unwrap(), 2);
    assert_eq!(
        store
            .broker_offsets(q.id, 0, 1_000_000)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// RocketMQ topic names take no dots: a new queue's default topic is rewritten; an existing
/// queue moved onto RocketMQ keeps its topic only if it fits, and is refused naming `topic`
/// otherwise, its stored binding untouched.
async fn a_queue_on_rocketmq_gets_a_topic_rocketmq_accepts(b: Backend) {
    let w = world(b).await;
    let (s, e) = w
        .call(
            M::POST,
            "/api/v1/clusters",
            &w.admin,
            Some(json!({"name": "r1", "kind": "rocketmq", "bootstrap_servers": ["r1:9876"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, q) = w
        .call(
            M::POST,
            "/api/v1/queues",
            &w.olga,
            Some(json!({"project": "shop", "name": "returns", "primary_cluster": "r1"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{q}");
    assert_eq!(q["topic"], "shop_returns");
    let (s, e) = w
        .call(
            M::POST,
            "/api/v1/queues",
            &w.olga,
            Some(
                json!({"project": "shop", "name": "refunds", "primary_cluster": "r1",
                        "topic": "legacy.refunds"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["fields"][0]["field"], "topic", "{e}");

    // shop/orders lives on k1 as shop.orders: moving it onto r1 must not rename it silently.
    let (_, before) = w
        .call(M::GET, "/api/v1/queues/shop/orders", &w.olga, None)
        .await;
    assert_eq!(before["topic"], "shop.orders");
    let mut edit = before.clone();
    edit["backup_cluster"] = json!("r1");
    let (s, e) = w
        .call(
            M::PUT,
            "/api/v1/queues/shop/orders",
            &w.olga,
            Some(edit.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["fields"][0]["field"], "topic", "{e}");
    let (_, after) = w
        .call(M::GET, "/api/v1/queues/shop/orders", &w.olga, None)
        .await;
    assert_eq!(after, before, "a refused edit changes nothing");
    // With a topic RocketMQ takes, the move is accepted as asked.
    edit["topic"] = json!("shop_orders");
    let (s, q) = w
        .call(M::PUT, "/api/v1/queues/shop/orders", &w.olga, Some(edit))
        .await;
    assert_eq!(s, StatusCode::OK, "{q}");
    assert_eq!(
        (q["topic"].as_str(), q["backup_cluster"].as_str()),
        (Some("shop_orders"), Some("r1"))
    );
}
