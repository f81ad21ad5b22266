//! The data map: search results with facets (server-rendered), and the header's search box
//! (an island: results as you type, keyboard navigation, `/` to focus).

use super::layout::ErrorBox;
use crate::api::console::search_queues;
use crate::domain::{QueueAccess, SearchHit, SearchRequest, SearchResults, SnippetPart};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The request the current URL describes.
fn request_from_query() -> SearchRequest {
    let q = use_query_map();
    let q = q.read_untracked();
    let get = |k: &str| q.get(k).filter(|v| !v.trim().is_empty());
    SearchRequest {
        q: get("q"),
        project: get("project"),
        tag: get("tag"),
        cluster: get("cluster"),
        format: get("format"),
        owner: get("owner"),
        limit: Some(20),
        offset: get("offset").and_then(|o| o.parse().ok()),
    }
}

/// `/?…` for a request, with one filter set or cleared and paging reset.
fn url_with(
    req: &SearchRequest,
    field: &str,
    value: Option<&str>,
    offset: Option<usize>,
) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(q) = &req.q {
        pairs.push(("q", q.clone()));
    }
    for (k, v) in req.filter_params() {
        let v = if k == field {
            value.map(str::to_string)
        } else {
            v.clone()
        };
        if let Some(v) = v {
            pairs.push((k, v));
        }
    }
    if let Some(o) = offset.filter(|o| *o > 0) {
        pairs.push(("offset", o.to_string()));
    }
    let query: Vec<String> = pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={}", encode(&v)))
        .collect();
    if query.is_empty() {
        "/".into()
    } else {
        format!("/?{}", query.join("&"))
    }
}

/// Percent-encodes a query value.
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Home: the data map.
#[component]
pub fn DataMapPage() -> impl IntoView {
    let req = request_from_query();
    let results = Resource::new(
        {
            let req = req.clone();
            move || req.clone()
        },
        search_queues,
    );
    view! {
        <Title text="Data map · Watershed" />
        <div class="page-head">
            <h1>"Data map"</h1>
            <a class="button" href="/queues/new">
                "New queue"
            </a>
        </div>
        <form method="get" action="/" class="search">
            <input
                type="search"
                name="q"
                value=req.q.clone().unwrap_or_default()
                placeholder="Find a queue: words, prefixes, tag:pii, project:shop, owner:alice"
                aria-label="Search queues"
            />
            {req
                .filter_params()
                .into_iter()
                .filter_map(|(f, v)| v.clone().map(|v| view! { <input type="hidden" name=f value=v /> }))
                .collect_view()}
            <button type="submit">"Search"</button>
        </form>
        <Suspense fallback=|| view! { <p class="loading">"Searching…"</p> }>
            {move || {
                let req = req.clone();
                Suspend::new(async move {
                    match results.await {
                        Ok(r) => view! { <Results req r /> }.into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn Results(req: SearchRequest, r: SearchResults) -> impl IntoView {
    let active: Vec<(String, String)> = req.parse().filters;
    let chips = active
        .iter()
        .map(|(f, v)| {
            let href = url_with(&req, f, None, None);
            view! {
                <a class="chip" href=href title="Remove this filter">
                    {format!("{f}:{v} ✕")}
                </a>
            }
        })
        .collect_view();
    let estimated = r.facets_estimated;
    let facets = r
        .facets
        .iter()
        .filter(|f| !f.values.is_empty())
        .map(|facet| {
            let links = facet
                .values
                .iter()
                .map(|v| {
                    let selected = active.contains(&(facet.field.clone(), v.value.clone()));
                    let href = url_with(
                        &req,
                        &facet.field,
                        (!selected).then_some(v.value.as_str()),
                        None,
                    );
                    view! {
                        <li>
                            <a href=href class:selected=selected data-facet=facet.field.clone()>
                                <span>{v.value.clone()}</span>
                                <span class="count">
                                    {if estimated { format!("≈{}", v.count) } else { v.count.to_string() }}
                                </span>
                            </a>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <section class="facet">
                    <h3>{facet.field.clone()}</h3>
                    <ul>{links}</ul>
                </section>
            }
        })
        .collect_view();
    let building = r.building.map(|b| {
        view! {
            <p class="notice" role="status">
                {format!(
                    "The search index is being built from the database ({} of {} queues so far); until it is done, searches find only what it holds.",
                    b.indexed,
                    b.total,
                )}
            </p>
        }
    });
    let (offset, limit) = (r.offset, r.limit);
    let prev = (offset > 0).then(|| url_with(&req, "", None, Some(offset.saturating_sub(limit))));
    let next = (offset + limit < r.total).then(|| url_with(&req, "", None, Some(offset + limit)));
    let empty = r.hits.is_empty();
    let hits = r
        .hits
        .into_iter()
        .map(|h| view! { <Hit h /> })
        .collect_view();
    view! {
        <div class="datamap">
            <aside class="facets">{facets}</aside>
            <div class="results">
                {building}
                <div class="result-head">
                    <span class="muted">
                        {format!("{} queues · {:.1} ms", r.total, r.took_ms)}
                    </span>
                    {chips}
                </div>
                {if empty {
                    view! {
                        <div class="empty">
                            <p>"No queue matches."</p>
                            <p class="muted small">
                                "Try fewer or shorter words (prefixes match, and one typo is forgiven in words of four letters or more), "
                                "or remove a filter. Filters: project:, tag:, cluster:, format:, owner:."
                            </p>
                        </div>
                    }
                        .into_any()
                } else {
                    view! { <ol class="hits">{hits}</ol> }.into_any()
                }}
                <div class="pager">
                    {prev.map(|h| view! { <a href=h rel="prev">"← Previous"</a> })}
                    {next.map(|h| view! { <a href=h rel="next">"Next →"</a> })}
                </div>
            </div>
        </div>
    }
}

fn snippet(parts: Vec<SnippetPart>) -> impl IntoView {
    parts
        .into_iter()
        .map(|p| {
            if p.highlight {
                view! { <mark>{p.text}</mark> }.into_any()
            } else {
                p.text.into_any()
            }
        })
        .collect_view()
}

#[component]
fn Hit(h: SearchHit) -> impl IntoView {
    let href = format!("/queues/{}/{}", h.project, h.name);
    let tags = h
        .tags
        .iter()
        .map(|t| view! { <span class="tag">{t.clone()}</span> })
        .collect_view();
    view! {
        <li class="hit">
            <a href=href class="queue-link">
                <span class="project">{h.project.clone()}</span>
                " / "
                <strong>{h.name.clone()}</strong>
            </a>
            <p class="snippet">{snippet(h.snippet)}</p>
            {(!h.matched_fields.is_empty()).then(|| {
                let fields = h
                    .matched_fields
                    .iter()
                    .map(|f| view! { <code>{f.clone()}</code> " " })
                    .collect_view();
                view! { <p class="small" data-testid="hit-fields">"schema fields: " {fields}</p> }
            })}
            <div class="meta small">
                <span>"owner " {h.owner}</span>
                <span>{format!("{} ({})", h.cluster, h.cluster_kind)}</span>
                <span>{h.format}</span>
                {tags}
                {h.health.map(|status| view! {
                    <span title="The worst status of the queue's consumer groups" data-testid="hit-health">
                        <super::health::StatusBadge status />
                    </span>
                })}
                <span
                    class=format!("access access-{}", h.access)
                    data-testid="hit-access"
                    title="What your projects' applications may do with this queue"
                >
                    {h.access.label()}
                </span>
                {(h.access != QueueAccess::ReadWrite)
                    .then(|| view! {
                        <a href=format!("/queues/{}/{}#request-access", h.project, h.name) class="request-link">
                            "Request access"
                        </a>
                    })}
            </div>
        </li>
    }
}

/// The header's search box. Without JavaScript it is a plain GET form to the data map.
#[island]
pub fn SearchBox() -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    let (results, set_results) = signal(Vec::<SearchHit>::new());
    let (selected, set_selected) = signal(None::<usize>);
    let (open, set_open) = signal(false);
    let generation = StoredValue::new(0u64);
    let pending = StoredValue::new(None::<TimeoutHandle>);

    let run = move |text: String| {
        let gen = generation.get_value() + 1;
        generation.set_value(gen);
        if text.trim().is_empty() {
            set_results.set(Vec::new());
            set_open.set(false);
            return;
        }
        leptos::task::spawn_local(async move {
            let req = SearchRequest {
                q: Some(text),
                limit: Some(8),
                ..Default::default()
            };
            if let Ok(r) = search_queues(req).await {
                // Only the answer to the latest keystroke is shown.
                if generation.get_value() == gen {
                    set_results.set(r.hits);
                    set_selected.set(None);
                    set_open.set(true);
                }
            }
        });
    };
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        if let Some(h) = pending.get_value() {
            h.clear();
        }
        let handle =
            set_timeout_with_handle(move || run(text), std::time::Duration::from_millis(120)).ok();
        pending.set_value(handle);
    };
    let go = |h: &SearchHit| {
        let _ = window()
            .location()
            .set_href(&format!("/queues/{}/{}", h.project, h.name));
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let n = results.with(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" if n > 0 => {
                ev.prevent_default();
                set_selected.update(|s| *s = Some(s.map_or(0, |i| (i + 1) % n)));
            }
            "ArrowUp" if n > 0 => {
                ev.prevent_default();
                set_selected.update(|s| *s = Some(s.map_or(n - 1, |i| (i + n - 1) % n)));
            }
            "Enter" => {
                if let Some(i) = selected.get() {
                    ev.prevent_default();
                    results.with(|r| r.get(i).map(go));
                }
            }
            "Escape" => set_open.set(false),
            _ => {}
        }
    };
    // `/` anywhere outside a field focuses the search box.
    let _focus = window_event_listener(leptos::ev::keydown, move |ev| {
        let typing = document()
            .active_element()
            .map(|e| matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
            .unwrap_or(false);
        if ev.key() == "/" && !typing {
            ev.prevent_default();
            if let Some(el) = input.get() {
                let _ = el.focus();
            }
        }
    });
    view! {
        <form method="get" action="/" class="header-search" role="search">
            <input
                node_ref=input
                type="search"
                name="q"
                placeholder="Search queues  ( / )"
                autocomplete="off"
                aria-label="Search queues"
                data-testid="header-search"
                on:input=on_input
                on:keydown=on_keydown
            />
            // `try_`: a server render abandoned midway may run these after the island is gone.
            <ul
                class="suggestions"
                class:open=move || {
                    open.try_get().unwrap_or(false)
                        && !results.try_with(Vec::is_empty).unwrap_or(true)
                }
                role="listbox"
            >
                {move || {
                    results
                        .try_get()
                        .unwrap_or_default()
                        .into_iter()
                        .enumerate()
                        .map(|(i, h)| {
                            let href = format!("/queues/{}/{}", h.project, h.name);
                            view! {
                                <li
                                    role="option"
                                    class:active=move || selected.try_get().flatten() == Some(i)
                                    aria-selected=move || {
                                        (selected.try_get().flatten() == Some(i)).to_string()
                                    }
                                >
                                    <a href=href>
                                        <span class="project">{h.project.clone()}</span>
                                        " / "
                                        <strong>{h.name.clone()}</strong>
                                        <span class="muted small">{format!(" · {}", h.cluster)}</span>
                                    </a>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </form>
    }
}
