//! Access: applications and their tokens, access requests, decisions and grants.
//!
//! Rules enforced here, each with its own test: nobody decides their own request (four-eyes);
//! a rejection needs a reason; the requester may cancel while the request is open; two
//! approvers deciding at once produce exactly one decision; a second open request for the same
//! application, queue and permission is refused with a link to the first; a queue carrying the
//! sensitive tag needs an admin's approval after the owner's.

mod notices;

use super::Ctx;
use super::{projects, queues, require_writer, ServiceError, ServiceResult};
use crate::domain::{
    AccessRequestInput, AccessRequestView, AppTokenView, ApplicationInput, ApplicationView,
    BulkDecisionInput, BulkDecisionOutcome, DecisionInput, FieldError, GrantView, Permission,
    ProjectView, QueueView, RequestContext, RequestStatus, UserView,
};
use crate::server::db::{
    now_millis, AccessRequestRow, ApplicationRow, AuditEvent, RequestFilter, RequestTransition,
    Store, StoreError,
};
use crate::server::services::accounts::{random_token, token_hash};

/// Application tokens start with this.
pub const APP_TOKEN_PREFIX: &str = "wsa_";
/// Queues with this tag need an admin's approval after an owner's.
pub const DEFAULT_SENSITIVE_TAG: &str = "pii";

fn audit(
    actor: &UserView,
    action: &'static str,
    kind: &'static str,
    target: String,
    summary: String,
) -> AuditEvent {
    AuditEvent {
        actor: actor.username.clone(),
        action,
        target_kind: kind,
        target,
        summary,
    }
}

/// Registers an application in a project the actor belongs to; the actor owns it.
pub async fn create_application(
    cx: &Ctx,
    input: &ApplicationInput,
) -> ServiceResult<ApplicationView> {
    let (project, name, description) = input.parse()?;
    let p = projects::get(cx.store(), project.as_str()).await?;
    projects::require_member(cx, &p).await?;
    let row = ApplicationRow {
        project_id: p.id,
        name: name.to_string(),
        owner: cx.actor.username.clone(),
        description,
    };
    let target = format!("{project}/{name}");
    cx.store
        .create_application(
            &row,
            &audit(
                &cx.actor,
                "application.create",
                "application",
                target.clone(),
                row.description.clone(),
            ),
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ServiceError::Conflict(FieldError::new(
                "name",
                format!(
                    "project {:?} already has an application named {:?}",
                    project.as_str(),
                    name.as_str()
                ),
            )),
            e => e.into(),
        })?;
    application(cx.store(), project.as_str(), name.as_str()).await
}

/// One application.
pub async fn application(
    store: &dyn Store,
    project: &str,
    name: &str,
) -> ServiceResult<ApplicationView> {
    store
        .application(project, name)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("application {project}/{name}")))
}

/// Whether `actor` manages the application's tokens: its owner, its project's owners and
/// admins do.
pub async fn can_manage_app(cx: &Ctx, app: &ApplicationView) -> ServiceResult<bool> {
    if !cx.actor.role.can_write() {
        return Ok(false);
    }
    if cx.actor.role.is_admin() || app.owner == cx.actor.username {
        return Ok(true);
    }
    let p = projects::get(cx.store(), &app.project).await?;
    Ok(cx.store.project_role(p.id, cx.actor.id).await?.as_deref() == Some("owner"))
}

async fn require_app_manager(cx: &Ctx, app: &ApplicationView) -> ServiceResult<()> {
    require_writer(&cx.actor)?;
    if can_manage_app(cx, app).await? {
        return Ok(());
    }
    Err(ServiceError::Forbidden(format!(
        "only the owner of {}/{} or of project {:?} can manage its credentials",
        app.project, app.name, app.project
    )))
}

/// An application's tokens (prefixes only), newest first.
pub async fn app_tokens(
    store: &dyn Store,
    project: &str,
    name: &str,
) -> ServiceResult<Vec<AppTokenView>> {
    let app = application(store, project, name).await?;
    let mut tokens = store.app_tokens(app.id).await?;
    tokens.sort_by_key(|t| std::cmp::Reverse(t.id));
    Ok(tokens)
}

/// Rotation: issues a new token, then revokes `old`. The old one keeps working until the new
/// one exists, so a client can switch without a gap.
pub async fn rotate_app_token(
    cx: &Ctx,
    project: &str,
    name: &str,
    old: i64,
) -> ServiceResult<(AppTokenView, String)> {
    let app = application(cx.store(), project, name).await?;
    require_app_manager(cx, &app).await?;
    if !cx
        .store()
        .app_tokens(app.id)
        .await?
        .iter()
        .any(|t| t.id == old && t.revoked_at.is_none())
    {
        return Err(ServiceError::NotFound(format!(
            "live token {old} of {project}/{name}"
        )));
    }
    let issued = create_app_token(cx, project, name).await?;
    revoke_app_token(cx, project, name, old).await?;
    Ok(issued)
}

/// Issues a new token for an application: at least 128 random bits, shown once, stored as a hash.
pub async fn create_app_token(
    cx: &Ctx,
    project: &str,
    name: &str,
) -> ServiceResult<(AppTokenView, String)> {
    let app = application(cx.store(), project, name).await?;
    require_app_manager(cx, &app).await?;
    let token = format!("{APP_TOKEN_PREFIX}{}", random_token());
    let prefix: String = token.chars().take(APP_TOKEN_PREFIX.len() + 6).collect();
    let id = cx
        .store()
        .create_app_token(
            app.id,
            &prefix,
            &token_hash(&token),
            &audit(
                &cx.actor,
                "app_token.create",
                "application",
                format!("{project}/{name}"),
                format!("token {prefix}…"),
            ),
        )
        .await?;
    let view = AppTokenView {
        id,
        prefix,
        created_at: now_millis(),
        revoked_at: None,
    };
    Ok((view, token))
}

/// Revokes one token; rotating is issuing a new one and revoking the old.
pub async fn revoke_app_token(
    cx: &Ctx,
    project: &str,
    name: &str,
    token_id: i64,
) -> ServiceResult<()> {
    let app = application(cx.store(), project, name).await?;
    require_app_manager(cx, &app).await?;
    let done = cx
        .store()
        .revoke_app_token(
            app.id,
            token_id,
            &audit(
                &cx.actor,
                "app_token.revoke",
                "application",
                format!("{project}/{name}"),
                format!("token {token_id}"),
            ),
        )
        .await?;
    if done {
        Ok(())
    } else {
        Err(ServiceError::NotFound(format!(
            "live token {token_id} of {project}/{name}"
        )))
    }
}

/// The application a presented token belongs to, if the token is live.
pub async fn application_for_token(
    store: &dyn Store,
    token: &str,
) -> ServiceResult<Option<ApplicationView>> {
    if !token.starts_with(APP_TOKEN_PREFIX) {
        return Ok(None);
    }
    Ok(store.app_by_token(&token_hash(token)).await?)
}

/// May `actor` make the first decision on requests for `queue`? Its project's owners, approvers
/// and admins may.
async fn is_queue_approver(cx: &Ctx, queue_project: &ProjectView) -> ServiceResult<bool> {
    use crate::domain::Role;
    Ok(matches!(cx.actor.role, Role::Admin | Role::Approver)
        || cx
            .store()
            .project_role(queue_project.id, cx.actor.id)
            .await?
            .as_deref()
            == Some("owner"))
}

/// Asks for access to a queue for an application of a project the actor belongs to.
pub async fn request_access(
    cx: &Ctx,
    input: &AccessRequestInput,
) -> ServiceResult<AccessRequestView> {
    let spec = input.parse()?;
    let app = application(cx.store(), spec.project.as_str(), spec.application.as_str()).await?;
    let app_project = projects::get(cx.store(), &app.project).await?;
    projects::require_member(cx, &app_project)
        .await
        .map_err(|_| {
            ServiceError::Forbidden(format!(
                "only members of project {:?} can ask for access for its applications",
                app.project
            ))
        })?;
    let queue: QueueView =
        queues::get(cx.store(), spec.queue_project.as_str(), spec.queue.as_str()).await?;
    let permission = spec.permission.to_string();
    let row = AccessRequestRow {
        application_id: app.id,
        queue_id: queue.id,
        permission: permission.clone(),
        reason: spec.reason.clone(),
        duration_days: spec.duration_days,
        requester: cx.actor.username.clone(),
        needs_admin: queue.tags.iter().any(|t| t == &cx.sensitive_tag),
    };
    let target = format!(
        "{}/{} → {}/{}",
        app.project, app.name, queue.project, queue.name
    );
    let notice = |id: &i64| {
        notices::created(&AccessRequestView {
            id: *id,
            project: app.project.clone(),
            application: app.name.clone(),
            queue_project: queue.project.clone(),
            queue: queue.name.clone(),
            permission: spec.permission,
            reason: spec.reason.clone(),
            duration_days: spec.duration_days,
            requester: cx.actor.username.clone(),
            needs_admin: row.needs_admin,
            status: RequestStatus::Pending,
            created_at: now_millis(),
            events: Vec::new(),
        })
    };
    let created = cx
        .store()
        .create_access_request(
            &row,
            &audit(
                &cx.actor,
                "access_request.create",
                "access_request",
                target,
                format!("{permission}: {}", spec.reason),
            ),
            &notice,
        )
        .await;
    let id = match created {
        Ok(id) => id,
        Err(StoreError::Conflict(_)) => {
            let first = cx
                .store()
                .open_request(app.id, queue.id, &permission)
                .await?
                .unwrap_or_default();
            return Err(ServiceError::Conflict(FieldError::new(
                "permission",
                format!("an open request for {permission} already exists: /requests/{first}"),
            )));
        }
        Err(e) => return Err(e.into()),
    };
    request(cx.store(), id).await
}

/// One request with its timeline.
pub async fn request(store: &dyn Store, id: i64) -> ServiceResult<AccessRequestView> {
    store
        .access_request(id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("request {id}")))
}

/// Approves or rejects. The first approval comes from the queue's project owners or an
/// approver; a sensitive queue then needs an admin other than the first approver.
///
/// Four eyes on both sides: the decider is neither the requester nor an owner of the
/// requesting application or its project (an admin may be the latter, and the audit entry
/// says so). Whether the queue is sensitive is read from its tags at each decision, not when the
/// request was filed.
pub async fn decide(cx: &Ctx, id: i64, input: &DecisionInput) -> ServiceResult<AccessRequestView> {
    require_writer(&cx.actor)?;
    let req = request(cx.store(), id).await?;
    if req.requester == cx.actor.username {
        return Err(ServiceError::Forbidden(
            "you cannot decide your own request".into(),
        ));
    }
    let owns_requesting_project = owns_requesting_project(cx, &req).await?;
    if owns_requesting_project && !cx.actor.role.is_admin() {
        return Err(ServiceError::Forbidden(format!(
            "you own {}/{} or its project, which is asking for access: someone outside it decides",
            req.project, req.application
        )));
    }
    let approve = match input.decision.trim() {
        "approve" => true,
        "reject" => false,
        other => {
            return Err(vec![FieldError::new(
                "decision",
                format!("{other:?} is not approve or reject"),
            )]
            .into())
        }
    };
    let comment = input.comment.trim().to_string();
    if !approve && comment.is_empty() {
        return Err(vec![FieldError::new("comment", "a rejection needs a reason")].into());
    }
    let queue_project = projects::get(cx.store(), &req.queue_project).await?;
    let (event, to, grant) = match (req.status, approve) {
        (RequestStatus::Pending, _) => {
            if !is_queue_approver(cx, &queue_project).await? {
                return Err(ServiceError::Forbidden(format!(
                    "only owners of project {:?}, approvers and admins decide requests for its queues",
                    req.queue_project
                )));
            }
            let queue = queues::get(cx.store(), &req.queue_project, &req.queue).await?;
            let sensitive = req.needs_admin || queue.tags.iter().any(|t| t == &cx.sensitive_tag);
            match (approve, sensitive) {
                (false, _) => ("rejected", RequestStatus::Rejected, None),
                (true, true) => ("approved", RequestStatus::OwnerApproved, None),
                (true, false) => ("approved", RequestStatus::Approved, Some(req.duration_days)),
            }
        }
        (RequestStatus::OwnerApproved, _) => {
            if !cx.actor.role.is_admin() {
                return Err(ServiceError::Forbidden(
                    "this queue is sensitive: an admin gives the second approval".into(),
                ));
            }
            let first = req
                .events
                .iter()
                .rev()
                .find(|e| e.kind == "approved")
                .map(|e| e.actor.as_str());
            if first == Some(cx.actor.username.as_str()) {
                return Err(ServiceError::Forbidden(
                    "the second approval must come from someone else".into(),
                ));
            }
            if approve {
                (
                    "admin_approved",
                    RequestStatus::Approved,
                    Some(req.duration_days),
                )
            } else {
                ("rejected", RequestStatus::Rejected, None)
            }
        }
        (status, _) => return Err(already_decided(id, status)),
    };
    let t = RequestTransition {
        from: req.status,
        to,
        actor: cx.actor.username.clone(),
        event,
        comment: comment.clone(),
        grant,
    };
    let action = if approve {
        "access_request.approve"
    } else {
        "access_request.reject"
    };
    let summary = format!(
        "{} → {}{}{}",
        req.status,
        to,
        if comment.is_empty() {
            String::new()
        } else {
            format!(": {comment}")
        },
        if owns_requesting_project {
            format!(
                " (decided by an admin who owns the requesting project {:?})",
                req.project
            )
        } else {
            String::new()
        }
    );
    apply(cx, &req, &t, action, summary).await
}

/// Applies a transition if the request is still where `t.from` says; otherwise someone else
/// decided first.
async fn apply(
    cx: &Ctx,
    req: &AccessRequestView,
    t: &RequestTransition,
    action: &'static str,
    summary: String,
) -> ServiceResult<AccessRequestView> {
    let id = req.id;
    let ev = audit(
        &cx.actor,
        action,
        "access_request",
        format!("request {id}"),
        summary,
    );
    let notice = notices::decided(req, t.to, &cx.actor.username, &t.comment);
    if !cx.store.transition_request(id, t, &ev, &notice).await? {
        return Err(already_decided(id, request(cx.store(), id).await?.status));
    }
    request(cx.store(), id).await
}

fn already_decided(id: i64, status: RequestStatus) -> ServiceError {
    ServiceError::Conflict(FieldError::new(
        "decision",
        format!("request {id} was already decided: it is {status}"),
    ))
}

/// Whether `actor` may cancel the request: its requester, while it is open (what [`cancel`]
/// checks).
pub fn can_cancel(actor: &UserView, req: &AccessRequestView) -> bool {
    req.requester == actor.username && req.status.is_open()
}

/// Applications, of one project or all, by project and name.
pub async fn list_applications(
    store: &dyn Store,
    project: Option<&str>,
) -> ServiceResult<Vec<ApplicationView>> {
    Ok(store.list_applications(project).await?)
}

/// The requester withdraws an open request.
pub async fn cancel(cx: &Ctx, id: i64) -> ServiceResult<AccessRequestView> {
    let req = request(cx.store(), id).await?;
    if req.requester != cx.actor.username {
        return Err(ServiceError::Forbidden(
            "only the requester can cancel a request".into(),
        ));
    }
    if !req.status.is_open() {
        return Err(already_decided(id, req.status));
    }
    let t = RequestTransition {
        from: req.status,
        to: RequestStatus::Cancelled,
        actor: cx.actor.username.clone(),
        event: "cancelled",
        comment: String::new(),
        grant: None,
    };
    apply(cx, &req, &t, "access_request.cancel", String::new()).await
}

/// Whether `actor` may approve or reject `req` now: never the requester; an open request's
/// first decision is for the queue's project owners, approvers and admins; the second
/// approval of a sensitive queue is for an admin other than the first approver.
pub async fn can_decide(cx: &Ctx, req: &AccessRequestView) -> ServiceResult<bool> {
    if req.requester == cx.actor.username || !cx.actor.role.can_write() {
        return Ok(false);
    }
    if !cx.actor.role.is_admin() && owns_requesting_project(cx, req).await? {
        return Ok(false);
    }
    Ok(match req.status {
        RequestStatus::Pending => {
            let p = projects::get(cx.store(), &req.queue_project).await?;
            is_queue_approver(cx, &p).await?
        }
        RequestStatus::OwnerApproved => {
            let first = req
                .events
                .iter()
                .rev()
                .find(|e| e.kind == "approved")
                .map(|e| e.actor.as_str());
            cx.actor.role.is_admin() && first != Some(cx.actor.username.as_str())
        }
        _ => false,
    })
}

/// Whether `actor` is on the asking side: an owner of the requesting application's project, or
/// the application's own owner.
async fn owns_requesting_project(cx: &Ctx, req: &AccessRequestView) -> ServiceResult<bool> {
    let p = projects::get(cx.store(), &req.project).await?;
    if cx.store.project_role(p.id, cx.actor.id).await?.as_deref() == Some("owner") {
        return Ok(true);
    }
    Ok(application(cx.store(), &req.project, &req.application)
        .await?
        .owner
        == cx.actor.username)
}

/// Applications of the projects the actor belongs to (all of them for admins): the ones the
/// actor may ask access for.
pub async fn my_applications(cx: &Ctx) -> ServiceResult<Vec<ApplicationView>> {
    let all = cx.store.list_applications(None).await?;
    if cx.actor.role.is_admin() {
        return Ok(all);
    }
    // Two reads, however many applications there are (this is on every queue page).
    let projects: std::collections::HashSet<String> = cx
        .store
        .member_projects(cx.actor.id)
        .await?
        .into_iter()
        .collect();
    Ok(all
        .into_iter()
        .filter(|a| projects.contains(&a.project))
        .collect())
}

/// Requests the actor made, newest first.
pub async fn my_requests(cx: &Ctx) -> ServiceResult<Vec<AccessRequestView>> {
    Ok(cx
        .store()
        .list_requests(&RequestFilter {
            requester: Some(cx.actor.username.clone()),
            ..Default::default()
        })
        .await?)
}

/// Open requests waiting for the actor's decision, the longest waiting first.
pub async fn inbox(cx: &Ctx) -> ServiceResult<Vec<AccessRequestView>> {
    let open = cx
        .store()
        .list_requests(&RequestFilter {
            statuses: vec![RequestStatus::Pending, RequestStatus::OwnerApproved],
            ..Default::default()
        })
        .await?;
    let mut mine = Vec::new();
    for r in open {
        // The second approval depends on who gave the first: that needs the timeline.
        let r = if r.status == RequestStatus::OwnerApproved {
            request(cx.store(), r.id).await?
        } else {
            r
        };
        if can_decide(cx, &r).await? {
            mine.push(r);
        }
    }
    // Longest waiting first.
    mine.sort_by_key(|r| (r.created_at, r.id));
    Ok(mine)
}

/// An application's grants.
pub async fn grants(store: &dyn Store, project: &str, name: &str) -> ServiceResult<Vec<GrantView>> {
    let app = application(store, project, name).await?;
    Ok(store.grants(app.id).await?)
}

/// Whether `actor` may revoke the grant: the queue's approvers and admins may.
pub async fn can_revoke_grant(cx: &Ctx, g: &GrantView) -> ServiceResult<bool> {
    if !cx.actor.role.can_write() || g.revoked_at.is_some() {
        return Ok(false);
    }
    let p = projects::get(cx.store(), &g.queue_project).await?;
    is_queue_approver(cx, &p).await
}

/// Revokes a grant: the queue's approvers and admins may.
pub async fn revoke_grant(cx: &Ctx, id: i64) -> ServiceResult<GrantView> {
    require_writer(&cx.actor)?;
    let g = cx
        .store()
        .grant(id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("grant {id}")))?;
    let p = projects::get(cx.store(), &g.queue_project).await?;
    if !is_queue_approver(cx, &p).await? {
        return Err(ServiceError::Forbidden(format!(
            "only approvers of project {:?} can revoke its grants",
            g.queue_project
        )));
    }
    let target = format!(
        "{}/{} → {}/{}",
        g.project, g.application, g.queue_project, g.queue
    );
    if !cx
        .store()
        .revoke_grant(
            id,
            &cx.actor.username,
            &audit(
                &cx.actor,
                "grant.revoke",
                "grant",
                target,
                g.permission.to_string(),
            ),
            &notices::revoked(&g, &cx.actor.username),
        )
        .await?
    {
        return Err(ServiceError::Conflict(FieldError::new(
            "grant",
            format!("grant {id} was already revoked"),
        )));
    }
    cx.store
        .grant(id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("grant {id}")))
}

/// Owners are reminded this long before a grant expires.
pub const REMIND_BEFORE_MS: i64 = 7 * 86_400_000;

/// The expiry job's one pass: marks expired grants and reminds of those expiring within seven
/// days, each once, with notices. Returns how many of each.
pub async fn sweep_grants(store: &dyn Store, now: i64) -> ServiceResult<(usize, usize)> {
    let expired = store.expire_grants(now, &notices::expired).await?;
    let reminded = store
        .remind_grants(now, now + REMIND_BEFORE_MS, &notices::expiring)
        .await?;
    for g in &expired {
        tracing::info!(grant = g.id, app = %format!("{}/{}", g.project, g.application), queue = %format!("{}/{}", g.queue_project, g.queue), "grant expired");
    }
    for g in &reminded {
        tracing::info!(grant = g.id, app = %format!("{}/{}", g.project, g.application), "grant expires within seven days");
    }
    Ok((expired.len(), reminded.len()))
}

/// Runs [`sweep_grants`] and [`remind_waiting_requests`] every minute until the process ends.
pub async fn sweep_grants_forever(store: std::sync::Arc<dyn Store>, remind_after_days: u32) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(e) = sweep_grants(store.as_ref(), now_millis()).await {
            tracing::warn!(error = ?e, "grant expiry job");
        }
        if let Err(e) =
            remind_waiting_requests(store.as_ref(), now_millis(), remind_after_days).await
        {
            tracing::warn!(error = ?e, "request reminder job");
        }
    }
}

const DAY_MS: i64 = 86_400_000;

/// Reminds the approvers of every open request that has waited `after_days` or more, at most
/// once a day per request (0: never). Several replicas may run it: a request's reminder is
/// stamped conditionally, so only one of them sends it. Returns the requests reminded of.
pub async fn remind_waiting_requests(
    store: &dyn Store,
    now: i64,
    after_days: u32,
) -> ServiceResult<Vec<AccessRequestView>> {
    if after_days == 0 {
        return Ok(Vec::new());
    }
    let reminded = store
        .remind_requests(
            now,
            now - i64::from(after_days) * DAY_MS,
            now - DAY_MS,
            &|r| notices::waiting(r, now),
        )
        .await?;
    for r in &reminded {
        tracing::info!(request = r.id, "approvers reminded of a waiting request");
    }
    Ok(reminded)
}

/// Decides several requests with one decision and one comment. Each goes through [`decide`]
/// on its own (checked, audited and notified like a single decision); one refused does not
/// stop the others, and its outcome says why. When none could be decided, the first refusal
/// is the answer.
pub async fn decide_many(
    cx: &Ctx,
    input: &BulkDecisionInput,
) -> ServiceResult<Vec<BulkDecisionOutcome>> {
    require_writer(&cx.actor)?;
    let (ids, approve, comment) = input.parse()?;
    let one = DecisionInput {
        decision: if approve { "approve" } else { "reject" }.into(),
        comment,
    };
    let mut outcomes = Vec::with_capacity(ids.len());
    let mut first_refusal = None;
    for id in ids {
        outcomes.push(match decide(cx, id, &one).await {
            Ok(r) => BulkDecisionOutcome {
                id,
                status: Some(r.status),
                error: None,
            },
            Err(ServiceError::Internal(e)) => {
                // What was decided stays decided: say so, and stop here.
                if outcomes
                    .iter()
                    .all(|o: &BulkDecisionOutcome| o.status.is_none())
                {
                    return Err(ServiceError::Internal(e));
                }
                tracing::error!(error = ?e, request = id, "bulk decision stopped");
                outcomes.push(BulkDecisionOutcome {
                    id,
                    status: None,
                    error: Some("the server failed; this and the rest were not decided".into()),
                });
                break;
            }
            Err(e) => {
                let error = Some(e.to_string());
                first_refusal.get_or_insert(e);
                BulkDecisionOutcome {
                    id,
                    status: None,
                    error,
                }
            }
        });
    }
    // Nothing decided: the answer is the first refusal itself (a caller who may decide none
    // of them is refused, as with one request).
    match first_refusal {
        Some(e) if outcomes.iter().all(|o| o.status.is_none()) => Err(e),
        _ => Ok(outcomes),
    }
}

/// What an approver decides with: what the asking application already reads, writes and
/// holds, and who else reads the queue, from lineage over the default window.
pub async fn request_context(cx: &Ctx, req: &AccessRequestView) -> ServiceResult<RequestContext> {
    use crate::domain::{node_key, node_label, LineageQueryInput, NodeKind};
    let app = node_key(NodeKind::App, &req.project, &req.application);
    let around = super::lineage::neighbours(
        cx.store(),
        &cx.lineage,
        &LineageQueryInput {
            node: app.clone(),
            ..Default::default()
        },
    )
    .await?;
    let live = |e: &&crate::domain::LineageEdge| !e.stale;
    let app_reads = around
        .edges
        .iter()
        .filter(live)
        .filter(|e| e.to == app)
        .map(|e| node_label(&e.from))
        .collect();
    let app_writes = around
        .edges
        .iter()
        .filter(live)
        .filter(|e| e.from == app)
        .map(|e| node_label(&e.to))
        .collect();
    let now = now_millis();
    let app_grants = grants(cx.store(), &req.project, &req.application)
        .await?
        .into_iter()
        .filter(|g| g.is_live(now))
        .collect();
    let queue_readers =
        super::lineage::strip(cx.store(), &cx.lineage, &req.queue_project, &req.queue)
            .await?
            .readers
            .into_iter()
            .map(|n| n.key)
            .filter(|k| *k != app)
            .collect();
    Ok(RequestContext {
        app_reads,
        app_writes,
        app_grants,
        queue_readers,
    })
}

/// Whether an application holds a live grant covering `needed` on a queue.
pub fn covers(
    grants: &[GrantView],
    queue_project: &str,
    queue: &str,
    needed: Permission,
    now: i64,
) -> bool {
    grants.iter().any(|g| {
        g.queue_project == queue_project
            && g.queue == queue
            && g.is_live(now)
            && (g.permission == needed || g.permission == Permission::Both)
    })
}
