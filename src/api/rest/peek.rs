//! Peek: a queue's messages, decoded with its schema and masked where sensitive, as JSON or as
//! JSON lines to download.

use super::{ApiError, ApiResult};
use crate::domain::{Peek, PeekInput};
use crate::server::services::{peek, Ctx};
use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

pub(super) fn router() -> Router<crate::server::state::AppState> {
    Router::new()
        .route("/queues/{project}/{name}/messages", get(peek_messages))
        .route(
            "/queues/{project}/{name}/messages/download",
            get(download_messages),
        )
}

/// The queue's newest messages (or from an offset or a time), filtered by key, a field's value
/// or text within a byte and time budget the answer reports; sensitive fields masked for all
/// but the project's owners who ask (`unmask`). Never joins a consumer group. Audited.
#[utoipa::path(get, path = "/api/v1/queues/{project}/{name}/messages", params(PeekInput),
    responses((status = 200, body = Peek), (status = 403, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody), (status = 422, body = super::ErrorBody),
        (status = 503, body = super::ErrorBody)))]
pub(super) async fn peek_messages(
    cx: Ctx,
    Path((project, name)): Path<(String, String)>,
    Query(input): Query<PeekInput>,
) -> ApiResult<Peek> {
    Ok(Json(peek::peek(&cx, &project, &name, &input).await?))
}

/// The same messages as JSON lines (`application/x-ndjson`), masked as shown, one message a
/// line with its value as JSON where it decodes.
#[utoipa::path(get, path = "/api/v1/queues/{project}/{name}/messages/download", params(PeekInput),
    responses((status = 200, content_type = "application/x-ndjson", body = String),
        (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody), (status = 503, body = super::ErrorBody)))]
pub(super) async fn download_messages(
    cx: Ctx,
    Path((project, name)): Path<(String, String)>,
    Query(input): Query<PeekInput>,
) -> Result<impl IntoResponse, ApiError> {
    let found = peek::peek(&cx, &project, &name, &input).await?;
    let file = format!("attachment; filename=\"{project}.{name}.jsonl\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_string()),
            (header::CONTENT_DISPOSITION, file),
        ],
        peek::json_lines(&found),
    ))
}
