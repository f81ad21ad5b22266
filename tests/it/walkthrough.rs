//! The README's SDK walkthrough, step by step, as one person would run it: the real binary,
//! a personal token from `watershed user token`, the REST calls the README shows, then the
//! SDK's `produce` and `consume` examples against a local tansu broker. Nobody approves
//! anything: the application belongs to the queue's project.

use crate::drill::{self, Broker, Platform};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// An example binary of the SDK crate, built beside this test by `cargo test --workspace`.
fn example(name: &str) -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_watershed"));
    bin.parent().unwrap().join("examples").join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_person_goes_from_a_fresh_install_to_messages_consumed() {
    let Some(tansu) = drill::tansu_binary() else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("tansu is required in CI (the test command installs it)");
        }
        eprintln!("skipped: tansu is not available");
        return;
    };
    for e in ["produce", "consume"] {
        assert!(
            example(e).is_file(),
            "the {e} example is built by cargo test --workspace"
        );
    }
    let broker = Broker::start(&tansu, "local").await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db_url = format!("sqlite://{}", dir.path().join("watershed.db").display());
    let platform = Platform::start(&data, &db_url, 60).await;

    // TOKEN=$(target/release/watershed user token admin --name walkthrough)
    let out = Command::new(env!("CARGO_BIN_EXE_watershed"))
        .args(["user", "token", "admin", "--name", "walkthrough"])
        .env("WATERSHED_DATA_DIR", &data)
        .env("WATERSHED_DATABASE_URL", &db_url)
        .env("WATERSHED_SECRET_KEY", "2a".repeat(32))
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(
        token.starts_with("wsp_"),
        "only the token on stdout: {token}"
    );

    // api clusters|projects|queues|applications '…'
    let http = reqwest::Client::new();
    let api = |path: &str, body: Value| {
        let req = http
            .post(format!("{}/api/v1/{path}", platform.base))
            .bearer_auth(&token);
        let req = if body.is_null() { req } else { req.json(&body) };
        let path = path.to_string();
        async move {
            let r = req.send().await.unwrap();
            let status = r.status();
            let v: Value = r.json().await.unwrap_or(Value::Null);
            assert!(status.is_success(), "{path}: {status} {v}");
            v
        }
    };
    api(
        "clusters",
        json!({"name": "local", "kind": "kafka", "bootstrap_servers": [broker.addr]}),
    )
    .await;
    api("projects", json!({"name": "tryout"})).await;
    api(
        "queues",
        json!({"project": "tryout", "name": "greetings", "primary_cluster": "local", "partitions": 3}),
    )
    .await;
    api(
        "applications",
        json!({"project": "tryout", "name": "hello"}),
    )
    .await;
    let app_token = api("applications/tryout/hello/tokens", Value::Null).await["token"]
        .as_str()
        .unwrap()
        .to_string();

    // cargo run -p watershed-sdk --example produce -- tryout greetings hello 10
    let run = |name: &str, args: &[&str]| {
        let mut c = Command::new(example(name));
        c.args(args)
            .env("WATERSHED_URL", &platform.base)
            .env("WATERSHED_TOKEN", &app_token)
            .env("WATERSHED_SDK_CACHE_DIR", dir.path().join("sdk-cache"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        c
    };
    let produced = tokio::time::timeout(
        Duration::from_secs(60),
        run("produce", &["tryout", "greetings", "hello", "10"]).output(),
    )
    .await
    .expect("produce finished")
    .unwrap();
    let stdout = String::from_utf8_lossy(&produced.stdout);
    assert!(
        produced.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&produced.stderr)
    );
    assert_eq!(
        stdout.lines().count(),
        10,
        "one acknowledgement each: {stdout}"
    );
    assert!(stdout.contains("→ local partition"), "{stdout}");

    // cargo run -p watershed-sdk --example consume -- tryout greetings hello hello-readers 10
    let consumed = tokio::time::timeout(
        Duration::from_secs(90),
        run(
            "consume",
            &["tryout", "greetings", "hello", "hello-readers", "10"],
        )
        .output(),
    )
    .await
    .expect("consume read ten messages and finished")
    .unwrap();
    let stdout = String::from_utf8_lossy(&consumed.stdout);
    assert!(
        consumed.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&consumed.stderr)
    );
    for n in 0..10 {
        assert!(
            stdout.contains(&format!(": message {n}\n")),
            "message {n} consumed: {stdout}"
        );
    }
}
