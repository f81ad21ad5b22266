//! Consumer health: groups with lag in time and status, alert rules, silences, alerts and
//! their acknowledgement, and where the caller's alert e-mails go.

use super::ApiResult;
use crate::domain::{
    AcknowledgeInput, AlertRuleInput, AlertRuleView, AlertView, EmailInput, GroupHealth,
    QueueHealth, SilenceInput, SilenceView,
};
use crate::server::services::{health, Ctx};
use axum::extract::{Path, Query};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

pub(super) fn router() -> Router<crate::server::state::AppState> {
    Router::new()
        .route("/queues/{project}/{name}/health", get(queue_health))
        .route(
            "/queues/{project}/{name}/alert-rules/{kind}",
            put(set_queue_rule).delete(reset_queue_rule),
        )
        .route("/queues/{project}/{name}/silences", post(silence))
        .route(
            "/queues/{project}/{name}/silences/{id}",
            axum::routing::delete(end_silence),
        )
        .route(
            "/applications/{project}/{name}/health",
            get(application_health),
        )
        .route(
            "/applications/{project}/{name}/alert-rules",
            get(application_rules),
        )
        .route(
            "/applications/{project}/{name}/alert-rules/{kind}",
            put(set_application_rule).delete(reset_application_rule),
        )
        .route("/alerts", get(alerts))
        .route("/alerts/{id}/acknowledge", post(acknowledge))
        .route("/me/email", put(set_email))
}

/// A queue's consumer groups (status, lag in messages and seconds), the alert rules in force
/// (its own or the defaults), silences in force and its recent alerts.
#[utoipa::path(get, path = "/api/v1/queues/{project}/{name}/health",
    params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = QueueHealth)))]
pub(super) async fn queue_health(
    cx: Ctx,
    Path((project, name)): Path<(String, String)>,
) -> ApiResult<QueueHealth> {
    Ok(Json(health::queue_health(&cx, &project, &name).await?))
}

/// Sets the queue's rule of one kind (`lag_messages`, `lag_seconds`, `group_stalled`,
/// `producer_silent`, `stale_clients`, `cluster_unreachable`); its project's owners.
#[utoipa::path(put, path = "/api/v1/queues/{project}/{name}/alert-rules/{kind}",
    params(("project" = String, Path), ("name" = String, Path), ("kind" = String, Path)),
    request_body = AlertRuleInput, responses((status = 200, body = Vec<AlertRuleView>)))]
pub(super) async fn set_queue_rule(
    cx: Ctx,
    Path((project, name, kind)): Path<(String, String, String)>,
    Json(input): Json<AlertRuleInput>,
) -> ApiResult<Vec<AlertRuleView>> {
    Ok(Json(
        health::set_queue_rule(&cx, &project, &name, &kind, &input).await?,
    ))
}

/// Removes the queue's own rule of one kind: its default applies again.
#[utoipa::path(delete, path = "/api/v1/queues/{project}/{name}/alert-rules/{kind}",
    params(("project" = String, Path), ("name" = String, Path), ("kind" = String, Path)),
    responses((status = 200, body = Vec<AlertRuleView>)))]
pub(super) async fn reset_queue_rule(
    cx: Ctx,
    Path((project, name, kind)): Path<(String, String, String)>,
) -> ApiResult<Vec<AlertRuleView>> {
    Ok(Json(
        health::reset_queue_rule(&cx, &project, &name, &kind).await?,
    ))
}

/// Silences the queue's alerts (all, one group's or one kind's) until `ends_at`; alerts are
/// still recorded, their notifications are held back.
#[utoipa::path(post, path = "/api/v1/queues/{project}/{name}/silences",
    params(("project" = String, Path), ("name" = String, Path)),
    request_body = SilenceInput, responses((status = 200, body = SilenceView)))]
pub(super) async fn silence(
    cx: Ctx,
    Path((project, name)): Path<(String, String)>,
    Json(input): Json<SilenceInput>,
) -> ApiResult<SilenceView> {
    Ok(Json(health::silence(&cx, &project, &name, &input).await?))
}

/// What ending a silence answers.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ended {
    pub ended: i64,
}

/// Ends a silence now.
#[utoipa::path(delete, path = "/api/v1/queues/{project}/{name}/silences/{id}",
    params(("project" = String, Path), ("name" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = Ended)))]
pub(super) async fn end_silence(
    cx: Ctx,
    Path((project, name, id)): Path<(String, String, i64)>,
) -> ApiResult<Ended> {
    health::end_silence(&cx, &project, &name, id).await?;
    Ok(Json(Ended { ended: id }))
}

/// The consumer groups the application's SDK clients use, on every queue.
#[utoipa::path(get, path = "/api/v1/applications/{project}/{name}/health",
    params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Vec<GroupHealth>)))]
pub(super) async fn application_health(
    cx: Ctx,
    Path((project, name)): Path<(String, String)>,
) -> ApiResult<Vec<GroupHealth>> {
    Ok(Json(
        health::application_groups(&cx, &project, &name).await?,
    ))
}

/// The application's own alert rules, for its consumer groups on every queue.
#[utoipa::path(get, path = "/api/v1/applications/{project}/{name}/alert-rules",
    params(("project" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Vec<AlertRuleView>)))]
pub(super) async fn application_rules(
    cx: Ctx,
    Path((project, name)): Path<(String, String)>,
) -> ApiResult<Vec<AlertRuleView>> {
    Ok(Json(health::application_rules(&cx, &project, &name).await?))
}

/// Sets the application's rule of one kind (`lag_messages`, `lag_seconds`, `group_stalled`):
/// its owner, its project's owners and admins.
#[utoipa::path(put, path = "/api/v1/applications/{project}/{name}/alert-rules/{kind}",
    params(("project" = String, Path), ("name" = String, Path), ("kind" = String, Path)),
    request_body = AlertRuleInput, responses((status = 200, body = Vec<AlertRuleView>)))]
pub(super) async fn set_application_rule(
    cx: Ctx,
    Path((project, name, kind)): Path<(String, String, String)>,
    Json(input): Json<AlertRuleInput>,
) -> ApiResult<Vec<AlertRuleView>> {
    Ok(Json(
        health::set_application_rule(&cx, &project, &name, &kind, Some(&input)).await?,
    ))
}

/// Removes the application's rule of one kind.
#[utoipa::path(delete, path = "/api/v1/applications/{project}/{name}/alert-rules/{kind}",
    params(("project" = String, Path), ("name" = String, Path), ("kind" = String, Path)),
    responses((status = 200, body = Vec<AlertRuleView>)))]
pub(super) async fn reset_application_rule(
    cx: Ctx,
    Path((project, name, kind)): Path<(String, String, String)>,
) -> ApiResult<Vec<AlertRuleView>> {
    Ok(Json(
        health::set_application_rule(&cx, &project, &name, &kind, None).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(super) struct AlertsQuery {
    /// Only alerts firing now.
    #[serde(default)]
    firing: bool,
}

/// Alerts of every queue, newest first.
#[utoipa::path(get, path = "/api/v1/alerts", params(AlertsQuery),
    responses((status = 200, body = Vec<AlertView>)))]
pub(super) async fn alerts(cx: Ctx, Query(q): Query<AlertsQuery>) -> ApiResult<Vec<AlertView>> {
    Ok(Json(health::alerts(&cx, q.firing).await?))
}

/// Acknowledges a firing alert with a comment and an end time: its notifications are held
/// back until then (the queue's project owners).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/acknowledge", params(("id" = i64, Path)),
    request_body = AcknowledgeInput, responses((status = 200, body = AlertView)))]
pub(super) async fn acknowledge(
    cx: Ctx,
    Path(id): Path<i64>,
    Json(input): Json<AcknowledgeInput>,
) -> ApiResult<AlertView> {
    Ok(Json(health::acknowledge(&cx, id, &input).await?))
}

/// Sets (or, empty, removes) where the caller's alert e-mails go.
#[utoipa::path(put, path = "/api/v1/me/email", request_body = EmailInput,
    responses((status = 200, body = EmailInput)))]
pub(super) async fn set_email(cx: Ctx, Json(input): Json<EmailInput>) -> ApiResult<EmailInput> {
    let email = health::set_email(&cx, &input).await?;
    Ok(Json(EmailInput {
        email: email.unwrap_or_default(),
    }))
}
