//! Evaluating a change `base..head` (DESIGN section 3): which models it touches and why,
//! their tiers, their checks, and the conclusion. Reads git objects only.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use crate::approvals::{PrFacts, Subject, conclude, judge};
use crate::card::Card;
use crate::checks::card::card_check;
use crate::checks::drift::{DriftCache, drift_check};
use crate::checks::fairness::fairness_check;
use crate::checks::regression::regression_check;
use crate::convention::{CardCache, ModelEntry, model_of, read_policy};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::git::{Repo, Snapshot};
use crate::lineage::Lineage;
use crate::path::RepoPath;
use crate::policy::{CheckKind, POLICY_PATH, Policy, unknown_tier_message};
use crate::report::{
    Change, Check, Conclusion, Escalation, EscalationReason, ModelReport, PolicyInfo,
    ProposedPolicy, REPORT_SCHEMA, Reason, Report, Status,
};
use crate::table::Format;

/// One evaluation of a change: the report without an approvals verdict, and what judging
/// approvals needs (the base branch's policy, the head commit's time). Judging is a pure step
/// on it, so a head is evaluated once however many sets of facts it is judged against.
#[derive(Debug, Clone)]
pub struct Evaluation {
    report: Report,
    policy: Policy,
    head_committed_at: Timestamp,
}

impl Evaluation {
    /// The report of the checks alone; its conclusion is `pass` or `fail`.
    pub fn report(&self) -> &Report {
        &self.report
    }

    pub fn into_report(self) -> Report {
        self.report
    }

    /// The base branch's policy, under which the change was evaluated.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The teams whose members the approvals verdict needs: those the pull request's tier
    /// requires and those that own a touched model. The bot resolves them through GitHub.
    pub fn teams_needed(&self) -> Vec<String> {
        let mut teams: Vec<String> = self
            .report
            .tier
            .as_deref()
            .and_then(|tier| self.policy.tier(tier))
            .map(|tier| tier.teams.clone())
            .unwrap_or_default();
        for owner in self.report.models.iter().flat_map(|m| &m.owners) {
            if owner.contains('/') {
                teams.push(owner.trim_start_matches('@').to_owned());
            }
        }
        teams.sort();
        teams.dedup();
        teams
    }

    /// The report with the approvals verdict for these facts and the conclusion it implies
    /// (`action_required` while approvals are missing).
    pub fn judge(&self, facts: &PrFacts) -> Result<Report> {
        let mut report = self.report.clone();
        judge_approvals(&mut report, &self.policy, facts, self.head_committed_at)?;
        Ok(report)
    }

    /// The report judged with `facts` when there are any, else the checks' report.
    pub fn conclude(self, facts: Option<&PrFacts>) -> Result<Report> {
        match facts {
            Some(facts) => self.judge(facts),
            None => Ok(self.report),
        }
    }
}

/// Evaluates the pull request that would merge `head_rev` into `base_rev` (DESIGN section
/// 3). Approvals are judged afterwards, with [`Evaluation::judge`].
pub fn evaluate(repo: &Repo, base_rev: &str, head_rev: &str) -> Result<Evaluation> {
    let base = repo.resolve(base_rev)?;
    let head = repo.resolve(head_rev)?;
    let merge_base = repo.merge_base(base, head)?;
    let base_tip = repo.snapshot(base)?;
    let before = repo.snapshot(merge_base)?;
    let after = repo.snapshot(head)?;

    // The base branch's policy governs, so a pull request cannot weaken its own evaluation.
    let (policy, policy_source) = read_policy(&base_tip)?;
    let changed = repo.changed_paths(&before, &after)?;
    tracing::debug!(changed = changed.len(), %merge_base, "diff read");

    let mut cards = CardCache::default();
    let models_before = cards.models(&before)?;
    let models_after = cards.models(&after)?;
    let lineage_after = Lineage::from_models(&models_after);
    lineage_after.check_acyclic()?;
    let lineage = Lineage::from_models(&models_before).union(&lineage_after);

    let touched = touched_models(&changed, &models_before, &models_after, &lineage);
    let mut warnings = Vec::new();
    for entry in models_after
        .values()
        .filter(|m| !touched.contains_key(&m.id))
    {
        if let Some(Err(problem)) = entry.card.as_deref() {
            warnings.push(format!(
                "untouched model {} has an unreadable card: {problem}",
                entry.id
            ));
        }
    }

    let mut models = Vec::with_capacity(touched.len());
    let mut drift_cache = DriftCache::default();
    for (id, touch) in touched {
        let at_base_tip = cards.card(&base_tip, &id)?;
        let card_before = readable_card(models_before.get(&id))?;
        let card_base_tip = match at_base_tip.as_deref() {
            Some(Ok(card)) => Some(card),
            _ => None,
        };
        let card_after = readable_card(models_after.get(&id))?;
        let change = touch.change(
            models_before.contains_key(&id),
            models_after.contains_key(&id),
        );

        let tier_base = match (card_before, card_base_tip) {
            (None, None) if !models_before.contains_key(&id) => None,
            _ => {
                let before_tier = tier_of(card_before, &policy)?;
                let tip_tier = tier_of(card_base_tip, &policy)?;
                policy
                    .strictest([before_tier.as_str(), tip_tier.as_str()])
                    .map(str::to_owned)
            }
        };
        let tier_head = if models_after.contains_key(&id) {
            Some(tier_of(card_after, &policy)?)
        } else {
            None
        };
        let model_tier = policy
            .strictest(tier_base.iter().chain(tier_head.iter()).map(String::as_str))
            .unwrap_or(&policy.default_tier)
            .to_owned();

        let data_card = card_after.or(card_before);
        let drift_policy = data_card
            .and_then(Card::drift_policy)
            .unwrap_or(&policy.drift);
        let mut drift_reports = Vec::new();
        for path in changed_datasets(&id, &lineage, &models_before, &models_after, &changed) {
            drift_reports.push(drift_cache.dataset(&before, &after, &path, drift_policy)?);
        }
        let fairness = if change == Change::Removed {
            Check::new(CheckKind::Fairness, Status::Skipped, "model removed")
        } else {
            fairness_check(&after, &id, card_after, &policy)?
        };
        let checks = vec![
            regression_check(
                &before,
                &after,
                &id,
                change,
                card_before,
                card_after,
                &policy,
            )?,
            drift_check(drift_reports),
            fairness,
            card_check(&after, &id, change, card_after, &model_tier, &policy),
        ];
        models.push(ModelReport {
            id,
            change,
            reasons: touch.reasons,
            version_base: card_before.and_then(Card::version),
            version_head: card_after.and_then(Card::version),
            owners: card_after
                .or(card_before)
                .map(|c| c.front_matter.owners.clone())
                .unwrap_or_default(),
            tier_base,
            tier_head,
            checks,
        });
    }

    let touched_tier = policy
        .strictest(
            models
                .iter()
                .flat_map(|m| m.tier_base.iter().chain(m.tier_head.iter()))
                .map(String::as_str),
        )
        .map(str::to_owned);
    let escalation = touched_tier
        .as_deref()
        .and_then(|tier| escalate(&policy, tier, &models));
    let tier = escalation.as_ref().map(|e| e.to.clone()).or(touched_tier);
    let block_on: Vec<CheckKind> = tier
        .as_deref()
        .and_then(|t| policy.tier(t))
        .map(|t| t.block_on.clone())
        .unwrap_or_default();
    for check in models.iter_mut().flat_map(|m| m.checks.iter_mut()) {
        check.blocking = check.status == Status::Fail && block_on.contains(&check.kind);
    }
    let proposed = if changed.iter().any(|p| p.as_str() == POLICY_PATH) {
        Some(proposed_policy(&after, &models)?)
    } else {
        None
    };

    let mut report = Report {
        schema: REPORT_SCHEMA,
        base: base.to_string(),
        head: head.to_string(),
        merge_base: merge_base.to_string(),
        base_ref: base_rev.to_owned(),
        head_ref: head_rev.to_owned(),
        conclusion: Conclusion::Pass,
        tier,
        escalation,
        policy: PolicyInfo {
            source: policy_source,
            block_on,
            proposed,
        },
        changed_files: changed.len(),
        models,
        warnings,
        approvals: None,
    };
    if !report.blocking_failures().is_empty() {
        report.conclusion = Conclusion::Fail;
    }
    let head_committed_at = commit_time(repo, head)?;
    Ok(Evaluation {
        report,
        policy,
        head_committed_at,
    })
}

fn commit_time(repo: &Repo, commit: git2::Oid) -> Result<Timestamp> {
    let seconds = repo
        .git()
        .find_commit(commit)
        .map_err(Error::git("reading the head commit"))?
        .committer()
        .when()
        .seconds();
    Timestamp::from_second(seconds)
        .map_err(|e| Error::PrFacts(format!("head commit time out of range: {e}")))
}

/// Raises the tier when a failing check's kind names a stricter tier in `escalate`.
fn escalate(policy: &Policy, tier: &str, models: &[ModelReport]) -> Option<Escalation> {
    let mut to = tier.to_owned();
    let mut reasons = Vec::new();
    for model in models {
        for check in model.checks.iter().filter(|c| c.status == Status::Fail) {
            let Some(target) = policy.escalate.get(&check.kind) else {
                continue;
            };
            if policy.rank(target) > policy.rank(tier) {
                reasons.push(EscalationReason {
                    model: model.id.clone(),
                    check: check.kind,
                    to: target.clone(),
                });
                if policy.rank(target) > policy.rank(&to) {
                    to = target.clone();
                }
            }
        }
    }
    (to != tier).then(|| Escalation {
        from: tier.to_owned(),
        to,
        reasons,
    })
}

/// What the policy proposed at head would require of this change.
fn proposed_policy(after: &Snapshot<'_>, models: &[ModelReport]) -> Result<ProposedPolicy> {
    let invalid = |errors: Vec<String>| ProposedPolicy {
        valid: false,
        errors,
        tier: None,
        approvals: None,
        teams: Vec::new(),
        block_on: Vec::new(),
    };
    let proposed = match read_policy(after) {
        Ok((policy, _)) => policy,
        Err(Error::Invalid(problems)) => {
            return Ok(invalid(problems.iter().map(ToString::to_string).collect()));
        }
        Err(other) => return Err(other),
    };
    let known = |tier: &String| {
        if proposed.rank(tier).is_some() {
            tier.clone()
        } else {
            proposed.default_tier.clone()
        }
    };
    let tiers: Vec<String> = models
        .iter()
        .flat_map(|m| m.tier_base.iter().chain(m.tier_head.iter()))
        .map(known)
        .collect();
    let tier = proposed
        .strictest(tiers.iter().map(String::as_str))
        .map(str::to_owned);
    let rules = tier.as_deref().and_then(|t| proposed.tier(t));
    Ok(ProposedPolicy {
        valid: true,
        errors: Vec::new(),
        approvals: rules.map(|r| r.approvals),
        teams: rules.map(|r| r.teams.clone()).unwrap_or_default(),
        block_on: rules.map(|r| r.block_on.clone()).unwrap_or_default(),
        tier,
    })
}

/// Adds the approvals verdict and the conclusion it implies.
fn judge_approvals(
    report: &mut Report,
    policy: &Policy,
    facts: &PrFacts,
    head_committed_at: Timestamp,
) -> Result<()> {
    if let Some(sha) = &facts.head_sha
        && !report.head.starts_with(sha.as_str())
    {
        return Err(Error::PrFacts(format!(
            "the facts are for head {sha}, but the evaluated head is {}",
            report.head
        )));
    }
    let head_time = match &facts.head_pushed_at {
        Some(text) => text.parse::<Timestamp>().map_err(|e| {
            Error::PrFacts(format!(
                "head_pushed_at `{text}` is not an RFC 3339 time: {e}"
            ))
        })?,
        None => head_committed_at,
    };
    let tier = report
        .tier
        .clone()
        .unwrap_or_else(|| policy.default_tier.clone());
    let blocking = report.blocking_failures();
    let subject = Subject {
        tier: &tier,
        escalated_from: report.escalation.as_ref().map(|e| e.from.as_str()),
        models: &report.models,
        blocking: &blocking,
        head_sha: &report.head,
        head_time,
    };
    let approvals = judge(policy, facts, &subject);
    if !approvals.accepted_risks.is_empty() {
        for check in report.models.iter_mut().flat_map(|m| m.checks.iter_mut()) {
            check.accepted = check.blocking;
        }
    }
    report.conclusion = conclude(!report.blocking_failures().is_empty(), &approvals);
    report.approvals = Some(approvals);
    Ok(())
}

/// Why a model is touched, gathered before its change kind is known.
#[derive(Debug, Default)]
struct Touch {
    folder_changed: bool,
    reasons: Vec<Reason>,
}

impl Touch {
    fn change(&self, existed: bool, exists: bool) -> Change {
        match (self.folder_changed, existed, exists) {
            (false, _, _) => Change::Impacted,
            (true, false, _) => Change::Added,
            (true, true, false) => Change::Removed,
            (true, true, true) => Change::Modified,
        }
    }
}

fn touched_models(
    changed: &[RepoPath],
    before: &BTreeMap<String, ModelEntry>,
    after: &BTreeMap<String, ModelEntry>,
    lineage: &Lineage,
) -> BTreeMap<String, Touch> {
    let mut touched: BTreeMap<String, Touch> = BTreeMap::new();
    for path in changed {
        if let Some(model) = model_of(path)
            && (before.contains_key(model) || after.contains_key(model))
        {
            let touch = touched.entry(model.to_owned()).or_default();
            if !touch.folder_changed {
                touch.folder_changed = true;
                touch.reasons.push(Reason::FolderChanged);
            }
        }
    }
    let changed: BTreeSet<&RepoPath> = changed.iter().collect();
    for entry in before.values().chain(after.values()) {
        let Some(card) = entry.parsed_card() else {
            continue;
        };
        for dataset in card.datasets() {
            if changed.contains(&dataset.path) {
                let reason = Reason::DatasetChanged(dataset.path.clone());
                let touch = touched.entry(entry.id.clone()).or_default();
                if !touch.reasons.contains(&reason) {
                    touch.reasons.push(reason);
                }
            }
        }
    }
    let seeds: BTreeSet<String> = touched.keys().cloned().collect();
    for (model, via) in lineage.downstream(&seeds) {
        let touch = touched.entry(model).or_default();
        touch
            .reasons
            .extend(via.into_iter().map(Reason::UpstreamTouched));
    }
    touched
}

/// The card of a model folder, or the error that stops the evaluation: a touched model
/// whose card cannot be read cannot be governed.
fn readable_card(entry: Option<&ModelEntry>) -> Result<Option<&Card>> {
    match entry.and_then(|e| e.card.as_deref()) {
        None => Ok(None),
        Some(Ok(card)) => Ok(Some(card)),
        Some(Err(problem)) => Err(Error::invalid(problem.clone())),
    }
}

/// A card's tier, the policy's default when it names none; an unknown name is an error.
fn tier_of(card: Option<&Card>, policy: &Policy) -> Result<String> {
    let Some(card) = card else {
        return Ok(policy.default_tier.clone());
    };
    match card.risk_tier() {
        None => Ok(policy.default_tier.clone()),
        Some(tier) if policy.rank(&tier.value).is_some() => Ok(tier.value.clone()),
        Some(tier) => Err(Error::invalid(Diagnostic::at(
            &card.file,
            tier.referenced.line() + 1,
            tier.referenced.column(),
            unknown_tier_message("governance.risk_tier", &tier.value, &policy.tiers),
        ))),
    }
}

/// Changed datasets (with a data format) named by the model's card or by an upstream
/// model's card, at either revision: a change to them reaches this model.
fn changed_datasets(
    id: &str,
    lineage: &Lineage,
    before: &BTreeMap<String, ModelEntry>,
    after: &BTreeMap<String, ModelEntry>,
    changed: &[RepoPath],
) -> Vec<RepoPath> {
    let mut paths: Vec<RepoPath> = Vec::new();
    for model in std::iter::once(id.to_owned()).chain(lineage.ancestors(id)) {
        for entry in [before.get(&model), after.get(&model)]
            .into_iter()
            .flatten()
        {
            let Some(card) = entry.parsed_card() else {
                continue;
            };
            for dataset in card.datasets() {
                if changed.contains(&dataset.path)
                    && Format::of(dataset.path.as_str()).is_some()
                    && !paths.contains(&dataset.path)
                {
                    paths.push(dataset.path);
                }
            }
        }
    }
    paths
}
