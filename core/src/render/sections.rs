//! The section model: a report laid out once, as the parts a reader meets in order. Views
//! (text, Markdown) render sections; none of them reads facts back out of rendered text.

use crate::convention::PolicySource;
use crate::path::RepoPath;
use crate::report::{
    Approvals, CheckRef, Conclusion, ModelReport, Reason, Report, Requirement, RequirementRule,
};

use super::first_few;

/// Which surface the sections are laid out for. Check runs split the report: the summary
/// holds the overview, the text the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// The whole report: the CLI, the PR comment, the job summary.
    Report,
    /// `modelgate / evaluation`'s summary.
    EvaluationSummary,
    /// `modelgate / evaluation`'s text.
    EvaluationText,
    /// `modelgate / approvals`'s summary.
    ApprovalsSummary,
    /// `modelgate / approvals`'s text.
    ApprovalsText,
}

#[derive(Debug, Clone)]
pub enum Section<'r> {
    /// The conclusion and one line saying why.
    Verdict {
        conclusion: Conclusion,
        headline: String,
    },
    /// What was evaluated: the range, the tier and what it blocks on, the policy.
    Scope(&'r Report),
    /// One sentence each: a raised tier, a proposed policy.
    Notices(Vec<String>),
    /// The approvals checklist and accepted risks.
    Approvals(&'r Approvals),
    /// Reviews and commands that did not count, each with the reason.
    NotCounted(&'r [String]),
    /// One row per touched model.
    Models(&'r [ModelReport]),
    /// One model's checks with their evidence. A dataset that reaches several models is
    /// shown under the first; `shown_under` names, for the others, that model.
    Model {
        model: &'r ModelReport,
        shown_under: Vec<(&'r str, &'r str)>,
    },
    /// How the change reached models beyond the folders it edits.
    Lineage(LineageImpact<'r>),
    /// What the reader can do next.
    NextSteps(NextSteps<'r>),
    /// Problems outside the touched models.
    Warnings(&'r [String]),
}

/// Models reached through a dataset or an upstream model, and the edges that reached them.
#[derive(Debug, Clone)]
pub struct LineageImpact<'r> {
    pub reached: Vec<&'r ModelReport>,
    pub edges: Vec<LineageEdge<'r>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineageEdge<'r> {
    Upstream { from: &'r str, to: &'r str },
    Dataset { path: &'r RepoPath, to: &'r str },
}

/// The closing part of a report: what blocks, who can unblock it, and what was evaluated.
#[derive(Debug, Clone)]
pub struct NextSteps<'r> {
    pub conclusion: Conclusion,
    pub tier: Option<&'r str>,
    /// Blocking failures not covered by an accepted risk.
    pub blocking: Vec<CheckRef>,
    /// Teams whose members may accept risk (the tier's required teams); `None` when
    /// approvals were not judged, so the teams are not known here.
    pub risk_acceptors: Option<Vec<&'r str>>,
    /// Requirements not met; `None` when approvals were not judged.
    pub missing: Option<Vec<&'r Requirement>>,
    pub merge_base: &'r str,
    pub head: &'r str,
    pub policy: &'r PolicySource,
}

/// Lays the report out for a surface.
pub fn sections(report: &Report, surface: Surface) -> Vec<Section<'_>> {
    let verdict = || Section::Verdict {
        conclusion: report.conclusion,
        headline: headline(report),
    };
    let notices = || Section::Notices(notices(report));
    let models = || model_sections(&report.models);
    let approvals = report.approvals.as_ref();
    let mut out = Vec::new();
    match surface {
        Surface::Report => {
            out.extend([verdict(), Section::Scope(report), notices()]);
            if let Some(approvals) = approvals {
                out.extend([
                    Section::Approvals(approvals),
                    Section::NotCounted(&approvals.ignored),
                ]);
            }
            if !report.models.is_empty() {
                out.push(Section::Models(&report.models));
            }
            out.extend(models());
            out.extend([
                Section::Lineage(lineage(report)),
                Section::NextSteps(next_steps(report)),
                Section::Warnings(&report.warnings),
            ]);
        }
        Surface::EvaluationSummary => {
            out.extend([verdict(), Section::Scope(report), notices()]);
            if !report.models.is_empty() {
                out.push(Section::Models(&report.models));
            }
            out.push(Section::NextSteps(next_steps(report)));
        }
        Surface::EvaluationText => {
            out.extend(models());
            out.extend([
                Section::Lineage(lineage(report)),
                Section::Warnings(&report.warnings),
            ]);
        }
        Surface::ApprovalsSummary => {
            if let Some(approvals) = approvals {
                out.push(Section::Approvals(approvals));
            }
            out.push(Section::NextSteps(next_steps(report)));
        }
        Surface::ApprovalsText => {
            if let Some(approvals) = approvals {
                out.push(Section::NotCounted(&approvals.ignored));
            }
        }
    }
    out
}

/// One section per model, each changed dataset's drift shown under the first model it
/// reaches.
fn model_sections(models: &[ModelReport]) -> Vec<Section<'_>> {
    let mut first_shown: Vec<(&str, &str)> = Vec::new();
    models
        .iter()
        .map(|model| {
            let mut shown_under = Vec::new();
            let compared = model
                .checks
                .iter()
                .flat_map(|c| c.datasets.iter().flatten())
                .filter(|d| d.drift.is_some());
            for dataset in compared {
                match first_shown.iter().find(|(path, _)| *path == dataset.path) {
                    Some(&(path, under)) => shown_under.push((path, under)),
                    None => first_shown.push((&dataset.path, &model.id)),
                }
            }
            Section::Model { model, shown_under }
        })
        .collect()
}

/// The verdict in one line: `FAIL: blocking failure in credit-risk regression`.
fn headline(report: &Report) -> String {
    let blocking = report.blocking_failures();
    let missing: Vec<String> = report
        .approvals
        .iter()
        .flat_map(|a| a.requirements.iter().filter(|r| !r.met))
        .map(|r| r.rule.to_string())
        .collect();
    match report.conclusion {
        Conclusion::Fail => format!("FAIL: blocking failure in {}", first_few(&blocking)),
        Conclusion::ActionRequired => format!("ACTION REQUIRED: missing {}", missing.join("; ")),
        Conclusion::Pass if report.models.is_empty() => {
            "PASS: no model is touched by this change".to_owned()
        }
        Conclusion::Pass if report.approvals.is_some() => format!(
            "PASS: {} model(s) touched, no blocking failure, approvals complete",
            report.models.len()
        ),
        Conclusion::Pass => format!(
            "PASS: {} model(s) touched, no blocking failure",
            report.models.len()
        ),
    }
}

/// A raised tier and a proposed policy, one sentence each.
fn notices(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(escalation) = &report.escalation {
        let reasons: Vec<String> = escalation.reasons.iter().map(ToString::to_string).collect();
        lines.push(format!(
            "Tier raised from {} to {}: {}",
            escalation.from,
            escalation.to,
            reasons.join("; ")
        ));
    }
    if let Some(proposed) = &report.policy.proposed {
        if proposed.valid {
            let teams = if proposed.teams.is_empty() {
                String::new()
            } else {
                format!(" including {}", proposed.teams.join(", "))
            };
            lines.push(format!(
                "This change edits the policy; it is judged by the base policy. Under the proposed policy it would be tier {} needing {} approval(s){teams}.",
                proposed.tier.as_deref().unwrap_or("—"),
                proposed.approvals.unwrap_or(0),
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

fn lineage(report: &Report) -> LineageImpact<'_> {
    let reached = report
        .models
        .iter()
        .filter(|m| m.reasons.iter().any(|r| *r != Reason::FolderChanged))
        .collect();
    let mut edges = Vec::new();
    for model in &report.models {
        for reason in &model.reasons {
            let edge = match reason {
                Reason::FolderChanged => continue,
                Reason::UpstreamTouched(from) => LineageEdge::Upstream {
                    from,
                    to: &model.id,
                },
                Reason::DatasetChanged(path) | Reason::StageInputChanged { path, .. } => {
                    LineageEdge::Dataset {
                        path,
                        to: &model.id,
                    }
                }
            };
            edges.push(edge);
        }
    }
    LineageImpact { reached, edges }
}

fn next_steps(report: &Report) -> NextSteps<'_> {
    let approvals = report.approvals.as_ref();
    fn team_of(requirement: &Requirement) -> Option<&str> {
        match &requirement.rule {
            RequirementRule::TeamApproval { team } => Some(team.as_str()),
            _ => None,
        }
    }
    NextSteps {
        conclusion: report.conclusion,
        tier: report.tier.as_deref(),
        blocking: report.blocking_failures(),
        risk_acceptors: approvals.map(|a| a.requirements.iter().filter_map(team_of).collect()),
        missing: approvals.map(|a| a.requirements.iter().filter(|r| !r.met).collect()),
        merge_base: &report.merge_base,
        head: &report.head,
        policy: &report.policy.source,
    }
}
