//! Users, passwords, sessions and personal API tokens.

use super::Ctx;
use super::{require_admin, ServiceError, ServiceResult};
use crate::domain::{
    parse_token_days, parse_username, FieldError, PersonalTokenView, Role, UserAccount, UserView,
    DEFAULT_TOKEN_DAYS,
};
use crate::server::db::trust::PersonalTokenRow;
use crate::server::db::{now_millis, AuditEvent, Store};
use crate::server::signin::{Refusal, MAX_NAME_LEN};
use crate::server::state::AppState;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// How long a console session lasts.
pub const SESSION_DAYS: i64 = 14;
/// The cookie that carries the session token.
pub const SESSION_COOKIE: &str = "watershed_session";
/// Personal API tokens start with this, so they are recognisable in logs and secret scanners.
pub const API_TOKEN_PREFIX: &str = "wsp_";

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> ServiceResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("argon2: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random token of 256 bits, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Tokens are stored only as their SHA-256.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn check_password(field: &str, password: &str) -> ServiceResult<()> {
    if password.chars().count() < 8 {
        return Err(vec![FieldError::new(field, "must be at least 8 characters")].into());
    }
    if password.len() > 1024 {
        return Err(vec![FieldError::new(field, "must be at most 1024 bytes")].into());
    }
    Ok(())
}

/// Checks a password and opens a session. Returns the session token for the cookie.
///
/// Every attempt that gets as far as a password check is audited with the client's address,
/// as `user.sign_in` or `user.sign_in_failed`.
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    client_ip: std::net::IpAddr,
) -> ServiceResult<(String, UserView)> {
    let username = username.trim().to_lowercase();
    match state.sign_in.admit(&username, client_ip) {
        Ok(()) => {}
        Err(Refusal::NameTooLong) => {
            return Err(vec![FieldError::new(
                "username",
                format!("must be at most {MAX_NAME_LEN} characters"),
            )]
            .into())
        }
        Err(Refusal::Throttled) => {
            tracing::warn!(%username, %client_ip, "sign-in throttled");
            return Err(ServiceError::Throttled);
        }
    }
    if password.len() > 1024 {
        return Err(vec![FieldError::new("password", "must be at most 1024 bytes")].into());
    }
    let store = state.store.as_ref();
    let user = store.user_by_name(&username).await?;
    // Verify against a dummy hash when the user is unknown so timing does not reveal names.
    let hash = user
        .as_ref()
        .map_or(DUMMY_HASH.to_string(), |u| u.password_hash.clone());
    let attempt = password.to_string();
    let matches = state
        .sign_in
        .hash(move || verify_password(&attempt, &hash))
        .await?;
    let enabled = user.as_ref().is_some_and(|u| u.disabled_at.is_none());
    let outcome = |action, summary: String| AuditEvent {
        actor: username.clone(),
        action,
        target_kind: "user",
        target: username.clone(),
        summary,
    };
    let Some(user) = user.filter(|_| matches && enabled) else {
        let why = if matches {
            "user disabled"
        } else {
            "wrong user name or password"
        };
        store
            .record_audit(&outcome(
                "user.sign_in_failed",
                format!("{why}; from {client_ip}"),
            ))
            .await?;
        return Err(ServiceError::Invalid(vec![FieldError::new(
            "password",
            "user name or password is wrong",
        )]));
    };
    if let Err(refused) = super::sso::local_allowed(state, user.view()?.role) {
        store
            .record_audit(&outcome(
                "user.sign_in_failed",
                format!("password sign-in is for administrators; from {client_ip}"),
            ))
            .await?;
        return Err(refused);
    }
    let token = random_token();
    let now = now_millis();
    store
        .create_session(
            &token_hash(&token),
            user.id,
            now,
            now + SESSION_DAYS * 86_400_000,
        )
        .await?;
    store
        .record_audit(&outcome("user.sign_in", format!("from {client_ip}")))
        .await?;
    Ok((token, user.view()?))
}

const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3bUXYHd3bY5bvW6QwOZ0NhDgbsTyoOWGmcI8fCZp7Kw";

/// Ends a session.
pub async fn logout(store: &dyn Store, token: &str) -> ServiceResult<()> {
    store.delete_session(&token_hash(token)).await?;
    Ok(())
}

/// The user a session cookie belongs to.
pub async fn session_user(store: &dyn Store, token: &str) -> ServiceResult<Option<UserView>> {
    Ok(store.session_user(&token_hash(token), now_millis()).await?)
}

/// The user a live personal API token belongs to: not revoked, not expired, not disabled.
pub async fn bearer_user(store: &dyn Store, token: &str) -> ServiceResult<Option<UserView>> {
    if !token.starts_with(API_TOKEN_PREFIX) {
        return Ok(None);
    }
    Ok(store
        .personal_token_user(&token_hash(token), now_millis())
        .await?)
}

/// Creates a personal API token for the actor that lives 90 days; the token is returned once
/// and never stored.
pub async fn create_api_token(
    store: &dyn Store,
    actor: &UserView,
    name: &str,
) -> ServiceResult<String> {
    Ok(issue_token(store, actor, None, name, None).await?.1)
}

/// Creates a personal API token for the actor that lives `days` (90 when `None`, at most 365).
/// Returns its listing and the secret, which is shown once and never stored.
pub async fn issue_personal_token(
    cx: &Ctx,
    name: &str,
    days: Option<i64>,
) -> ServiceResult<(PersonalTokenView, String)> {
    issue_token(cx.store(), &cx.actor, None, name, days).await
}

/// Issues a personal token for `username` from the command line (the operator holds the
/// database, as for `user set-password`); audited as the user's own token.
pub async fn issue_token_for(
    store: &dyn Store,
    username: &str,
    name: &str,
    days: Option<i64>,
) -> ServiceResult<(PersonalTokenView, String)> {
    let user = store
        .user_by_name(&username.trim().to_lowercase())
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("user {username:?}")))?;
    if user.disabled_at.is_some() {
        return Err(ServiceError::Forbidden(format!(
            "user {username:?} is disabled"
        )));
    }
    issue_token(store, &user.view()?, Some("system"), name, days).await
}

/// Issues `actor` a personal token; `by` names who did it when not the user (the command
/// line), for the audit log.
async fn issue_token(
    store: &dyn Store,
    actor: &UserView,
    by: Option<&str>,
    name: &str,
    days: Option<i64>,
) -> ServiceResult<(PersonalTokenView, String)> {
    let name = name.trim();
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new("name", "must be 1 to 100 characters"));
    }
    let days = parse_token_days("expires_in_days", days).map_err(|e| errors.push(e));
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let days = days.unwrap_or(DEFAULT_TOKEN_DAYS);
    let token = format!("{API_TOKEN_PREFIX}{}", random_token());
    let prefix: String = token.chars().take(API_TOKEN_PREFIX.len() + 6).collect();
    let now = now_millis();
    let row = PersonalTokenRow {
        user_id: actor.id,
        name: name.to_string(),
        prefix: prefix.clone(),
        token_hash: token_hash(&token),
        created_at: now,
        expires_at: now + days * 86_400_000,
    };
    let audit = AuditEvent {
        actor: by.map_or_else(|| actor.username.clone(), str::to_string),
        action: "token.create",
        target_kind: "user",
        target: actor.username.clone(),
        summary: format!(
            "personal API token {name:?} ({prefix}…), {days} days{}",
            if by.is_some() {
                ", issued from the command line"
            } else {
                ""
            }
        ),
    };
    let id = store.create_personal_token(&row, &audit).await?;
    let view = PersonalTokenView {
        id,
        name: row.name,
        prefix,
        created_at: now,
        expires_at: Some(row.expires_at),
        last_used_at: None,
        revoked_at: None,
    };
    Ok((view, token))
}

/// The actor's own personal tokens, newest first, with when each was last used.
pub async fn personal_tokens(cx: &Ctx) -> ServiceResult<Vec<PersonalTokenView>> {
    Ok(cx.store.personal_tokens(cx.actor.id).await?)
}

/// Revokes one of the actor's own personal tokens.
pub async fn revoke_personal_token(cx: &Ctx, token_id: i64) -> ServiceResult<()> {
    let audit = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "token.revoke",
        target_kind: "user",
        target: cx.actor.username.clone(),
        summary: format!("personal API token {token_id}"),
    };
    if cx
        .store()
        .revoke_personal_token(cx.actor.id, token_id, now_millis(), &audit)
        .await?
    {
        Ok(())
    } else {
        Err(ServiceError::NotFound(format!("live token {token_id}")))
    }
}

/// Every user with whether they are disabled (admins only).
pub async fn accounts(cx: &Ctx) -> ServiceResult<Vec<UserAccount>> {
    require_admin(&cx.actor, "list users")?;
    Ok(cx.store.user_accounts().await?)
}

/// Disables a user (their sessions end and their personal tokens are revoked) or enables them
/// again (admins only; nobody disables themselves).
pub async fn set_disabled(cx: &Ctx, username: &str, disabled: bool) -> ServiceResult<UserAccount> {
    require_admin(&cx.actor, "disable or enable users")?;
    let name = username.trim().to_lowercase();
    if disabled && name == cx.actor.username {
        return Err(ServiceError::Forbidden(
            "you cannot disable yourself; ask another admin".into(),
        ));
    }
    let user = cx
        .store()
        .user_by_name(&name)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("user {username:?}")))?;
    let audit = AuditEvent {
        actor: cx.actor.username.clone(),
        action: if disabled {
            "user.disable"
        } else {
            "user.enable"
        },
        target_kind: "user",
        target: user.username.clone(),
        summary: if disabled {
            "disabled; sessions ended and personal tokens revoked".into()
        } else {
            "enabled".into()
        },
    };
    cx.store
        .set_user_disabled(user.id, disabled, now_millis(), &audit)
        .await?;
    cx.store
        .user_accounts()
        .await?
        .into_iter()
        .find(|u| u.id == user.id)
        .ok_or_else(|| ServiceError::NotFound(format!("user {username:?}")))
}

/// Creates a user. `actor` is `None` only for the command line and first start.
pub async fn create_user(
    store: &dyn Store,
    actor: Option<&UserView>,
    username: &str,
    password: &str,
    role: Role,
) -> ServiceResult<i64> {
    if let Some(a) = actor {
        require_admin(a, "add users")?;
    }
    let username = parse_username("username", username).map_err(|e| vec![e])?;
    check_password("password", password)?;
    let audit = AuditEvent {
        actor: actor.map_or("system".into(), |a| a.username.clone()),
        action: "user.create",
        target_kind: "user",
        target: username.clone(),
        summary: format!("role {role}"),
    };
    store
        .create_user(&username, &hash_password(password)?, role, &audit)
        .await
        .map_err(|e| match e {
            crate::server::db::StoreError::Conflict(_) => ServiceError::Conflict(FieldError::new(
                "username",
                format!("a user named {username:?} already exists"),
            )),
            e => e.into(),
        })
}

/// Sets a user's password (admins, or the command line).
pub async fn set_password(
    store: &dyn Store,
    actor: Option<&UserView>,
    username: &str,
    password: &str,
) -> ServiceResult<()> {
    if let Some(a) = actor {
        require_admin(a, "set passwords")?;
    }
    check_password("password", password)?;
    let user = store
        .user_by_name(&username.trim().to_lowercase())
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("user {username:?}")))?;
    let audit = AuditEvent {
        actor: actor.map_or("system".into(), |a| a.username.clone()),
        action: "user.set_password",
        target_kind: "user",
        target: user.username.clone(),
        summary: "password changed; sessions ended and personal tokens revoked".into(),
    };
    store
        .set_password(user.id, &hash_password(password)?, &audit)
        .await?;
    Ok(())
}

/// Changes a user's role (admins, or the command line).
pub async fn set_role(
    store: &dyn Store,
    actor: Option<&UserView>,
    username: &str,
    role: Role,
) -> ServiceResult<()> {
    if let Some(a) = actor {
        require_admin(a, "change roles")?;
    }
    let user = store
        .user_by_name(&username.trim().to_lowercase())
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("user {username:?}")))?;
    let audit = AuditEvent {
        actor: actor.map_or("system".into(), |a| a.username.clone()),
        action: "user.set_role",
        target_kind: "user",
        target: user.username.clone(),
        summary: format!("role: {} → {role}", user.role),
    };
    store.set_role(user.id, role, &audit).await?;
    Ok(())
}

/// On an empty database, creates `admin`. Returns the generated password to print once,
/// or `None` when one was configured or users already exist.
pub async fn ensure_admin(
    store: &dyn Store,
    configured: Option<&str>,
) -> ServiceResult<Option<String>> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match configured {
        Some(p) => (p.to_string(), false),
        None => (random_token()[..20].to_string(), true),
    };
    create_user(store, None, "admin", &password, Role::Admin).await?;
    Ok(generated.then_some(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_only_against_its_own_hash() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", DUMMY_HASH));
    }

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = random_token();
        assert!(a.len() >= 43);
        assert_ne!(a, random_token());
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
