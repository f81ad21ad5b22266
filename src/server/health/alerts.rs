//! Alert rules turned into alerts: after each poll, every rule in force is checked against the
//! monitor's figures; a condition that held for the rule's duration fires an alert, and the
//! alert resolves when the condition no longer holds. One notification per transition: the
//! console (owners of the queue's project and of the applications behind the group), the
//! projects' webhooks (`alert.firing`, `alert.resolved`) and e-mail. A silence in force keeps
//! the notifications back; the alert is still recorded.

use super::{mail::Mailer, Monitor, QueueFacts, TrackedGroup};
use crate::domain::{AlertKind, GroupStatus, RuleScope, RuleSettings, SilenceView};
use crate::server::db::alerts::{NewAlert, RuleRow};
use crate::server::db::{now_millis, Audience, AuditEvent, Notice, Store};
use crate::server::services::failover::ConfigSource;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use strum::IntoEnumIterator;

/// An alert's subject: a queue, the group on it (empty for the queue itself) and the kind.
pub type Subject = (i64, String, AlertKind);

/// A condition that holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub reason: String,
    /// The people to tell besides the queue's project owners: the groups' application owners.
    pub owners: Vec<String>,
    /// Projects of those applications (their webhooks hear it too).
    pub projects: Vec<String>,
}

/// The rules in force, indexed for the evaluation.
#[derive(Debug, Default, Clone)]
pub struct Rules {
    queue: HashMap<(i64, AlertKind), RuleSettings>,
    application: HashMap<(i64, AlertKind), RuleSettings>,
}

impl Rules {
    pub fn new(rows: &[RuleRow]) -> Self {
        let mut rules = Rules::default();
        for r in rows {
            let map = match r.scope {
                RuleScope::Queue => &mut rules.queue,
                RuleScope::Application => &mut rules.application,
            };
            map.insert((r.target_id, r.kind), r.settings);
        }
        rules
    }

    /// The settings in force for `kind` on a queue and the given applications' groups: the
    /// queue's own (or its default) and each application's, muted ones left out.
    fn in_force(&self, queue_id: i64, apps: &[i64], kind: AlertKind) -> Vec<RuleSettings> {
        let mut out = Vec::new();
        match self
            .queue
            .get(&(queue_id, kind))
            .copied()
            .or(kind.default_rule())
        {
            Some(s) if !s.muted => out.push(s),
            _ => {}
        }
        for app in apps {
            if let Some(s) = self.application.get(&(*app, kind)) {
                if !s.muted {
                    out.push(*s);
                }
            }
        }
        out
    }
}

/// Alert state between passes: conditions waiting out their rule's duration and open alerts.
#[derive(Debug, Default)]
pub struct Engine {
    /// (subject, threshold) → since when the condition has held.
    pending: HashMap<(Subject, Option<i64>), i64>,
    /// Open alerts by subject → id.
    open: HashMap<Subject, i64>,
}

/// What one evaluation found.
#[derive(Debug, Default)]
pub struct Evaluation {
    /// Conditions that have held for their rule's duration: alerts fire for these.
    pub held: HashMap<Subject, Holding>,
    /// Subjects whose condition holds now, or cannot be told yet: their open alerts stay open.
    pub keep: HashSet<Subject>,
}

/// What a pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub fired: usize,
    pub resolved: usize,
}

impl Engine {
    /// The conditions that have held for their rule's duration at `now`. `stale` maps a queue
    /// to how many SDK clients still run an older config.
    pub fn evaluate(
        &mut self,
        now: i64,
        rules: &Rules,
        groups: &[TrackedGroup],
        queues: &[QueueFacts],
        stale: &HashMap<i64, i64>,
    ) -> Evaluation {
        let mut held: HashMap<Subject, Holding> = HashMap::new();
        let mut keep: HashSet<Subject> = HashSet::new();
        let mut seen: HashSet<(Subject, Option<i64>)> = HashSet::new();
        let mut check = |subject: Subject,
                         settings: &RuleSettings,
                         holds: Option<bool>,
                         since: Option<i64>,
                         reason: &dyn Fn() -> String,
                         who: &dyn Fn() -> (Vec<String>, Vec<String>)| {
            match holds {
                Some(false) => return,
                None => {
                    // Not known yet (right after a start, say): an open alert stays open, a
                    // pending condition keeps its start, nothing new fires.
                    let key = (subject.clone(), settings.threshold);
                    if self.pending.contains_key(&key) {
                        seen.insert(key);
                    }
                    keep.insert(subject);
                    return;
                }
                Some(true) => {}
            }
            keep.insert(subject.clone());
            let key = (subject.clone(), settings.threshold);
            let start = *self
                .pending
                .entry(key.clone())
                .or_insert(since.unwrap_or(now));
            seen.insert(key);
            if now - start >= settings.for_seconds * 1000 && !held.contains_key(&subject) {
                let (owners, projects) = who();
                held.insert(
                    subject,
                    Holding {
                        reason: reason(),
                        owners,
                        projects,
                    },
                );
            }
        };
        for g in groups {
            let h = &g.health;
            let who = || (g.owners.clone(), g.application_projects());
            for kind in [
                AlertKind::LagMessages,
                AlertKind::LagSeconds,
                AlertKind::GroupStalled,
            ] {
                for s in rules.in_force(g.queue_id, &g.application_ids, kind) {
                    let subject = (g.queue_id, h.consumer_group.clone(), kind);
                    let threshold = s.threshold.unwrap_or(0);
                    let (holds, reason): (Option<bool>, Box<dyn Fn() -> String>) = match kind {
                        AlertKind::LagMessages => (
                            Some(h.lag_messages > threshold),
                            Box::new(move || {
                                format!(
                                    "group {} is {} messages behind (rule: above {threshold})",
                                    h.consumer_group, h.lag_messages
                                )
                            }),
                        ),
                        AlertKind::LagSeconds => (
                            // A lower bound under the threshold says nothing yet (right after
                            // a start the tables reach back only so far).
                            if h.lag_seconds > threshold {
                                Some(true)
                            } else if h.lag_seconds_at_least {
                                None
                            } else {
                                Some(false)
                            },
                            Box::new(move || {
                                format!(
                                    "group {} is {}{} s behind (rule: above {threshold} s)",
                                    h.consumer_group,
                                    if h.lag_seconds_at_least {
                                        "at least "
                                    } else {
                                        ""
                                    },
                                    h.lag_seconds
                                )
                            }),
                        ),
                        _ => (
                            g.settled.then_some(matches!(
                                h.status,
                                GroupStatus::Stalled | GroupStatus::Stopped
                            )),
                            Box::new(move || {
                                format!("group {} is {}: {}", h.consumer_group, h.status, h.reason)
                            }),
                        ),
                    };
                    check(subject, &s, holds, None, &*reason, &who);
                }
            }
        }
        let nobody = || (Vec::new(), Vec::new());
        for q in queues {
            for s in rules.in_force(q.queue_id, &[], AlertKind::ProducerSilent) {
                let silent_since = q.last_write;
                // Unknown until a write has been seen since the start; then silent once the
                // last write is older than the rule's duration.
                let holds = silent_since.map(|w| now - w >= s.for_seconds * 1000);
                let reason = || {
                    let secs = (now - silent_since.unwrap_or(now)) / 1000;
                    format!("nothing written to {} for {secs} s", q.key)
                };
                check(
                    (q.queue_id, String::new(), AlertKind::ProducerSilent),
                    &s,
                    holds,
                    silent_since,
                    &reason,
                    &nobody,
                );
            }
            for s in rules.in_force(q.queue_id, &[], AlertKind::ClusterUnreachable) {
                let reason = || {
                    format!(
                        "cluster {} cannot be reached: {}",
                        q.cluster,
                        q.unreachable.as_ref().map_or("", |u| u.1.as_str())
                    )
                };
                check(
                    (q.queue_id, String::new(), AlertKind::ClusterUnreachable),
                    &s,
                    Some(q.unreachable.is_some()),
                    q.unreachable.as_ref().map(|u| u.0),
                    &reason,
                    &nobody,
                );
            }
            let behind = stale.get(&q.queue_id).copied().unwrap_or(0);
            for s in rules.in_force(q.queue_id, &[], AlertKind::StaleClients) {
                let reason = || {
                    format!(
                        "{behind} SDK clients of {} still run the mapping before its last switch",
                        q.key
                    )
                };
                check(
                    (q.queue_id, String::new(), AlertKind::StaleClients),
                    &s,
                    Some(behind > 0),
                    None,
                    &reason,
                    &nobody,
                );
            }
        }
        self.pending.retain(|k, _| seen.contains(k));
        Evaluation { held, keep }
    }

    /// One pass: reads rules, silences and the monitor, records and delivers transitions.
    pub async fn pass(&mut self, cx: &AlertContext) -> anyhow::Result<PassReport> {
        let store = cx.store.as_ref();
        // Read each pass: another replica on the same database may have opened or resolved
        // alerts since.
        self.open = store
            .open_alerts()
            .await?
            .into_iter()
            .map(|a| ((a.queue_id, a.consumer_group, a.kind), a.id))
            .collect();
        let now = now_millis();
        let rules = Rules::new(&store.alert_rules().await?);
        let groups = cx.monitor.groups();
        let queues = cx.monitor.queues();
        let stale = match &cx.config {
            Some(config) => stale_clients(store, config.as_ref(), &queues).await?,
            None => HashMap::new(),
        };
        let Evaluation { held, keep } = self.evaluate(now, &rules, &groups, &queues, &stale);
        let silences = store.silences(None, now).await?;
        let mut keys: HashMap<i64, String> =
            queues.iter().map(|q| (q.queue_id, q.key.clone())).collect();
        for g in &groups {
            keys.entry(g.queue_id)
                .or_insert_with(|| format!("{}/{}", g.health.project, g.health.queue));
        }
        let mut report = PassReport::default();
        let mut firing: Vec<(&Subject, &Holding)> = held
            .iter()
            .filter(|(s, _)| !self.open.contains_key(*s))
            .collect();
        firing.sort_by(|a, b| a.0.cmp(b.0));
        for (subject, holding) in firing {
            let Some(key) = keys.get(&subject.0).cloned() else {
                continue;
            };
            let silenced = silenced(&silences, &key, subject);
            let alert = NewAlert {
                queue_id: subject.0,
                consumer_group: subject.1.clone(),
                kind: subject.2,
                reason: holding.reason.clone(),
                at: now,
                silenced,
            };
            let notice = (!silenced).then(|| notice("alert.firing", &key, &alert, holding, None));
            let audit = system_audit("alert.firing", &key, &holding.reason);
            // None: another replica opened it first (one open alert per subject).
            let Some(id) = store.open_alert(&alert, notice.as_ref(), &audit).await? else {
                continue;
            };
            self.open.insert(subject.clone(), id);
            report.fired += 1;
            if !silenced {
                cx.mail(
                    store,
                    &key,
                    holding,
                    &format!("[Watershed] FIRING: {}", holding.reason),
                )
                .await;
            }
        }
        let resolved: Vec<(Subject, i64)> = self
            .open
            .iter()
            .filter(|(s, _)| !keep.contains(*s))
            .map(|(s, id)| (s.clone(), *id))
            .collect();
        for (subject, id) in resolved {
            let Some(view) = store.alert(id).await? else {
                self.open.remove(&subject);
                continue;
            };
            let key = format!("{}/{}", view.project, view.queue);
            let group = groups
                .iter()
                .find(|g| g.queue_id == subject.0 && g.health.consumer_group == subject.1);
            let holding = Holding {
                reason: format!("resolved: {}", view.reason),
                owners: group.map(|g| g.owners.clone()).unwrap_or_default(),
                projects: group
                    .map(TrackedGroup::application_projects)
                    .unwrap_or_default(),
            };
            // Told as its firing was: silenced then, silent now.
            let silenced = view.silenced;
            let alert = NewAlert {
                queue_id: subject.0,
                consumer_group: subject.1.clone(),
                kind: subject.2,
                reason: view.reason.clone(),
                at: now,
                silenced,
            };
            let notice =
                (!silenced).then(|| notice("alert.resolved", &key, &alert, &holding, Some(id)));
            let audit = system_audit("alert.resolved", &key, &view.reason);
            let resolved = store
                .resolve_alert(id, now, notice.as_ref(), &audit)
                .await?;
            // Forgotten only once stored: a failed write is tried again next pass.
            self.open.remove(&subject);
            if resolved {
                report.resolved += 1;
                if !silenced {
                    cx.mail(
                        store,
                        &key,
                        &holding,
                        &format!("[Watershed] RESOLVED: {}", view.reason),
                    )
                    .await;
                }
            }
        }
        Ok(report)
    }
}

fn silenced(silences: &[SilenceView], key: &str, subject: &Subject) -> bool {
    silences.iter().any(|s| {
        format!("{}/{}", s.project, s.queue) == key
            && s.consumer_group.as_ref().is_none_or(|g| *g == subject.1)
            && s.kind.is_none_or(|k| k == subject.2)
    })
}

fn system_audit(action: &'static str, key: &str, summary: &str) -> AuditEvent {
    AuditEvent {
        actor: "watershed".into(),
        action,
        target_kind: "queue",
        target: key.to_string(),
        summary: summary.to_string(),
    }
}

fn notice(
    event: &'static str,
    key: &str,
    alert: &NewAlert,
    holding: &Holding,
    id: Option<i64>,
) -> Notice {
    let (project, _) = key.split_once('/').unwrap_or((key, ""));
    let mut audience = vec![Audience::ProjectOwners(project.to_string())];
    audience.extend(holding.owners.iter().cloned().map(Audience::User));
    let mut webhook_projects = vec![project.to_string()];
    webhook_projects.extend(holding.projects.iter().cloned());
    webhook_projects.sort();
    webhook_projects.dedup();
    let state = if event == "alert.firing" {
        "firing"
    } else {
        "resolved"
    };
    Notice {
        event,
        message: format!("{key}: {}", holding.reason),
        link: format!("/queues/{key}#health"),
        audience,
        except: None,
        webhook_projects,
        payload: serde_json::json!({
            "event": event,
            "occurred_at": alert.at,
            "alert": {
                "id": id,
                "queue": key,
                "consumer_group": alert.consumer_group,
                "kind": alert.kind,
                "state": state,
                "reason": alert.reason,
            },
        }),
    }
}

/// How many live SDK clients of each queue run a config other than the current one.
async fn stale_clients(
    store: &dyn Store,
    config: &dyn ConfigSource,
    queues: &[QueueFacts],
) -> anyhow::Result<HashMap<i64, i64>> {
    let since = now_millis() - 3 * config.heartbeat_secs() as i64 * 1000;
    let keys: HashMap<i64, &str> = queues
        .iter()
        .map(|q| (q.queue_id, q.key.as_str()))
        .collect();
    let mut current: HashMap<i64, Option<String>> = HashMap::new();
    let mut out = HashMap::new();
    for (queue_id, version, clients) in store.client_versions(since).await? {
        let Some(key) = keys.get(&queue_id) else {
            continue;
        };
        let now = match current.get(&queue_id) {
            Some(v) => v.clone(),
            None => {
                let (project, queue) = key.split_once('/').unwrap_or(("", key));
                let v = config
                    .current_config(project, queue)
                    .await
                    .ok()
                    .map(|c| c.config_version);
                current.insert(queue_id, v.clone());
                v
            }
        };
        if now.is_some_and(|now| now != version) {
            *out.entry(queue_id).or_insert(0) += clients;
        }
    }
    Ok(out)
}

/// What the alert pass works with.
pub struct AlertContext {
    pub store: Arc<dyn Store>,
    pub monitor: Arc<Monitor>,
    /// The SDK plane, for the config clients should run (stale-client rules).
    pub config: Option<Arc<dyn ConfigSource>>,
    pub mailer: Option<Mailer>,
}

impl AlertContext {
    async fn mail(&self, store: &dyn Store, key: &str, holding: &Holding, subject: &str) {
        let Some(mailer) = &self.mailer else {
            return;
        };
        let (project, _) = key.split_once('/').unwrap_or((key, ""));
        match store.alert_emails(project, &holding.owners).await {
            Ok(to) if !to.is_empty() => mailer.send(
                to,
                subject.to_string(),
                format!(
                    "{}\n\nQueue: {key}\nSee /queues/{key}#health in the Watershed console.\n",
                    holding.reason
                ),
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "alert e-mail recipients not read"),
        }
    }
}

/// Judges alerts after every poll, until the process ends.
pub async fn judge_forever(cx: AlertContext) {
    let mut engine = Engine::default();
    loop {
        cx.monitor.next_poll().await;
        match engine.pass(&cx).await {
            Ok(r) if r.fired + r.resolved > 0 => {
                tracing::info!(fired = r.fired, resolved = r.resolved, "alerts")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "judging alerts failed"),
        }
    }
}

/// The rules in force for a queue: each kind's own rule, or its default.
pub fn queue_rules_in_force(key: &str, own: &[RuleRow]) -> Vec<crate::domain::AlertRuleView> {
    AlertKind::iter()
        .filter_map(|kind| {
            if let Some(r) = own.iter().find(|r| r.kind == kind) {
                return Some(crate::domain::AlertRuleView {
                    scope: RuleScope::Queue,
                    target: key.to_string(),
                    kind,
                    settings: r.settings,
                    default: false,
                    updated_by: Some(r.updated_by.clone()),
                    updated_at: Some(r.updated_at),
                });
            }
            kind.default_rule()
                .map(|settings| crate::domain::AlertRuleView {
                    scope: RuleScope::Queue,
                    target: key.to_string(),
                    kind,
                    settings,
                    default: true,
                    updated_by: None,
                    updated_at: None,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::health::{
        ClusterPoll, GroupPeople, HealthSettings, PolledGroup, PolledQueue,
    };
    use std::time::Duration;

    fn poll(at: i64, end: i64, committed: i64) -> ClusterPoll {
        ClusterPoll {
            cluster_id: 1,
            cluster: "east".into(),
            at,
            queues: vec![PolledQueue {
                queue_id: 7,
                key: "shop/orders".into(),
                topic: "shop.orders".into(),
                active: true,
            }],
            ends: HashMap::from([(("shop.orders".to_string(), 0), end)]),
            groups: vec![PolledGroup {
                queue_id: 7,
                group: "billing".into(),
                committed: vec![(0, committed)],
            }],
            ..Default::default()
        }
    }

    fn stalled_rule(for_seconds: i64) -> Rules {
        Rules::new(&[RuleRow {
            scope: RuleScope::Queue,
            target_id: 7,
            target: "shop/orders".into(),
            kind: AlertKind::GroupStalled,
            settings: RuleSettings {
                threshold: None,
                for_seconds,
                muted: false,
            },
            updated_by: "olga".into(),
            updated_at: 0,
        }])
    }

    fn people() -> HashMap<(i64, String), GroupPeople> {
        HashMap::from([(
            (7, "billing".to_string()),
            GroupPeople {
                live_clients: 1,
                ..Default::default()
            },
        )])
    }

    fn subject() -> Subject {
        (7, "billing".into(), AlertKind::GroupStalled)
    }

    #[test]
    fn a_stalled_group_fires_once_after_window_and_duration_then_resolves() {
        let monitor = Monitor::new(HealthSettings {
            window: Duration::from_secs(10),
            ..Default::default()
        });
        let rules = stalled_rule(20);
        let mut engine = Engine::default();
        let (mut fired_at, mut resolved_at) = (None, None);
        let mut end = 0;
        let mut committed = 0;
        for step in 0..60 {
            let at = step * 2_000;
            end += 10;
            // Reads along until 20 s, stops until 70 s, then catches up.
            if !(20_000..70_000).contains(&at) {
                committed = end;
            }
            monitor.observe(&poll(at, end, committed), &people());
            let e = engine.evaluate(
                at,
                &rules,
                &monitor.groups(),
                &monitor.queues(),
                &HashMap::new(),
            );
            let open = engine.open.contains_key(&subject());
            if e.held.contains_key(&subject()) && !open {
                assert!(fired_at.is_none(), "fired twice");
                fired_at = Some(at);
                engine.open.insert(subject(), 1);
            } else if open && !e.keep.contains(&subject()) {
                assert!(resolved_at.is_none(), "resolved twice");
                resolved_at = Some(at);
                engine.open.remove(&subject());
            }
        }
        // Last commit at 18 s: STALLED once a window (10 s) has no commit, at 30 s at the
        // earliest; the rule waits 20 s more.
        let fired = fired_at.expect("fired");
        assert!((50_000..=52_000).contains(&fired), "fired at {fired}");
        assert_eq!(resolved_at, Some(70_000));
    }

    #[test]
    fn an_open_alert_outlives_a_restart_until_the_figures_can_tell() {
        let monitor = Monitor::new(HealthSettings {
            window: Duration::from_secs(10),
            ..Default::default()
        });
        let mut engine = Engine::default();
        engine.open.insert(subject(), 1);
        // Fresh state after a start: one poll, behind, not a whole window yet.
        monitor.observe(&poll(0, 100, 40), &people());
        let e = engine.evaluate(
            0,
            &stalled_rule(20),
            &monitor.groups(),
            &monitor.queues(),
            &HashMap::new(),
        );
        assert!(e.keep.contains(&subject()), "kept open while unknown");
        assert!(!e.held.contains_key(&subject()));
        // Caught up: now it can tell, and the alert may resolve.
        monitor.observe(&poll(2_000, 100, 100), &people());
        let e = engine.evaluate(
            2_000,
            &stalled_rule(20),
            &monitor.groups(),
            &monitor.queues(),
            &HashMap::new(),
        );
        assert!(!e.keep.contains(&subject()));
    }

    #[test]
    fn a_queue_fires_producer_silent_only_after_its_writes_stop_for_the_duration() {
        let monitor = Monitor::new(HealthSettings {
            window: Duration::from_secs(10),
            ..Default::default()
        });
        let rules = Rules::new(&[RuleRow {
            scope: RuleScope::Queue,
            target_id: 7,
            target: "shop/orders".into(),
            kind: AlertKind::ProducerSilent,
            settings: RuleSettings {
                threshold: None,
                for_seconds: 30,
                muted: false,
            },
            updated_by: "olga".into(),
            updated_at: 0,
        }]);
        let silent = (7, String::new(), AlertKind::ProducerSilent);
        let mut engine = Engine::default();
        let (mut fired, mut resolved) = (Vec::new(), Vec::new());
        let mut end = 0;
        for step in 0..60 {
            let at = step * 2_000;
            // Written to until 40 s, silent until 100 s, written again.
            if !(40_000..100_000).contains(&at) {
                end += 10;
            }
            monitor.observe(&poll(at, end, end), &people());
            let e = engine.evaluate(
                at,
                &rules,
                &monitor.groups(),
                &monitor.queues(),
                &HashMap::new(),
            );
            let open = engine.open.contains_key(&silent);
            if e.held.contains_key(&silent) && !open {
                fired.push(at);
                engine.open.insert(silent.clone(), 1);
            } else if open && !e.keep.contains(&silent) {
                resolved.push(at);
                engine.open.remove(&silent);
            }
        }
        // The last write was seen at 38 s: silent for 30 s at 68 s; written again at 100 s.
        assert_eq!(fired, [68_000]);
        assert_eq!(resolved, [100_000]);
    }

    #[test]
    fn a_muted_rule_and_a_silence_hold_back_what_they_should() {
        let mut rows = vec![RuleRow {
            scope: RuleScope::Queue,
            target_id: 7,
            target: "shop/orders".into(),
            kind: AlertKind::GroupStalled,
            settings: RuleSettings {
                threshold: None,
                for_seconds: 0,
                muted: true,
            },
            updated_by: "olga".into(),
            updated_at: 0,
        }];
        assert!(Rules::new(&rows)
            .in_force(7, &[], AlertKind::GroupStalled)
            .is_empty());
        rows[0].settings.muted = false;
        assert_eq!(
            Rules::new(&rows)
                .in_force(7, &[], AlertKind::GroupStalled)
                .len(),
            1
        );
        // Without a rule of its own, a queue has the default.
        assert_eq!(
            Rules::new(&[]).in_force(8, &[], AlertKind::GroupStalled)[0].for_seconds,
            600
        );
        let silence = SilenceView {
            id: 1,
            project: "shop".into(),
            queue: "orders".into(),
            consumer_group: Some("billing".into()),
            kind: None,
            comment: "deploy".into(),
            created_by: "olga".into(),
            created_at: 0,
            ends_at: i64::MAX,
        };
        assert!(silenced(
            std::slice::from_ref(&silence),
            "shop/orders",
            &subject()
        ));
        assert!(!silenced(
            &[silence],
            "shop/orders",
            &(7, "other".into(), AlertKind::GroupStalled)
        ));
    }
}
