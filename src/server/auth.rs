//! Who is asking: a session cookie from the console or a personal API token.

use super::services::{accounts, ServiceError, ServiceResult};
use super::state::AppState;
use crate::domain::UserView;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use http::HeaderMap;

/// The user the page guard found for a request, kept in its extensions so the page's server
/// functions (a dozen on the queue page) do not each look the session up again.
#[derive(Clone, Debug)]
pub struct SignedIn(pub UserView);

/// The user behind a request's `Authorization` (a personal token as `Bearer <token>`, or as the
/// password of `Basic`, which Schema Registry clients send) or session cookie, if any.
pub async fn user_from_headers(
    state: &AppState,
    headers: &HeaderMap,
) -> ServiceResult<Option<UserView>> {
    if let Some(auth) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let token = match auth.strip_prefix("Basic ") {
            Some(basic) => basic_password(basic).unwrap_or_default(),
            None => auth
                .strip_prefix("Bearer ")
                .unwrap_or_default()
                .trim()
                .to_string(),
        };
        let token = token.as_str();
        // A bad token is refused outright rather than falling back to the cookie.
        return accounts::bearer_user(state.store.as_ref(), token)
            .await?
            .map(Some)
            .ok_or(ServiceError::Unauthenticated);
    }
    match session_token(headers) {
        Some(token) => accounts::session_user(state.store.as_ref(), &token).await,
        None => Ok(None),
    }
}

/// The client's address: the peer, or the nearest untrusted `X-Forwarded-For` entry when the
/// peer is a trusted proxy.
pub fn client_ip(
    state: &AppState,
    peer: std::net::IpAddr,
    headers: &HeaderMap,
) -> std::net::IpAddr {
    // Every X-Forwarded-For line, in order: a proxy may add its own line rather than append.
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let joined = forwarded.join(",");
    state
        .sdk
        .client_ip(peer, (!joined.is_empty()).then_some(joined.as_str()))
}

/// The password of a `Basic` credential (`user:password`, base64).
fn basic_password(encoded: &str) -> Option<String> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.split_once(':').map(|(_, p)| p.to_string())
}

/// The session token from the cookie header.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(accounts::SESSION_COOKIE)
        .map(|c| c.value().to_string())
}

/// The Set-Cookie value that opens (or, with an empty token, ends) a session.
pub fn session_cookie(token: &str, secure: bool) -> String {
    let mut c = Cookie::build((accounts::SESSION_COOKIE, token.to_string()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/");
    c = if token.is_empty() {
        c.max_age(time::Duration::ZERO)
    } else {
        c.max_age(time::Duration::days(accounts::SESSION_DAYS))
    };
    c.build().to_string()
}

/// The cookie that carries a just-issued application token, sealed, to the one page view that
/// shows it.
pub const NEW_TOKEN_COOKIE: &str = "watershed_new_token";

/// A cookie's value from the request headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(name)
        .map(|c| c.value().to_string())
}

/// The Set-Cookie value that hands a sealed new token to the page at `path` for five minutes
/// (or, with an empty value, clears it).
pub fn new_token_cookie(path: &str, sealed: &str, secure: bool) -> String {
    Cookie::build((NEW_TOKEN_COOKIE, sealed.to_string()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path(path.to_string())
        .max_age(if sealed.is_empty() {
            time::Duration::ZERO
        } else {
            time::Duration::minutes(5)
        })
        .build()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_http_only_and_lax() {
        let c = session_cookie("abc", false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && !c.contains("Secure"));
        assert!(session_cookie("abc", true).contains("Secure"));
        assert!(session_cookie("", false).contains("Max-Age=0"));
    }
}
