//! The HTTP surface: console pages, server functions, REST, health, static files.

use super::state::AppState;
use crate::app::{shell, App};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use http::StatusCode;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .nest("/api/v1", crate::api::rest::router())
        .nest("/schema-registry", crate::api::registry::router())
        .leptos_routes_with_context(&state, routes, || {}, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_session,
        ))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Sends a browser without a valid session to the login page before any HTML is streamed,
/// so the redirect is a real 302 (a streamed page has already sent its status).
async fn require_session(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let open = path == "/login"
        || [
            "/api/",
            "/schema-registry/",
            "/console/",
            "/pkg/",
            "/healthz",
            "/readyz",
        ]
        .iter()
        .any(|p| path.starts_with(p))
        || path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'));
    if open || req.method() != http::Method::GET {
        return next.run(req).await;
    }
    match super::auth::user_from_headers(&state, req.headers()).await {
        Ok(Some(_)) => next.run(req).await,
        _ => Redirect::to("/login").into_response(),
    }
}

/// Ready when the database answers.
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.count_users().await {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = ?e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
