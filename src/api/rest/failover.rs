//! Switching queues between clusters: failover, failback, migration, a whole cluster's
//! failover, the switch history and how far clients have followed.

use super::ApiResult;
use crate::api::actor::Actor;
use crate::domain::{
    ClusterFailoverInput, ClusterFailoverResult, FailoverInput, MigrateInput, Rollout, SwitchView,
};
use crate::server::services::failover;
use crate::server::services::Ctx;
use crate::server::state::AppState;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/queues/{project}/{name}/failover", post(fail_over))
        .route("/queues/{project}/{name}/migrate", post(migrate))
        .route("/queues/{project}/{name}/switches", get(switches))
        .route("/queues/{project}/{name}/rollout", get(rollout))
        .route("/clusters/{name}/failover", post(cluster_failover))
}

/// Makes the queue's backup (`to: backup`) or primary (`to: primary`) active. Needs
/// `confirm: true`; SDK clients switch at their next heartbeat.
#[utoipa::path(post, path = "/api/v1/queues/{project}/{name}/failover", request_body = FailoverInput,
    responses((status = 200, body = SwitchView), (status = 403, body = super::ErrorBody),
        (status = 409, description = "Switched or edited meanwhile", body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub(super) async fn fail_over(
    cx: Ctx,
    Path((project, name)): Path<(String, String)>,
    Json(input): Json<FailoverInput>,
) -> ApiResult<SwitchView> {
    Ok(Json(
        failover::failover(&cx, &project, &name, &input).await?,
    ))
}

/// Moves the queue's active side to another cluster.
#[utoipa::path(post, path = "/api/v1/queues/{project}/{name}/migrate", request_body = MigrateInput,
    responses((status = 200, body = SwitchView), (status = 403, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub(super) async fn migrate(
    cx: Ctx,
    Path((project, name)): Path<(String, String)>,
    Json(input): Json<MigrateInput>,
) -> ApiResult<SwitchView> {
    Ok(Json(failover::migrate(&cx, &project, &name, &input).await?))
}

/// The queue's switches, newest first.
#[utoipa::path(get, path = "/api/v1/queues/{project}/{name}/switches",
    responses((status = 200, body = Vec<SwitchView>), (status = 404, body = super::ErrorBody)))]
pub(super) async fn switches(
    State(s): State<AppState>,
    _actor: Actor,
    Path((project, name)): Path<(String, String)>,
) -> ApiResult<Vec<SwitchView>> {
    Ok(Json(
        failover::history(s.store.as_ref(), &project, &name).await?,
    ))
}

/// The clients heard from recently that still run an older config of the queue.
#[utoipa::path(get, path = "/api/v1/queues/{project}/{name}/rollout",
    responses((status = 200, body = Rollout), (status = 404, body = super::ErrorBody)))]
pub(super) async fn rollout(
    State(s): State<AppState>,
    _actor: Actor,
    Path((project, name)): Path<(String, String)>,
) -> ApiResult<Rollout> {
    Ok(Json(
        failover::rollout(s.store.as_ref(), s.sdk.as_ref(), &project, &name).await?,
    ))
}

/// Fails over every queue active on the cluster that has a second cluster (admins).
#[utoipa::path(post, path = "/api/v1/clusters/{name}/failover", request_body = ClusterFailoverInput,
    responses((status = 200, body = ClusterFailoverResult), (status = 403, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub(super) async fn cluster_failover(
    cx: Ctx,
    Path(name): Path<String>,
    Json(input): Json<ClusterFailoverInput>,
) -> ApiResult<ClusterFailoverResult> {
    Ok(Json(failover::cluster_failover(&cx, &name, &input).await?))
}
