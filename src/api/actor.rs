//! The caller of the REST API and the Schema Registry: a session cookie or a personal token,
//! resolved by the server's authentication before any handler runs.

use super::rest::ApiError;
use crate::domain::UserView;
use crate::server::auth::user_from_headers;
use crate::server::services::{Ctx, ServiceError};
use crate::server::state::AppState;
use axum::extract::FromRequestParts;
use http::request::Parts;

/// An authenticated caller; a request without one is refused with 401.
pub struct Actor(pub UserView);

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match user_from_headers(state, &parts.headers).await? {
            Some(u) => Ok(Actor(u)),
            None => Err(ServiceError::Unauthenticated.into()),
        }
    }
}

/// The use-case context for an authenticated caller, built once per request.
impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Actor(actor) = Actor::from_request_parts(parts, state).await?;
        Ok(state.ctx(actor))
    }
}
