//! Evaluation rows read from a predictions file (CSV, Parquet, NDJSON) as the card's
//! `governance` block describes them.

use polars::prelude::*;

use super::rows::{
    ClassificationRows, Column, GroupColumn, PredictionError, RegressionRows, Rows, Scores,
    encode_classes,
};
use crate::card::Task;
use crate::table::{Table, TableError};

/// Which columns of a predictions file hold what (the card's `governance` block).
#[derive(Debug, Clone)]
pub struct PredictionSpec {
    pub task: Task,
    pub label: String,
    pub prediction: Option<String>,
    pub score: Option<String>,
    pub id: Option<String>,
    /// Sensitive features; those missing from the file are left out (fairness says so).
    pub groups: Vec<String>,
}

/// Evaluation rows read from a predictions file, with its group columns.
#[derive(Debug, Clone)]
pub struct LoadedPredictions {
    pub rows: Rows,
    pub groups: Vec<GroupColumn>,
}

/// A column's values as text, naming the first missing one.
fn texts(table: &Table, frame: &DataFrame, name: &str) -> Result<Vec<String>, TableError> {
    let column = frame.column(name).map_err(|e| table.error(e))?;
    let strings = column
        .as_materialized_series()
        .cast(&DataType::String)
        .map_err(|e| table.error(e))?;
    let strings = strings.str().map_err(|e| table.error(e))?;
    strings
        .iter()
        .enumerate()
        .map(|(row, value)| {
            value.map(str::to_owned).ok_or_else(|| TableError::Read {
                file: table.name.clone(),
                message: format!(
                    "column `{name}` has no value in row {}; expected one in every row",
                    row + 1
                ),
            })
        })
        .collect()
}

fn floats(table: &Table, frame: &DataFrame, name: &str) -> Result<Vec<f64>, TableError> {
    let column = frame.column(name).map_err(|e| table.error(e))?;
    let series = column
        .as_materialized_series()
        .cast(&DataType::Float64)
        .map_err(|_| TableError::Read {
            file: table.name.clone(),
            message: format!("column `{name}` is not numeric; expected numbers"),
        })?;
    let values = series.f64().map_err(|e| table.error(e))?;
    values
        .iter()
        .enumerate()
        .map(|(row, value)| {
            value.ok_or_else(|| TableError::Read {
                file: table.name.clone(),
                message: format!(
                    "column `{name}` has no number in row {}; expected one in every row",
                    row + 1
                ),
            })
        })
        .collect()
}

/// Reads the predictions of base (when given) and head with one set of classes, so codes
/// mean the same on both sides. Classes are the sorted labels and predictions of both files
/// (for a binary task the second is the positive class, as scikit-learn orders them).
pub fn load_predictions(
    base: Option<&Table>,
    head: &Table,
    spec: &PredictionSpec,
) -> Result<(Option<LoadedPredictions>, LoadedPredictions), TableError> {
    let read = |table: &Table| -> Result<(DataFrame, Vec<String>), TableError> {
        let available: Vec<String> = table.schema()?.into_iter().map(|(name, _)| name).collect();
        let mut wanted: Vec<String> = std::iter::once(spec.label.clone())
            .chain(spec.prediction.clone())
            .chain(spec.score.clone())
            .chain(spec.id.clone())
            .collect();
        let groups: Vec<String> = spec
            .groups
            .iter()
            .filter(|g| available.contains(g))
            .cloned()
            .collect();
        wanted.extend(groups.iter().cloned());
        wanted.dedup();
        let frame = table.read(Some(&wanted))?;
        if frame.height() == 0 {
            return Err(TableError::Empty {
                file: table.name.clone(),
            });
        }
        Ok((frame, groups))
    };
    let head_frame = read(head)?;
    let base_frame = base
        .map(|table| read(table).map(|frame| (table, frame)))
        .transpose()?;

    let mut classes: Vec<String> = Vec::new();
    if spec.task != Task::Regression {
        let mut all = std::collections::BTreeSet::new();
        let sides = std::iter::once((head, &head_frame.0))
            .chain(base_frame.iter().map(|(t, (f, _))| (*t, f)));
        for (table, frame) in sides {
            all.extend(texts(table, frame, &spec.label)?);
            if let Some(prediction) = &spec.prediction {
                all.extend(texts(table, frame, prediction)?);
            }
        }
        classes = all.into_iter().collect();
    }

    let build = |table: &Table,
                 frame: &DataFrame,
                 group_names: &[String]|
     -> Result<LoadedPredictions, TableError> {
        let ids = match &spec.id {
            Some(id) => Some(Column::new(id.clone(), texts(table, frame, id)?)),
            None => None,
        };
        let prediction_error = |e: PredictionError| TableError::Read {
            file: table.name.clone(),
            message: e.to_string(),
        };
        let rows = match spec.task {
            Task::Regression => {
                let prediction = spec.prediction.as_ref().ok_or_else(|| TableError::Read {
                    file: table.name.clone(),
                    message:
                        "a regression needs `governance.prediction`, the column of predicted values"
                            .to_owned(),
                })?;
                Rows::Regression(RegressionRows {
                    targets: Column::new(spec.label.clone(), floats(table, frame, &spec.label)?),
                    predictions: Column::new(prediction.clone(), floats(table, frame, prediction)?),
                    ids,
                })
            }
            Task::BinaryClassification | Task::MulticlassClassification => {
                let label_texts = texts(table, frame, &spec.label)?;
                let labels = encode_classes(
                    &spec.label,
                    label_texts.iter().map(String::as_str),
                    &classes,
                )
                .map_err(prediction_error)?;
                let predictions = match &spec.prediction {
                    Some(name) => {
                        let values = texts(table, frame, name)?;
                        Some(Column::new(
                            name.clone(),
                            encode_classes(name, values.iter().map(String::as_str), &classes)
                                .map_err(prediction_error)?,
                        ))
                    }
                    None => None,
                };
                let scores = match (&spec.score, spec.task) {
                    (Some(name), Task::BinaryClassification) => Some(Scores::Positive(
                        Column::new(name.clone(), floats(table, frame, name)?),
                    )),
                    _ => None,
                };
                let body = ClassificationRows {
                    classes: classes.clone(),
                    labels: Column::new(spec.label.clone(), labels),
                    predictions,
                    scores,
                    ids,
                };
                if spec.task == Task::BinaryClassification {
                    Rows::Binary(body)
                } else {
                    Rows::Multiclass(body)
                }
            }
        };
        rows.validate().map_err(prediction_error)?;
        let mut groups = Vec::new();
        for name in group_names {
            let values = texts(table, frame, name)?;
            groups.push(GroupColumn::from_names(
                name.clone(),
                values.iter().map(String::as_str),
            ));
        }
        Ok(LoadedPredictions { rows, groups })
    };
    let head_loaded = build(head, &head_frame.0, &head_frame.1)?;
    let base_loaded = match &base_frame {
        Some((table, (frame, groups))) => Some(build(table, frame, groups)?),
        None => None,
    };
    Ok((base_loaded, head_loaded))
}
