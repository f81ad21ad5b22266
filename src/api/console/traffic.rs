//! Console server functions for what the collector gathered.

#[cfg(feature = "ssr")]
use super::ssr::Call;
use super::AppError;
use crate::domain::{ClientView, QueueTraffic, TrafficRange};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A queue's throughput and lag over a range, and its clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityView {
    pub range: TrafficRange,
    pub traffic: QueueTraffic,
    pub clients: Vec<ClientView>,
}

/// The queue page's charts and clients table; `range` is `hour` (default), `day` or `week`.
#[server(prefix = "/console")]
pub async fn queue_activity(
    project: String,
    queue: String,
    range: Option<String>,
) -> Result<ActivityView, AppError> {
    use crate::server::services::traffic;
    let call = Call::new().await?;
    call.actor()?;
    let store = call.state.store.as_ref();
    let range = range
        .and_then(|r| r.parse().ok())
        .unwrap_or(TrafficRange::Hour);
    call.kept(
        "activity",
        &format!("{project}/{queue}?{range}"),
        || async {
            Ok(ActivityView {
                range,
                traffic: traffic::queue_traffic(store, &project, &queue, range).await?,
                clients: traffic::queue_clients(store, &project, &queue).await?,
            })
        },
    )
    .await
}
