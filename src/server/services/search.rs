//! Searching the data map.

use super::{ServiceError, ServiceResult};
use crate::domain::{SearchRequest, SearchResults, UserView};
use crate::server::search::QueueIndex;

/// Searches the queue index; every signed-in user may.
pub fn search(
    index: &QueueIndex,
    _actor: &UserView,
    req: &SearchRequest,
) -> ServiceResult<SearchResults> {
    index
        .search(req)
        .map_err(|e| ServiceError::Internal(anyhow::Error::new(e)))
}
