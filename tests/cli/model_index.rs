//! A card's `model-index` results are the model's metrics when it has no metrics.json.

use crate::support::{FULL_BODY, TestRepo, card, write};

/// A medium-tier card with `model_index` and a card rule letting WER rise by 0.05.
fn card_with_wer_rule(model_index: &str) -> String {
    format!(
        "---\nowners: [\"@acme/ml\"]\n{model_index}governance:\n  risk_tier: medium\n  metrics:\n    wer: {{max_rise: 0.05}}\n---\n{FULL_BODY}"
    )
}

/// A Hub-style `model-index` with accuracy on two datasets and one WER.
fn index(arc_accuracy: f64, hellaswag_accuracy: f64, wer: f64) -> String {
    format!(
        "model-index:\n- name: acme-llm\n  results:\n  - task: {{type: text-generation}}\n    dataset: {{type: allenai/ai2_arc, name: ARC, split: test}}\n    metrics:\n    - {{type: accuracy, value: {arc_accuracy}}}\n  - task: {{type: text-generation}}\n    dataset: {{type: Rowan/hellaswag, name: HellaSwag, split: validation}}\n    metrics:\n    - {{type: accuracy, value: {hellaswag_accuracy}}}\n    - {{type: wer, value: {wer}}}\n"
    )
}

#[test]
fn a_pull_request_lowering_a_model_index_result_fails_the_regression_check() {
    let mut repo = TestRepo::new();
    repo.commit(
        "main",
        None,
        &[write(
            "models/llm/card.md",
            card_with_wer_rule(&index(0.61, 0.79, 0.20)),
        )],
    );
    // ARC accuracy drops 8% (the policy allows 2%), HellaSwag rises, WER (lower is better)
    // rises 0.01, within the card's max_rise.
    repo.commit(
        "pr",
        Some("main"),
        &[write(
            "models/llm/card.md",
            card_with_wer_rule(&index(0.56, 0.80, 0.21)),
        )],
    );
    let outcome = repo.check("main", "pr");
    assert_eq!(
        outcome.code, 1,
        "medium blocks on regression: {}",
        outcome.stdout
    );
    let regression = &outcome.model("llm")["checks"][0];
    assert_eq!(
        (regression["kind"].as_str(), regression["status"].as_str()),
        (Some("regression"), Some("fail"))
    );
    let metrics: Vec<(&str, &str, &str)> = regression["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap_or_default(),
                m["status"].as_str().unwrap_or_default(),
                m["source"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        metrics,
        [
            ("accuracy (allenai/ai2_arc, test)", "fail", "model-index"),
            (
                "accuracy (Rowan/hellaswag, validation)",
                "pass",
                "model-index"
            ),
            ("wer", "pass", "model-index"),
        ]
    );
    assert_eq!(regression["metrics"][2]["rule"]["source"], "card");
    assert_eq!(
        regression["summary"],
        "1 of 3 metric(s) regressed: accuracy (allenai/ai2_arc, test)"
    );
}

#[test]
fn metrics_json_wins_over_the_model_index_and_lint_reports_their_disagreement() {
    let mut repo = TestRepo::new();
    let model_index = "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n    dataset: {type: imdb, name: IMDB}\n    metrics:\n    - {type: accuracy, value: 0.9}\n    - {type: f1, value: 0.8}\n";
    repo.commit(
        "main",
        None,
        &[
            write("models/m/card.md", card("medium", model_index, FULL_BODY)),
            write("models/m/metrics.json", "{\"accuracy\": 0.91, \"f1\": 0.8}"),
        ],
    );
    let outcome = repo.lint("main");
    assert_eq!(
        outcome.code, 0,
        "a disagreement is a warning: {}",
        outcome.stdout
    );
    let warnings: Vec<&str> = outcome.lines_starting("warning: ");
    assert_eq!(
        warnings,
        [
            "warning: models/m/card.md:9:7: model-index gives accuracy = 0.9 but models/m/metrics.json gives 0.91; expected the same value in both (regressions are judged on models/m/metrics.json)"
        ],
        "{}",
        outcome.stdout
    );

    // The regression check reads metrics.json, not the card.
    repo.commit(
        "pr",
        Some("main"),
        &[write(
            "models/m/metrics.json",
            "{\"accuracy\": 0.92, \"f1\": 0.8}",
        )],
    );
    let outcome = repo.check("main", "pr");
    assert_eq!(outcome.code, 0, "{}", outcome.stdout);
    let accuracy = &outcome.model("m")["checks"][0]["metrics"][0];
    assert_eq!(accuracy["source"], "metrics.json");
    assert_eq!(accuracy["base"], 0.91);
}
