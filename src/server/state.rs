//! The state every request handler and server function shares.

use super::crypto::SecretBox;
use super::db::Store;
use super::kafka::ClusterAgent;
use super::lineage::Lineage;
use super::sdk::{SdkPlane, SdkSettings};
use super::search::QueueIndex;
use axum::extract::FromRef;
use governor::{clock::DefaultClock, state::keyed::DefaultKeyedStateStore, Quota, RateLimiter};
use leptos::prelude::LeptosOptions;
use std::num::NonZeroU32;
use std::sync::Arc;

/// Sign-in attempts allowed per user name: a burst of 10, then one every 6 seconds.
pub type LoginThrottle = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// Shared state: storage, the secret box, the login throttle and Leptos' options.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub secrets: Arc<SecretBox>,
    pub login_throttle: Arc<LoginThrottle>,
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

    /// State with the SDK plane (and its collector) configured.
    pub fn with_sdk(
        store: Arc<dyn Store>,
        secrets: SecretBox,
        leptos_options: LeptosOptions,
        secure_cookies: bool,
        search: Arc<QueueIndex>,
        sdk: SdkSettings,
    ) -> Self {
        let secrets = Arc::new(secrets);
        let kafka = ClusterAgent::start(store.clone(), secrets.clone(), sdk.kafka.clone());
        let sdk = SdkPlane::start(store.clone(), secrets.clone(), sdk);
        let lineage = Lineage::start(store.clone(), sdk.collector.edges_written());
        let quota = Quota::per_minute(NonZeroU32::new(10).unwrap());
        Self {
            store,
            secrets,
            sdk,
            lineage,
            kafka,
            login_throttle: Arc::new(RateLimiter::keyed(quota)),
            leptos_options,
            secure_cookies,
            search,
            sensitive_tag: super::services::access::DEFAULT_SENSITIVE_TAG.to_string(),
        }
    }
}
