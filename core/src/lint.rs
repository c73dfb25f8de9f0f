//! `modelgate lint`: every card, metrics file and the policy at one revision, with every
//! problem listed, not only the first.

use serde::Serialize;

use crate::card::Card;
use crate::checks::card::review_card;
use crate::convention::{CardCache, metrics_path, read_metrics, read_policy};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::git::Repo;
use crate::lineage::Lineage;
use crate::metrics_file::Metrics;
use crate::policy::{Policy, unknown_tier_message};

#[derive(Debug, Clone, Serialize)]
pub struct LintReport {
    pub rev: String,
    pub commit: String,
    pub models: usize,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

impl LintReport {
    /// One line per problem, then the count: what `modelgate lint` prints.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for error in &self.errors {
            out.push_str(&format!("error: {error}\n"));
        }
        for warning in &self.warnings {
            out.push_str(&format!("warning: {warning}\n"));
        }
        out.push_str(&format!(
            "{} model(s) at {}: {} error(s), {} warning(s)\n",
            self.models,
            self.rev,
            self.errors.len(),
            self.warnings.len()
        ));
        out
    }
}

/// Results of the card's `model-index` that metrics.json gives another value for. modelgate
/// judges metrics.json; the card shows the other value to every reader on the Hub.
fn index_disagreements(card: &Card, metrics_file: &str, metrics: &Metrics) -> Vec<Diagnostic> {
    card.named_model_index()
        .into_iter()
        .filter_map(|(name, result)| {
            let (Some(in_card), Some(in_file)) = (result.value, metrics.get(&name)) else {
                return None;
            };
            let differs = (in_card - in_file).abs() > 1e-9 * in_file.abs().max(1.0);
            differs.then(|| {
                Diagnostic::at(
                    &card.file,
                    result.line,
                    result.column,
                    format!(
                        "model-index gives {name} = {in_card} but {metrics_file} gives {in_file}; expected the same value in both (regressions are judged on {metrics_file})"
                    ),
                )
            })
        })
        .collect()
}

pub fn lint(repo: &Repo, rev: &str) -> Result<LintReport> {
    let commit = repo.resolve(rev)?;
    let snapshot = repo.snapshot(commit)?;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();

    let policy = match read_policy(&snapshot) {
        Ok((policy, _)) => policy,
        Err(Error::Invalid(problems)) => {
            errors.extend(problems);
            Policy::default()
        }
        Err(other) => return Err(other),
    };

    let models = CardCache::default().models(&snapshot)?;
    for (id, entry) in &models {
        match entry.card.as_deref() {
            None => errors.push(Diagnostic::whole_file(
                format!("models/{id}"),
                "model folder has no card.md; expected models/<id>/card.md",
            )),
            Some(Err(problem)) => errors.push(problem.clone()),
            Some(Ok(card)) => {
                let tier = match card.risk_tier() {
                    None => policy.default_tier.clone(),
                    Some(tier) if policy.rank(&tier.value).is_some() => tier.value.clone(),
                    Some(tier) => {
                        errors.push(Diagnostic::at(
                            &card.file,
                            card.file_line(tier.referenced.line()),
                            tier.referenced.column(),
                            unknown_tier_message(
                                "governance.risk_tier",
                                &tier.value,
                                &policy.tiers,
                            ),
                        ));
                        policy.default_tier.clone()
                    }
                };
                let review = review_card(card, &tier, &policy, &snapshot);
                errors.extend(review.errors);
                warnings.extend(review.warnings);
            }
        }
        match read_metrics(&snapshot, id) {
            Ok(Some(metrics)) => {
                if let Some(card) = entry.parsed_card() {
                    warnings.extend(index_disagreements(card, &metrics_path(id), &metrics));
                }
            }
            Ok(None) => {}
            Err(Error::Invalid(problems)) => errors.extend(problems),
            Err(Error::NotAFile { .. }) => {
                errors.push(Diagnostic::whole_file(metrics_path(id), "expected a file"));
            }
            Err(other) => return Err(other),
        }
    }
    if let Err(Error::LineageCycle { cycle }) = Lineage::from_models(&models).check_acyclic() {
        let first = cycle.first().cloned().unwrap_or_default();
        errors.push(Diagnostic::whole_file(
            crate::convention::card_path(&first),
            format!("lineage cycle through base_model: {}", cycle.join(" -> ")),
        ));
    }
    let order = |d: &Diagnostic| (d.file.clone(), d.line, d.column);
    errors.sort_by_key(order);
    warnings.sort_by_key(order);
    Ok(LintReport {
        rev: rev.to_owned(),
        commit: commit.to_string(),
        models: models.len(),
        errors,
        warnings,
    })
}
