//! The lineage page (a server-drawn SVG graph with pan and zoom, depth, window and direction
//! controls, the selected node's paths lit and its impact listed) and the queue page's strip.

use super::layout::{ErrorBox, ListTable};
use crate::api::console::{draw_lineage, queue_lineage};
use crate::domain::{
    node_key, Direction, ImpactView, LineageNode, NodeKind, DEFAULT_LINEAGE_DAYS,
    DEFAULT_LINEAGE_DEPTH, MAX_LINEAGE_DEPTH,
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

/// The lineage page of the node in `?node=`.
#[component]
pub fn LineagePage() -> impl IntoView {
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
            )
        },
        |(node, direction, depth, days, stale, open, expand, selected)| {
            draw_lineage(node, direction, depth, days, stale, open, expand, selected)
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
                            for k in ["node", "direction", "depth", "days", "stale", "open", "expand", "selected"] {
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
