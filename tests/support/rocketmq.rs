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

/// The store's settings: 64 MB commit log files instead of 1 GB, and writes refused only on a
/// disk 99% full instead of 90% (a shared test machine's disk may be fuller than that, and
/// these brokers hold a few thousand small messages). The broker requires its clean-up ratios
/// below the warning level.
const BROKER_STORE: &str = "mappedFileSizeCommitLog = 67108864\nmappedFileSizeConsumeQueue = 600000\n\
    diskSpaceWarningLevelRatio = 99\ndiskSpaceCleanForciblyRatio = 98\ndiskMaxUsedSpaceRatio = 95\n";

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
    /// Starts the pair and waits until the broker has registered with the name server. A pair
    /// that exits at once (a port taken between choosing it and binding it: tests start
    /// clusters side by side) is started again on other ports.
    pub async fn start(name: &str) -> Cluster {
        let mut attempt = 1;
        loop {
            let mut cluster = Cluster::spawn(name);
            match cluster.wait_registered().await {
                Ok(()) => return cluster,
                Err(why) if attempt < 3 && cluster.exited() => {
                    eprintln!("RocketMQ cluster {name} exited while starting ({why}); again on other ports");
                    attempt += 1;
                }
                Err(why) => panic!("RocketMQ cluster {name}: {why}"),
            }
        }
    }

    fn spawn(name: &str) -> Cluster {
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
                 brokerIP1 = 127.0.0.1\nhaListenPort = {}\n{BROKER_STORE}",
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
        Cluster {
            namesrv,
            broker,
            namesrv_addr,
            broker_addr,
            dir,
        }
    }

    /// Whether the name server or the broker has exited.
    fn exited(&mut self) -> bool {
        [&mut self.namesrv, &mut self.broker]
            .into_iter()
            .any(|c| matches!(c.try_wait(), Ok(Some(_))))
    }

    /// Waits until the name server lists the broker; why not, with the ends of both logs.
    async fn wait_registered(&mut self) -> Result<(), String> {
        let admin = watershed_sdk::cluster::Admin::new(&self.sdk_cluster("probe")).unwrap();
        let started = Instant::now();
        loop {
            let last = match admin.describe().await {
                Ok(info) if !info.brokers.is_empty() => return Ok(()),
                Ok(info) => format!("{info:?}"),
                Err(e) => e.to_string(),
            };
            let exited = self.exited();
            if exited || started.elapsed() > Duration::from_secs(60) {
                let tail = |file: &str| {
                    let log =
                        std::fs::read_to_string(self.dir.path().join(file)).unwrap_or_default();
                    let lines: Vec<_> = log.lines().rev().take(15).collect();
                    lines.into_iter().rev().collect::<Vec<_>>().join("\n")
                };
                return Err(format!(
                    "the broker did not register with the name server {}: {last}\n\
                     broker log ends:\n{}\n{}\nname server log ends:\n{}\n{}",
                    if exited {
                        "(a process exited)"
                    } else {
                        "within 60 s"
                    },
                    tail("broker.log"),
                    tail("broker-err.log"),
                    tail("namesrv.log"),
                    tail("namesrv-err.log"),
                ));
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
