//! `modelgate check --pr-facts`: approvals judged under the base branch's policy.

use serde_json::{Value, json};

use crate::support::{FULL_BODY, TestRepo, card, write};

const POLICY: &str = "tiers:\n  low: {approvals: 1}\n  high:\n    approvals: 2\n    teams: [acme/model-risk]\n    block_on: [regression, card]\n    invalidate_on_push: true\nescalate: {regression: high}\n";

fn review(id: u64, login: &str, state: &str, commit: &str) -> Value {
    json!({"id": id, "user": {"login": login, "id": id}, "state": state, "commit_id": commit,
           "submitted_at": "2026-03-01T10:00:00Z", "body": "", "html_url": "https://github.com/x"})
}

fn facts(head: &str, reviews: Vec<Value>, comments: Vec<Value>) -> Value {
    json!({
        "number": 7,
        "author": "ann",
        "head_sha": head,
        "head_pushed_at": "2026-03-01T09:00:00Z",
        "commit_authors": ["ann"],
        "reviews": reviews,
        "team_members": {"acme/model-risk": ["dan", "gil"]},
        "comments": comments,
    })
}

fn repo_with(tier: &str) -> TestRepo {
    let mut repo = TestRepo::new();
    repo.commit(
        "main",
        None,
        &[
            write(".github/modelgate.yml", POLICY),
            write("models/m/card.md", card(tier, "", FULL_BODY)),
            write("models/m/metrics.json", "{\"auc\": 0.80}"),
        ],
    );
    repo
}

#[test]
fn missing_approvals_then_satisfied() {
    let mut repo = repo_with("low");
    let head = repo.commit(
        "pr",
        Some("main"),
        &[write("models/m/metrics.json", "{\"auc\": 0.81}")],
    );
    let waiting = repo.check_with_facts("main", "pr", &facts(&head, vec![], vec![]));
    assert_eq!(waiting.code, 1, "{}", waiting.stderr);
    let report = waiting.json();
    assert_eq!(report["conclusion"], "action_required");
    assert_eq!(report["approvals"]["satisfied"], false);
    assert_eq!(
        report["approvals"]["requirements"][0]["description"],
        "1 approving review(s)"
    );
    assert_eq!(report["approvals"]["requirements"][0]["met"], false);

    let approved = repo.check_with_facts(
        "main",
        "pr",
        &facts(&head, vec![review(1, "bob", "APPROVED", &head)], vec![]),
    );
    assert_eq!(approved.code, 0, "{}", approved.stdout);
    let report = approved.json();
    assert_eq!(report["conclusion"], "pass");
    assert_eq!(report["approvals"]["requirements"][0]["by"], json!(["bob"]));
    assert_eq!(
        report["approvals"]["approvers"],
        json!([{"login": "bob", "review_id": 1}])
    );
}

#[test]
fn a_tier_downgrade_needs_the_old_tiers_approvals() {
    let mut repo = repo_with("high");
    let head = repo.commit(
        "pr",
        Some("main"),
        &[write("models/m/card.md", card("low", "", FULL_BODY))],
    );
    let outcome = repo.check_with_facts(
        "main",
        "pr",
        &facts(&head, vec![review(1, "bob", "APPROVED", &head)], vec![]),
    );
    let report = outcome.json();
    assert_eq!(report["approvals"]["tier"], "high");
    assert_eq!(report["conclusion"], "action_required");
    let descriptions: Vec<&str> = report["approvals"]["requirements"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["description"].as_str())
        .collect();
    assert_eq!(
        descriptions,
        [
            "2 approving review(s) of the head commit",
            "an approval from a member of acme/model-risk",
            "no outstanding change requests"
        ]
    );
}

#[test]
fn a_policy_edit_cannot_weaken_its_own_evaluation() {
    let mut repo = repo_with("high");
    let weaker = POLICY.replace("approvals: 2\n    teams: [acme/model-risk]", "approvals: 0");
    let head = repo.commit(
        "pr",
        Some("main"),
        &[
            write(".github/modelgate.yml", &weaker),
            write("models/m/metrics.json", "{\"auc\": 0.805}"),
        ],
    );
    let outcome = repo.check_with_facts("main", "pr", &facts(&head, vec![], vec![]));
    let report = outcome.json();
    assert_eq!(
        report["conclusion"], "action_required",
        "judged by the base policy: {}",
        outcome.stdout
    );
    assert_eq!(
        report["approvals"]["requirements"][0]["description"],
        "2 approving review(s) of the head commit"
    );
    assert_eq!(report["policy"]["proposed"]["valid"], true);
    assert_eq!(report["policy"]["proposed"]["approvals"], 0);
    assert_eq!(report["policy"]["proposed"]["tier"], "high");

    let mut repo = repo_with("high");
    repo.commit(
        "pr",
        Some("main"),
        &[write(
            ".github/modelgate.yml",
            "tiers:\n  high: {approvals: many}\n",
        )],
    );
    let report = repo.check("main", "pr").json();
    assert_eq!(report["policy"]["proposed"]["valid"], false);
    let error = report["policy"]["proposed"]["errors"][0]
        .as_str()
        .unwrap_or_default();
    assert!(error.starts_with(".github/modelgate.yml:2:"), "{error}");
}

#[test]
fn a_failing_check_escalates_the_tier() {
    let mut repo = repo_with("low");
    let head = repo.commit(
        "pr",
        Some("main"),
        &[write("models/m/metrics.json", "{\"auc\": 0.70}")],
    );
    let outcome = repo.check_with_facts(
        "main",
        "pr",
        &facts(&head, vec![review(1, "bob", "APPROVED", &head)], vec![]),
    );
    let report = outcome.json();
    assert_eq!(report["escalation"]["from"], "low");
    assert_eq!(report["escalation"]["to"], "high");
    assert_eq!(
        report["escalation"]["reasons"][0],
        "m regression failed: escalate.regression is high"
    );
    assert_eq!(report["tier"], "high");
    assert_eq!(report["approvals"]["escalated_from"], "low");
    assert_eq!(report["conclusion"], "fail", "high blocks on regression");
    assert_eq!(outcome.code, 1);
}

#[test]
fn a_team_member_accepts_the_risk_and_a_push_voids_it() {
    let mut repo = repo_with("high");
    let head = repo.commit(
        "pr",
        Some("main"),
        &[write("models/m/metrics.json", "{\"auc\": 0.70}")],
    );
    let approvals = vec![
        review(1, "dan", "APPROVED", &head),
        review(2, "bob", "APPROVED", &head),
    ];
    let accept = json!({"id": 99, "user": {"login": "gil"}, "body": "/modelgate accept-risk new fraud pattern, retrain booked", "created_at": "2026-03-01T11:00:00Z"});

    let failing = repo.check_with_facts("main", "pr", &facts(&head, approvals.clone(), vec![]));
    assert_eq!(failing.json()["conclusion"], "fail");

    let accepted = repo.check_with_facts(
        "main",
        "pr",
        &facts(&head, approvals.clone(), vec![accept.clone()]),
    );
    let report = accepted.json();
    assert_eq!(report["conclusion"], "pass", "{}", accepted.stdout);
    assert_eq!(report["approvals"]["accepted_risks"][0]["by"], "gil");
    assert_eq!(
        report["approvals"]["accepted_risks"][0]["checks"],
        json!(["m regression"])
    );
    assert_eq!(report["models"][0]["checks"][0]["accepted"], true);
    assert_eq!(accepted.code, 0);

    // A later push: the acceptance predates the new head.
    let mut pushed = facts(&head, approvals, vec![accept]);
    pushed["head_pushed_at"] = json!("2026-03-01T12:00:00Z");
    let report = repo.check_with_facts("main", "pr", &pushed).json();
    assert_eq!(report["conclusion"], "fail");
    let ignored = report["approvals"]["ignored"][0]
        .as_str()
        .unwrap_or_default();
    assert!(ignored.contains("a later push voids it"), "{ignored}");
}

#[test]
fn facts_for_another_head_are_refused() {
    let mut repo = repo_with("low");
    repo.commit(
        "pr",
        Some("main"),
        &[write("models/m/metrics.json", "{\"auc\": 0.81}")],
    );
    let outcome = repo.check_with_facts("main", "pr", &facts("0123456789abcdef", vec![], vec![]));
    assert_eq!(outcome.code, 2);
    assert!(
        outcome
            .stderr
            .contains("the facts are for head 0123456789abcdef"),
        "{}",
        outcome.stderr
    );
}
