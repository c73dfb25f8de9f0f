//! The audit ledger in git notes: recording, verifying, and every kind of tampering.

use crate::support::{FULL_BODY, Outcome, TestRepo, card, modelgate, write};

const NOTES_REF: &str = "refs/notes/modelgate";

/// A repository with three merged pull requests, each recorded; returns the merge commits.
fn ledger_of_three() -> (TestRepo, Vec<String>) {
    let mut repo = TestRepo::new();
    repo.commit(
        "main",
        None,
        &[
            write(
                "models/m/card.md",
                card("low", "version: 1.0.0\n", FULL_BODY),
            ),
            write("models/m/metrics.json", "{\"auc\": 0.80}"),
        ],
    );
    let mut merges = Vec::new();
    for (n, auc) in [(1, "0.81"), (2, "0.82"), (3, "0.83")] {
        let branch = format!("pr{n}");
        let metrics = format!("{{\"auc\": {auc}}}");
        let merge =
            repo.merge_and_record(n, &branch, &[write("models/m/metrics.json", &metrics)], 0);
        merges.push(merge);
    }
    (repo, merges)
}

fn verify(repo: &TestRepo) -> Outcome {
    let path = repo.path();
    modelgate(&["audit", "verify", "--repo", path.to_str().expect("utf-8")])
}

fn notes(repo: &TestRepo) -> git2::Repository {
    git2::Repository::open(repo.path()).expect("open")
}

fn note_text(git: &git2::Repository, commit: &str) -> String {
    let oid = git2::Oid::from_str(commit).expect("sha");
    git.find_note(Some(NOTES_REF), oid)
        .expect("note")
        .message()
        .expect("utf-8")
        .to_owned()
}

fn overwrite(git: &git2::Repository, commit: &str, text: &str) {
    let signature = git2::Signature::now("mallory", "mallory@example.invalid").expect("signature");
    let oid = git2::Oid::from_str(commit).expect("sha");
    git.note(&signature, &signature, Some(NOTES_REF), oid, text, true)
        .expect("overwrite note");
}

fn problems(outcome: &Outcome) -> Vec<String> {
    assert_eq!(
        outcome.code, 1,
        "tampering must fail verification:\n{}",
        outcome.stdout
    );
    outcome
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("problem: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn an_intact_ledger_verifies_and_logs() {
    let (repo, merges) = ledger_of_three();
    let outcome = verify(&repo);
    assert_eq!(
        (outcome.code, outcome.stdout.as_str()),
        (
            0,
            format!(
                "3 record(s); the ledger is intact; no control exception in 3 commit(s) of HEAD since the first record ({})\n",
                &merges[0][..10]
            )
            .as_str()
        )
    );

    let path = repo.path();
    let log = modelgate(&[
        "audit",
        "log",
        "--repo",
        path.to_str().expect("utf-8"),
        "--model",
        "m",
        "--format",
        "json",
    ]);
    let records: serde_json::Value = serde_json::from_str(&log.stdout).expect("json");
    assert_eq!(records.as_array().map(Vec::len), Some(3));
    assert_eq!(records[0]["schema"], "modelgate.audit/v1");
    assert_eq!(records[2]["commit"], merges[2].as_str());
    assert_eq!(records[2]["pr"], 3);
    assert_eq!(records[2]["models"][0]["version"], "1.0.0");
    assert!(records[0]["previous"].is_null());
    assert_eq!(records[1]["previous"].as_str().map(str::len), Some(64));
    let other = modelgate(&[
        "audit",
        "log",
        "--repo",
        path.to_str().expect("utf-8"),
        "--model",
        "nope",
        "--format",
        "json",
    ]);
    assert_eq!(other.stdout.trim(), "[]");
    let text = modelgate(&["audit", "log", "--repo", path.to_str().expect("utf-8")]);
    assert!(text.stdout.starts_with("#1 "), "{}", text.stdout);
    assert!(
        text.stdout
            .contains("PR #3 tier low pass: m 1.0.0; approved by bob"),
        "{}",
        text.stdout
    );

    // Recording the same report again is a no-op; a different report on the same commit is refused.
    let report = repo.scratch("report3.json");
    let again = modelgate(&[
        "audit",
        "record",
        "--repo",
        path.to_str().expect("utf-8"),
        "--commit",
        &merges[2],
        "--report",
        report.to_str().expect("utf-8"),
    ]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let other_report = repo.scratch("report1.json");
    let clash = modelgate(&[
        "audit",
        "record",
        "--repo",
        path.to_str().expect("utf-8"),
        "--commit",
        &merges[2],
        "--report",
        other_report.to_str().expect("utf-8"),
    ]);
    assert_eq!(clash.code, 2);
    assert!(
        clash.stderr.contains("already has audit record #3"),
        "{}",
        clash.stderr
    );
}

#[test]
fn an_edited_note_is_detected() {
    let (repo, merges) = ledger_of_three();
    let git = notes(&repo);
    let edited =
        note_text(&git, &merges[1]).replace("\"conclusion\": \"pass\"", "\"conclusion\": \"fail\"");
    overwrite(&git, &merges[1], &edited);
    let found = problems(&verify(&repo));
    assert!(
        found
            .iter()
            .any(|p| p.contains("record #2") && p.contains("altered")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("record #3 does not link to record #2")),
        "{found:?}"
    );
}

#[test]
fn a_deleted_note_is_detected() {
    let (repo, merges) = ledger_of_three();
    let git = notes(&repo);
    let signature = git2::Signature::now("mallory", "mallory@example.invalid").expect("signature");
    git.note_delete(
        git2::Oid::from_str(&merges[1]).expect("sha"),
        Some(NOTES_REF),
        &signature,
        &signature,
    )
    .expect("delete");
    let found = problems(&verify(&repo));
    assert!(
        found.contains(&"record #2 is missing: removed".to_owned()),
        "{found:?}"
    );
}

#[test]
fn swapped_notes_are_detected() {
    let (repo, merges) = ledger_of_three();
    let git = notes(&repo);
    let (first, second) = (note_text(&git, &merges[0]), note_text(&git, &merges[1]));
    overwrite(&git, &merges[0], &second);
    overwrite(&git, &merges[1], &first);
    let found = problems(&verify(&repo));
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("record #1 names commit") && p.ends_with("moved or swapped")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("record #2 names commit") && p.ends_with("moved or swapped")),
        "{found:?}"
    );
}

#[test]
fn a_forged_record_with_a_wrong_previous_digest_is_detected() {
    let (mut repo, merges) = ledger_of_three();
    let forged_commit = repo.commit("main", None, &[write("README.md", "forged\n")]);
    let git = notes(&repo);
    // A well-formed record #4 with a correct digest of its own, but a made-up link.
    let mut record: serde_json::Value =
        serde_json::from_str(&note_text(&git, &merges[2])).expect("json");
    record["sequence"] = 4.into();
    record["commit"] = forged_commit.clone().into();
    record["previous"] = "0".repeat(64).into();
    overwrite(&git, &forged_commit, &signed(record));
    let found = problems(&verify(&repo));
    assert_eq!(
        found,
        [
            "record #4 does not link to record #3: the earlier one was altered, or this one forged or reordered"
        ]
    );
}

/// A hand-edited note whose sha fields are not hex, with a multi-byte character where a
/// short form would cut (bytes 7, 10 and 12), and non-ASCII and control characters in the
/// other fields: `audit verify` names the record, `audit log` and `site build` show it
/// escaped; nothing panics (exit 101).
#[test]
fn a_note_with_non_hex_shas_and_non_ascii_text_is_reported_not_a_panic() {
    let (repo, merges) = ledger_of_three();
    let git = notes(&repo);
    let commit = "abcdefé1é…";
    assert!(
        [7, 10, 12].iter().all(|&cut| !commit.is_char_boundary(cut)),
        "every usual cut falls inside a character"
    );
    let mut record: serde_json::Value =
        serde_json::from_str(&note_text(&git, &merges[1])).expect("json");
    record["commit"] = commit.into();
    record["base"] = "bäse".into();
    record["previous"] = "ü".repeat(32).into();
    record["models"][0]["id"] = "modèle-ü".into();
    record["approvers"] = serde_json::json!([{"login": "zoë", "review_id": 7}]);
    record["accepted_risks"] = serde_json::json!([{
        "by": "zoë",
        "reason": "saisonnier — été\u{1b}[2J",
        "comment_id": 9,
        "checks": ["modèle-ü drift"],
    }]);
    overwrite(
        &git,
        &merges[1],
        &(serde_json::to_string_pretty(&record).expect("json") + "\n"),
    );

    let verified = verify(&repo);
    assert_ne!(verified.code, 101, "{}", verified.stderr);
    let found = problems(&verified);
    for (field, shown) in [
        ("commit", format!("{commit:?}")),
        ("base", "\"bäse\"".to_owned()),
        ("previous", format!("{:?}", "ü".repeat(32))),
    ] {
        let expected = format!(
            "record #2 on {}: its `{field}` {shown} is not a hex sha: altered",
            merges[1]
        );
        assert!(found.contains(&expected), "{expected}\nin {found:?}");
    }
    assert!(
        !found.iter().any(|p| p.contains("moved or swapped")),
        "a malformed commit is reported once: {found:?}"
    );

    let path = repo.path();
    let repo_arg = path.to_str().expect("utf-8");
    let log = modelgate(&["audit", "log", "--repo", repo_arg]);
    assert_eq!(log.code, 0, "{}", log.stderr);
    let line = log
        .stdout
        .lines()
        .find(|l| l.starts_with("#2 "))
        .unwrap_or_else(|| panic!("record #2 in the log:\n{}", log.stdout));
    assert_eq!(
        line,
        format!("#2 {commit:?} PR #2 tier low pass: modèle-ü 1.0.0; approved by zoë")
    );
    assert!(
        log.stdout
            .contains("    risk accepted by zoë: saisonnier — été\\u{1b}[2J (modèle-ü drift)\n"),
        "a terminal escape is shown escaped:\n{}",
        log.stdout
    );
    assert!(
        log.stdout
            .ends_with("the ledger is NOT intact: run `modelgate audit verify`\n"),
        "{}",
        log.stdout
    );
    let json_log = modelgate(&["audit", "log", "--repo", repo_arg, "--format", "json"]);
    assert_eq!(json_log.code, 0, "{}", json_log.stderr);
    assert_eq!(json_log.json()[1]["commit"], commit);

    let out = repo.scratch("site");
    let site = modelgate(&[
        "site",
        "build",
        "--repo",
        repo_arg,
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(site.code, 0, "{}", site.stderr);
    let audit = std::fs::read_to_string(out.join("audit.html")).expect("audit page");
    assert!(audit.contains("is <strong>not intact</strong>"), "{audit}");
    assert!(
        audit.contains(&format!(
            "record #2 on {}: its `commit` &quot;{commit}&quot; is not a hex sha: altered",
            merges[1]
        )),
        "{audit}"
    );
    assert!(
        audit.contains(&format!("commit <code>&quot;{commit}&quot;</code>")),
        "the record shows its commit whole: {audit}"
    );
    assert!(audit.contains("zoë"), "{audit}");

    // Nor does `audit record` write such a record from a report file.
    let mut report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.scratch("report1.json")).expect("report"))
            .expect("json");
    report["base"] = "bäse".into();
    let edited = repo.scratch("edited-report.json");
    std::fs::write(&edited, report.to_string()).expect("write");
    let refused = modelgate(&[
        "audit",
        "record",
        "--repo",
        repo_arg,
        "--commit",
        "main",
        "--report",
        edited.to_str().expect("utf-8"),
    ]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("`base` is \"bäse\": expected the commit's full hex sha"),
        "{}",
        refused.stderr
    );
}

/// The scenario: a recorded passing merge, then a merge with no record, then a
/// recorded merge whose decision failed (AUC fell below the policy's tolerance).
fn passing_unrecorded_and_failing_merges() -> (TestRepo, [String; 3]) {
    let mut repo = TestRepo::new();
    repo.commit(
        "main",
        None,
        &[
            write(
                "models/m/card.md",
                card("medium", "version: 1.0.0\n", FULL_BODY),
            ),
            write("models/m/metrics.json", "{\"auc\": 0.80}"),
        ],
    );
    let passing = repo.merge_and_record(
        1,
        "pr1",
        &[write("models/m/metrics.json", "{\"auc\": 0.81}")],
        0,
    );
    let unrecorded = repo.commit(
        "main",
        None,
        &[write("models/m/metrics.json", "{\"auc\": 0.82}")],
    );
    let failing = repo.merge_and_record(
        3,
        "pr3",
        &[write("models/m/metrics.json", "{\"auc\": 0.60}")],
        1,
    );
    (repo, [passing, unrecorded, failing])
}

#[test]
fn verify_lists_the_unrecorded_and_the_failing_merge_and_the_site_opens_with_them() {
    let (repo, [_passing, unrecorded, failing]) = passing_unrecorded_and_failing_merges();
    let path = repo.path();
    let repo_arg = path.to_str().expect("utf-8");

    let json = modelgate(&["audit", "verify", "--repo", repo_arg, "--format", "json"]);
    assert_eq!(
        json.code, 1,
        "exceptions fail verification:\n{}",
        json.stdout
    );
    let audit = json.json();
    assert_eq!(audit["intact"], true);
    let exceptions = audit["exceptions"].as_array().expect("exceptions[]");
    let found: Vec<(&str, &str)> = exceptions
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default(),
                e["commit"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("unrecorded", unrecorded.as_str()),
            ("failed", failing.as_str())
        ],
        "{exceptions:#?}"
    );
    for exception in exceptions {
        assert_eq!(exception["models"], serde_json::json!(["m"]));
        assert!(exception["summary"].as_str().is_some_and(|s| !s.is_empty()));
    }
    assert!(
        exceptions[1]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("no risk was accepted") && s.contains("m regression")),
        "{}",
        exceptions[1]["summary"]
    );

    let text = modelgate(&["audit", "verify", "--repo", repo_arg, "--rev", "main"]);
    assert_eq!(text.code, 1);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", text.stdout);
    assert!(lines[0].starts_with(&format!("exception: unrecorded {}: ", &unrecorded[..10])));
    assert!(lines[1].starts_with(&format!("exception: failed {}: record #2", &failing[..10])));
    assert_eq!(
        lines[2],
        "2 record(s); the ledger is intact; 2 control exception(s) in 3 commit(s) of main since the first record ("
            .to_owned()
            + &_passing[..10]
            + ")"
    );

    // The site: the audit page opens with the exceptions, the model page shows its own, and
    // the failing merge's evidence page shows its report.
    let out = repo.build_site(&[]);
    let audit_page = std::fs::read_to_string(out.join("audit.html")).expect("audit page");
    let first_exception = audit_page
        .find("exception-unrecorded")
        .expect("unrecorded shown");
    assert!(
        audit_page.contains("2 control exceptions</strong>"),
        "{audit_page}"
    );
    assert!(
        first_exception < audit_page.find("Periodic reviews").expect("reviews")
            && first_exception < audit_page.find("Decisions, newest first").expect("records"),
        "the exceptions come first"
    );
    assert!(audit_page.contains("exception-failed"));
    assert!(
        audit_page.contains("href=\"audit&#x2F;record-2.html\""),
        "{audit_page}"
    );
    let model_page = std::fs::read_to_string(out.join("models/m/index.html")).expect("model page");
    assert!(model_page.contains("Control exceptions"), "{model_page}");
    assert_eq!(
        model_page
            .matches("<span class=\"status exception-")
            .count(),
        2
    );

    let evidence = std::fs::read_to_string(out.join("audit/record-2.html")).expect("evidence");
    for shown in [
        "full report the pull request saw",
        "<span class=\"status status-fail\">fail</span>",
        "0.8200",
        "0.6000",
        "max_drop_pct 2 (policy)",
        "Merged despite a failing decision",
        "every requirement met",
        "bob",
    ] {
        assert!(evidence.contains(shown), "{shown} in\n{evidence}");
    }
    let version_key = &failing[..12];
    let version_page =
        std::fs::read_to_string(out.join(format!("models/m/{version_key}/index.html")))
            .expect("version page");
    assert!(
        version_page.contains("href=\"..&#x2F;..&#x2F;..&#x2F;audit&#x2F;record-2.html\""),
        "the version links to the evidence of the decision that produced it"
    );
}

/// A record's digest covers its kept report; a record written before reports were kept
/// still verifies, and its evidence page says what is known.
#[test]
fn kept_evidence_is_covered_by_the_digest_and_old_records_still_verify() {
    let (repo, merges) = ledger_of_three();
    let git = notes(&repo);
    let mut record: serde_json::Value =
        serde_json::from_str(&note_text(&git, &merges[2])).expect("json");
    assert_eq!(record["evidence"]["encoding"], "gzip+base64");
    assert!(record["evidence"]["pr_facts"].is_string());

    // Another report swapped in, digest recomputed: the kept report no longer matches.
    let mut swapped = record.clone();
    swapped["evidence"]["report"] = note_record(&git, &merges[0])["evidence"]["report"].clone();
    overwrite(&git, &merges[2], &signed(swapped));
    let found = problems(&verify(&repo));
    assert_eq!(
        found,
        [format!(
            "record #3 on {}: its kept report does not match its report_sha256: altered",
            merges[2]
        )]
    );

    // The same record as an older modelgate wrote it: no evidence at all.
    record
        .as_object_mut()
        .expect("object")
        .shift_remove("evidence");
    overwrite(&git, &merges[2], &signed(record));
    let outcome = verify(&repo);
    assert_eq!(outcome.code, 0, "{}", outcome.stdout);

    let out = repo.build_site(&[]);
    let old = std::fs::read_to_string(out.join("audit/record-3.html")).expect("evidence page");
    assert!(
        old.contains("written before modelgate kept reports"),
        "{old}"
    );
    let kept = std::fs::read_to_string(out.join("audit/record-2.html")).expect("evidence page");
    assert!(
        kept.contains("The pull request's facts, as judged"),
        "{kept}"
    );
    assert!(kept.contains("0.8200"), "{kept}");
}

fn note_record(git: &git2::Repository, commit: &str) -> serde_json::Value {
    serde_json::from_str(&note_text(git, commit)).expect("json")
}

/// The note of `record` with its digest recomputed, as a forger with the format would.
fn signed(mut record: serde_json::Value) -> String {
    use sha2::Digest;
    record["digest"] = "".into();
    let unsigned = serde_json::to_string_pretty(&record).expect("json") + "\n";
    let digest: String = sha2::Sha256::digest(unsigned.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    record["digest"] = digest.into();
    serde_json::to_string_pretty(&record).expect("json") + "\n"
}
