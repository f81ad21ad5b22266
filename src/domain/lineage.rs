//! Lineage: who writes and reads which queue, as a graph of applications, jobs and queues,
//! the questions asked of it (upstream, downstream, impact, path) and its drawn layout.

use super::{FieldError, Validator};
use serde::{Deserialize, Serialize};
use strum::{AsRefStr, Display, EnumString, VariantArray};

/// Hops followed when no depth is given.
pub const DEFAULT_LINEAGE_DEPTH: u32 = 3;
/// The most hops a query may follow.
pub const MAX_LINEAGE_DEPTH: u32 = 20;
/// Days of activity that count when no window is given.
pub const DEFAULT_LINEAGE_DAYS: u32 = 7;
/// The longest window a query may ask for.
pub const MAX_LINEAGE_DAYS: u32 = 365;
/// Past this many nodes a drawing groups nodes by project.
pub const MAX_VISIBLE_NODES: usize = 300;

/// What a node of the lineage graph is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Display, EnumString, AsRefStr,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum NodeKind {
    /// An application using the Stream-SDK.
    App,
    /// A logical queue.
    Queue,
    /// A job reported through OpenLineage (Flink, Spark, Airflow…).
    Job,
    /// Several nodes of one project, drawn as one until expanded.
    Group,
}

/// A node's key: `app:project/name`, `queue:project/name`, `job:namespace/name` or
/// `group:project`.
pub fn node_key(kind: NodeKind, scope: &str, name: &str) -> String {
    if kind == NodeKind::Group {
        format!("group:{scope}")
    } else {
        format!("{kind}:{scope}/{name}")
    }
}

/// Splits a node key into its kind, scope (project or namespace) and name; `None` when the
/// key is malformed.
pub fn parse_node_key(key: &str) -> Option<(NodeKind, &str, &str)> {
    let (kind, rest) = key.split_once(':')?;
    let kind: NodeKind = kind.parse().ok()?;
    if kind == NodeKind::Group {
        return (!rest.is_empty()).then_some((kind, rest, ""));
    }
    // Job namespaces may hold slashes (`kafka://…`), names do not start the key: split last.
    let (scope, name) = if kind == NodeKind::Job {
        rest.rsplit_once('/')?
    } else {
        rest.split_once('/')?
    };
    (!scope.is_empty() && !name.is_empty()).then_some((kind, scope, name))
}

/// How recently a node was active.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Display, EnumString, AsRefStr,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Health {
    /// Seen in the last hour.
    Active,
    /// Seen within the window, but not in the last hour.
    Quiet,
    /// Only seen before the window.
    Stale,
}

/// A node as the console and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LineageNode {
    pub key: String,
    pub kind: NodeKind,
    /// The project (or, for jobs, the namespace).
    pub scope: String,
    pub name: String,
    pub owner: String,
    /// An application's consumer groups.
    pub groups: Vec<String>,
    pub health: Health,
    /// For a group: how many nodes it stands for.
    pub members: usize,
    /// For a queue: the worst status of its consumer groups, where any is tracked.
    #[serde(default)]
    pub consumers: Option<super::GroupStatus>,
}

impl LineageNode {
    pub fn label(&self) -> String {
        match self.kind {
            NodeKind::Group => format!("{} ({} nodes)", self.scope, self.members),
            _ => format!("{}/{}", self.scope, self.name),
        }
    }
}

/// A write (app → queue) or a read (queue → app).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LineageEdge {
    pub from: String,
    pub to: String,
    pub first_seen: i64,
    pub last_seen: i64,
    /// Messages moved (for jobs: runs seen).
    pub messages: i64,
    pub bytes: i64,
    /// Not seen within the window.
    pub stale: bool,
    /// Messages per second between the last two reports of it (for jobs: runs); `None` until
    /// two reports were seen since the server started.
    #[serde(default)]
    pub per_second: Option<f64>,
}

impl LineageEdge {
    /// What flows along the edge, in words: the recent rate while it is active, else since
    /// when it has been idle.
    pub fn flow(&self, now: i64) -> String {
        let last = super::format_millis(self.last_seen);
        if self.last_seen < now - EDGE_IDLE_AFTER_MS {
            return format!("idle, last seen {last}");
        }
        let rate = match self.per_second {
            Some(r) => r,
            // Before two reports: the average over the edge's life.
            None => {
                let secs = ((self.last_seen - self.first_seen) as f64 / 1000.0).max(1.0);
                self.messages as f64 / secs
            }
        };
        format!("{} msg/s, last seen {last}", round_rate(rate))
    }
}

/// An edge not reported on for this long counts as idle (SDKs report every minute).
pub const EDGE_IDLE_AFTER_MS: i64 = 5 * 60_000;

fn round_rate(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}")
    } else if r >= 1.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.2}")
    }
}

/// Which way to follow edges.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Display,
    EnumString,
    AsRefStr,
    VariantArray,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Direction {
    Upstream,
    Downstream,
    Both,
}

/// A lineage question as typed in a URL: validated by [`LineageQuery::parse`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams, utoipa::ToSchema))]
pub struct LineageQueryInput {
    /// The node to start from, e.g. `queue:shop/orders-events`.
    pub node: String,
    /// upstream, downstream or both (default).
    #[serde(default)]
    pub direction: Option<String>,
    /// Hops to follow: 1 to 20, default 3.
    #[serde(default)]
    pub depth: Option<String>,
    /// Days of activity that count: 1 to 365, default 7.
    #[serde(default)]
    pub days: Option<String>,
    /// Also show edges not seen within the window, flagged stale.
    #[serde(default)]
    pub stale: Option<bool>,
}

/// A validated lineage question.
#[derive(Debug, Clone, PartialEq)]
pub struct LineageQuery {
    pub node: String,
    pub direction: Direction,
    pub depth: u32,
    pub days: u32,
    pub include_stale: bool,
}

fn bounded_number(
    v: &mut Validator,
    field: &str,
    raw: &Option<String>,
    default: u32,
    max: u32,
) -> u32 {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => default,
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                v.push(FieldError::new(
                    field,
                    format!("must be a whole number from 1 to {max}"),
                ));
                default
            }
        },
    }
}

/// Checks a node key, naming `field` when it is malformed.
pub fn parse_node_field(field: &str, key: &str) -> Result<String, FieldError> {
    let key = key.trim();
    if key.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    match parse_node_key(key) {
        Some((NodeKind::Group, ..)) | None => Err(FieldError::new(
            field,
            "must look like app:project/name, queue:project/name or job:namespace/name",
        )),
        Some(_) => Ok(key.to_string()),
    }
}

/// A window in days as typed (`days` in a URL): 1 to 365, default 7.
pub fn parse_lineage_days(raw: &Option<String>) -> Result<u32, Vec<FieldError>> {
    let mut v = Validator::default();
    let days = bounded_number(&mut v, "days", raw, DEFAULT_LINEAGE_DAYS, MAX_LINEAGE_DAYS);
    v.finish()?;
    Ok(days)
}

impl LineageQueryInput {
    pub fn parse(&self) -> Result<LineageQuery, Vec<FieldError>> {
        let mut v = Validator::default();
        let node = v.check(parse_node_field("node", &self.node));
        let direction = match self.direction.as_deref().map(str::trim) {
            None | Some("") => Direction::Both,
            Some(d) => d.parse().unwrap_or_else(|_| {
                v.push(FieldError::new(
                    "direction",
                    "must be upstream, downstream or both",
                ));
                Direction::Both
            }),
        };
        let depth = bounded_number(
            &mut v,
            "depth",
            &self.depth,
            DEFAULT_LINEAGE_DEPTH,
            MAX_LINEAGE_DEPTH,
        );
        let days = bounded_number(
            &mut v,
            "days",
            &self.days,
            DEFAULT_LINEAGE_DAYS,
            MAX_LINEAGE_DAYS,
        );
        v.finish()?;
        Ok(LineageQuery {
            node: node.unwrap_or_default(),
            direction,
            depth,
            days,
            include_stale: self.stale.unwrap_or(false),
        })
    }
}

/// A part of the graph around a node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LineageView {
    pub focus: String,
    pub nodes: Vec<LineageNode>,
    pub edges: Vec<LineageEdge>,
}

/// Something downstream of a changed node, and who to tell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImpactedNode {
    pub key: String,
    pub kind: NodeKind,
    pub label: String,
    /// Hops from the changed node.
    pub distance: u32,
    pub owner: String,
    /// The owners of the node's project (none for jobs).
    pub project_owners: Vec<String>,
    /// For an application: whether it still holds a live grant to read the queue it reads
    /// on the way (false means it reads without one, or its grant lapsed).
    pub live_grant: Option<bool>,
}

/// Everything transitively downstream of a node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ImpactView {
    pub root: String,
    pub nodes: Vec<ImpactedNode>,
    /// Every person to tell, once, sorted.
    pub owners: Vec<String>,
}

/// A node placed in a drawing: its centre and size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlacedNode {
    pub node: LineageNode,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// On an upstream or downstream path of the selected node.
    pub highlighted: bool,
}

/// An edge drawn between two placed nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlacedEdge {
    pub edge: LineageEdge,
    /// SVG path data.
    pub path: String,
    pub highlighted: bool,
}

/// A laid-out graph, ready to draw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LineageDrawing {
    pub width: f64,
    pub height: f64,
    pub nodes: Vec<PlacedNode>,
    pub edges: Vec<PlacedEdge>,
    /// Projects drawn as one node each because the graph was too large.
    pub grouped: Vec<String>,
}

/// What the console's lineage page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineagePage {
    pub focus: LineageNode,
    pub depth: u32,
    pub days: u32,
    pub direction: Direction,
    pub include_stale: bool,
    pub selected: Option<String>,
    /// Nodes whose neighbours were asked for.
    pub open: Vec<String>,
    /// Projects shown node by node despite the size.
    pub expanded: Vec<String>,
    pub drawing: LineageDrawing,
    pub impact: ImpactView,
    /// The edge whose panel is open.
    pub edge: Option<LineageEdge>,
    /// The link that reproduces this view exactly.
    pub share: String,
    /// When the page was drawn (what edges' flow is told against).
    pub now: i64,
}

/// A queue ranked by how many nodes read it within the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadQueue {
    pub node: LineageNode,
    /// Applications and jobs that read it within the window.
    pub readers: usize,
    /// Messages they read (running totals).
    pub messages: i64,
}

/// A job known only from OpenLineage run events, with what it touches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSummary {
    pub node: LineageNode,
    pub reads: usize,
    pub writes: usize,
    pub last_seen: i64,
}

/// The graph at a glance: the lists on the lineage landing page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LineageDigest {
    pub nodes: usize,
    pub edges: usize,
    /// Most-read queues first.
    pub most_read: Vec<ReadQueue>,
    /// Edges first seen within the window, newest first.
    pub new_edges: Vec<LineageEdge>,
    /// Edges whose last report fell out of the window during the last window (seen in the
    /// window before it, not since), most recently seen first.
    pub went_stale: Vec<LineageEdge>,
    pub jobs: Vec<JobSummary>,
}

/// The lineage landing page: a search, the whole graph folded by project, and the digest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LineageLanding {
    pub q: String,
    /// What the search found (empty without a query).
    pub found: Vec<LineageNode>,
    pub days: u32,
    /// Projects shown node by node.
    pub expanded: Vec<String>,
    pub drawing: LineageDrawing,
    pub digest: LineageDigest,
    /// When the page was drawn.
    pub now: i64,
}

/// Where a node key points, without its kind: `shop/orders`, or `shop` for a group.
pub fn node_label(key: &str) -> String {
    match parse_node_key(key) {
        Some((NodeKind::Group, scope, _)) => scope.to_string(),
        Some((_, scope, name)) => format!("{scope}/{name}"),
        None => key.to_string(),
    }
}

/// A queue's direct writers and readers, for the strip on its page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LineageStrip {
    pub writers: Vec<LineageNode>,
    pub readers: Vec<LineageNode>,
}

/// The console's lineage page as typed in its URL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LineagePageInput {
    pub query: LineageQueryInput,
    /// Nodes whose neighbours to add, comma-separated keys.
    pub open: String,
    /// Projects to show node by node although the graph is large, comma-separated.
    pub expand: String,
    /// The node whose paths to highlight (and whose impact to list).
    pub selected: String,
    /// The edge whose panel to open: `from,to` node keys.
    #[serde(default)]
    pub edge: String,
}

/// Splits a comma-separated list, dropping blanks.
pub fn comma_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// An OpenLineage job, as a run event names it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OpenLineageJob {
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub name: String,
}

/// An OpenLineage dataset: for Kafka, namespace `kafka://host:port` and name the topic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OpenLineageDataset {
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub name: String,
}

/// The parts of an OpenLineage `RunEvent` that lineage uses; facets and the rest are
/// accepted and ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OpenLineageRunEvent {
    /// START, RUNNING, COMPLETE, ABORT, FAIL or OTHER.
    #[serde(default)]
    pub event_type: Option<String>,
    #[serde(default)]
    pub event_time: Option<String>,
    #[serde(default)]
    pub job: OpenLineageJob,
    #[serde(default)]
    pub inputs: Vec<OpenLineageDataset>,
    #[serde(default)]
    pub outputs: Vec<OpenLineageDataset>,
}

impl OpenLineageRunEvent {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Validator::default();
        for (field, value) in [
            ("job.namespace", &self.job.namespace),
            ("job.name", &self.job.name),
        ] {
            if value.trim().is_empty() {
                v.push(FieldError::new(field, "is required"));
            } else if value.chars().count() > 255 || value.chars().any(char::is_control) {
                v.push(FieldError::new(
                    field,
                    "at most 255 characters, no control characters",
                ));
            }
        }
        if self.inputs.len() + self.outputs.len() > 1_000 {
            v.push(FieldError::new(
                "inputs",
                "at most 1,000 datasets per event",
            ));
        }
        v.finish()
    }
}

/// A dataset of a run event that matched a queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MappedDataset {
    pub dataset: String,
    /// The queue's node key.
    pub queue: String,
    /// `input` or `output`.
    pub direction: String,
}

/// A dataset that matched no queue, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IgnoredDataset {
    pub dataset: String,
    pub reason: String,
}

/// What `POST /api/v1/lineage` did with a run event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RunEventAck {
    /// The job's node key.
    pub job: String,
    pub mapped: Vec<MappedDataset>,
    pub ignored: Vec<IgnoredDataset>,
}

/// The host:port pairs of a `kafka://` dataset namespace; `None` for other namespaces.
pub fn kafka_namespace_hosts(namespace: &str) -> Option<Vec<String>> {
    let rest = namespace.strip_prefix("kafka://")?;
    Some(
        rest.trim_end_matches('/')
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_keys_round_trip_including_job_namespaces_with_slashes() {
        for (kind, scope, name) in [
            (NodeKind::App, "shop", "checkout"),
            (NodeKind::Queue, "shop", "orders-events"),
            (NodeKind::Job, "flink://jobs", "enrich-orders"),
        ] {
            let key = node_key(kind, scope, name);
            assert_eq!(parse_node_key(&key), Some((kind, scope, name)), "{key}");
        }
        assert_eq!(parse_node_key("queue:shop"), None);
        assert_eq!(parse_node_key("table:shop/x"), None);
    }

    #[test]
    fn a_query_names_each_bad_field() {
        let input = LineageQueryInput {
            node: "orders".into(),
            direction: Some("sideways".into()),
            depth: Some("21".into()),
            days: Some("0".into()),
            stale: None,
        };
        let errors = input.parse().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["node", "direction", "depth", "days"]);
    }

    #[test]
    fn kafka_namespaces_name_their_brokers() {
        assert_eq!(
            kafka_namespace_hosts("kafka://Broker-1:9092,broker-2:9092/"),
            Some(vec!["broker-1:9092".to_string(), "broker-2:9092".into()])
        );
        assert_eq!(kafka_namespace_hosts("postgres://db:5432"), None);
    }

    #[test]
    fn a_query_has_defaults() {
        let q = LineageQueryInput {
            node: "queue:shop/orders".into(),
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!(
            (q.direction, q.depth, q.days, q.include_stale),
            (Direction::Both, 3, 7, false)
        );
    }
}
