//! Notifications in the console, and a project's webhook settings and deliveries.

use super::layout::{field_msg, form_field_errors, ErrorBox, QueryError};
use crate::api::console::{
    my_notifications, project_webhook, MarkNotificationsRead, PingProjectWebhook, SetProjectWebhook,
};
use crate::domain::{format_millis, ProjectView};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;

/// The viewer's notifications, newest first.
#[component]
pub fn NotificationsPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| my_notifications());
    view! {
        <Title text="Notifications · Watershed" />
        <div class="page-head">
            <h1>"Notifications"</h1>
            <form method="post" action=MarkNotificationsRead::url()>
                <button type="submit" class="secondary">"Mark all read"</button>
            </form>
        </div>
        <QueryError />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) if list.is_empty() => {
                        view! { <p class="muted">"Nothing yet."</p> }.into_any()
                    }
                    Ok(list) => {
                        let items = list
                            .into_iter()
                            .map(|n| {
                                view! {
                                    <li class:unread=!n.read>
                                        <time>{format_millis(n.at)}</time>
                                        <a href=n.link>{n.message}</a>
                                    </li>
                                }
                            })
                            .collect_view();
                        view! { <ul class="notifications" data-testid="notifications">{items}</ul> }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A project's webhook: the form and recent deliveries, for its owners and admins.
#[component]
pub fn WebhookSection(project: ProjectView) -> impl IntoView {
    let name = project.name.clone();
    let panel = Resource::new(move || name.clone(), project_webhook);
    let errors = form_field_errors();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let (project, errors) = (project.clone(), errors.clone());
                Suspend::new(async move {
                    let panel = match panel.await {
                        Ok(p) if p.can_manage => p,
                        Ok(_) => return ().into_any(),
                        Err(e) => return view! { <ErrorBox error=e /> }.into_any(),
                    };
                    let has_hook = project.webhook_url.is_some();
                    let rows = panel
                        .deliveries
                        .into_iter()
                        .map(|d| {
                            view! {
                                <tr>
                                    <td>{d.id}</td>
                                    <td>{d.event}</td>
                                    <td>{format_millis(d.created_at)}</td>
                                    <td data-testid="delivery-status">{d.status.to_string()}</td>
                                    <td>{d.attempts}</td>
                                    <td>
                                        {d.last_status.map(|s| format!("HTTP {s} ")).unwrap_or_default()}
                                        {d.last_error}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view();
                    view! {
                        <section id="webhook" class="card">
                            <h2>"Webhook"</h2>
                            <p class="muted">
                                "New access requests, decisions and grant expiry are POSTed here as JSON, signed with HMAC-SHA256 in the X-Watershed-Signature header and retried with backoff."
                            </p>
                            <form method="post" action=SetProjectWebhook::url() class="form">
                                <input type="hidden" name="project" value=project.name.clone() />
                                <label class="wide">
                                    "URL (empty removes the webhook)"
                                    <input
                                        name="url"
                                        type="url"
                                        value=project.webhook_url.clone().unwrap_or_default()
                                        placeholder="https://hooks.example.com/watershed"
                                    />
                                    {field_msg(&errors, "url")}
                                </label>
                                <label class="wide">
                                    {if has_hook { "Secret (leave empty to keep the current one)" } else { "Secret (at least 16 characters)" }}
                                    <input name="secret" type="password" autocomplete="new-password" />
                                    {field_msg(&errors, "secret")}
                                </label>
                                <button type="submit">"Save webhook"</button>
                            </form>
                            {has_hook.then(|| view! {
                                <form method="post" action=PingProjectWebhook::url()>
                                    <input type="hidden" name="project" value=project.name.clone() />
                                    <button type="submit" class="secondary">"Send a test event"</button>
                                </form>
                            })}
                            <h3>"Recent deliveries"</h3>
                            <table class="list" data-testid="deliveries">
                                <thead>
                                    <tr>
                                        <th>"#"</th>
                                        <th>"Event"</th>
                                        <th>"Created"</th>
                                        <th>"Status"</th>
                                        <th>"Attempts"</th>
                                        <th>"Last answer"</th>
                                    </tr>
                                </thead>
                                <tbody>{rows}</tbody>
                            </table>
                        </section>
                    }
                        .into_any()
                })
            }}
        </Suspense>
    }
}
