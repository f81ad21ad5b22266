//! Drawing the lineage graph: a layered (Sugiyama) layout from the `rust-sugiyama` crate
//! (cycle breaking, layering, crossing reduction, coordinates), turned to flow left to right,
//! and one SVG renderer used by the console page and the "export as SVG" download alike.

use super::paths_through;
use crate::domain::{
    node_label, LineageDrawing, LineageEdge, LineageNode, LineageView, NodeKind, PlacedEdge,
    PlacedNode,
};
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use std::collections::HashMap;
use std::fmt::Write;

pub const NODE_WIDTH: f64 = 210.0;
pub const NODE_HEIGHT: f64 = 46.0;
/// Horizontal room between layers (for the edges).
const LAYER_GAP: f64 = 90.0;
/// Vertical room between nodes of one layer.
const NODE_GAP: f64 = 18.0;
/// Room between unconnected parts of the graph.
const PART_GAP: f64 = 40.0;
const MARGIN: f64 = 24.0;

/// Lays a view out; `selected` marks the nodes and edges on its upstream and downstream paths.
pub fn layout(view: &LineageView, selected: Option<&str>) -> LineageDrawing {
    let mut graph: StableDiGraph<usize, ()> = StableDiGraph::new();
    let ids: Vec<NodeIndex> = (0..view.nodes.len()).map(|i| graph.add_node(i)).collect();
    let at: HashMap<&str, usize> = view
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.key.as_str(), i))
        .collect();
    for e in &view.edges {
        if let (Some(&a), Some(&b)) = (at.get(e.from.as_str()), at.get(e.to.as_str())) {
            if a != b {
                graph.add_edge(ids[a], ids[b], ());
            }
        }
    }
    // The transpose step (swapping neighbours while crossings drop) costs the most at a few
    // hundred nodes; the weighted median alone keeps 300 nodes inside the time budget.
    let config = rust_sugiyama::configure::Config {
        vertex_spacing: NODE_GAP,
        transpose: false,
        c_minimization: rust_sugiyama::configure::CrossingMinimization::Median,
        ..Default::default()
    };
    // The crate stacks layers top to bottom; its x is our y and its y our x, so a node's
    // size is given turned, with the layer gap folded into its width.
    let parts = rust_sugiyama::from_graph(
        &graph,
        &|_, _| (NODE_HEIGHT, NODE_WIDTH + LAYER_GAP),
        &config,
    );
    let mut centre: Vec<(f64, f64)> = vec![(0.0, 0.0); view.nodes.len()];
    let mut top = MARGIN;
    let mut width: f64 = 0.0;
    for (placed, _, _) in parts {
        let min_x = placed.iter().map(|p| p.1 .0).fold(f64::MAX, f64::min);
        let min_y = placed.iter().map(|p| p.1 .1).fold(f64::MAX, f64::min);
        let mut bottom: f64 = top;
        for (id, (cx, cy)) in placed {
            let x = MARGIN + NODE_WIDTH / 2.0 + (cy - min_y);
            let y = top + NODE_HEIGHT / 2.0 + (cx - min_x);
            centre[graph[id]] = (x, y);
            bottom = bottom.max(y + NODE_HEIGHT / 2.0);
            width = width.max(x + NODE_WIDTH / 2.0);
        }
        top = bottom + PART_GAP;
    }
    let (lit_nodes, lit_edges) = match selected {
        Some(s) if at.contains_key(s) => paths_through(view, s),
        _ => Default::default(),
    };
    let nodes = view
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| PlacedNode {
            node: n.clone(),
            x: centre[i].0,
            y: centre[i].1,
            width: NODE_WIDTH,
            height: NODE_HEIGHT,
            highlighted: lit_nodes.contains(&n.key),
        })
        .collect();
    let edges = view
        .edges
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let (a, b) = (*at.get(e.from.as_str())?, *at.get(e.to.as_str())?);
            Some(PlacedEdge {
                edge: e.clone(),
                path: edge_path(centre[a], centre[b]),
                highlighted: lit_edges.contains(&i),
            })
        })
        .collect();
    LineageDrawing {
        width: (width + MARGIN).max(NODE_WIDTH + 2.0 * MARGIN),
        height: (top - PART_GAP + MARGIN).max(NODE_HEIGHT + 2.0 * MARGIN),
        nodes,
        edges,
        grouped: Vec::new(),
    }
}

/// From the right side of one node to the left side of the other; an edge that runs
/// backwards (a cycle) loops below both.
fn edge_path((x1, y1): (f64, f64), (x2, y2): (f64, f64)) -> String {
    let (sx, tx) = (x1 + NODE_WIDTH / 2.0, x2 - NODE_WIDTH / 2.0);
    if tx > sx {
        let bend = (tx - sx) / 2.0;
        format!(
            "M{sx:.1},{y1:.1} C{:.1},{y1:.1} {:.1},{y2:.1} {tx:.1},{y2:.1}",
            sx + bend,
            tx - bend
        )
    } else {
        let drop = y1.max(y2) + NODE_HEIGHT;
        format!(
            "M{sx:.1},{y1:.1} C{:.1},{drop:.1} {:.1},{drop:.1} {tx:.1},{y2:.1}",
            sx + 80.0,
            tx - 80.0
        )
    }
}

/// The style an exported drawing carries with it (the console uses the same). Text is painted
/// in `color` (what accessibility checkers read) through `fill:currentColor`; faded nodes fade
/// their box only, and their text keeps at least 4.5:1 contrast (WCAG AA).
const STYLE: &str = "\
.edge path{fill:none}\
.edge-line{stroke:#9aa4b2;stroke-width:1.5}\
.edge-hit{stroke:transparent;stroke-width:12;pointer-events:stroke}\
.edge.stale .edge-line{stroke-dasharray:5 4;opacity:.6}\
.edge.hl .edge-line{stroke:#d9480f;stroke-width:3}\
.edge.sel .edge-line{stroke:#1c7ed6;stroke-width:3.5}\
.edge-link:hover .edge-line,.edge-link:focus .edge-line{stroke:#1c7ed6;stroke-width:3}\
.node rect{stroke-width:1.5}\
.ln-app rect{fill:#e7f0ff;stroke:#3b6fd8}\
.ln-queue rect{fill:#e9f7ef;stroke:#2f9e44}\
.ln-job rect{fill:#f3eafd;stroke:#8a4fd8}\
.ln-group rect{fill:#f1f3f5;stroke:#868e96;stroke-dasharray:4 3}\
.h-quiet rect{opacity:.8}.h-stale rect{opacity:.5}\
.node.hl rect{stroke:#d9480f;stroke-width:3}\
.node.focus rect{stroke-width:3}\
.node.sel rect{fill:#fff4e6}\
.node text{font:12px system-ui,sans-serif;fill:currentColor;color:#212529}\
.node text.kind{font-size:10px;color:#495057;text-transform:uppercase;letter-spacing:.05em}\
.node.h-quiet text,.node.h-stale text{color:#5e6878}\
.node text.consumers{font-size:10px;font-weight:600;color:#247534}\
.c-warning text.consumers{color:#a63e00}\
.c-stalled text.consumers,.c-stopped text.consumers{color:#c92a2a}";

/// Escapes text for XML content and attribute values.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

fn kind_label(n: &LineageNode) -> String {
    match n.kind {
        NodeKind::App if !n.groups.is_empty() => format!("app · {}", n.groups.join(", ")),
        NodeKind::Group => "project".into(),
        k => k.to_string(),
    }
}

/// Where a drawing's nodes and edges link, and what it marks.
pub struct SvgLinks<'a> {
    /// A node's link (none when empty).
    pub node: &'a dyn Fn(&LineageNode) -> String,
    /// An edge's link (none when empty).
    pub edge: &'a dyn Fn(&LineageEdge) -> String,
    /// The edge whose panel is open: (from, to).
    pub selected_edge: Option<(&'a str, &'a str)>,
    /// The time edges' flow is told against.
    pub now: i64,
}

/// The drawing as a standalone SVG document. `link` gives each node's link (none when
/// empty); `focus` and `selected` get their own marks.
pub fn render_svg(
    d: &LineageDrawing,
    focus: &str,
    selected: Option<&str>,
    links: &SvgLinks,
) -> String {
    let link = links.node;
    let mut s = String::with_capacity(512 + d.nodes.len() * 600 + d.edges.len() * 200);
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" id="lineage-svg" class="lineage" data-testid="lineage-graph" viewBox="0 0 {w:.0} {h:.0}" width="{w:.0}" height="{h:.0}" role="group" aria-label="Lineage graph"><style>{STYLE}</style><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto"><path d="M0,0L10,5L0,10z" fill="#9aa4b2"/></marker><marker id="arrow-hl" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto"><path d="M0,0L10,5L0,10z" fill="#d9480f"/></marker></defs><g id="lineage-viewport"><g class="edges">"##,
        w = d.width,
        h = d.height
    );
    for e in &d.edges {
        let mut class = String::from("edge");
        if e.highlighted {
            class.push_str(" hl");
        }
        if e.edge.stale {
            class.push_str(" stale");
        }
        if links.selected_edge == Some((e.edge.from.as_str(), e.edge.to.as_str())) {
            class.push_str(" sel");
        }
        // Hovering shows what flows; the wide invisible path under the line is what the
        // pointer finds, and the link opens the edge's panel.
        let title = xml(&format!(
            "{} → {}: {}{}",
            node_label(&e.edge.from),
            node_label(&e.edge.to),
            e.edge.flow(links.now),
            if e.edge.stale { " (stale)" } else { "" }
        ));
        let href = (links.edge)(&e.edge);
        if !href.is_empty() {
            let _ = write!(
                s,
                r#"<a href="{}" class="edge-link" aria-label="{title}" data-testid="lineage-edge-link">"#,
                xml(&href)
            );
        }
        let _ = write!(
            s,
            r#"<g class="{class}" data-testid="lineage-edge" data-from="{from}" data-to="{to}"><title>{title}</title><path class="edge-hit" d="{d}"/><path class="edge-line" d="{d}" marker-end="url(#{marker})"/></g>"#,
            d = e.path,
            marker = if e.highlighted { "arrow-hl" } else { "arrow" },
            from = xml(&e.edge.from),
            to = xml(&e.edge.to),
        );
        if !href.is_empty() {
            s.push_str("</a>");
        }
    }
    s.push_str(r#"</g><g class="nodes">"#);
    for p in &d.nodes {
        let n = &p.node;
        let mut class = format!("node ln-{} h-{}", n.kind, n.health);
        if let Some(status) = n.consumers {
            let _ = write!(class, " c-{}", status.to_string().to_lowercase());
        }
        if p.highlighted {
            class.push_str(" hl");
        }
        if n.key == focus {
            class.push_str(" focus");
        }
        if Some(n.key.as_str()) == selected {
            class.push_str(" sel");
        }
        let href = link(n);
        if !href.is_empty() {
            let _ = write!(s, r#"<a href="{}">"#, xml(&href));
        }
        let _ = write!(
            s,
            r#"<g class="{class}" data-testid="lineage-node" data-key="{key}" data-highlighted="{hl}" transform="translate({x:.1},{y:.1})"><title>{title}</title><rect width="{w:.0}" height="{h:.0}" rx="{rx}"/><text class="kind" x="10" y="17">{kind}</text><text x="10" y="35">{label}</text>{badge}</g>"#,
            key = xml(&n.key),
            hl = p.highlighted,
            x = p.x - p.width / 2.0,
            y = p.y - p.height / 2.0,
            badge = n.consumers.map_or(String::new(), |status| format!(
                r#"<text class="consumers" data-testid="node-consumers" x="{:.0}" y="17" text-anchor="end">{status}</text>"#,
                p.width - 8.0
            )),
            title = xml(&format!(
                "{} ({}{}){}",
                n.label(),
                n.health,
                n.consumers.map_or(String::new(), |s| format!(", consumers {s}")),
                if n.owner.is_empty() {
                    String::new()
                } else {
                    format!(", owner {}", n.owner)
                }
            )),
            w = p.width,
            h = p.height,
            rx = if n.kind == NodeKind::Queue { 3 } else { 12 },
            kind = xml(&clip(&kind_label(n), 32)),
            label = xml(&clip(&n.label(), 30)),
        );
        if !href.is_empty() {
            s.push_str("</a>");
        }
    }
    s.push_str("</g></g></svg>");
    s
}
