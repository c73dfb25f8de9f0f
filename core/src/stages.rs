//! Who approved what was in production when: stage assignments from GTO's annotated tags,
//! joined with the versions they name and the audit record of the merge that produced each.
//!
//! GTO writes `<model>#<stage>#<n>` to assign the tagged commit's version to a stage and
//! `<model>#<stage>!#<n>` (or `<model>#<stage>!`) to unassign it; the tag's date is when,
//! its tagger who. A stage holds the version of its latest assignment until that version
//! is unassigned or another is assigned. Lightweight tags carry no date or tagger and are
//! ignored, as GTO ignores them.

use std::collections::BTreeMap;
use std::fmt::Write;

use git2::Oid;
use serde::Serialize;

use crate::audit::{self, AuditRecord};
use crate::convention::CardCache;
use crate::error::{Error, Result};
use crate::git::Repo;
use crate::sha::ShortSha;
use crate::untrusted::Escaped;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Assign,
    Unassign,
}

/// A stage tag's name, parsed: `(model, stage, action)`.
pub fn parse_stage_tag(name: &str) -> Option<(&str, &str, Action)> {
    let (rest, number) = match name.rsplit_once('#') {
        Some((rest, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            (rest, Some(n))
        }
        _ => (name, None),
    };
    let (rest, action) = match rest.strip_suffix('!') {
        Some(rest) => (rest, Action::Unassign),
        None if number.is_some() => (rest, Action::Assign),
        None => return None,
    };
    let (model, stage) = rest.rsplit_once('#')?;
    let plain = |s: &str| !s.is_empty() && !s.contains(['#', '!', '@']);
    (plain(model) && plain(stage)).then_some((model, stage, action))
}

/// The decision recorded for the merge that produced a version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub sequence: u64,
    pub pr: Option<u64>,
    pub conclusion: String,
    pub approvers: Vec<String>,
    pub accepted_risks: Vec<audit::AuditedRisk>,
}

/// One assignment or unassignment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageEvent {
    pub stage: String,
    pub action: Action,
    pub tag: String,
    /// The tag's date (tagger time), RFC 3339 in UTC.
    pub time: String,
    #[serde(skip)]
    pub seconds: i64,
    /// The tagger.
    pub by: String,
    /// The tagged commit, and the card's `version` there.
    pub commit: String,
    pub version: Option<String>,
    /// The audit record of that commit touching the model; `null` when none is recorded.
    pub decision: Option<Decision>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageHistory {
    pub model: String,
    /// Every event, oldest first, per stage.
    pub stages: BTreeMap<String, Vec<StageEvent>>,
}

/// What held a stage at a time: the assignment in force, `None` when nothing did.
#[derive(Debug, Clone, Serialize)]
pub struct Holding<'a> {
    pub stage: &'a str,
    pub held_by: Option<&'a StageEvent>,
}

impl StageHistory {
    /// The assignment in force on `stage` at `seconds` (events at that second count).
    pub fn held_at(&self, stage: &str, seconds: i64) -> Option<&StageEvent> {
        let mut holder: Option<&StageEvent> = None;
        for event in self.stages.get(stage).into_iter().flatten() {
            if event.seconds > seconds {
                break;
            }
            match event.action {
                Action::Assign => holder = Some(event),
                Action::Unassign => {
                    if holder.is_some_and(|h| h.commit == event.commit) {
                        holder = None;
                    }
                }
            }
        }
        holder
    }

    /// `modelgate history` without `--at`: every stage's timeline.
    pub fn timeline_text(&self, only: Option<&str>) -> String {
        let mut out = String::new();
        for (stage, events) in self
            .stages
            .iter()
            .filter(|(s, _)| only.is_none_or(|o| o == s.as_str()))
        {
            let _ = writeln!(out, "{}:", Escaped(stage));
            for event in events {
                let _ = writeln!(out, "  {}", event_line(event));
            }
        }
        if out.is_empty() {
            let _ = writeln!(
                out,
                "no stage tag of {} (GTO's `{}#<stage>#<n>`)",
                Escaped(&self.model),
                Escaped(&self.model)
            );
        }
        out
    }

    /// `modelgate history --at`: what held each stage then.
    pub fn at_text(&self, holdings: &[Holding<'_>], at: &str) -> String {
        let mut out = String::new();
        for holding in holdings {
            match holding.held_by {
                Some(event) => {
                    let _ = writeln!(
                        out,
                        "{} at {at}: {}",
                        Escaped(holding.stage),
                        event_line(event)
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "{} at {at}: no version held the stage",
                        Escaped(holding.stage)
                    );
                }
            }
        }
        out
    }
}

fn event_line(event: &StageEvent) -> String {
    let what = match event.action {
        Action::Assign => "assigned",
        Action::Unassign => "unassigned",
    };
    let decision = match &event.decision {
        Some(d) => format!(
            "decision #{}{} {}, approved by {}{}",
            d.sequence,
            d.pr.map(|n| format!(" (PR #{n})")).unwrap_or_default(),
            Escaped(&d.conclusion),
            if d.approvers.is_empty() {
                "nobody".to_owned()
            } else {
                d.approvers
                    .iter()
                    .map(|a| Escaped(a).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            if d.accepted_risks.is_empty() {
                String::new()
            } else {
                format!("; {} risk(s) accepted", d.accepted_risks.len())
            }
        ),
        None => "no recorded decision".to_owned(),
    };
    format!(
        "{} {what} by {}: version {} (commit {}); {decision}",
        event.time,
        Escaped(&event.by),
        Escaped(event.version.as_deref().unwrap_or("without a card version")),
        ShortSha(&event.commit)
    )
}

/// Every stage tag of `model`, with its version and the decision of the ledger.
pub fn stage_history(repo: &Repo, model: &str) -> Result<StageHistory> {
    let records = audit::log(repo, Some(model))?.records;
    let mut all = stage_histories(repo, &records)?;
    Ok(all.remove(model).unwrap_or_else(|| StageHistory {
        model: model.to_owned(),
        stages: BTreeMap::new(),
    }))
}

/// The stage history of every model with a stage tag, reading the tags once. `records`
/// are the ledger's, for each version's decision.
pub fn stage_histories(
    repo: &Repo,
    records: &[AuditRecord],
) -> Result<BTreeMap<String, StageHistory>> {
    let git = repo.git();
    let mut cards = CardCache::default();
    let mut models: BTreeMap<String, StageHistory> = BTreeMap::new();
    let names = git.tag_names(None).map_err(Error::git("listing tags"))?;
    for name in names.iter().flatten() {
        let Some((model, stage, action)) = parse_stage_tag(name) else {
            continue;
        };
        let Ok(tag) = git
            .find_reference(&format!("refs/tags/{name}"))
            .and_then(|r| r.peel_to_tag())
        else {
            tracing::debug!(tag = name, "lightweight stage tag ignored");
            continue;
        };
        let Some(tagger) = tag.tagger() else {
            tracing::debug!(tag = name, "stage tag without a tagger ignored");
            continue;
        };
        let commit = tag
            .target()
            .and_then(|t| t.peel_to_commit())
            .map_err(Error::git(format!("reading the commit of tag {name}")))?;
        let seconds = tagger.when().seconds();
        let commit_id = commit.id().to_string();
        let event = StageEvent {
            stage: stage.to_owned(),
            action,
            tag: name.to_owned(),
            time: rfc3339(seconds),
            seconds,
            by: String::from_utf8_lossy(tagger.name_bytes()).into_owned(),
            version: card_version(repo, &mut cards, commit.id(), model)?,
            decision: decision(records, model, &commit_id),
            commit: commit_id,
        };
        models
            .entry(model.to_owned())
            .or_insert_with(|| StageHistory {
                model: model.to_owned(),
                stages: BTreeMap::new(),
            })
            .stages
            .entry(stage.to_owned())
            .or_default()
            .push(event);
    }
    for history in models.values_mut() {
        for events in history.stages.values_mut() {
            // GTO numbers a model's stage tags in order; the date decides, the number
            // breaks ties.
            events.sort_by_key(|e| (e.seconds, tag_number(&e.tag), e.tag.clone()));
        }
    }
    Ok(models)
}

fn tag_number(name: &str) -> u64 {
    name.rsplit_once('#')
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0)
}

fn card_version(
    repo: &Repo,
    cards: &mut CardCache,
    commit: Oid,
    model: &str,
) -> Result<Option<String>> {
    let snapshot = repo.snapshot(commit)?;
    Ok(cards
        .card(&snapshot, model)?
        .and_then(|card| card.as_ref().as_ref().ok().and_then(|c| c.version())))
}

fn decision(records: &[AuditRecord], model: &str, commit: &str) -> Option<Decision> {
    records
        .iter()
        .rev()
        .find(|r| r.commit == commit && r.models.iter().any(|m| m.id == model))
        .map(|r| Decision {
            sequence: r.sequence,
            pr: r.pr,
            conclusion: r.conclusion.clone(),
            approvers: r.approvers.iter().map(|a| a.login.clone()).collect(),
            accepted_risks: r.accepted_risks.clone(),
        })
}

pub fn rfc3339(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| format!("{seconds} seconds since the epoch"))
}

/// `--at`: an RFC 3339 time, or a date (`YYYY-MM-DD`, meaning the end of that day in UTC,
/// so what was assigned that day counts). Returns seconds since the epoch.
pub fn parse_at(text: &str) -> std::result::Result<i64, String> {
    if let Ok(time) = text.parse::<jiff::Timestamp>() {
        return Ok(time.as_second());
    }
    let date: jiff::civil::Date = text.parse().map_err(|_| {
        format!("`{text}`: expected a date (2026-01-31) or an RFC 3339 time (2026-01-31T12:00:00Z)")
    })?;
    date.at(23, 59, 59, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_second())
        .map_err(|e| format!("`{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gto_tag_names() {
        assert_eq!(
            parse_stage_tag("credit-risk#prod#3"),
            Some(("credit-risk", "prod", Action::Assign))
        );
        assert_eq!(
            parse_stage_tag("credit-risk#prod!#4"),
            Some(("credit-risk", "prod", Action::Unassign))
        );
        assert_eq!(
            parse_stage_tag("credit-risk#prod!"),
            Some(("credit-risk", "prod", Action::Unassign))
        );
        assert_eq!(parse_stage_tag("credit-risk@v1.0.0"), None);
        assert_eq!(parse_stage_tag("credit-risk#prod"), None);
        assert_eq!(parse_stage_tag("#prod#1"), None);
        assert_eq!(
            parse_at("2026-01-10").ok(),
            parse_at("2026-01-10T23:59:59Z").ok()
        );
        assert!(parse_at("tuesday").is_err());
    }
}
