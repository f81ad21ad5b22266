//! Use cases. Both the console's server functions and the REST handlers call these; each one
//! authorises the actor, validates input and writes the audit log with the change. A use case
//! acting for someone takes a [`Ctx`], built once per request; reads that need no one take the
//! store alone, so background tasks and the SDK plane can use them too.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod clusters;
mod ctx;
pub mod failover;
pub mod health;
pub mod lineage;
pub mod notifications;
pub mod peek;
pub mod projects;
pub mod queues;
pub mod schemas;
pub mod search;
pub mod sso;
pub mod traffic;

pub use ctx::Ctx;

use super::db::StoreError;
use crate::domain::{FieldError, UserView};

/// Why a use case refused or failed. Messages are written for the user who caused them.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("sign in first")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("{}", fields_message(.0))]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(FieldError),
    /// A schema that breaks its queue's compatibility mode, field by field.
    #[error("{}", fields_message(.0))]
    Incompatible(Vec<FieldError>),
    #[error("too many attempts; wait a minute and try again")]
    Throttled,
    #[error("busy: retry after {retry_after_secs} s")]
    Overloaded { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

fn fields_message(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<StoreError> for ServiceError {
    /// A unique conflict no use case expected still names its field (409, not 500); a stale
    /// conditional write asks for a reload; everything else is the server's fault.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(u) => {
                ServiceError::Conflict(FieldError::new(u.field(), "already exists"))
            }
            StoreError::Stale => ServiceError::Conflict(FieldError::new(
                "",
                "it was changed meanwhile; reload and try again",
            )),
            e => ServiceError::Internal(anyhow::Error::new(e).context("storage")),
        }
    }
}

impl From<crate::server::kafka::AgentError> for ServiceError {
    fn from(e: crate::server::kafka::AgentError) -> Self {
        use crate::server::kafka::AgentError;
        match e {
            AgentError::NotFound(name) => ServiceError::NotFound(format!("cluster {name:?}")),
            AgentError::Unavailable(why) => ServiceError::Unavailable(why),
            AgentError::Store(e) => e.into(),
            e @ AgentError::Secret(_) => ServiceError::Internal(anyhow::Error::new(e)),
        }
    }
}

impl From<Vec<FieldError>> for ServiceError {
    fn from(e: Vec<FieldError>) -> Self {
        ServiceError::Invalid(e)
    }
}

impl ServiceError {
    /// The HTTP status every surface (console, REST, Schema Registry) answers with.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            ServiceError::Unauthenticated => S::UNAUTHORIZED,
            ServiceError::Forbidden(_) => S::FORBIDDEN,
            ServiceError::Invalid(_) | ServiceError::Incompatible(_) => S::UNPROCESSABLE_ENTITY,
            ServiceError::NotFound(_) => S::NOT_FOUND,
            ServiceError::Conflict(_) => S::CONFLICT,
            ServiceError::Throttled | ServiceError::Overloaded { .. } => S::TOO_MANY_REQUESTS,
            ServiceError::Unavailable(_) => S::SERVICE_UNAVAILABLE,
            ServiceError::Internal(_) => S::INTERNAL_SERVER_ERROR,
        }
    }

    /// The field errors to show beside a form, if any.
    pub fn fields(&self) -> Vec<FieldError> {
        match self {
            ServiceError::Invalid(f) | ServiceError::Incompatible(f) => f.clone(),
            ServiceError::Conflict(f) => vec![f.clone()],
            _ => Vec::new(),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// Refuses viewers: they may read everything and change nothing.
pub fn require_writer(actor: &UserView) -> ServiceResult<()> {
    if actor.role.can_write() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!(
            "your role ({}) can only read; ask an admin for the developer role",
            actor.role
        )))
    }
}

/// Refuses everyone but admins.
pub fn require_admin(actor: &UserView, what: &str) -> ServiceResult<()> {
    if actor.role.is_admin() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!("only an admin can {what}")))
    }
}

/// A before/after summary for the audit log: the fields that changed, or all fields when new.
pub fn change_summary<T: serde::Serialize>(before: Option<&T>, after: &T) -> String {
    let after = serde_json::to_value(after).unwrap_or_default();
    let Some(before) = before.map(|b| serde_json::to_value(b).unwrap_or_default()) else {
        return after.to_string();
    };
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        return after.to_string();
    };
    let changes: Vec<String> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(*v) && !matches!(k.as_str(), "updated_at"))
        .map(|(k, v)| format!("{k}: {} → {v}", b.get(k).cloned().unwrap_or_default()))
        .collect();
    if changes.is_empty() {
        "no changes".into()
    } else {
        changes.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_lists_only_changed_fields() {
        let before = serde_json::json!({"a": 1, "b": "x", "updated_at": 1});
        let after = serde_json::json!({"a": 2, "b": "x", "updated_at": 2});
        assert_eq!(change_summary(Some(&before), &after), "a: 1 → 2");
        assert_eq!(change_summary(Some(&after), &after), "no changes");
        assert!(change_summary(None, &after).contains("\"b\":\"x\""));
    }
}
