//! The audit ledger: one decision record per merged pull request, kept in the repository
//! itself as a git note on the merge commit under `refs/notes/modelgate`.
//!
//! Records form a hash chain: each holds the sha256 of the previous record's bytes and a
//! digest of its own content, and a sequence number. `verify` detects a record edited
//! (its digest or its successor's link no longer matches), removed (a gap in the sequence),
//! moved to another commit or swapped (the record names the commit it belongs to), and
//! forged (a wrong previous digest). Rewriting every record after an edit, with their
//! digests, is not detectable from the ledger alone: publish the latest digest elsewhere
//! (for example in the PR comment) to anchor it.
//!
//! A record keeps the evidence it rests on (the report and the pull-request facts,
//! compressed; [`evidence`]), and [`audit`] judges a branch against the ledger: every change
//! to a model since the first record must carry a passing, approved decision
//! ([`exceptions`]).

mod evidence;
mod exceptions;

pub use evidence::{ENCODING as EVIDENCE_ENCODING, Evidence, KeptEvidence};
pub use exceptions::{ControlException, Controls, ExceptionKind, controls};

use std::collections::BTreeMap;
use std::fmt::Write;

use git2::Oid;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::approvals::PrFacts;
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::git::Repo;
use crate::path::RepoPath;
use crate::policy::{POLICY_PATH, Policy};
use crate::report::Approver;
use crate::sha::{FullSha, Sha, ShortSha};
use crate::untrusted::Escaped;

pub const NOTES_REF: &str = "refs/notes/modelgate";
pub const AUDIT_SCHEMA: &str = "modelgate.audit/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    pub schema: String,
    /// 1 for the first record, then one more for each.
    pub sequence: u64,
    /// The merge commit the record is attached to.
    pub commit: String,
    pub pr: Option<u64>,
    pub base: String,
    pub head: String,
    pub models: Vec<AuditedModel>,
    pub tier: Option<String>,
    pub conclusion: String,
    pub approvers: Vec<Approver>,
    pub accepted_risks: Vec<AuditedRisk>,
    pub report_sha256: String,
    pub policy_sha256: String,
    /// The report and pull-request facts the decision rests on. Absent from records
    /// written before modelgate kept them (their bytes, and so their digests, are
    /// unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// sha256 of the previous record's note, `null` for the first.
    pub previous: Option<String>,
    /// sha256 of this record serialized with `digest` empty.
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditedModel {
    pub id: String,
    pub change: String,
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditedRisk {
    pub by: String,
    pub reason: String,
    pub comment_id: u64,
    pub checks: Vec<String>,
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl AuditRecord {
    /// The note's exact bytes.
    fn to_note(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map(|text| text + "\n")
            .map_err(|e| Error::Audit(format!("serializing a record: {e}")))
    }

    fn content_digest(&self) -> Result<String> {
        let mut unsigned = self.clone();
        unsigned.digest = String::new();
        Ok(sha256_hex(unsigned.to_note()?.as_bytes()))
    }
}

/// A note read from the ledger: the commit it is attached to, its bytes and its record.
struct StoredNote {
    annotated: Oid,
    bytes: String,
    record: std::result::Result<AuditRecord, String>,
}

fn read_notes(repo: &Repo) -> Result<Vec<StoredNote>> {
    let git = repo.git();
    let iter = match git.notes(Some(NOTES_REF)) {
        Ok(iter) => iter,
        Err(error) if error.code() == git2::ErrorCode::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(Error::git("listing audit notes")(error)),
    };
    let mut notes = Vec::new();
    for entry in iter {
        let (_, annotated) = entry.map_err(Error::git("listing audit notes"))?;
        let note = git
            .find_note(Some(NOTES_REF), annotated)
            .map_err(Error::git("reading an audit note"))?;
        let bytes = String::from_utf8_lossy(note.message_bytes()).into_owned();
        let record = serde_json::from_str::<AuditRecord>(&bytes).map_err(|e| e.to_string());
        notes.push(StoredNote {
            annotated,
            bytes,
            record,
        });
    }
    Ok(notes)
}

/// What `audit record` needs besides the repository.
#[derive(Debug)]
pub struct RecordRequest<'a> {
    /// The merge commit (any revision).
    pub commit: &'a str,
    /// The report's JSON bytes, as `check --format json` wrote them.
    pub report: &'a [u8],
    pub report_file: &'a str,
    pub facts: Option<&'a PrFacts>,
}

/// Writes the decision record for a merge commit. Recording the same report on the same
/// commit again is a no-op (a rerun of the Action); a different one is refused.
pub fn record(repo: &Repo, request: &RecordRequest<'_>) -> Result<AuditRecord> {
    let commit = repo.resolve(request.commit)?;
    let report: serde_json::Value = serde_json::from_slice(request.report)
        .map_err(|e| Error::invalid(Diagnostic::from_json(request.report_file, &e)))?;
    if report["schema"] != crate::report::REPORT_SCHEMA {
        return Err(Error::invalid(Diagnostic::whole_file(
            request.report_file,
            format!(
                "not a {} report (schema is {})",
                crate::report::REPORT_SCHEMA,
                report["schema"]
            ),
        )));
    }
    // The ledger holds only valid shas (`verify` reports any other text as tampering), so
    // a report whose revisions are not commits is refused before anything is written.
    for field in ["base", "head"] {
        let value = &report[field];
        if value.as_str().and_then(Sha::parse).is_none() {
            return Err(Error::invalid(Diagnostic::whole_file(
                request.report_file,
                format!("`{field}` is {value}: expected the commit's full hex sha"),
            )));
        }
    }
    let report_sha256 = sha256_hex(request.report);

    let chain = verify(repo)?;
    if !chain.problems.is_empty() {
        return Err(Error::Audit(format!(
            "the ledger fails verification, so nothing is appended: {}",
            chain.problems.join("; ")
        )));
    }
    if let Some(existing) = chain
        .records
        .iter()
        .find(|r| r.commit == commit.to_string())
    {
        if existing.report_sha256 == report_sha256 {
            return Ok(existing.clone());
        }
        return Err(Error::Audit(format!(
            "commit {commit} already has audit record #{} for another report",
            existing.sequence
        )));
    }
    let previous = match chain.records.last() {
        Some(last) => Some(sha256_hex(last.to_note()?.as_bytes())),
        None => None,
    };

    let text = |value: &serde_json::Value| value.as_str().map(str::to_owned);
    let models = report["models"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| AuditedModel {
            id: text(&m["id"]).unwrap_or_default(),
            change: text(&m["change"]).unwrap_or_default(),
            version: text(&m["version_head"]).or_else(|| text(&m["version_base"])),
        })
        .collect();
    let approvals = &report["approvals"];
    let approvers: Vec<Approver> =
        serde_json::from_value(approvals["approvers"].clone()).unwrap_or_default();
    let accepted_risks = approvals["accepted_risks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| AuditedRisk {
            by: text(&r["by"]).unwrap_or_default(),
            reason: text(&r["reason"]).unwrap_or_default(),
            comment_id: r["comment_id"].as_u64().unwrap_or_default(),
            checks: serde_json::from_value(r["checks"].clone()).unwrap_or_default(),
        })
        .collect();

    let mut record = AuditRecord {
        schema: AUDIT_SCHEMA.to_owned(),
        sequence: chain.records.last().map_or(1, |r| r.sequence + 1),
        commit: commit.to_string(),
        pr: request.facts.and_then(|f| f.number),
        base: text(&report["base"]).unwrap_or_default(),
        head: text(&report["head"]).unwrap_or_default(),
        models,
        tier: text(&report["tier"]),
        conclusion: text(&report["conclusion"]).unwrap_or_default(),
        approvers,
        accepted_risks,
        report_sha256,
        policy_sha256: policy_digest(repo, &report["policy"]["source"])?,
        evidence: Some(Evidence::keep(request.report, request.facts)?),
        previous,
        digest: String::new(),
    };
    record.digest = record.content_digest()?;
    let note = record.to_note()?;
    let git = repo.git();
    let signature = git
        .signature()
        .or_else(|_| git2::Signature::now("modelgate", "modelgate@localhost"))
        .map_err(Error::git("making a signature"))?;
    git.note(
        &signature,
        &signature,
        Some(NOTES_REF),
        commit,
        &note,
        false,
    )
    .map_err(Error::git(format!("writing the audit note on {commit}")))?;
    Ok(record)
}

/// sha256 of the policy the report was judged by: the file's bytes at the commit the report
/// names, or of the serialized defaults.
fn policy_digest(repo: &Repo, source: &serde_json::Value) -> Result<String> {
    match (source["kind"].as_str(), source["commit"].as_str()) {
        (Some("file"), Some(commit)) => {
            let snapshot = repo.snapshot(repo.resolve(commit)?)?;
            let path = RepoPath::parse(POLICY_PATH).map_err(|source| Error::Path {
                path: POLICY_PATH.into(),
                source,
            })?;
            let file = snapshot.read(&path)?.ok_or_else(|| {
                Error::Audit(format!(
                    "{POLICY_PATH} is missing at {commit}, where the report read it"
                ))
            })?;
            Ok(sha256_hex(&file.content))
        }
        _ => {
            let defaults = serde_json::to_vec(&Policy::default())
                .map_err(|e| Error::Audit(format!("serializing the default policy: {e}")))?;
            Ok(sha256_hex(&defaults))
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Readable records in sequence order.
    pub records: Vec<AuditRecord>,
    /// Every problem found; empty when the ledger is intact.
    pub problems: Vec<String>,
}

impl Verification {
    /// What `modelgate audit log` prints: one line per record, oldest first. Records come
    /// from git notes anyone with push access can edit: every field is escaped, and a
    /// commit that is not a sha is shown whole.
    pub fn log_text(&self) -> String {
        let mut out = String::new();
        for record in &self.records {
            let models: Vec<String> = record
                .models
                .iter()
                .map(|m| match &m.version {
                    Some(v) => format!("{} {}", Escaped(&m.id), Escaped(v)),
                    None => Escaped(&m.id).to_string(),
                })
                .collect();
            let pr = record.pr.map(|n| format!("PR #{n} ")).unwrap_or_default();
            let approvers = escaped_list(record.approvers.iter().map(|a| a.login.as_str()));
            let _ = writeln!(
                out,
                "#{} {} {pr}tier {} {}: {}; approved by {}",
                record.sequence,
                ShortSha(&record.commit),
                Escaped(record.tier.as_deref().unwrap_or("-")),
                Escaped(&record.conclusion),
                models.join(", "),
                if approvers.is_empty() {
                    "nobody".to_owned()
                } else {
                    approvers
                }
            );
            for risk in &record.accepted_risks {
                let _ = writeln!(
                    out,
                    "    risk accepted by {}: {} ({})",
                    Escaped(&risk.by),
                    Escaped(&risk.reason),
                    escaped_list(risk.checks.iter().map(String::as_str))
                );
            }
        }
        if !self.problems.is_empty() {
            let _ = writeln!(
                out,
                "the ledger is NOT intact: run `modelgate audit verify`"
            );
        }
        out
    }
}

/// Texts from an audit note, escaped and joined for one line of `audit log`.
fn escaped_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items
        .into_iter()
        .map(|item| Escaped(item).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sha fields of `record` that are not hex shas of the right length, with their text.
/// Only a hand-edited note has them: `record` writes resolved commits and sha256 digests.
fn malformed_shas(record: &AuditRecord) -> Vec<(&'static str, &str)> {
    let commits = [
        ("commit", &record.commit),
        ("base", &record.base),
        ("head", &record.head),
    ];
    let digests = [
        ("report_sha256", Some(&record.report_sha256)),
        ("policy_sha256", Some(&record.policy_sha256)),
        ("previous", record.previous.as_ref()),
        ("digest", Some(&record.digest)),
    ];
    let bad_commits = commits
        .into_iter()
        .filter(|(_, value)| Sha::parse(value).is_none())
        .map(|(field, value)| (field, value.as_str()));
    let bad_digests = digests
        .into_iter()
        .filter_map(|(field, value)| Some((field, value?)))
        .filter(|(_, value)| Sha::parse_sha256(value).is_none())
        .map(|(field, value)| (field, value.as_str()));
    bad_commits.chain(bad_digests).collect()
}

/// Walks the chain and reports every record that was altered, removed or reordered.
pub fn verify(repo: &Repo) -> Result<Verification> {
    let notes = read_notes(repo)?;
    let mut problems = Vec::new();
    let mut by_sequence: BTreeMap<u64, (AuditRecord, String)> = BTreeMap::new();
    for note in notes {
        let record = match note.record {
            Ok(record) => record,
            Err(error) => {
                problems.push(format!(
                    "the note on {} is not a readable audit record ({}): altered",
                    note.annotated,
                    Escaped(&error)
                ));
                continue;
            }
        };
        let malformed = malformed_shas(&record);
        for (field, value) in &malformed {
            problems.push(format!(
                "record #{} on {}: its `{field}` {} is not a hex sha: altered",
                record.sequence,
                note.annotated,
                FullSha(value)
            ));
        }
        // Records are numbered from 1: a 0 cannot take part in the sequence check below.
        if record.sequence == 0 {
            problems.push(format!(
                "the record on {} is numbered 0; records are numbered from 1: altered",
                note.annotated
            ));
            continue;
        }
        // A malformed commit field is reported above; naming it "moved" as well adds nothing.
        let commit_malformed = malformed.iter().any(|(field, _)| *field == "commit");
        if !commit_malformed && record.commit != note.annotated.to_string() {
            problems.push(format!(
                "record #{} names commit {} but is attached to {}: moved or swapped",
                record.sequence, record.commit, note.annotated
            ));
        }
        match record.content_digest() {
            Ok(digest) if digest == record.digest => {}
            _ => problems.push(format!(
                "record #{} on {}: its content does not match its digest: altered",
                record.sequence, note.annotated
            )),
        }
        if let Some(evidence) = &record.evidence {
            match evidence.open() {
                Ok(kept) if sha256_hex(&kept.report) == record.report_sha256 => {}
                Ok(_) => problems.push(format!(
                    "record #{} on {}: its kept report does not match its report_sha256: altered",
                    record.sequence, note.annotated
                )),
                Err(reason) => problems.push(format!(
                    "record #{} on {}: {}: altered",
                    record.sequence,
                    note.annotated,
                    Escaped(&reason)
                )),
            }
        }
        if let Some((other, _)) = by_sequence.get(&record.sequence) {
            problems.push(format!(
                "records on {} and {} both claim #{}: forged",
                FullSha(&other.commit),
                note.annotated,
                record.sequence
            ));
            continue;
        }
        by_sequence.insert(record.sequence, (record, note.bytes));
    }
    let mut expected = 1u64;
    let mut previous_bytes: Option<&String> = None;
    for (sequence, (record, bytes)) in &by_sequence {
        if *sequence != expected {
            let missing = if *sequence == expected + 1 {
                format!("#{expected} is")
            } else {
                format!("#{expected} to #{} are", sequence - 1)
            };
            problems.push(format!("record {missing} missing: removed"));
            previous_bytes = None;
        }
        if let Some(previous) = previous_bytes {
            let link = sha256_hex(previous.as_bytes());
            if record.previous.as_deref() != Some(link.as_str()) {
                problems.push(format!(
                    "record #{sequence} does not link to record #{}: the earlier one was altered, or this one forged or reordered",
                    sequence - 1
                ));
            }
        } else if *sequence == 1 && record.previous.is_some() {
            problems.push(
                "record #1 links to a previous record, but none should exist: forged".to_owned(),
            );
        }
        // A hand-edited note may claim the largest number: there is none after it.
        expected = sequence.saturating_add(1);
        previous_bytes = Some(bytes);
    }
    Ok(Verification {
        records: by_sequence
            .into_values()
            .map(|(record, _)| record)
            .collect(),
        problems,
    })
}

/// `modelgate audit verify`: the ledger's chain, and the control exceptions of a branch.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    /// The revision judged, as given, and the commit it resolved to.
    pub rev: String,
    pub commit: String,
    /// No problem in the ledger's chain.
    pub intact: bool,
    /// Readable records in sequence order.
    pub records: Vec<AuditRecord>,
    /// Every problem of the chain; empty when the ledger is intact.
    pub problems: Vec<String>,
    #[serde(flatten)]
    pub controls: Controls,
}

impl Audit {
    /// Neither a broken ledger nor a control exception.
    pub fn clean(&self) -> bool {
        self.intact && self.controls.exceptions.is_empty()
    }

    /// What `modelgate audit verify` prints: each problem and exception, then the verdict.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for problem in &self.problems {
            let _ = writeln!(out, "problem: {problem}");
        }
        for exception in &self.controls.exceptions {
            let _ = writeln!(
                out,
                "exception: {} {}: {}",
                exception.kind,
                ShortSha(&exception.commit),
                exception.summary
            );
        }
        let state = if self.intact { "intact" } else { "NOT intact" };
        let controls = match &self.controls.since {
            None => format!(
                "no record on {} yet, so no change is judged",
                Escaped(&self.rev)
            ),
            Some(since) => {
                let count = self.controls.exceptions.len();
                let found = if count == 0 {
                    "no control exception".to_owned()
                } else {
                    format!("{count} control exception(s)")
                };
                format!(
                    "{found} in {} commit(s) of {} since the first record ({})",
                    self.controls.commits_judged,
                    Escaped(&self.rev),
                    ShortSha(since)
                )
            }
        };
        let _ = writeln!(
            out,
            "{} record(s); the ledger is {state}; {controls}",
            self.records.len()
        );
        out
    }
}

/// The branch `audit verify` judges by default: the remote's default branch when the
/// clone knows it (`origin/HEAD`), else the checked-out `HEAD`.
pub fn default_branch(repo: &Repo) -> String {
    repo.git()
        .find_reference("refs/remotes/origin/HEAD")
        .ok()
        .and_then(|reference| reference.symbolic_target().map(str::to_owned))
        .and_then(|target| target.strip_prefix("refs/remotes/").map(str::to_owned))
        .unwrap_or_else(|| "HEAD".to_owned())
}

/// Verifies the ledger and judges the first-parent history of `rev` against it.
pub fn audit(repo: &Repo, rev: &str) -> Result<Audit> {
    let verification = verify(repo)?;
    let tip = repo.resolve(rev)?;
    let history = crate::history::walk(repo, tip, &mut crate::convention::CardCache::default())?;
    let controls = controls(&history, &verification.records);
    Ok(Audit {
        rev: rev.to_owned(),
        commit: tip.to_string(),
        intact: verification.problems.is_empty(),
        records: verification.records,
        problems: verification.problems,
        controls,
    })
}

/// The ledger's records in order, optionally only those touching one model.
pub fn log(repo: &Repo, model: Option<&str>) -> Result<Verification> {
    let mut verification = verify(repo)?;
    if let Some(model) = model {
        verification
            .records
            .retain(|r| r.models.iter().any(|m| m.id == model));
    }
    Ok(verification)
}
