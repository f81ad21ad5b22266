//! Stream-SDK control plane and collector benchmarks:
//! 1. `POST /api/v1/sdk/config` beside a bare axum handler that answers the same JSON, in the
//!    same run, at the same concurrency;
//! 2. sustained durable ingestion through `POST /api/v1/sdk/reports` (batches of 100) on
//!    SQLite and, when `WATERSHED_TEST_POSTGRES_URL` is set, PostgreSQL, then a count of the
//!    stored reports against those acknowledged;
//! 3. the process's peak memory while ten times more report traffic is offered than the
//!    collector can write.
//!
//! Run with `cargo bench --bench sdk --features ssr [-- SECONDS]` (default 10 s per phase).
//! Results go in BENCHMARKS.md.
#![recursion_limit = "512"]

mod support;

use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use watershed::domain::{
    AccessRequestInput, ApplicationInput, DecisionInput, ReportBatch, SdkConfig, SdkRole,
};
use watershed::server::loadgen::{self, Stats};
use watershed::server::sdk::SdkSettings;
use watershed::server::services::access;
use watershed::server::state::AppState;

const CONNECTIONS: usize = 32;
/// Report calls in flight during ingestion: a fleet has many reporters at once.
const REPORTERS: usize = 64;
const BATCH: usize = 100;
/// Reports per call while overloading. Calls of 1,000 offered less here (about 5× instead of
/// 8×): the server reads a whole body before it can refuse it, and both share two cores.
const OVERLOAD_BATCH: usize = 100;

fn main() {
    let seconds: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let phase = Duration::from_secs(seconds);
        let sqlite = Bench::start(None).await;
        sqlite.config_beside_bare(phase).await;
        let sustained = sqlite.ingestion("SQLite", phase).await;
        sqlite.overload(phase, sustained).await;
        if let Some(url) = std::env::var("WATERSHED_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            let pg = Bench::start(Some(&url)).await;
            pg.ingestion("PostgreSQL", phase).await;
        } else {
            println!("PostgreSQL: skipped (set WATERSHED_TEST_POSTGRES_URL)");
        }
    });
}

/// A running Watershed with one application granted produce and consume on one queue.
struct Bench {
    _fixture: support::Fixture,
    state: AppState,
    base: String,
    token: String,
    project: String,
    queue: String,
}

impl Bench {
    async fn start(postgres_url: Option<&str>) -> Bench {
        let fixture = support::fixture_on(postgres_url).await;
        let (store, admin) = (fixture.store.clone(), fixture.admin.clone());
        let cx = support::offline(&store, &fixture.secrets, &admin);
        watershed::server::demo::seed(&cx, 24, false).await.unwrap();
        let queue = store
            .list_queues(&Default::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|q| !q.tags.iter().any(|t| t == "pii"))
            .expect("a queue without pii");
        access::create_application(
            &cx,
            &ApplicationInput {
                project: queue.project.clone(),
                name: "bench".into(),
                description: String::new(),
            },
        )
        .await
        .unwrap();
        let request = access::request_access(
            &cx,
            &AccessRequestInput {
                project: queue.project.clone(),
                application: "bench".into(),
                queue_project: queue.project.clone(),
                queue: queue.name.clone(),
                permission: "both".into(),
                reason: "benchmark".into(),
                duration: "permanent".into(),
            },
        )
        .await
        .unwrap();
        let bob = store
            .user_by_name("bob")
            .await
            .unwrap()
            .unwrap()
            .view()
            .unwrap();
        access::decide(
            &cx.as_user(bob),
            request.id,
            &DecisionInput {
                decision: "approve".into(),
                comment: String::new(),
            },
        )
        .await
        .unwrap();
        let (_, token) = access::create_app_token(&cx, &queue.project, "bench")
            .await
            .unwrap();

        let options = leptos::prelude::LeptosOptions::builder()
            .output_name("watershed")
            .site_root("target/site")
            .build();
        let (index, _follower) = watershed::server::search::start(None, store.clone())
            .await
            .unwrap();
        let state = AppState::with_sdk(
            store,
            fixture.secrets.clone(),
            options,
            false,
            index,
            SdkSettings::default(),
        );
        watershed::server::background::start(&state, Default::default());
        let base = support::serve(watershed::server::web::router(state.clone())).await;
        Bench {
            _fixture: fixture,
            state,
            base,
            token,
            project: queue.project,
            queue: queue.name,
        }
    }

    /// A consumer's config request; client `i` of a fleet of 50,000 on 500 hosts.
    fn config_body(&self) -> Arc<dyn Fn(u64) -> Value + Send + Sync> {
        let (project, queue) = (self.project.clone(), self.queue.clone());
        Arc::new(move |i: u64| {
            json!({"project": project, "queue": queue, "role": "consumer", "app": "bench",
                   "consumer_group": "bench", "client_id": format!("bench-{}", i % 50_000),
                   "host": format!("host-{}", i % 500), "sdk_version": "0.1.0"})
        })
    }

    /// The config API and a bare handler answering the same JSON, alternately, twice each.
    async fn config_beside_bare(&self, phase: Duration) {
        let http = loadgen::client(CONNECTIONS);
        let url = format!("{}/api/v1/sdk/config", self.base);
        let config: SdkConfig = http
            .post(&url)
            .bearer_auth(&self.token)
            .json(&self.config_body()(0))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        let answer = Arc::new(config);
        let bare = support::serve(Router::new().route(
            "/config",
            post(move |Json(_): Json<Value>| {
                let answer = answer.clone();
                async move { Json((*answer).clone()) }
            }),
        ))
        .await;
        let body = self.config_body();
        let half = phase / 2;
        let mut bare_stats = Vec::new();
        let mut config_stats = Vec::new();
        for _ in 0..2 {
            let b = loadgen::hammer(
                &http,
                &format!("{bare}/config"),
                None,
                CONNECTIONS,
                half,
                body.clone(),
            )
            .await;
            let c = loadgen::hammer(
                &http,
                &url,
                Some(&self.token),
                CONNECTIONS,
                half,
                body.clone(),
            )
            .await;
            assert_eq!(c.failed + c.throttled, 0, "config calls failed");
            bare_stats.push(b);
            config_stats.push(c);
        }
        let (b, c) = (merged(bare_stats), merged(config_stats));
        println!("{}", b.summary("bare axum handler, same JSON"));
        println!("{}", c.summary("POST /api/v1/sdk/config"));
        println!(
            "config API throughput = {:.0}% of bare ({CONNECTIONS} connections)",
            100.0 * c.per_sec() / b.per_sec()
        );
    }

    fn reports_body(&self) -> Arc<dyn Fn(u64) -> Value + Send + Sync> {
        let (project, queue) = (self.project.clone(), self.queue.clone());
        Arc::new(move |i: u64| {
            let reports = (0..BATCH as u64)
                .map(|k| {
                    let n = i * BATCH as u64 + k;
                    let role = if n.is_multiple_of(2) {
                        SdkRole::Producer
                    } else {
                        SdkRole::Consumer
                    };
                    let mut r = loadgen::report(&project, &queue, role, n % 50_000, n as i64);
                    r.app = Some("bench".into());
                    r
                })
                .collect();
            serde_json::to_value(ReportBatch { reports }).unwrap()
        })
    }

    /// Sustained durable ingestion; returns reports/s.
    async fn ingestion(&self, db: &str, phase: Duration) -> f64 {
        let before = self.stored().await;
        let http = loadgen::client(REPORTERS);
        let s = loadgen::hammer(
            &http,
            &format!("{}/api/v1/sdk/reports", self.base),
            Some(&self.token),
            REPORTERS,
            phase,
            self.reports_body(),
        )
        .await;
        let acked = s.ok * BATCH as u64;
        let stored = self.stored().await - before;
        let per_sec = acked as f64 / s.elapsed.as_secs_f64();
        println!(
            "{db}: {per_sec:.0} reports/s acknowledged durable (batches of {BATCH}, {REPORTERS} connections; calls p50 {:.1} ms, p99 {:.1} ms; {} throttled calls)",
            s.quantile_ms(0.5),
            s.quantile_ms(0.99),
            s.throttled
        );
        println!(
            "{db}: {acked} acknowledged, {stored} stored, {} lost",
            acked.saturating_sub(stored)
        );
        assert!(stored >= acked, "acknowledged reports were lost");
        per_sec
    }

    /// Starts the real server binary on this database and offers it ten times the sustained
    /// rate, open loop, from this process; reads the server's own peak memory from /proc.
    async fn overload(&self, phase: Duration, sustained: f64) {
        let db = self._fixture.dir.path().join("bench.db");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_watershed"))
            .arg("serve")
            .env("WATERSHED_DATA_DIR", self._fixture.dir.path())
            .env(
                "WATERSHED_DATABASE_URL",
                format!("sqlite://{}", db.display()),
            )
            .env("WATERSHED_SECRET_KEY", "01".repeat(32))
            .env("WATERSHED_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start the server binary");
        let base = format!("http://127.0.0.1:{port}");
        let http = loadgen::client(256);
        for _ in 0..200 {
            if http
                .get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let status = |key: &str| -> f64 {
            std::fs::read_to_string(format!("/proc/{}/status", server.id()))
                .unwrap_or_default()
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        };
        let url = format!("{base}/api/v1/sdk/reports");
        // One body of the largest batch a call may carry, serialised once: the generator only
        // sends bytes, the server does the work.
        let batch = self.reports_body();
        let reports: Vec<serde_json::Value> = (0..OVERLOAD_BATCH / BATCH)
            .flat_map(|i| {
                batch(i as u64)["reports"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        let body = serde_json::to_vec(&json!({ "reports": reports })).unwrap();
        // One call to warm up, then the server's resting memory.
        let _ = http
            .post(&url)
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        let resting = status("VmRSS:");
        let target = sustained * 10.0 / OVERLOAD_BATCH as f64;
        let stats = Arc::new(std::sync::Mutex::new(Stats::default()));
        let in_flight = Arc::new(tokio::sync::Semaphore::new(4_096));
        let started = std::time::Instant::now();
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / target));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut tasks = tokio::task::JoinSet::new();
        let (mut offered, mut shed_by_generator) = (0u64, 0u64);
        let mut peak_rss: f64 = 0.0;
        while started.elapsed() < phase {
            tick.tick().await;
            let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                shed_by_generator += 1;
                continue;
            };
            offered += 1;
            if offered.is_multiple_of(200) {
                peak_rss = peak_rss.max(status("VmRSS:"));
            }
            let req = http
                .post(&url)
                .bearer_auth(&self.token)
                .header("content-type", "application/json")
                .body(body.clone());
            let stats = stats.clone();
            tasks.spawn(async move {
                let r = req.send().await;
                let mut s = stats.lock().unwrap();
                match r {
                    Ok(r) if r.status().is_success() => s.ok += 1,
                    Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                        s.throttled += 1
                    }
                    _ => s.failed += 1,
                }
                drop(permit);
            });
            while tasks.try_join_next().is_some() {}
        }
        while tasks.join_next().await.is_some() {}
        let elapsed = started.elapsed().as_secs_f64();
        let hwm = status("VmHWM:");
        let s = stats.lock().unwrap().clone();
        println!(
            "overload: offered {:.0} reports/s in calls of {OVERLOAD_BATCH} ({:.1}× sustained; {} calls not sent, generator at its 4,096 in flight) for {elapsed:.0} s: {} calls acknowledged, {} answered 429, {} failed",
            offered as f64 * OVERLOAD_BATCH as f64 / elapsed,
            offered as f64 * OVERLOAD_BATCH as f64 / elapsed / sustained,
            shed_by_generator,
            s.ok,
            s.throttled,
            s.failed,
        );
        println!(
            "overload: server process RSS {resting:.0} MB at rest, {:.0} MB sampled peak, VmHWM {hwm:.0} MB (collector capacity 100,000 rows)",
            peak_rss.max(status("VmRSS:"))
        );
        let _ = server.kill();
        let _ = server.wait();
    }

    async fn stored(&self) -> u64 {
        // Wait for the writer to finish what it holds: acknowledged reports are already in.
        self.state.store.count_reports().await.unwrap() as u64
    }
}

fn merged(all: Vec<Stats>) -> Stats {
    let mut total = Stats::default();
    for s in all {
        total.elapsed += s.elapsed;
        total.merge(s);
    }
    total.latencies_us.sort_unstable();
    total
}
