//! `/api/v1` endpoints for queue schemas and the table catalog.

use super::{ApiResult, ErrorBody};
use crate::api::actor::Actor;
use crate::domain::{
    CatalogTable, FieldChange, SchemaCheck, SchemaInput, SchemaVersionView, SensitiveFields,
    SensitiveFieldsInput,
};
use crate::server::services::schemas;
use crate::server::services::Ctx;
use crate::server::state::AppState;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/queues/{project}/{name}/schemas",
            get(list_versions).post(publish),
        )
        .route("/queues/{project}/{name}/schemas/check", post(check))
        .route("/queues/{project}/{name}/schemas/diff", get(diff))
        .route(
            "/queues/{project}/{name}/schemas/{version}",
            get(get_version),
        )
        .route("/queues/{project}/{name}/compatibility", put(set_mode))
        .route(
            "/queues/{project}/{name}/sensitive-fields",
            get(sensitive_fields).put(set_sensitive_fields),
        )
        .route("/queues/{project}/{name}/table", get(table))
        .route("/catalog/tables", get(catalog))
}

/// A queue's schema versions, oldest first.
#[utoipa::path(get, path = "/api/v1/queues/{project}/{name}/schemas", params(("project" = String, Path), ("name" = String, Path)), responses((status = 200, body = Vec<SchemaVersionView>)))]
pub(super) async fn list_versions(
    State(s): State<AppState>,
    Actor(_actor): Actor,
    Path((project, name)): Path<(String, String)>,
) -> ApiResult<Vec<SchemaVersionView>> {
    Ok(Json(
        schemas::versions(s.store.as_ref(), &project, &name).await?,
    ))
}

/// Publishes a version; refused (422) with each offending field when it breaks the queue's
/// compatibility mode. The same schema again returns its existing version.
#[utoipa::path(post, path = "/api/v1/queues/{project}/{name}/schemas", params(("project" = String, Path), ("name" = String, Path)), request_body = SchemaInput, responses((status = 200, body = SchemaVersionView), (status = 422, body = ErrorBody)))]
pub(super) async fn publish(
    cx: Ctx,
    Path((project, name)): Path<(String, String)>,
    Json(input): Json<SchemaInput>,
) -> ApiResult<SchemaVersionView> {
    Ok(Json(schemas::publish(&cx, &project, &name, &input).await?))
}

/// Checks a draft without storing it: parse errors, problems under the mode, changes.
#[utoipa::path(post, path = "/api/v1/queues/{project}/{name}/schemas/check", params(("project" = String, Path), ("name" = String, Path)), request_body = SchemaInput, responses((status = 200, body = SchemaCheck)))]
pub(super) async fn check(
    State(s): State<AppState>,
    Actor(_actor): Actor,
    Path((project, name)): Path<(String, String)>,
    Json(input): Json<SchemaInput>,
) -> ApiResult<SchemaCheck> {
    Ok(Json(
        schemas::check_draft(s.store.as_ref(), &project, &name, &input, None).await?,
    ))
}

#[derive(Deserialize, Serialize, utoipa::IntoParams)]
pub(super) struct DiffParams {
    pub from: i64,
    pub to: i64,
}

/// The field-level changes between two versions, each with its compatibility impact.
#[utoipa::path(get, path = "/api/v1/queues/{project}/{name}/schemas/diff", params(("project" = String, Path), ("name" = String, Path), DiffParams), responses((status = 200, body = Vec<FieldChange>)))]
pub(super) async fn diff(
    State(s): State<AppState>,
    Actor(_actor): Actor,
    Path((project, name)): Path<(String, String)>,
    Query(d): Query<DiffParams>,
) -> ApiResult<Vec<FieldChange>> {
    Ok(Json(
        schemas::diff(s.store.as_ref(), &project, &name, d.from, d.to).await?,
    ))
}

/// One version.
#[utoipa::path(get, path = "/api/v1/queues/{project}/{name}/schemas/{version}", params(("project" = String, Path), ("name" = String, Path), ("version" = i64, Path)), responses((status = 200, body = SchemaVersionView), (status = 404, body = ErrorBody)))]
pub(super) async fn get_version(
    State(s): State<AppState>,
    Actor(_actor): Actor,
    Path((project, name, version)): Path<(String, String, i64)>,
) -> ApiResult<SchemaVersionView> {
    Ok(Json(
        schemas::version(s.store.as_ref(), &project, &name, version).await?,
    ))
}

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
pub(super) struct ModeBody {
    /// NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE
    pub compatibility: String,
}

/// Sets the queue's compatibility mode (owners of its project, admins).
#[utoipa::path(put, path = "/api/v1/queues/{project}/{name}/compatibility", params(("project" = String, Path), ("name" = String, Path)), request_body = ModeBody, responses((status = 200, body = ModeBody), (status = 403, body = ErrorBody)))]
pub(super) async fn set_mode(
    cx: Ctx,
    Path((project, name)): Path<(String, String)>,
    Json(m): Json<ModeBody>,
) -> ApiResult<ModeBody> {
    let mode = schemas::set_mode(&cx, &project, &name, &m.compatibility).await?;
    Ok(Json(ModeBody {
        compatibility: mode.to_string(),
    }))
}

/// The queue's sensitive fields: marked in its latest schema, and marked by its owners.
#[utoipa::path(get, path = "/api/v1/queues/{project}/{name}/sensitive-fields", params(("project" = String, Path), ("name" = String, Path)), responses((status = 200, body = SensitiveFields), (status = 404, body = ErrorBody)))]
pub(super) async fn sensitive_fields(
    State(s): State<AppState>,
    _actor: Actor,
    Path((project, name)): Path<(String, String)>,
) -> ApiResult<SensitiveFields> {
    let q = crate::server::services::queues::get(s.store.as_ref(), &project, &name).await?;
    let (in_schema, marked) = schemas::sensitive_fields(s.store.as_ref(), &q).await?;
    Ok(Json(SensitiveFields { in_schema, marked }))
}

/// Marks exactly these fields of the latest version sensitive (owners of its project, admins);
/// peeks mask them for everyone but the project's owners. Audited.
#[utoipa::path(put, path = "/api/v1/queues/{project}/{name}/sensitive-fields", params(("project" = String, Path), ("name" = String, Path)), request_body = SensitiveFieldsInput, responses((status = 200, body = SensitiveFields), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn set_sensitive_fields(
    cx: Ctx,
    Path((project, name)): Path<(String, String)>,
    Json(input): Json<SensitiveFieldsInput>,
) -> ApiResult<SensitiveFields> {
    schemas::set_sensitive_fields(&cx, &project, &name, &input.fields).await?;
    let q = crate::server::services::queues::get(cx.store(), &project, &name).await?;
    let (in_schema, marked) = schemas::sensitive_fields(cx.store(), &q).await?;
    Ok(Json(SensitiveFields { in_schema, marked }))
}

/// The queue as a table: columns and Flink SQL DDL (404 without a schema).
#[utoipa::path(get, path = "/api/v1/queues/{project}/{name}/table", params(("project" = String, Path), ("name" = String, Path)), responses((status = 200, body = CatalogTable), (status = 404, body = ErrorBody)))]
pub(super) async fn table(
    State(s): State<AppState>,
    Actor(_actor): Actor,
    Path((project, name)): Path<(String, String)>,
) -> ApiResult<CatalogTable> {
    schemas::table(s.store.as_ref(), &project, &name)
        .await?
        .map(Json)
        .ok_or_else(|| {
            crate::server::services::ServiceError::NotFound(format!("a schema of {project}/{name}"))
                .into()
        })
}

/// Every queue with a schema as a table, for a metadata centre to sync.
#[utoipa::path(get, path = "/api/v1/catalog/tables", responses((status = 200, body = Vec<CatalogTable>)))]
pub(super) async fn catalog(
    State(s): State<AppState>,
    Actor(_actor): Actor,
) -> ApiResult<Vec<CatalogTable>> {
    Ok(Json(schemas::catalog(s.store.as_ref()).await?))
}
