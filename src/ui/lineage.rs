//! The lineage page (a server-drawn SVG graph with pan and zoom, depth, window and direction
//! controls, the selected node's paths lit and its impact listed) and the queue page's strip.

use super::layout::{ErrorBox, ListTable};
use crate::api::console::{draw_lineage, lineage_overview, queue_lineage};
use crate::domain::{
    format_millis, node_key, node_label, Direction, ImpactView, LineageEdge, LineageNode, NodeKind,
    DEFAULT_LINEAGE_DAYS, DEFAULT_LINEAGE_DEPTH, MAX_LINEAGE_DEPTH,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use strum::VariantArray;

/// Where a node's own page is.
fn node_href(n: &LineageNode) -> Option<String> {
    match n.kind {
        NodeKind::Queue => Some(format!("/queues/{}/{}", n.scope, n.name)),
        NodeKind::App => Some(format!("/applications/{}/{}", n.scope, n.name)),
        _ => None,
    }
}

/// `/lineage`: the landing page without `?node=`, the graph around the node with it.
#[component]
pub fn LineagePage() -> impl IntoView {
    let query = use_query_map();
    let landing = move || query.read().get("node").is_none_or(|n| n.trim().is_empty());
    view! {
        <Show when=landing fallback=|| view! { <LineageGraphPage /> }>
            <LineageLandingPage />
        </Show>
    }
}

/// A node's link on the lineage pages: its lineage view.
fn lineage_href(key: &str) -> String {
    let key: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
    format!("/lineage?node={key}")
}

/// An edge as a row: from → to (each a link to its lineage) and what flows.
fn edge_row(e: LineageEdge, now: i64) -> impl IntoView {
    let flow = e.flow(now);
    view! {
        <tr>
            <td><a href=lineage_href(&e.from)>{node_label(&e.from)}</a></td>
            <td><a href=lineage_href(&e.to)>{node_label(&e.to)}</a></td>
            <td>{flow}</td>
        </tr>
    }
}

/// The lineage landing page: find any node, the whole graph folded by project, the most-read
/// queues, edges new or gone stale in the window, and the jobs OpenLineage reported.
#[component]
fn LineageLandingPage() -> impl IntoView {
    let query = use_query_map();
    let screen = Resource::new(
        move || {
            let q = query.read();
            (
                q.get("q").unwrap_or_default(),
                q.get("days"),
                q.get("expand").unwrap_or_default(),
            )
        },
        |(q, days, expand)| lineage_overview(q, days, expand),
    );
    view! {
        <Title text="Lineage · Watershed" />
        <div class="page-head"><h1>"Lineage"</h1></div>
        <Suspense fallback=|| view! { <p class="loading">"Drawing the graph…"</p> }>
            {move || Suspend::new(async move {
                match screen.await {
                    Ok(s) => {
                        let l = s.landing;
                        let now = l.now;
                        let days = l.days;
                        let d = l.digest;
                        let found = (!l.q.is_empty()).then(|| {
                            if l.found.is_empty() {
                                return view! {
                                    <p class="empty" data-testid="lineage-found">{format!("Nothing named like {:?}.", l.q)}</p>
                                }.into_any();
                            }
                            let items = l.found.into_iter().map(|n| view! {
                                <li>
                                    <span class=format!("key ln-{}", n.kind)>{n.kind.to_string()}</span>
                                    " "
                                    <a href=lineage_href(&n.key)>{n.label()}</a>
                                    {(!n.owner.is_empty()).then(|| view! { <span class="muted">" · " {n.owner.clone()}</span> })}
                                </li>
                            }).collect_view();
                            view! { <ul class="found" data-testid="lineage-found">{items}</ul> }.into_any()
                        });
                        let most_read = if d.most_read.is_empty() {
                            view! { <p class="empty">"No queue was read in this window."</p> }.into_any()
                        } else {
                            let rows = d.most_read.into_iter().map(|r| view! {
                                <tr>
                                    <td><a href=lineage_href(&r.node.key)>{r.node.label()}</a></td>
                                    <td>{r.readers}</td>
                                    <td>{r.messages}</td>
                                </tr>
                            }).collect_view();
                            view! { <ListTable headings=&["Queue", "Readers", "Messages read"]>{rows}</ListTable> }.into_any()
                        };
                        let edges = |list: Vec<LineageEdge>, none: &'static str| {
                            if list.is_empty() {
                                return view! { <p class="empty">{none}</p> }.into_any();
                            }
                            let rows = list.into_iter().map(|e| edge_row(e, now)).collect_view();
                            view! { <ListTable headings=&["From", "To", "Flow"]>{rows}</ListTable> }.into_any()
                        };
                        let jobs = if d.jobs.is_empty() {
                            view! { <p class="empty">"No OpenLineage job has reported yet."</p> }.into_any()
                        } else {
                            let rows = d.jobs.into_iter().map(|j| view! {
                                <tr>
                                    <td><a href=lineage_href(&j.node.key)>{j.node.label()}</a></td>
                                    <td>{j.reads}</td>
                                    <td>{j.writes}</td>
                                    <td>{format_millis(j.last_seen)}</td>
                                </tr>
                            }).collect_view();
                            view! { <ListTable headings=&["Job", "Reads", "Writes", "Last seen"]>{rows}</ListTable> }.into_any()
                        };
                        let (w, h) = (l.drawing.width, l.drawing.height);
                        let expanded = (!l.expanded.is_empty()).then(|| view! {
                            <p class="notice">
                                {format!("Shown node by node: {}. ", l.expanded.join(", "))}
                                <a href=format!("/lineage?days={days}")>"Fold them again"</a>
                            </p>
                        });
                        view! {
                            <p class="muted" data-testid="lineage-size">
                                {format!("{} nodes and {} edges reported by SDKs and OpenLineage.", d.nodes, d.edges)}
                            </p>
                            <form method="get" action="/lineage" class="filters" role="search">
                                <label>"Find a queue, application or job "
                                    <input type="search" name="q" value=l.q.clone() placeholder="orders, checkout, etl…" data-testid="lineage-search" />
                                </label>
                                <label>"Window "
                                    <input type="number" name="days" min="1" max="365" value=days.to_string() />
                                    " days"
                                </label>
                                <button type="submit">"Find"</button>
                            </form>
                            {found}
                            <section data-testid="lineage-overview">
                                <h2>"Every project"</h2>
                                <p class="muted">"Each project is one node until you click it; click a queue, application or job to open its lineage."</p>
                                {expanded}
                                <PanZoom width=w height=h />
                                <div id="lineage-canvas" class="lineage-canvas overview" inner_html=s.svg></div>
                            </section>
                            <div class="digest">
                                <section data-testid="most-read">
                                    <h2>"Most-read queues"</h2>
                                    {most_read}
                                </section>
                                <section data-testid="new-edges">
                                    <h2>{format!("New in the last {days} days")}</h2>
                                    {edges(d.new_edges, "No new reader or writer.")}
                                </section>
                                <section data-testid="stale-edges">
                                    <h2>{format!("Went stale in the last {days} days")}</h2>
                                    {edges(d.went_stale, "Nothing stopped.")}
                                </section>
                                <section data-testid="jobs">
                                    <h2>"Jobs known only from OpenLineage"</h2>
                                    {jobs}
                                </section>
                            </div>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The lineage of the node in `?node=`.
#[component]
fn LineageGraphPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.read().get(k);
    let screen = Resource::new(
        move || {
            (
                get("node").unwrap_or_default(),
                get("direction"),
                get("depth"),
                get("days"),
                get("stale").map(|s| s == "true" || s == "on"),
                get("open").unwrap_or_default(),
                get("expand").unwrap_or_default(),
                get("selected").unwrap_or_default(),
                get("edge").unwrap_or_default(),
            )
        },
        |(node, direction, depth, days, stale, open, expand, selected, edge)| {
            draw_lineage(
                node, direction, depth, days, stale, open, expand, selected, edge,
            )
        },
    );
    view! {
        <Title text="Lineage · Watershed" />
        <Suspense fallback=|| view! { <p class="loading">"Drawing the graph…"</p> }>
            {move || Suspend::new(async move {
                match screen.await {
                    Ok(s) => {
                        let p = s.page;
                        let focus = p.focus.clone();
                        let export = {
                            let q = query.read();
                            let mut url = url::form_urlencoded::Serializer::new(String::new());
                            for k in ["node", "direction", "depth", "days", "stale", "open", "expand", "selected", "edge"] {
                                if let Some(v) = q.get(k) {
                                    url.append_pair(k, &v);
                                }
                            }
                            format!("/lineage.svg?{}", url.finish())
                        };
                        let directions = Direction::VARIANTS
                            .iter()
                            .map(|d| view! {
                                <option value=d.to_string() selected=*d == p.direction>{d.to_string()}</option>
                            })
                            .collect_view();
                        let grouped = (!p.drawing.grouped.is_empty()).then(|| view! {
                            <p class="notice" data-testid="lineage-grouped">
                                {format!(
                                    "More than 300 nodes: {} shown as one node per project. Click a project to expand it.",
                                    p.drawing.grouped.join(", ")
                                )}
                            </p>
                        });
                        let (w, h) = (p.drawing.width, p.drawing.height);
                        view! {
                            <div class="page-head">
                                <h1>"Lineage of " <span data-testid="lineage-focus">{focus.label()}</span></h1>
                                {node_href(&focus).map(|href| view! { <a href=href>"Open " {focus.kind.to_string()}</a> })}
                            </div>
                            <form method="get" action="/lineage" class="filters lineage-controls">
                                <input type="hidden" name="node" value=focus.key.clone() />
                                <label>"Direction " <select name="direction">{directions}</select></label>
                                <label>"Depth "
                                    <input type="number" name="depth" min="1" max=MAX_LINEAGE_DEPTH.to_string() value=p.depth.to_string() data-testid="lineage-depth" />
                                </label>
                                <label>"Active in the last "
                                    <input type="number" name="days" min="1" max="365" value=p.days.to_string() />
                                    " days"
                                </label>
                                <label class="check"><input type="checkbox" name="stale" value="true" checked=p.include_stale />" show stale edges"</label>
                                <button type="submit">"Apply"</button>
                                <a class="button secondary" href=export download="lineage.svg" data-testid="lineage-export">"Export SVG"</a>
                            </form>
                            {grouped}
                            <p class="legend">
                                <span class="key ln-app">"application"</span>
                                <span class="key ln-queue">"queue"</span>
                                <span class="key ln-job">"job"</span>
                                <span class="key ln-group">"project group"</span>
                                <span class="muted">"Click a node to light its paths and open its neighbours; drag to pan, scroll to zoom. Faded: quiet or stale; dashed edges: stale."</span>
                            </p>
                            <PanZoom width=w height=h />
                            <div id="lineage-canvas" class="lineage-canvas" inner_html=s.svg></div>
                            <p class="share">
                                <a href=p.share.clone() data-testid="lineage-share">"Link to this view"</a>
                                <span class="muted">" (node, direction, depth, window, stale edges, opened and expanded nodes, selection)"</span>
                            </p>
                            {p.edge.map(|e| view! { <EdgePanel edge=e now=p.now /> })}
                            <ImpactPanel impact=p.impact />
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Pan and zoom for the graph: wheel zooms about the pointer, dragging pans, the buttons zoom
/// about the centre. It changes the SVG's `viewBox`, so the drawing stays crisp.
#[island]
fn PanZoom(width: f64, height: f64) -> impl IntoView {
    // (x, y, zoom): the viewBox's corner and the magnification.
    let (view_box, set_view_box) = signal((0.0f64, 0.0f64, 1.0f64));
    let zoom_about = move |factor: f64, fx: f64, fy: f64| {
        set_view_box.update(|(x, y, z)| {
            let nz = (*z * factor).clamp(0.1, 8.0);
            // Keep the point at fraction (fx, fy) of the view where it is.
            *x += fx * width / *z - fx * width / nz;
            *y += fy * height / *z - fy * height / nz;
            *z = nz;
        })
    };
    Effect::new(move |_| {
        let (x, y, z) = view_box.get();
        if let Some(svg) = document().get_element_by_id("lineage-svg") {
            let _ = svg.set_attribute(
                "viewBox",
                &format!("{x:.1} {y:.1} {:.1} {:.1}", width / z, height / z),
            );
        }
    });
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let Some(canvas) = document().get_element_by_id("lineage-canvas") else {
            return;
        };
        let size = {
            let canvas = canvas.clone();
            move || {
                (
                    f64::from(canvas.client_width().max(1)),
                    f64::from(canvas.client_height().max(1)),
                )
            }
        };
        let wheel = {
            let size = size.clone();
            Closure::<dyn FnMut(web_sys::WheelEvent)>::new(move |e: web_sys::WheelEvent| {
                e.prevent_default();
                let (cw, ch) = size();
                let factor = if e.delta_y() < 0.0 { 1.15 } else { 1.0 / 1.15 };
                zoom_about(
                    factor,
                    f64::from(e.offset_x()) / cw,
                    f64::from(e.offset_y()) / ch,
                );
            })
        };
        let drag = StoredValue::new(None::<(f64, f64, f64, f64)>);
        let down =
            Closure::<dyn FnMut(web_sys::PointerEvent)>::new(move |e: web_sys::PointerEvent| {
                let (x, y, _) = view_box.get_untracked();
                drag.set_value(Some((
                    f64::from(e.client_x()),
                    f64::from(e.client_y()),
                    x,
                    y,
                )));
            });
        let moved = {
            let size = size.clone();
            Closure::<dyn FnMut(web_sys::PointerEvent)>::new(move |e: web_sys::PointerEvent| {
                let Some((sx, sy, x0, y0)) = drag.get_value() else {
                    return;
                };
                let (cw, ch) = size();
                let (dx, dy) = (f64::from(e.client_x()) - sx, f64::from(e.client_y()) - sy);
                if dx.abs() + dy.abs() < 3.0 {
                    return;
                }
                set_view_box.update(|(x, y, z)| {
                    *x = x0 - dx * width / *z / cw;
                    *y = y0 - dy * height / *z / ch;
                });
            })
        };
        let up = Closure::<dyn FnMut(web_sys::PointerEvent)>::new(move |_| drag.set_value(None));
        let _ = canvas.add_event_listener_with_callback("wheel", wheel.as_ref().unchecked_ref());
        let _ =
            canvas.add_event_listener_with_callback("pointerdown", down.as_ref().unchecked_ref());
        let _ =
            canvas.add_event_listener_with_callback("pointermove", moved.as_ref().unchecked_ref());
        for ev in ["pointerup", "pointerleave"] {
            let _ = canvas.add_event_listener_with_callback(ev, up.as_ref().unchecked_ref());
        }
        // The page lives as long as the listeners do.
        wheel.forget();
        down.forget();
        moved.forget();
        up.forget();
    });
    view! {
        <div class="pan-zoom" role="toolbar" aria-label="Zoom">
            <button type="button" class="secondary" data-testid="zoom-in" on:click=move |_| zoom_about(1.25, 0.5, 0.5)>"+"</button>
            <button type="button" class="secondary" data-testid="zoom-out" on:click=move |_| zoom_about(0.8, 0.5, 0.5)>"−"</button>
            <button type="button" class="secondary" on:click=move |_| set_view_box.set((0.0, 0.0, 1.0))>"Fit"</button>
        </div>
    }
}

/// What flows along one edge.
#[component]
fn EdgePanel(edge: LineageEdge, now: i64) -> impl IntoView {
    let unit = if edge.from.starts_with("job:") || edge.to.starts_with("job:") {
        "runs"
    } else {
        "messages"
    };
    view! {
        <section class="edge-panel card" data-testid="edge-panel">
            <h2>
                <a href=lineage_href(&edge.from)>{node_label(&edge.from)}</a>
                " → "
                <a href=lineage_href(&edge.to)>{node_label(&edge.to)}</a>
            </h2>
            <dl class="facts">
                <dt>"Flow"</dt>
                <dd data-testid="edge-flow">{edge.flow(now)}</dd>
                <dt>{format!("Total {unit}")}</dt>
                <dd>{edge.messages}</dd>
                <dt>"Bytes"</dt>
                <dd>{edge.bytes}</dd>
                <dt>"First seen"</dt>
                <dd>{format_millis(edge.first_seen)}</dd>
                <dt>"Last seen"</dt>
                <dd>{format_millis(edge.last_seen)}</dd>
                <dt>"Within the window"</dt>
                <dd>{if edge.stale { "no (stale)" } else { "yes" }}</dd>
            </dl>
        </section>
    }
}

/// Everything downstream of a node and the people to tell.
#[component]
pub fn ImpactPanel(impact: ImpactView) -> impl IntoView {
    let root = impact.root.clone();
    if impact.nodes.is_empty() {
        return view! {
            <section class="impact" data-testid="impact">
                <h2>"Impact"</h2>
                <p class="muted">{format!("Nothing reads from {root} downstream in this window.")}</p>
            </section>
        }
        .into_any();
    }
    let rows = impact
        .nodes
        .into_iter()
        .map(|n| {
            let grant = match n.live_grant {
                Some(true) => view! { <span class="badge ok">"live grant"</span> }.into_any(),
                Some(false) => view! { <span class="badge warn">"no live grant"</span> }.into_any(),
                None => view! { <span class="muted">"—"</span> }.into_any(),
            };
            let href = format!("/lineage?node={}", n.key);
            view! {
                <tr>
                    <td>{n.distance}</td>
                    <td>{n.kind.to_string()}</td>
                    <td><a href=href>{n.label}</a></td>
                    <td>{n.owner}</td>
                    <td>{n.project_owners.join(", ")}</td>
                    <td>{grant}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="impact" data-testid="impact">
            <h2>"Impact of changing " <code>{root}</code></h2>
            <p>"Tell: " <strong data-testid="impact-owners">{impact.owners.join(", ")}</strong></p>
            <ListTable headings=&["Hops", "Kind", "Node", "Owner", "Project owners", "Access"]>{rows}</ListTable>
        </section>
    }
    .into_any()
}

/// A queue's direct writers and readers, with a link to its full lineage.
#[component]
pub fn LineageStripSection(project: String, queue: String) -> impl IntoView {
    let key = node_key(NodeKind::Queue, &project, &queue);
    let strip = Resource::new(
        move || (project.clone(), queue.clone()),
        |(p, q)| queue_lineage(p, q),
    );
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let key = key.clone();
                Suspend::new(async move {
                    strip.await.ok().map(|s| {
                        let chips = |nodes: Vec<LineageNode>| {
                            if nodes.is_empty() {
                                return view! { <span class="muted">"none seen"</span> }.into_any();
                            }
                            nodes
                                .into_iter()
                                .map(|n| {
                                    let href = format!("/lineage?node={}", n.key);
                                    view! {
                                        <a class=format!("chip ln-{} h-{}", n.kind, n.health) href=href>{n.label()}</a>
                                    }
                                })
                                .collect_view()
                                .into_any()
                        };
                        let (_, name) = key.split_once('/').unwrap_or_default();
                        view! {
                            <section class="lineage-strip" data-testid="lineage-strip">
                                <h2>"Lineage"</h2>
                                <div class="strip">
                                    <div class="side">{chips(s.writers)}</div>
                                    <span class="arrow">"→"</span>
                                    <a class="chip ln-queue focus" href=format!("/lineage?node={key}")>{name.to_string()}</a>
                                    <span class="arrow">"→"</span>
                                    <div class="side">{chips(s.readers)}</div>
                                </div>
                                <a href=format!("/lineage?node={key}&depth={DEFAULT_LINEAGE_DEPTH}&days={DEFAULT_LINEAGE_DAYS}") data-testid="open-lineage">"Open the lineage graph"</a>
                            </section>
                        }
                    })
                })
            }}
        </Suspense>
    }
}
