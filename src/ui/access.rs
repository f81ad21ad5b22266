//! Access in the console: the request form on a queue's page, a request with its timeline and
//! decisions, the requests overview (inbox and mine), and an application's tokens and grants.

use super::layout::{ErrorBox, ListTable, QueryError};
use crate::api::console::{
    application_page, my_applications, request_page, requests_overview, CancelRequest,
    DecideRequest, DecideRequests, IssueAppToken, RequestAccess, RevokeAppToken, RevokeGrant,
};
use crate::domain::{
    format_millis, node_label, waited, AccessRequestView, AppTokenView, GrantView, RequestContext,
};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// "Request access" on a queue's page.
#[component]
pub fn RequestAccessForm(queue_project: String, queue: String) -> impl IntoView {
    let apps = Resource::new(|| (), |_| my_applications());
    view! {
        <section id="request-access" class="card">
            <h2>"Request access"</h2>
            <Suspense fallback=|| ()>
                {move || {
                    let (queue_project, queue) = (queue_project.clone(), queue.clone());
                    Suspend::new(async move {
                        match apps.await {
                            Ok(list) if list.is_empty() => {
                                view! {
                                    <p class="muted">
                                        "Register an application in one of your projects to ask for access."
                                    </p>
                                }
                                    .into_any()
                            }
                            Ok(list) => {
                                let options = list
                                    .into_iter()
                                    .map(|a| {
                                        let v = format!("{}/{}", a.project, a.name);
                                        view! { <option value=v.clone()>{v.clone()}</option> }
                                    })
                                    .collect_view();
                                view! {
                                    <form method="post" action=RequestAccess::url() class="form">
                                        <input type="hidden" name="queue_project" value=queue_project />
                                        <input type="hidden" name="queue" value=queue />
                                        <label>
                                            "Application" <select name="application">{options}</select>
                                        </label>
                                        <label>
                                            "Permission"
                                            <select name="permission">
                                                <option value="consume">"consume"</option>
                                                <option value="produce">"produce"</option>
                                                <option value="both">"both"</option>
                                            </select>
                                        </label>
                                        <label>
                                            "Duration"
                                            <select name="duration">
                                                <option value="30">"30 days"</option>
                                                <option value="90" selected>"90 days"</option>
                                                <option value="180">"180 days"</option>
                                                <option value="permanent">"permanent"</option>
                                            </select>
                                        </label>
                                        <label class="wide">
                                            "Reason" <textarea name="reason" rows="2" required></textarea>
                                        </label>
                                        <button type="submit">"Request access"</button>
                                    </form>
                                }
                                    .into_any()
                            }
                            Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

/// One request: its facts, timeline, and the decisions the viewer may take.
#[component]
pub fn RequestPage() -> impl IntoView {
    let params = use_params_map();
    let id: i64 = params
        .read_untracked()
        .get("id")
        .and_then(|i| i.parse().ok())
        .unwrap_or(0);
    let page = Resource::new(move || id, request_page);
    view! {
        <Title text=format!("Request {id} · Watershed") />
        <QueryError />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => {
                        let r = p.request;
                        let timeline = r
                            .events
                            .iter()
                            .map(|e| {
                                view! {
                                    <li>
                                        <span class="muted small">{format_millis(e.at)}</span>
                                        " "
                                        <strong>{e.kind.clone()}</strong>
                                        " by "
                                        {e.actor.clone()}
                                        {(!e.comment.is_empty()).then(|| format!(": {}", e.comment))}
                                    </li>
                                }
                            })
                            .collect_view();
                        let decide = p.can_decide.then(|| {
                            view! {
                                <form method="post" action=DecideRequest::url() class="card form decision">
                                    <input type="hidden" name="id" value=r.id />
                                    <label class="wide">
                                        "Comment (required to reject)" <textarea name="comment" rows="2"></textarea>
                                    </label>
                                    <button type="submit" name="decision" value="approve">
                                        "Approve"
                                    </button>
                                    <button type="submit" name="decision" value="reject" class="secondary">
                                        "Reject"
                                    </button>
                                </form>
                            }
                        });
                        let cancel = p.can_cancel.then(|| {
                            view! {
                                <form method="post" action=CancelRequest::url()>
                                    <input type="hidden" name="id" value=r.id />
                                    <button type="submit" class="secondary">
                                        "Cancel request"
                                    </button>
                                </form>
                            }
                        });
                        view! {
                            <h1>{format!("Request {}", r.id)}</h1>
                            <dl class="facts">
                                <dt>"Application"</dt>
                                <dd>
                                    <a href=format!(
                                        "/applications/{}/{}",
                                        r.project,
                                        r.application,
                                    )>{format!("{}/{}", r.project, r.application)}</a>
                                </dd>
                                <dt>"Queue"</dt>
                                <dd>
                                    <a href=format!(
                                        "/queues/{}/{}",
                                        r.queue_project,
                                        r.queue,
                                    )>{format!("{}/{}", r.queue_project, r.queue)}</a>
                                </dd>
                                <dt>"Permission"</dt>
                                <dd>{r.permission.to_string()}</dd>
                                <dt>"Duration"</dt>
                                <dd>{r.duration_days.map_or("permanent".to_string(), |d| format!("{d} days"))}</dd>
                                <dt>"Requested by"</dt>
                                <dd>{r.requester.clone()}</dd>
                                <dt>"Waiting"</dt>
                                <dd data-testid="request-waited">
                                    {if r.status.is_open() {
                                        waited(r.created_at, p.now)
                                    } else {
                                        format!("no: asked {}", format_millis(r.created_at))
                                    }}
                                </dd>
                                <dt>"Reason"</dt>
                                <dd>{r.reason.clone()}</dd>
                                <dt>"Status"</dt>
                                <dd data-testid="request-status">{r.status.to_string()}</dd>
                                <dt>"Approvals"</dt>
                                <dd>{if r.needs_admin { "owner, then an admin (sensitive queue)" } else { "owner or approver" }}</dd>
                            </dl>
                            <ContextSection context=p.context application=format!("{}/{}", r.project, r.application) queue=format!("{}/{}", r.queue_project, r.queue) />
                            <h2>"Timeline"</h2>
                            <ol class="timeline">{timeline}</ol>
                            {decide}
                            {cancel}
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Beside a request: what its application already reads, writes and holds, and who else
/// reads the queue (from lineage).
#[component]
fn ContextSection(context: RequestContext, application: String, queue: String) -> impl IntoView {
    let list = |items: Vec<String>, testid: &'static str, none: &'static str| {
        if items.is_empty() {
            return view! { <p class="muted" data-testid=testid>{none}</p> }.into_any();
        }
        let items = items
            .into_iter()
            .map(|i| {
                let href = if i.contains(':') {
                    let key: String = url::form_urlencoded::byte_serialize(i.as_bytes()).collect();
                    format!("/lineage?node={key}")
                } else {
                    format!("/queues/{i}")
                };
                view! { <li><a href=href>{node_label(&i)}</a></li> }
            })
            .collect_view();
        view! { <ul class="chips" data-testid=testid>{items}</ul> }.into_any()
    };
    let grants = context
        .app_grants
        .iter()
        .map(|g| format!("{} on {}/{}", g.permission, g.queue_project, g.queue))
        .collect::<Vec<_>>();
    let grants = if grants.is_empty() {
        view! { <p class="muted" data-testid="context-grants">"No live grant."</p> }.into_any()
    } else {
        let items = grants
            .into_iter()
            .map(|g| view! { <li>{g}</li> })
            .collect_view();
        view! { <ul data-testid="context-grants">{items}</ul> }.into_any()
    };
    view! {
        <section class="request-context" data-testid="request-context">
            <h2>"Context"</h2>
            <div class="digest">
                <div>
                    <h3>{format!("{application} already reads")}</h3>
                    {list(context.app_reads, "context-reads", "Nothing, in the last 7 days.")}
                    <h3>{format!("{application} writes")}</h3>
                    {list(context.app_writes, "context-writes", "Nothing, in the last 7 days.")}
                    <h3>"Its grants"</h3>
                    {grants}
                </div>
                <div>
                    <h3>{format!("Who else reads {queue}")}</h3>
                    {list(context.queue_readers, "context-readers", "Nobody, in the last 7 days.")}
                </div>
            </div>
        </section>
    }
}

fn request_rows(list: Vec<AccessRequestView>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"None."</p> }.into_any();
    }
    let rows = list
        .into_iter()
        .map(|r| {
            view! {
                <tr>
                    <td>
                        <a href=format!("/requests/{}", r.id)>{format!("#{}", r.id)}</a>
                    </td>
                    <td>{format!("{}/{}", r.project, r.application)}</td>
                    <td>{format!("{}/{}", r.queue_project, r.queue)}</td>
                    <td>{r.permission.to_string()}</td>
                    <td>{r.requester.clone()}</td>
                    <td>{r.status.to_string()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <ListTable headings=&["Request", "Application", "Queue", "Permission", "Requester", "Status"]>{rows}</ListTable>
    }
    .into_any()
}

/// The inbox, longest waiting first, each row with a box to tick; one decision and one
/// comment for every ticked request.
fn inbox_form(list: Vec<AccessRequestView>, now: i64) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="empty">"None."</p> }.into_any();
    }
    let rows = list
        .into_iter()
        .map(|r| {
            let id = r.id;
            view! {
                <tr data-testid="inbox-row" data-id=id>
                    <td>
                        <input type="checkbox" name=format!("picked[{id}]") value="on" aria-label=format!("Pick request {id}") data-testid="pick" />
                    </td>
                    <td><a href=format!("/requests/{id}")>{format!("#{id}")}</a></td>
                    <td data-testid="waited">{waited(r.created_at, now)}</td>
                    <td>{format!("{}/{}", r.project, r.application)}</td>
                    <td>{format!("{}/{}", r.queue_project, r.queue)}</td>
                    <td>{r.permission.to_string()}</td>
                    <td>{r.requester.clone()}</td>
                    <td>{r.status.to_string()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <form method="post" action=DecideRequests::url() data-testid="bulk-form">
            <ListTable headings=&["Pick", "Request", "Waiting", "Application", "Queue", "Permission", "Requester", "Status"]>{rows}</ListTable>
            <div class="card form decision">
                <label class="wide">
                    "One comment for every ticked request (required to reject)"
                    <textarea name="comment" rows="2"></textarea>
                </label>
                <button type="submit" name="decision" value="approve" data-testid="bulk-approve">"Approve ticked"</button>
                <button type="submit" name="decision" value="reject" class="secondary" data-testid="bulk-reject">"Reject ticked"</button>
            </div>
        </form>
    }
    .into_any()
}

/// What the last bulk decision did, from the query string it came back with.
#[component]
fn BulkOutcome() -> impl IntoView {
    let query = use_query_map();
    let q = query.read_untracked();
    let decided = q.get_all("decided").unwrap_or_default();
    let refused = q.get_all("refused").unwrap_or_default();
    (!decided.is_empty() || !refused.is_empty()).then(|| {
        let decided = (!decided.is_empty()).then(|| {
            let ids = decided
                .iter()
                .map(|d| format!("#{d}"))
                .collect::<Vec<_>>()
                .join(", ");
            view! { <p data-testid="bulk-decided">{format!("Decided {ids}.")}</p> }
        });
        let refused = (!refused.is_empty()).then(|| {
            let items = refused
                .into_iter()
                .filter(|r| r.parse::<i64>().is_ok())
                .map(|r| view! { <li><a href=format!("/requests/{r}")>{format!("#{r}")}</a></li> })
                .collect_view();
            view! {
                <p>"Not decided (open each to see why: decided meanwhile, or not yours to decide):"</p>
                <ul class="chips" data-testid="bulk-refused">{items}</ul>
            }
        });
        view! {
            <div class="notice" role="status" data-testid="bulk-outcome">
                {decided}
                {refused}
            </div>
        }
    })
}

/// The inbox (requests waiting for the viewer) and the viewer's own requests.
#[component]
pub fn RequestsPage() -> impl IntoView {
    let lists = Resource::new(|| (), |_| requests_overview());
    view! {
        <Title text="Requests · Watershed" />
        <h1>"Access requests"</h1>
        <QueryError />
        <BulkOutcome />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match lists.await {
                    Ok(l) => {
                        view! {
                            <h2 id="inbox">"Waiting for your decision"</h2>
                            <p class="muted">"Longest waiting first. Tick several to decide them with one comment; each is still checked and audited on its own."</p>
                            <div data-testid="inbox">{inbox_form(l.inbox, l.now)}</div>
                            <h2 id="mine">"My requests"</h2>
                            <div data-testid="mine">{request_rows(l.mine)}</div>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// An application with its tokens (issue, rotate, revoke) and grants.
#[component]
pub fn ApplicationPage() -> impl IntoView {
    let params = use_params_map();
    let (project, name) = {
        let p = params.read_untracked();
        (
            p.get("project").unwrap_or_default(),
            p.get("name").unwrap_or_default(),
        )
    };
    let page = Resource::new(
        move || (project.clone(), name.clone()),
        |(p, n)| application_page(p, n),
    );
    view! {
        <QueryError />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(d) => {
                        let a = d.application;
                        let new_token = d.new_token.map(|t| {
                            view! {
                                <div class="card notice" role="status">
                                    <p>
                                        <strong>"Copy this token now: it is not shown again."</strong>
                                    </p>
                                    <code class="token" data-testid="new-token">{t}</code>
                                </div>
                            }
                        });
                        let grants = grant_rows(d.grants, &d.revocable);
                        let tokens = token_rows(&a.project, &a.name, d.tokens, d.can_manage);
                        let issue = d.can_manage.then(|| {
                            view! {
                                <form method="post" action=IssueAppToken::url()>
                                    <input type="hidden" name="project" value=a.project.clone() />
                                    <input type="hidden" name="name" value=a.name.clone() />
                                    <button type="submit">"Issue a token"</button>
                                </form>
                            }
                        });
                        view! {
                            <Title text=format!("{}/{} · Watershed", a.project, a.name) />
                            <div class="page-head">
                                <h1>{format!("{}/{}", a.project, a.name)}</h1>
                                <a href=format!("/lineage?node=app:{}/{}", a.project, a.name) data-testid="app-lineage">"Lineage"</a>
                                {issue}
                            </div>
                            <p>{a.description.clone()}</p>
                            <dl class="facts">
                                <dt>"Project"</dt>
                                <dd>
                                    <a href=format!("/projects/{}", a.project)>{a.project.clone()}</a>
                                </dd>
                                <dt>"Owner"</dt>
                                <dd>{a.owner.clone()}</dd>
                            </dl>
                            {new_token}
                            <h2>"Tokens"</h2>
                            {tokens}
                            <h2>"Grants"</h2>
                            {grants}
                            <h2>"Consumer groups"</h2>
                            <super::health::GroupsTable groups=d.groups />
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn token_rows(
    project: &str,
    name: &str,
    tokens: Vec<AppTokenView>,
    can_manage: bool,
) -> impl IntoView {
    if tokens.is_empty() {
        return view! { <p class="muted">"No tokens yet."</p> }.into_any();
    }
    let rows = tokens
        .into_iter()
        .map(|t| {
            let live = t.revoked_at.is_none();
            let actions = (live && can_manage).then(|| {
                let (p, n, id) = (project.to_string(), name.to_string(), t.id.to_string());
                view! {
                    <form method="post" action=IssueAppToken::url() class="inline">
                        <input type="hidden" name="project" value=p.clone() />
                        <input type="hidden" name="name" value=n.clone() />
                        <input type="hidden" name="replaces" value=id.clone() />
                        <button type="submit" class="secondary">"Rotate"</button>
                    </form>
                    <form method="post" action=RevokeAppToken::url() class="inline">
                        <input type="hidden" name="project" value=p />
                        <input type="hidden" name="name" value=n />
                        <input type="hidden" name="id" value=id />
                        <button type="submit" class="danger">"Revoke"</button>
                    </form>
                }
            });
            view! {
                <tr>
                    <td>
                        <code>{format!("{}…", t.prefix)}</code>
                    </td>
                    <td>{format_millis(t.created_at)}</td>
                    <td>
                        {t.revoked_at.map_or("live".to_string(), |r| format!("revoked {}", format_millis(r)))}
                    </td>
                    <td>{actions}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list" data-testid="tokens">
            <thead>
                <tr>
                    <th>"Token"</th>
                    <th>"Issued"</th>
                    <th>"State"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

fn grant_rows(grants: Vec<GrantView>, revocable: &[i64]) -> impl IntoView {
    let rows = grants
        .into_iter()
        .map(|g| {
            let state = if g.revoked_at.is_some() {
                "revoked".to_string()
            } else {
                g.expires_at
                    .map_or("permanent".into(), |e| format!("until {}", format_millis(e)))
            };
            let revoke = revocable.contains(&g.id).then(|| {
                view! {
                    <form method="post" action=RevokeGrant::url() class="inline">
                        <input type="hidden" name="id" value=g.id.to_string() />
                        <button type="submit" class="danger">"Revoke"</button>
                    </form>
                }
            });
            view! {
                <tr>
                    <td>
                        <a href=format!(
                            "/queues/{}/{}",
                            g.queue_project,
                            g.queue,
                        )>{format!("{}/{}", g.queue_project, g.queue)}</a>
                    </td>
                    <td>{g.permission.to_string()}</td>
                    <td>{state}</td>
                    <td>
                        <a href=format!("/requests/{}", g.request_id)>{format!("#{}", g.request_id)}</a>
                    </td>
                    <td>{revoke}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list" data-testid="grants">
            <thead>
                <tr>
                    <th>"Queue"</th>
                    <th>"Permission"</th>
                    <th>"Valid"</th>
                    <th>"Request"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
