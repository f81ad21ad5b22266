//! Consumer health use cases: a queue's or an application's groups with lag in time and status,
//! the alert rules owners set, silences, acknowledgements, and where alert e-mails go.

use super::{access, projects, queues, require_writer, Ctx, ServiceError, ServiceResult};
use crate::domain::{
    AcknowledgeInput, AlertKind, AlertRuleInput, AlertRuleView, AlertView, EmailInput, GroupHealth,
    QueueHealth, QueueView, RuleScope, SilenceInput, SilenceView,
};
use crate::server::db::{now_millis, AuditEvent, StoreError};
use crate::server::health::alerts::queue_rules_in_force;

fn parse_kind(kind: &str) -> ServiceResult<AlertKind> {
    kind.parse().map_err(|_| {
        vec![crate::domain::FieldError::new(
            "kind",
            "must be lag_messages, lag_seconds, group_stalled, producer_silent, stale_clients \
             or cluster_unreachable",
        )]
        .into()
    })
}

/// Whether the viewer owns the queue's project: they may change its rules and silences.
pub async fn queue_owner(cx: &Ctx, q: &QueueView) -> ServiceResult<bool> {
    let p = projects::get(cx.store(), &q.project).await?;
    projects::is_owner(cx, &p).await
}

async fn require_queue_owner(cx: &Ctx, q: &QueueView) -> ServiceResult<()> {
    require_writer(&cx.actor)?;
    if queue_owner(cx, q).await? {
        return Ok(());
    }
    Err(ServiceError::Forbidden(format!(
        "only owners of project {:?} set alerts on its queues",
        q.project
    )))
}

/// A queue's consumer groups as last judged, its rules in force, silences and alert history.
pub async fn queue_health(cx: &Ctx, project: &str, queue: &str) -> ServiceResult<QueueHealth> {
    let q = queues::get(cx.store(), project, queue).await?;
    Ok(QueueHealth {
        can_manage: queue_owner(cx, &q).await?,
        ..queue_health_for_all(cx, &q).await?
    })
}

/// A queue's consumer health as every viewer sees it (`can_manage` false): the part a page may
/// keep for a moment.
pub async fn queue_health_for_all(cx: &Ctx, q: &QueueView) -> ServiceResult<QueueHealth> {
    let key = format!("{}/{}", q.project, q.name);
    let own = cx.store.alert_rules_of(RuleScope::Queue, q.id).await?;
    Ok(QueueHealth {
        groups: cx.kafka.monitor.queue_groups(q.id),
        rules: queue_rules_in_force(&key, &own),
        silences: cx.store.silences(Some(q.id), now_millis()).await?,
        alerts: cx.store.queue_alerts(q.id, 50).await?,
        can_manage: false,
    })
}

/// Sets a queue's rule of one kind (its project's owners).
pub async fn set_queue_rule(
    cx: &Ctx,
    project: &str,
    queue: &str,
    kind: &str,
    input: &AlertRuleInput,
) -> ServiceResult<Vec<AlertRuleView>> {
    let q = queues::get(cx.store(), project, queue).await?;
    require_queue_owner(cx, &q).await?;
    let kind = parse_kind(kind)?;
    let settings = input.parse(kind)?;
    let key = format!("{}/{}", q.project, q.name);
    let ev = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "alert_rule.set",
        target_kind: "queue",
        target: key.clone(),
        summary: rule_summary(kind, &settings),
    };
    cx.store
        .set_alert_rule(RuleScope::Queue, q.id, kind, &settings, &ev)
        .await?;
    let own = cx.store.alert_rules_of(RuleScope::Queue, q.id).await?;
    Ok(queue_rules_in_force(&key, &own))
}

/// Removes a queue's own rule of one kind: the default applies again.
pub async fn reset_queue_rule(
    cx: &Ctx,
    project: &str,
    queue: &str,
    kind: &str,
) -> ServiceResult<Vec<AlertRuleView>> {
    let q = queues::get(cx.store(), project, queue).await?;
    require_queue_owner(cx, &q).await?;
    let kind = parse_kind(kind)?;
    let key = format!("{}/{}", q.project, q.name);
    let ev = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "alert_rule.reset",
        target_kind: "queue",
        target: key.clone(),
        summary: kind.to_string(),
    };
    if !cx
        .store
        .delete_alert_rule(RuleScope::Queue, q.id, kind, &ev)
        .await?
    {
        return Err(ServiceError::NotFound(format!(
            "a {kind} rule set on {key}"
        )));
    }
    let own = cx.store.alert_rules_of(RuleScope::Queue, q.id).await?;
    Ok(queue_rules_in_force(&key, &own))
}

fn rule_summary(kind: AlertKind, s: &crate::domain::RuleSettings) -> String {
    format!(
        "{kind}{} for {} s{}",
        s.threshold
            .map(|t| format!(" above {t}"))
            .unwrap_or_default(),
        s.for_seconds,
        if s.muted { " (muted)" } else { "" }
    )
}

/// An application's own rules (for its groups on every queue).
pub async fn application_rules(
    cx: &Ctx,
    project: &str,
    name: &str,
) -> ServiceResult<Vec<AlertRuleView>> {
    let app = access::application(cx.store(), project, name).await?;
    let rows = cx
        .store
        .alert_rules_of(RuleScope::Application, app.id)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| AlertRuleView {
            scope: RuleScope::Application,
            target: r.target,
            kind: r.kind,
            settings: r.settings,
            default: false,
            updated_by: Some(r.updated_by),
            updated_at: Some(r.updated_at),
        })
        .collect())
}

/// Sets or (with `None`) removes an application's rule of one kind: its owner, its project's
/// owners and admins.
pub async fn set_application_rule(
    cx: &Ctx,
    project: &str,
    name: &str,
    kind: &str,
    input: Option<&AlertRuleInput>,
) -> ServiceResult<Vec<AlertRuleView>> {
    let app = access::application(cx.store(), project, name).await?;
    require_writer(&cx.actor)?;
    if !access::can_manage_app(cx, &app).await? {
        return Err(ServiceError::Forbidden(format!(
            "only the owner of {}/{} or of project {:?} set its alerts",
            app.project, app.name, app.project
        )));
    }
    let kind = parse_kind(kind)?;
    if !kind.per_group() {
        return Err(vec![crate::domain::FieldError::new(
            "kind",
            "an application's rules are about its consumer groups: lag_messages, lag_seconds \
             or group_stalled",
        )]
        .into());
    }
    let key = format!("{}/{}", app.project, app.name);
    match input {
        Some(input) => {
            let settings = input.parse(kind)?;
            let ev = AuditEvent {
                actor: cx.actor.username.clone(),
                action: "alert_rule.set",
                target_kind: "application",
                target: key,
                summary: rule_summary(kind, &settings),
            };
            cx.store
                .set_alert_rule(RuleScope::Application, app.id, kind, &settings, &ev)
                .await?;
        }
        None => {
            let ev = AuditEvent {
                actor: cx.actor.username.clone(),
                action: "alert_rule.reset",
                target_kind: "application",
                target: key.clone(),
                summary: kind.to_string(),
            };
            if !cx
                .store
                .delete_alert_rule(RuleScope::Application, app.id, kind, &ev)
                .await?
            {
                return Err(ServiceError::NotFound(format!(
                    "a {kind} rule set on {key}"
                )));
            }
        }
    }
    application_rules(cx, project, name).await
}

/// The groups an application's SDK clients use, on every queue, as last judged.
pub async fn application_groups(
    cx: &Ctx,
    project: &str,
    name: &str,
) -> ServiceResult<Vec<GroupHealth>> {
    let app = access::application(cx.store(), project, name).await?;
    Ok(cx
        .kafka
        .monitor
        .groups()
        .into_iter()
        .filter(|g| g.application_ids.contains(&app.id))
        .map(|g| g.health)
        .collect())
}

/// Silences a queue's alerts (all, one group's, one kind's) until a time (its project's owners).
pub async fn silence(
    cx: &Ctx,
    project: &str,
    queue: &str,
    input: &SilenceInput,
) -> ServiceResult<SilenceView> {
    let q = queues::get(cx.store(), project, queue).await?;
    require_queue_owner(cx, &q).await?;
    let now = now_millis();
    let spec = input.parse(now)?;
    if let Some(group) = &spec.consumer_group {
        if !group_known(cx, q.id, group).await? {
            return Err(vec![crate::domain::FieldError::new(
                "consumer_group",
                format!(
                    "no consumer group {group:?} has been seen on {}/{}",
                    q.project, q.name
                ),
            )]
            .into());
        }
    }
    let ev = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "alert.silence",
        target_kind: "queue",
        target: format!("{}/{}", q.project, q.name),
        summary: format!(
            "{} {} until {}: {}",
            spec.consumer_group.as_deref().unwrap_or("all groups"),
            spec.kind.map_or("all kinds".to_string(), |k| k.to_string()),
            spec.ends_at,
            spec.comment
        ),
    };
    let id = cx
        .store
        .add_silence(q.id, &spec, &cx.actor.username, now, &ev)
        .await?;
    cx.store
        .silences(Some(q.id), now)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| ServiceError::NotFound(format!("silence {id}")))
}

/// Whether a group was seen on the queue: judged by the monitor now, reported by SDK clients,
/// or in the brokers' figures of the last week.
async fn group_known(cx: &Ctx, queue_id: i64, group: &str) -> ServiceResult<bool> {
    if cx
        .kafka
        .monitor
        .queue_groups(queue_id)
        .iter()
        .any(|g| g.consumer_group == group)
    {
        return Ok(true);
    }
    if cx
        .store
        .queue_clients(queue_id, 1_000)
        .await?
        .iter()
        .any(|c| c.consumer_group.as_deref() == Some(group))
    {
        return Ok(true);
    }
    let now = now_millis();
    Ok(cx
        .store
        .broker_group_offsets(queue_id, now - 7 * 86_400_000, now + 60_000)
        .await?
        .iter()
        .any(|g| g.consumer_group == group))
}

/// Ends a silence now (its queue's project owners).
pub async fn end_silence(cx: &Ctx, project: &str, queue: &str, id: i64) -> ServiceResult<()> {
    let q = queues::get(cx.store(), project, queue).await?;
    require_queue_owner(cx, &q).await?;
    let ev = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "alert.unsilence",
        target_kind: "queue",
        target: format!("{}/{}", q.project, q.name),
        summary: format!("silence {id}"),
    };
    if cx.store.end_silence(q.id, id, now_millis(), &ev).await? {
        Ok(())
    } else {
        Err(ServiceError::NotFound(format!(
            "a silence {id} in force on {}/{}",
            q.project, q.name
        )))
    }
}

/// Alerts of every queue, newest first (`firing` only when asked).
pub async fn alerts(cx: &Ctx, firing_only: bool) -> ServiceResult<Vec<AlertView>> {
    Ok(cx.store.alerts(firing_only, 200).await?)
}

/// Acknowledges a firing alert: the queue's project owners.
pub async fn acknowledge(cx: &Ctx, id: i64, input: &AcknowledgeInput) -> ServiceResult<AlertView> {
    require_writer(&cx.actor)?;
    let alert = cx
        .store
        .alert(id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("alert {id}")))?;
    let q = queues::get(cx.store(), &alert.project, &alert.queue).await?;
    // Acknowledging silences the subject on the queue: its owners' call (an application's
    // owners set their own rules instead).
    if !queue_owner(cx, &q).await? {
        return Err(ServiceError::Forbidden(format!(
            "only owners of project {:?} acknowledge alerts on its queues",
            q.project
        )));
    }
    if alert.resolved_at.is_some() {
        return Err(ServiceError::Conflict(crate::domain::FieldError::new(
            "id",
            format!("alert {id} is resolved already"),
        )));
    }
    let now = now_millis();
    let (comment, until) = input.parse(now)?;
    let ev = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "alert.acknowledge",
        target_kind: "queue",
        target: format!("{}/{}", q.project, q.name),
        summary: format!("alert {id} until {until}: {comment}"),
    };
    match cx
        .store
        .acknowledge_alert(id, &cx.actor.username, &comment, until, now, &ev)
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(ServiceError::NotFound(format!("alert {id}"))),
        Err(e) => return Err(e.into()),
    }
    cx.store
        .alert(id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("alert {id}")))
}

/// Sets or clears where the actor's alert e-mails go.
pub async fn set_email(cx: &Ctx, input: &EmailInput) -> ServiceResult<Option<String>> {
    let email = input.parse()?;
    let ev = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "user.email",
        target_kind: "user",
        target: cx.actor.username.clone(),
        summary: email.clone().unwrap_or_else(|| "removed".into()),
    };
    cx.store
        .set_user_email(&cx.actor.username, email.as_deref(), &ev)
        .await?;
    Ok(email)
}
