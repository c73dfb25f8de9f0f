//! The Markdown view of the sections: the PR comment, the check runs, the job summary and
//! `modelgate check --format markdown`. Every cell that holds text from a repository or a
//! pull request is escaped.

use std::fmt::Write;

use crate::drift::Sampling;
use crate::policy::CheckKind;
use crate::predictions::FeatureFairness;
use crate::report::{Check, Conclusion, Finding, MetricDelta, ModelReport, Report, Status};

use super::drift::drift_markdown;
use super::sections::{LineageEdge, LineageImpact, NextSteps, Section, Surface, sections};
use super::{
    blocks_on, interval, metric_reason, next_step_lines, number, policy_label, requirement_state,
    rule_text, signed, statistic, tier_change, version_change,
};
use crate::sha::ShortSha;

/// The whole report as Markdown.
pub fn markdown(report: &Report) -> String {
    render(&sections(report, Surface::Report), Form::Full)
}

/// How a size limit is counted: GitHub counts a comment's characters but a check run's and
/// a job summary's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Chars,
    Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: usize,
    pub unit: Unit,
}

impl Limit {
    /// The size of `text` in the limit's unit (additive: the size of a concatenation is the
    /// sum of the sizes).
    pub fn size(self, text: &str) -> usize {
        match self.unit {
            Unit::Chars => text.chars().count(),
            Unit::Bytes => text.len(),
        }
    }
}

/// `preface` and the sections within `limit`: whole when they fit; else with the models'
/// evidence collapsed to one line per check; else with whole sections left out, details
/// first, then model rows. Whatever is left out, `shrunk` (a sentence saying where the full
/// report is) is added. Strings are never cut.
pub fn markdown_within(
    sections: &[Section<'_>],
    preface: &str,
    limit: Limit,
    shrunk: &str,
) -> String {
    let full = format!("{preface}{}", render(sections, Form::Full));
    if limit.size(&full) <= limit.max {
        return full;
    }
    let mut parts: Vec<Option<String>> = sections
        .iter()
        .map(|section| Some(section_markdown(section, Form::Compact)))
        .collect();
    let assemble = |parts: &[Option<String>]| {
        let body: String = parts.iter().flatten().map(String::as_str).collect();
        format!("{preface}{body}{shrunk}")
    };
    // Left out first: the least needed to decide. The verdict and next steps stay.
    let order = |section: &Section<'_>| match section {
        Section::Model { .. } => Some(0),
        Section::NotCounted(_) | Section::Warnings(_) => Some(1),
        Section::Lineage(_) => Some(2),
        Section::Notices(_) => Some(3),
        Section::Models(_) => Some(4),
        Section::Approvals(_) | Section::Scope(_) => Some(5),
        Section::Verdict { .. } | Section::NextSteps(_) => None,
    };
    let mut droppable: Vec<usize> = (0..sections.len())
        .filter(|&i| order(&sections[i]).is_some())
        .collect();
    // Within a rank, later sections go first (the last models before the first ones).
    droppable.sort_by_key(|&i| (order(&sections[i]), std::cmp::Reverse(i)));
    let mut text = assemble(&parts);
    for index in droppable {
        if limit.size(&text) <= limit.max {
            return text;
        }
        if let Section::Models(models) = &sections[index] {
            // Many models: fewer rows before no table at all.
            let mut rows = models.len();
            while rows > 1 && limit.size(&text) > limit.max {
                rows /= 2;
                parts[index] = Some(models_table(models, rows));
                text = assemble(&parts);
            }
            if limit.size(&text) <= limit.max {
                return text;
            }
        }
        parts[index] = None;
        text = assemble(&parts);
    }
    text
}

/// Full: every table. Compact: one line per check, no tables, no pictures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Full,
    Compact,
}

fn render(sections: &[Section<'_>], form: Form) -> String {
    sections
        .iter()
        .map(|section| section_markdown(section, form))
        .collect()
}

/// Escapes text for Markdown, in a table cell or a list item: no pipes, no line breaks, no
/// HTML.
pub(crate) fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('\n', " ")
        .replace('<', "&lt;")
}

/// Inline code that survives backticks in the text.
fn code(text: &str) -> String {
    let text = cell(text);
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

pub(crate) fn icon(status: Status) -> &'static str {
    match status {
        Status::Pass => "✅ pass",
        Status::Warn => "⚠️ warn",
        Status::Fail => "❌ fail",
        Status::Skipped => "➖ skipped",
    }
}

fn section_markdown(section: &Section<'_>, form: Form) -> String {
    let mut out = String::new();
    match section {
        Section::Verdict {
            conclusion,
            headline,
        } => {
            let mark = match conclusion {
                Conclusion::Fail => "❌",
                Conclusion::ActionRequired => "🟡",
                Conclusion::Pass => "✅",
            };
            let _ = writeln!(out, "### {mark} modelgate: {}\n", cell(headline));
        }
        Section::Scope(report) => {
            let _ = writeln!(
                out,
                "Tier **{}** (blocks on {}) · policy: {} · `{}..{}` · {} file(s) changed\n",
                cell(report.tier.as_deref().unwrap_or("—")),
                blocks_on(report),
                cell(&policy_label(&report.policy.source)),
                ShortSha(&report.merge_base),
                ShortSha(&report.head),
                report.changed_files
            );
        }
        Section::Notices(lines) => {
            for line in lines {
                let _ = writeln!(out, "> {}\n", cell(line));
            }
        }
        Section::Approvals(approvals) => {
            let _ = writeln!(out, "**Approvals for tier {}**\n", cell(&approvals.tier));
            for requirement in &approvals.requirements {
                let mark = if requirement.met { "✅" } else { "⬜" };
                let _ = writeln!(
                    out,
                    "- {mark} {}: {}",
                    cell(&requirement.rule.to_string()),
                    cell(&requirement_state(requirement))
                );
            }
            for risk in &approvals.accepted_risks {
                let checks: Vec<String> = risk.checks.iter().map(ToString::to_string).collect();
                let _ = writeln!(
                    out,
                    "- 🟠 risk accepted by {}: {} ({})",
                    cell(&risk.by),
                    cell(&risk.reason),
                    cell(&checks.join(", "))
                );
            }
            let _ = writeln!(out);
        }
        Section::NotCounted(ignored) => {
            if !ignored.is_empty() {
                let _ = writeln!(
                    out,
                    "<details><summary>{} review(s) or command(s) not counted</summary>\n",
                    ignored.len()
                );
                for line in ignored.iter() {
                    let _ = writeln!(out, "- {}", cell(line));
                }
                let _ = writeln!(out, "\n</details>\n");
            }
        }
        Section::Models(models) => out.push_str(&models_table(models, models.len())),
        Section::Model { model, shown_under } => model_markdown(&mut out, model, shown_under, form),
        Section::Lineage(lineage) => lineage_markdown(&mut out, lineage, form),
        Section::NextSteps(next) => next_steps_markdown(&mut out, next),
        Section::Warnings(warnings) => {
            for warning in warnings.iter() {
                let _ = writeln!(out, "> ⚠️ {}\n", cell(warning));
            }
        }
    }
    out
}

/// The models table: a column per check kind, at most `max_rows` rows.
fn models_table(models: &[ModelReport], max_rows: usize) -> String {
    let mut kinds: Vec<CheckKind> = Vec::new();
    for check in models.iter().flat_map(|m| &m.checks) {
        if !kinds.contains(&check.kind) {
            kinds.push(check.kind);
        }
    }
    let mut out = String::from("| Model | Change | Tier | Why |");
    for kind in &kinds {
        let _ = write!(out, " {kind} |");
    }
    out.push_str("\n|---|---|---|---|");
    out.push_str(&"---|".repeat(kinds.len()));
    out.push('\n');
    for model in models.iter().take(max_rows) {
        let reasons: Vec<String> = model.reasons.iter().map(ToString::to_string).collect();
        let _ = write!(
            out,
            "| {} | {} | {} | {} |",
            code(&model.id),
            model.change.as_str(),
            cell(tier_change(model).trim_start_matches("tier ")),
            cell(&reasons.join("; "))
        );
        for kind in &kinds {
            let status = model
                .checks
                .iter()
                .find(|c| c.kind == *kind)
                .map_or(String::new(), |c| {
                    let blocking = if c.blocking && !c.accepted {
                        " (blocking)"
                    } else if c.accepted {
                        " (accepted)"
                    } else {
                        ""
                    };
                    format!("{}{blocking}", icon(c.status))
                });
            let _ = write!(out, " {status} |");
        }
        out.push('\n');
    }
    if models.len() > max_rows {
        let _ = writeln!(
            out,
            "| … | | | {} more model(s) not shown |{}",
            models.len() - max_rows,
            " |".repeat(kinds.len())
        );
    }
    out.push('\n');
    out
}

fn model_markdown(out: &mut String, model: &ModelReport, shown_under: &[(&str, &str)], form: Form) {
    let mut heading = format!(
        "#### {} · {} · {}",
        code(&model.id),
        model.change.as_str(),
        cell(&tier_change(model))
    );
    if let Some(version) = version_change(model) {
        let _ = write!(heading, " · {}", cell(&version));
    }
    let _ = writeln!(out, "{heading}\n");
    let (skipped, judged): (Vec<&Check>, Vec<&Check>) = model
        .checks
        .iter()
        .partition(|c| c.status == Status::Skipped);
    for check in judged {
        let blocking = match (check.blocking, check.accepted) {
            (true, true) => " **(blocking, risk accepted)**",
            (true, false) => " **(blocking)**",
            _ => "",
        };
        let _ = writeln!(
            out,
            "- **{}** {}{blocking}: {}",
            check.kind,
            icon(check.status),
            cell(&check.summary)
        );
        if form == Form::Full {
            check_evidence(out, check, shown_under);
        }
    }
    if !skipped.is_empty() {
        let parts: Vec<String> = skipped
            .iter()
            .map(|c| format!("{} ({})", c.kind, cell(&c.summary)))
            .collect();
        let _ = writeln!(out, "- ➖ skipped: {}", parts.join("; "));
    }
    let _ = writeln!(out);
}

/// A check's tables, then its findings that no table shows. Unchanged metrics need no
/// table: the summary says they are within their rules.
fn check_evidence(out: &mut String, check: &Check, shown_under: &[(&str, &str)]) {
    if let Some(metrics) = check.metrics.as_ref().filter(|m| !m.is_empty())
        && metrics
            .iter()
            .any(|m| m.delta != Some(0.0) || m.status != Status::Pass)
    {
        metrics_table(out, metrics);
    }
    for dataset in check.datasets.iter().flatten() {
        let Some(drift) = &dataset.drift else {
            continue;
        };
        let _ = writeln!(out);
        match shown_under.iter().find(|(path, _)| *path == dataset.path) {
            Some((path, under)) => {
                let _ = writeln!(
                    out,
                    "  {}: the same comparison as under {} above.",
                    code(path),
                    code(under)
                );
            }
            None => {
                for line in drift_markdown(drift, &dataset.path).lines() {
                    let _ = writeln!(out, "{}", format!("  {line}").trim_end());
                }
            }
        }
    }
    if let Some(features) = &check.features {
        fairness_tables(out, features);
    }
    // Drifted columns, samples and fairness gaps are in the tables above.
    let not_in_a_table = |finding: &&Finding| match finding {
        Finding::Fairness { .. } => check.features.is_none(),
        Finding::ColumnsDrifted { .. } | Finding::Sampled { .. } => check.datasets.is_none(),
        _ => true,
    };
    let findings: Vec<&Finding> = check.findings.iter().filter(not_in_a_table).collect();
    if !findings.is_empty() {
        let _ = writeln!(
            out,
            "\n  <details><summary>{} finding(s)</summary>\n",
            findings.len()
        );
        for finding in findings {
            let _ = writeln!(out, "  - {}", cell(&finding.to_string()));
        }
        let _ = writeln!(out, "\n  </details>\n");
    }
}

fn metrics_table(out: &mut String, metrics: &[MetricDelta]) {
    let intervals = metrics.iter().any(|m| m.ci_low.is_some());
    let _ = write!(out, "\n  | Metric | Base | Head | Δ | Δ% |");
    if intervals {
        out.push_str(" Interval of Δ |");
    }
    let _ = writeln!(out, " Status | Why | Rule |");
    let _ = write!(out, "  |---|--:|--:|--:|--:|");
    if intervals {
        out.push_str("---|");
    }
    let _ = writeln!(out, "---|---|---|");
    for metric in metrics {
        let _ = write!(
            out,
            "  | {} | {} | {} | {} | {} |",
            cell(&metric.name),
            number(metric.base),
            number(metric.head),
            signed(metric.delta, "", 4),
            signed(metric.delta_pct, "%", 2),
        );
        if intervals {
            let _ = write!(out, " {} |", interval(metric));
        }
        let _ = writeln!(
            out,
            " {} | {} | {} |",
            metric_status(metric),
            cell(&metric_reason(metric)),
            cell(&rule_text(&metric.rule))
        );
    }
    let _ = writeln!(out);
}

/// A breach within bootstrap noise is a warning that says so.
fn metric_status(metric: &MetricDelta) -> String {
    if metric.status == Status::Warn && !metric.breaches.is_empty() && metric.ci_low.is_some() {
        "⚠️ noise".to_owned()
    } else {
        icon(metric.status).to_owned()
    }
}

fn fairness_tables(out: &mut String, features: &[FeatureFairness]) {
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
                statistic(group.selection_rate),
                statistic(group.tpr.flatten()),
                statistic(group.fpr.flatten()),
                statistic(group.mae)
            );
        }
    }
    let _ = writeln!(out);
}

fn lineage_markdown(out: &mut String, lineage: &LineageImpact<'_>, form: Form) {
    if lineage.reached.is_empty() {
        return;
    }
    let _ = writeln!(out, "#### Lineage impact\n");
    if form == Form::Compact {
        // Without the models table, the list is the only place that says why.
        let _ = writeln!(out, "This change reaches:");
        for model in &lineage.reached {
            let reasons: Vec<String> = model.reasons.iter().map(ToString::to_string).collect();
            let _ = writeln!(out, "- {}: {}", code(&model.id), cell(&reasons.join("; ")));
        }
        let _ = writeln!(out);
        return;
    }
    let reached: Vec<String> = lineage.reached.iter().map(|m| code(&m.id)).collect();
    let _ = writeln!(
        out,
        "This change reaches {} through the datasets and upstream models below.",
        reached.join(", ")
    );
    let _ = writeln!(out, "\n```mermaid\ngraph LR");
    let mut models: Vec<&str> = Vec::new();
    let mut datasets: Vec<&str> = Vec::new();
    fn node<'a>(list: &mut Vec<&'a str>, name: &'a str) -> usize {
        list.iter().position(|n| *n == name).unwrap_or_else(|| {
            list.push(name);
            list.len() - 1
        })
    }
    let mut lines = Vec::new();
    for edge in &lineage.edges {
        match edge {
            LineageEdge::Upstream { from, to } => {
                let (from, to) = (node(&mut models, from), node(&mut models, to));
                lines.push(format!("  m{from} --> m{to}"));
            }
            LineageEdge::Dataset { path, to } => {
                let at = node(&mut datasets, path.as_str());
                let to = node(&mut models, to);
                lines.push(format!("  d{at} --> m{to}"));
            }
        }
    }
    for (index, model) in models.iter().enumerate() {
        let _ = writeln!(out, "  m{index}[\"{}\"]", mermaid_label(model));
    }
    for (index, path) in datasets.iter().enumerate() {
        let _ = writeln!(out, "  d{index}[(\"{}\")]", mermaid_label(path));
    }
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "```\n");
}

/// Mermaid labels are quoted; quotes and markup inside them are entities.
fn mermaid_label(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "#quot;")
        .replace('<', "&lt;")
        .replace('\n', " ")
}

fn next_steps_markdown(out: &mut String, next: &NextSteps<'_>) {
    let _ = writeln!(out, "#### What happens next\n");
    for line in next_step_lines(next, true) {
        let _ = writeln!(out, "- {line}");
    }
    let _ = writeln!(out);
}

/// `sampled: …` for a drift table's caption.
pub(crate) fn sampling_caption(sampling: &Sampling) -> String {
    format!("sampled: {sampling}")
}
