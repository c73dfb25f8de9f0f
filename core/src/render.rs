//! Human renderings of a report: plain text for terminals and Markdown for PR comments and
//! job summaries. Pure functions of the report.

use std::fmt::Write;

use crate::convention::PolicySource;
use crate::drift::{ColumnDrift, DatasetDrift};
use crate::predictions::FeatureFairness;
use crate::report::{AppliedRule, Check, Conclusion, MetricDelta, ModelReport, Report, Status};
use crate::sha::ShortSha;

pub fn policy_label(source: &PolicySource) -> String {
    match source {
        PolicySource::File { path, commit } => format!("{path} at {}", ShortSha(commit)),
        PolicySource::Defaults => "built-in defaults (no .github/modelgate.yml)".to_owned(),
    }
}

/// A metric value for tables: four decimals below 100, two above, no `-0`.
pub fn number(value: Option<f64>) -> String {
    match value {
        None => "—".to_owned(),
        Some(0.0) => "0".to_owned(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.2}"),
        Some(v) => format!("{v:.4}"),
    }
}

fn signed(value: Option<f64>, suffix: &str, decimals: usize) -> String {
    match value {
        None => "—".to_owned(),
        Some(0.0) => format!("0{suffix}"),
        Some(v) => format!("{v:+.decimals$}{suffix}"),
    }
}

pub fn rule_text(rule: &AppliedRule) -> String {
    let b = &rule.bounds;
    let parts: Vec<String> = [
        ("max_drop", b.max_drop),
        ("max_drop_pct", b.max_drop_pct),
        ("max_rise", b.max_rise),
        ("max_rise_pct", b.max_rise_pct),
        ("min", b.min),
        ("max", b.max),
    ]
    .into_iter()
    .filter_map(|(name, v)| v.map(|v| format!("{name} {v}")))
    .collect();
    format!("{} ({})", parts.join(", "), rule.source)
}

fn tier_change(model: &ModelReport) -> String {
    match (&model.tier_base, &model.tier_head) {
        (Some(b), Some(h)) if b == h => format!("tier {h}"),
        (Some(b), Some(h)) => format!("tier {b} → {h}"),
        (None, Some(h)) => format!("tier {h} (new)"),
        (Some(b), None) => format!("tier {b} (removed)"),
        (None, None) => "no tier".to_owned(),
    }
}

fn version_change(model: &ModelReport) -> Option<String> {
    match (&model.version_base, &model.version_head) {
        (Some(b), Some(h)) if b == h => Some(format!("version {h}")),
        (Some(b), Some(h)) => Some(format!("version {b} → {h}")),
        (None, Some(h)) => Some(format!("version {h}")),
        (Some(b), None) => Some(format!("version {b}")),
        (None, None) => None,
    }
}

fn verdict(report: &Report) -> String {
    let blocking = report.blocking_failures();
    let missing: Vec<&str> = report
        .approvals
        .iter()
        .flat_map(|a| {
            a.requirements
                .iter()
                .filter(|r| !r.met)
                .map(|r| r.description.as_str())
        })
        .collect();
    match report.conclusion {
        Conclusion::Fail => format!("FAIL: blocking failure in {}", first_few(&blocking)),
        Conclusion::ActionRequired => format!("ACTION REQUIRED: missing {}", missing.join("; ")),
        Conclusion::Pass if report.models.is_empty() => {
            "PASS: no model is touched by this change".to_owned()
        }
        Conclusion::Pass if report.approvals.is_some() => {
            format!(
                "PASS: {} model(s) touched, no blocking failure, approvals complete",
                report.models.len()
            )
        }
        Conclusion::Pass => format!(
            "PASS: {} model(s) touched, no blocking failure",
            report.models.len()
        ),
    }
}

/// Up to five items, then how many more: a verdict stays one readable line.
fn first_few(items: &[String]) -> String {
    match items.len() {
        0..=5 => items.join(", "),
        n => format!("{} and {} more", items[..5].join(", "), n - 5),
    }
}

/// Lines about the tier, escalation, the proposed policy and approvals, shared by both
/// renderings: each is one sentence.
fn governance_lines(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(escalation) = &report.escalation {
        lines.push(format!(
            "Tier raised from {} to {}: {}",
            escalation.from,
            escalation.to,
            escalation.reasons.join("; ")
        ));
    }
    if let Some(proposed) = &report.policy.proposed {
        if proposed.valid {
            lines.push(format!(
                "This change edits the policy; it is judged by the base policy. Under the proposed policy it would be tier {} needing {} approval(s){}.",
                proposed.tier.as_deref().unwrap_or("—"),
                proposed.approvals.unwrap_or(0),
                if proposed.teams.is_empty() { String::new() } else { format!(" including {}", proposed.teams.join(", ")) }
            ));
        } else {
            lines.push(format!(
                "The proposed policy is invalid: {}",
                proposed.errors.join("; ")
            ));
        }
    }
    lines
}

/// Plain text for a terminal.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", verdict(report));
    let _ = writeln!(
        out,
        "{}..{} (merge-base {}), {} file(s) changed",
        report.base_ref,
        report.head_ref,
        ShortSha(&report.merge_base),
        report.changed_files
    );
    let blocks: Vec<String> = report
        .policy
        .block_on
        .iter()
        .map(ToString::to_string)
        .collect();
    let _ = writeln!(
        out,
        "tier {}; blocks on {}; policy: {}",
        report.tier.as_deref().unwrap_or("—"),
        if blocks.is_empty() {
            "nothing".to_owned()
        } else {
            blocks.join(", ")
        },
        policy_label(&report.policy.source)
    );
    for model in &report.models {
        let _ = writeln!(out);
        let mut heading = format!(
            "{} ({}), {}",
            model.id,
            model.change.as_str(),
            tier_change(model)
        );
        if let Some(version) = version_change(model) {
            let _ = write!(heading, ", {version}");
        }
        let _ = writeln!(out, "{heading}");
        let _ = writeln!(out, "  why: {}", model.reasons.join("; "));
        for check in &model.checks {
            text_check(&mut out, check);
        }
    }
    for line in governance_lines(report) {
        let _ = writeln!(out, "\n{line}");
    }
    if report.approvals.is_some() {
        let _ = write!(out, "\n{}", approvals_block(report));
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "\nwarning: {warning}");
    }
    out
}

/// The verdict and the approvals checklist alone, for following a pull request through its
/// reviews.
pub fn approvals_text(report: &Report) -> String {
    format!("{}\n{}", verdict(report), approvals_block(report))
}

fn approvals_block(report: &Report) -> String {
    let mut out = String::new();
    let Some(approvals) = &report.approvals else {
        return out;
    };
    let state = if approvals.satisfied {
        "complete"
    } else {
        "missing"
    };
    let _ = writeln!(out, "approvals for tier {}: {state}", approvals.tier);
    for requirement in &approvals.requirements {
        let mark = if requirement.met { "x" } else { " " };
        let by = if requirement.by.is_empty() {
            String::new()
        } else {
            format!(" ({})", requirement.by.join(", "))
        };
        let _ = writeln!(out, "  [{mark}] {}{by}", requirement.description);
    }
    for risk in &approvals.accepted_risks {
        let _ = writeln!(
            out,
            "  risk accepted by {}: {} ({})",
            risk.by,
            risk.reason,
            risk.checks.join(", ")
        );
    }
    for ignored in &approvals.ignored {
        let _ = writeln!(out, "  - not counted: {ignored}");
    }
    out
}

/// A plain-text table: columns padded to their widest cell, `right(index)` columns
/// right-aligned (numbers), each line starting with `indent`.
fn aligned<const N: usize>(
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

fn text_check(out: &mut String, check: &Check) {
    let blocking = if check.blocking { " [blocking]" } else { "" };
    let _ = writeln!(
        out,
        "  {:<10} {:<7} {}{blocking}",
        check.kind.to_string(),
        check.status.as_str(),
        check.summary
    );
    if let Some(metrics) = &check.metrics {
        let rows: Vec<[String; 7]> = metrics.iter().map(metric_cells).collect();
        let header = ["metric", "base", "head", "Δ", "Δ%", "status", "why"].map(str::to_owned);
        out.push_str(&aligned(&header, &rows, "      ", |index| {
            (1..=4).contains(&index)
        }));
    }
    for finding in &check.findings {
        let _ = writeln!(out, "      - {finding}");
    }
}

fn metric_cells(metric: &MetricDelta) -> [String; 7] {
    [
        metric.name.clone(),
        number(metric.base),
        number(metric.head),
        signed(metric.delta, "", 4),
        signed(metric.delta_pct, "%", 2),
        metric.status.as_str().to_owned(),
        format!("{}; rule {}", metric.note, rule_text(&metric.rule)),
    ]
}

fn icon(status: Status) -> &'static str {
    match status {
        Status::Pass => "✅ pass",
        Status::Warn => "⚠️ warn",
        Status::Fail => "❌ fail",
        Status::Skipped => "➖ skipped",
    }
}

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('\n', " ")
        .replace('<', "&lt;")
}

/// Markdown for PR comments, check runs and job summaries.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let mark = match report.conclusion {
        Conclusion::Fail => "❌",
        Conclusion::ActionRequired => "🟡",
        Conclusion::Pass => "✅",
    };
    let _ = writeln!(out, "### {mark} modelgate: {}\n", cell(&verdict(report)));
    let blocks: Vec<String> = report
        .policy
        .block_on
        .iter()
        .map(ToString::to_string)
        .collect();
    let _ = writeln!(
        out,
        "Tier **{}** (blocks on {}) · policy: {} · `{}..{}` · {} file(s) changed\n",
        report.tier.as_deref().unwrap_or("—"),
        if blocks.is_empty() {
            "nothing".to_owned()
        } else {
            blocks.join(", ")
        },
        cell(&policy_label(&report.policy.source)),
        ShortSha(&report.merge_base),
        ShortSha(&report.head),
        report.changed_files
    );
    markdown_approvals(&mut out, report);
    if !report.models.is_empty() {
        let _ = writeln!(
            out,
            "| Model | Change | Tier | Why | Checks |\n|---|---|---|---|---|"
        );
        for model in &report.models {
            let checks: Vec<String> = model
                .checks
                .iter()
                .map(|c| format!("{} {}", c.kind, icon(c.status)))
                .collect();
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                cell(&model.id),
                model.change.as_str(),
                cell(&tier_change(model)),
                cell(&model.reasons.join("; ")),
                checks.join(" · ")
            );
        }
    }
    for model in &report.models {
        let _ = writeln!(out, "\n#### `{}`\n", cell(&model.id));
        for check in &model.checks {
            let blocking = if check.blocking {
                " **(blocking)**"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "- **{}** {}: {}{blocking}",
                check.kind,
                icon(check.status),
                cell(&check.summary)
            );
            if let Some(metrics) = check.metrics.as_ref().filter(|m| !m.is_empty()) {
                let _ = writeln!(
                    out,
                    "\n  | Metric | base | head | Δ | Δ% | status | rule |\n  |---|--:|--:|--:|--:|---|---|"
                );
                for metric in metrics {
                    let [name, base, head, delta, pct, _, _] = metric_cells(metric);
                    let _ = writeln!(
                        out,
                        "  | {} | {base} | {head} | {delta} | {pct} | {} {} | {} |",
                        cell(&name),
                        icon(metric.status),
                        cell(&metric.note),
                        cell(&rule_text(&metric.rule))
                    );
                }
                let _ = writeln!(out);
            }
            for dataset in check.datasets.iter().flatten() {
                if let Some(drift) = &dataset.drift {
                    let _ = writeln!(out, "\n{}", drift_markdown(drift, &dataset.path));
                }
            }
            if let Some(features) = &check.features {
                let _ = writeln!(out, "{}", fairness_markdown(features));
            }
            if !check.findings.is_empty() {
                let _ = writeln!(
                    out,
                    "\n  <details><summary>{} finding(s)</summary>\n",
                    check.findings.len()
                );
                for finding in &check.findings {
                    let _ = writeln!(out, "  - {}", cell(finding));
                }
                let _ = writeln!(out, "\n  </details>\n");
            }
        }
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "\n> ⚠️ {}", cell(warning));
    }
    out
}

fn markdown_approvals(out: &mut String, report: &Report) {
    for line in governance_lines(report) {
        let _ = writeln!(out, "> {}\n", cell(&line));
    }
    let Some(approvals) = &report.approvals else {
        return;
    };
    let _ = writeln!(out, "**Approvals for tier {}**\n", approvals.tier);
    for requirement in &approvals.requirements {
        let mark = if requirement.met { "✅" } else { "⬜" };
        let by = if requirement.by.is_empty() {
            String::new()
        } else {
            format!(" — {}", requirement.by.join(", "))
        };
        let _ = writeln!(
            out,
            "- {mark} {}{}",
            cell(&requirement.description),
            cell(&by)
        );
    }
    for risk in &approvals.accepted_risks {
        let _ = writeln!(
            out,
            "- 🟠 risk accepted by {}: {} ({})",
            cell(&risk.by),
            cell(&risk.reason),
            risk.checks.join(", ")
        );
    }
    if !approvals.ignored.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>{} review(s) or command(s) not counted</summary>\n",
            approvals.ignored.len()
        );
        for ignored in &approvals.ignored {
            let _ = writeln!(out, "- {}", cell(ignored));
        }
        let _ = writeln!(out, "\n</details>");
    }
    let _ = writeln!(out);
}

fn opt(value: Option<f64>) -> String {
    match value {
        None => "—".to_owned(),
        Some(v) if v != 0.0 && v.abs() < 1e-4 => format!("{v:.3e}"),
        Some(v) => format!("{v:.4}"),
    }
}

fn drift_rows(drift: &DatasetDrift) -> Vec<[String; 6]> {
    let mut columns: Vec<&ColumnDrift> = drift.columns.iter().collect();
    // Drifted columns first: they are what a reviewer needs.
    columns.sort_by_key(|c| !c.drifted);
    columns
        .into_iter()
        .map(|c| {
            let test = c
                .stattest
                .map(|t| t.name().to_owned())
                .unwrap_or_else(|| "skipped".to_owned());
            let verdict = if c.drifted {
                "drifted"
            } else if c.skipped() {
                "skipped"
            } else {
                "stable"
            };
            let notes = c.notes.join("; ");
            [
                c.name.clone(),
                format!("{} {}", c.kind.as_str(), test),
                opt(c.statistic),
                opt(c.p_value),
                format!("{} (threshold {})", verdict, opt(c.threshold)),
                notes,
            ]
        })
        .collect()
}

fn drift_verdict(drift: &DatasetDrift) -> String {
    format!(
        "{}: {} of {} tested column(s) drifted (share {:.2}, dataset drift at {:.2})",
        if drift.dataset_drift {
            "DATASET DRIFT"
        } else {
            "NO DATASET DRIFT"
        },
        drift.drifted_columns,
        drift.tested_columns(),
        drift.share_of_drifted_columns(),
        drift.drift_share
    )
}

/// Says which rows were tested when a side was longer than `drift.max_rows`.
fn sampling_note(drift: &DatasetDrift) -> Option<String> {
    drift
        .sampling
        .as_ref()
        .map(|sampling| format!("sampled: {sampling}"))
}

/// `modelgate drift` as text.
pub fn drift_text(drift: &DatasetDrift, reference: &str, current: &str) -> String {
    let mut out = format!(
        "{}\nreference {reference}, current {current}\n",
        drift_verdict(drift)
    );
    if let Some(note) = sampling_note(drift) {
        let _ = writeln!(out, "{note}");
    }
    for change in &drift.schema_changes {
        let _ = writeln!(
            out,
            "schema: column `{}` {:?}",
            change.column, change.change
        );
    }
    let _ = writeln!(out);
    let rows = drift_rows(drift);
    let header = [
        "column",
        "kind/test",
        "statistic",
        "p-value",
        "verdict",
        "notes",
    ]
    .map(str::to_owned);
    out.push_str(&aligned(&header, &rows, "", |_| false));
    out
}

/// Drift as Markdown: the drifted columns in a table, the rest collapsed.
pub fn drift_markdown(drift: &DatasetDrift, title: &str) -> String {
    let mut out = format!("**{}** — {}\n\n", cell(title), drift_verdict(drift));
    if let Some(note) = sampling_note(drift) {
        let _ = writeln!(out, "_{}_\n", cell(&note));
    }
    let rows = drift_rows(drift);
    let (drifted, rest): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(|r| r[4].starts_with("drifted"));
    let table = |rows: &[[String; 6]]| {
        let mut text = String::from(
            "| Column | Kind / test | Statistic | p-value | Verdict | Notes |\n|---|---|--:|--:|---|---|\n",
        );
        for row in rows {
            let _ = writeln!(
                text,
                "| {} |",
                row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
            );
        }
        text
    };
    if !drifted.is_empty() {
        let _ = writeln!(out, "{}", table(&drifted));
    }
    if !rest.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} other column(s)</summary>\n\n{}\n</details>\n",
            rest.len(),
            table(&rest)
        );
    }
    out
}

fn fairness_markdown(features: &[FeatureFairness]) -> String {
    let mut out = String::new();
    for feature in features {
        let _ = writeln!(
            out,
            "\n  **{}** {}: {}\n",
            cell(&feature.feature),
            icon(feature.status),
            cell(&feature.summary)
        );
        let _ = writeln!(
            out,
            "  | Group | Size | Judged | Selection rate | TPR | FPR | MAE |\n  |---|--:|---|--:|--:|--:|--:|"
        );
        for group in &feature.groups {
            let _ = writeln!(
                out,
                "  | {} | {} | {} | {} | {} | {} | {} |",
                cell(&group.value),
                group.size,
                if group.judged { "yes" } else { "no (small)" },
                opt(group.selection_rate),
                opt(group.tpr.flatten()),
                opt(group.fpr.flatten()),
                opt(group.mae)
            );
        }
    }
    out
}
