//! The tests by name: Evidently's names, default thresholds and drift rules, the automatic
//! choice, and dispatch to the implementations.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use super::binned;
use super::ks;
use super::rank;
use super::sample::{CategoricalPair, NumericPair};
use super::{DriftSettingError, Mode};

/// A drift test, named as in Evidently (`energy_dist` is Evidently's `ed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatTest {
    Ks,
    #[serde(rename = "chisquare")]
    ChiSquare,
    Z,
    Wasserstein,
    #[serde(rename = "jensenshannon")]
    JensenShannon,
    Psi,
    KlDiv,
    Hellinger,
    Anderson,
    CramerVonMises,
    #[serde(rename = "mannw")]
    MannWhitney,
    TTest,
    EnergyDist,
}

/// How a test's score becomes a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriftRule {
    /// p-value tests: drift when `p <= threshold` (ks, cramer_von_mises).
    PValueAtMost,
    /// p-value tests: drift when `p < threshold` (chisquare, z, anderson, mannw, t_test).
    PValueBelow,
    /// distances: drift when `distance >= threshold`.
    DistanceAtLeast,
    /// distances: drift when `distance > threshold` (energy_dist).
    DistanceAbove,
}

impl DriftRule {
    pub fn drifted(self, score: f64, threshold: f64) -> bool {
        match self {
            DriftRule::PValueAtMost => score <= threshold,
            DriftRule::PValueBelow => score < threshold,
            DriftRule::DistanceAtLeast => score >= threshold,
            DriftRule::DistanceAbove => score > threshold,
        }
    }

    pub fn uses_p_value(self) -> bool {
        matches!(self, DriftRule::PValueAtMost | DriftRule::PValueBelow)
    }
}

impl StatTest {
    pub const ALL: [StatTest; 13] = [
        StatTest::Ks,
        StatTest::ChiSquare,
        StatTest::Z,
        StatTest::Wasserstein,
        StatTest::JensenShannon,
        StatTest::Psi,
        StatTest::KlDiv,
        StatTest::Hellinger,
        StatTest::Anderson,
        StatTest::CramerVonMises,
        StatTest::MannWhitney,
        StatTest::TTest,
        StatTest::EnergyDist,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StatTest::Ks => "ks",
            StatTest::ChiSquare => "chisquare",
            StatTest::Z => "z",
            StatTest::Wasserstein => "wasserstein",
            StatTest::JensenShannon => "jensenshannon",
            StatTest::Psi => "psi",
            StatTest::KlDiv => "kl_div",
            StatTest::Hellinger => "hellinger",
            StatTest::Anderson => "anderson",
            StatTest::CramerVonMises => "cramer_von_mises",
            StatTest::MannWhitney => "mannw",
            StatTest::TTest => "t_test",
            StatTest::EnergyDist => "energy_dist",
        }
    }

    /// Other names accepted for a test: Evidently's own spellings of `energy_dist`.
    pub const ALIASES: [(&'static str, StatTest); 2] = [
        ("ed", StatTest::EnergyDist),
        ("energy_distance", StatTest::EnergyDist),
    ];

    /// The test of a name or an alias.
    pub fn from_name(name: &str) -> Option<StatTest> {
        StatTest::ALL
            .into_iter()
            .find(|test| test.name() == name)
            .or_else(|| {
                StatTest::ALIASES
                    .iter()
                    .find(|(alias, _)| *alias == name)
                    .map(|(_, test)| *test)
            })
    }

    /// Evidently's default threshold (0.05 where a test sets none).
    pub fn default_threshold(self) -> f64 {
        match self {
            StatTest::Ks
            | StatTest::ChiSquare
            | StatTest::Z
            | StatTest::MannWhitney
            | StatTest::TTest => 0.05,
            StatTest::Wasserstein
            | StatTest::JensenShannon
            | StatTest::Psi
            | StatTest::KlDiv
            | StatTest::Hellinger
            | StatTest::Anderson
            | StatTest::CramerVonMises
            | StatTest::EnergyDist => 0.1,
        }
    }

    pub fn rule(self) -> DriftRule {
        match self {
            StatTest::Ks | StatTest::CramerVonMises => DriftRule::PValueAtMost,
            StatTest::ChiSquare
            | StatTest::Z
            | StatTest::Anderson
            | StatTest::MannWhitney
            | StatTest::TTest => DriftRule::PValueBelow,
            StatTest::Wasserstein
            | StatTest::JensenShannon
            | StatTest::Psi
            | StatTest::KlDiv
            | StatTest::Hellinger => DriftRule::DistanceAtLeast,
            StatTest::EnergyDist => DriftRule::DistanceAbove,
        }
    }

    /// Tests computed from every value, which a sketch does not keep: on a profile's
    /// sketched column they are not run.
    pub fn needs_raw_values(self) -> bool {
        matches!(
            self,
            StatTest::Anderson
                | StatTest::CramerVonMises
                | StatTest::MannWhitney
                | StatTest::TTest
                | StatTest::EnergyDist
        )
    }

    /// Tests that need an order on the values (numeric columns only).
    pub fn numeric_only(self) -> bool {
        matches!(
            self,
            StatTest::Ks
                | StatTest::Wasserstein
                | StatTest::Anderson
                | StatTest::CramerVonMises
                | StatTest::MannWhitney
                | StatTest::TTest
                | StatTest::EnergyDist
        )
    }
}

impl fmt::Display for StatTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `stattest` setting: Evidently's automatic choice per column, or one named test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StatTestChoice {
    #[default]
    Auto,
    Test(StatTest),
}

impl StatTestChoice {
    /// Every accepted name, `auto` first, as error messages and `--help` list them.
    pub fn names() -> impl Iterator<Item = &'static str> {
        std::iter::once("auto").chain(StatTest::ALL.into_iter().map(StatTest::name))
    }

    pub fn name(self) -> &'static str {
        match self {
            StatTestChoice::Auto => "auto",
            StatTestChoice::Test(test) => test.name(),
        }
    }

    /// The named test; `None` for the automatic choice.
    pub fn test(self) -> Option<StatTest> {
        match self {
            StatTestChoice::Auto => None,
            StatTestChoice::Test(test) => Some(test),
        }
    }
}

impl fmt::Display for StatTestChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for StatTestChoice {
    type Err = DriftSettingError;

    fn from_str(name: &str) -> Result<StatTestChoice, DriftSettingError> {
        if name == "auto" {
            return Ok(StatTestChoice::Auto);
        }
        StatTest::from_name(name)
            .map(StatTestChoice::Test)
            .ok_or_else(|| DriftSettingError::UnknownStatTest {
                name: name.to_owned(),
            })
    }
}

/// Written as its name, as the setting is spelled in a policy.
impl Serialize for StatTestChoice {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Evidently's automatic choice (`registry.py:_get_default_stattest`): by kind, by the
/// number of reference values after cleaning (<= 1000 or more) and by the number of distinct
/// values of both samples together.
pub fn default_stattest(categorical: bool, reference_values: usize, distinct: usize) -> StatTest {
    match (categorical, reference_values <= 1000) {
        (false, true) if distinct > 5 => StatTest::Ks,
        (false, true) | (true, true) if distinct > 2 => StatTest::ChiSquare,
        (false, true) | (true, true) => StatTest::Z,
        (false, false) if distinct > 5 => StatTest::Wasserstein,
        (false, false) | (true, false) => StatTest::JensenShannon,
    }
}

/// The two cleaned samples a test reads.
#[derive(Debug)]
pub(crate) enum PairData {
    Numeric(NumericPair),
    Categorical(CategoricalPair),
}

/// What a test found: `statistic` is the test's own statistic, `p_value` is present for
/// hypothesis tests, and `score` is what the threshold is compared with.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub statistic: f64,
    pub p_value: Option<f64>,
    pub score: f64,
    pub notes: Vec<String>,
}

impl Outcome {
    pub(crate) fn distance(value: f64) -> Outcome {
        Outcome {
            statistic: value,
            p_value: None,
            score: value,
            notes: Vec::new(),
        }
    }

    fn tested(statistic: f64, p_value: f64) -> Outcome {
        Outcome {
            statistic,
            p_value: Some(p_value),
            score: p_value,
            notes: Vec::new(),
        }
    }

    fn with_note(mut self, note: impl Into<String>) -> Outcome {
        self.notes.push(note.into());
        self
    }
}

/// Runs one test. `Err` carries the reason the test cannot run on these samples (where the
/// reference implementation raises).
pub(crate) fn run(test: StatTest, data: &PairData, mode: Mode) -> Result<Outcome, String> {
    match data {
        PairData::Numeric(pair) => run_numeric(test, pair, mode),
        PairData::Categorical(pair) => run_categorical(test, pair, mode),
    }
}

fn run_numeric(test: StatTest, pair: &NumericPair, mode: Mode) -> Result<Outcome, String> {
    Ok(match test {
        StatTest::Ks => {
            let result = ks::ks_two_sample(pair);
            let method = if result.exact { "exact" } else { "asymptotic" };
            Outcome::tested(result.statistic, result.p_value)
                .with_note(format!("Kolmogorov-Smirnov p-value: {method}"))
        }
        StatTest::ChiSquare | StatTest::Z => {
            return run_table(test, &pair.value_table(), mode);
        }
        StatTest::Wasserstein => Outcome::distance(rank::wasserstein_normed(pair)),
        StatTest::JensenShannon => {
            Outcome::distance(binned::jensen_shannon(&binned::numeric_bins(pair)))
        }
        StatTest::Psi => Outcome::distance(binned::psi(&binned::numeric_bins(pair))),
        StatTest::KlDiv => Outcome::distance(binned::kl_divergence(&binned::numeric_bins(pair))),
        StatTest::Hellinger => Outcome::distance(binned::hellinger_numeric(pair)),
        StatTest::Anderson => {
            let result = rank::anderson_ksamp(pair)?;
            let outcome = Outcome::tested(result.statistic, result.p_value);
            match result.note {
                Some(note) => outcome.with_note(note),
                None => outcome,
            }
        }
        StatTest::CramerVonMises => {
            let exact = pair.reference.len().max(pair.current.len()) <= 20;
            if exact && mode == Mode::Evidently {
                return Err(
                    "Evidently 0.7.23's exact Cramér-von Mises path (samples of at most \
                            20 values) fails under numpy 2 (it raises or returns a wrong \
                            p-value); use the calibrated mode for scipy's exact p-value"
                        .into(),
                );
            }
            let result = rank::cramer_von_mises(pair);
            Outcome::tested(result.statistic, result.p_value)
        }
        StatTest::MannWhitney => {
            let result = rank::mann_whitney_less(pair);
            let outcome = Outcome::tested(result.statistic, result.p_value)
                .with_note("Mann-Whitney U: one-sided (alternative \"less\"), as Evidently");
            match result.note {
                Some(note) => outcome.with_note(note),
                None => outcome,
            }
        }
        StatTest::TTest => {
            let result = rank::t_test(pair);
            Outcome::tested(result.statistic, result.p_value)
        }
        StatTest::EnergyDist => Outcome::distance(rank::energy_distance(pair)),
    })
}

fn run_categorical(test: StatTest, pair: &CategoricalPair, mode: Mode) -> Result<Outcome, String> {
    if test.numeric_only() {
        return Err(format!(
            "{test} needs ordered values and does not apply to a categorical column"
        ));
    }
    match test {
        StatTest::Hellinger => Ok(Outcome::distance(binned::hellinger_categorical(
            &pair.table,
        ))),
        _ => run_table(test, &pair.table, mode),
    }
}

/// Tests on a table of counts per distinct value.
pub(super) fn run_table(
    test: StatTest,
    table: &super::sample::CountTable,
    mode: Mode,
) -> Result<Outcome, String> {
    Ok(match test {
        StatTest::ChiSquare => match mode {
            Mode::Calibrated => {
                let result = binned::chi_square_homogeneity(table);
                Outcome::tested(result.statistic, result.p_value).with_note(
                    "chi-square test of homogeneity on the 2xK table (both samples random)",
                )
            }
            Mode::Evidently => {
                let result = binned::chi_square_evidently(table);
                let outcome = Outcome::tested(result.statistic, result.p_value).with_note(
                    "chi-square goodness of fit against reference shares taken as exact \
                     (Evidently)",
                );
                if result.statistic.is_infinite() {
                    outcome.with_note(
                        "chi-square statistic is infinite: a value absent from the reference \
                         appears in the current sample",
                    )
                } else {
                    outcome
                }
            }
        },
        StatTest::Z => {
            let result = binned::z_test(table, mode == Mode::Calibrated);
            Outcome::tested(result.statistic, result.p_value)
        }
        StatTest::JensenShannon => {
            Outcome::distance(binned::jensen_shannon(&binned::table_bins(table)))
        }
        StatTest::Psi => Outcome::distance(binned::psi(&binned::table_bins(table))),
        StatTest::KlDiv => Outcome::distance(binned::kl_divergence(&binned::table_bins(table))),
        StatTest::Hellinger => Outcome::distance(binned::hellinger_categorical(table)),
        other => {
            return Err(format!("{other} does not apply to a table of counts"));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for test in StatTest::ALL {
            assert_eq!(
                test.name().parse::<StatTestChoice>().ok(),
                Some(StatTestChoice::Test(test))
            );
        }
        assert_eq!(
            "auto".parse::<StatTestChoice>().ok(),
            Some(StatTestChoice::Auto)
        );
        assert_eq!(StatTest::from_name("ed"), Some(StatTest::EnergyDist));
        let error = "kolmogorov"
            .parse::<StatTestChoice>()
            .expect_err("not a test");
        assert_eq!(
            error.to_string(),
            "unknown test `kolmogorov`; expected one of auto, ks, chisquare, z, wasserstein, \
             jensenshannon, psi, kl_div, hellinger, anderson, cramer_von_mises, mannw, t_test, \
             energy_dist"
        );
    }

    #[test]
    fn default_choice_follows_evidently() {
        assert_eq!(default_stattest(false, 1000, 6), StatTest::Ks);
        assert_eq!(default_stattest(false, 1000, 5), StatTest::ChiSquare);
        assert_eq!(default_stattest(false, 1000, 2), StatTest::Z);
        assert_eq!(default_stattest(false, 1001, 6), StatTest::Wasserstein);
        assert_eq!(default_stattest(false, 1001, 5), StatTest::JensenShannon);
        assert_eq!(default_stattest(true, 1000, 3), StatTest::ChiSquare);
        assert_eq!(default_stattest(true, 1000, 2), StatTest::Z);
        assert_eq!(default_stattest(true, 5000, 2), StatTest::JensenShannon);
    }
}
