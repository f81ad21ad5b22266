//! Peek: who may look inside a queue, reading its messages from a cluster without a consumer
//! group, decoding, masking and filtering them, and the audit entry every look leaves.

use super::{projects, queues, schemas, Ctx, ServiceError, ServiceResult};
use crate::domain::{
    FieldError, Peek, PeekFrom, PeekInput, PeekMessage, PeekPartition, PeekQuery, Permission,
    QueueView,
};
use crate::server::db::{now_millis, AuditEvent};
use crate::server::peek::{contains_text, Decoder, FieldFilter, Version};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use watershed_sdk::kafka::{PlanProblem, RawMessage, ReadFrom, ReadPlan, ReadStop};

/// Who the viewer is to a queue, for reading its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeekRights {
    /// May read the queue's messages.
    pub read: bool,
    /// May see sensitive fields in the clear (the queue's project owners).
    pub unmask: bool,
}

/// Whether the viewer may read the queue's messages: its project's owners and members, admins,
/// and people whose projects' applications hold a live consume grant on it. Only the project's
/// owners may unmask sensitive fields (not admins by their role alone).
pub async fn rights(cx: &Ctx, queue: &QueueView) -> ServiceResult<PeekRights> {
    let project = projects::get(cx.store(), &queue.project).await?;
    let role = cx.store.project_role(project.id, cx.actor.id).await?;
    // As for every owner's power, a viewer-role account never unmasks (projects::is_owner).
    let owner = role.as_deref() == Some("owner") && cx.actor.role.can_write();
    if cx.actor.role.is_admin() || role.is_some() {
        return Ok(PeekRights {
            read: true,
            unmask: owner,
        });
    }
    let held = cx
        .store
        .queue_access(cx.actor.id, &[queue.id], now_millis())
        .await?;
    let consume = [Permission::Consume, Permission::Both].map(|p| p.to_string());
    Ok(PeekRights {
        read: held.iter().any(|(_, p)| consume.contains(p)),
        unmask: false,
    })
}

fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(vec![FieldError::new(field, message)])
}

/// Reads RFC 3339 times (`2026-12-01T09:00:00Z`) into milliseconds.
fn rfc3339_millis(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// A message kept while reading: as read when nothing filters (decoded only if it is among
/// those shown), or already decoded by the filter that let it through.
enum Item {
    Raw(RawMessage),
    Shown(PeekMessage),
}

impl Item {
    fn order(&self) -> (Option<i64>, i32, i64) {
        match self {
            Item::Raw(m) => (m.timestamp, m.partition, m.offset),
            Item::Shown(m) => (m.timestamp, m.partition, m.offset),
        }
    }

    fn partition(&self) -> i32 {
        self.order().1
    }

    fn shown(self, decoder: &Decoder) -> PeekMessage {
        match self {
            Item::Raw(m) => decoder.message(&m),
            Item::Shown(m) => m,
        }
    }
}

/// The messages kept while reading, per partition: the newest (offsets only grow within one),
/// or the first ones at or after a time or offset (the read stops taking a partition once it
/// gave enough; the earliest across partitions are picked after).
enum Kept {
    Newest(BTreeMap<i32, VecDeque<Item>>),
    First(BTreeMap<i32, Vec<Item>>),
}

/// The queue's messages as the viewer may see them; audited.
pub async fn peek(cx: &Ctx, project: &str, name: &str, input: &PeekInput) -> ServiceResult<Peek> {
    let query = PeekQuery::parse(input, now_millis(), rfc3339_millis)?;
    let queue = queues::get(cx.store(), project, name).await?;
    let rights = rights(cx, &queue).await?;
    if !rights.read {
        return Err(ServiceError::Forbidden(format!(
            "only the owners and members of project {:?}, admins, and people whose applications \
             may consume {project}/{name} can read its messages; request access for one of your \
             applications",
            queue.project
        )));
    }
    if query.unmask && !rights.unmask {
        return Err(ServiceError::Forbidden(format!(
            "only the owners of project {:?} may see its queues' sensitive fields in the clear",
            queue.project
        )));
    }
    let (cluster, side) = match (query.other_side, &queue.backup_cluster) {
        (false, _) => (queue.active_cluster().to_string(), queue.active_side),
        (true, None) => {
            return Err(invalid(
                "side",
                format!("{project}/{name} has no other cluster (no backup is bound)"),
            ))
        }
        (true, Some(backup)) => {
            if queue.active_cluster() == backup {
                (
                    queue.primary_cluster.clone(),
                    crate::domain::ActiveSide::Primary,
                )
            } else {
                (backup.clone(), crate::domain::ActiveSide::Backup)
            }
        }
    };
    // Fields the owners marked on the schema page count in every version.
    let marked = cx.store.sensitive_fields(queue.id).await?;
    let mut versions = Vec::new();
    for v in cx.store.schema_versions(queue.id).await? {
        let mut version = Version::new(v.id, v.version, schemas::parsed(&v)?);
        version.sensitive.extend(marked.iter().cloned());
        versions.push(version);
    }
    let latest_version = versions.iter().map(|v| v.version).max();
    let mask_all = queue.tags.iter().any(|t| t == &cx.sensitive_tag);
    let decoder = Arc::new(Decoder::new(versions, mask_all, query.unmask));
    let field = match &query.field {
        None => None,
        Some(text) => {
            let f = FieldFilter::parse(text).map_err(|why| invalid("field", why))?;
            if decoder.masks_path(&f.path) {
                return Err(invalid(
                    "field",
                    format!(
                        "{} is sensitive and masked for you, so messages cannot be filtered by it",
                        f.path
                    ),
                ));
            }
            Some(f)
        }
    };
    if query.key.is_some() && decoder.masks_keys() {
        return Err(invalid(
            "key",
            "keys of this sensitive queue are masked for you, so messages cannot be filtered by key",
        ));
    }
    let from = match query.from {
        PeekFrom::Newest if query.filters() => ReadFrom::Last(query.scan as i64),
        PeekFrom::Newest => ReadFrom::Last(i64::from(query.limit)),
        PeekFrom::Offset(o) => ReadFrom::Offset(o),
        PeekFrom::Time(t) => ReadFrom::Time(t),
    };
    let plan = ReadPlan {
        topic: queue.topic.clone(),
        partitions: query.partition.map(|p| vec![p]),
        from,
        max_bytes: query.max_bytes,
        max_time: Duration::from_secs(u64::from(query.max_secs)),
    };
    let limit = query.limit as usize;
    let newest = query.from == PeekFrom::Newest;
    let kept = Arc::new(Mutex::new(if newest {
        Kept::Newest(BTreeMap::new())
    } else {
        Kept::First(BTreeMap::new())
    }));
    let keep = {
        let (kept, decoder, query) = (kept.clone(), decoder.clone(), query.clone());
        move |raw: RawMessage| {
            if let Some(k) = &query.key {
                if raw.key.as_deref() != Some(k.as_bytes()) {
                    return true;
                }
            }
            let item = if field.is_some() || query.text.is_some() {
                let m = decoder.message(&raw);
                if field.as_ref().is_some_and(|f| !f.matches(&m))
                    || query.text.as_deref().is_some_and(|t| !contains_text(&m, t))
                {
                    return true;
                }
                Item::Shown(m)
            } else {
                Item::Raw(raw)
            };
            let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
            match &mut *kept {
                Kept::Newest(by_partition) => {
                    let q = by_partition.entry(item.partition()).or_default();
                    q.push_back(item);
                    if q.len() > limit {
                        q.pop_front();
                    }
                    true
                }
                Kept::First(by_partition) => {
                    let q = by_partition.entry(item.partition()).or_default();
                    q.push(item);
                    q.len() < limit
                }
            }
        }
    };
    let started = Instant::now();
    let report = match cx.kafka.read(&cluster, plan, keep).await? {
        Ok(r) => r,
        Err(PlanProblem::NoTopic) => {
            return Err(ServiceError::Unavailable(format!(
                "cluster {cluster} has no topic {:?} (yet)",
                queue.topic
            )))
        }
        Err(PlanProblem::NoPartition(p, count)) => {
            return Err(invalid(
                "partition",
                format!(
                    "{project}/{name} has no partition {p}: its topic on {cluster} has {count} (0 to {})",
                    count.saturating_sub(1)
                ),
            ))
        }
        Err(PlanProblem::OffsetPastEnd(o, end)) => {
            return Err(invalid(
                "offset",
                format!("{o} is past the end: no partition read reaches beyond offset {end}"),
            ))
        }
    };
    let kept = std::mem::replace(
        &mut *kept.lock().unwrap_or_else(|e| e.into_inner()),
        Kept::First(BTreeMap::new()),
    );
    let mut items = match kept {
        Kept::Newest(by_partition) => {
            let mut all: Vec<Item> = by_partition.into_values().flatten().collect();
            all.sort_by_key(|m| std::cmp::Reverse(m.order()));
            all
        }
        Kept::First(by_partition) => {
            let mut all: Vec<Item> = by_partition.into_values().flatten().collect();
            all.sort_by_key(Item::order);
            all
        }
    };
    items.truncate(limit);
    let messages: Vec<PeekMessage> = items.into_iter().map(|i| i.shown(&decoder)).collect();
    let stopped = match report.stopped {
        ReadStop::End => "end",
        ReadStop::Enough => "limit",
        ReadStop::Bytes => "bytes",
        ReadStop::Time => "time",
    };
    let answer = Peek {
        project: queue.project.clone(),
        queue: queue.name.clone(),
        cluster: cluster.clone(),
        side: side.to_string(),
        topic: queue.topic.clone(),
        schema_version: latest_version,
        partitions: report
            .partitions
            .iter()
            .map(|s| PeekPartition {
                partition: s.partition,
                low: s.low,
                high: s.high,
                start: s.start,
            })
            .collect(),
        scanned: report.scanned,
        bytes_read: report.bytes,
        elapsed_ms: started.elapsed().as_millis() as u64,
        stopped: stopped.to_string(),
        max_bytes: query.max_bytes,
        max_secs: query.max_secs,
        unmasked: query.unmask,
        can_unmask: rights.unmask,
        messages,
    };
    cx.store
        .record_audit(&audit_entry(cx, &query, &answer))
        .await?;
    Ok(answer)
}

/// The audit entry of a peek: who, which queue, how many messages, from where, the filters.
fn audit_entry(cx: &Ctx, q: &PeekQuery, answer: &Peek) -> AuditEvent {
    let mut how = vec![match q.from {
        PeekFrom::Newest => "newest".to_string(),
        PeekFrom::Offset(o) => format!("from offset {o}"),
        PeekFrom::Time(t) => format!("from time {t}"),
    }];
    if let Some(p) = q.partition {
        how.push(format!("partition {p}"));
    }
    if let Some(k) = &q.key {
        how.push(format!("key {k:?}"));
    }
    if let Some(f) = &q.field {
        how.push(format!("field {f}"));
    }
    if let Some(t) = &q.text {
        how.push(format!("text {t:?}"));
    }
    AuditEvent {
        actor: cx.actor.username.clone(),
        action: if q.unmask {
            "queue.peek_unmasked"
        } else {
            "queue.peek"
        },
        target_kind: "queue",
        target: format!("{}/{}", answer.project, answer.queue),
        summary: format!(
            "{} messages shown of {} read on cluster {} ({}){}",
            answer.messages.len(),
            answer.scanned,
            answer.cluster,
            how.join(", "),
            if q.unmask {
                "; sensitive fields in the clear"
            } else {
                ""
            }
        ),
    }
}

/// The shown messages as JSON lines (masked as shown): each a message with its value parsed
/// when it is JSON.
pub fn json_lines(peek: &Peek) -> String {
    let mut out = String::new();
    for m in &peek.messages {
        let mut line = serde_json::to_value(m).unwrap_or_default();
        if matches!(m.encoding.as_str(), "avro" | "json" | "protobuf") {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&m.value) {
                line["value"] = v;
            }
        }
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}
