//! The state every request handler and server function shares.

use super::crypto::SecretBox;
use super::db::Store;
use super::kafka::ClusterAgent;
use super::lineage::Lineage;
use super::memo::Memo;
use super::sdk::{SdkPlane, SdkSettings};
use super::search::QueueIndex;
use super::services::Ctx;
use super::signin::SignInGuard;
use crate::domain::UserView;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

/// Shared state: storage, the secret box, the login throttle and Leptos' options.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub secrets: Arc<SecretBox>,
    /// Throttles sign-ins per (name, address) and overall; hashes passwords off the async threads.
    pub sign_in: Arc<SignInGuard>,
    pub leptos_options: LeptosOptions,
    pub secure_cookies: bool,
    pub search: Arc<QueueIndex>,
    /// Queues with this tag need an admin's approval after an owner's.
    pub sensitive_tag: String,
    /// The Stream-SDK control plane and the metrics collector.
    pub sdk: Arc<SdkPlane>,
    /// The lineage graph, kept fresh from what the collector writes.
    pub lineage: Arc<Lineage>,
    /// Talks to the real clusters: health, topic provisioning, offset polling.
    pub kafka: Arc<ClusterAgent>,
    /// Internal addresses project webhooks may reach all the same.
    pub webhook_allow: Vec<ipnet::IpNet>,
    /// What the queue page reads for every viewer, kept for a moment.
    pub memo: Arc<Memo>,
    /// Single sign-on with an OpenID Connect provider, when configured.
    pub sso: Option<Arc<super::sso::Sso>>,
    /// Who may still sign in with a password while single sign-on is configured.
    pub local_sign_in: super::services::sso::LocalSignIn,
}

impl AppState {
    /// State around an opened store.
    pub fn new(
        store: Arc<dyn Store>,
        secrets: SecretBox,
        leptos_options: LeptosOptions,
        secure_cookies: bool,
        search: Arc<QueueIndex>,
    ) -> Self {
        Self::with_sdk(
            store,
            secrets,
            leptos_options,
            secure_cookies,
            search,
            SdkSettings::default(),
        )
    }

    /// State with the SDK plane (and its collector) configured. Nothing follows the database
    /// until [`crate::server::background::start`] runs the background tasks.
    pub fn with_sdk(
        store: Arc<dyn Store>,
        secrets: SecretBox,
        leptos_options: LeptosOptions,
        secure_cookies: bool,
        search: Arc<QueueIndex>,
        sdk: SdkSettings,
    ) -> Self {
        let secrets = Arc::new(secrets);
        let kafka = ClusterAgent::new(store.clone(), secrets.clone(), sdk.kafka.clone());
        let sdk = SdkPlane::start(store.clone(), secrets.clone(), sdk);
        let lineage = Lineage::empty();
        let memo = Memo::new(store.clone());
        Self {
            memo,
            store,
            secrets,
            sdk,
            lineage,
            kafka,
            sign_in: Arc::new(SignInGuard::default()),
            leptos_options,
            secure_cookies,
            search,
            sensitive_tag: super::services::access::DEFAULT_SENSITIVE_TAG.to_string(),
            webhook_allow: Vec::new(),
            sso: None,
            local_sign_in: Default::default(),
        }
    }

    /// The context a use case runs in for `actor`, built once per request.
    pub fn ctx(&self, actor: UserView) -> Ctx {
        Ctx {
            actor,
            store: self.store.clone(),
            secrets: self.secrets.clone(),
            kafka: self.kafka.clone(),
            search: self.search.clone(),
            lineage: self.lineage.clone(),
            sensitive_tag: self.sensitive_tag.clone(),
            webhook_allow: self.webhook_allow.clone(),
        }
    }
}
