//! Pictures as inline SVG: metric history charts and lineage graphs. Colours come from the
//! page's stylesheet through classes, so both themes and print apply; every text is escaped.

use std::collections::BTreeMap;
use std::fmt::Write;

use tera::escape_html as escape;

/// One point of a metric's history: a version and what was judged there.
#[derive(Debug, Clone)]
pub struct Point {
    pub label: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub value: f64,
    /// The bound of the rule in force at this version (min, or the previous value less
    /// max_drop, …), which the value must not cross.
    pub bound: Option<f64>,
    /// The bootstrap interval of the value (base plus the interval of the change), where the
    /// recorded report has one.
    pub interval: Option<(f64, f64)>,
    /// The conclusion of the decision recorded for this version.
    pub verdict: Option<String>,
}

const CHART_WIDTH: f64 = 480.0;
const CHART_HEIGHT: f64 = 210.0;
const PAD_LEFT: f64 = 64.0;
// Room for half of the last version's date, which is centred on its point.
const PAD_RIGHT: f64 = 40.0;
const PAD_TOP: f64 = 28.0;
const PAD_BOTTOM: f64 = 46.0;
/// At most this many versions are named under the x axis; the text alternative names all.
const MAX_X_LABELS: usize = 6;

/// A line chart of a metric over versions, oldest left: labelled axes (versions and dates,
/// values), the rule's bound as a dashed line, bootstrap intervals as bars, and each
/// recorded decision's verdict above its point. The same numbers are in the page's table.
pub fn metric_chart(id: &str, metric: &str, points: &[Point]) -> String {
    let finite: Vec<&Point> = points.iter().filter(|p| p.value.is_finite()).collect();
    let mut values: Vec<f64> = Vec::new();
    for p in &finite {
        values.push(p.value);
        values.extend(p.bound.filter(|b| b.is_finite()));
        if let Some((low, high)) = p.interval {
            values.extend([low, high].into_iter().filter(|v| v.is_finite()));
        }
    }
    let (low, high) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let description = match (finite.first(), finite.last()) {
        (Some(first), Some(last)) => format!(
            "{metric} over {} version(s): from {} ({}, {}) to {} ({}, {}); the table below lists every value with its bound, interval and verdict",
            finite.len(),
            fmt(first.value),
            first.label,
            first.date,
            fmt(last.value),
            last.label,
            last.date,
        ),
        _ => format!("{metric}: no values"),
    };
    // A flat series still gets a readable axis around its value.
    let (low, high) = if high > low {
        let margin = (high - low) * 0.08;
        (low - margin, high + margin)
    } else if low.is_finite() {
        let margin = low.abs().max(1.0) * 0.05;
        (low - margin, low + margin)
    } else {
        (0.0, 1.0)
    };
    let plot_w = CHART_WIDTH - PAD_LEFT - PAD_RIGHT;
    let plot_h = CHART_HEIGHT - PAD_TOP - PAD_BOTTOM;
    let bottom = CHART_HEIGHT - PAD_BOTTOM;
    let x = |i: usize| {
        if finite.len() <= 1 {
            PAD_LEFT + plot_w / 2.0
        } else {
            PAD_LEFT + plot_w * i as f64 / (finite.len() - 1) as f64
        }
    };
    let y = |v: f64| PAD_TOP + plot_h * (1.0 - (v - low) / (high - low));
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(&format!("History of {metric}")),
        escape(&description)
    );
    // Axes, value ticks with grid lines, and the axis titles.
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{bottom:.1}"/><line class="axis" x1="{PAD_LEFT}" y1="{bottom:.1}" x2="{:.1}" y2="{bottom:.1}"/>"#,
        CHART_WIDTH - PAD_RIGHT
    );
    for step in 0..=3 {
        let value = low + (high - low) * f64::from(step) / 3.0;
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{PAD_LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}"/><text class="tick" x="{2:.1}" y="{3:.1}" text-anchor="end">{4}</text>"#,
            y(value),
            CHART_WIDTH - PAD_RIGHT,
            PAD_LEFT - 6.0,
            y(value) + 4.0,
            escape(&fmt(value))
        );
    }
    let _ = write!(
        svg,
        r#"<text class="axis-title" x="4" y="14">{}</text><text class="axis-title" x="{:.1}" y="{:.1}" text-anchor="end">version, date</text>"#,
        escape(metric),
        CHART_WIDTH - PAD_RIGHT,
        CHART_HEIGHT - 2.0
    );
    if finite.is_empty() {
        svg.push_str("</svg>");
        return svg;
    }
    let every = finite.len().div_ceil(MAX_X_LABELS).max(1);
    for (i, p) in finite.iter().enumerate() {
        if i % every != 0 && i != finite.len() - 1 {
            continue;
        }
        let _ = write!(
            svg,
            r#"<text class="tick" x="{0:.1}" y="{1:.1}" text-anchor="middle">{2}</text><text class="tick" x="{0:.1}" y="{3:.1}" text-anchor="middle">{4}</text>"#,
            x(i),
            bottom + 14.0,
            escape(&shorten(&p.label, 14)),
            bottom + 27.0,
            escape(&p.date)
        );
    }
    // The rule's bound at each version that has one.
    let bound: Vec<String> = finite
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            p.bound
                .filter(|b| b.is_finite())
                .map(|b| format!("{:.1},{:.1}", x(i), y(b)))
        })
        .collect();
    if bound.len() == 1 {
        let (i, b) = finite
            .iter()
            .enumerate()
            .find_map(|(i, p)| p.bound.map(|b| (i, b)))
            .unwrap_or((0, low));
        let _ = write!(
            svg,
            r#"<line class="bound" x1="{0:.1}" y1="{1:.1}" x2="{2:.1}" y2="{1:.1}"/>"#,
            x(i) - 16.0,
            y(b),
            x(i) + 16.0
        );
    } else if bound.len() > 1 {
        let _ = write!(
            svg,
            r#"<polyline class="bound" points="{}"/>"#,
            bound.join(" ")
        );
    }
    for (i, p) in finite.iter().enumerate() {
        if let Some((lo, hi)) = p.interval.filter(|(a, b)| a.is_finite() && b.is_finite()) {
            let _ = write!(
                svg,
                r#"<path class="interval" d="M {0:.1} {1:.1} V {2:.1} M {3:.1} {1:.1} H {4:.1} M {3:.1} {2:.1} H {4:.1}"/>"#,
                x(i),
                y(lo),
                y(hi),
                x(i) - 4.0,
                x(i) + 4.0
            );
        }
    }
    let path: Vec<String> = finite
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.value)))
        .collect();
    let _ = write!(
        svg,
        r#"<polyline class="line" points="{}"/>"#,
        path.join(" ")
    );
    for (i, p) in finite.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<circle class="dot" cx="{:.1}" cy="{:.1}" r="3"><title>{}</title></circle>"#,
            x(i),
            y(p.value),
            escape(&format!("{} ({}): {}", p.label, p.date, fmt(p.value)))
        );
        if let Some(verdict) = &p.verdict {
            let (mark, class) = match verdict.as_str() {
                "pass" => ("✓", "pass"),
                "fail" => ("✗", "fail"),
                _ => ("!", "other"),
            };
            let _ = write!(
                svg,
                r#"<text class="verdict verdict-{class}" x="{:.1}" y="{:.1}" text-anchor="middle">{mark}<title>{}</title></text>"#,
                x(i),
                y(p.value) - 9.0,
                escape(&format!("decision recorded for {}: {verdict}", p.label))
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// At most `max` characters, with an ellipsis when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

fn fmt(value: f64) -> String {
    modelgate_core::render::number(Some(value))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Dataset,
    Model,
    Retired,
}

/// A node of a lineage picture.
#[derive(Debug, Clone)]
pub struct Node {
    pub label: String,
    pub kind: NodeKind,
    /// A relative link to the node's page.
    pub href: String,
    /// The page's own model, drawn emphasized.
    pub current: bool,
}

const MIN_NODE_W: f64 = 120.0;
/// Width of one character of the labels' monospace font at 13px, with a margin.
const CHAR_W: f64 = 8.0;
const NODE_H: f64 = 30.0;
const GAP_X: f64 = 70.0;
const GAP_Y: f64 = 14.0;
const MARGIN: f64 = 8.0;
/// Longer labels are cut; the node's title still names it in full.
const MAX_LABEL: usize = 60;

/// A layered drawing of a directed graph, left to right: datasets first, then each model
/// one column right of the furthest of its inputs. Within a column nodes follow the mean
/// position of their inputs, which keeps most edges short and uncrossed. Edges are
/// `(from, to)` indexes into `nodes`.
pub fn lineage(label: &str, nodes: &[Node], edges: &[(usize, usize)]) -> String {
    let layers = layers(nodes, edges);
    let columns = layers.iter().copied().max().map_or(0, |m| m + 1);
    let mut by_column: Vec<Vec<usize>> = vec![Vec::new(); columns];
    for (index, layer) in layers.iter().enumerate() {
        by_column[*layer].push(index);
    }
    let mut inputs: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &(from, to) in edges {
        inputs.entry(to).or_default().push(from);
    }
    let mut row = vec![0.0f64; nodes.len()];
    for column in &mut by_column {
        let key = |index: &usize| {
            let ins = inputs.get(index).map(Vec::as_slice).unwrap_or_default();
            let placed: Vec<f64> = ins
                .iter()
                .filter(|i| layers[**i] < layers[*index])
                .map(|i| row[*i])
                .collect();
            if placed.is_empty() {
                f64::INFINITY
            } else {
                placed.iter().sum::<f64>() / placed.len() as f64
            }
        };
        let mut keyed: Vec<(f64, usize)> = column.iter().map(|i| (key(i), *i)).collect();
        keyed.sort_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then_with(|| nodes[a.1].label.cmp(&nodes[b.1].label))
        });
        *column = keyed.into_iter().map(|(_, i)| i).collect();
        for (position, index) in column.iter().enumerate() {
            row[*index] = position as f64;
        }
    }
    let tallest = by_column.iter().map(Vec::len).max().unwrap_or(0);
    // Each column is as wide as its longest label, so labels are shown whole.
    let column_width: Vec<f64> = by_column
        .iter()
        .map(|column| {
            let longest = column
                .iter()
                .map(|i| nodes[*i].label.chars().count().min(MAX_LABEL))
                .max()
                .unwrap_or(0);
            (longest as f64 * CHAR_W + 20.0).max(MIN_NODE_W)
        })
        .collect();
    let mut column_left = Vec::with_capacity(columns);
    let mut x = MARGIN;
    for w in &column_width {
        column_left.push(x);
        x += w + GAP_X;
    }
    let width = (x - GAP_X + MARGIN).max(MARGIN * 2.0);
    let height = MARGIN * 2.0 + tallest as f64 * (NODE_H + GAP_Y);
    let left = |i: usize| column_left[layers[i]];
    let node_w = |i: usize| column_width[layers[i]];
    let top = |i: usize| MARGIN + row[i] * (NODE_H + GAP_Y);

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="lineage" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" role="group" aria-label="{}">"#,
        escape(label)
    );
    svg.push_str(r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path class="arrowhead" d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>"#);
    for &(from, to) in edges {
        let (x1, y1) = (left(from) + node_w(from), top(from) + NODE_H / 2.0);
        let (x2, y2) = (left(to), top(to) + NODE_H / 2.0);
        let bend = ((x2 - x1).abs() / 2.0).max(30.0);
        let _ = write!(
            svg,
            r#"<path class="edge" d="M {x1:.1} {y1:.1} C {:.1} {y1:.1}, {:.1} {y2:.1}, {x2:.1} {y2:.1}" marker-end="url(#arrow)"/>"#,
            x1 + bend,
            x2 - bend
        );
    }
    for (index, node) in nodes.iter().enumerate() {
        let kind = match node.kind {
            NodeKind::Dataset => "dataset",
            NodeKind::Model => "model",
            NodeKind::Retired => "model retired",
        };
        let noun = match node.kind {
            NodeKind::Dataset => "dataset",
            NodeKind::Model => "model",
            NodeKind::Retired => "retired model",
        };
        let current = if node.current { " current" } else { "" };
        let truncated = node.label.chars().count() > MAX_LABEL;
        let shown = if truncated {
            let cut: String = node.label.chars().take(MAX_LABEL - 1).collect();
            format!("{cut}…")
        } else {
            node.label.clone()
        };
        let shape = format!(
            r#"<rect class="node {kind}{current}" x="{:.1}" y="{:.1}" width="{:.1}" height="{NODE_H}" rx="5"/><text class="node-label" x="{:.1}" y="{:.1}">{}</text><title>{}</title>"#,
            left(index),
            top(index),
            node_w(index),
            left(index) + 10.0,
            top(index) + NODE_H / 2.0 + 4.5,
            escape(&shown),
            escape(&format!("{noun} {}", node.label)),
        );
        // A node without a page (a dataset file that never existed) is drawn, not linked.
        if node.href.is_empty() {
            let _ = write!(svg, "<g>{shape}</g>");
        } else if truncated {
            // The name comes from the visible text and the title: a label that differs
            // from the visible text would confuse speech input.
            let _ = write!(svg, r#"<a href="{}">{shape}</a>"#, escape(&node.href));
        } else {
            let _ = write!(
                svg,
                r#"<a href="{}" aria-label="{}">{shape}</a>"#,
                escape(&node.href),
                escape(&format!("{noun} {}", node.label)),
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Each node's column: datasets and models without inputs first, then one past the
/// furthest input (Kahn's order). Nodes on a cycle keep the column reached so far.
fn layers(nodes: &[Node], edges: &[(usize, usize)]) -> Vec<usize> {
    let mut layer = vec![0usize; nodes.len()];
    let mut indegree = vec![0usize; nodes.len()];
    let mut outputs: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for &(from, to) in edges {
        if from < nodes.len() && to < nodes.len() && from != to {
            indegree[to] += 1;
            outputs[from].push(to);
        }
    }
    let mut ready: Vec<usize> = (0..nodes.len()).filter(|i| indegree[*i] == 0).collect();
    while let Some(node) = ready.pop() {
        for &next in &outputs[node] {
            layer[next] = layer[next].max(layer[node] + 1);
            indegree[next] -= 1;
            if indegree[next] == 0 {
                ready.push(next);
            }
        }
    }
    // Models without inputs sit beside the models, not among the datasets, when there are datasets.
    let has_datasets = nodes.iter().any(|n| n.kind == NodeKind::Dataset);
    if has_datasets {
        for (index, node) in nodes.iter().enumerate() {
            if node.kind != NodeKind::Dataset && layer[index] == 0 {
                layer[index] = 1;
            }
        }
        // A model fed only by a model of column 1 must still sit right of it.
        let mut changed = true;
        let mut rounds = 0;
        while changed && rounds < nodes.len() {
            changed = false;
            rounds += 1;
            for &(from, to) in edges {
                if from != to && layer[to] <= layer[from] && layer[from] < nodes.len() {
                    layer[to] = layer[from] + 1;
                    changed = true;
                }
            }
        }
    }
    layer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(label: &str, kind: NodeKind) -> Node {
        Node {
            label: label.to_owned(),
            kind,
            href: format!("{label}.html"),
            current: false,
        }
    }

    #[test]
    fn columns_follow_lineage() {
        let nodes = [
            node("data.csv", NodeKind::Dataset),
            node("encoder", NodeKind::Model),
            node("router", NodeKind::Model),
            node("solo", NodeKind::Model),
        ];
        assert_eq!(layers(&nodes, &[(0, 1), (1, 2)]), [0, 1, 2, 1]);
        let svg = lineage("g", &nodes, &[(0, 1), (1, 2)]);
        assert_eq!(svg.matches("<a href=").count(), 4);
        assert_eq!(svg.matches("class=\"edge\"").count(), 2);
    }

    #[test]
    fn chart_text_is_escaped() {
        let svg = metric_chart(
            "m",
            "<b>auc</b>",
            &[
                Point {
                    label: "v1".into(),
                    date: "2026-01-05".into(),
                    value: 0.8,
                    bound: None,
                    interval: None,
                    verdict: None,
                },
                Point {
                    label: "<i>".into(),
                    date: "2026-01-06".into(),
                    value: 0.9,
                    bound: Some(0.78),
                    interval: Some((0.85, 0.93)),
                    verdict: Some("pass".into()),
                },
            ],
        );
        assert!(!svg.contains("<b>") && !svg.contains("<i>"), "{svg}");
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("class=\"bound\"") && svg.contains("class=\"interval\""));
        assert!(svg.contains("verdict-pass") && svg.contains("2026-01-06"));
    }
}
