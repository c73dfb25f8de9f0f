//! Metrics against scikit-learn on real (breast cancer, wine) and generated rows.

use modelgate_core::predictions::{Metric, Rows, compute_metrics, compute_selected};

use super::fixtures::{CASES, Case, case, close};

/// Every metric a case names, computed from its rows and compared with scikit-learn's.
fn check_metrics(case: &Case, rows: &Rows, expected: &serde_json::Value) -> f64 {
    let expected = expected.as_object().expect("metrics object");
    let metrics: Vec<Metric> = expected
        .keys()
        .map(|name| Metric::from_name(name).unwrap_or_else(|| panic!("unknown metric {name}")))
        .collect();
    let values = compute_selected(rows, &metrics).expect("valid rows");
    let mut worst: f64 = 0.0;
    for value in values {
        let what = format!("{} {}", case.name, value.metric);
        let expected_value = &expected[value.metric.name()];
        if expected_value.is_null() {
            assert!(
                value.value.is_none() && value.undefined.is_some(),
                "{what}: scikit-learn raises, so modelgate must say why it has no value: {value:?}"
            );
        }
        worst = worst.max(close(&what, value.value, expected_value));
    }
    worst
}

#[test]
fn metrics_match_scikit_learn_on_every_case() {
    let mut worst: f64 = 0.0;
    for name in CASES {
        let case = case(name);
        worst = worst.max(check_metrics(
            &case,
            &case.rows(),
            case.expected("/expected/metrics"),
        ));
        if !case.json["base"].is_null() {
            worst = worst.max(check_metrics(
                &case,
                &case.base_rows(),
                case.expected("/base/expected_metrics"),
            ));
        }
    }
    // Shown with `cargo test -- --nocapture`; the report quotes it.
    println!("worst difference from scikit-learn: {worst:e}");
}

#[test]
fn predictions_derived_from_probabilities_match_the_classifier() {
    // scikit-learn's LogisticRegression predicts the positive class when its probability
    // is above 0.5, so the fixture's predictions are what modelgate derives from scores.
    let case = case("breast_cancer_binary");
    let mut rows = case.rows();
    let with_predictions = compute_metrics(&rows).expect("valid");
    if let Rows::Binary(classification) = &mut rows {
        classification.predictions = None;
    }
    assert_eq!(compute_metrics(&rows).expect("valid"), with_predictions);

    let case = super::fixtures::case("wine_multiclass");
    let mut rows = case.rows();
    let with_predictions = compute_metrics(&rows).expect("valid");
    if let Rows::Multiclass(classification) = &mut rows {
        classification.predictions = None;
    }
    assert_eq!(compute_metrics(&rows).expect("valid"), with_predictions);
}

#[test]
fn each_task_reports_its_default_metrics() {
    let names = |name: &str| -> Vec<&'static str> {
        compute_metrics(&case(name).rows())
            .expect("valid")
            .iter()
            .map(|value| value.metric.name())
            .collect()
    };
    assert_eq!(
        names("generated_binary"),
        [
            "accuracy",
            "balanced_accuracy",
            "precision",
            "recall",
            "f1",
            "roc_auc",
            "log_loss",
            "brier"
        ]
    );
    assert!(names("wine_multiclass").contains(&"f1_macro"));
    assert_eq!(
        names("generated_regression"),
        ["mse", "rmse", "mae", "r2", "mape"]
    );
}

#[test]
fn undefined_metrics_say_why() {
    let one_class = compute_metrics(&case("one_class_binary").rows()).expect("valid");
    let auc = one_class
        .iter()
        .find(|v| v.metric == Metric::RocAuc)
        .expect("roc_auc");
    assert_eq!(auc.value, None);
    assert_eq!(
        auc.undefined.as_deref(),
        Some("only one class present in column `label`: roc_auc is not defined")
    );

    let absent = compute_metrics(&case("generated_multiclass_absent_class").rows()).expect("valid");
    let auc = absent
        .iter()
        .find(|v| v.metric == Metric::RocAuc)
        .expect("roc_auc");
    assert!(
        auc.undefined
            .as_deref()
            .is_some_and(|reason| reason.contains("class `d`")),
        "{auc:?}"
    );

    // A regression metric of a classifier, a binary metric of a multiclass task.
    let values = compute_selected(
        &case("wine_multiclass").rows(),
        &[Metric::Mae, Metric::F1, Metric::Brier],
    )
    .expect("valid");
    assert!(values.iter().all(|v| v.value.is_none()));
    assert!(
        values[1]
            .undefined
            .as_deref()
            .is_some_and(|r| r.contains("macro"))
    );
}

#[test]
fn metric_values_serialize_with_their_names() {
    let values = compute_selected(
        &case("one_class_binary").rows(),
        &[Metric::F1, Metric::RocAuc],
    )
    .expect("valid");
    let json = serde_json::to_value(&values).expect("serializable");
    assert_eq!(json[0]["metric"], "f1");
    assert!(json[0].get("undefined").is_none());
    assert_eq!(json[1]["value"], serde_json::Value::Null);
}
