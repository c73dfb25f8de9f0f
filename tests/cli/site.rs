//! `modelgate site build` end to end: the binary on a real repository.

use crate::support::{FULL_BODY, TestRepo, card, modelgate, write};

#[test]
fn site_build_writes_the_pages_and_refuses_a_foreign_folder() {
    let mut repo = TestRepo::new();
    repo.commit(
        "main",
        None,
        &[
            write(
                "models/fraud/card.md",
                card("high", "version: 1.0.0\n", "# Fraud\n"),
            ),
            write("models/fraud/metrics.json", r#"{"auc": 0.9}"#),
        ],
    );
    repo.commit(
        "main",
        None,
        &[write("models/fraud/metrics.json", r#"{"auc": 0.91}"#)],
    );
    let out = repo.scratch("site");
    let path = repo.path();
    let outcome = modelgate(&[
        "site",
        "build",
        "--repo",
        path.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--base-url",
        "https://acme.github.io/models",
    ]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert!(
        outcome.stdout.contains("for 1 models, 2 versions"),
        "{}",
        outcome.stdout
    );
    let index: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("models.json")).expect("models.json"),
    )
    .expect("json");
    assert_eq!(
        index["models"][0]["url"],
        "https://acme.github.io/models/models/fraud/index.html"
    );
    assert_eq!(index["models"][0]["versions"], 2);

    let foreign = repo.scratch("foreign");
    std::fs::create_dir_all(&foreign).expect("dir");
    std::fs::write(foreign.join("notes.txt"), "mine").expect("write");
    let refused = modelgate(&[
        "site",
        "build",
        "--repo",
        path.to_str().expect("utf-8"),
        "--out",
        foreign.to_str().expect("utf-8"),
    ]);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("not a site built by modelgate"),
        "{}",
        refused.stderr
    );
    assert!(
        foreign.join("notes.txt").exists(),
        "nothing of the user's is deleted"
    );
}

const ANNEX_IV_POLICY: &str = "tiers:\n  low: {approvals: 1}\n  high:\n    approvals: 1\n    block_on: [card]\n    documentation: eu-ai-act-annex-iv\n";

/// A high-tier card with every Annex IV section but "Human oversight", two under an
/// accepted alias (`Intended use`, `Evaluation`).
const ANNEX_IV_BODY_WITHOUT_OVERSIGHT: &str = "# Credit\n\n## Intended use\n\nScores loan applications for the credit team.\n\nSecond paragraph.\n\n## Development process\n\nGradient boosting, tuned by cross-validation.\n\n## Data\n\nApplications 2019–2024.\n\n## Pre-determined changes\n\nMonthly retraining on new applications.\n\n## Evaluation\n\nHeld-out 2024 applications.\n\n## Accuracy, robustness and cybersecurity\n\nAUC above 0.75; inputs validated.\n\n## Risk management\n\nReviewed quarterly by model risk.\n\n## Post-market monitoring plan\n\nDrift checked weekly.\n\n## Standards applied\n\nISO/IEC 23894.\n";

fn read(path: std::path::PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn annex_iv_preset_names_the_missing_section_and_the_documentation_marks_it() {
    let mut repo = TestRepo::new();
    repo.commit(
        "main",
        None,
        &[
            write(".github/modelgate.yml", ANNEX_IV_POLICY),
            write(
                "models/credit/card.md",
                card("high", "version: 1.0.0\n", ANNEX_IV_BODY_WITHOUT_OVERSIGHT),
            ),
            write("models/credit/metrics.json", r#"{"auc": 0.80}"#),
        ],
    );
    let head = repo.commit(
        "pr",
        Some("main"),
        &[write("models/credit/metrics.json", r#"{"auc": 0.81}"#)],
    );
    let outcome = repo.check("main", "pr");
    assert_eq!(
        outcome.code, 1,
        "the card check blocks:\n{}",
        outcome.stdout
    );
    let check = outcome.check("credit", "card");
    assert_eq!(check["status"], "fail");
    let findings: Vec<&str> = check["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    assert_eq!(
        findings,
        [
            "models/credit/card.md: required section `Human oversight` is missing (tier high, eu-ai-act-annex-iv point 2(e); also accepted: `Human oversight measures`)"
        ],
        "only the missing section is named; the aliases count"
    );
    let sections = check["sections"].as_array().expect("sections");
    assert_eq!(sections.len(), 10);

    let out = repo.build_site(&["--rev", "pr"]);
    let dir = out.join(format!("models/credit/{}", &head[..12]));
    let html = read(dir.join("technical-documentation.html"));
    let points = [
        "1(a)",
        "2(a)–(c)",
        "2(d)",
        "2(e)",
        "2(f)",
        "2(g)",
        "2(h), 3",
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
    ];
    let positions: Vec<usize> = points
        .iter()
        .map(|p| {
            html.find(&format!("Annex IV point {p}:"))
                .unwrap_or_else(|| panic!("point {p} in\n{html}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "in Annex IV's order"
    );
    let oversight = &html[positions[3]..positions[4]];
    assert!(
        oversight.contains("<span class=\"status missing\">missing</span>")
            && oversight.contains("the card has no “Human oversight” section"),
        "{oversight}"
    );
    assert!(html.contains("Scores loan applications for the credit team."));
    assert!(
        html.contains("From the card&#x27;s section “Intended use”")
            || html.contains("From the card's section “Intended use”"),
        "{html}"
    );
    let markdown = read(dir.join("technical-documentation.md"));
    assert!(
        markdown.contains("## Annex IV point 2(e): Human oversight\n\n**Missing**: the card has no “Human oversight” section."),
        "{markdown}"
    );
    let version_page = read(dir.join("index.html"));
    assert!(
        version_page.contains("href=\"technical-documentation.html\""),
        "{version_page}"
    );
}

#[test]
fn inventory_has_a_row_per_model_with_the_documented_columns() {
    let mut repo = TestRepo::new();
    repo.commit(
        "main",
        None,
        &[
            write(".github/modelgate.yml", ANNEX_IV_POLICY),
            write(
                "models/m/card.md",
                card("low", "version: 1.0.0\n", FULL_BODY),
            ),
            write("models/m/metrics.json", r#"{"auc": 0.80}"#),
            write(
                "models/credit/card.md",
                card("high", "version: 3.0.0\n", ANNEX_IV_BODY_WITHOUT_OVERSIGHT),
            ),
        ],
    );
    repo.merge_and_record(
        1,
        "pr1",
        &[write("models/m/metrics.json", r#"{"auc": 0.81}"#)],
        0,
    );

    let out = repo.build_site(&[]);
    let csv = read(out.join("inventory.csv"));
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "model,tier,owners,status,latest_version,last_change,last_review,next_review_due,intended_use,approvers,documentation_complete"
    );
    assert_eq!(lines.len(), 3, "a header and a row per model:\n{csv}");
    assert!(
        lines[1].starts_with("credit,high,'@acme/ml,active,3.0.0,")
            && lines[1].ends_with(",Scores loan applications for the credit team.,,false"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("m,low,'@acme/ml,active,1.0.0,")
            && lines[2].ends_with(",Scoring.,bob,true"),
        "{}",
        lines[2]
    );

    let json: serde_json::Value =
        serde_json::from_str(&read(out.join("inventory.json"))).expect("json");
    assert_eq!(json["schema"], "modelgate.site.inventory/v1");
    let rows = json["models"].as_array().expect("models");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["owners"], serde_json::json!(["@acme/ml"]));
    assert_eq!(rows[1]["approvers"], serde_json::json!(["bob"]));
    assert_eq!(rows[1]["documentation_complete"], true);
    assert_eq!(rows[0]["documentation_complete"], false);
    let keys: Vec<&String> = rows[0].as_object().expect("row").keys().collect();
    assert_eq!(keys.len(), 11);
}
