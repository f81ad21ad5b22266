//! Storage for consumer health: alert rules, alerts from firing to resolved, silences, and the
//! facts the evaluation needs about who runs which consumer group.

use super::{AuditEvent, Notice, StoreResult};
use crate::domain::{AlertKind, AlertView, RuleScope, RuleSettings, SilenceSpec, SilenceView};
use async_trait::async_trait;

/// A rule an owner set, with the queue or application it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRow {
    pub scope: RuleScope,
    pub target_id: i64,
    /// `project/queue` or `project/application`.
    pub target: String,
    pub kind: AlertKind,
    pub settings: RuleSettings,
    pub updated_by: String,
    pub updated_at: i64,
}

/// A consumer group an application's SDK clients use on a queue, with how many of them were
/// heard from since the asked time.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GroupApplication {
    pub queue_id: i64,
    pub consumer_group: String,
    pub application_id: i64,
    /// `project/application`.
    pub application: String,
    pub owner: String,
    pub live_clients: i64,
}

/// An alert that fires now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    pub queue_id: i64,
    pub consumer_group: String,
    pub kind: AlertKind,
    pub reason: String,
    pub at: i64,
    pub silenced: bool,
}

/// An alert not yet resolved, as the evaluation needs it after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAlert {
    pub id: i64,
    pub queue_id: i64,
    pub consumer_group: String,
    pub kind: AlertKind,
}

/// Storage for alert rules, alerts and silences.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Every rule owners have set.
    async fn alert_rules(&self) -> StoreResult<Vec<RuleRow>>;
    /// The rules set on one queue or application.
    async fn alert_rules_of(&self, scope: RuleScope, target_id: i64) -> StoreResult<Vec<RuleRow>>;
    /// Sets (creates or replaces) the rule of `kind` on a queue or application, audited.
    async fn set_alert_rule(
        &self,
        scope: RuleScope,
        target_id: i64,
        kind: AlertKind,
        settings: &RuleSettings,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Removes a rule (a queue's kind goes back to its default), audited; false when none was set.
    async fn delete_alert_rule(
        &self,
        scope: RuleScope,
        target_id: i64,
        kind: AlertKind,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Adds a silence on a queue, audited; returns its id.
    async fn add_silence(
        &self,
        queue_id: i64,
        spec: &SilenceSpec,
        by: &str,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<i64>;
    /// Ends a silence of a queue now, audited; false when it was not there or had ended.
    async fn end_silence(
        &self,
        queue_id: i64,
        id: i64,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Silences in force at `at`: of one queue, or of every queue.
    async fn silences(&self, queue_id: Option<i64>, at: i64) -> StoreResult<Vec<SilenceView>>;
    /// Records an alert that fired, its notice (when not silenced) and its audit entry in one
    /// transaction; returns its id, or None when its subject has an open alert already (another
    /// replica judged it first), in which case nothing is written.
    async fn open_alert(
        &self,
        alert: &NewAlert,
        notice: Option<&Notice>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<i64>>;
    /// Marks an alert resolved, with its notice and audit entry in one transaction; false when
    /// it was resolved already.
    async fn resolve_alert(
        &self,
        id: i64,
        at: i64,
        notice: Option<&Notice>,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Alerts not resolved.
    async fn open_alerts(&self) -> StoreResult<Vec<OpenAlert>>;
    /// One alert.
    async fn alert(&self, id: i64) -> StoreResult<Option<AlertView>>;
    /// A queue's alerts, newest first.
    async fn queue_alerts(&self, queue_id: i64, limit: i64) -> StoreResult<Vec<AlertView>>;
    /// Alerts of every queue, newest first, firing only when asked.
    async fn alerts(&self, firing_only: bool, limit: i64) -> StoreResult<Vec<AlertView>>;
    /// Acknowledges an alert: who, why, until when; with a silence of its subject until then
    /// (so it does not notify again if it resolves and fires anew), audited.
    async fn acknowledge_alert(
        &self,
        id: i64,
        by: &str,
        comment: &str,
        until: i64,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Which applications' SDK clients use which consumer group on which queue, counting those
    /// heard from since `since`.
    async fn group_applications(&self, since: i64) -> StoreResult<Vec<GroupApplication>>;
    /// Per queue and config version, how many SDK clients heard from since `since` run it.
    async fn client_versions(&self, since: i64) -> StoreResult<Vec<(i64, String, i64)>>;
    /// Sets or clears where a user's alert e-mails go, audited.
    async fn set_user_email(
        &self,
        username: &str,
        email: Option<&str>,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// A user's e-mail address, if set.
    async fn user_email(&self, username: &str) -> StoreResult<Option<String>>;
    /// The e-mail addresses of the owners of project `project` and of `users`, each once.
    async fn alert_emails(&self, project: &str, users: &[String]) -> StoreResult<Vec<String>>;
}
