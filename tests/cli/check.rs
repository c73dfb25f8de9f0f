//! `modelgate check` on real repositories.

use modelgate_core::scenario::FileChange;

use crate::support::{FULL_BODY, TestRepo, card, write};

fn metrics(auc: f64) -> String {
    format!("{{\"auc\": {auc}, \"log_loss\": 0.4}}")
}

/// main with models a (medium) and b (low), both with metrics.
fn two_models() -> TestRepo {
    let mut repo = TestRepo::new();
    repo.commit(
        "main",
        None,
        &[
            write("models/a/card.md", card("medium", "", FULL_BODY)),
            write("models/a/metrics.json", metrics(0.80)),
            write("models/b/card.md", card("low", "", FULL_BODY)),
            write("models/b/metrics.json", metrics(0.70)),
        ],
    );
    repo
}

#[test]
fn a_model_added_modified_and_removed() {
    let mut repo = two_models();
    repo.commit(
        "pr",
        Some("main"),
        &[
            write("models/a/metrics.json", metrics(0.81)),
            FileChange::delete("models/b/card.md"),
            FileChange::delete("models/b/metrics.json"),
            write("models/c/card.md", card("low", "", FULL_BODY)),
            write("models/c/metrics.json", metrics(0.9)),
        ],
    );
    let outcome = repo.check("main", "pr");
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let report = outcome.json();
    assert_eq!(report["schema"], "modelgate.report/v1");
    assert_eq!(report["conclusion"], "pass");
    assert_eq!(outcome.model_ids(), ["a", "b", "c"]);

    let a = outcome.model("a");
    assert_eq!(a["change"], "modified");
    assert_eq!(a["reasons"], serde_json::json!(["folder changed"]));
    let auc = &a["checks"][0]["metrics"][0];
    assert_eq!(
        (auc["name"].as_str(), auc["status"].as_str()),
        (Some("auc"), Some("pass"))
    );
    assert!((auc["delta"].as_f64().expect("delta") - 0.01).abs() < 1e-12);
    assert!((auc["delta_pct"].as_f64().expect("pct") - 1.25).abs() < 1e-9);

    let b = outcome.model("b");
    assert_eq!(
        (b["change"].as_str(), b["tier_base"].as_str()),
        (Some("removed"), Some("low"))
    );
    assert!(b["tier_head"].is_null());
    assert_eq!(b["checks"][0]["status"], "skipped");

    let c = outcome.model("c");
    assert_eq!(
        (c["change"].as_str(), c["tier_head"].as_str()),
        (Some("added"), Some("low"))
    );
    assert!(c["tier_base"].is_null());
    assert_eq!(report["tier"], "medium", "the strictest touched tier");
}

#[test]
fn a_regression_fails_a_tier_that_blocks_on_it() {
    let mut repo = two_models();
    repo.commit(
        "pr",
        Some("main"),
        &[write("models/a/metrics.json", metrics(0.75))],
    );
    let outcome = repo.check("main", "pr");
    assert_eq!(
        outcome.code, 1,
        "medium blocks on regression: {}",
        outcome.stdout
    );
    let regression = &outcome.model("a")["checks"][0];
    assert_eq!(
        (regression["kind"].as_str(), regression["status"].as_str()),
        (Some("regression"), Some("fail"))
    );
    assert_eq!(regression["blocking"], true);
    assert_eq!(regression["metrics"][0]["rule"]["source"], "policy");
    assert_eq!(regression["metrics"][0]["rule"]["max_drop_pct"], 2.0);

    // The same regression on the low tier, which blocks on nothing, passes with the evidence.
    let mut low = two_models();
    low.commit(
        "pr",
        Some("main"),
        &[write("models/b/metrics.json", metrics(0.60))],
    );
    let outcome = low.check("main", "pr");
    assert_eq!(outcome.code, 0);
    assert_eq!(outcome.model("b")["checks"][0]["status"], "fail");
    assert_eq!(outcome.model("b")["checks"][0]["blocking"], false);
}

#[test]
fn a_dataset_change_reaches_models_through_datasets_and_base_model() {
    let mut repo = TestRepo::new();
    let uses = |extra: &str| card("low", extra, FULL_BODY);
    repo.commit(
        "main",
        None,
        &[
            write("data/train.csv", "x,y\n1,0\n"),
            write("data/other.parquet", "not read"),
            write(
                "models/base/card.md",
                uses("datasets: {train: data/train.csv}\n"),
            ),
            write("models/child/card.md", uses("base_model: base\n")),
            write(
                "models/grandchild/card.md",
                uses("base_model: [child, bert-base-uncased]\n"),
            ),
            write(
                "models/unrelated/card.md",
                uses("datasets: [data/other.parquet, imdb]\n"),
            ),
        ],
    );
    repo.commit(
        "pr",
        Some("main"),
        &[write("data/train.csv", "x,y\n1,0\n2,1\n")],
    );
    let outcome = repo.check("main", "pr");
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_eq!(outcome.model_ids(), ["base", "child", "grandchild"]);
    let reasons = |id: &str| outcome.model(id)["reasons"].clone();
    assert_eq!(
        reasons("base"),
        serde_json::json!(["dataset data/train.csv changed"])
    );
    assert_eq!(
        reasons("child"),
        serde_json::json!(["upstream base touched"])
    );
    assert_eq!(
        reasons("grandchild"),
        serde_json::json!(["upstream child touched"])
    );
    assert_eq!(outcome.model("grandchild")["change"], "impacted");
}

#[test]
fn a_tier_downgrade_is_evaluated_at_the_stricter_tier() {
    let mut repo = TestRepo::new();
    repo.commit(
        "main",
        None,
        &[write("models/m/card.md", card("high", "", FULL_BODY))],
    );
    // Lower the tier and drop a section the high tier requires.
    let body = FULL_BODY.replace("## Ethical considerations\n\nReviewed.\n\n", "");
    repo.commit(
        "pr",
        Some("main"),
        &[write("models/m/card.md", card("low", "", &body))],
    );
    let outcome = repo.check("main", "pr");
    let model = outcome.model("m");
    assert_eq!(
        (model["tier_base"].as_str(), model["tier_head"].as_str()),
        (Some("high"), Some("low"))
    );
    assert_eq!(outcome.json()["tier"], "high");
    let card_check = &model["checks"][3];
    assert_eq!(
        (card_check["kind"].as_str(), card_check["status"].as_str()),
        (Some("card"), Some("fail"))
    );
    assert!(
        card_check["findings"][0]
            .as_str()
            .unwrap_or_default()
            .contains("`Ethical considerations` is missing")
    );
    assert_eq!(outcome.code, 1);
}

#[test]
fn a_lineage_cycle_is_an_error_that_names_it() {
    let mut repo = TestRepo::new();
    repo.commit(
        "main",
        None,
        &[
            write(
                "models/a/card.md",
                card("low", "base_model: b\n", FULL_BODY),
            ),
            write("models/b/card.md", card("low", "", FULL_BODY)),
        ],
    );
    repo.commit(
        "pr",
        Some("main"),
        &[write(
            "models/b/card.md",
            card("low", "base_model: a\n", FULL_BODY),
        )],
    );
    let outcome = repo.check("main", "pr");
    assert_eq!(outcome.code, 2);
    assert!(
        outcome
            .stderr
            .contains("lineage cycle through base_model: a -> b -> a"),
        "{}",
        outcome.stderr
    );
}

/// The card check of model `id`, whose finding(s) name the unreadable file.
fn card_findings(outcome: &crate::support::Outcome, id: &str) -> (serde_json::Value, Vec<String>) {
    let check = outcome.check(id, "card");
    let findings = check["findings"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (check, findings)
}

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let mut repo = two_models();
    let broken = "---\nowners: [\"@acme/ml\"]\ngovernance:\n  risk_tier: {tier: high\n---\n# M\n";
    repo.commit("pr", Some("main"), &[write("models/a/card.md", broken)]);
    let outcome = repo.check("main", "pr");
    assert_eq!(outcome.code, 1, "{}{}", outcome.stdout, outcome.stderr);
    let (check, findings) = card_findings(&outcome, "a");
    assert_eq!(
        (check["status"].as_str(), check["blocking"].as_bool()),
        (Some("fail"), Some(true))
    );
    assert!(
        findings[0].starts_with("models/a/card.md:4:14: "),
        "{findings:?}"
    );
    assert!(!outcome.stderr.contains("panicked") && !outcome.stderr.contains("backtrace"));

    let mut repo = two_models();
    repo.commit(
        "pr",
        Some("main"),
        &[write(
            "models/a/metrics.json",
            "{\"auc\": 0.8,\n \"f1\": \"n/a\"}",
        )],
    );
    let outcome = repo.check("main", "pr");
    assert_eq!(outcome.code, 1);
    let (_, findings) = card_findings(&outcome, "a");
    assert!(
        findings[0].starts_with("models/a/metrics.json:2:"),
        "{findings:?}"
    );
}

#[test]
fn an_unknown_tier_is_an_error_at_its_position() {
    let mut repo = two_models();
    repo.commit(
        "pr",
        Some("main"),
        &[write("models/a/card.md", card("critical", "", FULL_BODY))],
    );
    let outcome = repo.check("main", "pr");
    assert_eq!(outcome.code, 1);
    let (_, findings) = card_findings(&outcome, "a");
    assert_eq!(
        findings,
        [
            "models/a/card.md:4:14: governance.risk_tier `critical` is not a tier of the policy; expected one of: low, medium, high"
        ]
    );
}

#[test]
fn paths_that_escape_the_repository_are_refused() {
    let mut repo = two_models();
    repo.commit(
        "pr",
        Some("main"),
        &[write(
            "models/a/card.md",
            card(
                "medium",
                "datasets: {train: ../../etc/passwd.csv}\n",
                FULL_BODY,
            ),
        )],
    );
    let outcome = repo.check("main", "pr");
    let card_check = &outcome.model("a")["checks"][3];
    assert_eq!(card_check["status"], "fail");
    let finding = card_check["findings"][0].as_str().unwrap_or_default();
    assert!(finding.contains("escapes the repository"), "{finding}");
    assert_eq!(outcome.code, 1, "medium blocks on card");

    // A card that is a symlink out of the repository is never read.
    let mut repo = two_models();
    repo.commit(
        "pr",
        Some("main"),
        &[FileChange::symlink(
            "models/a/card.md",
            "../../../../etc/passwd",
        )],
    );
    let outcome = repo.check("main", "pr");
    assert_eq!(outcome.code, 2);
    assert!(
        outcome.stderr.contains("points outside the repository"),
        "{}",
        outcome.stderr
    );

    // A symlink inside the repository is followed.
    let mut repo = two_models();
    repo.commit(
        "pr",
        Some("main"),
        &[
            write("shared/card.md", card("low", "", FULL_BODY)),
            FileChange::symlink("models/a/card.md", "../../shared/card.md"),
        ],
    );
    let outcome = repo.check("main", "pr");
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_eq!(outcome.model("a")["tier_head"], "low");
}

#[test]
fn an_unknown_revision_is_bad_input() {
    let repo = two_models();
    let outcome = repo.check("main", "no-such-branch");
    assert_eq!(outcome.code, 2);
    assert!(
        outcome.stderr.contains("unknown revision `no-such-branch`"),
        "{}",
        outcome.stderr
    );
    assert_eq!(outcome.stdout, "");
}

#[test]
fn a_bare_repository_is_read_from_git_objects() {
    let mut repo = TestRepo::bare();
    repo.commit(
        "main",
        None,
        &[
            write("models/a/card.md", card("low", "", FULL_BODY)),
            write("models/a/metrics.json", metrics(0.8)),
        ],
    );
    repo.commit(
        "pr",
        Some("main"),
        &[write("models/a/metrics.json", metrics(0.7))],
    );
    assert!(
        !repo.path().join("models").exists(),
        "nothing is checked out"
    );
    let outcome = repo.check("main", "pr");
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_eq!(outcome.model("a")["checks"][0]["status"], "fail");
}

#[test]
fn a_moved_base_branch_is_compared_from_the_merge_base() {
    let mut repo = two_models();
    let branch_point = repo.commit("main", None, &[write("README.md", "models\n")]);
    repo.commit(
        "pr",
        Some("main"),
        &[write("models/b/metrics.json", metrics(0.71))],
    );
    // The base branch moves on: a is retrained there after the pull request branched.
    let base_tip = repo.commit(
        "main",
        None,
        &[write("models/a/metrics.json", metrics(0.5))],
    );
    let outcome = repo.check("main", "pr");
    let report = outcome.json();
    assert_eq!(report["merge_base"], branch_point.as_str());
    assert_eq!(report["base"], base_tip.as_str());
    assert_eq!(
        outcome.model_ids(),
        ["b"],
        "a changed on the base branch, not in the pull request"
    );
    assert_eq!(report["changed_files"], 1);
}

#[test]
fn rules_come_from_the_base_card_so_a_pr_cannot_loosen_its_own() {
    let mut repo = TestRepo::new();
    let with_rule = |max_drop: &str| {
        format!(
            "---\nowners: [\"@acme/ml\"]\ngovernance:\n  risk_tier: medium\n  metrics:\n    auc: {{max_drop: {max_drop}}}\n---\n{FULL_BODY}"
        )
    };
    repo.commit(
        "main",
        None,
        &[
            write("models/a/card.md", with_rule("0.01")),
            write("models/a/metrics.json", metrics(0.80)),
        ],
    );
    repo.commit(
        "pr",
        Some("main"),
        &[
            write("models/a/card.md", with_rule("0.5")),
            write("models/a/metrics.json", metrics(0.70)),
        ],
    );
    let outcome = repo.check("main", "pr");
    assert_eq!(outcome.code, 1);
    let auc = &outcome.model("a")["checks"][0]["metrics"][0];
    assert_eq!(auc["rule"]["max_drop"], 0.01);
    assert_eq!(auc["status"], "fail");
}

#[test]
fn output_file_and_renderings() {
    let mut repo = two_models();
    repo.commit(
        "pr",
        Some("main"),
        &[write("models/a/metrics.json", metrics(0.75))],
    );
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("report.md");
    let path = repo.path();
    let outcome = crate::support::modelgate(&[
        "check",
        "--repo",
        path.to_str().expect("utf-8"),
        "--base",
        "main",
        "--head",
        "pr",
        "--format",
        "markdown",
        "--output",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(outcome.code, 1);
    assert_eq!(outcome.stdout, "");
    let markdown = std::fs::read_to_string(&out).expect("report written");
    assert!(
        markdown.starts_with("### ❌ modelgate: FAIL: blocking failure in a regression"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| auc | 0.8000 | 0.7500 | -0.0500 | -6.25% | ❌ fail"),
        "{markdown}"
    );

    let text = crate::support::modelgate(&[
        "check",
        "--repo",
        path.to_str().expect("utf-8"),
        "--base",
        "main",
        "--head",
        "pr",
    ]);
    assert!(
        text.stdout
            .starts_with("FAIL: blocking failure in a regression\n"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("a (modified), tier medium"),
        "{}",
        text.stdout
    );
}

/// Bad drift settings are found when the files are read, not when a dataset happens to
/// change: the policy's stop the evaluation, a card's fail that card's check.
#[test]
fn bad_drift_settings_are_reported_at_their_values() {
    let mut repo = TestRepo::new();
    repo.commit(
        "main",
        None,
        &[
            write(".github/modelgate.yml", "drift:\n  stattest: kss\n"),
            write("models/a/card.md", card("medium", "", FULL_BODY)),
        ],
    );
    repo.commit(
        "pr",
        Some("main"),
        &[write("models/a/card.md", card("low", "", FULL_BODY))],
    );
    let outcome = repo.check("main", "pr");
    assert_eq!(outcome.code, 2, "{}", outcome.stdout);
    assert!(
        outcome.stderr.contains(
            ".github/modelgate.yml:2:13: drift.stattest: unknown test `kss`; expected one of auto, ks,"
        ),
        "{}",
        outcome.stderr
    );

    let mut repo = TestRepo::new();
    let with_drift = |drift: &str| {
        format!(
            "---\nowners: [\"@acme/ml\"]\ndatasets: {{train: data/train.csv}}\ngovernance:\n  risk_tier: medium\n  drift: {drift}\n---\n{FULL_BODY}"
        )
    };
    repo.commit(
        "main",
        None,
        &[
            write("data/train.csv", "x\n1\n2\n3\n4\n5\n6\n"),
            write("models/a/card.md", with_drift("{stattest: ks}")),
        ],
    );
    repo.commit(
        "pr",
        Some("main"),
        &[
            write("data/train.csv", "x\n1\n2\n3\n4\n5\n7\n"),
            write("models/a/card.md", with_drift("{stattest: kss}")),
        ],
    );
    let outcome = repo.check("main", "pr");
    assert_eq!(outcome.code, 1, "medium blocks on card: {}", outcome.stderr);
    let card_check = outcome.check("a", "card");
    assert_eq!(card_check["status"], "fail", "{card_check}");
    let finding = card_check["findings"][0].as_str().unwrap_or_default();
    assert!(
        finding.starts_with(
            "models/a/card.md:6:21: governance.drift.stattest: unknown test `kss`; expected one of auto, ks,"
        ),
        "{finding}"
    );
    // The drift check still runs, with the policy's settings.
    let drift_check = outcome.check("a", "drift");
    assert_ne!(drift_check["status"], "skipped", "{drift_check}");
}
