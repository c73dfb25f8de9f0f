//! The fairness check: gaps between the groups of each sensitive feature in the model's
//! predictions at head, against the policy's limits.

use super::{prediction_spec, predictions_table};
use crate::card::Card;
use crate::error::Result;
use crate::git::Snapshot;
use crate::policy::{CheckKind, Policy};
use crate::predictions::{fairness, load_predictions};
use crate::report::{Check, Finding, Status};

/// The fairness check of a model's predictions at head.
pub fn fairness_check(
    after: &Snapshot<'_>,
    model: &str,
    card: Option<&Card>,
    policy: &Policy,
) -> Result<Check> {
    let features = card
        .and_then(Card::governance)
        .map(|g| g.sensitive_features.clone())
        .unwrap_or_default();
    if features.is_empty() {
        return Ok(Check::new(
            CheckKind::Fairness,
            Status::Skipped,
            "the card names no sensitive_features",
        ));
    }
    let Some(spec) = card.and_then(prediction_spec) else {
        return Ok(Check::new(
            CheckKind::Fairness,
            Status::Skipped,
            "the card does not say which columns hold labels and predictions",
        ));
    };
    let Some(table) = predictions_table(after, model)? else {
        return Ok(Check::new(
            CheckKind::Fairness,
            Status::Skipped,
            "no predictions file at head",
        ));
    };
    let (_, head) = load_predictions(None, &table, &spec)?;
    let results = fairness(&head.rows, &features, &head.groups, &policy.fairness)?;
    let status = results
        .iter()
        .map(|f| f.status)
        .filter(|s| *s != Status::Skipped)
        .max()
        .unwrap_or(Status::Skipped);
    let failing: Vec<&str> = results
        .iter()
        .filter(|f| f.status == Status::Fail)
        .map(|f| f.feature.as_str())
        .collect();
    let summary = match status {
        Status::Fail => format!("gaps above the policy's limits for {}", failing.join(", ")),
        Status::Skipped => "no sensitive feature could be judged".to_owned(),
        _ => format!(
            "{} sensitive feature(s) within the policy's limits",
            results.len()
        ),
    };
    let mut check = Check::new(CheckKind::Fairness, status, summary);
    check.findings = results
        .iter()
        .filter(|f| f.status != Status::Pass)
        .map(|f| Finding::Fairness {
            feature: f.feature.clone(),
            summary: f.summary.clone(),
        })
        .collect();
    check.features = Some(results);
    Ok(check)
}
