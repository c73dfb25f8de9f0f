//! The sticky PR comment, the check-run outputs and the Action's job summary: each a view of
//! the report's sections (`modelgate_core::render`), fitted to GitHub's limits by leaving
//! out whole sections. GitHub counts a comment's characters (65,536) but a check run's
//! summary and text (65,535 each) and a job summary (1 MiB) in bytes.

use modelgate_core::Report;
use modelgate_core::render::{self, Limit, Surface, Unit};

/// Hidden marker that identifies the bot's sticky comment (with the bot's own login).
pub const MARKER: &str = "<!-- modelgate:report -->";
pub const COMMENT_LIMIT: Limit = Limit {
    max: 65_536,
    unit: Unit::Chars,
};
pub const CHECK_TEXT_LIMIT: Limit = Limit {
    max: 65_535,
    unit: Unit::Bytes,
};
/// GitHub's limit for a step's job summary (`$GITHUB_STEP_SUMMARY`).
pub const JOB_SUMMARY_LIMIT: Limit = Limit {
    max: 1024 * 1024,
    unit: Unit::Bytes,
};
/// A check run's title, in characters.
const TITLE_LIMIT: usize = 1000;

pub const EVALUATION_CHECK: &str = "modelgate / evaluation";
pub const APPROVALS_CHECK: &str = "modelgate / approvals";

/// The comment body: the whole report when it fits, else with sections left out.
pub fn comment(report: &Report) -> String {
    let shrunk = "> Details were left out to fit GitHub's 65,536-character limit; the check run `modelgate / evaluation` and `modelgate check --format json` have the full report.\n";
    render::markdown_within(
        &render::sections(report, Surface::Report),
        &format!("{MARKER}\n"),
        COMMENT_LIMIT,
        shrunk,
    )
}

/// The Action's job summary: `notes` (why something was not posted, say) as callouts,
/// then the report as the comment shows it, within GitHub's 1 MiB.
pub fn job_summary(report: &Report, notes: &[String]) -> String {
    let preface = notes_callouts(notes);
    let shrunk = "> Details were left out to fit the job summary's 1 MiB limit; the step's `report` output is the full JSON report.\n";
    render::markdown_within(
        &render::sections(report, Surface::Report),
        &preface,
        JOB_SUMMARY_LIMIT,
        shrunk,
    )
}

/// Notes for the job summary, each as a callout.
pub fn notes_callouts(notes: &[String]) -> String {
    notes
        .iter()
        .map(|note| format!("> [!NOTE]\n> {}\n\n", note.replace('\n', "\n> ")))
        .collect()
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

/// `modelgate / evaluation`: the overview in the summary, each model's evidence in the text.
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
        let failures: Vec<String> = blocking.iter().map(ToString::to_string).collect();
        (
            "failure",
            format!("Blocking failure in {}", failures.join(", ")),
        )
    };
    let shrunk = "> Details were left out to fit GitHub's 65,535-byte limit; `modelgate check --format json` has the full report.\n";
    CheckOutput {
        title: title_within(title),
        summary: render::markdown_within(
            &render::sections(report, Surface::EvaluationSummary),
            "",
            CHECK_TEXT_LIMIT,
            shrunk,
        ),
        text: render::markdown_within(
            &render::sections(report, Surface::EvaluationText),
            "",
            CHECK_TEXT_LIMIT,
            shrunk,
        ),
        conclusion,
    }
}

/// `modelgate / approvals`: the checklist and next steps in the summary, the reviews that
/// did not count in the text.
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
    let shrunk = "> Some reviews were left out to fit GitHub's 65,535-byte limit.\n";
    CheckOutput {
        title: title_within(title),
        summary: render::markdown_within(
            &render::sections(report, Surface::ApprovalsSummary),
            "",
            CHECK_TEXT_LIMIT,
            shrunk,
        ),
        text: render::markdown_within(
            &render::sections(report, Surface::ApprovalsText),
            "",
            CHECK_TEXT_LIMIT,
            shrunk,
        ),
        conclusion,
    }
}

/// What the pull request shows when it could not be evaluated (a broken card or policy, a
/// file that cannot be read): the sticky comment, a failing `modelgate / evaluation` with
/// every problem at its file:line:col, and an approvals check that judged nothing. Unknown is
/// not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unevaluated {
    pub comment: String,
    pub evaluation: CheckOutput,
    pub approvals: CheckOutput,
}

pub fn unevaluated(problems: &[String]) -> Unevaluated {
    not_evaluated(
        format!(
            "Not evaluated: {} problem(s) to fix in the pull request",
            problems.len()
        ),
        "modelgate could not evaluate this pull request, so it passes nothing. Fix these problems and push again (or comment `/modelgate rerun`):\n\n",
        problems,
    )
}

/// What a pull request shows when modelgate itself failed to evaluate it (GitHub or git
/// kept failing) on every attempt.
pub fn failed(error: &str, attempts: i64) -> Unevaluated {
    not_evaluated(
        format!("Not evaluated: modelgate failed {attempts} time(s)"),
        "modelgate failed to evaluate this pull request, so it passes nothing. The error of its last attempt is below; once it is fixed, comment `/modelgate rerun` or push again:\n\n",
        &[error.to_owned()],
    )
}

fn not_evaluated(title: String, explanation: &str, lines: &[String]) -> Unevaluated {
    Unevaluated {
        comment: fenced_within(
            lines,
            &format!("{MARKER}\n### 🔴 modelgate: NOT EVALUATED\n\n{explanation}"),
            COMMENT_LIMIT,
        ),
        evaluation: CheckOutput {
            title: title_within(title),
            summary: fenced_within(lines, explanation, CHECK_TEXT_LIMIT),
            text: String::new(),
            conclusion: "failure",
        },
        approvals: CheckOutput {
            title: "No approvals judged: the pull request was not evaluated".to_owned(),
            summary: "The tier, and so the approvals it requires, come from the evaluation; see `modelgate / evaluation`.".to_owned(),
            text: String::new(),
            conclusion: "action_required",
        },
    }
}

/// `preface`, then the lines in a fence, as many as fit `limit`. Inside a fence because the
/// messages quote the pull request's own files, which must not render as markdown (or
/// mentions) on GitHub.
fn fenced_within(lines: &[String], preface: &str, limit: Limit) -> String {
    const FENCE: &str = "```";
    let mut body = format!("{preface}{FENCE}text\n");
    let closing = format!("{FENCE}\n");
    let mut size = limit.size(&body) + limit.size(&closing);
    for (index, line) in lines.iter().enumerate() {
        let line = format!("{}\n", line.replace(FENCE, "'''"));
        let more = format!("… and {} more\n", lines.len() - index);
        if size + limit.size(&line) + limit.size(&more) > limit.max {
            body.push_str(&more);
            break;
        }
        size += limit.size(&line);
        body.push_str(&line);
    }
    body.push_str(&closing);
    body
}

/// A title within GitHub's limit, cut at a word: a title names checks, so a cut list is
/// marked as such.
fn title_within(title: String) -> String {
    if title.chars().count() <= TITLE_LIMIT {
        return title;
    }
    let kept: String = title.chars().take(TITLE_LIMIT - 1).collect();
    let end = kept.rfind(", ").unwrap_or(kept.len());
    format!("{}…", &kept[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use modelgate_core::convention::PolicySource;
    use modelgate_core::path::RepoPath;
    use modelgate_core::policy::CheckKind;
    use modelgate_core::report::{
        Change, Check, Conclusion, Finding, ModelReport, PolicyInfo, Reason, Status,
    };

    fn report(models: usize, finding_length: usize) -> Report {
        let dataset = RepoPath::parse("data/shared.csv").expect("path");
        let model = |index: usize| {
            let mut check = Check::new(CheckKind::Card, Status::Fail, "problems");
            check.findings = vec![Finding::Diagnostic(modelgate_core::Diagnostic::whole_file(
                "card.md",
                "é".repeat(finding_length),
            ))];
            check.blocking = true;
            ModelReport {
                id: format!("model-{index:05}"),
                change: Change::Impacted,
                reasons: vec![Reason::DatasetChanged(dataset.clone())],
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
        assert!(body.contains("  d0[(\"data/shared.csv\")]\n"), "{body}");
        assert!(body.contains("  d0 --> m0\n"), "{body}");
        assert!(body.contains("#### What happens next"));
        assert!(!body.contains("left out"));
    }

    #[test]
    fn large_reports_shrink_under_githubs_limits_by_whole_sections() {
        // Long findings of two-byte characters: a characters limit and a bytes limit differ.
        for (models, finding) in [(40, 4_000), (3_000, 10)] {
            let report = report(models, finding);
            let body = comment(&report);
            assert!(
                body.chars().count() <= COMMENT_LIMIT.max,
                "{models} models: {} characters",
                body.chars().count()
            );
            assert!(body.contains("Details were left out"), "{models} models");
            assert!(
                body.contains("FAIL: blocking failure"),
                "the verdict survives"
            );
            assert!(
                body.contains("#### What happens next"),
                "next steps survive"
            );
            let output = evaluation_output(&report);
            assert!(output.text.len() <= CHECK_TEXT_LIMIT.max);
            assert!(output.summary.len() <= CHECK_TEXT_LIMIT.max);
            assert_eq!(output.conclusion, "failure");
            // A finding is in whole or not at all.
            let whole = "é".repeat(finding);
            for text in [&body, &output.text] {
                let cut = text.matches('é').count() % finding;
                assert_eq!(cut, 0, "{models} models: a finding was cut");
            }
            assert!(output.text.contains(&whole) || !output.text.contains('é'));
        }
        let body = comment(&report(3_000, 10));
        assert!(body.contains("more model(s) not shown"));
    }

    #[test]
    fn the_job_summary_counts_bytes_and_keeps_its_notes_first() {
        let large = report(400, 4_000);
        let summary = job_summary(&large, &["Posted nothing:\nread-only token.".to_owned()]);
        assert!(summary.len() <= JOB_SUMMARY_LIMIT.max, "{}", summary.len());
        assert!(
            summary.starts_with("> [!NOTE]\n> Posted nothing:\n> read-only token.\n\n### "),
            "{}",
            &summary[..200]
        );
        assert!(summary.ends_with("full JSON report.\n"));
        let small = report(1, 10);
        assert_eq!(
            job_summary(&small, &[]),
            render::markdown(&small),
            "a report that fits is whole"
        );
    }

    #[test]
    fn accept_risk_reasons_are_escaped_in_the_approvals_check() {
        use modelgate_core::report::{AcceptedRisk, Approvals, CheckRef};
        let mut report = report(1, 10);
        report.approvals = Some(Approvals {
            tier: "medium".to_owned(),
            escalated_from: None,
            satisfied: true,
            requirements: Vec::new(),
            approvers: Vec::new(),
            accepted_risks: vec![AcceptedRisk {
                by: "dan".to_owned(),
                reason: "ok | <script>alert(1)</script>\nnext".to_owned(),
                comment_id: 1,
                head_sha: "b".repeat(40),
                checks: vec![CheckRef {
                    model: "model-00000".to_owned(),
                    kind: CheckKind::Card,
                }],
            }],
            ignored: Vec::new(),
        });
        let output = approvals_output(&report);
        assert!(
            output
                .summary
                .contains("risk accepted by dan: ok \\| &lt;script>alert(1)&lt;/script> next"),
            "{}",
            output.summary
        );
    }
}
