//! SCRAM and TLS on real brokers: two `tansu` brokers that require SASL, one with
//! SCRAM-SHA-512 behind mutual TLS (a CA of the test's own and a client certificate), one with
//! SCRAM-SHA-256 in the clear. The platform probes, provisions and polls both with its own
//! credential, SDK clients produce and consume with theirs through a failover and a failback
//! between the two, and a wrong password or a wrong CA is told apart, naming the cluster, on
//! the cluster's health and in the SDK's error.
//!
//! tansu 0.6 checks SCRAM credentials for real but does not serve TLS itself (its listener
//! takes a certificate and never uses it), so the TLS broker here is tansu behind a TLS front
//! made with rustls that requires a client certificate, as a terminating load balancer would
//! be; tansu advertises the front's address, so every connection goes through it.

use crate::drill::{self, call, Fleet, Platform};
use reqwest::Method as M;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HEARTBEAT_SECS: u64 = 2;

/// A certificate authority of the test's own.
struct Ca {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A certificate for `name`, for a server or a client: (certificate, PKCS#8 key) as PEM.
    fn issue(&self, name: &str, purpose: rcgen::ExtendedKeyUsagePurpose) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.extended_key_usages = vec![purpose];
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// A self-signed CA certificate as PEM, for tests of what the TLS fields accept.
pub fn test_certificate() -> String {
    Ca::new("watershed test").pem()
}

/// A client certificate and a PKCS#8 key that belongs to another certificate, as PEM.
pub fn mismatched_certificate_and_key() -> (String, String) {
    let ca = Ca::new("watershed test");
    let (cert, _) = ca.issue("app", rcgen::ExtendedKeyUsagePurpose::ClientAuth);
    let (_, other) = ca.issue("other", rcgen::ExtendedKeyUsagePurpose::ClientAuth);
    (cert, other)
}

/// A TLS front on 127.0.0.1 that requires a client certificate from `client_ca` and passes
/// the decrypted stream to `upstream`.
async fn tls_front(
    listener: tokio::net::TcpListener,
    (cert, key): &(String, String),
    client_ca: &str,
    upstream: String,
) -> tokio::task::JoinHandle<()> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(client_ca.as_bytes()).unwrap())
        .unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            chain,
            PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut up) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
            });
        }
    })
}

/// A tansu broker that requires SCRAM, its users made before it began requiring them.
struct ScramBroker {
    child: Child,
    /// Where tansu itself listens (plain TCP).
    addr: String,
}

impl ScramBroker {
    /// Starts tansu on `dir`'s SQLite storage without authentication, creates `users`
    /// (name, password, `scram256` or `scram512`), then starts it again requiring SASL and
    /// advertising `advertised` (host:port) to clients.
    async fn start(
        tansu: &Path,
        dir: &Path,
        cluster_id: &str,
        users: &[(&str, &str, &str)],
        advertised: Option<&str>,
    ) -> ScramBroker {
        std::fs::create_dir_all(dir).unwrap();
        let port = drill::free_port();
        let addr = format!("127.0.0.1:{port}");
        let setup = spawn_tansu(tansu, dir, cluster_id, &addr, &addr, false);
        let mut setup = ScramBroker { child: setup, addr };
        setup.wait_listening().await;
        for (name, password, mechanism) in users {
            let out = Command::new(tansu)
                .args(["user", "create", "--broker"])
                .arg(format!("tcp://{}", setup.addr))
                .args(["--mechanism", mechanism, name, password])
                .current_dir(dir)
                .output()
                .expect("run tansu user create");
            assert!(
                out.status.success(),
                "tansu user create {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        setup.stop();
        let advertised = advertised.unwrap_or(&setup.addr).to_string();
        let child = spawn_tansu(tansu, dir, cluster_id, &setup.addr, &advertised, true);
        let mut broker = ScramBroker {
            child,
            addr: setup.addr.clone(),
        };
        broker.wait_listening().await;
        broker
    }

    async fn wait_listening(&mut self) {
        let started = Instant::now();
        while tokio::net::TcpStream::connect(&self.addr).await.is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("tansu exited: {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "tansu never listened on {}",
                self.addr
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ScramBroker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn_tansu(
    tansu: &Path,
    dir: &Path,
    cluster_id: &str,
    listen: &str,
    advertised: &str,
    authentication: bool,
) -> Child {
    let mut c = Command::new(tansu);
    c.args(["--listener-url", &format!("tcp://{listen}")])
        .args(["--advertised-listener-url", &format!("tcp://{advertised}")])
        // Relative to the working directory: the users outlive the restart.
        .args(["--storage-engine", "sqlite://tansu.db"])
        .args(["--cluster-id", cluster_id])
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if authentication {
        c.arg("--authentication");
    }
    c.spawn().expect("start tansu")
}

async fn health(base: &str, ops: &str, cluster: &str) -> Value {
    call(
        &reqwest::Client::new(),
        M::GET,
        format!("{base}/api/v1/clusters/{cluster}/health"),
        ops,
        Value::Null,
    )
    .await
}

/// Re-registers `cluster` with `changes` applied to `body` (secrets left empty are kept).
async fn edit(base: &str, ops: &str, body: &Value, changes: Value) {
    let mut body = body.clone();
    for (k, v) in changes.as_object().unwrap() {
        body[k] = v.clone();
    }
    let name = body["name"].as_str().unwrap().to_string();
    call(
        &reqwest::Client::new(),
        M::PUT,
        format!("{base}/api/v1/clusters/{name}"),
        ops,
        body,
    )
    .await;
}

/// What a new SDK producer says when the queue's cluster will not have it.
async fn producer_error(base: &str, token: &str, cache: &Path) -> String {
    match watershed_sdk::Producer::connect(drill::client(base, token, cache, "probe")).await {
        Ok(_) => panic!("the producer connected"),
        Err(e) => {
            assert!(
                matches!(e, watershed_sdk::SdkError::Kafka { .. }),
                "expected a cluster error, got {e}"
            );
            e.to_string()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scram_and_mutual_tls_hold_on_every_path() {
    let Some(tansu) = drill::tansu_binary() else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("tansu is required in CI (the test command installs it)");
        }
        eprintln!("skipped: tansu is not available");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (ca, client_ca, rogue) = (Ca::new("test ca"), Ca::new("client ca"), Ca::new("rogue"));
    let server = ca.issue("localhost", rcgen::ExtendedKeyUsagePurpose::ServerAuth);
    let (client_cert, client_key) =
        client_ca.issue("watershed", rcgen::ExtendedKeyUsagePurpose::ClientAuth);

    // east: SCRAM-SHA-512 behind mutual TLS, known to clients as localhost:<front>.
    let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front_addr = format!("localhost:{}", front.local_addr().unwrap().port());
    let east = ScramBroker::start(
        &tansu,
        &dir.path().join("east"),
        "east",
        &[
            ("platform", "platform-secret-512", "scram512"),
            ("app", "app-secret-512", "scram512"),
        ],
        Some(&front_addr),
    )
    .await;
    let _front = tls_front(front, &server, &client_ca.pem(), east.addr.clone()).await;
    // west: SCRAM-SHA-256 without TLS.
    let west = ScramBroker::start(
        &tansu,
        &dir.path().join("west"),
        "west",
        &[
            ("platform", "platform-secret-256", "scram256"),
            ("app", "app-secret-256", "scram256"),
        ],
        None,
    )
    .await;

    let db_url = format!("sqlite://{}", dir.path().join("platform.db").display());
    let (ops, dev) = drill::users(&db_url).await;
    let platform = Platform::start(&dir.path().join("data"), &db_url, HEARTBEAT_SECS).await;
    let base = platform.base.clone();
    let east_body = json!({
        "name": "east", "kind": "kafka", "bootstrap_servers": [front_addr],
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_username": "platform", "sasl_password": "platform-secret-512",
        "client_sasl_username": "app", "client_sasl_password": "app-secret-512",
        "tls": true, "tls_ca_pem": ca.pem(),
        "tls_client_cert_pem": client_cert, "tls_client_key_pem": client_key,
    });
    let west_body = json!({
        "name": "west", "kind": "kafka", "bootstrap_servers": [west.addr],
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_username": "platform", "sasl_password": "platform-secret-256",
        "client_sasl_username": "app", "client_sasl_password": "app-secret-256",
    });
    // Registration, then the topic made on both by the platform (provisioning path).
    let w = drill::world_on(
        &base,
        ops.clone(),
        dev,
        [east_body.clone(), west_body.clone()],
        3,
    )
    .await;

    // What the platform shows of the registration: TLS on, the key never echoed.
    let view = call(
        &reqwest::Client::new(),
        M::GET,
        format!("{base}/api/v1/clusters/east"),
        &ops,
        Value::Null,
    )
    .await;
    assert_eq!(view["tls"], true, "{view}");
    assert_eq!(view["tls_client_key_set"], true, "{view}");
    assert!(!view.to_string().contains("PRIVATE KEY"), "{view}");
    assert!(!view.to_string().contains("secret"), "{view}");

    // Probing (metadata) with the platform's credential, over TLS and in the clear.
    for cluster in ["east", "west"] {
        let h = health(&base, &ops, cluster).await;
        assert_eq!(h["reachable"], true, "{cluster}: {h}");
        assert_eq!(h["cluster_id"], cluster, "{h}");
    }

    // Records and group offsets with the SDK clients' credential, through a failover from the
    // TLS + SCRAM-SHA-512 cluster to the SCRAM-SHA-256 one and back.
    let cache = dir.path().join("sdk-cache");
    let fleet = Fleet::start(
        &base,
        &w.app_token,
        &cache,
        (1, 2),
        5,
        Duration::from_millis(20),
    )
    .await;
    assert_eq!(fleet.clusters().await, vec!["east", "east", "east"]);
    wait_until(|| fleet.read() >= 200, "reading on east").await;
    for (to, cluster) in [("backup", "west"), ("primary", "east")] {
        let clicked = Instant::now();
        drill::fail_over(&base, &w.ops, to).await;
        let took = fleet
            .time_until_all_on(cluster, clicked, Duration::from_secs(15))
            .await;
        assert!(took.is_some(), "clients on {:?}", fleet.clusters().await);
        let read = fleet.read();
        wait_until(|| fleet.read() >= read + 200, "reading after the switch").await;
    }

    // Offset polling with the platform's credential: end offsets and the group's committed
    // offsets read from the brokers reach the queue's traffic and lag series.
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let t = call(
            &http,
            M::GET,
            format!("{base}/api/v1/queues/shop/orders/traffic?range=hour"),
            &ops,
            Value::Null,
        )
        .await;
        let named = |k: &str, name: &str| {
            t[k].as_array()
                .into_iter()
                .flatten()
                .any(|s| s["name"] == name)
        };
        if named("messages", "in (brokers)") && named("lag", "billing (brokers)") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "nothing polled from the brokers: {t}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let tally = fleet.finish(Duration::from_secs(30)).await;
    let lost = tally.lost();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged messages never read: {:?}",
        lost.len(),
        tally.acked.len(),
        lost.iter()
            .take(5)
            .map(|id| tally.explain(*id))
            .collect::<Vec<_>>()
    );

    // A wrong CA: the platform's probe and a new SDK client both say TLS, naming the cluster.
    edit(
        &base,
        &ops,
        &east_body,
        json!({"tls_ca_pem": rogue.pem(),
        "sasl_password": "", "client_sasl_password": "", "tls_client_key_pem": ""}),
    )
    .await;
    let h = health(&base, &ops, "east").await;
    assert_eq!(h["reachable"], false, "{h}");
    let why = h["error"].as_str().unwrap_or_default().to_string();
    assert!(why.contains("TLS"), "health with a wrong CA: {why}");
    let sdk = producer_error(&base, &w.app_token, &dir.path().join("c1")).await;
    assert!(
        sdk.contains("cluster east") && sdk.contains("TLS"),
        "SDK with a wrong CA: {sdk}"
    );

    // The right CA and wrong passwords: refused credentials, told as such.
    edit(
        &base,
        &ops,
        &east_body,
        json!({"sasl_password": "not-the-password",
        "client_sasl_password": "not-the-password-either", "tls_client_key_pem": ""}),
    )
    .await;
    let h = health(&base, &ops, "east").await;
    assert_eq!(h["reachable"], false, "{h}");
    let why = h["error"].as_str().unwrap_or_default().to_string();
    assert!(
        why.contains("authentication") || why.contains("credentials"),
        "health with a wrong password: {why}"
    );
    let sdk = producer_error(&base, &w.app_token, &dir.path().join("c2")).await;
    assert!(
        sdk.contains("cluster east")
            && (sdk.contains("authentication") || sdk.contains("credentials")),
        "SDK with a wrong password: {sdk}"
    );

    // Put right again: nothing of the registration was lost on the way (the client key was
    // kept through every edit that left it empty).
    edit(&base, &ops, &east_body, json!({"tls_client_key_pem": ""})).await;
    let h = health(&base, &ops, "east").await;
    assert_eq!(h["reachable"], true, "{h}");
    let p = watershed_sdk::Producer::connect(drill::client(
        &base,
        &w.app_token,
        &dir.path().join("c3"),
        "again",
    ))
    .await
    .expect("the producer connects again");
    p.send(None, b"again").await.expect("and is acknowledged");
    drop((east, west));
}

async fn wait_until(ok: impl FnMut() -> bool, what: &str) {
    drill::wait_until(ok, what, Duration::from_secs(60)).await
}
