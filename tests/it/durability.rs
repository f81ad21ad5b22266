//! No acknowledged report is lost when the server process is killed with SIGKILL: the real
//! `watershed` binary is started, fed reports, killed mid-stream, and restarted on the same
//! database; every report it acknowledged must be there.

use crate::drill::Platform;
use crate::harness::{fresh_db, Backend};
use crate::on_both_backends;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

on_both_backends!(no_acknowledged_report_is_lost_to_sigkill);

async fn post(http: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    crate::drill::call(http, reqwest::Method::POST, url, token, body).await
}

async fn no_acknowledged_report_is_lost_to_sigkill(b: Backend) {
    let db = fresh_db(b).await;
    let (ops, dev) = crate::drill::users(&db.url).await;
    let data = db.dir.path().join("server");
    let mut server = Platform::start(&data, &db.url, 60).await;
    let http = reqwest::Client::new();
    let api = |base: &str, p: &str| format!("{base}/api/v1{p}");
    let base = server.base.clone();
    post(
        &http,
        api(&base, "/projects"),
        &ops,
        json!({"name": "shop"}),
    )
    .await;
    post(&http, api(&base, "/projects"), &dev, json!({"name": "lab"})).await;
    post(
        &http,
        api(&base, "/clusters"),
        &ops,
        json!({"name": "k1", "kind": "kafka", "bootstrap_servers": ["k1:9092"]}),
    )
    .await;
    post(
        &http,
        api(&base, "/queues"),
        &ops,
        json!({"project": "shop", "name": "orders", "primary_cluster": "k1"}),
    )
    .await;
    post(
        &http,
        api(&base, "/applications"),
        &dev,
        json!({"project": "lab", "name": "checkout"}),
    )
    .await;
    let req = post(&http, api(&base, "/requests"), &dev, json!({"project": "lab", "application": "checkout",
        "queue_project": "shop", "queue": "orders", "permission": "produce", "reason": "load", "duration": "90"})).await;
    post(
        &http,
        api(&base, &format!("/requests/{}/decision", req["id"])),
        &ops,
        json!({"decision": "approve", "comment": "ok"}),
    )
    .await;
    let app_token = post(
        &http,
        api(&base, "/applications/lab/checkout/tokens"),
        &dev,
        Value::Null,
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_string();

    // Four reporters send batches of 50 until the server dies under them.
    let acked = Arc::new(Mutex::new(Vec::<i64>::new()));
    let mut reporters = Vec::new();
    for r in 0..4i64 {
        let (http, url, token, acked) = (
            http.clone(),
            api(&base, "/sdk/reports"),
            app_token.clone(),
            acked.clone(),
        );
        reporters.push(tokio::spawn(async move {
            for batch in 0.. {
                let seqs: Vec<i64> = (0..50).map(|i| r * 1_000_000 + batch * 50 + i).collect();
                let reports: Vec<Value> = seqs
                    .iter()
                    .map(|s| json!({"project": "shop", "queue": "orders", "role": "producer",
                                    "client_id": "kill-test", "host": "h", "seq": s, "messages": 1, "bytes": 100}))
                    .collect();
                match http.post(&url).bearer_auth(&token).json(&json!({"reports": reports})).send().await {
                    Ok(resp) if resp.status().is_success() => {
                        acked.lock().unwrap().extend(seqs);
                    }
                    Ok(resp) if resp.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {}
                    _ => break,
                }
            }
        }));
    }
    // Kill it once a good number of reports were acknowledged, with more in flight.
    let started = Instant::now();
    while acked.lock().unwrap().len() < 2_000 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill();
    for r in reporters {
        r.await.unwrap();
    }
    let acked: Vec<i64> = acked.lock().unwrap().clone();
    assert!(acked.len() >= 2_000, "only {} acknowledged", acked.len());

    // Restarted on the same database, it has every acknowledged report and takes more.
    server.restart().await;
    let reopened = watershed::server::db::connect(&db.url).await.unwrap();
    let stored: std::collections::HashSet<i64> = reopened
        .report_seqs("kill-test")
        .await
        .unwrap()
        .into_iter()
        .collect();
    let lost: Vec<&i64> = acked.iter().filter(|s| !stored.contains(s)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged reports lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    post(
        &http,
        api(&server.base, "/sdk/reports"),
        &app_token,
        json!({"reports": [{"project": "shop", "queue": "orders", "role": "producer", "client_id": "kill-test",
                            "host": "h", "seq": -1, "messages": 1, "bytes": 1}]}),
    )
    .await;
    assert!(reopened
        .report_seqs("kill-test")
        .await
        .unwrap()
        .contains(&-1));
    server.kill();
}
