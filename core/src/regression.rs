//! The regression check: each metric at base against head, under the card's rules and the
//! policy's default.

use indexmap::IndexMap;

use crate::card::{Direction, MetricRule};
use crate::metrics::Metrics;
use crate::policy::{CheckKind, RegressionDefaults};
use crate::report::{AppliedRule, Check, MetricDelta, Status};

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
            "no metrics.json at base or head",
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
        (true, false) => "metrics.json removed: nothing to compare at head".to_owned(),
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

fn applied_rule(
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
        (true, true) => "card",
        (true, false) => "card+policy",
        (false, _) => "policy",
    };
    if !bad_direction_bounded {
        match direction {
            Direction::Higher => bounds.max_drop_pct = Some(defaults.max_drop_pct),
            Direction::Lower => bounds.max_rise_pct = Some(defaults.max_drop_pct),
        }
    }
    AppliedRule { bounds, source }
}

fn compare_one(name: &str, base: Option<f64>, head: Option<f64>, rule: AppliedRule) -> MetricDelta {
    let direction = rule.bounds.direction.unwrap_or(Direction::Higher);
    let delta = base.zip(head).map(|(b, h)| h - b);
    let delta_pct = base
        .zip(delta)
        .and_then(|(b, d)| (b != 0.0).then(|| 100.0 * d / b.abs()));
    let mut breaches: Vec<String> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let bounds = &rule.bounds;

    if let Some(head) = head {
        if let Some(min) = bounds.min
            && exceeds(min - head, min)
        {
            breaches.push(format!("{} is below min {}", fmt(head), fmt(min)));
        }
        if let Some(max) = bounds.max
            && exceeds(head - max, max)
        {
            breaches.push(format!("{} is above max {}", fmt(head), fmt(max)));
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
        }
        if let Some(limit) = bounds.max_rise
            && exceeds(delta - limit, base)
        {
            breaches.push(format!(
                "rose {}, more than max_rise {}",
                fmt(delta),
                fmt(limit)
            ));
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
                }
                if let Some(limit) = bounds.max_rise_pct
                    && exceeds(pct - limit, limit)
                {
                    breaches.push(format!(
                        "rose {pct:.2}%, more than max_rise_pct {}",
                        fmt(limit)
                    ));
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
        source: "metrics.json",
        ci_low: None,
        ci_high: None,
        resamples: None,
        seed: None,
        paired: None,
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
        assert_eq!(auc.rule.source, "card");

        let log_loss = by_name("log_loss").expect("log_loss");
        assert_eq!(log_loss.status, Status::Fail, "2.5% rise > 2% default");
        assert_eq!(log_loss.rule.source, "policy");
        assert!((log_loss.delta_pct.expect("pct") - 2.5).abs() < 1e-9);

        let recall = by_name("recall").expect("recall");
        assert_eq!(
            recall.status,
            Status::Fail,
            "card gives only min, so the default drop bound applies"
        );
        assert_eq!(recall.rule.source, "card+policy");

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
