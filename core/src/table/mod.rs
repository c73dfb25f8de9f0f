//! Tabular files (CSV, Parquet, NDJSON) read with polars as lazy scans, so only the columns
//! a check needs are read, and turned into the drift engine's and the predictions' columns.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;

mod compare;
mod stream;

pub use compare::compare_tables;
pub use stream::Progress;

/// Strings longer than this on average are free text, not categories.
pub(crate) const TEXT_MEAN_LENGTH: f64 = 50.0;
/// Rows read to infer a CSV column's type.
const INFER_ROWS: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{file}: unknown data format; expected a .csv, .parquet or .ndjson file")]
    UnknownFormat { file: String },
    #[error("{file}: {message}")]
    Read { file: String, message: String },
    #[error("{file}: column `{column}` not found; the file has: {available}")]
    MissingColumn {
        file: String,
        column: String,
        available: String,
    },
    #[error("{file} is empty: expected a header and at least one row")]
    Empty { file: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
    Ndjson,
}

impl Format {
    pub fn of(file: &str) -> Option<Format> {
        let extension = file.rsplit_once('.')?.1.to_ascii_lowercase();
        match extension.as_str() {
            "csv" => Some(Format::Csv),
            "parquet" => Some(Format::Parquet),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
enum Data {
    Path(PathBuf),
    Bytes(Arc<Vec<u8>>),
}

/// A dataset to scan: a file on disk, or a blob read from git.
#[derive(Debug, Clone)]
pub struct Table {
    /// Shown in errors and reports.
    pub name: String,
    format: Format,
    data: Data,
}

impl Table {
    pub fn from_path(path: &Path) -> Result<Table, TableError> {
        let name = path.display().to_string();
        let format =
            Format::of(&name).ok_or_else(|| TableError::UnknownFormat { file: name.clone() })?;
        if !path.is_file() {
            return Err(TableError::Read {
                file: name,
                message: "no such file".to_owned(),
            });
        }
        Ok(Table {
            name,
            format,
            data: Data::Path(path.to_owned()),
        })
    }

    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Result<Table, TableError> {
        let format = Format::of(name).ok_or_else(|| TableError::UnknownFormat {
            file: name.to_owned(),
        })?;
        Ok(Table {
            name: name.to_owned(),
            format,
            data: Data::Bytes(Arc::new(bytes)),
        })
    }

    fn error(&self, error: PolarsError) -> TableError {
        TableError::Read {
            file: self.name.clone(),
            message: error.to_string(),
        }
    }

    fn sources(&self) -> ScanSources {
        match &self.data {
            Data::Path(path) => {
                ScanSources::Paths(polars_buffer::Buffer::from(vec![PlRefPath::new(
                    path.to_string_lossy().as_ref(),
                )]))
            }
            Data::Bytes(bytes) => {
                ScanSources::Buffers(Arc::from(vec![polars_buffer::Buffer::from(
                    bytes.as_ref().clone(),
                )]))
            }
        }
    }

    fn is_empty_input(&self) -> bool {
        match &self.data {
            Data::Path(path) => std::fs::metadata(path)
                .map(|m| m.len() == 0)
                .unwrap_or(false),
            Data::Bytes(bytes) => bytes.iter().all(u8::is_ascii_whitespace),
        }
    }

    /// A lazy scan of the whole file.
    pub fn scan(&self) -> Result<LazyFrame, TableError> {
        if self.is_empty_input() {
            return Err(TableError::Empty {
                file: self.name.clone(),
            });
        }
        let sources = self.sources();
        let frame = match self.format {
            Format::Csv => LazyCsvReader::new_with_sources(sources)
                .with_has_header(true)
                .with_infer_schema_length(Some(INFER_ROWS))
                .with_try_parse_dates(true)
                .finish(),
            Format::Parquet => {
                let mut args = ScanArgsParquet::default();
                // One file, never a partitioned folder.
                args.hive_options.enabled = Some(false);
                LazyFrame::scan_parquet_sources(sources, args)
            }
            Format::Ndjson => LazyJsonLineReader::new_with_sources(sources)
                .with_infer_schema_length(std::num::NonZeroUsize::new(INFER_ROWS))
                .finish(),
        };
        frame.map_err(|e| self.error(e))
    }

    /// Column names and types, without reading the data (Parquet) or after inferring from the
    /// first rows (CSV, NDJSON).
    pub fn schema(&self) -> Result<Vec<(String, DataType)>, TableError> {
        let schema = self.scan()?.collect_schema().map_err(|e| self.error(e))?;
        Ok(schema
            .iter()
            .map(|(name, dtype)| (name.to_string(), dtype.clone()))
            .collect())
    }

    /// Reads the named columns (all when `columns` is `None`).
    pub fn read(&self, columns: Option<&[String]>) -> Result<DataFrame, TableError> {
        let mut frame = self.scan()?;
        if let Some(columns) = columns {
            let available = self.schema()?;
            for column in columns {
                if !available.iter().any(|(name, _)| name == column) {
                    let names: Vec<&str> = available.iter().map(|(n, _)| n.as_str()).collect();
                    return Err(TableError::MissingColumn {
                        file: self.name.clone(),
                        column: column.clone(),
                        available: names.join(", "),
                    });
                }
            }
            frame = frame.select(columns.iter().map(|c| col(c.as_str())).collect::<Vec<_>>());
        }
        frame.collect().map_err(|e| self.error(e))
    }
}

/// Which columns of a predictions file hold what (the card's `governance` block).
#[derive(Debug, Clone)]
pub struct PredictionSpec {
    pub task: crate::card::Task,
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
    pub rows: crate::predictions::Rows,
    pub groups: Vec<crate::predictions::GroupColumn>,
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
    use crate::card::Task;
    use crate::predictions::{
        ClassificationRows, Column, GroupColumn, RegressionRows, Rows, Scores, encode_classes,
    };

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
        let prediction_error = |e: crate::predictions::PredictionError| TableError::Read {
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
