//! Consumer health on a queue's page: each group's status, lag in messages and in time, the
//! alert rules in force (owners change or mute them), silences, and the alert history with
//! acknowledgement. Every form is a plain HTML form, so it works without JavaScript.

use super::layout::{field_msg, form_field_errors};
use crate::api::console::{
    queue_health_panel, AcknowledgeAlert, EndSilence, ResetAlertRule, SetAlertRule, SilenceAlerts,
};
use crate::domain::{format_millis, AlertKind, AlertState, GroupStatus};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use strum::IntoEnumIterator;

/// A group status as a coloured badge with the word.
#[component]
pub fn StatusBadge(status: GroupStatus) -> impl IntoView {
    let class = match status {
        GroupStatus::Ok => "badge ok",
        GroupStatus::Warning => "badge warn",
        GroupStatus::Stalled | GroupStatus::Stopped => "badge",
    };
    view! { <span class=class data-testid="group-status">{status.to_string()}</span> }
}

/// Seconds as people read them: 42 s, 3 min, 5 h 10 min, 2 d 4 h.
pub fn duration_words(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 3 * 3600 => format!("{} min", s / 60),
        s if s < 2 * 86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn kind_words(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::LagMessages => "Lag above N messages",
        AlertKind::LagSeconds => "Lag above N seconds",
        AlertKind::GroupStalled => "Group stalled or stopped",
        AlertKind::ProducerSilent => "Producers silent",
        AlertKind::StaleClients => "SDK clients on an old mapping",
        AlertKind::ClusterUnreachable => "Cluster unreachable",
    }
}

/// Consumer groups with their queue, status and lag (the application page).
#[component]
pub fn GroupsTable(groups: Vec<crate::domain::GroupHealth>) -> impl IntoView {
    if groups.is_empty() {
        return view! { <p class="muted">"None of its SDK consumers has committed yet."</p> }
            .into_any();
    }
    let rows = groups
        .into_iter()
        .map(|g| {
            view! {
                <tr>
                    <td><a href=format!("/queues/{}/{}#health", g.project, g.queue)>{format!("{}/{}", g.project, g.queue)}</a></td>
                    <td>{g.consumer_group.clone()}</td>
                    <td><StatusBadge status=g.status /></td>
                    <td>{g.lag_messages}</td>
                    <td>{lag_words(&g)}</td>
                    <td class="small">{g.reason.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list" data-testid="app-groups">
            <thead><tr><th>"Queue"</th><th>"Group"</th><th>"Status"</th><th>"Lag (messages)"</th><th>"Lag (time)"</th><th>"Why"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

fn lag_words(g: &crate::domain::GroupHealth) -> String {
    if g.lag_messages == 0 {
        "caught up".to_string()
    } else if g.lag_seconds_at_least {
        format!("≥ {}", duration_words(g.lag_seconds))
    } else {
        duration_words(g.lag_seconds)
    }
}

/// The queue page's consumer-health section.
#[component]
pub fn QueueHealthSection(project: String, queue: String) -> impl IntoView {
    let health = Resource::new(
        {
            let (p, q) = (project.clone(), queue.clone());
            move || (p.clone(), q.clone())
        },
        |(p, q)| queue_health_panel(p, q),
    );
    let errors = form_field_errors();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let (project, queue, errors) = (project.clone(), queue.clone(), errors.clone());
                Suspend::new(async move {
                    let Ok(h) = health.await else { return ().into_any() };
                    let groups = h
                        .groups
                        .iter()
                        .map(|g| {
                            let lag_time = lag_words(g);
                            view! {
                                <tr>
                                    <td>{g.consumer_group.clone()}</td>
                                    <td><StatusBadge status=g.status /></td>
                                    <td data-testid="lag-messages">{g.lag_messages}</td>
                                    <td data-testid="lag-seconds">{lag_time}</td>
                                    <td>{g.clients}</td>
                                    <td>{g.applications.join(", ")}</td>
                                    <td class="small">{g.reason.clone()}</td>
                                </tr>
                            }
                        })
                        .collect_view();
                    let manage = h.can_manage;
                    let rules = h
                        .rules
                        .iter()
                        .map(|r| {
                            let kind = r.kind.to_string();
                            let settings = r.settings;
                            let state = if settings.muted { "muted" } else if r.default { "default" } else { "set" };
                            view! {
                                <tr data-testid=format!("rule-{kind}")>
                                    <td>{kind_words(r.kind)}</td>
                                    <td>{settings.threshold.map(|t| t.to_string()).unwrap_or_else(|| "—".into())}</td>
                                    <td>{duration_words(settings.for_seconds)}</td>
                                    <td>{state}</td>
                                    <td>
                                        {(manage && !r.default).then(|| view! {
                                            <form method="post" action=ResetAlertRule::url() class="inline">
                                                <input type="hidden" name="project" value=project.clone() />
                                                <input type="hidden" name="queue" value=queue.clone() />
                                                <input type="hidden" name="kind" value=kind.clone() />
                                                <button type="submit" class="secondary">"Back to default"</button>
                                            </form>
                                        })}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view();
                    let kinds = AlertKind::iter()
                        .map(|k| view! { <option value=k.to_string()>{kind_words(k)}</option> })
                        .collect_view();
                    let silence_kinds = AlertKind::iter()
                        .map(|k| view! { <option value=k.to_string()>{kind_words(k)}</option> })
                        .collect_view();
                    let silences = h
                        .silences
                        .iter()
                        .map(|s| view! {
                            <li data-testid="silence">
                                {s.consumer_group.clone().unwrap_or_else(|| "all groups".into())}
                                ", "
                                {s.kind.map(kind_words).unwrap_or("all alerts")}
                                " until " {format_millis(s.ends_at)} " by " {s.created_by.clone()} ": " {s.comment.clone()}
                                {manage.then(|| view! {
                                    <form method="post" action=EndSilence::url() class="inline">
                                        <input type="hidden" name="project" value=project.clone() />
                                        <input type="hidden" name="queue" value=queue.clone() />
                                        <input type="hidden" name="id" value=s.id.to_string() />
                                        <button type="submit" class="secondary">"End now"</button>
                                    </form>
                                })}
                            </li>
                        })
                        .collect_view();
                    let alerts = h
                        .alerts
                        .iter()
                        .map(|a| {
                            let firing = a.state == AlertState::Firing;
                            view! {
                                <tr data-testid="alert">
                                    <td>
                                        <span class=if firing { "badge" } else { "badge ok" }>{a.state.to_string()}</span>
                                        {a.silenced.then_some(" (silenced)")}
                                    </td>
                                    <td>{kind_words(a.kind)}</td>
                                    <td>{a.consumer_group.clone()}</td>
                                    <td class="small">{a.reason.clone()}</td>
                                    <td>{format_millis(a.fired_at)}</td>
                                    <td>{a.resolved_at.map(format_millis).unwrap_or_default()}</td>
                                    <td class="small">
                                        {a.acknowledged_by.clone().map(|by| format!(
                                            "acknowledged by {by}: {}",
                                            a.acknowledged_comment.clone().unwrap_or_default()
                                        ))}
                                        {(firing && manage && a.acknowledged_by.is_none()).then(|| view! {
                                            <form method="post" action=AcknowledgeAlert::url() class="inline">
                                                <input type="hidden" name="project" value=project.clone() />
                                                <input type="hidden" name="queue" value=queue.clone() />
                                                <input type="hidden" name="id" value=a.id.to_string() />
                                                <label>"Comment" <input name="comment" required /></label>
                                                <label>"Hours" <input name="hours" value="4" size="3" /></label>
                                                <button type="submit">"Acknowledge"</button>
                                            </form>
                                        })}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view();
                    view! {
                        <section id="health" class="health">
                            <h2>"Consumer health"</h2>
                            <p class="muted small">
                                "Each group's lag in messages and in time (how old its oldest unread message is), judged OK, WARNING (lag growing), STALLED (not committing while behind) or STOPPED (no commits and no clients)."
                            </p>
                            {if h.groups.is_empty() {
                                view! { <p class="empty" data-testid="no-groups">"No consumer group has committed on this queue's active cluster yet."</p> }.into_any()
                            } else {
                                view! {
                                    <table class="list" data-testid="groups">
                                        <thead><tr><th>"Group"</th><th>"Status"</th><th>"Lag (messages)"</th><th>"Lag (time)"</th><th>"Clients"</th><th>"Applications"</th><th>"Why"</th></tr></thead>
                                        <tbody>{groups}</tbody>
                                    </table>
                                }.into_any()
                            }}
                            <h3>"Alert rules"</h3>
                            <table class="list" data-testid="alert-rules">
                                <thead><tr><th>"Rule"</th><th>"Threshold"</th><th>"For"</th><th>"State"</th><th></th></tr></thead>
                                <tbody>{rules}</tbody>
                            </table>
                            {manage.then(|| view! {
                                <form method="post" action=SetAlertRule::url() class="form" data-testid="rule-form">
                                    <input type="hidden" name="project" value=project.clone() />
                                    <input type="hidden" name="queue" value=queue.clone() />
                                    <label>"Rule" <select name="kind">{kinds}</select> {field_msg(&errors, "kind")}</label>
                                    <label>"Threshold (messages or seconds)" <input name="threshold" inputmode="numeric" /> {field_msg(&errors, "threshold")}</label>
                                    <label>"For (minutes)" <input name="for_minutes" value="10" inputmode="decimal" /> {field_msg(&errors, "for_minutes")}</label>
                                    <label><input type="checkbox" name="muted" value="on" /> " Muted"</label>
                                    <button type="submit">"Save rule"</button>
                                </form>
                            })}
                            <h3>"Silences"</h3>
                            <ul data-testid="silences">{silences}</ul>
                            {manage.then(|| view! {
                                <form method="post" action=SilenceAlerts::url() class="form" data-testid="silence-form">
                                    <input type="hidden" name="project" value=project.clone() />
                                    <input type="hidden" name="queue" value=queue.clone() />
                                    <label>"Group (empty for all)" <input name="consumer_group" /></label>
                                    <label>"Alerts" <select name="kind"><option value="">"All"</option>{silence_kinds}</select></label>
                                    <label>"Why" <input name="comment" /> {field_msg(&errors, "comment")}</label>
                                    <label>"For (hours)" <input name="hours" value="2" inputmode="decimal" /> {field_msg(&errors, "hours")}</label>
                                    <button type="submit">"Silence"</button>
                                </form>
                            })}
                            <h3>"Alert history"</h3>
                            {if h.alerts.is_empty() {
                                view! { <p class="empty">"No alerts so far."</p> }.into_any()
                            } else {
                                view! {
                                    <table class="list" data-testid="alerts">
                                        <thead><tr><th>"State"</th><th>"Rule"</th><th>"Group"</th><th>"What was seen"</th><th>"Fired"</th><th>"Resolved"</th><th></th></tr></thead>
                                        <tbody>{alerts}</tbody>
                                    </table>
                                }.into_any()
                            }}
                        </section>
                    }
                        .into_any()
                })
            }}
        </Suspense>
    }
}
