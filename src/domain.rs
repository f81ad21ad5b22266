//! Plain types and rules shared by the server and the browser.
//!
//! Everything here compiles for both targets; input is validated once by
//! `parse` functions and trusted afterwards.

mod access;
mod clusters;
mod failover;
mod health;
mod lineage;
mod names;
mod notify;
mod peek;
mod records;
mod roles;
mod schema;
mod sdk;
mod search;

pub use access::*;
pub use clusters::*;
pub use failover::*;
pub use health::*;
pub use lineage::*;
pub use names::*;
pub use notify::*;
pub use peek::*;
pub use records::*;
pub use roles::*;
pub use schema::*;
pub use sdk::*;
pub use search::*;

use serde::{Deserialize, Serialize};

/// One thing wrong with one input field, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Collects field errors so a form can report all of them at once.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    pub fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// Ends validation: the first error (all of them are listed in its message) or `Ok`.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

/// A page of results with the total count, for server-side paging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
}

/// Milliseconds since the Unix epoch, as stored.
pub fn format_millis(ms: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| ms.to_string())
}
