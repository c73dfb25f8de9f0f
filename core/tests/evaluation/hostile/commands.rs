//! `/modelgate accept-risk <reason>` in pull-request comments, and the reviews beside them:
//! every command is accepted or ignored with a reason, exactly once; nothing else counts.

use jiff::Timestamp;
use modelgate_core::approvals::{IssueComment, PrFacts, Review, Subject, User, judge};
use modelgate_core::policy::{CheckKind, Policy};
use modelgate_core::report::{Change, CheckRef, ModelReport, Reason};
use proptest::prelude::*;

use super::config;

const ACCEPT_RISK: &str = "/modelgate accept-risk";
const HEAD: &str = "2222222222222222222222222222222222222222";

fn policy() -> Policy {
    Policy::parse(
        "p.yml",
        "tiers:\n  low: {approvals: 1}\n  high: {approvals: 2, teams: [acme/model-risk], invalidate_on_push: true, independent: true}\n",
    )
    .expect("a valid policy")
}

fn comment_body() -> impl Strategy<Value = String> {
    let space = prop::sample::select(
        &[
            "", " ", "\t", "\n", "\r\n", "\u{a0}", "\u{3000}", "\u{2028}", "\u{feff}",
        ][..],
    );
    let command = prop::sample::select(
        &[
            ACCEPT_RISK,
            "/modelgate accept-risk",
            "/modelgate  accept-risk",
            "/Modelgate accept-risk",
            "/modelgate accept-risking",
            "/modelgate accept-risk\u{0}",
            "/modelgate rerun",
            "modelgate accept-risk",
            "> /modelgate accept-risk",
            "`/modelgate accept-risk`",
            "",
        ][..],
    );
    (space.clone(), command, space, "\\PC{0,40}", any::<bool>()).prop_map(
        |(before, command, between, reason, newline)| {
            let reason = if newline {
                format!("{reason}\nmore")
            } else {
                reason
            };
            format!("{before}{command}{between}{reason}")
        },
    )
}

fn user() -> impl Strategy<Value = Option<User>> {
    prop::sample::select(
        &[
            Some("dan"),
            Some("DAN"),
            Some("@dan"),
            Some("erin"),
            Some("ann"),
            Some(""),
            None,
        ][..],
    )
    .prop_map(|login| {
        login.map(|login| User {
            login: login.to_owned(),
        })
    })
}

fn created_at() -> impl Strategy<Value = String> {
    prop::sample::select(
        &[
            "2026-03-02T00:00:00Z",
            "2026-02-01T00:00:00Z",
            "2026-03-01T12:00:00Z",
            "not a time",
            "",
            "9999-12-31T23:59:59Z",
            "2026-03-02T00:00:00+25:00",
        ][..],
    )
    .prop_map(str::to_owned)
}

fn review() -> impl Strategy<Value = (Option<User>, String, Option<String>, Option<String>)> {
    (
        user(),
        prop::sample::select(
            &[
                "APPROVED",
                "CHANGES_REQUESTED",
                "COMMENTED",
                "DISMISSED",
                "PENDING",
                "approved",
                "",
            ][..],
        )
        .prop_map(str::to_owned),
        prop::option::of(
            prop::sample::select(&[HEAD, "1111111111", "", "zz"][..]).prop_map(str::to_owned),
        ),
        prop::option::of(created_at()),
    )
}

/// Whether `body` is an accept-risk command, by the command's documented form.
fn is_accept_risk(body: &str) -> Option<&str> {
    let rest = body.trim().strip_prefix(ACCEPT_RISK)?;
    (rest.is_empty() || rest.starts_with(char::is_whitespace)).then(|| rest.trim())
}

fn model() -> ModelReport {
    ModelReport {
        id: "credit".to_owned(),
        change: Change::Modified,
        reasons: vec![Reason::FolderChanged],
        tier_base: None,
        tier_head: None,
        version_base: None,
        version_head: None,
        owners: vec!["@erin".to_owned()],
        checks: Vec::new(),
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn every_command_is_accepted_or_ignored_once(
        comments in prop::collection::vec((comment_body(), user(), created_at()), 0..8),
        reviews in prop::collection::vec(review(), 0..6),
        tier in prop::sample::select(&["high", "low", "unknown"][..]),
        blocking in any::<bool>(),
    ) {
        let facts = PrFacts {
            number: Some(1),
            author: "ann".to_owned(),
            head_sha: Some(HEAD.to_owned()),
            head_pushed_at: None,
            permissions: None,
            commit_authors: vec!["ann".to_owned()],
            reviews: reviews
                .into_iter()
                .enumerate()
                .map(|(index, (user, state, commit_id, submitted_at))| Review {
                    id: index as u64 + 1,
                    user,
                    state,
                    commit_id,
                    submitted_at,
                })
                .collect(),
            team_members: [("Acme/Model-Risk".to_owned(), vec!["@Dan".to_owned()])].into(),
            comments: comments
                .iter()
                .enumerate()
                .map(|(index, (body, user, created_at))| IssueComment {
                    id: 1000 + index as u64,
                    user: user.clone(),
                    body: Some(body.clone()),
                    created_at: created_at.clone(),
                })
                .collect(),
        };
        let models = [model()];
        let blocking = if blocking {
            vec![CheckRef { model: "credit".to_owned(), kind: CheckKind::Drift }]
        } else {
            Vec::new()
        };
        let head_time: Timestamp = "2026-03-01T12:00:00Z".parse().expect("a time");
        let subject = Subject {
            tier,
            escalated_from: None,
            models: &models,
            blocking: &blocking,
            head_sha: HEAD,
            head_time,
        };
        let approvals = judge(&policy(), &facts, &subject);

        for comment in &facts.comments {
            let mentions = approvals
                .ignored
                .iter()
                .filter(|why| why.contains(&format!("(comment {})", comment.id)))
                .count();
            let accepted: Vec<_> = approvals
                .accepted_risks
                .iter()
                .filter(|risk| risk.comment_id == comment.id)
                .collect();
            match is_accept_risk(comment.body.as_deref().unwrap_or_default()) {
                Some(reason) => {
                    prop_assert_eq!(mentions + accepted.len(), 1, "{:?}: {:?}", comment.body, approvals);
                    if let Some(risk) = accepted.first() {
                        prop_assert_eq!(risk.reason.as_str(), reason);
                        prop_assert!(!reason.is_empty());
                        prop_assert!(blocking.len() == risk.checks.len() && !risk.checks.is_empty());
                        let login = risk.by.trim_start_matches('@');
                        prop_assert!(login.eq_ignore_ascii_case("dan"), "accepted by {}", risk.by);
                    }
                }
                None => prop_assert_eq!(mentions + accepted.len(), 0, "{:?}", comment.body),
            }
        }
        for approver in &approvals.approvers {
            prop_assert!(!approver.login.eq_ignore_ascii_case("ann"), "the author approved");
        }
        let count = approvals.requirements.first().map(|r| r.by.len()).unwrap_or_default();
        prop_assert_eq!(count, approvals.approvers.len());
    }
}
