//! Single sign-on against a real OpenID provider: npm's certified `oidc-provider`, started on
//! loopback from `end2end/oidc/provider.mjs` (installed with the end2end packages).

use crate::harness::{spawn_app_configured, Backend, TestApp};
use crate::on_both_backends;
use openidconnect::PkceCodeChallenge;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use watershed::domain::Role;
use watershed::server::services::sso::{self as service, LocalSignIn};
use watershed::server::sso::mapping::GroupMapping;
use watershed::server::sso::{Sso, SsoError, SsoSettings};

on_both_backends!(
    provider_users_get_roles_and_projects_from_their_groups,
    a_user_the_provider_no_longer_lets_in_loses_sessions_and_tokens
);

/// The provider, killed when dropped, and the file its users are read from.
struct Provider {
    child: tokio::process::Child,
    port: u16,
    issuer: String,
    users: PathBuf,
    _dir: tempfile::TempDir,
}

impl Provider {
    /// Stops the provider and starts it again on its port: a new signing key, as after a
    /// rotation, and no memory of earlier sign-ins.
    async fn restart(mut self, app: SocketAddr) -> Provider {
        self.child.kill().await.unwrap();
        provider(self.port, app).await
    }

    /// Sets a user's groups (or, with `None`, takes the user away).
    fn set_user(&self, name: &str, groups: Option<&[&str]>) {
        let mut all: Value =
            serde_json::from_str(&std::fs::read_to_string(&self.users).unwrap()).unwrap();
        match groups {
            Some(g) => {
                all[name] = json!({"name": format!("{name} Example"),
                                   "email": format!("{name}@example.com"), "groups": g})
            }
            None => {
                all.as_object_mut().unwrap().remove(name);
            }
        }
        std::fs::write(&self.users, all.to_string()).unwrap();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the provider on `port` for an app whose callback is at `app`.
async fn provider(port: u16, app: SocketAddr) -> Provider {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("end2end/oidc/provider.mjs");
    assert!(
        root.join("end2end/node_modules/oidc-provider").exists(),
        "oidc-provider is not installed: run `npm ci` in end2end (the test command does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.json");
    std::fs::write(
        &users,
        json!({
            "alice": {"name": "Alice Example", "email": "alice@example.com",
                      "groups": ["data-developers", "data-shop-owners", "data-lab-members"]},
            "bob": {"name": "Bob Example", "email": "bob@example.com", "groups": ["data-viewers"]},
        })
        .to_string(),
    )
    .unwrap();
    let mut child = tokio::process::Command::new("node")
        .arg(&script)
        .arg(port.to_string())
        .arg(format!("http://{app}/auth/oidc/callback"))
        .env("OIDC_USERS", &users)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs the OpenID provider");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(issuer) = line.strip_prefix("ready ") {
                return issuer.to_string();
            }
        }
        panic!("the provider ended before it was ready")
    })
    .await
    .expect("the provider starts within 30 s");
    // Its later notices must still have somewhere to go: a closed pipe would end it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Provider {
        child,
        port,
        issuer: ready,
        users,
        _dir: dir,
    }
}

fn settings(issuer: &str, app: SocketAddr) -> SsoSettings {
    SsoSettings {
        issuer: issuer.to_string(),
        client_id: "watershed".into(),
        client_secret: "watershed-client-secret".into(),
        redirect_url: format!("http://{app}/auth/oidc/callback"),
        scopes: vec!["profile".into(), "email".into(), "groups".into()],
        provider_name: "Test ID".into(),
        username_claim: "preferred_username".into(),
        groups_claim: "groups".into(),
        mapping: GroupMapping::parse(
            "data-developers=developer,data-approvers=approver",
            "viewer",
            "data-{project}-owners=owner,data-{project}-members=member",
        )
        .unwrap(),
        post_logout_url: format!("http://{app}/login"),
        clock_skew: Duration::from_secs(60),
        // Due at once: the tests run the check themselves.
        check_every: Duration::ZERO,
    }
}

/// An app with single sign-on at a fresh provider, password sign-in for admins only, and the
/// projects `shop` and `lab`. The provider's port is chosen first (discovery waits for the
/// first sign-in), so the app knows its issuer and the provider its redirect URL.
async fn sso_app(b: Backend) -> (TestApp, Provider) {
    let op_port = free_port();
    let issuer = format!("http://127.0.0.1:{op_port}");
    let app = spawn_app_configured(b, move |state, addr| {
        state.sso = Some(Arc::new(Sso::new(settings(&issuer, addr)).unwrap()));
        state.local_sign_in = LocalSignIn::Admins;
    })
    .await;
    let op = provider(op_port, app.addr).await;
    let admin = app.token_for("ops", Role::Admin).await;
    for name in ["shop", "lab"] {
        let r = reqwest::Client::new()
            .post(app.url("/api/v1/projects"))
            .bearer_auth(&admin)
            .json(&json!({"name": name, "description": "d"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    }
    (app, op)
}

/// `Location` of a redirect, made absolute against `base`.
fn location(r: &reqwest::Response, base: &str) -> String {
    let loc = r
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("a redirect from {base}, got {}", r.status()))
        .to_str()
        .unwrap();
    url::Url::parse(base)
        .unwrap()
        .join(loc)
        .unwrap()
        .to_string()
}

/// Follows redirects from `url` through the provider's own login page (signing in as `user`)
/// until one leads to a URL starting with `back_to`; returns that URL.
async fn through_login(c: &reqwest::Client, mut url: String, user: &str, back_to: &str) -> String {
    for _ in 0..10 {
        let r = c.get(&url).send().await.unwrap();
        if r.status().is_redirection() {
            let next = location(&r, &url);
            if next.starts_with(back_to) {
                return next;
            }
            url = next;
            continue;
        }
        let page = r.text().await.unwrap();
        assert!(
            page.contains("name=\"login\""),
            "the provider's login page: {page}"
        );
        let r = c
            .post(&url)
            .form(&[("prompt", "login"), ("login", user), ("password", "any")])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection(), "{}", r.status());
        url = location(&r, &url);
    }
    panic!("never sent back to {back_to}");
}

/// A browser that went to the provider from the sign-in page's link and signed in there as
/// `user`: returns it and the callback URL the provider sent it back to.
async fn at_provider(app: &TestApp, user: &str) -> (reqwest::Client, String) {
    let c = app.client();
    let r = c
        .get(app.url("/auth/oidc/start?next=/projects/shop"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let to_provider = location(&r, &app.url("/"));
    let back = through_login(&c, to_provider, user, &app.url("/auth/oidc/callback")).await;
    (c, back)
}

/// Signs `user` in through the provider; returns their browser.
async fn signed_in(app: &TestApp, user: &str) -> reqwest::Client {
    let (c, back) = at_provider(app, user).await;
    let r = c.get(&back).send().await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(
        r.headers()["location"],
        "/projects/shop",
        "back where the sign-in began"
    );
    c
}

async fn get(app: &TestApp, c: &reqwest::Client, path: &str) -> (StatusCode, Value) {
    let r = c.get(app.url(path)).send().await.unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn names(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect()
}

fn login_error(r: &reqwest::Response) -> String {
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let url = url::Url::parse("http://x").unwrap().join(&loc).unwrap();
    assert_eq!(url.path(), "/login", "{loc}");
    url.query_pairs()
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

async fn audit_total(app: &TestApp) -> i64 {
    let all = app
        .store()
        .list_audit(&watershed::domain::AuditFilter::default())
        .await
        .unwrap();
    all.total
}

async fn provider_users_get_roles_and_projects_from_their_groups(b: Backend) {
    let (app, op) = sso_app(b).await;
    let page = app.html("/login").await;
    assert!(
        page.contains("Sign in with Test ID"),
        "the sign-in page offers the provider"
    );
    assert!(
        page.contains("administrators only"),
        "and says who may use a password"
    );

    // Alice's groups make her a developer, an owner of shop and a member of lab.
    let (alice, back) = at_provider(&app, "alice").await;
    let r = alice.get(&back).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/projects/shop");
    let (s, me) = get(&app, &alice, "/api/v1/me").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (me["username"].as_str(), me["role"].as_str()),
        (Some("alice"), Some("developer"))
    );
    let (_, shop) = get(&app, &alice, "/api/v1/projects/shop").await;
    assert!(names(&shop["owners"]).contains(&"alice"), "{shop}");
    let (_, lab) = get(&app, &alice, "/api/v1/projects/lab").await;
    assert!(names(&lab["members"]).contains(&"alice"), "{lab}");

    // The provider's answer works once: the same callback again is refused in words, and,
    // carrying no sign-in in flight, writes nothing.
    let audited = audit_total(&app).await;
    let again = alice.get(&back).send().await.unwrap();
    assert!(
        login_error(&again).contains("already used"),
        "{:?}",
        again.headers()
    );
    assert_eq!(audit_total(&app).await, audited);

    // SSO users make personal tokens for REST and Schema Registry clients.
    let r = alice
        .post(app.url("/api/v1/tokens"))
        .json(&json!({"name": "registry"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = reqwest::Client::new()
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["username"], "alice");

    // Bob's groups give no role: the default, viewer, which may not create a project.
    let bob = signed_in(&app, "bob").await;
    let (_, me) = get(&app, &bob, "/api/v1/me").await;
    assert_eq!(me["role"], "viewer");
    let r = bob
        .post(app.url("/api/v1/projects"))
        .json(&json!({"name": "bobs", "description": "d"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Places given by hand are the owners': an admin raises alice to owner of lab and makes
    // her a member of tools, which no group names.
    let admin = app.token_for("root", Role::Admin).await;
    let by_admin = |path: &str, method: reqwest::Method, body: Value| {
        reqwest::Client::new()
            .request(method, app.url(path))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    let r = by_admin(
        "/api/v1/projects/lab/people",
        reqwest::Method::PUT,
        json!({"owners": ["ops", "alice"], "members": []}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = by_admin(
        "/api/v1/projects",
        reqwest::Method::POST,
        json!({"name": "tools", "description": "d", "members": ["alice"]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Groups are applied at every sign-in: shop's place (the mapping's) goes with its group;
    // lab's hand-raised owner place is not lowered to the member place the groups give; tools'
    // hand-given place stays.
    op.set_user("alice", Some(&["data-developers", "data-lab-members"]));
    let alice = signed_in(&app, "alice").await;
    let (_, shop) = get(&app, &alice, "/api/v1/projects/shop").await;
    assert!(!names(&shop["owners"]).contains(&"alice"), "{shop}");
    let (_, lab) = get(&app, &alice, "/api/v1/projects/lab").await;
    assert!(names(&lab["owners"]).contains(&"alice"), "{lab}");
    assert!(!names(&lab["members"]).contains(&"alice"), "{lab}");
    let (_, tools) = get(&app, &alice, "/api/v1/projects/tools").await;
    assert!(names(&tools["members"]).contains(&"alice"), "{tools}");

    // A callback is only for the browser that began the sign-in: another browser, in the
    // middle of a sign-in of its own, is refused and the state still works for its owner.
    let (owner, back) = at_provider(&app, "bob").await;
    let other = app.client();
    let r = other
        .get(app.url("/auth/oidc/start?next=/"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    let r = other.get(&back).send().await.unwrap();
    assert!(
        login_error(&r).contains("another browser"),
        "{:?}",
        r.headers()
    );
    let r = owner.get(&back).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/projects/shop");

    // The mapping is recorded once, and again only when it changes.
    let sso = app.state.sso.clone().unwrap();
    service::record_mapping(app.store(), &sso).await.unwrap();
    service::record_mapping(app.store(), &sso).await.unwrap();
    // The mapping and each change it made are in the audit log.
    let audit = app
        .store()
        .list_audit(&watershed::domain::AuditFilter {
            limit: Some(200),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    let by_sso: Vec<(&str, &str)> = audit
        .iter()
        .filter(|e| e.actor == "sso")
        .map(|e| (e.action.as_str(), e.target.as_str()))
        .collect();
    let mappings: Vec<&str> = audit
        .iter()
        .filter(|e| e.action == "sso.mapping")
        .map(|e| e.summary.as_str())
        .collect();
    assert_eq!(mappings.len(), 1, "{mappings:?}");
    assert!(
        mappings[0].contains("data-{project}-owners=owner"),
        "{mappings:?}"
    );
    for expected in [
        ("user.create", "alice"),
        ("user.create", "bob"),
        ("project.people", "shop"),
        ("project.people", "lab"),
    ] {
        assert!(by_sso.contains(&expected), "{expected:?} in {by_sso:?}");
    }
    assert!(
        audit.iter().any(|e| e.action == "user.sign_in"
            && e.target == "alice"
            && e.summary.contains("Test ID")),
        "sign-ins are audited"
    );

    // Password sign-in is for the break-glass admin only.
    watershed::server::services::accounts::create_user(
        app.store(),
        None,
        "lea",
        "password-123",
        Role::Developer,
    )
    .await
    .unwrap();
    let login = |user: &'static str, password: &'static str| {
        let c = app.client();
        let url = app.url(<watershed::api::console::Login as leptos::server_fn::ServerFn>::PATH);
        async move {
            c.post(url)
                .header("accept", "text/html")
                .form(&[("username", user), ("password", password)])
                .send()
                .await
                .unwrap()
        }
    };
    let r = login("lea", "password-123").await;
    assert!(r.headers().get("set-cookie").is_none());
    assert!(
        login_error(&r).contains("administrators"),
        "{:?}",
        r.headers()
    );
    let r = login("admin", crate::harness::ADMIN_PASSWORD).await;
    assert!(
        r.headers().get("set-cookie").is_some(),
        "the admin still signs in"
    );

    // Signing out ends the session here and sends the browser to the provider's sign-out.
    let url = app.url(<watershed::api::console::Logout as leptos::server_fn::ServerFn>::PATH);
    let r = alice
        .post(url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with(&format!("{}/session/end?", op.issuer)),
        "{to}"
    );
    assert!(
        to.contains("id_token_hint=") && to.contains("post_logout_redirect_uri="),
        "{to}"
    );
    let (s, _) = get(&app, &alice, "/api/v1/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

async fn a_user_the_provider_no_longer_lets_in_loses_sessions_and_tokens(b: Backend) {
    let (app, op) = sso_app(b).await;
    let bob = signed_in(&app, "bob").await;
    let alice = signed_in(&app, "alice").await;
    let r = bob
        .post(app.url("/api/v1/tokens"))
        .json(&json!({"name": "script"}))
        .send()
        .await
        .unwrap();
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();

    op.set_user("bob", None);
    // Alice is still let in, with one group fewer: the check applies it as a sign-in would.
    op.set_user("alice", Some(&["data-developers", "data-lab-members"]));
    tokio::time::sleep(Duration::from_millis(5)).await;
    let sso = app.state.sso.clone().unwrap();
    let refused = service::check_due(&app.state, &sso).await.unwrap();
    assert_eq!(refused, 1, "bob only");
    let (_, shop) = get(&app, &alice, "/api/v1/projects/shop").await;
    assert!(!names(&shop["owners"]).contains(&"alice"), "{shop}");

    assert_eq!(
        get(&app, &bob, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let r = reqwest::Client::new()
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "bob's token is revoked"
    );
    assert_eq!(get(&app, &alice, "/api/v1/me").await.0, StatusCode::OK);
    let audit = app
        .store()
        .list_audit(&watershed::domain::AuditFilter {
            action: Some("user.sso_refused".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].target, "bob");
}

/// An ID token the provider issues to `client` (a real sign-in as alice, code exchanged with
/// PKCE), and the nonce it carries.
async fn id_token(app: &TestApp, op: &Provider, client: &str, secret: &str) -> (String, String) {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = format!("n-{}", free_port());
    let redirect = app.url("/auth/oidc/callback");
    let mut start = url::Url::parse(&format!("{}/auth", op.issuer)).unwrap();
    start
        .query_pairs_mut()
        .append_pair("client_id", client)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid profile email groups")
        .append_pair("redirect_uri", &redirect)
        .append_pair("state", "s")
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256");
    let back = through_login(&c, start.to_string(), "alice", &redirect).await;
    let code = url::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.to_string())
        .expect("a code");
    let r: Value = c
        .post(format!("{}/token", op.issuer))
        .basic_auth(client, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("code_verifier", verifier.secret()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        r["id_token"].as_str().expect("an ID token").to_string(),
        nonce,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_the_provider_rotates_are_picked_up() {
    let (app, op) = sso_app(Backend::Sqlite).await;
    signed_in(&app, "alice").await;
    // The keys fetched at the first sign-in no longer sign the provider's tokens.
    let _op = op.restart(app.addr).await;
    let alice = signed_in(&app, "alice").await;
    assert_eq!(get(&app, &alice, "/api/v1/me").await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_foreign_and_expired_id_tokens_are_refused_in_words() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (app, op) = sso_app(Backend::Sqlite).await;
    let sso = app.state.sso.clone().unwrap();
    let (token, nonce) = id_token(&app, &op, "watershed", "watershed-client-secret").await;
    let now = chrono::Utc::now();
    let claims = sso
        .verify_id_token(&token, Some(&nonce), now)
        .await
        .unwrap();
    assert_eq!(claims["preferred_username"], "alice");

    // A token whose claims were changed after signing.
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged_claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    forged_claims["groups"] = json!(["platform-admins"]);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(forged_claims.to_string()),
        parts[2]
    );
    let e = sso
        .verify_id_token(&forged, Some(&nonce), now)
        .await
        .unwrap_err();
    assert!(matches!(e, SsoError::BadSignature), "{e}");
    assert!(e.to_string().contains("signature"), "{e}");

    // A token the provider issued to another application.
    let (foreign, foreign_nonce) =
        id_token(&app, &op, "other-app", "other-app-client-secret").await;
    let e = sso
        .verify_id_token(&foreign, Some(&foreign_nonce), now)
        .await
        .unwrap_err();
    assert!(matches!(e, SsoError::WrongAudience(_)), "{e}");
    assert!(e.to_string().contains("another application"), "{e}");

    // Expired: refused after its expiry and the tolerated skew, accepted within the skew.
    let exp = claims["exp"].as_i64().unwrap();
    let at = |secs: i64| chrono::DateTime::from_timestamp(secs, 0).unwrap();
    let e = sso
        .verify_id_token(&token, Some(&nonce), at(exp + 120))
        .await
        .unwrap_err();
    assert!(matches!(e, SsoError::Expired), "{e}");
    assert!(e.to_string().contains("expired"), "{e}");
    sso.verify_id_token(&token, Some(&nonce), at(exp + 30))
        .await
        .expect("within the clock skew");

    // A token from another sign-in (its nonce is not this one's).
    let e = sso
        .verify_id_token(&token, Some("another-nonce"), now)
        .await
        .unwrap_err();
    assert!(matches!(e, SsoError::WrongNonce), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_provider_the_sign_in_routes_say_so() {
    let app = crate::harness::spawn_app(Backend::Sqlite).await;
    let c = app.client();
    for path in [
        "/auth/oidc/start?next=/",
        "/auth/oidc/callback?code=x&state=y",
    ] {
        let r = c.get(app.url(path)).send().await.unwrap();
        assert!(r.status().is_redirection(), "{path}: {}", r.status());
        assert!(
            login_error(&r).contains("not configured"),
            "{path}: {:?}",
            r.headers()
        );
        assert!(r
            .headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| { !c.to_str().unwrap().starts_with("watershed_session=") }));
    }
    // The sign-in page offers passwords only.
    let page = app.html("/login").await;
    assert!(!page.contains("Sign in with"), "no provider button");
}
