//! A failover drill on real Kafka-compatible brokers, shared by the end-to-end test, the
//! failover benchmark and the SIGKILL durability test: two `tansu` brokers on loopback
//! ports, the real `watershed` binary on its own database, a queue bound to both clusters,
//! Stream-SDK producers and consumers running through switches, and the tally of what was
//! acknowledged and what was read.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use watershed_sdk::{ClientConfig, Consumer, Producer};

/// The `tansu` broker binary: `$WATERSHED_TANSU`, else `tansu` on the PATH.
pub fn tansu_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WATERSHED_TANSU") {
        return Some(p.into());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("tansu"))
            .find(|p| p.is_file())
    })
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One tansu broker with in-memory storage, killed when dropped.
pub struct Broker {
    child: Child,
    pub addr: String,
}

impl Broker {
    pub async fn start(tansu: &Path, cluster_id: &str) -> Broker {
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(tansu)
            .args(["--listener-url", &url, "--advertised-listener-url", &url])
            .args([
                "--storage-engine",
                "memory://tansu/",
                "--cluster-id",
                cluster_id,
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let broker = Broker {
            child,
            addr: format!("127.0.0.1:{port}"),
        };
        let cluster = watershed_sdk::wire::SdkCluster {
            name: cluster_id.into(),
            kind: "kafka".into(),
            bootstrap_servers: vec![broker.addr.clone()],
            sasl_mechanism: "none".into(),
            sasl_username: String::new(),
            sasl_password: None,
            tls: None,
        };
        let admin = watershed_sdk::kafka::KafkaAdmin::new(&cluster).expect("admin client");
        let started = Instant::now();
        loop {
            if admin.describe().await.is_ok() {
                return broker;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "tansu never answered on {}",
                broker.addr
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real `watershed serve` on a fixed port, so it can be killed and started again.
pub struct Platform {
    child: Option<Child>,
    pub base: String,
    port: u16,
    data: PathBuf,
    db_url: String,
    heartbeat_secs: u64,
    /// More settings for the process, as environment variables.
    env: Vec<(String, String)>,
}

impl Platform {
    pub async fn start(data: &Path, db_url: &str, heartbeat_secs: u64) -> Platform {
        Self::start_with(data, db_url, heartbeat_secs, &[]).await
    }

    /// [`Platform::start`] with more settings in the environment.
    pub async fn start_with(
        data: &Path,
        db_url: &str,
        heartbeat_secs: u64,
        env: &[(&str, String)],
    ) -> Platform {
        let mut p = Platform {
            child: None,
            port: free_port(),
            base: String::new(),
            data: data.to_path_buf(),
            db_url: db_url.to_string(),
            heartbeat_secs,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        };
        p.base = format!("http://127.0.0.1:{}", p.port);
        p.restart().await;
        p
    }

    /// Starts the process again (after [`Platform::kill`]) and waits until it is ready.
    pub async fn restart(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_watershed"))
            .arg("serve")
            .env("WATERSHED_DATA_DIR", &self.data)
            .env("WATERSHED_DATABASE_URL", &self.db_url)
            // Replicas on PostgreSQL share one sealing key; the platform refuses to start without.
            .env("WATERSHED_SECRET_KEY", "2a".repeat(32))
            .env("WATERSHED_ADDR", format!("127.0.0.1:{}", self.port))
            .env(
                "WATERSHED_SDK_HEARTBEAT_SECS",
                self.heartbeat_secs.to_string(),
            )
            .env("WATERSHED_KAFKA_POLL_SECS", "2")
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            // The server logs to stdout; its warnings belong in the test's output.
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the watershed binary");
        self.child = Some(child);
        let http = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(r) = http.get(format!("{}/readyz", self.base)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the platform never became ready");
    }

    /// SIGKILL: the platform is gone mid-flight.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A REST call that must succeed; answers the JSON body.
pub async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Value,
) -> Value {
    let mut r = http.request(method, url.clone()).bearer_auth(token);
    if !body.is_null() {
        r = r.json(&body);
    }
    let r = r.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status}: {v}");
    v
}

/// What the drill set up: the people's tokens and the application's.
pub struct World {
    pub ops: String,
    pub dev: String,
    pub app_token: String,
}

/// Users come from the store before the platform starts (as an operator would add them);
/// everything else goes through the REST API.
pub async fn users(db_url: &str) -> (String, String) {
    use watershed::domain::Role;
    use watershed::server::services::accounts;
    let store = watershed::server::db::connect(db_url).await.unwrap();
    store.migrate().await.unwrap();
    accounts::ensure_admin(store.as_ref(), Some("admin-password-1"))
        .await
        .unwrap();
    (
        user_token(store.as_ref(), "ops", Role::Admin).await,
        user_token(store.as_ref(), "dev", Role::Developer).await,
    )
}

/// Adds a user with a role (password `password-123`) and returns a personal API token for them.
pub async fn user_token(
    store: &dyn watershed::server::db::Store,
    name: &str,
    role: watershed::domain::Role,
) -> String {
    use watershed::server::services::accounts;
    let id = accounts::create_user(store, None, name, "password-123", role)
        .await
        .unwrap();
    let user = watershed::domain::UserView {
        id,
        username: name.into(),
        role,
    };
    accounts::create_api_token(store, &user, "tests")
        .await
        .unwrap()
}

/// Clusters east and west (the brokers), queue shop/orders on east with west as backup,
/// application lab/checkout allowed to produce and consume, and its token.
pub async fn world(
    base: &str,
    ops: String,
    dev: String,
    east: &str,
    west: &str,
    partitions: i64,
) -> World {
    let plain = |name: &str, addr: &str| json!({"name": name, "kind": "kafka", "bootstrap_servers": [addr]});
    world_on(
        base,
        ops,
        dev,
        [plain("east", east), plain("west", west)],
        partitions,
    )
    .await
}

/// [`world`] on clusters registered with the given bodies (named `east` and `west`).
pub async fn world_on(
    base: &str,
    ops: String,
    dev: String,
    clusters: [Value; 2],
    partitions: i64,
) -> World {
    use reqwest::Method as M;
    let http = reqwest::Client::new();
    let api = |p: &str| format!("{base}/api/v1{p}");
    call(
        &http,
        M::POST,
        api("/projects"),
        &ops,
        json!({"name": "shop"}),
    )
    .await;
    call(
        &http,
        M::POST,
        api("/projects"),
        &dev,
        json!({"name": "lab"}),
    )
    .await;
    for body in clusters {
        call(&http, M::POST, api("/clusters"), &ops, body).await;
    }
    call(
        &http,
        M::POST,
        api("/queues"),
        &ops,
        json!({"project": "shop", "name": "orders",
        "primary_cluster": "east", "backup_cluster": "west", "partitions": partitions}),
    )
    .await;
    call(
        &http,
        M::POST,
        api("/applications"),
        &dev,
        json!({"project": "lab", "name": "checkout"}),
    )
    .await;
    for permission in ["produce", "consume"] {
        let req = call(
            &http,
            M::POST,
            api("/requests"),
            &dev,
            json!({"project": "lab",
            "application": "checkout", "queue_project": "shop", "queue": "orders",
            "permission": permission, "reason": "drill", "duration": "90"}),
        )
        .await;
        call(
            &http,
            M::POST,
            api(&format!("/requests/{}/decision", req["id"])),
            &ops,
            json!({"decision": "approve", "comment": "ok"}),
        )
        .await;
    }
    let app_token = call(
        &http,
        M::POST,
        api("/applications/lab/checkout/tokens"),
        &dev,
        Value::Null,
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    // The platform creates the topic on both clusters by itself.
    let started = Instant::now();
    loop {
        let topics = call(
            &http,
            M::GET,
            api("/queues/shop/orders/topics"),
            &ops,
            Value::Null,
        )
        .await;
        let ready = topics
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["status"] == "created" || t["status"] == "existed")
            .count();
        if ready == 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "topics not provisioned: {topics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    World {
        ops,
        dev,
        app_token,
    }
}

/// Asks the platform to switch shop/orders (`to`: backup or primary).
pub async fn fail_over(base: &str, ops: &str, to: &str) {
    call(
        &reqwest::Client::new(),
        reqwest::Method::POST,
        format!("{base}/api/v1/queues/shop/orders/failover"),
        ops,
        json!({"to": to, "reason": "drill", "confirm": true}),
    )
    .await;
}

/// What the producers had acknowledged and the consumers read.
#[derive(Default)]
pub struct Tally {
    pub acked: Vec<u64>,
    pub seen: HashMap<u64, u32>,
    pub send_errors: u64,
    /// Where each acknowledged message was written, and who read each position: what a lost
    /// message's neighbours tell about how it was missed.
    pub written_at: HashMap<u64, (String, i32, i64)>,
    pub read_by: HashMap<(String, i32, i64), String>,
}

impl Tally {
    pub fn lost(&self) -> Vec<u64> {
        self.acked
            .iter()
            .copied()
            .filter(|id| !self.seen.contains_key(id))
            .collect()
    }
    /// Where `id` was written and who read the positions around it.
    pub fn explain(&self, id: u64) -> String {
        let Some((cluster, p, o)) = self.written_at.get(&id) else {
            return format!("{id}: acknowledged without a position");
        };
        let near: Vec<String> = (o - 2..=o + 2)
            .map(|at| {
                let who = self.read_by.get(&(cluster.clone(), *p, at));
                format!("{at}: {}", who.map_or("unread", String::as_str))
            })
            .collect();
        format!("{id} written to {cluster} p{p} at {o}; around it {near:?}")
    }

    pub fn duplicates(&self) -> u64 {
        self.seen
            .values()
            .map(|&n| u64::from(n.saturating_sub(1)))
            .sum()
    }
}

/// Producers sending numbered messages and consumers of one group ("billing") reading them,
/// in the background, each consumer publishing the cluster it uses and the partitions it owns.
pub struct Fleet {
    pub tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
    pub producers: Vec<Arc<Producer>>,
    /// Per consumer still running: where it read at its last poll.
    pub consumers: Vec<Member>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    base: String,
    token: String,
    cache: std::path::PathBuf,
    started: usize,
}

/// One consumer of the fleet's group.
pub struct Member {
    pub id: String,
    /// The cluster it read from and the partitions it owned there, at its last poll.
    pub seen: Arc<Mutex<(String, Vec<i32>)>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Consumer>,
}

pub fn client(base: &str, token: &str, cache: &Path, id: &str) -> ClientConfig {
    ClientConfig::new(base, "shop", "orders", token, "checkout")
        .unwrap()
        .with_cache_dir(cache)
        .with_client_id(id)
        .with_report_interval(Duration::from_secs(1))
        .with_request_timeout(Duration::from_secs(2))
        .with_commit_interval(Duration::from_millis(500))
        // tansu answers a JoinGroup at once, without waiting for the other members to rejoin
        // as Kafka's coordinator does, so a member learns of a rebalance only at its next
        // heartbeat and may read a partition another member was just given until then. A
        // shorter heartbeat narrows that window (and the duplicates it makes).
        .with_kafka_setting("heartbeat.interval.ms", "300")
}

impl Fleet {
    /// `producers` producers (each sending batches of `batch` every `pause`) and `consumers`
    /// consumers in one group.
    pub async fn start(
        base: &str,
        token: &str,
        cache: &Path,
        (producers, consumers): (usize, usize),
        batch: usize,
        pause: Duration,
    ) -> Fleet {
        let tally = Arc::new(Mutex::new(Tally::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut fleet = Fleet {
            tally: tally.clone(),
            stop: stop.clone(),
            producers: Vec::new(),
            consumers: Vec::new(),
            tasks: Vec::new(),
            base: base.into(),
            token: token.into(),
            cache: cache.into(),
            started: 0,
        };
        for _ in 0..consumers {
            fleet.add_consumer().await;
        }
        for n in 0..producers {
            let producer = Arc::new(
                Producer::connect(client(base, token, cache, &format!("drill-producer-{n}")))
                    .await
                    .expect("producer connects"),
            );
            fleet.producers.push(producer.clone());
            let (t, s) = (tally.clone(), stop.clone());
            fleet.tasks.push(tokio::spawn(async move {
                let mut next = (n as u64) << 40;
                while !s.load(Ordering::Relaxed) {
                    let ids: Vec<u64> = (next..next + batch as u64).collect();
                    let messages = ids
                        .iter()
                        .map(|id| {
                            (
                                Some(id.to_string().into_bytes()),
                                id.to_string().into_bytes(),
                            )
                        })
                        .collect();
                    match producer.send_batch(messages).await {
                        Ok(deliveries) => {
                            let mut t = t.lock().unwrap();
                            for (id, d) in ids.iter().zip(deliveries) {
                                t.written_at.insert(*id, (d.cluster, d.partition, d.offset));
                            }
                            t.acked.extend(&ids);
                            next += batch as u64;
                        }
                        Err(e) => {
                            eprintln!("send: {e}");
                            t.lock().unwrap().send_errors += 1;
                            // The same ids again: a message is acknowledged once or counted lost.
                        }
                    }
                    tokio::time::sleep(pause).await;
                }
            }));
        }
        fleet
    }

    /// Starts one more consumer in the group.
    pub async fn add_consumer(&mut self) {
        let id = format!("drill-consumer-{}", self.started);
        self.started += 1;
        let mut consumer = Consumer::connect(
            client(&self.base, &self.token, &self.cache, &id).with_consumer_group("billing"),
        )
        .await
        .expect("consumer connects");
        let seen = Arc::new(Mutex::new((consumer.cluster().to_string(), Vec::new())));
        let stop = Arc::new(AtomicBool::new(false));
        let (t, s, w) = (self.tally.clone(), stop.clone(), seen.clone());
        let reader = id.clone();
        let task = tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                match consumer.poll(Duration::from_millis(200)).await {
                    Ok(messages) => {
                        let mut t = t.lock().unwrap();
                        for m in messages {
                            let id: u64 =
                                String::from_utf8_lossy(m.value.as_deref().unwrap_or_default())
                                    .parse()
                                    .unwrap_or(u64::MAX);
                            *t.seen.entry(id).or_default() += 1;
                            t.read_by
                                .insert((m.cluster.clone(), m.partition, m.offset), reader.clone());
                        }
                    }
                    Err(e) => {
                        eprintln!("poll: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                *w.lock().unwrap() = (consumer.cluster().to_string(), consumer.assignment());
            }
            consumer
        });
        self.consumers.push(Member {
            id,
            seen,
            stop,
            task,
        });
    }

    /// Stops consumer `i` mid-stream, as a crashed instance would: what it handed out since
    /// its last commit is not committed, so whoever takes its partitions reads that again.
    pub async fn kill_consumer(&mut self, i: usize) -> String {
        let member = self.consumers.remove(i);
        member.stop.store(true, Ordering::Relaxed);
        let consumer = member.task.await.unwrap();
        // In one process a "crash" still has to let librdkafka close the member; what it
        // handed out since its last commit is not committed, as in a crash.
        let _ = consumer.close().await;
        member.id
    }

    /// Each running consumer's (cluster, partitions owned) at its last poll.
    pub fn members(&self) -> Vec<(String, Vec<i32>)> {
        self.consumers
            .iter()
            .map(|m| m.seen.lock().unwrap().clone())
            .collect()
    }

    pub fn acked(&self) -> usize {
        self.tally.lock().unwrap().acked.len()
    }

    pub fn read(&self) -> usize {
        self.tally.lock().unwrap().seen.len()
    }

    /// The clusters every client uses now: producers', then consumers'.
    pub async fn clusters(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in &self.producers {
            out.push(p.cluster().await);
        }
        for m in &self.consumers {
            out.push(m.seen.lock().unwrap().0.clone());
        }
        out
    }

    /// How long until every client uses `cluster`, or `None` past `limit`.
    pub async fn time_until_all_on(
        &self,
        cluster: &str,
        since: Instant,
        limit: Duration,
    ) -> Option<Duration> {
        loop {
            if self.clusters().await.iter().all(|c| c == cluster) {
                return Some(since.elapsed());
            }
            if since.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stops the producers, lets the consumer read everything acknowledged (or gives up after
    /// `limit`), and answers the tally.
    pub async fn finish(mut self, limit: Duration) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks.drain(..) {
            t.await.unwrap();
        }
        for p in &self.producers {
            p.flush().await;
        }
        let started = Instant::now();
        while !self.tally.lock().unwrap().lost().is_empty() && started.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for m in &self.consumers {
            m.stop.store(true, Ordering::Relaxed);
        }
        for m in self.consumers.drain(..) {
            let consumer = m.task.await.unwrap();
            let _ = consumer.close().await;
        }
        std::mem::take(&mut *self.tally.lock().unwrap())
    }
}

/// Everything a drill runs on: the two brokers, the platform on its own database, and the
/// world set up through the REST API.
pub struct Rig {
    pub east: Broker,
    pub west: Broker,
    pub platform: Platform,
    pub world: World,
    /// Holds the database, the platform's data and the SDK caches.
    pub dir: tempfile::TempDir,
}

impl Rig {
    /// Starts brokers `east` and `west` and the platform with `heartbeat_secs` heartbeats, and
    /// sets up shop/orders with `partitions` partitions on both.
    pub async fn start(tansu: &Path, heartbeat_secs: u64, partitions: i64) -> Rig {
        Self::start_with(tansu, heartbeat_secs, partitions, &[]).await
    }

    /// [`Rig::start`] with more settings for the platform, as environment variables.
    pub async fn start_with(
        tansu: &Path,
        heartbeat_secs: u64,
        partitions: i64,
        env: &[(&str, String)],
    ) -> Rig {
        let (east, west) = (
            Broker::start(tansu, "east").await,
            Broker::start(tansu, "west").await,
        );
        let dir = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}", dir.path().join("platform.db").display());
        let (ops, dev) = users(&db_url).await;
        let platform =
            Platform::start_with(&dir.path().join("data"), &db_url, heartbeat_secs, env).await;
        let world = world(&platform.base, ops, dev, &east.addr, &west.addr, partitions).await;
        Rig {
            east,
            west,
            platform,
            world,
            dir,
        }
    }
}

/// Waits until `ok`, failing the test with `what` after `limit`.
pub async fn wait_until(mut ok: impl FnMut() -> bool, what: &str, limit: Duration) {
    let started = Instant::now();
    while !ok() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
