//! A queue's schema: versions, the compatibility mode, publishing, a diff between versions
//! and the queue as a Flink SQL table.

use super::layout::{ErrorBox, QueryError};
use crate::api::console::{schema_page, PublishSchema, SetSchemaMode};
use crate::domain::{format_millis, Compatibility};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use strum::VariantArray;

#[component]
pub fn SchemaPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let page = Resource::new(
        move || {
            let p = params.read();
            let q = query.read();
            (
                p.get("project").unwrap_or_default(),
                p.get("name").unwrap_or_default(),
                q.get("from").and_then(|v| v.parse().ok()),
                q.get("to").and_then(|v| v.parse().ok()),
            )
        },
        |(p, n, from, to)| schema_page(p, n, from, to),
    );
    view! {
        <QueryError />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(d) => {
                        let base = format!("/queues/{}/{}", d.project, d.queue);
                        let latest = d.versions.last().cloned();
                        let rows = d
                            .versions
                            .iter()
                            .rev()
                            .map(|v| {
                                let cmp = (v.version > 1)
                                    .then(|| format!("{base}/schema?from={}&to={}", v.version - 1, v.version));
                                view! {
                                    <tr>
                                        <td>{v.version}</td>
                                        <td>{v.format.to_string()}</td>
                                        <td>{v.author.clone()}</td>
                                        <td>{format_millis(v.created_at)}</td>
                                        <td>{v.comment.clone()}</td>
                                        <td>{cmp.map(|h| view! { <a href=h>"diff"</a> })}</td>
                                    </tr>
                                }
                            })
                            .collect_view();
                        let modes = Compatibility::VARIANTS
                            .iter()
                            .map(|m| view! { <option value=m.to_string() selected=*m == d.mode>{m.to_string()}</option> })
                            .collect_view();
                        let mode_form = d.can_set_mode.then(|| view! {
                            <form method="post" action=SetSchemaMode::url() class="inline">
                                <input type="hidden" name="project" value=d.project.clone() />
                                <input type="hidden" name="queue" value=d.queue.clone() />
                                <select name="compatibility">{modes}</select>
                                <button type="submit" class="secondary">"Set mode"</button>
                            </form>
                        });
                        let diff = d.diff.map(|(from, to, changes)| {
                            let items = changes
                                .into_iter()
                                .map(|c| view! {
                                    <tr class=if c.breaks_backward || c.breaks_forward { "breaking" } else { "" }>
                                        <td><code>{c.field.clone()}</code></td>
                                        <td>{c.kind.to_string()}</td>
                                        <td>{c.before.clone().unwrap_or_default()}</td>
                                        <td>{c.after.clone().unwrap_or_default()}</td>
                                        <td>{c.impact()}</td>
                                        <td>{c.reason.clone()}</td>
                                    </tr>
                                })
                                .collect_view();
                            view! {
                                <h2>{format!("Changes from version {from} to {to}")}</h2>
                                <table class="list" data-testid="schema-diff">
                                    <thead><tr><th>"Field"</th><th>"Change"</th><th>"Before"</th><th>"After"</th><th>"Impact"</th><th>"Why"</th></tr></thead>
                                    <tbody>{items}</tbody>
                                </table>
                            }
                        });
                        let table = d.table.map(|t| view! {
                            <h2>"As a Flink SQL table"</h2>
                            <pre class="ddl" data-testid="flink-ddl">{t.flink_ddl}</pre>
                        });
                        let publish = d.can_publish.then(|| {
                            let (format, text) = latest
                                .as_ref()
                                .map(|v| (v.format.to_string(), v.definition.clone()))
                                .unwrap_or_else(|| ("avro".into(), String::new()));
                            view! {
                                <form method="post" action=PublishSchema::url() class="form card">
                                    <h2 class="wide">"Publish a version"</h2>
                                    <input type="hidden" name="project" value=d.project.clone() />
                                    <input type="hidden" name="queue" value=d.queue.clone() />
                                    <label>
                                        "Format"
                                        <select name="format">
                                            <option value="avro" selected=format == "avro">"Avro"</option>
                                            <option value="json" selected=format == "json">"JSON Schema"</option>
                                        </select>
                                    </label>
                                    <label>"Comment" <input name="comment" /></label>
                                    <label class="wide">
                                        "Schema"
                                        <textarea name="definition" rows="16" class="code" spellcheck="false">{text}</textarea>
                                    </label>
                                    <button type="submit">"Publish"</button>
                                </form>
                            }
                        });
                        view! {
                            <Title text=format!("Schema of {}/{} · Watershed", d.project, d.queue) />
                            <div class="page-head">
                                <h1>
                                    <a href=base.clone()>{format!("{}/{}", d.project, d.queue)}</a>
                                    " · schema"
                                </h1>
                            </div>
                            <p>
                                "Compatibility: " <strong data-testid="schema-mode">{d.mode.to_string()}</strong> " " {mode_form}
                            </p>
                            {latest.map(|v| view! {
                                <h2>{format!("Version {}", v.version)}</h2>
                                <pre class="code" data-testid="schema-latest">{v.definition}</pre>
                            })}
                            {publish}
                            {diff}
                            <h2>"Versions"</h2>
                            <table class="list" data-testid="schema-versions">
                                <thead><tr><th>"Version"</th><th>"Format"</th><th>"Author"</th><th>"Published"</th><th>"Comment"</th><th></th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            {table}
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
