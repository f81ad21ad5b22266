//! Stream-SDK: applications address data as *project + queue*; the Watershed platform tells
//! the client which cluster and topic that is, and the client follows when it changes.
//!
//! This is the skeleton the control-plane issue fills in: the addressing types and their rules.

use serde::{Deserialize, Serialize};

/// Where an application's data lives, in platform terms: never a cluster address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueAddress {
    pub project: String,
    pub queue: String,
}

/// Errors the SDK reports to applications.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SdkError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
}

impl QueueAddress {
    /// An address from the project and queue names an application was configured with.
    pub fn new(project: impl Into<String>, queue: impl Into<String>) -> Result<Self, SdkError> {
        let (project, queue) = (project.into(), queue.into());
        if project.trim().is_empty() {
            return Err(SdkError::Empty { field: "project" });
        }
        if queue.trim().is_empty() {
            return Err(SdkError::Empty { field: "queue" });
        }
        Ok(Self { project, queue })
    }
}

impl std::fmt::Display for QueueAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.project, self.queue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_needs_both_names() {
        assert_eq!(
            QueueAddress::new("", "orders"),
            Err(SdkError::Empty { field: "project" })
        );
        assert_eq!(
            QueueAddress::new("shop", " "),
            Err(SdkError::Empty { field: "queue" })
        );
        assert_eq!(
            QueueAddress::new("shop", "orders").unwrap().to_string(),
            "shop/orders"
        );
    }
}
