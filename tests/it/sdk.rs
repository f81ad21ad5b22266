//! The Stream-SDK control plane and the collector over HTTP, on both databases: refusals
//! without a grant, mapping changes in the next heartbeat, durable reports and their rollups,
//! 429 under overload, and revocation biting at once.

use crate::harness::Backend;
use crate::harness::{world, world_with, World};
use crate::on_both_backends;
use reqwest::{Method as M, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use watershed::server::collector::CollectorConfig;
use watershed::server::sdk::SdkSettings;

on_both_backends!(
    config_is_refused_without_a_live_grant_for_the_role,
    a_mapping_change_shows_up_in_the_next_heartbeat,
    reports_are_durable_and_rolled_up_per_minute,
    a_full_collector_answers_429_with_retry_after,
    a_revoked_grant_or_token_bites_at_once,
    a_projects_own_application_uses_its_queues_unless_the_owners_switch_it_off,
);

/// Grants lab/checkout `permission` on shop/`queue` and returns (grant id, app token).
pub(crate) async fn granted(w: &World, queue: &str, permission: &str) -> (i64, String) {
    let (s, req) = w.request(&w.dev, queue, permission).await;
    assert_eq!(s, StatusCode::OK, "{req}");
    let (s, d) = w
        .decide(&w.olga, req["id"].as_i64().unwrap(), "approve", "ok")
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let (_, grants) = w
        .call(M::GET, "/api/v1/applications/lab/checkout", &w.dev, None)
        .await;
    let grant = grants["grants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["queue"] == queue && g["revoked_at"].is_null())
        .unwrap_or_else(|| panic!("no grant in {grants}"))["id"]
        .as_i64()
        .unwrap();
    (grant, app_token(w).await)
}

async fn app_token(w: &World) -> String {
    let (s, t) = w
        .call(
            M::POST,
            "/api/v1/applications/lab/checkout/tokens",
            &w.dev,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    t["token"].as_str().unwrap().to_string()
}

fn config_body(queue: &str, role: &str) -> Value {
    json!({"project": "shop", "queue": queue, "role": role, "app": "checkout",
           "consumer_group": if role == "consumer" { json!("billing") } else { Value::Null },
           "client_id": "client-1", "host": "web-1", "sdk_version": "0.1.0"})
}

pub(crate) async fn sdk(w: &World, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    w.call(M::POST, &format!("/api/v1/sdk/{path}"), token, Some(body))
        .await
}

async fn config_is_refused_without_a_live_grant_for_the_role(b: Backend) {
    let w = world(b).await;
    let token = app_token(&w).await;
    let (s, e) = sdk(&w, "config", &token, config_body("orders", "consumer")).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let msg = e["error"].as_str().unwrap();
    assert!(
        msg.contains("lab/checkout") && msg.contains("consume") && msg.contains("shop/orders"),
        "{msg}"
    );
    // Not an application token, or none: 401.
    let (s, _) = sdk(&w, "config", &w.dev, config_body("orders", "consumer")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = sdk(&w, "config", "wsa_nope", config_body("orders", "consumer")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // A consume grant does not let it produce.
    let (_, token) = granted(&w, "orders", "consume").await;
    let (s, c) = sdk(&w, "config", &token, config_body("orders", "consumer")).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["cluster"]["name"], "k1");
    assert_eq!(c["cluster"]["bootstrap_servers"], json!(["k1:9092"]));
    assert_eq!(c["topic"], "shop.orders");
    assert_eq!(c["heartbeat_interval_secs"], 60);
    let (s, e) = sdk(&w, "config", &token, config_body("orders", "producer")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(e["error"].as_str().unwrap().contains("produce"), "{e}");

    // Bad input names the field; the token's application must be the one named.
    let mut bad = config_body("orders", "consumer");
    bad["consumer_group"] = Value::Null;
    let (s, e) = sdk(&w, "config", &token, bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["fields"][0]["field"], "consumer_group");
    let mut other = config_body("orders", "consumer");
    other["app"] = json!("someone-else");
    let (s, e) = sdk(&w, "config", &token, other).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["fields"][0]["field"], "app");
    let (s, _) = sdk(&w, "config", &token, {
        let mut c = config_body("nothing-here", "consumer");
        c["queue"] = json!("nothing-here");
        c
    })
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn a_mapping_change_shows_up_in_the_next_heartbeat(b: Backend) {
    let w = world(b).await;
    let (_, token) = granted(&w, "orders", "both").await;
    let (_, c) = sdk(&w, "config", &token, config_body("orders", "producer")).await;
    let version = c["config_version"].as_str().unwrap().to_string();
    let beat = |version: &str| json!({"client_id": "client-1", "queues": [{"project": "shop", "queue": "orders", "role": "producer", "config_version": version}]});
    let (s, hb) = sdk(&w, "heartbeat", &token, beat(&version)).await;
    assert_eq!(s, StatusCode::OK, "{hb}");
    assert_eq!(hb["changed"], json!([]));
    assert_eq!(hb["revoked"], json!([]));

    // The owner moves the queue to another cluster.
    let (s, _) = w
        .call(
            M::POST,
            "/api/v1/clusters",
            &w.admin,
            Some(json!({"name": "k2", "kind": "automq", "bootstrap_servers": ["k2a:9092", "k2b:9092"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, q) = w
        .call(M::GET, "/api/v1/queues/shop/orders", &w.olga, None)
        .await;
    let mut edit = q.clone();
    edit["primary_cluster"] = json!("k2");
    let (s, e) = w
        .call(M::PUT, "/api/v1/queues/shop/orders", &w.olga, Some(edit))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");

    let (_, hb) = sdk(&w, "heartbeat", &token, beat(&version)).await;
    let changed = hb["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{hb}");
    assert_eq!(changed[0]["cluster"]["name"], "k2");
    assert_eq!(changed[0]["cluster"]["kind"], "automq");
    let new_version = changed[0]["config_version"].as_str().unwrap();
    assert_ne!(new_version, version);
    // Once the client runs the new version, nothing is reported changed.
    let (_, hb) = sdk(&w, "heartbeat", &token, beat(new_version)).await;
    assert_eq!(hb["changed"], json!([]));

    // A change made by another process reaches this one's cache through the change feed.
    let replica = crate::harness::spawn_replica(&w.app).await;
    let r = replica.client();
    let (_, q) = w
        .call(M::GET, "/api/v1/queues/shop/orders", &w.olga, None)
        .await;
    let mut back = q.clone();
    back["primary_cluster"] = json!("k1");
    let resp = r
        .put(replica.url("/api/v1/queues/shop/orders"))
        .bearer_auth(&w.olga)
        .json(&back)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let hb = crate::harness::eventually(
        "the other process's change reaching this one",
        Duration::from_secs(5),
        || async {
            let (_, hb) = sdk(&w, "heartbeat", &token, beat(new_version)).await;
            if hb["changed"].as_array().is_some_and(|c| c.len() == 1) {
                Ok(hb)
            } else {
                Err(hb.to_string())
            }
        },
    )
    .await;
    assert_eq!(hb["changed"][0]["cluster"]["name"], "k1");
}

pub(crate) fn reports(n: usize, client: &str, role: &str) -> Value {
    let reports: Vec<Value> = (0..n)
        .map(|i| {
            json!({"project": "shop", "queue": "orders", "role": role, "client_id": client, "host": "web-1",
                   "consumer_group": if role == "consumer" { json!("billing") } else { Value::Null },
                   "seq": i, "messages": 10, "bytes": 1000,
                   "offsets": if role == "consumer" { json!([{"partition": 0, "offset": i, "lag": 5}, {"partition": 1, "offset": i, "lag": 7}]) } else { json!([]) }})
        })
        .collect();
    json!({ "reports": reports })
}

async fn reports_are_durable_and_rolled_up_per_minute(b: Backend) {
    let w = world(b).await;
    let (_, token) = granted(&w, "orders", "both").await;
    let (s, ack) = sdk(&w, "reports", &token, reports(30, "p-1", "producer")).await;
    assert_eq!(s, StatusCode::OK, "{ack}");
    assert_eq!(ack["accepted"], 30);
    let (s, _) = sdk(&w, "reports", &token, reports(4, "c-1", "consumer")).await;
    assert_eq!(s, StatusCode::OK);
    // Acknowledged means stored: no waiting.
    let store = w.app.store();
    assert_eq!(
        store.report_seqs("p-1").await.unwrap(),
        (0..30).collect::<Vec<i64>>()
    );
    let q = store.queue("shop", "orders").await.unwrap().unwrap();
    let now = watershed::server::db::now_millis();
    let traffic = store
        .queue_traffic(q.id, now - 3_600_000, now + 60_000, 60_000, false)
        .await
        .unwrap();
    let sum = |role: &str| -> (i64, i64) {
        traffic
            .iter()
            .filter(|t| t.1 == role)
            .fold((0, 0), |a, t| (a.0 + t.2, a.1 + t.3))
    };
    assert_eq!(sum("producer"), (300, 30_000));
    assert_eq!(sum("consumer"), (40, 4_000));
    let hourly = store
        .queue_traffic(q.id, now - 7 * 86_400_000, now + 3_600_000, 3_600_000, true)
        .await
        .unwrap();
    assert_eq!(hourly.iter().map(|t| t.2).sum::<i64>(), 340);
    let lag = store
        .queue_lag(q.id, now - 3_600_000, now + 60_000, 60_000)
        .await
        .unwrap();
    assert_eq!(
        lag.last().map(|l| (l.1.as_str(), l.2)),
        Some(("billing", 12))
    );
    let clients = store.queue_clients(q.id, 10).await.unwrap();
    let producer = clients.iter().find(|c| c.client_id == "p-1").unwrap();
    assert_eq!(producer.app, "lab/checkout");
    assert_eq!(producer.ip, "127.0.0.1");
    assert_eq!(producer.host, "web-1");

    // A bad report names itself; nothing of its batch is stored.
    let mut bad = reports(3, "p-2", "producer");
    bad["reports"][2]["bytes"] = json!(-5);
    let (s, e) = sdk(&w, "reports", &token, bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["fields"][0]["field"], "reports[2].bytes");
    assert!(store.report_seqs("p-2").await.unwrap().is_empty());

    // The queue's traffic is in the console's data and the metrics.
    let metrics = w
        .app
        .client()
        .get(w.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("watershed_collector_rows_total"),
        "{metrics}"
    );
    assert!(metrics.contains("area=\"sdk_reports\""), "{metrics}");
}

async fn a_full_collector_answers_429_with_retry_after(b: Backend) {
    let settings = SdkSettings {
        collector: CollectorConfig {
            capacity: 1_000,
            max_linger: Duration::from_millis(250),
            idle_gap: Duration::from_millis(250),
            ..CollectorConfig::default()
        },
        ..SdkSettings::default()
    };
    let w = world_with(b, settings).await;
    let (_, token) = granted(&w, "orders", "produce").await;
    // Each call fills the collector's whole capacity, and the writer lingers on it.
    let calls = (0..8).map(|i| {
        let client = w.app.client();
        let url = w.app.url("/api/v1/sdk/reports");
        let body = reports(1_000, &format!("flood-{i}"), "producer");
        let token = token.clone();
        async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                r.status(),
                r.headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string()),
            )
        }
    });
    let answers = join_all(calls).await;
    let refused: Vec<_> = answers
        .iter()
        .filter(|a| a.0 == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert!(!refused.is_empty(), "{answers:?}");
    assert!(
        refused.iter().all(|a| a.1.as_deref() == Some("1")),
        "{answers:?}"
    );
    assert!(answers
        .iter()
        .all(|a| a.0 == StatusCode::OK || a.0 == StatusCode::TOO_MANY_REQUESTS));
    // What was acknowledged is stored in full; what was refused, not at all.
    for (i, a) in answers.iter().enumerate() {
        let stored = w
            .app
            .store()
            .report_seqs(&format!("flood-{i}"))
            .await
            .unwrap()
            .len();
        assert_eq!(stored, if a.0 == StatusCode::OK { 1_000 } else { 0 });
    }
}

/// Runs the futures concurrently, each on its own task, and collects their outputs in order.
async fn join_all<F>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

async fn a_revoked_grant_or_token_bites_at_once(b: Backend) {
    let w = world(b).await;
    let (grant, token) = granted(&w, "orders", "consume").await;
    let (s, c) = sdk(&w, "config", &token, config_body("orders", "consumer")).await;
    assert_eq!(s, StatusCode::OK);
    let version = c["config_version"].as_str().unwrap().to_string();
    let (s, _) = w
        .call(
            M::DELETE,
            &format!("/api/v1/grants/{grant}"),
            &w.olga,
            Some(json!({"reason": "done"})),
        )
        .await;
    assert!(s.is_success(), "{s}");
    let (s, e) = sdk(&w, "config", &token, config_body("orders", "consumer")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(e["error"].as_str().unwrap().contains("revoked"), "{e}");
    let (_, hb) = sdk(
        &w,
        "heartbeat",
        &token,
        json!({"client_id": "client-1", "queues": [{"project": "shop", "queue": "orders", "role": "consumer", "config_version": version}]}),
    )
    .await;
    assert_eq!(hb["revoked"][0]["queue"], "orders", "{hb}");

    // A revoked token stops working too.
    let (_, app) = w
        .call(M::GET, "/api/v1/applications/lab/checkout", &w.dev, None)
        .await;
    for t in app["tokens"].as_array().unwrap() {
        if t["revoked_at"].is_null() {
            let id = t["id"].as_i64().unwrap();
            w.call(
                M::DELETE,
                &format!("/api/v1/applications/lab/checkout/tokens/{id}"),
                &w.dev,
                None,
            )
            .await;
        }
    }
    let (s, _) = sdk(&w, "config", &token, config_body("orders", "consumer")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// One person can try the SDK: an application of shop reads and writes shop's queues with no
/// request (nobody else has to approve it), until shop's owners switch that off (audited both
/// ways), and on again. An application of another project still needs a grant.
async fn a_projects_own_application_uses_its_queues_unless_the_owners_switch_it_off(b: Backend) {
    let w = world(b).await;
    let (s, e) = w
        .call(
            M::POST,
            "/api/v1/applications",
            &w.olga,
            Some(json!({"project": "shop", "name": "fulfilment"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (_, t) = w
        .call(
            M::POST,
            "/api/v1/applications/shop/fulfilment/tokens",
            &w.olga,
            None,
        )
        .await;
    let own = t["token"].as_str().unwrap().to_string();
    let body = |role: &str| {
        let mut c = config_body("orders", role);
        c["app"] = json!("fulfilment");
        c
    };
    for role in ["producer", "consumer"] {
        let (s, c) = sdk(&w, "config", &own, body(role)).await;
        assert_eq!(s, StatusCode::OK, "{role}: {c}");
        assert_eq!(c["topic"], "shop.orders");
    }
    // A sensitive queue (tagged pii) of its own project still needs a granted request.
    let mut sensitive = body("consumer");
    sensitive["queue"] = json!("customers");
    let (s, e) = sdk(&w, "config", &own, sensitive).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    // lab's application is not shop's own: still refused.
    let lab = app_token(&w).await;
    let (s, _) = sdk(&w, "config", &lab, config_body("orders", "consumer")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The project says so, and the data map tells shop's people their applications may use it.
    let (_, found) = w.call(M::GET, "/api/v1/projects/shop", &w.olga, None).await;
    assert_eq!(found["own_apps_access"], true, "{found}");
    let access = crate::harness::eventually(
        "orders on the data map",
        std::time::Duration::from_secs(10),
        || async {
            let (_, r) = w
                .call(M::GET, "/api/v1/search?q=orders", &w.olga, None)
                .await;
            r["hits"]
                .as_array()
                .and_then(|h| h.iter().find(|h| h["name"] == "orders").cloned())
                .map(|h| h["access"].clone())
                .ok_or_else(|| r.to_string())
        },
    )
    .await;
    assert_eq!(access, "read_write");

    // Only shop's owners decide; a developer of another project may not.
    let off = json!({"enabled": false});
    let (s, _) = w
        .call(
            M::PUT,
            "/api/v1/projects/shop/own-apps-access",
            &w.dev,
            Some(off.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, p) = w
        .call(
            M::PUT,
            "/api/v1/projects/shop/own-apps-access",
            &w.olga,
            Some(off),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["own_apps_access"], false);
    let (s, e) = sdk(&w, "config", &own, body("consumer")).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "switched off bites at once: {e}");
    assert!(e["error"].as_str().unwrap().contains("switched off"), "{e}");

    let (s, _) = w
        .call(
            M::PUT,
            "/api/v1/projects/shop/own-apps-access",
            &w.olga,
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, c) = sdk(&w, "config", &own, body("consumer")).await;
    assert_eq!(s, StatusCode::OK, "{c}");

    let (_, log) = w
        .call(M::GET, "/api/v1/audit?limit=100", &w.admin, None)
        .await;
    let switches: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "project.own_apps_access")
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert_eq!(switches.len(), 2, "audited both ways: {switches:?}");
    assert!(
        switches.contains(&"on → off") && switches.contains(&"off → on"),
        "{switches:?}"
    );
}
