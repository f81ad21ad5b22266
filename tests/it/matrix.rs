//! Who may do what: every mutation of the REST API and every mutating server function, tried
//! by each kind of person. The allowed ones are not refused (and at least one succeeds); the
//! rest get 401 or 403 and change nothing (the audit log, written by every mutation in its
//! own transaction, does not grow).

use crate::harness::Backend;
use crate::harness::{world, World};
use crate::on_both_backends;
use crate::sdk::granted;
use leptos::server_fn::ServerFn;
use reqwest::{Method as M, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use watershed::api::console as sf;
use watershed::domain::Role;

on_both_backends!(
    every_rest_mutation_is_refused_to_whoever_may_not,
    every_server_function_is_refused_to_whoever_may_not
);

/// The people who try: none signed in, then a viewer, a member and an owner of `shop` (where
/// the queues are), an owner of `lab` (whose application asks for access), an approver and an
/// admin.
const ACTORS: [&str; 7] = [
    "stranger",
    "viewer",
    "member",
    "owner",
    "other_owner",
    "approver",
    "admin",
];

/// Who may do an operation.
#[derive(Clone, Copy)]
enum Who {
    Everyone,
    Writers,
    ShopMembers,
    ShopOwners,
    LabOwners,
    QueueApprovers,
    /// Who may read shop/orders' messages: its project's people, admins, and lab's owner, whose
    /// application holds a consume grant on it.
    OrdersReaders,
    Requester,
    Admins,
    /// Application tokens only: no person's credential works.
    Nobody,
}

impl Who {
    fn allows(self, actor: &str) -> bool {
        match self {
            Who::Everyone => actor != "stranger",
            Who::Writers => !matches!(actor, "stranger" | "viewer"),
            Who::ShopMembers => matches!(actor, "member" | "owner" | "admin"),
            Who::ShopOwners => matches!(actor, "owner" | "admin"),
            Who::LabOwners => matches!(actor, "other_owner" | "admin"),
            // Four eyes: never the requester (other_owner) nor anyone owning lab but an admin.
            Who::QueueApprovers => matches!(actor, "owner" | "approver" | "admin"),
            Who::OrdersReaders => matches!(actor, "member" | "owner" | "other_owner" | "admin"),
            Who::Requester => actor == "other_owner",
            Who::Admins => actor == "admin",
            Who::Nobody => false,
        }
    }
}

/// A request: method, path and JSON body (a server function's form fields as an object).
type Call = (M, String, Option<Value>);
/// Makes the request an actor sends.
type MakeCall = Box<dyn Fn(&str) -> Call + Send + Sync>;

/// One operation: who may, and the request each actor sends (names made unique per actor).
struct Op {
    name: &'static str,
    who: Who,
    /// Allowed callers may still fail for a reason of the world (an unreachable cluster).
    must_succeed: bool,
    request: MakeCall,
}

fn op(name: &'static str, who: Who, request: impl Fn(&str) -> Call + Send + Sync + 'static) -> Op {
    Op {
        name,
        who,
        must_succeed: true,
        request: Box::new(request),
    }
}

struct Fixture {
    w: World,
    tokens: HashMap<&'static str, String>,
    /// Two open requests for orders: one to decide, one to cancel.
    to_decide: i64,
    to_cancel: i64,
    /// A third open request, for the bulk decision.
    to_bulk: i64,
    grant: i64,
    app_token_ids: Vec<i64>,
    /// Two personal tokens of each actor's own, to revoke through REST and the console.
    own_tokens: HashMap<&'static str, [i64; 2]>,
    /// A firing alert on shop/orders, to acknowledge.
    alert: i64,
}

async fn fixture(b: Backend) -> Fixture {
    let w = world(b).await;
    let mia = w.app.token_for("mia", Role::Developer).await;
    w.app.token_for("tmp", Role::Developer).await;
    let ok = |(s, v): (StatusCode, Value)| assert!(s.is_success(), "{s} {v}");
    ok(w.call(
        M::PUT,
        "/api/v1/projects/shop/people",
        &w.olga,
        Some(json!({"owners": ["olga"], "members": ["mia"]})),
    )
    .await);
    ok(w.call(
        M::POST,
        "/api/v1/clusters",
        &w.admin,
        Some(json!({"name": "k2", "kind": "kafka", "bootstrap_servers": ["k2:9092"]})),
    )
    .await);
    let (_, mut orders) = w
        .call(M::GET, "/api/v1/queues/shop/orders", &w.olga, None)
        .await;
    orders["backup_cluster"] = json!("k2");
    ok(
        w.call(M::PUT, "/api/v1/queues/shop/orders", &w.olga, Some(orders))
            .await,
    );
    ok(w.call(
        M::PUT,
        "/api/v1/projects/shop/webhook",
        &w.olga,
        Some(json!({"url": "http://127.0.0.1:9/hook", "secret": "a-secret-of-16-chars"})),
    )
    .await);
    let (grant, _) = granted(&w, "orders", "consume").await;
    let (_, d) = w.request(&w.dev, "orders", "consume").await;
    let (_, c) = w.request(&w.dev, "orders", "produce").await;
    let (_, bulk) = w.request(&w.dev, "orders", "both").await;
    let mut app_token_ids = Vec::new();
    for _ in 0..3 {
        let (_, t) = w
            .call(
                M::POST,
                "/api/v1/applications/lab/checkout/tokens",
                &w.dev,
                None,
            )
            .await;
        app_token_ids.push(t["view"]["id"].as_i64().unwrap());
    }
    let tokens = HashMap::from([
        ("stranger", String::new()),
        ("viewer", w.vera.clone()),
        ("member", mia),
        ("owner", w.olga.clone()),
        ("other_owner", w.dev.clone()),
        ("approver", w.ann.clone()),
        ("admin", w.admin.clone()),
    ]);
    let mut own_tokens = HashMap::new();
    for actor in ACTORS {
        let who = if actor == "stranger" { "admin" } else { actor };
        let mut ids = [0; 2];
        for id in &mut ids {
            let (_, t) = w
                .call(
                    M::POST,
                    "/api/v1/tokens",
                    &tokens[who],
                    Some(json!({"name": "spare"})),
                )
                .await;
            *id = t["id"].as_i64().unwrap();
        }
        own_tokens.insert(actor, ids);
    }
    let orders_id = w
        .app
        .store()
        .queue("shop", "orders")
        .await
        .unwrap()
        .unwrap()
        .id;
    let alert = w
        .app
        .store()
        .open_alert(
            &watershed::server::db::alerts::NewAlert {
                queue_id: orders_id,
                consumer_group: "billing".into(),
                kind: watershed::domain::AlertKind::GroupStalled,
                reason: "stalled".into(),
                at: watershed::server::db::now_millis(),
                silenced: false,
            },
            None,
            &watershed::server::db::AuditEvent {
                actor: "watershed".into(),
                action: "alert.firing",
                target_kind: "queue",
                target: "shop/orders".into(),
                summary: String::new(),
            },
        )
        .await
        .unwrap()
        .expect("no alert open on that subject yet");
    Fixture {
        alert,
        own_tokens,
        tokens,
        to_decide: d["id"].as_i64().unwrap(),
        to_cancel: c["id"].as_i64().unwrap(),
        to_bulk: bulk["id"].as_i64().unwrap(),
        grant,
        app_token_ids,
        w,
    }
}

/// Runs every operation for every actor and checks the matrix.
async fn check(f: &Fixture, ops: Vec<Op>, send: impl AsyncSend) {
    let mut failures = Vec::new();
    for op in ops {
        let mut succeeded = false;
        for actor in ACTORS {
            let (method, path, body) = (op.request)(actor);
            let before = f.w.audit_total().await;
            let (status, answer) = send.send(f, actor, method, &path, body).await;
            let refused = status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN;
            if op.who.allows(actor) {
                succeeded |= status.is_success();
                if refused {
                    failures.push(format!(
                        "{}: {actor} was refused ({status}): {answer}",
                        op.name
                    ));
                }
            } else {
                if !refused {
                    failures.push(format!(
                        "{}: {actor} was not refused ({status}): {answer}",
                        op.name
                    ));
                }
                if f.w.audit_total().await != before {
                    failures.push(format!(
                        "{}: {actor}'s refused call changed something",
                        op.name
                    ));
                }
            }
        }
        if op.must_succeed && !succeeded && !matches!(op.who, Who::Nobody) {
            failures.push(format!("{}: no allowed caller succeeded", op.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// How a call is sent: REST with a bearer token, or a server function with a session.
trait AsyncSend {
    fn send(
        &self,
        f: &Fixture,
        actor: &str,
        method: M,
        path: &str,
        body: Option<Value>,
    ) -> impl std::future::Future<Output = (StatusCode, Value)>;
}

struct Rest;

impl AsyncSend for Rest {
    async fn send(
        &self,
        f: &Fixture,
        actor: &str,
        method: M,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = f.w.app.client().request(method, f.w.app.url(path));
        if actor != "stranger" {
            req = req.bearer_auth(&f.tokens[actor]);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }
}

fn rest_ops(f: &Fixture) -> Vec<Op> {
    let (decide, cancel, grant, bulk) = (f.to_decide, f.to_cancel, f.grant, f.to_bulk);
    let app_tokens = f.app_token_ids.clone();
    let queue = |name: &str, topic: Option<&str>| {
        let mut q = json!({"project": "shop", "name": name, "primary_cluster": "k1", "backup_cluster": "k2",
                           "description": "edited", "tags": ["orders"]});
        if let Some(t) = topic {
            q["topic"] = json!(t);
        }
        q
    };
    let cluster = json!({"name": "k1", "kind": "kafka", "bootstrap_servers": ["k1:9092"], "region": "edited"});
    let avro = json!({"format": "avro", "definition": r#"{"type":"record","name":"O","fields":[{"name":"id","type":"long"}]}"#});
    vec![
        op("create token", Who::Everyone, |a| {
            (
                M::POST,
                "/api/v1/tokens".into(),
                Some(json!({"name": format!("t-{a}")})),
            )
        }),
        op("revoke own token", Who::Everyone, {
            let own = f.own_tokens.clone();
            move |a| (M::DELETE, format!("/api/v1/tokens/{}", own[a][0]), None)
        }),
        op("create user", Who::Admins, |a| {
            (
                M::POST,
                "/api/v1/users".into(),
                Some(
                    json!({"username": format!("u-{a}"), "password": "password-123", "role": "viewer"}),
                ),
            )
        }),
        op("disable user", Who::Admins, |_| {
            (M::POST, "/api/v1/users/tmp/disable".into(), None)
        }),
        op("enable user", Who::Admins, |_| {
            (M::POST, "/api/v1/users/tmp/enable".into(), None)
        }),
        op("create project", Who::Writers, |a| {
            (
                M::POST,
                "/api/v1/projects".into(),
                Some(json!({"name": format!("p-{}", a.replace('_', "-"))})),
            )
        }),
        op("set project people", Who::ShopOwners, |_| {
            (
                M::PUT,
                "/api/v1/projects/shop/people".into(),
                Some(json!({"owners": ["olga"], "members": ["mia"]})),
            )
        }),
        op("create cluster", Who::Admins, |a| {
            (
                M::POST,
                "/api/v1/clusters".into(),
                Some(
                    json!({"name": format!("c-{}", a.replace('_', "-")), "kind": "kafka", "bootstrap_servers": ["c:9092"]}),
                ),
            )
        }),
        op("edit cluster", Who::Admins, move |_| {
            (M::PUT, "/api/v1/clusters/k1".into(), Some(cluster.clone()))
        }),
        op("create queue", Who::ShopMembers, move |a| {
            (
                M::POST,
                "/api/v1/queues".into(),
                Some(queue(&format!("q-{}", a.replace('_', "-")), None)),
            )
        }),
        op("describe queue", Who::ShopMembers, move |_| {
            (
                M::PUT,
                "/api/v1/queues/shop/orders".into(),
                Some(queue("orders", Some("shop.orders"))),
            )
        }),
        op("move queue's topic", Who::ShopOwners, move |a| {
            (
                M::PUT,
                "/api/v1/queues/shop/orders".into(),
                Some(queue("orders", Some(&format!("moved.{a}")))),
            )
        }),
        op("create application", Who::ShopMembers, |a| {
            (
                M::POST,
                "/api/v1/applications".into(),
                Some(json!({"project": "shop", "name": format!("app-{}", a.replace('_', "-"))})),
            )
        }),
        op("issue app token", Who::LabOwners, |_| {
            (
                M::POST,
                "/api/v1/applications/lab/checkout/tokens".into(),
                None,
            )
        }),
        op("revoke app token", Who::LabOwners, move |a| {
            let id = if a == "admin" {
                app_tokens[1]
            } else {
                app_tokens[0]
            };
            (
                M::DELETE,
                format!("/api/v1/applications/lab/checkout/tokens/{id}"),
                None,
            )
        }),
        op("request access", Who::LabOwners, |a| {
            let permission = if a == "admin" { "both" } else { "produce" };
            (
                M::POST,
                "/api/v1/requests".into(),
                Some(
                    json!({"project": "lab", "application": "checkout", "queue_project": "shop",
                "queue": "customers", "permission": permission, "reason": "matrix", "duration": "30"}),
                ),
            )
        }),
        op("decide request", Who::QueueApprovers, move |_| {
            (
                M::POST,
                format!("/api/v1/requests/{decide}/decision"),
                Some(json!({"decision": "approve", "comment": "ok"})),
            )
        }),
        op("decide requests at once", Who::QueueApprovers, move |_| {
            (
                M::POST,
                "/api/v1/requests/decisions".into(),
                Some(json!({"ids": [bulk], "decision": "approve", "comment": "ok"})),
            )
        }),
        op("cancel request", Who::Requester, move |_| {
            (M::POST, format!("/api/v1/requests/{cancel}/cancel"), None)
        }),
        op("revoke grant", Who::QueueApprovers, move |_| {
            (M::DELETE, format!("/api/v1/grants/{grant}"), None)
        }),
        op("fail over queue", Who::ShopOwners, |a| {
            let to = if a == "admin" { "primary" } else { "backup" };
            (
                M::POST,
                "/api/v1/queues/shop/orders/failover".into(),
                Some(json!({"to": to, "reason": "matrix", "confirm": true})),
            )
        }),
        op("migrate queue", Who::ShopOwners, |a| {
            let to = if a == "admin" { "k1" } else { "k3" };
            (
                M::POST,
                "/api/v1/queues/shop/customers/migrate".into(),
                Some(json!({"cluster": to, "reason": "matrix", "confirm": true})),
            )
        }),
        Op {
            must_succeed: false,
            ..op("fail over cluster", Who::Admins, |_| {
                (
                    M::POST,
                    "/api/v1/clusters/k2/failover".into(),
                    Some(json!({"reason": "matrix", "confirm": true})),
                )
            })
        },
        // Reads, but audited: the cluster here cannot be reached (503), so only refusals count.
        Op {
            must_succeed: false,
            ..op("peek messages", Who::OrdersReaders, |_| {
                (
                    M::GET,
                    "/api/v1/queues/shop/orders/messages?max_secs=1".into(),
                    None,
                )
            })
        },
        Op {
            must_succeed: false,
            ..op("download messages", Who::OrdersReaders, |_| {
                (
                    M::GET,
                    "/api/v1/queues/shop/orders/messages/download?max_secs=1".into(),
                    None,
                )
            })
        },
        Op {
            must_succeed: false,
            ..op("import topics", Who::Admins, |_| {
                (
                    M::POST,
                    "/api/v1/clusters/k1/import".into(),
                    Some(json!({"project": "shop", "topics": ["legacy"]})),
                )
            })
        },
        op("post lineage event", Who::Writers, |a| {
            (
                M::POST,
                "/api/v1/lineage".into(),
                Some(
                    json!({"eventType": "COMPLETE", "eventTime": "2026-01-01T00:00:00Z",
            "run": {"runId": format!("r-{a}")}, "job": {"namespace": "flink", "name": format!("job-{a}")}, "inputs": [], "outputs": []}),
                ),
            )
        }),
        op("read notifications", Who::Everyone, |_| {
            (M::POST, "/api/v1/notifications/read".into(), None)
        }),
        op("set webhook", Who::ShopOwners, |_| {
            (
                M::PUT,
                "/api/v1/projects/shop/webhook".into(),
                Some(json!({"url": "http://127.0.0.1:9/hook2"})),
            )
        }),
        op("ping webhook", Who::ShopOwners, |_| {
            (M::POST, "/api/v1/projects/shop/webhook/ping".into(), None)
        }),
        op("publish schema", Who::ShopMembers, move |_| {
            (
                M::POST,
                "/api/v1/queues/shop/orders/schemas".into(),
                Some(avro.clone()),
            )
        }),
        op("set compatibility", Who::ShopOwners, |_| {
            (
                M::PUT,
                "/api/v1/queues/shop/orders/compatibility".into(),
                Some(json!({"compatibility": "FULL"})),
            )
        }),
        op("mark sensitive fields", Who::ShopOwners, |_| {
            (
                M::PUT,
                "/api/v1/queues/shop/orders/sensitive-fields".into(),
                Some(json!({"fields": ["id"]})),
            )
        }),
        op("sdk config", Who::Nobody, |_| {
            (
                M::POST,
                "/api/v1/sdk/config".into(),
                Some(
                    json!({"project": "shop", "queue": "orders", "role": "producer", "app": "checkout", "client_id": "c", "host": "h", "sdk_version": "0"}),
                ),
            )
        }),
        op("switch own applications' access", Who::ShopOwners, |_| {
            (
                M::PUT,
                "/api/v1/projects/shop/own-apps-access".into(),
                Some(json!({"enabled": true})),
            )
        }),
        op("set queue alert rule", Who::ShopOwners, |_| {
            (
                M::PUT,
                "/api/v1/queues/shop/orders/alert-rules/lag_messages".into(),
                Some(json!({"threshold": 1000, "for_seconds": 60})),
            )
        }),
        op("reset queue alert rule", Who::ShopOwners, |_| {
            (
                M::DELETE,
                "/api/v1/queues/shop/orders/alert-rules/lag_messages".into(),
                None,
            )
        }),
        op("silence queue alerts", Who::ShopOwners, |_| {
            (
                M::POST,
                "/api/v1/queues/shop/orders/silences".into(),
                Some(
                    json!({"comment": "maintenance", "ends_at": watershed::server::db::now_millis() + 3_600_000}),
                ),
            )
        }),
        op("end a silence", Who::ShopOwners, |_| {
            (
                M::DELETE,
                "/api/v1/queues/shop/orders/silences/1".into(),
                None,
            )
        }),
        op("set application alert rule", Who::LabOwners, |_| {
            (
                M::PUT,
                "/api/v1/applications/lab/checkout/alert-rules/lag_seconds".into(),
                Some(json!({"threshold": 600, "for_seconds": 300})),
            )
        }),
        op("reset application alert rule", Who::LabOwners, |_| {
            (
                M::DELETE,
                "/api/v1/applications/lab/checkout/alert-rules/lag_seconds".into(),
                None,
            )
        }),
        op("acknowledge alert", Who::ShopOwners, {
            let alert = f.alert;
            move |_| {
                (
                    M::POST,
                    format!("/api/v1/alerts/{alert}/acknowledge"),
                    Some(
                        json!({"comment": "on it", "until": watershed::server::db::now_millis() + 600_000}),
                    ),
                )
            }
        }),
        op("set my e-mail", Who::Everyone, |a| {
            (
                M::PUT,
                "/api/v1/me/email".into(),
                Some(json!({"email": format!("{a}@example.com")})),
            )
        }),
        op("sdk heartbeat", Who::Nobody, |_| {
            (
                M::POST,
                "/api/v1/sdk/heartbeat".into(),
                Some(json!({"app": "checkout", "client_id": "c", "queues": []})),
            )
        }),
        op("sdk reports", Who::Nobody, |_| {
            (
                M::POST,
                "/api/v1/sdk/reports".into(),
                Some(json!({"reports": []})),
            )
        }),
    ]
}

async fn every_rest_mutation_is_refused_to_whoever_may_not(b: Backend) {
    let f = fixture(b).await;
    let (s, _) =
        f.w.call(
            M::POST,
            "/api/v1/clusters",
            &f.w.admin,
            Some(json!({"name": "k3", "kind": "kafka", "bootstrap_servers": ["k3:9092"]})),
        )
        .await;
    assert!(s.is_success());
    let ops = rest_ops(&f);
    check(&f, ops, Rest).await;
}

/// A server function called as the hydrated console calls it, with the actor's session.
struct Console {
    sessions: HashMap<&'static str, reqwest::Client>,
}

impl AsyncSend for Console {
    async fn send(
        &self,
        f: &Fixture,
        actor: &str,
        _: M,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let form: Vec<(String, String)> = body
            .and_then(|b| b.as_object().cloned())
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.as_str().map_or(v.to_string(), str::to_string)))
            .collect();
        let r = self.sessions[actor]
            .post(f.w.app.url(path))
            .header("accept", "application/json")
            .form(&form)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }
}

fn console_ops(f: &Fixture) -> Vec<Op> {
    let (decide, cancel, grant, bulk) = (f.to_decide, f.to_cancel, f.grant, f.to_bulk);
    let app_tokens = f.app_token_ids.clone();
    let form = |pairs: &[(&str, &str)]| {
        Some(Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect(),
        ))
    };
    let queue_form = move |name: String, topic: String| {
        form(&[
            ("form[project]", "shop"),
            ("form[name]", &name),
            ("form[primary_cluster]", "k1"),
            ("form[backup_cluster]", "k2"),
            ("form[topic]", &topic),
            ("form[description]", "edited"),
            ("orig_project", "shop"),
            ("orig_name", "orders"),
        ])
    };
    let post = |url: &str, body: Option<Value>| (M::POST, url.to_string(), body);
    vec![
        op("create my token", Who::Everyone, move |a| {
            post(
                sf::CreateMyToken::url(),
                form(&[("name", &format!("t-{a}")), ("days", "")]),
            )
        }),
        op("revoke my token", Who::Everyone, {
            let own = f.own_tokens.clone();
            move |a| {
                post(
                    sf::RevokeMyToken::url(),
                    form(&[("id", &own[a][1].to_string())]),
                )
            }
        }),
        op("disable user", Who::Admins, move |_| {
            post(
                sf::SetUserDisabled::url(),
                form(&[("username", "tmp"), ("disabled", "true")]),
            )
        }),
        op("create project", Who::Writers, move |a| {
            post(
                sf::CreateProject::url(),
                form(&[
                    ("name", &format!("sp-{}", a.replace('_', "-"))),
                    ("description", ""),
                    ("owners", ""),
                    ("members", ""),
                ]),
            )
        }),
        op("set project people", Who::ShopOwners, move |_| {
            post(
                sf::SetProjectPeople::url(),
                form(&[("project", "shop"), ("owners", "olga"), ("members", "mia")]),
            )
        }),
        op("create cluster", Who::Admins, move |a| {
            post(
                sf::CreateCluster::url(),
                form(&[
                    ("form[name]", &format!("sc-{}", a.replace('_', "-"))),
                    ("form[kind]", "kafka"),
                    ("form[bootstrap_servers]", "c:9092"),
                ]),
            )
        }),
        op("edit cluster", Who::Admins, move |_| {
            post(
                sf::UpdateCluster::url(),
                form(&[
                    ("orig_name", "k1"),
                    ("form[name]", "k1"),
                    ("form[kind]", "kafka"),
                    ("form[bootstrap_servers]", "k1:9092"),
                    ("form[region]", "edited"),
                ]),
            )
        }),
        op("create queue", Who::ShopMembers, move |a| {
            post(
                sf::CreateQueue::url(),
                queue_form(format!("sq-{}", a.replace('_', "-")), String::new()),
            )
        }),
        op("describe queue", Who::ShopMembers, move |_| {
            post(
                sf::UpdateQueue::url(),
                queue_form("orders".into(), "shop.orders".into()),
            )
        }),
        op("move queue's topic", Who::ShopOwners, move |a| {
            post(
                sf::UpdateQueue::url(),
                queue_form("orders".into(), format!("smoved.{a}")),
            )
        }),
        op("create application", Who::ShopMembers, move |a| {
            post(
                sf::CreateApplication::url(),
                form(&[
                    ("project", "shop"),
                    ("name", &format!("sapp-{}", a.replace('_', "-"))),
                    ("description", ""),
                ]),
            )
        }),
        op("issue app token", Who::LabOwners, move |_| {
            post(
                sf::IssueAppToken::url(),
                form(&[("project", "lab"), ("name", "checkout")]),
            )
        }),
        op("revoke app token", Who::LabOwners, move |a| {
            let id = if a == "admin" {
                app_tokens[1]
            } else {
                app_tokens[0]
            };
            post(
                sf::RevokeAppToken::url(),
                form(&[
                    ("project", "lab"),
                    ("name", "checkout"),
                    ("id", &id.to_string()),
                ]),
            )
        }),
        op("request access", Who::LabOwners, move |a| {
            let permission = if a == "admin" { "both" } else { "produce" };
            post(
                sf::RequestAccess::url(),
                form(&[
                    ("application", "lab/checkout"),
                    ("queue_project", "shop"),
                    ("queue", "customers"),
                    ("permission", permission),
                    ("duration", "30"),
                    ("reason", "matrix"),
                ]),
            )
        }),
        op("decide request", Who::QueueApprovers, move |_| {
            post(
                sf::DecideRequest::url(),
                form(&[
                    ("id", &decide.to_string()),
                    ("decision", "approve"),
                    ("comment", "ok"),
                ]),
            )
        }),
        op("decide requests at once", Who::QueueApprovers, move |_| {
            let picked = format!("picked[{bulk}]");
            post(
                sf::DecideRequests::url(),
                form(&[
                    (picked.as_str(), "on"),
                    ("decision", "approve"),
                    ("comment", "ok"),
                ]),
            )
        }),
        op("cancel request", Who::Requester, move |_| {
            post(
                sf::CancelRequest::url(),
                form(&[("id", &cancel.to_string())]),
            )
        }),
        op("revoke grant", Who::QueueApprovers, move |_| {
            post(sf::RevokeGrant::url(), form(&[("id", &grant.to_string())]))
        }),
        op("fail over queue", Who::ShopOwners, move |a| {
            let to = if a == "admin" { "primary" } else { "backup" };
            post(
                sf::FailOverQueue::url(),
                form(&[
                    ("project", "shop"),
                    ("queue", "orders"),
                    ("to", to),
                    ("reason", "matrix"),
                    ("confirm", "true"),
                ]),
            )
        }),
        op("migrate queue", Who::ShopOwners, move |a| {
            let to = if a == "admin" { "k1" } else { "k3" };
            post(
                sf::MigrateQueue::url(),
                form(&[
                    ("project", "shop"),
                    ("queue", "customers"),
                    ("cluster", to),
                    ("reason", "matrix"),
                    ("confirm", "true"),
                ]),
            )
        }),
        Op {
            must_succeed: false,
            ..op("fail over cluster", Who::Admins, move |_| {
                post(
                    sf::FailOverCluster::url(),
                    form(&[("cluster", "k2"), ("reason", "matrix"), ("confirm", "true")]),
                )
            })
        },
        Op {
            must_succeed: false,
            ..op("peek messages", Who::OrdersReaders, move |_| {
                post(
                    sf::PeekQueue::url(),
                    form(&[
                        ("project", "shop"),
                        ("queue", "orders"),
                        ("input[max_secs]", "1"),
                    ]),
                )
            })
        },
        Op {
            must_succeed: false,
            ..op("import topics", Who::Admins, move |_| {
                post(
                    sf::ImportTopics::url(),
                    form(&[("cluster", "k1"), ("project", "shop"), ("topics", "legacy")]),
                )
            })
        },
        op("read notifications", Who::Everyone, move |_| {
            post(sf::MarkNotificationsRead::url(), form(&[]))
        }),
        op("set webhook", Who::ShopOwners, move |_| {
            post(
                sf::SetProjectWebhook::url(),
                form(&[
                    ("project", "shop"),
                    ("url", "http://127.0.0.1:9/hook3"),
                    ("secret", ""),
                ]),
            )
        }),
        op("ping webhook", Who::ShopOwners, move |_| {
            post(sf::PingProjectWebhook::url(), form(&[("project", "shop")]))
        }),
        op("publish schema", Who::ShopMembers, move |_| {
            post(
                sf::PublishSchema::url(),
                form(&[
                    ("project", "shop"),
                    ("queue", "orders"),
                    ("format", "avro"),
                    (
                        "definition",
                        r#"{"type":"record","name":"O","fields":[{"name":"id","type":"long"}]}"#,
                    ),
                ]),
            )
        }),
        op(
            "switch own applications' access",
            Who::ShopOwners,
            move |_| {
                post(
                    sf::SetOwnAppsAccess::url(),
                    form(&[("project", "shop"), ("enabled", "on")]),
                )
            },
        ),
        op("set alert rule", Who::ShopOwners, move |_| {
            post(
                sf::SetAlertRule::url(),
                form(&[
                    ("project", "shop"),
                    ("queue", "orders"),
                    ("kind", "lag_messages"),
                    ("threshold", "500"),
                    ("for_minutes", "5"),
                ]),
            )
        }),
        op("reset alert rule", Who::ShopOwners, move |_| {
            post(
                sf::ResetAlertRule::url(),
                form(&[
                    ("project", "shop"),
                    ("queue", "orders"),
                    ("kind", "lag_messages"),
                ]),
            )
        }),
        op("silence alerts", Who::ShopOwners, move |_| {
            post(
                sf::SilenceAlerts::url(),
                form(&[
                    ("project", "shop"),
                    ("queue", "orders"),
                    ("comment", "maintenance"),
                    ("hours", "2"),
                ]),
            )
        }),
        op("end silence", Who::ShopOwners, move |_| {
            post(
                sf::EndSilence::url(),
                form(&[("project", "shop"), ("queue", "orders"), ("id", "1")]),
            )
        }),
        op("acknowledge alert", Who::ShopOwners, {
            let alert = f.alert.to_string();
            move |_| {
                post(
                    sf::AcknowledgeAlert::url(),
                    form(&[
                        ("project", "shop"),
                        ("queue", "orders"),
                        ("id", &alert),
                        ("comment", "on it"),
                        ("hours", "1"),
                    ]),
                )
            }
        }),
        op("set compatibility", Who::ShopOwners, move |_| {
            post(
                sf::SetSchemaMode::url(),
                form(&[
                    ("project", "shop"),
                    ("queue", "orders"),
                    ("compatibility", "FULL"),
                ]),
            )
        }),
        op("mark sensitive fields", Who::ShopOwners, move |_| {
            post(
                sf::SetSensitiveFields::url(),
                form(&[
                    ("project", "shop"),
                    ("queue", "orders"),
                    ("marked[0]", "id"),
                ]),
            )
        }),
    ]
}

async fn every_server_function_is_refused_to_whoever_may_not(b: Backend) {
    let f = fixture(b).await;
    let (s, _) =
        f.w.call(
            M::POST,
            "/api/v1/clusters",
            &f.w.admin,
            Some(json!({"name": "k3", "kind": "kafka", "bootstrap_servers": ["k3:9092"]})),
        )
        .await;
    assert!(s.is_success());
    let mut sessions = HashMap::new();
    for (actor, user) in [
        ("stranger", ""),
        ("viewer", "vera"),
        ("member", "mia"),
        ("owner", "olga"),
        ("other_owner", "dev"),
        ("approver", "ann"),
        ("admin", "ops"),
    ] {
        let c = f.w.app.client();
        if !user.is_empty() {
            let r = c
                .post(f.w.app.url(sf::Login::url()))
                .header("accept", "text/html")
                .form(&[("username", user), ("password", "password-123")])
                .send()
                .await
                .unwrap();
            assert!(r.headers().get("set-cookie").is_some(), "{user} signed in");
        }
        sessions.insert(actor, c);
    }
    let ops = console_ops(&f);
    check(&f, ops, Console { sessions }).await;
}
