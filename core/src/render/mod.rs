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
use crate::report::{AppliedRule, ModelReport, Requirement, RequirementRule, Status};
use crate::sha::ShortSha;

/// Where the policy came from, e.g. `.github/modelgate.yml at 1a2b3c4d5e`.
pub fn policy_label(source: &PolicySource) -> String {
    match source {
        PolicySource::File { path, commit } => format!("{path} at {}", short_sha(commit)),
        PolicySource::Defaults => "built-in defaults (no .github/modelgate.yml)".to_owned(),
    }
}

/// A commit id shortened once validated; anything else quoted whole (`crate::sha`).
fn short_sha(sha: &str) -> ShortSha<'_> {
    ShortSha(sha)
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

fn status_word(status: Status) -> &'static str {
    status.as_str()
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
