//! `modelgate drift` on files: the oracle's datasets, and bad inputs.

use crate::support::modelgate;

fn oracle(name: &str, side: &str) -> String {
    format!(
        "{}/fixtures/oracle/datasets/{name}/{side}.csv",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn the_oracle_datasets_drift_as_evidently_says() {
    let (reference, current) = (
        oracle("ds_mixed_3of5_n3000", "reference"),
        oracle("ds_mixed_3of5_n3000", "current"),
    );
    let outcome = modelgate(&[
        "drift",
        "--reference",
        &reference,
        "--current",
        &current,
        "--compat",
        "evidently",
        "--format",
        "json",
    ]);
    assert_eq!(outcome.code, 1, "dataset drift exits 1: {}", outcome.stderr);
    let report: serde_json::Value = serde_json::from_str(&outcome.stdout).expect("json");
    assert_eq!(report["dataset_drift"], true);
    assert_eq!(report["drifted_columns"], 3);
    let columns = report["columns"].as_array().expect("columns");
    assert_eq!(columns.len(), 5);
    for field in [
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
        "notes",
    ] {
        assert!(
            columns[0].get(field).is_some(),
            "column field {field} missing: {}",
            columns[0]
        );
    }
    assert_eq!(
        columns
            .iter()
            .filter(|c| c["kind"] == "categorical")
            .count(),
        2
    );

    // Only two columns, as text.
    let outcome = modelgate(&[
        "drift",
        "--reference",
        &reference,
        "--current",
        &current,
        "--columns",
        "c1,c2",
    ]);
    assert!(
        outcome
            .stdout
            .lines()
            .next()
            .is_some_and(|l| l.contains("of 2 tested column(s)")),
        "{}",
        outcome.stdout
    );
    // The same file against itself: no drift, exit 0.
    let same = modelgate(&["drift", "--reference", &reference, "--current", &reference]);
    assert_eq!(same.code, 0, "{}", same.stdout);
    assert!(
        same.stdout.starts_with("NO DATASET DRIFT: 0 of 5"),
        "{}",
        same.stdout
    );
}

#[test]
fn bad_inputs_get_clear_errors_or_skipped_columns() {
    let dir = tempfile::tempdir().expect("temp");
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.to_str().expect("utf-8").to_owned()
    };
    let good = file("good.csv", "a,b\n1,x\n2,y\n3,x\n4,y\n");

    let empty = file("empty.csv", "");
    let outcome = modelgate(&["drift", "--reference", &good, "--current", &empty]);
    assert_eq!(outcome.code, 2);
    assert!(
        outcome.stderr.contains("empty.csv is empty"),
        "{}",
        outcome.stderr
    );

    let corrupt = file("corrupt.parquet", "PAR1 this is not parquet");
    let outcome = modelgate(&["drift", "--reference", &corrupt, "--current", &good]);
    assert_eq!(outcome.code, 2);
    assert!(
        outcome.stderr.starts_with(&format!("error: {corrupt}: ")),
        "{}",
        outcome.stderr
    );

    let unknown = file("data.xlsx", "a\n1\n");
    let outcome = modelgate(&["drift", "--reference", &unknown, "--current", &good]);
    assert_eq!(outcome.code, 2);
    assert!(
        outcome
            .stderr
            .contains("expected a .csv, .parquet or .ndjson file"),
        "{}",
        outcome.stderr
    );

    // One row, an all-null column, a changed type and a missing column: reported, no panic.
    let odd = file("odd.csv", "a,b,c\nnot-a-number,,7\n");
    let outcome = modelgate(&[
        "drift",
        "--reference",
        &good,
        "--current",
        &odd,
        "--format",
        "json",
    ]);
    assert!(outcome.code == 0 || outcome.code == 1, "{}", outcome.stderr);
    let report: serde_json::Value = serde_json::from_str(&outcome.stdout).expect("json");
    let changes = report["schema_changes"].as_array().expect("schema changes");
    assert!(
        changes
            .iter()
            .any(|c| c["column"] == "c" && c["change"] == "added"),
        "{changes:?}"
    );
    assert!(
        changes.iter().any(|c| c["column"] == "a"),
        "a changed kind: {changes:?}"
    );
    let b = report["columns"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "b"))
        .expect("b");
    assert!(b["stattest"].is_null(), "all-null column skipped: {b}");
    assert!(
        b["notes"][0]
            .as_str()
            .unwrap_or_default()
            .starts_with("skipped: "),
        "{b}"
    );

    let outcome = modelgate(&[
        "drift",
        "--reference",
        &good,
        "--current",
        &good,
        "--stattest",
        "magic",
    ]);
    assert_eq!(outcome.code, 2);
    assert!(outcome.stderr.contains("magic"), "{}", outcome.stderr);
}

fn types_fixture(name: &str) -> String {
    format!("{}/fixtures/drift/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn drift_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["drift"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let outcome = modelgate(&all);
    assert_eq!(outcome.code, 0, "{}{}", outcome.stdout, outcome.stderr);
    serde_json::from_str(&outcome.stdout).expect("json")
}

#[test]
fn parquet_columns_are_read_by_kind_and_match_the_same_values_as_csv() {
    // pyarrow's Parquet (dictionary-encoded strings, an Arrow dictionary column, a timestamp,
    // free text) against the same values written as CSV: the same kinds, no difference.
    let (parquet, csv) = (types_fixture("types.parquet"), types_fixture("types.csv"));
    let report = drift_json(&["--reference", &parquet, "--current", &csv]);
    let columns = report["columns"].as_array().expect("columns");
    let kinds: Vec<(&str, &str)> = columns
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or(""),
                c["kind"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("income", "numeric"),
            ("visits", "numeric"),
            ("region", "categorical"),
            ("segment", "categorical"),
            ("active", "categorical"),
        ]
    );
    for column in columns {
        assert_eq!(column["statistic"], 0.0, "{column}");
        assert_eq!(column["reference_rows"], 3000);
    }
    let removed: Vec<(&str, &str)> = report["schema_changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["column"].as_str().unwrap_or(""),
                c["reference_kind"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(removed, vec![("opened", "datetime"), ("note", "text")]);
    assert_eq!(report["sampling"], serde_json::Value::Null);

    // Against itself, the timestamp is tested as time and the free text skipped with a reason.
    let report = drift_json(&["--reference", &parquet, "--current", &parquet]);
    let column = |name: &str| {
        report["columns"]
            .as_array()
            .and_then(|columns| columns.iter().find(|c| c["name"] == name))
            .cloned()
            .expect("column")
    };
    assert_eq!(column("opened")["kind"], "datetime");
    assert_eq!(column("opened")["statistic"], 0.0);
    assert_eq!(column("note")["kind"], "text");
    assert!(
        column("note")["notes"][0]
            .as_str()
            .is_some_and(|n| n.starts_with("skipped: text columns are not tested")),
        "{}",
        column("note")
    );
}

#[test]
fn a_side_longer_than_max_rows_is_sampled_reproducibly_and_says_so() {
    let (parquet, csv) = (types_fixture("types.parquet"), types_fixture("types.csv"));
    let args = [
        "--reference",
        &parquet,
        "--current",
        &csv,
        "--max-rows",
        "1000",
    ];
    let report = drift_json(&args);
    assert_eq!(
        report["sampling"],
        serde_json::json!({
            "seed": 0,
            "max_rows": 1000,
            "reference": {"rows": 3000, "sampled_rows": 1000},
            "current": {"rows": 3000, "sampled_rows": 1000},
        })
    );
    for column in report["columns"].as_array().expect("columns") {
        assert_eq!(column["reference_rows"], 1000, "{column}");
        assert_eq!(column["current_rows"], 1000, "{column}");
        // Rows are chosen by index: the same rows of two equal files, so no difference.
        assert_eq!(column["statistic"], 0.0, "{column}");
    }
    assert_eq!(
        drift_json(&args),
        report,
        "the same seed draws the same sample"
    );

    // The text report states the limit and the seed.
    let reseeded = modelgate(&[
        "drift",
        "--reference",
        &parquet,
        "--current",
        &csv,
        "--max-rows",
        "2000",
        "--seed",
        "9",
    ]);
    assert_eq!(reseeded.code, 0, "{}", reseeded.stderr);
    assert!(
        reseeded.stdout.contains(
            "sampled: reference 2000 of 3000 rows, current 2000 of 3000 rows (a side longer than 2000 rows is sampled to that many, seed 9)"
        ),
        "{}",
        reseeded.stdout
    );
    // Standard error is not a terminal here: no progress bar in it.
    assert_eq!(reseeded.stderr, "");

    let zero = modelgate(&[
        "drift",
        "--reference",
        &parquet,
        "--current",
        &csv,
        "--max-rows",
        "0",
    ]);
    assert_eq!(zero.code, 2);
    assert!(
        zero.stderr
            .contains("invalid value '0' for '--max-rows <MAX_ROWS>': 0 rows; expected at least 1"),
        "{}",
        zero.stderr
    );
}

/// Settings are refused by the argument parser, before any file is read, naming what it
/// accepts.
#[test]
fn unknown_settings_are_refused_naming_the_allowed_values() {
    let drift = |setting: &[&str]| {
        let mut args = vec!["drift", "--reference", "r.csv", "--current", "c.csv"];
        args.extend_from_slice(setting);
        modelgate(&args)
    };
    let outcome = drift(&["--stattest", "kss"]);
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    assert!(
        outcome.stderr.starts_with(
            "error: invalid value 'kss' for '--stattest <STATTEST>'\n  [possible values: auto, ks, chisquare, z, wasserstein, jensenshannon, psi, kl_div, hellinger, anderson, cramer_von_mises, mannw, t_test, energy_dist]\n"
        ),
        "{}",
        outcome.stderr
    );

    let outcome = drift(&["--compat", "pandas"]);
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    assert!(
        outcome.stderr.starts_with(
            "error: invalid value 'pandas' for '--compat <COMPAT>'\n  [possible values: calibrated, evidently]\n"
        ),
        "{}",
        outcome.stderr
    );

    for (setting, message) in [
        (
            ["--drift-share", "1.5"],
            "invalid value '1.5' for '--drift-share <DRIFT_SHARE>': 1.5 is not a share of columns; expected a number in (0, 1]",
        ),
        (
            ["--threshold", "NaN"],
            "invalid value 'NaN' for '--threshold <THRESHOLD>': NaN is not a threshold; expected a finite number >= 0",
        ),
    ] {
        let outcome = drift(&setting);
        assert_eq!(outcome.code, 2, "{}", outcome.stderr);
        assert!(outcome.stderr.contains(message), "{}", outcome.stderr);
    }

    // Evidently's alias of energy_dist is still accepted (the missing file is the error).
    let outcome = drift(&["--stattest", "ed"]);
    assert_eq!(outcome.code, 2);
    assert!(outcome.stderr.contains("r.csv"), "{}", outcome.stderr);
    assert!(!outcome.stderr.contains("--stattest"), "{}", outcome.stderr);

    let help = modelgate(&["drift", "--help"]);
    assert_eq!(help.code, 0, "{}", help.stderr);
    for value in ["cramer_von_mises", "energy_dist", "evidently"] {
        assert!(help.stdout.contains(value), "{}", help.stdout);
    }
}
