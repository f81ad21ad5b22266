//! Who may do what.

use serde::{Deserialize, Serialize};

/// A user's platform-wide role. Order matters: each role can do what the ones below it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Developer,
    Approver,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Approver, Role::Developer, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Approver => "approver",
            Role::Developer => "developer",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == raw.trim().to_lowercase())
    }

    /// Viewers only read; every other role may create and edit within its projects.
    pub fn can_write(self) -> bool {
        self >= Role::Developer
    }

    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The signed-in user, as the UI needs to know them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub role: Role,
}

/// A user as an admin manages them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserAccount {
    pub id: i64,
    pub username: String,
    pub role: Role,
    /// When an admin disabled the user; disabled users cannot sign in or use tokens.
    pub disabled_at: Option<i64>,
}

/// A personal API token as its owner sees it: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PersonalTokenView {
    pub id: i64,
    pub name: String,
    /// The first characters, to recognise it.
    pub prefix: String,
    pub created_at: i64,
    /// After this the token no longer works; none for tokens made before expiry existed.
    pub expires_at: Option<i64>,
    /// Recorded at most once a minute.
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// How long a personal token lives when its creator does not say.
pub const DEFAULT_TOKEN_DAYS: i64 = 90;
/// The longest a personal token may live.
pub const MAX_TOKEN_DAYS: i64 = 365;

/// Parses a token lifetime in days: empty means the default; 1 to 365.
pub fn parse_token_days(field: &str, raw: Option<i64>) -> Result<i64, super::FieldError> {
    match raw {
        None => Ok(DEFAULT_TOKEN_DAYS),
        Some(d) if (1..=MAX_TOKEN_DAYS).contains(&d) => Ok(d),
        Some(d) => Err(super::FieldError::new(
            field,
            format!("{d} is not between 1 and {MAX_TOKEN_DAYS} days"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_from_their_names() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn only_viewers_cannot_write() {
        assert!(!Role::Viewer.can_write());
        assert!(Role::Developer.can_write());
        assert!(Role::Admin.is_admin() && !Role::Approver.is_admin());
    }

    #[test]
    fn a_token_lives_ninety_days_unless_told_and_never_past_a_year() {
        assert_eq!(parse_token_days("days", None), Ok(90));
        assert_eq!(parse_token_days("days", Some(7)), Ok(7));
        assert_eq!(parse_token_days("days", Some(0)).unwrap_err().field, "days");
        assert!(parse_token_days("days", Some(366)).is_err());
    }
}
