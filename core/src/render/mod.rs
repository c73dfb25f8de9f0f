//! Human renderings of a report. A report is first laid out as [`Section`]s (the verdict,
//! the scope, approvals, one per model, lineage, what happens next); each surface is a view
//! of those sections: plain text for a terminal, Markdown for the PR comment, the check
//! runs and the job summary. The same fact has the same words everywhere, and a view that
//! must fit a size limit drops or collapses whole sections, never cuts a string.

mod drift;
mod markdown;
mod sections;
mod text;

pub use drift::{drift_markdown, drift_text};
pub use markdown::{Limit, Unit, markdown, markdown_within};
pub use sections::{LineageEdge, LineageImpact, NextSteps, Section, Surface, sections};
pub use text::{approvals_text, text};

use crate::convention::PolicySource;
use crate::report::{
    AppliedRule, Conclusion, MetricDelta, ModelReport, Report, Requirement, RequirementRule,
};
use crate::sha::ShortSha;
use markdown::cell;

/// Where the policy came from, e.g. `.github/modelgate.yml at 1a2b3c4d5e`.
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

/// A statistic or p-value: scientific notation for tiny values.
fn statistic(value: Option<f64>) -> String {
    match value {
        None => "—".to_owned(),
        Some(v) if v != 0.0 && v.abs() < 1e-4 => format!("{v:.3e}"),
        Some(v) => format!("{v:.4}"),
    }
}

/// The check kinds the tier blocks on, `nothing` when none.
fn blocks_on(report: &Report) -> String {
    let kinds: Vec<String> = report
        .policy
        .block_on
        .iter()
        .map(ToString::to_string)
        .collect();
    if kinds.is_empty() {
        "nothing".to_owned()
    } else {
        kinds.join(", ")
    }
}

/// The bootstrap interval of a metric's delta, `—` without predictions.
fn interval(metric: &MetricDelta) -> String {
    match (metric.ci_low, metric.ci_high) {
        (Some(low), Some(high)) => format!("[{low:+.4}, {high:+.4}]"),
        _ => "—".to_owned(),
    }
}

/// Why, in a few words: the bounds broken, else the note (`improved`, `unchanged`).
fn metric_reason(metric: &MetricDelta) -> String {
    if metric.breaches.is_empty() {
        return metric.note.clone();
    }
    let breaches: Vec<String> = metric.breaches.iter().map(ToString::to_string).collect();
    breaches.join("; ")
}

/// The next steps as sentences, with Markdown emphasis when `markdown`; the text view uses
/// the same sentences.
fn next_step_lines(next: &NextSteps<'_>, markdown: bool) -> Vec<String> {
    let strong = |label: &str| {
        if markdown {
            format!("**{label}:**")
        } else {
            format!("{label}:")
        }
    };
    let esc = |text: &str| {
        if markdown {
            cell(text)
        } else {
            text.to_owned()
        }
    };
    let tier = next.tier.unwrap_or("—");
    let mut lines = Vec::new();
    if !next.blocking.is_empty() {
        let failures: Vec<String> = next.blocking.iter().map(ToString::to_string).collect();
        let who = match next.risk_acceptors.as_deref() {
            Some([]) => format!("tier {tier} names no team whose members may accept risk, so the failures must be fixed"),
            Some(teams) => format!(
                "or a member of {} accepts the risk by commenting `/modelgate accept-risk <reason>` (not the author)",
                esc(&teams.join(" or "))
            ),
            None => "or a member of a team the tier requires accepts the risk on the pull request with `/modelgate accept-risk <reason>`".to_owned(),
        };
        lines.push(format!(
            "{} {} fail(s) under tier {}. Fix and push, {who}.",
            strong("Blocking"),
            esc(&failures.join(", ")),
            esc(tier)
        ));
    }
    match &next.missing {
        None => lines.push(format!(
            "{} judged on the pull request (locally: `modelgate check --pr-facts FILE`).",
            strong("Approvals")
        )),
        Some(missing) if missing.is_empty() => {}
        Some(missing) => {
            let parts: Vec<String> = missing
                .iter()
                .map(|requirement| {
                    let who = if !requirement.eligible.is_empty() {
                        format!("can be given by {}", requirement.eligible.join(", "))
                    } else {
                        match &requirement.rule {
                            RequirementRule::NoChangeRequests => format!(
                                "{} must approve or have the review dismissed",
                                requirement.by.join(", ")
                            ),
                            _ => "any reviewer with write access other than the author can give it"
                                .to_owned(),
                        }
                    };
                    format!("{} ({who})", requirement.rule)
                })
                .collect();
            lines.push(format!(
                "{} {}.",
                strong("Missing approvals"),
                esc(&parts.join("; "))
            ));
        }
    }
    if next.conclusion == Conclusion::Pass && next.missing.is_some() {
        lines.push(format!(
            "{} nothing: the pull request may merge.",
            strong("Left to do")
        ));
    }
    let rerun = if next.missing.is_some() {
        "; comment `/modelgate rerun` to evaluate again"
    } else {
        ""
    };
    lines.push(format!(
        "{} `{}..{}` (merge-base..head) under {}{rerun}.",
        strong("Evaluated"),
        ShortSha(next.merge_base),
        ShortSha(next.head),
        esc(&policy_label(next.policy))
    ));
    lines
}

/// A metric's bounds and where they came from: `max_drop 0.01, min 0.75 (card)`.
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
    format!("{} ({})", parts.join(", "), rule.source.as_str())
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

/// A requirement's state in words, the same on every surface: `met by bob, carol`,
/// `missing (so far: bob)`, `changes requested by dan`.
fn requirement_state(requirement: &Requirement) -> String {
    let by = requirement.by.join(", ");
    match (&requirement.rule, requirement.met) {
        (RequirementRule::NoChangeRequests, true) => "met".to_owned(),
        (RequirementRule::NoChangeRequests, false) => format!("changes requested by {by}"),
        (_, true) => format!("met by {by}"),
        (_, false) if by.is_empty() => "missing".to_owned(),
        (_, false) => format!("missing (so far: {by})"),
    }
}

/// Up to five items, then how many more: a verdict stays one readable line.
fn first_few<T: ToString>(items: &[T]) -> String {
    let shown: Vec<String> = items.iter().take(5).map(ToString::to_string).collect();
    match items.len() {
        0..=5 => shown.join(", "),
        n => format!("{} and {} more", shown.join(", "), n - 5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirement_states_read_the_same_everywhere() {
        let requirement = |rule, met, by: &[&str]| Requirement {
            rule,
            met,
            by: by.iter().map(|b| (*b).to_owned()).collect(),
            eligible: Vec::new(),
        };
        let two = RequirementRule::Approvals {
            count: 2,
            independent: false,
            of_head: true,
        };
        assert_eq!(
            requirement_state(&requirement(two.clone(), false, &["bob"])),
            "missing (so far: bob)"
        );
        assert_eq!(
            requirement_state(&requirement(two, true, &["bob", "eve"])),
            "met by bob, eve"
        );
        assert_eq!(
            requirement_state(&requirement(
                RequirementRule::NoChangeRequests,
                false,
                &["dan"]
            )),
            "changes requested by dan"
        );
    }
}
