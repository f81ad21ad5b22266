//! Switching queues between clusters over HTTP, on both databases: failover and failback reach
//! SDK heartbeats, refusals name the field, two switches at once produce one, a cluster-wide
//! failover moves only queues with a backup, migration, history and the rollout of clients.

use crate::harness::Backend;
use crate::harness::{world, World};
use crate::on_both_backends;
use crate::sdk::{granted, sdk};
use reqwest::{Method as M, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

on_both_backends!(
    a_failover_reaches_the_next_heartbeat_and_the_history,
    a_switch_is_refused_with_the_field_named,
    two_switches_at_once_make_one,
    a_cluster_failover_moves_every_queue_with_a_backup,
    a_migration_moves_the_active_side_to_another_cluster,
);

/// Adds cluster k2 and binds it as shop/orders' backup.
async fn with_backup(w: &World) {
    let (s, _) = w
        .call(
            M::POST,
            "/api/v1/clusters",
            &w.admin,
            Some(json!({"name": "k2", "kind": "automq", "bootstrap_servers": ["k2:9092"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, q) = w
        .call(M::GET, "/api/v1/queues/shop/orders", &w.olga, None)
        .await;
    let mut edit = q.clone();
    edit["backup_cluster"] = json!("k2");
    let (s, e) = w
        .call(M::PUT, "/api/v1/queues/shop/orders", &w.olga, Some(edit))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
}

/// The queue's rollout once `done` holds (client sightings are written shortly after).
async fn rollout_until(w: &World, done: impl Fn(&Value) -> bool) -> Value {
    let done = &done;
    crate::harness::eventually(
        "the expected rollout",
        Duration::from_secs(10),
        || async move {
            let (_, r) = w
                .call(M::GET, "/api/v1/queues/shop/orders/rollout", &w.dev, None)
                .await;
            if done(&r) {
                Ok(r)
            } else {
                Err(r.to_string())
            }
        },
    )
    .await
}

fn switch(to: &str) -> Value {
    json!({"to": to, "reason": "drill", "confirm": true})
}

async fn a_failover_reaches_the_next_heartbeat_and_the_history(b: Backend) {
    let w = world(b).await;
    with_backup(&w).await;
    let (_, token) = granted(&w, "orders", "both").await;
    let body = json!({"project": "shop", "queue": "orders", "role": "producer", "app": "checkout",
                      "client_id": "p-1", "host": "web-1", "sdk_version": "0.1.0"});
    let (_, c) = sdk(&w, "config", &token, body).await;
    assert_eq!(c["cluster"]["name"], "k1");
    let version = c["config_version"].as_str().unwrap().to_string();
    let beat = |v: &str| json!({"client_id": "p-1", "queues": [{"project": "shop", "queue": "orders", "role": "producer", "config_version": v}]});

    let (s, sw) = w
        .call(
            M::POST,
            "/api/v1/queues/shop/orders/failover",
            &w.olga,
            Some(switch("backup")),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{sw}");
    assert_eq!(
        (sw["kind"].as_str(), sw["to_cluster"].as_str()),
        (Some("failover"), Some("k2"))
    );

    // The client is behind until its next heartbeat, which brings the new mapping.
    let r = rollout_until(&w, |r| r["behind"][0]["client_id"] == "p-1").await;
    assert_eq!(r["cluster"], "k2");
    let (_, hb) = sdk(&w, "heartbeat", &token, beat(&version)).await;
    assert_eq!(hb["changed"][0]["cluster"]["name"], "k2", "{hb}");
    assert_eq!(hb["changed"][0]["active_side"], "backup");
    let new_version = hb["changed"][0]["config_version"]
        .as_str()
        .unwrap()
        .to_string();
    sdk(&w, "heartbeat", &token, beat(&new_version)).await;
    rollout_until(&w, |r| r["current"] == 1 && r["behind"] == json!([])).await;

    // And back.
    let (s, _) = w
        .call(
            M::POST,
            "/api/v1/queues/shop/orders/failover",
            &w.olga,
            Some(switch("primary")),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, hb) = sdk(&w, "heartbeat", &token, beat(&new_version)).await;
    assert_eq!(hb["changed"][0]["cluster"]["name"], "k1");
    let (_, history) = w
        .call(M::GET, "/api/v1/queues/shop/orders/switches", &w.dev, None)
        .await;
    let kinds = crate::harness::strs(&history, "kind");
    assert_eq!(kinds, ["failback", "failover"]);
    let (_, audit) = w
        .call(
            M::GET,
            "/api/v1/audit?action=queue.failover",
            &w.admin,
            None,
        )
        .await;
    assert_eq!(audit["items"][0]["target"], "shop/orders");
}

async fn a_switch_is_refused_with_the_field_named(b: Backend) {
    let w = world(b).await;
    let url = "/api/v1/queues/shop/orders/failover";
    // No backup bound yet.
    let (s, e) = w.call(M::POST, url, &w.olga, Some(switch("backup"))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["fields"][0]["field"], "to");
    with_backup(&w).await;
    let (s, e) = w
        .call(
            M::POST,
            url,
            &w.olga,
            Some(json!({"to": "backup", "confirm": false})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["fields"][0]["field"], "confirm");
    let (s, e) = w.call(M::POST, url, &w.olga, Some(switch("primary"))).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "already on the primary"
    );
    assert_eq!(e["fields"][0]["field"], "to");
    // Only the project's owners and admins switch.
    for token in [&w.dev, &w.vera] {
        let (s, _) = w.call(M::POST, url, token, Some(switch("backup"))).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let (_, q) = w
        .call(M::GET, "/api/v1/queues/shop/orders", &w.dev, None)
        .await;
    assert_eq!(q["active_side"], "primary", "nothing moved");
}

async fn two_switches_at_once_make_one(b: Backend) {
    let w = world(b).await;
    with_backup(&w).await;
    let url = "/api/v1/queues/shop/orders/failover";
    let (a, bb) = tokio::join!(
        w.call(M::POST, url, &w.olga, Some(switch("backup"))),
        w.call(M::POST, url, &w.admin, Some(switch("backup"))),
    );
    let mut statuses = [a.0, bb.0];
    statuses.sort();
    assert_eq!(statuses[0], StatusCode::OK);
    assert!(
        statuses[1] == StatusCode::CONFLICT || statuses[1] == StatusCode::UNPROCESSABLE_ENTITY,
        "{statuses:?}"
    );
    let (_, history) = w
        .call(M::GET, "/api/v1/queues/shop/orders/switches", &w.dev, None)
        .await;
    assert_eq!(history.as_array().unwrap().len(), 1);
}

async fn a_cluster_failover_moves_every_queue_with_a_backup(b: Backend) {
    let w = world(b).await;
    with_backup(&w).await;
    let url = "/api/v1/clusters/k1/failover";
    let body = json!({"reason": "k1 is down", "confirm": true});
    let (s, _) = w.call(M::POST, url, &w.olga, Some(body.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "admins only");
    let (s, r) = w.call(M::POST, url, &w.admin, Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["switched"][0]["queue"], "orders");
    assert_eq!(r["skipped"][0]["queue"], "shop/customers");
    assert_eq!(r["skipped"][0]["reason"], "no backup cluster");
    let (_, q) = w
        .call(M::GET, "/api/v1/queues/shop/orders", &w.dev, None)
        .await;
    assert_eq!(q["active_side"], "backup");
}

async fn a_migration_moves_the_active_side_to_another_cluster(b: Backend) {
    let w = world(b).await;
    let (s, _) = w
        .call(
            M::POST,
            "/api/v1/clusters",
            &w.admin,
            Some(json!({"name": "k3", "kind": "kafka", "bootstrap_servers": ["k3:9092"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let url = "/api/v1/queues/shop/orders/migrate";
    let (s, e) = w
        .call(
            M::POST,
            url,
            &w.olga,
            Some(json!({"cluster": "nowhere", "confirm": true})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["fields"][0]["field"], "cluster");
    let (s, sw) = w
        .call(
            M::POST,
            url,
            &w.olga,
            Some(json!({"cluster": "k3", "reason": "new hardware", "confirm": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{sw}");
    assert_eq!(
        (sw["from_cluster"].as_str(), sw["to_cluster"].as_str()),
        (Some("k1"), Some("k3"))
    );
    let (_, q) = w
        .call(M::GET, "/api/v1/queues/shop/orders", &w.dev, None)
        .await;
    assert_eq!(q["primary_cluster"], "k3");
    assert_eq!(q["active_side"], "primary");
}
