//! `modelgate history`: which version held a stage when, and who approved it, from GTO's
//! stage tags and the audit ledger.

use crate::support::{FULL_BODY, TestRepo, card, modelgate, write};

/// An annotated tag as GTO writes it, by `who` at `when` (seconds since the epoch).
fn gto_tag(repo: &TestRepo, name: &str, commit: &str, who: &str, when: i64) {
    let git = git2::Repository::open(repo.path()).expect("open");
    let signature = git2::Signature::new(who, "gto@example.invalid", &git2::Time::new(when, 0))
        .expect("signature");
    let target = git
        .find_object(git2::Oid::from_str(commit).expect("sha"), None)
        .expect("commit");
    git.tag(name, &target, &signature, name, false)
        .expect("tag");
}

/// 2026-02-01, 2026-02-10 and 2026-02-20 at noon UTC.
const FEB_1: i64 = 1_769_947_200;
const FEB_10: i64 = 1_770_724_800;
const FEB_20: i64 = 1_771_588_800;

#[test]
fn history_at_a_date_names_the_version_in_the_stage_and_its_approvers_across_an_unassignment() {
    let mut repo = TestRepo::new();
    let first = repo.commit(
        "main",
        None,
        &[
            write(
                "models/m/card.md",
                card("low", "version: 1.0.0\n", FULL_BODY),
            ),
            write("models/m/metrics.json", r#"{"auc": 0.80}"#),
        ],
    );
    let card_v2 = card("low", "version: 1.1.0\n", FULL_BODY);
    let second = repo.merge_and_record(
        1,
        "pr1",
        &[
            write("models/m/card.md", &card_v2),
            write("models/m/metrics.json", r#"{"auc": 0.81}"#),
        ],
        0,
    );
    gto_tag(&repo, "m#prod#1", &first, "Dana", FEB_1);
    gto_tag(&repo, "m#prod#2", &second, "Gil", FEB_10);
    gto_tag(&repo, "m#prod!#3", &second, "Dana", FEB_20);
    let path = repo.path();
    let repo_arg = path.to_str().expect("utf-8");
    let at = |when: &str| {
        let outcome = modelgate(&[
            "history", "--repo", repo_arg, "--model", "m", "--stage", "prod", "--at", when,
            "--format", "json",
        ]);
        assert_eq!(outcome.code, 0, "{}", outcome.stderr);
        outcome.json()["stages"][0]["held_by"].clone()
    };

    let early = at("2026-02-05");
    assert_eq!(early["version"], "1.0.0");
    assert_eq!(early["commit"], first.as_str());
    assert_eq!(early["by"], "Dana");
    assert!(
        early["decision"].is_null(),
        "the first version has no recorded decision"
    );

    let middle = at("2026-02-10");
    assert_eq!(middle["version"], "1.1.0", "assigned that day counts");
    assert_eq!(middle["commit"], second.as_str());
    assert_eq!(middle["time"], "2026-02-10T12:00:00Z");
    assert_eq!(middle["by"], "Gil");
    assert_eq!(middle["decision"]["sequence"], 1);
    assert_eq!(middle["decision"]["conclusion"], "pass");
    assert_eq!(middle["decision"]["approvers"], serde_json::json!(["bob"]));
    assert_eq!(at("2026-02-10T11:59:59Z")["version"], "1.0.0");

    assert!(
        at("2026-02-25").is_null(),
        "unassigned on Feb 20: nothing holds prod"
    );

    let text = modelgate(&[
        "history",
        "--repo",
        repo_arg,
        "--model",
        "m",
        "--at",
        "2026-02-15",
    ]);
    assert_eq!(
        text.stdout,
        format!(
            "prod at 2026-02-15: 2026-02-10T12:00:00Z assigned by Gil: version 1.1.0 (commit {}); decision #1 (PR #1) pass, approved by bob\n",
            &second[..10]
        )
    );
    let timeline = modelgate(&["history", "--repo", repo_arg, "--model", "m"]);
    assert_eq!(timeline.code, 0, "{}", timeline.stderr);
    let lines: Vec<&str> = timeline.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", timeline.stdout);
    assert_eq!(lines[0], "prod:");
    assert!(
        lines[3].contains("unassigned by Dana: version 1.1.0"),
        "{}",
        lines[3]
    );

    let bad = modelgate(&[
        "history", "--repo", repo_arg, "--model", "m", "--at", "soon",
    ]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("expected a date (2026-01-31)"),
        "{}",
        bad.stderr
    );
    let unknown = modelgate(&[
        "history", "--repo", repo_arg, "--model", "m", "--stage", "qa",
    ]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("its stages: prod"),
        "{}",
        unknown.stderr
    );

    // The model page shows the stage timeline.
    let out = repo.build_site(&[]);
    let page = std::fs::read_to_string(out.join("models/m/index.html")).expect("model page");
    assert!(page.contains("<h2 id=\"stages-h\">Stages</h2>"), "{page}");
    assert!(page.contains("No version holds this stage now."), "{page}");
    assert_eq!(page.matches("(m#prod").count(), 3, "{page}");
}
