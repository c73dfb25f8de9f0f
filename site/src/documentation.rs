//! Technical documentation of a model version under the EU AI Act, Annex IV: the points of
//! the Annex in order, each answered by a section of the card or generated from the
//! repository (versions, data lineage, metrics, approvals, the change history), with what
//! is missing marked. One Markdown text per point is the single source: it is written as
//! `technical-documentation.md` and rendered (sanitized) into the HTML page.

use std::collections::HashMap;
use std::fmt::Write;

use modelgate_core::documentation::DocumentationPreset;
use modelgate_core::render::number;
use modelgate_core::sha::ShortSha;

use crate::collect::{CardView, Dataset, Model, SectionView, Site, Version};
use crate::evidence::{check_entries, rule_text};
use crate::links;

/// One point of Annex IV and how the repository answers it.
#[derive(Debug)]
pub struct Item {
    /// The Annex IV point, e.g. `2(e)`.
    pub point: &'static str,
    pub title: &'static str,
    /// Markdown.
    pub body: String,
    /// Something this point asks for is not in the repository.
    pub missing: bool,
}

/// Inline text from the repository (model ids, commit summaries, logins) inside generated
/// Markdown: its Markdown punctuation is escaped, so it reads as written.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '!' | '~'
        ) {
            out.push('\\');
        }
        out.push(if c == '\n' || c == '\r' { ' ' } else { c });
    }
    out
}

/// The card's section for the preset section `title`, or a note of its absence.
fn from_card(card: &CardView, title: &str) -> (String, bool) {
    let Some(section) = card.sections.iter().find(|s| s.title == title) else {
        return (
            format!("**Missing**: the tier does not ask for “{title}”."),
            true,
        );
    };
    card_section(section)
}

fn card_section(section: &SectionView) -> (String, bool) {
    let title = &section.title;
    if !section.present {
        return (
            format!("**Missing**: the card has no “{title}” section."),
            true,
        );
    }
    if !section.non_empty {
        return (
            format!("**Missing**: the card's “{title}” section is empty."),
            true,
        );
    }
    let source = match &section.heading {
        Some(heading) => format!("*From the card's section “{}”.*", md(heading)),
        None => format!("*From the card's section “{title}”.*"),
    };
    (format!("{source}\n\n{}", section.markdown), false)
}

/// Everything the documentation of one version draws on.
#[derive(Debug)]
pub struct Sources<'a> {
    pub site: &'a Site,
    pub model: &'a Model,
    pub index: usize,
    pub datasets: &'a HashMap<&'a str, &'a Dataset>,
}

/// The Annex IV items of a version whose card's tier names the preset; `None` otherwise.
pub fn annex_iv(sources: &Sources<'_>) -> Option<Vec<Item>> {
    let version = sources.model.versions.get(sources.index)?;
    let card = version.card.as_ref()?;
    if card.documentation != Some(DocumentationPreset::EuAiActAnnexIv) {
        return None;
    }
    let mut items = Vec::new();
    let mut push = |point, title, (body, missing): (String, bool)| {
        items.push(Item {
            point,
            title,
            body,
            missing,
        })
    };
    push(
        "1(a)",
        "Intended purpose, provider and version",
        general(sources, version, card),
    );
    push(
        "2(a)–(c)",
        "Development process",
        from_card(card, "Development process"),
    );
    push("2(d)", "Data", data(sources, version, card));
    push(
        "2(e)",
        "Human oversight",
        from_card(card, "Human oversight"),
    );
    push(
        "2(f)",
        "Pre-determined changes",
        from_card(card, "Pre-determined changes"),
    );
    push(
        "2(g)",
        "Validation and testing",
        validation(sources, version, card),
    );
    push(
        "2(h), 3",
        "Accuracy, robustness and cybersecurity",
        from_card(card, "Accuracy, robustness and cybersecurity"),
    );
    push(
        "4",
        "Appropriateness of the performance metrics",
        metric_rules(sources, version),
    );
    push("5", "Risk management", from_card(card, "Risk management"));
    push("6", "Changes through the lifecycle", changes(sources));
    push(
        "7",
        "Standards applied",
        from_card(card, "Standards applied"),
    );
    push(
        "8",
        "EU declaration of conformity",
        (
            "**Missing**: the declaration of conformity (Article 47) is not kept in the repository; attach it to the documentation by hand.".to_owned(),
            true,
        ),
    );
    push(
        "9",
        "Post-market monitoring plan",
        from_card(card, "Post-market monitoring plan"),
    );
    Some(items)
}

/// The whole document as Markdown (`technical-documentation.md`).
pub fn markdown(model: &Model, version: &Version, items: &[Item]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Technical documentation: {} {}\n",
        md(&model.id),
        md(&version.display_label())
    );
    let _ = writeln!(
        out,
        "EU AI Act (Regulation (EU) 2024/1689), Annex IV, for commit `{}` ({}). Generated by modelgate from the repository; each point names where its answer comes from.\n",
        ShortSha(&version.commit.id),
        links::date(version.commit.time)
    );
    let missing: Vec<&str> = items
        .iter()
        .filter(|i| i.missing)
        .map(|i| i.point)
        .collect();
    if missing.is_empty() {
        out.push_str("Every point is answered.\n\n");
    } else {
        let _ = writeln!(out, "**Missing** at points {}.\n", missing.join(", "));
    }
    for item in items {
        let _ = writeln!(out, "## Annex IV point {}: {}\n", item.point, item.title);
        out.push_str(item.body.trim_end());
        out.push_str("\n\n");
    }
    out
}

fn general(sources: &Sources<'_>, version: &Version, card: &CardView) -> (String, bool) {
    let (purpose, missing) = from_card(card, "Intended purpose");
    let mut out = purpose;
    let provider = if card.owners.is_empty() {
        "**Missing**: the card names no `owners`.".to_owned()
    } else {
        format!(
            "Provider (the card's owners): {}.",
            card.owners
                .iter()
                .map(|o| md(o))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let earlier: Vec<&Version> = sources.model.versions[..sources.index]
        .iter()
        .filter(|v| !v.removed)
        .collect();
    let relation = match earlier.last() {
        Some(previous) => format!(
            "It follows version {} ({}), one of {} earlier version(s).",
            md(&previous.display_label()),
            links::date(previous.commit.time),
            earlier.len()
        ),
        None => "It is the model's first version.".to_owned(),
    };
    let _ = write!(
        out,
        "\n\n{provider}\n\nVersion {} of `{}`, commit `{}` ({}): “{}”. {relation}",
        md(&version.display_label()),
        md(&sources.model.id),
        ShortSha(&version.commit.id),
        links::date(version.commit.time),
        md(&version.commit.summary)
    );
    if !card.base_models.is_empty() {
        let _ = write!(
            out,
            " Built on: {}.",
            card.base_models
                .iter()
                .map(|m| md(m))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    (out, missing || card.owners.is_empty())
}

fn data(sources: &Sources<'_>, version: &Version, card: &CardView) -> (String, bool) {
    let (mut out, missing) = from_card(card, "Data");
    out.push_str("\n\n*Data lineage, from the repository:*\n\n");
    if card.datasets.is_empty() {
        out.push_str("The card names no dataset of the repository.\n");
    }
    for (role, path) in &card.datasets {
        let role = role
            .as_deref()
            .map(|r| format!(" ({})", md(r)))
            .unwrap_or_default();
        let at = sources.datasets.get(path.as_str()).and_then(|dataset| {
            dataset
                .versions
                .iter()
                .rev()
                .find(|v| v.commit.time <= version.commit.time)
        });
        let state = match at {
            Some(v) if v.removed => "removed by then".to_owned(),
            Some(v) => format!(
                "version of commit `{}` ({}), {} bytes{}",
                ShortSha(&v.commit.id),
                links::date(v.commit.time),
                v.size,
                v.rows.map(|r| format!(", {r} rows")).unwrap_or_default()
            ),
            None => "no version in git (external, or tracked by DVC or LFS)".to_owned(),
        };
        let _ = writeln!(out, "- `{}`{role}: {state}", md(path));
    }
    if !card.sensitive_features.is_empty() {
        let _ = writeln!(
            out,
            "\nSensitive features judged for fairness: {}.",
            card.sensitive_features
                .iter()
                .map(|f| md(f))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    (out, missing)
}

/// The entries under `field` (`metrics`, `features`) of this model's checks of `kind` in the
/// report kept for the version, if any.
fn judged<'r>(
    sources: &Sources<'r>,
    version: &Version,
    kind: &'r str,
    field: &'r str,
) -> Vec<&'r serde_json::Value> {
    let Some(report) = sources
        .site
        .record_of_version(sources.model, version)
        .and_then(|(_, report)| report)
    else {
        return Vec::new();
    };
    check_entries(report, &sources.model.id, kind, field).collect()
}

fn validation(sources: &Sources<'_>, version: &Version, card: &CardView) -> (String, bool) {
    let (mut out, missing) = from_card(card, "Validation and testing");
    out.push_str("\n\n*Metrics at this version, from the repository:*\n\n");
    let record = sources.site.record_of_version(sources.model, version);
    let judged_metrics = judged(sources, version, "regression", "metrics");
    if !judged_metrics.is_empty() {
        out.push_str("| Metric | Before | This version | Change | Bootstrap interval of the change | Rule | Status |\n|---|---|---|---|---|---|---|\n");
        for metric in &judged_metrics {
            let interval = match (metric["ci_low"].as_f64(), metric["ci_high"].as_f64()) {
                (Some(low), Some(high)) => {
                    format!("[{}, {}]", number(Some(low)), number(Some(high)))
                }
                _ => "none (no predictions)".to_owned(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {interval} | {} | {} |",
                md(metric["name"].as_str().unwrap_or_default()),
                number(metric["base"].as_f64()),
                number(metric["head"].as_f64()),
                metric["delta"]
                    .as_f64()
                    .map(|d| format!("{d:+.4}"))
                    .unwrap_or_else(|| "—".to_owned()),
                md(&rule_text(&metric["rule"])),
                md(metric["status"].as_str().unwrap_or_default()),
            );
        }
    } else {
        match &version.metrics {
            Some(metrics) if !metrics.is_empty() => {
                for (name, value) in metrics {
                    let _ = writeln!(out, "- {}: {}", md(name), number(Some(*value)));
                }
                out.push_str("\nNo recorded decision with its report covers this version, so no rule or interval is shown.\n");
            }
            _ => out.push_str("No metrics at this version.\n"),
        }
    }

    let features = judged(sources, version, "fairness", "features");
    if !features.is_empty() {
        out.push_str("\n*Fairness by group:*\n\n");
        for feature in features {
            let _ = writeln!(
                out,
                "- {}: {} ({})",
                md(feature["feature"].as_str().unwrap_or_default()),
                md(feature["summary"].as_str().unwrap_or_default()),
                md(feature["status"].as_str().unwrap_or_default())
            );
            for group in feature["groups"].as_array().into_iter().flatten() {
                let rate = |key: &str| {
                    group[key]
                        .as_f64()
                        .map(|v| format!(", {key} {}", number(Some(v))))
                        .unwrap_or_default()
                };
                let _ = writeln!(
                    out,
                    "  - group {}: {} rows{}{}{}{}",
                    md(group["value"].as_str().unwrap_or_default()),
                    group["size"].as_u64().unwrap_or_default(),
                    rate("selection_rate"),
                    rate("tpr"),
                    rate("fpr"),
                    rate("mae")
                );
            }
        }
    }

    out.push_str("\n*Approval (the test report signed by the responsible persons):*\n\n");
    match record {
        Some((record, _)) => {
            let approvers: Vec<String> = record.approvers.iter().map(|a| md(&a.login)).collect();
            let _ = writeln!(
                out,
                "Audit record #{}{}: decision {}, approved by {}.",
                record.sequence,
                record
                    .pr
                    .map(|n| format!(", pull request #{n}"))
                    .unwrap_or_default(),
                md(&record.conclusion),
                if approvers.is_empty() {
                    "nobody".to_owned()
                } else {
                    approvers.join(", ")
                }
            );
            for risk in &record.accepted_risks {
                let _ = writeln!(
                    out,
                    "- Risk accepted by {}: “{}” ({})",
                    md(&risk.by),
                    md(&risk.reason),
                    md(&risk.checks.join(", "))
                );
            }
            (out, missing)
        }
        None => {
            out.push_str(
                "**Missing**: no decision on this version is recorded in the audit ledger.\n",
            );
            (out, true)
        }
    }
}

fn metric_rules(sources: &Sources<'_>, version: &Version) -> (String, bool) {
    let rules: Vec<String> = judged(sources, version, "regression", "metrics")
        .into_iter()
        .map(|m| {
            format!(
                "- {} ({} is better): {}",
                md(m["name"].as_str().unwrap_or_default()),
                md(m["direction"].as_str().unwrap_or_default()),
                md(&rule_text(&m["rule"]))
            )
        })
        .collect();
    if rules.is_empty() {
        return (
            "**Missing**: no recorded decision with its report states the rules the metrics of this version were judged by.".to_owned(),
            true,
        );
    }
    (
        format!(
            "*The metrics judged and the rules they were held to (the card's `governance.metrics`, else the policy's defaults):*\n\n{}",
            rules.join("\n")
        ),
        false,
    )
}

fn changes(sources: &Sources<'_>) -> (String, bool) {
    let mut out =
        String::from("*Every version up to this one, from git history, oldest first:*\n\n");
    let ledger = &sources.site.ledger;
    for version in &sources.model.versions[..=sources.index] {
        let decision = sources
            .model
            .records
            .iter()
            .find(|i| ledger.records[**i].commit == version.commit.id)
            .map(|i| {
                let record = &ledger.records[*i];
                format!(
                    "; audit record #{} ({})",
                    record.sequence,
                    md(&record.conclusion)
                )
            })
            .unwrap_or_else(|| "; no recorded decision".to_owned());
        let _ = writeln!(
            out,
            "- {} {}, commit `{}`: “{}”{}{decision}",
            links::date(version.commit.time),
            md(&version.display_label()),
            ShortSha(&version.commit.id),
            md(&version.commit.summary),
            if version.removed { " (removed)" } else { "" }
        );
    }
    (out, false)
}
