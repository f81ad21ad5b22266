//! The lineage graph: applications, jobs and queues joined by the writes and reads SDK reports
//! and OpenLineage events show. Built from the database at start, then refreshed with the
//! edges written since (at once when the collector writes some, and every few seconds for what
//! other processes wrote). Node indexes never leave this module: callers speak in node keys.

pub mod layout;

use crate::domain::{
    node_key, Direction, Health, JobSummary, LineageDigest, LineageEdge, LineageNode, LineageQuery,
    LineageView, NodeKind, ReadQueue, EDGE_IDLE_AFTER_MS, MAX_VISIBLE_NODES,
};
use crate::server::db::lineage::{AppEdgeRecord, JobEdgeRecord};
use crate::server::db::Store;
use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::{EdgeRef, VisitMap, Visitable};
use petgraph::Direction as Dir;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
/// Edges written up to this long before the newest one seen are read again on refresh: a
/// report's time is when it arrived, and it may be committed a little later.
const REFRESH_OVERLAP: i64 = 60_000;
/// Rows applied under one write lock while the graph is built or refreshed.
const REFRESH_CHUNK: usize = 10_000;
/// How often the database is asked for edges other processes wrote.
pub const REFRESH_EVERY: Duration = Duration::from_secs(5);

/// An interned string: scopes, owners and consumer groups repeat across many nodes and edges,
/// so each is held once and nodes and edges carry its number.
type Sym = u32;

#[derive(Debug, Default)]
struct Names {
    all: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, Sym>,
}

impl Names {
    fn intern(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.all.len() as Sym;
        let s: Arc<str> = s.into();
        self.all.push(s.clone());
        self.ids.insert(s, id);
        id
    }

    fn get(&self, id: Sym) -> &str {
        &self.all[id as usize]
    }
}

#[derive(Debug, Clone)]
struct Node {
    kind: NodeKind,
    scope: Sym,
    owner: Sym,
    name: Box<str>,
    /// The consumer groups an application reads in, unordered and distinct.
    groups: Vec<Sym>,
}

/// One stored row's contribution to an edge (an edge joins the rows of every consumer group).
#[derive(Debug, Clone, Copy)]
struct Part {
    group: Sym,
    first_seen: i64,
    last_seen: i64,
    messages: i64,
    bytes: i64,
    /// Messages per second between this row's last two reports (negative: not known yet).
    per_second: f32,
}

/// Edge attributes in columns, indexed by edge index (edges are never removed, so indexes
/// are stable). Nearly every edge is one row (one consumer group): its part is the columns
/// themselves; only edges of several groups keep their parts in `parts`.
#[derive(Debug, Default)]
struct Edges {
    first_seen: Vec<i64>,
    last_seen: Vec<i64>,
    messages: Vec<i64>,
    bytes: Vec<i64>,
    /// The group and rate of a one-part edge.
    group: Vec<Sym>,
    per_second: Vec<f32>,
    parts: HashMap<u32, Vec<Part>>,
}

impl Edges {
    fn push(&mut self, p: Part) {
        self.first_seen.push(p.first_seen);
        self.last_seen.push(p.last_seen);
        self.messages.push(p.messages);
        self.bytes.push(p.bytes);
        self.group.push(p.group);
        self.per_second.push(p.per_second);
    }

    /// The only part of a one-part edge.
    fn single(&self, e: usize) -> Part {
        Part {
            group: self.group[e],
            first_seen: self.first_seen[e],
            last_seen: self.last_seen[e],
            messages: self.messages[e],
            bytes: self.bytes[e],
            per_second: self.per_second[e],
        }
    }

    fn last_seen(&self, e: EdgeIndex) -> i64 {
        self.last_seen[e.index()]
    }

    fn messages(&self, e: EdgeIndex) -> i64 {
        self.messages[e.index()]
    }

    /// An edge's totals over its parts (`group` and `per_second` are not summed: unset).
    fn sums(&self, e: EdgeIndex) -> Part {
        let mut p = self.single(e.index());
        p.per_second = -1.0;
        p
    }

    /// The sum of the known recent rates of the parts still reporting (a consumer group that
    /// stopped long before the edge's last report adds nothing); `None` while none is known.
    fn per_second(&self, e: EdgeIndex) -> Option<f64> {
        let i = e.index();
        let last_seen = self.last_seen[i];
        let known = |p: &Part| p.per_second >= 0.0 && p.last_seen >= last_seen - EDGE_IDLE_AFTER_MS;
        match self.parts.get(&(i as u32)) {
            Some(parts) => parts.iter().filter(|p| known(p)).fold(None, |sum, p| {
                Some(sum.unwrap_or(0.0) + f64::from(p.per_second))
            }),
            None => Some(self.single(i))
                .filter(known)
                .map(|p| f64::from(p.per_second)),
        }
    }

    /// Sets one row's totals (rows carry running totals, so applying one twice is harmless).
    fn set(&mut self, e: EdgeIndex, mut part: Part) {
        let i = e.index();
        // A newer report of the same row: the rate is what moved since the last one. The same
        // report read twice (refreshes overlap) keeps the rate it had.
        let rate = |old: &Part, new: &Part| {
            let secs = (new.last_seen - old.last_seen) as f64 / 1000.0;
            if secs > 0.0 && new.messages >= old.messages {
                ((new.messages - old.messages) as f64 / secs) as f32
            } else {
                old.per_second
            }
        };
        if !self.parts.contains_key(&(i as u32)) {
            let only = self.single(i);
            if only.group == part.group {
                part.per_second = rate(&only, &part);
                self.first_seen[i] = part.first_seen;
                self.last_seen[i] = part.last_seen;
                self.messages[i] = part.messages;
                self.bytes[i] = part.bytes;
                self.per_second[i] = part.per_second;
                return;
            }
            self.parts.insert(i as u32, vec![only]);
        }
        let parts = self.parts.get_mut(&(i as u32)).expect("just ensured");
        match parts.iter_mut().find(|p| p.group == part.group) {
            Some(p) => {
                part.per_second = rate(p, &part);
                *p = part;
            }
            None => parts.push(part),
        }
        self.first_seen[i] = parts.iter().map(|p| p.first_seen).min().unwrap_or(0);
        self.last_seen[i] = parts.iter().map(|p| p.last_seen).max().unwrap_or(0);
        self.messages[i] = parts.iter().map(|p| p.messages).sum();
        self.bytes[i] = parts.iter().map(|p| p.bytes).sum();
    }
}

/// The graph itself; see the module doc. Nodes and edges carry no strings of their own
/// beyond a node's name: keys are made when asked for, and repeated names are interned.
#[derive(Debug, Default)]
pub struct LineageGraph {
    graph: DiGraph<Node, ()>,
    edges: Edges,
    names: Names,
    index: HashMap<Box<str>, NodeIndex>,
}

/// A node to add or find.
pub struct NodeSpec<'a> {
    pub kind: NodeKind,
    pub scope: &'a str,
    pub name: &'a str,
    pub owner: &'a str,
}

impl LineageGraph {
    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    fn node_id(&mut self, spec: &NodeSpec) -> NodeIndex {
        let key = node_key(spec.kind, spec.scope, spec.name);
        if let Some(&i) = self.index.get(key.as_str()) {
            if !spec.owner.is_empty() && self.names.get(self.graph[i].owner) != spec.owner {
                self.graph[i].owner = self.names.intern(spec.owner);
            }
            return i;
        }
        let node = Node {
            kind: spec.kind,
            scope: self.names.intern(spec.scope),
            owner: self.names.intern(spec.owner),
            name: spec.name.into(),
            groups: Vec::new(),
        };
        let i = self.graph.add_node(node);
        self.index.insert(key.into_boxed_str(), i);
        i
    }

    /// A node's key, made from its parts.
    fn key(&self, i: NodeIndex) -> String {
        let n = &self.graph[i];
        node_key(n.kind, self.names.get(n.scope), &n.name)
    }

    fn scope(&self, i: NodeIndex) -> &str {
        self.names.get(self.graph[i].scope)
    }

    /// Adds or refreshes the edge `from → to` with one row's totals.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        from: &NodeSpec,
        to: &NodeSpec,
        group: &str,
        first_seen: i64,
        last_seen: i64,
        messages: i64,
        bytes: i64,
    ) {
        let (a, b) = (self.node_id(from), self.node_id(to));
        let part = Part {
            group: self.names.intern(group),
            first_seen,
            last_seen,
            messages,
            bytes,
            per_second: -1.0,
        };
        match self.graph.find_edge(a, b) {
            Some(e) => self.edges.set(e, part),
            None => {
                self.graph.add_edge(a, b, ());
                self.edges.push(part);
            }
        }
    }

    /// Applies an application edge as stored.
    pub fn apply_app_edge(&mut self, r: &AppEdgeRecord) {
        let app = NodeSpec {
            kind: NodeKind::App,
            scope: &r.app_project,
            name: &r.app_name,
            owner: &r.app_owner,
        };
        let queue = NodeSpec {
            kind: NodeKind::Queue,
            scope: &r.queue_project,
            name: &r.queue_name,
            owner: &r.queue_owner,
        };
        let (from, to) = if r.role == "producer" {
            (&app, &queue)
        } else {
            (&queue, &app)
        };
        self.record(
            from,
            to,
            &r.consumer_group,
            r.first_seen,
            r.last_seen,
            r.messages,
            r.bytes,
        );
        if !r.consumer_group.is_empty() {
            let i = self.index[node_key(NodeKind::App, &r.app_project, &r.app_name).as_str()];
            let group = self.names.intern(&r.consumer_group);
            if !self.graph[i].groups.contains(&group) {
                self.graph[i].groups.push(group);
            }
        }
    }

    /// Applies a job edge as stored; a job's volume is its completed runs.
    pub fn apply_job_edge(&mut self, r: &JobEdgeRecord) {
        let job = NodeSpec {
            kind: NodeKind::Job,
            scope: &r.job_namespace,
            name: &r.job_name,
            owner: "",
        };
        let queue = NodeSpec {
            kind: NodeKind::Queue,
            scope: &r.queue_project,
            name: &r.queue_name,
            owner: &r.queue_owner,
        };
        let (from, to) = if r.role == "producer" {
            (&job, &queue)
        } else {
            (&queue, &job)
        };
        self.record(from, to, "", r.first_seen, r.last_seen, r.runs, 0);
    }

    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    fn health(&self, i: NodeIndex, now: i64, since: i64) -> Health {
        let last = self
            .graph
            .edges_directed(i, Dir::Outgoing)
            .chain(self.graph.edges_directed(i, Dir::Incoming))
            .map(|e| self.edges.last_seen(e.id()))
            .max()
            .unwrap_or(0);
        if last >= now - HOUR {
            Health::Active
        } else if last >= since {
            Health::Quiet
        } else {
            Health::Stale
        }
    }

    fn node_view(&self, i: NodeIndex, now: i64, since: i64) -> LineageNode {
        let n = &self.graph[i];
        let mut groups: Vec<String> = n
            .groups
            .iter()
            .map(|g| self.names.get(*g).to_string())
            .collect();
        groups.sort();
        LineageNode {
            key: self.key(i),
            kind: n.kind,
            scope: self.scope(i).to_string(),
            name: n.name.to_string(),
            owner: self.names.get(n.owner).to_string(),
            groups,
            health: self.health(i, now, since),
            members: 1,
            consumers: None,
        }
    }

    fn edge_view(&self, e: EdgeIndex, since: i64) -> LineageEdge {
        let (a, b) = self.graph.edge_endpoints(e).expect("edge of this graph");
        let w = self.edges.sums(e);
        LineageEdge {
            from: self.key(a),
            to: self.key(b),
            first_seen: w.first_seen,
            last_seen: w.last_seen,
            messages: w.messages,
            bytes: w.bytes,
            stale: w.last_seen < since,
            per_second: self.edges.per_second(e),
        }
    }

    /// A node by key, with its health over the last `days`.
    pub fn node(&self, key: &str, days: u32, now: i64) -> Option<LineageNode> {
        let i = *self.index.get(key)?;
        Some(self.node_view(i, now, now - days as i64 * DAY))
    }

    /// Breadth-first from `start` along `dir`, up to `depth` hops, over edges seen since
    /// `since` (all edges when `since` is `None`). Calls `visit(edge, to, hops)` for every edge
    /// taken; every node is entered once, so cycles end.
    fn walk(
        &self,
        start: NodeIndex,
        dir: Dir,
        depth: u32,
        since: Option<i64>,
        mut visit: impl FnMut(EdgeIndex, NodeIndex, u32),
    ) {
        let mut seen = self.graph.visit_map();
        seen.visit(start);
        let mut queue = VecDeque::from([(start, 0u32)]);
        while let Some((n, hops)) = queue.pop_front() {
            if hops == depth {
                continue;
            }
            for e in self.graph.edges_directed(n, dir) {
                if since.is_some_and(|s| self.edges.last_seen(e.id()) < s) {
                    continue;
                }
                let next = if dir == Dir::Outgoing {
                    e.target()
                } else {
                    e.source()
                };
                visit(e.id(), next, hops + 1);
                if seen.visit(next) {
                    queue.push_back((next, hops + 1));
                }
            }
        }
    }

    /// The part of the graph a query asks for, plus the direct neighbours of each `open` node.
    /// `None` when the node is not in the graph.
    pub fn view(&self, q: &LineageQuery, open: &[String], now: i64) -> Option<LineageView> {
        let start = *self.index.get(q.node.as_str())?;
        let since = now - q.days as i64 * DAY;
        let filter = (!q.include_stale).then_some(since);
        let mut nodes: Vec<NodeIndex> = vec![start];
        let mut node_set: HashSet<NodeIndex> = HashSet::from([start]);
        let mut edges: Vec<EdgeIndex> = Vec::new();
        let mut edge_set: HashSet<EdgeIndex> = HashSet::new();
        let mut take = |e: EdgeIndex, n: NodeIndex| {
            if edge_set.insert(e) {
                edges.push(e);
            }
            if node_set.insert(n) {
                nodes.push(n);
            }
        };
        let dirs: &[Dir] = match q.direction {
            Direction::Upstream => &[Dir::Incoming],
            Direction::Downstream => &[Dir::Outgoing],
            Direction::Both => &[Dir::Incoming, Dir::Outgoing],
        };
        for &d in dirs {
            self.walk(start, d, q.depth, filter, |e, n, _| take(e, n));
        }
        for key in open {
            if let Some(&i) = self.index.get(key.as_str()) {
                for d in [Dir::Incoming, Dir::Outgoing] {
                    self.walk(i, d, 1, filter, |e, n, _| take(e, n));
                }
            }
        }
        Some(LineageView {
            focus: q.node.clone(),
            nodes: nodes
                .into_iter()
                .map(|i| self.node_view(i, now, since))
                .collect(),
            edges: edges
                .into_iter()
                .map(|e| self.edge_view(e, since))
                .collect(),
        })
    }

    /// Everything transitively downstream of `key` over edges seen since `since`, nearest
    /// first, each with its distance in hops.
    pub fn downstream(&self, key: &str, since: i64) -> Option<Vec<(String, u32)>> {
        let start = *self.index.get(key)?;
        let mut seen = self.graph.visit_map();
        seen.visit(start);
        let mut found: Vec<(NodeIndex, u32)> = Vec::new();
        let mut next = 0;
        let mut frontier = vec![(start, 0u32)];
        // Breadth first, with `found` as the queue: only discoveries are recorded.
        loop {
            for (n, hops) in frontier.drain(..) {
                for e in self.graph.edges_directed(n, Dir::Outgoing) {
                    if self.edges.last_seen(e.id()) >= since && seen.visit(e.target()) {
                        found.push((e.target(), hops + 1));
                    }
                }
            }
            if next == found.len() {
                break;
            }
            frontier.extend_from_slice(&found[next..]);
            next = found.len();
        }
        Some(found.into_iter().map(|(n, d)| (self.key(n), d)).collect())
    }

    /// The queues `reader` reads (over edges seen since `since`) that are among `queues`.
    pub fn reads_among(&self, reader: &str, queues: &HashSet<&str>, since: i64) -> Vec<String> {
        let Some(&n) = self.index.get(reader) else {
            return Vec::new();
        };
        self.graph
            .edges_directed(n, Dir::Incoming)
            .filter(|e| self.edges.last_seen(e.id()) >= since)
            .map(|e| e.source())
            .filter(|&q| self.graph[q].kind == NodeKind::Queue)
            .map(|q| self.key(q))
            .filter(|key| queues.contains(key.as_str()))
            .collect()
    }

    /// How many nodes are transitively downstream (for benchmarks: no allocation per node
    /// beyond the walk's own).
    pub fn downstream_count(&self, key: &str, since: i64) -> usize {
        let Some(&start) = self.index.get(key) else {
            return 0;
        };
        let mut n = 0;
        self.walk(start, Dir::Outgoing, u32::MAX, Some(since), |_, _, _| {
            n += 1
        });
        n
    }

    /// The shortest directed path from `from` to `to` (or, failing that, from `to` to
    /// `from`) over edges seen since `since`.
    pub fn path(&self, from: &str, to: &str, since: i64, now: i64) -> Option<LineageView> {
        let (a, b) = (*self.index.get(from)?, *self.index.get(to)?);
        let one_way = |a: NodeIndex, b: NodeIndex| -> Option<Vec<EdgeIndex>> {
            let mut came: HashMap<NodeIndex, EdgeIndex> = HashMap::new();
            let mut seen = HashSet::from([a]);
            let mut queue = VecDeque::from([a]);
            while let Some(n) = queue.pop_front() {
                if n == b {
                    let mut path = Vec::new();
                    let mut at = b;
                    while at != a {
                        let e = came[&at];
                        path.push(e);
                        at = self.graph.edge_endpoints(e)?.0;
                    }
                    path.reverse();
                    return Some(path);
                }
                for e in self.graph.edges_directed(n, Dir::Outgoing) {
                    if self.edges.last_seen(e.id()) >= since && seen.insert(e.target()) {
                        came.insert(e.target(), e.id());
                        queue.push_back(e.target());
                    }
                }
            }
            None
        };
        let path = one_way(a, b).or_else(|| one_way(b, a))?;
        let mut nodes = vec![a];
        for &e in &path {
            let (x, y) = self.graph.edge_endpoints(e)?;
            for n in [x, y] {
                if !nodes.contains(&n) {
                    nodes.push(n);
                }
            }
        }
        if !nodes.contains(&b) {
            nodes.push(b);
        }
        Some(LineageView {
            focus: from.to_string(),
            nodes: nodes
                .into_iter()
                .map(|i| self.node_view(i, now, since))
                .collect(),
            edges: path.into_iter().map(|e| self.edge_view(e, since)).collect(),
        })
    }

    /// The whole graph, every edge flagged stale or not against the last `days`.
    pub fn export(&self, days: u32, now: i64) -> LineageView {
        let since = now - days as i64 * DAY;
        LineageView {
            focus: String::new(),
            nodes: self
                .graph
                .node_indices()
                .map(|i| self.node_view(i, now, since))
                .collect(),
            edges: self
                .graph
                .edge_indices()
                .map(|e| self.edge_view(e, since))
                .collect(),
        }
    }
}

impl LineageGraph {
    /// The whole graph with every project not in `expand` folded into one node, in one pass
    /// over nodes and edges (the landing page draws it however large the graph is). Projects
    /// are opened in the order asked while their nodes together stay within
    /// [`MAX_VISIBLE_NODES`]; unknown ones are ignored. Returns the view, the folded projects
    /// and the opened ones.
    pub fn folded(
        &self,
        days: u32,
        now: i64,
        expand: &[String],
    ) -> (LineageView, Vec<String>, Vec<String>) {
        let since = now - days as i64 * DAY;
        let mut sizes: HashMap<&str, usize> = HashMap::new();
        for n in self.graph.node_weights() {
            *sizes.entry(self.names.get(n.scope)).or_default() += 1;
        }
        let mut opened = Vec::new();
        let mut budget = MAX_VISIBLE_NODES;
        for scope in expand {
            match sizes.get(scope.as_str()) {
                Some(&n) if n <= budget && !opened.contains(scope) => {
                    budget -= n;
                    opened.push(scope.clone());
                }
                _ => {}
            }
        }
        let expanded: HashSet<&str> = opened.iter().map(String::as_str).collect();
        // Each graph node's place in the folded view.
        let mut target: Vec<usize> = Vec::with_capacity(self.graph.node_count());
        let mut nodes: Vec<LineageNode> = Vec::new();
        let mut group_of: HashMap<&str, usize> = HashMap::new();
        for i in self.graph.node_indices() {
            let scope = self.scope(i);
            if expanded.contains(scope) {
                target.push(nodes.len());
                nodes.push(self.node_view(i, now, since));
                continue;
            }
            let at = *group_of.entry(scope).or_insert_with(|| {
                nodes.push(group_node(scope));
                nodes.len() - 1
            });
            nodes[at].members += 1;
            target.push(at);
        }
        let mut last_seen = vec![0i64; nodes.len()];
        let mut merged: HashMap<(usize, usize), usize> = HashMap::new();
        let mut edges: Vec<LineageEdge> = Vec::new();
        for e in self.graph.edge_indices() {
            let (a, b) = self.graph.edge_endpoints(e).expect("edge of this graph");
            let (from, to) = (target[a.index()], target[b.index()]);
            let w = self.edges.sums(e);
            for t in [from, to] {
                last_seen[t] = last_seen[t].max(w.last_seen);
            }
            if from == to {
                continue;
            }
            // Only edges still reporting add to the folded edge's rate.
            let rate = self
                .edges
                .per_second(e)
                .filter(|_| w.last_seen >= now - EDGE_IDLE_AFTER_MS);
            match merged.get(&(from, to)) {
                Some(&m) => {
                    let m = &mut edges[m];
                    m.first_seen = m.first_seen.min(w.first_seen);
                    m.last_seen = m.last_seen.max(w.last_seen);
                    m.messages += w.messages;
                    m.bytes += w.bytes;
                    m.stale &= w.last_seen < since;
                    m.per_second = match (m.per_second, rate) {
                        (Some(x), Some(y)) => Some(x + y),
                        (x, y) => x.or(y),
                    };
                }
                None => {
                    merged.insert((from, to), edges.len());
                    edges.push(LineageEdge {
                        from: nodes[from].key.clone(),
                        to: nodes[to].key.clone(),
                        first_seen: w.first_seen,
                        last_seen: w.last_seen,
                        messages: w.messages,
                        bytes: w.bytes,
                        stale: w.last_seen < since,
                        per_second: rate,
                    });
                }
            }
        }
        for (n, last) in nodes.iter_mut().zip(last_seen) {
            if n.kind == NodeKind::Group {
                n.health = if last >= now - HOUR {
                    Health::Active
                } else if last >= since {
                    Health::Quiet
                } else {
                    Health::Stale
                };
            }
        }
        let mut folded: Vec<String> = group_of.keys().map(|s| s.to_string()).collect();
        folded.sort();
        let view = LineageView {
            focus: String::new(),
            nodes,
            edges,
        };
        (view, folded, opened)
    }

    /// The landing page's lists over the last `days`: the `limit` most-read queues, edges new
    /// in the window and edges that went stale during it, and OpenLineage jobs.
    pub fn digest(&self, days: u32, now: i64, limit: usize) -> LineageDigest {
        let since = now - days as i64 * DAY;
        let before = since - days as i64 * DAY;
        let mut most_read = Vec::new();
        let mut jobs = Vec::new();
        for i in self.graph.node_indices() {
            match self.graph[i].kind {
                NodeKind::Queue => {
                    let live = self
                        .graph
                        .edges_directed(i, Dir::Outgoing)
                        .filter(|e| self.edges.last_seen(e.id()) >= since);
                    let (readers, messages) =
                        live.fold((0, 0), |(n, m), e| (n + 1, m + self.edges.messages(e.id())));
                    if readers > 0 {
                        most_read.push((readers, messages, i));
                    }
                }
                NodeKind::Job => {
                    let reads = self.graph.edges_directed(i, Dir::Incoming).count();
                    let writes = self.graph.edges_directed(i, Dir::Outgoing).count();
                    let last_seen = self
                        .graph
                        .edges(i)
                        .chain(self.graph.edges_directed(i, Dir::Incoming))
                        .map(|e| self.edges.last_seen(e.id()))
                        .max()
                        .unwrap_or(0);
                    jobs.push((last_seen, reads, writes, i));
                }
                _ => {}
            }
        }
        most_read.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        most_read.truncate(limit);
        jobs.sort_by_key(|j| std::cmp::Reverse(j.0));
        jobs.truncate(limit * 5);
        let mut new_edges = Vec::new();
        let mut went_stale = Vec::new();
        for e in self.graph.edge_indices() {
            let w = self.edges.sums(e);
            if w.first_seen >= since {
                new_edges.push((w.first_seen, e));
            } else if w.last_seen < since && w.last_seen >= before {
                went_stale.push((w.last_seen, e));
            }
        }
        let newest = |mut list: Vec<(i64, EdgeIndex)>| {
            list.sort_by_key(|e| std::cmp::Reverse(e.0));
            list.truncate(limit * 2);
            list.into_iter()
                .map(|(_, e)| self.edge_view(e, since))
                .collect::<Vec<_>>()
        };
        LineageDigest {
            nodes: self.graph.node_count(),
            edges: self.graph.edge_count(),
            most_read: most_read
                .into_iter()
                .map(|(readers, messages, i)| ReadQueue {
                    node: self.node_view(i, now, since),
                    readers,
                    messages,
                })
                .collect(),
            new_edges: newest(new_edges),
            went_stale: newest(went_stale),
            jobs: jobs
                .into_iter()
                .map(|(last_seen, reads, writes, i)| JobSummary {
                    node: self.node_view(i, now, since),
                    reads,
                    writes,
                    last_seen,
                })
                .collect(),
        }
    }

    /// Nodes whose `scope/name` holds every word of `q` (any case), exact names first, at
    /// most `limit`.
    pub fn find(&self, q: &str, days: u32, now: i64, limit: usize) -> Vec<LineageNode> {
        let words: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
        if words.is_empty() {
            return Vec::new();
        }
        let mut hits: Vec<(bool, String, NodeIndex)> = Vec::new();
        for i in self.graph.node_indices() {
            let n = &self.graph[i];
            let text = format!("{}/{}", self.scope(i), n.name).to_lowercase();
            if words.iter().all(|w| text.contains(w.as_str())) {
                let exact = words.len() == 1 && n.name.eq_ignore_ascii_case(&words[0]);
                hits.push((!exact, self.key(i), i));
            }
        }
        hits.sort();
        hits.truncate(limit);
        let since = now - days as i64 * DAY;
        hits.into_iter()
            .map(|(_, _, i)| self.node_view(i, now, since))
            .collect()
    }
}

/// The shared graph and the task that keeps it fresh.
pub struct Lineage {
    graph: RwLock<LineageGraph>,
    /// The newest `last_seen` applied so far.
    newest: AtomicI64,
}

impl Lineage {
    /// An empty graph, filled by [`Lineage::follow`] (or by tests and benchmarks themselves).
    pub fn empty() -> Arc<Self> {
        Arc::new(Self {
            graph: RwLock::new(LineageGraph::default()),
            newest: AtomicI64::new(0),
        })
    }

    /// Builds the graph from the database and keeps it fresh, until the process ends: at once
    /// when `written` is signalled, and every [`REFRESH_EVERY`] for other processes' writes.
    pub async fn follow(self: Arc<Self>, store: Arc<dyn Store>, written: Arc<Notify>) {
        let follower = self;
        {
            let started = std::time::Instant::now();
            match follower.refresh(store.as_ref()).await {
                Ok(()) => {
                    let g = follower.read();
                    tracing::info!(
                        nodes = g.node_count(),
                        edges = g.edge_count(),
                        ms = started.elapsed().as_millis() as u64,
                        "lineage graph built"
                    );
                }
                Err(e) => tracing::error!(error = ?e, "building the lineage graph"),
            }
        }
        loop {
            tokio::select! {
                _ = written.notified() => {}
                _ = tokio::time::sleep(REFRESH_EVERY) => {}
            }
            if let Err(e) = follower.refresh(store.as_ref()).await {
                tracing::warn!(error = ?e, "refreshing the lineage graph");
            }
        }
    }

    /// Applies the edges written since the newest one applied (less an overlap).
    pub async fn refresh(&self, store: &dyn Store) -> anyhow::Result<()> {
        let newest = self.newest.load(Ordering::Acquire);
        let since = if newest == 0 {
            0
        } else {
            newest - REFRESH_OVERLAP
        };
        let mut top = newest;
        store
            .app_edges_since(since, REFRESH_CHUNK, &mut |rows| {
                let mut g = self.graph.write().unwrap_or_else(|e| e.into_inner());
                for r in &rows {
                    g.apply_app_edge(r);
                    top = top.max(r.last_seen);
                }
            })
            .await?;
        let jobs = store.job_edges_since(since).await?;
        {
            let mut g = self.graph.write().unwrap_or_else(|e| e.into_inner());
            for r in &jobs {
                g.apply_job_edge(r);
                top = top.max(r.last_seen);
            }
        }
        self.newest.fetch_max(top, Ordering::AcqRel);
        Ok(())
    }

    /// Read access to the graph.
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, LineageGraph> {
        self.graph.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access, for tests and benchmarks that build a graph by hand.
    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, LineageGraph> {
        self.graph.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// A project's group node, before it counts its members.
fn group_node(scope: &str) -> LineageNode {
    LineageNode {
        key: node_key(NodeKind::Group, scope, ""),
        kind: NodeKind::Group,
        scope: scope.to_string(),
        name: String::new(),
        owner: String::new(),
        groups: Vec::new(),
        health: Health::Stale,
        members: 0,
        consumers: None,
    }
}

/// Folds the nodes of each project not in `keep_projects` (and not in `keep`) into one group
/// node per project, merging the edges that then join the same two nodes.
pub fn group_by_project(
    view: &LineageView,
    keep: &HashSet<String>,
    keep_projects: &HashSet<String>,
) -> (LineageView, Vec<String>) {
    let mut target: HashMap<&str, String> = HashMap::new();
    let mut groups: HashMap<String, LineageNode> = HashMap::new();
    let mut nodes = Vec::new();
    for n in &view.nodes {
        if keep.contains(&n.key) || keep_projects.contains(&n.scope) {
            target.insert(&n.key, n.key.clone());
            nodes.push(n.clone());
            continue;
        }
        let key = node_key(NodeKind::Group, &n.scope, "");
        target.insert(&n.key, key.clone());
        let g = groups
            .entry(key.clone())
            .or_insert_with(|| group_node(&n.scope));
        g.members += 1;
        g.health = match (g.health, n.health) {
            (Health::Active, _) | (_, Health::Active) => Health::Active,
            (Health::Quiet, _) | (_, Health::Quiet) => Health::Quiet,
            _ => Health::Stale,
        };
    }
    let mut grouped: Vec<String> = groups.values().map(|g| g.scope.clone()).collect();
    grouped.sort();
    let mut group_nodes: Vec<LineageNode> = groups.into_values().collect();
    group_nodes.sort_by(|a, b| a.key.cmp(&b.key));
    nodes.extend(group_nodes);
    let mut merged: HashMap<(String, String), LineageEdge> = HashMap::new();
    let mut order = Vec::new();
    for e in &view.edges {
        let (from, to) = (
            target[e.from.as_str()].clone(),
            target[e.to.as_str()].clone(),
        );
        if from == to {
            continue;
        }
        match merged.get_mut(&(from.clone(), to.clone())) {
            Some(m) => {
                m.first_seen = m.first_seen.min(e.first_seen);
                m.last_seen = m.last_seen.max(e.last_seen);
                m.messages += e.messages;
                m.bytes += e.bytes;
                m.stale &= e.stale;
            }
            None => {
                order.push((from.clone(), to.clone()));
                merged.insert(
                    (from.clone(), to.clone()),
                    LineageEdge {
                        from,
                        to,
                        ..e.clone()
                    },
                );
            }
        }
    }
    let edges = order
        .into_iter()
        .filter_map(|k| merged.remove(&k))
        .collect();
    (
        LineageView {
            focus: view.focus.clone(),
            nodes,
            edges,
        },
        grouped,
    )
}

/// The nodes upstream and downstream of `selected` within a view, and the edges on those
/// paths.
pub fn paths_through(view: &LineageView, selected: &str) -> (HashSet<String>, HashSet<usize>) {
    let mut nodes = HashSet::from([selected.to_string()]);
    let mut edges = HashSet::new();
    for downstream in [true, false] {
        let mut frontier = vec![selected.to_string()];
        let mut seen = HashSet::from([selected.to_string()]);
        while let Some(n) = frontier.pop() {
            for (i, e) in view.edges.iter().enumerate() {
                let (here, there) = if downstream {
                    (&e.from, &e.to)
                } else {
                    (&e.to, &e.from)
                };
                if *here == n {
                    edges.insert(i);
                    if seen.insert(there.clone()) {
                        nodes.insert(there.clone());
                        frontier.push(there.clone());
                    }
                }
            }
        }
    }
    (nodes, edges)
}

#[cfg(test)]
mod tests;
