//! Switching a queue's clients to another cluster: failover and failback between a queue's
//! primary and backup, a cluster-wide failover, and migration of the active side. Each switch
//! is one conditional update with its history row and audit entry; SDKs learn of it at their
//! next heartbeat (the mapping's config version changes).

use super::Ctx;
use super::{projects, queues, require_admin, ServiceError, ServiceResult};
use crate::domain::{
    ActiveSide, ClusterFailoverInput, ClusterFailoverResult, FailoverInput, FieldError,
    MigrateInput, QueueFilter, QueueView, Rollout, SdkConfig, SkippedQueue, SwitchKind, SwitchView,
};
use crate::server::db::failover::SwitchRow;

use crate::server::db::{now_millis, AuditEvent, Store, StoreError};

/// Whether `actor` may switch the queue: its project's owners and admins may.
pub async fn can_operate(cx: &Ctx, q: &QueueView) -> ServiceResult<bool> {
    if cx.actor.role.is_admin() {
        return Ok(true);
    }
    let project = cx
        .store()
        .project(&q.project)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("project {}", q.project)))?;
    projects::is_owner(cx, &project).await
}

async fn require_operator(cx: &Ctx, q: &QueueView) -> ServiceResult<()> {
    if can_operate(cx, q).await? {
        return Ok(());
    }
    Err(ServiceError::Forbidden(format!(
        "only the owners of project {:?} and admins can switch its queues",
        q.project
    )))
}

async fn cluster_id(store: &dyn Store, name: &str, field: &str) -> ServiceResult<i64> {
    Ok(store
        .cluster(name)
        .await?
        .ok_or_else(|| {
            ServiceError::Invalid(vec![FieldError::new(
                field,
                format!("no cluster is named {name:?}"),
            )])
        })?
        .view
        .id)
}

/// Makes the switch: `side` active, with `primary` and `backup` as the queue's clusters.
async fn switch(
    cx: &Ctx,
    q: &QueueView,
    kind: SwitchKind,
    (side, primary, backup): (ActiveSide, &str, Option<&str>),
    reason: &str,
) -> ServiceResult<SwitchView> {
    let to_cluster = match side {
        ActiveSide::Backup => backup.unwrap_or(primary),
        ActiveSide::Primary => primary,
    };
    let row = SwitchRow {
        queue_id: q.id,
        expected_side: q.active_side.to_string(),
        expected_primary: cluster_id(cx.store(), &q.primary_cluster, "primary_cluster").await?,
        expected_backup: match &q.backup_cluster {
            Some(b) => Some(cluster_id(cx.store(), b, "backup_cluster").await?),
            None => None,
        },
        side: side.to_string(),
        primary_cluster_id: cluster_id(cx.store(), primary, "cluster").await?,
        backup_cluster_id: match backup {
            Some(b) => Some(cluster_id(cx.store(), b, "cluster").await?),
            None => None,
        },
        actor: cx.actor.username.clone(),
        kind: kind.into(),
        from_cluster: q.active_cluster().to_string(),
        to_cluster: to_cluster.to_string(),
        reason: reason.to_string(),
    };
    let target = format!("{}/{}", q.project, q.name);
    let audit = AuditEvent {
        actor: cx.actor.username.clone(),
        action: match kind {
            SwitchKind::Failover => "queue.failover",
            SwitchKind::Failback => "queue.failback",
            SwitchKind::Migration => "queue.migrate",
        },
        target_kind: "queue",
        target: target.clone(),
        summary: format!(
            "{} ({}) → {} ({}){}",
            row.from_cluster,
            q.active_side,
            row.to_cluster,
            side,
            if reason.is_empty() {
                String::new()
            } else {
                format!(": {reason}")
            }
        ),
    };
    let id = cx
        .store()
        .switch_queue(&row, &audit)
        .await
        .map_err(|e| match e {
            StoreError::Stale => ServiceError::Conflict(FieldError::new(
                "to",
                format!("{target} was switched or edited meanwhile; reload and try again"),
            )),
            e => e.into(),
        })?;
    Ok(SwitchView {
        id,
        project: q.project.clone(),
        queue: q.name.clone(),
        at: now_millis(),
        actor: cx.actor.username.clone(),
        kind,
        from_side: q.active_side,
        to_side: side,
        from_cluster: row.from_cluster,
        to_cluster: row.to_cluster,
        reason: reason.to_string(),
    })
}

/// Fails a queue over to its backup (`to: backup`) or back to its primary (`to: primary`).
pub async fn failover(
    cx: &Ctx,
    project: &str,
    queue: &str,
    input: &FailoverInput,
) -> ServiceResult<SwitchView> {
    let q = queues::get(cx.store(), project, queue).await?;
    require_operator(cx, &q).await?;
    let (to, reason) = input.parse()?;
    let Some(backup) = q.backup_cluster.clone() else {
        return Err(vec![FieldError::new(
            "to",
            format!("{project}/{queue} has no backup cluster; bind one first"),
        )]
        .into());
    };
    if to == q.active_side {
        return Err(vec![FieldError::new(
            "to",
            format!(
                "{project}/{queue} is already on its {to} ({})",
                q.active_cluster()
            ),
        )]
        .into());
    }
    let kind = match to {
        ActiveSide::Backup => SwitchKind::Failover,
        ActiveSide::Primary => SwitchKind::Failback,
    };
    let primary = q.primary_cluster.clone();
    switch(cx, &q, kind, (to, &primary, Some(&backup)), &reason).await
}

/// Moves a queue's active side to another cluster (its other side stays bound).
pub async fn migrate(
    cx: &Ctx,
    project: &str,
    queue: &str,
    input: &MigrateInput,
) -> ServiceResult<SwitchView> {
    let q = queues::get(cx.store(), project, queue).await?;
    require_operator(cx, &q).await?;
    let (cluster, reason) = input.parse()?;
    cluster_id(cx.store(), &cluster, "cluster").await?;
    if cluster == q.active_cluster() {
        return Err(vec![FieldError::new(
            "cluster",
            format!("{project}/{queue} is already on {cluster}"),
        )]
        .into());
    }
    let (primary, backup) = match q.active_side {
        ActiveSide::Primary => (cluster.clone(), q.backup_cluster.clone()),
        ActiveSide::Backup => (q.primary_cluster.clone(), Some(cluster.clone())),
    };
    if backup.as_deref() == Some(primary.as_str()) {
        return Err(vec![FieldError::new(
            "cluster",
            format!("{cluster} is already the queue's other side; fail over instead"),
        )]
        .into());
    }
    let mut ids = vec![cluster_id(cx.store(), &primary, "cluster").await?];
    if let Some(b) = &backup {
        ids.push(cluster_id(cx.store(), b, "cluster").await?);
    }
    queues::ensure_topic_free(cx.store(), Some(q.id), &q.topic, &ids).await?;
    switch(
        cx,
        &q,
        SwitchKind::Migration,
        (q.active_side, &primary, backup.as_deref()),
        &reason,
    )
    .await
}

/// Fails every queue active on `cluster` over to its other side (admins only). Queues without
/// a second cluster stay and are listed; each switch is its own transaction and audit entry.
pub async fn cluster_failover(
    cx: &Ctx,
    cluster: &str,
    input: &ClusterFailoverInput,
) -> ServiceResult<ClusterFailoverResult> {
    require_admin(&cx.actor, "fail over a whole cluster")?;
    let reason = input.parse()?;
    cluster_id(cx.store(), cluster, "cluster").await?;
    let mut result = ClusterFailoverResult::default();
    let mut offset = 0;
    loop {
        let page = cx
            .store()
            .list_queues(&QueueFilter {
                cluster: Some(cluster.to_string()),
                offset: Some(offset),
                limit: Some(500),
                ..Default::default()
            })
            .await?;
        let n = page.items.len() as i64;
        for q in page.items {
            if q.active_cluster() != cluster {
                continue;
            }
            let key = format!("{}/{}", q.project, q.name);
            let Some(backup) = q.backup_cluster.clone() else {
                result.skipped.push(SkippedQueue {
                    queue: key,
                    reason: "no backup cluster".into(),
                });
                continue;
            };
            let (to, kind) = match q.active_side {
                ActiveSide::Primary => (ActiveSide::Backup, SwitchKind::Failover),
                ActiveSide::Backup => (ActiveSide::Primary, SwitchKind::Failback),
            };
            let primary = q.primary_cluster.clone();
            match switch(cx, &q, kind, (to, &primary, Some(&backup)), &reason).await {
                Ok(s) => result.switched.push(s),
                Err(e) => result.skipped.push(SkippedQueue {
                    queue: key,
                    reason: e.to_string(),
                }),
            }
        }
        offset += n;
        if n < 500 {
            break;
        }
    }
    Ok(result)
}

/// A queue's switches, newest first.
pub async fn history(
    store: &dyn Store,
    project: &str,
    queue: &str,
) -> ServiceResult<Vec<SwitchView>> {
    let q = queues::get(store, project, queue).await?;
    Ok(store.queue_switches(q.id, 100).await?)
}

/// What the failover use cases need from the SDK control plane: the config clients are told
/// now, and how often they ask. The plane implements it, so this module does not depend on it.
#[async_trait::async_trait]
pub trait ConfigSource: Send + Sync {
    async fn current_config(&self, project: &str, queue: &str) -> ServiceResult<SdkConfig>;
    fn heartbeat_secs(&self) -> u64;
}

/// Which recently heard clients still run an older config of the queue (they switch at their
/// next heartbeat); "recently" is three heartbeat intervals.
pub async fn rollout(
    store: &dyn Store,
    sdk: &dyn ConfigSource,
    project: &str,
    queue: &str,
) -> ServiceResult<Rollout> {
    let q = queues::get(store, project, queue).await?;
    let config = sdk.current_config(project, queue).await?;
    let since = now_millis() - 3 * sdk.heartbeat_secs() as i64 * 1000;
    let clients = store.queue_clients(q.id, 1000).await?;
    let recent = clients
        .into_iter()
        .filter(|c| c.last_seen >= since && !c.config_version.is_empty());
    let (current, behind): (Vec<_>, Vec<_>) =
        recent.partition(|c| c.config_version == config.config_version);
    Ok(Rollout {
        cluster: config.cluster.name,
        config_version: config.config_version,
        current: current.len(),
        behind,
    })
}
