//! Evaluation rows as the loader hands them over: columns already extracted from
//! `predictions.{csv,parquet}`, classes as integer codes into a list of names, so that
//! millions of rows cost a few bytes each. Validation here names the offending column.

use std::collections::HashMap;

use crate::card::Task;

/// One column of the predictions file: its name (for messages) and its values in row order.
#[derive(Debug, Clone, PartialEq)]
pub struct Column<T> {
    pub name: String,
    pub values: Vec<T>,
}

impl<T> Column<T> {
    pub fn new(name: impl Into<String>, values: Vec<T>) -> Self {
        Column {
            name: name.into(),
            values,
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Scores of a classifier.
#[derive(Debug, Clone, PartialEq)]
pub enum Scores {
    /// Binary: the score of the positive class (`classes[1]`), usually its probability.
    Positive(Column<f64>),
    /// Multiclass: one column per class, in the order of `classes`, usually probabilities.
    PerClass(Vec<Column<f64>>),
}

/// Rows of a classifier. `labels` and `predictions` hold codes: code `c` is `classes[c]`.
/// For a binary task `classes` is `[negative, positive]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationRows {
    pub classes: Vec<String>,
    pub labels: Column<u32>,
    /// When absent, predictions are derived from `scores`: positive when the positive
    /// class's score is above 0.5 (binary), else the class of the highest score, the first
    /// one on ties (multiclass), as scikit-learn's classifiers predict from probabilities.
    pub predictions: Option<Column<u32>>,
    pub scores: Option<Scores>,
    /// Row identifiers, used to pair base and head rows in the bootstrap.
    pub ids: Option<Column<String>>,
}

/// Rows of a regressor.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionRows {
    pub targets: Column<f64>,
    pub predictions: Column<f64>,
    pub ids: Option<Column<String>>,
}

/// The evaluation rows of one model at one revision, by task.
#[derive(Debug, Clone, PartialEq)]
pub enum Rows {
    Binary(ClassificationRows),
    Multiclass(ClassificationRows),
    Regression(RegressionRows),
}

impl Rows {
    pub fn task(&self) -> Task {
        match self {
            Rows::Binary(_) => Task::BinaryClassification,
            Rows::Multiclass(_) => Task::MulticlassClassification,
            Rows::Regression(_) => Task::Regression,
        }
    }

    /// Number of rows (of the label or target column).
    pub fn len(&self) -> usize {
        match self {
            Rows::Binary(rows) | Rows::Multiclass(rows) => rows.labels.len(),
            Rows::Regression(rows) => rows.targets.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn ids(&self) -> Option<&Column<String>> {
        match self {
            Rows::Binary(rows) | Rows::Multiclass(rows) => rows.ids.as_ref(),
            Rows::Regression(rows) => rows.ids.as_ref(),
        }
    }

    /// Checks every column: non-empty, equal lengths, class codes in range, finite numbers,
    /// the number of classes and of score columns. Metrics call this first.
    pub fn validate(&self) -> Result<(), PredictionError> {
        match self {
            Rows::Binary(rows) => validate_classification(rows, true),
            Rows::Multiclass(rows) => validate_classification(rows, false),
            Rows::Regression(rows) => validate_regression(rows),
        }
    }

    /// The same rows in another order (`order[k]` is the row placed at position k); used to
    /// line base rows up with head rows by id.
    pub(crate) fn reordered(&self, order: &[u32]) -> Rows {
        fn pick<T: Clone>(column: &Column<T>, order: &[u32]) -> Column<T> {
            Column {
                name: column.name.clone(),
                values: order
                    .iter()
                    .map(|&row| column.values[row as usize].clone())
                    .collect(),
            }
        }
        let classification = |rows: &ClassificationRows| ClassificationRows {
            classes: rows.classes.clone(),
            labels: pick(&rows.labels, order),
            predictions: rows.predictions.as_ref().map(|c| pick(c, order)),
            scores: rows.scores.as_ref().map(|scores| match scores {
                Scores::Positive(column) => Scores::Positive(pick(column, order)),
                Scores::PerClass(columns) => {
                    Scores::PerClass(columns.iter().map(|c| pick(c, order)).collect())
                }
            }),
            ids: rows.ids.as_ref().map(|c| pick(c, order)),
        };
        match self {
            Rows::Binary(rows) => Rows::Binary(classification(rows)),
            Rows::Multiclass(rows) => Rows::Multiclass(classification(rows)),
            Rows::Regression(rows) => Rows::Regression(RegressionRows {
                targets: pick(&rows.targets, order),
                predictions: pick(&rows.predictions, order),
                ids: rows.ids.as_ref().map(|c| pick(c, order)),
            }),
        }
    }
}

/// A sensitive-feature column for the fairness check: each row's group as a code into
/// `values` (the group names).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupColumn {
    pub name: String,
    pub values: Vec<String>,
    pub codes: Vec<u32>,
}

impl GroupColumn {
    /// Encodes a column of group names; groups are listed in order of first appearance.
    pub fn from_names<'a>(
        name: impl Into<String>,
        rows: impl IntoIterator<Item = &'a str>,
    ) -> GroupColumn {
        let mut values: Vec<String> = Vec::new();
        let mut index: HashMap<&'a str, u32> = HashMap::new();
        let codes = rows
            .into_iter()
            .map(|value| {
                *index.entry(value).or_insert_with(|| {
                    values.push(value.to_owned());
                    // Fewer groups than rows, and rows are bounded by u32 elsewhere.
                    u32::try_from(values.len() - 1).unwrap_or(u32::MAX)
                })
            })
            .collect();
        GroupColumn {
            name: name.into(),
            values,
            codes,
        }
    }
}

/// Problems with evaluation rows. Each names the column (and row) so a user can fix the file.
/// Rows are counted from 1, the first row after the header.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PredictionError {
    #[error("column `{column}` has no rows: there is nothing to evaluate")]
    Empty { column: String },

    #[error("column `{column}` has {found} rows but column `{reference}` has {expected}")]
    LengthMismatch {
        column: String,
        found: usize,
        reference: String,
        expected: usize,
    },

    #[error("column `{column}`, row {row}: {value} is not a finite number")]
    NotFinite {
        column: String,
        row: usize,
        value: f64,
    },

    #[error(
        "column `{column}`, row {row}: `{value}` is not one of the known classes [{}]",
        .classes.join(", ")
    )]
    UnknownClass {
        column: String,
        row: usize,
        value: String,
        classes: Vec<String>,
    },

    #[error(
        "column `{column}`, row {row}: class code {code} is outside the {classes} known classes"
    )]
    ClassCodeOutOfRange {
        column: String,
        row: usize,
        code: u32,
        classes: usize,
    },

    #[error("column `{column}`, row {row}: group code {code} is outside the {groups} known groups")]
    GroupCodeOutOfRange {
        column: String,
        row: usize,
        code: u32,
        groups: usize,
    },

    #[error(
        "{task} needs {expected} classes, but {} were given: [{}]",
        .classes.len(),
        .classes.join(", ")
    )]
    ClassCount {
        task: &'static str,
        expected: &'static str,
        classes: Vec<String>,
    },

    #[error("{task} scores must be {expected}")]
    ScoreShape {
        task: &'static str,
        expected: String,
    },

    #[error(
        "column `{column}` has neither a prediction nor a score column beside it: nothing to evaluate"
    )]
    NoPredictions { column: String },

    #[error("{rows} rows are more than the {} that can be evaluated", u32::MAX)]
    TooManyRows { rows: usize },

    #[error("base rows are for {base} but head rows for {head}: their metrics cannot be compared")]
    TaskMismatch {
        base: &'static str,
        head: &'static str,
    },

    #[error(
        "base classes [{}] differ from head classes [{}]: their metrics cannot be compared",
        .base.join(", "),
        .head.join(", ")
    )]
    ClassesDiffer {
        base: Vec<String>,
        head: Vec<String>,
    },

    #[error("bootstrap needs at least one resample and a confidence between 0 and 1")]
    BootstrapConfig,
}

pub(crate) fn task_name(task: Task) -> &'static str {
    match task {
        Task::BinaryClassification => "binary_classification",
        Task::MulticlassClassification => "multiclass_classification",
        Task::Regression => "regression",
    }
}

/// Turns class names into codes into `classes`, naming the first unknown value.
pub fn encode_classes<'a>(
    column: &str,
    values: impl IntoIterator<Item = &'a str>,
    classes: &[String],
) -> Result<Vec<u32>, PredictionError> {
    let index: HashMap<&str, u32> = classes
        .iter()
        .enumerate()
        .map(|(code, name)| (name.as_str(), u32::try_from(code).unwrap_or(u32::MAX)))
        .collect();
    values
        .into_iter()
        .enumerate()
        .map(|(row, value)| {
            index
                .get(value)
                .copied()
                .ok_or_else(|| PredictionError::UnknownClass {
                    column: column.to_owned(),
                    row: row + 1,
                    value: value.to_owned(),
                    classes: classes.to_vec(),
                })
        })
        .collect()
}

fn check_rows(column: &str, rows: usize) -> Result<(), PredictionError> {
    if rows == 0 {
        return Err(PredictionError::Empty {
            column: column.to_owned(),
        });
    }
    if u32::try_from(rows).is_err() {
        return Err(PredictionError::TooManyRows { rows });
    }
    Ok(())
}

pub(crate) fn check_length<T>(
    column: &Column<T>,
    reference: &str,
    expected: usize,
) -> Result<(), PredictionError> {
    if column.len() != expected {
        return Err(PredictionError::LengthMismatch {
            column: column.name.clone(),
            found: column.len(),
            reference: reference.to_owned(),
            expected,
        });
    }
    Ok(())
}

fn check_finite(column: &Column<f64>) -> Result<(), PredictionError> {
    match column.values.iter().position(|value| !value.is_finite()) {
        Some(index) => Err(PredictionError::NotFinite {
            column: column.name.clone(),
            row: index + 1,
            value: column.values[index],
        }),
        None => Ok(()),
    }
}

fn check_codes(column: &Column<u32>, classes: usize) -> Result<(), PredictionError> {
    match column
        .values
        .iter()
        .position(|&code| code as usize >= classes)
    {
        Some(index) => Err(PredictionError::ClassCodeOutOfRange {
            column: column.name.clone(),
            row: index + 1,
            code: column.values[index],
            classes,
        }),
        None => Ok(()),
    }
}

fn validate_classification(rows: &ClassificationRows, binary: bool) -> Result<(), PredictionError> {
    let label = &rows.labels;
    let n = label.len();
    check_rows(&label.name, n)?;
    let classes = rows.classes.len();
    if binary && classes != 2 {
        return Err(PredictionError::ClassCount {
            task: "binary_classification",
            expected: "exactly 2 (negative, then positive)",
            classes: rows.classes.clone(),
        });
    }
    if !binary && classes < 2 {
        return Err(PredictionError::ClassCount {
            task: "multiclass_classification",
            expected: "at least 2",
            classes: rows.classes.clone(),
        });
    }
    check_codes(label, classes)?;
    if let Some(predictions) = &rows.predictions {
        check_length(predictions, &label.name, n)?;
        check_codes(predictions, classes)?;
    }
    match (&rows.scores, binary) {
        (None, _) if rows.predictions.is_none() => {
            return Err(PredictionError::NoPredictions {
                column: label.name.clone(),
            });
        }
        (None, _) => {}
        (Some(Scores::Positive(score)), true) => {
            check_length(score, &label.name, n)?;
            check_finite(score)?;
        }
        (Some(Scores::PerClass(columns)), false) => {
            if columns.len() != classes {
                return Err(PredictionError::ScoreShape {
                    task: "multiclass_classification",
                    expected: format!(
                        "one column per class ({classes}), but {} were given",
                        columns.len()
                    ),
                });
            }
            for column in columns {
                check_length(column, &label.name, n)?;
                check_finite(column)?;
            }
        }
        (Some(_), true) => {
            return Err(PredictionError::ScoreShape {
                task: "binary_classification",
                expected: "one column: the score of the positive class".to_owned(),
            });
        }
        (Some(_), false) => {
            return Err(PredictionError::ScoreShape {
                task: "multiclass_classification",
                expected: format!("one column per class ({classes})"),
            });
        }
    }
    if let Some(ids) = &rows.ids {
        check_length(ids, &label.name, n)?;
    }
    Ok(())
}

fn validate_regression(rows: &RegressionRows) -> Result<(), PredictionError> {
    let target = &rows.targets;
    let n = target.len();
    check_rows(&target.name, n)?;
    check_finite(target)?;
    check_length(&rows.predictions, &target.name, n)?;
    check_finite(&rows.predictions)?;
    if let Some(ids) = &rows.ids {
        check_length(ids, &target.name, n)?;
    }
    Ok(())
}
