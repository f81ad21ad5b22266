//! Users, passwords, sessions and personal API tokens.

use super::{require_admin, ServiceError, ServiceResult};
use crate::domain::{parse_username, FieldError, Role, UserView};
use crate::server::db::{now_millis, AuditEvent, Store};
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
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
) -> ServiceResult<(String, UserView)> {
    let username = username.trim().to_lowercase();
    if state.login_throttle.check_key(&username).is_err() {
        tracing::warn!(%username, "login throttled");
        return Err(ServiceError::Throttled);
    }
    let user = state.store.user_by_name(&username).await?;
    // Verify against a dummy hash when the user is unknown so timing does not reveal names.
    let ok = match &user {
        Some(u) => verify_password(password, &u.password_hash),
        None => {
            verify_password(password, DUMMY_HASH);
            false
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        return Err(ServiceError::Invalid(vec![FieldError::new(
            "password",
            "user name or password is wrong",
        )]));
    };
    let token = random_token();
    let now = now_millis();
    state
        .store
        .create_session(
            &token_hash(&token),
            user.id,
            now,
            now + SESSION_DAYS * 86_400_000,
        )
        .await?;
    Ok((token, user.view()))
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

/// The user a personal API token belongs to.
pub async fn bearer_user(store: &dyn Store, token: &str) -> ServiceResult<Option<UserView>> {
    if !token.starts_with(API_TOKEN_PREFIX) {
        return Ok(None);
    }
    Ok(store.api_token_user(&token_hash(token)).await?)
}

/// Creates a personal API token for the actor; the token is returned once and never stored.
pub async fn create_api_token(
    store: &dyn Store,
    actor: &UserView,
    name: &str,
) -> ServiceResult<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(vec![FieldError::new("name", "must be 1 to 100 characters")].into());
    }
    let token = format!("{API_TOKEN_PREFIX}{}", random_token());
    let prefix: String = token.chars().take(API_TOKEN_PREFIX.len() + 6).collect();
    let audit = AuditEvent {
        actor: actor.username.clone(),
        action: "token.create",
        target_kind: "user",
        target: actor.username.clone(),
        summary: format!("personal API token {name:?} ({prefix}…)"),
    };
    store
        .create_api_token(actor.id, name, &prefix, &token_hash(&token), &audit)
        .await?;
    Ok(token)
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
            crate::server::db::StoreError::Conflict => ServiceError::Conflict(FieldError::new(
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
        summary: "password changed; sessions ended".into(),
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
