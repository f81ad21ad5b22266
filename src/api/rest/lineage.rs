//! `/api/v1/lineage`: the lineage graph's questions, its export, and OpenLineage run events.

use super::{ApiError, ApiResult};
use crate::api::actor::Actor;
use crate::domain::{
    ImpactView, LineageQueryInput, LineageView, OpenLineageRunEvent, RunEventAck,
    DEFAULT_LINEAGE_DAYS,
};
use crate::server::services::lineage;
use crate::server::services::Ctx;
use crate::server::state::AppState;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/lineage", axum::routing::post(run_event))
        .route("/lineage/graph", get(graph))
        .route("/lineage/neighbours", get(neighbours))
        .route("/lineage/impact", get(impact))
        .route("/lineage/path", get(path))
        .route("/lineage/export", get(export))
}

/// Upstream, downstream or both around a node (`app:p/name`, `queue:p/name`,
/// `job:namespace/name`) to a depth (default 3, at most 20) within the last `days` (default 7).
#[utoipa::path(get, path = "/api/v1/lineage/graph", params(LineageQueryInput),
    responses((status = 200, body = LineageView), (status = 404, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub(super) async fn graph(
    State(s): State<AppState>,
    _actor: Actor,
    Query(q): Query<LineageQueryInput>,
) -> ApiResult<LineageView> {
    Ok(Json(lineage::view(s.store.as_ref(), &s.lineage, &q).await?))
}

/// A node's direct writers and readers.
#[utoipa::path(get, path = "/api/v1/lineage/neighbours", params(LineageQueryInput),
    responses((status = 200, body = LineageView), (status = 404, body = super::ErrorBody)))]
pub(super) async fn neighbours(
    State(s): State<AppState>,
    _actor: Actor,
    Query(q): Query<LineageQueryInput>,
) -> ApiResult<LineageView> {
    Ok(Json(
        lineage::neighbours(s.store.as_ref(), &s.lineage, &q).await?,
    ))
}

/// What breaks if this node changes: every transitive downstream application, job and queue,
/// with owners and whether each application holds live grants for what it reads.
#[utoipa::path(get, path = "/api/v1/lineage/impact", params(LineageQueryInput),
    responses((status = 200, body = ImpactView), (status = 404, body = super::ErrorBody)))]
pub(super) async fn impact(
    State(s): State<AppState>,
    _actor: Actor,
    Query(q): Query<LineageQueryInput>,
) -> ApiResult<ImpactView> {
    Ok(Json(
        lineage::impact(s.store.as_ref(), &s.lineage, &s.sensitive_tag, &q).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(super) struct PathQuery {
    from: String,
    to: String,
    days: Option<String>,
}

/// The shortest directed path between two nodes (either way round).
#[utoipa::path(get, path = "/api/v1/lineage/path", params(PathQuery),
    responses((status = 200, body = LineageView), (status = 404, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub(super) async fn path(
    State(s): State<AppState>,
    _actor: Actor,
    Query(q): Query<PathQuery>,
) -> ApiResult<LineageView> {
    Ok(Json(
        lineage::path(s.store.as_ref(), &s.lineage, &q.from, &q.to, q.days).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(super) struct ExportQuery {
    /// Edges not seen in this many days are flagged stale (default 7).
    days: Option<u32>,
}

/// The whole graph as JSON.
#[utoipa::path(get, path = "/api/v1/lineage/export", params(ExportQuery),
    responses((status = 200, body = LineageView)))]
pub(super) async fn export(
    State(s): State<AppState>,
    _actor: Actor,
    Query(q): Query<ExportQuery>,
) -> ApiResult<LineageView> {
    let days = q.days.unwrap_or(DEFAULT_LINEAGE_DAYS).clamp(1, 365);
    Ok(Json(lineage::export(&s.lineage, days)))
}

/// Accepts an OpenLineage `RunEvent` (from Flink, Spark, Airflow…). Kafka datasets
/// (`kafka://host:port`, name = topic) become the job's reads (inputs) and writes (outputs)
/// of the queues with that physical topic; the answer lists what matched and what did not.
#[utoipa::path(post, path = "/api/v1/lineage", request_body = OpenLineageRunEvent,
    security(("token" = [])),
    responses((status = 200, body = RunEventAck), (status = 401, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub(super) async fn run_event(
    cx: Ctx,
    Json(event): Json<OpenLineageRunEvent>,
) -> Result<Json<RunEventAck>, ApiError> {
    Ok(Json(lineage::record_run_event(&cx, &event).await?))
}
