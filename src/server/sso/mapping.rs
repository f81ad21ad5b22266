//! What a user's groups at the identity provider make them here: a role, and owner or member
//! places in projects. Applied at every sign-in; parsed once from the settings.

use crate::domain::{FieldError, Role};

/// A place in a project the mapping can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Place {
    Member,
    Owner,
}

impl Place {
    /// The word the mapping and the audit log use.
    pub fn as_str(self) -> &'static str {
        match self {
            Place::Member => "member",
            Place::Owner => "owner",
        }
    }
}

/// A project group pattern: a group name with `{project}` somewhere in it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProjectPattern {
    prefix: String,
    suffix: String,
    place: Place,
}

/// Groups to roles and project places, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupMapping {
    roles: Vec<(String, Role)>,
    /// The role of a user in none of the role groups; `None` refuses them.
    default_role: Option<Role>,
    projects: Vec<ProjectPattern>,
}

/// What a user's groups give them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub role: Role,
    /// Project names (as the groups spell them, lowercased) and the place each gives; the
    /// higher place when two groups name one project.
    pub places: Vec<(String, Place)>,
}

fn rank(role: Role) -> u8 {
    match role {
        Role::Viewer => 0,
        Role::Developer => 1,
        Role::Approver => 2,
        Role::Admin => 3,
    }
}

impl GroupMapping {
    /// From `group=role` pairs (`platform-admins=admin,data-devs=developer`), the role of users
    /// in none of them (`viewer`, …, or `none` to refuse them) and `pattern=place` pairs where
    /// the pattern holds `{project}` (`data-{project}-owners=owner`). Errors name the setting.
    pub fn parse(roles: &str, default_role: &str, projects: &str) -> Result<Self, FieldError> {
        let pairs = |field: &'static str, raw: &str| -> Result<Vec<(String, String)>, FieldError> {
            raw.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    p.split_once('=')
                        .map(|(g, v)| (g.trim().to_string(), v.trim().to_lowercase()))
                        .filter(|(g, v)| !g.is_empty() && !v.is_empty())
                        .ok_or_else(|| {
                            FieldError::new(field, format!("{p:?} is not of the form group=value"))
                        })
                })
                .collect()
        };
        const ROLES: &str = "WATERSHED_OIDC_ROLE_GROUPS";
        const PROJECTS: &str = "WATERSHED_OIDC_PROJECT_GROUPS";
        const DEFAULT: &str = "WATERSHED_OIDC_DEFAULT_ROLE";
        let roles = pairs(ROLES, roles)?
            .into_iter()
            .map(|(group, role)| {
                Role::parse(&role).map(|r| (group, r)).ok_or_else(|| {
                    FieldError::new(
                        ROLES,
                        format!("{role:?} is not a role (admin, approver, developer, viewer)"),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        let default_role = match default_role.trim().to_lowercase().as_str() {
            "none" => None,
            r => Some(Role::parse(r).ok_or_else(|| {
                FieldError::new(
                    DEFAULT,
                    format!("{r:?} is not a role (admin, approver, developer, viewer) or none"),
                )
            })?),
        };
        let projects = pairs(PROJECTS, projects)?
            .into_iter()
            .map(|(pattern, place)| {
                let place = match place.as_str() {
                    "owner" => Place::Owner,
                    "member" => Place::Member,
                    p => {
                        return Err(FieldError::new(
                            PROJECTS,
                            format!("{p:?} is not a project place (owner or member)"),
                        ))
                    }
                };
                let (prefix, suffix) = pattern.split_once("{project}").ok_or_else(|| {
                    FieldError::new(PROJECTS, format!("{pattern:?} has no {{project}} in it"))
                })?;
                Ok(ProjectPattern {
                    prefix: prefix.to_string(),
                    suffix: suffix.to_string(),
                    place,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            roles,
            default_role,
            projects,
        })
    }

    /// What `groups` give; `None` when they give no role and users without one are refused.
    pub fn apply(&self, groups: &[String]) -> Option<Mapped> {
        let role = self
            .roles
            .iter()
            .filter(|(g, _)| groups.contains(g))
            .map(|(_, r)| *r)
            .max_by_key(|r| rank(*r))
            .or(self.default_role)?;
        let mut places: Vec<(String, Place)> = Vec::new();
        for group in groups {
            for p in &self.projects {
                let Some(project) = group
                    .strip_prefix(&p.prefix)
                    .and_then(|rest| rest.strip_suffix(&p.suffix))
                    .filter(|name| !name.is_empty())
                else {
                    continue;
                };
                let project = project.to_lowercase();
                match places.iter_mut().find(|(name, _)| *name == project) {
                    Some(existing) => existing.1 = existing.1.max(p.place),
                    None => places.push((project, p.place)),
                }
            }
        }
        places.sort();
        Some(Mapped { role, places })
    }

    /// The mapping in words, for the audit log.
    pub fn describe(&self) -> String {
        let roles: Vec<String> = self.roles.iter().map(|(g, r)| format!("{g}={r}")).collect();
        let projects: Vec<String> = self
            .projects
            .iter()
            .map(|p| format!("{}{{project}}{}={}", p.prefix, p.suffix, p.place.as_str()))
            .collect();
        format!(
            "roles: [{}], otherwise {}; projects: [{}]",
            roles.join(", "),
            self.default_role
                .map_or("refused".to_string(), |r| r.to_string()),
            projects.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(g: &[&str]) -> Vec<String> {
        g.iter().map(|s| s.to_string()).collect()
    }

    fn mapping() -> GroupMapping {
        GroupMapping::parse(
            "platform-admins=admin, data-approvers=approver,data-devs=developer",
            "viewer",
            "data-{project}-owners=owner,data-{project}-members=member",
        )
        .unwrap()
    }

    #[test]
    fn the_highest_role_of_a_users_groups_wins() {
        let m = mapping();
        let got = m.apply(&groups(&["data-devs", "data-approvers"])).unwrap();
        assert_eq!(got.role, Role::Approver);
        assert_eq!(m.apply(&groups(&["other"])).unwrap().role, Role::Viewer);
    }

    #[test]
    fn project_groups_give_places_and_owner_beats_member() {
        let got = mapping()
            .apply(&groups(&[
                "data-shop-members",
                "data-shop-owners",
                "data-lab-members",
                "data--owners",
            ]))
            .unwrap();
        assert_eq!(
            got.places,
            vec![("lab".into(), Place::Member), ("shop".into(), Place::Owner)]
        );
    }

    #[test]
    fn users_in_no_role_group_are_refused_when_the_default_is_none() {
        let m = GroupMapping::parse("ops=admin", "none", "").unwrap();
        assert_eq!(m.apply(&groups(&["other"])), None);
        assert_eq!(m.apply(&groups(&["ops"])).unwrap().role, Role::Admin);
    }

    #[test]
    fn bad_settings_name_the_variable() {
        let e = GroupMapping::parse("ops=boss", "viewer", "").unwrap_err();
        assert_eq!(e.field, "WATERSHED_OIDC_ROLE_GROUPS");
        assert!(e.message.contains("boss"), "{}", e.message);
        let e = GroupMapping::parse("", "viewer", "data-owners=owner").unwrap_err();
        assert_eq!(e.field, "WATERSHED_OIDC_PROJECT_GROUPS");
        let e = GroupMapping::parse("", "root", "").unwrap_err();
        assert_eq!(e.field, "WATERSHED_OIDC_DEFAULT_ROLE");
        let e = GroupMapping::parse("ops", "viewer", "").unwrap_err();
        assert!(e.message.contains("group=value"), "{}", e.message);
    }

    #[test]
    fn the_description_lists_every_rule() {
        assert_eq!(
            mapping().describe(),
            "roles: [platform-admins=admin, data-approvers=approver, data-devs=developer], \
             otherwise viewer; projects: [data-{project}-owners=owner, data-{project}-members=member]"
        );
    }
}
