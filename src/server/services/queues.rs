//! Logical queues: data addressed as project + queue, the cluster only an attribute.

use super::{change_summary, projects, ServiceError, ServiceResult};
use crate::domain::{FieldError, Page, QueueFilter, QueueInput, QueueSpec, QueueView, UserView};
use crate::server::db::{AuditEvent, QueueRow, Store, StoreError};

/// Resolves names in a validated queue to the ids it is stored with.
async fn resolve(store: &dyn Store, actor: &UserView, spec: &QueueSpec) -> ServiceResult<QueueRow> {
    let project = store.project(spec.project.as_str()).await?.ok_or_else(|| {
        invalid(
            "project",
            format!("there is no project named {:?}", spec.project.as_str()),
        )
    })?;
    projects::require_member(store, actor, &project).await?;
    let cluster_id = |field: &'static str, name: &str| {
        let name = name.to_string();
        async move {
            store
                .cluster(&name)
                .await?
                .map(|c| c.view.id)
                .ok_or_else(|| invalid(field, format!("there is no cluster named {name:?}")))
        }
    };
    let primary_cluster_id = cluster_id("primary_cluster", spec.primary_cluster.as_str()).await?;
    let backup_cluster_id = match &spec.backup_cluster {
        Some(b) => Some(cluster_id("backup_cluster", b.as_str()).await?),
        None => None,
    };
    if store.user_by_name(&spec.owner).await?.is_none() {
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
        topic: spec.topic.clone(),
    })
}

fn invalid(field: &str, message: String) -> ServiceError {
    ServiceError::Invalid(vec![FieldError::new(field, message)])
}

fn conflict(spec: &QueueSpec) -> impl Fn(StoreError) -> ServiceError + '_ {
    move |e| match e {
        StoreError::Conflict => ServiceError::Conflict(FieldError::new(
            "name",
            format!(
                "project {:?} already has a queue named {:?}",
                spec.project.as_str(),
                spec.name.as_str()
            ),
        )),
        e => e.into(),
    }
}

/// Creates a logical queue in a project the actor belongs to.
pub async fn create(
    store: &dyn Store,
    actor: &UserView,
    input: &QueueInput,
) -> ServiceResult<QueueView> {
    let spec = input.parse(&actor.username)?;
    let row = resolve(store, actor, &spec).await?;
    let key = format!("{}/{}", spec.project, spec.name);
    let audit = AuditEvent {
        actor: actor.username.clone(),
        action: "queue.create",
        target_kind: "queue",
        target: key,
        summary: change_summary(None, input),
    };
    store
        .create_queue(&row, &audit)
        .await
        .map_err(conflict(&spec))?;
    get(store, spec.project.as_str(), spec.name.as_str()).await
}

/// Edits a queue; moving it to another project needs membership of both.
pub async fn update(
    store: &dyn Store,
    actor: &UserView,
    project: &str,
    name: &str,
    input: &QueueInput,
) -> ServiceResult<QueueView> {
    let before = get(store, project, name).await?;
    let current = store
        .project(project)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("project {project:?}")))?;
    projects::require_member(store, actor, &current).await?;
    let spec = input.parse(&before.owner)?;
    let row = resolve(store, actor, &spec).await?;
    let audit = AuditEvent {
        actor: actor.username.clone(),
        action: "queue.update",
        target_kind: "queue",
        target: format!("{}/{}", spec.project, spec.name),
        summary: change_summary(Some(&before.to_input()), input),
    };
    store
        .update_queue(before.id, &row, &audit)
        .await
        .map_err(conflict(&spec))?;
    get(store, spec.project.as_str(), spec.name.as_str()).await
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
