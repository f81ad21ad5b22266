use super::layout::{layout, render_svg, SvgLinks};
use super::*;
use crate::domain::{LineageQueryInput, NodeKind};

const NOW: i64 = 1_800_000_000_000;

fn edge(app: &str, queue: &str, role: &str, last_seen: i64) -> AppEdgeRecord {
    let (ap, an) = app.split_once('/').unwrap();
    let (qp, qn) = queue.split_once('/').unwrap();
    AppEdgeRecord {
        app_project: ap.into(),
        app_name: an.into(),
        app_owner: format!("{an}-owner"),
        queue_project: qp.into(),
        queue_name: qn.into(),
        queue_owner: format!("{qn}-owner"),
        role: role.into(),
        consumer_group: if role == "consumer" {
            format!("{an}-group")
        } else {
            String::new()
        },
        first_seen: last_seen - DAY,
        last_seen,
        messages: 10,
        bytes: 100,
    }
}

/// shop/checkout → shop/orders → billing/invoicer → billing/invoices → bi/warehouse;
/// shop/orders → bi/warehouse as well; fraud/scorer read orders 30 days ago.
fn chain() -> LineageGraph {
    let mut g = LineageGraph::default();
    for e in [
        edge("shop/checkout", "shop/orders", "producer", NOW - 1000),
        edge("billing/invoicer", "shop/orders", "consumer", NOW - 1000),
        edge(
            "billing/invoicer",
            "billing/invoices",
            "producer",
            NOW - 1000,
        ),
        edge(
            "bi/warehouse",
            "billing/invoices",
            "consumer",
            NOW - 2 * DAY,
        ),
        edge("bi/warehouse", "shop/orders", "consumer", NOW - 1000),
        edge("fraud/scorer", "shop/orders", "consumer", NOW - 30 * DAY),
    ] {
        g.apply_app_edge(&e);
    }
    g
}

fn query(node: &str, direction: &str, depth: u32, days: u32) -> LineageQuery {
    LineageQueryInput {
        node: node.into(),
        direction: Some(direction.into()),
        depth: Some(depth.to_string()),
        days: Some(days.to_string()),
        stale: None,
    }
    .parse()
    .unwrap()
}

fn keys(v: &LineageView) -> Vec<String> {
    let mut k: Vec<String> = v.nodes.iter().map(|n| n.key.clone()).collect();
    k.sort();
    k
}

#[test]
fn writes_point_at_queues_and_reads_away_from_them() {
    let g = chain();
    let v = g
        .view(&query("queue:shop/orders", "both", 1, 7), &[], NOW)
        .unwrap();
    let has = |from: &str, to: &str| v.edges.iter().any(|e| e.from == from && e.to == to);
    assert!(has("app:shop/checkout", "queue:shop/orders"));
    assert!(has("queue:shop/orders", "app:billing/invoicer"));
    let invoicer = v
        .nodes
        .iter()
        .find(|n| n.key == "app:billing/invoicer")
        .unwrap();
    assert_eq!(invoicer.groups, ["invoicer-group"]);
}

#[test]
fn depth_limits_how_far_a_view_reaches() {
    let g = chain();
    let one = g
        .view(&query("app:shop/checkout", "downstream", 1, 7), &[], NOW)
        .unwrap();
    assert_eq!(keys(&one), ["app:shop/checkout", "queue:shop/orders"]);
    let three = g
        .view(&query("app:shop/checkout", "downstream", 3, 7), &[], NOW)
        .unwrap();
    assert_eq!(
        keys(&three),
        [
            "app:bi/warehouse",
            "app:billing/invoicer",
            "app:shop/checkout",
            "queue:billing/invoices",
            "queue:shop/orders"
        ]
    );
}

#[test]
fn the_time_window_drops_old_edges_unless_stale_ones_are_asked_for() {
    let g = chain();
    let week = g
        .view(&query("queue:shop/orders", "downstream", 1, 7), &[], NOW)
        .unwrap();
    assert!(!keys(&week).contains(&"app:fraud/scorer".to_string()));
    let day = g
        .view(
            &query("queue:billing/invoices", "downstream", 1, 1),
            &[],
            NOW,
        )
        .unwrap();
    assert_eq!(keys(&day), ["queue:billing/invoices"], "seen 2 days ago");
    let mut q = query("queue:shop/orders", "downstream", 1, 7);
    q.include_stale = true;
    let all = g.view(&q, &[], NOW).unwrap();
    let stale = all
        .edges
        .iter()
        .find(|e| e.to == "app:fraud/scorer")
        .unwrap();
    assert!(stale.stale);
    let scorer = all
        .nodes
        .iter()
        .find(|n| n.key == "app:fraud/scorer")
        .unwrap();
    assert_eq!(scorer.health, Health::Stale);
}

#[test]
fn a_new_report_row_updates_the_graph_in_place() {
    let mut g = chain();
    let (nodes, edges) = (g.node_count(), g.edge_count());
    // The same row again, with higher totals: the edge changes, nothing is added.
    let mut again = edge("shop/checkout", "shop/orders", "producer", NOW);
    again.messages = 50;
    g.apply_app_edge(&again);
    assert_eq!((g.node_count(), g.edge_count()), (nodes, edges));
    let v = g
        .view(&query("app:shop/checkout", "downstream", 1, 7), &[], NOW)
        .unwrap();
    assert_eq!(v.edges[0].messages, 50);
    assert_eq!(v.edges[0].last_seen, NOW);
    // A second consumer group of the same app adds to the same edge.
    let mut other = edge("billing/invoicer", "shop/orders", "consumer", NOW);
    other.consumer_group = "replay".into();
    g.apply_app_edge(&other);
    let v = g
        .view(&query("app:billing/invoicer", "upstream", 1, 7), &[], NOW)
        .unwrap();
    let e = v
        .edges
        .iter()
        .find(|e| e.from == "queue:shop/orders")
        .unwrap();
    assert_eq!(e.messages, 20);
    // A new app appears.
    g.apply_app_edge(&edge("ml/features", "shop/orders", "consumer", NOW));
    assert_eq!(g.node_count(), nodes + 1);
}

#[test]
fn cycles_end_and_every_node_is_listed_once() {
    let mut g = LineageGraph::default();
    // a → q1 → b → q2 → a
    for e in [
        edge("p/a", "p/q1", "producer", NOW),
        edge("p/b", "p/q1", "consumer", NOW),
        edge("p/b", "p/q2", "producer", NOW),
        edge("p/a", "p/q2", "consumer", NOW),
    ] {
        g.apply_app_edge(&e);
    }
    let v = g.view(&query("app:p/a", "both", 20, 7), &[], NOW).unwrap();
    assert_eq!(v.nodes.len(), 4);
    assert_eq!(v.edges.len(), 4);
    let down = g.downstream("app:p/a", NOW - DAY).unwrap();
    let found: Vec<&str> = down.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(found, ["queue:p/q1", "app:p/b", "queue:p/q2"]);
    // The layout copes with the cycle and keeps every node.
    let d = layout(&v, Some("app:p/b"));
    assert_eq!(d.nodes.len(), 4);
    assert!(d.nodes.iter().all(|n| n.x > 0.0 && n.y > 0.0));
}

#[test]
fn downstream_reports_distance_and_the_queues_read_on_the_way() {
    let g = chain();
    let down = g.downstream("app:shop/checkout", NOW - 7 * DAY).unwrap();
    let warehouse = down.iter().find(|d| d.0 == "app:bi/warehouse").unwrap();
    assert_eq!(warehouse.1, 2, "reads orders directly");
    let queues: HashSet<&str> = down.iter().map(|d| d.0.as_str()).collect();
    let mut via = g.reads_among("app:bi/warehouse", &queues, NOW - 7 * DAY);
    via.sort();
    assert_eq!(via, ["queue:billing/invoices", "queue:shop/orders"]);
    assert!(!down.iter().any(|d| d.0 == "app:fraud/scorer"), "stale");
}

#[test]
fn the_path_between_two_nodes_follows_edges_either_way() {
    let g = chain();
    let p = g
        .path("app:shop/checkout", "queue:billing/invoices", 0, NOW)
        .unwrap();
    assert_eq!(p.edges.len(), 3);
    assert_eq!(p.edges[0].from, "app:shop/checkout");
    assert_eq!(p.edges[2].to, "queue:billing/invoices");
    let back = g
        .path("queue:billing/invoices", "app:shop/checkout", 0, NOW)
        .unwrap();
    assert_eq!(back.edges.len(), 3);
    assert!(g
        .path("app:shop/checkout", "app:nowhere/x", 0, NOW)
        .is_none());
}

#[test]
fn open_nodes_add_their_neighbours() {
    let g = chain();
    let q = query("app:shop/checkout", "downstream", 1, 7);
    let v = g.view(&q, &["queue:shop/orders".into()], NOW).unwrap();
    assert!(keys(&v).contains(&"app:billing/invoicer".to_string()));
}

#[test]
fn large_views_fold_projects_into_groups() {
    let g = chain();
    let v = g
        .view(&query("queue:shop/orders", "both", 3, 7), &[], NOW)
        .unwrap();
    let keep = HashSet::from(["queue:shop/orders".to_string()]);
    let (folded, grouped) = group_by_project(&v, &keep, &HashSet::from(["shop".into()]));
    assert_eq!(grouped, ["bi", "billing"]);
    let billing = folded
        .nodes
        .iter()
        .find(|n| n.key == "group:billing")
        .unwrap();
    assert_eq!((billing.kind, billing.members), (NodeKind::Group, 2));
    // The invoicer's read and write fold into group edges; the loop inside billing goes.
    assert!(folded
        .edges
        .iter()
        .any(|e| e.from == "queue:shop/orders" && e.to == "group:billing"));
    assert!(!folded.edges.iter().any(|e| e.from == e.to));
}

#[test]
fn selecting_a_node_highlights_its_upstream_and_downstream_paths() {
    let g = chain();
    let v = g
        .view(&query("queue:shop/orders", "both", 3, 7), &[], NOW)
        .unwrap();
    let d = layout(&v, Some("app:billing/invoicer"));
    let lit: HashSet<&str> = d
        .nodes
        .iter()
        .filter(|n| n.highlighted)
        .map(|n| n.node.key.as_str())
        .collect();
    assert!(lit.contains("app:shop/checkout"), "upstream");
    assert!(lit.contains("app:bi/warehouse"), "downstream");
    let node_link = |n: &LineageNode| format!("/lineage?node={}", n.key);
    let edge_link = |e: &LineageEdge| format!("/lineage?edge={},{}", e.from, e.to);
    let links = SvgLinks {
        node: &node_link,
        edge: &edge_link,
        selected_edge: Some(("queue:shop/orders", "app:billing/invoicer")),
        now: NOW,
    };
    let svg = render_svg(&d, &v.focus, Some("app:billing/invoicer"), &links);
    assert!(svg.contains(r#"class="edge hl""#));
    assert!(
        svg.contains(r#"class="edge hl sel""#),
        "the open edge is marked"
    );
    assert!(
        svg.contains("shop/orders → billing/invoicer: "),
        "an edge's title says what flows along it"
    );
    assert!(svg.contains(r#"href="/lineage?edge=queue:shop/orders,app:billing/invoicer""#));
    assert!(svg.contains("node ln-app h-active hl sel"));
    assert!(svg.starts_with("<svg xmlns"));
}

#[test]
fn layers_flow_left_to_right_without_overlaps() {
    let g = chain();
    let v = g
        .view(&query("app:shop/checkout", "downstream", 4, 7), &[], NOW)
        .unwrap();
    let d = layout(&v, None);
    let x = |k: &str| d.nodes.iter().find(|n| n.node.key == k).unwrap().x;
    assert!(x("app:shop/checkout") < x("queue:shop/orders"));
    assert!(x("queue:shop/orders") < x("app:billing/invoicer"));
    for a in &d.nodes {
        for b in &d.nodes {
            if a.node.key < b.node.key {
                let apart = (a.x - b.x).abs() >= a.width || (a.y - b.y).abs() >= a.height;
                assert!(apart, "{} overlaps {}", a.node.key, b.node.key);
            }
        }
    }
}

#[test]
fn the_whole_graph_folds_by_project_in_one_pass() {
    let g = chain();
    let (v, folded, opened) = g.folded(7, NOW, &["shop".to_string(), "nowhere".to_string()]);
    assert_eq!(folded, ["bi", "billing", "fraud"]);
    assert_eq!(opened, ["shop"], "an unknown project is not opened");
    let keys = keys(&v);
    assert!(
        keys.contains(&"queue:shop/orders".to_string()),
        "shop stays expanded"
    );
    let billing = v.nodes.iter().find(|n| n.key == "group:billing").unwrap();
    assert_eq!(billing.members, 2);
    assert_eq!(billing.health, Health::Active);
    let fraud = v.nodes.iter().find(|n| n.key == "group:fraud").unwrap();
    assert_eq!(fraud.health, Health::Stale, "only read 30 days ago");
    // Edges between the same two folded nodes merge; edges inside one project vanish.
    let to_bi: Vec<_> = v.edges.iter().filter(|e| e.to == "group:bi").collect();
    assert_eq!(to_bi.len(), 2, "from orders and from the billing group");
    assert!(!v.edges.iter().any(|e| e.from == e.to));
    // The same answer as folding an exported view.
    let (slow, _) = group_by_project(
        &g.export(7, NOW),
        &HashSet::new(),
        &HashSet::from(["shop".to_string()]),
    );
    assert_eq!(v.nodes.len(), slow.nodes.len());
    assert_eq!(v.edges.len(), slow.edges.len());
}

#[test]
fn the_digest_ranks_readers_and_finds_new_and_newly_stale_edges() {
    let mut g = chain();
    // fraud/scorer's read fell out of the window ten days ago: not "went stale this week".
    // bi/auditor read orders until nine days ago: it went stale during the last week.
    g.apply_app_edge(&edge(
        "bi/auditor",
        "shop/orders",
        "consumer",
        NOW - 9 * DAY,
    ));
    let mut fresh = edge("lab/newbie", "billing/invoices", "consumer", NOW - 1000);
    fresh.first_seen = NOW - 2 * DAY;
    fresh.messages = 5;
    g.apply_app_edge(&fresh);
    let d = g.digest(7, NOW, 10);
    assert_eq!(d.most_read[0].node.key, "queue:shop/orders");
    assert_eq!(
        d.most_read[0].readers, 2,
        "invoicer and warehouse; stale readers do not count"
    );
    assert_eq!(d.most_read[1].node.key, "queue:billing/invoices");
    assert!(d
        .new_edges
        .iter()
        .any(|e| e.from == "queue:billing/invoices" && e.to == "app:lab/newbie"));
    assert!(d.new_edges.iter().all(|e| e.first_seen >= NOW - 7 * DAY));
    let stale: Vec<&str> = d.went_stale.iter().map(|e| e.to.as_str()).collect();
    assert_eq!(stale, ["app:bi/auditor"]);
    assert!(d.jobs.is_empty());
}

#[test]
fn find_matches_every_word_and_puts_exact_names_first() {
    let g = chain();
    let found: Vec<String> = g
        .find("orders", 7, NOW, 10)
        .into_iter()
        .map(|n| n.key)
        .collect();
    assert_eq!(found, ["queue:shop/orders"]);
    let found: Vec<String> = g
        .find("BILLING inv", 7, NOW, 10)
        .into_iter()
        .map(|n| n.key)
        .collect();
    assert_eq!(found, ["app:billing/invoicer", "queue:billing/invoices"]);
    assert!(g.find("  ", 7, NOW, 10).is_empty());
}

#[test]
fn an_edge_tells_its_rate_between_two_reports() {
    let mut g = LineageGraph::default();
    let mut e = edge("shop/checkout", "shop/orders", "producer", NOW - 60_000);
    e.messages = 1_000;
    g.apply_app_edge(&e);
    let rate = |g: &LineageGraph| g.export(7, NOW).edges[0].per_second;
    assert_eq!(rate(&g), None, "one report tells no rate");
    // A minute later 6,000 more messages: 100 per second.
    e.last_seen = NOW;
    e.messages = 7_000;
    g.apply_app_edge(&e);
    assert_eq!(rate(&g), Some(100.0));
    // The same report read again (refreshes overlap) keeps the rate.
    g.apply_app_edge(&e);
    assert_eq!(rate(&g), Some(100.0));
    let edge = &g.export(7, NOW).edges[0];
    assert!(
        edge.flow(NOW).starts_with("100 msg/s"),
        "{}",
        edge.flow(NOW)
    );
    assert!(edge.flow(NOW + 6 * 60_000).starts_with("idle"));
}

#[test]
fn the_landing_opens_projects_only_within_the_node_budget() {
    let mut g = LineageGraph::default();
    for i in 0..=MAX_VISIBLE_NODES {
        g.apply_app_edge(&edge(&format!("big/app-{i}"), "small/q", "producer", NOW));
    }
    let asked = ["big".to_string(), "small".to_string()];
    let (v, _, opened) = g.folded(7, NOW, &asked);
    assert_eq!(opened, ["small"], "300 apps and more do not fit");
    assert!(v.nodes.len() <= MAX_VISIBLE_NODES);
    assert!(v.nodes.iter().any(|n| n.key == "group:big"));
}
