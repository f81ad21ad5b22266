//! Access requests: every rule on the server, on both databases.

use crate::harness::{world, Backend};
use crate::on_both_backends;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    nobody_decides_their_own_request,
    a_rejection_needs_a_reason,
    the_requester_cancels_only_while_open,
    two_approvers_at_once_make_exactly_one_decision,
    a_second_open_request_is_refused_with_a_link_to_the_first,
    a_sensitive_queue_needs_an_admin_after_the_owner,
    an_approval_grants_until_revoked,
    application_tokens_are_shown_once_and_revocable,
    every_role_is_refused_what_it_must_not_do,
);

async fn nobody_decides_their_own_request(b: Backend) {
    let w = world(b).await;
    // olga owns shop, so she may approve requests for its queues, but not her own.
    let r = w
        .call(
            reqwest::Method::POST,
            "/api/v1/applications",
            &w.olga,
            Some(json!({"project": "shop", "name": "reports"})),
        )
        .await;
    assert_eq!(r.0, StatusCode::OK);
    let body = json!({"project": "shop", "application": "reports", "queue_project": "shop", "queue": "orders",
                      "permission": "consume", "reason": "daily report", "duration": "30"});
    let (s, req) = w
        .call(
            reqwest::Method::POST,
            "/api/v1/requests",
            &w.olga,
            Some(body),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{req}");
    let id = req["id"].as_i64().unwrap();
    let (s, e) = w.decide(&w.olga, id, "approve", "").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(e["error"].as_str().unwrap().contains("your own"));
    let (s, _) = w.decide(&w.olga, id, "reject", "changed my mind").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, inbox) = w
        .call(
            reqwest::Method::GET,
            "/api/v1/requests?view=inbox",
            &w.olga,
            None,
        )
        .await;
    assert!(
        inbox.as_array().unwrap().iter().all(|r| r["id"] != id),
        "not in the requester's inbox"
    );
    let (s, done) = w.decide(&w.ann, id, "approve", "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(done["status"], "approved");
}

async fn a_rejection_needs_a_reason(b: Backend) {
    let w = world(b).await;
    let (_, req) = w.request(&w.dev, "orders", "consume").await;
    let id = req["id"].as_i64().unwrap();
    let (s, e) = w.decide(&w.olga, id, "reject", "  ").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["fields"][0]["field"], "comment");
    let (s, r) = w
        .decide(
            &w.olga,
            id,
            "reject",
            "use the orders-summary queue instead",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["status"], "rejected");
    let last = r["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "rejected");
    assert_eq!(last["comment"], "use the orders-summary queue instead");
}

async fn the_requester_cancels_only_while_open(b: Backend) {
    let w = world(b).await;
    let (_, req) = w.request(&w.dev, "orders", "consume").await;
    let id = req["id"].as_i64().unwrap();
    let cancel = format!("/api/v1/requests/{id}/cancel");
    assert_eq!(
        w.call(reqwest::Method::POST, &cancel, &w.olga, None)
            .await
            .0,
        StatusCode::FORBIDDEN,
        "only the requester"
    );
    let (s, r) = w.call(reqwest::Method::POST, &cancel, &w.dev, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["status"], "cancelled");
    assert_eq!(
        w.call(reqwest::Method::POST, &cancel, &w.dev, None).await.0,
        StatusCode::CONFLICT
    );
    let (s, _) = w.decide(&w.olga, id, "approve", "").await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "a cancelled request cannot be approved"
    );
}

async fn two_approvers_at_once_make_exactly_one_decision(b: Backend) {
    let w = world(b).await;
    // A non-sensitive queue, so both approvers race for the same (first and final) decision;
    // the sensitive queue's two stages have their own test.
    let mut approvals_won = 0;
    for round in 0..5 {
        let permission = ["consume", "produce", "both"][round % 3];
        let (s, req) = w.request(&w.dev, "orders", permission).await;
        assert_eq!(s, StatusCode::OK, "{req}");
        let id = req["id"].as_i64().unwrap();
        let (a, b2) = tokio::join!(
            w.decide(&w.olga, id, "approve", ""),
            w.decide(&w.ann, id, "reject", "no")
        );
        if a.0 == StatusCode::OK {
            approvals_won += 1;
        }
        let mut statuses = [a.0, b2.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "round {round}"
        );
        let (_, now) = w
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/requests/{id}"),
                &w.dev,
                None,
            )
            .await;
        let decisions = now["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "approved" || e["kind"] == "rejected")
            .count();
        assert_eq!(decisions, 1, "round {round}: {now}");
    }
    let (_, detail) = w
        .call(
            reqwest::Method::GET,
            "/api/v1/applications/lab/checkout",
            &w.dev,
            None,
        )
        .await;
    let grants = detail["grants"].as_array().unwrap().len();
    assert_eq!(
        grants, approvals_won,
        "one grant for each approval that won, none for rejections"
    );
}

async fn a_second_open_request_is_refused_with_a_link_to_the_first(b: Backend) {
    let w = world(b).await;
    let (_, first) = w.request(&w.dev, "orders", "consume").await;
    let id = first["id"].as_i64().unwrap();
    let (s, e) = w.request(&w.dev, "orders", "consume").await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains(&format!("/requests/{id}")),
        "{e}"
    );
    // Another permission is another request; a decided one no longer blocks.
    assert_eq!(
        w.request(&w.dev, "orders", "produce").await.0,
        StatusCode::OK
    );
    w.decide(&w.olga, id, "reject", "not now").await;
    assert_eq!(
        w.request(&w.dev, "orders", "consume").await.0,
        StatusCode::OK
    );
}

async fn a_sensitive_queue_needs_an_admin_after_the_owner(b: Backend) {
    let w = world(b).await;
    let (_, req) = w.request(&w.dev, "customers", "consume").await;
    let id = req["id"].as_i64().unwrap();
    assert_eq!(req["needs_admin"], true);
    let (_, r) = w.decide(&w.olga, id, "approve", "fine by the owner").await;
    assert_eq!(r["status"], "owner_approved");
    let (_, detail) = w
        .call(
            reqwest::Method::GET,
            "/api/v1/applications/lab/checkout",
            &w.dev,
            None,
        )
        .await;
    assert_eq!(
        detail["grants"].as_array().unwrap().len(),
        0,
        "no grant before the admin"
    );
    assert_eq!(
        w.decide(&w.ann, id, "approve", "").await.0,
        StatusCode::FORBIDDEN,
        "an approver is not an admin"
    );
    let (s, r) = w.decide(&w.admin, id, "approve", "checked the DPA").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["status"], "approved");
    let kinds = crate::harness::strs(&r["events"], "kind");
    assert_eq!(kinds, ["created", "approved", "admin_approved", "granted"]);
}

async fn an_approval_grants_until_revoked(b: Backend) {
    let w = world(b).await;
    let (_, req) = w.request(&w.dev, "orders", "both").await;
    let id = req["id"].as_i64().unwrap();
    w.decide(&w.olga, id, "approve", "").await;
    let (_, detail) = w
        .call(
            reqwest::Method::GET,
            "/api/v1/applications/lab/checkout",
            &w.dev,
            None,
        )
        .await;
    let g = &detail["grants"][0];
    assert_eq!(g["permission"], "both");
    let days = (g["expires_at"].as_i64().unwrap() - g["created_at"].as_i64().unwrap()) / 86_400_000;
    assert_eq!(days, 90);
    let gid = g["id"].as_i64().unwrap();
    assert_eq!(
        w.call(
            reqwest::Method::DELETE,
            &format!("/api/v1/grants/{gid}"),
            &w.dev,
            None
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (s, revoked) = w
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/grants/{gid}"),
            &w.olga,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(revoked["revoked_at"].is_i64());
    let (_, r) = w
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/requests/{id}"),
            &w.dev,
            None,
        )
        .await;
    assert_eq!(
        r["events"].as_array().unwrap().last().unwrap()["kind"],
        "revoked"
    );
    let grants = watershed::server::services::access::grants(w.app.store(), "lab", "checkout")
        .await
        .unwrap();
    let now = watershed::server::db::now_millis();
    assert!(!watershed::server::services::access::covers(
        &grants,
        "shop",
        "orders",
        watershed::domain::Permission::Consume,
        now
    ));
}

async fn application_tokens_are_shown_once_and_revocable(b: Backend) {
    let w = world(b).await;
    let (s, t) = w
        .call(
            reqwest::Method::POST,
            "/api/v1/applications/lab/checkout/tokens",
            &w.dev,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let token = t["token"].as_str().unwrap().to_string();
    assert!(
        token.starts_with("wsa_") && token.len() >= 4 + 43,
        "at least 128 random bits"
    );
    assert!(token.starts_with(t["view"]["prefix"].as_str().unwrap()));
    let (_, detail) = w
        .call(
            reqwest::Method::GET,
            "/api/v1/applications/lab/checkout",
            &w.olga,
            None,
        )
        .await;
    assert!(
        !detail.to_string().contains(&token),
        "the secret is never shown again"
    );
    let found = watershed::server::services::access::application_for_token(w.app.store(), &token)
        .await
        .unwrap();
    assert_eq!(found.unwrap().name, "checkout");
    assert_eq!(
        w.call(
            reqwest::Method::POST,
            "/api/v1/applications/lab/checkout/tokens",
            &w.olga,
            None
        )
        .await
        .0,
        StatusCode::FORBIDDEN,
        "only the application's or its project's owners"
    );
    let tid = t["view"]["id"].as_i64().unwrap();
    let (s, _) = w
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/applications/lab/checkout/tokens/{tid}"),
            &w.dev,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        watershed::server::services::access::application_for_token(w.app.store(), &token)
            .await
            .unwrap()
            .is_none()
    );
}

async fn every_role_is_refused_what_it_must_not_do(b: Backend) {
    let w = world(b).await;
    let (_, req) = w.request(&w.dev, "orders", "consume").await;
    let id = req["id"].as_i64().unwrap();
    let audit_before = w
        .app
        .store()
        .list_audit(&Default::default())
        .await
        .unwrap()
        .total;
    use reqwest::Method as M;
    // (who, method, path, body): each must be refused with 403.
    let refused: Vec<(&str, &String, M, String, Option<Value>)> = vec![
        (
            "viewer",
            &w.vera,
            M::POST,
            "/api/v1/applications".into(),
            Some(json!({"project": "lab", "name": "x1"})),
        ),
        (
            "viewer",
            &w.vera,
            M::POST,
            "/api/v1/requests".into(),
            Some(
                json!({"project": "lab", "application": "checkout", "queue_project": "shop", "queue": "orders", "permission": "produce", "reason": "r", "duration": "30"}),
            ),
        ),
        (
            "viewer",
            &w.vera,
            M::POST,
            format!("/api/v1/requests/{id}/decision"),
            Some(json!({"decision": "approve"})),
        ),
        (
            "viewer",
            &w.vera,
            M::POST,
            format!("/api/v1/requests/{id}/cancel"),
            None,
        ),
        (
            "viewer",
            &w.vera,
            M::POST,
            "/api/v1/applications/lab/checkout/tokens".into(),
            None,
        ),
        (
            "non-member",
            &w.olga,
            M::POST,
            "/api/v1/requests".into(),
            Some(
                json!({"project": "lab", "application": "checkout", "queue_project": "shop", "queue": "orders", "permission": "produce", "reason": "r", "duration": "30"}),
            ),
        ),
        (
            "non-member",
            &w.olga,
            M::POST,
            "/api/v1/applications".into(),
            Some(json!({"project": "lab", "name": "x2"})),
        ),
        (
            "developer, not an owner of the queue's project",
            &w.dev,
            M::POST,
            format!("/api/v1/requests/{id}/decision"),
            Some(json!({"decision": "approve"})),
        ),
        (
            "someone else",
            &w.ann,
            M::POST,
            format!("/api/v1/requests/{id}/cancel"),
            None,
        ),
        (
            "not the application's owner",
            &w.olga,
            M::POST,
            "/api/v1/applications/lab/checkout/tokens".into(),
            None,
        ),
        (
            "member, not an owner",
            &w.dev,
            M::PUT,
            "/api/v1/projects/shop/webhook".into(),
            Some(json!({"url": "https://hooks.example.com/w", "secret": "0123456789abcdef"})),
        ),
        (
            "approver, not an owner",
            &w.ann,
            M::POST,
            "/api/v1/projects/shop/webhook/ping".into(),
            None,
        ),
        (
            "viewer",
            &w.vera,
            M::PUT,
            "/api/v1/projects/lab/webhook".into(),
            Some(json!({"url": ""})),
        ),
    ];
    for (who, token, method, path, body) in refused {
        let (s, e) = w.call(method.clone(), &path, token, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who} {method} {path}: {e}");
    }
    assert_eq!(
        w.app
            .store()
            .list_audit(&Default::default())
            .await
            .unwrap()
            .total,
        audit_before,
        "nothing refused was recorded as done"
    );
    let (_, r) = w
        .call(M::GET, &format!("/api/v1/requests/{id}"), &w.dev, None)
        .await;
    assert_eq!(r["status"], "pending");
}

on_both_backends!(grants_expire_once_and_owners_are_reminded_a_week_before);

async fn grants_expire_once_and_owners_are_reminded_a_week_before(b: Backend) {
    use watershed::server::services::access::sweep_grants;
    let w = world(b).await;
    let body = json!({"project": "lab", "application": "checkout", "queue_project": "shop", "queue": "orders",
                      "permission": "consume", "reason": "r", "duration": "30"});
    let (_, req) = w
        .call(
            reqwest::Method::POST,
            "/api/v1/requests",
            &w.dev,
            Some(body),
        )
        .await;
    let id = req["id"].as_i64().unwrap();
    w.decide(&w.olga, id, "approve", "").await;
    let store = w.app.store();
    let day = 86_400_000;
    let now = watershed::server::db::now_millis();
    assert_eq!(
        sweep_grants(store, now + 10 * day).await.unwrap(),
        (0, 0),
        "nothing due yet"
    );
    assert_eq!(
        sweep_grants(store, now + 24 * day).await.unwrap(),
        (0, 1),
        "reminded a week before"
    );
    assert_eq!(
        sweep_grants(store, now + 25 * day).await.unwrap(),
        (0, 0),
        "once"
    );
    assert_eq!(
        sweep_grants(store, now + 31 * day).await.unwrap(),
        (1, 0),
        "expired"
    );
    assert_eq!(
        sweep_grants(store, now + 32 * day).await.unwrap(),
        (0, 0),
        "once"
    );
    let (_, r) = w
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/requests/{id}"),
            &w.dev,
            None,
        )
        .await;
    let kinds = crate::harness::strs(&r["events"], "kind");
    assert_eq!(
        kinds,
        ["created", "approved", "granted", "reminded", "expired"]
    );
    // The requester (who owns the application and its project) is told both times.
    let told: Vec<String> = store
        .notifications("dev", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.event)
        .collect();
    assert_eq!(told[..2], ["grant.expired", "grant.expiring"]);
    let log = store
        .list_audit(&watershed::domain::AuditFilter {
            action: Some("grant.expire".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(log.total, 1);
}
