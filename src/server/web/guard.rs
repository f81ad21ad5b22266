//! What every request passes through before and after its handler: body limits, the CSRF
//! origin check (on every change a browser could be made to send), security headers, and errors that keep their status and their JSON shape.

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};

/// The largest request body anything but the SDK plane takes (a schema is at most 256 KiB,
/// which JSON escaping can double).
pub const BODY_LIMIT: usize = 1024 * 1024;
/// The SDK plane's reports carry up to 1,000 reports per call.
pub const SDK_BODY_LIMIT: usize = 2 * 1024 * 1024;
/// Error bodies longer than this are not reshaped (none of ours are).
const ERROR_BODY_READ_LIMIT: usize = 64 * 1024;

/// The Content-Security-Policy of every answer. Scripts: the site's own files, the inline
/// hydration bootstrap Leptos writes into each page, and the wasm it instantiates.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
    script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
    frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

fn limit_for(path: &str) -> usize {
    if path.starts_with("/api/v1/sdk/") {
        SDK_BODY_LIMIT
    } else {
        BODY_LIMIT
    }
}

/// Refuses bodies over the path's limit with 413: at once when `Content-Length` says so, and
/// while reading when a streamed body runs past it.
pub async fn limit_body(req: Request, next: Next) -> Response {
    let limit = limit_for(req.uri().path());
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return error_answer(
            req.uri().path(),
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "the request body is larger than the {} KiB allowed here",
                limit / 1024
            ),
        );
    }
    let (parts, body) = req.into_parts();
    let body = Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}

/// Whether a state-changing request could ride on what the browser adds by itself: it carries
/// no `Authorization` a script chose. Sign-in counts too, cookie or not, so another site
/// cannot sign a visitor into the attacker's account.
fn is_cookie_mutation(method: &Method, headers: &HeaderMap) -> bool {
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    !safe && headers.get(header::AUTHORIZATION).is_none()
}

/// The `host[:port]` of an `Origin` or `Referer` value.
fn authority_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    Some(match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}

/// Whether the request names this site as where it came from: `Origin` (or, without it,
/// `Referer`) has the same host and port as `Host`.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let claimed = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .and_then(authority_of);
    let strip_default = |a: &str| {
        a.strip_suffix(":80")
            .or_else(|| a.strip_suffix(":443"))
            .unwrap_or(a)
            .to_ascii_lowercase()
    };
    claimed.is_some_and(|c| strip_default(&c) == strip_default(host))
}

/// CSRF: a POST, PUT, PATCH or DELETE without `Authorization` (the session cookie's, or a
/// sign-in) must come from this site's own pages, as its `Origin` (or `Referer`) says.
/// Token-authenticated calls carry no ambient credential and pass.
pub async fn check_origin(req: Request, next: Next) -> Response {
    if is_cookie_mutation(req.method(), req.headers()) && !same_origin(req.headers()) {
        tracing::warn!(path = %req.uri().path(), "cross-site request refused");
        return error_answer(
            req.uri().path(),
            StatusCode::FORBIDDEN,
            "this request did not come from Watershed's own pages (Origin check)",
        );
    }
    next.run(req).await
}

/// Security headers on every answer.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let mut set = |name: &'static str, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set("content-security-policy", CONTENT_SECURITY_POLICY);
    set("x-frame-options", "DENY");
    set("x-content-type-options", "nosniff");
    set("referrer-policy", "same-origin");
    res
}

/// An error answer in the shape of the surface `path` belongs to.
pub fn error_answer(path: &str, status: StatusCode, message: &str) -> Response {
    let body = if path.starts_with("/schema-registry") {
        serde_json::json!({ "error_code": status.as_u16(), "message": message })
    } else if path.starts_with("/console/") {
        serde_json::json!({ "status": status.as_u16(), "message": message, "fields": [] })
    } else {
        serde_json::json!({ "error": message, "fields": [] })
    };
    (status, axum::Json(body)).into_response()
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Errors keep their meaning for every client:
/// - under `/api/` and `/schema-registry/`, axum's own plain-text rejections (a bad query
///   string, bad JSON, an unknown route or method, a body too large) become JSON in the
///   surface's documented error shape;
/// - a server function's refusal answers its real status (401, 403, 404, 409, 422, 429)
///   instead of 500 with the status only inside the body.
pub async fn shape_errors(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let res = next.run(req).await;
    let status = res.status();
    let api = path.starts_with("/api/") || path.starts_with("/schema-registry");
    if api && status.as_u16() >= 400 && !is_json(&res) {
        let (_, body) = res.into_parts();
        let text = axum::body::to_bytes(body, ERROR_BODY_READ_LIMIT)
            .await
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default();
        let message = if text.is_empty() {
            status.canonical_reason().unwrap_or("error").to_lowercase()
        } else {
            text
        };
        return error_answer(&path, status, &message);
    }
    if path.starts_with("/console/") && status == StatusCode::INTERNAL_SERVER_ERROR && is_json(&res)
    {
        let (mut parts, body) = res.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, ERROR_BODY_READ_LIMIT).await else {
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        };
        let real = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("status").and_then(serde_json::Value::as_u64))
            .and_then(|s| u16::try_from(s).ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .filter(|s| s.is_client_error() || s.is_server_error());
        if let Some(real) = real {
            parts.status = real;
        }
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::from(bytes));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_origin_must_name_this_host() {
        let own = headers(&[
            ("host", "ws.example:3000"),
            ("origin", "http://ws.example:3000"),
        ]);
        assert!(same_origin(&own));
        let evil = headers(&[
            ("host", "ws.example:3000"),
            ("origin", "https://evil.example"),
        ]);
        assert!(!same_origin(&evil));
        let referer = headers(&[
            ("host", "ws.example"),
            ("referer", "https://ws.example/queues/a/b"),
        ]);
        assert!(same_origin(&referer));
        assert!(!same_origin(&headers(&[("host", "ws.example")])));
        let null = headers(&[("host", "ws.example"), ("origin", "null")]);
        assert!(!same_origin(&null));
    }

    #[test]
    fn only_cookie_mutations_are_checked() {
        let cookie = headers(&[("cookie", "watershed_session=abc")]);
        assert!(is_cookie_mutation(&Method::POST, &cookie));
        assert!(!is_cookie_mutation(&Method::GET, &cookie));
        let token = headers(&[
            ("cookie", "watershed_session=abc"),
            ("authorization", "Bearer wsp_x"),
        ]);
        assert!(!is_cookie_mutation(&Method::DELETE, &token));
        assert!(
            is_cookie_mutation(&Method::POST, &HeaderMap::new()),
            "a sign-in has no cookie yet"
        );
    }

    #[test]
    fn the_sdk_plane_takes_larger_bodies_than_the_rest() {
        assert_eq!(limit_for("/api/v1/sdk/reports"), SDK_BODY_LIMIT);
        assert_eq!(limit_for("/console/login"), BODY_LIMIT);
    }
}
