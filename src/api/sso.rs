//! `/auth/oidc/*`: the browser's round trip through the identity provider. Plain redirects, so
//! single sign-on works the same with and without JavaScript.

use crate::server::services::sso::{self, Callback, STATE_COOKIE};
use crate::server::state::AppState;
use axum::extract::{ConnectInfo, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use axum_extra::extract::cookie::{Cookie, SameSite};
use http::header::SET_COOKIE;
use http::HeaderMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The routes, mounted at `/auth/oidc`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/start", get(start))
        .route("/callback", get(callback))
}

/// Where to go after signing in.
#[derive(Debug, Default, serde::Deserialize)]
struct Start {
    #[serde(default)]
    next: String,
}

/// The cookie that binds a sign-in in flight to this browser (or, empty, clears it). Lax, so
/// it comes back on the provider's top-level redirect.
fn state_cookie(value: &str, secure: bool) -> String {
    Cookie::build((STATE_COOKIE, value.to_string()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/auth/oidc")
        .max_age(if value.is_empty() {
            time::Duration::ZERO
        } else {
            time::Duration::milliseconds(sso::LOGIN_TTL_MS)
        })
        .build()
        .to_string()
}

fn to_login(message: &str) -> Response {
    let mut url = url::Url::parse("http://here/login").expect("a valid URL");
    url.query_pairs_mut().append_pair("error", message);
    Redirect::to(&format!("/login?{}", url.query().unwrap_or_default())).into_response()
}

fn with_cookies(mut response: Response, cookies: &[String]) -> Response {
    for c in cookies {
        if let Ok(v) = http::HeaderValue::from_str(c) {
            response.headers_mut().append(SET_COOKIE, v);
        }
    }
    response
}

/// The client's address, as sign-in throttling and the audit log count it.
fn client(
    state: &AppState,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
) -> IpAddr {
    let peer = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0 .0.ip());
    crate::server::auth::client_ip(state, peer, headers)
}

/// `GET /auth/oidc/start?next=/path`: to the provider's sign-in page.
async fn start(
    State(state): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Query(q): Query<Start>,
) -> Response {
    let ip = client(&state, peer, &headers);
    match sso::begin(&state, &q.next, ip).await {
        Ok((url, csrf)) => with_cookies(
            Redirect::to(&url).into_response(),
            &[state_cookie(&csrf, state.secure_cookies)],
        ),
        Err(e) => to_login(&e.to_string()),
    }
}

/// `GET /auth/oidc/callback?code&state`: back from the provider; signs in, or says why not.
async fn callback(
    State(state): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let ip = client(&state, peer, &headers);
    let cookie = crate::server::auth::cookie_value(&headers, STATE_COOKIE);
    let clear = state_cookie("", state.secure_cookies);
    match sso::finish(&state, &q, cookie.as_deref(), ip).await {
        Ok(done) => with_cookies(
            Redirect::to(&done.next).into_response(),
            &[
                clear,
                crate::server::auth::session_cookie(&done.session_token, state.secure_cookies),
            ],
        ),
        Err(e) => {
            tracing::info!(error = %e, %ip, "single sign-on refused");
            with_cookies(to_login(&e.for_user()), &[clear])
        }
    }
}
