//! Searching the data map.

use super::{ServiceError, ServiceResult};
use crate::domain::{QueueAccess, SearchRequest, SearchResults, UserView};
use crate::server::db::{now_millis, Store};
use crate::server::search::QueueIndex;

/// Searches the queue index; every signed-in user may. Each hit says what the applications of
/// the searcher's projects may do with its queue.
pub async fn search(
    index: &QueueIndex,
    store: &dyn Store,
    actor: &UserView,
    req: &SearchRequest,
) -> ServiceResult<SearchResults> {
    let mut results = index
        .search(req)
        .map_err(|e| ServiceError::Internal(anyhow::Error::new(e)))?;
    let ids: Vec<i64> = results.hits.iter().map(|h| h.id).collect();
    let access = store.queue_access(actor.id, &ids, now_millis()).await?;
    for hit in &mut results.hits {
        hit.access = access
            .iter()
            .filter(|(id, _)| *id == hit.id)
            .map(|(_, kind)| match kind.as_str() {
                "consume" => QueueAccess::Read,
                "produce" => QueueAccess::Write,
                "both" => QueueAccess::ReadWrite,
                _ => QueueAccess::Requested,
            })
            .fold(QueueAccess::None, QueueAccess::merge);
    }
    Ok(results)
}
