//! Console server functions for applications, their tokens, access requests and grants.

#[cfg(feature = "ssr")]
use super::ssr::Call;
use super::AppError;
use crate::domain::{AccessRequestView, AppTokenView, ApplicationView, GrantView, RequestContext};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A request with what the viewer may do with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestDetail {
    pub request: AccessRequestView,
    pub can_decide: bool,
    pub can_cancel: bool,
    /// What the application already reads and who else reads the queue.
    pub context: RequestContext,
    pub now: i64,
}

/// The viewer's own requests and those waiting for their decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestLists {
    pub mine: Vec<AccessRequestView>,
    /// The longest waiting first.
    pub inbox: Vec<AccessRequestView>,
    pub now: i64,
}

/// An application with its tokens and grants, and what the viewer may do with them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationDetail {
    pub application: ApplicationView,
    pub tokens: Vec<AppTokenView>,
    pub grants: Vec<GrantView>,
    /// The viewer may issue, rotate and revoke tokens.
    pub can_manage: bool,
    /// Grants the viewer may revoke.
    pub revocable: Vec<i64>,
    /// A token issued a moment ago, shown on this one page view and never again.
    pub new_token: Option<String>,
    /// The consumer groups its SDK clients use, with status and lag in time.
    pub groups: Vec<crate::domain::GroupHealth>,
}

#[cfg(feature = "ssr")]
use crate::server::services::access;

/// Applications the viewer may ask access for (the request form's choices).
#[server(prefix = "/console")]
pub async fn my_applications() -> Result<Vec<ApplicationView>, AppError> {
    let call = Call::new().await?;
    let cx = call.ctx()?;
    // Every queue page's access form lists them: kept for a moment, per viewer.
    call.kept("my_applications", &cx.actor.id.to_string(), || {
        access::my_applications(&cx)
    })
    .await
}

/// Asks for access and goes to the new request's page.
#[server(prefix = "/console")]
pub async fn request_access(
    application: String,
    queue_project: String,
    queue: String,
    permission: String,
    duration: String,
    reason: String,
) -> Result<AccessRequestView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        // The form picks the application as `project/name`.
        let (project, application) = application
            .split_once('/')
            .unwrap_or(("", application.as_str()));
        let form = crate::domain::AccessRequestInput {
            project: project.to_string(),
            application: application.to_string(),
            queue_project,
            queue,
            permission,
            reason,
            duration,
        };
        Ok(access::request_access(&cx, &form).await?)
    }
    .await;
    call.finish(result, |r| format!("/requests/{}", r.id))
}

/// A request, its timeline, and what the viewer may do with it.
#[server(prefix = "/console")]
pub async fn request_page(id: i64) -> Result<RequestDetail, AppError> {
    let call = Call::new().await?;
    let cx = call.ctx()?;
    let store = cx.store();
    let request = access::request(store, id).await?;
    let can_decide = access::can_decide(&cx, &request).await?;
    let can_cancel = access::can_cancel(&cx.actor, &request);
    let context = access::request_context(&cx, &request).await?;
    Ok(RequestDetail {
        request,
        can_decide,
        can_cancel,
        context,
        now: crate::server::db::now_millis(),
    })
}

/// Approves or rejects, then shows the request.
#[server(prefix = "/console")]
pub async fn decide_request(
    id: i64,
    decision: String,
    comment: String,
) -> Result<AccessRequestView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let input = crate::domain::DecisionInput { decision, comment };
        Ok(access::decide(&cx, id, &input).await?)
    }
    .await;
    call.finish(result, |r| format!("/requests/{}", r.id))
}

/// Decides the requests ticked in the inbox (`picked[<id>]`) with one decision and comment,
/// then shows the inbox with what became of each: `decided=<id>` and `refused=<id>`.
#[server(prefix = "/console")]
pub async fn decide_requests(
    picked: Option<std::collections::HashMap<String, String>>,
    decision: String,
    comment: String,
) -> Result<Vec<crate::domain::BulkDecisionOutcome>, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let picked = picked.unwrap_or_default();
        if picked.len() > crate::domain::MAX_BULK_DECISIONS {
            return Err(AppError::from(vec![crate::domain::FieldError::new(
                "ids",
                format!(
                    "at most {} requests at once",
                    crate::domain::MAX_BULK_DECISIONS
                ),
            )]));
        }
        let mut ids = Vec::new();
        for key in picked.into_keys() {
            ids.push(key.parse::<i64>().map_err(|_| {
                AppError::from(vec![crate::domain::FieldError::new(
                    "ids",
                    format!("{key:?} is not a request id"),
                )])
            })?);
        }
        ids.sort_unstable();
        let input = crate::domain::BulkDecisionInput {
            ids,
            decision,
            comment,
        };
        Ok(access::decide_many(&cx, &input).await?)
    }
    .await;
    call.finish(result, |outcomes| {
        let mut url = form_urlencoded::Serializer::new(String::new());
        // Ids only: each request's page says why it was not decided.
        for o in outcomes {
            let key = if o.error.is_none() {
                "decided"
            } else {
                "refused"
            };
            url.append_pair(key, &o.id.to_string());
        }
        format!("/requests?{}#inbox", url.finish())
    })
}

/// Withdraws the viewer's own open request.
#[server(prefix = "/console")]
pub async fn cancel_request(id: i64) -> Result<AccessRequestView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        Ok(access::cancel(&cx, id).await?)
    }
    .await;
    call.finish(result, |r| format!("/requests/{}", r.id))
}

/// The viewer's requests and inbox.
#[server(prefix = "/console")]
pub async fn requests_overview() -> Result<RequestLists, AppError> {
    let call = Call::new().await?;
    let cx = call.ctx()?;
    Ok(RequestLists {
        mine: access::my_requests(&cx).await?,
        inbox: access::inbox(&cx).await?,
        now: crate::server::db::now_millis(),
    })
}

/// How many requests wait for the viewer's decision (the header badge).
#[server(prefix = "/console")]
pub async fn inbox_count() -> Result<i64, AppError> {
    let call = Call::new().await?;
    let cx = call.ctx()?;
    // Every page's header shows it: kept for a moment, per viewer.
    call.kept("inbox_count", &cx.actor.id.to_string(), || async {
        Ok(access::inbox(&cx).await?.len() as i64)
    })
    .await
}

/// An application with its tokens and grants. A token issued a moment ago arrives sealed in a
/// short-lived cookie scoped to this page; it is shown once and the cookie is cleared.
#[server(prefix = "/console")]
pub async fn application_page(
    project: String,
    name: String,
) -> Result<ApplicationDetail, AppError> {
    use crate::server::auth::{cookie_value, new_token_cookie, NEW_TOKEN_COOKIE};
    let call = Call::new().await?;
    let cx = call.ctx()?;
    let store = cx.store();
    let application = access::application(store, &project, &name).await?;
    let tokens = access::app_tokens(store, &project, &name).await?;
    let grants = access::grants(store, &project, &name).await?;
    let can_manage = access::can_manage_app(&cx, &application).await?;
    let mut revocable = Vec::new();
    for g in &grants {
        if access::can_revoke_grant(&cx, g).await? {
            revocable.push(g.id);
        }
    }
    let new_token = match cookie_value(&call.headers, NEW_TOKEN_COOKIE) {
        Some(sealed) => {
            let response = expect_context::<leptos_axum::ResponseOptions>();
            let clear = new_token_cookie(&app_path(&project, &name), "", call.state.secure_cookies);
            if let Ok(v) = http::HeaderValue::from_str(&clear) {
                response.append_header(http::header::SET_COOKIE, v);
            }
            // Sealed as `project/name token`, so it only shows on its own application's page.
            call.state.secrets.open(&sealed).ok().and_then(|plain| {
                plain
                    .strip_prefix(&format!("{project}/{name} "))
                    .map(str::to_string)
            })
        }
        None => None,
    };
    let groups = crate::server::services::health::application_groups(&cx, &project, &name).await?;
    Ok(ApplicationDetail {
        groups,
        application,
        tokens,
        grants,
        can_manage,
        revocable,
        new_token,
    })
}

#[cfg(feature = "ssr")]
fn app_path(project: &str, name: &str) -> String {
    format!("/applications/{project}/{name}")
}

/// Registers an application in a project and goes to its page.
#[server(prefix = "/console")]
pub async fn create_application(
    project: String,
    name: String,
    description: String,
) -> Result<ApplicationView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let input = crate::domain::ApplicationInput {
            project,
            name,
            description,
        };
        Ok(access::create_application(&cx, &input).await?)
    }
    .await;
    call.finish(result, |a| app_path(&a.project, &a.name))
}

/// Issues a token, and with `replaces` revokes that one (rotation); the new token goes to the
/// application page sealed in a cookie, never into a URL.
#[server(prefix = "/console")]
pub async fn issue_app_token(
    project: String,
    name: String,
    #[server(default)] replaces: Option<i64>,
) -> Result<AppTokenView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let (view, token) = match replaces {
            Some(old) => access::rotate_app_token(&cx, &project, &name, old).await?,
            None => access::create_app_token(&cx, &project, &name).await?,
        };
        let sealed = call
            .state
            .secrets
            .seal(&format!("{project}/{name} {token}"));
        let cookie = crate::server::auth::new_token_cookie(
            &app_path(&project, &name),
            &sealed,
            call.state.secure_cookies,
        );
        let response = expect_context::<leptos_axum::ResponseOptions>();
        if let Ok(v) = http::HeaderValue::from_str(&cookie) {
            response.append_header(http::header::SET_COOKIE, v);
        }
        Ok(view)
    }
    .await;
    call.finish(result, |_| app_path(&project, &name))
}

/// Revokes one of an application's tokens.
#[server(prefix = "/console")]
pub async fn revoke_app_token(project: String, name: String, id: i64) -> Result<(), AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        Ok(access::revoke_app_token(&cx, &project, &name, id).await?)
    }
    .await;
    call.finish(result, |_| app_path(&project, &name))
}

/// Revokes a grant, then shows its application.
#[server(prefix = "/console")]
pub async fn revoke_grant(id: i64) -> Result<GrantView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        Ok(access::revoke_grant(&cx, id).await?)
    }
    .await;
    call.finish(result, |g| app_path(&g.project, &g.application))
}
