//! Moving a queue's clients: failover to the backup cluster, failback to the primary, a
//! cluster-wide failover, and a migration of the active side to another cluster.

use super::{parse_text, ActiveSide, ClientView, FieldError, Validator};
use serde::{Deserialize, Serialize};
use strum::{AsRefStr, Display, EnumString, IntoStaticStr};

/// What kind of switch moved a queue.
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
    IntoStaticStr,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum SwitchKind {
    /// To the backup cluster.
    Failover,
    /// Back to the primary.
    Failback,
    /// The active side moved to another cluster.
    Migration,
}

fn confirmed(v: &mut Validator, confirm: bool) {
    if !confirm {
        v.push(FieldError::new(
            "confirm",
            "confirm the switch: every client of the queue moves at its next heartbeat",
        ));
    }
}

/// `POST /api/v1/queues/{project}/{queue}/failover`: make `to` the active side.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FailoverInput {
    /// `backup` (fail over) or `primary` (fail back).
    pub to: String,
    #[serde(default)]
    pub reason: String,
    /// Must be true: a switch moves every client.
    #[serde(default)]
    pub confirm: bool,
}

impl FailoverInput {
    pub fn parse(&self) -> Result<(ActiveSide, String), Vec<FieldError>> {
        let mut v = Validator::default();
        let to = match self.to.trim() {
            "backup" => Some(ActiveSide::Backup),
            "primary" => Some(ActiveSide::Primary),
            _ => {
                v.push(FieldError::new("to", "must be primary or backup"));
                None
            }
        };
        let reason = v.check(parse_text("reason", &self.reason, 500));
        confirmed(&mut v, self.confirm);
        v.finish()?;
        Ok((to.unwrap_or(ActiveSide::Backup), reason.unwrap_or_default()))
    }
}

/// `POST /api/v1/queues/{project}/{queue}/migrate`: put the active side on `cluster`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MigrateInput {
    pub cluster: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub confirm: bool,
}

impl MigrateInput {
    pub fn parse(&self) -> Result<(String, String), Vec<FieldError>> {
        let mut v = Validator::default();
        if self.cluster.trim().is_empty() {
            v.push(FieldError::new("cluster", "is required"));
        }
        let reason = v.check(parse_text("reason", &self.reason, 500));
        confirmed(&mut v, self.confirm);
        v.finish()?;
        Ok((self.cluster.trim().to_string(), reason.unwrap_or_default()))
    }
}

/// `POST /api/v1/clusters/{name}/failover`: every queue active on the cluster that has a
/// backup moves to its other side.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClusterFailoverInput {
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub confirm: bool,
}

impl ClusterFailoverInput {
    pub fn parse(&self) -> Result<String, Vec<FieldError>> {
        let mut v = Validator::default();
        let reason = v.check(parse_text("reason", &self.reason, 500));
        confirmed(&mut v, self.confirm);
        v.finish()?;
        Ok(reason.unwrap_or_default())
    }
}

/// One switch in a queue's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SwitchView {
    pub id: i64,
    pub project: String,
    pub queue: String,
    pub at: i64,
    pub actor: String,
    pub kind: SwitchKind,
    pub from_side: ActiveSide,
    pub to_side: ActiveSide,
    pub from_cluster: String,
    pub to_cluster: String,
    pub reason: String,
}

/// A queue a cluster-wide failover left where it was, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SkippedQueue {
    /// `project/queue`.
    pub queue: String,
    pub reason: String,
}

/// What a cluster-wide failover did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClusterFailoverResult {
    pub switched: Vec<SwitchView>,
    pub skipped: Vec<SkippedQueue>,
}

/// How far a queue's clients have followed its mapping: those heard from recently that still
/// run an older config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Rollout {
    pub cluster: String,
    pub config_version: String,
    /// Clients heard from recently on the current config.
    pub current: usize,
    /// Clients heard from recently on an older one.
    pub behind: Vec<ClientView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_needs_a_side_and_a_confirmation() {
        let errors = FailoverInput {
            to: "sideways".into(),
            reason: String::new(),
            confirm: false,
        }
        .parse()
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["to", "confirm"]);
        let ok = FailoverInput {
            to: "backup".into(),
            reason: "primary is down".into(),
            confirm: true,
        }
        .parse()
        .unwrap();
        assert_eq!(ok, (ActiveSide::Backup, "primary is down".into()));
        assert_eq!(
            MigrateInput::default().parse().unwrap_err()[0].field,
            "cluster"
        );
    }
}
