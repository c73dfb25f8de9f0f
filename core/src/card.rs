//! Model cards: `models/<id>/card.md`, YAML front matter plus a Markdown body.
//!
//! The front matter uses the Hugging Face Hub's keys where the Hub defines one and keeps
//! modelgate's own settings under `governance`. Hub keys are validated the way the Hub
//! validates them, so a card that passes here is also accepted there.

use indexmap::IndexMap;
use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::diagnostic::Diagnostic;
use crate::path::RepoPath;
use crate::policy::{DriftPolicy, DriftPolicyFile};

/// File extensions of datasets, per the repository convention.
pub const DATASET_EXTENSIONS: [&str; 3] = ["csv", "parquet", "ndjson"];

/// A parsed card. Parsing fails only when the front matter cannot be read at all; problems
/// of content (an incomplete `model-index`, an unknown license, a path out of the
/// repository) are collected in `problems`, all of them, with their positions.
#[derive(Debug)]
pub struct Card {
    pub file: String,
    pub front_matter: FrontMatter,
    pub has_front_matter: bool,
    pub sections: Vec<Section>,
    pub problems: Vec<Diagnostic>,
    /// The card's text with a byte-order mark removed and CRLF line endings made LF.
    pub text: String,
    /// Where the Markdown body starts in `text`.
    body_start: usize,
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

#[derive(Debug, Default, Deserialize)]
pub struct FrontMatter {
    #[serde(default)]
    pub version: Option<Scalar>,
    #[serde(default)]
    pub owners: Vec<String>,
    pub license: Option<Spanned<String>>,
    pub license_name: Option<String>,
    pub license_link: Option<String>,
    pub base_model: Option<Spanned<OneOrMany>>,
    pub datasets: Option<Spanned<DatasetRefs>>,
    pub tags: Option<Vec<String>>,
    pub library_name: Option<String>,
    pub pipeline_tag: Option<String>,
    pub language: Option<OneOrMany>,
    /// The Hub's list of metric names (not ours: our rules are under `governance.metrics`).
    pub metrics: Option<OneOrMany>,
    #[serde(rename = "model-index")]
    pub model_index: Option<Spanned<Vec<Spanned<ModelIndexEntry>>>>,
    pub governance: Option<Spanned<Governance>>,
}

/// A YAML scalar kept as text, so `version: 2.1.0` and `version: 3` both read naturally.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Text(text) => f.write_str(text),
            Scalar::Integer(value) => write!(f, "{value}"),
            Scalar::Float(value) => write!(f, "{value}"),
            Scalar::Bool(value) => write!(f, "{value}"),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(item) => vec![item.as_str()],
            OneOrMany::Many(items) => items.iter().map(String::as_str).collect(),
        }
    }
}

/// `datasets`: the Hub's list of dataset ids, or modelgate's mapping of role to path
/// (`{train: data/train.parquet}`). List entries with a dataset extension are repository
/// paths; other entries are Hub dataset ids and play no part in lineage.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DatasetRefs {
    One(String),
    List(Vec<String>),
    Roles(IndexMap<String, String>),
}

#[derive(Debug, Deserialize)]
pub struct ModelIndexEntry {
    pub name: Option<String>,
    pub results: Option<Vec<Spanned<ModelIndexResult>>>,
}

#[derive(Debug, Deserialize)]
pub struct ModelIndexResult {
    pub task: Option<Spanned<TypedRef>>,
    pub dataset: Option<Spanned<TypedRef>>,
    pub metrics: Option<Vec<Spanned<ModelIndexMetric>>>,
}

/// The `task` and `dataset` of a `model-index` result: both need `type`; datasets also `name`.
#[derive(Debug, Deserialize)]
pub struct TypedRef {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ModelIndexMetric {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub value: Option<IgnoredAny>,
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
        // Cards written on Windows keep their CRLF endings on the Hub; lines stay the same.
        let text = text.replace("\r\n", "\n");
        let split = split_front_matter(file, &text)?;
        let front_matter: FrontMatter = match split.yaml {
            Some(yaml) if !yaml.trim().is_empty() => crate::yaml::parse(file, yaml, 1)?,
            _ => FrontMatter::default(),
        };
        let body_start = text.len() - split.body.len();
        let mut card = Card {
            file: file.to_owned(),
            has_front_matter: split.yaml.is_some(),
            sections: sections(split.body, split.body_line),
            front_matter,
            problems: Vec::new(),
            body_start,
            text: String::new(),
            drift: None,
        };
        card.text = text;
        card.problems = card.validate();
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

    /// The Markdown body, after the front matter.
    pub fn body(&self) -> &str {
        self.text.get(self.body_start..).unwrap_or_default()
    }

    /// Every key of the front matter as a generic value (Hub keys, ours and unknown ones),
    /// for displays and exports that show the card as written. `None` without front matter.
    pub fn front_matter_value(&self) -> Result<Option<serde_json::Value>, Diagnostic> {
        let split = split_front_matter(&self.file, &self.text)?;
        match split.yaml {
            Some(yaml) if !yaml.trim().is_empty() => {
                crate::yaml::parse(&self.file, yaml, 1).map(Some)
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
        self.front_matter.version.as_ref().map(ToString::to_string)
    }

    /// Upstream model ids named by `base_model`.
    pub fn base_models(&self) -> Vec<&str> {
        self.front_matter
            .base_model
            .as_ref()
            .map(|b| b.value.items())
            .unwrap_or_default()
    }

    /// The datasets of the repository that this card names (invalid paths are left out
    /// here and reported in `problems`).
    pub fn datasets(&self) -> Vec<DatasetUse> {
        self.dataset_entries()
            .into_iter()
            .filter_map(|(role, raw)| match RepoPath::parse(raw) {
                Ok(path) => Some(DatasetUse {
                    role: role.map(str::to_owned),
                    path,
                }),
                Err(_) => None,
            })
            .collect()
    }

    /// Raw dataset entries that name repository files: every value of a role mapping, and
    /// list entries with a dataset extension.
    fn dataset_entries(&self) -> Vec<(Option<&str>, &str)> {
        let Some(datasets) = &self.front_matter.datasets else {
            return Vec::new();
        };
        let looks_like_file = |raw: &str| {
            raw.rsplit_once('.').is_some_and(|(_, ext)| {
                DATASET_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
            })
        };
        match &datasets.value {
            DatasetRefs::One(raw) => {
                if looks_like_file(raw) {
                    vec![(None, raw.as_str())]
                } else {
                    Vec::new()
                }
            }
            DatasetRefs::List(list) => list
                .iter()
                .filter(|raw| looks_like_file(raw))
                .map(|raw| (None, raw.as_str()))
                .collect(),
            DatasetRefs::Roles(roles) => roles
                .iter()
                .map(|(role, raw)| (Some(role.as_str()), raw.as_str()))
                .collect(),
        }
    }

    pub fn section(&self, title: &str) -> Option<&Section> {
        let wanted = normalize_title(title);
        self.sections
            .iter()
            .find(|section| normalize_title(&section.title) == wanted)
    }

    fn diagnostic_at(&self, location: serde_saphyr::Location, message: String) -> Diagnostic {
        // Front matter starts on line 2, after the opening `---`.
        let line = if location.line() == 0 {
            0
        } else {
            location.line() + 1
        };
        Diagnostic::at(&self.file, line, location.column(), message)
    }

    fn validate(&self) -> Vec<Diagnostic> {
        let mut problems = Vec::new();
        let fm = &self.front_matter;
        if let Some(license) = &fm.license {
            let id = license.value.trim();
            if !HUB_LICENSES.contains(&id) {
                problems.push(self.diagnostic_at(
                    license.referenced,
                    format!("license `{id}` is not a Hugging Face Hub license id; expected one such as apache-2.0 or mit, or `other` with license_name and license_link"),
                ));
            } else if id == "other" && fm.license_name.is_none() {
                problems.push(
                    self.diagnostic_at(
                        license.referenced,
                        "license `other` needs `license_name` (and `license_link`) beside it"
                            .to_owned(),
                    ),
                );
            }
        }
        if let Some(datasets) = &fm.datasets {
            for (_, raw) in self.dataset_entries() {
                if let Err(error) = RepoPath::parse(raw) {
                    problems.push(
                        self.diagnostic_at(datasets.referenced, format!("datasets: {error}")),
                    );
                }
            }
        }
        if let Some(index) = &fm.model_index {
            self.validate_model_index(index, &mut problems);
        }
        if let Some(governance) = &fm.governance {
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

    fn validate_model_index(
        &self,
        index: &Spanned<Vec<Spanned<ModelIndexEntry>>>,
        problems: &mut Vec<Diagnostic>,
    ) {
        let mut missing = |location, what: &str| {
            problems.push(self.diagnostic_at(location, format!("model-index: missing `{what}`")));
        };
        for entry in &index.value {
            if entry.value.name.as_deref().is_none_or(str::is_empty) {
                missing(entry.referenced, "name");
            }
            let Some(results) = &entry.value.results else {
                missing(entry.referenced, "results");
                continue;
            };
            for result in results {
                let result_at = result.referenced;
                match &result.value.task {
                    None => missing(result_at, "task.type"),
                    Some(task) if task.value.kind.is_none() => {
                        missing(task.referenced, "task.type")
                    }
                    Some(_) => {}
                }
                match &result.value.dataset {
                    None => {
                        missing(result_at, "dataset.type");
                        missing(result_at, "dataset.name");
                    }
                    Some(dataset) => {
                        if dataset.value.kind.is_none() {
                            missing(dataset.referenced, "dataset.type");
                        }
                        if dataset.value.name.is_none() {
                            missing(dataset.referenced, "dataset.name");
                        }
                    }
                }
                match &result.value.metrics {
                    None => missing(result_at, "metrics"),
                    Some(metrics) => {
                        for metric in metrics {
                            if metric.value.kind.is_none() {
                                missing(metric.referenced, "metrics[].type");
                            }
                            if metric.value.value.is_none() {
                                missing(metric.referenced, "metrics[].value");
                            }
                        }
                    }
                }
            }
        }
    }
}

struct Split<'a> {
    yaml: Option<&'a str>,
    body: &'a str,
    body_line: u64,
}

/// Splits `---` front matter from the body. The closing line is `---` or `...`.
fn split_front_matter<'a>(file: &str, text: &'a str) -> Result<Split<'a>, Diagnostic> {
    let Some(first_end) = text.find('\n') else {
        return Ok(if text.trim_end() == "---" {
            Split {
                yaml: Some(""),
                body: "",
                body_line: 2,
            }
        } else {
            Split {
                yaml: None,
                body: text,
                body_line: 1,
            }
        });
    };
    if text[..first_end].trim_end() != "---" {
        return Ok(Split {
            yaml: None,
            body: text,
            body_line: 1,
        });
    }
    let yaml_start = first_end + 1;
    let mut offset = yaml_start;
    // The YAML starts on line 2, after the opening `---`.
    for (line, raw_line) in (2u64..).zip(text[yaml_start..].split_inclusive('\n')) {
        let trimmed = raw_line.trim_end();
        if trimmed == "---" || trimmed == "..." {
            return Ok(Split {
                yaml: Some(&text[yaml_start..offset]),
                body: &text[offset + raw_line.len()..],
                body_line: line + 1,
            });
        }
        offset += raw_line.len();
    }
    Err(Diagnostic::at(
        file,
        1,
        1,
        "front matter opened with `---` is never closed; expected a line `---` after the YAML",
    ))
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

/// License identifiers the Hugging Face Hub accepts in `license:`.
const HUB_LICENSES: &[&str] = &[
    "apache-2.0",
    "mit",
    "openrail",
    "bigscience-openrail-m",
    "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0",
    "bigcode-openrail-m",
    "afl-3.0",
    "artistic-2.0",
    "bsl-1.0",
    "bsd",
    "bsd-2-clause",
    "bsd-3-clause",
    "bsd-3-clause-clear",
    "c-uda",
    "cc",
    "cc0-1.0",
    "cc-by-2.0",
    "cc-by-2.5",
    "cc-by-3.0",
    "cc-by-4.0",
    "cc-by-sa-3.0",
    "cc-by-sa-4.0",
    "cc-by-nc-2.0",
    "cc-by-nc-3.0",
    "cc-by-nc-4.0",
    "cc-by-nd-4.0",
    "cc-by-nc-nd-3.0",
    "cc-by-nc-nd-4.0",
    "cc-by-nc-sa-2.0",
    "cc-by-nc-sa-3.0",
    "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0",
    "cdla-permissive-1.0",
    "cdla-permissive-2.0",
    "wtfpl",
    "ecl-2.0",
    "epl-1.0",
    "epl-2.0",
    "etalab-2.0",
    "eupl-1.1",
    "eupl-1.2",
    "agpl-3.0",
    "gfdl",
    "gpl",
    "gpl-2.0",
    "gpl-3.0",
    "lgpl",
    "lgpl-2.1",
    "lgpl-3.0",
    "isc",
    "h-research",
    "intel-research",
    "lppl-1.3c",
    "ms-pl",
    "apple-ascl",
    "apple-amlr",
    "mpl-2.0",
    "odc-by",
    "odbl",
    "openrail++",
    "osl-3.0",
    "postgresql",
    "ofl-1.1",
    "ncsa",
    "unlicense",
    "zlib",
    "pddl",
    "lgpl-lr",
    "deepfloyd-if-license",
    "fair-noncommercial-research-license",
    "llama2",
    "llama3",
    "llama3.1",
    "llama3.2",
    "llama3.3",
    "llama4",
    "gemma",
    "other",
];

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
                "card.md:5:15: model-index: missing `task.type`",
                "card.md:5:9: model-index: missing `dataset.type`",
                "card.md:5:9: model-index: missing `dataset.name`",
                "card.md:7:13: model-index: missing `metrics[].value`",
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
    fn unclosed_front_matter_is_an_error() {
        let error = Card::parse("c.md", b"---\nlicense: mit\n# Title\n").expect_err("unclosed");
        assert!(
            error.to_string().starts_with("c.md:1:1: front matter"),
            "{error}"
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
