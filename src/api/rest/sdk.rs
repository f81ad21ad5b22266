//! `/api/v1/sdk`: the Stream-SDK's control plane, authenticated by application tokens.

use super::{ApiError, ApiResult};
use crate::domain::FieldError;
use crate::domain::{
    ApplicationView, ConfigRequest, HeartbeatRequest, HeartbeatResponse, ReportAck, ReportBatch,
    SdkConfig,
};
use crate::server::services::ServiceError;
use crate::server::state::AppState;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequestParts, State};
use axum::routing::post;
use axum::{Json, Router};
use http::request::Parts;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/sdk/config", post(config))
        .route("/sdk/heartbeat", post(heartbeat))
        .route("/sdk/reports", post(reports))
}

/// The calling application (from its `Authorization: Bearer wsa_…` token) and its address.
pub(super) struct SdkCaller {
    app: ApplicationView,
    ip: IpAddr,
}

impl FromRequestParts<AppState> for SdkCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let app = state.sdk.authenticate(token).await?;
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(SdkCaller {
            ip: crate::server::auth::client_ip(state, peer, &parts.headers),
            app,
        })
    }
}

/// Where a queue lives now, for an application with a live grant in that role.
#[utoipa::path(post, path = "/api/v1/sdk/config", request_body = ConfigRequest,
    security(("token" = [])),
    responses((status = 200, body = SdkConfig), (status = 401, body = super::ErrorBody),
        (status = 403, description = "No live grant for the role; the error says which", body = super::ErrorBody),
        (status = 404, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub(super) async fn config(
    State(state): State<AppState>,
    caller: SdkCaller,
    Json(req): Json<ConfigRequest>,
) -> ApiResult<SdkConfig> {
    Ok(Json(state.sdk.config(&caller.app, &req, caller.ip).await?))
}

/// Every minute: the new config of each listed queue whose mapping changed.
#[utoipa::path(post, path = "/api/v1/sdk/heartbeat", request_body = HeartbeatRequest,
    security(("token" = [])),
    responses((status = 200, body = HeartbeatResponse), (status = 401, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub(super) async fn heartbeat(
    State(state): State<AppState>,
    caller: SdkCaller,
    Json(req): Json<HeartbeatRequest>,
) -> ApiResult<HeartbeatResponse> {
    Ok(Json(state.sdk.heartbeat(&caller.app, &req).await?))
}

/// Batched read/write metadata; answered once stored. 429 with `Retry-After` when the
/// collector is full.
#[utoipa::path(post, path = "/api/v1/sdk/reports", request_body = ReportBatch,
    security(("token" = [])),
    responses((status = 200, body = ReportAck), (status = 401, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody), (status = 422, body = super::ErrorBody),
        (status = 429, description = "Collector full: retry after the Retry-After header's seconds", body = super::ErrorBody),
        (status = 503, body = super::ErrorBody)))]
pub(super) async fn reports(
    State(state): State<AppState>,
    caller: SdkCaller,
    body: axum::body::Bytes,
) -> ApiResult<ReportAck> {
    // A full collector answers before the body is even parsed: overload costs little.
    state
        .sdk
        .collector
        .check_room()
        .map_err(ServiceError::from)?;
    let batch: ReportBatch = serde_json::from_slice(&body).map_err(|e| {
        ServiceError::Invalid(vec![FieldError::new(
            "reports",
            format!("not a batch of reports: {e}"),
        )])
    })?;
    Ok(Json(
        state.sdk.reports(&caller.app, &batch, caller.ip).await?,
    ))
}
