//! Real clusters: live health, their topics, importing topics as queues, and the topic behind
//! each queue on each of its clusters.

use super::ApiResult;
use crate::api::actor::Actor;
use crate::domain::{
    ClusterHealth, ClusterTopic, ImportInput, ImportResult, QueueTraffic, TopicProvision,
    TrafficRange,
};
use crate::server::services::clusters;
use crate::server::services::Ctx;
use crate::server::state::AppState;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/clusters/{name}/health", get(health))
        .route("/clusters/{name}/topics", get(topics))
        .route("/clusters/{name}/import", post(import))
        .route("/queues/{project}/{name}/topics", get(queue_topics))
        .route("/queues/{project}/{name}/traffic", get(queue_traffic))
}

/// The cluster as its brokers answer: reachable or why not, brokers, controller, topics.
#[utoipa::path(get, path = "/api/v1/clusters/{name}/health",
    responses((status = 200, body = ClusterHealth), (status = 404, body = super::ErrorBody)))]
pub(super) async fn health(
    State(s): State<AppState>,
    _actor: Actor,
    Path(name): Path<String>,
) -> ApiResult<ClusterHealth> {
    Ok(Json(clusters::health(&s.kafka, &name).await?))
}

/// The topics on the cluster, each with the queue it backs there.
#[utoipa::path(get, path = "/api/v1/clusters/{name}/topics",
    responses((status = 200, body = Vec<ClusterTopic>), (status = 503, body = super::ErrorBody)))]
pub(super) async fn topics(
    State(s): State<AppState>,
    _actor: Actor,
    Path(name): Path<String>,
) -> ApiResult<Vec<ClusterTopic>> {
    Ok(Json(
        clusters::topics(s.store.as_ref(), &s.kafka, &name).await?,
    ))
}

/// Registers existing topics as queues of a project (admins).
#[utoipa::path(post, path = "/api/v1/clusters/{name}/import", request_body = ImportInput,
    responses((status = 200, body = ImportResult), (status = 403, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub(super) async fn import(
    cx: Ctx,
    Path(name): Path<String>,
    Json(input): Json<ImportInput>,
) -> ApiResult<ImportResult> {
    Ok(Json(clusters::import(&cx, &name, &input).await?))
}

/// Whether the queue's topic exists on each of its clusters (created, existed or failed).
#[utoipa::path(get, path = "/api/v1/queues/{project}/{name}/topics",
    responses((status = 200, body = Vec<TopicProvision>), (status = 404, body = super::ErrorBody)))]
pub(super) async fn queue_topics(
    State(s): State<AppState>,
    _actor: Actor,
    Path((project, name)): Path<(String, String)>,
) -> ApiResult<Vec<TopicProvision>> {
    Ok(Json(
        clusters::queue_topics(s.store.as_ref(), &project, &name).await?,
    ))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub(super) struct RangeQuery {
    /// `hour` (default), `day` or `week`.
    range: Option<String>,
}

/// Messages/s and bytes/s in and out and lag per consumer group: from SDK reports, and as the
/// brokers count them (`… (brokers)` series) for every client, SDK or not.
#[utoipa::path(get, path = "/api/v1/queues/{project}/{name}/traffic", params(RangeQuery),
    responses((status = 200, body = QueueTraffic), (status = 404, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub(super) async fn queue_traffic(
    State(s): State<AppState>,
    _actor: Actor,
    Path((project, name)): Path<(String, String)>,
    Query(q): Query<RangeQuery>,
) -> ApiResult<QueueTraffic> {
    let range = match q.range.as_deref() {
        None => TrafficRange::Hour,
        Some(r) => r.parse().map_err(|_| {
            crate::server::services::ServiceError::Invalid(vec![crate::domain::FieldError::new(
                "range",
                "must be hour, day or week",
            )])
        })?,
    };
    Ok(Json(
        crate::server::services::traffic::queue_traffic(s.store.as_ref(), &project, &name, range)
            .await?,
    ))
}
