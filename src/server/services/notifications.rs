//! Console notifications and project webhooks: reading, marking read, and configuring.
//!
//! Notices are written by the mutations themselves (see `access`); webhook deliveries are sent
//! by [`crate::server::webhooks`].

use super::{projects, require_writer, ServiceError, ServiceResult};
use crate::domain::{
    FieldError, NotificationView, ProjectView, UserView, WebhookDeliveryView, WebhookInput,
    WebhookSpec,
};
use crate::server::crypto::SecretBox;
use crate::server::db::{now_millis, AuditEvent, Notice, Store};

/// The newest notifications of the actor.
pub async fn list(store: &dyn Store, actor: &UserView) -> ServiceResult<Vec<NotificationView>> {
    Ok(store.notifications(&actor.username, 100).await?)
}

/// How many of the actor's notifications are unread (the header's badge).
pub async fn unread(store: &dyn Store, actor: &UserView) -> ServiceResult<i64> {
    Ok(store.unread_notifications(&actor.username).await?)
}

/// Marks all of the actor's notifications read; returns how many were unread.
pub async fn mark_read(store: &dyn Store, actor: &UserView) -> ServiceResult<u64> {
    let ev = AuditEvent {
        actor: actor.username.clone(),
        action: "notification.read",
        target_kind: "user",
        target: actor.username.clone(),
        summary: String::new(),
    };
    Ok(store
        .mark_notifications_read(&actor.username, now_millis(), &ev)
        .await?)
}

/// Whether `actor` manages the project's webhook: its owners and admins do.
pub async fn can_manage_webhook(
    store: &dyn Store,
    actor: &UserView,
    project: &ProjectView,
) -> ServiceResult<bool> {
    projects::is_owner(store, actor, project).await
}

async fn require_owner(
    store: &dyn Store,
    actor: &UserView,
    project: &ProjectView,
) -> ServiceResult<()> {
    require_writer(actor)?;
    if can_manage_webhook(store, actor, project).await? {
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
    store: &dyn Store,
    secrets: &SecretBox,
    actor: &UserView,
    project: &str,
    input: &WebhookInput,
    allow: &[ipnet::IpNet],
) -> ServiceResult<ProjectView> {
    let p = projects::get(store, project).await?;
    require_owner(store, actor, &p).await?;
    let spec = input.parse()?;
    if let WebhookSpec::Set { url, .. } = &spec {
        crate::server::webhooks::check_destination(url, allow)
            .await
            .map_err(|e| vec![FieldError::new("url", e)])?;
    }
    let (url, sealed, summary) = match &spec {
        WebhookSpec::Remove => (None, None, "removed".to_string()),
        WebhookSpec::Set { url, secret } => {
            if secret.is_none() && !store.project_has_webhook_secret(p.id).await? {
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
                secret.as_deref().map(|s| secrets.seal(s)),
                summary,
            )
        }
    };
    let ev = AuditEvent {
        actor: actor.username.clone(),
        action: "project.webhook",
        target_kind: "project",
        target: p.name.clone(),
        summary,
    };
    store
        .set_project_webhook(p.id, url, sealed.as_deref(), &ev)
        .await?;
    projects::get(store, project).await
}

/// Queues a `ping` delivery to the project's webhook, to check the receiver.
pub async fn ping_webhook(store: &dyn Store, actor: &UserView, project: &str) -> ServiceResult<()> {
    let p = projects::get(store, project).await?;
    require_owner(store, actor, &p).await?;
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
            "actor": actor.username,
            "project": p.name,
        }),
    };
    let ev = AuditEvent {
        actor: actor.username.clone(),
        action: "project.webhook_ping",
        target_kind: "project",
        target: p.name.clone(),
        summary: String::new(),
    };
    Ok(store.notify(&notice, &ev).await?)
}

/// A project's recent webhook deliveries, for its owners and admins.
pub async fn deliveries(
    store: &dyn Store,
    actor: &UserView,
    project: &str,
) -> ServiceResult<Vec<WebhookDeliveryView>> {
    let p = projects::get(store, project).await?;
    require_owner(store, actor, &p).await?;
    Ok(store.webhook_deliveries(p.id, 50).await?)
}
