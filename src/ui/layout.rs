//! The signed-in frame: header, navigation, and small shared pieces.

use super::search::SearchBox;
use crate::api::console::{inbox_count, unread_notifications, AppError, Logout};
use crate::domain::{FieldError, Page, UserView};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::components::{Outlet, Redirect};
use leptos_router::hooks::use_query_map;

/// The signed-in user, loaded once per page load and shared by every page.
#[derive(Clone, Copy)]
pub struct UserResource(pub Resource<Result<Option<UserView>, AppError>>);

/// The signed-in user, or `None`, for pages that show role-specific controls.
pub async fn current_user() -> Option<UserView> {
    let UserResource(r) = expect_context::<UserResource>();
    r.await.ok().flatten()
}

/// Header, navigation and the page; sends visitors who are not signed in to the login page.
#[component]
pub fn Layout() -> impl IntoView {
    // Read now, while the router is here: the header renders after the user loads, and a
    // request its client abandoned meanwhile has no router left to ask.
    let here = leptos_router::hooks::use_location()
        .pathname
        .get_untracked();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let here = here.clone();
                // Made now, while the route is here: made after the wait below, an abandoned
                // request's outlet would find no route left (seen under the fuzzer as a panic).
                let page = view! { <Outlet /> };
                Suspend::new(async move {
                match current_user().await {
                    Some(user) => view! {
                        <Header user here />
                        <main>
                            {page}
                        </main>
                    }
                        .into_any(),
                    None => view! { <Redirect path="/login" /> }.into_any(),
                }
            })
            }}
        </Suspense>
    }
}

#[component]
fn Header(user: UserView, here: String) -> impl IntoView {
    let link = |href: &'static str, label: &'static str| {
        view! { <NavLink href here=here.clone()>{label}</NavLink> }
    };
    let audit = user
        .role
        .is_admin()
        .then(|| (link("/audit", "Audit log"), link("/users", "Users")));
    view! {
        <header class="top">
            <a href="/" class="brand">
                "≋ Watershed"
            </a>
            <nav>
                {link("/", "Data map")}
                {link("/projects", "Projects")}
                {link("/lineage", "Lineage")}
                {link("/clusters", "Clusters")}
                <CountLink
                    href="/requests"
                    label="Requests"
                    testid="inbox-badge"
                    here=here.clone()
                    count=Resource::new(|| (), |_| inbox_count())
                />
                <CountLink
                    href="/notifications"
                    label="Notifications"
                    testid="notice-badge"
                    here=here.clone()
                    count=Resource::new(|| (), |_| unread_notifications())
                />
                {link("/tokens", "API tokens")}
                {audit}
            </nav>
            <SearchBox />
            <UserMenu
                label=format!("{} · {}", user.username, user.role)
                logout=Logout::url().to_string()
            />
            <noscript>
                <form method="post" action=Logout::url()>
                    <button type="submit" class="link">
                        "Sign out"
                    </button>
                </form>
            </noscript>
        </header>
    }
}

/// A header link with a count badge: requests waiting for the viewer's decision, unread
/// notifications.
#[component]
fn CountLink(
    href: &'static str,
    label: &'static str,
    testid: &'static str,
    count: Resource<Result<i64, AppError>>,
    here: String,
) -> impl IntoView {
    view! {
        <NavLink href here>
            {label}
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    count
                        .await
                        .ok()
                        .filter(|n| *n > 0)
                        .map(|n| view! { <span class="badge" data-testid=testid>{n}</span> })
                })}
            </Suspense>
        </NavLink>
    }
}

/// A header link, marked `aria-current` on its own page and the pages under it (the data map
/// only on itself). A plain link: the console moves between pages by loading them.
#[component]
fn NavLink(href: &'static str, here: String, children: Children) -> impl IntoView {
    let current = here == href
        || (href != "/"
            && here
                .strip_prefix(href)
                .is_some_and(|rest| rest.starts_with('/')));
    view! {
        <a href=href aria-current=current.then_some("page")>
            {children()}
        </a>
    }
}

/// The user button and its menu: an island, hydrated in the browser.
#[island]
fn UserMenu(label: String, logout: String) -> impl IntoView {
    let (open, set_open) = signal(false);
    view! {
        <div class="user">
            <button
                type="button"
                class="user-button"
                data-testid="user-menu"
                on:click=move |_| set_open.update(|o| *o = !*o)
            >
                {label}
            </button>
            <div class="user-menu" class:open=move || open.get()>
                <form method="post" action=logout>
                    <button type="submit">"Sign out"</button>
                </form>
            </div>
        </div>
    }
}

/// A page-level error.
#[component]
pub fn ErrorBox(error: AppError) -> impl IntoView {
    view! {
        <div class="error" role="alert">
            {error.message.clone()}
        </div>
    }
}

/// The error a plain form post brought back in the query string, if any.
#[component]
pub fn QueryError() -> impl IntoView {
    let query = use_query_map();
    move || {
        query.read().get("error").map(|e| {
            view! {
                <div class="error" role="alert">
                    {e}
                </div>
            }
        })
    }
}

/// The field errors a refused form post came back with, as `field_error=<field>: <message>`
/// query parameters.
pub fn form_field_errors() -> Vec<FieldError> {
    use_query_map()
        .read_untracked()
        .get_all("field_error")
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| {
            let (field, message) = e.split_once(": ")?;
            Some(FieldError::new(field, message))
        })
        .collect()
}

/// The message for one field, to show beside its input.
pub fn field_msg(errors: &[FieldError], field: &str) -> impl IntoView {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| view! { <span class="field-error">{e.message.clone()}</span> })
}

/// A list table: its column headings over the rows it is given.
#[component]
pub fn ListTable(
    headings: &'static [&'static str],
    /// Another class beside `list`, for pages that style their table.
    #[prop(optional)]
    class: &'static str,
    children: Children,
) -> impl IntoView {
    let class = if class.is_empty() {
        "list".to_string()
    } else {
        format!("list {class}")
    };
    view! {
        <table class=class>
            <thead>
                <tr>{headings.iter().map(|h| view! { <th>{*h}</th> }).collect_view()}</tr>
            </thead>
            <tbody>{children()}</tbody>
        </table>
    }
}

/// Previous / next links for a server-side page, keeping the other query parameters.
#[component]
pub fn Pager<T: Clone + Send + Sync + 'static>(page: Page<T>, base: String) -> impl IntoView {
    let sep = if base.contains('?') { "&" } else { "?" };
    let prev = (page.offset > 0)
        .then(|| format!("{base}{sep}offset={}", (page.offset - page.limit).max(0)));
    let next = (page.offset + page.limit < page.total)
        .then(|| format!("{base}{sep}offset={}", page.offset + page.limit));
    let shown_to = (page.offset + page.items.len() as i64).min(page.total);
    view! {
        <div class="pager">
            <span>
                {format!("{}–{} of {}", if page.total == 0 { 0 } else { page.offset + 1 }, shown_to, page.total)}
            </span>
            {prev.map(|h| view! { <a href=h rel="prev">"← Previous"</a> })}
            {next.map(|h| view! { <a href=h rel="next">"Next →"</a> })}
        </div>
    }
}

/// Shown for an unknown path.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <main>
            <h1>"Not found"</h1>
            <p>
                <a href="/">"Back to the data map"</a>
            </p>
        </main>
    }
}
