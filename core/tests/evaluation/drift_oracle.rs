//! Agreement with the scipy / Evidently 0.7.23 oracle in `fixtures/oracle` (see its README):
//! every single-column case under every test the oracle records, in both modes, and the
//! dataset-level verdict of the multi-column cases.

use std::fs;
use std::path::{Path, PathBuf};

use modelgate_core::drift::{
    CategoricalValues, Column, ColumnDrift, ColumnOptions, ColumnValues, DriftOptions, Mode,
    StatTest, compare_columns, compare_datasets,
};
use serde_json::Value;

const RELATIVE_TOLERANCE: f64 = 1e-6;
const ABSOLUTE_TOLERANCE: f64 = 1e-12;

fn oracle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/oracle")
}

fn expected() -> Value {
    let text = fs::read_to_string(oracle_dir().join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("valid JSON")
}

/// A float as the oracle writes it: a number, or "NaN" / "Infinity" / "-Infinity".
fn number(value: &Value) -> f64 {
    match value {
        Value::Number(n) => n.as_f64().expect("f64"),
        Value::String(s) => match s.as_str() {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            other => panic!("not a number: {other}"),
        },
        other => panic!("not a number: {other}"),
    }
}

/// Rows of a CSV file as fields; an empty field or `""` is missing.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_owned)
        .collect();
    let rows = lines
        .map(|line| {
            line.split(',')
                .map(|field| match field {
                    "" | "\"\"" => None,
                    other => Some(other.to_owned()),
                })
                .collect()
        })
        .collect();
    (header, rows)
}

fn column_values(fields: Vec<Option<String>>, kind: &str, integer: bool) -> ColumnValues {
    match kind {
        "numerical" => {
            let values: Vec<f64> = fields
                .into_iter()
                .map(|f| f.map_or(f64::NAN, |s| s.parse().expect("a number")))
                .collect();
            if integer {
                ColumnValues::Integer(values)
            } else {
                ColumnValues::Numeric(values)
            }
        }
        "categorical" => ColumnValues::Categorical(CategoricalValues::from_strings(fields)),
        other => panic!("unknown kind {other}"),
    }
}

fn case_column(case: &Value, side: &str) -> ColumnValues {
    let path = oracle_dir().join(case["files"][side].as_str().expect("path"));
    let (_, rows) = read_csv(&path);
    let integer = case["pandas_dtype"] == "int64";
    column_values(
        rows.into_iter().map(|mut r| r.remove(0)).collect(),
        case["kind"].as_str().expect("kind"),
        integer,
    )
}

/// Records every comparison and the worst relative error.
#[derive(Default)]
struct Agreement {
    comparisons: usize,
    worst: f64,
    worst_at: String,
    /// Worst relative error over every non-zero expected value, tiny ones included.
    worst_strict: f64,
    worst_strict_at: String,
    failures: Vec<String>,
}

impl Agreement {
    fn value(&mut self, at: &str, got: Option<f64>, expected: f64) {
        self.comparisons += 1;
        if expected.is_infinite() {
            // The report shows a non-finite statistic as null.
            if got.is_some() {
                self.failures
                    .push(format!("{at}: expected {expected}, got {got:?}"));
            }
            return;
        }
        let Some(got) = got else {
            self.failures
                .push(format!("{at}: expected {expected}, got nothing"));
            return;
        };
        let difference = (got - expected).abs();
        let relative = if expected == 0.0 {
            difference
        } else {
            difference / expected.abs()
        };
        if expected != 0.0 && relative > self.worst_strict {
            self.worst_strict = relative;
            self.worst_strict_at = at.to_owned();
        }
        if difference > ABSOLUTE_TOLERANCE && relative > self.worst {
            self.worst = relative;
            self.worst_at = at.to_owned();
        }
        if difference > ABSOLUTE_TOLERANCE.max(RELATIVE_TOLERANCE * expected.abs()) {
            self.failures.push(format!(
                "{at}: expected {expected:e}, got {got:e} (relative error {relative:e})"
            ));
        }
    }

    fn check(&mut self, at: &str, ok: bool, detail: impl FnOnce() -> String) {
        self.comparisons += 1;
        if !ok {
            self.failures.push(format!("{at}: {}", detail()));
        }
    }
}

fn run(case: &Value, test: Option<StatTest>, mode: Mode) -> ColumnDrift {
    compare_columns(
        "value",
        case_column(case, "reference"),
        case_column(case, "current"),
        &ColumnOptions {
            mode,
            stattest: test,
            ..ColumnOptions::default()
        },
    )
}

fn score(column: &ColumnDrift) -> Option<f64> {
    match column.stattest {
        Some(test) if test.rule().uses_p_value() => column.p_value,
        _ => column.statistic,
    }
}

/// The Evidently default: same test, score, threshold and verdict.
fn check_default(agreement: &mut Agreement, at: &str, column: &ColumnDrift, default: &Value) {
    let name = default["stattest"].as_str().expect("stattest");
    agreement.check(
        &format!("{at} default test"),
        column.stattest.map(StatTest::name) == Some(name),
        || format!("expected {name}, got {:?}", column.stattest),
    );
    agreement.value(
        &format!("{at} default score"),
        score(column),
        number(&default["score"]),
    );
    agreement.value(
        &format!("{at} default threshold"),
        column.threshold,
        number(&default["threshold"]),
    );
    let drifted = default["drifted"].as_bool().expect("drifted");
    agreement.check(
        &format!("{at} default verdict"),
        column.drifted == drifted,
        || format!("expected drifted={drifted}, got {}", column.drifted),
    );
}

fn check_case(agreement: &mut Agreement, case: &Value, mode: Mode) {
    let name = case["name"].as_str().expect("name");
    let at = |what: &str| format!("{name} [{mode:?}] {what}");
    let tests = &case["tests"];

    let column = run(case, None, mode);
    agreement.check(
        &at("rows"),
        column.reference_rows as u64 == case["n_reference_raw"].as_u64().unwrap_or(0),
        || format!("reference rows {}", column.reference_rows),
    );
    agreement.check(
        &at("nulls"),
        column.reference_nulls as u64 == case["n_reference_nan"].as_u64().unwrap_or(0)
            && column.current_nulls as u64 == case["n_current_nan"].as_u64().unwrap_or(0),
        || {
            format!(
                "nulls {} / {}",
                column.reference_nulls, column.current_nulls
            )
        },
    );
    // The default test in Calibrated mode differs from Evidently only for chisquare and z.
    let default = &case["evidently_default"];
    let calibrated_differs = matches!(default["stattest"].as_str(), Some("chisquare" | "z"));
    if mode == Mode::Evidently {
        check_default(agreement, &at("evidently"), &column, default);
    } else {
        let expected = default["stattest"].as_str().unwrap_or_default();
        agreement.check(
            &at("default test"),
            column.stattest.map(StatTest::name) == Some(expected),
            || format!("expected {expected}, got {:?}", column.stattest),
        );
        if !calibrated_differs {
            check_default(agreement, &at("calibrated"), &column, default);
        }
    }

    // (oracle key, test, statistic field, p-value field)
    let hypothesis = [
        ("ks", StatTest::Ks, "statistic", "pvalue_auto"),
        (
            "mannwhitneyu",
            StatTest::MannWhitney,
            "statistic_u1",
            "pvalue_less",
        ),
        ("anderson_ksamp", StatTest::Anderson, "statistic", "pvalue"),
    ];
    for (key, test, statistic, p_value) in hypothesis {
        let Some(expected) = tests.get(key) else {
            continue;
        };
        let column = run(case, Some(test), mode);
        if expected.get("error").is_some() {
            agreement.check(&at(key), column.skipped(), || {
                format!("reference raised {}, got {column:?}", expected["error"])
            });
            continue;
        }
        agreement.value(
            &at(&format!("{key} statistic")),
            column.statistic,
            number(&expected[statistic]),
        );
        agreement.value(
            &at(&format!("{key} p-value")),
            column.p_value,
            number(&expected[p_value]),
        );
    }

    let distances = [
        ("psi", StatTest::Psi, "value"),
        ("jensenshannon", StatTest::JensenShannon, "value"),
        ("kl_div", StatTest::KlDiv, "value"),
        ("hellinger", StatTest::Hellinger, "value"),
        ("wasserstein_normed", StatTest::Wasserstein, "value"),
    ];
    for (key, test, field) in distances {
        let Some(expected) = tests.get(key) else {
            continue;
        };
        let column = run(case, Some(test), mode);
        agreement.value(&at(key), column.statistic, number(&expected[field]));
        agreement.check(
            &at(&format!("{key} has no p-value")),
            column.p_value.is_none(),
            || format!("{:?}", column.p_value),
        );
    }

    if let Some(expected) = tests.get("cramervonmises_2samp") {
        let column = run(case, Some(StatTest::CramerVonMises), mode);
        let exact = expected["auto_method"] == "exact";
        if mode == Mode::Evidently && exact {
            agreement.check(&at("cvm exact skipped"), column.skipped(), || {
                format!("{column:?}")
            });
        } else {
            agreement.value(
                &at("cvm statistic"),
                column.statistic,
                number(&expected["statistic"]),
            );
            agreement.value(
                &at("cvm p-value"),
                column.p_value,
                number(&expected["pvalue"]),
            );
            if mode == Mode::Evidently {
                agreement.value(
                    &at("cvm evidently p-value"),
                    column.p_value,
                    number(&expected["evidently"]["pvalue"]),
                );
            }
        }
    }

    if mode == Mode::Evidently
        && let Some(expected) = tests.get("chisquare_evidently")
    {
        let column = run(case, Some(StatTest::ChiSquare), mode);
        agreement.value(
            &at("chisquare statistic"),
            column.statistic,
            number(&expected["statistic"]),
        );
        let p = number(&expected["pvalue"]);
        if p.is_nan() {
            agreement.check(
                &at("chisquare p-value"),
                column.p_value.is_none() && !column.drifted,
                || format!("{column:?}"),
            );
        } else {
            agreement.value(&at("chisquare p-value"), column.p_value, p);
            agreement.value(
                &at("chisquare evidently p-value"),
                column.p_value,
                number(&expected["evidently_pvalue"]),
            );
        }
    }

    if let Some(expected) = tests.get("ztest_proportions") {
        let column = run(case, Some(StatTest::Z), mode);
        let field = if mode == Mode::Evidently {
            "pvalue"
        } else {
            "pvalue_sf_form"
        };
        let field = if expected.get(field).is_some() {
            field
        } else {
            "pvalue"
        };
        agreement.value(&at("z p-value"), column.p_value, number(&expected[field]));
        if let Some(z) = expected.get("z") {
            agreement.value(&at("z statistic"), column.statistic, number(z));
        }
    }
}

#[test]
fn every_oracle_case_agrees() {
    let expected = expected();
    let cases = expected["cases"].as_array().expect("cases");
    let mut agreement = Agreement::default();
    for case in cases {
        for mode in [Mode::Evidently, Mode::Calibrated] {
            check_case(&mut agreement, case, mode);
        }
    }
    println!(
        "oracle: {} cases, {} comparisons, worst relative error {:e} at {}; \
         counting values below 1e-12 too: {:e} at {}",
        cases.len(),
        agreement.comparisons,
        agreement.worst,
        agreement.worst_at,
        agreement.worst_strict,
        agreement.worst_strict_at
    );
    assert!(
        agreement.failures.is_empty(),
        "{} disagreements:\n{}",
        agreement.failures.len(),
        agreement.failures.join("\n")
    );
}

#[test]
fn every_oracle_dataset_agrees() {
    let expected = expected();
    let datasets = expected["datasets"].as_array().expect("datasets");
    let mut agreement = Agreement::default();
    for dataset in datasets {
        let name = dataset["name"].as_str().expect("name");
        let kinds = &dataset["columns"];
        let load = |side: &str| -> Vec<Column> {
            let path = oracle_dir().join(dataset["files"][side].as_str().expect("path"));
            let (header, rows) = read_csv(&path);
            header
                .iter()
                .enumerate()
                .map(|(index, column)| {
                    let fields = rows.iter().map(|r| r[index].clone()).collect();
                    let kind = kinds[column].as_str().expect("kind");
                    Column::new(column.clone(), column_values(fields, kind, false))
                })
                .collect()
        };
        let options = DriftOptions {
            mode: Mode::Evidently,
            drift_share: number(&dataset["drift_share_threshold"]),
            ..DriftOptions::default()
        };
        let result =
            compare_datasets(load("reference"), load("current"), &options).expect("compared");
        for column in &result.columns {
            let default = &dataset["per_column"][&column.name]["evidently_default"];
            check_default(
                &mut agreement,
                &format!("{name}.{}", column.name),
                column,
                default,
            );
        }
        let want = &dataset["expected"];
        agreement.check(
            &format!("{name} drifted count"),
            result.drifted_columns as u64 == want["drifted_count"].as_u64().unwrap_or(0),
            || format!("got {}", result.drifted_columns),
        );
        agreement.value(
            &format!("{name} share"),
            Some(result.share_of_drifted_columns()),
            number(&want["drifted_share"]),
        );
        let drift = want["dataset_drift"].as_bool().expect("bool");
        agreement.check(
            &format!("{name} dataset verdict"),
            result.dataset_drift == drift,
            || format!("expected {drift}, got {}", result.dataset_drift),
        );
        agreement.check(
            &format!("{name} schema"),
            result.schema_changes.is_empty(),
            || format!("{:?}", result.schema_changes),
        );
    }
    println!(
        "oracle datasets: {} datasets, {} comparisons, worst relative error {:e} at {}",
        datasets.len(),
        agreement.comparisons,
        agreement.worst,
        agreement.worst_at
    );
    assert!(
        agreement.failures.is_empty(),
        "{}",
        agreement.failures.join("\n")
    );
}
