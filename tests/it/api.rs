//! The REST API: authentication, authorisation, validation, audit.

use crate::harness::{spawn_app, Backend, TestApp};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::{json, Value};
use watershed::domain::Role;

async fn admin_token(app: &TestApp) -> String {
    app.token_for("ops", Role::Admin).await
}

/// Creates a project, two clusters and a queue as an admin.
async fn seed(app: &TestApp, token: &str) {
    let c = app.client();
    let r = c
        .post(app.url("/api/v1/projects"))
        .bearer_auth(token)
        .json(&json!({"name": "shop", "description": "Storefront"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    for name in ["kafka-a", "kafka-b"] {
        let r = c.post(app.url("/api/v1/clusters")).bearer_auth(token)
            .json(&json!({"name": name, "kind": "kafka", "bootstrap_servers": [format!("{name}:9092")],
                          "sasl_mechanism": "PLAIN", "sasl_username": "svc", "sasl_password": "s3cret-pw"}))
            .send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    }
    let r = c
        .post(app.url("/api/v1/queues"))
        .bearer_auth(token)
        .json(
            &json!({"project": "shop", "name": "orders", "description": "Every order placed",
                      "tags": ["core"], "primary_cluster": "kafka-a", "backup_cluster": "kafka-b"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
}

on_both_backends!(
    health_and_readiness_answer,
    requests_without_credentials_are_refused,
    a_queue_created_through_rest_is_listed_and_audited,
    bad_input_names_the_field,
    a_duplicate_queue_is_a_conflict,
    cluster_secrets_never_leave_the_server,
    a_viewer_is_refused_every_mutation,
    a_developer_changes_only_queues_of_their_projects,
    the_openapi_document_describes_the_api,
    an_unknown_api_path_is_a_json_404,
);

async fn an_unknown_api_path_is_a_json_404(b: Backend) {
    let app = spawn_app(b).await;
    for (path, key) in [
        ("/api/v1/no-such-thing/at/all", "error"),
        ("/schema-registry/no-such-thing", "error_code"),
    ] {
        let r = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let body: serde_json::Value = r.json().await.expect("a JSON body, not a console page");
        assert!(body.get(key).is_some(), "{path}: {body}");
    }
}

async fn health_and_readiness_answer(b: Backend) {
    let app = spawn_app(b).await;
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        reqwest::get(app.url("/readyz"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ready"
    );
}

async fn requests_without_credentials_are_refused(b: Backend) {
    let app = spawn_app(b).await;
    let c = app.client();
    assert_eq!(
        c.get(app.url("/api/v1/queues"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let r = c
        .get(app.url("/api/v1/queues"))
        .bearer_auth("wsp_not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "sign in first");
}

async fn a_queue_created_through_rest_is_listed_and_audited(b: Backend) {
    let app = spawn_app(b).await;
    let token = admin_token(&app).await;
    seed(&app, &token).await;
    let c = app.client();
    let page: Value = c
        .get(app.url("/api/v1/queues?q=ORDER"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1);
    let q = &page["items"][0];
    assert_eq!(q["topic"], "shop.orders");
    assert_eq!(q["owner"], "ops");
    assert_eq!(q["backup_cluster"], "kafka-b");
    assert_eq!(q["active_side"], "primary");

    let mut edit = c
        .get(app.url("/api/v1/queues/shop/orders"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    edit["partitions"] = json!(12);
    edit["description"] = json!("orders, edited");
    let r = c
        .put(app.url("/api/v1/queues/shop/orders"))
        .bearer_auth(&token)
        .json(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());

    let log: Value = c
        .get(app.url("/api/v1/audit?target_kind=queue"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions = crate::harness::strs(&log["items"], "action");
    assert_eq!(actions, ["queue.update", "queue.create"]);
    let summary = log["items"][0]["summary"].as_str().unwrap();
    assert!(summary.contains("partitions: 6 → 12"), "{summary}");
    assert!(summary.contains("description"), "{summary}");
    assert_eq!(log["items"][0]["actor"], "ops");
}

async fn bad_input_names_the_field(b: Backend) {
    let app = spawn_app(b).await;
    let token = admin_token(&app).await;
    seed(&app, &token).await;
    let r = app.client().post(app.url("/api/v1/queues")).bearer_auth(&token)
        .json(&json!({"project": "shop", "name": "Bad Name", "partitions": 0, "primary_cluster": "nowhere"}))
        .send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    let fields = crate::harness::strs(&body["fields"], "field");
    assert_eq!(fields, ["name", "partitions"]);
    assert!(
        body["error"].as_str().unwrap().starts_with("name: "),
        "{body}"
    );

    let r = app
        .client()
        .post(app.url("/api/v1/queues"))
        .bearer_auth(&token)
        .json(&json!({"project": "shop", "name": "fine", "primary_cluster": "nowhere"}))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "primary_cluster");
    assert_eq!(
        app.store()
            .list_queues(&Default::default())
            .await
            .unwrap()
            .total,
        1,
        "nothing stored"
    );
}

async fn a_duplicate_queue_is_a_conflict(b: Backend) {
    let app = spawn_app(b).await;
    let token = admin_token(&app).await;
    seed(&app, &token).await;
    let r = app
        .client()
        .post(app.url("/api/v1/queues"))
        .bearer_auth(&token)
        .json(&json!({"project": "shop", "name": "orders", "primary_cluster": "kafka-a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "name");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("already has a queue named \"orders\""));
}

async fn cluster_secrets_never_leave_the_server(b: Backend) {
    let app = spawn_app(b).await;
    let token = admin_token(&app).await;
    seed(&app, &token).await;
    let c = app.client();
    for path in [
        "/api/v1/clusters",
        "/api/v1/clusters/kafka-a",
        "/api/v1/audit",
    ] {
        let text = c
            .get(app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!text.contains("s3cret-pw"), "{path} leaked the password");
    }
    let stored = app.store().cluster("kafka-a").await.unwrap().unwrap();
    let sealed = stored.sasl_password_enc.unwrap();
    assert!(!sealed.contains("s3cret-pw"));
    assert_eq!(app.state.secrets.open(&sealed).unwrap(), "s3cret-pw");
    assert!(stored.view.sasl_password_set);

    // An edit with an empty password keeps the stored one.
    let r = c.put(app.url("/api/v1/clusters/kafka-a")).bearer_auth(&token)
        .json(&json!({"name": "kafka-a", "kind": "automq", "bootstrap_servers": ["a1:9092", "a2:9092"],
                      "sasl_mechanism": "PLAIN", "sasl_username": "svc", "sasl_password": ""}))
        .send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let after = app.store().cluster("kafka-a").await.unwrap().unwrap();
    assert_eq!(
        app.state
            .secrets
            .open(&after.sasl_password_enc.unwrap())
            .unwrap(),
        "s3cret-pw"
    );
    assert_eq!(after.view.bootstrap_servers, ["a1:9092", "a2:9092"]);
}

async fn a_viewer_is_refused_every_mutation(b: Backend) {
    let app = spawn_app(b).await;
    let admin = admin_token(&app).await;
    seed(&app, &admin).await;
    let viewer = app.token_for("vera", Role::Viewer).await;
    let c = app.client();
    let audit_before = app
        .store()
        .list_audit(&Default::default())
        .await
        .unwrap()
        .total;
    let attempts = [
        c.post(app.url("/api/v1/projects")).json(&json!({"name": "mine"})),
        c.post(app.url("/api/v1/clusters")).json(&json!({"name": "k", "kind": "kafka", "bootstrap_servers": ["k:1"]})),
        c.put(app.url("/api/v1/clusters/kafka-a")).json(&json!({"name": "kafka-a", "kind": "kafka", "bootstrap_servers": ["k:1"]})),
        c.post(app.url("/api/v1/queues")).json(&json!({"project": "shop", "name": "mine", "primary_cluster": "kafka-a"})),
        c.put(app.url("/api/v1/queues/shop/orders")).json(&json!({"project": "shop", "name": "orders", "primary_cluster": "kafka-a", "partitions": 99})),
        c.post(app.url("/api/v1/users")).json(&json!({"username": "x1", "password": "password-1", "role": "admin"})),
    ];
    for req in attempts {
        let r = req.bearer_auth(&viewer).send().await.unwrap();
        let url = r.url().clone();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{url}");
    }
    // Reads still work, and nothing changed.
    let q: Value = c
        .get(app.url("/api/v1/queues/shop/orders"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(q["partitions"], 6);
    assert_eq!(app.store().list_projects().await.unwrap().len(), 1);
    assert_eq!(
        app.store()
            .list_audit(&Default::default())
            .await
            .unwrap()
            .total,
        audit_before
    );
    let r = c
        .get(app.url("/api/v1/audit"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "the audit log is for admins"
    );
}

async fn a_developer_changes_only_queues_of_their_projects(b: Backend) {
    let app = spawn_app(b).await;
    let admin = admin_token(&app).await;
    seed(&app, &admin).await;
    let dev = app.token_for("dora", Role::Developer).await;
    let c = app.client();
    let queue = json!({"project": "shop", "name": "carts", "primary_cluster": "kafka-a"});
    let r = c
        .post(app.url("/api/v1/queues"))
        .bearer_auth(&dev)
        .json(&queue)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c
        .post(app.url("/api/v1/projects"))
        .bearer_auth(&dev)
        .json(&json!({"name": "dora-lab"}))
        .send()
        .await
        .unwrap();
    let project: Value = r.json().await.unwrap();
    assert_eq!(project["owners"], json!(["dora"]));
    let queue = json!({"project": "dora-lab", "name": "carts", "primary_cluster": "kafka-a"});
    let r = c
        .post(app.url("/api/v1/queues"))
        .bearer_auth(&dev)
        .json(&queue)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .post(app.url("/api/v1/clusters"))
        .bearer_auth(&dev)
        .json(&json!({"name": "k", "kind": "kafka", "bootstrap_servers": ["k:1"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "clusters are for admins");
}

async fn the_openapi_document_describes_the_api(b: Backend) {
    let app = spawn_app(b).await;
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/queues",
        "/api/v1/queues/{project}/{name}",
        "/api/v1/clusters",
        "/api/v1/projects",
        "/api/v1/audit",
        "/api/v1/tokens",
        "/api/v1/search",
        "/api/v1/requests",
        "/api/v1/requests/{id}/decision",
        "/api/v1/requests/decisions",
        "/api/v1/requests/{id}/context",
        "/api/v1/applications/{project}/{name}/tokens",
        "/api/v1/queues/{project}/{name}/health",
        "/api/v1/queues/{project}/{name}/alert-rules/{kind}",
        "/api/v1/queues/{project}/{name}/silences",
        "/api/v1/queues/{project}/{name}/silences/{id}",
        "/api/v1/applications/{project}/{name}/health",
        "/api/v1/applications/{project}/{name}/alert-rules",
        "/api/v1/applications/{project}/{name}/alert-rules/{kind}",
        "/api/v1/alerts",
        "/api/v1/alerts/{id}/acknowledge",
        "/api/v1/me/email",
        "/api/v1/projects/{name}/own-apps-access",
        "/api/v1/queues/{project}/{name}/messages",
        "/api/v1/queues/{project}/{name}/messages/download",
        "/api/v1/queues/{project}/{name}/sensitive-fields",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    assert!(doc["components"]["schemas"]["QueueInput"].is_object());
    assert!(doc["components"]["schemas"]["GroupHealth"].is_object());
    assert!(doc["components"]["schemas"]["AlertRuleInput"].is_object());
    assert!(doc["components"]["schemas"]["Peek"].is_object());
    assert!(doc["components"]["securitySchemes"]["token"].is_object());
}
