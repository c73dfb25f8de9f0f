//! Drift between two tables, read a group of columns at a time so memory is bounded by the
//! group, not the file: a wide file is never held whole, and a long one is sampled.

use std::collections::HashMap;
use std::sync::Arc;

use polars::prelude::DataType;

use crate::drift::{
    Column as DriftColumn, ColumnDrift, DatasetDrift, DriftError, DriftOptions, Kind, SampledSide,
    Sampling, SchemaChange, compare_datasets,
};

use super::stream::{Progress, RowFilter};
use super::{Format, Table, TableError};

/// Bytes of decoded values (both sides) one column group may hold. Parquet is columnar, so a
/// group costs only its own columns' reads; a row format is parsed whole for every group, so
/// its groups are larger.
const COLUMNAR_GROUP_BYTES: u64 = 64 << 20;
const ROW_FORMAT_GROUP_BYTES: u64 = 512 << 20;
/// A column (both sides) this large is read alone, whatever the worker count.
const LARGE_COLUMN_BYTES: u64 = 128 << 20;
/// Decoded bytes per value, at most (f64 and epoch times; category codes take 4).
const BYTES_PER_VALUE: u64 = 8;

/// Why two tables could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("drift: {0}")]
    Drift(#[from] DriftError),
}

/// Drift between two tables: every column, or only `columns` (a listed column missing on
/// one side is reported as a schema change; missing on both, an error). `progress`, when
/// given, counts the rows read.
pub fn compare_tables(
    reference: &Table,
    current: &Table,
    columns: Option<&[String]>,
    options: &DriftOptions,
    progress: Option<Arc<Progress>>,
) -> Result<DatasetDrift, CompareError> {
    let reference_schema = selected(reference, columns)?;
    let current_schema = selected(current, columns)?;
    // Columns found by name through an index: a file may have tens of thousands of columns,
    // and a search of the other schema for each column would be quadratic.
    let reference_index = index_of(&reference_schema);
    let current_index = index_of(&current_schema);
    if let Some(wanted) = columns
        && let Some(missing) = wanted.iter().find(|w| {
            !reference_index.contains_key(w.as_str()) && !current_index.contains_key(w.as_str())
        })
    {
        return Err(TableError::MissingColumn {
            file: format!("{} and {}", reference.name, current.name),
            column: missing.clone(),
            available: names(&reference.schema()?).join(", "),
        }
        .into());
    }
    let reference_rows = reference.count_rows()?;
    let current_rows = current.count_rows()?;
    let limit = options.sample;
    let reference_filter = RowFilter::sample(limit.seed, limit.max_rows, reference_rows);
    let current_filter = RowFilter::sample(limit.seed, limit.max_rows, current_rows);

    // Columns the policy ignores are not read: they are reported from the schema.
    let mut ignored = Vec::new();
    let mut to_read: Vec<&str> = Vec::new();
    for (name, dtype) in &reference_schema {
        let in_current = current_index
            .get(name.as_str())
            .map(|&i| &current_schema[i]);
        if options.for_column(name).is_some() {
            to_read.push(name);
        } else if let Some((_, current_type)) = in_current {
            ignored.push(ColumnDrift::skipped_with(
                name,
                kind_of(current_type, dtype),
                (reference_filter.kept_of(reference_rows) as usize, 0),
                (current_filter.kept_of(current_rows) as usize, 0),
                "ignored by the policy (drift.ignore)",
            ));
        }
    }
    for (name, _) in &current_schema {
        if !reference_index.contains_key(name.as_str()) && options.for_column(name).is_some() {
            to_read.push(name);
        }
    }

    let to_read = interleave_by_cost(to_read, |name| {
        let dtype = reference_index
            .get(name)
            .map(|&i| &reference_schema[i].1)
            .or_else(|| current_index.get(name).map(|&i| &current_schema[i].1));
        dtype.is_some_and(|dtype| dtype.is_primitive_numeric())
    });

    let kept_rows = reference_filter.kept_of(reference_rows) + current_filter.kept_of(current_rows);
    let group_bytes = if reference.format == Format::Parquet && current.format == Format::Parquet {
        COLUMNAR_GROUP_BYTES
    } else {
        ROW_FORMAT_GROUP_BYTES
    };
    let group_size = group_size(group_bytes, kept_rows, to_read.len());
    let groups: Vec<&[&str]> = to_read.chunks(group_size).collect();
    if let Some(progress) = &progress {
        progress.add_total(groups.len() as u64 * (reference_rows + current_rows));
    }

    // One thread reads the next group while this one compares the last: reading (polars,
    // several threads) and comparing overlap, and at most two groups are held at once.
    let mut tested: Vec<ColumnDrift> = Vec::new();
    let mut schema_changes: Vec<SchemaChange> = Vec::new();
    let read_group = |group: &[&str]| -> Result<(Vec<DriftColumn>, Vec<DriftColumn>), TableError> {
        let started = std::time::Instant::now();
        let in_group: std::collections::HashSet<&str> = group.iter().copied().collect();
        let pick = |schema: &[(String, DataType)]| -> Vec<(String, DataType)> {
            schema
                .iter()
                .filter(|(name, _)| in_group.contains(name.as_str()))
                .cloned()
                .collect()
        };
        // Both files at once: reading is most of the work, and one Parquet row group is
        // decoded on one thread.
        let (reference_values, current_values) = std::thread::scope(|scope| {
            let reference_read = scope.spawn(|| {
                reference.stream_drift_columns(
                    &pick(&reference_schema),
                    reference_rows,
                    reference_filter,
                    progress.clone(),
                )
            });
            let current_values = current.stream_drift_columns(
                &pick(&current_schema),
                current_rows,
                current_filter,
                progress.clone(),
            );
            let reference_values = match reference_read.join() {
                Ok(read) => read,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            (reference_values, current_values)
        });
        let (reference_values, current_values) = (reference_values?, current_values?);
        tracing::debug!(columns = group.len(), elapsed = ?started.elapsed(), "read a column group");
        Ok((reference_values, current_values))
    };
    std::thread::scope(|scope| -> Result<(), CompareError> {
        let (send, receive) = std::sync::mpsc::sync_channel(0);
        scope.spawn(move || {
            for group in groups {
                let read = read_group(group);
                let failed = read.is_err();
                if send.send(read).is_err() || failed {
                    break;
                }
            }
        });
        for read in receive {
            let (reference_values, current_values) = read?;
            let started = std::time::Instant::now();
            let part = compare_datasets(reference_values, current_values, options)?;
            tracing::debug!(columns = part.columns.len(), elapsed = ?started.elapsed(), "compared a column group");
            tested.extend(part.columns);
            schema_changes.extend(part.schema_changes);
        }
        Ok(())
    })?;

    // Back in the reference's order; schema changes as one comparison would list them.
    let position = |name: &str| {
        let in_current = current_index.get(name).copied();
        match reference_index.get(name).copied() {
            Some(index) => (index, 0),
            None => (usize::MAX, in_current.unwrap_or(usize::MAX)),
        }
    };
    let mut columns: Vec<ColumnDrift> = tested.into_iter().chain(ignored).collect();
    columns.sort_by_key(|column| position(&column.name));
    schema_changes.sort_by_key(|change| {
        let added = change.reference_kind.is_none();
        (added, position(&change.column))
    });
    let mut drift = DatasetDrift::from_columns(columns, schema_changes, options.drift_share);
    if !matches!(
        (reference_filter, current_filter),
        (RowFilter::All, RowFilter::All)
    ) {
        drift.sampling = Some(Sampling {
            seed: limit.seed,
            max_rows: limit.max_rows,
            reference: SampledSide {
                rows: reference_rows,
                sampled_rows: reference_filter.kept_of(reference_rows),
            },
            current: SampledSide {
                rows: current_rows,
                sampled_rows: current_filter.kept_of(current_rows),
            },
        });
    }
    Ok(drift)
}

/// Spreads the columns for which `sorted` holds (numbers: sorted to compare, cheap to read)
/// evenly among the others (categories: cheap to compare, dearer to read), so every group
/// mixes both and reading the next group takes about as long as comparing this one.
fn interleave_by_cost(columns: Vec<&str>, sorted: impl Fn(&str) -> bool) -> Vec<&str> {
    let (numbers, others): (Vec<&str>, Vec<&str>) = columns.into_iter().partition(|c| sorted(c));
    let (mut numbers, mut others) = (
        numbers.into_iter().peekable(),
        others.into_iter().peekable(),
    );
    let (total_numbers, total_others) = (numbers.len(), others.len());
    let mut order = Vec::with_capacity(total_numbers + total_others);
    let (mut taken_numbers, mut taken_others) = (0usize, 0usize);
    loop {
        // Take from whichever list is further behind its share.
        let numbers_behind = taken_numbers * total_others <= taken_others * total_numbers;
        let next = match (numbers.peek(), others.peek()) {
            (Some(_), Some(_)) if numbers_behind => numbers.next().map(|c| (c, true)),
            (Some(_), Some(_)) | (None, Some(_)) => others.next().map(|c| (c, false)),
            (Some(_), None) => numbers.next().map(|c| (c, true)),
            (None, None) => None,
        };
        let Some((column, is_number)) = next else {
            break;
        };
        if is_number {
            taken_numbers += 1;
        } else {
            taken_others += 1;
        }
        order.push(column);
    }
    order
}

/// The table's columns (only `columns`, in that order, when given), with their types.
fn selected(
    table: &Table,
    columns: Option<&[String]>,
) -> Result<Vec<(String, DataType)>, TableError> {
    let schema = table.schema()?;
    if schema.is_empty() {
        return Err(TableError::Empty {
            file: table.name.clone(),
        });
    }
    Ok(match columns {
        None => schema,
        Some(wanted) => wanted
            .iter()
            .filter_map(|w| schema.iter().find(|(name, _)| name == w).cloned())
            .collect(),
    })
}

/// Each column's position in `schema`, by name (the first, should a name repeat).
fn index_of(schema: &[(String, DataType)]) -> HashMap<&str, usize> {
    let mut index = HashMap::with_capacity(schema.len());
    for (position, (name, _)) in schema.iter().enumerate() {
        index.entry(name.as_str()).or_insert(position);
    }
    index
}

fn names(schema: &[(String, DataType)]) -> Vec<String> {
    schema.iter().map(|(name, _)| name.clone()).collect()
}

/// The kind of a column known only by its type (strings may be free text; that takes the
/// values to tell, so an unread string column is reported as categorical).
fn kind_of(current: &DataType, reference: &DataType) -> Kind {
    let of = |dtype: &DataType| match dtype {
        dtype if dtype.is_primitive_numeric() || dtype.is_decimal() => Some(Kind::Numeric),
        DataType::String
        | DataType::Boolean
        | DataType::Categorical(_, _)
        | DataType::Enum(_, _) => Some(Kind::Categorical),
        DataType::Date | DataType::Datetime(_, _) => Some(Kind::Datetime),
        _ => None,
    };
    of(current)
        .or_else(|| of(reference))
        .unwrap_or(Kind::Unsupported)
}

/// Columns per group: as many as `budget` holds, rounded down to a multiple of the worker
/// count so the comparisons of a group keep every core busy; one per worker even past the
/// budget while a column is not large; a large column alone.
fn group_size(budget: u64, kept_rows: u64, columns: usize) -> usize {
    let per_column = (kept_rows * BYTES_PER_VALUE).max(1);
    let fits = (budget / per_column) as usize;
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let size = if fits >= workers {
        fits - fits % workers
    } else if per_column <= LARGE_COLUMN_BYTES {
        workers
    } else {
        fits.max(1)
    };
    size.clamp(1, columns.max(1))
}

/// Reads every column of `table` (all rows), a group of columns at a time so that memory stays
/// bounded by the group budget, and hands each group to `each` in schema order.
pub fn for_each_column_group(
    table: &Table,
    progress: Option<Arc<Progress>>,
    mut each: impl FnMut(Vec<DriftColumn>),
) -> Result<u64, TableError> {
    let schema = table.schema()?;
    let rows = table.count_rows()?;
    let budget = if table.format == Format::Parquet {
        COLUMNAR_GROUP_BYTES
    } else {
        ROW_FORMAT_GROUP_BYTES
    };
    let size = group_size(budget, rows, schema.len()).max(1);
    if let Some(progress) = &progress {
        progress.add_total(schema.chunks(size).count() as u64 * rows);
    }
    // As in `compare_tables`: one thread reads the next group while `each` works on this one.
    std::thread::scope(|scope| -> Result<(), TableError> {
        let (send, receive) = std::sync::mpsc::sync_channel(0);
        scope.spawn(move || {
            for group in schema.chunks(size) {
                let read =
                    table.stream_drift_columns(group, rows, RowFilter::All, progress.clone());
                let failed = read.is_err();
                if send.send(read).is_err() || failed {
                    break;
                }
            }
        });
        for read in receive {
            each(read?);
        }
        Ok(())
    })?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_come_back_in_the_reference_order_with_ignored_ones_unread() {
        let csv = |rows: &[&str]| {
            let mut text = String::from("id,score,city,added\n");
            for row in rows {
                text.push_str(row);
                text.push('\n');
            }
            text
        };
        let reference = csv(&["a,1.5,paris,1", "b,2.5,rome,2", "c,3.5,oslo,3"]);
        let current = "city,score,id,extra\nrome,2.0,x,1\nparis,3.0,y,2\n".to_owned();
        let reference = Table::from_bytes("reference.csv", reference.into_bytes()).expect("csv");
        let current = Table::from_bytes("current.csv", current.into_bytes()).expect("csv");
        let options = DriftOptions {
            ignore: vec!["id".to_owned()],
            ..DriftOptions::default()
        };
        let drift = compare_tables(&reference, &current, None, &options, None).expect("compared");
        let names: Vec<&str> = drift.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["id", "score", "city"]);
        assert!(drift.columns[0].notes[0].contains("ignored by the policy"));
        assert_eq!(drift.columns[0].reference_rows, 3);
        assert!(drift.columns[1].stattest.is_some() && drift.columns[2].stattest.is_some());
        let changes: Vec<(&str, bool)> = drift
            .schema_changes
            .iter()
            .map(|c| (c.column.as_str(), c.reference_kind.is_some()))
            .collect();
        assert_eq!(changes, vec![("added", true), ("extra", false)]);
    }

    #[test]
    fn cheap_and_dear_columns_are_spread_evenly() {
        let columns = vec!["x0", "x1", "x2", "x3", "x4", "x5", "c0", "c1"];
        let order = interleave_by_cost(columns, |c| c.starts_with('x'));
        assert_eq!(order, vec!["x0", "c0", "x1", "x2", "x3", "c1", "x4", "x5"]);
        assert_eq!(
            interleave_by_cost(vec!["c0", "c1"], |_| false),
            vec!["c0", "c1"]
        );
    }

    #[test]
    fn groups_fit_the_budget() {
        let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        // 2M rows kept: 16 MB a column, 4 columns fit 64 MiB.
        let size = group_size(64 << 20, 2_000_000, 100);
        assert_eq!(size, 4.max(workers) - 4.max(workers) % workers);
        // A large column is read alone.
        assert_eq!(group_size(64 << 20, 20_000_000, 20), 1);
        // A column past the budget but not large: one per worker.
        assert_eq!(group_size(64 << 20, 10_000_000, 20), workers.min(20));
        // No more than there are columns.
        assert_eq!(group_size(64 << 20, 10, 3), 3);
    }
}
