//! What the security review found, each tried as an attacker would, on both databases.

use crate::harness::Backend;
use crate::harness::{world, World};
use crate::on_both_backends;
use crate::sdk::{granted, sdk};
use leptos::server_fn::ServerFn;
use reqwest::{Method as M, StatusCode};
use serde_json::{json, Value};
use watershed::api::console::Login;
use watershed::domain::Role;

on_both_backends!(
    only_owners_move_a_queues_data_and_grant_holders_hear_of_it,
    a_topic_backs_one_queue_per_cluster,
    the_active_side_changes_only_by_failover,
    the_sensitive_stage_is_decided_from_the_current_tags,
    an_owner_of_the_requesting_project_does_not_decide,
    applications_get_the_client_credential_never_the_platforms,
    cluster_quotas_name_the_limit,
    personal_tokens_expire_list_their_use_and_can_be_revoked,
    a_disabled_user_loses_sessions_and_tokens,
    owners_manage_their_projects_people,
    webhook_urls_are_for_owners_eyes_only,
    the_inbox_holds_every_open_request_however_old,
    two_replicas_open_each_others_sealed_credentials,
    cross_site_posts_are_refused_and_pages_carry_security_headers,
    errors_keep_their_status_and_their_json_shape,
    a_slow_receiver_delays_only_its_own_projects_webhooks,
);

/// `mia` is a developer and a member (not an owner) of `shop`.
async fn with_member(w: &World) -> String {
    let mia = w.app.token_for("mia", Role::Developer).await;
    let (s, p) = w
        .call(
            M::PUT,
            "/api/v1/projects/shop/people",
            &w.olga,
            Some(json!({"owners": ["olga"], "members": ["mia"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    mia
}

async fn queue(w: &World, name: &str) -> Value {
    let (s, q) = w
        .call(
            M::GET,
            &format!("/api/v1/queues/shop/{name}"),
            &w.olga,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{q}");
    q
}

async fn only_owners_move_a_queues_data_and_grant_holders_hear_of_it(b: Backend) {
    let w = world(b).await;
    let mia = with_member(&w).await;
    granted(&w, "orders", "consume").await;
    let mut edit = queue(&w, "orders").await;

    // A member may describe the queue, but not point it at another topic.
    edit["description"] = json!("every order");
    let (s, e) = w
        .call(
            M::PUT,
            "/api/v1/queues/shop/orders",
            &mia,
            Some(edit.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    edit["topic"] = json!("payments.cards");
    let before = w.audit_total().await;
    let (s, e) = w
        .call(
            M::PUT,
            "/api/v1/queues/shop/orders",
            &mia,
            Some(edit.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert!(e["error"].as_str().unwrap().contains("owners"), "{e}");
    assert_eq!(w.audit_total().await, before, "a refusal changes nothing");
    assert_eq!(queue(&w, "orders").await["topic"], "shop.orders");

    // The owner may, and it is a visible event that reaches the grant holder's owner.
    let (s, e) = w
        .call(M::PUT, "/api/v1/queues/shop/orders", &w.olga, Some(edit))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let store = w.app.store();
    let changes = watershed::server::services::queues::data_path_changes(store, "shop", "orders")
        .await
        .unwrap();
    assert_eq!(changes.len(), 1);
    assert!(
        changes[0].summary.contains("payments.cards"),
        "{}",
        changes[0].summary
    );
    let told = store.notifications("dev", 20).await.unwrap();
    assert!(
        told.iter()
            .any(|n| n.event == "queue.rebound" && n.message.contains("payments.cards")),
        "{told:?}"
    );
}

async fn a_topic_backs_one_queue_per_cluster(b: Backend) {
    let w = world(b).await;
    let body = json!({"project": "shop", "name": "orders-copy", "primary_cluster": "k1",
                      "topic": "shop.orders"});
    let (s, e) = w.call(M::POST, "/api/v1/queues", &w.olga, Some(body)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["fields"][0]["field"], "topic");
    assert!(e["error"].as_str().unwrap().contains("shop/orders"), "{e}");
    // The same topic name on another cluster is another topic.
    let (s, _) = w
        .call(
            M::POST,
            "/api/v1/clusters",
            &w.admin,
            Some(json!({"name": "k2", "kind": "kafka", "bootstrap_servers": ["k2:9092"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let body = json!({"project": "shop", "name": "orders-copy", "primary_cluster": "k2",
                      "topic": "shop.orders"});
    let (s, e) = w.call(M::POST, "/api/v1/queues", &w.olga, Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    // A cluster's internal topics are not anyone's to claim.
    let body = json!({"project": "shop", "name": "offsets", "primary_cluster": "k2",
                      "topic": "__consumer_offsets"});
    let (s, e) = w.call(M::POST, "/api/v1/queues", &w.olga, Some(body)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
}

async fn the_active_side_changes_only_by_failover(b: Backend) {
    let w = world(b).await;
    w.call(
        M::POST,
        "/api/v1/clusters",
        &w.admin,
        Some(json!({"name": "k2", "kind": "kafka", "bootstrap_servers": ["k2:9092"]})),
    )
    .await;
    let mut edit = queue(&w, "orders").await;
    edit["backup_cluster"] = json!("k2");
    let (s, e) = w
        .call(
            M::PUT,
            "/api/v1/queues/shop/orders",
            &w.olga,
            Some(edit.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    edit["active_side"] = json!("backup");
    let (s, e) = w
        .call(M::PUT, "/api/v1/queues/shop/orders", &w.admin, Some(edit))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["fields"][0]["field"], "active_side");
    assert_eq!(queue(&w, "orders").await["active_side"], "primary");
}

async fn the_sensitive_stage_is_decided_from_the_current_tags(b: Backend) {
    let w = world(b).await;
    let mia = with_member(&w).await;
    // A member cannot drop the sensitive tag to slip a request past the admin.
    let mut edit = queue(&w, "customers").await;
    edit["tags"] = json!([]);
    let (s, e) = w
        .call(
            M::PUT,
            "/api/v1/queues/shop/customers",
            &mia,
            Some(edit.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    // Filed while untagged (by an owner), then tagged again: the admin stage still applies.
    let (s, _) = w
        .call(
            M::PUT,
            "/api/v1/queues/shop/customers",
            &w.olga,
            Some(edit.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, req) = w.request(&w.dev, "customers", "consume").await;
    assert_eq!(req["needs_admin"], false);
    edit["tags"] = json!(["pii"]);
    let (s, _) = w
        .call(M::PUT, "/api/v1/queues/shop/customers", &mia, Some(edit))
        .await;
    assert_eq!(s, StatusCode::OK, "adding the tag is any member's right");
    let (s, d) = w
        .decide(&w.olga, req["id"].as_i64().unwrap(), "approve", "ok")
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["status"], "owner_approved", "{d}");
}

async fn an_owner_of_the_requesting_project_does_not_decide(b: Backend) {
    let w = world(b).await;
    // ann is an approver and co-owns lab, whose application asks.
    let (s, _) = w
        .call(
            M::PUT,
            "/api/v1/projects/lab/people",
            &w.dev,
            Some(json!({"owners": ["dev", "ann"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, req) = w.request(&w.dev, "orders", "consume").await;
    let id = req["id"].as_i64().unwrap();
    let (_, inbox) = w
        .call(M::GET, "/api/v1/requests?view=inbox", &w.ann, None)
        .await;
    assert_eq!(
        inbox.as_array().unwrap().len(),
        0,
        "not in her inbox: {inbox}"
    );
    let (s, e) = w.decide(&w.ann, id, "approve", "looks fine").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert!(e["error"].as_str().unwrap().contains("lab"), "{e}");
    // Nor does the owner of the asking application who is only a member of its project.
    let ben = w.app.token_for("ben", Role::Approver).await;
    w.call(
        M::PUT,
        "/api/v1/projects/lab/people",
        &w.dev,
        Some(json!({"owners": ["dev"], "members": ["ben"]})),
    )
    .await;
    let (s, _) = w
        .call(
            M::POST,
            "/api/v1/applications",
            &ben,
            Some(json!({"project": "lab", "name": "bens"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let body = json!({"project": "lab", "application": "bens", "queue_project": "shop", "queue": "orders",
                      "permission": "consume", "reason": "r", "duration": "30"});
    let (_, bens) = w
        .call(M::POST, "/api/v1/requests", &w.dev, Some(body))
        .await;
    let (s, e) = w
        .decide(&ben, bens["id"].as_i64().unwrap(), "approve", "mine")
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    // An admin who owns the requesting project may, and the audit entry says so.
    w.call(
        M::PUT,
        "/api/v1/projects/lab/people",
        &w.dev,
        Some(json!({"owners": ["dev", "ops"]})),
    )
    .await;
    let (s, d) = w.decide(&w.admin, id, "approve", "ok").await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let log = w.audit_of("access_request.approve").await;
    assert!(
        log[0].summary.contains("owns the requesting project"),
        "{:?}",
        log
    );
}

async fn applications_get_the_client_credential_never_the_platforms(b: Backend) {
    let w = world(b).await;
    let cluster = |client: Value| {
        let mut c = json!({"name": "k1", "kind": "kafka", "bootstrap_servers": ["k1:9092"],
                           "sasl_mechanism": "SCRAM-SHA-512", "sasl_username": "platform",
                           "sasl_password": "platform-secret"});
        c.as_object_mut()
            .unwrap()
            .extend(client.as_object().unwrap().clone());
        c
    };
    let (s, e) = w
        .call(
            M::PUT,
            "/api/v1/clusters/k1",
            &w.admin,
            Some(cluster(json!({}))),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (_, token) = granted(&w, "orders", "consume").await;
    let body = json!({"project": "shop", "queue": "orders", "role": "consumer", "app": "checkout",
                      "consumer_group": "billing", "client_id": "c1", "host": "h", "sdk_version": "0.1.0"});
    let (s, e) = sdk(&w, "config", &token, body.clone()).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{e}");
    assert!(e["error"].as_str().unwrap().contains("k1"), "{e}");
    assert!(!e.to_string().contains("platform-secret"));

    let client = json!({"client_sasl_username": "apps", "client_sasl_password": "apps-secret"});
    let (s, c) = w
        .call(
            M::PUT,
            "/api/v1/clusters/k1",
            &w.admin,
            Some(cluster(client)),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["client_sasl_password_set"], true);
    assert!(!c.to_string().contains("apps-secret"), "never shown: {c}");
    // The SDK's config cache notices the edit within its check interval.
    let mut config = Value::Null;
    for _ in 0..50 {
        let (s, e) = sdk(&w, "config", &token, body.clone()).await;
        if s == StatusCode::OK {
            config = e;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(config["cluster"]["sasl_username"], "apps", "{config}");
    assert_eq!(config["cluster"]["sasl_password"], "apps-secret");
    assert!(!config.to_string().contains("platform-secret"));
}

async fn cluster_quotas_name_the_limit(b: Backend) {
    let w = world(b).await;
    let (s, e) = w
        .call(
            M::PUT,
            "/api/v1/clusters/k1",
            &w.admin,
            Some(
                json!({"name": "k1", "kind": "kafka", "bootstrap_servers": ["k1:9092"],
                        "max_partitions": 12, "max_retention_hours": 720}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let body = json!({"project": "shop", "name": "huge", "primary_cluster": "k1",
                      "partitions": 10000, "retention_hours": 87600});
    let (s, e) = w.call(M::POST, "/api/v1/queues", &w.olga, Some(body)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let fields = crate::harness::strs(&e["fields"], "field");
    assert_eq!(fields, ["partitions", "retention_hours"]);
    assert!(e["error"].as_str().unwrap().contains("at most 12"), "{e}");
    let mut edit = queue(&w, "orders").await;
    edit["partitions"] = json!(13);
    let (s, _) = w
        .call(M::PUT, "/api/v1/queues/shop/orders", &w.olga, Some(edit))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn personal_tokens_expire_list_their_use_and_can_be_revoked(b: Backend) {
    let w = world(b).await;
    let (s, t) = w
        .call(
            M::POST,
            "/api/v1/tokens",
            &w.dev,
            Some(json!({"name": "ci", "expires_in_days": 7})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let token = t["token"].as_str().unwrap().to_string();
    let week = 7 * 86_400_000;
    let expires = t["expires_at"].as_i64().unwrap();
    assert!((expires - watershed::server::db::now_millis() - week).abs() < 60_000);
    let (s, _) = w.call(M::GET, "/api/v1/me", &token, None).await;
    assert_eq!(s, StatusCode::OK);
    let (_, list) = w.call(M::GET, "/api/v1/tokens", &token, None).await;
    let ci = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "ci")
        .unwrap()
        .clone();
    assert!(ci["last_used_at"].is_i64(), "{ci}");
    assert!(ci.get("token").is_none() && !list.to_string().contains(&token));
    let (s, e) = w
        .call(
            M::POST,
            "/api/v1/tokens",
            &w.dev,
            Some(json!({"name": "x", "expires_in_days": 400})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["fields"][0]["field"], "expires_in_days");
    // Someone else cannot revoke it; its owner can, and then it no longer works.
    let id = ci["id"].as_i64().unwrap();
    let (s, _) = w
        .call(M::DELETE, &format!("/api/v1/tokens/{id}"), &w.olga, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = w
        .call(M::DELETE, &format!("/api/v1/tokens/{id}"), &w.dev, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = w.call(M::GET, "/api/v1/me", &token, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // An expired token is refused like a revoked one.
    let store = w.app.store();
    let dev = store.user_by_name("dev").await.unwrap().unwrap();
    let row = watershed::server::db::trust::PersonalTokenRow {
        user_id: dev.id,
        name: "old".into(),
        prefix: "wsp_old".into(),
        token_hash: watershed::server::services::accounts::token_hash("wsp_expired"),
        created_at: 0,
        expires_at: 1,
    };
    store.create_personal_token(&row, &audit()).await.unwrap();
    let (s, _) = w.call(M::GET, "/api/v1/me", "wsp_expired", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

fn audit() -> watershed::server::db::AuditEvent {
    watershed::server::db::AuditEvent {
        actor: "test".into(),
        action: "token.create",
        target_kind: "user",
        target: "dev".into(),
        summary: String::new(),
    }
}

async fn a_disabled_user_loses_sessions_and_tokens(b: Backend) {
    let w = world(b).await;
    let c = w.app.client();
    let r = c
        .post(w.app.url(Login::url()))
        .header("accept", "text/html")
        .form(&[("username", "dev"), ("password", "password-123")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(
        c.get(w.app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let (s, e) = w
        .call(M::POST, "/api/v1/users/dev/disable", &w.olga, None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only admins: {e}");
    let (s, e) = w
        .call(M::POST, "/api/v1/users/ops/disable", &w.admin, None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "not oneself: {e}");
    let (s, u) = w
        .call(M::POST, "/api/v1/users/dev/disable", &w.admin, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert!(u["disabled_at"].is_i64());
    assert_eq!(
        c.get(w.app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED,
        "the session ended"
    );
    let (s, _) = w.call(M::GET, "/api/v1/me", &w.dev, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the token was revoked");
    let r = c
        .post(w.app.url(Login::url()))
        .header("accept", "application/json")
        .form(&[("username", "dev"), ("password", "password-123")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "no sign-in while disabled"
    );
    let log = w.audit_of("user.sign_in_failed").await;
    assert!(log[0].summary.contains("disabled") && log[0].summary.contains("127.0.0.1"));
    // Enabled again, the old token stays revoked; a password reset revokes tokens too.
    let (s, _) = w
        .call(M::POST, "/api/v1/users/dev/enable", &w.admin, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = w.call(M::GET, "/api/v1/me", &w.dev, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, t) = w
        .call(
            M::POST,
            "/api/v1/tokens",
            &w.olga,
            Some(json!({"name": "again"})),
        )
        .await;
    let olga_token = t["token"].as_str().unwrap().to_string();
    watershed::server::services::accounts::set_password(
        w.app.store(),
        None,
        "olga",
        "a-new-password",
    )
    .await
    .unwrap();
    let (s, _) = w.call(M::GET, "/api/v1/me", &olga_token, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a password reset ends tokens");
}

async fn owners_manage_their_projects_people(b: Backend) {
    let w = world(b).await;
    let mia = with_member(&w).await;
    let (s, e) = w
        .call(
            M::PUT,
            "/api/v1/projects/shop/people",
            &mia,
            Some(json!({"owners": ["mia"]})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let (s, e) = w
        .call(
            M::PUT,
            "/api/v1/projects/shop/people",
            &w.olga,
            Some(json!({"owners": []})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["fields"][0]["field"], "owners");
    let (s, p) = w
        .call(
            M::PUT,
            "/api/v1/projects/shop/people",
            &w.olga,
            Some(json!({"owners": ["olga", "mia"], "members": ["nobody-here"]})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["fields"][0]["field"], "members");
    let (_, p) = w.call(M::GET, "/api/v1/projects/shop", &w.olga, None).await;
    assert_eq!(p["members"], json!(["mia"]), "nothing changed: {p}");
}

async fn webhook_urls_are_for_owners_eyes_only(b: Backend) {
    let w = world(b).await;
    let url = "https://127.0.0.1:9/hook";
    let (s, e) = w
        .call(
            M::PUT,
            "/api/v1/projects/shop/webhook",
            &w.olga,
            Some(json!({"url": url, "secret": "s3cret-s3cret-s3cret"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    for (who, token, sees) in [
        ("owner", &w.olga, true),
        ("admin", &w.admin, true),
        ("developer", &w.dev, false),
        ("viewer", &w.vera, false),
    ] {
        let (_, p) = w.call(M::GET, "/api/v1/projects/shop", token, None).await;
        assert_eq!(p["webhook_url"] == url, sees, "{who}: {p}");
        let (_, all) = w.call(M::GET, "/api/v1/projects", token, None).await;
        assert_eq!(all.to_string().contains(url), sees, "{who}");
    }
    // Without the operator's allow list, loopback is refused when saved.
    let store = w.app.store();
    let olga = store
        .user_by_name("olga")
        .await
        .unwrap()
        .unwrap()
        .view()
        .unwrap();
    let input = watershed::domain::WebhookInput {
        url: "http://127.0.0.1:8080/internal".into(),
        secret: "s3cret-s3cret-s3cret".into(),
    };
    let mut cx = w.app.state.ctx(olga.clone());
    cx.webhook_allow.clear();
    let e = watershed::server::services::notifications::set_webhook(&cx, "shop", &input)
        .await
        .unwrap_err();
    assert_eq!(e.fields()[0].field, "url");
    assert!(e.to_string().contains("internal address"), "{e}");
}

async fn the_inbox_holds_every_open_request_however_old(b: Backend) {
    use watershed::domain::RequestStatus;
    use watershed::server::db::{AccessRequestRow, Notice, RequestTransition};
    let w = world(b).await;
    let (_, first) = w.request(&w.dev, "orders", "consume").await;
    let store = w.app.store();
    let app = store.application("lab", "checkout").await.unwrap().unwrap();
    let q = store.queue("shop", "customers").await.unwrap().unwrap();
    let quiet = |_: &i64| Notice {
        event: "test",
        message: String::new(),
        link: String::new(),
        audience: Vec::new(),
        except: None,
        webhook_projects: Vec::new(),
        payload: Value::Null,
    };
    // 520 newer requests, each cancelled: the open one is older than all of them.
    for _ in 0..520 {
        let row = AccessRequestRow {
            application_id: app.id,
            queue_id: q.id,
            permission: "produce".into(),
            reason: "r".into(),
            duration_days: None,
            requester: "dev".into(),
            needs_admin: false,
        };
        let id = store
            .create_access_request(&row, &audit(), &quiet)
            .await
            .unwrap();
        let t = RequestTransition {
            from: RequestStatus::Pending,
            to: RequestStatus::Cancelled,
            actor: "dev".into(),
            event: "cancelled",
            comment: String::new(),
            grant: None,
        };
        assert!(store
            .transition_request(id, &t, &audit(), &quiet(&0))
            .await
            .unwrap());
    }
    let (s, inbox) = w
        .call(M::GET, "/api/v1/requests?view=inbox", &w.olga, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<i64> = inbox
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [first["id"].as_i64().unwrap()]);
}

async fn two_replicas_open_each_others_sealed_credentials(b: Backend) {
    let w = world(b).await;
    let replica = crate::harness::spawn_replica(&w.app).await;
    let cluster = json!({"name": "k1", "kind": "kafka", "bootstrap_servers": ["k1:9092"],
                         "sasl_mechanism": "PLAIN", "sasl_username": "platform", "sasl_password": "p",
                         "client_sasl_username": "apps", "client_sasl_password": "sealed-on-a"});
    let (s, _) = w
        .call(M::PUT, "/api/v1/clusters/k1", &w.admin, Some(cluster))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, token) = granted(&w, "orders", "produce").await;
    let r = replica
        .client()
        .post(replica.url("/api/v1/sdk/config"))
        .bearer_auth(&token)
        .json(
            &json!({"project": "shop", "queue": "orders", "role": "producer", "app": "checkout",
                      "client_id": "c1", "host": "h", "sdk_version": "0.1.0"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let config: Value = r.json().await.unwrap();
    assert_eq!(config["cluster"]["sasl_password"], "sealed-on-a");
}

async fn cross_site_posts_are_refused_and_pages_carry_security_headers(b: Backend) {
    let w = world(b).await;
    let c = w.app.client();
    let r = c
        .post(w.app.url(Login::url()))
        .header("accept", "text/html")
        .form(&[("username", "dev"), ("password", "password-123")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    let body = json!({"name": "evil"});
    for origin in ["https://evil.example", "null"] {
        let r = c
            .post(w.app.url("/api/v1/projects"))
            .header("origin", origin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{origin}");
        let e: Value = r.json().await.unwrap();
        assert!(e["error"].as_str().unwrap().contains("Origin"), "{e}");
    }
    let (s, _) = w
        .call(M::GET, "/api/v1/projects/evil", &w.admin, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing was made");
    // Another site cannot sign a visitor in to an account of its choosing either.
    let r = reqwest::Client::new()
        .post(w.app.url(Login::url()))
        .header("origin", "https://evil.example")
        .form(&[("username", "dev"), ("password", "password-123")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // From its own pages (the client's default Origin) the same post works.
    let r = c
        .post(w.app.url("/api/v1/projects"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = c.get(w.app.url("/")).send().await.unwrap();
    let h = page.headers();
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    // Read the page to its end: a server-rendered page dropped mid-stream can leave its
    // render to be cleaned up after the test's runtime is gone.
    assert!(page.text().await.unwrap().contains("</html>"));
}

/// Sends only the head of a POST whose `Content-Length` is `length`, and reads the answer:
/// its status and its JSON body.
async fn declare_a_body(
    addr: std::net::SocketAddr,
    path: &str,
    token: &str,
    length: usize,
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        s.read_to_end(&mut answer),
    )
    .await
    .expect("the server answers without waiting for the body")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(
        !head.to_ascii_lowercase().contains("transfer-encoding"),
        "a plain body: {answer}"
    );
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("JSON ({e}): {answer}"));
    (status, body)
}

async fn errors_keep_their_status_and_their_json_shape(b: Backend) {
    let w = world(b).await;
    let c = w.app.client();
    let dev = w.dev.clone();
    let send = move |req: reqwest::RequestBuilder| {
        let dev = dev.clone();
        async move {
            let r = req.bearer_auth(&dev).send().await.unwrap();
            let status = r.status();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            (status, body)
        }
    };
    let bad_json = c
        .post(w.app.url("/api/v1/queues"))
        .header("content-type", "application/json")
        .body("{not json");
    let cases = [
        (bad_json, StatusCode::BAD_REQUEST),
        (
            c.get(w.app.url("/api/v1/search?limit=many")),
            StatusCode::BAD_REQUEST,
        ),
        (c.get(w.app.url("/api/v1/nowhere")), StatusCode::NOT_FOUND),
        (
            c.patch(w.app.url("/api/v1/projects")),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (req, want) in cases {
        let (status, body) = send.clone()(req).await;
        assert_eq!(status, want, "{body}");
        assert!(
            body["error"].is_string() && body["fields"].is_array(),
            "{want}: {body}"
        );
    }
    // A body declared larger than the limit is refused before a byte of it is read. Sent by
    // hand: a client that writes the body meets a closed socket, as it should, once the
    // answer is out.
    let (status, body) = declare_a_body(w.app.addr, "/api/v1/projects", &w.dev, 2 << 20).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("larger than")),
        "{body}"
    );
    assert!(body["fields"].is_array(), "{body}");
    let long = "x".repeat(501);
    let (s, e) = w
        .call(M::GET, &format!("/api/v1/search?q={long}"), &w.dev, None)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["fields"][0]["field"], "q");
    // A server function's refusal answers its own status to a non-browser client.
    let r = c
        .post(w.app.url(Login::url()))
        .header("accept", "application/json")
        .form(&[("username", "dev"), ("password", "wrong-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = c
        .post(w.app.url(Login::url()))
        .header("accept", "application/json")
        .form(&[
            ("username", "x".repeat(65).as_str()),
            ("password", "wrong-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["fields"][0]["field"], "username", "{e}");
    // The registry keeps its own error shape.
    let r = c
        .get(w.app.url("/schema-registry/schemas/ids/notanumber"))
        .bearer_auth(&w.dev)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let e: Value = r.json().await.unwrap();
    assert!(e["error_code"].is_u64() && e["message"].is_string(), "{e}");
}

#[test]
fn postgres_refuses_to_start_without_a_shared_secret_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watershed"))
        .arg("serve")
        .env("WATERSHED_DATA_DIR", dir.path())
        .env(
            "WATERSHED_DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/none",
        )
        .env_remove("WATERSHED_SECRET_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("WATERSHED_SECRET_KEY is required with PostgreSQL"),
        "{err}"
    );
    assert!(err.contains("openssl rand -base64 32"), "{err}");
}

/// A webhook receiver on loopback that answers 200 once `release` is notified (at once when
/// `release` is `None`), counting what it got.
async fn hook(
    release: Option<std::sync::Arc<tokio::sync::Notify>>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let got = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let (seen, release) = (seen.clone(), release.clone());
            async move {
                if let Some(r) = release {
                    r.notified().await;
                }
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

async fn a_slow_receiver_delays_only_its_own_projects_webhooks(b: Backend) {
    use watershed::server::webhooks::{self, Sending, WebhookPolicy};
    let w = world(b).await;
    let release = std::sync::Arc::new(tokio::sync::Notify::new());
    let (slow_url, slow_got) = hook(Some(release.clone())).await;
    let (fast_url, fast_got) = hook(None).await;
    for (project, token, url) in [("shop", &w.olga, &slow_url), ("lab", &w.dev, &fast_url)] {
        let path = format!("/api/v1/projects/{project}/webhook");
        let body = json!({"url": url, "secret": "a-secret-of-16-chars"});
        let (s, e) = w.call(M::PUT, &path, token, Some(body)).await;
        assert_eq!(s, StatusCode::OK, "{e}");
        let (s, _) = w.call(M::POST, &format!("{path}/ping"), token, None).await;
        assert_eq!(s, StatusCode::OK);
    }
    let (store, secrets) = (w.app.state.store.clone(), w.app.state.secrets.clone());
    let policy = WebhookPolicy {
        allow: crate::harness::loopback(),
        ..Default::default()
    };
    let client = webhooks::client(&policy);
    let sending = Sending::default();
    let now = watershed::server::db::now_millis();
    let mut senders = webhooks::start_pass(&store, &secrets, &client, &policy, &sending, now)
        .await
        .unwrap();
    // lab's sender finishes (its delivery received and recorded) while shop's receiver still
    // holds its request open. Waiting for the sender, not for the receiver's count: a pass that
    // came between the two would find lab's delivery unrecorded and past its lease.
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), senders.join_next())
        .await
        .expect("lab's sender finishes while shop's waits")
        .expect("two senders were started")
        .unwrap();
    assert_eq!(first, 1, "lab's sender sent its one delivery");
    assert_eq!(fast_got.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(slow_got.load(std::sync::atomic::Ordering::SeqCst), 0);
    // A second pass meanwhile skips shop (still sending) rather than sending twice.
    let again = webhooks::start_pass(&store, &secrets, &client, &policy, &sending, now + 120_000)
        .await
        .unwrap();
    assert_eq!(again.len(), 0, "shop is busy and lab has nothing due");
    release.notify_one();
    while senders.join_next().await.is_some() {}
    assert_eq!(slow_got.load(std::sync::atomic::Ordering::SeqCst), 1);

    // Finished deliveries and read notifications go after the retention.
    let later = watershed::server::db::now_millis() + 1;
    let (_, deliveries) = store.prune_notices(0, later).await.unwrap();
    assert_eq!(deliveries, 2, "both delivered pings");
    w.request(&w.dev, "orders", "consume").await;
    let read = store
        .mark_notifications_read("olga", 5, &audit())
        .await
        .unwrap();
    assert!(read > 0, "olga had notices (a request for her queue)");
    let (notes, _) = store.prune_notices(6, 0).await.unwrap();
    assert_eq!(notes, read);
    assert!(store.notifications("olga", 50).await.unwrap().is_empty());
}
