//! A queue's schema: versions, the compatibility mode, publishing, a diff between versions
//! and the queue as a Flink SQL table.

use super::layout::{ErrorBox, QueryError};
use super::lineage::ImpactPanel;
use crate::api::console::{
    check_schema_draft, queue_impact, schema_page, PublishSchema, SetSchemaMode, SetSensitiveFields,
};
use crate::domain::{format_millis, Compatibility, LineChange, SchemaCheck, SideBySideRow};
use leptos::prelude::set_timeout_with_handle;
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
                q.get("sample"),
            )
        },
        |(p, n, from, to, sample)| schema_page(p, n, from, to, sample),
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
                                <select name="compatibility" aria-label="Compatibility mode">{modes}</select>
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
                                <SideBySide from to rows=d.side_by_side.clone() />
                            }
                        });
                        let table = d.table.map(|t| view! {
                            <h2>"As a Flink SQL table"</h2>
                            <FlinkDdl ddl=t.flink_ddl />
                        });
                        let sample = latest.is_some().then(|| {
                            let (text, errors) = d.sample.clone().unzip();
                            let verdict = errors.map(|errors| {
                                if errors.is_empty() {
                                    view! { <p class="ok" data-testid="sample-result">"The message fits the latest version."</p> }.into_any()
                                } else {
                                    let items = errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view();
                                    view! { <ul class="field-errors" data-testid="sample-result">{items}</ul> }.into_any()
                                }
                            });
                            view! {
                                <form method="get" action=format!("{base}/schema") class="form card" data-testid="sample-form">
                                    <h2 class="wide">"Check a sample message"</h2>
                                    <label class="wide">
                                        "Message (JSON)"
                                        <textarea name="sample" rows="6" class="code" spellcheck="false">{text.unwrap_or_default()}</textarea>
                                    </label>
                                    <button type="submit" class="secondary">"Check"</button>
                                    <div class="wide">{verdict}</div>
                                </form>
                            }
                        });
                        let publish = d.can_publish.then(|| {
                            let (format, text) = latest
                                .as_ref()
                                .map(|v| (v.format.to_string(), v.definition.clone()))
                                .unwrap_or_else(|| (d.default_format.clone(), String::new()));
                            view! {
                                <form method="post" action=PublishSchema::url() class="form card">
                                    <h2 class="wide">"Publish a version"</h2>
                                    <input type="hidden" name="project" value=d.project.clone() />
                                    <input type="hidden" name="queue" value=d.queue.clone() />
                                    <SchemaEditor project=d.project.clone() queue=d.queue.clone() format text />
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
                            {latest.map(|v| {
                                let can_mark = d.can_set_mode;
                                let fields = d.fields.iter().enumerate().map(|(i, f)| {
                                    let in_schema = d.sensitive_in_schema.contains(&f.path);
                                    let marked = d.sensitive_marked.contains(&f.path);
                                    let sensitive = if in_schema {
                                        view! { <span>"yes (schema)"</span> }.into_any()
                                    } else if can_mark {
                                        view! {
                                            <input type="checkbox" name=format!("marked[{i}]")
                                                value=f.path.clone() checked=marked
                                                aria-label=format!("{} is sensitive", f.path) />
                                        }.into_any()
                                    } else {
                                        view! { <span>{if marked { "yes" } else { "no" }}</span> }.into_any()
                                    };
                                    view! {
                                        <tr>
                                            <td class="code">{f.path.clone()}</td>
                                            <td class="code">{f.ty.clone()}</td>
                                            <td>{if f.nullable { "yes" } else { "no" }}</td>
                                            <td class="code">{f.default.clone().unwrap_or_default()}</td>
                                            <td>{f.doc.clone().unwrap_or_default()}</td>
                                            <td data-testid="field-sensitive">{sensitive}</td>
                                        </tr>
                                    }
                                }).collect_view();
                                let imports = (!v.references.is_empty()).then(|| {
                                    let items = v.references.iter().map(|r| {
                                        let href = crate::domain::parse_subject(&r.subject)
                                            .map(|(p, q)| format!("/queues/{p}/{q}/schema"));
                                        view! {
                                            <li>
                                                <span class="code">{r.name.clone()}</span>
                                                " from "
                                                <a href=href>{r.subject.clone()}</a>
                                                {format!(" version {}", r.version)}
                                            </li>
                                        }
                                    }).collect_view();
                                    view! { <p>"Imports:"</p> <ul data-testid="schema-imports">{items}</ul> }
                                });
                                view! {
                                    <h2>{format!("Version {} · {}", v.version, v.format)}</h2>
                                    <form method="post" action=SetSensitiveFields::url()>
                                        <input type="hidden" name="project" value=d.project.clone() />
                                        <input type="hidden" name="queue" value=d.queue.clone() />
                                        <table class="list" data-testid="schema-fields">
                                            <thead><tr><th>"Field"</th><th>"Type"</th><th>"Nullable"</th><th>"Default"</th><th>"Doc"</th><th>"Sensitive"</th></tr></thead>
                                            <tbody>{fields}</tbody>
                                        </table>
                                        {can_mark.then(|| view! {
                                            <p class="muted small">
                                                "Sensitive fields are masked when people look at the queue's messages, for everyone but the project's owners. "
                                                <button type="submit" class="secondary">"Save sensitive fields"</button>
                                            </p>
                                        })}
                                    </form>
                                    {imports}
                                    <details class="raw" data-testid="schema-raw">
                                        <summary>"Definition"</summary>
                                        <pre class="code" data-testid="schema-latest">{v.definition}</pre>
                                    </details>
                                }
                            })}
                            {publish}
                            <SchemaImpact project=d.project.clone() queue=d.queue.clone() />
                            {sample}
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

/// Who a schema change reaches: everything downstream of the queue, with the owners to tell.
#[component]
fn SchemaImpact(project: String, queue: String) -> impl IntoView {
    let impact = Resource::new(
        move || (project.clone(), queue.clone()),
        |(p, q)| queue_impact(p, q),
    );
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                impact.await.ok().map(|impact| view! { <ImpactPanel impact /> })
            })}
        </Suspense>
    }
}

/// The schema text, its format and a comment, checked against the queue as the user types:
/// a parse error with its line and column, what the queue's mode would refuse (by field), or
/// the changes from the latest version. Without JavaScript it is a plain form.
#[island]
fn SchemaEditor(project: String, queue: String, format: String, text: String) -> impl IntoView {
    let (format_now, set_format) = signal(format.clone());
    let (status, set_status) = signal(None::<Result<SchemaCheck, String>>);
    let (checking, set_checking) = signal(false);
    let generation = StoredValue::new(0u64);
    let pending = StoredValue::new(None::<leptos::prelude::TimeoutHandle>);
    let (project, queue) = (StoredValue::new(project), StoredValue::new(queue));
    let (definition, set_definition) = signal(text.clone());
    let run = move || {
        let gen = generation.get_value() + 1;
        generation.set_value(gen);
        let text = definition.get_untracked();
        if text.trim().is_empty() {
            set_status.set(None);
            return;
        }
        set_checking.set(true);
        leptos::task::spawn_local(async move {
            let answer = check_schema_draft(
                project.get_value(),
                queue.get_value(),
                format_now.get_untracked(),
                text,
            )
            .await
            .map_err(|e| e.to_string());
            // Only the answer to the latest edit is shown.
            if generation.get_value() == gen {
                set_status.set(Some(answer));
                set_checking.set(false);
            }
        });
    };
    let schedule = move || {
        if let Some(h) = pending.get_value() {
            h.clear();
        }
        pending.set_value(set_timeout_with_handle(run, std::time::Duration::from_millis(250)).ok());
    };
    view! {
        <label>
            "Format"
            <select
                name="format"
                on:change=move |ev| {
                    set_format.set(event_target_value(&ev));
                    schedule();
                }
            >
                <option value="avro" selected=format == "avro">"Avro"</option>
                <option value="json" selected=format == "json">"JSON Schema"</option>
                <option value="protobuf" selected=format == "protobuf">"Protobuf"</option>
            </select>
        </label>
        <label>"Comment" <input name="comment" /></label>
        <label class="wide">
            "Schema"
            <textarea
                name="definition"
                rows="16"
                class="code"
                spellcheck="false"
                data-testid="schema-editor"
                on:input=move |ev| {
                    set_definition.set(event_target_value(&ev));
                    schedule();
                }
            >
                {text}
            </textarea>
        </label>
        <div class="wide live-check" data-testid="schema-live" aria-live="polite" class:busy=checking>
            {move || status.get().map(|answer| match answer {
                Err(e) => view! { <p class="error">{e}</p> }.into_any(),
                Ok(check) => check_view(check).into_any(),
            })}
        </div>
    }
}

fn check_view(check: SchemaCheck) -> impl IntoView {
    if let Some(p) = check.parse_error {
        return view! { <p class="error" data-state="invalid">{p.to_string()}</p> }.into_any();
    }
    if !check.problems.is_empty() {
        let items = check
            .problems
            .iter()
            .map(|p| view! { <li>{p.to_string()}</li> })
            .collect_view();
        return view! {
            <div data-state="incompatible">
                <p class="error">{format!("Valid, but {} would refuse it:", check.mode)}</p>
                <ul class="field-errors">{items}</ul>
            </div>
        }
        .into_any();
    }
    let changes = check
        .changes
        .iter()
        .map(|c| view! { <li><code>{c.field.clone()}</code> " " {c.kind.to_string()} " · " {c.impact()}</li> })
        .collect_view();
    view! {
        <div data-state="ok">
            <p class="ok">{format!("Valid and {} compatible.", check.mode)}</p>
            <ul>{changes}</ul>
        </div>
    }
    .into_any()
}

/// Two versions line by line: removed lines on the left, added on the right.
#[component]
fn SideBySide(from: i64, to: i64, rows: Vec<SideBySideRow>) -> impl IntoView {
    let cell = |side: Option<(usize, String)>| match side {
        Some((n, text)) => view! { <td class="ln">{n}</td><td class="src">{text}</td> }.into_any(),
        None => view! { <td class="ln"></td><td class="src"></td> }.into_any(),
    };
    let rows = rows
        .into_iter()
        .map(|r| {
            let class = match r.change {
                LineChange::Same => "same",
                LineChange::Removed => "removed",
                LineChange::Added => "added",
                LineChange::Changed => "changed",
            };
            view! { <tr class=class>{cell(r.left)}{cell(r.right)}</tr> }
        })
        .collect_view();
    view! {
        <table class="side-by-side" data-testid="schema-side-by-side">
            <thead>
                <tr><th colspan="2">{format!("Version {from}")}</th><th colspan="2">{format!("Version {to}")}</th></tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// The Flink DDL with a button that copies it.
#[component]
pub fn FlinkDdl(ddl: String) -> impl IntoView {
    view! {
        <div class="ddl-box">
            <CopyButton text=ddl.clone() />
            <pre class="ddl" data-testid="flink-ddl">{ddl}</pre>
        </div>
    }
}

/// Copies `text` to the clipboard; says so for two seconds.
#[island]
pub(crate) fn CopyButton(text: String) -> impl IntoView {
    let (copied, set_copied) = signal(false);
    let on_click = move |_| {
        let _ = window().navigator().clipboard().write_text(&text);
        set_copied.set(true);
        set_timeout(
            move || set_copied.set(false),
            std::time::Duration::from_secs(2),
        );
    };
    view! {
        <button type="button" class="secondary copy" data-testid="copy-ddl" on:click=on_click>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}
