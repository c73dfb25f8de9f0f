//! The sticky PR comment and the check-run outputs, rendered from the report by pure
//! functions. GitHub refuses comment bodies over 65,536 characters and check-run summaries
//! or texts over 65,535, so sections shrink to fit, with a note saying so.

use std::fmt::Write;

use modelgate_core::Report;
use modelgate_core::render;

/// Hidden marker that identifies the bot's sticky comment (with the bot's own login).
pub const MARKER: &str = "<!-- modelgate:report -->";
pub const COMMENT_LIMIT: usize = 65_536;
pub const CHECK_TEXT_LIMIT: usize = 65_535;

pub const EVALUATION_CHECK: &str = "modelgate / evaluation";
pub const APPROVALS_CHECK: &str = "modelgate / approvals";

/// GitHub's limit for a step's job summary (`$GITHUB_STEP_SUMMARY`), in bytes.
pub const JOB_SUMMARY_LIMIT: usize = 1024 * 1024;

/// The comment body: full when it fits, else compact, else the first models only.
pub fn comment(report: &Report) -> String {
    let note = "\n\n> Details were shrunk to fit GitHub's 65,536-character limit; the check run `modelgate / evaluation` and `modelgate check --format json` have the full report.\n";
    fit(
        report,
        &format!("{MARKER}\n"),
        note,
        Measure::Chars(COMMENT_LIMIT),
    )
}

/// The Action's job summary: `notes` (why something was not posted, say) as callouts,
/// then the report as the comment shows it, shrunk to GitHub's 1 MiB.
pub fn job_summary(report: &Report, notes: &[String]) -> String {
    let preface: String = notes
        .iter()
        .map(|note| format!("> [!NOTE]\n> {}\n\n", note.replace('\n', "\n> ")))
        .collect();
    let note = "\n\n> The report was shrunk to fit the job summary's 1 MiB limit; the step's `report` output is the full JSON report.\n";
    fit(report, &preface, note, Measure::Bytes(JOB_SUMMARY_LIMIT))
}

/// How a limit is counted: GitHub counts comment characters but summary bytes.
#[derive(Debug, Clone, Copy)]
enum Measure {
    Chars(usize),
    Bytes(usize),
}

impl Measure {
    fn fits(self, text: &str) -> bool {
        match self {
            Measure::Chars(limit) => text.chars().count() <= limit,
            Measure::Bytes(limit) => text.len() <= limit,
        }
    }

    fn truncate(self, text: &str) -> String {
        match self {
            Measure::Chars(limit) => truncate(text, limit),
            Measure::Bytes(limit) => {
                let mut end = limit.min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text[..end].to_owned()
            }
        }
    }
}

/// `preface` and the full report when they fit; else the compact form with `note`; else
/// as many model rows as fit.
fn fit(report: &Report, preface: &str, note: &str, measure: Measure) -> String {
    let full = format!(
        "{preface}{}{}",
        render::markdown(report),
        lineage_section(report)
    );
    if measure.fits(&full) {
        return full;
    }
    let compact = format!("{preface}{}{note}", compact_markdown(report, usize::MAX));
    if measure.fits(&compact) {
        return compact;
    }
    // Many touched models: keep the verdict and as many rows as fit.
    let mut rows = report.models.len();
    loop {
        rows /= 2;
        let body = format!("{preface}{}{note}", compact_markdown(report, rows));
        if measure.fits(&body) || rows == 0 {
            return measure.truncate(&body);
        }
    }
}

/// The verdict, approvals and one table row per model, without per-metric tables.
fn compact_markdown(report: &Report, max_rows: usize) -> String {
    let full = render::markdown(report);
    // The header (verdict, tier line, approvals) is everything before the first model table.
    let header = full.split("\n| Model |").next().unwrap_or(&full);
    let mut out = String::from(header);
    let _ = writeln!(
        out,
        "\n| Model | Change | Why | Checks |\n|---|---|---|---|"
    );
    for model in report.models.iter().take(max_rows) {
        let checks: Vec<String> = model
            .checks
            .iter()
            .map(|c| format!("{} {}", c.kind, c.status.as_str()))
            .collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            model.id.replace('|', "\\|"),
            model.change.as_str(),
            model.reasons.join("; ").replace('|', "\\|"),
            checks.join(", ")
        );
    }
    if report.models.len() > max_rows {
        let _ = writeln!(
            out,
            "| … | | {} more model(s) not shown | |",
            report.models.len() - max_rows
        );
    }
    out
}

/// "This change reaches: …", with a Mermaid picture beside the list when lineage or a
/// dataset carried the change to other models.
fn lineage_section(report: &Report) -> String {
    let reached: Vec<&modelgate_core::report::ModelReport> = report
        .models
        .iter()
        .filter(|m| m.reasons.iter().any(|r| r != "folder changed"))
        .collect();
    if reached.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n#### Lineage impact\n\nThis change reaches:\n");
    for model in &reached {
        let _ = writeln!(out, "- `{}`: {}", model.id, model.reasons.join("; "));
    }
    let _ = writeln!(out, "\n```mermaid\ngraph LR");
    for (index, model) in report.models.iter().enumerate() {
        let _ = writeln!(out, "  m{index}[\"{}\"]", mermaid_label(&model.id));
    }
    let mut datasets: Vec<String> = Vec::new();
    for (index, model) in report.models.iter().enumerate() {
        for reason in &model.reasons {
            if let Some(upstream) = reason
                .strip_prefix("upstream ")
                .and_then(|r| r.strip_suffix(" touched"))
                && let Some(from) = report.models.iter().position(|m| m.id == upstream)
            {
                let _ = writeln!(out, "  m{from} --> m{index}");
            }
            if let Some(path) = reason
                .strip_prefix("dataset ")
                .and_then(|r| r.strip_suffix(" changed"))
            {
                let at = datasets.iter().position(|d| d == path).unwrap_or_else(|| {
                    datasets.push(path.to_owned());
                    datasets.len() - 1
                });
                let _ = writeln!(out, "  d{at}[(\"{}\")] --> m{index}", mermaid_label(path));
            }
        }
    }
    let _ = writeln!(out, "```");
    out
}

fn mermaid_label(text: &str) -> String {
    text.replace('"', "'")
}

fn truncate(text: &str, limit: usize) -> String {
    text.chars().take(limit).collect()
}

/// A check run's output: title, summary and text, each within GitHub's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutput {
    pub title: String,
    pub summary: String,
    pub text: String,
    /// `success`, `failure` or `action_required`.
    pub conclusion: &'static str,
}

pub fn evaluation_output(report: &Report) -> CheckOutput {
    let blocking = report.blocking_failures();
    let (conclusion, title) = if blocking.is_empty() {
        (
            "success",
            format!(
                "{} model(s) evaluated, no blocking failure",
                report.models.len()
            ),
        )
    } else {
        (
            "failure",
            format!("Blocking failure in {}", blocking.join(", ")),
        )
    };
    let markdown = render::markdown(report);
    CheckOutput {
        title: truncate(&title, 1000),
        summary: truncate(
            markdown.split("\n| Model |").next().unwrap_or(&markdown),
            CHECK_TEXT_LIMIT,
        ),
        text: truncate(&markdown, CHECK_TEXT_LIMIT),
        conclusion,
    }
}

pub fn approvals_output(report: &Report) -> CheckOutput {
    let Some(approvals) = &report.approvals else {
        return CheckOutput {
            title: "No approvals judged".to_owned(),
            summary: "The pull request's facts were not available.".to_owned(),
            text: String::new(),
            conclusion: "action_required",
        };
    };
    let missing = approvals.requirements.iter().filter(|r| !r.met).count();
    let (conclusion, title) = if missing == 0 {
        (
            "success",
            format!("Approvals complete for tier {}", approvals.tier),
        )
    } else {
        (
            "action_required",
            format!(
                "{missing} requirement(s) missing for tier {}",
                approvals.tier
            ),
        )
    };
    let mut summary = String::new();
    for requirement in &approvals.requirements {
        let mark = if requirement.met { "✅" } else { "⬜" };
        let by = if requirement.by.is_empty() {
            "nobody yet".to_owned()
        } else {
            requirement.by.join(", ")
        };
        let state = if requirement.met {
            "met by"
        } else {
            "missing; so far"
        };
        let _ = writeln!(
            summary,
            "- {mark} {}: {state} {by}",
            requirement.description
        );
    }
    for risk in &approvals.accepted_risks {
        let _ = writeln!(
            summary,
            "- 🟠 risk accepted by {}: {} ({})",
            risk.by,
            risk.reason,
            risk.checks.join(", ")
        );
    }
    let text = approvals
        .ignored
        .iter()
        .map(|i| format!("- {i}\n"))
        .collect::<String>();
    CheckOutput {
        title,
        summary: truncate(&summary, CHECK_TEXT_LIMIT),
        text: truncate(&text, CHECK_TEXT_LIMIT),
        conclusion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use modelgate_core::convention::PolicySource;
    use modelgate_core::policy::CheckKind;
    use modelgate_core::report::{Change, Check, Conclusion, ModelReport, PolicyInfo, Status};

    fn report(models: usize, finding_length: usize) -> Report {
        let model = |index: usize| {
            let mut check = Check::new(CheckKind::Card, Status::Fail, "problems");
            check.findings = vec!["x".repeat(finding_length)];
            check.blocking = true;
            ModelReport {
                id: format!("model-{index:05}"),
                change: Change::Impacted,
                reasons: vec!["dataset data/shared.csv changed".to_owned()],
                tier_base: Some("medium".to_owned()),
                tier_head: Some("medium".to_owned()),
                version_base: None,
                version_head: None,
                owners: Vec::new(),
                checks: vec![check],
            }
        };
        Report {
            schema: "modelgate.report/v1",
            base: "a".repeat(40),
            head: "b".repeat(40),
            merge_base: "c".repeat(40),
            base_ref: "main".to_owned(),
            head_ref: "pr".to_owned(),
            conclusion: Conclusion::Fail,
            tier: Some("medium".to_owned()),
            escalation: None,
            policy: PolicyInfo {
                source: PolicySource::Defaults,
                block_on: vec![CheckKind::Card],
                proposed: None,
            },
            changed_files: 1,
            models: (0..models).map(model).collect(),
            warnings: Vec::new(),
            approvals: None,
        }
    }

    #[test]
    fn a_small_report_is_rendered_whole_with_its_lineage_picture() {
        let body = comment(&report(2, 10));
        assert!(body.starts_with(MARKER));
        assert!(body.contains("#### Lineage impact"));
        assert!(body.contains("```mermaid\ngraph LR\n"));
        assert!(body.contains("d0[(\"data/shared.csv\")] --> m0"));
        assert!(!body.contains("shrunk"));
    }

    #[test]
    fn large_reports_shrink_under_githubs_limit_with_a_note() {
        for (models, finding) in [(40, 4_000), (3_000, 10)] {
            let body = comment(&report(models, finding));
            assert!(
                body.chars().count() <= COMMENT_LIMIT,
                "{models} models: {} characters",
                body.chars().count()
            );
            assert!(
                body.contains("Details were shrunk to fit"),
                "{models} models"
            );
            assert!(
                body.contains("FAIL: blocking failure"),
                "the verdict survives"
            );
        }
        let body = comment(&report(3_000, 10));
        assert!(body.contains("more model(s) not shown"));
        let output = evaluation_output(&report(3_000, 10));
        assert!(
            output.text.chars().count() <= CHECK_TEXT_LIMIT
                && output.summary.chars().count() <= CHECK_TEXT_LIMIT
        );
        assert_eq!(output.conclusion, "failure");
    }
}

#[cfg(test)]
mod summary_tests {
    use super::*;
    use modelgate_core::scenario::{FileChange, RepoWriter};

    /// A report touching `models` models, each with a regression table.
    fn report(models: usize) -> Report {
        let dir = tempfile::tempdir().expect("temporary folder");
        let mut writer = RepoWriter::init(&dir.path().join("repo"), true).expect("repository");
        let card = "---\nowners: [\"@acme/ml\"]\ngovernance:\n  risk_tier: low\n---\n# Model\n";
        let base: Vec<FileChange> = (0..models)
            .flat_map(|i| {
                [
                    FileChange::write(&format!("models/m{i:03}/card.md"), card),
                    FileChange::write(&format!("models/m{i:03}/metrics.json"), "{\"auc\": 0.8}"),
                ]
            })
            .collect();
        let head: Vec<FileChange> = (0..models)
            .map(|i| FileChange::write(&format!("models/m{i:03}/metrics.json"), "{\"auc\": 0.81}"))
            .collect();
        writer.commit("main", None, "base", &base).expect("commit");
        writer
            .commit("pr", Some("main"), "head", &head)
            .expect("commit");
        let repo = modelgate_core::Repo::open(&dir.path().join("repo")).expect("open");
        modelgate_core::evaluate(&repo, "main", "pr").expect("evaluate")
    }

    #[test]
    fn a_report_that_fits_is_whole_with_its_notes_first() {
        let report = report(2);
        let summary = job_summary(&report, &["Posted nothing:\nread-only token.".to_owned()]);
        assert!(
            summary.starts_with("> [!NOTE]\n> Posted nothing:\n> read-only token.\n\n### "),
            "{summary}"
        );
        assert!(summary.contains(&render::markdown(&report)));
    }

    #[test]
    fn a_report_over_the_limit_shrinks_with_a_note() {
        let report = report(40);
        let full = fit(&report, "", "NOTE", Measure::Bytes(usize::MAX));
        let limit = full.len() / 3;
        let shrunk = fit(
            &report,
            "> preface\n",
            "\nshrunk to fit\n",
            Measure::Bytes(limit),
        );
        assert!(shrunk.len() <= limit, "{} > {limit}", shrunk.len());
        assert!(shrunk.starts_with("> preface\n"));
        assert!(shrunk.ends_with("\nshrunk to fit\n"), "{shrunk}");
        // A limit inside a multi-byte character cuts before it.
        let tiny = fit(&report, "ééé", "", Measure::Bytes(4));
        assert_eq!(tiny, "éé");
        assert_eq!(JOB_SUMMARY_LIMIT, 1_048_576);
    }
}
