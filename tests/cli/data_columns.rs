//! `modelgate drift` and `check` on data as pipelines write it: missing values as pandas
//! reads them (checked against Evidently's verdicts and pandas itself), every Parquet type
//! pyarrow writes, and identifier columns.

use serde_json::Value;

use crate::support::{FULL_BODY, TestRepo, modelgate, test_python, write};

const RELATIVE_TOLERANCE: f64 = 1e-9;

fn fixture(path: &str) -> String {
    format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// `modelgate drift --format json` with `args`; any exit but 0 or 1 fails the test.
fn drift(args: &[&str]) -> Value {
    let mut all = vec!["drift"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let outcome = modelgate(&all);
    assert!(
        outcome.code == 0 || outcome.code == 1,
        "exit {}: {}{}",
        outcome.code,
        outcome.stdout,
        outcome.stderr
    );
    serde_json::from_str(&outcome.stdout).expect("json")
}

fn column<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["columns"]
        .as_array()
        .and_then(|columns| columns.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no column {name}: {report}"))
}

/// Writes `text` to `name` in `dir` and returns the path.
fn write_file(dir: &tempfile::TempDir, name: &str, text: String) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    path.to_str().expect("utf-8").to_owned()
}

/// The drift check of `model` in a `check` report.
fn drift_check(outcome: &crate::support::Outcome, model: &str) -> Value {
    outcome.check(model, "drift")
}

/// A column of the first dataset of a drift check.
fn dataset_column<'a>(check: &'a Value, name: &str) -> &'a Value {
    column(&check["datasets"][0], name)
}

fn close(actual: f64, expected: f64) -> bool {
    actual == expected || (actual - expected).abs() <= RELATIVE_TOLERANCE * expected.abs()
}

/// What a test scores: the p-value of a hypothesis test, the distance itself otherwise.
fn score(column: &Value) -> f64 {
    let field = match column["stattest"].as_str() {
        Some("wasserstein" | "jensenshannon") => "statistic",
        _ => "p_value",
    };
    column[field].as_f64().unwrap_or(f64::NAN)
}

struct Expected<'a> {
    case: String,
    column: String,
    stattest: &'a str,
    score: f64,
    drifted: bool,
    /// Missing values as pandas counts them, when the oracle records them.
    missing: Option<(u64, u64)>,
}

/// Every case of the two oracles that has missing values, through the binary.
fn compare_with_evidently(
    reference: &str,
    current: &str,
    expected: &[Expected<'_>],
    disagreements: &mut Vec<String>,
) {
    let report = drift(&[
        "--reference",
        reference,
        "--current",
        current,
        "--compat",
        "evidently",
    ]);
    for want in expected {
        let got = column(&report, &want.column);
        let what = format!("{}.{}", want.case, want.column);
        if got["stattest"] != want.stattest {
            disagreements.push(format!(
                "{what}: test {} (kind {}), Evidently {}",
                got["stattest"], got["kind"], want.stattest
            ));
            continue;
        }
        if !close(score(got), want.score) {
            disagreements.push(format!(
                "{what}: score {}, Evidently {}",
                score(got),
                want.score
            ));
        }
        if got["drifted"] != want.drifted {
            disagreements.push(format!(
                "{what}: drifted {}, Evidently {}",
                got["drifted"], want.drifted
            ));
        }
        if let Some((reference_missing, current_missing)) = want.missing
            && (got["reference_nulls"] != reference_missing
                || got["current_nulls"] != current_missing)
        {
            disagreements.push(format!(
                "{what}: missing {}/{}, pandas {reference_missing}/{current_missing}",
                got["reference_nulls"], got["current_nulls"]
            ));
        }
    }
}

#[test]
fn missing_values_agree_with_evidently_and_scipy_through_the_cli() {
    let mut disagreements = Vec::new();
    let mut compared = 0;

    // The project's oracle (scipy and Evidently with the declared kinds): its cases with
    // missing values, all numeric, which Evidently infers as numeric too.
    let oracle: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("oracle/expected.json")).expect("oracle"),
    )
    .expect("json");
    for case in oracle["cases"].as_array().expect("cases") {
        if case["n_reference_nan"] == 0 && case["n_current_nan"] == 0 {
            continue;
        }
        let name = case["name"].as_str().expect("name");
        let default = &case["evidently_default"];
        let expected = Expected {
            case: name.to_owned(),
            column: "value".to_owned(),
            stattest: default["stattest"].as_str().expect("test"),
            score: default["score"].as_f64().expect("score"),
            drifted: default["drifted"].as_bool().expect("drifted"),
            missing: Some((
                case["n_reference_nan"].as_u64().expect("count"),
                case["n_current_nan"].as_u64().expect("count"),
            )),
        };
        compare_with_evidently(
            &fixture(&format!("oracle/cases/{name}/reference.csv")),
            &fixture(&format!("oracle/cases/{name}/current.csv")),
            &[expected],
            &mut disagreements,
        );
        compared += 1;
    }

    // Cases written with every kind of missing marker, Evidently inferring the kinds
    // (scripts/make_missing_values_oracle.py).
    let missing: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("oracle-missing/expected.json")).expect("oracle"),
    )
    .expect("json");
    for case in missing["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let columns = case["columns"].as_object().expect("columns");
        let expected: Vec<Expected<'_>> = columns
            .iter()
            .map(|(column, want)| Expected {
                case: name.to_owned(),
                column: column.clone(),
                stattest: want["stattest"].as_str().expect("test"),
                score: want["score"].as_f64().expect("score"),
                drifted: want["drifted"].as_bool().expect("drifted"),
                missing: Some((
                    want["reference_missing"].as_u64().expect("count"),
                    want["current_missing"].as_u64().expect("count"),
                )),
            })
            .collect();
        let (reference, current) = (
            fixture(&format!("oracle-missing/{name}/reference.csv")),
            fixture(&format!("oracle-missing/{name}/current.csv")),
        );
        compare_with_evidently(&reference, &current, &expected, &mut disagreements);
        compared += expected.len();
        if let Some(count) = case.get("drifted_count") {
            let report = drift(&[
                "--reference",
                &reference,
                "--current",
                &current,
                "--compat",
                "evidently",
            ]);
            if report["drifted_columns"] != *count {
                disagreements.push(format!(
                    "{name}: {} drifted columns, Evidently {count}",
                    report["drifted_columns"]
                ));
            }
        }

        // The default mode reads the same files the same way: numbers stay numeric and
        // missing values are not a category.
        let report = drift(&["--reference", &reference, "--current", &current]);
        for (column_name, want) in columns {
            let got = column(&report, column_name);
            let expected_kind = match want["pandas_dtype"].as_str() {
                Some("object") => "categorical",
                _ => "numeric",
            };
            assert_eq!(got["kind"], expected_kind, "{name}.{column_name}: {got}");
            assert_eq!(
                got["reference_nulls"], want["reference_missing"],
                "{name}: {got}"
            );
            assert!(
                !got["notes"].to_string().contains("new categories"),
                "{name}: {got}"
            );
        }
    }
    assert!(compared >= 15, "{compared} columns compared");
    assert!(
        disagreements.is_empty(),
        "{} of {compared} columns disagree with Evidently:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

#[test]
fn every_missing_marker_pandas_knows_is_missing_here_too() {
    let Some(python) = test_python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp");
    // pandas' own list, and how it reads a file holding each marker, quoted and not.
    let script = r#"
import io, sys, pandas
from pandas._libs.parsers import STR_NA_VALUES
markers = sorted(STR_NA_VALUES)
lines = ["amount,city"]
for i, marker in enumerate(markers):
    quoted = '"' + marker + '"'
    lines.append(f"{marker},{quoted}")
    lines.append(f"{quoted},{marker}")
    lines.append(f"{i + 0.5},{'lyon' if i % 2 else 'nice'}")
text = "\n".join(lines) + "\n"
open(sys.argv[1], "w").write(text)
frame = pandas.read_csv(io.StringIO(text))
print(len(markers), frame["amount"].dtype, frame["amount"].isna().sum(), frame["city"].isna().sum())
"#;
    let file = dir.path().join("markers.csv");
    let output = std::process::Command::new(&python)
        .args(["-c", script, file.to_str().expect("utf-8")])
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let pandas: Vec<&str> = stdout.split_whitespace().collect();
    assert_eq!(pandas[1], "float64", "pandas reads the column as numbers");
    let markers: u64 = pandas[0].parse().expect("count");
    assert!(markers >= 17, "{stdout}");

    let path = file.to_str().expect("utf-8");
    let report = drift(&["--reference", path, "--current", path]);
    let amount = column(&report, "amount");
    assert_eq!(amount["kind"], "numeric", "{amount}");
    assert_eq!(amount["reference_nulls"].to_string(), pandas[2], "{amount}");
    let city = column(&report, "city");
    assert_eq!(city["kind"], "categorical", "{city}");
    assert_eq!(city["reference_nulls"].to_string(), pandas[3], "{city}");
    assert!(
        !city["notes"].to_string().contains("categories"),
        "no marker is a category: {city}"
    );
}

#[test]
fn an_all_missing_column_has_no_values_and_keeps_its_kind() {
    let dir = tempfile::tempdir().expect("temp");
    let file = |name: &str, text: String| write_file(&dir, name, text);
    let rows = |value: &dyn Fn(usize) -> String| -> String {
        let mut text = String::from("income,city\n");
        for i in 0..50 {
            text.push_str(&format!("{},{}\n", value(i), ["paris", "rome"][i % 2]));
        }
        text
    };
    let reference = file("reference.csv", rows(&|i| format!("{}.5", i % 9)));
    // The current income is all missing, in pandas' markers.
    let current = file(
        "current.csv",
        rows(&|i| ["", "\"\"", "NA", "nan"][i % 4].to_owned()),
    );
    for (reference, current, missing_side) in [
        (&reference, &current, "current"),
        (&current, &reference, "reference"),
    ] {
        let report = drift(&["--reference", reference, "--current", current]);
        assert_eq!(report["schema_changes"], serde_json::json!([]), "{report}");
        let income = column(&report, "income");
        assert_eq!(income["kind"], "numeric", "{income}");
        assert!(income["stattest"].is_null(), "{income}");
        assert_eq!(income[format!("{missing_side}_nulls")], 50, "{income}");
        assert!(
            income["notes"][0]
                .as_str()
                .is_some_and(|n| n.starts_with(&format!(
                    "skipped: the {missing_side} sample has no values left"
                ))),
            "{income}"
        );
        assert!(!column(&report, "city")["stattest"].is_null());
    }
}

/// The kind and skip reason each Parquet type is reported with (the file against itself).
fn expected_parquet_kind(name: &str) -> (&'static str, Option<&'static str>) {
    match name {
        "bool" | "string" | "large_string" | "string_view" | "dictionary" => ("categorical", None),
        name if name.starts_with("int")
            || name.starts_with("uint")
            || name.starts_with("float")
            || name.starts_with("decimal") =>
        {
            ("numeric", None)
        }
        "date32" | "date64" | "timestamp" | "timestamp_tz" | "timestamp_ns" => ("datetime", None),
        "binary" | "large_binary" | "binary_view" | "fixed_size_binary" => {
            ("unsupported", Some("binary columns are not tested"))
        }
        "time32" | "time64" => ("unsupported", Some("time columns are not tested")),
        "duration" => ("unsupported", Some("duration[ms] columns are not tested")),
        "null" => ("unsupported", Some("no values: every value is missing")),
        "list" | "large_list" => ("unsupported", Some("list[i64] columns are not tested")),
        "fixed_size_list" => ("unsupported", Some("array[i64, 2] columns are not tested")),
        "struct" => (
            "unsupported",
            Some("struct{a: i64, b: str} columns are not tested"),
        ),
        "map" => (
            "unsupported",
            Some("list[struct{key: str, value: i64}] columns are not tested"),
        ),
        other => panic!("no expectation for {other}"),
    }
}

#[test]
fn every_parquet_type_pyarrow_writes_is_read_or_skipped_by_name_without_a_panic() {
    let dir = fixture("parquet-types");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".parquet").map(str::to_owned)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 39, "{names:?}");
    for name in &names {
        let path = format!("{dir}/{name}.parquet");
        let outcome = modelgate(&[
            "drift",
            "--reference",
            &path,
            "--current",
            &path,
            "--format",
            "json",
        ]);
        if let Some(error) = match name.as_str() {
            // polars cannot read this type's schema at all.
            "list_view" => Some("the file holds a type that cannot be read"),
            "decimal256_wide" => Some("precision must be between 1 and 38"),
            _ => None,
        } {
            // A named error (exit 2), not a crash.
            assert_eq!(outcome.code, 2, "{name}: {}", outcome.stderr);
            assert!(
                outcome
                    .stderr
                    .starts_with(&format!("error: {path}: {error}")),
                "{name}: {}",
                outcome.stderr
            );
            assert!(!outcome.stderr.contains("panicked"), "{}", outcome.stderr);
            continue;
        }
        assert_eq!(
            outcome.code, 0,
            "{name}: {}{}",
            outcome.stdout, outcome.stderr
        );
        let report: Value = serde_json::from_str(&outcome.stdout).expect("json");
        let value = column(&report, "value");
        let (kind, reason) = expected_parquet_kind(name);
        assert_eq!(value["kind"], kind, "{name}: {value}");
        match reason {
            None => assert_eq!(value["statistic"], 0.0, "{name}: tested, no drift: {value}"),
            Some(reason) => {
                assert!(value["stattest"].is_null(), "{name}: {value}");
                let note = value["notes"][0].as_str().unwrap_or_default();
                assert!(note.contains(reason), "{name}: {note}");
            }
        }
        assert_eq!(column(&report, "score")["statistic"], 0.0, "{name}");
        // The text report too.
        let text = modelgate(&["drift", "--reference", &path, "--current", &path]);
        assert_eq!(text.code, 0, "{name}: {}", text.stderr);
    }
}

#[test]
fn decimals_are_compared_as_the_numbers_they_are() {
    let shift = |file: &str| fixture(&format!("parquet-types/decimal-shift/{file}"));
    let parquet = drift(&[
        "--reference",
        &shift("reference.parquet"),
        "--current",
        &shift("current.parquet"),
    ]);
    let csv = drift(&[
        "--reference",
        &shift("reference.csv"),
        "--current",
        &shift("current.csv"),
    ]);
    let (from_parquet, from_csv) = (column(&parquet, "amount"), column(&csv, "amount"));
    assert_eq!(from_parquet["kind"], "numeric", "{from_parquet}");
    assert_eq!(from_parquet["stattest"], "ks");
    assert_eq!(from_parquet["drifted"], true, "{from_parquet}");
    for field in ["statistic", "p_value", "reference_rows", "current_rows"] {
        assert_eq!(from_parquet[field], from_csv[field], "{field}");
    }
}

#[test]
fn check_compares_a_decimal_parquet_dataset_and_blocks_on_its_drift() {
    let shift = |file: &str| {
        std::fs::read(fixture(&format!("parquet-types/decimal-shift/{file}"))).expect("fixture")
    };
    let card = format!(
        "---\nowners: [\"@acme/ml\"]\ndatasets: {{train: data/loans.parquet}}\ngovernance:\n  risk_tier: high\n---\n{FULL_BODY}"
    );
    let mut repo = TestRepo::new();
    repo.commit(
        "main",
        None,
        &[
            write("models/credit/card.md", card),
            write("data/loans.parquet", shift("reference.parquet")),
        ],
    );
    repo.commit(
        "pr",
        Some("main"),
        &[write("data/loans.parquet", shift("current.parquet"))],
    );
    let outcome = repo.check("main", "pr");
    assert_eq!(outcome.code, 1, "{}{}", outcome.stdout, outcome.stderr);
    let drift = drift_check(&outcome, "credit");
    assert_eq!(drift["status"], "fail", "{drift}");
    let amount = dataset_column(&drift, "amount");
    assert_eq!(amount["kind"], "numeric", "{amount}");
    assert_eq!(amount["drifted"], true, "{amount}");
}

/// A CSV of `rows` rows: a unique `ticket` id, a unique `code` string, and a `channel`.
fn tickets(rows: usize, first_id: usize) -> String {
    let mut text = String::from("ticket,code,channel\n");
    for i in 0..rows {
        let id = first_id + i;
        text.push_str(&format!(
            "{id},T-{id:05},{}\n",
            ["email", "chat", "phone"][i % 3]
        ));
    }
    text
}

#[test]
fn identifier_columns_are_skipped_with_the_reason_unless_named() {
    let dir = tempfile::tempdir().expect("temp");
    let file = |name: &str, text: String| write_file(&dir, name, text);
    // New ids in the new data: every id differs, which a test would call drift.
    let reference = file("reference.csv", tickets(300, 1));
    let current = file("current.csv", tickets(300, 10_001));
    let report = drift(&["--reference", &reference, "--current", &current]);
    for id in ["ticket", "code"] {
        let skipped = column(&report, id);
        assert!(skipped["stattest"].is_null(), "{skipped}");
        assert_eq!(skipped["drifted"], false);
        assert_eq!(
            skipped["notes"][0],
            "skipped: identifier column: all 300 reference and 300 current values are distinct; name it in drift.columns to test it",
        );
    }
    assert_eq!(report["drifted_columns"], 0, "{report}");
    assert_eq!(column(&report, "channel")["stattest"], "chisquare");

    // Named, it is tested (and drifts: the ids moved).
    let named = drift(&[
        "--reference",
        &reference,
        "--current",
        &current,
        "--columns",
        "ticket,channel",
    ]);
    assert_eq!(column(&named, "ticket")["drifted"], true, "{named}");

    // Declared as the id (a card's governance.id), a column is skipped even with repeats.
    let declared = drift(&[
        "--reference",
        &reference,
        "--current",
        &current,
        "--id",
        "channel",
    ]);
    assert_eq!(
        column(&declared, "channel")["notes"][0],
        "skipped: identifier column (the card's governance.id); name it in drift.columns to test it"
    );

    // The text report lists them as skipped, with the reason.
    let text = modelgate(&["drift", "--reference", &reference, "--current", &current]);
    assert!(
        text.stdout.contains("skipped: identifier column"),
        "{}",
        text.stdout
    );
}

#[test]
fn check_skips_the_cards_id_column_and_tests_it_when_the_policy_names_it() {
    let card = format!(
        "---\nowners: [\"@acme/ml\"]\ndatasets: {{train: data/tickets.csv}}\ngovernance:\n  risk_tier: high\n  id: channel\n---\n{FULL_BODY}"
    );
    let mut shifted = String::from("ticket,code,channel\n");
    for i in 0..300 {
        shifted.push_str(&format!("{i},C{i},{}\n", ["email", "email", "chat"][i % 3]));
    }
    let run = |policy: Option<&str>| {
        let mut repo = TestRepo::new();
        let mut base = vec![
            write("models/router/card.md", card.clone()),
            write("data/tickets.csv", tickets(300, 1)),
        ];
        if let Some(policy) = policy {
            base.push(write(".github/modelgate.yml", policy));
        }
        repo.commit("main", None, &base);
        repo.commit(
            "pr",
            Some("main"),
            &[write("data/tickets.csv", shifted.clone())],
        );
        let outcome = repo.check("main", "pr");
        (outcome.code, drift_check(&outcome, "router"))
    };
    let (code, drift) = run(None);
    assert_eq!(code, 0, "{drift}");
    let channel = dataset_column(&drift, "channel");
    assert!(
        channel["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("the card's governance.id")),
        "{channel}"
    );
    let (code, drift) = run(Some("drift:\n  columns:\n    channel: {}\n"));
    let channel = dataset_column(&drift, "channel");
    assert_eq!(channel["stattest"], "chisquare", "{channel}");
    assert_eq!(channel["drifted"], true, "{channel}");
    assert_eq!(code, 1, "the high tier blocks on drift: {drift}");
}
