//! Switching on the queue page (the active side, a failover or failback button with a
//! confirmation, a migration form, the switch history, a banner while clients lag behind) and
//! the cluster page's failover of every queue on it.

use crate::api::console::{queue_switching, FailOverCluster, FailOverQueue, MigrateQueue};
use crate::domain::{format_millis, ActiveSide, QueueView};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// The queue page's switching section.
#[component]
pub fn QueueSwitching(q: QueueView) -> impl IntoView {
    let (project, queue) = (q.project.clone(), q.name.clone());
    let view_data = Resource::new(
        move || (project.clone(), queue.clone()),
        |(p, n)| queue_switching(p, n),
    );
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let q = q.clone();
                Suspend::new(async move {
                    view_data.await.ok().map(|s| {
                        let banner = s.rollout.as_ref().filter(|r| !r.behind.is_empty()).map(|r| {
                            let hosts = r
                                .behind
                                .iter()
                                .take(8)
                                .map(|c| format!("{} on {}", c.app, c.host))
                                .collect::<Vec<_>>()
                                .join(", ");
                            view! {
                                <p class="banner warn" role="status" data-testid="switch-banner">
                                    {format!(
                                        "{} client(s) still use the old mapping and will move to {} at their next heartbeat: {hosts}",
                                        r.behind.len(),
                                        r.cluster
                                    )}
                                </p>
                            }
                        });
                        let (to, label) = match q.active_side {
                            ActiveSide::Primary => ("backup", "Fail over to the backup"),
                            ActiveSide::Backup => ("primary", "Fail back to the primary"),
                        };
                        let target = match q.active_side {
                            ActiveSide::Primary => q.backup_cluster.clone(),
                            ActiveSide::Backup => Some(q.primary_cluster.clone()),
                        };
                        let switch_form = (s.can_operate).then(|| match target.clone() {
                            Some(target) => view! {
                                <form method="post" action=FailOverQueue::url() class="switch" data-testid="failover-form">
                                    <input type="hidden" name="project" value=q.project.clone() />
                                    <input type="hidden" name="queue" value=q.name.clone() />
                                    <input type="hidden" name="to" value=to />
                                    <input name="reason" placeholder="reason (for the history)" aria-label="Reason (for the history)" />
                                    <label class="check">
                                        <input type="checkbox" name="confirm" value="true" required />
                                        {format!(" Move every client of this queue to {target}")}
                                    </label>
                                    <button type="submit" class="danger">{label}</button>
                                </form>
                            }
                            .into_any(),
                            None => view! { <p class="muted">"No backup cluster is bound: edit the queue to add one."</p> }.into_any(),
                        });
                        let options = s
                            .clusters
                            .iter()
                            .filter(|c| c.as_str() != q.active_cluster())
                            .map(|c| view! { <option value=c.clone()>{c.clone()}</option> })
                            .collect_view();
                        let migrate_form = s.can_operate.then(|| view! {
                            <details>
                                <summary>"Migrate to another cluster"</summary>
                                <form method="post" action=MigrateQueue::url() class="switch">
                                    <input type="hidden" name="project" value=q.project.clone() />
                                    <input type="hidden" name="queue" value=q.name.clone() />
                                    <select name="cluster" aria-label="Target cluster">{options}</select>
                                    <input name="reason" placeholder="reason" aria-label="Reason" />
                                    <label class="check">
                                        <input type="checkbox" name="confirm" value="true" required />
                                        " Move every client"
                                    </label>
                                    <button type="submit" class="secondary">"Migrate"</button>
                                </form>
                            </details>
                        });
                        let rows = s
                            .history
                            .into_iter()
                            .map(|h| view! {
                                <tr>
                                    <td class="nowrap">{format_millis(h.at)}</td>
                                    <td>{h.kind.to_string()}</td>
                                    <td>{format!("{} ({})", h.from_cluster, h.from_side)}</td>
                                    <td>{format!("{} ({})", h.to_cluster, h.to_side)}</td>
                                    <td>{h.actor}</td>
                                    <td>{h.reason}</td>
                                </tr>
                            })
                            .collect_view();
                        let topics = s
                            .topics
                            .into_iter()
                            .map(|t| view! {
                                <tr>
                                    <td>{t.cluster}</td>
                                    <td><code>{t.topic}</code></td>
                                    <td class=format!("status {}", t.status)>{t.status.clone()}</td>
                                    <td>{t.message}</td>
                                    <td class="nowrap">{format_millis(t.at)}</td>
                                </tr>
                            })
                            .collect_view();
                        view! {
                            <section class="switching" data-testid="switching">
                                <h2>"Active cluster"</h2>
                                {banner}
                                <p>
                                    "Clients use "
                                    <strong data-testid="active-cluster">{q.active_cluster().to_string()}</strong>
                                    {format!(" (the {}).", q.active_side)}
                                </p>
                                {switch_form}
                                {migrate_form}
                                <h3>"Topic on each cluster"</h3>
                                <table class="list" data-testid="queue-topics">
                                    <thead><tr><th>"Cluster"</th><th>"Topic"</th><th>"Status"</th><th>"Detail"</th><th>"Checked"</th></tr></thead>
                                    <tbody>{topics}</tbody>
                                </table>
                                <h3>"Switch history"</h3>
                                <table class="list" data-testid="switch-history">
                                    <thead><tr><th>"When"</th><th>"Kind"</th><th>"From"</th><th>"To"</th><th>"By"</th><th>"Reason"</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            </section>
                        }
                    })
                })
            }}
        </Suspense>
    }
}

/// An admin's failover of every queue active on a cluster.
#[component]
pub fn ClusterFailoverForm(cluster: String) -> impl IntoView {
    view! {
        <form method="post" action=FailOverCluster::url() class="switch" data-testid="cluster-failover">
            <input type="hidden" name="cluster" value=cluster.clone() />
            <input name="reason" placeholder="reason (for every queue's history)" aria-label="Reason (for every queue's history)" />
            <label class="check">
                <input type="checkbox" name="confirm" value="true" required />
                {format!(" Move every queue active on {cluster} that has a backup")}
            </label>
            <button type="submit" class="danger">"Fail over the whole cluster"</button>
        </form>
    }
}

/// After a cluster-wide failover: how many queues moved and how many stayed.
#[component]
pub fn SwitchedNotice() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    move || {
        let q = query.read();
        let switched = q.get("switched")?;
        let skipped = q.get("skipped").unwrap_or_else(|| "0".into());
        Some(view! {
            <p class="notice" role="status" data-testid="switched-notice">
                {format!("{switched} queue(s) switched; {skipped} left where they were (no backup).")}
            </p>
        })
    }
}
