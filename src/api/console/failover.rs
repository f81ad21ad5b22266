//! Console server functions for switching queues between clusters.

#[cfg(feature = "ssr")]
use super::ssr::Call;
use super::AppError;
use crate::domain::{ClusterFailoverResult, Rollout, SwitchView, TopicProvision};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the queue page shows about switching: history, the clients still behind, the
/// clusters a migration may go to, and whether the viewer may switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchingView {
    pub history: Vec<SwitchView>,
    pub rollout: Option<Rollout>,
    pub clusters: Vec<String>,
    pub can_operate: bool,
    /// Whether the queue's topic exists on each of its clusters.
    pub topics: Vec<TopicProvision>,
}

#[server(prefix = "/console")]
pub async fn queue_switching(project: String, queue: String) -> Result<SwitchingView, AppError> {
    use crate::server::services::{clusters, failover};
    let call = Call::new().await?;
    let cx = call.ctx()?;
    let store = cx.store();
    let q = call.queue(&project, &queue).await?;
    let sdk = call.state.sdk.as_ref();
    // What every viewer sees is kept for a moment; what this viewer may do is not.
    let view = call
        .kept("switching", &format!("{project}/{queue}"), || async {
            Ok(SwitchingView {
                history: failover::history(store, &project, &queue).await?,
                rollout: failover::rollout(store, sdk, &project, &queue).await.ok(),
                clusters: clusters::list(store)
                    .await?
                    .into_iter()
                    .map(|c| c.name)
                    .collect(),
                can_operate: false,
                topics: clusters::queue_topics(store, &project, &queue).await?,
            })
        })
        .await?;
    Ok(SwitchingView {
        can_operate: failover::can_operate(&cx, &q).await?,
        ..view
    })
}

/// Whether a form's checkbox came ticked (`on` from a plain form, `true` from the app).
#[cfg(feature = "ssr")]
fn ticked(checkbox: Option<String>) -> bool {
    checkbox.is_some_and(|c| c == "true" || c == "on")
}

#[cfg(feature = "ssr")]
fn queue_path(project: &str, queue: &str) -> String {
    format!("/queues/{project}/{queue}")
}

/// Fails the queue over (`to=backup`) or back (`to=primary`); `confirm` must be ticked.
#[server(prefix = "/console")]
pub async fn fail_over_queue(
    project: String,
    queue: String,
    to: String,
    reason: String,
    confirm: Option<String>,
) -> Result<SwitchView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let input = crate::domain::FailoverInput {
            to,
            reason,
            confirm: ticked(confirm),
        };
        Ok(crate::server::services::failover::failover(&cx, &project, &queue, &input).await?)
    }
    .await;
    call.finish(result, |_| queue_path(&project, &queue))
}

/// Moves the queue's active side to another cluster.
#[server(prefix = "/console")]
pub async fn migrate_queue(
    project: String,
    queue: String,
    cluster: String,
    reason: String,
    confirm: Option<String>,
) -> Result<SwitchView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let input = crate::domain::MigrateInput {
            cluster,
            reason,
            confirm: ticked(confirm),
        };
        Ok(crate::server::services::failover::migrate(&cx, &project, &queue, &input).await?)
    }
    .await;
    call.finish(result, |_| queue_path(&project, &queue))
}

/// Fails over every queue active on the cluster (admins).
#[server(prefix = "/console")]
pub async fn fail_over_cluster(
    cluster: String,
    reason: String,
    confirm: Option<String>,
) -> Result<ClusterFailoverResult, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let input = crate::domain::ClusterFailoverInput {
            reason,
            confirm: ticked(confirm),
        };
        Ok(crate::server::services::failover::cluster_failover(&cx, &cluster, &input).await?)
    }
    .await;
    call.finish(result, |r| {
        format!(
            "/clusters/{cluster}?switched={}&skipped={}",
            r.switched.len(),
            r.skipped.len()
        )
    })
}
