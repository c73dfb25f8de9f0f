//! The policy, `.github/modelgate.yml`: risk tiers and the limits of each check.
//! Read from the base branch of a pull request; the documented defaults apply when absent.

use std::fmt;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::diagnostic::Diagnostic;
use crate::documentation::DocumentationPreset;
use crate::drift::{self, DriftSettingError, Mode, StatTestChoice};

pub const POLICY_PATH: &str = ".github/modelgate.yml";

/// The kinds of check a tier can block on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    Regression,
    Drift,
    Fairness,
    Card,
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CheckKind::Regression => "regression",
            CheckKind::Drift => "drift",
            CheckKind::Fairness => "fairness",
            CheckKind::Card => "card",
        })
    }
}

/// A validated policy. Tiers are ordered from least to most strict, as the file lists them.
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub default_tier: String,
    pub tiers: IndexMap<String, TierPolicy>,
    pub regression: RegressionDefaults,
    pub drift: DriftPolicy,
    pub fairness: FairnessPolicy,
    /// A failing check of this kind raises the pull request to at least this tier.
    pub escalate: IndexMap<CheckKind, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TierPolicy {
    /// Approving reviews required (default 1).
    #[serde(default = "one")]
    pub approvals: u32,
    /// Card sections that must be present and non-empty.
    #[serde(default)]
    pub required_sections: Vec<String>,
    /// Checks whose failure fails the pull request.
    #[serde(default)]
    pub block_on: Vec<CheckKind>,
    /// Only approvals of the current head commit count.
    #[serde(default)]
    pub invalidate_on_push: bool,
    /// At least one approval from each of these teams (`org/team`).
    #[serde(default)]
    pub teams: Vec<String>,
    /// Approvals count only from reviewers independent of the change.
    #[serde(default)]
    pub independent: bool,
    /// How often a model of this tier must be reviewed, e.g. `180d` or `26w`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_every: Option<String>,
    /// A documentation preset whose sections the cards must have as well
    /// (`eu-ai-act-annex-iv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation: Option<DocumentationPreset>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegressionDefaults {
    /// Largest allowed relative worsening, in percent, for a metric without a rule.
    #[serde(default = "default_max_drop_pct")]
    pub max_drop_pct: f64,
    /// Bootstrap resamples of metric deltas when predictions exist.
    #[serde(default = "default_resamples")]
    pub resamples: u32,
    /// The bootstrap's seed: the same seed gives the same intervals.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

/// The bootstrap's resamples when the policy names none.
pub const DEFAULT_RESAMPLES: u32 = 1_000;
/// "modelgat" in ASCII: any fixed value does, as long as reports name it.
pub const DEFAULT_SEED: u64 = 0x6d6f_6465_6c67_6174;

fn default_resamples() -> u32 {
    DEFAULT_RESAMPLES
}

fn default_seed() -> u64 {
    DEFAULT_SEED
}

fn default_max_drop_pct() -> f64 {
    2.0
}

impl Default for RegressionDefaults {
    fn default() -> Self {
        RegressionDefaults {
            max_drop_pct: default_max_drop_pct(),
            resamples: default_resamples(),
            seed: default_seed(),
        }
    }
}

/// The `drift` block of the policy or of a card, checked: every value is in its domain.
#[derive(Debug, Clone, Serialize)]
pub struct DriftPolicy {
    pub stattest: StatTestChoice,
    /// Share of drifted columns at or above which the dataset counts as drifted, in (0, 1].
    pub drift_share: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compat: Option<Mode>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub columns: IndexMap<String, ColumnDrift>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    /// Rows read of each side at most, at least 1; a longer side is sampled (default
    /// 10,000,000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<u64>,
    /// The seed of that sample (default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnDrift {
    /// `auto` here keeps the block's `stattest` for the column, as leaving it out does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stattest: Option<StatTestChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

fn default_drift_share() -> f64 {
    0.5
}

impl DriftPolicy {
    /// The options of a `drift` block, whose values were checked when it was parsed.
    pub fn options(&self) -> drift::DriftOptions {
        let columns = self
            .columns
            .iter()
            .map(|(name, column)| {
                let stattest = column.stattest.and_then(StatTestChoice::test);
                (
                    name.clone(),
                    drift::ColumnOverride {
                        stattest,
                        threshold: column.threshold,
                    },
                )
            })
            .collect();
        drift::DriftOptions {
            mode: self.compat.unwrap_or_default(),
            stattest: self.stattest.test(),
            threshold: self.threshold,
            drift_share: self.drift_share,
            columns,
            ignore: self.ignore.clone(),
            identifiers: Vec::new(),
            sample: drift::SampleLimit {
                max_rows: self
                    .max_rows
                    .unwrap_or(drift::SampleLimit::DEFAULT_MAX_ROWS),
                seed: self.seed.unwrap_or(drift::SampleLimit::DEFAULT_SEED),
            },
        }
    }
}

impl Default for DriftPolicy {
    fn default() -> Self {
        DriftPolicy {
            stattest: StatTestChoice::Auto,
            drift_share: default_drift_share(),
            threshold: None,
            compat: None,
            columns: IndexMap::new(),
            ignore: Vec::new(),
            max_rows: None,
            seed: None,
        }
    }
}

/// A `drift` block as written, each checked value kept as text or number with its position
/// until [`DriftPolicyFile::validate`] checks it, so that every problem is reported where it
/// stands. Shared by the policy and a card's `governance.drift`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftPolicyFile {
    stattest: Option<Spanned<String>>,
    drift_share: Option<Spanned<f64>>,
    threshold: Option<Spanned<f64>>,
    compat: Option<Spanned<String>>,
    #[serde(default)]
    columns: IndexMap<String, ColumnDriftFile>,
    #[serde(default)]
    ignore: Vec<String>,
    max_rows: Option<Spanned<u64>>,
    seed: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnDriftFile {
    stattest: Option<Spanned<String>>,
    threshold: Option<Spanned<f64>>,
}

impl DriftPolicyFile {
    /// Checks every value. `key` is where the block stands (`drift`, `governance.drift`);
    /// `at` turns a position in the YAML into a diagnostic of the file.
    pub(crate) fn validate(
        &self,
        key: &str,
        at: &dyn Fn(serde_saphyr::Location, String) -> Diagnostic,
    ) -> Result<DriftPolicy, Vec<Diagnostic>> {
        let mut checks = SettingChecks {
            key,
            at,
            problems: Vec::new(),
        };
        let stattest = checks.check("stattest", self.stattest.as_ref(), |name| name.parse());
        let drift_share = checks.check("drift_share", self.drift_share.as_ref(), |share| {
            drift::check_drift_share(*share)
        });
        let threshold = checks.check("threshold", self.threshold.as_ref(), |threshold| {
            drift::check_threshold(*threshold)
        });
        let compat = checks.check("compat", self.compat.as_ref(), |name| name.parse());
        let max_rows = checks.check("max_rows", self.max_rows.as_ref(), |rows| {
            drift::check_max_rows(*rows)
        });
        let mut columns = IndexMap::new();
        for (name, column) in &self.columns {
            let stattest = checks.check(
                &format!("columns.{name}.stattest"),
                column.stattest.as_ref(),
                |test| test.parse(),
            );
            let threshold = checks.check(
                &format!("columns.{name}.threshold"),
                column.threshold.as_ref(),
                |threshold| drift::check_threshold(*threshold),
            );
            columns.insert(
                name.clone(),
                ColumnDrift {
                    stattest,
                    threshold,
                },
            );
        }
        if !checks.problems.is_empty() {
            return Err(checks.problems);
        }
        Ok(DriftPolicy {
            stattest: stattest.unwrap_or_default(),
            drift_share: drift_share.unwrap_or_else(default_drift_share),
            threshold,
            compat,
            columns,
            ignore: self.ignore.clone(),
            max_rows,
            seed: self.seed,
        })
    }
}

/// Collects the problems of a block's values, each named `key.field` at the value.
struct SettingChecks<'a> {
    key: &'a str,
    at: &'a dyn Fn(serde_saphyr::Location, String) -> Diagnostic,
    problems: Vec<Diagnostic>,
}

impl SettingChecks<'_> {
    /// The checked value; `None` when absent, or invalid (then a problem is recorded).
    fn check<V, T>(
        &mut self,
        field: &str,
        value: Option<&Spanned<V>>,
        checker: impl FnOnce(&V) -> Result<T, DriftSettingError>,
    ) -> Option<T> {
        let value = value?;
        match checker(&value.value) {
            Ok(checked) => Some(checked),
            Err(error) => {
                let message = format!("{}.{field}: {error}", self.key);
                self.problems.push((self.at)(value.referenced, message));
                None
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FairnessPolicy {
    #[serde(default = "default_gap")]
    pub max_parity_gap: f64,
    #[serde(default = "default_disparate_impact")]
    pub min_disparate_impact: f64,
    #[serde(default = "default_gap")]
    pub max_equal_opportunity_gap: f64,
    #[serde(default = "default_min_group_size")]
    pub min_group_size: u64,
    /// Regression tasks: the largest allowed gap between groups' mean absolute errors, in
    /// the target's units. No default, since units differ by model: unset, the gap is
    /// reported but not judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_mae_gap: Option<f64>,
}

fn default_gap() -> f64 {
    0.1
}

fn default_disparate_impact() -> f64 {
    0.8
}

fn default_min_group_size() -> u64 {
    30
}

impl Default for FairnessPolicy {
    fn default() -> Self {
        FairnessPolicy {
            max_parity_gap: default_gap(),
            min_disparate_impact: default_disparate_impact(),
            max_equal_opportunity_gap: default_gap(),
            min_group_size: default_min_group_size(),
            max_mae_gap: None,
        }
    }
}

/// The file as written; every key optional. `tiers`, when given, replaces the default tiers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    default_tier: Option<Spanned<String>>,
    tiers: Option<Spanned<IndexMap<String, Spanned<TierPolicy>>>>,
    regression: Option<RegressionDefaults>,
    drift: Option<DriftPolicyFile>,
    fairness: Option<FairnessPolicy>,
    escalate: Option<Spanned<IndexMap<CheckKind, String>>>,
}

impl Default for Policy {
    fn default() -> Self {
        let tier = |approvals, required_sections: &[&str], block_on: &[CheckKind], invalidate| {
            TierPolicy {
                approvals,
                required_sections: required_sections.iter().map(|s| (*s).to_owned()).collect(),
                block_on: block_on.to_vec(),
                invalidate_on_push: invalidate,
                teams: Vec::new(),
                independent: false,
                review_every: None,
                documentation: None,
            }
        };
        use CheckKind::*;
        let tiers = IndexMap::from([
            ("low".to_owned(), tier(1, &[], &[], false)),
            (
                "medium".to_owned(),
                tier(1, &[], &[Regression, Card], false),
            ),
            (
                "high".to_owned(),
                tier(
                    2,
                    &[
                        "Intended use",
                        "Limitations",
                        "Ethical considerations",
                        "Evaluation data",
                    ],
                    &[Regression, Drift, Fairness, Card],
                    true,
                ),
            ),
        ]);
        Policy {
            default_tier: "medium".to_owned(),
            tiers,
            regression: RegressionDefaults::default(),
            drift: DriftPolicy::default(),
            fairness: FairnessPolicy::default(),
            escalate: IndexMap::new(),
        }
    }
}

impl Policy {
    /// Parses and validates a policy file. Every problem found is returned, with its position.
    pub fn parse(file: &str, text: &str) -> Result<Policy, Vec<Diagnostic>> {
        let raw: PolicyFile = if text.trim().is_empty() {
            PolicyFile {
                default_tier: None,
                tiers: None,
                regression: None,
                drift: None,
                fairness: None,
                escalate: None,
            }
        } else {
            crate::yaml::parse(file, text, 0).map_err(|d| vec![d])?
        };
        let at = |location: serde_saphyr::Location, message: String| {
            Diagnostic::at(file, location.line(), location.column(), message)
        };
        let defaults = Policy::default();
        let mut problems = Vec::new();

        let tiers = match raw.tiers {
            Some(tiers) => {
                if tiers.value.is_empty() {
                    problems.push(at(
                        tiers.referenced,
                        "tiers is empty; expected at least one tier".into(),
                    ));
                }
                for (name, tier) in &tiers.value {
                    if let Some(every) = &tier.value.review_every
                        && parse_period_days(every).is_none()
                    {
                        problems.push(at(
                            tier.referenced,
                            format!("tiers.{name}.review_every `{every}`: expected a period such as 180d or 26w"),
                        ));
                    }
                    for team in &tier.value.teams {
                        if team
                            .split_once('/')
                            .is_none_or(|(org, slug)| org.is_empty() || slug.is_empty())
                        {
                            problems.push(at(
                                tier.referenced,
                                format!("tiers.{name}.teams: `{team}` is not `org/team-slug`"),
                            ));
                        }
                    }
                }
                tiers
                    .value
                    .into_iter()
                    .map(|(name, tier)| (name, tier.value))
                    .collect()
            }
            None => defaults.tiers,
        };

        let default_tier = match raw.default_tier {
            Some(name) => {
                if !tiers.contains_key(&name.value) {
                    problems.push(at(
                        name.referenced,
                        unknown_tier_message("default_tier", &name.value, &tiers),
                    ));
                }
                name.value
            }
            None if tiers.contains_key(&defaults.default_tier) => defaults.default_tier,
            None => match tiers.keys().next() {
                Some(first) => first.clone(),
                None => defaults.default_tier,
            },
        };

        let escalate = match raw.escalate {
            Some(escalate) => {
                for (kind, tier) in &escalate.value {
                    if !tiers.contains_key(tier) {
                        problems.push(at(
                            escalate.referenced,
                            unknown_tier_message(&format!("escalate.{kind}"), tier, &tiers),
                        ));
                    }
                }
                escalate.value
            }
            None => IndexMap::new(),
        };

        let drift = match raw.drift {
            Some(drift) => drift
                .validate("drift", &at)
                .unwrap_or_else(|drift_problems| {
                    problems.extend(drift_problems);
                    DriftPolicy::default()
                }),
            None => DriftPolicy::default(),
        };

        let regression = raw.regression.unwrap_or_default();
        if !(regression.max_drop_pct.is_finite() && regression.max_drop_pct >= 0.0) {
            problems.push(Diagnostic::whole_file(
                file,
                "regression.max_drop_pct must be a number >= 0",
            ));
        }

        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Policy {
            default_tier,
            tiers,
            regression,
            drift,
            fairness: raw.fairness.unwrap_or_default(),
            escalate,
        })
    }

    /// Position of a tier from least (0) to most strict; `None` for an unknown name.
    pub fn rank(&self, tier: &str) -> Option<usize> {
        self.tiers.get_index_of(tier)
    }

    /// The strictest of the named tiers known to this policy.
    pub fn strictest<'a>(&self, tiers: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
        tiers
            .into_iter()
            .filter_map(|t| self.rank(t).map(|rank| (rank, t)))
            .max()
            .map(|(_, t)| t)
    }

    pub fn tier(&self, name: &str) -> Option<&TierPolicy> {
        self.tiers.get(name)
    }
}

pub(crate) fn unknown_tier_message(
    key: &str,
    name: &str,
    tiers: &IndexMap<String, TierPolicy>,
) -> String {
    let known: Vec<&str> = tiers.keys().map(String::as_str).collect();
    format!(
        "{key} `{name}` is not a tier of the policy; expected one of: {}",
        known.join(", ")
    )
}

/// Days in a period written `<n>d` or `<n>w`.
pub fn parse_period_days(text: &str) -> Option<u64> {
    let text = text.trim();
    // By suffix, not by byte position: the policy comes from a pull request and may end
    // in any character.
    let (number, days_per_unit) = if let Some(days) = text.strip_suffix('d') {
        (days, 1)
    } else if let Some(weeks) = text.strip_suffix('w') {
        (weeks, 7)
    } else {
        return None;
    };
    number
        .parse::<u64>()
        .ok()?
        .checked_mul(days_per_unit)
        .filter(|days| *days > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_keys_take_the_documented_defaults() {
        let policy = Policy::parse("p.yml", "regression: {max_drop_pct: 5}\n").expect("valid");
        assert_eq!(policy.default_tier, "medium");
        assert_eq!(policy.regression.max_drop_pct, 5.0);
        assert_eq!(policy.tier("high").map(|t| t.approvals), Some(2));
        assert_eq!(policy.strictest(["low", "high", "medium"]), Some("high"));
        assert_eq!(policy.drift.drift_share, 0.5);
    }

    #[test]
    fn every_problem_is_reported_with_its_position() {
        let text = "default_tier: critical\ntiers:\n  low: {approvals: 1}\n  high: {approvals: 2, review_every: soon}\nescalate: {drift: severe}\n";
        let problems = Policy::parse("p.yml", text).expect_err("invalid");
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 3, "{messages:#?}");
        assert!(messages[0].starts_with("p.yml:4:"), "{}", messages[0]);
        assert!(
            messages[1].starts_with("p.yml:1:15: default_tier `critical` is not a tier"),
            "{}",
            messages[1]
        );
        assert!(
            messages[2].contains("escalate.drift `severe`"),
            "{}",
            messages[2]
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let problems = Policy::parse("p.yml", "tiers:\n  low: {aprovals: 1}\n").expect_err("typo");
        assert!(
            problems[0].to_string().starts_with("p.yml:2:"),
            "{}",
            problems[0]
        );
        assert!(problems[0].message.contains("aprovals"));
    }

    #[test]
    fn drift_settings_are_typed_with_their_positions() {
        let text = "drift:\n  stattest: kss\n  drift_share: 1.5\n  compat: pandas\n  threshold: -1\n  max_rows: 0\n  columns:\n    age: {stattest: kolmogorov, threshold: .nan}\n";
        let problems = Policy::parse("p.yml", text).expect_err("invalid");
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let tests = StatTestChoice::names().collect::<Vec<_>>().join(", ");
        assert_eq!(
            messages,
            [
                format!("p.yml:2:13: drift.stattest: unknown test `kss`; expected one of {tests}"),
                "p.yml:3:16: drift.drift_share: 1.5 is not a share of columns; expected a number in (0, 1]".into(),
                "p.yml:5:14: drift.threshold: -1 is not a threshold; expected a finite number >= 0".into(),
                "p.yml:4:11: drift.compat: unknown mode `pandas`; expected one of calibrated, evidently".into(),
                "p.yml:6:13: drift.max_rows: 0 rows; expected at least 1".into(),
                format!("p.yml:8:21: drift.columns.age.stattest: unknown test `kolmogorov`; expected one of {tests}"),
                "p.yml:8:44: drift.columns.age.threshold: NaN is not a threshold; expected a finite number >= 0".into(),
            ]
        );
        assert!(tests.starts_with("auto, ks, chisquare, z,"), "{tests}");
    }

    #[test]
    fn valid_drift_settings_parse_as_before() {
        let text = "drift: {stattest: ed, compat: calibrated, drift_share: 1, threshold: 0, max_rows: 5, seed: 3, ignore: [id], columns: {age: {stattest: auto}}}\n";
        let drift = Policy::parse("p.yml", text).expect("valid").drift;
        assert_eq!(
            drift.stattest,
            StatTestChoice::Test(crate::drift::StatTest::EnergyDist)
        );
        assert_eq!(drift.compat, Some(Mode::Calibrated));
        assert_eq!((drift.drift_share, drift.threshold), (1.0, Some(0.0)));
        assert_eq!((drift.max_rows, drift.seed), (Some(5), Some(3)));
        assert_eq!(drift.columns["age"].stattest, Some(StatTestChoice::Auto));
        let defaults = Policy::parse("p.yml", "").expect("empty").drift;
        assert_eq!(
            serde_json::to_value(&defaults).expect("serializes"),
            serde_json::json!({"stattest": "auto", "drift_share": 0.5})
        );
        // Keys are still checked by name, listed in the order of the documentation.
        let problems = Policy::parse("p.yml", "drift: {stattests: ks}\n").expect_err("typo");
        assert!(
            problems[0]
                .message
                .contains("unknown field `stattests`, expected one of stattest, drift_share"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn periods() {
        assert_eq!(parse_period_days("180d"), Some(180));
        assert_eq!(parse_period_days("2w"), Some(14));
        assert_eq!(parse_period_days("0d"), None);
        assert_eq!(parse_period_days("d"), None);
        assert_eq!(parse_period_days("3m"), None);
        // A multi-byte last character, where a byte cut would panic.
        assert_eq!(parse_period_days("180日"), None);
        assert_eq!(parse_period_days("é"), None);
        assert_eq!(parse_period_days(""), None);
    }
}
