//! Fairness gaps between the groups of each sensitive feature, with fairlearn's
//! definitions, judged against the policy's limits.
//!
//! Binary classification, per group: selection rate (share predicted positive), true and
//! false positive rates. Across the judged groups: demographic parity difference (largest
//! minus smallest selection rate), disparate impact ratio (smallest over largest selection
//! rate, fairlearn's `demographic_parity_ratio`), equal opportunity difference (TPR gap) and
//! equalized odds difference (the larger of the TPR and FPR gaps). Regression: per-group
//! mean absolute error and the largest gap.
//!
//! Groups smaller than `min_group_size` are shown but not judged: their rates are too noisy
//! to block a merge on. One deliberate difference from fairlearn: a group without positive
//! (negative) labels has no TPR (FPR) and is left out of that gap, where fairlearn counts
//! its rate as 0, which would report a gap that says nothing about the model.

use serde::Serialize;

use super::metrics::derived_predictions;
use super::rows::{GroupColumn, PredictionError, Rows};
use crate::policy::FairnessPolicy;
use crate::status::Status;

/// The fairness of one sensitive feature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureFairness {
    pub feature: String,
    pub status: Status,
    /// One sentence saying what was found, or why the feature was skipped.
    pub summary: String,
    pub gaps: Gaps,
    pub groups: Vec<GroupFairness>,
}

/// The gaps across judged groups, each with its limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Gaps {
    Classification {
        demographic_parity_difference: Gap,
        disparate_impact_ratio: Gap,
        equal_opportunity_difference: Gap,
        equalized_odds_difference: Gap,
    },
    Regression {
        mae_gap: Gap,
    },
    /// The feature could not be evaluated (see the summary).
    None {},
}

/// Whether a limit is an upper or a lower bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    Max,
    Min,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    /// `null` when fewer than two judged groups have the rate defined.
    pub value: Option<f64>,
    /// `null` when the policy sets no limit: the gap is shown, not judged.
    pub limit: Option<f64>,
    pub limit_kind: LimitKind,
    /// `skipped` when there is no value or no limit.
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupFairness {
    pub value: String,
    pub size: u64,
    /// False when the group is smaller than `min_group_size`.
    pub judged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection_rate: Option<f64>,
    /// `null` for a group without positive labels (classification).
    #[serde(skip_serializing_if = "is_regression_field")]
    pub tpr: Option<Option<f64>>,
    /// `null` for a group without negative labels (classification).
    #[serde(skip_serializing_if = "is_regression_field")]
    pub fpr: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mae: Option<f64>,
}

fn is_regression_field(rate: &Option<Option<f64>>) -> bool {
    rate.is_none()
}

/// Fairness of each sensitive feature named by the card. A feature without a column in
/// `groups` is skipped with the reason; a group column of the wrong length is an error.
pub fn fairness(
    rows: &Rows,
    sensitive_features: &[String],
    groups: &[GroupColumn],
    policy: &FairnessPolicy,
) -> Result<Vec<FeatureFairness>, PredictionError> {
    rows.validate()?;
    let reference = match rows {
        Rows::Binary(r) | Rows::Multiclass(r) => &r.labels.name,
        Rows::Regression(r) => &r.targets.name,
    };
    sensitive_features
        .iter()
        .map(|feature| {
            let Some(column) = groups.iter().find(|column| &column.name == feature) else {
                return Ok(skipped(
                    feature,
                    format!("column `{feature}` is not in the predictions"),
                ));
            };
            check_group_column(column, reference, rows.len())?;
            Ok(match rows {
                Rows::Multiclass(_) => skipped(
                    feature,
                    "fairness gaps are defined for binary classification and regression".to_owned(),
                ),
                Rows::Binary(_) => classification_fairness(rows, column, policy),
                Rows::Regression(_) => regression_fairness(rows, column, policy),
            })
        })
        .collect()
}

fn skipped(feature: &str, summary: String) -> FeatureFairness {
    FeatureFairness {
        feature: feature.to_owned(),
        status: Status::Skipped,
        summary,
        gaps: Gaps::None {},
        groups: Vec::new(),
    }
}

fn check_group_column(
    column: &GroupColumn,
    reference: &str,
    rows: usize,
) -> Result<(), PredictionError> {
    if column.codes.len() != rows {
        return Err(PredictionError::LengthMismatch {
            column: column.name.clone(),
            found: column.codes.len(),
            reference: reference.to_owned(),
            expected: rows,
        });
    }
    match column
        .codes
        .iter()
        .position(|&code| code as usize >= column.values.len())
    {
        Some(index) => Err(PredictionError::GroupCodeOutOfRange {
            column: column.name.clone(),
            row: index + 1,
            code: column.codes[index],
            groups: column.values.len(),
        }),
        None => Ok(()),
    }
}

/// Per-group counts of a binary classifier.
#[derive(Debug, Clone, Copy, Default)]
struct GroupCounts {
    size: u64,
    selected: u64,
    positives: u64,
    true_positives: u64,
    false_positives: u64,
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn classification_fairness(
    rows: &Rows,
    column: &GroupColumn,
    policy: &FairnessPolicy,
) -> FeatureFairness {
    let Rows::Binary(classification) = rows else {
        return skipped(&column.name, "not a binary classification".to_owned());
    };
    let predictions = derived_predictions(classification);
    let mut counts = vec![GroupCounts::default(); column.values.len()];
    for ((&group, &label), &prediction) in column
        .codes
        .iter()
        .zip(&classification.labels.values)
        .zip(predictions.iter())
    {
        let group = &mut counts[group as usize];
        let (positive_label, selected) = (label == 1, prediction == 1);
        group.size += 1;
        group.selected += u64::from(selected);
        group.positives += u64::from(positive_label);
        group.true_positives += u64::from(positive_label && selected);
        group.false_positives += u64::from(!positive_label && selected);
    }
    let groups: Vec<GroupFairness> = column
        .values
        .iter()
        .zip(&counts)
        .filter(|(_, counts)| counts.size > 0)
        .map(|(value, c)| GroupFairness {
            value: value.clone(),
            size: c.size,
            judged: c.size >= policy.min_group_size,
            selection_rate: rate(c.selected, c.size),
            tpr: Some(rate(c.true_positives, c.positives)),
            fpr: Some(rate(c.false_positives, c.size - c.positives)),
            mae: None,
        })
        .collect();
    let judged: Vec<&GroupFairness> = groups.iter().filter(|g| g.judged).collect();
    let min_size = policy.min_group_size;
    if judged.len() < 2 {
        return FeatureFairness {
            feature: column.name.clone(),
            status: Status::Skipped,
            summary: format!(
                "{} of {} group(s) have at least {min_size} rows; gaps need two",
                judged.len(),
                groups.len()
            ),
            gaps: Gaps::None {},
            groups,
        };
    }
    let selection = spread(judged.iter().filter_map(|g| g.selection_rate));
    let tpr = spread(judged.iter().filter_map(|g| g.tpr.flatten()));
    let fpr = spread(judged.iter().filter_map(|g| g.fpr.flatten()));

    let parity = judge(
        selection.map(|s| s.max - s.min),
        Some(policy.max_parity_gap),
        LimitKind::Max,
        None,
    );
    let impact_value = selection.and_then(|s| (s.max > 0.0).then(|| s.min / s.max));
    let impact_note = match selection {
        Some(s) if s.max == 0.0 => Some("no judged group is ever selected".to_owned()),
        _ => None,
    };
    let impact = judge(
        impact_value,
        Some(policy.min_disparate_impact),
        LimitKind::Min,
        impact_note,
    );
    let opportunity_note = tpr
        .is_none()
        .then(|| "fewer than two judged groups have positive labels".to_owned());
    let opportunity = judge(
        tpr.map(|s| s.max - s.min),
        Some(policy.max_equal_opportunity_gap),
        LimitKind::Max,
        opportunity_note,
    );
    let odds_value = match (tpr, fpr) {
        (Some(t), Some(f)) => Some((t.max - t.min).max(f.max - f.min)),
        (Some(only), None) | (None, Some(only)) => Some(only.max - only.min),
        (None, None) => None,
    };
    let odds = judge(
        odds_value,
        None,
        LimitKind::Max,
        Some("the policy sets no limit on equalized odds; shown, not judged".to_owned()),
    );

    let named = [
        ("demographic parity difference", &parity),
        ("disparate impact ratio", &impact),
        ("equal opportunity difference", &opportunity),
    ];
    let (status, summary) = conclude(&named, judged.len(), groups.len());
    FeatureFairness {
        feature: column.name.clone(),
        status,
        summary,
        gaps: Gaps::Classification {
            demographic_parity_difference: parity,
            disparate_impact_ratio: impact,
            equal_opportunity_difference: opportunity,
            equalized_odds_difference: odds,
        },
        groups,
    }
}

fn regression_fairness(
    rows: &Rows,
    column: &GroupColumn,
    policy: &FairnessPolicy,
) -> FeatureFairness {
    let Rows::Regression(regression) = rows else {
        return skipped(&column.name, "not a regression".to_owned());
    };
    let mut sizes = vec![0u64; column.values.len()];
    let mut errors = vec![0.0f64; column.values.len()];
    for ((&group, &target), &prediction) in column
        .codes
        .iter()
        .zip(&regression.targets.values)
        .zip(&regression.predictions.values)
    {
        sizes[group as usize] += 1;
        errors[group as usize] += (target - prediction).abs();
    }
    let groups: Vec<GroupFairness> = column
        .values
        .iter()
        .zip(sizes.iter().zip(&errors))
        .filter(|(_, (size, _))| **size > 0)
        .map(|(value, (&size, &error))| GroupFairness {
            value: value.clone(),
            size,
            judged: size >= policy.min_group_size,
            selection_rate: None,
            tpr: None,
            fpr: None,
            mae: Some(error / size as f64),
        })
        .collect();
    let judged: Vec<&GroupFairness> = groups.iter().filter(|g| g.judged).collect();
    if judged.len() < 2 {
        return FeatureFairness {
            feature: column.name.clone(),
            status: Status::Skipped,
            summary: format!(
                "{} of {} group(s) have at least {} rows; gaps need two",
                judged.len(),
                groups.len(),
                policy.min_group_size
            ),
            gaps: Gaps::None {},
            groups,
        };
    }
    let mae = spread(judged.iter().filter_map(|g| g.mae));
    let note = policy
        .max_mae_gap
        .is_none()
        .then(|| "the policy sets no max_mae_gap; shown, not judged".to_owned());
    let gap = judge(
        mae.map(|s| s.max - s.min),
        policy.max_mae_gap,
        LimitKind::Max,
        note,
    );
    let (status, summary) = conclude(&[("MAE gap", &gap)], judged.len(), groups.len());
    FeatureFairness {
        feature: column.name.clone(),
        status,
        summary,
        gaps: Gaps::Regression { mae_gap: gap },
        groups,
    }
}

#[derive(Debug, Clone, Copy)]
struct Spread {
    min: f64,
    max: f64,
}

/// Smallest and largest of at least two values.
fn spread(values: impl Iterator<Item = f64>) -> Option<Spread> {
    let (mut count, mut min, mut max) = (0usize, f64::INFINITY, f64::NEG_INFINITY);
    for value in values {
        count += 1;
        min = min.min(value);
        max = max.max(value);
    }
    (count >= 2).then_some(Spread { min, max })
}

fn judge(value: Option<f64>, limit: Option<f64>, kind: LimitKind, note: Option<String>) -> Gap {
    let status = match (value, limit) {
        (Some(value), Some(limit)) => {
            let excess = match kind {
                LimitKind::Max => value - limit,
                LimitKind::Min => limit - value,
            };
            // Rates are ratios of counts: 0.1 computed as 0.10000000000000003 is not a breach.
            if excess > 1e-9 * limit.abs().max(1.0) {
                Status::Fail
            } else {
                Status::Pass
            }
        }
        _ => Status::Skipped,
    };
    Gap {
        value,
        limit,
        limit_kind: kind,
        status,
        note: if value.is_some() && limit.is_some() {
            None
        } else {
            note
        },
    }
}

fn conclude(gaps: &[(&str, &Gap)], judged: usize, groups: usize) -> (Status, String) {
    let breaches: Vec<String> = gaps
        .iter()
        .filter(|(_, gap)| gap.status == Status::Fail)
        .map(|(name, gap)| {
            let (value, limit) = (gap.value.unwrap_or(f64::NAN), gap.limit.unwrap_or(f64::NAN));
            match gap.limit_kind {
                LimitKind::Max => format!("{name} {value:.4} is above {limit}"),
                LimitKind::Min => format!("{name} {value:.4} is below {limit}"),
            }
        })
        .collect();
    let judged_any = gaps.iter().any(|(_, gap)| gap.status != Status::Skipped);
    let counted = format!("{judged} of {groups} group(s) judged");
    if !breaches.is_empty() {
        (Status::Fail, format!("{}; {counted}", breaches.join("; ")))
    } else if judged_any {
        (Status::Pass, format!("gaps within the limits; {counted}"))
    } else {
        (
            Status::Skipped,
            format!("no gap could be judged; {counted}"),
        )
    }
}
