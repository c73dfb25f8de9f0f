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
    Change, Check, Conclusion, Escalation, EscalationReason, Finding, ModelReport, PolicyInfo,
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

    let stage_inputs = StageInputs::read(&before, &after, &models_before, &models_after)?;
    let changed_data = changed_data(
        &before,
        &after,
        &models_before,
        &models_after,
        &stage_inputs,
    )?;
    let touched = touched_models(
        &changed,
        &changed_data,
        &models_before,
        &models_after,
        &stage_inputs,
        &lineage,
    );
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

    let inputs = Inputs {
        policy: &policy,
        base_tip: &base_tip,
        before: &before,
        after: &after,
        models_before: &models_before,
        models_after: &models_after,
        lineage: &lineage,
        stage_inputs: &stage_inputs,
        changed_data: &changed_data,
    };
    let mut models = Vec::with_capacity(touched.len());
    let mut drift_cache = DriftCache::default();
    for (id, touch) in touched {
        let change = touch.change(
            models_before.contains_key(&id),
            models_after.contains_key(&id),
        );
        let judged = match judge_model(&inputs, &mut cards, &mut drift_cache, &id, change) {
            Ok(judged) => judged,
            // A model that cannot be read cannot be governed: its card check fails on every
            // tier, and the other models are still evaluated.
            Err(Error::Invalid(problems)) => unreadable_model(&inputs, &id, problems),
            Err(other) => return Err(other),
        };
        let card_before = models_before.get(&id).and_then(ModelEntry::parsed_card);
        let card_after = models_after.get(&id).and_then(ModelEntry::parsed_card);
        models.push(ModelReport {
            change,
            reasons: touch.reasons,
            version_base: card_before.and_then(Card::version),
            version_head: card_after.and_then(Card::version),
            owners: card_after
                .or(card_before)
                .map(|c| c.front_matter.owners.clone())
                .unwrap_or_default(),
            tier_base: judged.tier_base,
            tier_head: judged.tier_head,
            checks: judged.checks,
            id,
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
        let tier_blocks = block_on.contains(&check.kind) || check.blocks_on_every_tier;
        if check.status == Status::Fail
            && !tier_blocks
            && let Some(status) = check.status_when_not_blocking
        {
            check.status = status;
        }
        check.blocking = check.status == Status::Fail && tier_blocks;
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

/// What evaluating one touched model reads, shared by all of them.
struct Inputs<'a, 'r> {
    policy: &'a Policy,
    base_tip: &'a Snapshot<'r>,
    before: &'a Snapshot<'r>,
    after: &'a Snapshot<'r>,
    models_before: &'a BTreeMap<String, ModelEntry>,
    models_after: &'a BTreeMap<String, ModelEntry>,
    lineage: &'a Lineage,
    stage_inputs: &'a StageInputs,
    changed_data: &'a BTreeSet<RepoPath>,
}

/// A touched model's tiers and checks.
struct JudgedModel {
    tier_base: Option<String>,
    tier_head: Option<String>,
    checks: Vec<Check>,
}

/// The tiers and checks of one touched model. `Error::Invalid` when its card, tier or
/// metrics cannot be read.
fn judge_model(
    inputs: &Inputs<'_, '_>,
    cards: &mut CardCache,
    drift_cache: &mut DriftCache,
    id: &str,
    change: Change,
) -> Result<JudgedModel> {
    let policy = inputs.policy;
    let at_base_tip = cards.card(inputs.base_tip, id)?;
    // A card broken at base may be what the pull request fixes: the head card must be
    // readable, and the base's unknown tier counts as the strictest.
    let entry_before = inputs.models_before.get(id);
    let card_before = entry_before.and_then(ModelEntry::parsed_card);
    let broken_before = entry_before.is_some_and(|e| matches!(e.card.as_deref(), Some(Err(_))));
    let card_base_tip = match at_base_tip.as_deref() {
        Some(Ok(card)) => Some(card),
        _ => None,
    };
    let card_after = readable_card(inputs.models_after.get(id))?;
    let existed = inputs.models_before.contains_key(id);
    let exists = inputs.models_after.contains_key(id);

    let tier_base = match (card_before, card_base_tip) {
        _ if broken_before => policy.tiers.keys().last().cloned(),
        (None, None) if !existed => None,
        _ => {
            let before_tier = tier_of(card_before, policy)?;
            let tip_tier = tier_of(card_base_tip, policy)?;
            policy
                .strictest([before_tier.as_str(), tip_tier.as_str()])
                .map(str::to_owned)
        }
    };
    let tier_head = if exists {
        Some(tier_of(card_after, policy)?)
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
    // The card's row identifier (`governance.id`) is not a feature to test for drift.
    let identifiers: Vec<String> = data_card
        .and_then(Card::governance)
        .and_then(|governance| governance.id.clone())
        .into_iter()
        .collect();
    let mut drift_reports = Vec::new();
    for path in changed_datasets(id, inputs) {
        drift_reports.push(drift_cache.dataset(
            inputs.before,
            inputs.after,
            &path,
            drift_policy,
            &identifiers,
        )?);
    }
    let fairness = if change == Change::Removed {
        Check::new(CheckKind::Fairness, Status::Skipped, "model removed")
    } else {
        unless_unavailable(
            CheckKind::Fairness,
            fairness_check(inputs.after, id, card_after, policy),
        )?
    };
    let regression = regression_check(
        inputs.before,
        inputs.after,
        id,
        change,
        card_before,
        card_after,
        policy,
    );
    let checks = vec![
        unless_unavailable(CheckKind::Regression, regression)?,
        drift_check(drift_reports),
        fairness,
        card_check(inputs.after, id, change, card_after, &model_tier, policy),
    ];
    Ok(JudgedModel {
        tier_base,
        tier_head,
        checks,
    })
}

/// A check whose content could not be read is reported as not evaluated, never passed.
fn unless_unavailable(kind: CheckKind, check: Result<Check>) -> Result<Check> {
    match check {
        Err(Error::Unavailable(unavailable)) => Ok(Check::not_evaluated(kind, *unavailable)),
        other => other,
    }
}

/// A touched model whose card, tier or metrics cannot be read: a failing card check with
/// every problem at its place, blocking on every tier; the other checks are not run. Its
/// tiers are those its readable cards give.
fn unreadable_model(inputs: &Inputs<'_, '_>, id: &str, problems: Vec<Diagnostic>) -> JudgedModel {
    let card_before = inputs
        .models_before
        .get(id)
        .and_then(ModelEntry::parsed_card);
    let card_after = inputs
        .models_after
        .get(id)
        .and_then(ModelEntry::parsed_card);
    let readable_tier = |card: Option<&Card>| tier_of(Some(card?), inputs.policy).ok();
    let mut card = Check::new(
        CheckKind::Card,
        Status::Fail,
        format!(
            "models/{id} cannot be read ({} problem(s)), so it cannot be governed",
            problems.len()
        ),
    );
    card.blocks_on_every_tier = true;
    card.findings = problems.into_iter().map(Finding::Diagnostic).collect();
    let not_run = |kind| {
        Check::new(
            kind,
            Status::Skipped,
            "not run: the model's card or metrics cannot be read",
        )
    };
    JudgedModel {
        tier_base: readable_tier(card_before),
        tier_head: readable_tier(card_after),
        checks: vec![
            not_run(CheckKind::Regression),
            not_run(CheckKind::Drift),
            not_run(CheckKind::Fairness),
            card,
        ],
    }
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
    changed_data: &BTreeSet<RepoPath>,
    before: &BTreeMap<String, ModelEntry>,
    after: &BTreeMap<String, ModelEntry>,
    stage_inputs: &StageInputs,
    lineage: &Lineage,
) -> BTreeMap<String, Touch> {
    let mut touched: BTreeMap<String, Touch> = BTreeMap::new();
    let mut add = |model: &str, reason: Reason| {
        let touch = touched.entry(model.to_owned()).or_default();
        if !touch.reasons.contains(&reason) {
            touch.reasons.push(reason);
        }
    };
    for path in changed {
        if let Some(model) = model_of(path)
            && (before.contains_key(model) || after.contains_key(model))
        {
            add(model, Reason::FolderChanged);
        }
    }
    for entry in before.values().chain(after.values()) {
        let Some(card) = entry.parsed_card() else {
            continue;
        };
        for dataset in card.datasets() {
            if changed_data.contains(&dataset.path) {
                add(&entry.id, Reason::DatasetChanged(dataset.path.clone()));
            }
        }
    }
    for (model, inputs) in &stage_inputs.by_model {
        for (stage, path) in inputs {
            if changed_data.contains(path) {
                add(
                    model,
                    Reason::StageInputChanged {
                        path: path.clone(),
                        stage: stage.clone(),
                    },
                );
            }
        }
    }
    for touch in touched.values_mut() {
        touch.folder_changed = touch.reasons.contains(&Reason::FolderChanged);
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

/// The data files that models read through DVC stages: a model whose folder holds outputs
/// of a `dvc.lock` stage depends on that stage's dependencies (at either revision).
#[derive(Debug, Default)]
struct StageInputs {
    /// Model id to `(stage, dependency)`.
    by_model: BTreeMap<String, Vec<(String, RepoPath)>>,
}

impl StageInputs {
    fn read(
        before: &Snapshot<'_>,
        after: &Snapshot<'_>,
        models_before: &BTreeMap<String, ModelEntry>,
        models_after: &BTreeMap<String, ModelEntry>,
    ) -> Result<StageInputs> {
        let mut inputs = StageInputs::default();
        for snapshot in [before, after] {
            for stage in snapshot.dvc_stages()? {
                let models: BTreeSet<String> = stage
                    .outs
                    .iter()
                    .filter_map(|out| RepoPath::parse(out).ok())
                    .filter_map(|out| model_of(&out).map(str::to_owned))
                    .filter(|id| models_before.contains_key(id) || models_after.contains_key(id))
                    .collect();
                for model in models {
                    let list = inputs.by_model.entry(model).or_default();
                    for dep in stage.deps.iter().filter_map(|d| RepoPath::parse(d).ok()) {
                        let entry = (stage.name.clone(), dep);
                        if !list.contains(&entry) {
                            list.push(entry);
                        }
                    }
                }
            }
        }
        Ok(inputs)
    }

    fn of(&self, model: &str) -> impl Iterator<Item = &RepoPath> {
        self.by_model
            .get(model)
            .into_iter()
            .flatten()
            .map(|(_, path)| path)
    }
}

/// The data files models read (named by cards, or inputs of their DVC stages) whose version
/// differs between the revisions: in git, the blob (an LFS pointer's names its object); for
/// DVC, the md5 its records give, so a changed `.dvc` file or `dvc.lock` entry is a change.
fn changed_data(
    before: &Snapshot<'_>,
    after: &Snapshot<'_>,
    models_before: &BTreeMap<String, ModelEntry>,
    models_after: &BTreeMap<String, ModelEntry>,
    stage_inputs: &StageInputs,
) -> Result<BTreeSet<RepoPath>> {
    let mut named: BTreeSet<RepoPath> = models_before
        .values()
        .chain(models_after.values())
        .filter_map(ModelEntry::parsed_card)
        .flat_map(|card| card.datasets().into_iter().map(|d| d.path))
        .collect();
    named.extend(
        stage_inputs
            .by_model
            .values()
            .flatten()
            .map(|(_, p)| p.clone()),
    );
    // Content given for a path no card names would be read by nothing: refused, so no one
    // believes it was checked.
    if let Some(path) = after.artifact_paths().find(|path| !named.contains(*path)) {
        return Err(Error::invalid(crate::diagnostic::Diagnostic::whole_file(
            path.as_str(),
            "given as data for the head (--data), but no model card names this dataset and no DVC stage reads it",
        )));
    }
    let mut changed = BTreeSet::new();
    for path in named {
        if before.data_version(&path)? != after.data_version(&path)? {
            changed.insert(path);
        }
    }
    Ok(changed)
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

/// Changed datasets (with a data format) named by the model's card or an upstream model's
/// card at either revision, or read by their DVC stages: a change to them reaches this model.
fn changed_datasets(id: &str, inputs: &Inputs<'_, '_>) -> Vec<RepoPath> {
    let mut paths: Vec<RepoPath> = Vec::new();
    for model in std::iter::once(id.to_owned()).chain(inputs.lineage.ancestors(id)) {
        let named = [
            inputs.models_before.get(&model),
            inputs.models_after.get(&model),
        ]
        .into_iter()
        .flatten()
        .filter_map(ModelEntry::parsed_card)
        .flat_map(|card| card.datasets().into_iter().map(|d| d.path));
        let read_by_stages = inputs.stage_inputs.of(&model).cloned();
        for path in named.chain(read_by_stages) {
            if inputs.changed_data.contains(&path)
                && (Format::of(path.as_str()).is_some()
                    || crate::profile::is_profile_path(path.as_str()))
                && !paths.contains(&path)
            {
                paths.push(path);
            }
        }
    }
    paths
}
