//! Everything the site shows, read from git once: the history walk, each version's card
//! and metrics, datasets, the policy at the tip and the audit ledger. The result is plain
//! data (`Send`), so pages can be rendered on several threads.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use indexmap::IndexMap;
use modelgate_core::audit::{self, AuditRecord, Controls};
use modelgate_core::card::{Card, MetricRule, Section, normalize_title};
use modelgate_core::checks::card::section_statuses;
use modelgate_core::convention::{CardCache, CardResult, card_path, read_metrics_in, read_policy};
use modelgate_core::documentation::{DocumentationPreset, required_sections};
use modelgate_core::git::Folder;
use modelgate_core::history::{self, CommitInfo};
use modelgate_core::metrics_file::Metrics;
use modelgate_core::path::RepoPath;
use modelgate_core::policy::{Policy, parse_period_days};
use modelgate_core::sha::{FullSha, Sha};
use modelgate_core::stages::{StageHistory, stage_histories};
use modelgate_core::{Repo, Result};

use crate::links;
use crate::markdown::section_texts;

#[derive(Debug)]
pub struct Site {
    /// The revision as given, and the commit it resolved to.
    pub rev: String,
    pub tip: Commit,
    pub models: Vec<Model>,
    pub datasets: Vec<Dataset>,
    pub ledger: Ledger,
    /// GTO stage tags, by model.
    pub stages: BTreeMap<String, StageHistory>,
    pub policy: Policy,
    /// Problems that did not stop the build (an unreadable policy), as sentences.
    pub warnings: Vec<String>,
}

impl Site {
    /// The audit record of the merge that produced `version`, with its kept report.
    pub fn record_of_version(
        &self,
        model: &Model,
        version: &Version,
    ) -> Option<(&AuditRecord, Option<&serde_json::Value>)> {
        model
            .records
            .iter()
            .rev()
            .find(|i| self.ledger.records[**i].commit == version.commit.id)
            .map(|i| {
                let report = match self.ledger.evidence.get(*i) {
                    Some(KeptEvidence::Kept { report, .. }) => Some(report),
                    _ => None,
                };
                (&self.ledger.records[*i], report)
            })
    }
}

#[derive(Debug, Clone)]
pub struct Commit {
    pub id: String,
    pub time: i64,
    pub author: String,
    pub summary: String,
}

impl From<&CommitInfo> for Commit {
    fn from(info: &CommitInfo) -> Self {
        Commit {
            id: info.id.to_string(),
            time: info.time,
            author: info.author.clone(),
            summary: info.summary.clone(),
        }
    }
}

#[derive(Debug)]
pub struct Model {
    pub id: String,
    pub slug: String,
    /// Oldest first.
    pub versions: Vec<Version>,
    pub retired: bool,
    /// Indexes into [`Ledger::records`] of the records that touch this model, oldest first.
    pub records: Vec<usize>,
    pub review: Review,
}

impl Model {
    /// The latest version that has the model (not its removal).
    pub fn current(&self) -> Option<&Version> {
        self.versions.iter().rev().find(|v| !v.removed)
    }

    pub fn tier(&self) -> Option<&str> {
        self.current()
            .and_then(|v| v.card.as_ref())
            .and_then(|c| c.tier.as_deref())
    }
}

#[derive(Debug)]
pub struct Version {
    pub commit: Commit,
    pub key: String,
    pub label: Option<String>,
    pub releases: Vec<String>,
    pub removed: bool,
    pub card: Option<Arc<CardView>>,
    /// Why the card could not be read, or that it is missing.
    pub card_error: Option<String>,
    pub metrics: Option<Metrics>,
    pub metrics_error: Option<String>,
}

impl Version {
    /// `2.1.0`, or the short commit when the card gives no version.
    pub fn display_label(&self) -> String {
        match &self.label {
            Some(label) => label.clone(),
            // Seven digits, as GitHub abbreviates commits in its own pages.
            None => match Sha::parse(&self.commit.id) {
                Some(sha) => format!("commit {}", sha.abbreviated(7)),
                None => format!("commit {}", FullSha(&self.commit.id)),
            },
        }
    }
}

/// What pages need of a parsed card.
#[derive(Debug)]
pub struct CardView {
    pub text: String,
    pub body: String,
    pub tier: Option<String>,
    pub owners: Vec<String>,
    pub license: Option<String>,
    pub tags: Vec<String>,
    pub library_name: Option<String>,
    pub task: Option<String>,
    pub sensitive_features: Vec<String>,
    pub datasets: Vec<(Option<String>, String)>,
    pub base_models: Vec<String>,
    /// Every front-matter key, flattened to `key.path = value` rows.
    pub front_matter: Vec<(String, String)>,
    /// The front matter as written, for exports.
    pub front_matter_value: Option<serde_json::Value>,
    pub problems: Vec<String>,
    /// The sections the card's tier requires (under the built commit's policy), in order.
    pub sections: Vec<SectionView>,
    /// The tier's documentation preset, when it names one.
    pub documentation: Option<DocumentationPreset>,
    /// The first paragraph of the card's intended use (or purpose), as plain text.
    pub intended_use: Option<String>,
    /// `governance.metrics`: the card's regression rule of each metric.
    pub metric_rules: BTreeMap<String, MetricRule>,
}

impl CardView {
    /// Every required section present and non-empty, and the card free of problems.
    pub fn documentation_complete(&self) -> bool {
        self.problems.is_empty() && self.sections.iter().all(|s| s.present && s.non_empty)
    }
}

/// A section the tier requires, as the card has it.
#[derive(Debug)]
pub struct SectionView {
    pub title: String,
    pub present: bool,
    pub non_empty: bool,
    /// The card's heading that answered it, when it is an alias.
    pub heading: Option<String>,
    /// The section's Markdown, heading excluded.
    pub markdown: String,
}

#[derive(Debug, Default)]
pub struct Review {
    /// Days between reviews for the model's tier, from the policy's `review_every`.
    pub every_days: Option<u64>,
    /// Time of the latest audit record touching the model.
    pub last: Option<i64>,
    pub due: Option<i64>,
    /// Due before the built commit's time (the site's "now", so output stays deterministic).
    pub overdue: bool,
}

#[derive(Debug)]
pub struct Dataset {
    pub path: String,
    pub slug: String,
    pub kind: String,
    /// Oldest first.
    pub versions: Vec<DatasetVersion>,
    /// Models whose current card names this dataset: (model id, role).
    pub used_by: Vec<(String, Option<String>)>,
}

#[derive(Debug)]
pub struct DatasetVersion {
    pub commit: Commit,
    pub removed: bool,
    pub size: u64,
    /// Data rows (CSV: lines after the header; NDJSON: lines), when cheap to count.
    pub rows: Option<u64>,
    /// Column names, from the CSV header or the first NDJSON object.
    pub columns: Option<Vec<String>>,
    /// What a data profile (`modelgate profile`) says of each column.
    pub profile: Option<Vec<ProfiledColumn>>,
}

/// One column of a data profile, as its dataset page shows it.
#[derive(Debug, Clone)]
pub struct ProfiledColumn {
    pub name: String,
    pub kind: String,
    pub rows: u64,
    pub nulls: u64,
    pub distinct: u64,
    pub min: Option<f64>,
    pub mean: Option<f64>,
    pub max: Option<f64>,
    /// Categorical: the most frequent category and its share of the rows.
    pub top: Option<(String, f64)>,
}

#[derive(Debug, Default)]
pub struct Ledger {
    /// Oldest first.
    pub records: Vec<AuditRecord>,
    /// Commit time of each record's commit, when the commit exists.
    pub times: Vec<Option<i64>>,
    /// The evidence kept with each record.
    pub evidence: Vec<KeptEvidence>,
    pub problems: Vec<String>,
    /// The built branch judged against the ledger.
    pub controls: Controls,
}

/// What a record keeps of the decision, parsed for its evidence page.
#[derive(Debug)]
pub enum KeptEvidence {
    /// Written before modelgate kept reports: only the report's digest is known.
    NotKept,
    Kept {
        report: serde_json::Value,
        facts: Option<serde_json::Value>,
    },
    /// Kept, but it cannot be read (the ledger's verification says why).
    Unreadable(String),
}

pub fn collect(repo: &Repo, rev: &str) -> Result<Site> {
    let tip_id = repo.resolve(rev)?;
    let mut cards = CardCache::default();
    let history = history::walk(repo, tip_id, &mut cards)?;
    tracing::info!(
        commits = history.commits.len(),
        models = history.models.len(),
        "history walked"
    );
    let tip_info = history.tip().cloned().unwrap_or(CommitInfo {
        id: tip_id,
        time: 0,
        author: String::new(),
        summary: String::new(),
    });
    let tip = Commit::from(&tip_info);
    let mut warnings = Vec::new();
    let policy = match read_policy(&repo.snapshot(tip_id)?) {
        Ok((policy, _)) => policy,
        Err(error) => {
            warnings.push(format!(
                "the policy could not be read, so the defaults are shown: {error}"
            ));
            Policy::default()
        }
    };
    let mut ledger = read_ledger(repo)?;
    ledger.controls = audit::controls(&history, &ledger.records);
    let stages = stage_histories(repo, &ledger.records)?;

    let mut views: HashMap<*const CardResult, Arc<CardView>> = HashMap::new();
    let mut models = Vec::with_capacity(history.models.len());
    for (id, walked) in &history.models {
        let mut versions = Vec::with_capacity(walked.len());
        for version in walked {
            let info = &history.commits[version.commit];
            let commit = Commit::from(info);
            let key = links::version_key(&commit.id);
            let mut entry = Version {
                key,
                label: version.label.clone(),
                releases: version.releases.clone(),
                removed: version.is_removal(),
                card: None,
                card_error: None,
                metrics: None,
                metrics_error: None,
                commit,
            };
            if let Some(folder) = version.folder {
                let snapshot = repo.snapshot(info.id)?;
                let folder = Folder {
                    name: id.clone(),
                    oid: folder,
                };
                // Without metrics.json, the card's model-index results are the metrics.
                let mut card_metrics = None;
                match cards.card_in(&snapshot, &folder) {
                    Ok(Some(parsed)) => match parsed.as_ref() {
                        Ok(card) => {
                            card_metrics =
                                Some(card.model_index_metrics()).filter(|m| !m.is_empty());
                            let view = views
                                .entry(Rc::as_ptr(&parsed))
                                .or_insert_with(|| Arc::new(card_view(card, &policy)))
                                .clone();
                            entry.card = Some(view);
                        }
                        Err(diagnostic) => entry.card_error = Some(diagnostic.to_string()),
                    },
                    Ok(None) => entry.card_error = Some(format!("{} is missing", card_path(id))),
                    Err(error) => entry.card_error = Some(error.to_string()),
                }
                match read_metrics_in(&snapshot, &folder) {
                    Ok(metrics) => entry.metrics = metrics.or(card_metrics),
                    Err(error) => entry.metrics_error = Some(error.to_string()),
                }
            }
            versions.push(entry);
        }
        let records: Vec<usize> = ledger
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.models.iter().any(|m| &m.id == id))
            .map(|(index, _)| index)
            .collect();
        let mut model = Model {
            id: id.clone(),
            slug: links::slug(id),
            retired: history.is_retired(id),
            versions,
            records,
            review: Review::default(),
        };
        model.review = review(&model, &policy, &ledger, tip.time);
        models.push(model);
    }

    let datasets = datasets(repo, &history, &models)?;
    Ok(Site {
        rev: rev.to_owned(),
        tip,
        models,
        datasets,
        ledger,
        stages,
        policy,
        warnings,
    })
}

fn card_view(card: &Card, policy: &Policy) -> CardView {
    let front_matter_value = card.front_matter_value().ok().flatten();
    let mut front_matter = Vec::new();
    if let Some(value) = &front_matter_value {
        flatten("", value, &mut front_matter);
    }
    let fm = &card.front_matter;
    let governance = card.governance();
    let tier = card
        .risk_tier()
        .map(|t| t.value.clone())
        .unwrap_or_else(|| policy.default_tier.clone());
    CardView {
        text: card.text.clone(),
        body: card.body().to_owned(),
        tier: card.risk_tier().map(|t| t.value.clone()),
        owners: fm.owners.clone(),
        license: fm.license.clone(),
        tags: fm.tags.clone(),
        library_name: fm.library_name.clone(),
        task: governance
            .and_then(|g| g.task)
            .and_then(|t| serde_json::to_value(t).ok())
            .and_then(|v| v.as_str().map(str::to_owned)),
        sensitive_features: governance
            .map(|g| g.sensitive_features.clone())
            .unwrap_or_default(),
        datasets: card
            .datasets()
            .into_iter()
            .map(|d| (d.role, d.path.to_string()))
            .collect(),
        base_models: card.base_models().into_iter().map(str::to_owned).collect(),
        front_matter,
        front_matter_value,
        problems: card.problems.iter().map(ToString::to_string).collect(),
        sections: section_views(card, &tier, policy),
        documentation: policy.tier(&tier).and_then(|t| t.documentation),
        intended_use: intended_use(card),
        metric_rules: governance
            .map(|g| {
                g.metrics
                    .iter()
                    .map(|(name, rule)| (name.clone(), rule.value.clone()))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn section_views(card: &Card, tier: &str, policy: &Policy) -> Vec<SectionView> {
    let statuses = section_statuses(card, tier, policy);
    required_sections(policy, tier)
        .into_iter()
        .zip(statuses)
        .map(|(required, status)| {
            let found = required.find(card);
            SectionView {
                heading: found
                    .filter(|s| normalize_title(&s.title) != normalize_title(&required.title))
                    .map(|s| s.title.clone()),
                markdown: found.map(|s| section_markdown(card, s)).unwrap_or_default(),
                title: required.title,
                present: status.present,
                non_empty: status.non_empty,
            }
        })
        .collect()
}

/// The lines under a section's heading, up to the next heading of its level or higher.
fn section_markdown(card: &Card, section: &Section) -> String {
    let end = card
        .sections
        .iter()
        .find(|s| s.line > section.line && s.level <= section.level)
        .map_or(u64::MAX, |s| s.line);
    let text: Vec<&str> = card
        .text
        .lines()
        .enumerate()
        .map(|(index, line)| (index as u64 + 1, line))
        .filter(|(number, _)| *number > section.line && *number < end)
        .map(|(_, line)| line)
        // A setext heading's underline belongs to the heading.
        .skip_while(|line| !line.is_empty() && line.trim().chars().all(|c| c == '=' || c == '-'))
        .collect();
    text.join("\n").trim().to_owned()
}

/// The first paragraph of the card's intended use, as plain text.
fn intended_use(card: &Card) -> Option<String> {
    const TITLES: [&str; 4] = [
        "Intended use",
        "Intended uses",
        "Intended purpose",
        "Purpose",
    ];
    let wanted: Vec<String> = TITLES.iter().map(|t| normalize_title(t)).collect();
    section_texts(card.body())
        .into_iter()
        .find(|(title, _)| wanted.contains(&normalize_title(title)))
        .and_then(|(_, text)| {
            text.lines()
                .map(str::trim)
                .find(|line| !line.is_empty())
                .map(str::to_owned)
        })
}

/// Flattens front matter into rows: nested keys joined with dots, lists of plain values
/// joined with commas, anything deeper as compact JSON.
fn flatten(prefix: &str, value: &serde_json::Value, rows: &mut Vec<(String, String)>) {
    use serde_json::Value;
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, inner, rows);
            }
        }
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let texts: Vec<String> = items.iter().map(scalar_text).collect();
            rows.push((prefix.to_owned(), texts.join(", ")));
        }
        Value::Array(_) | Value::Object(_) => rows.push((prefix.to_owned(), value.to_string())),
        scalar => rows.push((prefix.to_owned(), scalar_text(scalar))),
    }
}

fn scalar_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => "—".to_owned(),
        other => other.to_string(),
    }
}

fn read_ledger(repo: &Repo) -> Result<Ledger> {
    let verification = audit::log(repo, None)?;
    let times = verification
        .records
        .iter()
        .map(|record| {
            git2::Oid::from_str(&record.commit)
                .ok()
                .and_then(|oid| repo.git().find_commit(oid).ok())
                .map(|commit| commit.committer().when().seconds())
        })
        .collect();
    let evidence = verification.records.iter().map(kept_evidence).collect();
    Ok(Ledger {
        records: verification.records,
        times,
        evidence,
        problems: verification.problems,
        controls: Controls::default(),
    })
}

fn kept_evidence(record: &AuditRecord) -> KeptEvidence {
    let Some(evidence) = &record.evidence else {
        return KeptEvidence::NotKept;
    };
    let kept = match evidence.open() {
        Ok(kept) => kept,
        Err(reason) => return KeptEvidence::Unreadable(reason),
    };
    let report = match serde_json::from_slice(&kept.report) {
        Ok(report) => report,
        Err(error) => {
            return KeptEvidence::Unreadable(format!("its kept report is not JSON ({error})"));
        }
    };
    match kept
        .pr_facts
        .map(|bytes| serde_json::from_slice(&bytes))
        .transpose()
    {
        Ok(facts) => KeptEvidence::Kept { report, facts },
        Err(error) => KeptEvidence::Unreadable(format!(
            "its kept pull-request facts are not JSON ({error})"
        )),
    }
}

/// Last review, next due date and whether it is overdue. A model never reviewed through the
/// ledger is due `review_every` after its first version.
fn review(model: &Model, policy: &Policy, ledger: &Ledger, now: i64) -> Review {
    let every_days = model
        .tier()
        .and_then(|tier| policy.tiers.get(tier))
        .and_then(|tier| tier.review_every.as_deref())
        .and_then(parse_period_days);
    let last = model
        .records
        .iter()
        .filter_map(|index| ledger.times.get(*index).copied().flatten())
        .max();
    let since = last.or_else(|| model.versions.first().map(|v| v.commit.time));
    let due = match (every_days, since) {
        (Some(days), Some(since)) => i64::try_from(days)
            .ok()
            .and_then(|d| d.checked_mul(86_400))
            .and_then(|span| since.checked_add(span)),
        _ => None,
    };
    Review {
        every_days,
        last,
        due,
        overdue: !model.retired && due.is_some_and(|due| due < now),
    }
}

fn datasets(repo: &Repo, history: &history::History, models: &[Model]) -> Result<Vec<Dataset>> {
    let mut used_by: BTreeMap<&str, Vec<(String, Option<String>)>> = BTreeMap::new();
    for model in models.iter().filter(|m| !m.retired) {
        if let Some(card) = model.current().and_then(|v| v.card.as_ref()) {
            for (role, path) in &card.datasets {
                used_by
                    .entry(path.as_str())
                    .or_default()
                    .push((model.id.clone(), role.clone()));
            }
        }
    }
    let mut datasets = Vec::new();
    for (path, walked) in &history.datasets {
        let kind = RepoPath::parse(path)
            .ok()
            .and_then(|p| p.extension())
            .unwrap_or_default();
        let mut versions = Vec::with_capacity(walked.len());
        for version in walked {
            let commit = Commit::from(&history.commits[version.commit]);
            let Some(blob) = version.blob else {
                versions.push(DatasetVersion {
                    commit,
                    removed: true,
                    size: 0,
                    rows: None,
                    columns: None,
                    profile: None,
                });
                continue;
            };
            let blob = repo
                .git()
                .find_blob(blob)
                .map_err(|e| modelgate_core::Error::Git {
                    context: format!("reading {path}"),
                    reason: e.message().to_owned(),
                })?;
            let (rows, columns, profile) = match profiled(path, blob.content()) {
                Some((rows, columns)) => (
                    Some(rows),
                    Some(columns.iter().map(|c| c.name.clone()).collect()),
                    Some(columns),
                ),
                None => {
                    let (rows, columns) = shape(&kind, blob.content());
                    (rows, columns, None)
                }
            };
            versions.push(DatasetVersion {
                commit,
                removed: false,
                size: blob.size() as u64,
                rows,
                columns,
                profile,
            });
        }
        datasets.push(Dataset {
            path: path.clone(),
            slug: links::dataset_slug(path),
            kind,
            versions,
            used_by: used_by.remove(path.as_str()).unwrap_or_default(),
        });
    }
    Ok(datasets)
}

/// A data profile's rows and columns; `None` when the file is not a readable profile (an
/// LFS pointer, say), which the page then shows as a file without a schema.
fn profiled(path: &str, content: &[u8]) -> Option<(u64, Vec<ProfiledColumn>)> {
    use modelgate_core::profile::{Profile, is_profile_path};
    if !is_profile_path(path) {
        return None;
    }
    let profile = Profile::from_json(path, content).ok()?;
    let columns = profile
        .columns
        .iter()
        .map(|column| {
            let numeric = column.numeric.as_ref();
            let top = column
                .categories
                .as_ref()
                .and_then(|c| c.counts.as_ref())
                .and_then(|counts| counts.iter().max_by_key(|(_, n)| *n))
                .map(|(level, n)| (level.clone(), *n as f64 / column.rows.max(1) as f64));
            ProfiledColumn {
                name: column.name.clone(),
                kind: serde_json::to_value(column.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                rows: column.rows,
                nulls: column.nulls,
                distinct: column.distinct_estimate.round() as u64,
                min: numeric.and_then(|n| n.min),
                mean: numeric.and_then(|n| n.mean),
                max: numeric.and_then(|n| n.max),
                top,
            }
        })
        .collect();
    Some((profile.rows, columns))
}

/// Rows and columns where they are cheap to read: CSV from its header and line count,
/// NDJSON from its first object. Parquet keeps its schema in a binary footer that is not
/// read here.
fn shape(kind: &str, content: &[u8]) -> (Option<u64>, Option<Vec<String>>) {
    let lines = || {
        let newlines = content.iter().filter(|b| **b == b'\n').count() as u64;
        let unterminated = u64::from(!content.is_empty() && !content.ends_with(b"\n"));
        newlines + unterminated
    };
    match kind {
        "csv" => {
            let header = content.split(|b| *b == b'\n').next().unwrap_or_default();
            let header = String::from_utf8_lossy(header);
            let columns = csv_fields(header.trim_end_matches('\r'));
            (Some(lines().saturating_sub(1)), Some(columns))
        }
        "ndjson" => {
            let first = content.split(|b| *b == b'\n').next().unwrap_or_default();
            let columns = serde_json::from_slice::<IndexMap<String, serde_json::Value>>(first)
                .ok()
                .map(|object| object.keys().cloned().collect());
            (Some(lines()), columns)
        }
        _ => (None, None),
    }
}

/// The fields of one CSV line, with double-quoted fields unquoted.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_header_and_rows() {
        let (rows, columns) = shape("csv", b"a,\"b,c\",\"d\"\"e\"\n1,2,3\n4,5,6");
        assert_eq!(rows, Some(2));
        assert_eq!(columns, Some(vec!["a".into(), "b,c".into(), "d\"e".into()]));
        assert_eq!(shape("parquet", b"PAR1"), (None, None));
    }

    #[test]
    fn front_matter_rows() {
        let value = serde_json::json!({"owners": ["@a", "@b"], "governance": {"risk_tier": "high"}, "model-index": [{"name": "x"}]});
        let mut rows = Vec::new();
        flatten("", &value, &mut rows);
        assert_eq!(rows[0], ("owners".into(), "@a, @b".into()));
        assert_eq!(rows[1], ("governance.risk_tier".into(), "high".into()));
        assert_eq!(rows[2].0, "model-index");
    }
}
