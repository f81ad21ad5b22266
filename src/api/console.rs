//! Server functions behind the console. Each one authorises, calls a service, and on a plain
//! (JavaScript-off) form post redirects to where the user should land next.

use crate::domain::{
    ApplicationView, AuditEntry, AuditFilter, ClusterInput, ClusterView, FieldError, Page,
    ProjectView, QueueInput, QueueView, SearchRequest, SearchResults, UserView,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

mod access;
mod failover;
mod health;
mod lineage;
mod notify;
mod peek;
mod people;
mod schemas;
mod traffic;

pub use access::*;
pub use failover::*;
pub use health::*;
pub use lineage::*;
pub use notify::*;
pub use peek::*;
pub use people::*;
pub use schemas::*;
pub use traffic::*;

/// An error a console page shows: a sentence, and the fields at fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub status: u16,
    pub message: String,
    pub fields: Vec<FieldError>,
}

impl AppError {
    fn plain(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            fields: Vec::new(),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::plain(500, value.to_string())
    }
}

/// A queue form as the browser sends it: every field a string.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueForm {
    pub project: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub partitions: String,
    #[serde(default)]
    pub retention_hours: String,
    #[serde(default)]
    pub data_format: String,
    #[serde(default)]
    pub primary_cluster: String,
    #[serde(default)]
    pub backup_cluster: String,
    #[serde(default)]
    pub active_side: String,
    #[serde(default)]
    pub topic: String,
}

impl QueueForm {
    /// The typed input, naming any number field that is not a number.
    pub fn into_input(self) -> Result<QueueInput, Vec<FieldError>> {
        let int = |field: &str, raw: &str, default: i64| {
            if raw.trim().is_empty() {
                Ok(default)
            } else {
                raw.trim()
                    .parse::<i64>()
                    .map_err(|_| FieldError::new(field, format!("{raw:?} is not a whole number")))
            }
        };
        let partitions = int("partitions", &self.partitions, 6);
        let retention = int("retention_hours", &self.retention_hours, 168);
        let errors: Vec<FieldError> = [&partitions, &retention]
            .into_iter()
            .filter_map(|r| r.clone().err())
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        let or = |s: String, d: &str| {
            if s.trim().is_empty() {
                d.to_string()
            } else {
                s
            }
        };
        Ok(QueueInput {
            project: self.project,
            name: self.name,
            description: self.description,
            owner: self.owner,
            tags: self.tags.split(',').map(str::to_string).collect(),
            partitions: partitions.unwrap_or_default(),
            retention_hours: retention.unwrap_or_default(),
            data_format: or(self.data_format, "json"),
            primary_cluster: self.primary_cluster,
            backup_cluster: Some(self.backup_cluster).filter(|b| !b.trim().is_empty()),
            active_side: or(self.active_side, "primary"),
            topic: Some(self.topic).filter(|t| !t.trim().is_empty()),
        })
    }
}

/// A cluster form as the browser sends it. Its `Debug` leaves out the passwords and the key.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterForm {
    pub name: String,
    pub kind: String,
    pub bootstrap_servers: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub cloud: String,
    #[serde(default)]
    pub sasl_mechanism: String,
    #[serde(default)]
    pub sasl_username: String,
    #[serde(default)]
    pub sasl_password: String,
    #[serde(default)]
    pub client_sasl_username: String,
    #[serde(default)]
    pub client_sasl_password: String,
    /// Empty for no limit.
    #[serde(default)]
    pub max_partitions: String,
    /// Empty for no limit.
    #[serde(default)]
    pub max_retention_hours: String,
    /// `on` when the TLS box is ticked (an unticked box is not sent).
    #[serde(default)]
    pub tls: String,
    #[serde(default)]
    pub tls_ca_pem: String,
    #[serde(default)]
    pub tls_client_cert_pem: String,
    #[serde(default)]
    pub tls_client_key_pem: String,
}

impl std::fmt::Debug for ClusterForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterForm")
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

impl ClusterForm {
    /// The typed input, naming any quota that is not a whole number.
    pub fn into_input(self) -> Result<ClusterInput, Vec<FieldError>> {
        let quota = |field: &str, raw: &str| -> Result<Option<i64>, FieldError> {
            let raw = raw.trim();
            if raw.is_empty() {
                return Ok(None);
            }
            raw.parse::<i64>()
                .map(Some)
                .map_err(|_| FieldError::new(field, format!("{raw:?} is not a whole number")))
        };
        let max_partitions = quota("max_partitions", &self.max_partitions);
        let max_retention_hours = quota("max_retention_hours", &self.max_retention_hours);
        let errors: Vec<FieldError> = [&max_partitions, &max_retention_hours]
            .into_iter()
            .filter_map(|r| r.clone().err())
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut input = ClusterInput::from(self);
        input.max_partitions = max_partitions.unwrap_or_default();
        input.max_retention_hours = max_retention_hours.unwrap_or_default();
        Ok(input)
    }
}

impl From<ClusterForm> for ClusterInput {
    fn from(f: ClusterForm) -> Self {
        ClusterInput {
            name: f.name,
            kind: f.kind,
            bootstrap_servers: vec![f.bootstrap_servers],
            region: f.region,
            cloud: f.cloud,
            sasl_mechanism: if f.sasl_mechanism.is_empty() {
                "none".into()
            } else {
                f.sasl_mechanism
            },
            sasl_username: f.sasl_username,
            sasl_password: f.sasl_password,
            client_sasl_username: f.client_sasl_username,
            client_sasl_password: f.client_sasl_password,
            max_partitions: None,
            max_retention_hours: None,
            tls: matches!(f.tls.as_str(), "on" | "true"),
            tls_ca_pem: f.tls_ca_pem,
            tls_client_cert_pem: f.tls_client_cert_pem,
            tls_client_key_pem: f.tls_client_key_pem,
        }
    }
}

/// A project and a page of its queues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectDetail {
    pub project: ProjectView,
    pub queues: Page<QueueView>,
    pub applications: Vec<ApplicationView>,
    /// The viewer may register applications here (a member, owner or admin).
    pub can_add_application: bool,
    /// The viewer may change its owners and members (an owner or admin).
    pub can_manage_people: bool,
}

/// A cluster and a page of the queues on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterDetail {
    pub cluster: ClusterView,
    pub queues: Page<QueueView>,
    /// Traffic over the last hour on the queues active on it.
    pub traffic: crate::domain::TrafficTotals,
    /// What its brokers answered just now (or within the last few seconds).
    pub health: crate::domain::ClusterHealth,
    /// Its topics, when it could be reached.
    pub topics: Option<Vec<crate::domain::ClusterTopic>>,
    /// Projects topics may be imported into (for admins).
    pub projects: Vec<String>,
}

/// What the queue form's selects offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueChoices {
    pub projects: Vec<String>,
    pub clusters: Vec<String>,
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;
    use crate::domain::{FieldError, UserView};
    use crate::server::auth;
    use crate::server::services::ServiceError;
    use crate::server::state::AppState;
    use http::HeaderMap;
    use leptos::prelude::*;

    impl From<ServiceError> for AppError {
        fn from(e: ServiceError) -> Self {
            if let ServiceError::Internal(cause) = &e {
                tracing::error!(error = ?cause, "server function failed");
            }
            let status = e.status().as_u16();
            AppError {
                status,
                message: e.to_string(),
                fields: e.fields(),
            }
        }
    }

    impl From<Vec<FieldError>> for AppError {
        fn from(e: Vec<FieldError>) -> Self {
            ServiceError::Invalid(e).into()
        }
    }

    /// A request's state, headers and (maybe) user.
    pub struct Call {
        pub state: AppState,
        pub headers: HeaderMap,
        pub user: Option<UserView>,
        /// The client's address (through trusted proxies' `X-Forwarded-For`).
        pub ip: std::net::IpAddr,
    }

    impl Call {
        pub async fn new() -> Result<Self, AppError> {
            // A server function reached outside the console's routes (say, a fuzzer posting to
            // it directly) has no state: an error, never a panic.
            let state = use_context::<AppState>().ok_or_else(|| {
                AppError::plain(
                    500,
                    "this call is served only by the console's routes".to_string(),
                )
            })?;
            let headers: HeaderMap = leptos_axum::extract()
                .await
                .map_err(|e| AppError::plain(500, e.to_string()))?;
            // A page's render carries the user its guard found; a call of its own (a form
            // post, a hydrated island) looks the session up.
            let user = match leptos_axum::extract::<axum::Extension<auth::SignedIn>>().await {
                Ok(axum::Extension(auth::SignedIn(user))) => Some(user),
                Err(_) => auth::user_from_headers(&state, &headers).await?,
            };
            let peer = leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .await
                .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |c| c.0.ip());
            let ip = auth::client_ip(&state, peer, &headers);
            Ok(Self {
                state,
                headers,
                user,
                ip,
            })
        }

        /// The signed-in user, or an error that sends the browser to the login page.
        pub fn actor(&self) -> Result<&UserView, AppError> {
            self.user
                .as_ref()
                .ok_or_else(|| ServiceError::Unauthenticated.into())
        }

        /// The use-case context for the signed-in user (an error sends the browser to sign in).
        pub fn ctx(&self) -> Result<crate::server::services::Ctx, AppError> {
            Ok(self.state.ctx(self.actor()?.clone()))
        }

        /// `read`'s answer to `kind` of `key`, kept for a moment (`server::memo`). The caller
        /// has authorised already; an answer that depends on the viewer has them in `key`.
        pub async fn kept<T, F, Fut>(
            &self,
            kind: &'static str,
            key: &str,
            read: F,
        ) -> Result<T, AppError>
        where
            T: Clone + Send + Sync + 'static,
            F: FnOnce() -> Fut,
            Fut: std::future::Future<Output = crate::server::services::ServiceResult<T>>,
        {
            Ok(self.state.memo.get_or(kind, key, read).await?)
        }

        /// A queue, kept for a moment (every section of its page asks for it).
        pub async fn queue(
            &self,
            project: &str,
            name: &str,
        ) -> Result<crate::domain::QueueView, AppError> {
            let store = self.state.store.as_ref();
            self.kept("queue", &format!("{project}/{name}"), || {
                crate::server::services::queues::get(store, project, name)
            })
            .await
        }

        /// A plain HTML form post (JavaScript off) rather than a call from the hydrated app.
        fn is_plain_form(&self) -> bool {
            self.headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        }

        /// Ends a form's server function: on success go to `next`; on failure a plain form goes
        /// back where it came from with the error in the query string, so the page can show it.
        pub fn finish<T>(
            &self,
            result: Result<T, AppError>,
            next: impl FnOnce(&T) -> String,
        ) -> Result<T, AppError> {
            match &result {
                Ok(v) => leptos_axum::redirect(&next(v)),
                Err(e) if self.is_plain_form() => {
                    let back = self
                        .headers
                        .get(http::header::REFERER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("/");
                    leptos_axum::redirect(&with_error(back, e));
                }
                Err(_) => {}
            }
            result
        }
    }

    /// `url` with its `error` and `field_error` query parameters replaced by `error`'s.
    pub fn with_error(url: &str, error: &AppError) -> String {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .filter(|(k, _)| k != "error" && k != "field_error")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        pairs.push(("error".into(), error.message.clone()));
        pairs.extend(
            error
                .fields
                .iter()
                .map(|f| ("field_error".into(), f.to_string())),
        );
        let q = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        format!("{path}?{q}")
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_error_parameter_is_replaced_not_repeated() {
            let e = super::AppError {
                status: 422,
                message: "name: bad".into(),
                fields: vec![crate::domain::FieldError::new("name", "bad")],
            };
            assert_eq!(
                super::with_error("/a?x=1&error=old&field_error=old", &e),
                "/a?x=1&error=name%3A+bad&field_error=name%3A+bad"
            );
        }
    }
}

#[cfg(feature = "ssr")]
use crate::server::services::{accounts, audit, clusters, projects, queues};
#[cfg(feature = "ssr")]
use ssr::Call;

/// How the sign-in page offers to sign in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SignInChoices {
    /// The identity provider's name, when single sign-on is configured.
    pub provider: Option<String>,
    /// Password sign-in is for administrators only (the break-glass account).
    pub admins_only: bool,
}

/// The signed-in user, if any.
#[server(prefix = "/console")]
pub async fn me() -> Result<Option<UserView>, AppError> {
    Ok(Call::new().await?.user)
}

/// Signs in and sets the session cookie. Used as a plain form, so it works without JavaScript.
#[server(prefix = "/console")]
pub async fn login(username: String, password: String) -> Result<(), AppError> {
    let call = Call::new().await?;
    let result = accounts::login(&call.state, &username, &password, call.ip)
        .await
        .map_err(AppError::from)
        .map(|(token, _)| {
            let response = expect_context::<leptos_axum::ResponseOptions>();
            let cookie = crate::server::auth::session_cookie(&token, call.state.secure_cookies);
            if let Ok(v) = http::HeaderValue::from_str(&cookie) {
                response.insert_header(http::header::SET_COOKIE, v);
            }
        });
    match result {
        Ok(()) => {
            leptos_axum::redirect("/");
            Ok(())
        }
        Err(e) => {
            leptos_axum::redirect(&ssr::with_error("/login", &e));
            Err(e)
        }
    }
}

/// Ends the session and clears the cookie.
#[server(prefix = "/console")]
pub async fn logout() -> Result<(), AppError> {
    let call = Call::new().await?;
    let mut provider_logout = None;
    if let Some(token) = crate::server::auth::session_token(&call.headers) {
        // Asked before the session (and the ID token it holds) is gone.
        provider_logout = crate::server::services::sso::logout_url(&call.state, &token).await;
        accounts::logout(call.state.store.as_ref(), &token).await?;
    }
    let response = expect_context::<leptos_axum::ResponseOptions>();
    let cookie = crate::server::auth::session_cookie("", call.state.secure_cookies);
    if let Ok(v) = http::HeaderValue::from_str(&cookie) {
        response.insert_header(http::header::SET_COOKIE, v);
    }
    leptos_axum::redirect(provider_logout.as_deref().unwrap_or("/login"));
    Ok(())
}

/// How the sign-in page offers to sign in.
#[server(prefix = "/console")]
pub async fn sign_in_options() -> Result<SignInChoices, AppError> {
    let call = Call::new().await?;
    Ok(SignInChoices {
        provider: call
            .state
            .sso
            .as_ref()
            .map(|s| s.settings.provider_name.clone()),
        admins_only: call.state.sso.is_some()
            && call.state.local_sign_in == crate::server::services::sso::LocalSignIn::Admins,
    })
}

/// One queue.
#[server(prefix = "/console")]
pub async fn get_queue(project: String, name: String) -> Result<QueueView, AppError> {
    let call = Call::new().await?;
    call.actor()?;
    call.queue(&project, &name).await
}

/// Projects and clusters to choose from in the queue form.
#[server(prefix = "/console")]
pub async fn queue_form_options() -> Result<QueueChoices, AppError> {
    let call = Call::new().await?;
    call.actor()?;
    let store = call.state.store.as_ref();
    Ok(QueueChoices {
        projects: projects::list(store)
            .await?
            .into_iter()
            .map(|p| p.name)
            .collect(),
        clusters: clusters::list(store)
            .await?
            .into_iter()
            .map(|c| c.name)
            .collect(),
    })
}

/// Creates a queue and goes to its page.
#[server(prefix = "/console")]
pub async fn create_queue(form: QueueForm) -> Result<QueueView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let input = form.into_input()?;
        Ok(queues::create(&cx, &input).await?)
    }
    .await;
    call.finish(result, |q| format!("/queues/{}/{}", q.project, q.name))
}

/// Edits a queue and goes to its page.
#[server(prefix = "/console")]
pub async fn update_queue(
    orig_project: String,
    orig_name: String,
    form: QueueForm,
) -> Result<QueueView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let input = form.into_input()?;
        Ok(queues::update(&cx, &orig_project, &orig_name, &input).await?)
    }
    .await;
    call.finish(result, |q| format!("/queues/{}/{}", q.project, q.name))
}

/// Every project.
#[server(prefix = "/console")]
pub async fn list_projects() -> Result<Vec<ProjectView>, AppError> {
    let call = Call::new().await?;
    let cx = call.ctx()?;
    Ok(projects::list_for(&cx).await?)
}

/// Changes to where a queue's data lives (topic, clusters, project), newest first.
#[server(prefix = "/console")]
pub async fn queue_data_path_changes(
    project: String,
    name: String,
) -> Result<Vec<AuditEntry>, AppError> {
    let call = Call::new().await?;
    call.actor()?;
    let store = call.state.store.as_ref();
    call.kept("data_path_changes", &format!("{project}/{name}"), || {
        queues::data_path_changes(store, &project, &name)
    })
    .await
}

/// A project and its queues.
#[server(prefix = "/console")]
pub async fn get_project(name: String, offset: i64) -> Result<ProjectDetail, AppError> {
    let call = Call::new().await?;
    let cx = call.ctx()?;
    let store = cx.store();
    let project = projects::get_for(&cx, &name).await?;
    let can_add_application = projects::require_member(&cx, &project).await.is_ok();
    let can_manage_people = projects::is_owner(&cx, &project).await?;
    let applications =
        crate::server::services::access::list_applications(store, Some(&name)).await?;
    let filter = crate::domain::QueueFilter {
        project: Some(name),
        offset: Some(offset),
        ..Default::default()
    };
    Ok(ProjectDetail {
        project,
        queues: queues::list(store, &filter).await?,
        applications,
        can_add_application,
        can_manage_people,
    })
}

/// Creates a project and goes to its page.
#[server(prefix = "/console")]
pub async fn create_project(
    name: String,
    description: String,
    owners: String,
    members: String,
) -> Result<ProjectView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let input = crate::domain::ProjectInput {
            name,
            description,
            owners: vec![owners],
            members: vec![members],
        };
        Ok(projects::create(&cx, &input).await?)
    }
    .await;
    call.finish(result, |p| format!("/projects/{}", p.name))
}

/// Every cluster.
#[server(prefix = "/console")]
pub async fn list_clusters() -> Result<Vec<ClusterView>, AppError> {
    let call = Call::new().await?;
    call.actor()?;
    Ok(clusters::list(call.state.store.as_ref()).await?)
}

/// A cluster and the queues on it.
#[server(prefix = "/console")]
pub async fn get_cluster(name: String, offset: i64) -> Result<ClusterDetail, AppError> {
    let call = Call::new().await?;
    call.actor()?;
    let store = call.state.store.as_ref();
    let cluster = clusters::get(store, &name).await?;
    let filter = crate::domain::QueueFilter {
        cluster: Some(name.clone()),
        offset: Some(offset),
        ..Default::default()
    };
    let health = clusters::health(&call.state.kafka, &name).await?;
    let topics = if health.reachable {
        clusters::topics(store, &call.state.kafka, &name).await.ok()
    } else {
        None
    };
    Ok(ClusterDetail {
        traffic: crate::server::services::traffic::cluster_totals(store, &cluster.name).await?,
        cluster,
        queues: queues::list(store, &filter).await?,
        health,
        topics,
        projects: projects::list(store)
            .await?
            .into_iter()
            .map(|p| p.name)
            .collect(),
    })
}

/// Imports topics (one per line) of a cluster as queues of a project (admins).
#[server(prefix = "/console")]
pub async fn import_topics(
    cluster: String,
    project: String,
    topics: String,
) -> Result<crate::domain::ImportResult, AppError> {
    let call = Call::new().await?;
    let result = async {
        let cx = call.ctx()?;
        let input = crate::domain::ImportInput {
            project,
            topics: topics
                .lines()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            owner: String::new(),
        };
        Ok(clusters::import(&cx, &cluster, &input).await?)
    }
    .await;
    call.finish(result, |r| {
        format!(
            "/clusters/{cluster}?imported={}&not_imported={}",
            r.imported.len(),
            r.skipped.len()
        )
    })
}

/// Registers a cluster and goes to its page.
#[server(prefix = "/console")]
pub async fn create_cluster(form: ClusterForm) -> Result<ClusterView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let input = form.into_input()?;
        Ok(clusters::create(&call.ctx()?, &input).await?)
    }
    .await;
    call.finish(result, |c| format!("/clusters/{}", c.name))
}

/// Edits a cluster and goes to its page.
#[server(prefix = "/console")]
pub async fn update_cluster(orig_name: String, form: ClusterForm) -> Result<ClusterView, AppError> {
    let call = Call::new().await?;
    let result = async {
        let input = form.into_input()?;
        Ok(clusters::update(&call.ctx()?, &orig_name, &input).await?)
    }
    .await;
    call.finish(result, |c| format!("/clusters/{}", c.name))
}

/// A filtered page of the audit log (admins).
#[server(prefix = "/console")]
pub async fn list_audit(filter: AuditFilter) -> Result<Page<AuditEntry>, AppError> {
    let call = Call::new().await?;
    let cx = call.ctx()?;
    Ok(audit::list(&cx, &filter).await?)
}

/// Searches the data map (the home page and the header's search box).
#[server(prefix = "/console")]
pub async fn search_queues(req: SearchRequest) -> Result<SearchResults, AppError> {
    let call = Call::new().await?;
    let cx = call.ctx()?;
    Ok(crate::server::services::search::search(&cx, &req).await?)
}
