//! Notifications in the console and signed, retried project webhooks, on both databases.

use crate::harness::world;
use crate::harness::Backend;
use crate::on_both_backends;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use hmac::{Hmac, Mac};
use reqwest::{Method as M, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use watershed::domain::{DeliveryStatus, QueueAccess};
use watershed::server::webhooks::{deliver_due, WebhookPolicy};

on_both_backends!(
    a_new_request_tells_the_queue_owners_and_a_decision_tells_the_requester,
    webhook_deliveries_are_signed_and_retried_until_delivered,
    a_delivery_is_given_up_after_the_last_attempt,
    a_webhook_needs_a_valid_url_and_a_secret,
    search_hits_show_what_the_viewers_applications_may_do,
    rotating_a_token_issues_a_new_one_and_revokes_the_old,
);

async fn a_new_request_tells_the_queue_owners_and_a_decision_tells_the_requester(b: Backend) {
    let w = world(b).await;
    let (_, req) = w.request(&w.dev, "orders", "consume").await;
    let id = req["id"].as_i64().unwrap();

    let (_, olga_sees) = w.call(M::GET, "/api/v1/notifications", &w.olga, None).await;
    assert_eq!(olga_sees[0]["event"], "access_request.created");
    assert_eq!(olga_sees[0]["link"], format!("/requests/{id}"));
    assert_eq!(olga_sees[0]["read"], false);
    let (_, dev_sees) = w.call(M::GET, "/api/v1/notifications", &w.dev, None).await;
    assert_eq!(
        dev_sees,
        json!([]),
        "the requester is not told of their own request"
    );

    w.decide(&w.olga, id, "reject", "orders are not for checkout")
        .await;
    let (_, dev_sees) = w.call(M::GET, "/api/v1/notifications", &w.dev, None).await;
    assert_eq!(dev_sees[0]["event"], "access_request.rejected");
    assert!(dev_sees[0]["message"]
        .as_str()
        .unwrap()
        .contains("orders are not for checkout"));

    let store = w.app.store();
    assert_eq!(store.unread_notifications("dev").await.unwrap(), 1);
    let (s, marked) = w
        .call(M::POST, "/api/v1/notifications/read", &w.dev, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(marked["marked"], 1);
    assert_eq!(store.unread_notifications("dev").await.unwrap(), 0);
    assert_eq!(
        store.unread_notifications("olga").await.unwrap(),
        1,
        "marking is per user"
    );
}

/// A webhook receiver on a loopback port that answers with the statuses it is given, in turn,
/// and records what it received.
pub(crate) struct Receiver {
    pub url: String,
    pub got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

pub(crate) async fn receiver(answers: Vec<u16>) -> Receiver {
    let got: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let answers = Arc::new(Mutex::new(answers.into_iter()));
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let (seen, answers) = (seen.clone(), answers.clone());
            async move {
                seen.lock().unwrap().push((headers, body));
                let code = answers.lock().unwrap().next().unwrap_or(200);
                AxumStatus::from_u16(code).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, got }
}

/// What a receiver does to check a delivery, written here from the documented scheme.
pub(crate) fn signature_is_valid(secret: &str, header: &str, body: &str) -> bool {
    let Some((t, v1)) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap_or_default())
        .is_ok()
}

const SECRET: &str = "a-very-secret-secret";

async fn webhook_deliveries_are_signed_and_retried_until_delivered(b: Backend) {
    let w = world(b).await;
    let hook = receiver(vec![500, 200]).await;
    let (s, e) = w
        .call(
            M::PUT,
            "/api/v1/projects/shop/webhook",
            &w.olga,
            Some(json!({"url": hook.url, "secret": SECRET})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(e["webhook_url"], json!(hook.url));

    let (_, req) = w.request(&w.dev, "orders", "consume").await;
    let id = req["id"].as_i64().unwrap();
    let (store, secrets) = (w.app.state.store.clone(), w.app.state.secrets.clone());
    let policy = WebhookPolicy {
        allow: crate::harness::loopback(),
        ..Default::default()
    };
    let client = watershed::server::webhooks::client(&policy);
    let now = watershed::server::db::now_millis();

    // First attempt: the receiver fails; the delivery waits for its backoff.
    assert_eq!(
        deliver_due(&store, &secrets, &client, &policy, now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        deliver_due(&store, &secrets, &client, &policy, now + 1_000)
            .await
            .unwrap(),
        0,
        "not retried before its backoff"
    );
    let (_, d) = w
        .call(
            M::GET,
            "/api/v1/projects/shop/webhook/deliveries",
            &w.olga,
            None,
        )
        .await;
    assert_eq!(d[0]["status"], "pending");
    assert_eq!(d[0]["attempts"], 1);
    assert_eq!(d[0]["last_status"], 500);

    // Second attempt after the backoff: delivered.
    let later = now + policy.backoff_ms(1);
    assert_eq!(
        deliver_due(&store, &secrets, &client, &policy, later)
            .await
            .unwrap(),
        1
    );
    let deliveries = store
        .webhook_deliveries(w.app.store().project("shop").await.unwrap().unwrap().id, 10)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, DeliveryStatus::Delivered);
    assert_eq!(deliveries[0].attempts, 2);

    let got = hook.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    for (headers, body) in &got {
        let sig = headers["x-watershed-signature"].to_str().unwrap();
        assert!(signature_is_valid(SECRET, sig, body), "{sig}");
        assert!(!signature_is_valid("another-secret-value", sig, body));
        assert_eq!(headers["x-watershed-event"], "access_request.created");
        assert_eq!(
            headers["x-watershed-delivery"],
            deliveries[0].id.to_string().as_str(),
            "the same delivery id on every retry"
        );
        let payload: Value = serde_json::from_str(body).unwrap();
        assert_eq!(payload["event"], "access_request.created");
        assert_eq!(payload["request"]["id"], id);
        assert_eq!(payload["request"]["queue"], "shop/orders");
        assert_eq!(payload["request"]["application"], "lab/checkout");
    }

    // The decision is delivered too; the lab project has no webhook, so only shop's fires.
    w.decide(&w.olga, id, "approve", "").await;
    let again = later + 1;
    assert_eq!(
        deliver_due(&store, &secrets, &client, &policy, again)
            .await
            .unwrap(),
        1
    );
    let got = hook.got.lock().unwrap().clone();
    assert_eq!(got[2].0["x-watershed-event"], "access_request.approved");
}

async fn a_delivery_is_given_up_after_the_last_attempt(b: Backend) {
    let w = world(b).await;
    let hook = receiver(vec![503, 503, 503]).await;
    w.call(
        M::PUT,
        "/api/v1/projects/lab/webhook",
        &w.dev,
        Some(json!({"url": hook.url, "secret": SECRET})),
    )
    .await;
    let (s, _) = w
        .call(M::POST, "/api/v1/projects/lab/webhook/ping", &w.dev, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (store, secrets) = (w.app.state.store.clone(), w.app.state.secrets.clone());
    let policy = WebhookPolicy {
        max_attempts: 2,
        allow: crate::harness::loopback(),
        ..Default::default()
    };
    let client = watershed::server::webhooks::client(&policy);
    let mut now = watershed::server::db::now_millis();
    for attempt in 1..=3 {
        deliver_due(&store, &secrets, &client, &policy, now)
            .await
            .unwrap();
        now += policy.backoff_ms(attempt);
    }
    assert_eq!(hook.got.lock().unwrap().len(), 2, "two attempts, then none");
    let (_, d) = w
        .call(
            M::GET,
            "/api/v1/projects/lab/webhook/deliveries",
            &w.dev,
            None,
        )
        .await;
    assert_eq!(d[0]["event"], "ping");
    assert_eq!(d[0]["status"], "failed");
    assert_eq!(d[0]["last_error"], "the receiver answered HTTP 503");
}

async fn a_webhook_needs_a_valid_url_and_a_secret(b: Backend) {
    let w = world(b).await;
    let put = |body: Value| w.call(M::PUT, "/api/v1/projects/shop/webhook", &w.olga, Some(body));
    let (s, e) = put(json!({"url": "ftp://example.com/x", "secret": SECRET})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["fields"][0]["field"], "url");
    let (s, e) = put(json!({"url": "https://127.0.0.1:9/w"})).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a first webhook needs a secret"
    );
    assert_eq!(e["fields"][0]["field"], "secret");
    let (s, _) = put(json!({"url": "https://127.0.0.1:9/w", "secret": SECRET})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = put(json!({"url": "https://127.0.0.1:9/v2"})).await;
    assert_eq!(s, StatusCode::OK, "a new URL keeps the secret: {e}");
    assert_eq!(e["webhook_url"], "https://127.0.0.1:9/v2");
    let (s, e) = put(json!({"url": ""})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(e["webhook_url"], Value::Null);
    let log = w
        .app
        .store()
        .list_audit(&watershed::domain::AuditFilter {
            action: Some("project.webhook".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(log.total, 3, "each change is audited");
    assert!(
        log.items.iter().all(|e| !e.summary.contains(SECRET)),
        "the secret never reaches the log"
    );
}

async fn search_hits_show_what_the_viewers_applications_may_do(b: Backend) {
    let w = world(b).await;
    let (_, req) = w.request(&w.dev, "orders", "consume").await;
    let (_, customers) = w.request(&w.dev, "customers", "produce").await;
    let access = |token: String| {
        let w = &w;
        async move {
            // The index follows changes within a second; wait for both queues to be found.
            loop {
                let (_, r) = w
                    .call(M::GET, "/api/v1/search?q=project:shop", &token, None)
                    .await;
                if r["total"] == 2 {
                    let of = |name: &str| {
                        let hit = r["hits"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .find(|h| h["name"] == name)
                            .unwrap()
                            .clone();
                        serde_json::from_value::<QueueAccess>(hit["access"].clone()).unwrap()
                    };
                    return (of("orders"), of("customers"));
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    };
    assert_eq!(
        access(w.dev.clone()).await,
        (QueueAccess::Requested, QueueAccess::Requested)
    );
    w.decide(&w.olga, req["id"].as_i64().unwrap(), "approve", "")
        .await;
    let _ = customers;
    assert_eq!(
        access(w.dev.clone()).await,
        (QueueAccess::Read, QueueAccess::Requested)
    );
    assert_eq!(
        access(w.olga.clone()).await,
        (QueueAccess::None, QueueAccess::None),
        "olga's projects have no applications"
    );
}

async fn rotating_a_token_issues_a_new_one_and_revokes_the_old(b: Backend) {
    use watershed::server::services::access;
    let w = world(b).await;
    let store = w.app.store();
    let dev = store
        .user_by_name("dev")
        .await
        .unwrap()
        .unwrap()
        .view()
        .unwrap();
    let (old, old_token) =
        access::create_app_token(&w.app.state.ctx(dev.clone()), "lab", "checkout")
            .await
            .unwrap();
    let (new, new_token) =
        access::rotate_app_token(&w.app.state.ctx(dev.clone()), "lab", "checkout", old.id)
            .await
            .unwrap();
    assert_ne!(old_token, new_token);
    assert!(access::application_for_token(store, &old_token)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        access::application_for_token(store, &new_token)
            .await
            .unwrap()
            .unwrap()
            .name,
        "checkout"
    );
    let again =
        access::rotate_app_token(&w.app.state.ctx(dev.clone()), "lab", "checkout", old.id).await;
    assert!(again.is_err(), "a revoked token cannot be rotated");
    let tokens = access::app_tokens(store, "lab", "checkout").await.unwrap();
    assert_eq!(tokens[0].id, new.id, "newest first");
    assert!(tokens[1].revoked_at.is_some());
}
