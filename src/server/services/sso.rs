//! Signing in with the identity provider: starting a sign-in, finishing it (the user created
//! on first sign-in, their role and project places applied from their groups every time, all
//! audited), signing out at the provider too, and the periodic check that ends the access of
//! users the provider no longer lets in.

use super::accounts::{random_token, token_hash, SESSION_DAYS};
use super::{ServiceError, ServiceResult};
use crate::domain::{AuditFilter, Role, UserView};
use crate::server::db::sso::{SsoAccount, SsoLogin};
use crate::server::db::{now_millis, AuditEvent, Store};
use crate::server::sso::mapping::Place;
use crate::server::sso::{Checked, Profile, Sso, SsoError};
use crate::server::state::AppState;
use std::collections::BTreeSet;

/// How long a begun sign-in may take at the provider.
pub const LOGIN_TTL_MS: i64 = 10 * 60_000;
/// The cookie binding a sign-in in flight to the browser that began it.
pub const STATE_COOKIE: &str = "watershed_sso_state";
/// Who the audit log names for what the mapping changes.
const ACTOR: &str = "sso";

/// Who may sign in with a password when single sign-on is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LocalSignIn {
    /// Every local account (small installs, or while moving to single sign-on).
    #[default]
    Everyone,
    /// Administrators only: the break-glass account.
    Admins,
}

impl LocalSignIn {
    /// `everyone` or `admins`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_lowercase().as_str() {
            "everyone" | "all" => Ok(Self::Everyone),
            "admins" => Ok(Self::Admins),
            other => Err(format!("{other:?} is not everyone or admins")),
        }
    }
}

fn configured(state: &AppState) -> ServiceResult<&Sso> {
    state
        .sso
        .as_deref()
        .ok_or_else(|| ServiceError::Unavailable("single sign-on is not configured".into()))
}

/// A path on this site to return to; anything else (another host, `//host`) goes home.
pub fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    if ok && next.len() <= 2000 {
        next.to_string()
    } else {
        "/".to_string()
    }
}

/// Starts a sign-in: returns the provider's URL to send the browser to and the state for the
/// browser's cookie.
pub async fn begin(state: &AppState, next: &str) -> ServiceResult<(String, String)> {
    let sso = configured(state)?;
    let begun = sso
        .begin()
        .await
        .map_err(|e| ServiceError::Unavailable(e.to_string()))?;
    let now = now_millis();
    let login = SsoLogin {
        state_hash: token_hash(&begun.state),
        nonce: begun.nonce,
        verifier_enc: state.secrets.seal(&begun.pkce_verifier),
        next_path: safe_next(next),
        created_at: now,
    };
    state
        .store
        .begin_sso_login(&login, now - LOGIN_TTL_MS)
        .await?;
    Ok((begun.authorize_url, begun.state))
}

/// What the provider sent the browser back with.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A finished sign-in.
pub struct SignedIn {
    pub session_token: String,
    pub next: String,
    pub user: UserView,
}

/// Finishes a sign-in: the state taken once and matched to the browser's cookie, the code
/// exchanged with its PKCE verifier, the ID token checked, the user created or updated from
/// their groups, a session opened. Every refusal is audited with its reason.
pub async fn finish(
    state: &AppState,
    callback: &Callback,
    cookie_state: Option<&str>,
    client_ip: std::net::IpAddr,
) -> Result<SignedIn, SsoError> {
    let outcome = finish_inner(state, callback, cookie_state, client_ip).await;
    if let Err(e) = &outcome {
        let audit = AuditEvent {
            actor: ACTOR.into(),
            action: "user.sign_in_failed",
            target_kind: "user",
            target: String::new(),
            summary: format!("single sign-on: {e}; from {client_ip}"),
        };
        if let Err(err) = state.store.record_audit(&audit).await {
            tracing::error!(error = %err, "a failed single sign-on was not audited");
        }
    }
    outcome
}

async fn finish_inner(
    state: &AppState,
    callback: &Callback,
    cookie_state: Option<&str>,
    client_ip: std::net::IpAddr,
) -> Result<SignedIn, SsoError> {
    let sso = state
        .sso
        .as_deref()
        .ok_or_else(|| SsoError::Refused("single sign-on is not configured".into()))?;
    if let Some(error) = &callback.error {
        let why = callback.error_description.as_deref().unwrap_or(error);
        return Err(SsoError::Provider(why.to_string()));
    }
    let returned = callback.state.as_deref().unwrap_or_default();
    let store = state.store.as_ref();
    let login = store
        .take_sso_login(&token_hash(returned))
        .await
        .map_err(internal)?
        .filter(|l| now_millis() - l.created_at <= LOGIN_TTL_MS)
        .ok_or(SsoError::UnknownState)?;
    if cookie_state != Some(returned) {
        return Err(SsoError::StateMismatch);
    }
    let code = callback
        .code
        .as_deref()
        .ok_or_else(|| SsoError::Provider("no code came back".into()))?;
    let verifier = state
        .secrets
        .open(&login.verifier_enc)
        .map_err(|e| internal(anyhow::anyhow!("{e}")))?;
    let exchanged = sso
        .exchange(code, &verifier, &login.nonce, chrono::Utc::now())
        .await?;
    let profile = sso.settings.profile(&exchanged.claims)?;
    let refresh = exchanged
        .refresh_token
        .as_deref()
        .map(|t| state.secrets.seal(t));
    let user = apply(state, sso, &profile, refresh).await?;
    let token = random_token();
    let now = now_millis();
    store
        .create_sso_session(
            &token_hash(&token),
            user.id,
            now,
            now + SESSION_DAYS * 86_400_000,
            &exchanged.id_token,
        )
        .await
        .map_err(internal)?;
    store
        .record_audit(&AuditEvent {
            actor: user.username.clone(),
            action: "user.sign_in",
            target_kind: "user",
            target: user.username.clone(),
            summary: format!(
                "with {} from {client_ip}; groups {:?}",
                sso.settings.provider_name, profile.groups
            ),
        })
        .await
        .map_err(internal)?;
    Ok(SignedIn {
        session_token: token,
        next: login.next_path,
        user,
    })
}

fn internal(e: impl std::fmt::Display) -> SsoError {
    tracing::error!(error = %e, "single sign-on failed on the server");
    SsoError::Refused("the server could not finish the sign-in; try again".into())
}

/// Creates or updates the user a profile names and applies their groups: role, then project
/// places (those the mapping gave and the groups no longer give are taken back; places owners
/// gave by hand stay). Each change is audited as the mapping's.
pub async fn apply(
    state: &AppState,
    sso: &Sso,
    profile: &Profile,
    refresh_enc: Option<String>,
) -> Result<UserView, SsoError> {
    let store = state.store.as_ref();
    let mapped = sso
        .settings
        .mapping
        .apply(&profile.groups)
        .ok_or(SsoError::NoRole)?;
    let groups = format!("{:?}", profile.groups);
    let linked = store
        .sso_account(&profile.issuer, &profile.subject)
        .await
        .map_err(internal)?;
    let user = match &linked {
        Some(a) => store
            .user_by_name(&a.username)
            .await
            .map_err(internal)?
            .ok_or_else(|| internal("a linked account without its user"))?,
        None => {
            if store
                .user_by_name(&profile.username)
                .await
                .map_err(internal)?
                .is_some()
            {
                return Err(SsoError::Refused(format!(
                    "a local account named {:?} already exists here; an administrator must \
                     rename it before {0:?} can sign in with {1}",
                    profile.username, sso.settings.provider_name
                )));
            }
            let audit = AuditEvent {
                actor: ACTOR.into(),
                action: "user.create",
                target_kind: "user",
                target: profile.username.clone(),
                summary: format!(
                    "first sign-in with {}; role {} from groups {groups}",
                    sso.settings.provider_name, mapped.role
                ),
            };
            // An empty hash never verifies: the account has no password.
            store
                .create_user(&profile.username, "", mapped.role, &audit)
                .await
                .map_err(internal)?;
            store
                .user_by_name(&profile.username)
                .await
                .map_err(internal)?
                .ok_or_else(|| internal("a created user is gone"))?
        }
    };
    if user.disabled_at.is_some() {
        return Err(SsoError::Refused(format!(
            "the account {:?} is disabled here; ask an administrator",
            user.username
        )));
    }
    let mut view = user.view().map_err(internal)?;
    if view.role != mapped.role {
        let audit = AuditEvent {
            actor: ACTOR.into(),
            action: "user.set_role",
            target_kind: "user",
            target: view.username.clone(),
            summary: format!("role: {} → {} from groups {groups}", view.role, mapped.role),
        };
        store
            .set_role(view.id, mapped.role, &audit)
            .await
            .map_err(internal)?;
        view.role = mapped.role;
    }
    apply_places(store, &view, &mapped.places, &groups).await?;
    let now = now_millis();
    store
        .save_sso_account(&SsoAccount {
            user_id: view.id,
            username: view.username.clone(),
            issuer: profile.issuer.clone(),
            subject: profile.subject.clone(),
            email: profile.email.clone(),
            display_name: profile.display_name.clone(),
            groups: serde_json::to_string(&profile.groups).unwrap_or_default(),
            refresh_enc,
            signed_in_at: now,
            checked_at: now,
        })
        .await
        .map_err(internal)?;
    Ok(view)
}

async fn apply_places(
    store: &dyn Store,
    user: &UserView,
    wanted: &[(String, Place)],
    groups: &str,
) -> Result<(), SsoError> {
    let projects = store.list_projects().await.map_err(internal)?;
    let given = store.sso_places(user.id).await.map_err(internal)?;
    let mut now_given: Vec<(i64, String)> = Vec::new();
    let touched: BTreeSet<i64> = given
        .iter()
        .map(|(id, _)| *id)
        .chain(
            wanted
                .iter()
                .filter_map(|(name, _)| projects.iter().find(|p| &p.name == name).map(|p| p.id)),
        )
        .collect();
    for project in projects.iter().filter(|p| touched.contains(&p.id)) {
        let want = wanted
            .iter()
            .find(|(name, _)| *name == project.name)
            .map(|(_, place)| *place);
        let was_given = given.iter().any(|(id, _)| *id == project.id);
        let mut owners = project.owners.clone();
        let mut members = project.members.clone();
        let me = &user.username;
        match want {
            Some(place) => {
                owners.retain(|n| n != me);
                members.retain(|n| n != me);
                match place {
                    Place::Owner => owners.push(me.clone()),
                    Place::Member => members.push(me.clone()),
                }
                now_given.push((project.id, place.as_str().to_string()));
            }
            None if was_given => {
                owners.retain(|n| n != me);
                members.retain(|n| n != me);
            }
            None => continue,
        }
        if owners == project.owners && members == project.members {
            continue;
        }
        let ids = |names: &[String]| {
            let names = names.to_vec();
            async move {
                store
                    .users_by_names(&names)
                    .await
                    .map(|us| us.into_iter().map(|u| u.id).collect::<Vec<_>>())
            }
        };
        let audit = AuditEvent {
            actor: ACTOR.into(),
            action: "project.people",
            target_kind: "project",
            target: project.name.clone(),
            summary: format!(
                "{me}: {} from groups {groups}; owners: {:?} → {owners:?}; members: {:?} → {members:?}",
                want.map_or("no place", Place::as_str),
                project.owners,
                project.members
            ),
        };
        let owner_ids = ids(&owners).await.map_err(internal)?;
        let member_ids = ids(&members).await.map_err(internal)?;
        store
            .set_project_people(project.id, &owner_ids, &member_ids, &audit)
            .await
            .map_err(internal)?;
    }
    store
        .set_sso_places(user.id, &now_given)
        .await
        .map_err(internal)
}

/// The provider's sign-out URL for the session being ended, when single sign-on is configured,
/// the session came from it and the provider offers RP-initiated logout.
pub async fn logout_url(state: &AppState, session_token: &str) -> Option<String> {
    let sso = state.sso.as_deref()?;
    let id_token = state
        .store
        .session_id_token(&token_hash(session_token))
        .await
        .ok()??;
    sso.logout_url(Some(&id_token)).await
}

/// Records the group mapping in the audit log when it differs from the one recorded last.
pub async fn record_mapping(store: &dyn Store, sso: &Sso) -> ServiceResult<()> {
    let summary = format!(
        "{} ({}): {}",
        sso.settings.provider_name,
        sso.settings.issuer,
        sso.settings.mapping.describe()
    );
    let last = store
        .list_audit(&AuditFilter {
            action: Some("sso.mapping".into()),
            limit: Some(1),
            ..Default::default()
        })
        .await?;
    if last.items.first().map(|e| e.summary.as_str()) == Some(summary.as_str()) {
        return Ok(());
    }
    store
        .record_audit(&AuditEvent {
            actor: "system".into(),
            action: "sso.mapping",
            target_kind: "sso",
            target: sso.settings.issuer.clone(),
            summary,
        })
        .await?;
    Ok(())
}

/// Checks the users due with the provider (their refresh token): those it no longer lets in
/// lose their sessions and personal tokens, audited. Returns how many were refused.
pub async fn check_due(state: &AppState, sso: &Sso) -> ServiceResult<usize> {
    let now = now_millis();
    let every = sso.settings.check_every.as_millis() as i64;
    let due = state.store.sso_accounts_due(now - every, 100).await?;
    let mut refused = 0;
    for mut account in due {
        let Some(sealed) = account.refresh_enc.clone() else {
            continue;
        };
        let Ok(refresh) = state.secrets.open(&sealed) else {
            tracing::warn!(user = %account.username, "a sealed refresh token did not open");
            continue;
        };
        account.checked_at = now;
        match sso.check_user(&refresh, chrono::Utc::now()).await {
            Ok(Checked::Allowed { refresh_token, .. }) => {
                if let Some(t) = refresh_token {
                    account.refresh_enc = Some(state.secrets.seal(&t));
                }
            }
            Ok(Checked::Refused(why)) => {
                let audit = AuditEvent {
                    actor: ACTOR.into(),
                    action: "user.sso_refused",
                    target_kind: "user",
                    target: account.username.clone(),
                    summary: format!(
                        "{} no longer lets {} in ({why}); sessions ended and personal tokens revoked",
                        sso.settings.provider_name, account.username
                    ),
                };
                state
                    .store
                    .end_user_access(account.user_id, now, &audit)
                    .await?;
                account.refresh_enc = None;
                refused += 1;
            }
            Err(e) => {
                tracing::warn!(user = %account.username, error = %e, "single sign-on check failed; tried again later");
            }
        }
        state.store.save_sso_account(&account).await?;
    }
    Ok(refused)
}

/// Checks the users due with the provider every minute, for as long as the process runs.
pub async fn check_forever(state: AppState) {
    let Some(sso) = state.sso.clone() else {
        return;
    };
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        match check_due(&state, &sso).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(refused = n, "single sign-on users no longer let in"),
            Err(e) => tracing::warn!(error = %e, "single sign-on check failed"),
        }
    }
}

/// Whether a local (password) sign-in by a user with `role` is allowed.
pub fn local_allowed(state: &AppState, role: Role) -> Result<(), ServiceError> {
    match (state.sso.as_deref(), state.local_sign_in) {
        (Some(sso), LocalSignIn::Admins) if role != Role::Admin => {
            Err(ServiceError::Forbidden(format!(
                "password sign-in is for administrators here; sign in with {}",
                sso.settings.provider_name
            )))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_returned_to() {
        assert_eq!(
            safe_next("/queues/shop/orders?x=1"),
            "/queues/shop/orders?x=1"
        );
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
    }

    #[test]
    fn local_sign_in_is_everyone_or_admins() {
        assert_eq!(LocalSignIn::parse("Admins"), Ok(LocalSignIn::Admins));
        assert_eq!(LocalSignIn::parse("everyone"), Ok(LocalSignIn::Everyone));
        assert!(LocalSignIn::parse("nobody").unwrap_err().contains("nobody"));
    }
}
