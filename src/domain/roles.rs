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
}
