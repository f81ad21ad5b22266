//! `watershed loadgen`: a fleet of simulated Stream-SDK clients against a running Watershed,
//! and the request-hammering used by the benchmarks.

use crate::domain::{
    ConfigRequest, HeartbeatQueue, HeartbeatRequest, PartitionOffset, Report, ReportBatch,
    SdkConfig, SdkRole,
};
use crate::server::config::LoadgenArgs;
use anyhow::Context;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a run of requests measured.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub ok: u64,
    pub throttled: u64,
    pub failed: u64,
    /// Latencies of successful requests, microseconds, sorted.
    pub latencies_us: Vec<u64>,
    pub elapsed: Duration,
}

impl Stats {
    pub fn per_sec(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The q-quantile (0..=1) latency in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() - 1) as f64 * q).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }

    /// Adds another run's counts and latencies (not its elapsed time).
    pub fn merge(&mut self, other: Stats) {
        self.ok += other.ok;
        self.throttled += other.throttled;
        self.failed += other.failed;
        self.latencies_us.extend(other.latencies_us);
    }

    pub fn summary(&self, what: &str) -> String {
        format!(
            "{what}: {:.0}/s ok, p50 {:.2} ms, p99 {:.2} ms ({} ok, {} throttled, {} failed in {:.1} s)",
            self.per_sec(),
            self.quantile_ms(0.5),
            self.quantile_ms(0.99),
            self.ok,
            self.throttled,
            self.failed,
            self.elapsed.as_secs_f64()
        )
    }
}

/// An HTTP client for many concurrent requests to one server.
pub fn client(connections: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// Sends POSTs of `body(i)` to `url` from `connections` concurrent workers for `duration`, as
/// fast as answers come back.
pub async fn hammer(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    connections: usize,
    duration: Duration,
    body: Arc<dyn Fn(u64) -> serde_json::Value + Send + Sync>,
) -> Stats {
    let started = Instant::now();
    let counter = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (http, url, token, body, counter) = (
            http.clone(),
            url.to_string(),
            token.map(str::to_string),
            body.clone(),
            counter.clone(),
        );
        tasks.spawn(async move {
            let mut s = Stats::default();
            while started.elapsed() < duration {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                let mut req = http.post(&url).json(&body(i));
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                let t0 = Instant::now();
                match req.send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        s.ok += 1;
                        s.latencies_us.push(t0.elapsed().as_micros() as u64);
                    }
                    Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                        s.throttled += 1;
                        // Back off as the server asks (bounded, so a run still ends on time).
                        let wait = r
                            .headers()
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                            .unwrap_or(1);
                        tokio::time::sleep(Duration::from_millis((wait * 1000).min(250))).await;
                    }
                    _ => s.failed += 1,
                }
            }
            s
        });
    }
    let mut total = Stats::default();
    while let Some(Ok(s)) = tasks.join_next().await {
        total.merge(s);
    }
    total.elapsed = started.elapsed();
    total.latencies_us.sort_unstable();
    total
}

/// A simulated client's report.
pub fn report(project: &str, queue: &str, role: SdkRole, client: u64, seq: i64) -> Report {
    Report {
        project: project.into(),
        queue: queue.into(),
        role,
        client_id: format!("loadgen-{client}"),
        host: format!("host-{}", client % 500),
        app: None,
        consumer_group: (role == SdkRole::Consumer).then(|| "loadgen".into()),
        sdk_version: env!("CARGO_PKG_VERSION").into(),
        seq: Some(seq),
        messages: 100 + (seq % 50),
        bytes: 40_000 + (seq % 50) * 400,
        offsets: if role == SdkRole::Consumer {
            vec![PartitionOffset {
                partition: (client % 6) as i32,
                offset: seq * 100,
                lag: seq % 300,
            }]
        } else {
            Vec::new()
        },
    }
}

/// Runs the fleet and prints what it measured.
pub async fn run(args: LoadgenArgs) -> anyhow::Result<()> {
    let (project, queue) = args
        .queue
        .split_once('/')
        .context("--queue must be project/queue")?;
    let role: SdkRole = args
        .role
        .parse()
        .map_err(|_| anyhow::anyhow!("--role must be producer or consumer"))?;
    let base = args.url.trim_end_matches('/').to_string();
    let http = client(args.connections);
    let clients = args.clients.max(1) as u64;

    // Every client asks for its config once.
    let config_url = format!("{base}/api/v1/sdk/config");
    let ask = |i: u64| ConfigRequest {
        project: project.to_string(),
        queue: queue.to_string(),
        role,
        app: args.app.clone(),
        consumer_group: (role == SdkRole::Consumer).then(|| "loadgen".into()),
        client_id: format!("loadgen-{i}"),
        host: format!("host-{}", i % 500),
        sdk_version: env!("CARGO_PKG_VERSION").into(),
    };
    let configs: SdkConfig = http
        .post(&config_url)
        .bearer_auth(&args.token)
        .json(&ask(0))
        .send()
        .await?
        .error_for_status()
        .context("the config call failed: check the token, app and grant")?
        .json()
        .await?;
    println!(
        "queue {project}/{queue} is on {} ({}), topic {}",
        configs.cluster.name, configs.cluster.kind, configs.topic
    );
    let mut introduced = tokio::task::JoinSet::new();
    for chunk in (1..clients)
        .collect::<Vec<_>>()
        .chunks(args.connections.max(1))
    {
        for &i in chunk {
            let req = http
                .post(&config_url)
                .bearer_auth(&args.token)
                .json(&ask(i));
            introduced.spawn(async move { req.send().await.map(|r| r.status().is_success()) });
        }
        while introduced.join_next().await.is_some() {}
    }

    let stop = Arc::new(AtomicBool::new(false));
    let seq = Arc::new(AtomicU64::new(0));
    let stats = Arc::new(Mutex::new((Stats::default(), Stats::default())));
    let mut tasks = tokio::task::JoinSet::new();
    // Reports: clients × (1000 / report_every_ms) per second in all, sent in batches.
    let per_sec = clients as f64 * 1000.0 / args.report_every_ms.max(1) as f64;
    let calls_per_sec = per_sec / args.batch.max(1) as f64;
    let workers = args.connections.max(1);
    let period = Duration::from_secs_f64(workers as f64 / calls_per_sec.max(1e-6));
    println!(
        "{clients} clients: {per_sec:.0} reports/s in calls of {}, heartbeats every {} ms each, for {} s",
        args.batch, args.heartbeat_every_ms, args.seconds
    );
    for w in 0..workers {
        let (http, url, token, stop, seq, stats) = (
            http.clone(),
            format!("{base}/api/v1/sdk/reports"),
            args.token.clone(),
            stop.clone(),
            seq.clone(),
            stats.clone(),
        );
        let (project, queue, batch) = (project.to_string(), queue.to_string(), args.batch.max(1));
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tokio::time::sleep(period.mul_f64(w as f64 / workers as f64)).await;
            let mut s = Stats::default();
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let reports = (0..batch)
                    .map(|_| {
                        let n = seq.fetch_add(1, Ordering::Relaxed);
                        report(&project, &queue, role, n % clients, n as i64)
                    })
                    .collect();
                let t0 = Instant::now();
                match http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&ReportBatch { reports })
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => {
                        s.ok += batch as u64;
                        s.latencies_us.push(t0.elapsed().as_micros() as u64);
                    }
                    Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                        s.throttled += batch as u64
                    }
                    _ => s.failed += batch as u64,
                }
            }
            stats.lock().unwrap_or_else(|e| e.into_inner()).0.merge(s);
        });
    }
    // Heartbeats: each client every heartbeat_every_ms.
    let hb_per_sec = clients as f64 * 1000.0 / args.heartbeat_every_ms.max(1) as f64;
    let hb_workers = (workers / 4).max(1);
    let hb_period = Duration::from_secs_f64(hb_workers as f64 / hb_per_sec.max(1e-6));
    for w in 0..hb_workers {
        let (http, url, token, stop, stats) = (
            http.clone(),
            format!("{base}/api/v1/sdk/heartbeat"),
            args.token.clone(),
            stop.clone(),
            stats.clone(),
        );
        let (project, queue, version) = (
            project.to_string(),
            queue.to_string(),
            configs.config_version.clone(),
        );
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(hb_period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut s = Stats::default();
            let mut n = w as u64;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let body = HeartbeatRequest {
                    client_id: format!("loadgen-{}", n % clients),
                    queues: vec![HeartbeatQueue {
                        project: project.clone(),
                        queue: queue.clone(),
                        role,
                        config_version: version.clone(),
                    }],
                    counters: Default::default(),
                };
                n += hb_workers as u64;
                let t0 = Instant::now();
                match http.post(&url).bearer_auth(&token).json(&body).send().await {
                    Ok(r) if r.status().is_success() => {
                        s.ok += 1;
                        s.latencies_us.push(t0.elapsed().as_micros() as u64);
                    }
                    Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                        s.throttled += 1
                    }
                    _ => s.failed += 1,
                }
            }
            stats.lock().unwrap_or_else(|e| e.into_inner()).1.merge(s);
        });
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    while tasks.join_next().await.is_some() {}
    let (mut reports, mut heartbeats) = stats.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for s in [&mut reports, &mut heartbeats] {
        s.elapsed = started.elapsed();
        s.latencies_us.sort_unstable();
    }
    println!("{}", reports.summary("reports (acknowledged, durable)"));
    println!("{}", heartbeats.summary("heartbeats"));
    Ok(())
}
