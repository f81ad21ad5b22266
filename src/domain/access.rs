//! Applications, access requests, decisions and grants.

use super::{parse_text, FieldError, Slug, Validator};
use serde::{Deserialize, Serialize};
use strum::{AsRefStr, Display, EnumString, VariantArray};

/// What an application may do with a queue.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    AsRefStr,
    VariantArray,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Permission {
    Consume,
    Produce,
    Both,
}

/// Where a request stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    AsRefStr,
    VariantArray,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for an owner or approver.
    Pending,
    /// Approved by an owner; a sensitive queue also needs an admin.
    OwnerApproved,
    Approved,
    Rejected,
    Cancelled,
}

impl RequestStatus {
    /// Still waiting for a decision.
    pub fn is_open(self) -> bool {
        matches!(self, RequestStatus::Pending | RequestStatus::OwnerApproved)
    }
}

/// What a user submits to register an application.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApplicationInput {
    pub project: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

impl ApplicationInput {
    pub fn parse(&self) -> Result<(Slug, Slug, String), Vec<FieldError>> {
        let mut v = Validator::default();
        let project = v.check(Slug::parse("project", &self.project));
        let name = v.check(Slug::parse("name", &self.name));
        let description = v.check(parse_text("description", &self.description, 2000));
        v.finish()?;
        Ok((project.unwrap(), name.unwrap(), description.unwrap()))
    }
}

/// An application as shown to users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApplicationView {
    pub id: i64,
    pub project: String,
    pub name: String,
    pub owner: String,
    pub description: String,
    pub created_at: i64,
}

/// An application token, without the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AppTokenView {
    pub id: i64,
    /// The first characters, to recognise the token by.
    pub prefix: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// What a user submits to ask for access.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccessRequestInput {
    /// The application's project.
    pub project: String,
    pub application: String,
    /// The queue's project.
    pub queue_project: String,
    pub queue: String,
    /// consume, produce or both.
    pub permission: String,
    pub reason: String,
    /// 30, 90, 180 or permanent.
    pub duration: String,
}

/// A validated access request.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRequestSpec {
    pub project: Slug,
    pub application: Slug,
    pub queue_project: Slug,
    pub queue: Slug,
    pub permission: Permission,
    pub reason: String,
    /// `None` is permanent.
    pub duration_days: Option<i64>,
}

impl AccessRequestInput {
    pub fn parse(&self) -> Result<AccessRequestSpec, Vec<FieldError>> {
        let mut v = Validator::default();
        let project = v.check(Slug::parse("project", &self.project));
        let application = v.check(Slug::parse("application", &self.application));
        let queue_project = v.check(Slug::parse("queue_project", &self.queue_project));
        let queue = v.check(Slug::parse("queue", &self.queue));
        let permission = v.check(self.permission.trim().parse::<Permission>().map_err(|_| {
            FieldError::new(
                "permission",
                format!("{:?} is not one of consume, produce, both", self.permission),
            )
        }));
        let reason = v.check(parse_text("reason", &self.reason, 2000));
        if reason.as_deref().is_some_and(str::is_empty) {
            v.push(FieldError::new(
                "reason",
                "say why the application needs this access",
            ));
        }
        let duration = match self.duration.trim() {
            "30" => Some(Some(30)),
            "90" => Some(Some(90)),
            "180" => Some(Some(180)),
            "permanent" => Some(None),
            other => {
                v.push(FieldError::new(
                    "duration",
                    format!("{other:?} is not one of 30, 90, 180, permanent"),
                ));
                None
            }
        };
        v.finish()?;
        Ok(AccessRequestSpec {
            project: project.unwrap(),
            application: application.unwrap(),
            queue_project: queue_project.unwrap(),
            queue: queue.unwrap(),
            permission: permission.unwrap(),
            reason: reason.unwrap(),
            duration_days: duration.unwrap(),
        })
    }
}

/// One step in a request's life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RequestEvent {
    pub at: i64,
    pub actor: String,
    /// created, approved, admin_approved, rejected, cancelled, granted, revoked, expired
    pub kind: String,
    pub comment: String,
}

/// An access request as shown to users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccessRequestView {
    pub id: i64,
    pub project: String,
    pub application: String,
    pub queue_project: String,
    pub queue: String,
    pub permission: Permission,
    pub reason: String,
    pub duration_days: Option<i64>,
    pub requester: String,
    /// A sensitive queue: an admin approves after an owner.
    pub needs_admin: bool,
    pub status: RequestStatus,
    pub created_at: i64,
    pub events: Vec<RequestEvent>,
}

/// An approver's decision.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DecisionInput {
    /// approve or reject
    pub decision: String,
    #[serde(default)]
    pub comment: String,
}

/// The most requests one bulk decision takes.
pub const MAX_BULK_DECISIONS: usize = 100;

/// One decision, with one comment, for several requests: each is still checked and audited
/// on its own.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BulkDecisionInput {
    /// The requests to decide (at most 100).
    pub ids: Vec<i64>,
    /// approve or reject
    pub decision: String,
    #[serde(default)]
    pub comment: String,
}

impl BulkDecisionInput {
    /// The distinct ids in the order given, the decision as `approve`/`reject`, and the
    /// comment; every field's problem at once.
    pub fn parse(&self) -> Result<(Vec<i64>, bool, String), Vec<FieldError>> {
        let mut v = Validator::default();
        let mut ids = Vec::new();
        if self.ids.is_empty() {
            v.push(FieldError::new("ids", "pick at least one request"));
        } else if self.ids.len() > MAX_BULK_DECISIONS {
            // Counted before anything else is done with them.
            v.push(FieldError::new(
                "ids",
                format!("at most {MAX_BULK_DECISIONS} requests at once"),
            ));
        } else {
            let mut seen = std::collections::HashSet::new();
            ids = self
                .ids
                .iter()
                .copied()
                .filter(|id| seen.insert(*id))
                .collect();
        }
        let approve = match self.decision.trim() {
            "approve" => Some(true),
            "reject" => Some(false),
            other => {
                v.push(FieldError::new(
                    "decision",
                    format!("{other:?} is not approve or reject"),
                ));
                None
            }
        };
        let comment = self.comment.trim().to_string();
        if approve == Some(false) && comment.is_empty() {
            v.push(FieldError::new("comment", "a rejection needs a reason"));
        }
        v.finish()?;
        Ok((ids, approve.unwrap_or(false), comment))
    }
}

/// What became of one request of a bulk decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BulkDecisionOutcome {
    pub id: i64,
    /// Its status after the decision; absent when it was not decided.
    pub status: Option<RequestStatus>,
    /// Why it was not decided.
    pub error: Option<String>,
}

/// What an approver sees beside a request: what the asking application already reads and
/// holds, and who else reads the queue (from lineage).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RequestContext {
    /// Queues the application read within the lineage window, as `project/queue`.
    pub app_reads: Vec<String>,
    /// Queues the application writes, as `project/queue`.
    pub app_writes: Vec<String>,
    /// The application's live grants.
    pub app_grants: Vec<GrantView>,
    /// Applications and jobs that read the queue within the window, as node keys.
    pub queue_readers: Vec<String>,
}

/// How long something has waited, in words: `3 days`, `5 hours`, `12 minutes`.
pub fn waited(since: i64, now: i64) -> String {
    let mins = ((now - since).max(0) / 60_000) as u64;
    let (n, unit) = if mins >= 2 * 24 * 60 {
        (mins / (24 * 60), "days")
    } else if mins >= 120 {
        (mins / 60, "hours")
    } else {
        (mins, "minutes")
    };
    if n == 1 {
        format!("1 {}", unit.trim_end_matches('s'))
    } else {
        format!("{n} {unit}")
    }
}

/// Access an application holds on a queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GrantView {
    pub id: i64,
    pub project: String,
    pub application: String,
    pub queue_project: String,
    pub queue: String,
    pub permission: Permission,
    pub request_id: i64,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl GrantView {
    /// Neither revoked nor past its expiry at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> AccessRequestInput {
        AccessRequestInput {
            project: "shop".into(),
            application: "checkout".into(),
            queue_project: "payments".into(),
            queue: "refunds".into(),
            permission: "consume".into(),
            reason: "reconcile refunds".into(),
            duration: "90".into(),
        }
    }

    #[test]
    fn a_request_needs_a_reason_and_a_known_duration() {
        let mut i = input();
        assert_eq!(i.parse().unwrap().duration_days, Some(90));
        i.duration = "permanent".into();
        assert_eq!(i.parse().unwrap().duration_days, None);
        i.duration = "7".into();
        i.reason = " ".into();
        i.permission = "admin".into();
        let fields: Vec<String> = i
            .parse()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["permission", "reason", "duration"]);
    }

    #[test]
    fn a_grant_lives_until_revoked_or_expired() {
        let g = GrantView {
            id: 1,
            project: "a".into(),
            application: "b".into(),
            queue_project: "c".into(),
            queue: "d".into(),
            permission: Permission::Both,
            request_id: 1,
            created_at: 0,
            expires_at: Some(100),
            revoked_at: None,
        };
        assert!(g.is_live(99) && !g.is_live(100));
        assert!(!GrantView {
            revoked_at: Some(5),
            ..g.clone()
        }
        .is_live(50));
        assert!(GrantView {
            expires_at: None,
            ..g
        }
        .is_live(i64::MAX));
    }
}
