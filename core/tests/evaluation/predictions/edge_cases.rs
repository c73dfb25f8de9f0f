//! Bad or degenerate evaluation rows: each a clear error naming the column, or an undefined
//! metric with its reason; never a panic.

use modelgate_core::policy::FairnessPolicy;
use modelgate_core::predictions::{
    BootstrapConfig, ClassificationRows, Column, GroupColumn, Metric, PredictionError,
    RegressionRows, Rows, Scores, bootstrap_deltas, compute_metrics, compute_selected,
    encode_classes, fairness,
};

fn classes() -> Vec<String> {
    vec!["no".to_owned(), "yes".to_owned()]
}

fn binary(labels: Vec<u32>, scores: Vec<f64>) -> Rows {
    Rows::Binary(ClassificationRows {
        classes: classes(),
        labels: Column::new("default", labels),
        predictions: None,
        scores: Some(Scores::Positive(Column::new("probability", scores))),
        ids: None,
    })
}

fn regression(targets: Vec<f64>, predictions: Vec<f64>) -> Rows {
    Rows::Regression(RegressionRows {
        targets: Column::new("price", targets),
        predictions: Column::new("predicted_price", predictions),
        ids: None,
    })
}

#[test]
fn empty_input_names_the_column() {
    let error = compute_metrics(&binary(vec![], vec![])).expect_err("empty");
    assert_eq!(
        error.to_string(),
        "column `default` has no rows: there is nothing to evaluate"
    );
    let error = compute_metrics(&regression(vec![], vec![])).expect_err("empty");
    assert!(matches!(error, PredictionError::Empty { column } if column == "price"));
}

#[test]
fn nan_scores_name_the_column_and_row() {
    let error = compute_metrics(&binary(vec![0, 1, 1], vec![0.2, f64::NAN, 0.9])).expect_err("NaN");
    assert_eq!(
        error.to_string(),
        "column `probability`, row 2: NaN is not a finite number"
    );
    let error =
        compute_metrics(&regression(vec![1.0, f64::INFINITY], vec![1.0, 2.0])).expect_err("inf");
    assert!(error.to_string().starts_with("column `price`, row 2: inf"));
}

#[test]
fn labels_outside_the_known_classes_are_refused() {
    let error = encode_classes("default", ["no", "yes", "maybe"], &classes()).expect_err("maybe");
    assert_eq!(
        error.to_string(),
        "column `default`, row 3: `maybe` is not one of the known classes [no, yes]"
    );
    assert_eq!(
        encode_classes("default", ["yes", "no"], &classes()).expect("known"),
        [1, 0]
    );
    let error = compute_metrics(&binary(vec![0, 2], vec![0.1, 0.2])).expect_err("code 2");
    assert_eq!(
        error.to_string(),
        "column `default`, row 2: class code 2 is outside the 2 known classes"
    );
}

#[test]
fn length_mismatches_name_both_columns() {
    let error = compute_metrics(&binary(vec![0, 1, 1], vec![0.1, 0.2])).expect_err("short");
    assert_eq!(
        error.to_string(),
        "column `probability` has 2 rows but column `default` has 3"
    );
    let rows = binary(vec![0, 1], vec![0.1, 0.9]);
    let short_group = GroupColumn::from_names("sex", ["F"]);
    let error = fairness(
        &rows,
        &["sex".to_owned()],
        &[short_group],
        &FairnessPolicy::default(),
    )
    .expect_err("short group column");
    assert_eq!(
        error.to_string(),
        "column `sex` has 1 rows but column `default` has 2"
    );
}

#[test]
fn one_class_only_leaves_roc_auc_undefined() {
    let values = compute_metrics(&binary(vec![0, 0, 0], vec![0.1, 0.7, 0.4])).expect("valid");
    let auc = values
        .iter()
        .find(|v| v.metric == Metric::RocAuc)
        .expect("roc_auc");
    assert_eq!(auc.value, None);
    assert!(auc.undefined.is_some());
    let accuracy = values
        .iter()
        .find(|v| v.metric == Metric::Accuracy)
        .expect("accuracy");
    assert_eq!(accuracy.value, Some(2.0 / 3.0));

    // In a bootstrap, an undefined metric gives no interval, with the reason.
    let rows = binary(vec![0, 0, 0], vec![0.1, 0.7, 0.4]);
    let deltas = bootstrap_deltas(&rows, &rows, &[Metric::RocAuc], &BootstrapConfig::default())
        .expect("valid");
    assert_eq!((deltas[0].ci_low, deltas[0].resamples), (None, 0));
    assert!(
        deltas[0]
            .undefined
            .as_deref()
            .is_some_and(|r| r.starts_with("at base: only one class"))
    );
}

#[test]
fn the_task_fixes_the_number_of_classes_and_score_columns() {
    let three = Rows::Binary(ClassificationRows {
        classes: vec!["a".into(), "b".into(), "c".into()],
        labels: Column::new("label", vec![0, 1, 2]),
        predictions: Some(Column::new("predicted", vec![0, 1, 2])),
        scores: None,
        ids: None,
    });
    assert_eq!(
        compute_metrics(&three).expect_err("3 classes").to_string(),
        "binary_classification needs exactly 2 (negative, then positive) classes, but 3 were given: [a, b, c]"
    );
    let multiclass = Rows::Multiclass(ClassificationRows {
        classes: vec!["a".into(), "b".into(), "c".into()],
        labels: Column::new("label", vec![0, 1, 2]),
        predictions: None,
        scores: Some(Scores::PerClass(vec![Column::new(
            "p_a",
            vec![1.0, 0.0, 0.0],
        )])),
        ids: None,
    });
    assert_eq!(
        compute_metrics(&multiclass)
            .expect_err("one score column")
            .to_string(),
        "multiclass_classification scores must be one column per class (3), but 1 were given"
    );
    let nothing = Rows::Binary(ClassificationRows {
        classes: classes(),
        labels: Column::new("label", vec![0, 1]),
        predictions: None,
        scores: None,
        ids: None,
    });
    assert!(matches!(
        compute_metrics(&nothing),
        Err(PredictionError::NoPredictions { .. })
    ));
}

#[test]
fn scores_that_are_not_probabilities_only_lose_the_probability_metrics() {
    // Margins of a linear model rank rows (ROC AUC) but are not probabilities.
    let rows = Rows::Binary(ClassificationRows {
        classes: classes(),
        labels: Column::new("label", vec![0, 1, 0, 1]),
        predictions: Some(Column::new("predicted", vec![0, 1, 1, 1])),
        scores: Some(Scores::Positive(Column::new(
            "margin",
            vec![-2.0, 3.0, 0.5, 1.5],
        ))),
        ids: None,
    });
    let values =
        compute_selected(&rows, &[Metric::RocAuc, Metric::LogLoss, Metric::Brier]).expect("valid");
    assert_eq!(values[0].value, Some(1.0));
    assert_eq!(
        values[1].undefined.as_deref(),
        Some("column `margin`, row 1: -2 is not a probability in [0, 1]")
    );
    assert_eq!(values[2].value, None);
}

#[test]
fn degenerate_regressions_follow_scikit_learn() {
    let values = compute_selected(
        &regression(vec![3.0], vec![2.0]),
        &[Metric::R2, Metric::Mae],
    )
    .expect("valid");
    assert_eq!(values[0].value, None, "r2 of one row");
    assert_eq!(values[1].value, Some(1.0));
    // Constant targets: r2 is 1 when predicted exactly, else 0 (force_finite).
    let exact = compute_selected(&regression(vec![2.0, 2.0], vec![2.0, 2.0]), &[Metric::R2])
        .expect("valid");
    assert_eq!(exact[0].value, Some(1.0));
    let off = compute_selected(&regression(vec![2.0, 2.0], vec![1.0, 2.0]), &[Metric::R2])
        .expect("valid");
    assert_eq!(off[0].value, Some(0.0));
    // A zero target divides by machine epsilon in MAPE, as scikit-learn does.
    let mape = compute_selected(&regression(vec![0.0], vec![1.0]), &[Metric::Mape]).expect("valid");
    assert_eq!(mape[0].value, Some(1.0 / f64::EPSILON));
}

#[test]
fn base_and_head_must_be_comparable() {
    let rows = binary(vec![0, 1], vec![0.1, 0.9]);
    let other = regression(vec![1.0, 2.0], vec![1.0, 2.0]);
    let error = bootstrap_deltas(
        &rows,
        &other,
        &[Metric::Accuracy],
        &BootstrapConfig::default(),
    )
    .expect_err("different tasks");
    assert_eq!(
        error.to_string(),
        "base rows are for binary_classification but head rows for regression: their metrics cannot be compared"
    );
    let Rows::Binary(mut renamed) = rows.clone() else {
        panic!("binary rows");
    };
    renamed.classes = vec!["bad".into(), "good".into()];
    assert!(matches!(
        bootstrap_deltas(
            &rows,
            &Rows::Binary(renamed),
            &[Metric::Accuracy],
            &BootstrapConfig::default()
        ),
        Err(PredictionError::ClassesDiffer { .. })
    ));
    let none = BootstrapConfig {
        resamples: 0,
        ..BootstrapConfig::default()
    };
    assert!(bootstrap_deltas(&rows, &rows, &[Metric::Accuracy], &none).is_err());
}
