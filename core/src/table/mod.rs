//! Tabular files (CSV, Parquet, NDJSON) read with polars as lazy scans, so only the columns
//! a check needs are read; the drift engine streams columns from them, the predictions read
//! their evaluation rows from them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;

use crate::content::lfs::LfsPointer;

mod compare;
mod stream;

pub use compare::{CompareError, compare_tables, for_each_column_group};
pub use stream::Progress;

/// Strings longer than this on average are free text, not categories.
pub(crate) const TEXT_MEAN_LENGTH: f64 = 50.0;
/// Rows read to infer a CSV column's type.
const INFER_ROWS: usize = 10_000;
/// Deepest nesting of arrays and objects in an NDJSON record. polars parses JSON
/// recursively: a record nested thousands deep overflows the stack and aborts the process,
/// which no error handling catches, so such a file is refused before polars reads it.
const MAX_JSON_DEPTH: usize = 64;

/// The fields pandas' `read_csv` reads as missing by default (its `STR_NA_VALUES`, pandas 2
/// and 3), quoted or not: a CSV written by pandas (`""` for NaN) or read by it means the
/// same here, and a numeric column with gaps stays numeric.
pub const PANDAS_MISSING_MARKERS: [&str; 19] = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

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
    #[error("{file} is a Git LFS pointer, not data; fetch its content first (`git lfs pull`)")]
    LfsPointer { file: String },
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

/// Refuses NDJSON whose records nest deeper than [`MAX_JSON_DEPTH`], naming the place.
fn check_json_depth(file: &str, bytes: impl Iterator<Item = u8>) -> Result<(), TableError> {
    let (mut line, mut column, mut depth) = (1u64, 0u64, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for byte in bytes {
        column += 1;
        match byte {
            // Each line is a record of its own.
            b'\n' => {
                (line, column, depth, in_string, escaped) = (line + 1, 0, 0, false, false);
            }
            _ if escaped => escaped = false,
            b'\\' if in_string => escaped = true,
            b'"' => in_string = !in_string,
            b'[' | b'{' if !in_string => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(TableError::Read {
                        file: file.to_owned(),
                        message: format!(
                            "line {line}, column {column}: a record nested more than {MAX_JSON_DEPTH} levels deep; expected flat records"
                        ),
                    });
                }
            }
            b']' | b'}' if !in_string => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Data {
    Path(PathBuf),
    Bytes(Arc<Vec<u8>>),
}

thread_local! {
    /// How deep this thread is inside [`Table::guarded`].
    static GUARDED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Installs, once, a panic hook that stays silent for a panic [`Table::guarded`] turns into
/// an error (the error says what failed) and hands every other panic to the hook before it.
fn quiet_panics_when_guarded() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(std::cell::Cell::get) == 0 {
                previous(info);
            }
        }));
    });
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
        // A checkout made without git-lfs holds pointers where the data should be.
        let small = std::fs::metadata(path).is_ok_and(|m| m.len() <= 1024);
        if small && std::fs::read(path).is_ok_and(|bytes| LfsPointer::parse(&bytes).is_some()) {
            return Err(TableError::LfsPointer { file: name });
        }
        if format == Format::Ndjson
            && let Ok(file) = std::fs::File::open(path)
        {
            let bytes = std::io::BufReader::new(file).bytes().map_while(Result::ok);
            check_json_depth(&name, bytes)?;
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
        if format == Format::Ndjson {
            check_json_depth(name, bytes.iter().copied())?;
        }
        Ok(Table {
            name: name.to_owned(),
            format,
            data: Data::Bytes(Arc::new(bytes)),
        })
    }

    pub(crate) fn error(&self, error: PolarsError) -> TableError {
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
                .with_null_values(Some(NullValues::AllColumns(
                    PANDAS_MISSING_MARKERS.map(PlSmallStr::from_static).to_vec(),
                )))
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

    /// Runs polars on this table, turning a panic inside it into an error naming the file:
    /// polars panics on some Arrow types it cannot read (e.g. `list_view`) instead of
    /// returning an error, and a file from a pull request must never stop modelgate.
    pub(crate) fn guarded<T>(
        &self,
        work: impl FnOnce() -> Result<T, TableError>,
    ) -> Result<T, TableError> {
        quiet_panics_when_guarded();
        GUARDED.with(|depth| depth.set(depth.get() + 1));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        GUARDED.with(|depth| depth.set(depth.get() - 1));
        outcome.unwrap_or_else(|panic| {
            let reason = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no reason given".to_owned());
            Err(TableError::Read {
                file: self.name.clone(),
                message: format!(
                    "the file holds a type that cannot be read (polars failed: {})",
                    reason.lines().next().unwrap_or_default()
                ),
            })
        })
    }

    /// Column names and types, without reading the data (Parquet) or after inferring from the
    /// first rows (CSV, NDJSON).
    pub fn schema(&self) -> Result<Vec<(String, DataType)>, TableError> {
        self.guarded(|| {
            let schema = self.scan()?.collect_schema().map_err(|e| self.error(e))?;
            Ok(schema
                .iter()
                .map(|(name, dtype)| (name.to_string(), dtype.clone()))
                .collect())
        })
    }

    /// Reads the named columns (all when `columns` is `None`).
    pub fn read(&self, columns: Option<&[String]>) -> Result<DataFrame, TableError> {
        self.guarded(|| self.read_unguarded(columns))
    }

    fn read_unguarded(&self, columns: Option<&[String]>) -> Result<DataFrame, TableError> {
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
