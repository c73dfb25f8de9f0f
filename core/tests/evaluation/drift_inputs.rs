//! Bad and unusual inputs give a skipped column with a reason or a clear error, never a panic.

use modelgate_core::drift::{
    CategoricalValues, Column, ColumnOptions, ColumnValues, DriftError, DriftOptions, Kind, Mode,
    SchemaChangeKind, StatTest, compare_columns, compare_datasets,
};
use modelgate_core::policy::Policy;

fn numeric(values: &[f64]) -> ColumnValues {
    ColumnValues::Numeric(values.to_vec())
}

fn categorical(values: &[Option<&str>]) -> ColumnValues {
    ColumnValues::Categorical(CategoricalValues::from_strings(values.iter().copied()))
}

fn compare(reference: ColumnValues, current: ColumnValues) -> modelgate_core::drift::ColumnDrift {
    compare_columns("x", reference, current, &ColumnOptions::default())
}

fn first_note(column: &modelgate_core::drift::ColumnDrift) -> &str {
    column.notes.first().map(String::as_str).unwrap_or_default()
}

#[test]
fn empty_columns_are_skipped() {
    let column = compare(numeric(&[]), numeric(&[1.0, 2.0]));
    assert!(column.skipped());
    assert!(
        first_note(&column).contains("reference sample has no values"),
        "{column:?}"
    );
    let column = compare(categorical(&[Some("a")]), categorical(&[]));
    assert!(column.skipped());
    assert!(first_note(&column).contains("current sample has no values"));
}

#[test]
fn all_null_columns_are_skipped_with_their_null_counts() {
    let column = compare(
        numeric(&[f64::NAN, f64::NAN, f64::INFINITY]),
        numeric(&[1.0, 2.0]),
    );
    assert!(column.skipped());
    assert_eq!((column.reference_rows, column.reference_nulls), (3, 2));
    assert!(
        column
            .notes
            .iter()
            .any(|n| n.contains("infinite values removed"))
    );
    let column = compare(categorical(&[None, None]), categorical(&[Some("a")]));
    assert!(column.skipped());
    assert_eq!(column.reference_nulls, 2);
    let json = serde_json::to_value(&column).expect("serializable");
    assert_eq!(json["stattest"], serde_json::Value::Null);
    assert_eq!(json["reference_nulls"], 2);
}

#[test]
fn single_rows_are_tested_without_panicking() {
    for mode in [Mode::Calibrated, Mode::Evidently] {
        for test in StatTest::ALL {
            let options = ColumnOptions {
                mode,
                stattest: Some(test),
                ..ColumnOptions::default()
            };
            let column = compare_columns("x", numeric(&[1.0]), numeric(&[2.0]), &options);
            assert!(
                column.skipped() || column.threshold.is_some(),
                "{test} {mode:?}: {column:?}"
            );
            let column = compare_columns(
                "x",
                categorical(&[Some("a")]),
                categorical(&[Some("b")]),
                &options,
            );
            if test.numeric_only() {
                assert!(column.skipped(), "{test} on categorical: {column:?}");
            }
        }
    }
    // Constant samples: anderson raises in scipy; here a skipped column with the reason.
    let options = ColumnOptions {
        stattest: Some(StatTest::Anderson),
        ..ColumnOptions::default()
    };
    let column = compare_columns("x", numeric(&[3.0; 10]), numeric(&[3.0; 10]), &options);
    assert!(
        first_note(&column).contains("more than one distinct value"),
        "{column:?}"
    );
}

#[test]
fn wrong_kinds_are_skipped_with_both_kinds_named() {
    let column = compare(numeric(&[1.0, 2.0]), categorical(&[Some("a")]));
    assert!(column.skipped());
    assert!(first_note(&column).contains("numeric in the reference and categorical"));
    let column = compare(
        ColumnValues::Text { rows: 3, nulls: 1 },
        ColumnValues::Text { rows: 3, nulls: 0 },
    );
    assert!(column.skipped());
    assert_eq!(column.kind, Kind::Text);
    // A numeric-only test named for a categorical column.
    let options = ColumnOptions {
        stattest: Some(StatTest::Ks),
        ..ColumnOptions::default()
    };
    let column = compare_columns(
        "x",
        categorical(&[Some("a")]),
        categorical(&[Some("a")]),
        &options,
    );
    assert!(first_note(&column).contains("ks needs ordered values"));
}

#[test]
fn bad_category_codes_are_reported() {
    let broken = ColumnValues::Categorical(CategoricalValues {
        codes: vec![0, 7],
        levels: vec!["a".into()],
    });
    let column = compare(broken, categorical(&[Some("a")]));
    assert!(column.skipped());
    assert!(first_note(&column).contains("code 7"));
}

#[test]
fn mismatched_schemas_become_schema_changes() {
    let reference = vec![
        Column::new("kept", numeric(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])),
        Column::new("removed", numeric(&[1.0])),
        Column::new("retyped", numeric(&[1.0, 2.0])),
        Column::new("id", numeric(&[1.0, 2.0])),
    ];
    let current = vec![
        Column::new("kept", numeric(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.5])),
        Column::new("retyped", categorical(&[Some("x")])),
        Column::new("added", categorical(&[Some("y")])),
        Column::new("id", numeric(&[9.0, 8.0])),
    ];
    let options = DriftOptions {
        ignore: vec!["id".into()],
        ..DriftOptions::default()
    };
    let result = compare_datasets(reference, current, &options).expect("compared");
    let changes: Vec<(&str, SchemaChangeKind)> = result
        .schema_changes
        .iter()
        .map(|c| (c.column.as_str(), c.change))
        .collect();
    assert_eq!(
        changes,
        vec![
            ("removed", SchemaChangeKind::Removed),
            ("retyped", SchemaChangeKind::KindChanged),
            ("added", SchemaChangeKind::Added),
        ]
    );
    assert_eq!(result.tested_columns(), 1);
    let names: Vec<&str> = result.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["kept", "retyped", "id"]);
    assert!(result.columns[2].notes[0].contains("ignored"));
    let json = serde_json::to_value(&result).expect("serializable");
    let keys: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        vec![
            "dataset_drift",
            "drift_share",
            "drifted_columns",
            "schema_changes",
            "columns",
            "sampling"
        ]
    );
    assert_eq!(
        json["sampling"],
        serde_json::Value::Null,
        "nothing was sampled"
    );
    let column_keys: Vec<&str> = json["columns"][0]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        column_keys,
        vec![
            "name",
            "kind",
            "stattest",
            "statistic",
            "p_value",
            "threshold",
            "drifted",
            "reference_rows",
            "current_rows",
            "reference_nulls",
            "current_nulls",
            "notes"
        ]
    );
}

#[test]
fn duplicate_columns_are_an_error() {
    let reference = vec![
        Column::new("a", numeric(&[1.0])),
        Column::new("a", numeric(&[2.0])),
    ];
    let error =
        compare_datasets(reference, vec![], &DriftOptions::default()).expect_err("duplicate");
    assert!(matches!(error, DriftError::DuplicateColumn { .. }));
    assert!(error.to_string().contains("`a` appears more than once"));
}

#[test]
fn policy_settings_are_applied() {
    let text = "drift:\n  stattest: psi\n  compat: evidently\n  columns:\n    age: {stattest: ks, threshold: 0.01}\n    income: {stattest: auto}\n";
    let policy = Policy::parse("p.yml", text).expect("valid");
    let options = policy.drift.options();
    assert_eq!(options.mode, Mode::Evidently);
    let age = options.for_column("age").expect("not ignored");
    assert_eq!(
        (age.stattest, age.threshold),
        (Some(StatTest::Ks), Some(0.01))
    );
    assert_eq!(
        options.for_column("other").and_then(|o| o.dataset_stattest),
        Some(StatTest::Psi)
    );
    // `auto` for a column leaves the block's test in force, as leaving it out does.
    let income = options.for_column("income").expect("not ignored");
    assert_eq!(
        (income.stattest, income.dataset_stattest),
        (None, Some(StatTest::Psi))
    );
    // The settings serialize as they were written.
    assert_eq!(
        serde_json::to_value(&policy.drift).expect("serializes"),
        serde_json::json!({
            "stattest": "psi",
            "drift_share": 0.5,
            "compat": "evidently",
            "columns": {
                "age": {"stattest": "ks", "threshold": 0.01},
                "income": {"stattest": "auto"}
            }
        })
    );
}

#[test]
fn category_changes_and_null_shares_are_noted() {
    let column = compare(
        categorical(&[Some("a"), Some("b"), None]),
        categorical(&[Some("a"), Some("c"), Some("c"), None, None]),
    );
    let notes = column.notes.join("\n");
    assert!(
        notes.contains("new categories in the current sample: c"),
        "{notes}"
    );
    assert!(
        notes.contains("categories absent from the current sample: b"),
        "{notes}"
    );
    assert!(
        notes.contains(
            "missing values: 33.33% of the reference (1), 40.00% of the current sample (2)"
        ),
        "{notes}"
    );
}

#[test]
fn datetime_is_tested_as_numbers_in_calibrated_mode_only() {
    let times =
        |offset: i64| ColumnValues::Datetime((0..50).map(|i| Some(i * 60 + offset)).collect());
    let column = compare(times(0), times(30));
    assert_eq!(column.stattest, Some(StatTest::Ks));
    let evidently = ColumnOptions {
        mode: Mode::Evidently,
        ..ColumnOptions::default()
    };
    let column = compare_columns("t", times(0), times(30), &evidently);
    assert!(column.skipped());
}

fn integers(values: impl IntoIterator<Item = f64>) -> ColumnValues {
    ColumnValues::Integer(values.into_iter().collect())
}

fn only_column(
    reference: ColumnValues,
    current: ColumnValues,
    options: &DriftOptions,
) -> modelgate_core::drift::ColumnDrift {
    let mut result = compare_datasets(
        vec![Column::new("x", reference)],
        vec![Column::new("x", current)],
        options,
    )
    .expect("compared");
    assert!(
        result.schema_changes.is_empty(),
        "{:?}",
        result.schema_changes
    );
    result.columns.remove(0)
}

#[test]
fn evidently_mode_infers_kinds_as_evidently_does() {
    let evidently = DriftOptions {
        mode: Mode::Evidently,
        ..DriftOptions::default()
    };
    let few = |shift: usize| integers((0..400).map(|i| ((i + shift) % 8) as f64));
    // At most 10 distinct integers: categorical to Evidently, numeric by default.
    let column = only_column(few(0), few(1), &evidently);
    assert_eq!(
        (column.kind, column.stattest),
        (Kind::Categorical, Some(StatTest::ChiSquare))
    );
    let column = only_column(few(0), few(1), &DriftOptions::default());
    assert_eq!(
        (column.kind, column.stattest),
        (Kind::Numeric, Some(StatTest::Ks))
    );
    // A missing value makes pandas read floats: numeric.
    let mut gappy = (0..400).map(|i| (i % 8) as f64).collect::<Vec<_>>();
    gappy[3] = f64::NAN;
    let column = only_column(few(0), ColumnValues::Integer(gappy), &evidently);
    assert_eq!(
        (column.kind, column.stattest),
        (Kind::Numeric, Some(StatTest::Ks))
    );
    // Strings mostly distinct are text to Evidently.
    let names: Vec<String> = (0..40).map(|i| format!("n{}", i % 30)).collect();
    let text = || categorical(&names.iter().map(|n| Some(n.as_str())).collect::<Vec<_>>());
    let column = only_column(text(), text(), &evidently);
    assert_eq!(column.kind, Kind::Text);
    assert!(column.skipped());
    assert_eq!(
        only_column(text(), text(), &DriftOptions::default()).kind,
        Kind::Categorical
    );
}

#[test]
fn identifiers_are_skipped_unless_the_policy_names_them() {
    let ids = |first: usize| integers((first..first + 50).map(|i| i as f64));
    let column = only_column(ids(0), ids(1000), &DriftOptions::default());
    assert!(column.skipped());
    assert!(first_note(&column).contains("all 50 reference and 50 current values are distinct"));
    // Too few values to tell.
    let few = |first: usize| integers((first..first + 19).map(|i| i as f64));
    assert!(!only_column(few(0), few(100), &DriftOptions::default()).skipped());
    // Distinct integers of a wide range are measurements (amounts in cents), not ids.
    let cents = |first: usize| integers((0..50).map(|i| (first + i * 7919) as f64));
    assert!(!only_column(cents(0), cents(3), &DriftOptions::default()).skipped());
    // Distinct floating-point measurements are not identifiers.
    let floats = ColumnValues::Numeric((0..50).map(|i| i as f64 / 7.0).collect());
    assert!(!only_column(floats.clone(), floats, &DriftOptions::default()).skipped());
    // Named by the policy: tested.
    let mut named = DriftOptions::default();
    named.columns.insert("x".into(), Default::default());
    assert!(!only_column(ids(0), ids(1000), &named).skipped());
    // Declared by the card, even with repeated values.
    let declared = DriftOptions {
        identifiers: vec!["x".into()],
        ..DriftOptions::default()
    };
    let column = only_column(
        categorical(&[Some("a"), Some("a")]),
        categorical(&[Some("b")]),
        &declared,
    );
    assert!(first_note(&column).contains("governance.id"), "{column:?}");
}

#[test]
fn an_all_missing_side_takes_the_other_sides_kind() {
    let empty_text = categorical(&[None, None, None]);
    let column = only_column(
        numeric(&[1.0, 2.0, 3.0]),
        empty_text,
        &DriftOptions::default(),
    );
    assert_eq!(column.kind, Kind::Numeric);
    assert!(first_note(&column).contains("current sample has no values"));
    let nulls = ColumnValues::Unsupported {
        type_name: "null".into(),
        rows: 2,
        nulls: 2,
    };
    let column = only_column(nulls, categorical(&[Some("a")]), &DriftOptions::default());
    assert_eq!(column.kind, Kind::Categorical);
    assert_eq!(column.reference_nulls, 2);
}
