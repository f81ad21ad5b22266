//! Console server functions for consumer health: the queue page's groups, rules, silences and
//! alerts. Durations are typed in minutes and hours here, as people think of them; the REST
//! API takes seconds and epoch milliseconds.

#[cfg(feature = "ssr")]
use super::ssr::Call;
use super::AppError;
use crate::domain::QueueHealth;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::services::health;

/// A number typed into a form, or an error naming the field.
#[cfg(feature = "ssr")]
fn number(field: &str, value: &str) -> Result<Option<f64>, AppError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(Some)
        .ok_or_else(|| {
            crate::server::services::ServiceError::Invalid(vec![crate::domain::FieldError::new(
                field,
                "must be a number",
            )])
            .into()
        })
}

/// The time `hours` from now (ms since the epoch); an empty or bad field names `hours`.
#[cfg(feature = "ssr")]
fn hours_from_now(hours: &str) -> Result<i64, AppError> {
    let hours = number("hours", hours)?.unwrap_or(0.0);
    // A float cast saturates; the sum must too (an absurd number is refused by the service).
    Ok(crate::server::db::now_millis().saturating_add((hours * 3_600_000.0) as i64))
}

/// Renames a service's field errors to the form's fields.
#[cfg(feature = "ssr")]
fn rename(
    e: crate::server::services::ServiceError,
    from: &str,
    to: &str,
) -> crate::server::services::ServiceError {
    match e {
        crate::server::services::ServiceError::Invalid(mut fields) => {
            for f in &mut fields {
                if f.field == from {
                    f.field = to.to_string();
                }
            }
            crate::server::services::ServiceError::Invalid(fields)
        }
        other => other,
    }
}

/// A queue's consumer health for its page.
#[server(prefix = "/console")]
pub async fn queue_health_panel(project: String, queue: String) -> Result<QueueHealth, AppError> {
    let call = Call::new().await?;
    let cx = call.ctx()?;
    let q = call.queue(&project, &queue).await?;
    let health = call
        .kept("health", &format!("{project}/{queue}"), || {
            health::queue_health_for_all(&cx, &q)
        })
        .await?;
    Ok(QueueHealth {
        can_manage: health::queue_owner(&cx, &q).await?,
        ..health
    })
}

/// Sets one of a queue's alert rules, then shows the queue's health.
#[server(prefix = "/console")]
pub async fn set_alert_rule(
    project: String,
    queue: String,
    kind: String,
    #[server(default)] threshold: String,
    for_minutes: String,
    #[server(default)] muted: Option<String>,
) -> Result<(), AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let threshold = number("threshold", &threshold)?.map(|t| t.round() as i64);
        let minutes = number("for_minutes", &for_minutes)?.unwrap_or(-1.0);
        let input = crate::domain::AlertRuleInput {
            threshold,
            for_seconds: (minutes * 60.0).round() as i64,
            muted: muted.is_some(),
        };
        health::set_queue_rule(&cx, &project, &queue, &kind, &input)
            .await
            .map_err(|e| rename(e, "for_seconds", "for_minutes"))?;
        Ok(())
    }
    .await;
    call.finish(result, |_| format!("/queues/{project}/{queue}#health"))
}

/// Puts one of a queue's rules back to its default.
#[server(prefix = "/console")]
pub async fn reset_alert_rule(
    project: String,
    queue: String,
    kind: String,
) -> Result<(), AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        health::reset_queue_rule(&cx, &project, &queue, &kind).await?;
        Ok(())
    }
    .await;
    call.finish(result, |_| format!("/queues/{project}/{queue}#health"))
}

/// Silences a queue's alerts for some hours.
#[server(prefix = "/console")]
pub async fn silence_alerts(
    project: String,
    queue: String,
    #[server(default)] consumer_group: String,
    #[server(default)] kind: String,
    comment: String,
    hours: String,
) -> Result<(), AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let ends_at = hours_from_now(&hours)?;
        let kind = match kind.trim() {
            "" => None,
            k => Some(k.parse().map_err(|_| {
                crate::server::services::ServiceError::Invalid(vec![
                    crate::domain::FieldError::new("kind", "not a kind of alert"),
                ])
            })?),
        };
        let input = crate::domain::SilenceInput {
            consumer_group,
            kind,
            comment,
            ends_at,
        };
        health::silence(&cx, &project, &queue, &input)
            .await
            .map_err(|e| rename(e, "ends_at", "hours"))?;
        Ok(())
    }
    .await;
    call.finish(result, |_| format!("/queues/{project}/{queue}#health"))
}

/// Ends a silence now.
#[server(prefix = "/console")]
pub async fn end_silence(project: String, queue: String, id: i64) -> Result<(), AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        Ok(health::end_silence(&cx, &project, &queue, id).await?)
    }
    .await;
    call.finish(result, |_| format!("/queues/{project}/{queue}#health"))
}

/// Acknowledges a firing alert for some hours.
#[server(prefix = "/console")]
pub async fn acknowledge_alert(
    project: String,
    queue: String,
    id: i64,
    comment: String,
    hours: String,
) -> Result<(), AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let input = crate::domain::AcknowledgeInput {
            comment,
            until: hours_from_now(&hours)?,
        };
        health::acknowledge(&cx, id, &input)
            .await
            .map_err(|e| rename(e, "until", "hours"))?;
        Ok(())
    }
    .await;
    call.finish(result, |_| format!("/queues/{project}/{queue}#health"))
}
