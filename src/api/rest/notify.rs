//! `/api/v1` endpoints for notifications and project webhooks.

use super::{ApiResult, ErrorBody};
use crate::domain::{NotificationView, ProjectView, WebhookDeliveryView, WebhookInput};
use crate::server::services::notifications;
use crate::server::services::Ctx;
use crate::server::state::AppState;
use axum::extract::Path;
use axum::routing::{get, post};
use axum::{Json, Router};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(list_notifications))
        .route("/notifications/read", post(mark_notifications_read))
        .route("/projects/{name}/webhook", axum::routing::put(set_webhook))
        .route("/projects/{name}/webhook/ping", post(ping_webhook))
        .route("/projects/{name}/webhook/deliveries", get(list_deliveries))
}

/// The caller's newest notifications.
#[utoipa::path(get, path = "/api/v1/notifications", responses((status = 200, body = Vec<NotificationView>)))]
pub(super) async fn list_notifications(cx: Ctx) -> ApiResult<Vec<NotificationView>> {
    Ok(Json(notifications::list(&cx).await?))
}

/// Marks all of the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read", responses((status = 200)))]
pub(super) async fn mark_notifications_read(cx: Ctx) -> ApiResult<serde_json::Value> {
    let n = notifications::mark_read(&cx).await?;
    Ok(Json(serde_json::json!({ "marked": n })))
}

/// Sets, changes or removes (empty `url`) the project's webhook; owners and admins.
/// Deliveries are signed: `X-Watershed-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
#[utoipa::path(put, path = "/api/v1/projects/{name}/webhook", params(("name" = String, Path)), request_body = WebhookInput, responses((status = 200, body = ProjectView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn set_webhook(
    cx: Ctx,
    Path(name): Path<String>,
    Json(input): Json<WebhookInput>,
) -> ApiResult<ProjectView> {
    Ok(Json(notifications::set_webhook(&cx, &name, &input).await?))
}

/// Sends a `ping` event to the project's webhook.
#[utoipa::path(post, path = "/api/v1/projects/{name}/webhook/ping", params(("name" = String, Path)), responses((status = 200), (status = 422, body = ErrorBody)))]
pub(super) async fn ping_webhook(
    cx: Ctx,
    Path(name): Path<String>,
) -> ApiResult<serde_json::Value> {
    notifications::ping_webhook(&cx, &name).await?;
    Ok(Json(serde_json::json!({ "queued": true })))
}

/// The project's recent webhook deliveries with their status and last error.
#[utoipa::path(get, path = "/api/v1/projects/{name}/webhook/deliveries", params(("name" = String, Path)), responses((status = 200, body = Vec<WebhookDeliveryView>), (status = 403, body = ErrorBody)))]
pub(super) async fn list_deliveries(
    cx: Ctx,
    Path(name): Path<String>,
) -> ApiResult<Vec<WebhookDeliveryView>> {
    Ok(Json(notifications::deliveries(&cx, &name).await?))
}
