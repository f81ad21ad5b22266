//! [`AlertStore`] for one backend: compiled once per backend, inside the backend's module, where
//! `backend::Db` is its sqlx database and `backend::This` its store.

use super::backend::This;

use crate::domain::{
    AlertKind, AlertState, AlertView, RuleScope, RuleSettings, SilenceSpec, SilenceView,
};
use crate::server::db::alerts::{AlertStore, GroupApplication, NewAlert, OpenAlert, RuleRow};
use crate::server::db::{AuditEvent, Notice, StoreError, StoreResult};

type RuleTuple = (
    String,
    i64,
    String,
    String,
    Option<i64>,
    i64,
    i64,
    String,
    i64,
);

const RULES: &str = "SELECT r.scope, r.target_id, \
     COALESCE(pq.name || '/' || q.name, pa.name || '/' || a.name, ''), r.kind, r.threshold, \
     r.for_seconds, r.muted, r.updated_by, r.updated_at FROM alert_rules r \
     LEFT JOIN queues q ON r.scope = 'queue' AND q.id = r.target_id \
     LEFT JOIN projects pq ON pq.id = q.project_id \
     LEFT JOIN applications a ON r.scope = 'application' AND a.id = r.target_id \
     LEFT JOIN projects pa ON pa.id = a.project_id";

fn kind(s: &str) -> StoreResult<AlertKind> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("alert kind {s:?}")))
}

fn rule(r: RuleTuple) -> StoreResult<RuleRow> {
    let scope = match r.0.as_str() {
        "queue" => RuleScope::Queue,
        "application" => RuleScope::Application,
        other => return Err(StoreError::Corrupt(format!("alert rule scope {other:?}"))),
    };
    Ok(RuleRow {
        scope,
        target_id: r.1,
        target: r.2,
        kind: kind(&r.3)?,
        settings: RuleSettings {
            threshold: r.4,
            for_seconds: r.5,
            muted: r.6 != 0,
        },
        updated_by: r.7,
        updated_at: r.8,
    })
}

type AlertTuple = (
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
);

const ALERTS: &str = "SELECT al.id, p.name, q.name, al.consumer_group, al.kind, al.reason, \
     al.fired_at, al.resolved_at, al.silenced, al.ack_by, al.ack_comment, al.ack_until \
     FROM alerts al JOIN queues q ON q.id = al.queue_id JOIN projects p ON p.id = q.project_id";

fn alert(r: AlertTuple) -> StoreResult<AlertView> {
    Ok(AlertView {
        id: r.0,
        project: r.1,
        queue: r.2,
        consumer_group: r.3,
        kind: kind(&r.4)?,
        state: if r.7.is_some() {
            AlertState::Resolved
        } else {
            AlertState::Firing
        },
        reason: r.5,
        fired_at: r.6,
        resolved_at: r.7,
        silenced: r.8 != 0,
        acknowledged_by: r.9,
        acknowledged_comment: r.10,
        acknowledged_until: r.11,
    })
}

type SilenceTuple = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    i64,
    i64,
);

fn silence(r: SilenceTuple) -> StoreResult<SilenceView> {
    Ok(SilenceView {
        id: r.0,
        project: r.1,
        queue: r.2,
        consumer_group: r.3,
        kind: r.4.as_deref().map(kind).transpose()?,
        comment: r.5,
        created_by: r.6,
        created_at: r.7,
        ends_at: r.8,
    })
}

#[async_trait::async_trait]
impl AlertStore for This {
    async fn alert_rules(&self) -> StoreResult<Vec<RuleRow>> {
        let rows: Vec<RuleTuple> = sqlx::query_as(&format!("{RULES} ORDER BY r.id"))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(rule).collect()
    }

    async fn alert_rules_of(&self, scope: RuleScope, target_id: i64) -> StoreResult<Vec<RuleRow>> {
        let rows: Vec<RuleTuple> = sqlx::query_as(&format!(
            "{RULES} WHERE r.scope = $1 AND r.target_id = $2 ORDER BY r.kind"
        ))
        .bind(scope.to_string())
        .bind(target_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(rule).collect()
    }

    async fn set_alert_rule(
        &self,
        scope: RuleScope,
        target_id: i64,
        kind: AlertKind,
        settings: &RuleSettings,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO alert_rules (scope, target_id, kind, threshold, for_seconds, muted, \
             updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (scope, target_id, kind) DO UPDATE SET threshold = excluded.threshold, \
             for_seconds = excluded.for_seconds, muted = excluded.muted, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(scope.to_string())
        .bind(target_id)
        .bind(kind.to_string())
        .bind(settings.threshold)
        .bind(settings.for_seconds)
        .bind(i64::from(settings.muted))
        .bind(&audit.actor)
        .bind(crate::server::db::now_millis())
        .execute(&mut *tx)
        .await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_alert_rule(
        &self,
        scope: RuleScope,
        target_id: i64,
        kind: AlertKind,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        self.update_audited(
            sqlx::query(
                "DELETE FROM alert_rules WHERE scope = $1 AND target_id = $2 AND kind = $3",
            )
            .bind(scope.to_string())
            .bind(target_id)
            .bind(kind.to_string()),
            audit,
        )
        .await
    }

    async fn add_silence(
        &self,
        queue_id: i64,
        spec: &SilenceSpec,
        by: &str,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<i64> {
        self.insert_audited(
            sqlx::query_as(
                "INSERT INTO alert_silences (queue_id, consumer_group, kind, comment, created_by, \
                 created_at, ends_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(queue_id)
            .bind(spec.consumer_group.clone())
            .bind(spec.kind.map(|k| k.to_string()))
            .bind(spec.comment.clone())
            .bind(by.to_string())
            .bind(at)
            .bind(spec.ends_at),
            audit,
        )
        .await
    }

    async fn end_silence(
        &self,
        queue_id: i64,
        id: i64,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        self.update_audited(
            sqlx::query(
                "UPDATE alert_silences SET ends_at = $1 \
                 WHERE id = $2 AND queue_id = $3 AND ends_at > $1",
            )
            .bind(at)
            .bind(id)
            .bind(queue_id),
            audit,
        )
        .await
    }

    async fn silences(&self, queue_id: Option<i64>, at: i64) -> StoreResult<Vec<SilenceView>> {
        let rows: Vec<SilenceTuple> = sqlx::query_as(
            "SELECT s.id, p.name, q.name, s.consumer_group, s.kind, s.comment, s.created_by, \
             s.created_at, s.ends_at FROM alert_silences s JOIN queues q ON q.id = s.queue_id \
             JOIN projects p ON p.id = q.project_id \
             WHERE s.ends_at > $1 AND ($2 IS NULL OR s.queue_id = $2) ORDER BY s.ends_at, s.id",
        )
        .bind(at)
        .bind(queue_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(silence).collect()
    }

    async fn open_alert(
        &self,
        a: &NewAlert,
        notice: Option<&Notice>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<i64>> {
        let mut tx = self.pool.begin().await?;
        let row: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO alerts (queue_id, consumer_group, kind, reason, fired_at, silenced) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(a.queue_id)
        .bind(&a.consumer_group)
        .bind(a.kind.to_string())
        .bind(&a.reason)
        .bind(a.at)
        .bind(i64::from(a.silenced))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id,)) = row else {
            return Ok(None);
        };
        if let Some(n) = notice {
            Self::notice_in(&mut tx, n, a.at).await?;
        }
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    async fn resolve_alert(
        &self,
        id: i64,
        at: i64,
        notice: Option<&Notice>,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let changed =
            sqlx::query("UPDATE alerts SET resolved_at = $1 WHERE id = $2 AND resolved_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        if let Some(n) = notice {
            Self::notice_in(&mut tx, n, at).await?;
        }
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn open_alerts(&self) -> StoreResult<Vec<OpenAlert>> {
        let rows: Vec<(i64, i64, String, String)> = sqlx::query_as(
            "SELECT id, queue_id, consumer_group, kind FROM alerts WHERE resolved_at IS NULL \
             ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, queue_id, consumer_group, k)| {
                Ok(OpenAlert {
                    id,
                    queue_id,
                    consumer_group,
                    kind: kind(&k)?,
                })
            })
            .collect()
    }

    async fn alert(&self, id: i64) -> StoreResult<Option<AlertView>> {
        let row: Option<AlertTuple> = sqlx::query_as(&format!("{ALERTS} WHERE al.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(alert).transpose()
    }

    async fn queue_alerts(&self, queue_id: i64, limit: i64) -> StoreResult<Vec<AlertView>> {
        let rows: Vec<AlertTuple> = sqlx::query_as(&format!(
            "{ALERTS} WHERE al.queue_id = $1 ORDER BY al.fired_at DESC, al.id DESC LIMIT $2"
        ))
        .bind(queue_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(alert).collect()
    }

    async fn alerts(&self, firing_only: bool, limit: i64) -> StoreResult<Vec<AlertView>> {
        let filter = if firing_only {
            "WHERE al.resolved_at IS NULL"
        } else {
            ""
        };
        let rows: Vec<AlertTuple> = sqlx::query_as(&format!(
            "{ALERTS} {filter} ORDER BY al.fired_at DESC, al.id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(alert).collect()
    }

    async fn acknowledge_alert(
        &self,
        id: i64,
        by: &str,
        comment: &str,
        until: i64,
        at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let row: Option<(i64, String, String)> = sqlx::query_as(
            "UPDATE alerts SET ack_by = $1, ack_comment = $2, ack_until = $3 WHERE id = $4 \
             RETURNING queue_id, consumer_group, kind",
        )
        .bind(by)
        .bind(comment)
        .bind(until)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((queue_id, group, kind)) = row else {
            return Err(StoreError::NotFound);
        };
        sqlx::query(
            "INSERT INTO alert_silences (queue_id, consumer_group, kind, comment, created_by, \
             created_at, ends_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(queue_id)
        .bind((!group.is_empty()).then_some(group))
        .bind(kind)
        .bind(format!("acknowledged: {comment}"))
        .bind(by)
        .bind(at)
        .bind(until)
        .execute(&mut *tx)
        .await?;
        self.audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn group_applications(&self, since: i64) -> StoreResult<Vec<GroupApplication>> {
        Ok(sqlx::query_as(
            "SELECT c.queue_id, c.consumer_group, c.application_id, \
             p.name || '/' || a.name AS application, a.owner, \
             SUM(CASE WHEN c.last_seen >= $1 THEN 1 ELSE 0 END) AS live_clients \
             FROM sdk_clients c JOIN applications a ON a.id = c.application_id \
             JOIN projects p ON p.id = a.project_id \
             WHERE c.role = 'consumer' AND c.consumer_group IS NOT NULL \
             GROUP BY c.queue_id, c.consumer_group, c.application_id, p.name, a.name, a.owner \
             ORDER BY c.queue_id, c.consumer_group, c.application_id",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn client_versions(&self, since: i64) -> StoreResult<Vec<(i64, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT queue_id, config_version, COUNT(*) FROM sdk_clients \
             WHERE last_seen >= $1 AND config_version <> '' \
             GROUP BY queue_id, config_version ORDER BY queue_id, config_version",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn set_user_email(
        &self,
        username: &str,
        email: Option<&str>,
        audit: &AuditEvent,
    ) -> StoreResult<()> {
        if self
            .update_audited(
                sqlx::query("UPDATE users SET email = $1 WHERE username = $2")
                    .bind(email.map(str::to_string))
                    .bind(username.to_string()),
                audit,
            )
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn user_email(&self, username: &str) -> StoreResult<Option<String>> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT email FROM users WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|r| r.0))
    }

    async fn alert_emails(&self, project: &str, users: &[String]) -> StoreResult<Vec<String>> {
        let mut out: Vec<(String,)> = sqlx::query_as(
            "SELECT u.email FROM project_members m JOIN users u ON u.id = m.user_id \
             JOIN projects p ON p.id = m.project_id \
             WHERE p.name = $1 AND m.role = 'owner' AND u.email IS NOT NULL",
        )
        .bind(project)
        .fetch_all(&self.pool)
        .await?;
        for user in users {
            let row: Option<(String,)> =
                sqlx::query_as("SELECT email FROM users WHERE username = $1 AND email IS NOT NULL")
                    .bind(user)
                    .fetch_optional(&self.pool)
                    .await?;
            out.extend(row);
        }
        let mut emails: Vec<String> = out.into_iter().map(|r| r.0).collect();
        emails.sort();
        emails.dedup();
        Ok(emails)
    }
}
