//! The audit log with filters (admins).

use super::layout::{ErrorBox, ListTable, Pager};
use crate::api::console::list_audit;
use crate::domain::{format_millis, AuditFilter};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        AuditFilter {
            actor: q.get("actor"),
            action: q.get("action"),
            target_kind: q.get("target_kind"),
            target: q.get("target"),
            offset: q.get("offset").and_then(|o| o.parse().ok()),
            limit: Some(50),
        }
    };
    let page = Resource::new(filter, list_audit);
    let value = move |k: &'static str| move || query.read().get(k).unwrap_or_default();
    view! {
        <Title text="Audit log · Watershed" />
        <h1>"Audit log"</h1>
        <form method="get" action="/audit" class="filters">
            <input name="actor" placeholder="actor" aria-label="Actor" value=value("actor") />
            <input name="action" placeholder="action, e.g. queue.create" aria-label="Action" value=value("action") />
            <select name="target_kind" aria-label="Target kind">
                <option value="">"any kind"</option>
                {["project", "cluster", "queue", "user"]
                    .into_iter()
                    .map(|k| {
                        view! {
                            <option value=k selected=move || query.read().get("target_kind").as_deref() == Some(k)>
                                {k}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            <input name="target" placeholder="target contains" aria-label="Target contains" value=value("target") />
            <button type="submit">"Filter"</button>
        </form>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => {
                        let f = filter();
                        let base = format!(
                            "/audit?actor={}&action={}&target_kind={}&target={}",
                            f.actor.unwrap_or_default(),
                            f.action.unwrap_or_default(),
                            f.target_kind.unwrap_or_default(),
                            f.target.unwrap_or_default(),
                        );
                        let rows = p
                            .items
                            .iter()
                            .map(|e| {
                                view! {
                                    <tr>
                                        <td class="nowrap">{format_millis(e.at)}</td>
                                        <td>{e.actor.clone()}</td>
                                        <td>
                                            <code>{e.action.clone()}</code>
                                        </td>
                                        <td>{format!("{} {}", e.target_kind, e.target)}</td>
                                        <td class="summary">{e.summary.clone()}</td>
                                    </tr>
                                }
                            })
                            .collect_view();
                        view! {
                            <ListTable headings=&["When", "Who", "Action", "Target", "Change"] class="audit">{rows}</ListTable>
                            <Pager page=p base />
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
