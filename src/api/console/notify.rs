//! Console server functions for notifications and project webhooks.

#[cfg(feature = "ssr")]
use super::ssr::Call;
use super::AppError;
use crate::domain::{NotificationView, ProjectView, WebhookDeliveryView};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::server::services::{notifications, projects};

/// A project's webhook as its owners see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookPanel {
    pub can_manage: bool,
    pub deliveries: Vec<WebhookDeliveryView>,
}

/// The viewer's newest notifications.
#[server(prefix = "/console")]
pub async fn my_notifications() -> Result<Vec<NotificationView>, AppError> {
    let call = Call::new().await?;
    let cx = call.ctx()?;
    Ok(notifications::list(&cx).await?)
}

/// How many of the viewer's notifications are unread (the header's badge).
#[server(prefix = "/console")]
pub async fn unread_notifications() -> Result<i64, AppError> {
    let call = Call::new().await?;
    let cx = call.ctx()?;
    // Every page's header shows it: kept for a moment, per viewer.
    call.kept("unread_notifications", &cx.actor.id.to_string(), || {
        notifications::unread(&cx)
    })
    .await
}

/// Marks every notification read and stays on the notifications page.
#[server(prefix = "/console")]
pub async fn mark_notifications_read() -> Result<u64, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        Ok(notifications::mark_read(&cx).await?)
    }
    .await;
    call.finish(result, |_| "/notifications".to_string())
}

/// A project's webhook deliveries, for its owners and admins.
#[server(prefix = "/console")]
pub async fn project_webhook(project: String) -> Result<WebhookPanel, AppError> {
    let call = Call::new().await?;
    let cx = call.ctx()?;
    let store = cx.store();
    let p = projects::get(store, &project).await?;
    if !notifications::can_manage_webhook(&cx, &p).await? {
        return Ok(WebhookPanel {
            can_manage: false,
            deliveries: Vec::new(),
        });
    }
    Ok(WebhookPanel {
        can_manage: true,
        deliveries: notifications::deliveries(&cx, &project).await?,
    })
}

/// Sets, changes or removes a project's webhook, then shows the project.
#[server(prefix = "/console")]
pub async fn set_project_webhook(
    project: String,
    url: String,
    #[server(default)] secret: String,
) -> Result<ProjectView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let input = crate::domain::WebhookInput { url, secret };
        Ok(notifications::set_webhook(&cx, &project, &input).await?)
    }
    .await;
    call.finish(result, |p| format!("/projects/{}#webhook", p.name))
}

/// Sends a `ping` event to the project's webhook.
#[server(prefix = "/console")]
pub async fn ping_project_webhook(project: String) -> Result<(), AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        Ok(notifications::ping_webhook(&cx, &project).await?)
    }
    .await;
    call.finish(result, |_| format!("/projects/{project}#webhook"))
}
