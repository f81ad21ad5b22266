//! Console server function for a look inside a queue.

#[cfg(feature = "ssr")]
use super::ssr::Call;
use super::AppError;
use crate::domain::{Peek, PeekInput};
use leptos::prelude::*;

/// The queue's messages as the signed-in user may see them (see the REST
/// `GET /api/v1/queues/{project}/{name}/messages`); audited.
#[server(prefix = "/console")]
pub async fn peek_queue(
    project: String,
    queue: String,
    input: PeekInput,
) -> Result<Peek, AppError> {
    use crate::server::services::peek;
    let call = Call::new().await?;
    let cx = call.ctx()?;
    Ok(peek::peek(&cx, &project, &queue, &input).await?)
}
