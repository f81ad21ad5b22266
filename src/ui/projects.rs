//! Projects: list, create, and a project's page with its queues, applications and webhook.

use super::layout::{field_msg, form_field_errors, ErrorBox, ListTable, QueryError};
use super::notify::WebhookSection;
use super::queues::QueueTable;
use crate::api::console::{
    get_project, list_projects, CreateApplication, CreateProject, SetOwnAppsAccess,
    SetProjectPeople,
};
use crate::domain::format_millis;
use crate::domain::{ApplicationView, ProjectView};
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
                            <ListTable headings=&["Project", "Description", "Owners", "Queues"]>{rows}</ListTable>
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
        <QueryError />
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
                            <h2>"Applications"</h2>
                            {application_list(d.applications)}
                            {d.can_add_application.then(|| new_application_form(&p.name))}
                            {d.can_manage_people.then(|| people_form(&p))}
                            {d.can_manage_people.then(|| own_apps_form(&p))}
                            <WebhookSection project=p.clone() />
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn application_list(apps: Vec<ApplicationView>) -> impl IntoView {
    if apps.is_empty() {
        return view! { <p class="muted">"No applications yet."</p> }.into_any();
    }
    let rows = apps
        .into_iter()
        .map(|a| {
            view! {
                <tr>
                    <td>
                        <a href=format!("/applications/{}/{}", a.project, a.name)>{a.name.clone()}</a>
                    </td>
                    <td>{a.owner}</td>
                    <td>{a.description}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list" data-testid="applications">
            <thead>
                <tr>
                    <th>"Application"</th>
                    <th>"Owner"</th>
                    <th>"Description"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

fn people_form(p: &ProjectView) -> impl IntoView {
    let errors = form_field_errors();
    view! {
        <form method="post" action=SetProjectPeople::url() class="form card" data-testid="people-form">
            <h3>"People"</h3>
            <input type="hidden" name="project" value=p.name.clone() />
            <label class="wide">
                "Owners (comma-separated; they change where data lives and decide access)"
                <input name="owners" value=p.owners.join(", ") required />
                {field_msg(&errors, "owners")}
            </label>
            <label class="wide">
                "Members (they create and edit queues and applications)"
                <input name="members" value=p.members.join(", ") />
                {field_msg(&errors, "members")}
            </label>
            <button type="submit">"Save people"</button>
        </form>
    }
}

/// Whether the project's own applications need access requests for its queues.
fn own_apps_form(p: &ProjectView) -> impl IntoView {
    view! {
        <form method="post" action=SetOwnAppsAccess::url() class="form card" id="own-apps" data-testid="own-apps-form">
            <h3>"Own applications"</h3>
            <input type="hidden" name="project" value=p.name.clone() />
            <label class="wide">
                <input type="checkbox" name="enabled" value="on" checked=p.own_apps_access />
                " This project's applications read and write its queues without an access request"
            </label>
            <button type="submit">"Save"</button>
        </form>
    }
}

fn new_application_form(project: &str) -> impl IntoView {
    let errors = form_field_errors();
    view! {
        <form method="post" action=CreateApplication::url() class="form card">
            <h3>"Register an application"</h3>
            <input type="hidden" name="project" value=project.to_string() />
            <label>
                "Name" <input name="name" required placeholder="billing-consumer" />
                {field_msg(&errors, "name")}
            </label>
            <label class="wide">
                "Description" <input name="description" />
                {field_msg(&errors, "description")}
            </label>
            <button type="submit">"Register application"</button>
        </form>
    }
}
