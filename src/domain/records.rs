//! Projects, clusters, logical queues and the audit log: inputs, validation and views.

use super::{
    default_topic, parse_bootstrap_servers, parse_int, parse_tags, parse_text, parse_topic,
    parse_username, parse_usernames, FieldError, Slug, Validator,
};
use serde::{Deserialize, Serialize};
use strum::{AsRefStr, Display, EnumString, VariantArray};

/// The software a cluster runs; the SDK picks its client by this.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    AsRefStr,
    VariantArray,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum ClusterKind {
    Kafka,
    Automq,
    CloudKafka,
    Rocketmq,
}

/// How messages on a queue are encoded.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    AsRefStr,
    VariantArray,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum DataFormat {
    Avro,
    Json,
    Protobuf,
    String,
    Bytes,
}

/// SASL mechanism a client uses to authenticate to a cluster.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    AsRefStr,
    VariantArray,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum SaslMechanism {
    #[serde(rename = "none")]
    #[strum(serialize = "none")]
    None,
    #[serde(rename = "PLAIN")]
    #[strum(serialize = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    #[strum(serialize = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    #[strum(serialize = "SCRAM-SHA-512")]
    ScramSha512,
}

/// Which of a queue's two clusters clients use now.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    AsRefStr,
    VariantArray,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum ActiveSide {
    Primary,
    Backup,
}

fn parse_enum<T: std::str::FromStr + VariantArray + AsRef<str>>(
    field: &str,
    raw: &str,
) -> Result<T, FieldError> {
    raw.trim().parse::<T>().map_err(|_| {
        let allowed: Vec<&str> = T::VARIANTS.iter().map(|v| v.as_ref()).collect();
        FieldError::new(
            field,
            format!("{raw:?} is not one of {}", allowed.join(", ")),
        )
    })
}

// ---------------------------------------------------------------- projects

/// What a user submits to create a project.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProjectInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// User names; the creator is always an owner.
    #[serde(default)]
    pub owners: Vec<String>,
    #[serde(default)]
    pub members: Vec<String>,
}

/// A validated project.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectSpec {
    pub name: Slug,
    pub description: String,
    pub owners: Vec<String>,
    pub members: Vec<String>,
}

impl ProjectInput {
    pub fn parse(&self) -> Result<ProjectSpec, Vec<FieldError>> {
        let mut v = Validator::default();
        let name = v.check(Slug::parse("name", &self.name));
        let description = v.check(parse_text("description", &self.description, 2000));
        let owners = v.check(parse_usernames("owners", &self.owners.join(",")));
        let members = v.check(parse_usernames("members", &self.members.join(",")));
        v.finish()?;
        Ok(ProjectSpec {
            name: name.unwrap(),
            description: description.unwrap(),
            owners: owners.unwrap(),
            members: members.unwrap(),
        })
    }
}

/// What a project's owners submit to replace its owners and members.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProjectPeopleInput {
    /// User names (or one comma-separated string); at least one.
    #[serde(default)]
    pub owners: Vec<String>,
    #[serde(default)]
    pub members: Vec<String>,
}

impl ProjectPeopleInput {
    /// The owners and members (owners are not repeated as members).
    pub fn parse(&self) -> Result<(Vec<String>, Vec<String>), Vec<FieldError>> {
        let mut v = Validator::default();
        let owners = v.check(parse_usernames("owners", &self.owners.join(",")));
        let members = v.check(parse_usernames("members", &self.members.join(",")));
        if owners.as_ref().is_some_and(Vec::is_empty) {
            v.push(FieldError::new(
                "owners",
                "a project keeps at least one owner",
            ));
        }
        v.finish()?;
        let owners = owners.unwrap();
        let members = members
            .unwrap()
            .into_iter()
            .filter(|m| !owners.contains(m))
            .collect();
        Ok((owners, members))
    }
}

/// A project as shown to users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProjectView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub owners: Vec<String>,
    pub members: Vec<String>,
    pub queue_count: i64,
    pub created_at: i64,
    /// Where the project's events are sent, if anywhere.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// The project's own applications read and write its queues without an access request.
    #[serde(default = "own_apps_access_default")]
    pub own_apps_access: bool,
}

fn own_apps_access_default() -> bool {
    true
}

/// What a project's owners submit to let its own applications use its queues without a
/// request, or not.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OwnAppsAccessInput {
    pub enabled: bool,
}

// ---------------------------------------------------------------- clusters

/// The most partitions any queue may have, whatever its cluster allows.
pub const MAX_PARTITIONS: i64 = 10_000;
/// The longest retention any queue may have (ten years), whatever its cluster allows.
pub const MAX_RETENTION_HOURS: i64 = 24 * 365 * 10;

/// What an operator submits to register or edit a cluster. Its `Debug` leaves out the
/// passwords and the key.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClusterInput {
    pub name: String,
    /// kafka, automq, cloud-kafka or rocketmq.
    pub kind: String,
    /// host:port pairs.
    pub bootstrap_servers: Vec<String>,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub cloud: String,
    /// none, PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
    #[serde(default = "default_sasl")]
    pub sasl_mechanism: String,
    #[serde(default)]
    pub sasl_username: String,
    /// Write-only. On edit, empty keeps the stored password. The platform's own (admin)
    /// credential: probes and provisioning use it, and it never leaves the server.
    #[serde(default)]
    pub sasl_password: String,
    /// The credential handed to SDK clients (same mechanism); required when a mechanism is set.
    #[serde(default)]
    pub client_sasl_username: String,
    /// Write-only. On edit, empty keeps the stored client password.
    #[serde(default)]
    pub client_sasl_password: String,
    /// The most partitions a queue on this cluster may have; none for no limit.
    #[serde(default)]
    pub max_partitions: Option<i64>,
    /// The longest retention (hours) a queue on this cluster may have; none for no limit.
    #[serde(default)]
    pub max_retention_hours: Option<i64>,
    /// TLS to the brokers, on every path (the platform's and the SDK clients').
    #[serde(default)]
    pub tls: bool,
    /// PEM certificates the brokers' chain must lead to; empty for the system's roots.
    #[serde(default)]
    pub tls_ca_pem: String,
    /// PEM client certificate, for brokers that require one (mutual TLS).
    #[serde(default)]
    pub tls_client_cert_pem: String,
    /// Write-only PEM private key of the client certificate. On edit, empty keeps the stored
    /// key (and an empty certificate removes both).
    #[serde(default)]
    pub tls_client_key_pem: String,
}

impl std::fmt::Debug for ClusterInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterInput")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("sasl_mechanism", &self.sasl_mechanism)
            .field("sasl_username", &self.sasl_username)
            .field("client_sasl_username", &self.client_sasl_username)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// The largest PEM text a cluster's TLS fields take.
pub const MAX_PEM_LEN: usize = 64 * 1024;

fn default_sasl() -> String {
    "none".into()
}

/// A validated cluster; the password is still plain text here and is encrypted by the service.
#[derive(Clone, PartialEq)]
pub struct ClusterSpec {
    pub name: Slug,
    pub kind: ClusterKind,
    pub bootstrap_servers: Vec<String>,
    pub region: String,
    pub cloud: String,
    pub sasl_mechanism: SaslMechanism,
    pub sasl_username: String,
    pub sasl_password: Option<String>,
    pub client_sasl_username: String,
    pub client_sasl_password: Option<String>,
    pub max_partitions: Option<i64>,
    pub max_retention_hours: Option<i64>,
    pub tls: bool,
    pub tls_ca_pem: String,
    pub tls_client_cert_pem: String,
    /// `None` keeps the stored key.
    pub tls_client_key_pem: Option<String>,
}

impl std::fmt::Debug for ClusterSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterSpec")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("sasl_mechanism", &self.sasl_mechanism)
            .field(
                "sasl_password",
                &self.sasl_password.as_ref().map(|_| "[redacted]"),
            )
            .field("client_sasl_username", &self.client_sasl_username)
            .field(
                "client_sasl_password",
                &self.client_sasl_password.as_ref().map(|_| "[redacted]"),
            )
            .field("max_partitions", &self.max_partitions)
            .field("max_retention_hours", &self.max_retention_hours)
            .field("tls", &self.tls)
            .field(
                "tls_client_key_pem",
                &self.tls_client_key_pem.as_ref().map(|_| "[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

impl ClusterInput {
    pub fn parse(&self) -> Result<ClusterSpec, Vec<FieldError>> {
        let mut v = Validator::default();
        let name = v.check(Slug::parse("name", &self.name));
        let kind = v.check(parse_enum::<ClusterKind>("kind", &self.kind));
        let servers = v.check(parse_bootstrap_servers(
            "bootstrap_servers",
            &self.bootstrap_servers.join(","),
        ));
        let region = v.check(parse_text("region", &self.region, 100));
        let cloud = v.check(parse_text("cloud", &self.cloud, 100));
        let mechanism = v.check(parse_enum::<SaslMechanism>(
            "sasl_mechanism",
            &self.sasl_mechanism,
        ));
        let username = v.check(parse_text("sasl_username", &self.sasl_username, 200));
        if mechanism.is_some_and(|m| m != SaslMechanism::None)
            && username.as_deref().is_some_and(str::is_empty)
        {
            v.push(FieldError::new(
                "sasl_username",
                "is required when a SASL mechanism is set",
            ));
        }
        if kind == Some(ClusterKind::Rocketmq) {
            // RocketMQ's ACL signs requests with an access key and a secret key, which the
            // registration's PLAIN user name and password carry.
            if mechanism.is_some_and(|m| !matches!(m, SaslMechanism::None | SaslMechanism::Plain)) {
                v.push(FieldError::new(
                    "sasl_mechanism",
                    "must be none or PLAIN for a RocketMQ cluster (PLAIN: the ACL access key and secret key)",
                ));
            }
            if self.tls {
                v.push(FieldError::new(
                    "tls",
                    "is not supported for RocketMQ clusters yet: register it without TLS",
                ));
            }
        }
        let client_username = v.check(parse_text(
            "client_sasl_username",
            &self.client_sasl_username,
            200,
        ));
        if mechanism.is_some_and(|m| m == SaslMechanism::None)
            && client_username.as_deref().is_some_and(|u| !u.is_empty())
        {
            v.push(FieldError::new(
                "client_sasl_username",
                "needs a SASL mechanism: set one, or leave the client user name empty",
            ));
        }
        for (field, value) in [
            ("sasl_password", &self.sasl_password),
            ("client_sasl_password", &self.client_sasl_password),
        ] {
            if value.len() > 1000 {
                v.push(FieldError::new(field, "must be at most 1000 characters"));
            }
        }
        for (field, value, max) in [
            ("max_partitions", self.max_partitions, MAX_PARTITIONS),
            (
                "max_retention_hours",
                self.max_retention_hours,
                MAX_RETENTION_HOURS,
            ),
        ] {
            if value.is_some_and(|n| !(1..=max).contains(&n)) {
                v.push(FieldError::new(
                    field,
                    format!("must be between 1 and {max}"),
                ));
            }
        }
        for (field, value) in [
            ("tls_ca_pem", &self.tls_ca_pem),
            ("tls_client_cert_pem", &self.tls_client_cert_pem),
            ("tls_client_key_pem", &self.tls_client_key_pem),
        ] {
            if value.len() > MAX_PEM_LEN {
                v.push(FieldError::new(
                    field,
                    format!("must be at most {} KiB", MAX_PEM_LEN / 1024),
                ));
            } else if !value.trim().is_empty() && !self.tls {
                v.push(FieldError::new(
                    field,
                    "needs TLS: switch TLS on, or leave this empty",
                ));
            } else if !value.trim().is_empty() && !value.contains("-----BEGIN ") {
                v.push(FieldError::new(
                    field,
                    "must be PEM text (-----BEGIN …-----)",
                ));
            }
        }
        if !self.tls_client_key_pem.trim().is_empty() && self.tls_client_cert_pem.trim().is_empty()
        {
            v.push(FieldError::new(
                "tls_client_cert_pem",
                "is required with a client key",
            ));
        }
        v.finish()?;
        Ok(ClusterSpec {
            name: name.unwrap(),
            kind: kind.unwrap(),
            bootstrap_servers: servers.unwrap(),
            region: region.unwrap(),
            cloud: cloud.unwrap(),
            sasl_mechanism: mechanism.unwrap(),
            sasl_username: username.unwrap(),
            sasl_password: Some(self.sasl_password.clone()).filter(|p| !p.is_empty()),
            client_sasl_username: client_username.unwrap(),
            client_sasl_password: Some(self.client_sasl_password.clone()).filter(|p| !p.is_empty()),
            max_partitions: self.max_partitions,
            max_retention_hours: self.max_retention_hours,
            tls: self.tls,
            tls_ca_pem: pem_text(&self.tls_ca_pem),
            tls_client_cert_pem: pem_text(&self.tls_client_cert_pem),
            tls_client_key_pem: Some(pem_text(&self.tls_client_key_pem)).filter(|k| !k.is_empty()),
        })
    }
}

/// PEM text as stored: trimmed, with line ends made `\n` (pasted from Windows, they are `\r\n`).
fn pem_text(text: &str) -> String {
    text.trim().replace("\r\n", "\n").replace('\r', "\n")
}

/// A cluster as shown to users: the SASL password never leaves the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClusterView {
    pub id: i64,
    pub name: String,
    pub kind: ClusterKind,
    pub bootstrap_servers: Vec<String>,
    pub region: String,
    pub cloud: String,
    pub sasl_mechanism: SaslMechanism,
    pub sasl_username: String,
    pub sasl_password_set: bool,
    /// The credential SDK clients get (its password is never shown either).
    #[serde(default)]
    pub client_sasl_username: String,
    #[serde(default)]
    pub client_sasl_password_set: bool,
    /// Quotas for queues on this cluster; none for no limit.
    #[serde(default)]
    pub max_partitions: Option<i64>,
    #[serde(default)]
    pub max_retention_hours: Option<i64>,
    /// TLS to the brokers; the CA bundle and client certificate are public, the key is not.
    #[serde(default)]
    pub tls: bool,
    #[serde(default)]
    pub tls_ca_pem: String,
    #[serde(default)]
    pub tls_client_cert_pem: String,
    #[serde(default)]
    pub tls_client_key_set: bool,
    pub queue_count: i64,
    pub created_at: i64,
}

// ---------------------------------------------------------------- queues

/// What a user submits to create or edit a logical queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct QueueInput {
    pub project: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// User name of the owner; defaults to the creator.
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default = "default_partitions")]
    pub partitions: i64,
    #[serde(default = "default_retention")]
    pub retention_hours: i64,
    /// avro, json, protobuf, string or bytes.
    #[serde(default = "default_format")]
    pub data_format: String,
    pub primary_cluster: String,
    #[serde(default)]
    pub backup_cluster: Option<String>,
    /// primary or backup.
    #[serde(default = "default_side")]
    pub active_side: String,
    /// Physical topic; defaults to `<project>.<queue>`.
    #[serde(default)]
    pub topic: Option<String>,
}

fn default_partitions() -> i64 {
    6
}
fn default_retention() -> i64 {
    168
}
fn default_format() -> String {
    "json".into()
}
fn default_side() -> String {
    "primary".into()
}

/// A validated logical queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSpec {
    pub project: Slug,
    pub name: Slug,
    pub description: String,
    pub owner: String,
    pub tags: Vec<String>,
    pub partitions: i64,
    pub retention_hours: i64,
    pub data_format: DataFormat,
    pub primary_cluster: Slug,
    pub backup_cluster: Option<Slug>,
    pub active_side: ActiveSide,
    pub topic: String,
}

impl QueueInput {
    /// Validates every field; `creator` becomes the owner when none is given.
    pub fn parse(&self, creator: &str) -> Result<QueueSpec, Vec<FieldError>> {
        let mut v = Validator::default();
        let project = v.check(Slug::parse("project", &self.project));
        let name = v.check(Slug::parse("name", &self.name));
        let description = v.check(parse_text("description", &self.description, 4000));
        let owner = if self.owner.trim().is_empty() {
            Some(creator.to_string())
        } else {
            v.check(parse_username("owner", &self.owner))
        };
        let tags = v.check(parse_tags("tags", &self.tags.join(",")));
        let partitions = v.check(parse_int(
            "partitions",
            &self.partitions.to_string(),
            1,
            MAX_PARTITIONS,
        ));
        let retention = v.check(parse_int(
            "retention_hours",
            &self.retention_hours.to_string(),
            1,
            MAX_RETENTION_HOURS,
        ));
        let format = v.check(parse_enum::<DataFormat>("data_format", &self.data_format));
        let primary = v.check(Slug::parse("primary_cluster", &self.primary_cluster));
        let backup = match self.backup_cluster.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(b) => v.check(Slug::parse("backup_cluster", b)),
        };
        if let (Some(p), Some(b)) = (&primary, &backup) {
            if p == b {
                v.push(FieldError::new(
                    "backup_cluster",
                    "must differ from the primary cluster",
                ));
            }
        }
        let side = v.check(parse_enum::<ActiveSide>("active_side", &self.active_side));
        if side == Some(ActiveSide::Backup) && backup.is_none() {
            v.push(FieldError::new(
                "active_side",
                "can be backup only when a backup cluster is set",
            ));
        }
        let topic = match self.topic.as_deref().map(str::trim) {
            None | Some("") => match (&project, &name) {
                (Some(p), Some(n)) => Some(default_topic(p.as_str(), n.as_str())),
                _ => None,
            },
            Some(t) => v.check(parse_topic("topic", t)),
        };
        v.finish()?;
        Ok(QueueSpec {
            project: project.unwrap(),
            name: name.unwrap(),
            description: description.unwrap(),
            owner: owner.unwrap(),
            tags: tags.unwrap(),
            partitions: partitions.unwrap(),
            retention_hours: retention.unwrap(),
            data_format: format.unwrap(),
            primary_cluster: primary.unwrap(),
            backup_cluster: backup,
            active_side: side.unwrap(),
            topic: topic.unwrap(),
        })
    }
}

/// A logical queue as shown to users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct QueueView {
    pub id: i64,
    pub project: String,
    pub name: String,
    pub description: String,
    pub owner: String,
    pub tags: Vec<String>,
    pub partitions: i64,
    pub retention_hours: i64,
    pub data_format: DataFormat,
    pub primary_cluster: String,
    pub backup_cluster: Option<String>,
    pub active_side: ActiveSide,
    pub topic: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl QueueView {
    /// The cluster clients use now.
    pub fn active_cluster(&self) -> &str {
        match (self.active_side, &self.backup_cluster) {
            (ActiveSide::Backup, Some(b)) => b,
            _ => &self.primary_cluster,
        }
    }

    /// The form a user edits, filled from this queue.
    pub fn to_input(&self) -> QueueInput {
        QueueInput {
            project: self.project.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            owner: self.owner.clone(),
            tags: self.tags.clone(),
            partitions: self.partitions,
            retention_hours: self.retention_hours,
            data_format: self.data_format.to_string(),
            primary_cluster: self.primary_cluster.clone(),
            backup_cluster: self.backup_cluster.clone(),
            active_side: self.active_side.to_string(),
            topic: Some(self.topic.clone()),
        }
    }
}

// ---------------------------------------------------------------- audit

/// One recorded mutation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target_kind: String,
    pub target: String,
    /// A short before/after summary.
    pub summary: String,
}

/// Filters for the audit page and API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams))]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target_kind: Option<String>,
    /// Substring of the target name.
    pub target: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

/// Paging and filters for the queue list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, utoipa::IntoParams))]
pub struct QueueFilter {
    pub project: Option<String>,
    pub cluster: Option<String>,
    /// Substring of project, name, description or tags.
    pub q: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> QueueInput {
        QueueInput {
            project: "shop".into(),
            name: "orders".into(),
            description: "Every order".into(),
            owner: String::new(),
            tags: vec!["orders".into()],
            partitions: 6,
            retention_hours: 168,
            data_format: "avro".into(),
            primary_cluster: "kafka-a".into(),
            backup_cluster: None,
            active_side: "primary".into(),
            topic: None,
        }
    }

    #[test]
    fn a_project_keeps_an_owner() {
        let mut p = ProjectPeopleInput {
            owners: vec![" , ".into()],
            members: vec!["ann, bob".into()],
        };
        assert_eq!(p.parse().unwrap_err()[0].field, "owners");
        p.owners = vec!["ann".into()];
        assert_eq!(
            p.parse().unwrap(),
            (vec!["ann".to_string()], vec!["bob".to_string()])
        );
    }

    #[test]
    fn a_queue_without_topic_gets_project_dot_queue() {
        let spec = queue().parse("alice").unwrap();
        assert_eq!(spec.topic, "shop.orders");
        assert_eq!(spec.owner, "alice");
        assert_eq!(spec.data_format, DataFormat::Avro);
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut q = queue();
        q.name = "Bad Name".into();
        q.partitions = 0;
        q.data_format = "xml".into();
        let errs = q.parse("alice").unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["name", "partitions", "data_format"]);
        assert!(errs[2].message.contains("avro"), "{}", errs[2].message);
    }

    #[test]
    fn the_backup_side_needs_a_backup_cluster() {
        let mut q = queue();
        q.active_side = "backup".into();
        assert_eq!(q.parse("a").unwrap_err()[0].field, "active_side");
        q.backup_cluster = Some("kafka-a".into());
        assert_eq!(q.parse("a").unwrap_err()[0].field, "backup_cluster");
        q.backup_cluster = Some("kafka-b".into());
        assert_eq!(q.parse("a").unwrap().active_side, ActiveSide::Backup);
    }

    #[test]
    fn sasl_needs_a_username_and_keeps_the_password_out_of_debug() {
        let mut c = ClusterInput {
            name: "kafka-a".into(),
            kind: "cloud-kafka".into(),
            bootstrap_servers: vec!["k1:9092".into()],
            region: String::new(),
            cloud: String::new(),
            sasl_mechanism: "SCRAM-SHA-512".into(),
            sasl_username: String::new(),
            sasl_password: "hunter2".into(),
            client_sasl_username: "app".into(),
            client_sasl_password: "client-pw".into(),
            max_partitions: None,
            max_retention_hours: None,
            tls: false,
            tls_ca_pem: String::new(),
            tls_client_cert_pem: String::new(),
            tls_client_key_pem: String::new(),
        };
        assert_eq!(c.parse().unwrap_err()[0].field, "sasl_username");
        c.sasl_username = "svc".into();
        c.sasl_mechanism = "none".into();
        assert_eq!(c.parse().unwrap_err()[0].field, "client_sasl_username");
        c.sasl_mechanism = "SCRAM-SHA-512".into();
        c.max_partitions = Some(0);
        assert_eq!(c.parse().unwrap_err()[0].field, "max_partitions");
        c.max_partitions = Some(24);
        let spec = c.parse().unwrap();
        assert!(!format!("{spec:?}").contains("client-pw"));
        assert_eq!(spec.kind, ClusterKind::CloudKafka);
        assert!(!format!("{spec:?}").contains("hunter2"));
        c.tls_client_key_pem = "-----BEGIN PRIVATE KEY-----".into();
        for secret in ["hunter2", "client-pw", "PRIVATE KEY"] {
            assert!(!format!("{c:?}").contains(secret), "{secret} in {c:?}");
        }
    }

    #[test]
    fn a_rocketmq_cluster_takes_acl_keys_and_no_tls_yet() {
        let mut c = ClusterInput {
            name: "trade".into(),
            kind: "rocketmq".into(),
            bootstrap_servers: vec!["ns1:9876".into()],
            region: String::new(),
            cloud: String::new(),
            sasl_mechanism: "SCRAM-SHA-256".into(),
            sasl_username: "access-key".into(),
            sasl_password: "secret-key".into(),
            client_sasl_username: String::new(),
            client_sasl_password: String::new(),
            max_partitions: None,
            max_retention_hours: None,
            tls: true,
            tls_ca_pem: String::new(),
            tls_client_cert_pem: String::new(),
            tls_client_key_pem: String::new(),
        };
        let fields: Vec<_> = c
            .parse()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["sasl_mechanism", "tls"]);
        c.sasl_mechanism = "PLAIN".into();
        c.tls = false;
        let spec = c.parse().unwrap();
        assert_eq!(spec.kind, ClusterKind::Rocketmq);
        assert_eq!(spec.sasl_mechanism, SaslMechanism::Plain);
    }
}
