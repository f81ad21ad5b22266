//! The data map: the tantivy index over queues, its queries, and how it follows the database.

use crate::harness::{spawn_app, spawn_replica, Backend, TestApp};
use crate::on_both_backends;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use watershed::domain::{Role, SearchRequest, UserView};

/// 240 demo queues (6 projects, 5 clusters), indexed.
async fn seeded(b: Backend) -> TestApp {
    let app = spawn_app(b).await;
    let admin = UserView {
        id: 1,
        username: "admin".into(),
        role: Role::Admin,
    };
    watershed::server::demo::seed(&app.state.ctx(admin), 240, false)
        .await
        .unwrap();
    wait_for(&app, &req("", 1), |r| r.total == 240).await;
    app
}

fn req(q: &str, limit: usize) -> SearchRequest {
    SearchRequest {
        q: Some(q.into()),
        limit: Some(limit),
        ..Default::default()
    }
}

/// Waits until the index shows what `ok` expects; returns how long that took.
async fn wait_for(
    app: &TestApp,
    r: &SearchRequest,
    ok: impl Fn(&watershed::domain::SearchResults) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let found = app.state.search.search(r).unwrap();
        if ok(&found) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "index never showed it: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

on_both_backends!(
    a_prefix_finds_queues_as_you_type,
    one_typo_is_forgiven_in_longer_words,
    filters_narrow_and_facets_count,
    pages_are_disjoint_and_complete,
    a_new_queue_is_searchable_within_a_second,
    search_is_served_over_rest_with_facets,
    the_demo_has_schemas_whose_fields_are_searchable,
);

async fn a_prefix_finds_queues_as_you_type(b: Backend) {
    let app = seeded(b).await;
    let r = app.state.search.search(&req("refu", 50)).unwrap();
    assert!(r.total > 0);
    // Prefix matches rank above one-typo matches ("returns" is one edit from "refu…").
    let first_typo = r.hits.iter().position(|h| !h.name.starts_with("refunds"));
    if let Some(i) = first_typo {
        assert!(
            r.hits[i..].iter().all(|h| !h.name.starts_with("refunds")),
            "{:?}",
            r.hits
        );
        assert!(i > 0);
    }
    let top = &r.hits[0];
    assert!(top
        .snippet
        .iter()
        .any(|p| p.highlight && p.text.to_lowercase().starts_with("refu")));
    let exact = app.state.search.search(&req("refunds dlq", 5)).unwrap();
    assert!(
        exact.hits[0].name.starts_with("refunds-dlq"),
        "{:?}",
        exact.hits[0].name
    );
}

async fn the_demo_has_schemas_whose_fields_are_searchable(b: Backend) {
    let app = seeded(b).await;
    let r = wait_for(&app, &req("currency", 50), |r| r.total > 0).await;
    assert!(r < Duration::from_secs(10));
    let found = app.state.search.search(&req("currency", 50)).unwrap();
    assert!(found
        .hits
        .iter()
        .all(|h| h.matched_fields == vec!["currency".to_string()]));
    // The first demo queue's schema has a second, compatible version.
    let top = &app
        .state
        .search
        .search(&req("orders events", 1))
        .unwrap()
        .hits[0];
    assert_eq!(top.name, "orders-events");
    let versions =
        watershed::server::services::schemas::versions(app.store(), &top.project, &top.name)
            .await
            .unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1].comment, "adds the source of the event");
}

async fn one_typo_is_forgiven_in_longer_words(b: Backend) {
    let app = seeded(b).await;
    for typo in ["refnuds", "rfunds", "refundz", "shipmnets"] {
        let r = app.state.search.search(&req(typo, 5)).unwrap();
        assert!(r.total > 0, "{typo} found nothing");
    }
    // Short words must match exactly as a prefix.
    assert_eq!(app.state.search.search(&req("rfu", 5)).unwrap().total, 0);
    // Two edits are too many.
    assert_eq!(app.state.search.search(&req("rfnuds", 5)).unwrap().total, 0);
}

async fn filters_narrow_and_facets_count(b: Backend) {
    let app = seeded(b).await;
    let all = app.state.search.search(&req("", 1)).unwrap();
    let project_facet = all.facets.iter().find(|f| f.field == "project").unwrap();
    assert_eq!(
        project_facet.values.iter().map(|v| v.count).sum::<u64>(),
        240
    );
    let shop = project_facet
        .values
        .iter()
        .find(|v| v.value == "shop")
        .unwrap()
        .count;

    let r = app.state.search.search(&req("project:shop", 100)).unwrap();
    assert_eq!(r.total as u64, shop);
    assert!(r.hits.iter().all(|h| h.project == "shop"));

    let pii = SearchRequest {
        tag: Some("pii".into()),
        project: Some("shop".into()),
        limit: Some(100),
        ..Default::default()
    };
    let r = app.state.search.search(&pii).unwrap();
    assert!(r.total > 0);
    assert!(r
        .hits
        .iter()
        .all(|h| h.project == "shop" && h.tags.contains(&"pii".to_string())));
    let tag_facet = r.facets.iter().find(|f| f.field == "tag").unwrap();
    assert_eq!(
        tag_facet
            .values
            .iter()
            .find(|v| v.value == "pii")
            .unwrap()
            .count,
        r.total as u64
    );

    let none = app
        .state
        .search
        .search(&req("orders owner:nobody", 10))
        .unwrap();
    assert_eq!(none.total, 0);
}

async fn pages_are_disjoint_and_complete(b: Backend) {
    let app = seeded(b).await;
    let mut seen = Vec::new();
    for page in 0..5 {
        let r = app
            .state
            .search
            .search(&SearchRequest {
                q: Some("events".into()),
                limit: Some(7),
                offset: Some(page * 7),
                ..Default::default()
            })
            .unwrap();
        seen.extend(r.hits.iter().map(|h| format!("{}/{}", h.project, h.name)));
    }
    let total = app.state.search.search(&req("events", 100)).unwrap();
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no queue on two pages");
    assert_eq!(seen.len(), total.total.min(35));
    let again: Vec<String> = app
        .state
        .search
        .search(&req("events", 7))
        .unwrap()
        .hits
        .iter()
        .map(|h| format!("{}/{}", h.project, h.name))
        .collect();
    assert_eq!(again, seen[..7], "the same page twice gives the same hits");
}

async fn a_new_queue_is_searchable_within_a_second(b: Backend) {
    let app = seeded(b).await;
    let token = app.token_for("ops", Role::Admin).await;
    let c = app.client();
    let r = c.post(app.url("/api/v1/queues")).bearer_auth(&token)
        .json(&json!({"project": "shop", "name": "zebra-crossings", "description": "Pedestrian telemetry", "primary_cluster": "kafka-bj-1"}))
        .send().await.unwrap();
    assert!(r.status().is_success());
    let took = wait_for(&app, &req("zebra", 5), |r| r.total == 1).await;
    assert!(took < Duration::from_secs(1), "took {took:?}");

    // An edit replaces the document rather than adding one.
    let mut q: Value = c
        .get(app.url("/api/v1/queues/shop/zebra-crossings"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    q["description"] = json!("Pedestrian telemetry from okapi sensors");
    c.put(app.url("/api/v1/queues/shop/zebra-crossings"))
        .bearer_auth(&token)
        .json(&q)
        .send()
        .await
        .unwrap();
    wait_for(&app, &req("okapi", 5), |r| r.total == 1).await;
    assert_eq!(app.state.search.search(&req("zebra", 5)).unwrap().total, 1);
}

async fn search_is_served_over_rest_with_facets(b: Backend) {
    let app = seeded(b).await;
    let token = app.token_for("reader", Role::Viewer).await;
    let body: Value = app
        .client()
        .get(app.url("/api/v1/search?q=paym&tag=finance&limit=3"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["total"].as_u64().unwrap() > 0);
    assert!(body["hits"].as_array().unwrap().len() <= 3);
    assert!(body["took_ms"].as_f64().is_some());
    assert!(body["facets"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["field"] == "tag"));
    let r = app
        .client()
        .get(app.url("/api/v1/search?q=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
}

/// Two console processes on one PostgreSQL database: an edit through one is found through the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_follows_edits_made_through_another_process() {
    if crate::harness::postgres_url().is_none() {
        eprintln!("skipped: WATERSHED_TEST_POSTGRES_URL is not set");
        return;
    }
    let a = seeded(Backend::Postgres).await;
    let b = spawn_replica(&a).await;
    wait_for(&b, &req("", 1), |r| r.total == 240).await;
    let token = a.token_for("ops", Role::Admin).await;
    let r = a.client().post(a.url("/api/v1/queues")).bearer_auth(&token)
        .json(&json!({"project": "shop", "name": "narwhal-sightings", "primary_cluster": "kafka-bj-1"}))
        .send().await.unwrap();
    assert!(r.status().is_success());
    let took = wait_for(&b, &req("narwhal", 5), |r| r.total == 1).await;
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

/// The index is a cache: reopened, it catches up on what changed while it was closed, and an
/// index of another version is rebuilt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_index_catches_up_and_a_stale_one_is_rebuilt() {
    let app = seeded(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    let (index, follower) = watershed::server::search::start(Some(&path), app.db.store.clone())
        .await
        .unwrap();
    assert_eq!(index.stats().0, 240);
    drop((index, follower));

    let token = app.token_for("ops", Role::Admin).await;
    app.client()
        .post(app.url("/api/v1/queues"))
        .bearer_auth(&token)
        .json(&json!({"project": "shop", "name": "while-closed", "primary_cluster": "kafka-bj-1"}))
        .send()
        .await
        .unwrap();
    let (index, mut follower) = watershed::server::search::start(Some(&path), app.db.store.clone())
        .await
        .unwrap();
    assert_eq!(index.stats().0, 240, "opened as it was");
    while follower.catch_up().await.unwrap() > 0 {}
    assert_eq!(index.search(&req("while closed", 5)).unwrap().total, 1);
    drop((index, follower));

    std::fs::write(path.join("watershed-index-version"), "0").unwrap();
    let (index, _) = watershed::server::search::start(Some(&path), app.db.store.clone())
        .await
        .unwrap();
    assert_eq!(index.stats().0, 241, "rebuilt from the database");
}

/// A server whose index must be built first answers at once: searches say the index is being
/// built and how far it has come, and once the follower has built it they find everything and
/// say nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_index_is_built_in_the_background_and_searches_say_so_meanwhile() {
    let app = seeded(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let (index, mut follower) =
        watershed::server::search::open(Some(&dir.path().join("index")), app.db.store.clone())
            .await
            .unwrap();
    let meanwhile = index.search(&req("", 5)).unwrap();
    assert_eq!(meanwhile.total, 0, "nothing is indexed yet");
    assert!(
        meanwhile.building.is_some(),
        "the answer says a build is under way"
    );
    follower.build_if_needed().await.unwrap();
    let done = index.search(&req("", 5)).unwrap();
    assert_eq!(done.total, 240);
    assert_eq!(done.building, None);
    assert_eq!(index.building(), None);
}

/// Continuous single edits, each its own commit, do not pile up segments: merges keep the
/// count bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_stay_bounded_under_continuous_edits() {
    let app = seeded(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let (index, mut follower) =
        watershed::server::search::start(Some(&dir.path().join("index")), app.db.store.clone())
            .await
            .unwrap();
    let admin = UserView {
        id: 1,
        username: "admin".into(),
        role: Role::Admin,
    };
    let queues = app
        .store()
        .list_queues(&Default::default())
        .await
        .unwrap()
        .items;
    for round in 0..150 {
        let q = &queues[round % queues.len()];
        let mut input = q.to_input();
        input.description = format!("edit {round}");
        watershed::server::services::queues::update(
            &app.state.ctx(admin.clone()),
            &q.project,
            &q.name,
            &input,
        )
        .await
        .unwrap();
        assert_eq!(
            follower.catch_up().await.unwrap(),
            1,
            "one change, one commit"
        );
    }
    // Merges run in the background after commits; give them a moment to land.
    let started = Instant::now();
    loop {
        let (docs, segments) = index.stats();
        assert_eq!(docs, 240, "edits replace documents");
        if segments <= 30 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{segments} segments after 150 commits"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        index.refresh().unwrap();
    }
}

/// Beyond the exact bound, facet counts are estimated from a sample and say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_match_sets_get_estimated_facet_counts() {
    let app = seeded(Backend::Sqlite).await;
    let exact = app.state.search.search(&req("", 1)).unwrap();
    assert!(!exact.facets_estimated);
    app.state.search.set_exact_facets_up_to(60);
    let estimated = app.state.search.search(&req("", 1)).unwrap();
    assert!(estimated.facets_estimated);
    assert_eq!(estimated.total, exact.total, "the total stays exact");
    let projects = |r: &watershed::domain::SearchResults| -> u64 {
        r.facets
            .iter()
            .find(|f| f.field == "project")
            .unwrap()
            .values
            .iter()
            .map(|v| v.count)
            .sum()
    };
    let (e, x) = (projects(&estimated) as f64, projects(&exact) as f64);
    assert!((e - x).abs() / x < 0.25, "estimate {e} vs exact {x}");
}
