//! What each access event tells people: console notifications and the webhook payload.
//!
//! New requests go to the queue's approvers; decisions to the requester and the application's
//! owner; a sensitive queue's owner approval to the admins; expiry and its reminder to the
//! requester, the application's owner and the owners of both projects; a request waiting long
//! reminds whoever takes its next decision, once a day. Webhooks go to the
//! queue's project and the application's project.

use crate::domain::{format_millis, AccessRequestView, GrantView, RequestStatus, Role};
use crate::server::db::{now_millis, Audience, Notice};
use serde_json::json;

fn request_json(r: &AccessRequestView) -> serde_json::Value {
    json!({
        "id": r.id,
        "application": format!("{}/{}", r.project, r.application),
        "queue": format!("{}/{}", r.queue_project, r.queue),
        "permission": r.permission,
        "reason": r.reason,
        "duration_days": r.duration_days,
        "requester": r.requester,
        "status": r.status,
        "link": format!("/requests/{}", r.id),
    })
}

fn grant_json(g: &GrantView) -> serde_json::Value {
    json!({
        "id": g.id,
        "application": format!("{}/{}", g.project, g.application),
        "queue": format!("{}/{}", g.queue_project, g.queue),
        "permission": g.permission,
        "request_id": g.request_id,
        "expires_at": g.expires_at,
        "link": format!("/applications/{}/{}", g.project, g.application),
    })
}

fn envelope(event: &str, actor: &str, key: &str, body: serde_json::Value) -> serde_json::Value {
    let mut v = json!({ "event": event, "occurred_at": now_millis(), "actor": actor });
    v[key] = body;
    v
}

/// A request was made: its first approvers are told.
pub fn created(r: &AccessRequestView) -> Notice {
    let event = "access_request.created";
    Notice {
        event,
        message: format!(
            "{} asks for {} on {}/{} for {}/{}",
            r.requester, r.permission, r.queue_project, r.queue, r.project, r.application
        ),
        link: format!("/requests/{}", r.id),
        audience: vec![
            Audience::ProjectOwners(r.queue_project.clone()),
            Audience::Role(Role::Approver),
        ],
        except: Some(r.requester.clone()),
        webhook_projects: vec![r.queue_project.clone(), r.project.clone()],
        payload: envelope(event, &r.requester, "request", request_json(r)),
    }
}

/// A request moved to `to` by `actor`'s decision or cancellation.
pub fn decided(r: &AccessRequestView, to: RequestStatus, actor: &str, comment: &str) -> Notice {
    let (event, what) = match to {
        RequestStatus::OwnerApproved => (
            "access_request.owner_approved",
            "approved; an admin's approval is still needed",
        ),
        RequestStatus::Approved => ("access_request.approved", "approved and granted"),
        RequestStatus::Rejected => ("access_request.rejected", "rejected"),
        _ => ("access_request.cancelled", "cancelled"),
    };
    let mut audience = vec![Audience::RequestParties(r.id)];
    match to {
        RequestStatus::OwnerApproved => audience.push(Audience::Role(Role::Admin)),
        RequestStatus::Cancelled => audience.push(Audience::ProjectOwners(r.queue_project.clone())),
        _ => {}
    }
    let mut after = r.clone();
    after.status = to;
    let mut payload = envelope(event, actor, "request", request_json(&after));
    payload["comment"] = json!(comment);
    Notice {
        event,
        message: format!(
            "{actor} {what}: {} on {}/{} for {}/{}{}",
            r.permission,
            r.queue_project,
            r.queue,
            r.project,
            r.application,
            if comment.is_empty() {
                String::new()
            } else {
                format!(" ({comment})")
            }
        ),
        link: format!("/requests/{}", r.id),
        audience,
        except: Some(actor.to_string()),
        webhook_projects: vec![r.queue_project.clone(), r.project.clone()],
        payload,
    }
}

/// A request has waited long: the people who can take its next decision are reminded.
pub fn waiting(r: &AccessRequestView, now: i64) -> Notice {
    let event = "access_request.reminder";
    let waited = crate::domain::waited(r.created_at, now);
    let audience = if r.status == RequestStatus::OwnerApproved {
        vec![Audience::Role(Role::Admin)]
    } else {
        vec![
            Audience::ProjectOwners(r.queue_project.clone()),
            Audience::Role(Role::Approver),
        ]
    };
    let mut payload = envelope(event, "system", "request", request_json(r));
    payload["waited_ms"] = json!(now - r.created_at);
    Notice {
        event,
        message: format!(
            "Waiting {waited} for a decision: {} asks for {} on {}/{} for {}/{}",
            r.requester, r.permission, r.queue_project, r.queue, r.project, r.application
        ),
        link: format!("/requests/{}", r.id),
        audience,
        except: Some(r.requester.clone()),
        webhook_projects: vec![r.queue_project.clone(), r.project.clone()],
        payload,
    }
}

fn grant_notice(g: &GrantView, event: &'static str, actor: &str, what: String) -> Notice {
    Notice {
        event,
        message: format!(
            "{}/{}'s {} grant on {}/{} {what}",
            g.project, g.application, g.permission, g.queue_project, g.queue
        ),
        link: format!("/requests/{}", g.request_id),
        audience: vec![
            Audience::RequestParties(g.request_id),
            Audience::ProjectOwners(g.project.clone()),
            Audience::ProjectOwners(g.queue_project.clone()),
        ],
        except: Some(actor.to_string()),
        webhook_projects: vec![g.queue_project.clone(), g.project.clone()],
        payload: envelope(event, actor, "grant", grant_json(g)),
    }
}

/// A grant was revoked by `actor`.
pub fn revoked(g: &GrantView, actor: &str) -> Notice {
    grant_notice(g, "grant.revoked", actor, format!("was revoked by {actor}"))
}

/// A grant reached its expiry.
pub fn expired(g: &GrantView) -> Notice {
    grant_notice(g, "grant.expired", "system", "has expired".into())
}

/// A grant expires within seven days.
pub fn expiring(g: &GrantView) -> Notice {
    let when = g.expires_at.map(format_millis).unwrap_or_default();
    grant_notice(
        g,
        "grant.expiring",
        "system",
        format!("expires {when}: ask again to keep access"),
    )
}
