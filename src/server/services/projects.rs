//! Projects: the unit of ownership for queues.

use super::Ctx;
use super::{change_summary, require_writer, ServiceError, ServiceResult};
use crate::domain::{FieldError, ProjectInput, ProjectPeopleInput, ProjectView, UserView};
use crate::server::db::{AuditEvent, ProjectRow, Store, StoreError};

/// Resolves user names to ids, naming the field when one does not exist.
async fn user_ids(store: &dyn Store, field: &str, names: &[String]) -> ServiceResult<Vec<i64>> {
    let found = store.users_by_names(names).await?;
    if let Some(missing) = names
        .iter()
        .find(|n| !found.iter().any(|u| &u.username == *n))
    {
        return Err(vec![FieldError::new(
            field,
            format!("there is no user named {missing:?}"),
        )]
        .into());
    }
    Ok(found.into_iter().map(|u| u.id).collect())
}

/// Creates a project; the creator is always one of its owners.
pub async fn create(cx: &Ctx, input: &ProjectInput) -> ServiceResult<ProjectView> {
    require_writer(&cx.actor)?;
    let mut spec = input.parse()?;
    if !spec.owners.contains(&cx.actor.username) {
        spec.owners.insert(0, cx.actor.username.clone());
    }
    let row = ProjectRow {
        name: spec.name.to_string(),
        description: spec.description.clone(),
        owner_ids: user_ids(cx.store(), "owners", &spec.owners).await?,
        member_ids: user_ids(cx.store(), "members", &spec.members).await?,
    };
    let audit = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "project.create",
        target_kind: "project",
        target: row.name.clone(),
        summary: change_summary(
            None,
            &serde_json::json!({"description": row.description, "owners": spec.owners, "members": spec.members}),
        ),
    };
    cx.store
        .create_project(&row, &audit)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ServiceError::Conflict(FieldError::new(
                "name",
                format!("a project named {:?} already exists", row.name),
            )),
            e => e.into(),
        })?;
    get(cx.store(), &row.name).await
}

/// Every project, by name.
pub async fn list(store: &dyn Store) -> ServiceResult<Vec<ProjectView>> {
    Ok(store.list_projects().await?)
}

/// Every project as `actor` may see it: a webhook's URL only for its project's owners and admins.
pub async fn list_for(cx: &Ctx) -> ServiceResult<Vec<ProjectView>> {
    let mut all = cx.store.list_projects().await?;
    all.iter_mut().for_each(|p| hide_webhook(&cx.actor, p));
    Ok(all)
}

/// Drops the webhook URL unless `actor` owns the project or is an admin.
fn hide_webhook(actor: &UserView, p: &mut ProjectView) {
    if !actor.role.is_admin() && !p.owners.contains(&actor.username) {
        p.webhook_url = None;
    }
}

/// One project as `actor` may see it (see [`list_for`]).
pub async fn get_for(cx: &Ctx, name: &str) -> ServiceResult<ProjectView> {
    let mut p = get(cx.store(), name).await?;
    hide_webhook(&cx.actor, &mut p);
    Ok(p)
}

/// Whether `actor` may act as an owner of `project`: its owners and admins (never a viewer).
/// Owners change where its queues' data lives, decide access, switch and manage its people.
pub async fn is_owner(cx: &Ctx, project: &ProjectView) -> ServiceResult<bool> {
    if cx.actor.role.is_admin() {
        return Ok(true);
    }
    Ok(cx.actor.role.can_write()
        && cx
            .store
            .project_role(project.id, cx.actor.id)
            .await?
            .as_deref()
            == Some("owner"))
}

/// Lets the project's own applications read and write its queues without an access request,
/// or requires requests of them like of anyone (its owners and admins).
pub async fn set_own_apps_access(
    cx: &Ctx,
    name: &str,
    enabled: bool,
) -> ServiceResult<ProjectView> {
    let before = get(cx.store(), name).await?;
    require_writer(&cx.actor)?;
    if !is_owner(cx, &before).await? {
        return Err(ServiceError::Forbidden(format!(
            "only owners of project {name:?} decide how its own applications reach its queues"
        )));
    }
    let audit = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "project.own_apps_access",
        target_kind: "project",
        target: before.name.clone(),
        summary: format!(
            "{} → {}",
            if before.own_apps_access { "on" } else { "off" },
            if enabled { "on" } else { "off" }
        ),
    };
    cx.store
        .set_own_apps_access(before.id, enabled, &audit)
        .await?;
    get_for(cx, name).await
}

/// Replaces a project's owners and members (its owners and admins). At least one owner stays.
pub async fn set_people(
    cx: &Ctx,
    name: &str,
    input: &ProjectPeopleInput,
) -> ServiceResult<ProjectView> {
    let before = get(cx.store(), name).await?;
    require_writer(&cx.actor)?;
    if !is_owner(cx, &before).await? {
        return Err(ServiceError::Forbidden(format!(
            "only owners of project {name:?} and admins manage its people"
        )));
    }
    let (owners, members) = input.parse()?;
    let owner_ids = user_ids(cx.store(), "owners", &owners).await?;
    let member_ids = user_ids(cx.store(), "members", &members).await?;
    let audit = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "project.people",
        target_kind: "project",
        target: before.name.clone(),
        summary: format!(
            "owners: {:?} → {owners:?}; members: {:?} → {members:?}",
            before.owners, before.members
        ),
    };
    cx.store
        .set_project_people(before.id, &owner_ids, &member_ids, &audit)
        .await?;
    get_for(cx, name).await
}

/// One project by name.
pub async fn get(store: &dyn Store, name: &str) -> ServiceResult<ProjectView> {
    store
        .project(name)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("project {name:?}")))
}

/// Admins, and owners and members of the project, may change its queues.
pub async fn require_member(cx: &Ctx, project: &ProjectView) -> ServiceResult<()> {
    require_writer(&cx.actor)?;
    if cx.actor.role.is_admin()
        || cx
            .store
            .project_role(project.id, cx.actor.id)
            .await?
            .is_some()
    {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(format!(
            "only owners and members of project {:?} can change its queues",
            project.name
        )))
    }
}
