//! Reads columns for the drift engine through polars' streaming engine: batches are turned
//! into drift values as they arrive, so memory holds the (sampled) values, not the file.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use polars::prelude::*;

use crate::drift::{CategoricalValues, Column as DriftColumn, ColumnValues};

use super::{TEXT_MEAN_LENGTH, Table, TableError};

/// Strings held for one column beyond which a column whose strings are long on average is
/// settled as free text, so a huge text column is counted, not kept.
const TEXT_GUARD_BYTES: usize = 64 << 20;

/// Work done and to do, shared with whoever draws a progress bar (rows read, over both sides
/// and every column group).
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicU64,
    total: AtomicU64,
}

impl Progress {
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    pub(crate) fn add_total(&self, units: u64) {
        self.total.fetch_add(units, Ordering::Relaxed);
    }

    fn advance(&self, units: u64) {
        self.done.fetch_add(units, Ordering::Relaxed);
    }
}

/// Which rows of a side are kept: all, or a seeded sample of exactly `max_rows` rows: those
/// whose hash of (seed, row index) is below a threshold. A row's fate depends on its index
/// alone, so the sample is the same for every column group, batch size and run, and two
/// files of the same length are sampled at the same rows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RowFilter {
    All,
    Sample { seed: u64, below: u64, kept: u64 },
}

impl RowFilter {
    /// Keeps exactly `wanted` of `rows` rows (all when there are no more).
    pub(crate) fn sample(seed: u64, wanted: u64, rows: u64) -> RowFilter {
        if rows <= wanted {
            return RowFilter::All;
        }
        // The threshold is the `wanted`-th smallest hash plus one. The hash is a bijection of
        // the row index, so hashes are distinct and exactly `wanted` fall below it. Found in
        // two passes over the indices: a histogram of the top 16 bits, then a sort of the
        // one bucket holding it.
        let hash = |row: u64| row_hash(seed, row);
        let mut counts = vec![0u64; 1 << 16];
        for row in 0..rows {
            counts[(hash(row) >> 48) as usize] += 1;
        }
        let mut before = 0;
        let mut bucket = 0;
        for (index, &count) in counts.iter().enumerate() {
            if before + count >= wanted {
                bucket = index as u64;
                break;
            }
            before += count;
        }
        let mut in_bucket: Vec<u64> = (0..rows).map(hash).filter(|h| h >> 48 == bucket).collect();
        in_bucket.sort_unstable();
        let last_kept = (wanted - before).saturating_sub(1) as usize;
        match in_bucket.get(last_kept) {
            Some(&hash) => RowFilter::Sample {
                seed,
                below: hash + 1,
                kept: wanted,
            },
            // Unreachable by the count above; keeping everything is the safe answer.
            None => RowFilter::All,
        }
    }

    /// How many of the file's `rows` rows are kept.
    pub(crate) fn kept_of(self, rows: u64) -> u64 {
        match self {
            RowFilter::All => rows,
            RowFilter::Sample { kept, .. } => kept,
        }
    }

    fn keeps(self, row: u64) -> bool {
        match self {
            RowFilter::All => true,
            RowFilter::Sample { seed, below, .. } => row_hash(seed, row) < below,
        }
    }
}

fn row_hash(seed: u64, row: u64) -> u64 {
    splitmix64(seed ^ splitmix64(row))
}

/// SplitMix64's finalizer: a well-mixed 64-bit hash of a counter.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One column's drift values, built batch by batch.
enum Builder {
    Floats {
        values: Vec<f64>,
        integer: bool,
    },
    Strings {
        codes: Vec<u32>,
        levels: Vec<String>,
        index: HashMap<String, u32>,
        present: usize,
        bytes: usize,
    },
    /// Polars' own categoricals: codes are translated once per distinct code.
    Categories {
        codes: Vec<u32>,
        levels: Vec<String>,
        /// Polars code → our code, `u32::MAX` where not seen yet.
        translation: Vec<u32>,
    },
    Booleans(Vec<u32>),
    Times(Vec<Option<i64>>),
    /// Free text (`type_name: None`) and types no test applies to: counted only.
    Counted {
        type_name: Option<String>,
        rows: usize,
        nulls: usize,
    },
}

/// The most values a column reserves before reading (see `Builder::for_type`).
const RESERVED_VALUES: usize = 1 << 20;

impl Builder {
    /// A builder for a column of `dtype` that will hold `rows` values: reserved up front, so
    /// millions of values are never copied by a growing buffer.
    fn for_type(dtype: &DataType, claimed_rows: usize) -> Builder {
        // The row count comes from the file's own metadata, which may lie: reserve at most
        // a million values up front and let the vectors grow with what is really read.
        let rows = claimed_rows.min(RESERVED_VALUES);
        match dtype {
            // Decimals (money, in pipelines' Parquet) are numbers; read as f64, as pandas'
            // arithmetic on them would.
            DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal(_, _) => {
                Builder::Floats {
                    values: Vec::with_capacity(rows),
                    integer: false,
                }
            }
            dtype if dtype.is_integer() => Builder::Floats {
                values: Vec::with_capacity(rows),
                integer: true,
            },
            DataType::Boolean => Builder::Booleans(Vec::with_capacity(rows)),
            DataType::String => Builder::Strings {
                codes: Vec::with_capacity(rows),
                levels: Vec::new(),
                index: HashMap::new(),
                present: 0,
                bytes: 0,
            },
            DataType::Categorical(_, _) | DataType::Enum(_, _) => Builder::Categories {
                codes: Vec::with_capacity(rows),
                levels: Vec::new(),
                translation: Vec::new(),
            },
            DataType::Date | DataType::Datetime(_, _) => Builder::Times(Vec::with_capacity(rows)),
            other => Builder::Counted {
                type_name: Some(type_name(other)),
                rows: 0,
                nulls: 0,
            },
        }
    }

    /// Appends the kept rows of one batch of this column.
    fn push(&mut self, series: &Series, keep: Option<&[bool]>) -> PolarsResult<()> {
        let kept = |row: usize| keep.is_none_or(|keep| keep[row]);
        match self {
            Builder::Floats { values, .. } => {
                let floats = series.cast(&DataType::Float64)?;
                let floats = floats.f64()?;
                if keep.is_none() && floats.null_count() == 0 {
                    for chunk in floats.downcast_iter() {
                        values.extend_from_slice(chunk.values());
                    }
                } else {
                    values.extend(
                        floats
                            .iter()
                            .enumerate()
                            .filter(|(row, _)| kept(*row))
                            .map(|(_, v)| v.unwrap_or(f64::NAN)),
                    );
                }
            }
            Builder::Strings {
                codes,
                levels,
                index,
                present,
                bytes,
            } => {
                for (row, value) in series.str()?.iter().enumerate() {
                    if !kept(row) {
                        continue;
                    }
                    codes.push(match value {
                        None => CategoricalValues::MISSING,
                        Some(text) => {
                            *present += 1;
                            *bytes += text.len();
                            match index.get(text) {
                                Some(&code) => code,
                                None => {
                                    let code = levels.len() as u32;
                                    levels.push(text.to_owned());
                                    index.insert(text.to_owned(), code);
                                    code
                                }
                            }
                        }
                    });
                }
                let held: usize = levels.len() * std::mem::size_of::<String>() + *bytes;
                if held > TEXT_GUARD_BYTES && is_text(*present, *bytes) {
                    let nulls = codes
                        .iter()
                        .filter(|&&c| c == CategoricalValues::MISSING)
                        .count();
                    *self = Builder::Counted {
                        type_name: None,
                        rows: codes.len(),
                        nulls,
                    };
                }
            }
            Builder::Categories {
                codes,
                levels,
                translation,
            } => {
                let mapping = match series.dtype() {
                    DataType::Categorical(_, mapping) | DataType::Enum(_, mapping) => {
                        mapping.clone()
                    }
                    other => {
                        return Err(
                            polars_err!(SchemaMismatch: "expected a categorical batch, got {other}"),
                        );
                    }
                };
                let physical = series.to_physical_repr().cast(&DataType::UInt32)?;
                for (row, value) in physical.u32()?.iter().enumerate() {
                    if !kept(row) {
                        continue;
                    }
                    let Some(polars_code) = value else {
                        codes.push(CategoricalValues::MISSING);
                        continue;
                    };
                    let slot = polars_code as usize;
                    if slot >= translation.len() {
                        translation.resize(slot + 1, u32::MAX);
                    }
                    if translation[slot] == u32::MAX {
                        let text = mapping.cat_to_str(polars_code).ok_or_else(
                            || polars_err!(ComputeError: "categorical code {polars_code} has no text"),
                        )?;
                        translation[slot] = levels.len() as u32;
                        levels.push(text.to_owned());
                    }
                    codes.push(translation[slot]);
                }
            }
            Builder::Booleans(codes) => {
                codes.extend(
                    series
                        .bool()?
                        .iter()
                        .enumerate()
                        .filter(|(row, _)| kept(*row))
                        .map(|(_, v)| v.map_or(CategoricalValues::MISSING, u32::from)),
                );
            }
            Builder::Times(values) => {
                let numbers = series.to_physical_repr().cast(&DataType::Int64)?;
                values.extend(
                    numbers
                        .i64()?
                        .iter()
                        .enumerate()
                        .filter(|(row, _)| kept(*row))
                        .map(|(_, v)| v),
                );
            }
            Builder::Counted { rows, nulls, .. } => match keep {
                None => {
                    *rows += series.len();
                    *nulls += series.null_count();
                }
                Some(keep) => {
                    let missing = series.is_null();
                    for (row, &kept) in keep.iter().enumerate() {
                        if kept {
                            *rows += 1;
                            *nulls += usize::from(missing.get(row).unwrap_or(false));
                        }
                    }
                }
            },
        }
        Ok(())
    }

    fn finish(self) -> ColumnValues {
        match self {
            Builder::Floats { values, integer } if integer => ColumnValues::Integer(values),
            Builder::Floats { values, .. } => ColumnValues::Numeric(values),
            Builder::Strings {
                codes,
                levels,
                present,
                bytes,
                ..
            } => {
                if is_text(present, bytes) {
                    ColumnValues::Text {
                        rows: codes.len(),
                        nulls: codes.len() - present,
                    }
                } else {
                    ColumnValues::Categorical(CategoricalValues { codes, levels })
                }
            }
            Builder::Categories { codes, levels, .. } => {
                ColumnValues::Categorical(CategoricalValues { codes, levels })
            }
            Builder::Booleans(codes) => ColumnValues::Categorical(CategoricalValues {
                codes,
                levels: vec!["false".to_owned(), "true".to_owned()],
            }),
            Builder::Times(values) => ColumnValues::Datetime(values),
            Builder::Counted {
                type_name: None,
                rows,
                nulls,
            } => ColumnValues::Text { rows, nulls },
            Builder::Counted {
                type_name: Some(type_name),
                rows,
                nulls,
            } => ColumnValues::Unsupported {
                type_name,
                rows,
                nulls,
            },
        }
    }
}

/// A type as a report names it: polars' name, with a struct's fields spelled out (polars
/// says only how many there are).
fn type_name(dtype: &DataType) -> String {
    match dtype {
        DataType::List(inner) => format!("list[{}]", type_name(inner)),
        DataType::Struct(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|field| format!("{}: {}", field.name(), type_name(field.dtype())))
                .collect();
            format!("struct{{{}}}", fields.join(", "))
        }
        other => other.to_string(),
    }
}

/// Strings longer than [`TEXT_MEAN_LENGTH`] on average are free text, not categories.
fn is_text(present: usize, bytes: usize) -> bool {
    present > 0 && bytes as f64 / present as f64 > TEXT_MEAN_LENGTH
}

/// The state a streamed scan fills in.
struct Sink {
    names: Vec<String>,
    builders: Vec<Builder>,
    next_row: u64,
    filter: RowFilter,
    progress: Option<Arc<Progress>>,
}

impl Sink {
    fn take(&mut self, batch: &DataFrame) -> PolarsResult<()> {
        let first_row = self.next_row;
        self.next_row += batch.height() as u64;
        let keep: Option<Vec<bool>> = match self.filter {
            RowFilter::All => None,
            filter => Some(
                (first_row..self.next_row)
                    .map(|row| filter.keeps(row))
                    .collect(),
            ),
        };
        for (name, builder) in self.names.iter().zip(&mut self.builders) {
            let column = batch.column(name)?;
            builder.push(column.as_materialized_series(), keep.as_deref())?;
        }
        if let Some(progress) = &self.progress {
            progress.advance(batch.height() as u64);
        }
        Ok(())
    }
}

impl Table {
    /// Reads the named columns (which must exist; `schema` gives their types) as drift
    /// columns, keeping the rows `filter` keeps, without holding the file in memory. `rows`
    /// is the file's row count, for the progress of a read skipped.
    pub(crate) fn stream_drift_columns(
        &self,
        columns: &[(String, DataType)],
        rows: u64,
        filter: RowFilter,
        progress: Option<Arc<Progress>>,
    ) -> Result<Vec<DriftColumn>, TableError> {
        if columns.is_empty() {
            if let Some(progress) = &progress {
                progress.advance(rows);
            }
            return Ok(Vec::new());
        }
        let names: Vec<String> = columns.iter().map(|(name, _)| name.clone()).collect();
        let sink = Arc::new(Mutex::new(Sink {
            names: names.clone(),
            builders: columns
                .iter()
                .map(|(_, dtype)| Builder::for_type(dtype, filter.kept_of(rows) as usize))
                .collect(),
            next_row: 0,
            filter,
            progress,
        }));
        let callback_sink = Arc::clone(&sink);
        let callback = PlanCallback::new(move |batch: DataFrame| {
            let mut sink = callback_sink
                .lock()
                .map_err(|_| polars_err!(ComputeError: "a previous batch failed"))?;
            sink.take(&batch)?;
            // `false`: keep streaming.
            Ok(false)
        });
        self.guarded(|| {
            self.scan()?
                .select(
                    names
                        .iter()
                        .map(|name| col(name.as_str()))
                        .collect::<Vec<_>>(),
                )
                .sink_batches(callback, true, None)
                .and_then(|plan| plan.collect_with_engine(Engine::Streaming))
                .map_err(|e| self.error(e))
        })?;
        let mut sink = sink.lock().map_err(|_| TableError::Read {
            file: self.name.clone(),
            message: "reading failed in a worker thread".to_owned(),
        })?;
        let builders = std::mem::take(&mut sink.builders);
        Ok(names
            .into_iter()
            .zip(builders)
            .map(|(name, builder)| DriftColumn::new(name, builder.finish()))
            .collect())
    }

    /// The number of rows, without reading the values (Parquet: from the footer; CSV and
    /// NDJSON: one pass over the records).
    pub(crate) fn count_rows(&self) -> Result<u64, TableError> {
        let counted = self.guarded(|| {
            self.scan()?
                .select([len().alias("rows")])
                .collect()
                .map_err(|e| self.error(e))
        })?;
        let rows = counted
            .column("rows")
            .and_then(|c| c.as_materialized_series().cast(&DataType::UInt64))
            .map_err(|e| self.error(e))?;
        let rows = rows.u64().map_err(|e| self.error(e))?.get(0);
        Ok(rows.unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_keeps_exactly_the_rows_asked_and_is_the_same_each_time() {
        let kept_rows = |filter: RowFilter, rows: u64| -> Vec<u64> {
            (0..rows).filter(|&row| filter.keeps(row)).collect()
        };
        let filter = RowFilter::sample(7, 10_000, 100_000);
        let kept = kept_rows(filter, 100_000);
        assert_eq!(kept.len(), 10_000);
        assert_eq!(
            kept,
            kept_rows(RowFilter::sample(7, 10_000, 100_000), 100_000)
        );
        let other = kept_rows(RowFilter::sample(8, 10_000, 100_000), 100_000);
        assert_eq!(other.len(), 10_000);
        assert_ne!(kept, other);
        // Spread over the file, not its head: about a tenth of each half.
        let first_half = kept.iter().filter(|&&row| row < 50_000).count();
        assert!((4_700..=5_300).contains(&first_half), "{first_half}");
        assert_eq!(kept_rows(RowFilter::sample(7, 1, 3), 3).len(), 1);
        assert_eq!(kept_rows(RowFilter::sample(7, 2, 3), 3).len(), 2);
        assert!(matches!(RowFilter::sample(7, 10, 10), RowFilter::All));
    }
}
