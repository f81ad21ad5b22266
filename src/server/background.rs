//! Every background task the server runs, started from one place once the state exists:
//!
//! - the search index follower (the data map follows the change feed);
//! - the SDK plane's cache watcher (other processes' changes reach this one's caches);
//! - the lineage graph's follower (new edges as the collector writes them);
//! - the cluster agent's topic provisioning and offset polling, as its settings ask;
//! - the grant sweeper (expiry and reminders, and reminders of waiting requests) and the
//!   webhook deliverer, where asked for;
//! - the alert judge, after every offset poll, where asked for.
//!
//! The collector's writer and pruner belong to the collector's own pipeline (its bounded queue
//! has one writer) and start with it.

use super::health::{alerts, mail::Mailer};
use super::search::Follower;
use super::services::access;
use super::state::AppState;
use super::webhooks::{self, WebhookPolicy};
use tokio::task::JoinHandle;

/// Which of the optional jobs a process runs (a test server leaves them to the test).
#[derive(Default)]
pub struct Jobs {
    /// Follows the change feed into the search index.
    pub follower: Option<Follower>,
    /// Expires grants and reminds their owners every minute, and reminds approvers of
    /// requests waiting this many days (0: never).
    pub grant_sweeper: Option<u32>,
    /// Delivers webhooks, pruning notices older than the given days.
    pub webhooks: Option<(WebhookPolicy, i64)>,
    /// Judges alert rules after every offset poll; e-mails through the mailer when there is one.
    pub alerts: Option<Option<Mailer>>,
}

/// Starts every background task for `state`; they run until the process ends.
pub fn start(state: &AppState, jobs: Jobs) -> Vec<JoinHandle<()>> {
    let mut handles = vec![
        tokio::spawn(state.sdk.clone().follow_feed()),
        tokio::spawn(
            state
                .lineage
                .clone()
                .follow(state.store.clone(), state.sdk.collector.edges_written()),
        ),
    ];
    handles.extend(state.kafka.jobs().into_iter().map(tokio::spawn));
    if let Some(follower) = jobs.follower {
        handles.push(tokio::spawn(follower.run()));
    }
    if let Some(remind_after_days) = jobs.grant_sweeper {
        handles.push(tokio::spawn(access::sweep_grants_forever(
            state.store.clone(),
            remind_after_days,
        )));
    }
    if let Some((policy, keep_days)) = jobs.webhooks {
        handles.push(tokio::spawn(webhooks::deliver_forever(
            state.store.clone(),
            state.secrets.clone(),
            policy,
            keep_days,
        )));
    }
    if let Some(mailer) = jobs.alerts {
        handles.push(tokio::spawn(alerts::judge_forever(alerts::AlertContext {
            store: state.store.clone(),
            monitor: state.kafka.monitor.clone(),
            config: Some(state.sdk.clone()),
            mailer,
        })));
    }
    handles
}
