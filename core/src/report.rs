//! The report, schema `modelgate.report/v1`: one JSON document from which every surface
//! renders. Fields are only ever added, never renamed (README documents each one).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::card::{Direction, MetricRule};
use crate::content::Unavailable;
use crate::convention::PolicySource;
use crate::diagnostic::Diagnostic;
use crate::drift::{DatasetDrift, Sampling, SchemaChange};
use crate::path::RepoPath;
use crate::policy::CheckKind;
pub use crate::status::Status;

pub const REPORT_SCHEMA: &str = "modelgate.report/v1";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    /// Resolved commit of the base revision (the base branch's tip).
    pub base: String,
    /// Resolved commit of the head revision.
    pub head: String,
    /// The diff is `merge_base..head`, as GitHub shows a pull request.
    pub merge_base: String,
    /// The revisions as given.
    pub base_ref: String,
    pub head_ref: String,
    pub conclusion: Conclusion,
    /// The pull request's tier: the strictest of every touched model's tier at base and
    /// head; `null` when no model is touched.
    pub tier: Option<String>,
    /// Set when a failing check raised the tier (policy `escalate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Escalation>,
    pub policy: PolicyInfo,
    pub changed_files: usize,
    pub models: Vec<ModelReport>,
    /// Problems outside the touched models that did not stop the evaluation.
    pub warnings: Vec<String>,
    /// The approvals verdict; `null` without pull-request facts (a local `check`).
    pub approvals: Option<Approvals>,
}

impl Report {
    /// Blocking failures not covered by an accepted risk.
    pub fn blocking_failures(&self) -> Vec<CheckRef> {
        self.models
            .iter()
            .flat_map(|m| {
                m.checks
                    .iter()
                    .filter(|c| c.blocking && !c.accepted)
                    .map(move |c| CheckRef {
                        model: m.id.clone(),
                        kind: c.kind,
                    })
            })
            .collect()
    }
}

/// One check of one model, serialized as `model check` (e.g. `credit-risk drift`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRef {
    pub model: String,
    pub kind: CheckKind,
}

impl fmt::Display for CheckRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.model, self.kind)
    }
}

impl Serialize for CheckRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Escalation {
    pub from: String,
    pub to: String,
    /// e.g. `credit-risk drift failed: escalate.drift is high`.
    pub reasons: Vec<EscalationReason>,
}

/// A failing check that raised the tier through the policy's `escalate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationReason {
    pub model: String,
    pub check: CheckKind,
    /// The tier `escalate.<check>` names.
    pub to: String,
}

impl fmt::Display for EscalationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let EscalationReason { model, check, to } = self;
        write!(f, "{model} {check} failed: escalate.{check} is {to}")
    }
}

impl Serialize for EscalationReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    Pass,
    Fail,
    /// The checks pass (or their failures were accepted) but approvals are missing.
    ActionRequired,
}

impl Conclusion {
    pub fn as_str(self) -> &'static str {
        match self {
            Conclusion::Pass => "pass",
            Conclusion::Fail => "fail",
            Conclusion::ActionRequired => "action_required",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyInfo {
    /// Where the policy was read: the base branch's tip, or the built-in defaults.
    pub source: PolicySource,
    /// The checks whose failure fails the pull request, from the pull request's tier.
    pub block_on: Vec<CheckKind>,
    /// When the pull request edits the policy: what the proposed policy would require.
    /// It takes effect only after merge; this change is judged by the base policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposed: Option<ProposedPolicy>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProposedPolicy {
    pub valid: bool,
    /// Problems of an invalid proposed policy, as `file:line:column: message`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// The tier this change would have under the proposed policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approvals: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub block_on: Vec<CheckKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Added,
    Modified,
    Removed,
    /// Its folder is unchanged, but a dataset it uses or an upstream model changed.
    Impacted,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Modified => "modified",
            Change::Removed => "removed",
            Change::Impacted => "impacted",
        }
    }
}

/// Why a model is touched (DESIGN section 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    FolderChanged,
    /// A dataset its card names changed.
    DatasetChanged(RepoPath),
    /// An upstream model (`base_model`, transitively) is touched.
    UpstreamTouched(String),
    /// A dependency of the DVC stage (in `dvc.lock`) that writes the model's files changed.
    StageInputChanged {
        path: RepoPath,
        stage: String,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::FolderChanged => f.write_str("folder changed"),
            Reason::DatasetChanged(path) => write!(f, "dataset {path} changed"),
            Reason::UpstreamTouched(model) => write!(f, "upstream {model} touched"),
            Reason::StageInputChanged { path, stage } => {
                write!(
                    f,
                    "dataset {path} changed (a dependency of DVC stage {stage})"
                )
            }
        }
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    pub id: String,
    pub change: Change,
    /// Why the model is touched: `folder changed`, `dataset <path> changed`,
    /// `dataset <path> changed (a dependency of DVC stage <name>)`, `upstream <id> touched`.
    pub reasons: Vec<Reason>,
    /// Tier before the change (the stricter of the merge-base and the base tip); `null`
    /// for an added model.
    pub tier_base: Option<String>,
    /// Tier after the change; `null` for a removed model.
    pub tier_head: Option<String>,
    pub version_base: Option<String>,
    pub version_head: Option<String>,
    pub owners: Vec<String>,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub kind: CheckKind,
    pub status: Status,
    /// One sentence saying what was found.
    pub summary: String,
    /// True when this check failed and the pull request's tier blocks on its kind.
    pub blocking: bool,
    /// True when a blocking failure was accepted with `/modelgate accept-risk`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub accepted: bool,
    /// Regression checks: one entry per metric at base or head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Vec<MetricDelta>>,
    /// Card checks: the tier's required sections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sections: Option<Vec<SectionStatus>>,
    /// Each finding, as `file:line:column: message` where it has a place.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Drift checks: each changed dataset that reaches the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasets: Option<Vec<DatasetDriftReport>>,
    /// Fairness checks: each sensitive feature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<crate::predictions::FeatureFairness>>,
    /// The status this check takes when the pull request's tier does not block on its kind:
    /// set when it failed only because content could not be read, which fails where the
    /// tier blocks and warns elsewhere (unknown is never a pass).
    #[serde(skip)]
    pub status_when_not_blocking: Option<Status>,
    /// Blocks whatever the tier's `block_on` says: a model that cannot be read.
    #[serde(skip)]
    pub blocks_on_every_tier: bool,
}

impl Check {
    pub fn new(kind: CheckKind, status: Status, summary: impl Into<String>) -> Check {
        Check {
            kind,
            status,
            summary: summary.into(),
            blocking: false,
            accepted: false,
            metrics: None,
            sections: None,
            findings: Vec::new(),
            datasets: None,
            features: None,
            status_when_not_blocking: None,
            blocks_on_every_tier: false,
        }
    }

    /// A check that could not read what it judges: failing, or warning where the tier does
    /// not block on its kind (settled in [`crate::evaluate`]).
    pub fn not_evaluated(kind: CheckKind, unavailable: Unavailable) -> Check {
        let mut check = Check::new(
            kind,
            Status::Fail,
            format!("not evaluated: {} could not be read", unavailable.path),
        );
        check.status_when_not_blocking = Some(Status::Warn);
        check.findings.push(Finding::Unavailable(unavailable));
        check
    }
}

/// Something a check found, serialized as its sentence (`findings[]`).
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// A problem at a place in a file (a card, a metrics file).
    Diagnostic(Diagnostic),
    /// Columns of a changed dataset drifted; its drift table shows them.
    ColumnsDrifted {
        dataset: String,
        drifted: Vec<String>,
        tested: usize,
    },
    /// A side was longer than `drift.max_rows`, so a sample of it was compared.
    Sampled { dataset: String, sampling: Sampling },
    SchemaChanged {
        dataset: String,
        change: SchemaChange,
    },
    /// A dataset added or removed: there are not two versions to compare.
    NotCompared {
        dataset: String,
        change: DatasetChange,
    },
    /// A sensitive feature that did not pass; its fairness table shows it.
    Fairness { feature: String, summary: String },
    /// A file the check needs is in Git LFS or DVC and its content could not be read.
    Unavailable(Unavailable),
    /// metrics.json disagrees with the metrics recomputed from the predictions.
    MetricsMismatch {
        metric: String,
        written: f64,
        computed: f64,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Diagnostic(diagnostic) => diagnostic.fmt(f),
            Finding::ColumnsDrifted {
                dataset,
                drifted,
                tested,
            } => write!(
                f,
                "{dataset}: {} of {tested} tested column(s) drifted: {}",
                drifted.len(),
                drifted.join(", ")
            ),
            // Reference is the base version, current the head.
            Finding::Sampled { dataset, sampling } => write!(f, "{dataset}: sampled {sampling}"),
            Finding::SchemaChanged { dataset, change } => write!(f, "{dataset}: {change}"),
            Finding::NotCompared { dataset, change } => {
                write!(f, "{dataset}: dataset {change}, nothing to compare")
            }
            Finding::Fairness { feature, summary } => write!(f, "{feature}: {summary}"),
            Finding::Unavailable(unavailable) => unavailable.fmt(f),
            Finding::MetricsMismatch {
                metric,
                written,
                computed,
            } => write!(
                f,
                "metrics.json gives {metric} {written} at head, but the predictions give {computed:.6}"
            ),
        }
    }
}

impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Drift of one changed dataset, `checks[].datasets[]` of a drift check.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetDriftReport {
    pub path: String,
    /// Only modified datasets are compared.
    pub change: DatasetChange,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DatasetDrift>,
    /// The versions (base, head or both) that could not be compared: their content could
    /// not be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<Unavailable>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetChange {
    Modified,
    Added,
    Removed,
}

impl fmt::Display for DatasetChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DatasetChange::Modified => "modified",
            DatasetChange::Added => "added",
            DatasetChange::Removed => "removed",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricDelta {
    pub name: String,
    pub base: Option<f64>,
    pub head: Option<f64>,
    /// head − base.
    pub delta: Option<f64>,
    /// 100 × delta / |base|; `null` when base is 0 or either side is missing.
    pub delta_pct: Option<f64>,
    pub direction: Direction,
    pub rule: AppliedRule,
    pub status: Status,
    /// What the status rests on, e.g. `dropped 0.0200, more than max_drop 0.01`.
    pub note: String,
    /// `predictions` when recomputed from evaluation rows at both revisions, else
    /// `metrics.json`.
    pub source: MetricSource,
    /// The bootstrap interval of `delta` (predictions only).
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub resamples: Option<u32>,
    pub seed: Option<u64>,
    /// Whether base and head rows were paired (by id or position) in the bootstrap.
    pub paired: Option<bool>,
    /// The bounds the change broke (`note` says the same in a sentence).
    #[serde(skip)]
    pub breaches: Vec<Breach>,
}

/// A bound of a metric's rule that the change broke.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Breach {
    pub bound: Bound,
    pub limit: f64,
    /// The head value (`min`, `max`), the drop or rise (`max_drop`, `max_rise`) or the
    /// relative change in percent (`*_pct`), always positive for drops and rises.
    pub actual: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Min,
    Max,
    MaxDrop,
    MaxRise,
    MaxDropPct,
    MaxRisePct,
}

impl fmt::Display for Breach {
    /// Short, for a table cell: `dropped 0.0680 > max_drop 0.01`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Breach {
            bound,
            limit,
            actual,
        } = *self;
        match bound {
            Bound::Min => write!(f, "{actual:.4} < min {limit}"),
            Bound::Max => write!(f, "{actual:.4} > max {limit}"),
            Bound::MaxDrop => write!(f, "dropped {actual:.4} > max_drop {limit}"),
            Bound::MaxRise => write!(f, "rose {actual:.4} > max_rise {limit}"),
            Bound::MaxDropPct => write!(f, "dropped {actual:.2}% > max_drop_pct {limit}"),
            Bound::MaxRisePct => write!(f, "rose {actual:.2}% > max_rise_pct {limit}"),
        }
    }
}

/// The bounds applied to a metric, and where each came from.
#[derive(Debug, Clone, Serialize)]
pub struct AppliedRule {
    #[serde(flatten)]
    pub bounds: MetricRule,
    pub source: RuleSource,
}

/// Where a metric's values came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MetricSource {
    /// Recomputed from evaluation rows at both revisions.
    #[serde(rename = "predictions")]
    Predictions,
    #[serde(rename = "metrics.json")]
    MetricsJson,
    /// The card's `model-index` results, for a model without metrics.json.
    #[serde(rename = "model-index")]
    ModelIndex,
}

impl MetricSource {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricSource::Predictions => "predictions",
            MetricSource::MetricsJson => "metrics.json",
            MetricSource::ModelIndex => "model-index",
        }
    }
}

impl RuleSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleSource::Card => "card",
            RuleSource::Policy => "policy",
            RuleSource::CardAndPolicy => "card+policy",
        }
    }
}

/// Where a metric's bounds came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RuleSource {
    /// The card's `governance.metrics`.
    #[serde(rename = "card")]
    Card,
    /// The policy's default relative rule.
    #[serde(rename = "policy")]
    Policy,
    /// The card's bounds plus the policy's default for the direction the card leaves open.
    #[serde(rename = "card+policy")]
    CardAndPolicy,
}

#[derive(Debug, Clone, Serialize)]
pub struct SectionStatus {
    pub title: String,
    pub present: bool,
    pub non_empty: bool,
}

/// The approvals verdict, `approvals` in the report.
#[derive(Debug, Clone, Serialize)]
pub struct Approvals {
    /// The tier whose rules apply (after escalation).
    pub tier: String,
    /// The tier before a failing check raised it; `null` when not escalated.
    pub escalated_from: Option<String>,
    pub satisfied: bool,
    pub requirements: Vec<Requirement>,
    /// The approving reviews that count, with their review ids (for the audit ledger).
    pub approvers: Vec<Approver>,
    pub accepted_risks: Vec<AcceptedRisk>,
    /// Reviews and commands that did not count, each with the reason.
    pub ignored: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Requirement {
    /// What is required, in words (`description` in the report).
    #[serde(rename = "description")]
    pub rule: RequirementRule,
    pub met: bool,
    /// Who met it; for the change-request requirement, who blocks it.
    pub by: Vec<String>,
    /// Who could still meet it, where the facts say (a required team's members other than
    /// the author); empty when any reviewer with write access can.
    #[serde(skip)]
    pub eligible: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approver {
    pub login: String,
    pub review_id: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AcceptedRisk {
    pub by: String,
    pub reason: String,
    pub comment_id: u64,
    pub head_sha: String,
    /// The blocking failures accepted, as `model check`.
    pub checks: Vec<CheckRef>,
}

/// One requirement of a tier's approval rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequirementRule {
    /// `approvals: N` approving reviews, from reviewers who are neither commit authors nor
    /// owners when `independent`, of the head commit when `invalidate_on_push`.
    Approvals {
        count: u32,
        independent: bool,
        of_head: bool,
    },
    /// At least one approval from a member of the team (`org/team`).
    TeamApproval { team: String },
    /// No reviewer's latest review requests changes.
    NoChangeRequests,
}

impl fmt::Display for RequirementRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequirementRule::Approvals {
                count,
                independent,
                of_head,
            } => {
                write!(f, "{count} approving review(s)")?;
                if *independent {
                    f.write_str(" from independent reviewers")?;
                }
                if *of_head {
                    f.write_str(" of the head commit")?;
                }
                Ok(())
            }
            RequirementRule::TeamApproval { team } => {
                write!(f, "an approval from a member of {team}")
            }
            RequirementRule::NoChangeRequests => f.write_str("no outstanding change requests"),
        }
    }
}

impl Serialize for RequirementRule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
