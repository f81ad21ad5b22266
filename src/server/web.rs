//! The HTTP surface: console pages, server functions, REST, health, static files.

pub mod guard;

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

/// Accepted connections with `TCP_NODELAY`: a page streams out in several small writes, and
/// without it each write after the first waits for the client's delayed acknowledgement (40 ms
/// on Linux): one client's page took 44 ms however fast it was rendered.
pub fn no_delay(
    listener: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    fn set(stream: &mut tokio::net::TcpStream) {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set on a connection");
        }
    }
    listener.tap_io(set as fn(&mut tokio::net::TcpStream))
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(prometheus))
        .route("/lineage.svg", get(lineage_svg))
        .nest("/api/v1", crate::api::rest::router())
        .nest("/schema-registry", crate::api::registry::router())
        .nest("/auth/oidc", crate::api::sso::router())
        .leptos_routes_with_context(&state, routes, || {}, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_session,
        ))
        .layer(axum::middleware::from_fn(guard::shape_errors))
        .layer(axum::middleware::from_fn(guard::limit_body))
        .layer(axum::middleware::from_fn(guard::check_origin))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(guard::security_headers))
        .layer(axum::middleware::from_fn(count_requests))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Sends a browser without a valid session to the login page before any HTML is streamed,
/// so the redirect is a real 302 (a streamed page has already sent its status).
async fn require_session(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let open = path == "/login"
        || [
            "/api/",
            "/schema-registry/",
            "/console/",
            "/auth/oidc/",
            "/pkg/",
            "/healthz",
            "/readyz",
            "/metrics",
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
        Ok(Some(user)) => {
            req.extensions_mut().insert(super::auth::SignedIn(user));
            next.run(req).await
        }
        _ => Redirect::to("/login").into_response(),
    }
}

/// The lineage page's query, as the export link repeats it.
#[derive(Debug, Default, serde::Deserialize)]
struct LineageSvgQuery {
    node: String,
    direction: Option<String>,
    depth: Option<String>,
    days: Option<String>,
    stale: Option<String>,
    #[serde(default)]
    open: String,
    #[serde(default)]
    expand: String,
    #[serde(default)]
    selected: String,
    #[serde(default)]
    edge: String,
}

/// `GET /lineage.svg`: the lineage page's drawing as a standalone SVG file.
async fn lineage_svg(
    State(state): State<AppState>,
    crate::api::actor::Actor(_): crate::api::actor::Actor,
    axum::extract::Query(q): axum::extract::Query<LineageSvgQuery>,
) -> Result<Response, crate::api::rest::ApiError> {
    let input = crate::domain::LineagePageInput {
        query: crate::domain::LineageQueryInput {
            node: q.node,
            direction: q.direction,
            depth: q.depth,
            days: q.days,
            stale: q.stale.map(|s| s == "true" || s == "on"),
        },
        open: q.open,
        expand: q.expand,
        selected: q.selected,
        edge: q.edge,
    };
    let (page, svg) = super::services::lineage::page(
        state.store.as_ref(),
        &state.lineage,
        &state.kafka.monitor,
        &state.sensitive_tag,
        &input,
    )
    .await?;
    let file = format!(
        "attachment; filename=\"lineage-{}.svg\"",
        page.focus
            .name
            .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_")
    );
    Ok((
        [
            (http::header::CONTENT_TYPE, "image/svg+xml".to_string()),
            (http::header::CONTENT_DISPOSITION, file),
        ],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{svg}"),
    )
        .into_response())
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

/// The Prometheus recorder, installed once per process.
fn recorder() -> &'static metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE.get_or_init(|| {
        let buckets = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ];
        let builder = metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Suffix("seconds".into()),
                &buckets,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full(
                        "watershed_collector_batch_rows".into(),
                    ),
                    &[1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0],
                )
            });
        match builder.and_then(|b| b.install_recorder()) {
            Ok(handle) => handle,
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed; /metrics will be empty");
                metrics_exporter_prometheus::PrometheusBuilder::new()
                    .build_recorder()
                    .handle()
            }
        }
    })
}

/// `GET /metrics`: Watershed's own metrics in Prometheus' text format.
async fn prometheus(State(state): State<AppState>) -> impl IntoResponse {
    metrics::gauge!("watershed_collector_queue_depth").set(state.sdk.collector.depth() as f64);
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        recorder().render() + &state.kafka.monitor.prometheus(),
    )
}

/// Counts requests and their latency by area (SDK endpoints by name) and status class.
async fn count_requests(req: Request, next: Next) -> Response {
    recorder();
    let path = req.uri().path();
    let area: &'static str = match path {
        "/api/v1/sdk/config" => "sdk_config",
        "/api/v1/sdk/heartbeat" => "sdk_heartbeat",
        "/api/v1/sdk/reports" => "sdk_reports",
        p if p.starts_with("/api/") => "api",
        p if p.starts_with("/schema-registry") => "schema_registry",
        p if p.starts_with("/console/") => "server_fn",
        p if p.starts_with("/pkg/") => "static",
        "/metrics" | "/healthz" | "/readyz" => "ops",
        _ => "page",
    };
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    let status = match response.status().as_u16() {
        s if s < 300 => "2xx",
        s if s < 400 => "3xx",
        429 => "429",
        s if s < 500 => "4xx",
        _ => "5xx",
    };
    metrics::counter!("watershed_http_requests_total", "area" => area, "status" => status)
        .increment(1);
    metrics::histogram!("watershed_http_request_seconds", "area" => area)
        .record(started.elapsed().as_secs_f64());
    response
}
