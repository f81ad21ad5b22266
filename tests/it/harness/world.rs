//! The world most API tests start from: people with each role, two projects, a cluster, two
//! queues and an application, made through the REST API as users would.

use super::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use watershed::domain::Role;

/// People and places: `shop` (owned by olga) has queues `orders` and `customers` (tagged pii);
/// `lab` (dev is a member) has the application `checkout`.
pub struct World {
    pub app: TestApp,
    pub admin: String,
    pub olga: String,
    pub dev: String,
    pub ann: String,
    pub vera: String,
}

pub async fn world(b: Backend) -> World {
    world_with(b, Default::default()).await
}

/// The world on a server whose SDK plane has these settings.
pub async fn world_with(b: Backend, sdk: watershed::server::sdk::SdkSettings) -> World {
    let app = super::spawn_app_with(b, sdk).await;
    let admin = app.token_for("ops", Role::Admin).await;
    let olga = app.token_for("olga", Role::Developer).await;
    let dev = app.token_for("dev", Role::Developer).await;
    let ann = app.token_for("ann", Role::Approver).await;
    let vera = app.token_for("vera", Role::Viewer).await;
    let c = app.client();
    let post = |path: &str, token: &str, body: Value| {
        let req = c.post(app.url(path)).bearer_auth(token).json(&body);
        async move {
            let r = req.send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        }
    };
    post("/api/v1/projects", &olga, json!({"name": "shop"})).await;
    post("/api/v1/projects", &dev, json!({"name": "lab"})).await;
    post(
        "/api/v1/clusters",
        &admin,
        json!({"name": "k1", "kind": "kafka", "bootstrap_servers": ["k1:9092"]}),
    )
    .await;
    post(
        "/api/v1/queues",
        &olga,
        json!({"project": "shop", "name": "orders", "primary_cluster": "k1"}),
    )
    .await;
    post(
        "/api/v1/queues",
        &olga,
        json!({"project": "shop", "name": "customers", "tags": ["pii"], "primary_cluster": "k1"}),
    )
    .await;
    post(
        "/api/v1/applications",
        &dev,
        json!({"project": "lab", "name": "checkout", "description": "the checkout service"}),
    )
    .await;
    World {
        app,
        admin,
        olga,
        dev,
        ann,
        vera,
    }
}

impl World {
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .app
            .client()
            .request(method, self.app.url(path))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// How many audit entries there are: every mutation writes one.
    pub async fn audit_total(&self) -> i64 {
        self.app
            .store()
            .list_audit(&Default::default())
            .await
            .unwrap()
            .total
    }

    /// The audit entries of one action, newest first.
    pub async fn audit_of(&self, action: &str) -> Vec<watershed::domain::AuditEntry> {
        let filter = watershed::domain::AuditFilter {
            action: Some(action.into()),
            ..Default::default()
        };
        self.app.store().list_audit(&filter).await.unwrap().items
    }

    pub async fn request(&self, token: &str, queue: &str, permission: &str) -> (StatusCode, Value) {
        let body = json!({"project": "lab", "application": "checkout", "queue_project": "shop", "queue": queue,
                          "permission": permission, "reason": "checkout reads orders", "duration": "90"});
        self.call(reqwest::Method::POST, "/api/v1/requests", token, Some(body))
            .await
    }

    pub async fn decide(
        &self,
        token: &str,
        id: i64,
        decision: &str,
        comment: &str,
    ) -> (StatusCode, Value) {
        let body = json!({"decision": decision, "comment": comment});
        self.call(
            reqwest::Method::POST,
            &format!("/api/v1/requests/{id}/decision"),
            token,
            Some(body),
        )
        .await
    }
}
