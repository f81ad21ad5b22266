//! Console server functions for personal tokens, users (admins) and project people (owners).

#[cfg(feature = "ssr")]
use super::ssr::Call;
use super::AppError;
use crate::domain::{PersonalTokenView, ProjectView, UserAccount};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::server::services::{accounts, projects};

/// The viewer's personal tokens, and one issued a moment ago (shown on this page view only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokensPanel {
    pub tokens: Vec<PersonalTokenView>,
    pub new_token: Option<String>,
}

#[cfg(feature = "ssr")]
const TOKENS_PATH: &str = "/tokens";

/// The viewer's personal tokens.
#[server(prefix = "/console")]
pub async fn my_tokens() -> Result<TokensPanel, AppError> {
    use crate::server::auth::{cookie_value, new_token_cookie, NEW_TOKEN_COOKIE};
    let call = Call::new().await?;
    let cx = call.ctx()?;
    let tokens = accounts::personal_tokens(&cx).await?;
    let new_token = cookie_value(&call.headers, NEW_TOKEN_COOKIE).and_then(|sealed| {
        let response = expect_context::<leptos_axum::ResponseOptions>();
        let clear = new_token_cookie(TOKENS_PATH, "", call.state.secure_cookies);
        if let Ok(v) = http::HeaderValue::from_str(&clear) {
            response.append_header(http::header::SET_COOKIE, v);
        }
        // Sealed with the owner's name, so it only ever shows to them.
        let plain = call.state.secrets.open(&sealed).ok()?;
        plain
            .strip_prefix(&format!("personal {} ", cx.actor.username))
            .map(str::to_string)
    });
    Ok(TokensPanel { tokens, new_token })
}

/// Issues a personal token (days empty: 90) and shows it once on the tokens page.
#[server(prefix = "/console")]
pub async fn create_my_token(name: String, days: String) -> Result<PersonalTokenView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let days = match days.trim() {
            "" => None,
            raw => Some(raw.parse::<i64>().map_err(|_| {
                vec![crate::domain::FieldError::new(
                    "expires_in_days",
                    format!("{raw:?} is not a whole number of days"),
                )]
            })?),
        };
        let s = &call.state;
        let (view, token) = accounts::issue_personal_token(&cx, &name, days).await?;
        let sealed = s
            .secrets
            .seal(&format!("personal {} {token}", cx.actor.username));
        let cookie = crate::server::auth::new_token_cookie(TOKENS_PATH, &sealed, s.secure_cookies);
        let response = expect_context::<leptos_axum::ResponseOptions>();
        if let Ok(v) = http::HeaderValue::from_str(&cookie) {
            response.append_header(http::header::SET_COOKIE, v);
        }
        Ok(view)
    }
    .await;
    call.finish(result, |_| TOKENS_PATH.to_string())
}

/// Revokes one of the viewer's personal tokens.
#[server(prefix = "/console")]
pub async fn revoke_my_token(id: i64) -> Result<(), AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        Ok(accounts::revoke_personal_token(&cx, id).await?)
    }
    .await;
    call.finish(result, |_| TOKENS_PATH.to_string())
}

/// Every user with their state (admins).
#[server(prefix = "/console")]
pub async fn list_accounts() -> Result<Vec<UserAccount>, AppError> {
    let call = Call::new().await?;
    let cx = call.ctx()?;
    Ok(accounts::accounts(&cx).await?)
}

/// Disables or enables a user (admins) and stays on the users page.
#[server(prefix = "/console")]
pub async fn set_user_disabled(username: String, disabled: bool) -> Result<UserAccount, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        Ok(accounts::set_disabled(&cx, &username, disabled).await?)
    }
    .await;
    call.finish(result, |_| "/users".to_string())
}

/// Replaces a project's owners and members (comma-separated names; its owners and admins).
#[server(prefix = "/console")]
pub async fn set_project_people(
    project: String,
    owners: String,
    members: String,
) -> Result<ProjectView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let input = crate::domain::ProjectPeopleInput {
            owners: vec![owners],
            members: vec![members],
        };
        Ok(projects::set_people(&cx, &project, &input).await?)
    }
    .await;
    call.finish(result, |p| format!("/projects/{}", p.name))
}

/// Lets the project's own applications use its queues without a request, or not.
#[server(prefix = "/console")]
pub async fn set_own_apps_access(
    project: String,
    #[server(default)] enabled: Option<String>,
) -> Result<ProjectView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        Ok(projects::set_own_apps_access(&cx, &project, enabled.is_some()).await?)
    }
    .await;
    call.finish(result, |p| format!("/projects/{}#own-apps", p.name))
}
