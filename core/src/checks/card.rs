//! The card check: the card's front matter is valid and the tier's required sections are
//! present and non-empty. `lint` reviews cards the same way.

use crate::card::Card;
use crate::diagnostic::Diagnostic;
use crate::documentation::required_sections;
use crate::git::Snapshot;
use crate::policy::{CheckKind, Policy};
use crate::report::{Change, Check, Finding, SectionStatus, Status};

/// What the card check finds in a card for a tier: errors (the check fails), warnings, and
/// the state of each required section. Shared by `check` and `lint`.
pub(crate) struct CardReview {
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    pub sections: Vec<SectionStatus>,
}

pub(crate) fn review_card(
    card: &Card,
    tier: &str,
    policy: &Policy,
    at: &Snapshot<'_>,
) -> CardReview {
    let mut errors = card.problems.clone();
    let mut warnings = card.warnings.clone();
    if !card.has_front_matter {
        // A valid Hub card, but nothing of ours (owners, tier) can be read from it.
        warnings.push(Diagnostic::at(
            &card.file,
            1,
            1,
            "no YAML front matter; expected `---` on the first line, then the card's metadata",
        ));
    }
    let sections = section_statuses(card, tier, policy);
    for (required, status) in required_sections(policy, tier).iter().zip(&sections) {
        let title = &required.title;
        // Which rule asks for it, and what else is accepted: the author must be able to
        // tell why a heading of theirs did not count.
        let mut why = format!("tier {tier}");
        if let Some((preset, point)) = required.preset {
            why.push_str(&format!(", {} point {point}", preset.name()));
        }
        if !required.aliases.is_empty() {
            let aliases: Vec<String> = required.aliases.iter().map(|a| format!("`{a}`")).collect();
            why.push_str(&format!("; also accepted: {}", aliases.join(", ")));
        }
        match required.find(card) {
            None => errors.push(Diagnostic::whole_file(
                &card.file,
                format!("required section `{title}` is missing ({why})"),
            )),
            Some(section) if !status.non_empty => errors.push(Diagnostic::at(
                &card.file,
                section.line,
                1,
                format!("required section `{title}` is empty ({why})"),
            )),
            Some(_) => {}
        }
    }
    if card.front_matter.owners.is_empty() {
        warnings.push(Diagnostic::whole_file(
            &card.file,
            "no `owners`; expected the people or teams accountable for the model",
        ));
    }
    for dataset in card.datasets() {
        // In git, or recorded by DVC; an unreadable record is reported where data is read.
        if at.entry_oid(&dataset.path).is_none()
            && !matches!(at.data_version(&dataset.path), Ok(Some(_)) | Err(_))
        {
            warnings.push(Diagnostic::whole_file(
                &card.file,
                format!(
                    "dataset {} named by the card does not exist (neither in git nor tracked by DVC)",
                    dataset.path
                ),
            ));
        }
    }
    CardReview {
        errors,
        warnings,
        sections,
    }
}

/// Each section `tier` requires of `card`: present (under its title or an accepted
/// alias) and non-empty. The card check, `lint` and the site's documentation all read it.
pub fn section_statuses(card: &Card, tier: &str, policy: &Policy) -> Vec<SectionStatus> {
    required_sections(policy, tier)
        .iter()
        .map(|required| {
            let found = required.find(card);
            SectionStatus {
                title: required.title.clone(),
                present: found.is_some(),
                non_empty: found.is_some_and(|s| s.non_empty),
            }
        })
        .collect()
}

pub(crate) fn card_check(
    after: &Snapshot<'_>,
    id: &str,
    change: Change,
    card: Option<&Card>,
    tier: &str,
    policy: &Policy,
) -> Check {
    if change == Change::Removed {
        return Check::new(CheckKind::Card, Status::Skipped, "model removed");
    }
    let Some(card) = card else {
        return Check::new(
            CheckKind::Card,
            Status::Fail,
            format!("models/{id}/card.md is missing"),
        );
    };
    let review = review_card(card, tier, policy, after);
    let status = match (review.errors.is_empty(), review.warnings.is_empty()) {
        (false, _) => Status::Fail,
        (true, false) => Status::Warn,
        (true, true) => Status::Pass,
    };
    let missing = review
        .sections
        .iter()
        .filter(|s| !s.present || !s.non_empty)
        .count();
    let total = review.sections.len();
    let summary = match status {
        Status::Pass | Status::Warn if total == 0 => {
            "front matter valid; the tier requires no sections".to_owned()
        }
        Status::Pass | Status::Warn => {
            format!("front matter valid; all {total} required section(s) present")
        }
        _ if missing > 0 => format!("{missing} of {total} required section(s) missing or empty"),
        _ => format!("{} problem(s) in the card", review.errors.len()),
    };
    let mut check = Check::new(CheckKind::Card, status, summary);
    check.findings = review
        .errors
        .iter()
        .chain(&review.warnings)
        .cloned()
        .map(Finding::Diagnostic)
        .collect();
    check.sections = Some(review.sections);
    check
}
