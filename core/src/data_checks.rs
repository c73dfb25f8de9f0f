//! The checks that read data: drift of changed datasets, metrics recomputed from
//! predictions with bootstrap intervals, and fairness gaps. Files are read from git objects
//! with polars.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::card::{Card, Direction};
use crate::drift::{DatasetDrift, DriftOptions};
use crate::error::{Error, Result};
use crate::git::Snapshot;
use crate::metrics::Metrics;
use crate::path::RepoPath;
use crate::policy::{CheckKind, DriftPolicy, Policy};
use crate::predictions::{
    BootstrapConfig, DeltaInterval, Metric, bootstrap_deltas, compute_metrics, fairness,
    judge_breach,
};
use crate::report::{Check, Status};
use crate::table::{LoadedPredictions, PredictionSpec, Table, compare_tables, load_predictions};

/// Drift of one changed dataset, `checks[].datasets[]` of a drift check.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetDriftReport {
    pub path: String,
    /// `modified`, `added` or `removed`; only modified datasets are compared.
    pub change: &'static str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DatasetDrift>,
}

fn read_table(snapshot: &Snapshot<'_>, path: &RepoPath) -> Result<Option<Table>> {
    match snapshot.read(path)? {
        None => Ok(None),
        Some(file) => Ok(Some(Table::from_bytes(path.as_str(), file.content)?)),
    }
}

/// Compares every changed dataset once, base version against head version.
#[derive(Debug, Default)]
pub struct DriftCache {
    results: BTreeMap<(RepoPath, String), DatasetDriftReport>,
}

impl DriftCache {
    pub fn dataset(
        &mut self,
        before: &Snapshot<'_>,
        after: &Snapshot<'_>,
        path: &RepoPath,
        policy: &DriftPolicy,
    ) -> Result<DatasetDriftReport> {
        // Keyed by the options too: a card may set its own.
        let key = (path.clone(), format!("{policy:?}"));
        if let Some(hit) = self.results.get(&key) {
            return Ok(hit.clone());
        }
        let report = match (read_table(before, path)?, read_table(after, path)?) {
            (Some(reference), Some(current)) => {
                let options = DriftOptions::from_policy(policy);
                let drift = compare_tables(&reference, &current, None, &options, None)?;
                DatasetDriftReport {
                    path: path.to_string(),
                    change: "modified",
                    drift: Some(drift),
                }
            }
            (None, _) => DatasetDriftReport {
                path: path.to_string(),
                change: "added",
                drift: None,
            },
            (_, None) => DatasetDriftReport {
                path: path.to_string(),
                change: "removed",
                drift: None,
            },
        };
        self.results.insert(key, report.clone());
        Ok(report)
    }
}

/// The drift check of a model over the changed datasets that reach it.
pub fn drift_check(reports: Vec<DatasetDriftReport>) -> Check {
    if reports.is_empty() {
        return Check::new(
            CheckKind::Drift,
            Status::Skipped,
            "no dataset of this model or its upstream models changed",
        );
    }
    let mut status = Status::Pass;
    let mut findings = Vec::new();
    let mut drifted_sets = Vec::new();
    for report in &reports {
        match &report.drift {
            None => {
                status = status.max(Status::Warn);
                findings.push(format!(
                    "{}: dataset {}, nothing to compare",
                    report.path, report.change
                ));
            }
            Some(drift) => {
                let drifted: Vec<&str> = drift
                    .columns
                    .iter()
                    .filter(|c| c.drifted)
                    .map(|c| c.name.as_str())
                    .collect();
                if drift.dataset_drift {
                    status = Status::Fail;
                    drifted_sets.push(report.path.clone());
                } else if !drifted.is_empty() || !drift.schema_changes.is_empty() {
                    status = status.max(Status::Warn);
                }
                if !drifted.is_empty() {
                    findings.push(format!(
                        "{}: {} of {} tested column(s) drifted: {}",
                        report.path,
                        drifted.len(),
                        drift.tested_columns(),
                        drifted.join(", ")
                    ));
                }
                if let Some(sampling) = &drift.sampling {
                    // Reference is the base version, current the head.
                    findings.push(format!("{}: sampled {sampling}", report.path));
                }
                for change in &drift.schema_changes {
                    findings.push(
                        format!(
                            "{}: column `{}` {:?}",
                            report.path, change.column, change.change
                        )
                        .to_lowercase(),
                    );
                }
            }
        }
    }
    let summary = match status {
        Status::Fail => format!("dataset drift in {}", drifted_sets.join(", ")),
        Status::Warn => format!(
            "{} changed dataset(s): some columns changed, no dataset drift",
            reports.len()
        ),
        _ => format!("{} changed dataset(s), no drift", reports.len()),
    };
    let mut check = Check::new(CheckKind::Drift, status, summary);
    check.findings = findings;
    check.datasets = Some(reports);
    check
}

/// The predictions file of a model at a snapshot (`predictions.parquet`, else `.csv`).
fn predictions_table(snapshot: &Snapshot<'_>, model: &str) -> Result<Option<Table>> {
    for extension in ["parquet", "csv"] {
        let file = format!("models/{model}/predictions.{extension}");
        let path = RepoPath::parse(&file).map_err(|source| Error::Path {
            path: file.clone(),
            source,
        })?;
        if let Some(table) = read_table(snapshot, &path)? {
            return Ok(Some(table));
        }
    }
    Ok(None)
}

fn prediction_spec(card: &Card) -> Option<PredictionSpec> {
    let governance = card.governance()?;
    Some(PredictionSpec {
        task: governance.task?,
        label: governance.label.clone()?,
        prediction: governance.prediction.clone(),
        score: governance.score.clone(),
        id: governance.id.clone(),
        groups: governance.sensitive_features.clone(),
    })
}

/// Metrics recomputed from predictions at both revisions, with bootstrap intervals.
#[derive(Debug)]
pub struct PredictionEvidence {
    pub base: Metrics,
    pub head: Metrics,
    pub intervals: Vec<DeltaInterval>,
}

/// Reads and scores the predictions at base and head, when both exist and the card says
/// which columns hold what.
pub fn prediction_evidence(
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
pub fn apply_evidence(
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
        delta.source = "predictions";
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
                findings.push(format!(
                    "metrics.json gives {name} {written} at head, but the predictions give {computed:.6}"
                ));
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
        .map(|f| format!("{}: {}", f.feature, f.summary))
        .collect();
    check.features = Some(results);
    Ok(check)
}
