//! Control exceptions: what landed on a branch outside the control the ledger stands for.
//! From the ledger's first record on, every commit of the branch's first-parent history
//! that changed a model (its folder, or a dataset its card names) must carry a record whose
//! decision passed with its approvals met. What does not is an exception:
//!
//! - `unrecorded`: the commit changed a model and has no record;
//! - `failed`: its record's conclusion is `fail` (blocking failures not covered by an
//!   accepted risk);
//! - `unapproved`: its record's approvals were not met, or were never judged (a report
//!   made without pull-request facts): unknown is not pass.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use serde::Serialize;

use super::AuditRecord;
use crate::history::History;
use crate::sha::ShortSha;
use crate::untrusted::Escaped;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    Unrecorded,
    Failed,
    Unapproved,
}

impl ExceptionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionKind::Unrecorded => "unrecorded",
            ExceptionKind::Failed => "failed",
            ExceptionKind::Unapproved => "unapproved",
        }
    }
}

impl fmt::Display for ExceptionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlException {
    pub kind: ExceptionKind,
    /// The commit of the branch that landed outside the control.
    pub commit: String,
    /// The models it changed (`unrecorded`) or its record names.
    pub models: Vec<String>,
    /// One sentence saying what happened.
    pub summary: String,
    /// The record's sequence number; `null` for `unrecorded`.
    pub record: Option<u64>,
    /// Committer time of the commit, seconds since the epoch.
    pub time: i64,
}

/// Which commits of `history` were judged, and what was found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Controls {
    /// The first commit judged: the earliest one of the walk that carries a record;
    /// `null` while the ledger has no record on this branch.
    pub since: Option<String>,
    /// Commits judged, from `since` to the tip.
    pub commits_judged: usize,
    /// Oldest first.
    pub exceptions: Vec<ControlException>,
}

/// Judges every commit of `history` from the first one that carries a record.
/// `records` are the ledger's readable records (an unreadable one is a ledger problem, and
/// its commit counts as unrecorded here).
pub fn controls(history: &History, records: &[AuditRecord]) -> Controls {
    let position: HashMap<String, usize> = history
        .commits
        .iter()
        .enumerate()
        .map(|(index, commit)| (commit.id.to_string(), index))
        .collect();
    let mut by_commit: HashMap<usize, Vec<&AuditRecord>> = HashMap::new();
    for record in records {
        if let Some(&index) = position.get(&record.commit) {
            by_commit.entry(index).or_default().push(record);
        }
    }
    let Some(&start) = by_commit.keys().min() else {
        return Controls::default();
    };
    let changed = changed_models(history, start);
    let mut exceptions = Vec::new();
    for (index, commit) in history.commits.iter().enumerate().skip(start) {
        let id = commit.id.to_string();
        let Some(records) = by_commit.get(&index) else {
            if let Some(models) = changed.get(&index).filter(|m| !m.is_empty()) {
                let names: Vec<String> = models.iter().map(|m| Escaped(m).to_string()).collect();
                exceptions.push(ControlException {
                    kind: ExceptionKind::Unrecorded,
                    commit: id,
                    models: models.iter().cloned().collect(),
                    summary: format!(
                        "“{}” changed {} and no decision is recorded for it",
                        Escaped(&commit.summary),
                        names.join(", ")
                    ),
                    record: None,
                    time: commit.time,
                });
            }
            continue;
        };
        for record in records {
            let models: Vec<String> = record.models.iter().map(|m| m.id.clone()).collect();
            let mut push = |kind, summary: String| {
                exceptions.push(ControlException {
                    kind,
                    commit: id.clone(),
                    models: models.clone(),
                    summary,
                    record: Some(record.sequence),
                    time: commit.time,
                });
            };
            let judged = judged_report(record);
            if record.conclusion == "fail" {
                push(
                    ExceptionKind::Failed,
                    failed_summary(record, judged.as_ref()),
                );
            }
            if !models.is_empty()
                && let Some(summary) = unapproved_summary(record, judged.as_ref())
            {
                push(ExceptionKind::Unapproved, summary);
            }
        }
    }
    Controls {
        since: history.commits.get(start).map(|c| c.id.to_string()),
        commits_judged: history.commits.len() - start,
        exceptions,
    }
}

/// Models each commit (from `start`) changed: its folder, or a dataset its card names at
/// that commit.
fn changed_models(history: &History, start: usize) -> HashMap<usize, BTreeSet<String>> {
    let mut changed: HashMap<usize, BTreeSet<String>> = HashMap::new();
    for (model, versions) in &history.models {
        for version in versions.iter().filter(|v| v.commit >= start) {
            changed
                .entry(version.commit)
                .or_default()
                .insert(model.clone());
        }
    }
    for (path, versions) in &history.datasets {
        for version in versions.iter().filter(|v| v.commit >= start) {
            for (model, model_versions) in &history.models {
                let names_it = model_versions
                    .iter()
                    .rev()
                    .find(|v| v.commit <= version.commit)
                    .is_some_and(|v| v.datasets.iter().any(|d| d == path));
                if names_it {
                    changed
                        .entry(version.commit)
                        .or_default()
                        .insert(model.clone());
                }
            }
        }
    }
    changed
}

/// The report kept with the record, parsed; `None` for a record written before reports
/// were kept, or one whose evidence cannot be read (`verify` reports that).
fn judged_report(record: &AuditRecord) -> Option<serde_json::Value> {
    let kept = record.evidence.as_ref()?.open().ok()?;
    serde_json::from_slice(&kept.report).ok()
}

fn failed_summary(record: &AuditRecord, report: Option<&serde_json::Value>) -> String {
    let failures: Vec<String> = report
        .and_then(|r| r["models"].as_array())
        .into_iter()
        .flatten()
        .flat_map(|model| {
            let id = model["id"].as_str().unwrap_or_default().to_owned();
            model["checks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["blocking"] == true && c["accepted"] != true)
                .map(move |c| {
                    format!(
                        "{} {}: {}",
                        Escaped(&id),
                        Escaped(c["kind"].as_str().unwrap_or("check")),
                        Escaped(c["summary"].as_str().unwrap_or_default())
                    )
                })
        })
        .collect();
    let accepted = if record.accepted_risks.is_empty() {
        "no risk was accepted".to_owned()
    } else {
        format!(
            "{} accepted risk(s) did not cover every failure",
            record.accepted_risks.len()
        )
    };
    let head = format!(
        "record #{} (commit {}) was merged although its decision was fail; {accepted}",
        record.sequence,
        ShortSha(&record.commit)
    );
    if failures.is_empty() {
        head
    } else {
        format!("{head}: {}", failures.join("; "))
    }
}

/// Why the record's approvals are not known to be met; `None` when they were.
fn unapproved_summary(record: &AuditRecord, report: Option<&serde_json::Value>) -> Option<String> {
    let head = format!("record #{}", record.sequence);
    match report {
        Some(report) => {
            let approvals = &report["approvals"];
            if approvals.is_null() {
                return Some(format!(
                    "{head}: approvals were never judged (the report was made without pull-request facts)"
                ));
            }
            if approvals["satisfied"] == true {
                return None;
            }
            let missing: Vec<String> = approvals["requirements"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["met"] != true)
                .map(|r| Escaped(r["description"].as_str().unwrap_or("a requirement")).to_string())
                .collect();
            Some(format!(
                "{head} was merged without its required approvals: missing {}",
                if missing.is_empty() {
                    "a requirement".to_owned()
                } else {
                    missing.join("; ")
                }
            ))
        }
        // A record written before reports were kept: its conclusion and approvers are all
        // there is.
        None if record.conclusion == "action_required" => Some(format!(
            "{head} was merged while approvals were still required (conclusion action_required)"
        )),
        None if record.approvers.is_empty() => Some(format!(
            "{head} names no approver and keeps no report, so its approvals cannot be confirmed"
        )),
        None => None,
    }
}
