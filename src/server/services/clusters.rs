//! Physical clusters, managed by platform operators (admins): registration, live health,
//! their topics, and importing existing topics as queues.

use super::Ctx;
use super::{change_summary, require_admin, ServiceError, ServiceResult};
use crate::domain::{
    queue_name_for_topic, ClusterHealth, ClusterInput, ClusterSpec, ClusterTopic, ClusterView,
    FieldError, ImportInput, ImportResult, SkippedTopic, TopicProvision,
};
use crate::server::db::{AuditEvent, ClusterRow, QueueRow, Store, StoreError};
use crate::server::kafka::ClusterAgent;
use std::collections::HashMap;

fn conflict(name: &str) -> impl Fn(StoreError) -> ServiceError + '_ {
    move |e| match e {
        StoreError::Conflict(_) => ServiceError::Conflict(FieldError::new(
            "name",
            format!("a cluster named {name:?} already exists"),
        )),
        e => e.into(),
    }
}

/// Registers a cluster; its SASL passwords and TLS client key are sealed before they are stored.
pub async fn create(cx: &Ctx, input: &ClusterInput) -> ServiceResult<ClusterView> {
    require_admin(&cx.actor, "register clusters")?;
    let spec = input.parse()?;
    check_pem(&spec)?;
    check_with_librdkafka(&spec).await?;
    let row = row_of(
        &spec,
        spec.sasl_password.as_deref().map(|p| cx.secrets.seal(p)),
        spec.client_sasl_password
            .as_deref()
            .map(|p| cx.secrets.seal(p)),
        spec.tls_client_key_pem
            .as_deref()
            .map(|k| cx.secrets.seal(k)),
    );
    let audit = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "cluster.create",
        target_kind: "cluster",
        target: row.name.clone(),
        summary: summary_of(&row),
    };
    cx.store
        .create_cluster(&row, &audit)
        .await
        .map_err(conflict(&row.name))?;
    get(cx.store(), &row.name).await
}

/// Edits a cluster; an empty password keeps the stored one.
pub async fn update(cx: &Ctx, name: &str, input: &ClusterInput) -> ServiceResult<ClusterView> {
    require_admin(&cx.actor, "edit clusters")?;
    let spec = input.parse()?;
    check_pem(&spec)?;
    check_with_librdkafka(&spec).await?;
    let existing = cx
        .store()
        .cluster(name)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("cluster {name:?}")))?;
    let sealed = match &spec.sasl_password {
        Some(p) => Some(cx.secrets.seal(p)),
        None => existing.sasl_password_enc.clone(),
    };
    let client_sealed = match &spec.client_sasl_password {
        Some(p) => Some(cx.secrets.seal(p)),
        None => existing.client_sasl_password_enc.clone(),
    };
    // A key is kept only beside a certificate; a new certificate needs its own key.
    let key_sealed = match &spec.tls_client_key_pem {
        Some(k) => Some(cx.secrets.seal(k)),
        None if spec.tls_client_cert_pem.is_empty() => None,
        None if spec.tls_client_cert_pem != existing.view.tls_client_cert_pem => {
            return Err(ServiceError::Invalid(vec![FieldError::new(
                "tls_client_key_pem",
                "a new client certificate needs its private key",
            )]))
        }
        None => existing.tls_client_key_enc.clone(),
    };
    let row = row_of(&spec, sealed, client_sealed, key_sealed);
    let before = ClusterRow {
        name: existing.view.name.clone(),
        kind: existing.view.kind.to_string(),
        bootstrap_servers: existing.view.bootstrap_servers.clone(),
        region: existing.view.region.clone(),
        cloud: existing.view.cloud.clone(),
        sasl_mechanism: existing.view.sasl_mechanism.to_string(),
        sasl_username: existing.view.sasl_username.clone(),
        sasl_password_enc: existing.sasl_password_enc.clone(),
        client_sasl_username: existing.view.client_sasl_username.clone(),
        client_sasl_password_enc: existing.client_sasl_password_enc.clone(),
        max_partitions: existing.view.max_partitions,
        max_retention_hours: existing.view.max_retention_hours,
        tls: existing.view.tls,
        tls_ca_pem: existing.view.tls_ca_pem.clone(),
        tls_client_cert_pem: existing.view.tls_client_cert_pem.clone(),
        tls_client_key_enc: existing.tls_client_key_enc.clone(),
    };
    let mut summary = change_summary(Some(&audit_fields(&before)), &audit_fields(&row));
    if spec.sasl_password.is_some() {
        summary.push_str("; sasl_password changed");
    }
    if spec.client_sasl_password.is_some() {
        summary.push_str("; client_sasl_password changed");
    }
    if spec.tls_client_key_pem.is_some() {
        summary.push_str("; tls_client_key changed");
    }
    let audit = AuditEvent {
        actor: cx.actor.username.clone(),
        action: "cluster.update",
        target_kind: "cluster",
        target: row.name.clone(),
        summary,
    };
    cx.store
        .update_cluster(existing.view.id, &row, &audit)
        .await
        .map_err(conflict(&row.name))?;
    get(cx.store(), &row.name).await
}

/// The row to store for a validated cluster and its sealed password.
fn row_of(
    spec: &ClusterSpec,
    sasl_password_enc: Option<String>,
    client_sasl_password_enc: Option<String>,
    tls_client_key_enc: Option<String>,
) -> ClusterRow {
    ClusterRow {
        name: spec.name.to_string(),
        kind: spec.kind.to_string(),
        bootstrap_servers: spec.bootstrap_servers.clone(),
        region: spec.region.clone(),
        cloud: spec.cloud.clone(),
        sasl_mechanism: spec.sasl_mechanism.to_string(),
        sasl_username: spec.sasl_username.clone(),
        sasl_password_enc,
        client_sasl_username: spec.client_sasl_username.clone(),
        client_sasl_password_enc,
        max_partitions: spec.max_partitions,
        max_retention_hours: spec.max_retention_hours,
        tls: spec.tls,
        tls_ca_pem: spec.tls_ca_pem.clone(),
        tls_client_cert_pem: spec.tls_client_cert_pem.clone(),
        tls_client_key_enc,
    }
}

/// The TLS fields hold what they say: certificates only (a private key pasted into a
/// certificate field would be shown to every reader and handed to SDK clients), and a private
/// key. Errors never quote the text.
fn check_pem(spec: &ClusterSpec) -> ServiceResult<()> {
    use rustls_pki_types::pem::{PemObject, SectionKind};
    use rustls_pki_types::PrivateKeyDer;
    let mut errors = Vec::new();
    for (field, text) in [
        ("tls_ca_pem", &spec.tls_ca_pem),
        ("tls_client_cert_pem", &spec.tls_client_cert_pem),
    ] {
        if text.is_empty() {
            continue;
        }
        let sections: Result<Vec<_>, _> =
            <(SectionKind, Vec<u8>)>::pem_slice_iter(text.as_bytes()).collect();
        match sections {
            _ if text.contains("PRIVATE KEY") => errors.push(FieldError::new(
                field,
                "holds a private key: only certificates go here (the key has its own field)",
            )),
            Ok(s) if s.is_empty() => {
                errors.push(FieldError::new(field, "holds no CERTIFICATE block"))
            }
            Ok(s) if s.iter().any(|(kind, _)| *kind != SectionKind::Certificate) => errors.push(
                FieldError::new(field, "holds a block other than CERTIFICATE"),
            ),
            Ok(_) => {}
            Err(_) => errors.push(FieldError::new(field, "is not valid PEM")),
        }
    }
    if let Some(key) = &spec.tls_client_key_pem {
        if PrivateKeyDer::from_pem_slice(key.as_bytes()).is_err() {
            errors.push(FieldError::new(
                "tls_client_key_pem",
                "holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Invalid(errors))
    }
}

/// What librdkafka, which every connection to the cluster goes through, makes of the TLS
/// settings: a key that is not one, or does not belong to the certificate, is refused here
/// rather than on the first connection. The client is made for a port nothing listens on and
/// dropped at once.
async fn check_with_librdkafka(spec: &ClusterSpec) -> ServiceResult<()> {
    use watershed_sdk::wire::{SdkCluster, SdkTls};
    if !spec.tls {
        return Ok(());
    }
    let key = spec.tls_client_key_pem.clone();
    let cluster = SdkCluster {
        name: spec.name.to_string(),
        kind: "kafka".into(),
        bootstrap_servers: vec!["127.0.0.1:1".into()],
        sasl_mechanism: "none".into(),
        sasl_username: String::new(),
        sasl_password: None,
        tls: Some(SdkTls {
            ca_pem: Some(spec.tls_ca_pem.clone()).filter(|p| !p.is_empty()),
            client_cert_pem: key.as_ref().map(|_| spec.tls_client_cert_pem.clone()),
            client_key_pem: key,
        }),
    };
    let made = tokio::task::spawn_blocking(move || {
        watershed_sdk::kafka::KafkaAdmin::new(&cluster)
            .map(drop)
            .map_err(|e| e.message)
    })
    .await
    .map_err(|e| ServiceError::Internal(anyhow::anyhow!("checking TLS settings: {e}")))?;
    let Err(why) = made else { return Ok(()) };
    // librdkafka names the property it refused; the answer names the field, never its text.
    let (field, message) = if why.contains("ssl.ca") {
        ("tls_ca_pem", "is not a CA bundle librdkafka can load")
    } else if why.contains("ssl.certificate") {
        (
            "tls_client_cert_pem",
            "is not a certificate librdkafka can load",
        )
    } else if why.contains("ssl.key") || why.contains("key values mismatch") {
        (
            "tls_client_key_pem",
            "is not a private key librdkafka can load, or does not belong to the certificate",
        )
    } else {
        ("tls", "librdkafka refuses these TLS settings")
    };
    tracing::info!(cluster = %spec.name, field, "TLS settings refused");
    Err(ServiceError::Invalid(vec![FieldError::new(field, message)]))
}

/// The audited fields of a cluster: never the password.
fn audit_fields(row: &ClusterRow) -> serde_json::Value {
    serde_json::json!({
        "name": row.name, "kind": row.kind, "bootstrap_servers": row.bootstrap_servers,
        "region": row.region, "cloud": row.cloud, "sasl_mechanism": row.sasl_mechanism,
        "sasl_username": row.sasl_username, "client_sasl_username": row.client_sasl_username,
        "max_partitions": row.max_partitions, "max_retention_hours": row.max_retention_hours,
        "tls": row.tls, "tls_ca_pem_bytes": row.tls_ca_pem.len(),
        "tls_client_cert_pem_bytes": row.tls_client_cert_pem.len(),
    })
}

fn summary_of(row: &ClusterRow) -> String {
    change_summary(None, &audit_fields(row))
}

/// Every cluster, without secrets.
pub async fn list(store: &dyn Store) -> ServiceResult<Vec<ClusterView>> {
    Ok(store.list_clusters().await?)
}

/// One cluster by name, without secrets.
pub async fn get(store: &dyn Store, name: &str) -> ServiceResult<ClusterView> {
    store
        .cluster(name)
        .await?
        .map(|c| c.view)
        .ok_or_else(|| ServiceError::NotFound(format!("cluster {name:?}")))
}

/// A cluster's health as its brokers answer (a probe at most [`HEALTH_TTL`] old).
///
/// [`HEALTH_TTL`]: crate::server::kafka::HEALTH_TTL
pub async fn health(agent: &ClusterAgent, name: &str) -> ServiceResult<ClusterHealth> {
    Ok(agent.health(name).await?)
}

/// The topics on a cluster, each with the queue it backs there, if any.
pub async fn topics(
    store: &dyn Store,
    agent: &ClusterAgent,
    name: &str,
) -> ServiceResult<Vec<ClusterTopic>> {
    let cluster = get(store, name).await?;
    let bound: HashMap<String, String> = store
        .queues_on_cluster(cluster.id)
        .await?
        .into_iter()
        .map(|q| (q.topic, q.key))
        .collect();
    Ok(agent
        .topics(name)
        .await?
        .into_iter()
        .map(|(topic, partitions)| ClusterTopic {
            queue: bound.get(&topic).cloned(),
            name: topic,
            partitions,
        })
        .collect())
}

/// Registers existing topics of a cluster as queues of a project (admins): one queue per
/// topic, named after it, with the topic as its physical topic and the cluster as primary.
pub async fn import(cx: &Ctx, name: &str, input: &ImportInput) -> ServiceResult<ImportResult> {
    require_admin(&cx.actor, "import topics")?;
    input.validate()?;
    let cluster = get(cx.store(), name).await?;
    let project = cx
        .store
        .project(input.project.trim())
        .await?
        .ok_or_else(|| {
            ServiceError::Invalid(vec![FieldError::new(
                "project",
                format!("there is no project named {:?}", input.project.trim()),
            )])
        })?;
    let owner = if input.owner.trim().is_empty() {
        cx.actor.username.clone()
    } else {
        input.owner.trim().to_string()
    };
    if cx.store.user_by_name(&owner).await?.is_none() {
        return Err(ServiceError::Invalid(vec![FieldError::new(
            "owner",
            format!("there is no user named {owner:?}"),
        )]));
    }
    let on_cluster: HashMap<String, i32> = cx.kafka.topics(name).await?.into_iter().collect();
    let listed = topics(cx.store(), &cx.kafka, name).await?;
    let mut result = ImportResult::default();
    let mut rows = Vec::new();
    let mut names = std::collections::HashSet::new();
    for topic in &input.topics {
        let skip = |reason: String| SkippedTopic {
            topic: topic.clone(),
            reason,
        };
        let Some(&partitions) = on_cluster.get(topic) else {
            result
                .skipped
                .push(skip(format!("cluster {name} has no topic {topic:?}")));
            continue;
        };
        if let Some(queue) = listed
            .iter()
            .find(|t| &t.name == topic)
            .and_then(|t| t.queue.clone())
        {
            result
                .skipped
                .push(skip(format!("already the topic of {queue}")));
            continue;
        }
        let Some(queue_name) = queue_name_for_topic(topic) else {
            result
                .skipped
                .push(skip("no usable queue name can be made from it".into()));
            continue;
        };
        if !names.insert(queue_name.clone())
            || cx.store.queue(&project.name, &queue_name).await?.is_some()
        {
            result.skipped.push(skip(format!(
                "project {} already has a queue named {queue_name:?}",
                project.name
            )));
            continue;
        }
        result
            .imported
            .push(format!("{}/{queue_name}", project.name));
        rows.push(QueueRow {
            project_id: project.id,
            name: queue_name,
            description: format!("Imported from topic {topic} on cluster {name}."),
            owner: owner.clone(),
            tags: vec!["imported".into()],
            partitions: partitions as i64,
            retention_hours: retention_of(cx, &cluster, topic).await,
            data_format: "bytes".into(),
            primary_cluster_id: cluster.id,
            backup_cluster_id: None,
            active_side: "primary".into(),
            topic: topic.clone(),
        });
    }
    if !rows.is_empty() {
        let audit = AuditEvent {
            actor: cx.actor.username.clone(),
            action: "cluster.import",
            target_kind: "cluster",
            target: name.to_string(),
            summary: format!(
                "imported {} topic(s) into {}: {}",
                rows.len(),
                project.name,
                rows.iter()
                    .map(|r| r.topic.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        cx.store.create_queues(&rows, &audit).await?;
    }
    Ok(result)
}

/// An imported topic's retention as its brokers hold it, within what the platform and the
/// cluster allow: a topic that keeps its data for ever gets the longest allowed. When the
/// brokers do not say, the platform's default week stands until the owner edits it.
async fn retention_of(cx: &Ctx, cluster: &ClusterView, topic: &str) -> i64 {
    let longest = cluster
        .max_retention_hours
        .unwrap_or(crate::domain::MAX_RETENTION_HOURS)
        .min(crate::domain::MAX_RETENTION_HOURS);
    match cx.kafka.retention_hours(&cluster.name, topic).await {
        Ok(Some(hours)) => hours.clamp(1, longest),
        Ok(None) => longest,
        Err(e) => {
            tracing::warn!(cluster = %cluster.name, topic, error = %e, "topic retention not read; the default week stands");
            168.min(longest)
        }
    }
}

/// The topic behind a queue on each of its clusters.
pub async fn queue_topics(
    store: &dyn Store,
    project: &str,
    queue: &str,
) -> ServiceResult<Vec<TopicProvision>> {
    let q = super::queues::get(store, project, queue).await?;
    Ok(store.provisions(q.id).await?)
}
