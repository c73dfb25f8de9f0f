//! Data drift between a reference and a current sample, per column and per dataset, in
//! memory: callers hand over already-extracted column values. Files are read by
//! `table::compare_tables`, a group of columns at a time, sampled past
//! [`SampleLimit::max_rows`].
//!
//! # What is computed
//!
//! Per column: one test (chosen automatically as Evidently does, or named by the policy), its
//! statistic, p-value (hypothesis tests) and verdict against a threshold; the change in the
//! share of missing values; categories that appear or vanish. Per dataset: the count of drifted
//! columns, dataset drift when their share of the tested columns is `>= drift_share`, and
//! schema changes (column added, removed, kind changed).
//!
//! Missing values and ±inf are removed before any test, as Evidently does; null counts are
//! reported. Each column is independent of the others ([`compare_columns`] is a pure function
//! of its inputs): [`compare_datasets`] runs them on all cores, and callers with their own
//! scheduling can do the same and assemble the result with [`DatasetDrift::from_columns`].
//!
//! # Automatic test (both modes; Evidently 0.7 `_get_default_stattest`)
//!
//! `n_ref` is the number of reference values after cleaning, `distinct` the number of distinct
//! values of both samples together.
//!
//! | kind        | `n_ref`  | `distinct` | test            | threshold | drift when    |
//! |-------------|----------|------------|-----------------|-----------|---------------|
//! | numeric     | <= 1000  | > 5        | `ks`            | 0.05      | `p <= 0.05`   |
//! | numeric     | <= 1000  | 3..=5      | `chisquare`     | 0.05      | `p < 0.05`    |
//! | numeric     | <= 1000  | <= 2       | `z`             | 0.05      | `p < 0.05`    |
//! | numeric     | > 1000   | > 5        | `wasserstein`   | 0.1       | `W >= 0.1`    |
//! | numeric     | > 1000   | <= 5       | `jensenshannon` | 0.1       | `JS >= 0.1`   |
//! | categorical | <= 1000  | > 2        | `chisquare`     | 0.05      | `p < 0.05`    |
//! | categorical | <= 1000  | <= 2       | `z`             | 0.05      | `p < 0.05`    |
//! | categorical | > 1000   | any        | `jensenshannon` | 0.1       | `JS >= 0.1`   |
//!
//! On request: `psi`, `kl_div`, `hellinger` (0.1, `>=`), `anderson` (0.1, `p < t`),
//! `cramer_von_mises` (0.1, `p <= t`), `mannw` (0.05, `p < t`, one-sided "less"), `t_test`
//! (0.05, `p < t`), `energy_dist` (Evidently's `ed`: 0.1, `distance > t`).
//!
//! # The two modes, side by side
//!
//! | | `Mode::Calibrated` (default) | `Mode::Evidently` (`compat: evidently`) |
//! |---|---|---|
//! | `chisquare` | test of homogeneity on the 2×K table, both samples random (`scipy.stats.chi2_contingency`, no continuity correction), df = K − 1 | goodness of fit of current counts against reference shares taken as exact (`scipy.stats.chisquare(cur, ref·n_cur/n_ref)`): raises false alarms, 33–46% at n = 500 on identical distributions; a value absent from the reference gives χ² = ∞, p = 0 |
//! | `z` | pooled two-proportion z, p = `2·sf(|z|)` (exact in the far tail) | same z, p = `2·(1 − Φ(|z|))`, which is exactly 0 beyond |z| ≈ 8.3 |
//! | datetime columns | tested as numeric epoch values | skipped: Evidently does not test datetime columns |
//! | `cramer_von_mises`, both samples <= 20 values | scipy's exact p-value | skipped: Evidently 0.7.23's private copy of the exact path breaks under numpy 2 (raises, or returns e.g. 0.047607 for scipy's 0.047619) |
//! | everything else | identical: Evidently's choice, binning, formulas and rules, p-values as scipy's | |
//!
//! Where Evidently and scipy differ, Evidently is followed: `mannw` is one-sided (`"less"`),
//! `wasserstein` is divided by the reference's population standard deviation (at least 0.001),
//! PSI/KL/JS use Evidently's binning (one bin per value, or a Sturges histogram over the pooled
//! sample when the reference has more than 20 distinct values) and its zero fill, Hellinger its
//! own binning over the pooled distinct values.
//!
//! # Departures from Evidently in both modes
//!
//! * A column Evidently would fail on (empty after cleaning, `anderson` with one distinct
//!   value) is reported as skipped with the reason, and the dataset share counts tested columns
//!   only, where Evidently fails the whole report.
//! * Evidently skips cleaning of ±inf in its dataset-level path when a column has no NaN; here
//!   ±inf are always removed (as its per-column path does).

mod binned;
pub(crate) mod ks;
mod rank;
mod sample;
mod special;
mod stattest;

use indexmap::IndexMap;
use serde::Serialize;

use sample::{CategoricalPair, CountTable, NumericPair, Removed};
pub use stattest::{DriftRule, StatTest, StatTestChoice, default_stattest};
use stattest::{Outcome, PairData};

/// Problems with the shape of the input; data problems inside a column are reported on that
/// column instead.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error("column `{name}` appears more than once in the {side} dataset")]
    DuplicateColumn { name: String, side: &'static str },
}

/// A drift setting outside what the tests accept. Settings are checked where they are read
/// (the policy, a card, the command line), which add the key and the position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DriftSettingError {
    #[error(
        "unknown test `{name}`; expected one of {}",
        StatTestChoice::names().collect::<Vec<_>>().join(", ")
    )]
    UnknownStatTest { name: String },

    #[error(
        "unknown mode `{name}`; expected one of {}",
        Mode::ALL.map(Mode::name).join(", ")
    )]
    UnknownMode { name: String },

    #[error("{0} is not a threshold; expected a finite number >= 0")]
    Threshold(f64),

    #[error("{0} is not a share of columns; expected a number in (0, 1]")]
    DriftShare(f64),

    #[error("0 rows; expected at least 1")]
    MaxRows,
}

/// A threshold of any test: p-values and distances are both finite and non-negative.
pub fn check_threshold(value: f64) -> Result<f64, DriftSettingError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(DriftSettingError::Threshold(value))
    }
}

/// `drift_share`: dataset drift needs at least one drifted column, and at most all of them.
pub fn check_drift_share(value: f64) -> Result<f64, DriftSettingError> {
    if value > 0.0 && value <= 1.0 {
        Ok(value)
    } else {
        Err(DriftSettingError::DriftShare(value))
    }
}

/// `max_rows`: a sample of no rows could test nothing.
pub fn check_max_rows(value: u64) -> Result<u64, DriftSettingError> {
    if value == 0 {
        Err(DriftSettingError::MaxRows)
    } else {
        Ok(value)
    }
}

/// Statistical conventions: see the module documentation for the differences. Set by
/// `compat` (absent: calibrated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Tests whose false-alarm rate matches their threshold (the default).
    #[default]
    Calibrated,
    /// Evidently 0.7's choices, formulas, values and verdicts exactly.
    Evidently,
}

impl Mode {
    pub const ALL: [Mode; 2] = [Mode::Calibrated, Mode::Evidently];

    /// The name as written in `compat`, the same as the serialized form.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Calibrated => "calibrated",
            Mode::Evidently => "evidently",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Mode {
    type Err = DriftSettingError;

    fn from_str(name: &str) -> Result<Mode, DriftSettingError> {
        Mode::ALL
            .into_iter()
            .find(|mode| mode.name() == name)
            .ok_or_else(|| DriftSettingError::UnknownMode {
                name: name.to_owned(),
            })
    }
}

/// The kind of a column, which decides the tests that apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Numeric,
    Categorical,
    Datetime,
    Text,
    /// A type no test applies to (nested, binary, time of day, duration): listed, not tested.
    Unsupported,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Numeric => "numeric",
            Kind::Categorical => "categorical",
            Kind::Datetime => "datetime",
            Kind::Text => "text",
            Kind::Unsupported => "unsupported",
        }
    }
}

/// A categorical column as dictionary codes, so that millions of strings are never cloned.
/// The two samples may use different dictionaries; levels are matched by text.
#[derive(Debug, Clone, Default)]
pub struct CategoricalValues {
    /// One code per row: an index into `levels`, or [`CategoricalValues::MISSING`].
    pub codes: Vec<u32>,
    pub levels: Vec<String>,
}

impl CategoricalValues {
    /// The code of a missing value.
    pub const MISSING: u32 = u32::MAX;

    /// Dictionary-encodes values given as text (`None` is missing). For tests and small data;
    /// loaders should hand over their own dictionary codes.
    pub fn from_strings<S: AsRef<str>>(values: impl IntoIterator<Item = Option<S>>) -> Self {
        let mut index: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
        let mut encoded = CategoricalValues::default();
        for value in values {
            let code = match value {
                None => Self::MISSING,
                Some(text) => {
                    let text = text.as_ref();
                    match index.get(text) {
                        Some(&code) => code,
                        None => {
                            let code = encoded.levels.len() as u32;
                            encoded.levels.push(text.to_owned());
                            index.insert(text.to_owned(), code);
                            code
                        }
                    }
                }
            };
            encoded.codes.push(code);
        }
        encoded
    }
}

/// The values of one column of one sample, consumed by the comparison (numeric buffers are
/// cleaned and sorted in place, without a copy).
#[derive(Debug, Clone)]
pub enum ColumnValues {
    /// Floating-point values; NaN is a missing value, ±inf are removed before testing.
    Numeric(Vec<f64>),
    /// Integer values carried as f64 (exact up to 2^53), NaN for missing. Numeric, but binned as
    /// numpy bins integer arrays (histogram bins at least 1 wide), which Evidently inherits.
    Integer(Vec<f64>),
    Categorical(CategoricalValues),
    /// Timestamps in epoch units (any unit, the same on both sides); `None` is missing.
    Datetime(Vec<Option<i64>>),
    /// Free text is reported but not tested (Evidently's text drift trains a classifier).
    Text {
        rows: usize,
        nulls: usize,
    },
    /// A type no test applies to, named as the file stores it (`list[i64]`, `binary`):
    /// counted only.
    Unsupported {
        type_name: String,
        rows: usize,
        nulls: usize,
    },
}

impl ColumnValues {
    pub fn kind(&self) -> Kind {
        match self {
            ColumnValues::Numeric(_) | ColumnValues::Integer(_) => Kind::Numeric,
            ColumnValues::Categorical(_) => Kind::Categorical,
            ColumnValues::Datetime(_) => Kind::Datetime,
            ColumnValues::Text { .. } => Kind::Text,
            ColumnValues::Unsupported { .. } => Kind::Unsupported,
        }
    }

    pub fn rows(&self) -> usize {
        match self {
            ColumnValues::Numeric(v) | ColumnValues::Integer(v) => v.len(),
            ColumnValues::Categorical(c) => c.codes.len(),
            ColumnValues::Datetime(v) => v.len(),
            ColumnValues::Text { rows, .. } | ColumnValues::Unsupported { rows, .. } => *rows,
        }
    }

    /// Missing values: NaN, null, a missing category.
    pub fn nulls(&self) -> usize {
        match self {
            ColumnValues::Numeric(v) | ColumnValues::Integer(v) => {
                v.iter().filter(|x| x.is_nan()).count()
            }
            ColumnValues::Categorical(c) => c
                .codes
                .iter()
                .filter(|&&code| code == CategoricalValues::MISSING)
                .count(),
            ColumnValues::Datetime(v) => v.iter().filter(|x| x.is_none()).count(),
            ColumnValues::Text { nulls, .. } | ColumnValues::Unsupported { nulls, .. } => *nulls,
        }
    }

    /// True when every row is missing (or there are no rows): such a column has no kind of
    /// its own, whatever type the file gave it (a CSV column of empty fields reads as text,
    /// a Parquet column of nulls as `null`).
    pub fn all_missing(&self) -> bool {
        self.nulls() == self.rows()
    }

    /// As many missing values as this column has rows, in the kind of `like`: an all-missing
    /// column compared with a typed one is a column without values, not a change of kind.
    fn missing_like(&self, like: &ColumnValues) -> ColumnValues {
        let rows = self.rows();
        match like {
            ColumnValues::Numeric(_) => ColumnValues::Numeric(vec![f64::NAN; rows]),
            ColumnValues::Integer(_) => ColumnValues::Integer(vec![f64::NAN; rows]),
            ColumnValues::Categorical(_) => ColumnValues::Categorical(CategoricalValues {
                codes: vec![CategoricalValues::MISSING; rows],
                levels: Vec::new(),
            }),
            ColumnValues::Datetime(_) => ColumnValues::Datetime(vec![None; rows]),
            ColumnValues::Text { .. } => ColumnValues::Text { rows, nulls: rows },
            ColumnValues::Unsupported { type_name, .. } => ColumnValues::Unsupported {
                type_name: type_name.clone(),
                rows,
                nulls: rows,
            },
        }
    }
}

/// A named column of a dataset.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub values: ColumnValues,
}

impl Column {
    pub fn new(name: impl Into<String>, values: ColumnValues) -> Column {
        Column {
            name: name.into(),
            values,
        }
    }
}

/// A categorical test on the counts per category of two samples, as `(statistic, p-value,
/// score)`: what a profile's exact counts give without rebuilding each value.
pub(crate) fn test_category_counts(
    test: StatTest,
    reference: &[(String, u64)],
    current: &[(String, u64)],
    mode: Mode,
) -> Result<(f64, Option<f64>, f64), String> {
    let mut keys: Vec<&str> = reference
        .iter()
        .chain(current)
        .map(|(level, _)| level.as_str())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let counts = |side: &[(String, u64)]| -> Vec<u64> {
        let by_level: std::collections::HashMap<&str, u64> =
            side.iter().map(|(level, n)| (level.as_str(), *n)).collect();
        keys.iter()
            .map(|key| by_level.get(key).copied().unwrap_or(0))
            .collect()
    };
    let table = CountTable {
        reference: counts(reference),
        current: counts(current),
    };
    let outcome = stattest::run_table(test, &table, mode)?;
    Ok((outcome.statistic, outcome.p_value, outcome.score))
}

/// A per-column override from the policy's `drift.columns`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ColumnOverride {
    pub stattest: Option<StatTest>,
    pub threshold: Option<f64>,
}

/// The drift configuration, validated (from the policy's `drift` block).
#[derive(Debug, Clone, PartialEq)]
pub struct DriftOptions {
    pub mode: Mode,
    /// A test for every column (`None`: automatic). A column whose kind it does not fit gets
    /// the automatic test, with a note.
    pub stattest: Option<StatTest>,
    /// A threshold for every column (`None`: each test's default).
    pub threshold: Option<f64>,
    /// Dataset drift when the share of drifted tested columns is at least this.
    pub drift_share: f64,
    pub columns: IndexMap<String, ColumnOverride>,
    pub ignore: Vec<String>,
    /// Identifier columns declared by the card (`governance.id`): not tested unless
    /// `columns` names them.
    pub identifiers: Vec<String>,
    pub sample: SampleLimit,
}

/// The most rows read of each side, and the seed of the sample taken from a side with more:
/// keeps memory bounded for files of any length, with results that are the same on every
/// machine and every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleLimit {
    pub max_rows: u64,
    pub seed: u64,
}

impl SampleLimit {
    pub const DEFAULT_MAX_ROWS: u64 = 10_000_000;
    pub const DEFAULT_SEED: u64 = 0;
}

impl Default for SampleLimit {
    fn default() -> Self {
        SampleLimit {
            max_rows: Self::DEFAULT_MAX_ROWS,
            seed: Self::DEFAULT_SEED,
        }
    }
}

impl Default for DriftOptions {
    fn default() -> Self {
        DriftOptions {
            mode: Mode::Calibrated,
            stattest: None,
            threshold: None,
            drift_share: 0.5,
            columns: IndexMap::new(),
            ignore: Vec::new(),
            identifiers: Vec::new(),
            sample: SampleLimit::default(),
        }
    }
}

impl DriftOptions {
    /// The options for one column; `None` when the policy ignores it.
    pub fn for_column(&self, name: &str) -> Option<ColumnOptions> {
        if self.ignore.iter().any(|ignored| ignored == name) {
            return None;
        }
        let column = self.columns.get(name).copied().unwrap_or_default();
        Some(ColumnOptions {
            mode: self.mode,
            stattest: column.stattest,
            dataset_stattest: self.stattest,
            threshold: column.threshold.or(self.threshold),
        })
    }

    /// True when the policy names the column (`drift.columns`): it is then tested even when
    /// it looks like an identifier.
    pub fn names_column(&self, name: &str) -> bool {
        self.columns.contains_key(name)
    }
}

/// Options for one column comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ColumnOptions {
    pub mode: Mode,
    /// Named for this column: used, or the column is skipped if it does not fit the kind.
    pub stattest: Option<StatTest>,
    /// Named for every column: used where it fits the kind, else the automatic test.
    pub dataset_stattest: Option<StatTest>,
    pub threshold: Option<f64>,
}

/// The drift of one column. A column that could not be tested has `stattest: null` and says
/// why in its first note (`skipped: …`).
#[derive(Debug, Clone, Serialize)]
pub struct ColumnDrift {
    pub name: String,
    pub kind: Kind,
    pub stattest: Option<StatTest>,
    /// The test's own statistic: D for ks, χ² for chisquare, z for z, normalised A² for
    /// anderson, T for cramer_von_mises, U of the reference for mannw, t for t_test, the
    /// distance itself for distances. `null` when skipped or not finite (χ² = ∞).
    pub statistic: Option<f64>,
    /// `null` for distances.
    pub p_value: Option<f64>,
    pub threshold: Option<f64>,
    pub drifted: bool,
    /// Rows given, including missing values.
    pub reference_rows: usize,
    pub current_rows: usize,
    pub reference_nulls: usize,
    pub current_nulls: usize,
    pub notes: Vec<String>,
}

impl ColumnDrift {
    /// True when no test ran on this column.
    pub fn skipped(&self) -> bool {
        self.stattest.is_none()
    }

    pub(crate) fn skipped_with(
        name: &str,
        kind: Kind,
        reference: (usize, usize),
        current: (usize, usize),
        reason: impl Into<String>,
    ) -> ColumnDrift {
        ColumnDrift {
            name: name.to_owned(),
            kind,
            stattest: None,
            statistic: None,
            p_value: None,
            threshold: None,
            drifted: false,
            reference_rows: reference.0,
            current_rows: current.0,
            reference_nulls: reference.1,
            current_nulls: current.1,
            notes: vec![format!("skipped: {}", reason.into())],
        }
    }
}

/// A column added, removed or whose kind changed between reference and current.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaChange {
    pub column: String,
    pub change: SchemaChangeKind,
    pub reference_kind: Option<Kind>,
    pub current_kind: Option<Kind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaChangeKind {
    Added,
    Removed,
    KindChanged,
}

impl std::fmt::Display for SchemaChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let column = &self.column;
        match (self.change, self.reference_kind, self.current_kind) {
            (SchemaChangeKind::Added, _, _) => write!(f, "column `{column}` added"),
            (SchemaChangeKind::Removed, _, _) => write!(f, "column `{column}` removed"),
            (SchemaChangeKind::KindChanged, Some(from), Some(to)) => write!(
                f,
                "column `{column}` changed from {} to {}",
                from.as_str(),
                to.as_str()
            ),
            (SchemaChangeKind::KindChanged, _, _) => write!(f, "column `{column}` changed kind"),
        }
    }
}

/// Drift of a whole dataset.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetDrift {
    /// `drifted_columns / tested columns >= drift_share` (Evidently's rule), false when no
    /// column could be tested.
    pub dataset_drift: bool,
    /// The threshold on the share of drifted columns (Evidently's `drift_share`).
    pub drift_share: f64,
    pub drifted_columns: usize,
    pub schema_changes: Vec<SchemaChange>,
    /// Reference columns in order, then added ones; skipped columns included.
    pub columns: Vec<ColumnDrift>,
    /// Set when a side had more rows than `drift.max_rows` and was sampled.
    pub sampling: Option<Sampling>,
}

/// How the rows tested were drawn from a side longer than the limit: exactly `max_rows`
/// rows, those with the smallest hashes of (seed, row index).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sampling {
    pub seed: u64,
    pub max_rows: u64,
    pub reference: SampledSide,
    pub current: SampledSide,
}

/// `reference 1000 of 3000 rows, current … (a side longer than 1000 rows is sampled to that
/// many, seed 0)`: the one wording of every report.
impl std::fmt::Display for Sampling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "reference {} of {} rows, current {} of {} rows (a side longer than {} rows is sampled to that many, seed {})",
            self.reference.sampled_rows,
            self.reference.rows,
            self.current.sampled_rows,
            self.current.rows,
            self.max_rows,
            self.seed
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SampledSide {
    /// Rows in the file.
    pub rows: u64,
    /// Rows tested (all of them when the side was not sampled).
    pub sampled_rows: u64,
}

impl DatasetDrift {
    /// Applies the dataset rule to columns compared separately (e.g. in parallel).
    pub fn from_columns(
        columns: Vec<ColumnDrift>,
        schema_changes: Vec<SchemaChange>,
        drift_share: f64,
    ) -> DatasetDrift {
        let tested = columns.iter().filter(|c| !c.skipped()).count();
        let drifted_columns = columns.iter().filter(|c| c.drifted).count();
        let dataset_drift = tested > 0 && drifted_columns as f64 / tested as f64 >= drift_share;
        DatasetDrift {
            dataset_drift,
            drift_share,
            drifted_columns,
            schema_changes,
            columns,
            sampling: None,
        }
    }

    /// Columns on which a test ran.
    pub fn tested_columns(&self) -> usize {
        self.columns.iter().filter(|c| !c.skipped()).count()
    }

    /// `drifted_columns / tested_columns` (0 when none was tested).
    pub fn share_of_drifted_columns(&self) -> f64 {
        match self.tested_columns() {
            0 => 0.0,
            tested => self.drifted_columns as f64 / tested as f64,
        }
    }
}

/// Compares two datasets column by column. Columns are matched by name; a column present on
/// one side only, or whose kind changed, is a schema change (and not tested).
pub fn compare_datasets(
    reference: Vec<Column>,
    current: Vec<Column>,
    options: &DriftOptions,
) -> Result<DatasetDrift, DriftError> {
    check_unique(&reference, "reference")?;
    check_unique(&current, "current")?;
    let mut current: IndexMap<String, ColumnValues> =
        current.into_iter().map(|c| (c.name, c.values)).collect();
    // Decide per column first (cheap), then run the comparisons, which are independent.
    enum Planned {
        Done(ColumnDrift),
        Compare(String, ColumnValues, ColumnValues, ColumnOptions),
    }
    let mut planned = Vec::new();
    let mut schema_changes = Vec::new();
    for Column { name, mut values } in reference {
        let Some(mut current_values) = current.shift_remove(&name) else {
            if options.for_column(&name).is_some() {
                schema_changes.push(SchemaChange {
                    column: name,
                    change: SchemaChangeKind::Removed,
                    reference_kind: Some(values.kind()),
                    current_kind: None,
                });
            }
            continue;
        };
        let Some(column_options) = options.for_column(&name) else {
            planned.push(Planned::Done(ColumnDrift::skipped_with(
                &name,
                current_values.kind(),
                (values.rows(), 0),
                (current_values.rows(), 0),
                "ignored by the policy (drift.ignore)",
            )));
            continue;
        };
        if current_values.all_missing() && !values.all_missing() {
            current_values = current_values.missing_like(&values);
        } else if values.all_missing() && !current_values.all_missing() {
            values = values.missing_like(&current_values);
        }
        if !options.names_column(&name)
            && let Some(reason) = identifier_reason(&name, &values, &current_values, options)
        {
            planned.push(Planned::Done(ColumnDrift::skipped_with(
                &name,
                current_values.kind(),
                (values.rows(), values.nulls()),
                (current_values.rows(), current_values.nulls()),
                reason,
            )));
            continue;
        }
        if options.mode == Mode::Evidently {
            (values, current_values) = evidently_kinds(values, current_values);
        }
        if values.kind() != current_values.kind() {
            schema_changes.push(SchemaChange {
                column: name.clone(),
                change: SchemaChangeKind::KindChanged,
                reference_kind: Some(values.kind()),
                current_kind: Some(current_values.kind()),
            });
        }
        planned.push(Planned::Compare(
            name,
            values,
            current_values,
            column_options,
        ));
    }
    let columns = run_in_parallel(planned, |job| match job {
        Planned::Done(column) => column,
        Planned::Compare(name, reference, current, options) => {
            compare_columns(&name, reference, current, &options)
        }
    });
    for (name, values) in current {
        if options.for_column(&name).is_some() {
            schema_changes.push(SchemaChange {
                column: name,
                change: SchemaChangeKind::Added,
                reference_kind: None,
                current_kind: Some(values.kind()),
            });
        }
    }
    Ok(DatasetDrift::from_columns(
        columns,
        schema_changes,
        options.drift_share,
    ))
}

/// Values on each side before a column whose values are all distinct counts as an
/// identifier: in a handful of rows, distinct values are common in any column.
pub const MIN_IDENTIFIER_VALUES: usize = 20;

/// Why a column is an identifier and not tested, if it is one: the card declares it
/// (`governance.id`), or every value of both samples is distinct: strings, and integers
/// that are dense like row numbers (at least half the integers between the smallest and the
/// largest present). Distinct values alone are the norm for measurements: floats, and
/// integers of a wide range such as amounts in cents.
fn identifier_reason(
    name: &str,
    reference: &ColumnValues,
    current: &ColumnValues,
    options: &DriftOptions,
) -> Option<String> {
    if options.identifiers.iter().any(|id| id == name) {
        return Some(
            "identifier column (the card's governance.id); name it in drift.columns to test it"
                .to_owned(),
        );
    }
    match (distinct_values(reference), distinct_values(current)) {
        (Some(r), Some(c)) if r >= MIN_IDENTIFIER_VALUES && c >= MIN_IDENTIFIER_VALUES => {
            Some(format!(
                "identifier column: all {r} reference and {c} current values are distinct; name it in drift.columns to test it"
            ))
        }
        _ => None,
    }
}

/// The number of values when every non-missing value of a string column, or of an integer
/// column dense like row numbers, is distinct; `None` otherwise.
fn distinct_values(values: &ColumnValues) -> Option<usize> {
    match values {
        ColumnValues::Integer(v) => {
            let mut present: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
            present.sort_unstable_by(f64::total_cmp);
            let repeated = present.windows(2).any(|pair| pair[0] == pair[1]);
            let span = match (present.first(), present.last()) {
                (Some(first), Some(last)) => last - first + 1.0,
                _ => 0.0,
            };
            (!repeated && span <= 2.0 * present.len() as f64).then_some(present.len())
        }
        ColumnValues::Categorical(c) => {
            let mut seen = vec![false; c.levels.len()];
            let mut present = 0;
            for &code in &c.codes {
                if code == CategoricalValues::MISSING {
                    continue;
                }
                let slot = seen.get_mut(code as usize)?;
                if *slot {
                    return None;
                }
                *slot = true;
                present += 1;
            }
            Some(present)
        }
        _ => None,
    }
}

/// Integer columns with at most this many distinct values are categorical to Evidently
/// (its `INTEGER_CARDINALITY_LIMIT`).
const EVIDENTLY_INTEGER_CATEGORIES: usize = 10;

/// The kinds Evidently 0.7.23 infers when it is given no data definition
/// (`infer_column_type`), decided on the current sample as its report does, and the
/// reference read in that kind:
///
/// * an integer column with a missing value is float to pandas, hence numeric (binned as
///   floats) on both sides;
/// * an integer column (no missing values in the current sample) with at most 10 distinct
///   values is categorical;
/// * a string column whose distinct values are more than half its values is text.
fn evidently_kinds(reference: ColumnValues, current: ColumnValues) -> (ColumnValues, ColumnValues) {
    match (reference, current) {
        (reference, ColumnValues::Integer(current)) => {
            let current_has_missing = current.iter().any(|x| x.is_nan());
            let reference_has_missing = match &reference {
                ColumnValues::Integer(v) => v.iter().any(|x| x.is_nan()),
                _ => false,
            };
            if !current_has_missing && count_distinct(&current) <= EVIDENTLY_INTEGER_CATEGORIES {
                let reference = match reference {
                    ColumnValues::Integer(v) | ColumnValues::Numeric(v) => {
                        numbers_as_categories(&v)
                    }
                    other => other,
                };
                (reference, numbers_as_categories(&current))
            } else if current_has_missing || reference_has_missing {
                let reference = match reference {
                    ColumnValues::Integer(v) => ColumnValues::Numeric(v),
                    other => other,
                };
                (reference, ColumnValues::Numeric(current))
            } else {
                (reference, ColumnValues::Integer(current))
            }
        }
        (ColumnValues::Integer(reference), current @ ColumnValues::Numeric(_)) => {
            // pandas concatenates an int and a float column as floats.
            (ColumnValues::Numeric(reference), current)
        }
        (reference, ColumnValues::Categorical(current)) => {
            let present = current
                .codes
                .iter()
                .filter(|&&code| code != CategoricalValues::MISSING)
                .count();
            let mut used = vec![false; current.levels.len()];
            for &code in &current.codes {
                if let Some(slot) = used.get_mut(code as usize) {
                    *slot = true;
                }
            }
            let distinct = used.iter().filter(|&&u| u).count();
            if distinct as f64 > 0.5 * present as f64 {
                let as_text = |values: &ColumnValues| ColumnValues::Text {
                    rows: values.rows(),
                    nulls: values.nulls(),
                };
                let reference = match reference {
                    reference @ ColumnValues::Categorical(_) => as_text(&reference),
                    other => other,
                };
                let rows = current.codes.len();
                (
                    reference,
                    ColumnValues::Text {
                        rows,
                        nulls: rows - present,
                    },
                )
            } else {
                (reference, ColumnValues::Categorical(current))
            }
        }
        pair => pair,
    }
}

fn count_distinct(values: &[f64]) -> usize {
    let mut present: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    present.sort_unstable_by(f64::total_cmp);
    present.dedup();
    present.len()
}

/// Integer-valued numbers as categories named by their value (`3`, not `3.0`, as Python
/// counts `3` and `3.0` as one key).
fn numbers_as_categories(values: &[f64]) -> ColumnValues {
    ColumnValues::Categorical(CategoricalValues::from_strings(
        values
            .iter()
            .map(|&x| (!x.is_nan()).then(|| format!("{x}"))),
    ))
}

/// Maps `work` over `jobs` on up to `available_parallelism` threads, keeping the order.
/// Jobs are dealt round-robin; columns of a dataset cost about the same.
pub(crate) fn run_in_parallel<J: Send, R: Send>(
    jobs: Vec<J>,
    work: impl Fn(J) -> R + Sync,
) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(jobs.len());
    if workers <= 1 {
        return jobs.into_iter().map(work).collect();
    }
    let mut shares: Vec<Vec<(usize, J)>> = (0..workers).map(|_| Vec::new()).collect();
    for (index, job) in jobs.into_iter().enumerate() {
        shares[index % workers].push((index, job));
    }
    let work = &work;
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| {
                scope.spawn(move || {
                    share
                        .into_iter()
                        .map(|(index, job)| (index, work(job)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| match handle.join() {
                Ok(results) => results,
                // A panic in a worker is a bug; surface it on the caller's thread.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

fn check_unique(columns: &[Column], side: &'static str) -> Result<(), DriftError> {
    let mut seen = std::collections::HashSet::new();
    for column in columns {
        if !seen.insert(column.name.as_str()) {
            return Err(DriftError::DuplicateColumn {
                name: column.name.clone(),
                side,
            });
        }
    }
    Ok(())
}

/// One side after cleaning.
struct Side {
    rows: usize,
    removed: Removed,
}

/// Compares one column of the reference with the same column of the current sample.
/// Never fails: a column that cannot be tested comes back skipped, with the reason.
pub fn compare_columns(
    name: &str,
    reference: ColumnValues,
    current: ColumnValues,
    options: &ColumnOptions,
) -> ColumnDrift {
    let kind = current.kind();
    let reference_rows = reference.rows();
    let current_rows = current.rows();
    let skip = |reason: String, reference_nulls: usize, current_nulls: usize| {
        ColumnDrift::skipped_with(
            name,
            kind,
            (reference_rows, reference_nulls),
            (current_rows, current_nulls),
            reason,
        )
    };
    if reference.kind() != kind {
        return skip(
            format!(
                "the column is {} in the reference and {} in the current sample",
                reference.kind().as_str(),
                kind.as_str()
            ),
            0,
            0,
        );
    }
    if reference.all_missing() && current.all_missing() {
        return skip(
            "no values: every value is missing in both samples".into(),
            reference.nulls(),
            current.nulls(),
        );
    }
    let mut notes = Vec::new();
    let prepared = match (reference, current) {
        (
            ColumnValues::Unsupported { nulls: rn, .. },
            ColumnValues::Unsupported {
                type_name,
                nulls: cn,
                ..
            },
        ) => {
            return skip(
                format!("{type_name} columns are not tested (no drift test applies to them)"),
                rn,
                cn,
            );
        }
        (ColumnValues::Text { nulls: rn, .. }, ColumnValues::Text { nulls: cn, .. }) => {
            return skip(
                "text columns are not tested (Evidently's text drift trains a classifier)".into(),
                rn,
                cn,
            );
        }
        (ColumnValues::Datetime(r), ColumnValues::Datetime(c)) => {
            let nulls = |v: &[Option<i64>]| v.iter().filter(|x| x.is_none()).count();
            if options.mode == Mode::Evidently {
                return skip(
                    "Evidently does not test datetime columns".into(),
                    nulls(&r),
                    nulls(&c),
                );
            }
            notes.push("datetime tested as numeric epoch values".to_owned());
            let as_numbers = |v: Vec<Option<i64>>| -> Vec<f64> {
                v.into_iter()
                    .map(|x| x.map_or(f64::NAN, |t| t as f64))
                    .collect()
            };
            prepare_numeric(as_numbers(r), as_numbers(c), true)
        }
        (ColumnValues::Categorical(r), ColumnValues::Categorical(c)) => {
            match sample::count_categories(&r, &c) {
                Ok((pair, r_removed, c_removed)) => {
                    category_notes(&pair, &mut notes);
                    (
                        PairData::Categorical(pair),
                        Side {
                            rows: reference_rows,
                            removed: r_removed,
                        },
                        Side {
                            rows: current_rows,
                            removed: c_removed,
                        },
                    )
                }
                Err(reason) => return skip(reason, 0, 0),
            }
        }
        (ColumnValues::Integer(r), ColumnValues::Integer(c)) => prepare_numeric(r, c, true),
        (
            ColumnValues::Numeric(r) | ColumnValues::Integer(r),
            ColumnValues::Numeric(c) | ColumnValues::Integer(c),
        ) => prepare_numeric(r, c, false),
        _ => return skip("the two samples have different kinds".into(), 0, 0),
    };
    let (mut data, reference_side, current_side) = prepared;
    null_notes(&reference_side, &current_side, &mut notes);
    let (tested_reference, distinct, categorical) = match &data {
        // The choice only asks whether there are more than 5: stop counting at 6.
        PairData::Numeric(pair) => (pair.reference.len(), pair.distinct_up_to(6), false),
        PairData::Categorical(pair) => (
            pair.table.reference_total() as usize,
            pair.levels.len(),
            true,
        ),
    };
    let tested_current = match &data {
        PairData::Numeric(pair) => pair.current.len(),
        PairData::Categorical(pair) => pair.table.current_total() as usize,
    };
    let (reference_nulls, current_nulls) =
        (reference_side.removed.nulls, current_side.removed.nulls);
    for (side, count) in [("reference", tested_reference), ("current", tested_current)] {
        if count == 0 {
            let mut column = skip(
                format!(
                    "the {side} sample has no values left after removing missing and infinite values"
                ),
                reference_nulls,
                current_nulls,
            );
            column.notes.extend(notes);
            return column;
        }
    }

    let automatic = default_stattest(categorical, tested_reference, distinct);
    let test = match (options.stattest, options.dataset_stattest) {
        (Some(test), _) => {
            if categorical && test.numeric_only() {
                let mut column = skip(
                    format!(
                        "{test} needs ordered values and does not apply to a categorical column"
                    ),
                    reference_nulls,
                    current_nulls,
                );
                column.notes.extend(notes);
                return column;
            }
            test
        }
        (None, Some(test)) if categorical && test.numeric_only() => {
            notes.push(format!(
                "{test} does not apply to a categorical column; used the automatic test {automatic}"
            ));
            automatic
        }
        (None, Some(test)) => test,
        (None, None) => automatic,
    };
    let threshold = options.threshold.unwrap_or(test.default_threshold());
    let result = match &mut data {
        // Exact without sorting: millions of values cost a pass, not a sort.
        PairData::Numeric(pair) if test == StatTest::Wasserstein => {
            Ok(Outcome::distance(rank::wasserstein_normed_unsorted(pair)))
        }
        PairData::Numeric(pair) => {
            pair.sort();
            stattest::run(test, &data, options.mode)
        }
        PairData::Categorical(_) => stattest::run(test, &data, options.mode),
    };
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(reason) => {
            let mut column = skip(format!("{test}: {reason}"), reference_nulls, current_nulls);
            column.notes.extend(notes);
            return column;
        }
    };
    let Outcome {
        statistic,
        p_value,
        score,
        notes: test_notes,
    } = outcome;
    notes.extend(test_notes);
    let drifted = if score.is_nan() {
        notes.push(format!(
            "the {test} score is undefined for these samples; not counted as drift"
        ));
        false
    } else {
        test.rule().drifted(score, threshold)
    };
    ColumnDrift {
        name: name.to_owned(),
        kind,
        stattest: Some(test),
        statistic: Some(statistic).filter(|s| s.is_finite()),
        p_value: p_value.filter(|p| p.is_finite()),
        threshold: Some(threshold),
        drifted,
        reference_rows,
        current_rows,
        reference_nulls,
        current_nulls,
        notes,
    }
}

fn prepare_numeric(
    reference: Vec<f64>,
    current: Vec<f64>,
    integer: bool,
) -> (PairData, Side, Side) {
    let reference_rows = reference.len();
    let current_rows = current.len();
    // Not sorted yet: the automatic test for many values (wasserstein) needs no order.
    let (reference, reference_removed) = sample::clean_numeric_unsorted(reference);
    let (current, current_removed) = sample::clean_numeric_unsorted(current);
    (
        PairData::Numeric(NumericPair {
            reference,
            current,
            integer,
        }),
        Side {
            rows: reference_rows,
            removed: reference_removed,
        },
        Side {
            rows: current_rows,
            removed: current_removed,
        },
    )
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

fn null_notes(reference: &Side, current: &Side, notes: &mut Vec<String>) {
    let (rn, cn) = (reference.removed.nulls, current.removed.nulls);
    if rn > 0 || cn > 0 {
        let (rs, cs) = (share(rn, reference.rows), share(cn, current.rows));
        notes.push(format!(
            "missing values: {rs:.2}% of the reference ({rn}), {cs:.2}% of the current sample ({cn}), {:+.2} points",
            cs - rs
        ));
    }
    let (ri, ci) = (reference.removed.infinite, current.removed.infinite);
    if ri > 0 || ci > 0 {
        notes.push(format!(
            "infinite values removed before testing: {ri} in the reference, {ci} in the current sample"
        ));
    }
}

fn category_notes(pair: &CategoricalPair, notes: &mut Vec<String>) {
    const SHOWN: usize = 10;
    let list = |names: Vec<&str>| {
        let shown: Vec<&str> = names.iter().take(SHOWN).copied().collect();
        match names.len().saturating_sub(SHOWN) {
            0 => shown.join(", "),
            more => format!("{} and {more} more", shown.join(", ")),
        }
    };
    let new: Vec<&str> = pair
        .levels
        .iter()
        .zip(pair.table.reference.iter().zip(&pair.table.current))
        .filter(|(_, (r, c))| **r == 0 && **c > 0)
        .map(|(level, _)| level.as_str())
        .collect();
    let vanished: Vec<&str> = pair
        .levels
        .iter()
        .zip(pair.table.reference.iter().zip(&pair.table.current))
        .filter(|(_, (r, c))| **r > 0 && **c == 0)
        .map(|(level, _)| level.as_str())
        .collect();
    if !new.is_empty() {
        notes.push(format!(
            "new categories in the current sample: {}",
            list(new)
        ));
    }
    if !vanished.is_empty() {
        notes.push(format!(
            "categories absent from the current sample: {}",
            list(vanished)
        ));
    }
}
