//! Approvals by risk tier (DESIGN section 4): a pure function from the report, the base
//! branch's policy and the pull request's facts to a verdict that lists every requirement,
//! met or missing, and by whom.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::policy::{Policy, TierPolicy};
use crate::report::{
    AcceptedRisk, Approvals, Approver, CheckRef, Conclusion, ModelReport, Requirement,
    RequirementRule,
};
use crate::sha::ShortSha;

/// What GitHub knows about a pull request, in the shapes of its REST API. Unknown fields
/// are ignored: GitHub adds fields over time. Serialized (the fields read) into the audit
/// record's evidence.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct PrFacts {
    /// The pull request number, recorded in the audit ledger.
    #[serde(default)]
    pub number: Option<u64>,
    pub author: String,
    /// The head commit the facts were gathered for; must match the evaluated head.
    #[serde(default)]
    pub head_sha: Option<String>,
    /// When the head commit was pushed (RFC 3339). Without it, the head commit's committer
    /// time stands in. Risk acceptances older than this are void.
    #[serde(default)]
    pub head_pushed_at: Option<String>,
    #[serde(default)]
    pub commit_authors: Vec<String>,
    /// `GET /repos/{owner}/{repo}/pulls/{n}/reviews`, oldest first.
    #[serde(default)]
    pub reviews: Vec<Review>,
    /// Each reviewer's permission on the repository, as
    /// `GET /repos/{owner}/{repo}/collaborators/{username}/permission` gives it (`admin`,
    /// `write`, `read`, `none`). Present, only reviews by `admin` and `write` (maintainers
    /// read as `write`) count, as in GitHub's required reviews; a reviewer missing from it
    /// counts as `none`. The bot and the Action always fill it; a facts file may leave it
    /// out, and then write access is not checked.
    #[serde(default)]
    pub permissions: Option<BTreeMap<String, String>>,
    /// Members of each team that matters, `{"org/team": ["login", ...]}`.
    #[serde(default)]
    pub team_members: BTreeMap<String, Vec<String>>,
    /// `GET /repos/{owner}/{repo}/issues/{n}/comments`, oldest first.
    #[serde(default)]
    pub comments: Vec<IssueComment>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct User {
    pub login: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Review {
    pub id: u64,
    /// `null` for a deleted account.
    pub user: Option<User>,
    /// APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED or PENDING.
    pub state: String,
    pub commit_id: Option<String>,
    pub submitted_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct IssueComment {
    pub id: u64,
    pub user: Option<User>,
    pub body: Option<String>,
    pub created_at: String,
}

const ACCEPT_RISK: &str = "/modelgate accept-risk";

/// GitHub logins compare without regard to case.
fn same_login(a: &str, b: &str) -> bool {
    a.trim_start_matches('@')
        .eq_ignore_ascii_case(b.trim_start_matches('@'))
}

impl PrFacts {
    /// Parses facts from JSON; errors name the file, line and column.
    pub fn from_json(file: &str, text: &str) -> Result<PrFacts, Diagnostic> {
        serde_json::from_str(text).map_err(|error| Diagnostic::from_json(file, &error))
    }

    /// The members of `team` (`org/team`, with or without `@`), as the facts list them.
    fn members(&self, team: &str) -> &[String] {
        let team = team.trim_start_matches('@');
        self.team_members
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(team))
            .map_or(&[], |(_, members)| members.as_slice())
    }

    /// `login`'s permission when the facts give permissions (`none` when they omit it).
    fn permission(&self, login: &str) -> Option<&str> {
        let permissions = self.permissions.as_ref()?;
        Some(
            permissions
                .iter()
                .find(|(known, _)| same_login(known, login))
                .map_or("none", |(_, permission)| permission.as_str()),
        )
    }

    fn is_member(&self, login: &str, team: &str) -> bool {
        self.members(team).iter().any(|m| same_login(m, login))
    }

    /// Whether `login` is named by an owner entry: `@login`, or a team `@org/team` it is in.
    fn is_owner(&self, login: &str, owners: &BTreeSet<String>) -> bool {
        owners.iter().any(|owner| {
            if owner.contains('/') {
                self.is_member(login, owner)
            } else {
                same_login(owner, login)
            }
        })
    }
}

/// Each reviewer's review that counts: the latest that is APPROVED or CHANGES_REQUESTED.
/// COMMENTED reviews never replace a verdict; a DISMISSED one falls back to the reviewer's
/// previous review that was not dismissed (GitHub marks the dismissed review itself).
fn effective_reviews(reviews: &[Review]) -> Vec<&Review> {
    let mut ordered: Vec<(usize, &Review)> = reviews.iter().enumerate().collect();
    // Oldest first: by submission time when given, else by list order (GitHub's order).
    ordered.sort_by_key(|(index, review)| {
        (
            review
                .submitted_at
                .as_deref()
                .and_then(|t| t.parse::<Timestamp>().ok()),
            *index,
        )
    });
    let mut latest: BTreeMap<String, &Review> = BTreeMap::new();
    for (_, review) in ordered {
        let Some(user) = &review.user else { continue };
        if matches!(review.state.as_str(), "APPROVED" | "CHANGES_REQUESTED") {
            latest.insert(user.login.to_ascii_lowercase(), review);
        }
    }
    latest.into_values().collect()
}

/// What is being approved: the evaluated change.
#[derive(Debug)]
pub struct Subject<'a> {
    /// The pull request's tier, after escalation.
    pub tier: &'a str,
    pub escalated_from: Option<&'a str>,
    /// The touched models; their owners matter for independent review.
    pub models: &'a [ModelReport],
    /// The blocking failures at head.
    pub blocking: &'a [CheckRef],
    pub head_sha: &'a str,
    /// When the head commit arrived; risk acceptances before it are void.
    pub head_time: Timestamp,
}

/// Judges the pull request's approvals under the base branch's policy.
pub fn judge(policy: &Policy, facts: &PrFacts, subject: &Subject<'_>) -> Approvals {
    let Subject {
        tier,
        escalated_from,
        models,
        head_sha,
        ..
    } = *subject;
    let default_tier = TierPolicy {
        approvals: 1,
        required_sections: Vec::new(),
        block_on: Vec::new(),
        invalidate_on_push: false,
        teams: Vec::new(),
        independent: false,
        review_every: None,
        documentation: None,
    };
    let rules = policy.tier(tier).unwrap_or(&default_tier);
    let owners: BTreeSet<String> = models
        .iter()
        .flat_map(|m| m.owners.iter().cloned())
        .collect();
    let mut ignored = Vec::new();
    let mut approvers: Vec<Approver> = Vec::new();
    let mut blockers: Vec<String> = Vec::new();

    for review in effective_reviews(&facts.reviews) {
        let Some(user) = &review.user else { continue };
        let login = user.login.as_str();
        if same_login(login, &facts.author) {
            ignored.push(format!(
                "review by {login} ignored: the pull request's author never counts"
            ));
            continue;
        }
        if let Some(permission) = facts.permission(login)
            && !matches!(permission, "admin" | "maintain" | "write")
        {
            ignored.push(format!(
                "review by {login} ignored: {login} has `{permission}` permission on the repository, and only reviews by people with write access count"
            ));
            continue;
        }
        if review.state == "CHANGES_REQUESTED" {
            blockers.push(login.to_owned());
            continue;
        }
        let commit = review.commit_id.as_deref().unwrap_or("");
        if rules.invalidate_on_push && commit != head_sha {
            ignored.push(format!(
                "approval by {login} ignored: it approved {}, not the head commit (tier {tier} invalidates approvals on push)",
                short(commit)
            ));
            continue;
        }
        if rules.independent {
            let why = if facts.commit_authors.iter().any(|a| same_login(a, login)) {
                Some("an author of a commit in the pull request")
            } else if facts.is_owner(login, &owners) {
                Some("an owner of a touched model")
            } else {
                None
            };
            if let Some(why) = why {
                ignored.push(format!(
                    "approval by {login} ignored: tier {tier} needs independent review and {login} is {why}"
                ));
                continue;
            }
        }
        approvers.push(Approver {
            login: login.to_owned(),
            review_id: review.id,
        });
    }

    let mut requirements = Vec::new();
    requirements.push(Requirement {
        rule: RequirementRule::Approvals {
            count: rules.approvals,
            independent: rules.independent,
            of_head: rules.invalidate_on_push,
        },
        met: approvers.len() >= rules.approvals as usize,
        by: approvers.iter().map(|a| a.login.clone()).collect(),
        eligible: Vec::new(),
    });
    for team in &rules.teams {
        let by: Vec<String> = approvers
            .iter()
            .filter(|a| facts.is_member(&a.login, team))
            .map(|a| a.login.clone())
            .collect();
        let eligible = facts
            .members(team)
            .iter()
            .filter(|member| !same_login(member, &facts.author))
            .cloned()
            .collect();
        requirements.push(Requirement {
            rule: RequirementRule::TeamApproval { team: team.clone() },
            met: !by.is_empty(),
            by,
            eligible,
        });
    }
    requirements.push(Requirement {
        rule: RequirementRule::NoChangeRequests,
        met: blockers.is_empty(),
        by: blockers,
        eligible: Vec::new(),
    });

    let accepted_risks = accept_risks(rules, facts, subject, &mut ignored);
    Approvals {
        tier: tier.to_owned(),
        escalated_from: escalated_from.map(str::to_owned),
        satisfied: requirements.iter().all(|r| r.met),
        requirements,
        approvers,
        accepted_risks,
        ignored,
    }
}

fn accept_risks(
    rules: &TierPolicy,
    facts: &PrFacts,
    subject: &Subject<'_>,
    ignored: &mut Vec<String>,
) -> Vec<AcceptedRisk> {
    let Subject {
        tier,
        blocking,
        head_sha,
        head_time,
        ..
    } = *subject;
    let mut accepted = Vec::new();
    for comment in &facts.comments {
        let Some(rest) = comment
            .body
            .as_deref()
            .map(str::trim)
            .and_then(|b| b.strip_prefix(ACCEPT_RISK))
        else {
            continue;
        };
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            continue;
        }
        let login = comment
            .user
            .as_ref()
            .map(|u| u.login.as_str())
            .unwrap_or("(deleted user)");
        let reason = rest.trim();
        let refuse = |why: String| {
            format!(
                "accept-risk by {login} (comment {}) ignored: {why}",
                comment.id
            )
        };
        if reason.is_empty() {
            ignored.push(refuse(
                "it gives no reason; write `/modelgate accept-risk <reason>`".to_owned(),
            ));
        } else if rules.teams.is_empty() {
            ignored.push(refuse(format!(
                "tier {tier} names no teams whose members may accept risk"
            )));
        } else if same_login(login, &facts.author) {
            ignored.push(refuse(
                "the pull request's author cannot accept its risks".to_owned(),
            ));
        } else if !rules.teams.iter().any(|team| facts.is_member(login, team)) {
            ignored.push(refuse(format!(
                "{login} is not a member of {}",
                rules.teams.join(" or ")
            )));
        } else if comment
            .created_at
            .parse::<Timestamp>()
            .map_or(true, |at| at < head_time)
        {
            ignored.push(refuse(format!(
                "it predates the head commit {}; a later push voids it",
                short(head_sha)
            )));
        } else if blocking.is_empty() {
            ignored.push(refuse("there is no blocking failure to accept".to_owned()));
        } else {
            accepted.push(AcceptedRisk {
                by: login.to_owned(),
                reason: reason.to_owned(),
                comment_id: comment.id,
                head_sha: head_sha.to_owned(),
                checks: blocking.to_vec(),
            });
        }
    }
    accepted
}

/// The conclusion once approvals are judged: blocking failures not accepted fail the pull
/// request; otherwise missing approvals leave it `action_required`.
pub fn conclude(unaccepted_blocking: bool, approvals: &Approvals) -> Conclusion {
    if unaccepted_blocking {
        Conclusion::Fail
    } else if !approvals.satisfied {
        Conclusion::ActionRequired
    } else {
        Conclusion::Pass
    }
}

/// A commit for a message: its short form, or what GitHub sent when that is not a sha.
fn short(sha: &str) -> String {
    if sha.is_empty() {
        "an unknown commit".to_owned()
    } else {
        ShortSha(sha).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Change;

    const HEAD: &str = "2222222222222222222222222222222222222222";
    const OLD: &str = "1111111111111111111111111111111111111111";

    fn policy() -> Policy {
        Policy::parse(
            "p.yml",
            "tiers:\n  low: {approvals: 1}\n  independent: {approvals: 1, independent: true}\n  high: {approvals: 2, teams: [acme/model-risk], invalidate_on_push: true}\n",
        )
        .expect("valid policy")
    }

    fn review(id: u64, login: &str, state: &str, commit: &str) -> Review {
        Review {
            id,
            user: Some(User {
                login: login.to_owned(),
            }),
            state: state.to_owned(),
            commit_id: Some(commit.to_owned()),
            submitted_at: None,
        }
    }

    fn comment(id: u64, login: &str, body: &str, at: &str) -> IssueComment {
        IssueComment {
            id,
            user: Some(User {
                login: login.to_owned(),
            }),
            body: Some(body.to_owned()),
            created_at: at.to_owned(),
        }
    }

    fn model(owners: &[&str]) -> ModelReport {
        ModelReport {
            id: "m".to_owned(),
            change: Change::Modified,
            reasons: vec![crate::report::Reason::FolderChanged],
            tier_base: None,
            tier_head: None,
            version_base: None,
            version_head: None,
            owners: owners.iter().map(|o| (*o).to_owned()).collect(),
            checks: Vec::new(),
        }
    }

    struct Case {
        name: &'static str,
        tier: &'static str,
        reviews: Vec<Review>,
        comments: Vec<IssueComment>,
        blocking: Vec<&'static str>,
        satisfied: bool,
        approvers: Vec<&'static str>,
        ignored: Vec<&'static str>,
        accepted: usize,
    }

    fn case(name: &'static str, tier: &'static str, reviews: Vec<Review>) -> Case {
        Case {
            name,
            tier,
            reviews,
            comments: Vec::new(),
            blocking: Vec::new(),
            satisfied: false,
            approvers: Vec::new(),
            ignored: Vec::new(),
            accepted: 0,
        }
    }

    #[test]
    fn review_and_acceptance_rules() {
        let member_at = "2026-03-01T12:00:00Z";
        let cases = vec![
            Case {
                ignored: vec!["review by ann ignored: the pull request's author never counts"],
                ..case(
                    "self-approval is ignored",
                    "low",
                    vec![review(1, "ann", "APPROVED", HEAD)],
                )
            },
            Case {
                satisfied: true,
                approvers: vec!["bob"],
                ..case(
                    "one approval meets the low tier",
                    "low",
                    vec![review(1, "bob", "APPROVED", HEAD)],
                )
            },
            Case {
                approvers: vec!["dan"],
                ignored: vec![
                    "approval by bob ignored: it approved 1111111111, not the head commit",
                ],
                ..case(
                    "approvals of an older commit are void when the tier invalidates on push",
                    "high",
                    vec![
                        review(1, "bob", "APPROVED", OLD),
                        review(2, "dan", "APPROVED", HEAD),
                    ],
                )
            },
            Case {
                approvers: vec!["dan"],
                ignored: vec![
                    "approval by bob ignored: it approved \"111111111é1\", not the head commit",
                ],
                ..case(
                    "a review's commit that is not a sha is shown whole, not cut mid-character",
                    "high",
                    vec![
                        review(1, "bob", "APPROVED", "111111111é1"),
                        review(2, "dan", "APPROVED", HEAD),
                    ],
                )
            },
            Case {
                ..case(
                    "a dismissed approval no longer counts",
                    "low",
                    vec![review(1, "bob", "DISMISSED", HEAD)],
                )
            },
            Case {
                satisfied: true,
                approvers: vec!["bob"],
                ..case(
                    "a dismissed change request falls back to the reviewer's earlier approval",
                    "low",
                    vec![
                        review(1, "bob", "APPROVED", HEAD),
                        review(2, "bob", "DISMISSED", HEAD),
                    ],
                )
            },
            Case {
                satisfied: true,
                approvers: vec!["bob"],
                ..case(
                    "changes requested, then approved by the same reviewer",
                    "low",
                    vec![
                        review(1, "bob", "CHANGES_REQUESTED", OLD),
                        review(2, "bob", "COMMENTED", HEAD),
                        review(3, "bob", "APPROVED", HEAD),
                    ],
                )
            },
            Case {
                approvers: vec!["carol"],
                ..case(
                    "an outstanding change request blocks even with enough approvals",
                    "low",
                    vec![
                        review(1, "bob", "CHANGES_REQUESTED", HEAD),
                        review(2, "carol", "APPROVED", HEAD),
                    ],
                )
            },
            Case {
                satisfied: true,
                approvers: vec!["dan", "erin"],
                ..case(
                    "a team member's approval meets the team requirement",
                    "high",
                    vec![
                        review(1, "dan", "APPROVED", HEAD),
                        review(2, "erin", "APPROVED", HEAD),
                    ],
                )
            },
            Case {
                approvers: vec!["erin", "frank"],
                ..case(
                    "two approvals from non-members miss the team requirement",
                    "high",
                    vec![
                        review(1, "erin", "APPROVED", HEAD),
                        review(2, "frank", "APPROVED", HEAD),
                    ],
                )
            },
            Case {
                satisfied: true,
                approvers: vec!["gil"],
                ignored: vec![
                    "approval by bob ignored: tier independent needs independent review and bob is an author of a commit",
                    "approval by carol ignored: tier independent needs independent review and carol is an owner of a touched model",
                ],
                ..case(
                    "independent review excludes commit authors and owners",
                    "independent",
                    vec![
                        review(1, "bob", "APPROVED", HEAD),
                        review(2, "carol", "APPROVED", HEAD),
                        review(3, "gil", "APPROVED", HEAD),
                    ],
                )
            },
            Case {
                comments: vec![comment(
                    10,
                    "erin",
                    "/modelgate accept-risk the drift is seasonal",
                    member_at,
                )],
                blocking: vec!["m"],
                ignored: vec![
                    "accept-risk by erin (comment 10) ignored: erin is not a member of acme/model-risk",
                ],
                ..case(
                    "risk acceptance by a non-member is ignored",
                    "high",
                    Vec::new(),
                )
            },
            Case {
                comments: vec![comment(
                    11,
                    "dan",
                    "/modelgate accept-risk seasonal",
                    "2026-02-28T23:59:59Z",
                )],
                blocking: vec!["m"],
                ignored: vec![
                    "accept-risk by dan (comment 11) ignored: it predates the head commit 2222222222; a later push voids it",
                ],
                ..case(
                    "risk acceptance is voided by a later push",
                    "high",
                    Vec::new(),
                )
            },
            Case {
                comments: vec![
                    comment(12, "dan", "/modelgate accept-risk", member_at),
                    comment(
                        13,
                        "dan",
                        "/modelgate accept-risk retrain scheduled for Q2",
                        member_at,
                    ),
                    comment(14, "dan", "/modelgate accept-risking nothing", member_at),
                ],
                blocking: vec!["m"],
                accepted: 1,
                ignored: vec!["accept-risk by dan (comment 12) ignored: it gives no reason"],
                ..case(
                    "a member accepts the risk at this head with a reason",
                    "high",
                    Vec::new(),
                )
            },
            Case {
                comments: vec![comment(15, "dan", "/modelgate accept-risk fine", member_at)],
                satisfied: true,
                approvers: vec!["bob"],
                ignored: vec!["accept-risk by dan (comment 15) ignored: tier low names no teams"],
                ..case(
                    "a tier without teams has nobody who may accept risk",
                    "low",
                    vec![review(1, "bob", "APPROVED", HEAD)],
                )
            },
        ];

        let policy = policy();
        let head_time: Timestamp = "2026-03-01T00:00:00Z".parse().expect("time");
        let models = [model(&["@acme/ml", "@zoe"])];
        for case in cases {
            let facts = PrFacts {
                author: "ann".to_owned(),
                commit_authors: vec!["ann".to_owned(), "bob".to_owned()],
                reviews: case.reviews,
                comments: case.comments,
                team_members: BTreeMap::from([
                    (
                        "acme/model-risk".to_owned(),
                        vec!["dan".to_owned(), "Gil".to_owned()],
                    ),
                    ("acme/ml".to_owned(), vec!["carol".to_owned()]),
                ]),
                ..PrFacts::default()
            };
            let blocking: Vec<CheckRef> = case
                .blocking
                .iter()
                .map(|model| CheckRef {
                    model: (*model).to_owned(),
                    kind: crate::policy::CheckKind::Regression,
                })
                .collect();
            let subject = Subject {
                tier: case.tier,
                escalated_from: None,
                models: &models,
                blocking: &blocking,
                head_sha: HEAD,
                head_time,
            };
            let verdict = judge(&policy, &facts, &subject);
            let approvers: Vec<&str> = verdict.approvers.iter().map(|a| a.login.as_str()).collect();
            assert_eq!(approvers, case.approvers, "{}: approvers", case.name);
            assert_eq!(
                verdict.satisfied, case.satisfied,
                "{}: satisfied\n{verdict:#?}",
                case.name
            );
            assert_eq!(
                verdict.accepted_risks.len(),
                case.accepted,
                "{}: accepted\n{verdict:#?}",
                case.name
            );
            for expected in &case.ignored {
                assert!(
                    verdict.ignored.iter().any(|i| i.starts_with(expected)),
                    "{}: expected an ignored entry starting `{expected}`, got {:#?}",
                    case.name,
                    verdict.ignored
                );
            }
            if case.ignored.is_empty() {
                assert!(
                    verdict.ignored.is_empty(),
                    "{}: nothing should be ignored: {:#?}",
                    case.name,
                    verdict.ignored
                );
            }
        }
    }

    #[test]
    fn requirements_say_who_met_them() {
        let policy = policy();
        let facts = PrFacts {
            author: "ann".to_owned(),
            reviews: vec![
                review(1, "dan", "APPROVED", HEAD),
                review(2, "bob", "CHANGES_REQUESTED", HEAD),
            ],
            team_members: BTreeMap::from([("acme/model-risk".to_owned(), vec!["dan".to_owned()])]),
            ..PrFacts::default()
        };
        let subject = Subject {
            tier: "high",
            escalated_from: Some("low"),
            models: &[],
            blocking: &[],
            head_sha: HEAD,
            head_time: Timestamp::UNIX_EPOCH,
        };
        let verdict = judge(&policy, &facts, &subject);
        let lines: Vec<(String, bool, Vec<String>)> = verdict
            .requirements
            .iter()
            .map(|r| (r.rule.to_string(), r.met, r.by.clone()))
            .collect();
        assert_eq!(
            lines,
            [
                (
                    "2 approving review(s) of the head commit".to_owned(),
                    false,
                    vec!["dan".to_owned()]
                ),
                (
                    "an approval from a member of acme/model-risk".to_owned(),
                    true,
                    vec!["dan".to_owned()]
                ),
                (
                    "no outstanding change requests".to_owned(),
                    false,
                    vec!["bob".to_owned()]
                ),
            ]
        );
        assert_eq!(verdict.escalated_from.as_deref(), Some("low"));
        assert_eq!(conclude(false, &verdict), Conclusion::ActionRequired);
        assert_eq!(conclude(true, &verdict), Conclusion::Fail);
    }
}
