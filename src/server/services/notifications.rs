//! Console notifications and project webhooks: reading, marking read, and configuring.
//!
//! Notices are written by the mutations themselves (see `access`); webhook deliveries are sent
//! by [`crate::server::webhooks`].

use super::Ctx;
use super::{projects, require_writer, ServiceError, ServiceResult};
use crate::domain::{
    FieldError, NotificationView, ProjectView, WebhookDeliveryView, WebhookInput, WebhookSpec,
};
use crate::server::db::{now_millis, AuditEvent, Notice};

/// The newest notifications of the actor.
pub async fn list(cx: &Ctx) -> ServiceResult<Vec<NotificationView>> {
    Ok(cx.store.notifications(&cx.actor.username, 100).await?)
}

/// How many of the actor's notifications are unread (the header's badge).
pub async fn unread(cx: &Ctx) -> ServiceResult<i64> {
    Ok(cx.store.unread_notifications(&cx.actor.username).await?)
}

/// Marks all of the actor's notifications read; returns how many were unread.
pub async fn mark_read(cx: &Ctx) -> ServiceResult<u64> {
    let ev = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "notification.read",
        target_kind: "user",
        target: cx.actor.username.clone(),
        summary: String::new(),
    };
    Ok(cx
        .store()
        .mark_notifications_read(&cx.actor.username, now_millis(), &ev)
        .await?)
}

/// Whether `actor` manages the project's webhook: its owners and admins do.
pub async fn can_manage_webhook(cx: &Ctx, project: &ProjectView) -> ServiceResult<bool> {
    projects::is_owner(cx, project).await
}

async fn require_owner(cx: &Ctx, project: &ProjectView) -> ServiceResult<()> {
    require_writer(&cx.actor)?;
    if can_manage_webhook(cx, project).await? {
        return Ok(());
    }
    Err(ServiceError::Forbidden(format!(
        "only owners of project {:?} manage its webhook",
        project.name
    )))
}

/// Sets, changes or removes a project's webhook. The secret is sealed at rest and never shown
/// again; a new URL without a secret keeps the stored one, and a first URL needs one.
///
/// The URL must reach a public address (or one the operator allows): it is resolved and
/// checked here, and again on every delivery.
pub async fn set_webhook(
    cx: &Ctx,
    project: &str,
    input: &WebhookInput,
) -> ServiceResult<ProjectView> {
    let p = projects::get(cx.store(), project).await?;
    require_owner(cx, &p).await?;
    let spec = input.parse()?;
    if let WebhookSpec::Set { url, .. } = &spec {
        crate::server::webhooks::check_destination(url, &cx.webhook_allow)
            .await
            .map_err(|e| vec![FieldError::new("url", e)])?;
    }
    let (url, sealed, summary) = match &spec {
        WebhookSpec::Remove => (None, None, "removed".to_string()),
        WebhookSpec::Set { url, secret } => {
            if secret.is_none() && !cx.store.project_has_webhook_secret(p.id).await? {
                return Err(vec![FieldError::new(
                    "secret",
                    "a new webhook needs a secret to sign its deliveries with",
                )]
                .into());
            }
            let summary = match secret {
                Some(_) => format!("{url} (new secret)"),
                None => url.clone(),
            };
            (
                Some(url.as_str()),
                secret.as_deref().map(|s| cx.secrets.seal(s)),
                summary,
            )
        }
    };
    let ev = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "project.webhook",
        target_kind: "project",
        target: p.name.clone(),
        summary,
    };
    cx.store
        .set_project_webhook(p.id, url, sealed.as_deref(), &ev)
        .await?;
    projects::get(cx.store(), project).await
}

/// Queues a `ping` delivery to the project's webhook, to check the receiver.
pub async fn ping_webhook(cx: &Ctx, project: &str) -> ServiceResult<()> {
    let p = projects::get(cx.store(), project).await?;
    require_owner(cx, &p).await?;
    if p.webhook_url.is_none() {
        return Err(vec![FieldError::new("url", "this project has no webhook")].into());
    }
    let notice = Notice {
        event: "ping",
        message: String::new(),
        link: String::new(),
        audience: Vec::new(),
        except: None,
        webhook_projects: vec![p.name.clone()],
        payload: serde_json::json!({
            "event": "ping",
            "occurred_at": now_millis(),
            "actor": cx.actor.username,
            "project": p.name,
        }),
    };
    let ev = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "project.webhook_ping",
        target_kind: "project",
        target: p.name.clone(),
        summary: String::new(),
    };
    Ok(cx.store.notify(&notice, &ev).await?)
}

/// A project's recent webhook deliveries, for its owners and admins.
pub async fn deliveries(cx: &Ctx, project: &str) -> ServiceResult<Vec<WebhookDeliveryView>> {
    let p = projects::get(cx.store(), project).await?;
    require_owner(cx, &p).await?;
    Ok(cx.store.webhook_deliveries(p.id, 50).await?)
}
