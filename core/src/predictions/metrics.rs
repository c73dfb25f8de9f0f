//! Metrics from evaluation rows, with scikit-learn's definitions and edge cases.
//!
//! Every metric is computed from per-row multiplicities (how many times each row counts):
//! all ones for the metric itself, a bootstrap draw for a resample. Sums over integer
//! multiplicities are exact, so a resample is one pass over the rows and nothing is copied.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

use super::rows::{ClassificationRows, PredictionError, RegressionRows, Rows, Scores};
use crate::card::{Direction, Task};

/// A metric computed from evaluation rows; `name()` is the key in reports and metrics.json.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Share of rows predicted right.
    Accuracy,
    /// Mean recall over the classes present in the labels (scikit-learn's
    /// `balanced_accuracy_score`, not adjusted).
    BalancedAccuracy,
    /// Binary, of the positive class: tp / (tp + fp); 0 when nothing is predicted positive
    /// (scikit-learn's `zero_division="warn"`, which returns 0).
    Precision,
    /// Binary, of the positive class: tp / (tp + fn); 0 when no label is positive.
    Recall,
    /// Binary, of the positive class: 2tp / (2tp + fp + fn); 0 when that is 0 / 0.
    F1,
    /// Unweighted mean over the classes present in the labels or the predictions (as
    /// scikit-learn with `labels=None`); a per-class 0 / 0 counts as 0.
    PrecisionMacro,
    RecallMacro,
    F1Macro,
    /// Mean over classes weighted by each class's number of true rows.
    PrecisionWeighted,
    RecallWeighted,
    F1Weighted,
    /// Binary: area under the ROC curve of the positive class's score, ties counting half
    /// (equal to scikit-learn's trapezoidal `roc_auc_score`). Multiclass: one-vs-rest,
    /// macro average over classes, which needs every class among the labels and score rows
    /// that sum to 1. Undefined when only one class is present.
    RocAuc,
    /// Mean negative log-likelihood of the true class, probabilities clipped to
    /// [ε, 1 − ε] with ε the f64 machine epsilon, with the known classes as scikit-learn's
    /// `labels=`. Undefined for scores outside [0, 1].
    LogLoss,
    /// Binary: mean of (y − p)² with y ∈ {0, 1} and p the positive class's probability.
    Brier,
    Mse,
    /// √mse, as scikit-learn's `root_mean_squared_error`.
    Rmse,
    Mae,
    /// 1 − SSE / SST; 1 when both are 0 and 0 when only SST is 0 (scikit-learn's
    /// `force_finite=True`); undefined for fewer than two rows.
    R2,
    /// Mean of |y − ŷ| / max(|y|, ε), ε the f64 machine epsilon; a fraction, not a percent.
    Mape,
}

const ALL_METRICS: [Metric; 19] = [
    Metric::Accuracy,
    Metric::BalancedAccuracy,
    Metric::Precision,
    Metric::Recall,
    Metric::F1,
    Metric::PrecisionMacro,
    Metric::RecallMacro,
    Metric::F1Macro,
    Metric::PrecisionWeighted,
    Metric::RecallWeighted,
    Metric::F1Weighted,
    Metric::RocAuc,
    Metric::LogLoss,
    Metric::Brier,
    Metric::Mse,
    Metric::Rmse,
    Metric::Mae,
    Metric::R2,
    Metric::Mape,
];

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::BalancedAccuracy => "balanced_accuracy",
            Metric::Precision => "precision",
            Metric::Recall => "recall",
            Metric::F1 => "f1",
            Metric::PrecisionMacro => "precision_macro",
            Metric::RecallMacro => "recall_macro",
            Metric::F1Macro => "f1_macro",
            Metric::PrecisionWeighted => "precision_weighted",
            Metric::RecallWeighted => "recall_weighted",
            Metric::F1Weighted => "f1_weighted",
            Metric::RocAuc => "roc_auc",
            Metric::LogLoss => "log_loss",
            Metric::Brier => "brier",
            Metric::Mse => "mse",
            Metric::Rmse => "rmse",
            Metric::Mae => "mae",
            Metric::R2 => "r2",
            Metric::Mape => "mape",
        }
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        ALL_METRICS.into_iter().find(|metric| metric.name() == name)
    }

    pub fn direction(self) -> Direction {
        match self {
            Metric::LogLoss
            | Metric::Brier
            | Metric::Mse
            | Metric::Rmse
            | Metric::Mae
            | Metric::Mape => Direction::Lower,
            _ => Direction::Higher,
        }
    }

    /// The metrics reported for a task.
    pub fn defaults_for(task: Task) -> &'static [Metric] {
        use Metric::*;
        match task {
            Task::BinaryClassification => &[
                Accuracy,
                BalancedAccuracy,
                Precision,
                Recall,
                F1,
                RocAuc,
                LogLoss,
                Brier,
            ],
            Task::MulticlassClassification => &[
                Accuracy,
                BalancedAccuracy,
                PrecisionMacro,
                RecallMacro,
                F1Macro,
                PrecisionWeighted,
                RecallWeighted,
                F1Weighted,
                RocAuc,
                LogLoss,
            ],
            Task::Regression => &[Mse, Rmse, Mae, R2, Mape],
        }
    }

    fn needs_confusion(self) -> bool {
        matches!(
            self,
            Metric::Accuracy
                | Metric::BalancedAccuracy
                | Metric::Precision
                | Metric::Recall
                | Metric::F1
                | Metric::PrecisionMacro
                | Metric::RecallMacro
                | Metric::F1Macro
                | Metric::PrecisionWeighted
                | Metric::RecallWeighted
                | Metric::F1Weighted
        )
    }

    fn is_regression(self) -> bool {
        matches!(
            self,
            Metric::Mse | Metric::Rmse | Metric::Mae | Metric::R2 | Metric::Mape
        )
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One metric's value, or why it has none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricValue {
    pub metric: Metric,
    pub value: Option<f64>,
    /// Why there is no value, e.g. `only one class present in column `label``.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undefined: Option<String>,
}

/// The task's default metrics (`Metric::defaults_for`) of validated rows.
pub fn compute_metrics(rows: &Rows) -> Result<Vec<MetricValue>, PredictionError> {
    compute_selected(rows, Metric::defaults_for(rows.task()))
}

/// The given metrics of validated rows; a metric that does not apply to the rows (a
/// regression metric of a classifier, ROC AUC without scores) is undefined, with the reason.
pub fn compute_selected(
    rows: &Rows,
    metrics: &[Metric],
) -> Result<Vec<MetricValue>, PredictionError> {
    let evaluator = Evaluator::new(rows, metrics)?;
    let values = evaluator.evaluate(&EachOnce);
    Ok(metrics
        .iter()
        .zip(values)
        .map(|(&metric, value)| match value {
            Ok(value) => MetricValue {
                metric,
                value: Some(value),
                undefined: None,
            },
            Err(reason) => MetricValue {
                metric,
                value: None,
                undefined: Some(reason),
            },
        })
        .collect())
}

/// How many times each row counts in one evaluation.
pub(crate) trait RowWeights: Sync {
    /// The weight of one row, for passes in another order than the rows'.
    fn weight(&self, row: usize) -> u64;
    /// The weights of rows 0..rows in order, for sequential passes (no bounds checks, so
    /// the compiler can vectorize them).
    fn in_order(&self, rows: usize) -> impl Iterator<Item = u64> + '_;
}

/// Every row once: the metric itself.
pub(crate) struct EachOnce;

impl RowWeights for EachOnce {
    #[inline(always)]
    fn weight(&self, _row: usize) -> u64 {
        1
    }

    fn in_order(&self, rows: usize) -> impl Iterator<Item = u64> + '_ {
        std::iter::repeat_n(1, rows)
    }
}

/// A bootstrap draw: row `i` counts `counts[i]` times. Counts are bytes when every one
/// fits (always, in practice: a row drawn 256 times out of n is beyond astronomically
/// unlikely), which keeps a million rows' counts in cache; `u32` otherwise.
pub(crate) struct Multiplicities<'a, T>(pub &'a [T]);

impl<T: Copy + Into<u64> + Sync> RowWeights for Multiplicities<'_, T> {
    #[inline(always)]
    fn weight(&self, row: usize) -> u64 {
        self.0[row].into()
    }

    fn in_order(&self, rows: usize) -> impl Iterator<Item = u64> + '_ {
        self.0[..rows].iter().map(|&count| count.into())
    }
}

/// Scores sorted once, ascending, so that each weighted ROC AUC is one pass.
struct RankedScores {
    order: Vec<u32>,
    /// Bit 0: the row is of the positive class; bit 1: last row of a run of equal scores.
    flags: Vec<u8>,
}

const POSITIVE: u8 = 1;
const LAST_OF_TIES: u8 = 2;

impl RankedScores {
    fn new(scores: &[f64], is_positive: impl Fn(usize) -> bool) -> RankedScores {
        // Row counts are bounded by u32::MAX in validation.
        let mut order: Vec<u32> = (0..scores.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| scores[a as usize].total_cmp(&scores[b as usize]));
        let flags = order
            .iter()
            .enumerate()
            .map(|(k, &row)| {
                let row = row as usize;
                let positive = if is_positive(row) { POSITIVE } else { 0 };
                // −0.0 and 0.0 sort apart under total_cmp but are one threshold.
                let last = match order.get(k + 1) {
                    Some(&next) if scores[next as usize] == scores[row] => 0,
                    _ => LAST_OF_TIES,
                };
                positive | last
            })
            .collect();
        RankedScores { order, flags }
    }

    /// Weighted Mann–Whitney statistic: the chance that a positive outranks a negative,
    /// ties counting half. `None` when one of the two classes has no weight.
    fn auc<W: RowWeights>(&self, weights: &W) -> Option<f64> {
        let (mut positives, mut negatives_below) = (0u64, 0u64);
        let (mut tied, mut tied_positives) = (0u64, 0u64);
        // Twice the count of (positive, negative) pairs won, as an exact integer.
        let mut twice_won: u128 = 0;
        for (&row, &flags) in self.order.iter().zip(&self.flags) {
            let weight = weights.weight(row as usize);
            // Without a branch on the class: labels in score order are unpredictable.
            tied += weight;
            tied_positives += weight * u64::from(flags & POSITIVE);
            if flags & LAST_OF_TIES != 0 {
                let tied_negatives = tied - tied_positives;
                twice_won += u128::from(tied_positives)
                    * (2 * u128::from(negatives_below) + u128::from(tied_negatives));
                positives += tied_positives;
                negatives_below += tied_negatives;
                tied = 0;
                tied_positives = 0;
            }
        }
        (positives > 0 && negatives_below > 0)
            .then(|| twice_won as f64 / (2.0 * positives as f64 * negatives_below as f64))
    }
}

enum Data<'a> {
    Classification {
        classes: usize,
        class_names: &'a [String],
        binary: bool,
        label_column: &'a str,
        labels: &'a [u32],
        predictions: Cow<'a, [u32]>,
        /// One per class for multiclass ROC AUC, one for binary; empty when not needed.
        ranked: Vec<RankedScores>,
        /// Per-row log loss and Brier terms, when requested and defined.
        row_log_loss: Option<Vec<f64>>,
        row_brier: Option<Vec<f64>>,
    },
    Regression {
        targets: &'a [f64],
        predictions: &'a [f64],
    },
}

/// Prepared rows and the metrics to compute from them; built once, evaluated once per
/// resample.
pub(crate) struct Evaluator<'a> {
    metrics: Vec<Metric>,
    /// Per metric: `Err(reason)` when it cannot apply to these rows at all.
    applicable: Vec<Result<(), String>>,
    data: Data<'a>,
    needs_confusion: bool,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(rows: &'a Rows, metrics: &[Metric]) -> Result<Self, PredictionError> {
        rows.validate()?;
        let mut applicable: Vec<Result<(), String>> = metrics
            .iter()
            .map(|&metric| applies_to(metric, rows))
            .collect();
        let wanted = |metric: Metric, applicable: &[Result<(), String>]| {
            metrics
                .iter()
                .zip(applicable)
                .any(|(&m, ok)| m == metric && ok.is_ok())
        };
        let outer = rows;
        let data = match rows {
            Rows::Regression(RegressionRows {
                targets,
                predictions,
                ..
            }) => Data::Regression {
                targets: &targets.values,
                predictions: &predictions.values,
            },
            Rows::Binary(rows) | Rows::Multiclass(rows) => {
                let binary = matches!(outer, Rows::Binary(_));
                let labels = rows.labels.values.as_slice();
                let probability_problem = probability_problem(rows);
                for (metric, ok) in metrics.iter().zip(applicable.iter_mut()) {
                    if matches!(metric, Metric::LogLoss | Metric::Brier)
                        && ok.is_ok()
                        && let Some(problem) = &probability_problem
                    {
                        *ok = Err(problem.clone());
                    }
                    if *metric == Metric::RocAuc
                        && ok.is_ok()
                        && let Some(problem) = multiclass_auc_problem(rows)
                    {
                        *ok = Err(problem);
                    }
                }
                let ranked = if wanted(Metric::RocAuc, &applicable) {
                    rank_scores(rows)
                } else {
                    Vec::new()
                };
                let row_log_loss = wanted(Metric::LogLoss, &applicable)
                    .then(|| row_log_loss(rows))
                    .flatten();
                let row_brier = wanted(Metric::Brier, &applicable)
                    .then(|| row_brier(rows))
                    .flatten();
                Data::Classification {
                    classes: rows.classes.len(),
                    class_names: &rows.classes,
                    binary,
                    label_column: &rows.labels.name,
                    labels,
                    predictions: derived_predictions(rows),
                    ranked,
                    row_log_loss,
                    row_brier,
                }
            }
        };
        let needs_confusion = metrics.iter().any(|m| m.needs_confusion());
        Ok(Evaluator {
            metrics: metrics.to_vec(),
            applicable,
            data,
            needs_confusion,
        })
    }

    /// Every metric under the given row weights, in the order asked; `Err` says why one
    /// has no value.
    pub(crate) fn evaluate<W: RowWeights>(&self, weights: &W) -> Vec<Result<f64, String>> {
        match &self.data {
            Data::Classification {
                classes,
                class_names,
                binary,
                label_column,
                labels,
                predictions,
                ranked,
                row_log_loss,
                row_brier,
            } => {
                let confusion = self
                    .needs_confusion
                    .then(|| Confusion::new(labels, predictions, *classes, weights));
                let total = || -> u64 {
                    match &confusion {
                        Some(confusion) => confusion.total,
                        None => weights.in_order(labels.len()).sum(),
                    }
                };
                self.metrics
                    .iter()
                    .zip(&self.applicable)
                    .map(|(&metric, applicable)| {
                        applicable.clone()?;
                        match metric {
                            Metric::RocAuc => {
                                roc_auc(ranked, weights, label_column, class_names, *binary)
                            }
                            Metric::LogLoss => {
                                weighted_mean(row_log_loss.as_deref(), weights, total())
                            }
                            Metric::Brier => weighted_mean(row_brier.as_deref(), weights, total()),
                            _ => match &confusion {
                                Some(confusion) => confusion.metric(metric, *binary),
                                None => Err(format!("{metric} is not a classification metric")),
                            },
                        }
                    })
                    .collect()
            }
            Data::Regression {
                targets,
                predictions,
            } => {
                let sums = RegressionSums::new(
                    targets,
                    predictions,
                    weights,
                    self.metrics.contains(&Metric::R2),
                );
                self.metrics
                    .iter()
                    .zip(&self.applicable)
                    .map(|(&metric, applicable)| {
                        applicable.clone()?;
                        sums.metric(metric, targets.len())
                    })
                    .collect()
            }
        }
    }
}

/// Why a metric cannot apply to these rows at all, whatever the resample.
fn applies_to(metric: Metric, rows: &Rows) -> Result<(), String> {
    let task = rows.task();
    match rows {
        Rows::Regression(_) if !metric.is_regression() => Err(format!(
            "{metric} is a classification metric; the task is regression"
        )),
        Rows::Regression(_) => Ok(()),
        _ if metric.is_regression() => Err(format!(
            "{metric} is a regression metric; the task is {}",
            super::rows::task_name(task)
        )),
        Rows::Multiclass(_)
            if matches!(
                metric,
                Metric::Precision | Metric::Recall | Metric::F1 | Metric::Brier
            ) =>
        {
            Err(format!(
                "{metric} is defined for binary classification; a multiclass task reports its macro and weighted averages"
            ))
        }
        Rows::Binary(rows) | Rows::Multiclass(rows)
            if matches!(metric, Metric::RocAuc | Metric::LogLoss | Metric::Brier)
                && rows.scores.is_none() =>
        {
            Err(format!("{metric} needs a score column"))
        }
        _ => Ok(()),
    }
}

fn score_columns(rows: &ClassificationRows) -> Vec<&super::rows::Column<f64>> {
    match &rows.scores {
        Some(Scores::Positive(column)) => vec![column],
        Some(Scores::PerClass(columns)) => columns.iter().collect(),
        None => Vec::new(),
    }
}

/// Log loss and Brier need probabilities; scikit-learn refuses values outside [0, 1].
fn probability_problem(rows: &ClassificationRows) -> Option<String> {
    score_columns(rows).into_iter().find_map(|column| {
        column
            .values
            .iter()
            .position(|p| !(0.0..=1.0).contains(p))
            .map(|index| {
                format!(
                    "column `{}`, row {}: {} is not a probability in [0, 1]",
                    column.name,
                    index + 1,
                    column.values[index]
                )
            })
    })
}

/// scikit-learn's one-vs-rest ROC AUC needs every class among the labels and probability
/// rows that sum to 1 (numpy's `allclose`: |1 − s| ≤ 1e-8 + 1e-5·|s|).
fn multiclass_auc_problem(rows: &ClassificationRows) -> Option<String> {
    let Some(Scores::PerClass(columns)) = &rows.scores else {
        return None;
    };
    let n = rows.labels.len();
    (0..n)
        .find(|&row| {
            let sum: f64 = columns.iter().map(|column| column.values[row]).sum();
            (1.0 - sum).abs() > 1e-8 + 1e-5 * sum.abs()
        })
        .map(|row| {
            format!(
                "one-vs-rest roc_auc needs probabilities summing to 1 over the classes; row {} does not",
                row + 1
            )
        })
}

fn rank_scores(rows: &ClassificationRows) -> Vec<RankedScores> {
    let labels = &rows.labels.values;
    match &rows.scores {
        Some(Scores::Positive(column)) => {
            vec![RankedScores::new(&column.values, |row| labels[row] == 1)]
        }
        Some(Scores::PerClass(columns)) => columns
            .iter()
            .enumerate()
            .map(|(class, column)| {
                RankedScores::new(&column.values, |row| labels[row] as usize == class)
            })
            .collect(),
        None => Vec::new(),
    }
}

fn roc_auc<W: RowWeights>(
    ranked: &[RankedScores],
    weights: &W,
    label_column: &str,
    class_names: &[String],
    binary: bool,
) -> Result<f64, String> {
    let mut sum = 0.0;
    for (class, ranked) in ranked.iter().enumerate() {
        sum += ranked.auc(weights).ok_or_else(|| {
            if binary {
                format!("only one class present in column `{label_column}`: roc_auc is not defined")
            } else {
                let name = class_names.get(class).map_or("?", String::as_str);
                format!(
                    "one-vs-rest roc_auc needs every class both present and absent in column `{label_column}`; class `{name}` is not"
                )
            }
        })?;
    }
    Ok(sum / ranked.len() as f64)
}

/// Clipping bound of scikit-learn's log loss.
const EPSILON: f64 = f64::EPSILON;

fn row_log_loss(rows: &ClassificationRows) -> Option<Vec<f64>> {
    let labels = &rows.labels.values;
    let clip = |p: f64| p.clamp(EPSILON, 1.0 - EPSILON);
    match rows.scores.as_ref()? {
        Scores::Positive(column) => Some(
            labels
                .iter()
                .zip(&column.values)
                .map(|(&label, &p)| {
                    if label == 1 {
                        -clip(p).ln()
                    } else {
                        -clip(1.0 - p).ln()
                    }
                })
                .collect(),
        ),
        Scores::PerClass(columns) => Some(
            labels
                .iter()
                .enumerate()
                .map(|(row, &label)| -clip(columns[label as usize].values[row]).ln())
                .collect(),
        ),
    }
}

fn row_brier(rows: &ClassificationRows) -> Option<Vec<f64>> {
    let Some(Scores::Positive(column)) = &rows.scores else {
        return None;
    };
    Some(
        rows.labels
            .values
            .iter()
            .zip(&column.values)
            .map(|(&label, &p)| (f64::from(label) - p).powi(2))
            .collect(),
    )
}

/// The given predictions, or predictions derived from the scores as scikit-learn's
/// classifiers do: binary positive when the score is above 0.5, multiclass the class of
/// the highest score (the first on ties).
pub(crate) fn derived_predictions(rows: &ClassificationRows) -> Cow<'_, [u32]> {
    if let Some(predictions) = &rows.predictions {
        return Cow::Borrowed(&predictions.values);
    }
    match &rows.scores {
        Some(Scores::Positive(column)) => {
            Cow::Owned(column.values.iter().map(|&p| u32::from(p > 0.5)).collect())
        }
        Some(Scores::PerClass(columns)) => Cow::Owned(
            (0..rows.labels.len())
                .map(|row| {
                    let mut best = 0usize;
                    for (class, column) in columns.iter().enumerate() {
                        if column.values[row] > columns[best].values[row] {
                            best = class;
                        }
                    }
                    best as u32
                })
                .collect(),
        ),
        // Validation refuses rows with neither predictions nor scores.
        None => Cow::Owned(Vec::new()),
    }
}

fn weighted_mean<W: RowWeights>(
    per_row: Option<&[f64]>,
    weights: &W,
    total: u64,
) -> Result<f64, String> {
    let per_row = per_row.ok_or_else(|| "no per-row values".to_owned())?;
    let sum: f64 = per_row
        .iter()
        .zip(weights.in_order(per_row.len()))
        .map(|(value, weight)| weight as f64 * value)
        .sum();
    Ok(sum / total as f64)
}

/// Weighted confusion matrix: `cells[label * classes + prediction]`.
struct Confusion {
    classes: usize,
    cells: Vec<u64>,
    total: u64,
}

impl Confusion {
    fn new<W: RowWeights>(
        labels: &[u32],
        predictions: &[u32],
        classes: usize,
        weights: &W,
    ) -> Confusion {
        let mut cells = vec![0u64; classes * classes];
        if classes == 2 {
            // Sums in registers rather than increments of four cells in memory, which
            // would chain each row's add on the previous one: the bootstrap's hot loop.
            let (mut all, mut positive_labels, mut positive_predictions, mut both) =
                (0u64, 0u64, 0u64, 0u64);
            let rows = labels.iter().zip(predictions);
            for ((&label, &prediction), weight) in rows.zip(weights.in_order(labels.len())) {
                let (label, prediction) = (u64::from(label), u64::from(prediction));
                all += weight;
                positive_labels += weight * label;
                positive_predictions += weight * prediction;
                both += weight * (label & prediction);
            }
            cells[3] = both;
            cells[2] = positive_labels - both;
            cells[1] = positive_predictions - both;
            cells[0] = all - positive_labels - cells[1];
        } else {
            let rows = labels.iter().zip(predictions);
            for ((&label, &prediction), weight) in rows.zip(weights.in_order(labels.len())) {
                cells[label as usize * classes + prediction as usize] += weight;
            }
        }
        let total = cells.iter().sum();
        Confusion {
            classes,
            cells,
            total,
        }
    }

    fn cell(&self, label: usize, prediction: usize) -> u64 {
        self.cells[label * self.classes + prediction]
    }

    /// (true positives, true rows, predicted rows) of one class.
    fn class_counts(&self, class: usize) -> (u64, u64, u64) {
        let true_rows = (0..self.classes).map(|p| self.cell(class, p)).sum();
        let predicted_rows = (0..self.classes).map(|l| self.cell(l, class)).sum();
        (self.cell(class, class), true_rows, predicted_rows)
    }

    fn metric(&self, metric: Metric, binary: bool) -> Result<f64, String> {
        if self.total == 0 {
            return Err("no rows".to_owned());
        }
        let per_class: Vec<(u64, u64, u64)> =
            (0..self.classes).map(|c| self.class_counts(c)).collect();
        let value = match metric {
            Metric::Accuracy => {
                let right: u64 = per_class.iter().map(|&(tp, _, _)| tp).sum();
                ratio(right, self.total)
            }
            Metric::BalancedAccuracy => {
                let recalls: Vec<f64> = per_class
                    .iter()
                    .filter(|&&(_, true_rows, _)| true_rows > 0)
                    .map(|&(tp, true_rows, _)| ratio(tp, true_rows))
                    .collect();
                recalls.iter().sum::<f64>() / recalls.len() as f64
            }
            Metric::Precision | Metric::Recall | Metric::F1 => {
                if !binary {
                    return Err(format!("{metric} is defined for binary classification"));
                }
                let (tp, true_rows, predicted_rows) = per_class[1];
                score_of(metric, tp, true_rows, predicted_rows)
            }
            Metric::PrecisionMacro | Metric::RecallMacro | Metric::F1Macro => {
                let scores: Vec<f64> = per_class
                    .iter()
                    .filter(|&&(_, true_rows, predicted_rows)| true_rows + predicted_rows > 0)
                    .map(|&(tp, t, p)| score_of(metric, tp, t, p))
                    .collect();
                scores.iter().sum::<f64>() / scores.len() as f64
            }
            Metric::PrecisionWeighted | Metric::RecallWeighted | Metric::F1Weighted => {
                let weighted: f64 = per_class
                    .iter()
                    .map(|&(tp, t, p)| t as f64 * score_of(metric, tp, t, p))
                    .sum();
                weighted / self.total as f64
            }
            _ => return Err(format!("{metric} is not computed from predicted classes")),
        };
        Ok(value)
    }
}

/// a / b, with scikit-learn's default for 0 / 0 (`zero_division="warn"` returns 0).
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn score_of(metric: Metric, tp: u64, true_rows: u64, predicted_rows: u64) -> f64 {
    match metric {
        Metric::Precision | Metric::PrecisionMacro | Metric::PrecisionWeighted => {
            ratio(tp, predicted_rows)
        }
        Metric::Recall | Metric::RecallMacro | Metric::RecallWeighted => ratio(tp, true_rows),
        _ => ratio(2 * tp, true_rows + predicted_rows),
    }
}

struct RegressionSums {
    total: u64,
    squared: f64,
    absolute: f64,
    relative: f64,
    /// Σ w (y − ȳ)², when R² is asked.
    spread: f64,
}

impl RegressionSums {
    fn new<W: RowWeights>(targets: &[f64], predictions: &[f64], weights: &W, r2: bool) -> Self {
        let mut sums = RegressionSums {
            total: 0,
            squared: 0.0,
            absolute: 0.0,
            relative: 0.0,
            spread: 0.0,
        };
        let mut target_sum = 0.0;
        let rows = targets.iter().zip(predictions);
        for ((&y, &prediction), weight) in rows.zip(weights.in_order(targets.len())) {
            let w = weight as f64;
            let error = (prediction - y).abs();
            sums.total += weight;
            sums.squared += w * error * error;
            sums.absolute += w * error;
            sums.relative += w * error / y.abs().max(EPSILON);
            target_sum += w * y;
        }
        if r2 && sums.total > 0 {
            let mean = target_sum / sums.total as f64;
            sums.spread = targets
                .iter()
                .zip(weights.in_order(targets.len()))
                .map(|(&y, weight)| weight as f64 * (y - mean).powi(2))
                .sum();
        }
        sums
    }

    fn metric(&self, metric: Metric, rows: usize) -> Result<f64, String> {
        if self.total == 0 {
            return Err("no rows".to_owned());
        }
        let total = self.total as f64;
        Ok(match metric {
            Metric::Mse => self.squared / total,
            Metric::Rmse => (self.squared / total).sqrt(),
            Metric::Mae => self.absolute / total,
            Metric::Mape => self.relative / total,
            Metric::R2 => {
                if rows < 2 {
                    return Err("r2 is not defined for fewer than two rows".to_owned());
                }
                match (self.squared != 0.0, self.spread != 0.0) {
                    (false, _) => 1.0,
                    (true, false) => 0.0,
                    (true, true) => 1.0 - self.squared / self.spread,
                }
            }
            _ => return Err(format!("{metric} is not a regression metric")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::predictions::rows::Column;

    /// Rows counted k times by multiplicities give the same metrics as rows written k times:
    /// the bootstrap's one-pass resamples are the resamples they stand for.
    #[test]
    fn multiplicities_equal_repeated_rows() {
        let labels = [0u32, 1, 1, 0, 1, 0, 0, 1];
        let scores = [0.2, 0.8, 0.4, 0.4, 0.9, 0.1, 0.6, 0.4];
        let counts = [2u32, 0, 1, 3, 1, 0, 1, 0];
        let rows_of = |labels: Vec<u32>, scores: Vec<f64>| {
            Rows::Binary(ClassificationRows {
                classes: vec!["no".into(), "yes".into()],
                labels: Column::new("label", labels),
                predictions: None,
                scores: Some(Scores::Positive(Column::new("score", scores))),
                ids: None,
            })
        };
        let (mut repeated_labels, mut repeated_scores) = (Vec::new(), Vec::new());
        for ((&label, &score), &count) in labels.iter().zip(&scores).zip(&counts) {
            for _ in 0..count {
                repeated_labels.push(label);
                repeated_scores.push(score);
            }
        }
        let metrics = Metric::defaults_for(Task::BinaryClassification);
        let rows = rows_of(labels.to_vec(), scores.to_vec());
        let weighted = Evaluator::new(&rows, metrics)
            .expect("valid")
            .evaluate(&Multiplicities(&counts[..]));
        let repeated = rows_of(repeated_labels, repeated_scores);
        let expected = Evaluator::new(&repeated, metrics)
            .expect("valid")
            .evaluate(&EachOnce);
        for ((metric, weighted), expected) in metrics.iter().zip(weighted).zip(expected) {
            let (weighted, expected) = (weighted.expect("defined"), expected.expect("defined"));
            assert!(
                (weighted - expected).abs() < 1e-12,
                "{metric}: {weighted} vs {expected}"
            );
        }
    }

    #[test]
    fn ties_count_half_in_roc_auc() {
        // One positive tied with one of two negatives: (1 + 0.5) / 2.
        let ranked = RankedScores::new(&[0.1, 0.5, 0.5], |row| row == 2);
        assert_eq!(ranked.auc(&EachOnce), Some(0.75));
        let no_positive = RankedScores::new(&[0.1, 0.5], |_| false);
        assert_eq!(no_positive.auc(&EachOnce), None);
    }

    #[test]
    fn names_round_trip() {
        for metric in ALL_METRICS {
            assert_eq!(Metric::from_name(metric.name()), Some(metric));
        }
        assert_eq!(Metric::LogLoss.direction(), Direction::Lower);
        assert_eq!(Metric::RocAuc.direction(), Direction::Higher);
    }
}
