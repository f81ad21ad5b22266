//! Logical queues: data addressed as project + queue, the cluster only an attribute.

use super::Ctx;
use super::{change_summary, projects, ServiceError, ServiceResult};
use crate::domain::{
    default_topic, ActiveSide, ClusterKind, FieldError, Page, QueueFilter, QueueInput, QueueSpec,
    QueueView, UserView,
};
use crate::server::db::{now_millis, Audience, AuditEvent, Notice, QueueRow, Store, StoreError};
use crate::server::kafka::ClusterAgent;

/// Which topic a queue bound to RocketMQ may have.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TopicRule {
    /// A new queue: its default topic is made one RocketMQ accepts.
    New,
    /// Its topic or clusters change: the topic must fit RocketMQ as it is.
    Moved,
    /// Neither changes: it keeps what it has.
    Unchanged,
}

/// Resolves names in a validated queue to the ids it is stored with.
async fn resolve(cx: &Ctx, spec: &QueueSpec, rule: TopicRule) -> ServiceResult<QueueRow> {
    let project = cx
        .store
        .project(spec.project.as_str())
        .await?
        .ok_or_else(|| {
            invalid(
                "project",
                format!("there is no project named {:?}", spec.project.as_str()),
            )
        })?;
    projects::require_member(cx, &project).await?;
    let cluster_id = |field: &'static str, name: &str| {
        let name = name.to_string();
        async move {
            cx.store
                .cluster(&name)
                .await?
                .map(|c| (c.view.id, c.view.kind))
                .ok_or_else(|| invalid(field, format!("there is no cluster named {name:?}")))
        }
    };
    let (primary_cluster_id, primary_kind) =
        cluster_id("primary_cluster", spec.primary_cluster.as_str()).await?;
    let (backup_cluster_id, backup_kind) = match &spec.backup_cluster {
        Some(b) => {
            let (id, kind) = cluster_id("backup_cluster", b.as_str()).await?;
            (Some(id), Some(kind))
        }
        None => (None, None),
    };
    let on_rocketmq =
        primary_kind == ClusterKind::Rocketmq || backup_kind == Some(ClusterKind::Rocketmq);
    let topic = if on_rocketmq && rule != TopicRule::Unchanged {
        rocketmq_topic(spec, rule == TopicRule::New)?
    } else {
        spec.topic.clone()
    };
    if cx.store.user_by_name(&spec.owner).await?.is_none() {
        return Err(invalid(
            "owner",
            format!("there is no user named {:?}", spec.owner),
        ));
    }
    Ok(QueueRow {
        project_id: project.id,
        name: spec.name.to_string(),
        description: spec.description.clone(),
        owner: spec.owner.clone(),
        tags: spec.tags.clone(),
        partitions: spec.partitions,
        retention_hours: spec.retention_hours,
        data_format: spec.data_format.to_string(),
        primary_cluster_id,
        backup_cluster_id,
        active_side: spec.active_side.to_string(),
        topic,
    })
}

/// The topic of a queue bound to a RocketMQ cluster, whose topic names allow only letters,
/// digits, `-`, `_`, `%` and `|`: a new queue's default `project.queue` becomes
/// `project_queue`; a topic the owner chose, or an existing queue's, must already fit.
fn rocketmq_topic(spec: &QueueSpec, new: bool) -> ServiceResult<String> {
    let fits = |t: &str| {
        t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '%' | '|'))
    };
    if fits(&spec.topic) {
        return Ok(spec.topic.clone());
    }
    if new && spec.topic == default_topic(spec.project.as_str(), spec.name.as_str()) {
        return Ok(format!("{}_{}", spec.project, spec.name));
    }
    Err(invalid(
        "topic",
        "must use only letters, digits, '-' and '_' on a RocketMQ cluster".into(),
    ))
}

fn invalid(field: &str, message: String) -> ServiceError {
    ServiceError::Invalid(vec![FieldError::new(field, message)])
}

/// A queue by that name exists in the project already.
fn name_taken(spec: &QueueSpec) -> ServiceError {
    ServiceError::Conflict(FieldError::new(
        "name",
        format!(
            "project {:?} already has a queue named {:?}",
            spec.project.as_str(),
            spec.name.as_str()
        ),
    ))
}

fn conflict(spec: &QueueSpec) -> impl Fn(StoreError) -> ServiceError + '_ {
    move |e| match e {
        StoreError::Conflict(u) if u.is("queues", &["project_id", "name"]) => name_taken(spec),
        e => e.into(),
    }
}

/// Refuses a partition count or retention above the quotas of the clusters the queue is bound
/// to, naming the limit.
async fn check_quotas(store: &dyn Store, row: &QueueRow, spec: &QueueSpec) -> ServiceResult<()> {
    let mut errors = Vec::new();
    let clusters = std::iter::once(spec.primary_cluster.as_str())
        .chain(spec.backup_cluster.as_ref().map(|b| b.as_str()));
    for name in clusters {
        let Some(c) = store.cluster(name).await? else {
            continue;
        };
        if let Some(max) = c.view.max_partitions.filter(|m| row.partitions > *m) {
            errors.push(FieldError::new(
                "partitions",
                format!("cluster {name} allows at most {max} partitions per queue"),
            ));
        }
        if let Some(max) = c
            .view
            .max_retention_hours
            .filter(|m| row.retention_hours > *m)
        {
            errors.push(FieldError::new(
                "retention_hours",
                format!("cluster {name} allows at most {max} hours of retention"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Invalid(errors))
    }
}

/// Refuses a physical topic that already backs another queue on one of these clusters: grants
/// follow the queue, so two queues on one topic would hand one queue's data to the other's
/// readers. Only an admin's import may share a topic.
pub async fn ensure_topic_free(
    store: &dyn Store,
    queue_id: Option<i64>,
    topic: &str,
    cluster_ids: &[i64],
) -> ServiceResult<()> {
    let taken = store
        .queues_on_topic(topic)
        .await?
        .into_iter()
        .find(|u| Some(u.queue_id) != queue_id && cluster_ids.iter().any(|c| u.on(*c)));
    match taken {
        Some(u) => Err(ServiceError::Conflict(FieldError::new(
            "topic",
            format!(
                "topic {topic:?} already backs queue {}/{} on the same cluster",
                u.project, u.queue
            ),
        ))),
        None => Ok(()),
    }
}

/// How long the check for an existing topic waits for a cluster's answer.
const TOPIC_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Refuses, for anyone but admins, a topic that already exists on one of the queue's clusters
/// (or is internal, `_…`): claiming an existing topic as a new queue would make its creator
/// the approver of data that was there before. Admins import existing topics instead. A
/// cluster that cannot be reached in time cannot say, and does not block the change.
async fn ensure_topic_is_new(
    agent: &ClusterAgent,
    actor: &UserView,
    topic: &str,
    clusters: &[&str],
) -> ServiceResult<()> {
    if actor.role.is_admin() {
        return Ok(());
    }
    if topic.starts_with('_') {
        return Err(ServiceError::Forbidden(format!(
            "topic {topic:?} is internal to the cluster; only an admin may bind it"
        )));
    }
    for cluster in clusters {
        let listed = tokio::time::timeout(TOPIC_CHECK_TIMEOUT, agent.topics(cluster)).await;
        if let Ok(Ok(topics)) = listed {
            if topics.iter().any(|(t, _)| t == topic) {
                return Err(ServiceError::Conflict(FieldError::new(
                    "topic",
                    format!(
                        "topic {topic:?} already exists on cluster {cluster}; an admin imports \
                         existing topics as queues"
                    ),
                )));
            }
        }
    }
    Ok(())
}

fn cluster_names(spec: &QueueSpec) -> Vec<&str> {
    std::iter::once(spec.primary_cluster.as_str())
        .chain(spec.backup_cluster.as_ref().map(|b| b.as_str()))
        .collect()
}

fn cluster_ids(row: &QueueRow) -> Vec<i64> {
    std::iter::once(row.primary_cluster_id)
        .chain(row.backup_cluster_id)
        .collect()
}

/// Creates a logical queue in a project the actor belongs to.
pub async fn create(cx: &Ctx, input: &QueueInput) -> ServiceResult<QueueView> {
    let spec = input.parse(&cx.actor.username)?;
    let row = resolve(cx, &spec, TopicRule::New).await?;
    if spec.active_side != ActiveSide::Primary {
        return Err(invalid(
            "active_side",
            "a new queue starts on its primary; fail over once it exists".into(),
        ));
    }
    check_quotas(cx.store(), &row, &spec).await?;
    if cx
        .store()
        .queue(spec.project.as_str(), spec.name.as_str())
        .await?
        .is_some()
    {
        return Err(name_taken(&spec));
    }
    ensure_topic_free(cx.store(), None, &row.topic, &cluster_ids(&row)).await?;
    ensure_topic_is_new(&cx.kafka, &cx.actor, &row.topic, &cluster_names(&spec)).await?;
    let key = format!("{}/{}", spec.project, spec.name);
    let audit = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "queue.create",
        target_kind: "queue",
        target: key,
        summary: change_summary(None, input),
    };
    cx.store
        .create_queue(&row, &audit)
        .await
        .map_err(conflict(&spec))?;
    get(cx.store(), spec.project.as_str(), spec.name.as_str()).await
}

/// Edits a queue. Members edit its description, owner, tags, partitions, retention and
/// format; its topic, clusters and project (its data path) and removing the sensitive tag are
/// for the project's owners and admins; the active side changes only by failover or
/// migration. A data-path change is audited as `queue.rebind` and told to the owners of the
/// applications holding grants on it.
pub async fn update(
    cx: &Ctx,
    project: &str,
    name: &str,
    input: &QueueInput,
) -> ServiceResult<QueueView> {
    let before = get(cx.store(), project, name).await?;
    let current = cx
        .store()
        .project(project)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("project {project:?}")))?;
    projects::require_member(cx, &current).await?;
    let spec = input.parse(&before.owner)?;
    if spec.active_side != before.active_side {
        return Err(invalid(
            "active_side",
            "changes only by failover or migration, which keep the switch history".into(),
        ));
    }
    let moved = spec.topic != before.topic
        || spec.primary_cluster.as_str() != before.primary_cluster
        || spec.backup_cluster.as_ref().map(|b| b.as_str()) != before.backup_cluster.as_deref()
        || spec.project.as_str() != before.project;
    let untagged = before.tags.iter().any(|t| t == &cx.sensitive_tag)
        && !spec.tags.iter().any(|t| t == &cx.sensitive_tag);
    // Only owners change where its data lives or drop its sensitive tag.
    if (moved || untagged) && !projects::is_owner(cx, &current).await? {
        let what = if moved {
            "its topic, clusters or project"
        } else {
            "its sensitive tag"
        };
        return Err(ServiceError::Forbidden(format!(
            "only the owners of project {project:?} and admins can change {what}"
        )));
    }
    let rule = if moved {
        TopicRule::Moved
    } else {
        TopicRule::Unchanged
    };
    let row = resolve(cx, &spec, rule).await?;
    check_quotas(cx.store(), &row, &spec).await?;
    if moved {
        ensure_topic_free(cx.store(), Some(before.id), &row.topic, &cluster_ids(&row)).await?;
        // Only the clusters (or topic) that are new to this queue can hold someone else's data.
        let was_on =
            |c: &str| c == before.primary_cluster || Some(c) == before.backup_cluster.as_deref();
        let new_clusters: Vec<&str> = cluster_names(&spec)
            .into_iter()
            .filter(|c| spec.topic != before.topic || !was_on(c))
            .collect();
        ensure_topic_is_new(&cx.kafka, &cx.actor, &row.topic, &new_clusters).await?;
    }
    let target = format!("{}/{}", spec.project, spec.name);
    let summary = change_summary(Some(&before.to_input()), input);
    let audit = AuditEvent {
        actor: cx.actor.username.clone(),
        action: if moved {
            "queue.rebind"
        } else {
            "queue.update"
        },
        target_kind: "queue",
        target: target.clone(),
        summary: summary.clone(),
    };
    cx.store
        .update_queue(before.id, &row, &audit)
        .await
        .map_err(conflict(&spec))?;
    if moved {
        tell_grant_holders(cx, &before, &target, &summary).await?;
    }
    get(cx.store(), spec.project.as_str(), spec.name.as_str()).await
}

/// Tells the owners of applications with live grants on a queue that its data path changed.
async fn tell_grant_holders(
    cx: &Ctx,
    before: &QueueView,
    target: &str,
    summary: &str,
) -> ServiceResult<()> {
    let owners = cx
        .store
        .grant_holder_owners(before.id, now_millis())
        .await?;
    let notice = Notice {
        event: "queue.rebound",
        message: format!("{target}: where its data lives changed ({summary})"),
        link: format!("/queues/{target}"),
        audience: owners.into_iter().map(Audience::User).collect(),
        except: Some(cx.actor.username.clone()),
        webhook_projects: vec![before.project.clone()],
        payload: serde_json::json!({
            "event": "queue.rebound", "occurred_at": now_millis(), "actor": cx.actor.username,
            "queue": target, "changes": summary,
        }),
    };
    let audit = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "queue.rebind_notice",
        target_kind: "queue",
        target: target.to_string(),
        summary: "grant holders' application owners told".into(),
    };
    Ok(cx.store.notify(&notice, &audit).await?)
}

/// The changes to where a queue's data lives (`queue.rebind` audit entries), newest first.
pub async fn data_path_changes(
    store: &dyn Store,
    project: &str,
    name: &str,
) -> ServiceResult<Vec<crate::domain::AuditEntry>> {
    let target = format!("{project}/{name}");
    let filter = crate::domain::AuditFilter {
        action: Some("queue.rebind".into()),
        target_kind: Some("queue".into()),
        target: Some(target.clone()),
        limit: Some(50),
        ..Default::default()
    };
    Ok(store
        .list_audit(&filter)
        .await?
        .items
        .into_iter()
        .filter(|e| e.target == target)
        .collect())
}

/// One queue by project and name.
pub async fn get(store: &dyn Store, project: &str, name: &str) -> ServiceResult<QueueView> {
    store
        .queue(project, name)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("queue {project}/{name}")))
}

/// A page of queues, filtered.
pub async fn list(store: &dyn Store, filter: &QueueFilter) -> ServiceResult<Page<QueueView>> {
    Ok(store.list_queues(filter).await?)
}
