//! Data profiles: what drift needs of a dataset, without its rows (`modelgate.profile/v1`).
//!
//! A profile keeps, per column, counts, an Apache DataSketches KLL sketch of the values
//! (numeric and datetime), exact category counts up to [`CATEGORY_LIMIT`] levels and a
//! frequent-items sketch beyond, and a HyperLogLog sketch of the distinct values. Profiles of
//! partitions merge into the profile of the whole (within the sketches' error).
//!
//! Drift on a profile rebuilds each column as the sample whose empirical distribution *is*
//! the sketch's (values at evenly spaced ranks of the KLL sketch, categories at their counts)
//! and runs the drift engine on it, so a profile is tested by exactly the rules a raw file is;
//! the notes then state the sketch's rank error and whether it could flip the verdict.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use datasketches::common::SearchCriteria;
use datasketches::frequencies::{ErrorType, FrequentItemsSketch};
use datasketches::hll::{HllSketch, HllType, HllUnion};
use datasketches::kll::{KllFloat, KllSketch};
use serde::{Deserialize, Serialize};

use crate::drift::{
    CategoricalValues, Column, ColumnDrift, ColumnOverride, ColumnValues, DatasetDrift, DriftError,
    DriftOptions, StatTest, compare_datasets, ks, run_in_parallel,
};
use crate::table::{Progress, Table, TableError, for_each_column_group};

/// Whether a data file named by a card or given to `drift` is a profile: a `.json` file
/// (data files are `.csv`, `.parquet`, `.ndjson`; profiles are named `*.profile.json`).
pub fn is_profile_path(path: &str) -> bool {
    path.rsplit_once('.')
        .is_some_and(|(_, extension)| extension.eq_ignore_ascii_case("json"))
}

/// The `schema` of every profile this version writes and reads.
pub const SCHEMA: &str = "modelgate.profile/v1";
/// The default KLL `k`: normalized rank error about 0.33% (DataSketches' formula), which keeps
/// the normalised Wasserstein distance of merged partitions within 0.02 of the whole even on
/// log-normal columns, at about 30 KB a column.
pub const DEFAULT_K: u16 = 1000;
/// Categories up to which a column's categories are counted exactly; beyond, they go to a
/// frequent-items sketch.
pub const CATEGORY_LIMIT: usize = 1000;
/// Distinct numbers (or times) up to which a column's values are also kept exactly, as the
/// KLL sketch itself is exact below its `k`: a small column is tested as its raw file is.
pub const EXACT_VALUES_LIMIT: usize = 10_000;
/// Map size of the frequent-items sketch (a power of two): items rarer than about
/// 3.5 / 4096 of the rows may be missed, the error bound is recorded.
const FREQUENT_ITEMS_MAP_SIZE: usize = 4096;
/// HyperLogLog precision: about 1.6% relative error on the distinct count.
const HLL_LG_K: u8 = 12;
/// Values a side of a column is rebuilt with from exact counts, at most; a longer side is
/// scaled down to this many (its distribution kept).
const REBUILT_MAX_VALUES: usize = 1_000_000;
/// Ranks a sketched column is rebuilt at: spaced 1/5,000 apart, far finer than the sketch's
/// rank error, so the distances are the sketch's own; KS p-values use the true sizes.
const SKETCH_RANKS: u64 = 5_000;
/// Values a categorical side is rebuilt with, at most; its test is then run again on the
/// profile's full counts.
const CATEGORIES_REBUILT: u64 = 10_000;
/// Label of the rows a frequent-items sketch does not name.
const OTHER_CATEGORIES: &str = "(other categories)";

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("{file}: line {line}, column {column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("drift: {0}")]
    Drift(#[from] DriftError),
}

/// A profile file, field by field as README's "Data profiles" describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub schema: String,
    /// The data profiled (file names, merged with `+`).
    pub source: String,
    pub rows: u64,
    /// The KLL sketches' `k`, and their normalized (single-sided) rank error.
    pub kll_k: u16,
    pub kll_normalized_rank_error: f64,
    /// Categories counted exactly, at most, and distinct numbers kept exactly, at most.
    pub category_limit: usize,
    pub exact_values_limit: usize,
    pub columns: Vec<ColumnProfile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnProfile {
    pub name: String,
    /// As `drift` infers it: numeric, categorical, datetime, text or unsupported.
    pub kind: ProfileKind,
    pub rows: u64,
    pub nulls: u64,
    /// HyperLogLog estimate of the distinct non-missing values (exact when `values` or
    /// `categories.counts` is present).
    pub distinct_estimate: f64,
    /// An identifier to drift: every category distinct, or every integer distinct and dense
    /// like row numbers. Such a column is not tested unless the policy names it.
    pub identifier_like: bool,
    /// Base64 of the DataSketches HLL_8 sketch of the values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hll: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric: Option<NumericProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<CategoryProfile>,
    /// The storage type of an unsupported column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileKind {
    Numeric,
    Integer,
    Categorical,
    Datetime,
    Text,
    Unsupported,
}

/// Numeric and datetime columns (datetimes as epoch values in the file's unit).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumericProfile {
    /// Finite values.
    pub count: u64,
    pub positive_infinite: u64,
    pub negative_infinite: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    /// Σ (x − mean)², merged exactly by Chan's formula (the population variance is this / count).
    pub sum_of_squared_deviations: f64,
    /// Base64 of the DataSketches KLL sketch: doubles for numeric columns, longs (i64) for
    /// datetime columns.
    pub kll: String,
    /// `[value, count]` of every distinct finite value (value as shortest round-trip text),
    /// while there are at most `exact_values_limit` of them; absent beyond.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<(String, u64)>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryProfile {
    /// `[category, count]`, exact, while there are at most `category_limit` categories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Vec<(String, u64)>>,
    /// Beyond: base64 of a DataSketches frequent-items sketch of strings, and its maximum
    /// error on any count (an estimate is at most this much above the true count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequent_items: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequent_items_maximum_error: Option<u64>,
}

type DoubleSketch = KllSketch<KllFloat<f64>>;

impl Profile {
    /// Profiles every column of `table`, a group of columns at a time.
    pub fn of_table(
        table: &Table,
        k: u16,
        progress: Option<Arc<Progress>>,
    ) -> Result<Profile, ProfileError> {
        let invalid_k = |message: String| ProfileError::Invalid {
            file: table.name.clone(),
            message,
        };
        let probe = DoubleSketch::new(k).map_err(|e| invalid_k(format!("kll k {k}: {e}")))?;
        // The next group is read while this one is profiled, its columns on every core.
        let mut columns = Vec::new();
        let rows = for_each_column_group(table, progress, |group| {
            columns.extend(run_in_parallel(group, |column| profile_column(column, k)));
        })?;
        let columns = columns
            .into_iter()
            .collect::<Result<Vec<_>, String>>()
            .map_err(invalid_k)?;
        Ok(Profile {
            schema: SCHEMA.to_owned(),
            source: table.name.clone(),
            rows,
            kll_k: k,
            kll_normalized_rank_error: probe.normalized_rank_error(),
            category_limit: CATEGORY_LIMIT,
            exact_values_limit: EXACT_VALUES_LIMIT,
            columns,
        })
    }

    /// Reads a profile; every error names the file, and a syntax error its line and column.
    pub fn from_json(file: &str, bytes: &[u8]) -> Result<Profile, ProfileError> {
        let profile: Profile = serde_json::from_slice(bytes).map_err(|e| ProfileError::Syntax {
            file: file.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| ProfileError::Invalid {
            file: file.to_owned(),
            message,
        };
        if profile.schema != SCHEMA {
            return Err(invalid(format!(
                "schema `{}` is not supported; expected `{SCHEMA}`",
                profile.schema
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for column in &profile.columns {
            if !seen.insert(column.name.as_str()) {
                return Err(invalid(format!("column `{}` is listed twice", column.name)));
            }
            column
                .check()
                .map_err(|message| invalid(format!("column `{}`: {message}", column.name)))?;
        }
        Ok(profile)
    }

    pub fn to_json(&self) -> String {
        // Serialising plain data cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Merges profiles of partitions of one dataset: the same columns, kinds and `k`.
    pub fn merge(parts: &[(String, Profile)]) -> Result<Profile, ProfileError> {
        let Some(((first_file, first), rest)) = parts.split_first() else {
            return Err(ProfileError::Invalid {
                file: "--merge".to_owned(),
                message: "expected at least one profile".to_owned(),
            });
        };
        let mut merged = first.clone();
        for (file, part) in rest {
            let invalid = |message: String| ProfileError::Invalid {
                file: file.clone(),
                message,
            };
            if part.kll_k != merged.kll_k {
                return Err(invalid(format!(
                    "kll_k {} differs from {first_file}'s {}; profile both with the same --k",
                    part.kll_k, merged.kll_k
                )));
            }
            let names = |p: &Profile| p.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
            if names(part) != names(&merged) {
                return Err(invalid(format!(
                    "columns [{}] differ from {first_file}'s [{}]; partitions of one dataset have the same columns",
                    names(part).join(", "),
                    names(&merged).join(", ")
                )));
            }
            for (into, column) in merged.columns.iter_mut().zip(&part.columns) {
                into.merge(column)
                    .map_err(|message| invalid(format!("column `{}`: {message}", column.name)))?;
            }
            merged.rows += part.rows;
            merged.source = format!("{} + {}", merged.source, part.source);
        }
        Ok(merged)
    }

    /// The columns rebuilt for the drift engine, and what each rebuilt side stands for.
    fn rebuilt(&self) -> Result<(Vec<Column>, HashMap<String, Rebuilt>), ProfileError> {
        let mut columns = Vec::with_capacity(self.columns.len());
        let mut how = HashMap::new();
        for column in &self.columns {
            let (values, rebuilt) =
                column
                    .rebuild(0.0, None)
                    .map_err(|message| ProfileError::Invalid {
                        file: self.source.clone(),
                        message: format!("column `{}`: {message}", column.name),
                    })?;
            how.insert(column.name.clone(), rebuilt);
            columns.push(Column::new(column.name.clone(), values));
        }
        Ok((columns, how))
    }
}

/// Drift between two profiles (a raw file is profiled first, with the other side's `k`).
pub fn compare_profiles<'a>(
    reference: &'a Profile,
    current: &'a Profile,
    options: &DriftOptions,
) -> Result<DatasetDrift, ProfileError> {
    let (reference_columns, reference_how) = reference.rebuilt()?;
    let (current_columns, current_how) = current.rebuilt()?;
    let identifiers: Vec<String> = reference
        .columns
        .iter()
        .filter(|column| {
            column.identifier_like
                && column.nulls < column.rows
                && !options.names_column(&column.name)
                && current
                    .columns
                    .iter()
                    .any(|c| c.name == column.name && c.identifier_like && c.kind == column.kind)
                && matches!(column.kind, ProfileKind::Integer | ProfileKind::Categorical)
        })
        .map(|column| column.name.clone())
        .collect();
    let mut drift = compare_datasets(reference_columns, current_columns, options)?;
    let column_named =
        |profile: &'a Profile, name: &str| profile.columns.iter().find(|c| c.name == name);
    let mut bands = Vec::new();
    for (index, column) in drift.columns.iter_mut().enumerate() {
        let (Some(r), Some(c)) = (
            reference_how.get(&column.name),
            current_how.get(&column.name),
        ) else {
            continue;
        };
        (column.reference_rows, column.reference_nulls) = (r.rows as usize, r.nulls as usize);
        (column.current_rows, column.current_nulls) = (c.rows as usize, c.nulls as usize);
        if identifiers.contains(&column.name) && !column.skipped() {
            *column = ColumnDrift::skipped_with(
                &column.name,
                column.kind,
                (column.reference_rows, column.reference_nulls),
                (column.current_rows, column.current_nulls),
                format!(
                    "identifier column: all {} reference and {} current values are distinct; name it in drift.columns to test it",
                    r.rows - r.nulls,
                    c.rows - c.nulls
                ),
            );
            continue;
        }
        if column.skipped() {
            continue;
        }
        column.notes.extend(sketch_notes(r, c));
        let (Some(test), Some(threshold)) = (column.stattest, column.threshold) else {
            continue;
        };
        if let (Some(reference_counts), Some(current_counts)) = (&r.counts, &c.counts) {
            if r.scaled_down() || c.scaled_down() {
                on_full_counts(column, reference_counts, current_counts, options).map_err(
                    |message| ProfileError::Invalid {
                        file: reference.source.clone(),
                        message: format!("column `{}`: {message}", column.name),
                    },
                )?;
            }
            continue;
        }
        if r.rank_error.is_none() && c.rank_error.is_none() {
            continue;
        }
        if test.needs_raw_values() {
            *column = ColumnDrift::skipped_with(
                &column.name,
                column.kind,
                (column.reference_rows, column.reference_nulls),
                (column.current_rows, column.current_nulls),
                format!(
                    "{test} needs every raw value, and a profile keeps a KLL sketch of this column; use ks, wasserstein, psi, kl_div, jensenshannon or hellinger"
                ),
            );
            continue;
        }
        with_exact_spread(column, r);
        if test == StatTest::Ks
            && let Some(statistic) = column.statistic
        {
            let p = ks::asymptotic_p_value(r.finite, c.finite, statistic);
            column.p_value = Some(p);
            column.drifted = test.rule().drifted(p, threshold);
            column
                .notes
                .retain(|note| !note.starts_with("Kolmogorov-Smirnov p-value"));
            column.notes.push(format!(
                "Kolmogorov-Smirnov p-value: asymptotic, for the profiles' {} and {} values",
                r.finite, c.finite
            ));
        }
        if let (Some(reference_column), Some(current_column)) = (
            column_named(reference, &column.name),
            column_named(current, &column.name),
        ) {
            bands.push((index, reference_column, current_column));
        }
    }
    // Each band reruns a column's test twice: the columns are spread over the cores.
    let columns = &drift.columns;
    let notes = run_in_parallel(bands, |(index, reference_column, current_column)| {
        let column = &columns[index];
        let (r, c) = (&reference_how[&column.name], &current_how[&column.name]);
        score_band(column, (reference_column, r), (current_column, c), options)
            .map(|band| (index, band))
    });
    for note in notes {
        let (index, band) = note?;
        if !band.is_empty() {
            drift.columns[index].notes.push(band);
        }
    }
    Ok(DatasetDrift::from_columns(
        drift.columns,
        drift.schema_changes,
        options.drift_share,
    ))
}

/// A categorical test run again on the profiles' full counts (the values were rebuilt scaled
/// down): its statistic and p-value are those of the counts themselves.
fn on_full_counts(
    column: &mut ColumnDrift,
    reference: &[(String, u64)],
    current: &[(String, u64)],
    options: &DriftOptions,
) -> Result<(), String> {
    let (Some(test), Some(threshold)) = (column.stattest, column.threshold) else {
        return Ok(());
    };
    let (statistic, p_value, score) =
        crate::drift::test_category_counts(test, reference, current, options.mode)?;
    column.statistic = Some(statistic).filter(|s| s.is_finite());
    column.p_value = p_value.filter(|p| p.is_finite());
    column.drifted = !score.is_nan() && test.rule().drifted(score, threshold);
    Ok(())
}

/// Normed Wasserstein divides by the reference's standard deviation: the exact one, which
/// the profile keeps, in place of the rebuilt values' (a sketch blurs a heavy tail).
fn with_exact_spread(column: &mut ColumnDrift, reference: &Rebuilt) {
    if column.stattest == Some(StatTest::Wasserstein)
        && let (Some(ratio), Some(statistic), Some(threshold)) =
            (reference.std_ratio, column.statistic, column.threshold)
    {
        let statistic = statistic / ratio;
        column.statistic = Some(statistic);
        column.drifted = StatTest::Wasserstein.rule().drifted(statistic, threshold);
    }
}

/// The score of a column, a p-value or a distance; for KS from the profiles' true sizes.
fn score(column: &ColumnDrift, reference: &Rebuilt, current: &Rebuilt) -> Option<f64> {
    let test = column.stattest?;
    if test == StatTest::Ks {
        let statistic = column.statistic?;
        return Some(ks::asymptotic_p_value(
            reference.finite,
            current.finite,
            statistic,
        ));
    }
    if test.rule().uses_p_value() {
        column.p_value
    } else {
        column.statistic
    }
}

/// Whether the sketches' error could flip the column's verdict: the test is run again with
/// each side's ranks shifted by its rank error, in both opposite directions (the true
/// distributions lie within that band of the sketches'), and the note states the scores'
/// range and its verdicts.
fn score_band(
    column: &ColumnDrift,
    (reference, r): (&ColumnProfile, &Rebuilt),
    (current, c): (&ColumnProfile, &Rebuilt),
    options: &DriftOptions,
) -> Result<String, ProfileError> {
    let (Some(test), Some(threshold), Some(nominal)) =
        (column.stattest, column.threshold, score(column, r, c))
    else {
        return Ok(String::new());
    };
    let single = DriftOptions {
        stattest: None,
        threshold: None,
        columns: [(
            column.name.clone(),
            ColumnOverride {
                stattest: Some(test),
                threshold: Some(threshold),
            },
        )]
        .into_iter()
        .collect(),
        ignore: Vec::new(),
        identifiers: Vec::new(),
        ..options.clone()
    };
    let (mut low, mut high) = (nominal, nominal);
    for sign in [1.0, -1.0] {
        let rebuild = |profile: &ColumnProfile, shift: f64, seed: &Rebuilt| {
            profile
                .rebuild(shift, Some(seed))
                .map(|(values, how)| (Column::new(column.name.clone(), values), how))
                .map_err(|message| ProfileError::Invalid {
                    file: "profile".to_owned(),
                    message: format!("column `{}`: {message}", column.name),
                })
        };
        let (reference_values, reference_how) =
            rebuild(reference, sign * r.rank_error.unwrap_or(0.0), r)?;
        let (current_values, _) = rebuild(current, -sign * c.rank_error.unwrap_or(0.0), c)?;
        let mut shifted = compare_datasets(vec![reference_values], vec![current_values], &single)?;
        if let Some(shifted) = shifted.columns.first_mut() {
            with_exact_spread(shifted, &reference_how);
            if let Some(value) = score(shifted, r, c) {
                (low, high) = (low.min(value), high.max(value));
            }
        }
    }
    let rule = test.rule();
    let what = if rule.uses_p_value() {
        format!("{test} p-value")
    } else {
        format!("{test} distance")
    };
    let flips = rule.drifted(low, threshold) != rule.drifted(high, threshold);
    Ok(format!(
        "{what} within the sketches' rank error: {} to {} (threshold {threshold}); {}",
        short(low),
        short(high),
        if flips {
            "the verdict could flip within the sketch error"
        } else {
            "the verdict holds within the sketch error"
        }
    ))
}

fn short(value: f64) -> String {
    if value != 0.0 && value.abs() < 1e-4 {
        format!("{value:.2e}")
    } else {
        format!("{value:.4}")
    }
}

impl Rebuilt {
    /// Fewer values rebuilt than the side has.
    fn scaled_down(&self) -> bool {
        self.values < self.rows - self.nulls
    }
}

/// How a side of a column was rebuilt from its profile.
#[derive(Debug, Clone)]
struct Rebuilt {
    rows: u64,
    nulls: u64,
    /// Finite values in the profiled data (what a KS p-value is computed for).
    finite: u64,
    /// Values rebuilt (fewer than the column's when it was longer than the limit).
    values: u64,
    /// The KLL rank error when the values come from a sketch, not exact counts.
    rank_error: Option<f64>,
    /// The frequent-items error bound when categories come from that sketch.
    frequency_error: Option<u64>,
    /// A sketched column's values at evenly spaced ranks, and the sketch's rank error: what
    /// a shifted rebuild starts from.
    ranked: Option<(Arc<Vec<f64>>, f64)>,
    /// A categorical side's full counts (its values may have been rebuilt scaled down).
    counts: Option<Vec<(String, u64)>>,
    /// The exact standard deviation over the rebuilt values' (sketched columns): a sketch
    /// blurs a heavy tail, and the profile knows the true spread.
    std_ratio: Option<f64>,
}

/// The profile's part in a column's verdict: where its values came from, and whether the
/// sketches' error could change the verdict.
fn sketch_notes(reference: &Rebuilt, current: &Rebuilt) -> Vec<String> {
    let mut notes = Vec::new();
    for (side, rebuilt) in [("reference", reference), ("current", current)] {
        if let Some(error) = rebuilt.rank_error {
            notes.push(format!(
                "{side} from a profile: KLL sketch, normalized rank error {:.4}{}",
                error,
                if rebuilt.scaled_down() {
                    format!(
                        "; rebuilt at {} ranks (p-values as for that many values)",
                        rebuilt.values
                    )
                } else {
                    String::new()
                }
            ));
        }
        if let Some(error) = rebuilt.frequency_error {
            notes.push(format!(
                "{side} from a profile: frequent-items sketch, counts overstated by at most {error}; rarer categories counted as `{OTHER_CATEGORIES}`"
            ));
        }
    }
    notes
}

impl ColumnProfile {
    fn check(&self) -> Result<(), String> {
        if self.nulls > self.rows {
            return Err(format!("{} nulls in {} rows", self.nulls, self.rows));
        }
        let needs_numbers = matches!(
            self.kind,
            ProfileKind::Numeric | ProfileKind::Integer | ProfileKind::Datetime
        );
        if needs_numbers && self.numeric.is_none() {
            return Err(format!("a {:?} column needs `numeric`", self.kind).to_lowercase());
        }
        if self.kind == ProfileKind::Categorical {
            match &self.categories {
                Some(c) if c.counts.is_some() || c.frequent_items.is_some() => {}
                _ => return Err(
                    "a categorical column needs `categories.counts` or `categories.frequent_items`"
                        .into(),
                ),
            }
        }
        if let Some(numeric) = &self.numeric {
            let finite = numeric.count + numeric.positive_infinite + numeric.negative_infinite;
            if finite + self.nulls != self.rows {
                return Err(format!(
                    "{} values, {} infinite and {} nulls do not add up to {} rows",
                    numeric.count,
                    numeric.positive_infinite + numeric.negative_infinite,
                    self.nulls,
                    self.rows
                ));
            }
            decode_double_sketch(&numeric.kll)?;
        }
        Ok(())
    }

    fn merge(&mut self, other: &ColumnProfile) -> Result<(), String> {
        if other.kind != self.kind {
            return Err(format!(
                "kind {:?} differs from {:?}",
                other.kind, self.kind
            ));
        }
        self.rows += other.rows;
        self.nulls += other.nulls;
        let mut union = HllUnion::new(HLL_LG_K).map_err(|e| e.to_string())?;
        for hll in [&self.hll, &other.hll].into_iter().flatten() {
            union.update(&decode_hll(hll)?);
        }
        let hll = union.to_sketch(HllType::Hll8);
        self.hll = Some(BASE64.encode(hll.serialize()));
        self.distinct_estimate = hll.estimate();
        // Two partitions of distinct values stay distinct only if they share none: as far as
        // the HLL sketch can tell (within its error).
        let present = (self.rows - self.nulls) as f64;
        let mut identifier_like = self.identifier_like
            && other.identifier_like
            && self.distinct_estimate >= 0.97 * present;
        if let (Some(into), Some(from)) = (&mut self.numeric, &other.numeric) {
            merge_numeric(into, from, self.kind == ProfileKind::Datetime)?;
            if let Some(values) = &into.values {
                self.distinct_estimate = values.len() as f64;
                identifier_like &= values.iter().all(|(_, n)| *n == 1);
            }
            if let (Some(min), Some(max)) = (into.min, into.max) {
                identifier_like &= max - min + 1.0 <= 2.0 * into.count as f64;
            }
        }
        if let (Some(into), Some(from)) = (&mut self.categories, &other.categories) {
            merge_categories(into, from)?;
            if let Some(counts) = &into.counts {
                self.distinct_estimate = counts.len() as f64;
                identifier_like &= counts.iter().all(|(_, n)| *n == 1);
            }
        }
        self.identifier_like = identifier_like;
        Ok(())
    }

    /// The column as values the drift engine reads, and how it was rebuilt.
    /// The column as values for the drift engine; `rank_shift` moves a sketched column's
    /// ranks (to bound the sketch's error), exact values are unaffected.
    /// `seed`: an earlier rebuild of this column, whose ranked values are reused.
    fn rebuild(
        &self,
        rank_shift: f64,
        seed: Option<&Rebuilt>,
    ) -> Result<(ColumnValues, Rebuilt), String> {
        let present = self.rows - self.nulls;
        let mut rebuilt = Rebuilt {
            rows: self.rows,
            nulls: self.nulls,
            finite: self.numeric.as_ref().map_or(present, |n| n.count),
            values: present,
            rank_error: None,
            frequency_error: None,
            std_ratio: None,
            counts: None,
            ranked: seed.and_then(|s| s.ranked.clone()),
        };
        let values = match (self.kind, &self.numeric, &self.categories) {
            (ProfileKind::Text, _, _) => ColumnValues::Text {
                rows: self.rows as usize,
                nulls: self.nulls as usize,
            },
            (ProfileKind::Unsupported, _, _) => ColumnValues::Unsupported {
                type_name: self
                    .type_name
                    .clone()
                    .unwrap_or_else(|| "unsupported".into()),
                rows: self.rows as usize,
                nulls: self.nulls as usize,
            },
            (ProfileKind::Datetime, Some(numeric), _) => {
                let (values, kept) = numeric_values(numeric, rank_shift, &mut rebuilt)?;
                let nulls = scaled(self.nulls, kept, numeric.count);
                let mut out: Vec<Option<i64>> =
                    values.into_iter().map(|v| Some(v as i64)).collect();
                out.extend(std::iter::repeat_n(None, nulls));
                ColumnValues::Datetime(out)
            }
            (ProfileKind::Numeric | ProfileKind::Integer, Some(numeric), _) => {
                let (mut values, kept) = numeric_values(numeric, rank_shift, &mut rebuilt)?;
                let scale = |count: u64| scaled(count, kept, numeric.count);
                values.extend(std::iter::repeat_n(
                    f64::INFINITY,
                    scale(numeric.positive_infinite),
                ));
                values.extend(std::iter::repeat_n(
                    f64::NEG_INFINITY,
                    scale(numeric.negative_infinite),
                ));
                values.extend(std::iter::repeat_n(f64::NAN, scale(self.nulls)));
                if self.kind == ProfileKind::Integer {
                    ColumnValues::Integer(values)
                } else {
                    ColumnValues::Numeric(values)
                }
            }
            (ProfileKind::Categorical, _, Some(categories)) => {
                let counts: Vec<(String, u64)> =
                    match (&categories.counts, &categories.frequent_items) {
                        (Some(counts), _) => counts.clone(),
                        (None, Some(sketch)) => {
                            let bytes = BASE64
                                .decode(sketch)
                                .map_err(|e| format!("frequent_items is not base64: {e}"))?;
                            let sketch = FrequentItemsSketch::<String>::deserialize(&bytes)
                                .map_err(|e| format!("frequent_items: {e}"))?;
                            rebuilt.frequency_error = Some(sketch.maximum_error());
                            let mut counts: Vec<(String, u64)> = sketch
                                .frequent_items(ErrorType::NoFalsePositives)
                                .into_iter()
                                .map(|row| (row.item().clone(), row.lower_bound()))
                                .collect();
                            let named: u64 = counts.iter().map(|(_, c)| c).sum();
                            if present > named {
                                counts.push((OTHER_CATEGORIES.to_owned(), present - named));
                            }
                            counts
                        }
                        (None, None) => return Err("no category counts".into()),
                    };
                let total: u64 = counts.iter().map(|(_, c)| c).sum();
                let kept = total.min(CATEGORIES_REBUILT);
                rebuilt.values = kept;
                let mut encoded = CategoricalValues::default();
                for (code, (level, count)) in counts.iter().enumerate() {
                    encoded.levels.push(level.clone());
                    let repeat = scaled(*count, kept, total);
                    encoded
                        .codes
                        .extend(std::iter::repeat_n(code as u32, repeat));
                }
                let nulls = scaled(self.nulls, kept, total.max(1));
                encoded
                    .codes
                    .extend(std::iter::repeat_n(CategoricalValues::MISSING, nulls));
                rebuilt.counts = Some(counts);
                ColumnValues::Categorical(encoded)
            }
            (kind, _, _) => return Err(format!("a {kind:?} column without its summary")),
        };
        Ok((values, rebuilt))
    }
}

/// A numeric or time column's finite values: exact, or rebuilt from its KLL sketch at evenly
/// spaced ranks (noting the sketch's error and how its spread compares with the exact one).
fn numeric_values(
    numeric: &NumericProfile,
    rank_shift: f64,
    rebuilt: &mut Rebuilt,
) -> Result<(Vec<f64>, u64), String> {
    if let Some(values) = &numeric.values {
        rebuilt.values = numeric.count;
        return Ok((exact_values(values, numeric.count)?, numeric.count));
    }
    // The sketch is decoded and queried once per column; shifted rebuilds reuse its ranks.
    let (ranked, rank_error) = match rebuilt.ranked.clone() {
        Some(ranked) => ranked,
        None => {
            let sketch = decode_double_sketch(&numeric.kll)?;
            let view = sketch.sorted_view();
            let values = evenly_ranked(numeric.count.min(SKETCH_RANKS), |rank| {
                view.quantile(rank, SearchCriteria::Inclusive)
                    .ok()
                    .flatten()
                    .map(|v| *v)
            });
            (Arc::new(values), sketch.normalized_rank_error())
        }
    };
    rebuilt.ranked = Some((ranked.clone(), rank_error));
    let mut values = shifted_ranks(&ranked, rank_shift);
    let kept = values.len() as u64;
    rebuilt.values = kept;
    rebuilt.rank_error = Some(rank_error);
    if let (Some(mean), Some(min), Some(max)) = (numeric.mean, numeric.min, numeric.max) {
        match_tail_to_mean(&mut values, rank_error, mean, (min, max));
    }
    let mut moments = Moments::default();
    values.iter().for_each(|&x| moments.push(x));
    let rebuilt_std = (moments.m2 / moments.count.max(1) as f64).sqrt();
    let exact_std = (numeric.sum_of_squared_deviations / numeric.count.max(1) as f64).sqrt();
    rebuilt.std_ratio = (rebuilt_std > 0.0 && exact_std > 0.0).then(|| exact_std / rebuilt_std);
    Ok((values, kept))
}

/// Values at evenly spaced ranks moved by `shift` (a fraction of the ranks): on that grid a
/// move of the ranks is a move of the index; the exact min and max stay at the ends.
fn shifted_ranks(ranked: &[f64], shift: f64) -> Vec<f64> {
    let n = ranked.len();
    if shift == 0.0 || n < 3 {
        return ranked.to_vec();
    }
    let by = (shift * n as f64).round() as isize;
    (0..n)
        .map(|i| {
            if i == 0 || i + 1 == n {
                ranked[i]
            } else {
                ranked[(i as isize + by).clamp(1, n as isize - 2) as usize]
            }
        })
        .collect()
}

/// Gives sorted values rebuilt from a sketch the column's exact mean. Beyond the ranks
/// 1 − 2ε (or below 2ε) a sketch cannot resolve a heavy tail, and that tail is where a
/// rebuilt mean goes wrong (by several percent of a standard deviation on a log-normal
/// column; distances follow it). The wider of the two tails is stretched about its inner
/// end, which keeps every rank, so that the values' sum is the exact one; the stretch is
/// bounded (×½ to ×2) and values stay within the exact min and max.
fn match_tail_to_mean(values: &mut [f64], rank_error: f64, mean: f64, (min, max): (f64, f64)) {
    let n = values.len();
    let tail = ((2.0 * rank_error * n as f64).ceil() as usize).min(n / 4);
    if tail < 2 || !mean.is_finite() {
        return;
    }
    // The exact min and max (first and last) stay put.
    let (upper, lower) = (n - 1 - tail..n - 1, 1..1 + tail);
    let span = |range: &std::ops::Range<usize>| {
        let (first, last) = (values[range.start], values[range.end - 1]);
        (last - first).abs()
    };
    let (range, pivot) = if span(&upper) >= span(&lower) {
        let pivot = values[upper.start];
        (upper, pivot)
    } else {
        let pivot = values[lower.end - 1];
        (lower, pivot)
    };
    let missing = mean * n as f64 - values.iter().sum::<f64>();
    let spread: f64 = values[range.clone()].iter().map(|x| x - pivot).sum();
    if spread == 0.0 || !missing.is_finite() {
        return;
    }
    let stretch = (1.0 + missing / spread).clamp(0.5, 2.0);
    for x in &mut values[range] {
        *x = (pivot + stretch * (*x - pivot)).clamp(min, max);
    }
}

/// `count` scaled from `whole` to `kept` values (unchanged when nothing was cut).
fn scaled(count: u64, kept: u64, whole: u64) -> usize {
    if kept >= whole || whole == 0 {
        count as usize
    } else {
        (count as f64 * kept as f64 / whole as f64).round() as usize
    }
}

/// `n` values at ranks (i + ½) / n, the sample whose empirical CDF is the sketch's, with the
/// first and last replaced by the exact minimum and maximum (which the sketch keeps): binned
/// tests put their edges there.
fn evenly_ranked(n: u64, quantile: impl Fn(f64) -> Option<f64>) -> Vec<f64> {
    (0..n)
        .filter_map(|i| {
            let rank = match i {
                0 => 0.0,
                i if i + 1 == n => 1.0,
                i => (i as f64 + 0.5) / n as f64,
            };
            quantile(rank)
        })
        .collect()
}

fn exact_values(values: &[(String, u64)], count: u64) -> Result<Vec<f64>, String> {
    let mut out = Vec::with_capacity(count.min(REBUILT_MAX_VALUES as u64) as usize);
    let kept = count.min(REBUILT_MAX_VALUES as u64);
    let mut total = 0;
    for (text, n) in values {
        let value: f64 = text
            .parse()
            .map_err(|_| format!("value `{text}` is not a number"))?;
        total += n;
        out.extend(std::iter::repeat_n(value, scaled(*n, kept, count)));
    }
    if total != count {
        return Err(format!(
            "value counts add up to {total}, not the {count} values"
        ));
    }
    Ok(out)
}

fn decode_double_sketch(text: &str) -> Result<DoubleSketch, String> {
    let bytes = BASE64
        .decode(text)
        .map_err(|e| format!("kll is not base64: {e}"))?;
    DoubleSketch::deserialize(&bytes).map_err(|e| format!("kll: {e}"))
}

fn decode_hll(text: &str) -> Result<HllSketch, String> {
    let bytes = BASE64
        .decode(text)
        .map_err(|e| format!("hll is not base64: {e}"))?;
    HllSketch::deserialize(&bytes).map_err(|e| format!("hll: {e}"))
}

/// Running moments, merged by Chan et al.'s pairwise formula.
#[derive(Debug, Clone, Copy, Default)]
struct Moments {
    count: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    /// The moments of finite values, in two passes (the mean, then the deviations from it,
    /// corrected by their sum): exact to rounding, and without a division per value.
    fn of_finite(values: &[f64]) -> Moments {
        let (mut count, mut sum) = (0u64, 0.0);
        for &x in values.iter().filter(|x| x.is_finite()) {
            count += 1;
            sum += x;
        }
        if count == 0 {
            return Moments::default();
        }
        let mean = sum / count as f64;
        let (mut squares, mut deviations) = (0.0, 0.0);
        for &x in values.iter().filter(|x| x.is_finite()) {
            let d = x - mean;
            squares += d * d;
            deviations += d;
        }
        Moments {
            count,
            mean,
            m2: squares - deviations * deviations / count as f64,
        }
    }

    fn push(&mut self, x: f64) {
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
    }

    fn merge(self, other: Moments) -> Moments {
        let count = self.count + other.count;
        if count == 0 {
            return self;
        }
        let delta = other.mean - self.mean;
        let (a, b, n) = (self.count as f64, other.count as f64, count as f64);
        Moments {
            count,
            mean: self.mean + delta * b / n,
            m2: self.m2 + other.m2 + delta * delta * a * b / n,
        }
    }
}

/// An exact value as a number: times as integers, numbers as doubles (by their bits, `-0` as `0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ExactKey {
    Time(i64),
    Number(u64),
}

impl ExactKey {
    fn parse(text: &str, datetime: bool) -> Option<ExactKey> {
        if datetime {
            return text.parse().ok().map(ExactKey::Time);
        }
        let value: f64 = text.parse().ok().filter(|v: &f64| v.is_finite())?;
        Some(ExactKey::Number(
            if value == 0.0 { 0.0f64 } else { value }.to_bits(),
        ))
    }

    fn text(self) -> String {
        match self {
            ExactKey::Time(t) => t.to_string(),
            ExactKey::Number(bits) => number_text(f64::from_bits(bits)),
        }
    }
}

impl Ord for ExactKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            (ExactKey::Time(a), ExactKey::Time(b)) => a.cmp(b),
            (ExactKey::Number(a), ExactKey::Number(b)) => {
                f64::from_bits(*a).total_cmp(&f64::from_bits(*b))
            }
            (ExactKey::Time(_), ExactKey::Number(_)) => std::cmp::Ordering::Less,
            (ExactKey::Number(_), ExactKey::Time(_)) => std::cmp::Ordering::Greater,
        }
    }
}

impl PartialOrd for ExactKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

fn number_text(value: f64) -> String {
    // `-0` and `0` are one value to the tests.
    let value = if value == 0.0 { 0.0 } else { value };
    format!("{value}")
}

fn profile_column(column: Column, k: u16) -> Result<ColumnProfile, String> {
    let rows = column.values.rows() as u64;
    let mut hll = HllSketch::new(HLL_LG_K, HllType::Hll8).map_err(|e| e.to_string())?;
    let mut profile = ColumnProfile {
        name: column.name,
        kind: ProfileKind::Unsupported,
        rows,
        nulls: column.values.nulls() as u64,
        distinct_estimate: 0.0,
        identifier_like: false,
        hll: None,
        numeric: None,
        categories: None,
        type_name: None,
    };
    let integer = matches!(column.values, ColumnValues::Integer(_));
    match column.values {
        ColumnValues::Numeric(values) | ColumnValues::Integer(values) => {
            let mut sketch = DoubleSketch::new(k).map_err(|e| e.to_string())?;
            let mut numeric = numeric_profile();
            let moments = Moments::of_finite(&values);
            let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
            let mut counts: Option<HashMap<u64, u64>> = Some(HashMap::new());
            for &x in &values {
                if !x.is_finite() {
                    if x == f64::INFINITY {
                        numeric.positive_infinite += 1;
                    } else if x == f64::NEG_INFINITY {
                        numeric.negative_infinite += 1;
                    }
                    continue;
                }
                let x = if x == 0.0 { 0.0 } else { x };
                if let Ok(value) = KllFloat::<f64>::new(x) {
                    sketch.update(value);
                }
                hll.update(x.to_bits());
                min = min.min(x);
                max = max.max(x);
                if let Some(map) = &mut counts {
                    *map.entry(x.to_bits()).or_default() += 1;
                    if map.len() > EXACT_VALUES_LIMIT {
                        counts = None;
                    }
                }
            }
            if moments.count > 0 {
                (numeric.min, numeric.max) = (Some(min), Some(max));
            }
            // The drift engine's identifier rule for integers: all distinct, and dense like
            // row numbers (at least half the integers between the smallest and the largest).
            let dense = match (numeric.min, numeric.max) {
                (Some(min), Some(max)) => max - min + 1.0 <= 2.0 * moments.count as f64,
                _ => false,
            };
            profile.identifier_like = integer
                && dense
                && match &counts {
                    Some(map) => map.values().all(|&n| n == 1),
                    None => {
                        let mut present: Vec<f64> =
                            values.iter().copied().filter(|x| x.is_finite()).collect();
                        present.sort_unstable_by(f64::total_cmp);
                        present.windows(2).all(|pair| pair[0] != pair[1])
                    }
                };
            profile.kind = if integer {
                ProfileKind::Integer
            } else {
                ProfileKind::Numeric
            };
            numeric.count = moments.count;
            numeric.mean = (moments.count > 0).then_some(moments.mean);
            numeric.sum_of_squared_deviations = moments.m2;
            numeric.kll = BASE64.encode(sketch.serialize());
            numeric.values = counts.map(|map| {
                let mut values: Vec<(f64, u64)> = map
                    .into_iter()
                    .map(|(bits, n)| (f64::from_bits(bits), n))
                    .collect();
                values.sort_by(|a, b| a.0.total_cmp(&b.0));
                values
                    .into_iter()
                    .map(|(v, n)| (number_text(v), n))
                    .collect()
            });
            profile.distinct_estimate = match &numeric.values {
                Some(values) => values.len() as f64,
                None => hll.estimate(),
            };
            profile.numeric = Some(numeric);
        }
        ColumnValues::Datetime(values) => {
            // Times go into a doubles sketch, as every DataSketches language reads it (Spark's
            // job too); a double holds microseconds since 1970 exactly, nanoseconds to ±128.
            let mut sketch = DoubleSketch::new(k).map_err(|e| e.to_string())?;
            let mut numeric = numeric_profile();
            let mut moments = Moments::default();
            let mut counts: Option<HashMap<i64, u64>> = Some(HashMap::new());
            for &t in values.iter().flatten() {
                if let Ok(value) = KllFloat::<f64>::new(t as f64) {
                    sketch.update(value);
                }
                hll.update(t);
                moments.push(t as f64);
                numeric.min = Some(numeric.min.map_or(t as f64, |m| m.min(t as f64)));
                numeric.max = Some(numeric.max.map_or(t as f64, |m| m.max(t as f64)));
                if let Some(map) = &mut counts {
                    *map.entry(t).or_default() += 1;
                    if map.len() > EXACT_VALUES_LIMIT {
                        counts = None;
                    }
                }
            }
            profile.kind = ProfileKind::Datetime;
            numeric.count = moments.count;
            numeric.mean = (moments.count > 0).then_some(moments.mean);
            numeric.sum_of_squared_deviations = moments.m2;
            numeric.kll = BASE64.encode(sketch.serialize());
            numeric.values = counts.map(|map| {
                let mut values: Vec<(i64, u64)> = map.into_iter().collect();
                values.sort_unstable();
                values
                    .into_iter()
                    .map(|(v, n)| (v.to_string(), n))
                    .collect()
            });
            profile.distinct_estimate = match &numeric.values {
                Some(values) => values.len() as f64,
                None => hll.estimate(),
            };
            profile.numeric = Some(numeric);
        }
        ColumnValues::Categorical(values) => {
            let mut per_level = vec![0u64; values.levels.len()];
            for &code in &values.codes {
                if code == CategoricalValues::MISSING {
                    continue;
                }
                let slot = per_level
                    .get_mut(code as usize)
                    .ok_or_else(|| format!("category code {code} outside its dictionary"))?;
                *slot += 1;
            }
            // Levels may repeat across dictionary chunks: join them by text.
            let mut by_text: indexmap::IndexMap<&str, u64> = indexmap::IndexMap::new();
            for (level, &n) in values.levels.iter().zip(&per_level) {
                if n > 0 {
                    *by_text.entry(level.as_str()).or_default() += n;
                }
            }
            for level in by_text.keys() {
                hll.update(level);
            }
            profile.kind = ProfileKind::Categorical;
            profile.identifier_like = by_text.values().all(|&n| n == 1);
            profile.distinct_estimate = by_text.len() as f64;
            let mut counts: Vec<(String, u64)> = by_text
                .into_iter()
                .map(|(l, n)| (l.to_owned(), n))
                .collect();
            counts.sort();
            profile.categories = Some(categories_from(counts)?);
        }
        ColumnValues::Text { .. } => profile.kind = ProfileKind::Text,
        ColumnValues::Unsupported { type_name, .. } => {
            profile.type_name = Some(type_name);
        }
    }
    if !hll.is_empty() {
        profile.hll = Some(BASE64.encode(hll.serialize()));
    }
    Ok(profile)
}

fn numeric_profile() -> NumericProfile {
    NumericProfile {
        count: 0,
        positive_infinite: 0,
        negative_infinite: 0,
        min: None,
        max: None,
        mean: None,
        sum_of_squared_deviations: 0.0,
        kll: String::new(),
        values: None,
    }
}

/// Exact counts while they fit the limit, else a frequent-items sketch of them.
fn categories_from(counts: Vec<(String, u64)>) -> Result<CategoryProfile, String> {
    if counts.len() <= CATEGORY_LIMIT {
        return Ok(CategoryProfile {
            counts: Some(counts),
            frequent_items: None,
            frequent_items_maximum_error: None,
        });
    }
    let mut sketch =
        FrequentItemsSketch::<String>::new(FREQUENT_ITEMS_MAP_SIZE).map_err(|e| e.to_string())?;
    for (level, n) in counts {
        sketch.update_with_count(level, n);
    }
    Ok(frequent_profile(&sketch))
}

fn frequent_profile(sketch: &FrequentItemsSketch<String>) -> CategoryProfile {
    CategoryProfile {
        counts: None,
        frequent_items: Some(BASE64.encode(sketch.serialize())),
        frequent_items_maximum_error: Some(sketch.maximum_error()),
    }
}

fn merge_numeric(
    into: &mut NumericProfile,
    from: &NumericProfile,
    datetime: bool,
) -> Result<(), String> {
    let moments = Moments {
        count: into.count,
        mean: into.mean.unwrap_or(0.0),
        m2: into.sum_of_squared_deviations,
    }
    .merge(Moments {
        count: from.count,
        mean: from.mean.unwrap_or(0.0),
        m2: from.sum_of_squared_deviations,
    });
    into.count = moments.count;
    into.mean = (moments.count > 0).then_some(moments.mean);
    into.sum_of_squared_deviations = moments.m2;
    into.positive_infinite += from.positive_infinite;
    into.negative_infinite += from.negative_infinite;
    into.min = [into.min, from.min].into_iter().flatten().reduce(f64::min);
    into.max = [into.max, from.max].into_iter().flatten().reduce(f64::max);
    let mut sketch = decode_double_sketch(&into.kll)?;
    sketch
        .merge(&decode_double_sketch(&from.kll)?)
        .map_err(|e| format!("kll: {e}"))?;
    into.kll = BASE64.encode(sketch.serialize());
    // Keyed by the number, not its text: another writer may spell 3 as `3.0`.
    into.values = match (into.values.take(), &from.values) {
        (Some(a), Some(b)) => {
            let mut merged: HashMap<ExactKey, u64> = HashMap::new();
            for (text, n) in a.iter().chain(b) {
                let key = ExactKey::parse(text, datetime)
                    .ok_or_else(|| format!("exact value `{text}` is not a number"))?;
                *merged.entry(key).or_default() += n;
            }
            (merged.len() <= EXACT_VALUES_LIMIT).then(|| {
                let mut values: Vec<(ExactKey, u64)> = merged.into_iter().collect();
                values.sort_by_key(|(key, _)| *key);
                values.into_iter().map(|(key, n)| (key.text(), n)).collect()
            })
        }
        _ => None,
    };
    Ok(())
}

fn merge_categories(into: &mut CategoryProfile, from: &CategoryProfile) -> Result<(), String> {
    let sketch_of = |profile: &CategoryProfile| -> Result<FrequentItemsSketch<String>, String> {
        match (&profile.counts, &profile.frequent_items) {
            (_, Some(text)) => {
                let bytes = BASE64
                    .decode(text)
                    .map_err(|e| format!("frequent_items is not base64: {e}"))?;
                FrequentItemsSketch::<String>::deserialize(&bytes)
                    .map_err(|e| format!("frequent_items: {e}"))
            }
            (Some(counts), None) => {
                let mut sketch = FrequentItemsSketch::<String>::new(FREQUENT_ITEMS_MAP_SIZE)
                    .map_err(|e| e.to_string())?;
                for (level, n) in counts {
                    sketch.update_with_count(level.clone(), *n);
                }
                Ok(sketch)
            }
            (None, None) => Err("no category counts".into()),
        }
    };
    if let (Some(a), Some(b)) = (&into.counts, &from.counts) {
        let mut merged: std::collections::BTreeMap<String, u64> = a.iter().cloned().collect();
        for (level, n) in b {
            *merged.entry(level.clone()).or_default() += n;
        }
        *into = categories_from(merged.into_iter().collect())?;
        return Ok(());
    }
    let mut sketch = sketch_of(into)?;
    sketch.merge(&sketch_of(from)?);
    *into = frequent_profile(&sketch);
    Ok(())
}
