//! `modelgate demo` builds the example repository and shows each scripted verdict.

use crate::support::modelgate;

#[test]
fn demo_builds_the_example_and_shows_every_verdict() {
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("example");
    let outcome = modelgate(&["demo", "--out", out.to_str().expect("utf-8")]);
    assert_eq!(outcome.code, 0, "{}\n{}", outcome.stdout, outcome.stderr);
    for line in [
        "   FAIL             Retrain credit-risk\n",
        "   FAIL             Retrain credit-risk, awaiting review\n",
        "   PASS             Retrain credit-risk, risk accepted by model risk, two approvals\n",
        "   PASS             Refresh the support tickets\n",
        "   ACTION_REQUIRED  Refresh the support tickets, awaiting review\n",
        "   PASS             Refresh the support tickets, approved\n",
        "   FAIL             Train credit-risk on the 2026 applications\n",
        "   FAIL             Lower credit-risk's tier\n",
        "   ACTION_REQUIRED  Retrain support-router, awaiting review\n",
        "   PASS             Retrain support-router, approved\n",
    ] {
        assert!(
            outcome.stdout.contains(line),
            "missing `{line}`:\n{}",
            outcome.stdout
        );
    }
    assert!(
        outcome
            .stdout
            .contains(&format!("The example repository is at {}", out.display()))
    );

    let repo = git2::Repository::open(&out).expect("a real git repository");
    assert!(
        repo.find_branch("retrain-credit-risk", git2::BranchType::Local)
            .is_ok()
    );
    assert!(
        out.join("models/credit-risk/card.md").exists(),
        "main is checked out"
    );
    assert!(out.join("data/credit/eval.parquet").exists());

    let again = modelgate(&["demo", "--out", out.to_str().expect("utf-8")]);
    assert_eq!(again.code, 2, "an occupied folder is refused");
    assert!(again.stderr.contains("is not empty"), "{}", again.stderr);
}

#[test]
fn demo_json_carries_each_report() {
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("example");
    let outcome = modelgate(&[
        "demo",
        "--out",
        out.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let document: serde_json::Value =
        serde_json::from_str(&outcome.stdout).expect("one JSON document");
    let prs = document["pull_requests"].as_array().expect("pull requests");
    assert_eq!(prs.len(), 5);
    let refresh = &prs[1]["report"];
    let reached: Vec<&str> = refresh["models"]
        .as_array()
        .expect("models")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(reached, ["support-router", "ticket-encoder"]);
    assert_eq!(
        refresh["models"][0]["reasons"][0],
        "upstream ticket-encoder touched"
    );
    assert_eq!(
        refresh["models"][1]["reasons"][0],
        "dataset data/support/tickets.csv changed"
    );
    assert_eq!(refresh["tier"], "medium");
    // Recomputed from predictions: a significant drop, and a fairness gap.
    let retrain = &prs[0]["report"]["models"][0]["checks"];
    let roc_auc = retrain[0]["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["name"] == "roc_auc")
        .expect("roc_auc");
    assert_eq!(
        (roc_auc["source"].as_str(), roc_auc["status"].as_str()),
        (Some("predictions"), Some("fail"))
    );
    assert!(roc_auc["ci_high"].as_f64().expect("interval") < 0.0);
    assert_eq!(
        (retrain[2]["kind"].as_str(), retrain[2]["status"].as_str()),
        (Some("fairness"), Some("fail"))
    );
    // New training data drifts.
    let drift = &prs[2]["report"]["models"][0]["checks"][1];
    assert_eq!(
        (drift["kind"].as_str(), drift["status"].as_str()),
        (Some("drift"), Some("fail"))
    );
    assert_eq!(drift["datasets"][0]["path"], "data/credit/applications.csv");
    // A noise-only difference is a warning.
    let router = &prs[4]["report"]["models"][0]["checks"][0];
    assert_eq!(router["status"], "warn", "{router}");
    let stages = prs[0]["review_stages"].as_array().expect("stages");
    assert_eq!(
        stages[1]["report"]["approvals"]["accepted_risks"][0]["by"],
        "gil"
    );
    assert_eq!(stages[1]["report"]["conclusion"], "pass");
}
