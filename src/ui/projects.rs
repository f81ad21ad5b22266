//! Projects: list, create, and a project's page with its queues.

use super::layout::{field_msg, form_field_errors, ErrorBox, QueryError};
use super::queues::QueueTable;
use crate::api::console::{get_project, list_projects, CreateProject};
use crate::domain::format_millis;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn ProjectsPage() -> impl IntoView {
    let projects = Resource::new(|| (), |_| list_projects());
    view! {
        <Title text="Projects · Watershed" />
        <div class="page-head">
            <h1>"Projects"</h1>
            <a class="button" href="/projects/new">
                "New project"
            </a>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match projects.await {
                    Ok(list) => {
                        let rows = list
                            .into_iter()
                            .map(|p| {
                                view! {
                                    <tr>
                                        <td>
                                            <a href=format!("/projects/{}", p.name)>{p.name.clone()}</a>
                                        </td>
                                        <td>{p.description.clone()}</td>
                                        <td>{p.owners.join(", ")}</td>
                                        <td>{p.queue_count}</td>
                                    </tr>
                                }
                            })
                            .collect_view();
                        view! {
                            <table class="list">
                                <thead>
                                    <tr>
                                        <th>"Project"</th>
                                        <th>"Description"</th>
                                        <th>"Owners"</th>
                                        <th>"Queues"</th>
                                    </tr>
                                </thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn ProjectNewPage() -> impl IntoView {
    let errors = form_field_errors();
    view! {
        <Title text="New project · Watershed" />
        <h1>"New project"</h1>
        <QueryError />
        <form method="post" action=CreateProject::url() class="card form">
            <label>
                "Name" <input name="name" required placeholder="payments" />
                {field_msg(&errors, "name")}
            </label>
            <label class="wide">
                "Description" <textarea name="description" rows="3"></textarea>
                {field_msg(&errors, "description")}
            </label>
            <label>
                "Owners (besides you)" <input name="owners" placeholder="alice, bob" />
                {field_msg(&errors, "owners")}
            </label>
            <label>
                "Members" <input name="members" placeholder="carol" />
                {field_msg(&errors, "members")}
            </label>
            <button type="submit">"Create project"</button>
        </form>
    }
}

#[component]
pub fn ProjectPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let detail = Resource::new(
        move || {
            (
                params.read().get("name").unwrap_or_default(),
                query
                    .read()
                    .get("offset")
                    .and_then(|o| o.parse().ok())
                    .unwrap_or(0),
            )
        },
        |(name, offset)| get_project(name, offset),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => {
                        let p = d.project;
                        let base = format!("/projects/{}", p.name);
                        let new_queue = format!("/queues/new?project={}", p.name);
                        view! {
                            <Title text=format!("{} · Watershed", p.name) />
                            <div class="page-head">
                                <h1>{p.name.clone()}</h1>
                                <a class="button" href=new_queue>
                                    "New queue in this project"
                                </a>
                            </div>
                            <p>{p.description.clone()}</p>
                            <dl class="facts">
                                <dt>"Owners"</dt>
                                <dd>{p.owners.join(", ")}</dd>
                                <dt>"Members"</dt>
                                <dd>{p.members.join(", ")}</dd>
                                <dt>"Created"</dt>
                                <dd>{format_millis(p.created_at)}</dd>
                            </dl>
                            <h2>"Queues"</h2>
                            <QueueTable page=d.queues base />
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
