//! Model cards: `models/<id>/card.md`, YAML front matter plus a Markdown body.
//!
//! The front matter uses the Hugging Face Hub's keys where the Hub defines one and keeps
//! modelgate's own settings under `governance`. A card is accepted exactly when the Hub's
//! tools accept it (see [`crate::hub_metadata`]): the Hub's keys are read as they read them,
//! and what they refuse is an error at the key's line and column.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use indexmap::IndexMap;
use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::diagnostic::Diagnostic;
use crate::hub_metadata::{Node, ScalarKind, Value, hub_problems, parse_nodes, parse_number};
use crate::metrics_file::Metrics;
use crate::path::RepoPath;
use crate::policy::{DriftPolicy, DriftPolicyFile};

/// File extensions of datasets, per the repository convention.
pub const DATASET_EXTENSIONS: [&str; 3] = ["csv", "parquet", "ndjson"];
/// How a data profile (`modelgate profile`) a card lists as a dataset is named.
pub const PROFILE_SUFFIX: &str = ".profile.json";

/// License ids the Hub accepts, from hub-docs (`hub-licenses.txt`, one per line).
static HUB_LICENSES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    include_str!("hub-licenses.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// A parsed card. Parsing fails only when the front matter cannot be read at all; problems
/// of content (an incomplete `model-index`, an unknown license, a path out of the
/// repository) are collected in `problems`, all of them, with their positions; what the Hub
/// accepts but a reader should fix (`license: other` without a name) in `warnings`.
#[derive(Debug)]
pub struct Card {
    pub file: String,
    pub front_matter: FrontMatter,
    pub has_front_matter: bool,
    pub sections: Vec<Section>,
    pub problems: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    /// The card's text with a byte-order mark removed and CRLF line endings made LF.
    pub text: String,
    /// Where the Markdown body starts in `text`.
    body_start: usize,
    /// The line of the file on which the YAML starts (after the opening `---`).
    yaml_line: u64,
    /// `governance.drift`, checked; `None` when absent or invalid (see `problems`).
    drift: Option<DriftPolicy>,
}

/// A Markdown heading of the card body and whether anything stands under it.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub title: String,
    pub level: u8,
    pub line: u64,
    pub non_empty: bool,
}

/// What modelgate reads from the front matter. Hub keys are read as the Hub reads them: a
/// scalar where a list is usual is a one-item list, and every scalar is its text.
#[derive(Debug, Default)]
pub struct FrontMatter {
    pub version: Option<String>,
    pub owners: Vec<String>,
    /// The license id (a one-item list is read as its item).
    pub license: Option<String>,
    pub license_name: Option<String>,
    pub license_link: Option<String>,
    pub base_model: Vec<String>,
    pub datasets: Vec<DatasetEntry>,
    pub tags: Vec<String>,
    pub library_name: Option<String>,
    pub pipeline_tag: Option<String>,
    pub language: Vec<String>,
    /// The Hub's list of metric names (not ours: our rules are under `governance.metrics`).
    pub metrics: Vec<String>,
    /// Every metric of every `model-index` result.
    pub model_index: Vec<IndexResult>,
    pub governance: Option<Spanned<Governance>>,
}

/// An entry of `datasets`: the Hub's list of dataset ids, or modelgate's mapping of role to
/// path (`{train: data/train.parquet}`). List entries with a dataset extension are
/// repository paths; other entries are Hub dataset ids and play no part in lineage.
#[derive(Debug, Clone)]
pub struct DatasetEntry {
    pub role: Option<String>,
    pub value: String,
    line: u64,
    column: u64,
}

/// One metric of a `model-index` result, with the dataset it was measured on.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexResult {
    /// `metrics[].type`, the metric's id (`accuracy`, `wer`).
    pub metric: String,
    /// `metrics[].name`, a display name.
    pub metric_name: Option<String>,
    /// `dataset.type` (a Hub dataset id), else `dataset.name`.
    pub dataset: Option<String>,
    pub config: Option<String>,
    pub split: Option<String>,
    /// `None` when the value is not a number (`20.0 ± 1.2`, a placeholder).
    pub value: Option<f64>,
    /// Where the metric stands in the card (file line and column).
    pub line: u64,
    pub column: u64,
}

/// modelgate's own settings in a card.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Governance {
    pub risk_tier: Option<Spanned<String>>,
    #[serde(default)]
    pub sensitive_features: Vec<String>,
    pub task: Option<Task>,
    pub label: Option<String>,
    pub prediction: Option<String>,
    pub score: Option<String>,
    pub id: Option<String>,
    /// Regression rules per metric, overriding the policy's defaults.
    #[serde(default)]
    pub metrics: IndexMap<String, Spanned<MetricRule>>,
    /// Drift settings for this model's datasets; replaces the policy's `drift` block.
    /// Checked by [`Card::parse`]: see [`Card::drift_policy`].
    pub drift: Option<DriftPolicyFile>,
}

/// The one key of ours that is read with serde: `governance`, strict about its fields.
#[derive(Debug, Default, Deserialize)]
struct OwnKeys {
    governance: Option<Spanned<Governance>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    BinaryClassification,
    MulticlassClassification,
    Regression,
}

/// Which way a metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Higher,
    Lower,
}

/// A regression rule for one metric. Every bound is optional; each one that is set must hold.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricRule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Largest allowed decrease, in the metric's units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_drop: Option<f64>,
    /// Largest allowed decrease, in percent of the base value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_drop_pct: Option<f64>,
    /// Largest allowed increase, in the metric's units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rise: Option<f64>,
    /// Largest allowed increase, in percent of the base value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rise_pct: Option<f64>,
    /// Lowest allowed value at head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Highest allowed value at head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// A dataset named by a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetUse {
    /// The role (`train`, `eval`, …) when the card gives one.
    pub role: Option<String>,
    pub path: RepoPath,
}

impl Card {
    /// Parses a card. `file` is its repository path, used in every diagnostic.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Card, Diagnostic> {
        let text = std::str::from_utf8(bytes).map_err(|error| {
            Diagnostic::whole_file(
                file,
                format!("not valid UTF-8 ({error}); expected a UTF-8 Markdown file"),
            )
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Cards written on Windows keep their CRLF endings on the Hub; a lone CR is a line
        // break to the Hub too. Lines stay the same.
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let split = split_front_matter(&text);
        let body_start = text.len() - split.body.len();
        let mut card = Card {
            file: file.to_owned(),
            has_front_matter: split.yaml.is_some(),
            sections: sections(split.body, split.body_line),
            front_matter: FrontMatter::default(),
            problems: Vec::new(),
            warnings: Vec::new(),
            body_start,
            yaml_line: split.yaml_line,
            text: String::new(),
            drift: None,
        };
        if let Some(line) = split.unclosed_at {
            card.warnings.push(Diagnostic::at(
                file,
                line,
                1,
                "front matter opened with `---` is never closed, so the Hub reads this card as having no metadata; expected a line `---` after the YAML",
            ));
        }
        if let Some(yaml) = split.yaml {
            card.read_front_matter(yaml)?;
        }
        card.text = text;
        let mut problems = card.validate();
        card.problems.append(&mut problems);
        if let Some(drift) = card.governance().and_then(|g| g.drift.as_ref()) {
            let at = |location: serde_saphyr::Location, message: String| {
                card.diagnostic_at(location, message)
            };
            match drift.validate("governance.drift", &at) {
                Ok(policy) => card.drift = Some(policy),
                Err(problems) => card.problems.extend(problems),
            }
        }
        Ok(card)
    }

    /// Reads the YAML of the front matter: refused where the Hub refuses it, the Hub's keys
    /// read leniently, `governance` strictly.
    fn read_front_matter(&mut self, yaml: &str) -> Result<(), Diagnostic> {
        let file = self.file.clone();
        if let Some((line, column, c)) = unreadable_character(yaml) {
            return Err(Diagnostic::at(
                &file,
                self.yaml_line + line - 1,
                column,
                format!(
                    "character U+{:04X} is not allowed in YAML (the Hub's loader refuses it); expected printable text",
                    c as u32
                ),
            ));
        }
        let root = parse_nodes(&file, yaml, self.yaml_line)?;
        match &root.value {
            Value::Map(_) => {}
            _ if root.is_null() => return Ok(()),
            _ => {
                return Err(self.node_diagnostic(
                    &root,
                    "front matter is not a mapping; expected a mapping of keys to values (`key: value` lines)".to_owned(),
                ));
            }
        }
        for found in hub_problems(&root, &HUB_LICENSES) {
            let line = self.file_line(found.line);
            self.problems
                .push(Diagnostic::at(&file, line, found.column, found.message));
        }
        self.front_matter = self.hub_keys(&root);
        if root.get("governance").is_some() {
            let own: OwnKeys = crate::yaml::parse_card_yaml(&file, yaml, self.yaml_line - 1)?;
            self.front_matter.governance = own.governance;
        }
        Ok(())
    }

    /// The keys modelgate reads, from the typed YAML. A shape the Hub keeps but that does
    /// not fit (a mapping as `tags`) is a warning, never an error.
    fn hub_keys(&mut self, root: &Node) -> FrontMatter {
        let mut front = FrontMatter {
            version: root.get("version").and_then(Node::text).map(str::to_owned),
            ..FrontMatter::default()
        };
        let list = |card: &mut Card, key: &str| -> Vec<String> {
            let Some(node) = root.get(key) else {
                return Vec::new();
            };
            match node.texts() {
                Some(items) => items.into_iter().map(str::to_owned).collect(),
                None => {
                    card.warnings.push(card.node_diagnostic(
                        node,
                        format!(
                            "{key}: {} is not read; expected text or a list of text",
                            describe(node)
                        ),
                    ));
                    Vec::new()
                }
            }
        };
        front.owners = list(self, "owners");
        front.base_model = list(self, "base_model");
        front.tags = list(self, "tags");
        front.language = list(self, "language");
        front.metrics = list(self, "metrics");
        let licenses = list(self, "license");
        front.license = licenses.first().cloned();
        let text_of = |key: &str| root.get(key).and_then(Node::text).map(str::to_owned);
        front.license_name = text_of("license_name");
        front.license_link = text_of("license_link");
        front.library_name = text_of("library_name");
        front.pipeline_tag = text_of("pipeline_tag");
        if let Some(datasets) = root.get("datasets") {
            front.datasets = self.dataset_entries_of(datasets);
        }
        if let Some(index) = root.get("model-index") {
            if let Value::List(entries) = &index.value {
                for entry in entries {
                    // huggingface_hub takes an empty name; leaderboards then show none.
                    if let Some(name) = entry.get("name")
                        && name.text().is_some_and(str::is_empty)
                    {
                        self.warnings.push(self.node_diagnostic(
                            name,
                            "model-index: `name` is empty; expected the model's name, which the Hub shows with its results".to_owned(),
                        ));
                    }
                }
            }
            front.model_index = index_results(index);
            for result in &mut front.model_index {
                result.line = self.file_line(result.line);
            }
        }
        front
    }

    fn dataset_entries_of(&mut self, node: &Node) -> Vec<DatasetEntry> {
        let entry = |role: Option<String>, item: &Node| {
            item.text().map(|value| DatasetEntry {
                role,
                value: value.to_owned(),
                line: item.line,
                column: item.column,
            })
        };
        let mut entries = Vec::new();
        let mut unread = Vec::new();
        match &node.value {
            Value::Scalar { .. } if node.is_null() => {}
            Value::Scalar { .. } => entries.extend(entry(None, node)),
            Value::List(items) => {
                for item in items {
                    match entry(None, item) {
                        Some(found) => entries.push(found),
                        None => unread.push(item),
                    }
                }
            }
            Value::Map(pairs) => {
                for (role, path) in pairs {
                    match entry(role.text().map(str::to_owned), path) {
                        Some(found) => entries.push(found),
                        None => unread.push(path),
                    }
                }
            }
        }
        for item in unread {
            self.warnings.push(self.node_diagnostic(
                item,
                format!(
                    "datasets: {} is not read; expected a dataset id or a repository path",
                    describe(item)
                ),
            ));
        }
        entries
    }

    /// The Markdown body, after the front matter.
    pub fn body(&self) -> &str {
        self.text.get(self.body_start..).unwrap_or_default()
    }

    /// Every key of the front matter as a generic value (Hub keys, ours and unknown ones),
    /// for displays and exports that show the card as written. `None` without front matter.
    pub fn front_matter_value(&self) -> Result<Option<serde_json::Value>, Diagnostic> {
        match split_front_matter(&self.text).yaml {
            Some(yaml) if !yaml.trim().is_empty() => {
                crate::yaml::parse_card_yaml(&self.file, yaml, self.yaml_line - 1).map(Some)
            }
            _ => Ok(None),
        }
    }

    pub fn governance(&self) -> Option<&Governance> {
        self.front_matter.governance.as_ref().map(|g| &g.value)
    }

    /// The card's own drift settings, when it has valid ones. Invalid settings are among
    /// `problems` and leave the policy's settings in force.
    pub fn drift_policy(&self) -> Option<&DriftPolicy> {
        self.drift.as_ref()
    }

    pub fn risk_tier(&self) -> Option<&Spanned<String>> {
        self.governance().and_then(|g| g.risk_tier.as_ref())
    }

    pub fn version(&self) -> Option<String> {
        self.front_matter.version.clone()
    }

    /// Upstream model ids named by `base_model`.
    pub fn base_models(&self) -> Vec<&str> {
        self.front_matter
            .base_model
            .iter()
            .map(String::as_str)
            .collect()
    }

    /// The datasets of the repository that this card names (invalid paths are left out
    /// here and reported in `problems`).
    pub fn datasets(&self) -> Vec<DatasetUse> {
        self.dataset_entries()
            .into_iter()
            .filter_map(|entry| match RepoPath::parse(&entry.value) {
                Ok(path) => Some(DatasetUse {
                    role: entry.role.clone(),
                    path,
                }),
                Err(_) => None,
            })
            .collect()
    }

    /// Dataset entries that name repository files: every value of a role mapping, and
    /// list entries with a dataset extension.
    fn dataset_entries(&self) -> Vec<&DatasetEntry> {
        let looks_like_file = |raw: &str| {
            raw.to_ascii_lowercase().ends_with(PROFILE_SUFFIX)
                || raw.rsplit_once('.').is_some_and(|(_, ext)| {
                    DATASET_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
                })
        };
        self.front_matter
            .datasets
            .iter()
            .filter(|entry| entry.role.is_some() || looks_like_file(&entry.value))
            .collect()
    }

    /// The card's `model-index` results as metrics, named by metric type; where one type
    /// occurs more than once, the dataset and split are added (`accuracy (imdb, test)`),
    /// then the metric's display name, so every name is distinct. Results whose value is
    /// not a number are left out.
    pub fn model_index_metrics(&self) -> Metrics {
        self.named_model_index()
            .into_iter()
            .filter_map(|(name, result)| result.value.map(|value| (name, value)))
            .collect()
    }

    /// [`Card::model_index_metrics`] with the result each name stands for.
    pub fn named_model_index(&self) -> Vec<(String, &IndexResult)> {
        let results: Vec<&IndexResult> = self
            .front_matter
            .model_index
            .iter()
            .filter(|r| r.value.is_some())
            .collect();
        // The name at each level of detail: the type; with dataset, config and split; with
        // the metric's display name too.
        let name_at = |r: &IndexResult, detail: u8| {
            let mut place: Vec<&str> = Vec::new();
            if detail >= 1 {
                place.extend(
                    [
                        r.dataset.as_deref(),
                        r.config.as_deref(),
                        r.split.as_deref(),
                    ]
                    .into_iter()
                    .flatten(),
                );
            }
            if detail >= 2 {
                place.extend(r.metric_name.as_deref());
            }
            if place.is_empty() {
                r.metric.clone()
            } else {
                format!("{} ({})", r.metric, place.join(", "))
            }
        };
        // Names counted once per level of detail and taken names kept in a set: a card may
        // list thousands of results, and comparing each with every other is quadratic.
        let mut counts: [HashMap<String, usize>; 2] = Default::default();
        for result in &results {
            for (detail, count) in counts.iter_mut().enumerate() {
                *count.entry(name_at(result, detail as u8)).or_default() += 1;
            }
        }
        let shared = |of: &IndexResult, detail: u8| {
            counts[usize::from(detail)]
                .get(&name_at(of, detail))
                .is_some_and(|&count| count > 1)
        };
        let mut named: Vec<(String, &IndexResult)> = Vec::new();
        let mut taken: HashSet<String> = HashSet::new();
        let mut next_number: HashMap<String, u64> = HashMap::new();
        for result in &results {
            let detail = (0..2).find(|&d| !shared(result, d)).unwrap_or(2);
            let name = name_at(result, detail);
            // Still the same name (a result listed twice): number the later ones. Numbers
            // tried before for this name are still taken, so counting goes on from there.
            let mut unique = name.clone();
            let n = next_number.entry(name.clone()).or_insert(2);
            while taken.contains(&unique) {
                unique = format!("{name} #{n}");
                *n += 1;
            }
            taken.insert(unique.clone());
            named.push((unique, *result));
        }
        named
    }

    pub fn section(&self, title: &str) -> Option<&Section> {
        let wanted = normalize_title(title);
        self.sections
            .iter()
            .find(|section| normalize_title(&section.title) == wanted)
    }

    /// The line of the file for a line of the YAML (1-based; 0 stays unknown).
    pub fn file_line(&self, yaml_line: u64) -> u64 {
        if yaml_line == 0 {
            0
        } else {
            yaml_line + self.yaml_line - 1
        }
    }

    fn diagnostic_at(&self, location: serde_saphyr::Location, message: String) -> Diagnostic {
        Diagnostic::at(
            &self.file,
            self.file_line(location.line()),
            location.column(),
            message,
        )
    }

    fn node_diagnostic(&self, node: &Node, message: String) -> Diagnostic {
        Diagnostic::at(&self.file, self.file_line(node.line), node.column, message)
    }

    fn validate(&mut self) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        let fm = &self.front_matter;
        if fm.license.as_deref() == Some("other") && fm.license_name.is_none() {
            // The Hub asks for a name beside `other` but accepts the card without one.
            self.warnings.push(Diagnostic::whole_file(
                &self.file,
                "license `other` without `license_name`; the Hub asks for license_name (and license_link) beside it",
            ));
        }
        for entry in self.dataset_entries() {
            if let Err(error) = RepoPath::parse(&entry.value) {
                problems.push(Diagnostic::at(
                    &self.file,
                    self.file_line(entry.line),
                    entry.column,
                    format!("datasets: {error}"),
                ));
            }
        }
        if let Some(governance) = &self.front_matter.governance {
            for (metric, rule) in &governance.value.metrics {
                let value = &rule.value;
                let bounds = [
                    ("max_drop", value.max_drop),
                    ("max_drop_pct", value.max_drop_pct),
                    ("max_rise", value.max_rise),
                    ("max_rise_pct", value.max_rise_pct),
                ];
                for (name, bound) in bounds {
                    if bound.is_some_and(|b| !b.is_finite() || b < 0.0) {
                        problems.push(self.diagnostic_at(
                            rule.referenced,
                            format!(
                                "governance.metrics.{metric}.{name} must be a finite number >= 0"
                            ),
                        ));
                    }
                }
                if let (Some(min), Some(max)) = (value.min, value.max)
                    && min > max
                {
                    problems.push(self.diagnostic_at(
                        rule.referenced,
                        format!("governance.metrics.{metric}: min {min} is above max {max}"),
                    ));
                }
            }
        }
        problems
    }
}

fn describe(node: &Node) -> &'static str {
    match &node.value {
        Value::List(_) => "a list",
        Value::Map(_) => "a mapping",
        Value::Scalar { .. } => "a value",
    }
}

/// Every metric of every result of a `model-index`, as far as it can be read (its problems
/// are reported by [`hub_problems`]).
fn index_results(index: &Node) -> Vec<IndexResult> {
    let text = |node: Option<&Node>| {
        node.filter(|n| !n.is_null())
            .and_then(Node::text)
            .map(str::to_owned)
    };
    let items = |node: Option<&Node>| match node.map(|n| &n.value) {
        Some(Value::List(items)) => items.clone(),
        _ => Vec::new(),
    };
    let mut found = Vec::new();
    for entry in items(Some(index)) {
        for result in items(entry.get("results")) {
            let dataset = result.get("dataset");
            let dataset_id = text(dataset.and_then(|d| d.get("type")))
                .or_else(|| text(dataset.and_then(|d| d.get("name"))));
            for metric in items(result.get("metrics")) {
                let Some(kind) = text(metric.get("type")) else {
                    continue;
                };
                let value = metric.get("value").and_then(|v| match v.kind() {
                    Some(ScalarKind::Int | ScalarKind::Float | ScalarKind::Text) => {
                        v.text().and_then(parse_number)
                    }
                    _ => None,
                });
                found.push(IndexResult {
                    metric: kind,
                    metric_name: text(metric.get("name")),
                    dataset: dataset_id.clone(),
                    config: text(dataset.and_then(|d| d.get("config"))),
                    split: text(dataset.and_then(|d| d.get("split"))),
                    value,
                    line: metric.line,
                    column: metric.column,
                });
            }
        }
    }
    found
}

/// The first character PyYAML's reader refuses, with its line and column in `yaml`.
fn unreadable_character(yaml: &str) -> Option<(u64, u64, char)> {
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}');
    let mut line = 1u64;
    let mut column = 1u64;
    for c in yaml.chars() {
        if !allowed(c) {
            return Some((line, column, c));
        }
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    None
}

struct Split<'a> {
    yaml: Option<&'a str>,
    /// The file line on which the YAML starts.
    yaml_line: u64,
    body: &'a str,
    body_line: u64,
    /// The line of an opening `---` that is never closed.
    unclosed_at: Option<u64>,
}

/// Splits front matter from the body the way the Hub does (huggingface_hub's
/// `REGEX_YAML_BLOCK`, the same as the Hub server's): blank space may precede the opening
/// `---`, which ends its line; the YAML ends at the first later line that is `---` (spaces
/// or tabs may follow). Without both, the whole text is the body and the card has no
/// metadata. `text` has LF line endings.
fn split_front_matter(text: &str) -> Split<'_> {
    let no_front_matter = |unclosed_at| Split {
        yaml: None,
        yaml_line: 1,
        body: text,
        body_line: 1,
        unclosed_at,
    };
    let start = text.len() - text.trim_start().len();
    let Some(after_open) = text[start..].strip_prefix("---\n") else {
        return no_front_matter(None);
    };
    let open_line = text[..start].matches('\n').count() as u64 + 1;
    let mut search = 0;
    while let Some(found) = after_open[search..].find("\n---") {
        let close = search + found;
        let rest = &after_open[close + 4..];
        let line_end = rest.find('\n').unwrap_or(rest.len());
        if rest[..line_end].chars().all(|c| c == ' ' || c == '\t') {
            let body_offset = (close + 4 + line_end + 1).min(after_open.len());
            let body = &after_open[body_offset..];
            let yaml = &after_open[..close];
            return Split {
                yaml: Some(yaml),
                yaml_line: open_line + 1,
                body,
                body_line: text[..text.len() - body.len()].matches('\n').count() as u64 + 1,
                unclosed_at: None,
            };
        }
        search = close + 1;
    }
    no_front_matter(Some(open_line))
}

/// Headings of the Markdown body with their line and whether content stands under them
/// (up to the next heading of the same or a higher level).
fn sections(body: &str, first_line: u64) -> Vec<Section> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(body.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |offset: usize| {
        let index = line_starts.partition_point(|&start| start <= offset);
        first_line + index as u64 - 1
    };
    let mut sections: Vec<Section> = Vec::new();
    // Indexes of sections still open to content, innermost last.
    let mut open: Vec<usize> = Vec::new();
    let mut in_heading: Option<String> = None;
    for (event, range) in Parser::new(body).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                let level = heading_level(level);
                open.retain(|&index| sections[index].level < level);
                sections.push(Section {
                    title: String::new(),
                    level,
                    line: line_of(range.start),
                    non_empty: false,
                });
                in_heading = Some(String::new());
            }
            Event::End(TagEnd::Heading(_)) => {
                let title = in_heading.take().unwrap_or_default();
                if let Some(section) = sections.last_mut() {
                    section.title = title.trim().to_owned();
                }
                open.push(sections.len() - 1);
            }
            Event::Text(text) | Event::Code(text) if in_heading.is_some() => {
                if let Some(title) = in_heading.as_mut() {
                    title.push_str(&text);
                }
            }
            Event::Text(text) | Event::Code(text) | Event::Html(text) | Event::InlineHtml(text)
                if text.trim().is_empty() => {}
            Event::Text(_)
            | Event::Code(_)
            | Event::Html(_)
            | Event::InlineHtml(_)
            | Event::Rule
            | Event::Start(Tag::Image { .. } | Tag::Table(_) | Tag::CodeBlock(_) | Tag::List(_)) => {
                for &index in &open {
                    sections[index].non_empty = true;
                }
            }
            _ => {}
        }
    }
    sections
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Section titles match ignoring case, surrounding space, repeated spaces and a final colon.
pub fn normalize_title(title: &str) -> String {
    let lowered = title.trim().trim_end_matches(':').to_lowercase();
    lowered.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HUB_CARD: &str = "---\r\nlicense: apache-2.0\r\ntags: [text-classification]\r\ndatasets:\r\n  - imdb\r\nmodel-index:\r\n  - name: sentiment\r\n    results:\r\n      - task: {type: text-classification}\r\n        dataset: {type: imdb, name: IMDB}\r\n        metrics:\r\n          - {type: accuracy, value: 0.93}\r\n---\r\n# Sentiment\r\n\r\n## Intended use\r\n\r\nReviews.\r\n\r\n## Limitations\r\n";

    #[test]
    fn accepts_a_hub_card_with_crlf() {
        let card = Card::parse("models/s/card.md", HUB_CARD.as_bytes()).expect("parses");
        assert!(card.problems.is_empty(), "{:?}", card.problems);
        assert!(
            card.datasets().is_empty(),
            "imdb is a Hub id, not a repository path"
        );
        let intended = card.section("intended use:").expect("section found");
        assert!(intended.non_empty);
        assert_eq!(intended.line, 16);
        assert!(!card.section("Limitations").expect("present").non_empty);
    }

    #[test]
    fn model_index_problems_are_all_reported_with_positions() {
        let text = "---\nmodel-index:\n  - name: m\n    results:\n      - task: {name: x}\n        metrics:\n          - {type: auc}\n---\n";
        let card = Card::parse("card.md", text.as_bytes()).expect("parses");
        let messages: Vec<String> = card.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "card.md:5:15: model-index: missing `task.type`; the Hub expects `task.type`, `dataset.type`, `dataset.name` and `metrics` in every result",
                "card.md:5:9: model-index: missing `dataset.type`; the Hub expects `task.type`, `dataset.type`, `dataset.name` and `metrics` in every result",
                "card.md:5:9: model-index: missing `dataset.name`; the Hub expects `task.type`, `dataset.type`, `dataset.name` and `metrics` in every result",
                "card.md:7:13: model-index: missing `metrics[].value`; the Hub expects `type` and `value` in every metric",
            ]
        );
    }

    #[test]
    fn front_matter_must_be_a_mapping() {
        let error = Card::parse("c.md", b"---\n- a\n- b\n---\n").expect_err("a list is refused");
        assert_eq!(error.line, 2);
        assert!(error.message.contains("mapping"), "{error}");
    }

    #[test]
    fn unclosed_front_matter_is_no_metadata_with_a_warning() {
        let card = Card::parse("c.md", b"---\nlicense: mit\n# Title\n").expect("read as body");
        assert!(!card.has_front_matter);
        assert!(card.problems.is_empty(), "{:?}", card.problems);
        assert!(
            card.warnings[0]
                .to_string()
                .starts_with("c.md:1:1: front matter opened"),
            "{:?}",
            card.warnings
        );
    }

    #[test]
    fn cards_the_hub_accepts_are_accepted() {
        // A blank line before `---`, a scalar tag, a one-item license list, Norwegian.
        let text = "\n---\ntags: autotrain\nlicense: [apache-2.0]\nlanguage: [en, no]\nbase_model: org/base\nmodel-index:\n- name: ''\n  results: []\n---\n# M\n";
        let card = Card::parse("c.md", text.as_bytes()).expect("parses");
        assert!(card.problems.is_empty(), "{:?}", card.problems);
        let fm = &card.front_matter;
        assert_eq!(fm.tags, ["autotrain"]);
        assert_eq!(fm.license.as_deref(), Some("apache-2.0"));
        assert_eq!(fm.language, ["en", "no"]);
        assert_eq!(card.base_models(), ["org/base"]);
        assert_eq!(card.sections[0].line, 11);
        assert_eq!(card.warnings.len(), 1, "{:?}", card.warnings);
        assert!(
            card.warnings[0]
                .to_string()
                .starts_with("c.md:8:9: model-index: `name` is empty"),
            "{}",
            card.warnings[0]
        );

        let card = Card::parse("c.md", b"# Just a body\n").expect("no front matter");
        assert!(!card.has_front_matter && card.problems.is_empty());

        let card = Card::parse("c.md", b"---\nlicense: other\n---\n").expect("parses");
        assert!(card.problems.is_empty(), "{:?}", card.problems);
        assert!(card.warnings[0].message.contains("license_name"));
    }

    #[test]
    fn what_the_hub_refuses_is_refused_at_the_item() {
        let text = "---\nlanguage:\n  - en\nlicense:\n  - apache-2.0\n  - no\n---\n";
        let card = Card::parse("c.md", text.as_bytes()).expect("parses");
        let messages: Vec<String> = card.problems.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(
            messages[0].starts_with("c.md:6:5: license `no` is not a Hugging Face Hub license id"),
            "{}",
            messages[0]
        );
    }

    /// YAML edge cases with huggingface_hub's verdict on each (recorded by
    /// scripts/hub-card-verdicts.py, which the CLI tests re-run against huggingface_hub).
    #[test]
    fn yaml_edge_cases_get_huggingface_hubs_verdict() {
        let cases: serde_json::Value =
            serde_json::from_str(include_str!("../../fixtures/hub-cards/yaml-cases.json"))
                .expect("yaml-cases.json is JSON");
        let cases = cases["cards"].as_array().expect("cases");
        assert!(cases.len() >= 70);
        let mut disagreements = Vec::new();
        for case in cases {
            let yaml = case["yaml"].as_str().expect("yaml");
            let text = format!("---\n{yaml}\n---\n# x\n");
            let ours = match Card::parse("c.md", text.as_bytes()) {
                Ok(card) if card.problems.is_empty() => "accept".to_owned(),
                Ok(card) => format!("reject ({})", card.problems[0]),
                Err(error) => format!("reject ({error})"),
            };
            let hub = case["verdict"].as_str().expect("verdict");
            if !ours.starts_with(hub) {
                disagreements.push(format!(
                    "{yaml:?}: huggingface_hub {hub}s, modelgate {ours}"
                ));
            }
        }
        assert!(disagreements.is_empty(), "{disagreements:#?}");
    }

    #[test]
    fn model_index_results_are_metrics_named_by_type() {
        let text = "---\nmodel-index:\n- name: m\n  results:\n  - task: {type: t}\n    dataset: {type: arc, name: ARC, split: test}\n    metrics:\n    - {type: accuracy, value: 0.61}\n    - {type: f1, value: 0.5}\n  - task: {type: t}\n    dataset: {type: hellaswag, name: HS, split: validation}\n    metrics:\n    - {type: accuracy, value: 0.79}\n    - {type: perplexity, value: '20 +- 1'}\n---\n";
        let card = Card::parse("c.md", text.as_bytes()).expect("parses");
        assert!(card.problems.is_empty(), "{:?}", card.problems);
        let metrics: Vec<(String, f64)> = card.model_index_metrics().into_iter().collect();
        assert_eq!(
            metrics,
            [
                ("accuracy (arc, test)".to_owned(), 0.61),
                ("f1".to_owned(), 0.5),
                ("accuracy (hellaswag, validation)".to_owned(), 0.79),
            ]
        );
    }

    #[test]
    fn governance_block_rejects_unknown_keys_with_position() {
        let text = "---\ngovernance:\n  risk_tier: high\n  risk_teir: low\n---\n";
        let error = Card::parse("c.md", text.as_bytes()).expect_err("typo refused");
        assert_eq!((error.line, error.column), (4, 3), "{error}");
        assert!(error.message.contains("risk_teir"), "{error}");
    }

    #[test]
    fn governance_drift_problems_are_card_problems_at_their_values() {
        let text = "---\ngovernance:\n  risk_tier: high\n  drift:\n    stattest: kss\n    compat: evidently\n    columns: {age: {threshold: -0.5}}\n---\n";
        let card = Card::parse("c.md", text.as_bytes()).expect("parses");
        let messages: Vec<String> = card.problems.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 2, "{messages:#?}");
        assert!(
            messages[0].starts_with("c.md:5:15: governance.drift.stattest: unknown test `kss`; expected one of auto, ks,"),
            "{}",
            messages[0]
        );
        assert_eq!(
            messages[1],
            "c.md:7:32: governance.drift.columns.age.threshold: -0.5 is not a threshold; expected a finite number >= 0"
        );
        // Invalid settings are not used: the policy's stay in force.
        assert!(card.drift_policy().is_none());

        let text = "---\ngovernance:\n  drift: {stattest: psi, compat: evidently}\n---\n";
        let card = Card::parse("c.md", text.as_bytes()).expect("parses");
        assert!(card.problems.is_empty(), "{:?}", card.problems);
        let drift = card.drift_policy().expect("valid settings");
        assert_eq!(
            (drift.stattest.name(), drift.compat),
            ("psi", Some(crate::drift::Mode::Evidently))
        );
    }

    #[test]
    fn dataset_paths_out_of_the_repository_are_problems() {
        let text = "---\ndatasets: {train: ../outside.csv, eval: data/eval.csv}\n---\n";
        let card = Card::parse("c.md", text.as_bytes()).expect("parses");
        assert_eq!(card.datasets().len(), 1);
        assert_eq!(card.problems.len(), 1);
        assert!(card.problems[0].message.contains("escapes the repository"));
    }
}
