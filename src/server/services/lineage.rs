//! Lineage use cases: views of the graph, impact analysis with owners and grants, paths, the
//! console's laid-out page, and OpenLineage run events mapped onto queues.

use super::search::{self, MAX_QUERY_LEN};
use super::Ctx;
use super::{access, queues, require_writer, ServiceError, ServiceResult};
use crate::domain::{
    comma_list, kafka_namespace_hosts, node_key, parse_lineage_days, parse_node_field,
    parse_node_key, Direction, FieldError, Health, IgnoredDataset, ImpactView, ImpactedNode,
    LineageEdge, LineageLanding, LineageNode, LineagePage, LineagePageInput, LineageQuery,
    LineageQueryInput, LineageStrip, LineageView, MappedDataset, NodeKind, OpenLineageRunEvent,
    Permission, RunEventAck, SearchRequest, MAX_VISIBLE_NODES,
};
use crate::server::db::lineage::JobEdgeRow;
use crate::server::db::{now_millis, AuditEvent, Store};
use crate::server::lineage::layout::{layout, render_svg, SvgLinks};
use crate::server::lineage::{group_by_project, Lineage};
use std::collections::{BTreeSet, HashMap, HashSet};

const DAY: i64 = 86_400_000;

/// A node known to the database but not (yet) to the graph: a queue or application nobody has
/// reported on. `NotFound` when it does not exist at all.
async fn known_node(
    store: &dyn Store,
    lineage: &Lineage,
    key: &str,
    days: u32,
) -> ServiceResult<LineageNode> {
    if let Some(n) = lineage.read().node(key, days, now_millis()) {
        return Ok(n);
    }
    let (kind, scope, name) =
        parse_node_key(key).ok_or_else(|| ServiceError::NotFound(format!("node {key}")))?;
    let owner = match kind {
        NodeKind::Queue => queues::get(store, scope, name).await?.owner,
        NodeKind::App => access::application(store, scope, name).await?.owner,
        _ => return Err(ServiceError::NotFound(format!("node {key}"))),
    };
    Ok(LineageNode {
        key: key.to_string(),
        kind,
        scope: scope.to_string(),
        name: name.to_string(),
        owner,
        groups: Vec::new(),
        health: Health::Stale,
        members: 1,
        consumers: None,
    })
}

fn lone(node: LineageNode) -> LineageView {
    LineageView {
        focus: node.key.clone(),
        nodes: vec![node],
        edges: Vec::new(),
    }
}

async fn view_of(
    store: &dyn Store,
    lineage: &Lineage,
    q: &LineageQuery,
    open: &[String],
) -> ServiceResult<LineageView> {
    let found = lineage.read().view(q, open, now_millis());
    match found {
        Some(v) => Ok(v),
        None => Ok(lone(known_node(store, lineage, &q.node, q.days).await?)),
    }
}

/// Upstream, downstream or both around a node, to a depth, within a time window.
pub async fn view(
    store: &dyn Store,
    lineage: &Lineage,
    input: &LineageQueryInput,
) -> ServiceResult<LineageView> {
    view_of(store, lineage, &input.parse()?, &[]).await
}

/// A node's direct neighbours, both ways.
pub async fn neighbours(
    store: &dyn Store,
    lineage: &Lineage,
    input: &LineageQueryInput,
) -> ServiceResult<LineageView> {
    let mut q = input.parse()?;
    q.depth = 1;
    q.direction = Direction::Both;
    view_of(store, lineage, &q, &[]).await
}

/// Everything transitively downstream of a node, with the people to tell: each node's owner
/// and its project's owners, and for applications whether they hold a live grant to read
/// every queue they read on the way.
pub async fn impact(
    store: &dyn Store,
    lineage: &Lineage,
    sensitive_tag: &str,
    input: &LineageQueryInput,
) -> ServiceResult<ImpactView> {
    let q = input.parse()?;
    known_node(store, lineage, &q.node, q.days).await?;
    let now = now_millis();
    let since = now - q.days as i64 * DAY;
    let found = {
        let g = lineage.read();
        let down = g.downstream(&q.node, since).unwrap_or_default();
        // The changed node and everything downstream: an application's reads among them are
        // the ones the change reaches it through.
        let mut reached: HashSet<&str> = down.iter().map(|d| d.0.as_str()).collect();
        reached.insert(q.node.as_str());
        down.iter()
            .filter_map(|(key, distance)| {
                let n = g.node(key, q.days, now)?;
                let via = if n.kind == NodeKind::App {
                    g.reads_among(key, &reached, since)
                } else {
                    Vec::new()
                };
                Some((n, *distance, via))
            })
            .collect::<Vec<_>>()
    };
    let mut project_owners: HashMap<String, Vec<String>> = HashMap::new();
    let mut nodes = Vec::with_capacity(found.len());
    let mut everyone = BTreeSet::new();
    for (n, distance, via) in found {
        let owners = if n.kind == NodeKind::Job {
            Vec::new()
        } else {
            match project_owners.get(&n.scope) {
                Some(o) => o.clone(),
                None => {
                    let o = store
                        .project(&n.scope)
                        .await?
                        .map(|p| p.owners)
                        .unwrap_or_default();
                    project_owners.insert(n.scope.clone(), o.clone());
                    o
                }
            }
        };
        let live_grant = if n.kind == NodeKind::App {
            let grants = access::grants(store, &n.scope, &n.name).await?;
            // A queue of the application's own project needs no grant while the project
            // lets its own applications in and the queue is not sensitive.
            let own = store.own_apps_access(&n.scope).await?;
            let mut reads_ok = true;
            for queue in &via {
                let Some((_, qp, qn)) = parse_node_key(queue) else {
                    reads_ok = false;
                    break;
                };
                let own_queue = own
                    && qp == n.scope
                    && !queues::get(store, qp, qn)
                        .await?
                        .tags
                        .iter()
                        .any(|t| t == sensitive_tag);
                if !own_queue && !access::covers(&grants, qp, qn, Permission::Consume, now) {
                    reads_ok = false;
                    break;
                }
            }
            Some(reads_ok)
        } else {
            None
        };
        if !n.owner.is_empty() {
            everyone.insert(n.owner.clone());
        }
        everyone.extend(owners.iter().cloned());
        nodes.push(ImpactedNode {
            label: n.label(),
            key: n.key,
            kind: n.kind,
            distance,
            owner: n.owner,
            project_owners: owners,
            live_grant,
        });
    }
    Ok(ImpactView {
        root: q.node,
        nodes,
        owners: everyone.into_iter().collect(),
    })
}

/// The shortest directed path between two nodes within the last `days`.
pub async fn path(
    store: &dyn Store,
    lineage: &Lineage,
    from: &str,
    to: &str,
    days: Option<String>,
) -> ServiceResult<LineageView> {
    let q = LineageQueryInput {
        node: from.to_string(),
        days,
        ..Default::default()
    }
    .parse();
    let to = parse_node_field("to", to);
    let (q, to) = match (q, to) {
        (Ok(q), Ok(to)) => (q, to),
        (q, to) => {
            let mut errors: Vec<_> = q.err().unwrap_or_default();
            for e in &mut errors {
                if e.field == "node" {
                    e.field = "from".into();
                }
            }
            errors.extend(to.err());
            return Err(errors.into());
        }
    };
    for key in [&q.node, &to] {
        known_node(store, lineage, key, q.days).await?;
    }
    let now = now_millis();
    let found = lineage
        .read()
        .path(&q.node, &to, now - q.days as i64 * DAY, now);
    found.ok_or_else(|| {
        ServiceError::NotFound(format!(
            "a path between {} and {to} within {} days",
            q.node, q.days
        ))
    })
}

/// The whole graph.
pub fn export(lineage: &Lineage, days: u32) -> LineageView {
    lineage.read().export(days, now_millis())
}

/// A queue's direct writers and readers within the default window.
pub async fn strip(
    store: &dyn Store,
    lineage: &Lineage,
    project: &str,
    queue: &str,
) -> ServiceResult<LineageStrip> {
    let key = node_key(NodeKind::Queue, project, queue);
    let v = view_of(
        store,
        lineage,
        &LineageQueryInput {
            node: key.clone(),
            depth: Some("1".into()),
            ..Default::default()
        }
        .parse()?,
        &[],
    )
    .await?;
    let by_key: HashMap<&str, &LineageNode> = v.nodes.iter().map(|n| (n.key.as_str(), n)).collect();
    let mut strip = LineageStrip::default();
    for e in &v.edges {
        if e.to == key {
            strip
                .writers
                .extend(by_key.get(e.from.as_str()).map(|n| (*n).clone()));
        } else if e.from == key {
            strip
                .readers
                .extend(by_key.get(e.to.as_str()).map(|n| (*n).clone()));
        }
    }
    Ok(strip)
}

/// The console's lineage page: the view, the open nodes' neighbours, projects folded into
/// groups past [`MAX_VISIBLE_NODES`] (unless expanded), the layout with the selected node's
/// paths lit, and the impact of the selected node (or the focus).
pub async fn page(
    store: &dyn Store,
    lineage: &Lineage,
    monitor: &crate::server::health::Monitor,
    sensitive_tag: &str,
    input: &LineagePageInput,
) -> ServiceResult<(LineagePage, String)> {
    let q = input.query.parse()?;
    let open = comma_list(&input.open);
    let expanded = comma_list(&input.expand);
    let focus = known_node(store, lineage, &q.node, q.days).await?;
    let mut view = view_of(store, lineage, &q, &open).await?;
    let mut grouped = Vec::new();
    if view.nodes.len() > MAX_VISIBLE_NODES {
        let mut keep: HashSet<String> = open.iter().cloned().collect();
        keep.insert(q.node.clone());
        keep.insert(input.selected.clone());
        let keep_projects: HashSet<String> = expanded.iter().cloned().collect();
        (view, grouped) = group_by_project(&view, &keep, &keep_projects);
    }
    // Queues wear their consumers' health.
    let statuses = monitor.statuses_by_key();
    for n in &mut view.nodes {
        if n.kind == NodeKind::Queue {
            n.consumers = statuses.get(&format!("{}/{}", n.scope, n.name)).copied();
        }
    }
    let selected = Some(input.selected.clone()).filter(|s| !s.is_empty());
    let mut drawing = layout(&view, selected.as_deref());
    drawing.grouped = grouped;
    // The open edge, as drawn (folded edges included): `from,to`.
    let edge = input.edge.split_once(',').and_then(|(from, to)| {
        view.edges
            .iter()
            .find(|e| e.from == from.trim() && e.to == to.trim())
            .cloned()
    });
    let now = now_millis();
    let svg = {
        let node_link = |n: &LineageNode| page_link(input, n);
        let edge_to = |e: &LineageEdge| edge_link(input, e);
        let links = SvgLinks {
            node: &node_link,
            edge: &edge_to,
            selected_edge: edge.as_ref().map(|e| (e.from.as_str(), e.to.as_str())),
            now,
        };
        render_svg(&drawing, &q.node, selected.as_deref(), &links)
    };
    let impact_of = selected
        .clone()
        .filter(|s| parse_node_field("selected", s).is_ok())
        .unwrap_or_else(|| q.node.clone());
    let impact = impact(
        store,
        lineage,
        sensitive_tag,
        &LineageQueryInput {
            node: impact_of,
            days: Some(q.days.to_string()),
            ..Default::default()
        },
    )
    .await?;
    let mut page = LineagePage {
        focus,
        depth: q.depth,
        days: q.days,
        direction: q.direction,
        include_stale: q.include_stale,
        selected,
        open,
        expanded,
        drawing,
        impact,
        edge,
        share: String::new(),
        now,
    };
    page.share = share_link(&page);
    Ok((page, svg))
}

/// How many entries each of the landing page's lists shows.
const LANDING_LIST: usize = 10;

/// The lineage landing page: what a search for `q` finds (queues through the data map's
/// index, applications and jobs by name in the graph), the whole graph folded by project
/// (with `expand` shown node by node), and the digest of the last `days`.
pub async fn landing(
    cx: &Ctx,
    q: &str,
    days: Option<String>,
    expand: &str,
) -> ServiceResult<(LineageLanding, String)> {
    let days = parse_lineage_days(&days)?;
    let q = q.trim().to_string();
    if q.len() > MAX_QUERY_LEN {
        return Err(vec![FieldError::new(
            "q",
            format!("must be at most {MAX_QUERY_LEN} characters"),
        )]
        .into());
    }
    let expanded = comma_list(expand);
    let now = now_millis();
    let mut found = Vec::new();
    if !q.is_empty() {
        let hits = search::search(
            cx,
            &SearchRequest {
                q: Some(q.clone()),
                limit: Some(LANDING_LIST),
                ..Default::default()
            },
        )
        .await?
        .hits;
        let g = cx.lineage.read();
        for h in hits {
            let key = node_key(NodeKind::Queue, &h.project, &h.name);
            found.push(g.node(&key, days, now).unwrap_or(LineageNode {
                key,
                kind: NodeKind::Queue,
                scope: h.project,
                name: h.name,
                owner: h.owner,
                groups: Vec::new(),
                health: Health::Stale,
                members: 1,
                consumers: None,
            }));
        }
        let listed: HashSet<String> = found.iter().map(|n| n.key.clone()).collect();
        found.extend(
            g.find(&q, days, now, 3 * LANDING_LIST)
                .into_iter()
                .filter(|n| !listed.contains(&n.key)),
        );
    }
    let (view, digest, expanded) = {
        let g = cx.lineage.read();
        let (view, _, opened) = g.folded(days, now, &expanded);
        (view, g.digest(days, now, LANDING_LIST), opened)
    };
    let mut drawing = layout(&view, None);
    let opened = expanded.join(",");
    let node_link = |n: &LineageNode| {
        if n.kind == NodeKind::Group {
            let open = if opened.is_empty() {
                n.scope.clone()
            } else {
                format!("{opened},{}", n.scope)
            };
            let mut url = url::form_urlencoded::Serializer::new(String::new());
            url.append_pair("days", &days.to_string());
            url.append_pair("expand", &open);
            format!("/lineage?{}", url.finish())
        } else {
            format!("/lineage?node={}&days={days}", urlencode(&n.key))
        }
    };
    let no_link = |_: &LineageEdge| String::new();
    let links = SvgLinks {
        node: &node_link,
        edge: &no_link,
        selected_edge: None,
        now,
    };
    let svg = render_svg(&drawing, "", None, &links);
    drawing.grouped = Vec::new();
    Ok((
        LineageLanding {
            q,
            found,
            days,
            expanded,
            drawing,
            digest,
            now,
        },
        svg,
    ))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Where clicking a node leads: the same page with the node selected and its neighbours
/// opened; a group expands its project instead.
pub fn page_link(input: &LineagePageInput, n: &LineageNode) -> String {
    let mut open = comma_list(&input.open);
    let mut expand = comma_list(&input.expand);
    let mut selected = input.selected.clone();
    if n.kind == NodeKind::Group {
        if !expand.contains(&n.scope) {
            expand.push(n.scope.clone());
        }
    } else {
        if !open.contains(&n.key) && n.key != input.query.node {
            open.push(n.key.clone());
        }
        selected = n.key.clone();
    }
    let q = &input.query;
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    url.append_pair("node", &q.node);
    for (k, v) in [
        ("direction", &q.direction),
        ("depth", &q.depth),
        ("days", &q.days),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            url.append_pair(k, v);
        }
    }
    if q.stale == Some(true) {
        url.append_pair("stale", "true");
    }
    for (k, v) in [("open", open.join(",")), ("expand", expand.join(","))] {
        if !v.is_empty() {
            url.append_pair(k, &v);
        }
    }
    if !selected.is_empty() {
        url.append_pair("selected", &selected);
    }
    format!("/lineage?{}", url.finish())
}

/// Where clicking an edge leads: the same page with the edge's panel open.
pub fn edge_link(input: &LineagePageInput, e: &LineageEdge) -> String {
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    let q = &input.query;
    url.append_pair("node", &q.node);
    for (k, v) in [
        ("direction", q.direction.clone().unwrap_or_default()),
        ("depth", q.depth.clone().unwrap_or_default()),
        ("days", q.days.clone().unwrap_or_default()),
        (
            "stale",
            if q.stale == Some(true) {
                "true".into()
            } else {
                String::new()
            },
        ),
        ("open", input.open.clone()),
        ("expand", input.expand.clone()),
        ("selected", input.selected.clone()),
    ] {
        if !v.is_empty() {
            url.append_pair(k, &v);
        }
    }
    url.append_pair("edge", &format!("{},{}", e.from, e.to));
    format!("/lineage?{}", url.finish())
}

/// The link that reproduces a page exactly: every setting spelled out, defaults included, so
/// the view does not change if a default does.
pub fn share_link(p: &LineagePage) -> String {
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    url.append_pair("node", &p.focus.key);
    url.append_pair("direction", p.direction.as_ref());
    url.append_pair("depth", &p.depth.to_string());
    url.append_pair("days", &p.days.to_string());
    url.append_pair("stale", if p.include_stale { "true" } else { "false" });
    for (k, v) in [
        ("open", p.open.join(",")),
        ("expand", p.expanded.join(",")),
        ("selected", p.selected.clone().unwrap_or_default()),
        (
            "edge",
            p.edge
                .as_ref()
                .map(|e| format!("{},{}", e.from, e.to))
                .unwrap_or_default(),
        ),
    ] {
        if !v.is_empty() {
            url.append_pair(k, &v);
        }
    }
    format!("/lineage?{}", url.finish())
}

/// Records an OpenLineage run event: each `kafka://` dataset whose topic is a queue's physical
/// topic becomes a read (inputs) or write (outputs) edge of the job. A topic held by several
/// queues is matched by the brokers in the namespace.
pub async fn record_run_event(cx: &Ctx, event: &OpenLineageRunEvent) -> ServiceResult<RunEventAck> {
    require_writer(&cx.actor)?;
    event.validate()?;
    let now = now_millis();
    let completed = event
        .event_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("COMPLETE"));
    let job_key = node_key(NodeKind::Job, &event.job.namespace, &event.job.name);
    let mut rows = Vec::new();
    let mut mapped = Vec::new();
    let mut ignored = Vec::new();
    let datasets = event
        .inputs
        .iter()
        .map(|d| (d, "input", "consumer"))
        .chain(event.outputs.iter().map(|d| (d, "output", "producer")));
    for (d, direction, role) in datasets {
        let label = format!("{}/{}", d.namespace, d.name);
        let Some(hosts) = kafka_namespace_hosts(&d.namespace) else {
            ignored.push(IgnoredDataset {
                dataset: label,
                reason: "not a kafka:// dataset".into(),
            });
            continue;
        };
        let candidates = cx.store.queues_by_topic(&d.name).await?;
        let on_brokers = |servers: &str| {
            servers
                .split(',')
                .any(|s| hosts.contains(&s.trim().to_ascii_lowercase()))
        };
        let by_broker: Vec<_> = candidates
            .iter()
            .filter(|c| {
                on_brokers(&c.primary_servers)
                    || c.backup_servers.as_deref().is_some_and(on_brokers)
            })
            .collect();
        let chosen = match (by_broker.as_slice(), candidates.as_slice()) {
            ([one], _) => Some(*one),
            ([], [only]) => Some(only),
            _ => None,
        };
        let Some(q) = chosen else {
            ignored.push(IgnoredDataset {
                dataset: label,
                reason: if candidates.is_empty() {
                    format!("no queue has the topic {:?}", d.name)
                } else {
                    format!(
                        "{} queues have the topic {:?} and the namespace's brokers do not tell them apart",
                        candidates.len(),
                        d.name
                    )
                },
            });
            continue;
        };
        mapped.push(MappedDataset {
            dataset: label,
            queue: node_key(NodeKind::Queue, &q.project, &q.name),
            direction: direction.into(),
        });
        rows.push(JobEdgeRow {
            job_namespace: event.job.namespace.clone(),
            job_name: event.job.name.clone(),
            queue_id: q.queue_id,
            role,
            at: now,
            completed,
        });
    }
    if !rows.is_empty() {
        let audit = AuditEvent {
            actor: cx.actor.username.clone(),
            action: "lineage.run_event",
            target_kind: "job",
            target: job_key.clone(),
            summary: format!(
                "{} event: {}",
                event.event_type.as_deref().unwrap_or("OTHER"),
                mapped
                    .iter()
                    .map(|m| format!("{} {}", m.direction, m.queue))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        cx.store.record_job_edges(&rows, &audit).await?;
        cx.lineage
            .refresh(cx.store())
            .await
            .map_err(|e| ServiceError::Internal(e.context("refreshing lineage")))?;
    }
    Ok(RunEventAck {
        job: job_key,
        mapped,
        ignored,
    })
}
