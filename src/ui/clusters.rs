//! Clusters: list, register, edit, and a cluster's page with its health, topics and queues.

use super::charts::compact;
use super::failover::{ClusterFailoverForm, SwitchedNotice};
use super::layout::{field_msg, form_field_errors, ErrorBox, ListTable, QueryError};
use super::queues::QueueTable;
use crate::api::console::{
    get_cluster, list_clusters, ClusterForm, CreateCluster, ImportTopics, UpdateCluster,
};
use crate::domain::{format_millis, ClusterKind, ClusterView, SaslMechanism};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use strum::VariantArray;

#[component]
pub fn ClustersPage() -> impl IntoView {
    let clusters = Resource::new(|| (), |_| list_clusters());
    view! {
        <Title text="Clusters · Watershed" />
        <div class="page-head">
            <h1>"Clusters"</h1>
            <a class="button" href="/clusters/new">
                "Register cluster"
            </a>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match clusters.await {
                    Ok(list) => {
                        let rows = list
                            .into_iter()
                            .map(|c| {
                                view! {
                                    <tr>
                                        <td>
                                            <a href=format!("/clusters/{}", c.name)>{c.name.clone()}</a>
                                        </td>
                                        <td>{c.kind.to_string()}</td>
                                        <td>{format!("{} {}", c.cloud, c.region)}</td>
                                        <td>
                                            <code>{c.bootstrap_servers.join(",")}</code>
                                        </td>
                                        <td>{c.queue_count}</td>
                                    </tr>
                                }
                            })
                            .collect_view();
                        view! {
                            <ListTable headings=&["Cluster", "Kind", "Where", "Bootstrap servers", "Queues"]>{rows}</ListTable>
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
pub fn ClusterNewPage() -> impl IntoView {
    view! {
        <Title text="Register cluster · Watershed" />
        <h1>"Register cluster"</h1>
        <QueryError />
        <form method="post" action=CreateCluster::url() class="card form">
            <ClusterFields initial=ClusterForm::default() />
            <button type="submit">"Register cluster"</button>
        </form>
    }
}

#[component]
pub fn ClusterEditPage() -> impl IntoView {
    let params = use_params_map();
    let name = params.read_untracked().get("name").unwrap_or_default();
    let detail = Resource::new(move || name.clone(), |n| get_cluster(n, 0));
    view! {
        <Title text="Edit cluster · Watershed" />
        <h1>"Edit cluster"</h1>
        <QueryError />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => {
                        let c = d.cluster;
                        let orig = c.name.clone();
                        view! {
                            <form method="post" action=UpdateCluster::url() class="card form">
                                <input type="hidden" name="orig_name" value=orig />
                                <ClusterFields initial=form_of(&c) />
                                <button type="submit">"Save cluster"</button>
                            </form>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn form_of(c: &ClusterView) -> ClusterForm {
    ClusterForm {
        name: c.name.clone(),
        kind: c.kind.to_string(),
        bootstrap_servers: c.bootstrap_servers.join(","),
        region: c.region.clone(),
        cloud: c.cloud.clone(),
        sasl_mechanism: c.sasl_mechanism.to_string(),
        sasl_username: c.sasl_username.clone(),
        sasl_password: String::new(),
        client_sasl_username: c.client_sasl_username.clone(),
        client_sasl_password: String::new(),
        max_partitions: c.max_partitions.map(|n| n.to_string()).unwrap_or_default(),
        max_retention_hours: c
            .max_retention_hours
            .map(|n| n.to_string())
            .unwrap_or_default(),
        tls: if c.tls { "on".into() } else { String::new() },
        tls_ca_pem: c.tls_ca_pem.clone(),
        tls_client_cert_pem: c.tls_client_cert_pem.clone(),
        tls_client_key_pem: String::new(),
    }
}

#[component]
fn ClusterFields(initial: ClusterForm) -> impl IntoView {
    let errors = form_field_errors();
    let kinds = ClusterKind::VARIANTS
        .iter()
        .map(|k| {
            let k = k.to_string();
            let sel = k == initial.kind;
            view! { <option value=k.clone() selected=sel>{k.clone()}</option> }
        })
        .collect_view();
    let mechanisms = SaslMechanism::VARIANTS
        .iter()
        .map(|m| {
            let m = m.to_string();
            let sel = m == initial.sasl_mechanism;
            view! { <option value=m.clone() selected=sel>{m.clone()}</option> }
        })
        .collect_view();
    view! {
        <label>
            "Name" <input name="form[name]" value=initial.name.clone() required placeholder="kafka-bj-1" />
            {field_msg(&errors, "name")}
        </label>
        <label>
            "Kind" <select name="form[kind]">{kinds}</select>
            {field_msg(&errors, "kind")}
        </label>
        <label class="wide">
            "Bootstrap servers"
            <input
                name="form[bootstrap_servers]"
                value=initial.bootstrap_servers.clone()
                required
                placeholder="broker-1:9092,broker-2:9092"
            />
            {field_msg(&errors, "bootstrap_servers")}
        </label>
        <label>
            "Cloud" <input name="form[cloud]" value=initial.cloud.clone() placeholder="aws, aliyun, on-prem" />
            {field_msg(&errors, "cloud")}
        </label>
        <label>
            "Region" <input name="form[region]" value=initial.region.clone() placeholder="us-east-1" />
            {field_msg(&errors, "region")}
        </label>
        <label>
            "SASL mechanism" <select name="form[sasl_mechanism]">{mechanisms}</select>
            {field_msg(&errors, "sasl_mechanism")}
        </label>
        <label>
            "SASL user name" <input name="form[sasl_username]" value=initial.sasl_username.clone() />
            {field_msg(&errors, "sasl_username")}
        </label>
        <label>
            "SASL password (empty keeps the stored one)"
            <input name="form[sasl_password]" type="password" autocomplete="new-password" />
            {field_msg(&errors, "sasl_password")}
        </label>
        <p class="wide muted">
            "The credential above is the platform's own (probes, topic creation) and never leaves the server. Applications get the client credential below."
        </p>
        <label>
            "Client SASL user name"
            <input name="form[client_sasl_username]" value=initial.client_sasl_username.clone() />
            {field_msg(&errors, "client_sasl_username")}
        </label>
        <label>
            "Client SASL password (empty keeps the stored one)"
            <input name="form[client_sasl_password]" type="password" autocomplete="new-password" />
            {field_msg(&errors, "client_sasl_password")}
        </label>
        <label class="wide check">
            <input type="checkbox" name="form[tls]" value="on" checked=initial.tls == "on" />
            "TLS to the brokers (the broker's name is checked against its certificate)"
            {field_msg(&errors, "tls")}
        </label>
        {certificate_field(
            &errors,
            "CA certificates, PEM (empty: the system's roots)",
            "tls_ca_pem",
            initial.tls_ca_pem.clone(),
        )}
        {certificate_field(
            &errors,
            "Client certificate, PEM (brokers that require one)",
            "tls_client_cert_pem",
            initial.tls_client_cert_pem.clone(),
        )}
        <label class="wide">
            "Client key, PEM (empty keeps the stored one)"
            <textarea name="form[tls_client_key_pem]" rows="3" autocomplete="off"></textarea>
            {field_msg(&errors, "tls_client_key_pem")}
        </label>
        <label>
            "Max partitions per queue (empty: no limit)"
            <input name="form[max_partitions]" value=initial.max_partitions.clone() inputmode="numeric" />
            {field_msg(&errors, "max_partitions")}
        </label>
        <label>
            "Max retention hours (empty: no limit)"
            <input name="form[max_retention_hours]" value=initial.max_retention_hours.clone() inputmode="numeric" />
            {field_msg(&errors, "max_retention_hours")}
        </label>
    }
}

#[component]
pub fn ClusterPage() -> impl IntoView {
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
        |(name, offset)| get_cluster(name, offset),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => {
                        let c = d.cluster;
                        let base = format!("/clusters/{}", c.name);
                        view! {
                            <Title text=format!("{} · Watershed", c.name) />
                            <div class="page-head">
                                <h1>{c.name.clone()}</h1>
                                <a class="button" href=format!("/clusters/{}/edit", c.name)>
                                    "Edit"
                                </a>
                            </div>
                            <dl class="facts">
                                <dt>"Kind"</dt>
                                <dd>{c.kind.to_string()}</dd>
                                <dt>"Bootstrap servers"</dt>
                                <dd>
                                    <code>{c.bootstrap_servers.join(",")}</code>
                                </dd>
                                <dt>"Cloud / region"</dt>
                                <dd>{format!("{} / {}", c.cloud, c.region)}</dd>
                                <dt>"SASL"</dt>
                                <dd>
                                    {format!(
                                        "{} {}{}",
                                        c.sasl_mechanism,
                                        c.sasl_username,
                                        if c.sasl_password_set { " (password set)" } else { "" },
                                    )}
                                </dd>
                                <dt>"TLS"</dt>
                                <dd data-testid="cluster-tls">
                                    {if !c.tls {
                                        "off".to_string()
                                    } else {
                                        format!(
                                            "on, {}{}",
                                            if c.tls_ca_pem.is_empty() { "system roots" } else { "own CA bundle" },
                                            if c.tls_client_cert_pem.is_empty() {
                                                ""
                                            } else if c.tls_client_key_set {
                                                ", client certificate (key set)"
                                            } else {
                                                ", client certificate (no key)"
                                            },
                                        )
                                    }}
                                </dd>
                                <dt>"Client credential"</dt>
                                <dd>
                                    {format!(
                                        "{}{}",
                                        if c.client_sasl_username.is_empty() { "none" } else { c.client_sasl_username.as_str() },
                                        if c.client_sasl_password_set { " (password set)" } else { "" },
                                    )}
                                </dd>
                                <dt>"Quotas"</dt>
                                <dd data-testid="cluster-quotas">
                                    {format!(
                                        "partitions ≤ {}, retention ≤ {}",
                                        c.max_partitions.map_or("any".to_string(), |n| n.to_string()),
                                        c.max_retention_hours.map_or("any".to_string(), |n| format!("{n} h")),
                                    )}
                                </dd>
                                <dt>"Registered"</dt>
                                <dd>{format_millis(c.created_at)}</dd>
                            </dl>
                            <ClusterHealthFacts health=d.health />
                            <ClusterTopics name=c.name.clone() topics=d.topics projects=d.projects />
                            <h2>"Last hour"</h2>
                            <dl class="facts" data-testid="cluster-traffic">
                                <dt>"Messages in / out"</dt>
                                <dd>{format!("{} / {}", compact(d.traffic.messages_in as f64), compact(d.traffic.messages_out as f64))}</dd>
                                <dt>"Bytes in / out"</dt>
                                <dd>{format!("{}B / {}B", compact(d.traffic.bytes_in as f64), compact(d.traffic.bytes_out as f64))}</dd>
                            </dl>
                            <h2>"Queues on this cluster"</h2>
                            <QueueTable page=d.queues base />
                            <h2>"Failover"</h2>
                            <QueryError />
                            <SwitchedNotice />
                            <ClusterFailoverForm cluster=c.name.clone() />
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// What the brokers answered: reachable or why not, brokers, controller, topics.
#[component]
fn ClusterHealthFacts(health: crate::domain::ClusterHealth) -> impl IntoView {
    let h = health;
    let state = if h.reachable {
        "reachable"
    } else if h.no_brokers {
        "no-brokers"
    } else {
        "unreachable"
    };
    view! {
        <h2>"Health"</h2>
        <dl class="facts" data-testid="cluster-health">
            <dt>"Brokers say"</dt>
            <dd class=format!("health {state}") data-testid="cluster-state">
                {if h.reachable {
                    format!("reachable in {} ms", h.latency_ms)
                } else if h.no_brokers {
                    h.error.clone().unwrap_or_default()
                } else {
                    format!("unreachable: {}", h.error.clone().unwrap_or_default())
                }}
            </dd>
            <dt>"Brokers"</dt>
            <dd data-testid="cluster-brokers">{format!("{}: {}", h.brokers.len(), h.brokers.join(", "))}</dd>
            <dt>"Cluster id"</dt>
            <dd>{h.cluster_id.clone().unwrap_or_else(|| "-".into())}</dd>
            <dt>"Topics"</dt>
            <dd>{h.topics}</dd>
            <dt>"Checked"</dt>
            <dd>{format_millis(h.checked_at)}</dd>
        </dl>
    }
}

/// The cluster's topics, which queue each backs, and a form to import the others.
#[component]
fn ClusterTopics(
    name: String,
    topics: Option<Vec<crate::domain::ClusterTopic>>,
    projects: Vec<String>,
) -> impl IntoView {
    let query = use_query_map();
    let notice = move || {
        let q = query.read();
        let imported = q.get("imported")?;
        let skipped = q.get("not_imported").unwrap_or_else(|| "0".into());
        Some(view! {
            <p class="notice" role="status" data-testid="import-notice">
                {format!("{imported} topic(s) imported as queues; {skipped} left out.")}
            </p>
        })
    };
    let Some(topics) = topics else {
        return view! { <p class="muted">"Topics are listed when the cluster can be reached."</p> }
            .into_any();
    };
    let unmapped: Vec<String> = topics
        .iter()
        .filter(|t| t.queue.is_none())
        .map(|t| t.name.clone())
        .collect();
    let rows = topics
        .into_iter()
        .map(|t| {
            let queue = t
                .queue
                .map(|q| view! { <a href=format!("/queues/{q}")>{q.clone()}</a> });
            view! {
                <tr>
                    <td><code>{t.name}</code></td>
                    <td>{t.partitions}</td>
                    <td>{queue}</td>
                </tr>
            }
        })
        .collect_view();
    let options = projects
        .into_iter()
        .map(|p| view! { <option value=p.clone()>{p.clone()}</option> })
        .collect_view();
    view! {
        <h2>"Topics"</h2>
        {notice}
        <table class="list" data-testid="cluster-topics">
            <thead><tr><th>"Topic"</th><th>"Partitions"</th><th>"Queue"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <details>
            <summary>{format!("Import topics as queues ({} without one)", unmapped.len())}</summary>
            <form method="post" action=ImportTopics::url() class="import" data-testid="import-form">
                <input type="hidden" name="cluster" value=name />
                <label>"Into project " <select name="project">{options}</select></label>
                <label>
                    "Topics, one per line"
                    <textarea name="topics" rows="6">{unmapped.join("\n")}</textarea>
                </label>
                <button type="submit">"Import"</button>
            </form>
        </details>
    }
    .into_any()
}

/// A text area of the cluster form for PEM certificates, with its field's error.
fn certificate_field(
    errors: &[crate::domain::FieldError],
    label: &'static str,
    field: &'static str,
    value: String,
) -> impl IntoView {
    view! {
        <label class="wide">
            {label}
            <textarea name=format!("form[{field}]") rows="4" placeholder="-----BEGIN CERTIFICATE-----">
                {value}
            </textarea>
            {field_msg(errors, field)}
        </label>
    }
}
