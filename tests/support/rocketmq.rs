//! Real RocketMQ clusters for the end-to-end tests: the rocketmq-rust project's name server and
//! broker (`rocketmq-namesrv-rust`, `rocketmq-broker-rust`, installed by the test command into
//! cargo's bin directory), one of each per cluster, on loopback ports, killed when dropped.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `name` on the PATH.
fn binary(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// Both binaries, when installed.
pub fn binaries() -> Option<(PathBuf, PathBuf)> {
    Some((
        binary("rocketmq-namesrv-rust")?,
        binary("rocketmq-broker-rust")?,
    ))
}

/// A port that is free together with the two next to it a broker also takes (its fast
/// channel two below, its HA port one above).
fn broker_port() -> u16 {
    loop {
        let port = crate::drill::free_port();
        let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
        if port > 1026 && free(port - 2) && free(port + 1) {
            return port;
        }
    }
}

/// One RocketMQ cluster: a name server and one broker (`broker-<name>`), each in its own
/// directory.
pub struct Cluster {
    namesrv: Child,
    broker: Child,
    /// The name server's address, as a cluster is registered.
    pub namesrv_addr: String,
    pub broker_addr: String,
    pub dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts the pair and waits until the broker has registered with the name server.
    pub async fn start(name: &str) -> Cluster {
        let (namesrv_bin, broker_bin) = binaries().expect("rocketmq-rust binaries on the PATH");
        let dir = tempfile::tempdir().unwrap();
        let ns_port = crate::drill::free_port();
        let namesrv_addr = format!("127.0.0.1:{ns_port}");
        let log = |what: &str| {
            std::fs::File::create(dir.path().join(format!("{what}.log")))
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null())
        };
        let namesrv = Command::new(&namesrv_bin)
            .args([
                "--listenPort",
                &ns_port.to_string(),
                "--bindAddress",
                "127.0.0.1",
            ])
            .env("ROCKETMQ_HOME", dir.path())
            .env("RUST_LOG", "warn")
            .current_dir(dir.path())
            .stdout(log("namesrv"))
            .stderr(log("namesrv-err"))
            .spawn()
            .expect("start rocketmq-namesrv-rust");
        let port = broker_port();
        let broker_addr = format!("127.0.0.1:{port}");
        let store = dir.path().join("store");
        let conf = dir.path().join("broker.conf");
        std::fs::write(
            &conf,
            format!(
                "brokerClusterName = {name}\nbrokerName = broker-{name}\nbrokerId = 0\n\
                 listenPort = {port}\nstorePathRootDir = {}\nautoCreateTopicEnable = true\n\
                 brokerIP1 = 127.0.0.1\nhaListenPort = {}\n",
                store.display(),
                port + 1
            ),
        )
        .unwrap();
        let broker = Command::new(&broker_bin)
            .arg("-c")
            .arg(&conf)
            .args(["--config-format", "properties", "-n", &namesrv_addr])
            .env("ROCKETMQ_HOME", dir.path())
            .env("RUST_LOG", "warn")
            .current_dir(dir.path())
            .stdout(log("broker"))
            .stderr(log("broker-err"))
            .spawn()
            .expect("start rocketmq-broker-rust");
        let cluster = Cluster {
            namesrv,
            broker,
            namesrv_addr,
            broker_addr,
            dir,
        };
        cluster.wait_registered().await;
        cluster
    }

    /// Waits until the name server lists the broker.
    async fn wait_registered(&self) {
        let admin = watershed_sdk::cluster::Admin::new(&self.sdk_cluster("probe")).unwrap();
        let started = Instant::now();
        loop {
            let last = match admin.describe().await {
                Ok(info) if !info.brokers.is_empty() => return,
                Ok(info) => format!("{info:?}"),
                Err(e) => e.to_string(),
            };
            if started.elapsed() > Duration::from_secs(60) {
                let log =
                    std::fs::read_to_string(self.dir.path().join("broker.log")).unwrap_or_default();
                let tail: Vec<_> = log.lines().rev().take(15).collect();
                panic!(
                    "the broker did not register with the name server within 60 s: {last}\n\
                     its log ends:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// The cluster as the platform hands it to clients, under `name`.
    pub fn sdk_cluster(&self, name: &str) -> watershed_sdk::wire::SdkCluster {
        watershed_sdk::wire::SdkCluster {
            name: name.into(),
            kind: "rocketmq".into(),
            bootstrap_servers: vec![self.namesrv_addr.clone()],
            sasl_mechanism: "none".into(),
            ..Default::default()
        }
    }

    pub fn log_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in [&mut self.broker, &mut self.namesrv] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
