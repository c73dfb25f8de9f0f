//! The drift check: each changed dataset that reaches a model (its own or an upstream
//! model's), base version against head version, column by column.

use super::{read_profile, read_table};
use crate::content::Unavailable;
use crate::drift::{DatasetDrift, DriftOptions};
use crate::error::{Error, Result};
use crate::git::Snapshot;
use crate::path::RepoPath;
use crate::policy::{CheckKind, DriftPolicy};
use crate::profile::{compare_profiles, is_profile_path};
use crate::report::{Check, DatasetChange, DatasetDriftReport, Finding, Status};
use crate::table::compare_tables;

/// Compares every changed dataset once, base version against head version.
#[derive(Debug, Default)]
pub struct DriftCache {
    /// Keyed by the options too: a card may set its own. A pull request changes few
    /// datasets, so a list is enough.
    results: Vec<(RepoPath, DriftOptions, DatasetDriftReport)>,
}

impl DriftCache {
    pub fn dataset(
        &mut self,
        before: &Snapshot<'_>,
        after: &Snapshot<'_>,
        path: &RepoPath,
        policy: &DriftPolicy,
        identifiers: &[String],
    ) -> Result<DatasetDriftReport> {
        let options = DriftOptions {
            identifiers: identifiers.to_vec(),
            ..policy.options()
        };
        if let Some((_, _, hit)) = self
            .results
            .iter()
            .find(|(p, o, _)| p == path && *o == options)
        {
            return Ok(hit.clone());
        }
        // A profile is compared as profiles; any other data file as a table.
        let report = if is_profile_path(path.as_str()) {
            compare_sides(
                path,
                read_profile(before, path),
                read_profile(after, path),
                |reference, current| Ok(compare_profiles(reference, current, &options)?),
            )?
        } else {
            compare_sides(
                path,
                read_table(before, path),
                read_table(after, path),
                |reference, current| Ok(compare_tables(reference, current, None, &options, None)?),
            )?
        };
        self.results.push((path.clone(), options, report.clone()));
        Ok(report)
    }
}

/// The report of a dataset from its two sides, read (both, even when one cannot be, so the
/// report names every revision whose content is missing) and, when both are there, compared.
fn compare_sides<T>(
    path: &RepoPath,
    reference: Result<Option<T>>,
    current: Result<Option<T>>,
    compare: impl FnOnce(&T, &T) -> Result<DatasetDrift>,
) -> Result<DatasetDriftReport> {
    let report = |change, drift, unavailable| DatasetDriftReport {
        path: path.to_string(),
        change,
        drift,
        unavailable,
    };
    let unavailable: Vec<Unavailable> = [&reference, &current]
        .into_iter()
        .filter_map(|side| match side {
            Err(Error::Unavailable(missing)) => Some((**missing).clone()),
            _ => None,
        })
        .collect();
    if !unavailable.is_empty() {
        return Ok(report(DatasetChange::Modified, None, unavailable));
    }
    Ok(match (reference?, current?) {
        (Some(reference), Some(current)) => report(
            DatasetChange::Modified,
            Some(compare(&reference, &current)?),
            Vec::new(),
        ),
        (None, _) => report(DatasetChange::Added, None, Vec::new()),
        (_, None) => report(DatasetChange::Removed, None, Vec::new()),
    })
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
    let mut unread = Vec::new();
    for report in &reports {
        let dataset = || report.path.clone();
        if !report.unavailable.is_empty() {
            unread.push(report.path.clone());
            findings.extend(report.unavailable.iter().cloned().map(Finding::Unavailable));
            continue;
        }
        match &report.drift {
            None => {
                status = status.max(Status::Warn);
                findings.push(Finding::NotCompared {
                    dataset: dataset(),
                    change: report.change,
                });
            }
            Some(drift) => {
                let drifted: Vec<String> = drift
                    .columns
                    .iter()
                    .filter(|c| c.drifted)
                    .map(|c| c.name.clone())
                    .collect();
                if drift.dataset_drift {
                    status = Status::Fail;
                    drifted_sets.push(report.path.clone());
                } else if !drifted.is_empty() || !drift.schema_changes.is_empty() {
                    status = status.max(Status::Warn);
                }
                if !drifted.is_empty() {
                    findings.push(Finding::ColumnsDrifted {
                        dataset: dataset(),
                        drifted,
                        tested: drift.tested_columns(),
                    });
                }
                if let Some(sampling) = &drift.sampling {
                    findings.push(Finding::Sampled {
                        dataset: dataset(),
                        sampling: sampling.clone(),
                    });
                }
                for change in &drift.schema_changes {
                    findings.push(Finding::SchemaChanged {
                        dataset: dataset(),
                        change: change.clone(),
                    });
                }
            }
        }
    }
    let compared = reports.len() - unread.len();
    let summary = match status {
        Status::Fail => format!("dataset drift in {}", drifted_sets.join(", ")),
        _ if compared == 0 => String::new(),
        Status::Warn => {
            format!("{compared} changed dataset(s): some columns changed, no dataset drift")
        }
        _ => format!("{compared} changed dataset(s), no drift"),
    };
    let mut check = Check::new(CheckKind::Drift, status, summary);
    if !unread.is_empty() {
        // Drift found elsewhere fails on its own; unread data fails where the tier blocks.
        check.status = Status::Fail;
        check.status_when_not_blocking = Some(status.max(Status::Warn));
        let not_read = format!("not evaluated: {} could not be read", unread.join(", "));
        check.summary = if check.summary.is_empty() {
            not_read
        } else {
            format!("{not_read}; {}", check.summary)
        };
    }
    check.findings = findings;
    check.datasets = Some(reports);
    check
}
