//! Lineage over HTTP, on both databases: edges from SDK reports as they arrive, the graph
//! rebuilt from the database by a new process, impact with owners and grants, OpenLineage run
//! events mapped onto queues, and refusals that name the field.

use crate::harness::{spawn_replica, Backend};
use crate::harness::{world, World};
use crate::on_both_backends;
use crate::sdk::{granted, reports, sdk};
use reqwest::{Method as M, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

on_both_backends!(
    reports_become_lineage_edges_as_they_arrive,
    a_new_process_builds_the_graph_from_the_database,
    impact_names_owners_and_flags_readers_without_a_live_grant,
    openlineage_run_events_map_kafka_datasets_to_queues,
    lineage_questions_name_their_bad_fields,
);

async fn get(w: &World, path: &str) -> (StatusCode, Value) {
    w.call(M::GET, path, &w.dev, None).await
}

/// Asks until `done` holds for the answer (the graph follows writes within moments).
async fn eventually(w: &World, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let done = &done;
    crate::harness::eventually(path, Duration::from_secs(10), || async move {
        let (s, v) = get(w, path).await;
        if s == StatusCode::OK && done(&v) {
            Ok(v)
        } else {
            Err(format!("{s} {v}"))
        }
    })
    .await
}

fn has_edge(v: &Value, from: &str, to: &str) -> bool {
    v["edges"]
        .as_array()
        .is_some_and(|e| e.iter().any(|e| e["from"] == from && e["to"] == to))
}

async fn reports_become_lineage_edges_as_they_arrive(b: Backend) {
    let w = world(b).await;
    // Before any report, the queue stands alone.
    let (s, v) = get(&w, "/api/v1/lineage/graph?node=queue:shop/orders").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(v["edges"], json!([]));

    let (_, token) = granted(&w, "orders", "both").await;
    let (s, _) = sdk(&w, "reports", &token, reports(3, "p-1", "producer")).await;
    assert_eq!(s, StatusCode::OK);
    let v = eventually(&w, "/api/v1/lineage/graph?node=queue:shop/orders", |v| {
        has_edge(v, "app:lab/checkout", "queue:shop/orders")
    })
    .await;
    let edge = &v["edges"][0];
    assert_eq!(edge["messages"], 30);
    assert_eq!(edge["stale"], false);

    // A read arrives: the same app now also reads, in its consumer group.
    let (s, _) = sdk(&w, "reports", &token, reports(2, "c-1", "consumer")).await;
    assert_eq!(s, StatusCode::OK);
    let v = eventually(
        &w,
        "/api/v1/lineage/neighbours?node=app:lab/checkout",
        |v| has_edge(v, "queue:shop/orders", "app:lab/checkout"),
    )
    .await;
    let app = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["key"] == "app:lab/checkout")
        .unwrap();
    assert_eq!(app["groups"], json!(["billing"]));
    assert_eq!(app["health"], "active");
    // More writes add to the edge's volume.
    sdk(&w, "reports", &token, reports(1, "p-1", "producer")).await;
    eventually(
        &w,
        "/api/v1/lineage/graph?node=queue:shop/orders&direction=upstream",
        |v| v["edges"][0]["messages"] == 40,
    )
    .await;
    // The whole graph exports as JSON.
    let (s, all) = get(&w, "/api/v1/lineage/export").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(all["edges"].as_array().unwrap().len(), 2);
}

async fn a_new_process_builds_the_graph_from_the_database(b: Backend) {
    let w = world(b).await;
    let (_, token) = granted(&w, "orders", "both").await;
    sdk(&w, "reports", &token, reports(2, "p-1", "producer")).await;
    let replica = spawn_replica(&w.app).await;
    let url = replica.url("/api/v1/lineage/path?from=app:lab/checkout&to=queue:shop/orders");
    let started = std::time::Instant::now();
    loop {
        let r = replica
            .client()
            .get(&url)
            .bearer_auth(&w.dev)
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::OK {
            let v: Value = r.json().await.unwrap();
            assert!(has_edge(&v, "app:lab/checkout", "queue:shop/orders"), "{v}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no path on the replica"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn impact_names_owners_and_flags_readers_without_a_live_grant(b: Backend) {
    let w = world(b).await;
    let (grant, token) = granted(&w, "orders", "both").await;
    sdk(&w, "reports", &token, reports(1, "c-1", "consumer")).await;
    let path = "/api/v1/lineage/impact?node=queue:shop/orders";
    let v = eventually(&w, path, |v| {
        v["nodes"].as_array().is_some_and(|n| !n.is_empty())
    })
    .await;
    let app = &v["nodes"][0];
    assert_eq!(app["key"], "app:lab/checkout");
    assert_eq!(app["distance"], 1);
    assert_eq!(app["owner"], "dev");
    assert_eq!(app["live_grant"], true);
    assert!(v["owners"].as_array().unwrap().contains(&json!("dev")));

    // Once the grant is revoked, the reader still shows downstream, flagged.
    let (s, r) = w
        .call(M::DELETE, &format!("/api/v1/grants/{grant}"), &w.olga, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let (_, v) = get(&w, path).await;
    assert_eq!(v["nodes"][0]["live_grant"], false);

    // Downstream of the app there is nothing.
    let (_, v) = get(&w, "/api/v1/lineage/impact?node=app:lab/checkout").await;
    assert_eq!(v["nodes"], json!([]));
}

fn run_event(job: &str, inputs: Value, outputs: Value) -> Value {
    json!({
        "eventType": "COMPLETE",
        "eventTime": "2026-11-25T10:00:00Z",
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/integration/flink",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "0195e5a4-1b1c-7a4e-8d6c-1f2e3d4c5b6a"},
        "job": {"namespace": "flink://prod", "name": job},
        "inputs": inputs,
        "outputs": outputs,
    })
}

async fn openlineage_run_events_map_kafka_datasets_to_queues(b: Backend) {
    let w = world(b).await;
    let event = run_event(
        "enrich-orders",
        json!([{"namespace": "kafka://k1:9092", "name": "shop.orders"},
               {"namespace": "postgres://db:5432", "name": "public.users"}]),
        json!([{"namespace": "kafka://k1:9092", "name": "shop.customers"},
               {"namespace": "kafka://k1:9092", "name": "not.a.queue"}]),
    );
    let (s, ack) = w
        .call(M::POST, "/api/v1/lineage", &w.dev, Some(event.clone()))
        .await;
    assert_eq!(s, StatusCode::OK, "{ack}");
    assert_eq!(ack["job"], "job:flink://prod/enrich-orders");
    assert_eq!(
        ack["mapped"],
        json!([
            {"dataset": "kafka://k1:9092/shop.orders", "queue": "queue:shop/orders", "direction": "input"},
            {"dataset": "kafka://k1:9092/shop.customers", "queue": "queue:shop/customers", "direction": "output"}
        ])
    );
    let reasons = crate::harness::strs(&ack["ignored"], "reason");
    assert_eq!(reasons.len(), 2, "{ack}");
    assert!(reasons[0].contains("kafka"), "{reasons:?}");
    assert!(reasons[1].contains("not.a.queue"), "{reasons:?}");

    // The job sits between the two queues, at once.
    let (s, v) = get(
        &w,
        "/api/v1/lineage/path?from=queue:shop/orders&to=queue:shop/customers",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(has_edge(
        &v,
        "queue:shop/orders",
        "job:flink://prod/enrich-orders"
    ));
    assert!(has_edge(
        &v,
        "job:flink://prod/enrich-orders",
        "queue:shop/customers"
    ));
    assert_eq!(v["edges"][0]["messages"], 1, "one completed run");

    // Audited; viewers may not post; a bad event names the field.
    let (_, audit) = w
        .call(
            M::GET,
            "/api/v1/audit?action=lineage.run_event",
            &w.admin,
            None,
        )
        .await;
    assert_eq!(
        audit["items"][0]["target"],
        "job:flink://prod/enrich-orders"
    );
    let (s, _) = w
        .call(M::POST, "/api/v1/lineage", &w.vera, Some(event))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let mut bad = run_event("", json!([]), json!([]));
    bad["job"]["name"] = json!("");
    let (s, e) = w.call(M::POST, "/api/v1/lineage", &w.dev, Some(bad)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["fields"][0]["field"], "job.name");
}

async fn lineage_questions_name_their_bad_fields(b: Backend) {
    let w = world(b).await;
    let (s, e) = get(&w, "/api/v1/lineage/graph?node=queue:shop/orders&depth=21").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["fields"][0]["field"], "depth");
    let (s, e) = get(&w, "/api/v1/lineage/graph?node=orders").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["fields"][0]["field"], "node");
    let (s, e) = get(&w, "/api/v1/lineage/path?from=queue:shop/orders&to=x").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["fields"][0]["field"], "to");
    let (s, _) = get(&w, "/api/v1/lineage/graph?node=queue:shop/nothing").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = w
        .call(
            M::GET,
            "/api/v1/lineage/graph?node=queue:shop/orders",
            "",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
