//! A demo fleet: applications in every project wired into multi-hop pipelines over the demo
//! queues (sources, processors, sinks, a hub queue many read, a feedback loop), granted
//! through the access workflow, with an hour of per-minute SDK reports and a week of hourly
//! ones, so the lineage graph, traffic charts and clients tables have something to show.

use crate::domain::{
    AccessRequestInput, ApplicationInput, ApplicationView, DecisionInput, QueueView, RequestStatus,
};
use crate::server::collector::{aggregate, Entry};
use crate::server::db::collector::ReportRow;
use crate::server::db::{now_millis, Store};
use crate::server::services::{access, Ctx, ServiceResult};

/// Applications, six per demo project in order: (name, description).
const APPS: [(&str, &str); 36] = [
    ("checkout-api", "Takes orders from the storefront"),
    ("cart-service", "Keeps carts and emits their changes"),
    ("order-router", "Routes orders to fulfilment"),
    ("promo-engine", "Applies coupons and promotions"),
    ("storefront-bff", "Backend for the web storefront"),
    ("review-moderator", "Screens product reviews"),
    ("payment-gateway", "Authorises and captures payments"),
    ("fraud-scorer", "Scores payments for fraud in real time"),
    ("refund-worker", "Processes refunds"),
    ("ledger-writer", "Books every money movement"),
    ("invoice-builder", "Builds invoices from captures"),
    ("chargeback-watch", "Follows chargebacks"),
    ("query-logger", "Logs search queries"),
    ("ranker-trainer", "Trains ranking models from signals"),
    (
        "index-updater",
        "Feeds catalogue changes to the search index",
    ),
    ("suggest-builder", "Builds autocomplete suggestions"),
    ("click-joiner", "Joins queries with clicks"),
    ("spell-model", "Learns spelling corrections"),
    ("ad-server", "Serves ads and logs impressions"),
    ("click-tracker", "Tracks ad clicks"),
    ("budget-pacer", "Paces campaign budgets"),
    ("attribution-job", "Attributes conversions to campaigns"),
    ("bid-optimizer", "Tunes bids from outcomes"),
    ("ads-reporting", "Advertiser-facing reports"),
    ("wms-bridge", "Bridges the warehouse system"),
    ("inventory-sync", "Keeps stock levels in sync"),
    ("shipment-tracker", "Follows parcels with carriers"),
    ("delivery-eta", "Predicts delivery times"),
    ("returns-desk", "Handles returns"),
    ("carrier-gateway", "Talks to carrier APIs"),
    ("signup-service", "Registers new users"),
    ("referral-engine", "Runs referral rewards"),
    ("lifecycle-mailer", "Sends lifecycle messages"),
    ("segment-builder", "Builds user segments"),
    (
        "warehouse-loader",
        "Loads everything into the data warehouse",
    ),
    ("exec-dashboard", "Company-wide dashboards"),
];

/// (app index, queue index, writes). Queue indexes are positions in the demo's first queues;
/// queue 0 is the hub many read. Layers: sources write 0–11, processors read those and write
/// 12–23, enrichers write 24–31, sinks read widely; app 11 writes back into queue 2 (a loop).
const FLOWS: [(usize, usize, bool); 74] = [
    // Sources.
    (0, 0, true),
    (0, 1, true),
    (1, 2, true),
    (4, 3, true),
    (5, 4, true),
    (6, 5, true),
    (6, 6, true),
    (12, 7, true),
    (18, 8, true),
    (24, 9, true),
    (30, 10, true),
    (29, 11, true),
    // Processors (fan-in from sources, fan-out to the middle layer).
    (2, 0, false),
    (2, 2, false),
    (2, 12, true),
    (3, 0, false),
    (3, 13, true),
    (7, 5, false),
    (7, 0, false),
    (7, 14, true),
    (8, 6, false),
    (8, 15, true),
    (9, 5, false),
    (9, 6, false),
    (9, 15, false),
    (9, 16, true),
    (19, 8, false),
    (19, 17, true),
    (20, 17, false),
    (20, 8, false),
    (20, 18, true),
    (25, 9, false),
    (25, 12, false),
    (25, 19, true),
    (26, 11, false),
    (26, 20, true),
    (31, 10, false),
    (31, 21, true),
    (13, 7, false),
    (16, 7, false),
    (16, 17, false),
    (16, 22, true),
    (14, 19, false),
    (14, 23, true),
    // Enrichers.
    (10, 16, false),
    (10, 24, true),
    (21, 18, false),
    (21, 21, false),
    (21, 25, true),
    (27, 20, false),
    (27, 26, true),
    (33, 21, false),
    (33, 0, false),
    (33, 27, true),
    (15, 22, false),
    (15, 28, true),
    (22, 25, false),
    (22, 29, true),
    // Sinks (fan-in).
    (34, 0, false),
    (34, 12, false),
    (34, 16, false),
    (34, 24, false),
    (34, 25, false),
    (34, 26, false),
    (34, 27, false),
    (35, 24, false),
    (35, 29, false),
    (23, 25, false),
    (32, 27, false),
    (28, 26, false),
    // A feedback loop: the chargeback watcher reads the ledger and writes carts.
    (11, 16, false),
    (11, 2, true),
    // Stale: read once, a month ago.
    (17, 22, false),
    (17, 0, false),
];

/// Flows whose application never got a grant: they show up as "no live grant" in impact.
const UNGRANTED: [usize; 2] = [13, 17];

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

/// Seeds the fleet over `queues` (the demo's first queues, at least 30); idempotent per app.
pub async fn seed(cx: &Ctx, queues: &[QueueView]) -> ServiceResult<()> {
    let (store, admin) = (cx.store(), &cx.actor);
    if queues.len() < 30 {
        return Ok(());
    }
    let mut apps: Vec<ApplicationView> = Vec::with_capacity(APPS.len());
    for (i, (name, description)) in APPS.iter().enumerate() {
        // Six applications per project, in the order of the demo's projects.
        let Some(project) = store.project(super::PROJECTS[i / 6].0).await? else {
            return Ok(());
        };
        let owner_name = project
            .owners
            .iter()
            .find(|o| **o != admin.username)
            .cloned()
            .unwrap_or_else(|| admin.username.clone());
        let owner = match store.user_by_name(&owner_name).await? {
            Some(u) => u.view()?,
            None => admin.clone(),
        };
        let app = match store.application(&project.name, name).await? {
            Some(a) => a,
            None => {
                access::create_application(
                    &cx.as_user(owner.clone()),
                    &ApplicationInput {
                        project: project.name.clone(),
                        name: (*name).into(),
                        description: (*description).into(),
                    },
                )
                .await?
            }
        };
        apps.push(app);
    }
    grant(cx, &apps, queues).await?;
    report(store, &apps, queues).await
}

/// Asks for and approves access for every flow but the ungranted ones.
async fn grant(cx: &Ctx, apps: &[ApplicationView], queues: &[QueueView]) -> ServiceResult<()> {
    let (store, admin) = (cx.store(), &cx.actor);
    let bob = store
        .user_by_name("bob")
        .await?
        .map(|u| u.view())
        .transpose()?;
    let mut wanted: std::collections::BTreeMap<(usize, usize), (bool, bool)> = Default::default();
    for &(a, q, writes) in &FLOWS {
        if UNGRANTED.contains(&a) {
            continue;
        }
        let e = wanted.entry((a, q)).or_default();
        if writes {
            e.0 = true;
        } else {
            e.1 = true;
        }
    }
    for ((a, q), (writes, reads)) in wanted {
        let (app, queue) = (&apps[a], &queues[q]);
        let requester = match store.user_by_name(&app.owner).await? {
            Some(u) => u.view()?,
            None => continue,
        };
        let permission = match (writes, reads) {
            (true, true) => "both",
            (true, false) => "produce",
            _ => "consume",
        };
        let request = access::request_access(
            &cx.as_user(requester.clone()),
            &AccessRequestInput {
                project: app.project.clone(),
                application: app.name.clone(),
                queue_project: queue.project.clone(),
                queue: queue.name.clone(),
                permission: permission.into(),
                reason: format!("{} in the demo pipelines", app.name),
                duration: "permanent".into(),
            },
        )
        .await?;
        // Four eyes: bob approves unless he asked; a sensitive queue then needs the admin too.
        let first = match &bob {
            Some(b) if access::can_decide(&cx.as_user(b.clone()), &request).await? => b.clone(),
            _ => admin.clone(),
        };
        let approve = DecisionInput {
            decision: "approve".into(),
            comment: "demo".into(),
        };
        let decided = access::decide(&cx.as_user(first.clone()), request.id, &approve).await?;
        if decided.status == RequestStatus::OwnerApproved && first.username != admin.username {
            access::decide(cx, request.id, &approve).await?;
        }
    }
    Ok(())
}

/// A deterministic wobble in 0.5..1.5 for flow `f` at minute `m`.
fn wobble(f: usize, m: i64) -> f64 {
    let x = ((f as i64 * 7919 + m * 104_729) % 1000) as f64 / 1000.0;
    0.5 + x
}

/// Reports for every flow: each minute of the last hour, each hour of the last week before
/// that; one application new two days ago, one stopped nine days ago, one stale flow only
/// once, a month ago.
async fn report(
    store: &dyn Store,
    apps: &[ApplicationView],
    queues: &[QueueView],
) -> ServiceResult<()> {
    let now = now_millis();
    let hour_ago = now - HOUR;
    let mut entries = Vec::new();
    for (f, &(a, q, writes)) in FLOWS.iter().enumerate() {
        let (app, queue) = (&apps[a], &queues[q]);
        let base = 40.0 + ((f * 37) % 400) as f64;
        let group = (!writes).then(|| format!("{}-group", app.name));
        let row = |at: i64, per_minute: f64, minutes: f64| {
            let messages = (per_minute * minutes) as i64;
            Entry::Report(ReportRow {
                at,
                queue_id: queue.id,
                application_id: app.id,
                client_id: format!("{}-{}-0", app.name, queue.name),
                seq: None,
                role: if writes { "producer" } else { "consumer" },
                host: format!("{}-{}", app.name, f % 3),
                ip: format!("10.{}.{}.{}", a % 250, q % 250, 10 + f % 200),
                consumer_group: group.clone(),
                messages,
                bytes: messages * (300 + (f as i64 % 7) * 120),
                lag: (!writes).then(|| (per_minute * 0.3 * wobble(f + 1, at / MINUTE)) as i64),
                offsets: None,
            })
        };
        if a == 17 {
            entries.push(row(now - 30 * DAY, base, 60.0));
            continue;
        }
        // The ranker trainer stopped nine days ago: its read went stale during the last week.
        if a == 13 {
            for h in 0..48 {
                entries.push(row(now - 9 * DAY - h * HOUR, base * wobble(f, h), 60.0));
            }
            continue;
        }
        // The suggest builder is new: it started two days ago.
        let hours = if a == 15 { 2 * 24 } else { 7 * 24 };
        for m in 0..60 {
            let at = hour_ago + m * MINUTE;
            entries.push(row(at, base * wobble(f, m), 1.0));
        }
        for h in 1..=hours {
            let at = hour_ago - h * HOUR;
            entries.push(row(at, base * wobble(f, h), 60.0));
        }
    }
    for chunk in entries.chunks(5_000) {
        store.write_collected(&aggregate(chunk.iter())).await?;
    }
    Ok(())
}
