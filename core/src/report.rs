//! The report, schema `modelgate.report/v1`: one JSON document from which every surface
//! renders. Fields are only ever added, never renamed (README documents each one).

use serde::Serialize;

use crate::approvals::Approvals;
use crate::card::{Direction, MetricRule};
use crate::convention::PolicySource;
use crate::policy::CheckKind;

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
    /// Blocking failures not covered by an accepted risk, as `model check`.
    pub fn blocking_failures(&self) -> Vec<String> {
        self.models
            .iter()
            .flat_map(|m| {
                m.checks
                    .iter()
                    .filter(|c| c.blocking && !c.accepted)
                    .map(move |c| format!("{} {}", m.id, c.kind))
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Escalation {
    pub from: String,
    pub to: String,
    /// e.g. `credit-risk drift failed: escalate.drift is high`.
    pub reasons: Vec<String>,
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

#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    pub id: String,
    pub change: Change,
    /// Why the model is touched: `folder changed`, `dataset <path> changed`,
    /// `upstream <id> touched`.
    pub reasons: Vec<String>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Skipped,
    Pass,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Skipped => "skipped",
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
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
    pub findings: Vec<String>,
    /// Drift checks: each changed dataset that reaches the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasets: Option<Vec<crate::data_checks::DatasetDriftReport>>,
    /// Fairness checks: each sensitive feature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<crate::predictions::FeatureFairness>>,
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
        }
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
    pub source: &'static str,
    /// The bootstrap interval of `delta` (predictions only).
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub resamples: Option<u32>,
    pub seed: Option<u64>,
    /// Whether base and head rows were paired (by id or position) in the bootstrap.
    pub paired: Option<bool>,
}

/// The bounds applied to a metric, and where each came from.
#[derive(Debug, Clone, Serialize)]
pub struct AppliedRule {
    #[serde(flatten)]
    pub bounds: MetricRule,
    /// `card` (the card's `governance.metrics`), `policy` (the policy's default relative
    /// rule) or `card+policy` (the card's bounds plus the policy's default for the
    /// direction the card leaves open).
    pub source: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct SectionStatus {
    pub title: String,
    pub present: bool,
    pub non_empty: bool,
}
