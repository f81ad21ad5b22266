//! The queue list (home, later the data map), a queue's page, and the create / edit form.

use super::access::RequestAccessForm;
use super::charts::LineChart;
use super::failover::QueueSwitching;
use super::health::QueueHealthSection;
use super::layout::{
    current_user, field_msg, form_field_errors, ErrorBox, ListTable, Pager, QueryError,
};
use super::lineage::LineageStripSection;
use super::schemas::FlinkDdl;
use crate::api::console::{
    get_queue, queue_activity, queue_data_path_changes, queue_form_options, queue_table, AppError,
    CreateQueue, QueueChoices, QueueForm, UpdateQueue,
};
use crate::domain::{
    default_topic, format_millis, ActiveSide, DataFormat, FieldError, QueueView, TrafficRange,
};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use strum::VariantArray;

/// A table of queues with a pager.
#[component]
pub fn QueueTable(page: crate::domain::Page<QueueView>, base: String) -> impl IntoView {
    if page.items.is_empty() {
        return view! { <p class="empty">"No queues match."</p> }.into_any();
    }
    let rows = page
        .items
        .iter()
        .map(|q| {
            let href = format!("/queues/{}/{}", q.project, q.name);
            let tags = q
                .tags
                .iter()
                .map(|t| view! { <span class="tag">{t.clone()}</span> })
                .collect_view();
            view! {
                <tr>
                    <td>
                        <a href=href class="queue-link">
                            <span class="project">{q.project.clone()}</span>
                            " / "
                            <strong>{q.name.clone()}</strong>
                        </a>
                        <div class="muted small">{q.description.clone()}</div>
                    </td>
                    <td>{tags}</td>
                    <td>{q.owner.clone()}</td>
                    <td>{q.active_cluster().to_string()}</td>
                    <td>{q.data_format.to_string()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <ListTable headings=&["Queue", "Tags", "Owner", "Active cluster", "Format"]>{rows}</ListTable>
        <Pager page base />
    }
    .into_any()
}

fn route_queue() -> (String, String) {
    let params = use_params_map();
    let p = params.read_untracked();
    (
        p.get("project").unwrap_or_default(),
        p.get("name").unwrap_or_default(),
    )
}

/// One queue's page.
#[component]
pub fn QueuePage() -> impl IntoView {
    let params = use_params_map();
    let queue = Resource::new(
        move || {
            let p = params.read();
            (
                p.get("project").unwrap_or_default(),
                p.get("name").unwrap_or_default(),
            )
        },
        |(project, name)| get_queue(project, name),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match queue.await {
                    Ok(q) => view! { <QueueDetail q /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn QueueDetail(q: QueueView) -> impl IntoView {
    let title = format!("{}/{} · Watershed", q.project, q.name);
    let edit = format!("/queues/{}/{}/edit", q.project, q.name);
    let tags = q
        .tags
        .iter()
        .map(|t| view! { <span class="tag">{t.clone()}</span> })
        .collect_view();
    let active = q.active_cluster().to_string();
    view! {
        <Title text=title />
        <div class="page-head">
            <h1>
                <a href=format!("/projects/{}", q.project)>{q.project.clone()}</a>
                " / "
                {q.name.clone()}
            </h1>
            <div>
                <a class="button secondary" href=format!("/queues/{}/{}/schema", q.project, q.name)>
                    "Schema"
                </a>
                " "
                <a class="button secondary" href=format!("/queues/{}/{}/messages", q.project, q.name)>
                    "Messages"
                </a>
                " "
                <a class="button" href=edit>
                    "Edit"
                </a>
            </div>
        </div>
        <p>{q.description.clone()}</p>
        <p>{tags}</p>
        <dl class="facts">
            <dt>"Owner"</dt>
            <dd>{q.owner.clone()}</dd>
            <dt>"Physical topic"</dt>
            <dd>
                <code>{q.topic.clone()}</code>
            </dd>
            <dt>"Primary cluster"</dt>
            <dd>
                <a href=format!("/clusters/{}", q.primary_cluster)>{q.primary_cluster.clone()}</a>
            </dd>
            <dt>"Backup cluster"</dt>
            <dd>
                {match q.backup_cluster.clone() {
                    Some(b) => view! { <a href=format!("/clusters/{b}")>{b.clone()}</a> }.into_any(),
                    None => view! { <span class="muted">"none"</span> }.into_any(),
                }}
            </dd>
            <dt>"Active side"</dt>
            <dd>{format!("{} ({active})", q.active_side)}</dd>
            <dt>"Partitions"</dt>
            <dd>{q.partitions}</dd>
            <dt>"Retention"</dt>
            <dd>{format!("{} hours", q.retention_hours)}</dd>
            <dt>"Data format"</dt>
            <dd>{q.data_format.to_string()}</dd>
            <dt>"Created"</dt>
            <dd>{format_millis(q.created_at)}</dd>
            <dt>"Updated"</dt>
            <dd>{format_millis(q.updated_at)}</dd>
        </dl>
        <QueryError />
        <QueueSwitching q=q.clone() />
        <DataPathChanges project=q.project.clone() queue=q.name.clone() />
        <LineageStripSection project=q.project.clone() queue=q.name.clone() />
        <QueueActivitySection project=q.project.clone() queue=q.name.clone() />
        <QueueHealthSection project=q.project.clone() queue=q.name.clone() />
        <QueueAsTable project=q.project.clone() queue=q.name.clone() />
        <RequestAccessForm queue_project=q.project.clone() queue=q.name.clone() />
    }
}

/// Who changed where this queue's data lives (topic, clusters, project), and when.
#[component]
fn DataPathChanges(project: String, queue: String) -> impl IntoView {
    let changes = Resource::new(
        move || (project.clone(), queue.clone()),
        |(p, q)| queue_data_path_changes(p, q),
    );
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let list = changes.await.unwrap_or_default();
                (!list.is_empty()).then(|| {
                    let rows = list
                        .into_iter()
                        .map(|e| view! {
                            <tr>
                                <td>{format_millis(e.at)}</td>
                                <td>{e.actor}</td>
                                <td>{e.summary}</td>
                            </tr>
                        })
                        .collect_view();
                    view! {
                        <section class="card notice">
                            <h2>"Data path changes"</h2>
                            <p class="muted">"Grants follow the queue: each change here moved what its grant holders read or write."</p>
                            <table class="list" data-testid="data-path-changes">
                                <thead><tr><th>"When"</th><th>"Who"</th><th>"What changed"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        </section>
                    }
                })
            })}
        </Suspense>
    }
}

/// Throughput and lag charts over the chosen range, and the clients table.
#[component]
fn QueueActivitySection(project: String, queue: String) -> impl IntoView {
    let query = use_query_map();
    let base = format!("/queues/{project}/{queue}");
    let activity = Resource::new(
        move || (project.clone(), queue.clone(), query.read().get("range")),
        |(p, q, r)| queue_activity(p, q, r),
    );
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let base = base.clone();
                Suspend::new(async move {
                    activity.await.ok().map(|a| {
                        let t = a.traffic;
                        let ranges = TrafficRange::VARIANTS
                            .iter()
                            .map(|r| {
                                let label = match r {
                                    TrafficRange::Hour => "Last hour",
                                    TrafficRange::Day => "Last day",
                                    TrafficRange::Week => "Last week",
                                };
                                view! {
                                    <a href=format!("{base}?range={r}") class:active=*r == a.range aria-current=(*r == a.range).then_some("true")>
                                        {label}
                                    </a>
                                }
                            })
                            .collect_view();
                        let clients = a
                            .clients
                            .into_iter()
                            .map(|c| view! {
                                <tr>
                                    <td>{c.app}</td>
                                    <td>{c.role.to_string()}</td>
                                    <td>{c.host}</td>
                                    <td><code>{c.ip}</code></td>
                                    <td>{c.consumer_group.unwrap_or_default()}</td>
                                    <td>{c.sdk_version}</td>
                                    <td>{format_millis(c.last_seen)}</td>
                                </tr>
                            })
                            .collect_view();
                        view! {
                            <section class="activity">
                                <div class="page-head">
                                    <h2>"Traffic"</h2>
                                    <nav class="ranges" data-testid="traffic-ranges">{ranges}</nav>
                                </div>
                                <div class="charts">
                                    <LineChart title="Messages per second".to_string() unit="msg/s" series=t.messages from=t.from to=t.to testid="chart-messages" />
                                    <LineChart title="Bytes per second".to_string() unit="B/s" series=t.bytes from=t.from to=t.to testid="chart-bytes" />
                                    <LineChart title="Consumer lag by group".to_string() unit="messages" series=t.lag from=t.from to=t.to testid="chart-lag" />
                                    <LineChart title="Consumer lag in time by group".to_string() unit="seconds" series=t.lag_seconds from=t.from to=t.to testid="chart-lag-seconds" />
                                </div>
                                <h2>"Clients"</h2>
                                <table class="list" data-testid="clients">
                                    <thead><tr><th>"Application"</th><th>"Role"</th><th>"Host"</th><th>"IP"</th><th>"Consumer group"</th><th>"SDK"</th><th>"Last seen"</th></tr></thead>
                                    <tbody>{clients}</tbody>
                                </table>
                            </section>
                        }
                    })
                })
            }}
        </Suspense>
    }
}

/// The queue as a Flink SQL table, once it has a schema.
#[component]
fn QueueAsTable(project: String, queue: String) -> impl IntoView {
    let table = Resource::new(
        move || (project.clone(), queue.clone()),
        |(p, q)| queue_table(p, q),
    );
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                table.await.ok().flatten().map(|t| view! {
                    <h2>"As a Flink SQL table"</h2>
                    <FlinkDdl ddl=t.flink_ddl />
                })
            })}
        </Suspense>
    }
}

/// Create a queue.
#[component]
pub fn QueueNewPage() -> impl IntoView {
    let query = use_query_map();
    let options = Resource::new(|| (), |_| queue_form_options());
    view! {
        <Title text="New queue · Watershed" />
        <h1>"New queue"</h1>
        <QueryError />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let user = current_user().await;
                match options.await {
                    Ok(options) => {
                        let initial = QueueForm {
                            project: query.read_untracked().get("project").unwrap_or_default(),
                            owner: user.map(|u| u.username).unwrap_or_default(),
                            partitions: "6".into(),
                            retention_hours: "168".into(),
                            ..Default::default()
                        };
                        view! { <QueueFormView initial options edit=None /> }.into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Edit a queue.
#[component]
pub fn QueueEditPage() -> impl IntoView {
    let (project, name) = route_queue();
    let data = Resource::new(
        move || (project.clone(), name.clone()),
        |(p, n)| async move { Ok::<_, AppError>((get_queue(p, n).await?, queue_form_options().await?)) },
    );
    view! {
        <Title text="Edit queue · Watershed" />
        <h1>"Edit queue"</h1>
        <QueryError />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((q, options)) => {
                        let i = q.to_input();
                        let initial = QueueForm {
                            project: i.project,
                            name: i.name,
                            description: i.description,
                            owner: i.owner,
                            tags: i.tags.join(", "),
                            partitions: i.partitions.to_string(),
                            retention_hours: i.retention_hours.to_string(),
                            data_format: i.data_format,
                            primary_cluster: i.primary_cluster,
                            backup_cluster: i.backup_cluster.unwrap_or_default(),
                            active_side: i.active_side,
                            topic: i.topic.unwrap_or_default(),
                        };
                        let edit = Some((q.project.clone(), q.name.clone()));
                        view! { <QueueFormView initial options edit /> }.into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The queue form, for create (no `edit`) or edit (the queue's current project and name).
/// A plain form: the server answers with a redirect, to the queue or back with the errors.
#[component]
fn QueueFormView(
    initial: QueueForm,
    options: QueueChoices,
    edit: Option<(String, String)>,
) -> impl IntoView {
    let (action, label, hidden) = match edit {
        None => (CreateQueue::url(), "Create queue", None),
        Some((orig_project, orig_name)) => (
            UpdateQueue::url(),
            "Save queue",
            Some(view! {
                <input type="hidden" name="orig_project" value=orig_project />
                <input type="hidden" name="orig_name" value=orig_name />
            }),
        ),
    };
    view! {
        <form method="post" action=action class="card form">
            {hidden}
            <QueueFields initial options errors=form_field_errors() />
            <button type="submit">{label}</button>
        </form>
    }
}

fn select_options(
    values: Vec<String>,
    selected: String,
    blank: Option<&'static str>,
) -> impl IntoView {
    let blank = blank.map(|b| view! { <option value="" selected=selected.is_empty()>{b}</option> });
    let rest = values
        .into_iter()
        .map(|v| {
            let sel = v == selected;
            view! { <option value=v.clone() selected=sel>{v.clone()}</option> }
        })
        .collect_view();
    (blank, rest)
}

/// The queue's fields: an island, so the topic preview follows what the user types.
#[island]
fn QueueFields(
    initial: QueueForm,
    options: QueueChoices,
    errors: Vec<FieldError>,
) -> impl IntoView {
    // The topic preview updates as the user types: this is what hydration brings.
    let (project, set_project) = signal(initial.project.clone());
    let (name, set_name) = signal(initial.name.clone());
    let (topic, set_topic) = signal(initial.topic.clone());
    let preview = move || {
        let t = topic.get();
        if t.trim().is_empty() {
            default_topic(&project.get(), &name.get())
        } else {
            t
        }
    };
    let formats: Vec<String> = DataFormat::VARIANTS.iter().map(|f| f.to_string()).collect();
    let sides: Vec<String> = ActiveSide::VARIANTS.iter().map(|s| s.to_string()).collect();
    let data_format = if initial.data_format.is_empty() {
        "json".to_string()
    } else {
        initial.data_format.clone()
    };
    let active_side = if initial.active_side.is_empty() {
        "primary".to_string()
    } else {
        initial.active_side.clone()
    };
    view! {
        <label>
            "Project"
            <select
                name="form[project]"
                required
                on:change=move |ev| set_project.set(event_target_value(&ev))
            >
                {select_options(options.projects.clone(), initial.project.clone(), Some("— choose —"))}
            </select>
            {field_msg(&errors, "project")}
        </label>
        <label>
            "Queue name"
            <input
                name="form[name]"
                value=initial.name.clone()
                required
                placeholder="orders-events"
                on:input=move |ev| set_name.set(event_target_value(&ev))
            />
            {field_msg(&errors, "name")}
        </label>
        <label class="wide">
            "Description" <textarea name="form[description]" rows="3">{initial.description.clone()}</textarea>
            {field_msg(&errors, "description")}
        </label>
        <label>
            "Owner" <input name="form[owner]" value=initial.owner.clone() />
            {field_msg(&errors, "owner")}
        </label>
        <label>
            "Tags (comma-separated)" <input name="form[tags]" value=initial.tags.clone() placeholder="pii, orders" />
            {field_msg(&errors, "tags")}
        </label>
        <label>
            "Partitions" <input name="form[partitions]" value=initial.partitions.clone() inputmode="numeric" />
            {field_msg(&errors, "partitions")}
        </label>
        <label>
            "Retention (hours)"
            <input name="form[retention_hours]" value=initial.retention_hours.clone() inputmode="numeric" />
            {field_msg(&errors, "retention_hours")}
        </label>
        <label>
            "Data format"
            <select name="form[data_format]">{select_options(formats, data_format, None)}</select>
            {field_msg(&errors, "data_format")}
        </label>
        <label>
            "Primary cluster"
            <select name="form[primary_cluster]" required>
                {select_options(options.clusters.clone(), initial.primary_cluster.clone(), Some("— choose —"))}
            </select>
            {field_msg(&errors, "primary_cluster")}
        </label>
        <label>
            "Backup cluster"
            <select name="form[backup_cluster]">
                {select_options(options.clusters.clone(), initial.backup_cluster.clone(), Some("none"))}
            </select>
            {field_msg(&errors, "backup_cluster")}
        </label>
        <label>
            "Active side" <select name="form[active_side]">{select_options(sides, active_side, None)}</select>
            {field_msg(&errors, "active_side")}
        </label>
        <label class="wide">
            "Physical topic (empty: project.queue)"
            <input
                name="form[topic]"
                value=initial.topic.clone()
                on:input=move |ev| set_topic.set(event_target_value(&ev))
            />
            {field_msg(&errors, "topic")}
            <span class="muted small">
                "Clients will use topic " <code data-testid="topic-preview">{preview}</code>
            </span>
        </label>
    }
}
