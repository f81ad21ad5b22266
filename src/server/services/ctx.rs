//! The context every use case acting for someone runs in, built once per request.

use crate::domain::UserView;
use crate::server::crypto::SecretBox;
use crate::server::db::Store;
use crate::server::kafka::{ClusterAgent, KafkaSettings};
use crate::server::lineage::Lineage;
use crate::server::search::QueueIndex;
use std::sync::Arc;

/// Who asks and the platform's parts a use case may reach: storage, the secret box, the
/// cluster agent, the data map's index, the lineage graph and the settings that decide rules.
///
/// The console's `Call::ctx` and the REST extractor build one per request from the server's
/// state, so every surface hands services the same things; the demo seeder and the tests build
/// one with [`Ctx::offline`].
#[derive(Clone)]
pub struct Ctx {
    pub actor: UserView,
    pub store: Arc<dyn Store>,
    pub secrets: Arc<SecretBox>,
    pub kafka: Arc<ClusterAgent>,
    pub search: Arc<QueueIndex>,
    pub lineage: Arc<Lineage>,
    /// Queues with this tag need an admin's approval after an owner's.
    pub sensitive_tag: String,
    /// Internal addresses project webhooks may reach all the same.
    pub webhook_allow: Vec<ipnet::IpNet>,
}

impl Ctx {
    /// The store, borrowed for a call.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The same platform acting for someone else (the demo seeder plays several people).
    pub fn as_user(&self, actor: UserView) -> Self {
        Self {
            actor,
            ..self.clone()
        }
    }

    /// A context outside any server: an empty in-memory index and lineage graph, a cluster
    /// agent with default settings (nothing runs in the background). For seeding and tools.
    pub fn offline(
        store: Arc<dyn Store>,
        secrets: Arc<SecretBox>,
        actor: UserView,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            kafka: ClusterAgent::new(store.clone(), secrets.clone(), KafkaSettings::default()),
            search: Arc::new(QueueIndex::in_memory()?),
            lineage: Lineage::empty(),
            sensitive_tag: super::access::DEFAULT_SENSITIVE_TAG.to_string(),
            webhook_allow: Vec::new(),
            actor,
            store,
            secrets,
        })
    }
}
