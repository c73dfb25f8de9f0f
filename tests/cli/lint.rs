//! `modelgate lint` lists every problem of a revision in one run.

use crate::support::{FULL_BODY, TestRepo, card, write};

#[test]
fn lint_reports_every_error_in_one_run() {
    let mut repo = TestRepo::new();
    let hub_problems = "---\nlicense: apache-2\nmodel-index:\n  - name: m\n    results:\n      - task: {type: text-classification}\n        metrics:\n          - {type: accuracy}\n---\n# M\n";
    repo.commit(
        "main",
        None,
        &[
            write(
                ".github/modelgate.yml",
                "default_tier: critical\ntiers:\n  low: {approvals: 1}\n",
            ),
            write("models/syntax/card.md", "---\nowners: [a\n---\n"),
            write("models/hub/card.md", hub_problems),
            write("models/tier/card.md", card("medium", "", FULL_BODY)),
            write("models/tier/metrics.json", "{\"auc\": \"high\"}"),
            write("models/nocard/metrics.json", "{}"),
            write("models/fine/card.md", card("low", "", FULL_BODY)),
        ],
    );
    // The policy is invalid, so cards are checked against the default tiers meanwhile.
    let outcome = repo.lint("main");
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    let errors: Vec<&str> = outcome
        .stdout
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    let expected = [
        ".github/modelgate.yml:1:15: default_tier `critical` is not a tier",
        "models/hub/card.md:2:10: license `apache-2` is not a Hugging Face Hub license id",
        "models/hub/card.md:6:9: model-index: missing `dataset.type`",
        "models/hub/card.md:6:9: model-index: missing `dataset.name`",
        "models/hub/card.md:8:13: model-index: missing `metrics[].value`",
        "models/nocard: model folder has no card.md",
        "models/syntax/card.md:2:9: unclosed bracket '['",
        "models/tier/metrics.json:1:",
    ];
    for (want, got) in expected.iter().zip(&errors) {
        assert!(
            got.starts_with(&format!("error: {want}")),
            "expected `{want}`, got `{got}`\n{}",
            outcome.stdout
        );
    }
    assert_eq!(errors.len(), expected.len(), "{}", outcome.stdout);
    assert!(
        outcome
            .stdout
            .ends_with("5 model(s) at main: 8 error(s), 1 warning(s)\n"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn a_clean_repository_lints_clean() {
    let mut repo = TestRepo::new();
    repo.commit(
        "main",
        None,
        &[write(
            "models/a/card.md",
            card("high", "license: mit\n", FULL_BODY),
        )],
    );
    let outcome = repo.lint("main");
    assert_eq!(
        (outcome.code, outcome.stdout.as_str()),
        (0, "1 model(s) at main: 0 error(s), 0 warning(s)\n")
    );
}

const STATTESTS: &str = "auto, ks, chisquare, z, wasserstein, jensenshannon, psi, kl_div, hellinger, anderson, cramer_von_mises, mannw, t_test, energy_dist";

fn errors(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect()
}

#[test]
fn bad_drift_settings_of_the_policy_are_reported_at_their_values() {
    let mut repo = TestRepo::new();
    let policy = "default_tier: medium\ndrift:\n  stattest: kss\n  compat: pandas\n  columns:\n    age: {threshold: -1}\n";
    repo.commit(
        "main",
        None,
        &[
            write(".github/modelgate.yml", policy),
            write("models/a/card.md", card("medium", "", FULL_BODY)),
        ],
    );
    let outcome = repo.lint("main");
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    assert_eq!(
        errors(&outcome.stdout),
        [
            format!(
                "error: .github/modelgate.yml:3:13: drift.stattest: unknown test `kss`; expected one of {STATTESTS}"
            )
            .as_str(),
            "error: .github/modelgate.yml:4:11: drift.compat: unknown mode `pandas`; expected one of calibrated, evidently",
            "error: .github/modelgate.yml:6:22: drift.columns.age.threshold: -1 is not a threshold; expected a finite number >= 0",
        ],
        "{}",
        outcome.stdout
    );
}

#[test]
fn bad_drift_settings_of_a_card_are_reported_at_their_values() {
    let mut repo = TestRepo::new();
    let card_text = format!(
        "---\nowners: [\"@acme/ml\"]\ngovernance:\n  risk_tier: high\n  drift:\n    stattest: kolmogorov\n    drift_share: 0\n    columns: {{age: {{stattest: ed}}}}\n---\n{FULL_BODY}"
    );
    repo.commit(
        "main",
        None,
        &[
            write("models/a/card.md", card_text),
            // A valid block, with Evidently's alias of energy_dist, lints clean.
            write(
                "models/b/card.md",
                format!(
                    "---\nowners: [\"@acme/ml\"]\ngovernance:\n  risk_tier: low\n  drift: {{stattest: ed, compat: evidently, drift_share: 1}}\n---\n{FULL_BODY}"
                ),
            ),
        ],
    );
    let outcome = repo.lint("main");
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    assert_eq!(
        errors(&outcome.stdout),
        [
            format!(
                "error: models/a/card.md:6:15: governance.drift.stattest: unknown test `kolmogorov`; expected one of {STATTESTS}"
            )
            .as_str(),
            "error: models/a/card.md:7:18: governance.drift.drift_share: 0 is not a share of columns; expected a number in (0, 1]",
        ],
        "{}",
        outcome.stdout
    );
    assert!(
        outcome
            .stdout
            .ends_with("2 model(s) at main: 2 error(s), 0 warning(s)\n"),
        "{}",
        outcome.stdout
    );
}
