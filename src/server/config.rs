//! Typed configuration from flags and environment variables.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Watershed: logical queues over many Kafka-protocol clusters.
#[derive(Parser, Debug)]
#[command(name = "watershed", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Settings every subcommand shares.
#[derive(Args, Clone)]
pub struct Common {
    /// Where Watershed keeps its SQLite database and key file.
    #[arg(
        long,
        env = "WATERSHED_DATA_DIR",
        default_value = "data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; by default SQLite in the data dir.
    #[arg(long, env = "WATERSHED_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// 32-byte key (base64 or hex) that seals cluster secrets; by default a key file in the data dir.
    #[arg(
        long,
        env = "WATERSHED_SECRET_KEY",
        global = true,
        hide_env_values = true
    )]
    pub secret_key: Option<String>,
}

impl std::fmt::Debug for Common {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Common")
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// A proxy address (`10.0.0.5`, `::1`) or block (`10.0.0.0/8`).
pub fn parse_proxy(raw: &str) -> Result<ipnet::IpNet, String> {
    let raw = raw.trim();
    raw.parse::<ipnet::IpNet>()
        .or_else(|_| raw.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{raw:?} is neither an IP address nor a CIDR block"))
}

/// A database URL with its password hidden, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:[redacted]{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Common {
    /// Where the search index lives.
    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }

    /// The database to open.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("watershed.db").display()))
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the console and the REST API (the default).
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Seed a realistic demo dataset.
    Demo(DemoArgs),
    /// Rebuild the search index from the database.
    Reindex,
    /// Simulate a fleet of Stream-SDK clients against a running Watershed.
    Loadgen(LoadgenArgs),
}

/// `watershed loadgen`: N simulated clients, each asking for its config once, then
/// heartbeating and reporting on a compressed schedule.
#[derive(Args, Debug, Clone)]
pub struct LoadgenArgs {
    /// The platform's base URL.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// An application token with a live grant on the queue.
    #[arg(long, env = "WATERSHED_APP_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The application's name (as in the console).
    #[arg(long)]
    pub app: String,
    /// `project/queue`.
    #[arg(long)]
    pub queue: String,
    /// `producer` or `consumer`.
    #[arg(long, default_value = "producer")]
    pub role: String,
    /// Simulated client instances.
    #[arg(long, default_value_t = 1000)]
    pub clients: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Each client reports this often (milliseconds); a real SDK reports every minute.
    #[arg(long, default_value_t = 1000)]
    pub report_every_ms: u64,
    /// Each client heartbeats this often (milliseconds).
    #[arg(long, default_value_t = 5000)]
    pub heartbeat_every_ms: u64,
    /// Reports sent per call (clients of one process batch them).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Concurrent HTTP connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
}

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "WATERSHED_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// The built site (JS, wasm, CSS, public files).
    #[arg(long, env = "WATERSHED_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,
    /// Password for the `admin` account created on an empty database; random and printed once if unset.
    #[arg(long, env = "WATERSHED_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Seed the demo dataset when the database has no projects yet.
    #[arg(long, env = "WATERSHED_SEED_DEMO", default_value_t = false)]
    pub seed_demo: bool,
    /// Queues carrying this tag need an admin's approval after an owner's.
    #[arg(long, env = "WATERSHED_SENSITIVE_TAG", default_value = "pii")]
    pub sensitive_tag: String,
    /// Mark the session cookie Secure (set it when Watershed is served over TLS).
    #[arg(long, env = "WATERSHED_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,
    /// How often Stream-SDK clients are told to heartbeat, in seconds.
    #[arg(long, env = "WATERSHED_SDK_HEARTBEAT_SECS", default_value_t = 60)]
    pub sdk_heartbeat_secs: u64,
    /// Proxies (addresses or CIDR blocks, comma-separated) whose X-Forwarded-For is believed.
    #[arg(long, env = "WATERSHED_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Sign-in attempts allowed per user name and client address and minute (that many at once,
    /// then one every 60/N seconds).
    #[arg(long, env = "WATERSHED_SIGN_IN_PER_MINUTE", default_value_t = crate::server::signin::DEFAULT_PER_MINUTE)]
    pub sign_in_per_minute: u32,
    /// Internal addresses (IPs or CIDR blocks, comma-separated) project webhooks may reach;
    /// loopback, private and link-local addresses are refused otherwise.
    #[arg(long, env = "WATERSHED_WEBHOOK_ALLOW", value_delimiter = ',', value_parser = parse_proxy)]
    pub webhook_allow: Vec<ipnet::IpNet>,
    /// Days read notifications and finished webhook deliveries are kept.
    #[arg(long, env = "WATERSHED_NOTICE_RETENTION_DAYS", default_value_t = 30)]
    pub notice_retention_days: i64,
    /// Report rows the collector holds in memory before answering 429.
    #[arg(long, env = "WATERSHED_COLLECTOR_CAPACITY", default_value_t = 100_000)]
    pub collector_capacity: usize,
    /// Days raw SDK reports are kept.
    #[arg(long, env = "WATERSHED_RETENTION_RAW_DAYS", default_value_t = 7)]
    pub retention_raw_days: i64,
    /// Days per-minute rollups (and consumer lag) are kept.
    #[arg(long, env = "WATERSHED_RETENTION_MINUTE_DAYS", default_value_t = 30)]
    pub retention_minute_days: i64,
    /// Days hourly rollups are kept.
    #[arg(long, env = "WATERSHED_RETENTION_HOUR_DAYS", default_value_t = 365)]
    pub retention_hour_days: i64,
    /// How often end offsets and consumer-group offsets are read off every cluster, in
    /// seconds; 0 turns polling off.
    #[arg(long, env = "WATERSHED_KAFKA_POLL_SECS", default_value_t = 30)]
    pub kafka_poll_secs: u64,
    /// Create each queue's topic on its primary and backup clusters when it is created or rebound.
    #[arg(long, env = "WATERSHED_PROVISION_TOPICS", default_value_t = true, action = clap::ArgAction::Set)]
    pub provision_topics: bool,
    /// The consumer-health evaluation window in seconds: a group is STALLED after a whole
    /// window without a commit while it has lag.
    #[arg(long, env = "WATERSHED_HEALTH_WINDOW_SECS", default_value_t = 600)]
    pub health_window_secs: u64,
    /// Access requests waiting this many days remind their approvers, once a day until
    /// decided; 0 sends no reminders.
    #[arg(long, env = "WATERSHED_REQUEST_REMINDER_DAYS", default_value_t = 3)]
    pub request_reminder_days: u32,
    /// The SMTP relay alert e-mails go through, e.g. `smtp://mail.example.com:587?tls=required`
    /// or `smtps://user:password@mail.example.com`; unset sends no e-mail.
    #[arg(long, env = "WATERSHED_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender of alert e-mails.
    #[arg(
        long,
        env = "WATERSHED_SMTP_FROM",
        default_value = "watershed@localhost"
    )]
    pub smtp_from: String,
    /// Single sign-on with an OpenID Connect provider.
    #[command(flatten)]
    pub sso: SsoArgs,
}

/// Single sign-on settings: unset issuer, no single sign-on.
#[derive(Args, Clone, Default)]
pub struct SsoArgs {
    /// The provider's issuer URL, exactly as its discovery document states it.
    #[arg(long, env = "WATERSHED_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// The client id Watershed is registered under at the provider.
    #[arg(long, env = "WATERSHED_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// The client secret.
    #[arg(long, env = "WATERSHED_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,
    /// A file holding the client secret (instead of the variable).
    #[arg(long, env = "WATERSHED_OIDC_CLIENT_SECRET_FILE")]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// The redirect URL registered at the provider: `<public URL>/auth/oidc/callback`.
    #[arg(long, env = "WATERSHED_OIDC_REDIRECT_URL")]
    pub oidc_redirect_url: Option<String>,
    /// Scopes asked for beside `openid` (comma- or space-separated).
    #[arg(
        long,
        env = "WATERSHED_OIDC_SCOPES",
        default_value = "profile email groups offline_access"
    )]
    pub oidc_scopes: String,
    /// The provider's name on the sign-in button.
    #[arg(long, env = "WATERSHED_OIDC_NAME", default_value = "single sign-on")]
    pub oidc_name: String,
    /// The ID token claim a user's name comes from (an e-mail address gives its local part).
    #[arg(
        long,
        env = "WATERSHED_OIDC_USERNAME_CLAIM",
        default_value = "preferred_username"
    )]
    pub oidc_username_claim: String,
    /// The ID token claim listing the user's groups.
    #[arg(long, env = "WATERSHED_OIDC_GROUPS_CLAIM", default_value = "groups")]
    pub oidc_groups_claim: String,
    /// Groups to roles: `group=role` pairs, comma-separated; the highest role a user's groups
    /// give wins.
    #[arg(long, env = "WATERSHED_OIDC_ROLE_GROUPS", default_value = "")]
    pub oidc_role_groups: String,
    /// The role of users in none of the role groups, or `none` (the default) to refuse them:
    /// a provider such as Google signs in anyone with an account.
    #[arg(long, env = "WATERSHED_OIDC_DEFAULT_ROLE", default_value = "none")]
    pub oidc_default_role: String,
    /// Groups to project places: `pattern=owner|member` pairs whose pattern holds `{project}`,
    /// e.g. `data-{project}-owners=owner,data-{project}-members=member`.
    #[arg(long, env = "WATERSHED_OIDC_PROJECT_GROUPS", default_value = "")]
    pub oidc_project_groups: String,
    /// Where the provider sends the browser after signing out; by default the sign-in page
    /// beside the redirect URL.
    #[arg(long, env = "WATERSHED_OIDC_POST_LOGOUT_URL")]
    pub oidc_post_logout_url: Option<String>,
    /// Seconds the provider's clock may differ from ours.
    #[arg(long, env = "WATERSHED_OIDC_CLOCK_SKEW_SECS", default_value_t = 60)]
    pub oidc_clock_skew_secs: u64,
    /// Minutes between checks of each single sign-on user with the provider (refresh token);
    /// users it no longer lets in lose their sessions and personal tokens.
    #[arg(long, env = "WATERSHED_OIDC_CHECK_MINUTES", default_value_t = 15)]
    pub oidc_check_minutes: u64,
    /// Who may sign in with a password while single sign-on is configured: `everyone` or
    /// `admins` (the break-glass account).
    #[arg(long, env = "WATERSHED_LOCAL_SIGN_IN", default_value = "everyone")]
    pub local_sign_in: String,
}

impl SsoArgs {
    /// The single sign-on settings, `None` without an issuer; a missing or bad setting is an
    /// error naming its variable.
    pub fn settings(&self) -> anyhow::Result<Option<crate::server::sso::SsoSettings>> {
        use anyhow::{anyhow, bail, Context};
        let Some(issuer) = self.oidc_issuer.clone().filter(|i| !i.trim().is_empty()) else {
            return Ok(None);
        };
        let required = |v: &Option<String>, name: &str| {
            v.clone()
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| anyhow!("{name} is required with WATERSHED_OIDC_ISSUER"))
        };
        let client_id = required(&self.oidc_client_id, "WATERSHED_OIDC_CLIENT_ID")?;
        let redirect_url = required(&self.oidc_redirect_url, "WATERSHED_OIDC_REDIRECT_URL")?;
        let client_secret = match (&self.oidc_client_secret, &self.oidc_client_secret_file) {
            (Some(s), _) if !s.is_empty() => s.clone(),
            (_, Some(path)) => std::fs::read_to_string(path)
                .with_context(|| {
                    format!(
                        "WATERSHED_OIDC_CLIENT_SECRET_FILE: reading {}",
                        path.display()
                    )
                })?
                .trim()
                .to_string(),
            _ => bail!(
                "WATERSHED_OIDC_CLIENT_SECRET or WATERSHED_OIDC_CLIENT_SECRET_FILE is required \
                 with WATERSHED_OIDC_ISSUER"
            ),
        };
        let mapping = crate::server::sso::mapping::GroupMapping::parse(
            &self.oidc_role_groups,
            &self.oidc_default_role,
            &self.oidc_project_groups,
        )
        .map_err(|e| anyhow!("{}: {}", e.field, e.message))?;
        let post_logout_url = match &self.oidc_post_logout_url {
            Some(u) => u.clone(),
            None => {
                let mut u = url::Url::parse(&redirect_url)
                    .map_err(|e| anyhow!("WATERSHED_OIDC_REDIRECT_URL: {e}"))?;
                u.set_path("/login");
                u.set_query(None);
                u.to_string()
            }
        };
        Ok(Some(crate::server::sso::SsoSettings {
            issuer,
            client_id,
            client_secret,
            redirect_url,
            scopes: self
                .oidc_scopes
                .split([',', ' '])
                .map(str::trim)
                .filter(|s| !s.is_empty() && *s != "openid")
                .map(str::to_string)
                .collect(),
            provider_name: self.oidc_name.trim().to_string(),
            username_claim: self.oidc_username_claim.trim().to_string(),
            groups_claim: self.oidc_groups_claim.trim().to_string(),
            mapping,
            post_logout_url,
            clock_skew: std::time::Duration::from_secs(self.oidc_clock_skew_secs),
            check_every: std::time::Duration::from_secs(self.oidc_check_minutes.max(1) * 60),
        }))
    }
}

impl std::fmt::Debug for SsoArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoArgs")
            .field("oidc_issuer", &self.oidc_issuer)
            .field("oidc_client_id", &self.oidc_client_id)
            .field(
                "oidc_client_secret",
                &self.oidc_client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("oidc_redirect_url", &self.oidc_redirect_url)
            .field("oidc_role_groups", &self.oidc_role_groups)
            .field("oidc_project_groups", &self.oidc_project_groups)
            .field("local_sign_in", &self.local_sign_in)
            .finish()
    }
}

impl ServeArgs {
    /// The SDK plane's settings from these flags.
    pub fn sdk_settings(&self) -> crate::server::sdk::SdkSettings {
        use crate::server::collector::{CollectorConfig, Retention};
        crate::server::sdk::SdkSettings {
            heartbeat_secs: self.sdk_heartbeat_secs.max(1),
            trusted_proxies: self.trusted_proxies.clone(),
            collector: CollectorConfig {
                capacity: self
                    .collector_capacity
                    .max(crate::domain::MAX_REPORTS_PER_CALL),
                retention: Retention {
                    raw_days: self.retention_raw_days,
                    minute_days: self.retention_minute_days,
                    hour_days: self.retention_hour_days,
                    ..Retention::default()
                },
                ..CollectorConfig::default()
            },
            sensitive_tag: self.sensitive_tag.trim().to_lowercase(),
            kafka: crate::server::kafka::KafkaSettings {
                poll_every: (self.kafka_poll_secs > 0)
                    .then(|| std::time::Duration::from_secs(self.kafka_poll_secs)),
                provision: self.provision_topics,
                retention_days: self.retention_minute_days,
                health: crate::server::health::HealthSettings {
                    window: std::time::Duration::from_secs(self.health_window_secs.max(1)),
                    client_fresh: std::time::Duration::from_secs(
                        3 * self.sdk_heartbeat_secs.max(1),
                    ),
                },
            },
        }
    }
}

impl std::fmt::Debug for ServeArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeArgs")
            .field("addr", &self.addr)
            .field("site_root", &self.site_root)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "[redacted]"),
            )
            .field("seed_demo", &self.seed_demo)
            .field("sensitive_tag", &self.sensitive_tag)
            .field("secure_cookies", &self.secure_cookies)
            .field("sdk_heartbeat_secs", &self.sdk_heartbeat_secs)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("webhook_allow", &self.webhook_allow)
            .field("sign_in_per_minute", &self.sign_in_per_minute)
            .field("notice_retention_days", &self.notice_retention_days)
            .field("collector_capacity", &self.collector_capacity)
            .field("kafka_poll_secs", &self.kafka_poll_secs)
            .field("provision_topics", &self.provision_topics)
            .field("health_window_secs", &self.health_window_secs)
            .field("request_reminder_days", &self.request_reminder_days)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("smtp_from", &self.smtp_from)
            .field("sso", &self.sso)
            .finish()
    }
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user. The password comes from WATERSHED_USER_PASSWORD, or is generated and printed.
    Add {
        username: String,
        #[arg(long, default_value = "developer")]
        role: String,
    },
    /// Set a user's password from WATERSHED_USER_PASSWORD, or a generated one that is printed.
    SetPassword { username: String },
    /// Change a user's role: admin, approver, developer or viewer.
    Role { username: String, role: String },
    /// Issue a personal API token for a user and print it once (for scripts and the SDK
    /// walkthrough; the console's "API tokens" page does the same).
    Token {
        username: String,
        /// The token's name, shown in its list.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Days until it expires (1 to 365).
        #[arg(long, default_value_t = 90)]
        days: i64,
    },
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// How many queues to generate.
    #[arg(long, default_value_t = 50)]
    pub queues: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_proxies_take_plain_addresses_and_blocks() {
        let cli = Cli::parse_from([
            "watershed",
            "serve",
            "--trusted-proxies",
            "127.0.0.1,10.0.0.0/8,::1",
        ]);
        let Some(Command::Serve(args)) = cli.command else {
            panic!("serve expected")
        };
        let shown: Vec<String> = args.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(shown, ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]);
        assert!(parse_proxy("example").unwrap_err().contains("example"));
    }

    #[test]
    fn single_sign_on_settings_name_what_is_missing_and_read_the_secret_file() {
        let mut sso = SsoArgs {
            oidc_issuer: Some("https://id.example.com/realms/data".into()),
            oidc_client_id: Some("watershed".into()),
            oidc_redirect_url: Some("https://ws.example.com/auth/oidc/callback".into()),
            oidc_scopes: "openid profile, email groups".into(),
            oidc_default_role: "viewer".into(),
            ..Default::default()
        };
        let e = sso.settings().unwrap_err().to_string();
        assert!(e.contains("WATERSHED_OIDC_CLIENT_SECRET"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "s3cret\n").unwrap();
        sso.oidc_client_secret_file = Some(file);
        let s = sso.settings().unwrap().unwrap();
        assert_eq!(s.client_secret, "s3cret");
        assert_eq!(s.scopes, ["profile", "email", "groups"]);
        assert_eq!(s.post_logout_url, "https://ws.example.com/login");
        assert!(
            !format!("{s:?}").contains("s3cret"),
            "the secret is redacted"
        );
        sso.oidc_role_groups = "ops=root".into();
        let e = sso.settings().unwrap_err().to_string();
        assert!(e.contains("WATERSHED_OIDC_ROLE_GROUPS"), "{e}");
        assert!(SsoArgs::default().settings().unwrap().is_none());
    }

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://ws:s3cret@db:5432/ws"),
            "postgres://ws:[redacted]@db:5432/ws"
        );
        assert_eq!(redact_url("sqlite://data/w.db"), "sqlite://data/w.db");
    }

    #[test]
    fn the_default_database_is_sqlite_in_the_data_dir() {
        let cli = Cli::parse_from(["watershed", "--data-dir", "d", "migrate"]);
        assert_eq!(cli.common.database_url(), "sqlite://d/watershed.db");
        assert!(
            !format!("{:?}", Cli::parse_from(["watershed", "--secret-key", "k"])).contains("\"k\"")
        );
    }
}
