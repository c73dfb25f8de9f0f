//! The regression check: each metric at base against head, under the card's rules and the
//! policy's default; with predictions at both revisions, metrics are recomputed from them
//! and each delta gets a paired bootstrap interval, so noise is not called a regression.

use indexmap::IndexMap;

use super::{prediction_spec, predictions_table};
use crate::card::{Card, Direction, MetricRule};
use crate::convention::read_metrics;
use crate::error::Result;
use crate::git::Snapshot;
use crate::metrics_file::Metrics;
use crate::policy::{CheckKind, Policy, RegressionDefaults};
use crate::predictions::{
    BootstrapConfig, DeltaInterval, LoadedPredictions, Metric, bootstrap_deltas, compute_metrics,
    judge_breach, load_predictions,
};
use crate::report::{
    AppliedRule, Bound, Breach, Change, Check, Finding, MetricDelta, MetricSource, RuleSource,
    Status,
};

/// Name fragments of metrics that improve downwards.
const LOWER_IS_BETTER: [&str; 12] = [
    "loss",
    "error",
    "err",
    "mse",
    "rmse",
    "mae",
    "mape",
    "brier",
    "perplexity",
    "latency",
    "wer",
    "cer",
];

/// Which way a metric improves, judged from its name: a name with a word such as `loss`,
/// `error`, `mse` or `mae` improves downwards; any other upwards.
pub fn direction_from_name(name: &str) -> Direction {
    let lowered = name.to_ascii_lowercase();
    let lower = lowered
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| LOWER_IS_BETTER.contains(&word));
    if lower {
        Direction::Lower
    } else {
        Direction::Higher
    }
}

/// Compares the metrics of one model. `rules` are the card's; a metric without a bound in
/// its bad direction also gets the policy's default relative bound.
pub fn check_regression(
    base: Option<&Metrics>,
    head: Option<&Metrics>,
    rules: &IndexMap<String, MetricRule>,
    defaults: &RegressionDefaults,
) -> Check {
    if base.is_none() && head.is_none() {
        return Check::new(
            CheckKind::Regression,
            Status::Skipped,
            "no metrics.json (nor model-index results in the card) at base or head",
        );
    }
    let empty = Metrics::new();
    let (base_metrics, head_metrics) = (base.unwrap_or(&empty), head.unwrap_or(&empty));
    let mut names: Vec<&String> = base_metrics.keys().collect();
    names.extend(
        head_metrics
            .keys()
            .filter(|name| !base_metrics.contains_key(*name)),
    );

    let metrics: Vec<MetricDelta> = names
        .into_iter()
        .map(|name| {
            let rule = applied_rule(name, rules.get(name), defaults);
            compare_one(
                name,
                base_metrics.get(name).copied(),
                head_metrics.get(name).copied(),
                rule,
            )
        })
        .collect();

    let status = metrics
        .iter()
        .map(|m| m.status)
        .max()
        .unwrap_or(Status::Pass);
    let failed: Vec<&str> = metrics
        .iter()
        .filter(|m| m.status == Status::Fail)
        .map(|m| m.name.as_str())
        .collect();
    let summary = match (base.is_some(), head.is_some()) {
        (false, true) => format!(
            "new model: {} metric(s), no baseline to compare",
            metrics.len()
        ),
        (true, false) => "metrics removed: nothing to compare at head".to_owned(),
        _ if !failed.is_empty() => format!(
            "{} of {} metric(s) regressed: {}",
            failed.len(),
            metrics.len(),
            failed.join(", ")
        ),
        _ if status == Status::Warn => {
            format!("{} metric(s) compared; some need a look", metrics.len())
        }
        _ => format!("{} metric(s) within their rules", metrics.len()),
    };
    let status = if head.is_none() {
        Status::Warn.max(status)
    } else {
        status
    };
    let mut check = Check::new(CheckKind::Regression, status, summary);
    check.metrics = Some(metrics);
    check
}

/// The bounds a metric is judged by: the card's rule for it, with the policy's relative
/// default for the direction the card leaves open. The site draws them on its charts.
pub fn applied_rule(
    name: &str,
    card_rule: Option<&MetricRule>,
    defaults: &RegressionDefaults,
) -> AppliedRule {
    let mut bounds = card_rule.cloned().unwrap_or_default();
    let direction = *bounds
        .direction
        .get_or_insert_with(|| direction_from_name(name));
    let bad_direction_bounded = match direction {
        Direction::Higher => bounds.max_drop.is_some() || bounds.max_drop_pct.is_some(),
        Direction::Lower => bounds.max_rise.is_some() || bounds.max_rise_pct.is_some(),
    };
    let source = match (card_rule.is_some(), bad_direction_bounded) {
        (true, true) => RuleSource::Card,
        (true, false) => RuleSource::CardAndPolicy,
        (false, _) => RuleSource::Policy,
    };
    if !bad_direction_bounded {
        match direction {
            Direction::Higher => bounds.max_drop_pct = Some(defaults.max_drop_pct),
            Direction::Lower => bounds.max_rise_pct = Some(defaults.max_drop_pct),
        }
    }
    AppliedRule { bounds, source }
}

/// The value a head must not fall below (a higher-is-better metric) or rise above (lower
/// is better) under `rule`, given the base value: the strictest of its bounds, `None` when
/// it has none that applies.
pub fn head_bound(rule: &MetricRule, base: Option<f64>) -> Option<f64> {
    let relative = |amount: Option<f64>, pct: Option<f64>, sign: f64| {
        let base = base?;
        let by_amount = amount.map(|a| base + sign * a);
        let by_pct = pct.map(|p| base + sign * base.abs() * p / 100.0);
        match (by_amount, by_pct) {
            (Some(a), Some(b)) if sign < 0.0 => Some(a.max(b)),
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    };
    let candidates = match rule.direction.unwrap_or(Direction::Higher) {
        Direction::Higher => [rule.min, relative(rule.max_drop, rule.max_drop_pct, -1.0)],
        Direction::Lower => [rule.max, relative(rule.max_rise, rule.max_rise_pct, 1.0)],
    };
    let strictest = |a: f64, b: f64| match rule.direction.unwrap_or(Direction::Higher) {
        Direction::Higher => a.max(b),
        Direction::Lower => a.min(b),
    };
    candidates
        .into_iter()
        .flatten()
        .filter(|v| v.is_finite())
        .reduce(strictest)
}

fn compare_one(name: &str, base: Option<f64>, head: Option<f64>, rule: AppliedRule) -> MetricDelta {
    let direction = rule.bounds.direction.unwrap_or(Direction::Higher);
    let delta = base.zip(head).map(|(b, h)| h - b);
    let delta_pct = base
        .zip(delta)
        .and_then(|(b, d)| (b != 0.0).then(|| 100.0 * d / b.abs()));
    let mut breaches: Vec<String> = Vec::new();
    let mut broken: Vec<Breach> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let bounds = &rule.bounds;

    if let Some(head) = head {
        if let Some(min) = bounds.min
            && exceeds(min - head, min)
        {
            breaches.push(format!("{} is below min {}", fmt(head), fmt(min)));
            broken.push(Breach {
                bound: Bound::Min,
                limit: min,
                actual: head,
            });
        }
        if let Some(max) = bounds.max
            && exceeds(head - max, max)
        {
            breaches.push(format!("{} is above max {}", fmt(head), fmt(max)));
            broken.push(Breach {
                bound: Bound::Max,
                limit: max,
                actual: head,
            });
        }
    }
    if let (Some(base), Some(delta)) = (base, delta) {
        let drop = -delta;
        if let Some(limit) = bounds.max_drop
            && exceeds(drop - limit, base)
        {
            breaches.push(format!(
                "dropped {}, more than max_drop {}",
                fmt(drop),
                fmt(limit)
            ));
            broken.push(Breach {
                bound: Bound::MaxDrop,
                limit,
                actual: drop,
            });
        }
        if let Some(limit) = bounds.max_rise
            && exceeds(delta - limit, base)
        {
            breaches.push(format!(
                "rose {}, more than max_rise {}",
                fmt(delta),
                fmt(limit)
            ));
            broken.push(Breach {
                bound: Bound::MaxRise,
                limit,
                actual: delta,
            });
        }
        match delta_pct {
            Some(pct) => {
                if let Some(limit) = bounds.max_drop_pct
                    && exceeds(-pct - limit, limit)
                {
                    breaches.push(format!(
                        "dropped {:.2}%, more than max_drop_pct {}",
                        -pct,
                        fmt(limit)
                    ));
                    broken.push(Breach {
                        bound: Bound::MaxDropPct,
                        limit,
                        actual: -pct,
                    });
                }
                if let Some(limit) = bounds.max_rise_pct
                    && exceeds(pct - limit, limit)
                {
                    breaches.push(format!(
                        "rose {pct:.2}%, more than max_rise_pct {}",
                        fmt(limit)
                    ));
                    broken.push(Breach {
                        bound: Bound::MaxRisePct,
                        limit,
                        actual: pct,
                    });
                }
            }
            None => {
                let bounded_drop = bounds.max_drop_pct.is_some() && delta < 0.0;
                let bounded_rise = bounds.max_rise_pct.is_some() && delta > 0.0;
                if bounded_drop || bounded_rise {
                    warnings.push("base is 0, so a relative bound cannot apply".to_owned());
                }
            }
        }
    }

    let (status, note) = if !breaches.is_empty() {
        (Status::Fail, breaches.join("; "))
    } else {
        match (base, head, delta) {
            (Some(_), None, _) => (Status::Warn, "metric removed at head".to_owned()),
            (None, Some(_), _) => (Status::Pass, "metric added at head".to_owned()),
            _ if !warnings.is_empty() => (Status::Warn, warnings.join("; ")),
            (_, _, Some(0.0)) => (Status::Pass, "unchanged".to_owned()),
            (_, _, Some(d)) if improved(direction, d) => (Status::Pass, "improved".to_owned()),
            _ => (Status::Pass, "within the rule".to_owned()),
        }
    };
    MetricDelta {
        name: name.to_owned(),
        base,
        head,
        delta,
        delta_pct,
        direction,
        rule,
        status,
        note,
        source: MetricSource::MetricsJson,
        ci_low: None,
        ci_high: None,
        resamples: None,
        seed: None,
        paired: None,
        breaches: broken,
    }
}

fn improved(direction: Direction, delta: f64) -> bool {
    match direction {
        Direction::Higher => delta > 0.0,
        Direction::Lower => delta < 0.0,
    }
}

/// Whether `excess` is a real breach and not the rounding of decimal metrics
/// (0.81 − 0.80 is 0.010000000000000009 in binary).
fn exceeds(excess: f64, scale: f64) -> bool {
    excess > 1e-9 * scale.abs().max(1.0)
}

/// Short decimal form for notes: up to 4 significant decimals, no trailing zeros.
fn fmt(value: f64) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// The regression check of a touched model: its metrics at base and head (recomputed from
/// predictions when both revisions have them) under the base card's rules. A revision
/// without metrics.json takes its card's `model-index` results as its metrics.
pub(crate) fn regression_check(
    before: &Snapshot<'_>,
    after: &Snapshot<'_>,
    id: &str,
    change: Change,
    card_before: Option<&Card>,
    card_after: Option<&Card>,
    policy: &Policy,
) -> Result<Check> {
    if change == Change::Removed {
        return Ok(Check::new(
            CheckKind::Regression,
            Status::Skipped,
            "model removed",
        ));
    }
    let (mut base, base_source) = metrics_at(before, id, card_before)?;
    let (mut head, head_source) = metrics_at(after, id, card_after)?;
    let committed_head = head.clone();
    // With predictions at both revisions, metrics are recomputed from them.
    let data_card = card_after.or(card_before);
    let evidence = prediction_evidence(before, after, id, data_card, policy)?;
    if let Some(evidence) = &evidence {
        base.get_or_insert_with(Default::default)
            .extend(evidence.base.clone());
        head.get_or_insert_with(Default::default)
            .extend(evidence.head.clone());
    }
    // Rules come from the base card when there is one: a pull request that loosens its
    // own rules is judged by the rules it wants to change.
    let rules: IndexMap<String, MetricRule> = card_before
        .or(card_after)
        .and_then(Card::governance)
        .map(|g| {
            g.metrics
                .iter()
                .map(|(name, rule)| (name.clone(), rule.value.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut check = check_regression(base.as_ref(), head.as_ref(), &rules, &policy.regression);
    for delta in check.metrics.iter_mut().flatten() {
        delta.source = if delta.head.is_some() {
            head_source
        } else {
            base_source
        };
    }
    if let Some(evidence) = &evidence {
        apply_evidence(&mut check, evidence, committed_head.as_ref());
    }
    Ok(check)
}

/// A revision's metrics: its metrics.json, else its card's `model-index` results.
fn metrics_at(
    at: &Snapshot<'_>,
    id: &str,
    card: Option<&Card>,
) -> Result<(Option<Metrics>, MetricSource)> {
    if let Some(metrics) = read_metrics(at, id)? {
        return Ok((Some(metrics), MetricSource::MetricsJson));
    }
    let from_card = card
        .map(Card::model_index_metrics)
        .filter(|metrics| !metrics.is_empty());
    Ok(match from_card {
        Some(metrics) => (Some(metrics), MetricSource::ModelIndex),
        None => (None, MetricSource::MetricsJson),
    })
}

/// Metrics recomputed from predictions at both revisions, with bootstrap intervals.
#[derive(Debug)]
struct PredictionEvidence {
    base: Metrics,
    head: Metrics,
    intervals: Vec<DeltaInterval>,
}

/// Reads and scores the predictions at base and head, when both exist and the card says
/// which columns hold what.
fn prediction_evidence(
    before: &Snapshot<'_>,
    after: &Snapshot<'_>,
    model: &str,
    card: Option<&Card>,
    policy: &Policy,
) -> Result<Option<PredictionEvidence>> {
    let Some(spec) = card.and_then(prediction_spec) else {
        return Ok(None);
    };
    let (Some(base_table), Some(head_table)) = (
        predictions_table(before, model)?,
        predictions_table(after, model)?,
    ) else {
        return Ok(None);
    };
    let (base, head) = load_predictions(Some(&base_table), &head_table, &spec)?;
    let Some(base) = base else { return Ok(None) };
    let as_metrics = |loaded: &LoadedPredictions| -> Result<Metrics> {
        Ok(compute_metrics(&loaded.rows)?
            .into_iter()
            .filter_map(|m| m.value.map(|v| (m.metric.name().to_owned(), v)))
            .collect())
    };
    let metrics: Vec<Metric> = Metric::defaults_for(spec.task).to_vec();
    let config = BootstrapConfig {
        resamples: policy.regression.resamples,
        seed: policy.regression.seed,
        ..BootstrapConfig::default()
    };
    let intervals = bootstrap_deltas(&base.rows, &head.rows, &metrics, &config)?;
    Ok(Some(PredictionEvidence {
        base: as_metrics(&base)?,
        head: as_metrics(&head)?,
        intervals,
    }))
}

/// Applies the bootstrap to a regression check computed on recomputed metrics: a breach
/// whose interval includes zero is only a warning; metrics.json values that disagree with
/// the predictions are reported.
fn apply_evidence(
    check: &mut Check,
    evidence: &PredictionEvidence,
    committed_head: Option<&Metrics>,
) {
    let Some(metrics) = check.metrics.as_mut() else {
        return;
    };
    for delta in metrics.iter_mut() {
        let Some(interval) = evidence
            .intervals
            .iter()
            .find(|i| i.metric.name() == delta.name)
        else {
            continue;
        };
        delta.source = MetricSource::Predictions;
        delta.ci_low = interval.ci_low;
        delta.ci_high = interval.ci_high;
        delta.resamples = Some(interval.resamples);
        delta.seed = Some(interval.seed);
        delta.paired = Some(interval.paired);
        if delta.status == Status::Fail {
            let direction = delta.rule.bounds.direction.unwrap_or(Direction::Higher);
            let (status, why) = judge_breach(interval, direction);
            delta.status = status;
            delta.note = format!("{}; {why}", delta.note);
        }
    }
    let mut findings = Vec::new();
    if let Some(committed) = committed_head {
        for (name, computed) in &evidence.head {
            if let Some(written) = committed.get(name)
                && (written - computed).abs() > 1e-6 * computed.abs().max(1.0)
            {
                findings.push(Finding::MetricsMismatch {
                    metric: name.clone(),
                    written: *written,
                    computed: *computed,
                });
            }
        }
    }
    let worst = metrics
        .iter()
        .map(|m| m.status)
        .max()
        .unwrap_or(Status::Pass);
    check.status = if findings.is_empty() {
        worst
    } else {
        worst.max(Status::Warn)
    };
    let failed: Vec<&str> = metrics
        .iter()
        .filter(|m| m.status == Status::Fail)
        .map(|m| m.name.as_str())
        .collect();
    let noisy = metrics
        .iter()
        .filter(|m| m.status == Status::Warn && m.ci_low.is_some())
        .count();
    check.summary = match (failed.is_empty(), noisy) {
        (false, _) => format!(
            "{} significant regression(s): {}",
            failed.len(),
            failed.join(", ")
        ),
        (true, 0) => format!(
            "{} metric(s) within their rules (recomputed from predictions)",
            metrics.len()
        ),
        (true, n) => format!("{n} breach(es) within bootstrap noise, none significant"),
    };
    check.findings.extend(findings);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(pairs: &[(&str, f64)]) -> Metrics {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn directions_from_names() {
        assert_eq!(direction_from_name("log_loss"), Direction::Lower);
        assert_eq!(direction_from_name("val-MAE"), Direction::Lower);
        assert_eq!(direction_from_name("error_rate"), Direction::Lower);
        assert_eq!(direction_from_name("auc"), Direction::Higher);
        assert_eq!(direction_from_name("f1_macro"), Direction::Higher);
        assert_eq!(direction_from_name("maestro_score"), Direction::Higher);
    }

    #[test]
    fn card_rules_and_the_policy_default() {
        let rules = IndexMap::from([
            (
                "auc".to_owned(),
                MetricRule {
                    max_drop: Some(0.01),
                    min: Some(0.75),
                    ..Default::default()
                },
            ),
            (
                "recall".to_owned(),
                MetricRule {
                    min: Some(0.5),
                    ..Default::default()
                },
            ),
        ]);
        let base = metrics(&[
            ("auc", 0.81),
            ("log_loss", 0.40),
            ("recall", 0.70),
            ("old", 1.0),
        ]);
        let head = metrics(&[
            ("auc", 0.80),
            ("log_loss", 0.41),
            ("recall", 0.60),
            ("new", 2.0),
        ]);
        let check = check_regression(
            Some(&base),
            Some(&head),
            &rules,
            &RegressionDefaults::default(),
        );
        let by_name = |n: &str| {
            check
                .metrics
                .as_ref()
                .and_then(|m| m.iter().find(|d| d.name == n))
                .cloned()
        };

        let auc = by_name("auc").expect("auc");
        assert_eq!(
            auc.status,
            Status::Pass,
            "a drop of exactly max_drop is allowed: {}",
            auc.note
        );
        assert_eq!(auc.rule.source, RuleSource::Card);

        let log_loss = by_name("log_loss").expect("log_loss");
        assert_eq!(log_loss.status, Status::Fail, "2.5% rise > 2% default");
        assert_eq!(log_loss.rule.source, RuleSource::Policy);
        assert!((log_loss.delta_pct.expect("pct") - 2.5).abs() < 1e-9);

        let recall = by_name("recall").expect("recall");
        assert_eq!(
            recall.status,
            Status::Fail,
            "card gives only min, so the default drop bound applies"
        );
        assert_eq!(recall.rule.source, RuleSource::CardAndPolicy);

        assert_eq!(by_name("old").map(|m| m.status), Some(Status::Warn));
        assert_eq!(
            by_name("new").map(|m| m.note),
            Some("metric added at head".to_owned())
        );
        assert_eq!(check.status, Status::Fail);
        assert_eq!(
            check.summary,
            "2 of 5 metric(s) regressed: log_loss, recall"
        );
    }

    #[test]
    fn absolute_bounds_apply_to_a_new_model() {
        let rules = IndexMap::from([(
            "auc".to_owned(),
            MetricRule {
                min: Some(0.75),
                ..Default::default()
            },
        )]);
        let head = metrics(&[("auc", 0.7)]);
        let check = check_regression(None, Some(&head), &rules, &RegressionDefaults::default());
        assert_eq!(check.status, Status::Fail);
        assert!(check.summary.starts_with("new model"));
    }

    #[test]
    fn zero_base_cannot_take_a_relative_bound() {
        let base = metrics(&[("bias", 0.0)]);
        let head = metrics(&[("bias", 0.2)]);
        let check = check_regression(
            Some(&base),
            Some(&head),
            &IndexMap::new(),
            &RegressionDefaults::default(),
        );
        let bias = &check.metrics.as_ref().expect("metrics")[0];
        assert_eq!(
            (bias.status, bias.delta_pct),
            (Status::Pass, None),
            "a rise of a higher-is-better metric"
        );
        let head = metrics(&[("bias", -0.2)]);
        let check = check_regression(
            Some(&base),
            Some(&head),
            &IndexMap::new(),
            &RegressionDefaults::default(),
        );
        assert_eq!(check.status, Status::Warn);
    }
}
