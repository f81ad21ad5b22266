//! Consumer health: a group's status in the manner of Burrow's evaluation, lag in time, and the
//! alert rules, alerts and silences that tell a queue's and an application's owners about it.

use super::FieldError;
use serde::{Deserialize, Serialize};

/// A consumer group's state on a queue, judged over the evaluation window.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "UPPERCASE")]
#[strum(serialize_all = "UPPERCASE")]
pub enum GroupStatus {
    /// Caught up at some point in the window, or moving without falling behind.
    Ok,
    /// Committing, but lag grew at every poll of the window.
    Warning,
    /// Members are there but the committed offset did not move while lag was above zero.
    Stalled,
    /// No commits over the window, lag above zero, and no members or SDK clients left.
    Stopped,
}

impl GroupStatus {
    /// The value of the `watershed_consumer_group_status` gauge: 0 OK … 3 STOPPED.
    pub fn gauge(self) -> i64 {
        self as i64
    }
}

/// One consumer group on one queue as the platform last judged it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GroupHealth {
    pub project: String,
    pub queue: String,
    pub consumer_group: String,
    /// The cluster the figures were read on (the queue's active side).
    pub cluster: String,
    pub status: GroupStatus,
    /// Why, in words.
    pub reason: String,
    /// Messages behind the end of the queue.
    pub lag_messages: i64,
    /// How old the oldest unread message is, in seconds: now minus the time the queue's end
    /// offset was where the group has committed (0 when caught up).
    pub lag_seconds: i64,
    /// `lag_seconds` is a lower bound: the group is behind every end offset the platform has
    /// kept (since it started, or longer ago than the table reaches).
    pub lag_seconds_at_least: bool,
    /// Members on the broker or SDK clients heard from lately, whichever is more.
    pub clients: i64,
    /// The applications whose SDK clients use this group.
    pub applications: Vec<String>,
    /// When this was evaluated (ms since the epoch).
    pub at: i64,
}

/// What an alert rule watches.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::EnumIter,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AlertKind {
    /// A group's lag above `threshold` messages.
    LagMessages,
    /// A group's lag above `threshold` seconds.
    LagSeconds,
    /// A group STALLED or STOPPED.
    GroupStalled,
    /// No message written to a queue that received data before.
    ProducerSilent,
    /// SDK clients still on the mapping before the queue's last switch.
    StaleClients,
    /// The queue's active cluster cannot be reached.
    ClusterUnreachable,
}

impl AlertKind {
    /// Whether the rule needs a threshold (the others fire on a condition alone).
    pub fn takes_threshold(self) -> bool {
        matches!(self, AlertKind::LagMessages | AlertKind::LagSeconds)
    }

    /// Whether the rule is about one consumer group (vs. the queue as a whole).
    pub fn per_group(self) -> bool {
        matches!(
            self,
            AlertKind::LagMessages | AlertKind::LagSeconds | AlertKind::GroupStalled
        )
    }

    /// The rule every queue has until its owners change or mute it, if any.
    pub fn default_rule(self) -> Option<RuleSettings> {
        let minutes = |m: i64| m * 60;
        match self {
            AlertKind::GroupStalled => Some(RuleSettings {
                threshold: None,
                for_seconds: minutes(10),
                muted: false,
            }),
            AlertKind::StaleClients => Some(RuleSettings {
                threshold: None,
                for_seconds: minutes(15),
                muted: false,
            }),
            AlertKind::ClusterUnreachable => Some(RuleSettings {
                threshold: None,
                for_seconds: minutes(5),
                muted: false,
            }),
            AlertKind::LagSeconds => Some(RuleSettings {
                threshold: Some(3600),
                for_seconds: minutes(10),
                muted: false,
            }),
            AlertKind::LagMessages | AlertKind::ProducerSilent => None,
        }
    }
}

/// Where a rule applies: a queue (all its groups) or an application (its groups everywhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RuleScope {
    Queue,
    Application,
}

/// A rule's validated settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RuleSettings {
    /// Messages for `lag_messages`, seconds for `lag_seconds`; none for the other kinds.
    pub threshold: Option<i64>,
    /// How long the condition must hold before the alert fires.
    pub for_seconds: i64,
    /// A muted rule never fires.
    pub muted: bool,
}

/// At most a week: a condition must hold this long before firing.
pub const MAX_FOR_SECONDS: i64 = 7 * 86_400;
/// Lag thresholds beyond these are not thresholds anyone means.
pub const MAX_LAG_MESSAGES: i64 = 1_000_000_000_000;
pub const MAX_LAG_SECONDS: i64 = 90 * 86_400;

/// What an owner submits to set a rule.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AlertRuleInput {
    /// Needed by `lag_messages` (messages) and `lag_seconds` (seconds).
    #[serde(default)]
    pub threshold: Option<i64>,
    /// How long the condition must hold: 0 to 604800 seconds.
    pub for_seconds: i64,
    #[serde(default)]
    pub muted: bool,
}

impl AlertRuleInput {
    pub fn parse(&self, kind: AlertKind) -> Result<RuleSettings, Vec<FieldError>> {
        let mut errors = Vec::new();
        if !(0..=MAX_FOR_SECONDS).contains(&self.for_seconds) {
            errors.push(FieldError::new(
                "for_seconds",
                format!("must be between 0 and {MAX_FOR_SECONDS} (a week)"),
            ));
        }
        match (kind.takes_threshold(), self.threshold) {
            (true, None) => errors.push(FieldError::new(
                "threshold",
                format!("a {kind} rule needs a threshold"),
            )),
            (true, Some(t)) => {
                let (max, unit) = if kind == AlertKind::LagMessages {
                    (MAX_LAG_MESSAGES, "messages")
                } else {
                    (MAX_LAG_SECONDS, "seconds (90 days)")
                };
                if !(1..=max).contains(&t) {
                    errors.push(FieldError::new(
                        "threshold",
                        format!("must be between 1 and {max} {unit}"),
                    ));
                }
            }
            (false, Some(_)) => errors.push(FieldError::new(
                "threshold",
                format!("a {kind} rule takes no threshold"),
            )),
            (false, None) => {}
        }
        if errors.is_empty() {
            Ok(RuleSettings {
                threshold: self.threshold,
                for_seconds: self.for_seconds,
                muted: self.muted,
            })
        } else {
            Err(errors)
        }
    }
}

/// A rule in force for a queue or an application: set by its owners, or the default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AlertRuleView {
    pub scope: RuleScope,
    /// `project/queue` or `project/application`.
    pub target: String,
    pub kind: AlertKind,
    #[serde(flatten)]
    pub settings: RuleSettings,
    /// Not set by anyone: the platform's default for every queue.
    pub default: bool,
    pub updated_by: Option<String>,
    pub updated_at: Option<i64>,
}

/// Firing or resolved.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display, strum::EnumString,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AlertState {
    Firing,
    Resolved,
}

/// One alert: a rule's condition on one subject (a group, or the queue) from firing to resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AlertView {
    pub id: i64,
    pub project: String,
    pub queue: String,
    /// Empty for alerts about the queue as a whole.
    pub consumer_group: String,
    pub kind: AlertKind,
    pub state: AlertState,
    /// What was seen, in words, when it fired.
    pub reason: String,
    pub fired_at: i64,
    pub resolved_at: Option<i64>,
    /// Whether a silence kept its notifications back.
    pub silenced: bool,
    pub acknowledged_by: Option<String>,
    pub acknowledged_comment: Option<String>,
    pub acknowledged_until: Option<i64>,
}

/// What an owner submits to silence a queue's alerts (all, one group's, or one kind's).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SilenceInput {
    /// Only this consumer group's alerts; empty for all.
    #[serde(default)]
    pub consumer_group: String,
    /// Only this kind of alert; none for all.
    #[serde(default)]
    pub kind: Option<AlertKind>,
    /// Why: shown beside the alerts it holds back.
    pub comment: String,
    /// When the silence ends (ms since the epoch): in the future, at most 30 days ahead.
    pub ends_at: i64,
}

/// The longest a silence or acknowledgement can last.
pub const MAX_SILENCE_MS: i64 = 30 * 86_400_000;

/// A validated silence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SilenceSpec {
    pub consumer_group: Option<String>,
    pub kind: Option<AlertKind>,
    pub comment: String,
    pub ends_at: i64,
}

fn check_comment(comment: &str, errors: &mut Vec<FieldError>) -> String {
    let comment = comment.trim();
    if comment.is_empty() {
        errors.push(FieldError::new(
            "comment",
            "say why, for whoever looks next",
        ));
    } else if comment.chars().count() > 1000 {
        errors.push(FieldError::new("comment", "at most 1000 characters"));
    }
    comment.to_string()
}

fn check_end(ends_at: i64, now: i64, field: &str, errors: &mut Vec<FieldError>) {
    if ends_at <= now {
        errors.push(FieldError::new(field, "must be in the future"));
    } else if ends_at - now > MAX_SILENCE_MS {
        errors.push(FieldError::new(field, "at most 30 days ahead"));
    }
}

impl SilenceInput {
    pub fn parse(&self, now: i64) -> Result<SilenceSpec, Vec<FieldError>> {
        let mut errors = Vec::new();
        let comment = check_comment(&self.comment, &mut errors);
        check_end(self.ends_at, now, "ends_at", &mut errors);
        let group = self.consumer_group.trim();
        if group.chars().count() > 255 {
            errors.push(FieldError::new("consumer_group", "at most 255 characters"));
        }
        if errors.is_empty() {
            Ok(SilenceSpec {
                consumer_group: (!group.is_empty()).then(|| group.to_string()),
                kind: self.kind,
                comment,
                ends_at: self.ends_at,
            })
        } else {
            Err(errors)
        }
    }
}

/// A silence in force or past.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SilenceView {
    pub id: i64,
    pub project: String,
    pub queue: String,
    pub consumer_group: Option<String>,
    pub kind: Option<AlertKind>,
    pub comment: String,
    pub created_by: String,
    pub created_at: i64,
    pub ends_at: i64,
}

/// What someone submits to acknowledge a firing alert.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AcknowledgeInput {
    pub comment: String,
    /// Until when (ms since the epoch); the alert's notifications are held back until then.
    pub until: i64,
}

impl AcknowledgeInput {
    /// The comment and end time, checked.
    pub fn parse(&self, now: i64) -> Result<(String, i64), Vec<FieldError>> {
        let mut errors = Vec::new();
        let comment = check_comment(&self.comment, &mut errors);
        check_end(self.until, now, "until", &mut errors);
        if errors.is_empty() {
            Ok((comment, self.until))
        } else {
            Err(errors)
        }
    }
}

/// A queue's consumer health: its groups, the rules in force, silences and alert history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct QueueHealth {
    pub groups: Vec<GroupHealth>,
    pub rules: Vec<AlertRuleView>,
    pub silences: Vec<SilenceView>,
    pub alerts: Vec<AlertView>,
    /// Whether the viewer may change rules and silences.
    pub can_manage: bool,
}

/// What a user submits to set where alert e-mails reach them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EmailInput {
    /// Empty removes the address.
    pub email: String,
}

impl EmailInput {
    pub fn parse(&self) -> Result<Option<String>, Vec<FieldError>> {
        let email = self.email.trim();
        if email.is_empty() {
            return Ok(None);
        }
        let valid = email.len() <= 254
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !email.chars().any(|c| c.is_whitespace() || c.is_control())
                    && !domain.contains('@')
            });
        if valid {
            Ok(Some(email.to_string()))
        } else {
            Err(vec![FieldError::new(
                "email",
                "an address like name@example.com",
            )])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lag_rule_without_a_threshold_names_the_field() {
        let e = AlertRuleInput {
            threshold: None,
            for_seconds: 60,
            muted: false,
        }
        .parse(AlertKind::LagMessages)
        .unwrap_err();
        assert_eq!(e[0].field, "threshold");
    }

    #[test]
    fn negative_and_absurd_thresholds_and_durations_are_refused() {
        for (threshold, for_seconds, field) in [
            (Some(-5), 60, "threshold"),
            (Some(0), 60, "threshold"),
            (Some(MAX_LAG_SECONDS + 1), 60, "threshold"),
            (Some(100), -1, "for_seconds"),
            (Some(100), MAX_FOR_SECONDS + 1, "for_seconds"),
        ] {
            let e = AlertRuleInput {
                threshold,
                for_seconds,
                muted: false,
            }
            .parse(AlertKind::LagSeconds)
            .unwrap_err();
            assert_eq!(e[0].field, field, "{threshold:?} {for_seconds}");
        }
    }

    #[test]
    fn a_stalled_rule_takes_no_threshold() {
        let e = AlertRuleInput {
            threshold: Some(3),
            for_seconds: 60,
            muted: false,
        }
        .parse(AlertKind::GroupStalled)
        .unwrap_err();
        assert_eq!(e[0].field, "threshold");
        assert!(AlertRuleInput {
            threshold: None,
            for_seconds: 600,
            muted: true,
        }
        .parse(AlertKind::GroupStalled)
        .is_ok());
    }

    #[test]
    fn a_silence_in_the_past_or_without_a_reason_is_refused() {
        let now = 1_000_000;
        let e = SilenceInput {
            consumer_group: String::new(),
            kind: None,
            comment: " ".into(),
            ends_at: now - 1,
        }
        .parse(now)
        .unwrap_err();
        let fields: Vec<&str> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["comment", "ends_at"]);
        let ok = SilenceInput {
            consumer_group: " billing ".into(),
            kind: Some(AlertKind::GroupStalled),
            comment: "deploying".into(),
            ends_at: now + 60_000,
        }
        .parse(now)
        .unwrap();
        assert_eq!(ok.consumer_group.as_deref(), Some("billing"));
    }

    #[test]
    fn kinds_read_back_from_their_names() {
        use strum::IntoEnumIterator;
        for k in AlertKind::iter() {
            assert_eq!(k.to_string().parse::<AlertKind>().unwrap(), k);
        }
        assert_eq!(GroupStatus::Stalled.to_string(), "STALLED");
    }

    #[test]
    fn e_mail_addresses_are_checked() {
        assert_eq!(
            EmailInput {
                email: " ops@example.com ".into()
            }
            .parse()
            .unwrap()
            .as_deref(),
            Some("ops@example.com")
        );
        for bad in ["ops", "@example.com", "ops@example", "o ps@example.com"] {
            assert!(EmailInput { email: bad.into() }.parse().is_err(), "{bad}");
        }
    }
}
