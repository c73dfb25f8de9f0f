//! The plain-text view of the sections, for a terminal (`modelgate check`, the demo, the
//! Action's log).

use std::fmt::Write;

use crate::report::{Check, MetricDelta, ModelReport, Report};

use super::sections::{Section, Surface, sections};
use super::{
    blocks_on, interval, metric_reason, next_step_lines, number, policy_label, requirement_state,
    rule_text, signed, tier_change, version_change,
};
use crate::sha::ShortSha;

/// The whole report as plain text.
pub fn text(report: &Report) -> String {
    sections(report, Surface::Report)
        .iter()
        .map(section_text)
        .collect()
}

/// The verdict and the approvals checklist alone, for following a pull request through its
/// reviews.
pub fn approvals_text(report: &Report) -> String {
    sections(report, Surface::Report)
        .iter()
        .filter(|s| {
            matches!(
                s,
                Section::Verdict { .. } | Section::Approvals(_) | Section::NotCounted(_)
            )
        })
        .map(section_text)
        .collect()
}

fn section_text(section: &Section<'_>) -> String {
    let mut out = String::new();
    match section {
        Section::Verdict { headline, .. } => {
            let _ = writeln!(out, "{headline}");
        }
        Section::Scope(report) => {
            let _ = writeln!(
                out,
                "{}..{} (merge-base {}), {} file(s) changed",
                report.base_ref,
                report.head_ref,
                ShortSha(&report.merge_base),
                report.changed_files
            );
            let _ = writeln!(
                out,
                "tier {}; blocks on {}; policy: {}",
                report.tier.as_deref().unwrap_or("—"),
                blocks_on(report),
                policy_label(&report.policy.source)
            );
        }
        Section::Notices(lines) => {
            for line in lines {
                let _ = writeln!(out, "\n{line}");
            }
        }
        Section::Approvals(approvals) => {
            let state = if approvals.satisfied {
                "complete"
            } else {
                "missing"
            };
            let _ = writeln!(out, "\napprovals for tier {}: {state}", approvals.tier);
            for requirement in &approvals.requirements {
                let mark = if requirement.met { "x" } else { " " };
                let _ = writeln!(
                    out,
                    "  [{mark}] {}: {}",
                    requirement.rule,
                    requirement_state(requirement)
                );
            }
            for risk in &approvals.accepted_risks {
                let checks: Vec<String> = risk.checks.iter().map(ToString::to_string).collect();
                let _ = writeln!(
                    out,
                    "  risk accepted by {}: {} ({})",
                    risk.by,
                    risk.reason,
                    checks.join(", ")
                );
            }
        }
        Section::NotCounted(ignored) => {
            for line in ignored.iter() {
                let _ = writeln!(out, "  - not counted: {line}");
            }
        }
        // The models' own blocks say the same, one model at a time.
        Section::Models(_) | Section::Lineage(_) => {}
        Section::Model { model, .. } => model_text(&mut out, model),
        Section::NextSteps(next) => {
            let _ = writeln!(out);
            for line in next_step_lines(next, false) {
                let _ = writeln!(out, "next: {line}");
            }
        }
        Section::Warnings(warnings) => {
            for warning in warnings.iter() {
                let _ = writeln!(out, "\nwarning: {warning}");
            }
        }
    }
    out
}

fn model_text(out: &mut String, model: &ModelReport) {
    let mut heading = format!(
        "\n{} ({}), {}",
        model.id,
        model.change.as_str(),
        tier_change(model)
    );
    if let Some(version) = version_change(model) {
        let _ = write!(heading, ", {version}");
    }
    let _ = writeln!(out, "{heading}");
    let reasons: Vec<String> = model.reasons.iter().map(ToString::to_string).collect();
    let _ = writeln!(out, "  why: {}", reasons.join("; "));
    for check in &model.checks {
        check_text(out, check);
    }
}

fn check_text(out: &mut String, check: &Check) {
    let blocking = if check.blocking { " [blocking]" } else { "" };
    let _ = writeln!(
        out,
        "  {:<10} {:<7} {}{blocking}",
        check.kind.to_string(),
        check.status.as_str(),
        check.summary
    );
    if let Some(metrics) = &check.metrics {
        let rows: Vec<[String; 8]> = metrics.iter().map(metric_cells).collect();
        let header = [
            "metric", "base", "head", "Δ", "Δ%", "interval", "status", "why",
        ]
        .map(str::to_owned);
        out.push_str(&aligned(&header, &rows, "      ", |index| {
            (1..=4).contains(&index)
        }));
    }
    for finding in &check.findings {
        let _ = writeln!(out, "      - {finding}");
    }
}

fn metric_cells(metric: &MetricDelta) -> [String; 8] {
    [
        metric.name.clone(),
        number(metric.base),
        number(metric.head),
        signed(metric.delta, "", 4),
        signed(metric.delta_pct, "%", 2),
        interval(metric),
        metric.status.as_str().to_owned(),
        format!(
            "{}; rule {}",
            metric_reason(metric),
            rule_text(&metric.rule)
        ),
    ]
}

/// A plain-text table: columns padded to their widest cell, `right(index)` columns
/// right-aligned (numbers), each line starting with `indent`.
pub(crate) fn aligned<const N: usize>(
    header: &[String; N],
    rows: &[[String; N]],
    indent: &str,
    right: impl Fn(usize) -> bool,
) -> String {
    let mut widths = [0usize; N];
    for row in std::iter::once(header).chain(rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header).chain(rows) {
        let mut line = String::from(indent);
        for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
            let pad = " ".repeat(width - cell.chars().count());
            if right(index) {
                let _ = write!(line, "{pad}{cell}  ");
            } else {
                let _ = write!(line, "{cell}{pad}  ");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}
