//! The evidence page of an audit record: the report kept with it, shown as the pull request
//! saw it (verdict, every check with its metrics, rules, intervals, drift and fairness
//! tables, approvals and accepted risks), and the pull-request facts it judged.
//!
//! The report is read back as the JSON document it is (`modelgate.report/v1`, whose fields
//! are only ever added): it comes from a git note anyone with push access can edit, so
//! every field is optional here and every text is escaped by the template.

use modelgate_core::render::number;
use serde_json::{Value, json};

/// The page's `report` context, from the kept report's JSON.
pub fn report_context(report: &Value) -> Value {
    let texts = |value: &Value| -> Vec<String> {
        value.as_array().into_iter().flatten().map(text).collect()
    };
    let approvals = &report["approvals"];
    json!({
        "conclusion": report["conclusion"].as_str(),
        "tier": report["tier"].as_str(),
        "base": report["base"].as_str(),
        "head": report["head"].as_str(),
        "base_ref": report["base_ref"].as_str(),
        "head_ref": report["head_ref"].as_str(),
        "merge_base": report["merge_base"].as_str(),
        "changed_files": report["changed_files"].as_u64(),
        "block_on": texts(&report["policy"]["block_on"]),
        "policy": policy_source(&report["policy"]["source"]),
        "escalation": report["escalation"].as_object().map(|_| json!({
            "from": report["escalation"]["from"].as_str(),
            "to": report["escalation"]["to"].as_str(),
            "reasons": texts(&report["escalation"]["reasons"]),
        })),
        "warnings": texts(&report["warnings"]),
        "approvals": approvals.as_object().map(|_| json!({
            "tier": approvals["tier"].as_str(),
            "satisfied": approvals["satisfied"] == true,
            "requirements": items(&approvals["requirements"]).map(|r| json!({
                "description": text(&r["description"]),
                "met": r["met"] == true,
                "by": texts(&r["by"]),
            })).collect::<Vec<_>>(),
            "approvers": items(&approvals["approvers"]).map(|a| text(&a["login"])).collect::<Vec<_>>(),
            "accepted_risks": items(&approvals["accepted_risks"]).map(|r| json!({
                "by": text(&r["by"]),
                "reason": text(&r["reason"]),
                "checks": texts(&r["checks"]),
            })).collect::<Vec<_>>(),
            "ignored": texts(&approvals["ignored"]),
        })),
        "models": items(&report["models"]).map(model_context).collect::<Vec<_>>(),
    })
}

/// The entries under `field` (`metrics`, `features`) of a model's checks of `kind` in a
/// kept report.
pub fn check_entries<'r>(
    report: &'r Value,
    model: &'r str,
    kind: &'r str,
    field: &'r str,
) -> impl Iterator<Item = &'r Value> + 'r {
    items(&report["models"])
        .filter(move |m| m["id"] == model)
        .flat_map(|m| items(&m["checks"]))
        .filter(move |c| c["kind"] == kind)
        .flat_map(move |c| items(&c[field]))
}

/// A model's metric as the kept report's regression check judged it.
pub fn judged_metric<'r>(report: &'r Value, model: &'r str, metric: &str) -> Option<&'r Value> {
    check_entries(report, model, "regression", "metrics").find(|m| m["name"] == metric)
}

/// The page's `facts` context: who wrote and reviewed the pull request, as given.
pub fn facts_context(facts: &Value) -> Value {
    json!({
        "number": facts["number"].as_u64(),
        "author": facts["author"].as_str(),
        "head_sha": facts["head_sha"].as_str(),
        "reviews": items(&facts["reviews"]).map(|r| json!({
            "id": r["id"].as_u64(),
            "user": r["user"]["login"].as_str().unwrap_or("a deleted account"),
            "state": text(&r["state"]),
            "commit": r["commit_id"].as_str(),
            "submitted_at": r["submitted_at"].as_str(),
        })).collect::<Vec<_>>(),
        "comments": items(&facts["comments"]).map(|c| json!({
            "user": c["user"]["login"].as_str().unwrap_or("a deleted account"),
            "created_at": text(&c["created_at"]),
            "body": text(&c["body"]),
        })).collect::<Vec<_>>(),
        "teams": facts["team_members"].as_object().map(|teams| teams.iter().map(|(team, members)| json!({
            "team": team,
            "members": items(members).map(text).collect::<Vec<_>>(),
        })).collect::<Vec<_>>()).unwrap_or_default(),
    })
}

fn items(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

/// A scalar as text; a string as it is, anything else as JSON, `null` as nothing.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn num(value: &Value) -> String {
    number(value.as_f64())
}

fn policy_source(source: &Value) -> String {
    match (source["kind"].as_str(), source["commit"].as_str()) {
        (Some("file"), Some(commit)) => format!(
            "{} at {commit}",
            source["path"].as_str().unwrap_or(".github/modelgate.yml")
        ),
        (Some("defaults"), _) => "the built-in defaults".to_owned(),
        _ => "not stated".to_owned(),
    }
}

fn model_context(model: &Value) -> Value {
    json!({
        "id": text(&model["id"]),
        "change": text(&model["change"]),
        "reasons": items(&model["reasons"]).map(text).collect::<Vec<_>>(),
        "tier_base": model["tier_base"].as_str(),
        "tier_head": model["tier_head"].as_str(),
        "version_base": model["version_base"].as_str(),
        "version_head": model["version_head"].as_str(),
        "owners": items(&model["owners"]).map(text).collect::<Vec<_>>(),
        "checks": items(&model["checks"]).map(check_context).collect::<Vec<_>>(),
    })
}

fn check_context(check: &Value) -> Value {
    json!({
        "kind": text(&check["kind"]),
        "status": text(&check["status"]),
        "summary": text(&check["summary"]),
        "blocking": check["blocking"] == true,
        "accepted": check["accepted"] == true,
        "findings": items(&check["findings"]).map(text).collect::<Vec<_>>(),
        "metrics": items(&check["metrics"]).map(metric_context).collect::<Vec<_>>(),
        "sections": items(&check["sections"]).map(|s| json!({
            "title": text(&s["title"]),
            "present": s["present"] == true,
            "non_empty": s["non_empty"] == true,
        })).collect::<Vec<_>>(),
        "datasets": items(&check["datasets"]).map(dataset_context).collect::<Vec<_>>(),
        "features": items(&check["features"]).map(feature_context).collect::<Vec<_>>(),
    })
}

/// The bounds of a metric's rule in words: `min 0.75, max_drop 0.01 (card)`.
pub fn rule_text(rule: &Value) -> String {
    const BOUNDS: [&str; 6] = [
        "min",
        "max",
        "max_drop",
        "max_drop_pct",
        "max_rise",
        "max_rise_pct",
    ];
    let bounds: Vec<String> = BOUNDS
        .iter()
        .filter_map(|bound| rule[*bound].as_f64().map(|v| format!("{bound} {v}")))
        .collect();
    let bounds = if bounds.is_empty() {
        "no bound".to_owned()
    } else {
        bounds.join(", ")
    };
    match rule["source"].as_str() {
        Some(source) => format!("{bounds} ({source})"),
        None => bounds,
    }
}

fn metric_context(metric: &Value) -> Value {
    let interval = match (metric["ci_low"].as_f64(), metric["ci_high"].as_f64()) {
        (Some(low), Some(high)) => Some(format!(
            "[{}, {}]{}",
            number(Some(low)),
            number(Some(high)),
            metric["resamples"]
                .as_u64()
                .map(|n| format!(", {n} resamples"))
                .unwrap_or_default()
        )),
        _ => None,
    };
    json!({
        "name": text(&metric["name"]),
        "base": num(&metric["base"]),
        "head": num(&metric["head"]),
        "delta": metric["delta"].as_f64().map(|d| format!("{d:+.4}")),
        "delta_pct": metric["delta_pct"].as_f64().map(|p| format!("{p:+.2}%")),
        "direction": text(&metric["direction"]),
        "rule": rule_text(&metric["rule"]),
        "status": text(&metric["status"]),
        "note": text(&metric["note"]),
        "source": text(&metric["source"]),
        "interval": interval,
    })
}

fn dataset_context(dataset: &Value) -> Value {
    json!({
        "path": text(&dataset["path"]),
        "change": text(&dataset["change"]),
        "compared": dataset.get("dataset_drift").is_some(),
        "dataset_drift": dataset["dataset_drift"] == true,
        "drifted_columns": dataset["drifted_columns"].as_u64(),
        "drift_share": dataset["drift_share"].as_f64(),
        "schema_changes": items(&dataset["schema_changes"]).map(text).collect::<Vec<_>>(),
        "columns": items(&dataset["columns"]).map(|c| json!({
            "name": text(&c["name"]),
            "kind": text(&c["kind"]),
            "stattest": c["stattest"].as_str().unwrap_or("not tested"),
            "statistic": num(&c["statistic"]),
            "p_value": num(&c["p_value"]),
            "threshold": num(&c["threshold"]),
            "drifted": c["drifted"] == true,
        })).collect::<Vec<_>>(),
        "unavailable": items(&dataset["unavailable"]).map(text).collect::<Vec<_>>(),
    })
}

fn feature_context(feature: &Value) -> Value {
    let gaps: Vec<Value> = feature["gaps"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, gap)| {
            json!({
                "name": name,
                "value": num(&gap["value"]),
                "limit": gap["limit"].as_f64().map(|l| format!("{} {l}", text(&gap["limit_kind"]))),
                "status": text(&gap["status"]),
            })
        })
        .collect();
    let rate = |value: &Value| value.as_f64().map(|v| number(Some(v)));
    json!({
        "feature": text(&feature["feature"]),
        "status": text(&feature["status"]),
        "summary": text(&feature["summary"]),
        "gaps": gaps,
        "groups": items(&feature["groups"]).map(|g| json!({
            "value": text(&g["value"]),
            "size": g["size"].as_u64(),
            "judged": g["judged"] == true,
            "selection_rate": rate(&g["selection_rate"]),
            "tpr": rate(&g["tpr"]),
            "fpr": rate(&g["fpr"]),
            "mae": rate(&g["mae"]),
        })).collect::<Vec<_>>(),
    })
}
