//! `/api/v1`: JSON over HTTP for applications and scripts, described by OpenAPI.

mod failover;
mod health;
mod kafka;
mod lineage;
mod notify;
mod peek;
mod schemas;
mod sdk;

use crate::api::actor::Actor;
use crate::domain::{
    AuditEntry, AuditFilter, ClusterInput, ClusterView, FieldError, Page, PersonalTokenView,
    ProjectInput, ProjectPeopleInput, ProjectView, QueueFilter, QueueInput, QueueView, Role,
    UserAccount, UserView,
};
use crate::domain::{SearchRequest, SearchResults};
use crate::server::services::Ctx;
use crate::server::services::{accounts, audit, clusters, projects, queues, ServiceError};
use crate::server::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

/// A REST error: a status and a JSON body that names the fields at fault.
#[derive(Debug)]
pub struct ApiError(pub ServiceError);

/// The JSON body of every error answer.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: String,
    pub fields: Vec<FieldError>,
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        match &self.0 {
            ServiceError::Overloaded { retry_after_secs } => {
                let body = ErrorBody {
                    error: self.0.to_string(),
                    fields: Vec::new(),
                };
                return (
                    status,
                    [(http::header::RETRY_AFTER, retry_after_secs.to_string())],
                    Json(body),
                )
                    .into_response();
            }
            ServiceError::Internal(e) => tracing::error!(error = ?e, "request failed"),
            _ => {}
        }
        let body = ErrorBody {
            error: self.0.to_string(),
            fields: self.0.fields(),
        };
        (status, Json(body)).into_response()
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

#[derive(OpenApi)]
#[openapi(
    info(title = "Watershed", description = "Logical queues over many Kafka-protocol clusters"),
    paths(
        me, create_token, list_tokens, revoke_token, list_users, create_user, disable_user,
        enable_user, set_project_people, set_own_apps_access, list_projects, create_project, get_project,
        list_clusters, create_cluster, get_cluster, update_cluster, list_queues, create_queue,
        get_queue, update_queue, list_audit, search, create_application, list_applications,
        get_application, create_app_token, revoke_app_token, create_request, list_requests,
        get_request, decide_request, decide_requests, request_context, cancel_request,
        revoke_grant, notify::list_notifications, notify::mark_notifications_read, notify::set_webhook,
        notify::ping_webhook, notify::list_deliveries, schemas::list_versions, schemas::publish,
        schemas::check, schemas::diff, schemas::get_version, schemas::set_mode, schemas::table,
        schemas::catalog, sdk::config, sdk::heartbeat, sdk::reports, lineage::graph,
        lineage::neighbours, lineage::impact, lineage::path, lineage::export, lineage::run_event,
        failover::fail_over, failover::migrate, failover::switches, failover::rollout,
        failover::cluster_failover, kafka::health, kafka::topics, kafka::import,
        kafka::queue_topics, kafka::queue_traffic, health::queue_health, health::set_queue_rule,
        health::reset_queue_rule, health::silence, health::end_silence,
        health::application_health, health::application_rules, health::set_application_rule,
        health::reset_application_rule, health::alerts, health::acknowledge, health::set_email,
        peek::peek_messages, peek::download_messages, schemas::sensitive_fields,
        schemas::set_sensitive_fields
    ),
    components(schemas(ErrorBody, FieldError, Role, UserView, NewToken, TokenRequest, NewUser,
        UserAccount, PersonalTokenView, RevokedToken, ProjectPeopleInput)),
    modifiers(&BearerAuth, &ErrorResponses)
)]
pub struct ApiDoc;

/// Documents the error answers every operation can give, each with the `ErrorBody` shape:
/// bad syntax, no or a bad credential, not allowed, not found, a conflict, a body too large,
/// invalid fields, throttling and an internal error.
struct ErrorResponses;

impl utoipa::Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        const ERRORS: [(&str, &str); 10] = [
            (
                "400",
                "the request could not be read (bad JSON, query or path)",
            ),
            ("401", "sign in or send a valid token"),
            ("403", "not allowed for the caller, or a cross-site request"),
            ("404", "no such thing, or no such route"),
            ("409", "a conflict with what is stored; names the field"),
            ("413", "the request body is too large"),
            (
                "415",
                "the body is not JSON (send content-type: application/json)",
            ),
            ("422", "invalid input; names each field at fault"),
            ("429", "too many requests; retry later"),
            ("500", "an internal error; the cause is in the server's log"),
        ];
        let error = || {
            ResponseBuilder::new().content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                for (code, why) in ERRORS {
                    op.responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| error().description(why).build().into());
                }
            }
        }
    }
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The REST router, mounted at `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/users", get(list_users).post(create_user))
        .route("/users/{name}/disable", axum::routing::post(disable_user))
        .route("/users/{name}/enable", axum::routing::post(enable_user))
        .route("/projects", get(list_projects).post(create_project))
        .route("/projects/{name}", get(get_project))
        .route(
            "/projects/{name}/people",
            axum::routing::put(set_project_people),
        )
        .route(
            "/projects/{name}/own-apps-access",
            axum::routing::put(set_own_apps_access),
        )
        .route("/clusters", get(list_clusters).post(create_cluster))
        .route("/clusters/{name}", get(get_cluster).put(update_cluster))
        .route("/queues", get(list_queues).post(create_queue))
        .route("/queues/{project}/{name}", get(get_queue).put(update_queue))
        .route("/audit", get(list_audit))
        .route("/search", get(search))
        .route(
            "/applications",
            get(list_applications).post(create_application),
        )
        .route("/applications/{project}/{name}", get(get_application))
        .route(
            "/applications/{project}/{name}/tokens",
            axum::routing::post(create_app_token),
        )
        .route(
            "/applications/{project}/{name}/tokens/{id}",
            axum::routing::delete(revoke_app_token),
        )
        .route("/requests", get(list_requests).post(create_request))
        .route("/requests/{id}", get(get_request))
        .route("/requests/decisions", axum::routing::post(decide_requests))
        .route("/requests/{id}/context", get(request_context))
        .route(
            "/requests/{id}/decision",
            axum::routing::post(decide_request),
        )
        .route("/requests/{id}/cancel", axum::routing::post(cancel_request))
        .route("/grants/{id}", axum::routing::delete(revoke_grant))
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .merge(notify::router())
        .merge(schemas::router())
        .merge(sdk::router())
        .merge(lineage::router())
        .merge(failover::router())
        .merge(kafka::router())
        .merge(health::router())
        .merge(peek::router())
        // An unknown API path is a JSON 404, never the console's page (which would render a
        // whole signed-in frame for a client that wanted JSON).
        .fallback(|| async { ApiError(ServiceError::NotFound("API endpoint".into())) })
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
async fn me(Actor(actor): Actor) -> Json<UserView> {
    Json(actor)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    pub name: String,
    /// 1 to 365; 90 when absent.
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    /// Shown once; only its hash is stored.
    pub token: String,
    pub id: i64,
    pub expires_at: Option<i64>,
}

/// Creates a personal API token for the caller (90 days unless told otherwise).
#[utoipa::path(post, path = "/api/v1/tokens", request_body = TokenRequest, responses((status = 200, body = NewToken)))]
async fn create_token(cx: Ctx, Json(req): Json<TokenRequest>) -> ApiResult<NewToken> {
    let (view, token) = accounts::issue_personal_token(&cx, &req.name, req.expires_in_days).await?;
    Ok(Json(NewToken {
        token,
        id: view.id,
        expires_at: view.expires_at,
    }))
}

/// The caller's personal tokens (never their secrets), with when each was last used.
#[utoipa::path(get, path = "/api/v1/tokens", responses((status = 200, body = Vec<PersonalTokenView>)))]
async fn list_tokens(cx: Ctx) -> ApiResult<Vec<PersonalTokenView>> {
    Ok(Json(accounts::personal_tokens(&cx).await?))
}

/// Revokes one of the caller's personal tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", params(("id" = i64, Path)), responses((status = 200, body = RevokedToken)))]
async fn revoke_token(cx: Ctx, Path(id): Path<i64>) -> ApiResult<RevokedToken> {
    accounts::revoke_personal_token(&cx, id).await?;
    Ok(Json(RevokedToken { revoked: id }))
}

/// What a revocation answers.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct RevokedToken {
    pub revoked: i64,
}

/// Disables a user: their sessions end and their personal tokens are revoked (admins only).
#[utoipa::path(post, path = "/api/v1/users/{name}/disable", params(("name" = String, Path)), responses((status = 200, body = UserAccount)))]
async fn disable_user(cx: Ctx, Path(name): Path<String>) -> ApiResult<UserAccount> {
    Ok(Json(accounts::set_disabled(&cx, &name, true).await?))
}

/// Enables a disabled user again (admins only).
#[utoipa::path(post, path = "/api/v1/users/{name}/enable", params(("name" = String, Path)), responses((status = 200, body = UserAccount)))]
async fn enable_user(cx: Ctx, Path(name): Path<String>) -> ApiResult<UserAccount> {
    Ok(Json(accounts::set_disabled(&cx, &name, false).await?))
}

/// Replaces a project's owners and members (its owners and admins).
#[utoipa::path(put, path = "/api/v1/projects/{name}/people", params(("name" = String, Path)), request_body = ProjectPeopleInput, responses((status = 200, body = ProjectView)))]
async fn set_project_people(
    cx: Ctx,
    Path(name): Path<String>,
    Json(input): Json<ProjectPeopleInput>,
) -> ApiResult<ProjectView> {
    Ok(Json(projects::set_people(&cx, &name, &input).await?))
}

/// Lets the project's own applications read and write its queues without an access request
/// (`enabled: true`, the default), or requires requests of them like of anyone (its owners).
#[utoipa::path(put, path = "/api/v1/projects/{name}/own-apps-access", params(("name" = String, Path)), request_body = crate::domain::OwnAppsAccessInput, responses((status = 200, body = ProjectView)))]
async fn set_own_apps_access(
    cx: Ctx,
    Path(name): Path<String>,
    Json(input): Json<crate::domain::OwnAppsAccessInput>,
) -> ApiResult<ProjectView> {
    Ok(Json(
        projects::set_own_apps_access(&cx, &name, input.enabled).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
}

/// Every user, with whether they are disabled (admins only).
#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = Vec<UserAccount>)))]
async fn list_users(cx: Ctx) -> ApiResult<Vec<UserAccount>> {
    Ok(Json(accounts::accounts(&cx).await?))
}

/// Adds a user (admins only).
#[utoipa::path(post, path = "/api/v1/users", request_body = NewUser, responses((status = 200, body = UserView), (status = 403, body = ErrorBody)))]
async fn create_user(
    State(s): State<AppState>,
    Actor(actor): Actor,
    Json(u): Json<NewUser>,
) -> ApiResult<UserView> {
    let id = accounts::create_user(
        s.store.as_ref(),
        Some(&actor),
        &u.username,
        &u.password,
        u.role,
    )
    .await?;
    Ok(Json(UserView {
        id,
        username: u.username.trim().to_lowercase(),
        role: u.role,
    }))
}

/// Every project.
#[utoipa::path(get, path = "/api/v1/projects", responses((status = 200, body = Vec<ProjectView>)))]
async fn list_projects(cx: Ctx) -> ApiResult<Vec<ProjectView>> {
    Ok(Json(projects::list_for(&cx).await?))
}

/// Creates a project; the caller becomes an owner.
#[utoipa::path(post, path = "/api/v1/projects", request_body = ProjectInput,
    responses((status = 200, body = ProjectView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_project(cx: Ctx, Json(p): Json<ProjectInput>) -> ApiResult<ProjectView> {
    Ok(Json(projects::create(&cx, &p).await?))
}

/// One project.
#[utoipa::path(get, path = "/api/v1/projects/{name}", params(("name" = String, Path)), responses((status = 200, body = ProjectView), (status = 404, body = ErrorBody)))]
async fn get_project(cx: Ctx, Path(name): Path<String>) -> ApiResult<ProjectView> {
    Ok(Json(projects::get_for(&cx, &name).await?))
}

/// Every cluster (secrets never included).
#[utoipa::path(get, path = "/api/v1/clusters", responses((status = 200, body = Vec<ClusterView>)))]
async fn list_clusters(
    State(s): State<AppState>,
    Actor(_actor): Actor,
) -> ApiResult<Vec<ClusterView>> {
    Ok(Json(clusters::list(s.store.as_ref()).await?))
}

/// Registers a cluster (admins only).
#[utoipa::path(post, path = "/api/v1/clusters", request_body = ClusterInput, responses((status = 200, body = ClusterView), (status = 403, body = ErrorBody)))]
async fn create_cluster(cx: Ctx, Json(c): Json<ClusterInput>) -> ApiResult<ClusterView> {
    Ok(Json(clusters::create(&cx, &c).await?))
}

/// One cluster.
#[utoipa::path(get, path = "/api/v1/clusters/{name}", params(("name" = String, Path)), responses((status = 200, body = ClusterView)))]
async fn get_cluster(
    State(s): State<AppState>,
    Actor(_actor): Actor,
    Path(name): Path<String>,
) -> ApiResult<ClusterView> {
    Ok(Json(clusters::get(s.store.as_ref(), &name).await?))
}

/// Edits a cluster (admins only); an empty password keeps the stored one.
#[utoipa::path(put, path = "/api/v1/clusters/{name}", params(("name" = String, Path)), request_body = ClusterInput, responses((status = 200, body = ClusterView)))]
async fn update_cluster(
    cx: Ctx,
    Path(name): Path<String>,
    Json(c): Json<ClusterInput>,
) -> ApiResult<ClusterView> {
    Ok(Json(clusters::update(&cx, &name, &c).await?))
}

/// A page of queues.
#[utoipa::path(get, path = "/api/v1/queues", params(QueueFilter), responses((status = 200, body = Page<QueueView>)))]
async fn list_queues(
    State(s): State<AppState>,
    Actor(_actor): Actor,
    Query(f): Query<QueueFilter>,
) -> ApiResult<Page<QueueView>> {
    Ok(Json(queues::list(s.store.as_ref(), &f).await?))
}

/// Creates a logical queue in a project the caller belongs to.
#[utoipa::path(post, path = "/api/v1/queues", request_body = QueueInput,
    responses((status = 200, body = QueueView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_queue(cx: Ctx, Json(q): Json<QueueInput>) -> ApiResult<QueueView> {
    Ok(Json(queues::create(&cx, &q).await?))
}

/// One queue.
#[utoipa::path(get, path = "/api/v1/queues/{project}/{name}", params(("project" = String, Path), ("name" = String, Path)), responses((status = 200, body = QueueView)))]
async fn get_queue(
    State(s): State<AppState>,
    Actor(_actor): Actor,
    Path((project, name)): Path<(String, String)>,
) -> ApiResult<QueueView> {
    Ok(Json(queues::get(s.store.as_ref(), &project, &name).await?))
}

/// Edits a queue.
#[utoipa::path(put, path = "/api/v1/queues/{project}/{name}", params(("project" = String, Path), ("name" = String, Path)), request_body = QueueInput, responses((status = 200, body = QueueView)))]
async fn update_queue(
    cx: Ctx,
    Path((project, name)): Path<(String, String)>,
    Json(q): Json<QueueInput>,
) -> ApiResult<QueueView> {
    Ok(Json(queues::update(&cx, &project, &name, &q).await?))
}

/// The audit log, newest first (admins only).
#[utoipa::path(get, path = "/api/v1/audit", params(AuditFilter), responses((status = 200, body = Page<AuditEntry>)))]
async fn list_audit(cx: Ctx, Query(f): Query<AuditFilter>) -> ApiResult<Page<AuditEntry>> {
    Ok(Json(audit::list(&cx, &f).await?))
}

/// Searches the data map: words (prefix and typo tolerant), `field:value` filters in `q` or as
/// parameters, facet counts, paging.
#[utoipa::path(get, path = "/api/v1/search", params(SearchRequest), responses((status = 200, body = SearchResults)))]
async fn search(cx: Ctx, Query(req): Query<SearchRequest>) -> ApiResult<SearchResults> {
    Ok(Json(
        crate::server::services::search::search(&cx, &req).await?,
    ))
}

use crate::domain::{
    AccessRequestInput, AccessRequestView, AppTokenView, ApplicationInput, ApplicationView,
    BulkDecisionInput, BulkDecisionOutcome, DecisionInput, GrantView, RequestContext,
};
use crate::server::services::access;

/// An application with its tokens (never their secrets) and grants.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApplicationDetail {
    pub application: ApplicationView,
    pub tokens: Vec<AppTokenView>,
    pub grants: Vec<GrantView>,
}

/// A new application token: the secret is in this answer only.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewAppToken {
    pub token: String,
    pub view: AppTokenView,
}

/// Which requests to list.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct RequestList {
    /// `mine` (made by the caller, the default) or `inbox` (waiting for the caller's decision).
    pub view: Option<String>,
}

/// Registers an application in a project the caller belongs to.
#[utoipa::path(post, path = "/api/v1/applications", request_body = ApplicationInput, responses((status = 200, body = ApplicationView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_application(
    cx: Ctx,
    Json(i): Json<ApplicationInput>,
) -> ApiResult<ApplicationView> {
    Ok(Json(access::create_application(&cx, &i).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ApplicationList {
    pub project: Option<String>,
}

/// Applications, optionally of one project.
#[utoipa::path(get, path = "/api/v1/applications", params(ApplicationList), responses((status = 200, body = Vec<ApplicationView>)))]
async fn list_applications(
    State(s): State<AppState>,
    Actor(_actor): Actor,
    Query(q): Query<ApplicationList>,
) -> ApiResult<Vec<ApplicationView>> {
    Ok(Json(
        access::list_applications(s.store.as_ref(), q.project.as_deref()).await?,
    ))
}

/// One application with its tokens and grants.
#[utoipa::path(get, path = "/api/v1/applications/{project}/{name}", params(("project" = String, Path), ("name" = String, Path)), responses((status = 200, body = ApplicationDetail)))]
async fn get_application(
    State(s): State<AppState>,
    Actor(_actor): Actor,
    Path((project, name)): Path<(String, String)>,
) -> ApiResult<ApplicationDetail> {
    let store = s.store.as_ref();
    let application = access::application(store, &project, &name).await?;
    let tokens = access::app_tokens(store, &project, &name).await?;
    let grants = access::grants(store, &project, &name).await?;
    Ok(Json(ApplicationDetail {
        application,
        tokens,
        grants,
    }))
}

/// Issues an application token (shown once). Rotate by issuing a new one and revoking the old.
#[utoipa::path(post, path = "/api/v1/applications/{project}/{name}/tokens", params(("project" = String, Path), ("name" = String, Path)), responses((status = 200, body = NewAppToken), (status = 403, body = ErrorBody)))]
async fn create_app_token(
    cx: Ctx,
    Path((project, name)): Path<(String, String)>,
) -> ApiResult<NewAppToken> {
    let (view, token) = access::create_app_token(&cx, &project, &name).await?;
    Ok(Json(NewAppToken { token, view }))
}

/// Revokes an application token.
#[utoipa::path(delete, path = "/api/v1/applications/{project}/{name}/tokens/{id}", params(("project" = String, Path), ("name" = String, Path), ("id" = i64, Path)), responses((status = 200), (status = 404, body = ErrorBody)))]
async fn revoke_app_token(
    cx: Ctx,
    Path((project, name, id)): Path<(String, String, i64)>,
) -> ApiResult<serde_json::Value> {
    access::revoke_app_token(&cx, &project, &name, id).await?;
    Ok(Json(serde_json::json!({"revoked": id})))
}

/// Asks for consume, produce or both on a queue for an application.
#[utoipa::path(post, path = "/api/v1/requests", request_body = AccessRequestInput, responses((status = 200, body = AccessRequestView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_request(
    cx: Ctx,
    Json(i): Json<AccessRequestInput>,
) -> ApiResult<AccessRequestView> {
    Ok(Json(access::request_access(&cx, &i).await?))
}

/// The caller's requests, or the requests waiting for the caller's decision.
#[utoipa::path(get, path = "/api/v1/requests", params(RequestList), responses((status = 200, body = Vec<AccessRequestView>)))]
async fn list_requests(cx: Ctx, Query(q): Query<RequestList>) -> ApiResult<Vec<AccessRequestView>> {
    Ok(Json(match q.view.as_deref() {
        Some("inbox") => access::inbox(&cx).await?,
        _ => access::my_requests(&cx).await?,
    }))
}

/// One request with its timeline.
#[utoipa::path(get, path = "/api/v1/requests/{id}", params(("id" = i64, Path)), responses((status = 200, body = AccessRequestView)))]
async fn get_request(
    State(s): State<AppState>,
    Actor(_actor): Actor,
    Path(id): Path<i64>,
) -> ApiResult<AccessRequestView> {
    Ok(Json(access::request(s.store.as_ref(), id).await?))
}

/// Approves or rejects a request (never one's own; a rejection needs a comment).
#[utoipa::path(post, path = "/api/v1/requests/{id}/decision", params(("id" = i64, Path)), request_body = DecisionInput, responses((status = 200, body = AccessRequestView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn decide_request(
    cx: Ctx,
    Path(id): Path<i64>,
    Json(d): Json<DecisionInput>,
) -> ApiResult<AccessRequestView> {
    Ok(Json(access::decide(&cx, id, &d).await?))
}

/// Decides several requests at once with one decision and one comment. Each is checked,
/// audited and notified on its own; the answer says what became of each (a refused one does
/// not stop the others).
#[utoipa::path(post, path = "/api/v1/requests/decisions", request_body = BulkDecisionInput, responses((status = 200, body = Vec<BulkDecisionOutcome>), (status = 422, body = ErrorBody)))]
async fn decide_requests(
    cx: Ctx,
    Json(d): Json<BulkDecisionInput>,
) -> ApiResult<Vec<BulkDecisionOutcome>> {
    Ok(Json(access::decide_many(&cx, &d).await?))
}

/// What an approver decides with: what the requesting application already reads, writes and
/// holds, and who else reads the queue (from lineage).
#[utoipa::path(get, path = "/api/v1/requests/{id}/context", params(("id" = i64, Path)), responses((status = 200, body = RequestContext)))]
async fn request_context(cx: Ctx, Path(id): Path<i64>) -> ApiResult<RequestContext> {
    let req = access::request(cx.store(), id).await?;
    Ok(Json(access::request_context(&cx, &req).await?))
}

/// The requester withdraws an open request.
#[utoipa::path(post, path = "/api/v1/requests/{id}/cancel", params(("id" = i64, Path)), responses((status = 200, body = AccessRequestView), (status = 403, body = ErrorBody)))]
async fn cancel_request(cx: Ctx, Path(id): Path<i64>) -> ApiResult<AccessRequestView> {
    Ok(Json(access::cancel(&cx, id).await?))
}

/// Revokes a grant.
#[utoipa::path(delete, path = "/api/v1/grants/{id}", params(("id" = i64, Path)), responses((status = 200, body = GrantView), (status = 403, body = ErrorBody)))]
async fn revoke_grant(cx: Ctx, Path(id): Path<i64>) -> ApiResult<GrantView> {
    Ok(Json(access::revoke_grant(&cx, id).await?))
}
