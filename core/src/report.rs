//! The report, schema `modelgate.report/v1`: one JSON document from which every surface
//! renders. Fields are only ever added, never renamed (README documents each one).

use serde::Serialize;

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
    pub policy: PolicyInfo,
    pub changed_files: usize,
    pub models: Vec<ModelReport>,
    /// Problems outside the touched models that did not stop the evaluation.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    Pass,
    Fail,
}

impl Conclusion {
    pub fn as_str(self) -> &'static str {
        match self {
            Conclusion::Pass => "pass",
            Conclusion::Fail => "fail",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyInfo {
    /// Where the policy was read: the base branch's tip, or the built-in defaults.
    pub source: PolicySource,
    /// The checks whose failure fails the pull request, from the pull request's tier.
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
    /// Regression checks: one entry per metric at base or head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Vec<MetricDelta>>,
    /// Card checks: the tier's required sections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sections: Option<Vec<SectionStatus>>,
    /// Each finding, as `file:line:column: message` where it has a place.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
}

impl Check {
    pub fn new(kind: CheckKind, status: Status, summary: impl Into<String>) -> Check {
        Check {
            kind,
            status,
            summary: summary.into(),
            blocking: false,
            metrics: None,
            sections: None,
            findings: Vec::new(),
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
