//! `modelgate site build` end to end: the binary on a real repository.

use crate::support::{TestRepo, card, modelgate, write};

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
