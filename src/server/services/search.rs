//! Searching the data map.

use super::Ctx;
use super::{ServiceError, ServiceResult};
use crate::domain::{FieldError, QueueAccess, SearchRequest, SearchResults};
use crate::server::db::now_millis;

/// The longest query or filter value a search takes.
pub const MAX_QUERY_LEN: usize = 500;

/// Refuses a query or filter longer than [`MAX_QUERY_LEN`], naming it.
fn check_lengths(req: &SearchRequest) -> ServiceResult<()> {
    let fields = [
        ("q", &req.q),
        ("project", &req.project),
        ("tag", &req.tag),
        ("cluster", &req.cluster),
        ("format", &req.format),
        ("owner", &req.owner),
    ];
    let errors: Vec<FieldError> = fields
        .into_iter()
        .filter(|(_, v)| v.as_ref().is_some_and(|v| v.len() > MAX_QUERY_LEN))
        .map(|(f, _)| FieldError::new(f, format!("must be at most {MAX_QUERY_LEN} characters")))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Invalid(errors))
    }
}

/// Searches the queue index; every signed-in user may. Each hit says what the applications of
/// the searcher's projects may do with its queue.
pub async fn search(cx: &Ctx, req: &SearchRequest) -> ServiceResult<SearchResults> {
    check_lengths(req)?;
    // A search takes milliseconds of CPU: on the blocking pool it does not hold up the other
    // requests a runtime worker is serving meanwhile.
    let (index, owned) = (cx.search.clone(), req.clone());
    let mut results = tokio::task::spawn_blocking(move || index.search(&owned))
        .await
        .map_err(|e| ServiceError::Internal(anyhow::Error::new(e)))?
        .map_err(|e| ServiceError::Internal(anyhow::Error::new(e)))?;
    let ids: Vec<i64> = results.hits.iter().map(|h| h.id).collect();
    let access = cx
        .store
        .queue_access(cx.actor.id, &ids, now_millis())
        .await?;
    let health = cx.kafka.monitor.statuses();
    // The searcher's projects whose own applications use their (not sensitive) queues freely.
    let own = cx.store.own_access_projects(cx.actor.id).await?;
    for hit in &mut results.hits {
        hit.health = health.get(&hit.id).copied();
        let own_queue = own.contains(&hit.project) && !hit.tags.contains(&cx.sensitive_tag);
        hit.access = access
            .iter()
            .filter(|(id, _)| *id == hit.id)
            .map(|(_, kind)| match kind.as_str() {
                "consume" => QueueAccess::Read,
                "produce" => QueueAccess::Write,
                "both" => QueueAccess::ReadWrite,
                _ => QueueAccess::Requested,
            })
            .fold(
                if own_queue {
                    QueueAccess::ReadWrite
                } else {
                    QueueAccess::None
                },
                QueueAccess::merge,
            );
    }
    Ok(results)
}
