//! Machine exports: `models.json` (the index), and per model version a `card.json` in the
//! Model Card Toolkit's field names and a `README.md` that the Hugging Face Hub reads
//! (YAML front matter plus Markdown body).

use serde_json::{Value, json};

use crate::collect::{Model, Site, Version};
use crate::links;
use crate::markdown::section_texts;

pub const INDEX_SCHEMA: &str = "modelgate.site.models/v1";

/// One entry of `models.json`. Links are relative to the site's root, and absolute too
/// when a base URL is given.
pub fn index_entry(model: &Model, base_url: Option<&str>) -> Value {
    let current = model.current();
    let card = current.and_then(|v| v.card.as_ref());
    let last = model.versions.last();
    let page = links::model_page(&model.slug);
    let mut entry = json!({
        "id": model.id,
        "page": page,
        "status": status(model).0,
        "tier": model.tier(),
        "owners": card.map(|c| c.owners.clone()).unwrap_or_default(),
        "tags": card.map(|c| c.tags.clone()).unwrap_or_default(),
        "latest_version": current.map(Version::display_label),
        "latest_commit": current.map(|v| v.commit.id.clone()),
        "last_change": last.map(|v| links::date(v.commit.time)),
        "versions": model.versions.iter().filter(|v| !v.removed).count(),
        "last_review": model.review.last.map(links::date),
        "review_due": model.review.due.map(links::date),
        "review_overdue": model.review.overdue,
    });
    if let (Some(base), Some(object)) = (base_url, entry.as_object_mut()) {
        object.insert("url".to_owned(), json!(format!("{base}{page}")));
    }
    entry
}

/// `(status key, words)` of a model, worst first: retired, card unreadable, review
/// overdue, card problems, active.
pub fn status(model: &Model) -> (&'static str, &'static str) {
    let current = model.current();
    if model.retired {
        ("retired", "Retired")
    } else if current.is_none_or(|v| v.card.is_none()) {
        ("card-unreadable", "Card unreadable")
    } else if model.review.overdue {
        ("review-overdue", "Review overdue")
    } else if current
        .and_then(|v| v.card.as_ref())
        .is_some_and(|c| !c.problems.is_empty())
    {
        ("card-problems", "Card has problems")
    } else {
        ("active", "Active")
    }
}

pub fn models_json(site: &Site, base_url: Option<&str>) -> Value {
    json!({
        "schema": INDEX_SCHEMA,
        "rev": site.rev,
        "commit": site.tip.id,
        "as_of": links::date(site.tip.time),
        "models": site.models.iter().map(|m| index_entry(m, base_url)).collect::<Vec<_>>(),
    })
}

pub const INVENTORY_SCHEMA: &str = "modelgate.site.inventory/v1";

/// The inventory's columns, in order (`inventory.csv`'s header, `inventory.json`'s keys).
pub const INVENTORY_COLUMNS: [&str; 11] = [
    "model",
    "tier",
    "owners",
    "status",
    "latest_version",
    "last_change",
    "last_review",
    "next_review_due",
    "intended_use",
    "approvers",
    "documentation_complete",
];

/// One row of the model inventory, keyed by [`INVENTORY_COLUMNS`].
fn inventory_row(site: &Site, model: &Model) -> Value {
    let current = model.current();
    let card = current.and_then(|v| v.card.as_ref());
    let approvers: Vec<String> = model
        .records
        .last()
        .and_then(|index| site.ledger.records.get(*index))
        .map(|record| record.approvers.iter().map(|a| a.login.clone()).collect())
        .unwrap_or_default();
    json!({
        "model": model.id,
        "tier": model.tier(),
        "owners": card.map(|c| c.owners.clone()).unwrap_or_default(),
        "status": status(model).0,
        "latest_version": current.map(Version::display_label),
        "last_change": model.versions.last().map(|v| links::date(v.commit.time)),
        "last_review": model.review.last.map(links::date),
        "next_review_due": model.review.due.map(links::date),
        "intended_use": card.and_then(|c| c.intended_use.clone()),
        "approvers": approvers,
        "documentation_complete": card.is_some_and(|c| c.documentation_complete()),
    })
}

/// `inventory.json`: every model, one row each, with the build it describes.
pub fn inventory_json(site: &Site) -> Value {
    json!({
        "schema": INVENTORY_SCHEMA,
        "rev": site.rev,
        "commit": site.tip.id,
        "as_of": links::date(site.tip.time),
        "columns": INVENTORY_COLUMNS,
        "models": site.models.iter().map(|m| inventory_row(site, m)).collect::<Vec<_>>(),
    })
}

/// `inventory.csv` (RFC 4180: CRLF, quoted where needed): the same rows, lists joined
/// with `; `, a missing value empty.
pub fn inventory_csv(site: &Site) -> String {
    let mut out = String::new();
    let header: Vec<String> = INVENTORY_COLUMNS.iter().map(|c| csv_cell(c)).collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for model in &site.models {
        let row = inventory_row(site, model);
        let cells: Vec<String> = INVENTORY_COLUMNS
            .iter()
            .map(|column| {
                let text = match &row[*column] {
                    Value::Null => String::new(),
                    Value::String(text) => text.clone(),
                    Value::Array(items) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("; "),
                    other => other.to_string(),
                };
                csv_cell(&text)
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One CSV field. Card text is untrusted and the file is opened in spreadsheets: a value a
/// spreadsheet would run as a formula (leading `=`, `+`, `-`, `@`, tab or carriage return)
/// is prefixed with `'`, as OWASP advises; `inventory.json` keeps the values as they are.
fn csv_cell(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// The Model Card Toolkit's JSON (schema 0.0.2 field names) for one version.
pub fn model_card_toolkit(model: &Model, version: &Version) -> Value {
    let Some(card) = version.card.as_ref() else {
        return json!({
            "model_details": {"name": model.id, "version": {"name": version.display_label(), "date": links::date(version.commit.time)}},
        });
    };
    let sections = section_texts(&card.body);
    let find = |wanted: &[&str]| -> Vec<String> {
        sections
            .iter()
            .filter(|(title, _)| {
                let title = modelgate_core::card::normalize_title(title);
                wanted.iter().any(|w| title == *w)
            })
            .map(|(_, text)| text.clone())
            .filter(|text| !text.is_empty())
            .collect()
    };
    let described = |texts: Vec<String>| -> Vec<Value> {
        texts
            .into_iter()
            .map(|t| json!({"description": t}))
            .collect()
    };
    // The overview: the text before the first sub-section (under the title, if any).
    let overview = sections
        .iter()
        .take(2)
        .map(|(_, text)| text.as_str())
        .find(|text| !text.is_empty())
        .unwrap_or_default();
    let metrics: Vec<Value> = version
        .metrics
        .iter()
        .flatten()
        .map(|(name, value)| json!({"type": name, "value": value.to_string()}))
        .collect();
    json!({
        "model_details": {
            "name": model.id,
            "overview": overview,
            "owners": card.owners.iter().map(|o| json!({"name": o})).collect::<Vec<_>>(),
            "version": {
                "name": version.display_label(),
                "date": links::date(version.commit.time),
                "diff": version.commit.summary,
            },
            "licenses": card.license.iter().map(|l| json!({"identifier": l})).collect::<Vec<_>>(),
            "path": format!("models/{}", model.id),
        },
        "model_parameters": {
            "model_architecture": card.library_name.clone().unwrap_or_default(),
            "data": card.datasets.iter().map(|(role, path)| json!({
                "name": match role { Some(role) => format!("{role}: {path}"), None => path.clone() },
                "link": path,
                "sensitive": {"sensitive_data": card.sensitive_features},
            })).collect::<Vec<_>>(),
            "output_format": card.task.clone().unwrap_or_default(),
        },
        "quantitative_analysis": {"performance_metrics": metrics},
        "considerations": {
            "users": described(find(&["intended users", "users"])),
            "use_cases": described(find(&["intended use", "intended uses", "use cases", "uses"])),
            "limitations": described(find(&["limitations", "bias, risks, and limitations"])),
            "tradeoffs": described(find(&["tradeoffs", "trade-offs"])),
            "ethical_considerations": find(&["ethical considerations", "ethics"])
                .into_iter()
                .map(|t| json!({"name": t, "mitigation_strategy": ""}))
                .collect::<Vec<_>>(),
        },
    })
}

/// A Hub README: the card's own text (normalized line endings), which already is front
/// matter plus body; a card without front matter gets an empty block, as the Hub expects.
pub fn hub_readme(version: &Version) -> Option<String> {
    let card = version.card.as_ref()?;
    if card.front_matter_value.is_some() || card.text.starts_with("---\n") {
        return Some(card.text.clone());
    }
    Some(format!("---\n---\n{}", card.text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_are_stable() {
        let model = Model {
            id: "m".into(),
            slug: "m".into(),
            versions: Vec::new(),
            retired: true,
            records: Vec::new(),
            review: Default::default(),
        };
        assert_eq!(status(&model), ("retired", "Retired"));
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_disarmed() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a, \"b\""), "\"a, \"\"b\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("@acme/ml"), "'@acme/ml");
    }
}
