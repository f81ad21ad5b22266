//! The approver's day, on both databases: the inbox longest-waiting first, reminders of
//! requests that wait too long (once a day, to whoever takes the next decision, as a
//! notification and a webhook event), bulk decisions with one comment (each still checked and
//! audited on its own), and the context a request page shows.

use crate::harness::{world, Backend, World};
use crate::on_both_backends;
use crate::sdk::{granted, reports, sdk};
use reqwest::{Method as M, StatusCode};
use serde_json::{json, Value};
use watershed::server::db::now_millis;
use watershed::server::services::access::remind_waiting_requests;

on_both_backends!(
    the_inbox_puts_the_longest_waiting_request_first,
    a_waiting_request_reminds_whoever_decides_next_once_a_day,
    an_approver_decides_several_requests_with_one_comment,
    a_bulk_decision_with_bad_input_names_the_field_and_changes_nothing,
    a_request_page_shows_what_the_application_reads_and_who_else_reads_the_queue,
);

const DAY: i64 = 86_400_000;

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

async fn request_id(w: &World, queue: &str, permission: &str) -> i64 {
    let (s, r) = w.request(&w.dev, queue, permission).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    r["id"].as_i64().unwrap()
}

async fn notices(w: &World, token: &str) -> Vec<String> {
    let (s, v) = w.call(M::GET, "/api/v1/notifications", token, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v.as_array()
        .or_else(|| v["items"].as_array())
        .unwrap_or_else(|| panic!("notifications: {v}"))
        .iter()
        .map(|n| n["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn the_inbox_puts_the_longest_waiting_request_first(b: Backend) {
    let w = world(b).await;
    let first = request_id(&w, "orders", "consume").await;
    let second = request_id(&w, "orders", "produce").await;
    let (s, inbox) = w
        .call(M::GET, "/api/v1/requests?view=inbox", &w.ann, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{inbox}");
    assert_eq!(ids(&inbox), [first, second], "oldest first");
}

async fn a_waiting_request_reminds_whoever_decides_next_once_a_day(b: Backend) {
    let w = world(b).await;
    let (s, e) = w
        .call(
            M::PUT,
            "/api/v1/projects/shop/webhook",
            &w.olga,
            Some(
                json!({"url": "https://127.0.0.1:9/hook", "secret": "a-webhook-secret-of-length"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let id = request_id(&w, "orders", "consume").await;
    let store = w.app.store();
    let now = now_millis();

    let at = |days: i64, extra: i64| now + days * DAY + extra;
    let reminded = |v: Vec<watershed::domain::AccessRequestView>| {
        v.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    assert_eq!(
        reminded(remind_waiting_requests(store, at(2, 0), 3).await.unwrap()),
        Vec::<i64>::new(),
        "two days is not long yet"
    );
    assert_eq!(
        reminded(
            remind_waiting_requests(store, at(3, 60_000), 3)
                .await
                .unwrap()
        ),
        [id],
        "three days: reminded"
    );
    assert!(
        remind_waiting_requests(store, at(3, 7_200_000), 3)
            .await
            .unwrap()
            .is_empty(),
        "not twice the same day"
    );
    assert!(
        remind_waiting_requests(store, at(10, 0), 0)
            .await
            .unwrap()
            .is_empty(),
        "0 days switches reminders off"
    );
    assert_eq!(
        reminded(
            remind_waiting_requests(store, at(4, 120_000), 3)
                .await
                .unwrap()
        ),
        [id],
        "a day later: reminded again"
    );

    // The queue's owners and the approvers are told; the requester is not.
    for (who, token) in [("olga", &w.olga), ("ann", &w.ann)] {
        let n = notices(&w, token).await;
        assert_eq!(
            n.iter().filter(|m| m.starts_with("Waiting")).count(),
            2,
            "{who}: {n:?}"
        );
    }
    assert!(!notices(&w, &w.dev)
        .await
        .iter()
        .any(|m| m.starts_with("Waiting")));
    let (_, d) = w
        .call(
            M::GET,
            "/api/v1/projects/shop/webhook/deliveries",
            &w.olga,
            None,
        )
        .await;
    let events: Vec<&str> = d
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["event"].as_str())
        .collect();
    assert_eq!(
        events
            .iter()
            .filter(|e| **e == "access_request.reminder")
            .count(),
        2,
        "{d}"
    );
    assert_eq!(w.audit_of("access_request.remind").await.len(), 2);
    let (_, r) = w
        .call(M::GET, &format!("/api/v1/requests/{id}"), &w.dev, None)
        .await;
    let kinds = crate::harness::strs(&r["events"], "kind");
    assert_eq!(kinds, ["created", "reminder", "reminder"]);

    // Decided: no more reminders.
    w.decide(&w.olga, id, "approve", "").await;
    assert!(remind_waiting_requests(store, at(9, 0), 3)
        .await
        .unwrap()
        .is_empty());

    // A sensitive queue approved by its owner waits for an admin: the admins are reminded.
    let sensitive = request_id(&w, "customers", "consume").await;
    let (s, d) = w.decide(&w.olga, sensitive, "approve", "").await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["status"], "owner_approved");
    assert_eq!(
        reminded(remind_waiting_requests(store, at(20, 0), 3).await.unwrap()),
        [sensitive]
    );
    assert!(notices(&w, &w.admin)
        .await
        .iter()
        .any(|m| m.starts_with("Waiting") && m.contains("shop/customers")));
    assert!(
        !notices(&w, &w.ann)
            .await
            .iter()
            .any(|m| m.starts_with("Waiting") && m.contains("shop/customers")),
        "an approver cannot give the admin's approval: not reminded"
    );
}

async fn an_approver_decides_several_requests_with_one_comment(b: Backend) {
    let w = world(b).await;
    let consume = request_id(&w, "orders", "consume").await;
    let produce = request_id(&w, "orders", "produce").await;
    let sensitive = request_id(&w, "customers", "consume").await;
    // olga's own request, which she may not decide.
    let (s, _) = w
        .call(
            M::POST,
            "/api/v1/applications",
            &w.olga,
            Some(json!({"project": "shop", "name": "reports"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, own) = w
        .call(
            M::POST,
            "/api/v1/requests",
            &w.olga,
            Some(json!({"project": "shop", "application": "reports", "queue_project": "shop",
                        "queue": "orders", "permission": "consume", "reason": "r", "duration": "30"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{own}");
    let own = own["id"].as_i64().unwrap();

    let (s, out) = w
        .call(
            M::POST,
            "/api/v1/requests/decisions",
            &w.olga,
            Some(
                json!({"ids": [consume, produce, own, sensitive, 999_999, consume],
                        "decision": "approve", "comment": "batch: fine for the quarter"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    let out = out.as_array().unwrap();
    assert_eq!(out.len(), 5, "a repeated id is decided once: {out:?}");
    let of = |id: i64| out.iter().find(|o| o["id"] == id).unwrap();
    assert_eq!(of(consume)["status"], "approved");
    assert_eq!(of(produce)["status"], "approved");
    assert_eq!(
        of(sensitive)["status"],
        "owner_approved",
        "a sensitive queue still needs an admin"
    );
    assert!(of(own)["status"].is_null());
    assert!(of(own)["error"].as_str().unwrap().contains("your own"));
    assert!(of(999_999)["error"].as_str().unwrap().contains("not found"));

    // Each decision is audited on its own, with the one comment.
    let audits = w.audit_of("access_request.approve").await;
    assert_eq!(audits.len(), 3, "{audits:?}");
    assert!(audits
        .iter()
        .all(|a| a.summary.contains("batch: fine for the quarter") && a.actor == "olga"));
    let (_, r) = w
        .call(M::GET, &format!("/api/v1/requests/{produce}"), &w.dev, None)
        .await;
    assert!(r["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "approved" && e["comment"] == "batch: fine for the quarter"));

    // Rejecting several at once needs the reason once.
    let a = request_id(&w, "customers", "produce").await;
    let (s, out) = w
        .call(
            M::POST,
            "/api/v1/requests/decisions",
            &w.ann,
            Some(json!({"ids": [a], "decision": "reject", "comment": "use the masked queue"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out[0]["status"], "rejected");
}

async fn a_bulk_decision_with_bad_input_names_the_field_and_changes_nothing(b: Backend) {
    let w = world(b).await;
    let id = request_id(&w, "orders", "consume").await;
    let audit_before = w.audit_total().await;
    let many: Vec<i64> = (1..=101).collect();
    for (body, field) in [
        (json!({"ids": [], "decision": "approve"}), "ids"),
        (json!({"ids": many, "decision": "approve"}), "ids"),
        (json!({"ids": [id], "decision": "maybe"}), "decision"),
        (
            json!({"ids": [id], "decision": "reject", "comment": "  "}),
            "comment",
        ),
    ] {
        let (s, e) = w
            .call(M::POST, "/api/v1/requests/decisions", &w.olga, Some(body))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert!(
            e["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["field"] == field),
            "{field}: {e}"
        );
    }
    let (s, _) = w
        .call(
            M::POST,
            "/api/v1/requests/decisions",
            &w.vera,
            Some(json!({"ids": [id], "decision": "approve"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a viewer decides nothing");
    assert_eq!(w.audit_total().await, audit_before, "nothing was recorded");
    let (_, r) = w
        .call(M::GET, &format!("/api/v1/requests/{id}"), &w.dev, None)
        .await;
    assert_eq!(r["status"], "pending");
}

async fn a_request_page_shows_what_the_application_reads_and_who_else_reads_the_queue(b: Backend) {
    let w = world(b).await;
    // lab/checkout reads shop/orders under a grant.
    let (_, token) = granted(&w, "orders", "consume").await;
    let (s, _) = sdk(&w, "reports", &token, reports(2, "c-1", "consumer")).await;
    assert_eq!(s, StatusCode::OK);
    // Then it asks for shop/customers; and a second application asks for shop/orders.
    let asks_customers = request_id(&w, "customers", "consume").await;
    let (s, _) = w
        .call(
            M::POST,
            "/api/v1/applications",
            &w.dev,
            Some(json!({"project": "lab", "name": "bi"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, bi) = w
        .call(
            M::POST,
            "/api/v1/requests",
            &w.dev,
            Some(json!({"project": "lab", "application": "bi", "queue_project": "shop",
                        "queue": "orders", "permission": "consume", "reason": "r", "duration": "30"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{bi}");
    let bi = bi["id"].as_i64().unwrap();

    let path = format!("/api/v1/requests/{asks_customers}/context");
    let c = crate::harness::eventually(&path, std::time::Duration::from_secs(10), || async {
        let (s, c) = w.call(M::GET, &path, &w.ann, None).await;
        if s == StatusCode::OK && c["app_reads"] == json!(["shop/orders"]) {
            Ok(c)
        } else {
            Err(format!("{s} {c}"))
        }
    })
    .await;
    assert_eq!(c["app_writes"], json!([]));
    assert_eq!(c["app_grants"][0]["queue"], "orders");
    assert_eq!(c["queue_readers"], json!([]), "nobody reads customers");

    let (s, c) = w
        .call(
            M::GET,
            &format!("/api/v1/requests/{bi}/context"),
            &w.ann,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["queue_readers"], json!(["app:lab/checkout"]));
    assert_eq!(c["app_reads"], json!([]));
    assert_eq!(c["app_grants"], json!([]));
}
