//! A look inside a queue: its messages decoded with the queue's schema, masked where
//! sensitive, filtered by key, field or text. The form is a plain GET form, so the page works
//! the same without JavaScript; a link reproduces a look, and the download is JSON lines.

use super::access::RequestAccessForm;
use super::layout::{field_msg, ErrorBox};
use super::schemas::CopyButton;
use crate::api::console::{peek_queue, AppError};
use crate::domain::{
    format_millis, Peek, PeekInput, PeekMessage, DEFAULT_PEEK_BYTES, DEFAULT_PEEK_MESSAGES,
    DEFAULT_PEEK_SCAN, DEFAULT_PEEK_SECS, MAX_PEEK_BYTES, MAX_PEEK_SCAN, MAX_PEEK_SECS,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The query parameters a look is made of, in the form's order.
const PARAMS: [&str; 12] = [
    "limit",
    "partition",
    "offset",
    "from_time",
    "key",
    "field",
    "text",
    "scan",
    "max_mb",
    "max_secs",
    "side",
    "unmask",
];

fn input_from(get: impl Fn(&str) -> Option<String>) -> PeekInput {
    PeekInput {
        limit: get("limit"),
        partition: get("partition"),
        offset: get("offset"),
        from_time: get("from_time"),
        key: get("key"),
        field: get("field"),
        text: get("text"),
        scan: get("scan"),
        max_mb: get("max_mb"),
        max_secs: get("max_secs"),
        side: get("side"),
        unmask: get("unmask").map(|v| v == "true" || v == "on"),
    }
}

/// `/queues/{project}/{name}/messages`.
#[component]
pub fn QueueMessagesPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let look = Resource::new(
        move || {
            let p = params.read();
            let q = query.read();
            (
                p.get("project").unwrap_or_default(),
                p.get("name").unwrap_or_default(),
                input_from(|k| q.get(k)),
            )
        },
        |(project, name, input)| peek_queue(project, name, input),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Reading messages…"</p> }>
            {move || Suspend::new(async move {
                let (project, name, input, search) = {
                    let p = params.read_untracked();
                    let q = query.read_untracked();
                    (
                        p.get("project").unwrap_or_default(),
                        p.get("name").unwrap_or_default(),
                        input_from(|k| q.get(k)),
                        PARAMS
                            .iter()
                            .filter_map(|k| q.get(k).map(|v| (k.to_string(), v)))
                            .collect::<Vec<_>>(),
                    )
                };
                let answer = look.await;
                view! { <MessagesView project name input search answer /> }
            })}
        </Suspense>
    }
}

#[component]
fn MessagesView(
    project: String,
    name: String,
    input: PeekInput,
    search: Vec<(String, String)>,
    answer: Result<Peek, AppError>,
) -> impl IntoView {
    let queue_href = format!("/queues/{project}/{name}");
    let schema_href = format!("{queue_href}/schema");
    let errors = match &answer {
        Err(e) => e.fields.clone(),
        Ok(_) => Vec::new(),
    };
    let can_unmask = matches!(&answer, Ok(p) if p.can_unmask);
    let body = match answer {
        Ok(peek) => {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(search.iter())
                .finish();
            let download = format!("/api/v1/queues/{project}/{name}/messages/download?{query}");
            view! { <PeekResult peek download /> }.into_any()
        }
        Err(e) if e.status == 403 => view! {
            <div class="error" role="alert" data-testid="peek-refused">{e.message.clone()}</div>
            <p>
                "You can read the queue's "
                <a href=schema_href.clone()>"schema"</a>
                " without access."
            </p>
            <RequestAccessForm queue_project=project.clone() queue=name.clone() />
        }
        .into_any(),
        Err(e) if e.fields.is_empty() => view! { <ErrorBox error=e /> }.into_any(),
        Err(e) => view! {
            <div class="error" role="alert" data-testid="peek-invalid">{e.message.clone()}</div>
        }
        .into_any(),
    };
    let val = |v: &Option<String>| v.clone().unwrap_or_default();
    let side_other = input.side.as_deref() == Some("other");
    view! {
        <Title text=format!("{project}/{name} messages · Watershed") />
        <div class="page-head">
            <h1>
                <a href=format!("/projects/{project}")>{project.clone()}</a>
                " / "
                <a href=queue_href.clone()>{name.clone()}</a>
                " · messages"
            </h1>
            <div>
                <a class="button secondary" href=schema_href>"Schema"</a>
            </div>
        </div>
        <form method="get" class="card peek-form" action=format!("{queue_href}/messages")>
            <div class="peek-fields">
                <label>
                    "Messages"
                    <input name="limit" type="number" min="1" max="500"
                        placeholder=DEFAULT_PEEK_MESSAGES.to_string() value=val(&input.limit) />
                    {field_msg(&errors, "limit")}
                </label>
                <label>
                    "Partition"
                    <input name="partition" type="number" min="0" placeholder="all"
                        value=val(&input.partition) />
                    {field_msg(&errors, "partition")}
                </label>
                <label>
                    "From offset"
                    <input name="offset" type="number" min="0" placeholder="newest"
                        value=val(&input.offset) />
                    {field_msg(&errors, "offset")}
                </label>
                <label>
                    "From time"
                    <input name="from_time" placeholder="2026-12-01T09:00:00Z"
                        value=val(&input.from_time) />
                    {field_msg(&errors, "from_time")}
                </label>
                <label>
                    "Key"
                    <input name="key" value=val(&input.key) />
                    {field_msg(&errors, "key")}
                </label>
                <label>
                    "Field"
                    <input name="field" placeholder="country = \"FR\"" value=val(&input.field) />
                    {field_msg(&errors, "field")}
                </label>
                <label>
                    "Text"
                    <input name="text" value=val(&input.text) />
                    {field_msg(&errors, "text")}
                </label>
                <label>
                    "Filter over at most (messages a partition)"
                    <input name="scan" type="number" min="1" max=MAX_PEEK_SCAN.to_string()
                        placeholder=DEFAULT_PEEK_SCAN.to_string() value=val(&input.scan) />
                    {field_msg(&errors, "scan")}
                </label>
                <label>
                    "Read at most (MB)"
                    <input name="max_mb" type="number" min="1" max=(MAX_PEEK_BYTES >> 20).to_string()
                        placeholder=(DEFAULT_PEEK_BYTES >> 20).to_string() value=val(&input.max_mb) />
                    {field_msg(&errors, "max_mb")}
                </label>
                <label>
                    "For at most (seconds)"
                    <input name="max_secs" type="number" min="1" max=MAX_PEEK_SECS.to_string()
                        placeholder=DEFAULT_PEEK_SECS.to_string() value=val(&input.max_secs) />
                    {field_msg(&errors, "max_secs")}
                </label>
                <label>
                    "Cluster"
                    <select name="side">
                        <option value="active" selected=!side_other>"active"</option>
                        <option value="other" selected=side_other>"other side"</option>
                    </select>
                    {field_msg(&errors, "side")}
                </label>
                {can_unmask.then(|| view! {
                    <label class="inline">
                        <input type="checkbox" name="unmask" value="true"
                            checked=input.unmask == Some(true) />
                        " Show sensitive fields (audited)"
                    </label>
                })}
            </div>
            <button type="submit">"Peek"</button>
        </form>
        {body}
    }
}

fn kilobytes(bytes: u64) -> String {
    if bytes >= 10 * 1024 * 1024 {
        format!("{} MB", bytes >> 20)
    } else if bytes >= 1024 {
        format!("{} KB", bytes.div_ceil(1024))
    } else {
        format!("{bytes} bytes")
    }
}

#[component]
fn PeekResult(peek: Peek, download: String) -> impl IntoView {
    let stopped = match peek.stopped.as_str() {
        "end" => "read to the end".to_string(),
        "limit" => "stopped with enough messages".to_string(),
        "bytes" => format!("stopped at the byte budget ({})", kilobytes(peek.max_bytes)),
        _ => format!("stopped at the time budget ({} s)", peek.max_secs),
    };
    let summary = format!(
        "{} shown · {} read ({}) in {} ms on {} ({}) · {}",
        peek.messages.len(),
        peek.scanned,
        kilobytes(peek.bytes_read),
        peek.elapsed_ms,
        peek.cluster,
        peek.side,
        stopped
    );
    let schema = match peek.schema_version {
        Some(v) => format!("Schema: version {v} is the latest."),
        None => "No schema: values show as JSON, text or hex.".to_string(),
    };
    let rows = peek
        .messages
        .iter()
        .cloned()
        .map(|m| view! { <MessageRow m /> })
        .collect_view();
    let empty = peek.messages.is_empty();
    view! {
        <section class="card" data-testid="peek-result">
            <p data-testid="peek-summary">{summary}</p>
            <p class="muted small">
                {schema}
                {peek.unmasked.then_some(" Sensitive fields are shown in the clear; this look is audited.")}
            </p>
            <p>
                <a class="button secondary" href=download download="">
                    "Download as JSON lines"
                </a>
            </p>
            {if empty {
                view! { <p class="empty">"No messages match."</p> }.into_any()
            } else {
                view! {
                    <table class="list peek">
                        <thead>
                            <tr>
                                <th scope="col">"Partition · offset"</th>
                                <th scope="col">"Time"</th>
                                <th scope="col">"Key"</th>
                                <th scope="col">"Value"</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                }
                .into_any()
            }}
        </section>
    }
}

#[component]
fn MessageRow(m: PeekMessage) -> impl IntoView {
    let value = if matches!(m.encoding.as_str(), "avro" | "json" | "protobuf") {
        serde_json::from_str::<serde_json::Value>(&m.value)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or(m.value.clone())
    } else {
        m.value.clone()
    };
    let badge = match (m.schema_version, m.encoding.as_str()) {
        (Some(v), enc @ ("avro" | "json" | "protobuf")) => format!("{enc} · schema version {v}"),
        (_, enc) => enc.to_string(),
    };
    let headers = m
        .headers
        .iter()
        .map(|h| format!("{}: {}", h.name, h.value.clone().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(" · ");
    let masked = (!m.masked_fields.is_empty()).then(|| {
        let names = m
            .masked_fields
            .iter()
            .map(|f| {
                if f.is_empty() {
                    "the value"
                } else {
                    f.as_str()
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        view! { <div class="muted small" data-testid="peek-masked">"Masked: " {names}</div> }
    });
    view! {
        <tr data-testid="peek-message" data-offset=m.offset.to_string()>
            <td>{format!("{} · {}", m.partition, m.offset)}</td>
            <td>{m.timestamp.map(format_millis).unwrap_or_default()}</td>
            <td>
                <code>{m.key.clone().unwrap_or_default()}</code>
            </td>
            <td>
                <span class="badge" data-testid="peek-encoding">{badge}</span>
                {m.problem.clone().map(|p| view! {
                    <div class="error" data-testid="peek-problem">"Breaks the queue's schema: " {p}</div>
                })}
                <pre class="peek-value">{value}</pre>
                {masked}
                {(!headers.is_empty()).then(|| view! { <div class="muted small">"Headers: " {headers}</div> })}
                {m.producer_command.clone().map(|c| view! {
                    <details>
                        <summary>"Copy as producer command"</summary>
                        <CopyButton text=c.clone() />
                        <pre><code>{c}</code></pre>
                    </details>
                })}
            </td>
        </tr>
    }
}
