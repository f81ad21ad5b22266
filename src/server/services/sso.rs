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

/// A path on this site to return to: resolved against this site and kept only if it stays
/// here, as its path and query; anything else (another host, `//host`, `/\thost`, control
/// characters a browser would strip or a header would refuse) goes home.
pub fn safe_next(next: &str) -> String {
    const HERE: &str = "http://watershed.invalid/";
    let plain = next.len() <= 2000
        && next.starts_with('/')
        && !next
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    let Some(url) = plain
        .then(|| url::Url::parse(HERE).and_then(|base| base.join(next)).ok())
        .flatten()
        .filter(|u| u.origin() == url::Url::parse(HERE).expect("a valid URL").origin())
    else {
        return "/".to_string();
    };
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

/// Starts a sign-in: returns the provider's URL to send the browser to and the state for the
/// browser's cookie. Throttled per client address like password sign-ins, since it stores a
/// row before anyone is signed in.
pub async fn begin(
    state: &AppState,
    next: &str,
    client_ip: std::net::IpAddr,
) -> ServiceResult<(String, String)> {
    let sso = configured(state)?;
    if state.sign_in.admit("(single sign-on)", client_ip).is_err() {
        return Err(ServiceError::Throttled);
    }
    let begun = sso.begin().await.map_err(|e| {
        tracing::warn!(error = %e, "single sign-on could not begin");
        ServiceError::Unavailable(e.for_user())
    })?;
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

/// At most this much of what a provider says goes into messages and the audit log.
const PROVIDER_TEXT: usize = 200;

fn clipped(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(PROVIDER_TEXT)
        .collect()
}

/// Finishes a sign-in: the state must be the one this browser's cookie holds and is taken once,
/// the code exchanged with its PKCE verifier, the ID token checked, the user created or updated
/// from their groups, a session opened. A callback that carries no sign-in of this browser
/// writes nothing; once the state is taken, the outcome is audited either way.
pub async fn finish(
    state: &AppState,
    callback: &Callback,
    cookie_state: Option<&str>,
    client_ip: std::net::IpAddr,
) -> Result<SignedIn, SsoError> {
    let sso = state
        .sso
        .as_deref()
        .ok_or_else(|| SsoError::Refused("single sign-on is not configured".into()))?;
    let returned = callback.state.as_deref().unwrap_or_default();
    match cookie_state {
        None => {
            tracing::info!(%client_ip, "single sign-on callback without a sign-in in flight");
            return Err(SsoError::UnknownState);
        }
        Some(c) if returned.is_empty() || c != returned => {
            tracing::warn!(%client_ip, "single sign-on callback with another browser's state");
            return Err(SsoError::StateMismatch);
        }
        Some(_) => {}
    }
    let login = state
        .store
        .take_sso_login(&token_hash(returned))
        .await
        .map_err(internal)?
        .filter(|l| now_millis() - l.created_at <= LOGIN_TTL_MS)
        .ok_or_else(|| {
            tracing::warn!(%client_ip, "single sign-on state used again or expired");
            SsoError::UnknownState
        })?;
    let outcome = finish_taken(state, sso, callback, login, client_ip).await;
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

async fn finish_taken(
    state: &AppState,
    sso: &Sso,
    callback: &Callback,
    login: SsoLogin,
    client_ip: std::net::IpAddr,
) -> Result<SignedIn, SsoError> {
    if let Some(error) = &callback.error {
        let why = callback.error_description.as_deref().unwrap_or(error);
        return Err(SsoError::Provider(clipped(why)));
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
    if exchanged.refresh_token.is_none() {
        tracing::warn!(user = %profile.username, "the provider gave no refresh token: this user is checked only when signing in (add offline_access to WATERSHED_OIDC_SCOPES)");
    }
    let refresh = exchanged
        .refresh_token
        .as_deref()
        .map(|t| state.secrets.seal(t));
    let user = apply(state, sso, &profile, refresh).await?;
    let token = random_token();
    let now = now_millis();
    let store = state.store.as_ref();
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

/// Creates the user a profile names on their first sign-in (or finds the one linked to its
/// subject), applies their groups and records the link. A name another account already holds
/// is refused, never taken over.
pub async fn apply(
    state: &AppState,
    sso: &Sso,
    profile: &Profile,
    refresh_enc: Option<String>,
) -> Result<UserView, SsoError> {
    let store = state.store.as_ref();
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
            let mapped = sso
                .settings
                .mapping
                .apply(&profile.groups)
                .ok_or(SsoError::NoRole)?;
            if store
                .user_by_name(&profile.username)
                .await
                .map_err(internal)?
                .is_some()
            {
                return Err(SsoError::Refused(format!(
                    "a user named {:?} already exists here (a local account or another \
                     provider user); an administrator must resolve it before it can sign in \
                     with {}",
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
    apply_groups(store, sso, &mut view, &profile.groups).await?;
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

/// Applies a linked user's groups: their role, then project places. Groups that give no role
/// (when users without one are refused) end the user's access and take back every place the
/// mapping gave. Each change is audited as the mapping's.
async fn apply_groups(
    store: &dyn Store,
    sso: &Sso,
    user: &mut UserView,
    groups: &[String],
) -> Result<(), SsoError> {
    let described = format!("{groups:?}");
    let Some(mapped) = sso.settings.mapping.apply(groups) else {
        let audit = AuditEvent {
            actor: ACTOR.into(),
            action: "user.sso_refused",
            target_kind: "user",
            target: user.username.clone(),
            summary: format!(
                "groups {described} give no role; sessions ended, personal tokens revoked and \
                 project places the groups gave taken back"
            ),
        };
        store
            .end_user_access(user.id, now_millis(), &audit)
            .await
            .map_err(internal)?;
        apply_places(store, user, &[], &described).await?;
        return Err(SsoError::NoRole);
    };
    if user.role != mapped.role {
        let audit = AuditEvent {
            actor: ACTOR.into(),
            action: "user.set_role",
            target_kind: "user",
            target: user.username.clone(),
            summary: format!(
                "role: {} → {} from groups {described}",
                user.role, mapped.role
            ),
        };
        store
            .set_role(user.id, mapped.role, &audit)
            .await
            .map_err(internal)?;
        user.role = mapped.role;
    }
    apply_places(store, user, &mapped.places, &described).await
}

fn place_of(project: &crate::domain::ProjectView, user: &str) -> Option<Place> {
    if project.owners.iter().any(|n| n == user) {
        Some(Place::Owner)
    } else if project.members.iter().any(|n| n == user) {
        Some(Place::Member)
    } else {
        None
    }
}

/// Project places from groups. The mapping owns only the places it gave: a place it gives is
/// added, and follows the groups while it is the mapping's; a place owners gave by hand is
/// never lowered or taken (a group may raise a member to owner, and that raise is then the
/// mapping's); a place the mapping gave goes with its group, unless it would leave the project
/// without an owner.
async fn apply_places(
    store: &dyn Store,
    user: &UserView,
    wanted: &[(String, Place)],
    groups: &str,
) -> Result<(), SsoError> {
    let projects = store.list_projects().await.map_err(internal)?;
    let given = store.sso_places(user.id).await.map_err(internal)?;
    let me = &user.username;
    let mut now_given: Vec<(i64, String)> = Vec::new();
    for project in &projects {
        let want = wanted
            .iter()
            .find(|(name, _)| *name == project.name)
            .map(|(_, place)| *place);
        let held = place_of(project, me);
        // The mapping holds a place only while it is the one it gave: a place changed by hand
        // since is the owners'.
        let mapping_holds = held.is_some()
            && given
                .iter()
                .any(|(id, p)| *id == project.id && Some(p.as_str()) == held.map(Place::as_str));
        let (target, record) = match (want, held) {
            (Some(w), None) => (Some(w), true),
            (Some(w), Some(_)) if mapping_holds => (Some(w), true),
            (Some(w), Some(h)) if w > h => (Some(w), true),
            (Some(_), Some(h)) => (Some(h), false),
            (None, Some(_)) if mapping_holds => (None, false),
            (None, _) => continue,
        };
        let mut owners = project.owners.clone();
        let mut members = project.members.clone();
        owners.retain(|n| n != me);
        members.retain(|n| n != me);
        match target {
            Some(Place::Owner) => owners.push(me.clone()),
            Some(Place::Member) => members.push(me.clone()),
            None if owners.is_empty() => {
                // The project's last owner stays until someone else owns it.
                now_given.push((project.id, held.unwrap_or(Place::Owner).as_str().into()));
                continue;
            }
            None => {}
        }
        if let (true, Some(t)) = (record, target) {
            now_given.push((project.id, t.as_str().to_string()));
        }
        if target == held {
            continue;
        }
        let ids = |names: Vec<String>| async move {
            store
                .users_by_names(&names)
                .await
                .map(|us| us.into_iter().map(|u| u.id).collect::<Vec<_>>())
        };
        let audit = AuditEvent {
            actor: ACTOR.into(),
            action: "project.people",
            target_kind: "project",
            target: project.name.clone(),
            summary: format!(
                "{me}: {} from groups {groups}; owners: {:?} → {owners:?}; members: {:?} → {members:?}",
                target.map_or("no place", Place::as_str),
                project.owners,
                project.members
            ),
        };
        let owner_ids = ids(owners).await.map_err(internal)?;
        let member_ids = ids(members).await.map_err(internal)?;
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
/// lose their sessions and personal tokens, audited; the groups of a refreshed ID token are
/// applied as at a sign-in. A sign-in that replaced the account's refresh token meanwhile wins.
/// Returns how many were refused.
pub async fn check_due(state: &AppState, sso: &Sso) -> ServiceResult<usize> {
    let now = now_millis();
    let every = sso.settings.check_every.as_millis() as i64;
    let store = state.store.as_ref();
    let due = store.sso_accounts_due(now - every, 100).await?;
    let mut refused = 0;
    for account in due {
        let Some(sealed) = account.refresh_enc.clone() else {
            continue;
        };
        let Ok(refresh) = state.secrets.open(&sealed) else {
            tracing::warn!(user = %account.username, "a sealed refresh token did not open; the user is checked again at their next sign-in");
            store
                .sso_checked(account.user_id, &sealed, None, now)
                .await?;
            continue;
        };
        match sso.check_user(&refresh, chrono::Utc::now()).await {
            Ok(Checked::Allowed {
                refresh_token,
                claims,
            }) => {
                let kept = refresh_token.map_or(sealed.clone(), |t| state.secrets.seal(&t));
                if !store
                    .sso_checked(account.user_id, &sealed, Some(&kept), now)
                    .await?
                {
                    continue;
                }
                let Some(claims) = claims.filter(|c| !c[&sso.settings.groups_claim].is_null())
                else {
                    continue;
                };
                let Ok(profile) = sso.settings.profile(&claims) else {
                    continue;
                };
                let Some(user) = store.user_by_name(&account.username).await? else {
                    continue;
                };
                let mut view = user.view()?;
                match apply_groups(store, sso, &mut view, &profile.groups).await {
                    Ok(()) => {}
                    Err(SsoError::NoRole) => refused += 1,
                    Err(e) => {
                        tracing::warn!(user = %account.username, error = %e, "groups from a refreshed ID token not applied")
                    }
                }
            }
            Ok(Checked::Refused(why)) => {
                if !store
                    .sso_checked(account.user_id, &sealed, None, now)
                    .await?
                {
                    continue;
                }
                let audit = AuditEvent {
                    actor: ACTOR.into(),
                    action: "user.sso_refused",
                    target_kind: "user",
                    target: account.username.clone(),
                    summary: format!(
                        "{} no longer lets {} in ({}); sessions ended and personal tokens revoked",
                        sso.settings.provider_name,
                        account.username,
                        clipped(&why)
                    ),
                };
                store.end_user_access(account.user_id, now, &audit).await?;
                refused += 1;
            }
            Err(e) => {
                tracing::warn!(user = %account.username, error = %e, "single sign-on check failed; tried again later");
                store
                    .sso_checked(account.user_id, &sealed, Some(&sealed), now)
                    .await?;
            }
        }
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
        for bad in [
            "//evil.example",
            "https://evil.example/",
            "/\\evil.example",
            "/\t/evil.example",
            "/a\r\nSet-Cookie: x",
            "",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
        assert_eq!(
            safe_next("/%0d%0a?q=%0a"),
            "/%0d%0a?q=%0a",
            "escaped stays escaped"
        );
    }

    #[test]
    fn local_sign_in_is_everyone_or_admins() {
        assert_eq!(LocalSignIn::parse("Admins"), Ok(LocalSignIn::Admins));
        assert_eq!(LocalSignIn::parse("everyone"), Ok(LocalSignIn::Everyone));
        assert!(LocalSignIn::parse("nobody").unwrap_err().contains("nobody"));
    }
}
