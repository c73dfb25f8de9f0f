//! `modelgate profile` and drift on profiles: the same verdicts as on the raw files, on every
//! case and dataset of the drift oracle, in both modes; merged partitions equal the whole.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::modelgate;

/// How far a profile's statistic may be from the raw data's (the issue's bar).
const STATISTIC_TOLERANCE: f64 = 0.02;
/// A distance this close to its threshold may land on either side from a sketch.
const BORDERLINE: f64 = 0.02;

fn oracle_pairs() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/oracle");
    let mut pairs = Vec::new();
    for group in ["cases", "datasets"] {
        let mut names: Vec<_> = std::fs::read_dir(root.join(group))
            .expect("oracle directory")
            .map(|entry| entry.expect("entry").path())
            .collect();
        names.sort();
        for dir in names {
            let name = dir
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            pairs.push((name, dir));
        }
    }
    pairs
}

fn profile(input: &Path, output: &Path) {
    let outcome = modelgate(&[
        "profile",
        "--input",
        &input.display().to_string(),
        "--output",
        &output.display().to_string(),
    ]);
    assert_eq!(
        outcome.code,
        0,
        "profile {}: {}",
        input.display(),
        outcome.stderr
    );
}

fn drift(reference: &Path, current: &Path, extra: &[&str]) -> Value {
    let (reference, current) = (
        reference.display().to_string(),
        current.display().to_string(),
    );
    let mut args = vec![
        "drift",
        "--reference",
        &reference,
        "--current",
        &current,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let outcome = modelgate(&args);
    assert!(
        outcome.code == 0 || outcome.code == 1,
        "drift {reference} {current}: {}",
        outcome.stderr
    );
    serde_json::from_str(&outcome.stdout).expect("drift JSON")
}

fn drifted_columns(report: &Value) -> Vec<String> {
    report["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter(|c| c["drifted"] == true)
        .map(|c| c["name"].as_str().expect("name").to_owned())
        .collect()
}

#[test]
fn drift_on_profiles_gives_the_raw_files_verdicts_on_every_oracle_case() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut worst: (f64, String) = (0.0, String::new());
    let mut worst_logarithmic: f64 = 0.0;
    let mut compared = 0;
    let mut disagreements = Vec::new();
    let mut borderline_flips = 0;
    for (name, dir) in oracle_pairs() {
        let (reference, current) = (dir.join("reference.csv"), dir.join("current.csv"));
        let reference_profile = scratch.path().join(format!("{name}.reference.json"));
        let current_profile = scratch.path().join(format!("{name}.current.json"));
        profile(&reference, &reference_profile);
        profile(&current, &current_profile);
        for mode in ["calibrated", "evidently"] {
            for stattest in [
                "auto",
                "ks",
                "wasserstein",
                "psi",
                "jensenshannon",
                "hellinger",
            ] {
                let extra = ["--compat", mode, "--stattest", stattest];
                let raw = drift(&reference, &current, &extra);
                let profiled = drift(&reference_profile, &current_profile, &extra);
                // A raw file against a profile is the training-serving skew case.
                let mixed = drift(&reference_profile, &current, &extra);
                let context = format!("{name} --compat {mode} --stattest {stattest}");
                for from_profile in [&profiled, &mixed] {
                    if drifted_columns(from_profile) != drifted_columns(&raw)
                        || from_profile["dataset_drift"] != raw["dataset_drift"]
                    {
                        let borderline =
                            raw["columns"].as_array().expect("columns").iter().any(|c| {
                                let (Some(score), Some(threshold)) =
                                    (c["statistic"].as_f64(), c["threshold"].as_f64())
                                else {
                                    return false;
                                };
                                c["p_value"].is_null() && (score - threshold).abs() <= BORDERLINE
                            });
                        if borderline {
                            borderline_flips += 1;
                        } else {
                            disagreements
                                .push(format!("{context}: raw {raw}\nprofile {from_profile}"));
                        }
                    }
                }
                let raw_columns = raw["columns"].as_array().expect("columns");
                let profile_columns = profiled["columns"].as_array().expect("columns");
                assert_eq!(raw_columns.len(), profile_columns.len(), "{context}");
                for (r, p) in raw_columns.iter().zip(profile_columns) {
                    assert_eq!(r["stattest"], p["stattest"], "{context}: {}", r["name"]);
                    assert_eq!(r["reference_rows"], p["reference_rows"], "{context}");
                    assert_eq!(r["current_nulls"], p["current_nulls"], "{context}");
                    // Distances are compared (relative to the value above 1); p-values only by
                    // the verdicts above.
                    if r["p_value"].is_null()
                        && let (Some(a), Some(b)) =
                            (r["statistic"].as_f64(), p["statistic"].as_f64())
                    {
                        compared += 1;
                        let gap = (a - b).abs();
                        // PSI and KL divergence weigh sparse tail bins by a logarithm: their
                        // verdicts are checked above, their values only reported.
                        let gap = gap / a.abs().max(1.0);
                        if ["psi", "kl_div"].contains(&r["stattest"].as_str().unwrap_or("")) {
                            worst_logarithmic = worst_logarithmic.max(gap);
                        } else if gap > worst.0 {
                            worst = (gap, format!("{context}: {}", r["name"]));
                        }
                    }
                }
            }
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n\n"));
    eprintln!(
        "verdict flips within {BORDERLINE} of a distance's threshold: {borderline_flips}; worst relative PSI/KL gap {worst_logarithmic:.4}"
    );
    assert!(compared > 100, "only {compared} statistics compared");
    eprintln!(
        "worst statistic gap, profile against raw: {:.5} ({})",
        worst.0, worst.1
    );
    assert!(
        worst.0 <= STATISTIC_TOLERANCE,
        "worst gap {} at {}",
        worst.0,
        worst.1
    );
}

#[test]
fn merged_profiles_of_two_halves_drift_from_the_whole_by_at_most_two_hundredths() {
    let scratch = tempfile::tempdir().expect("tempdir");
    // Heavy tails on purpose: a log-normal column is where a small k shows.
    let mut whole = String::from("amount,score,segment\n");
    let mut halves = [whole.clone(), whole.clone()];
    let mut state: u64 = 42;
    let mut uniform = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    for row in 0..60_000 {
        let normal = (-2.0 * uniform().ln()).sqrt() * (std::f64::consts::TAU * uniform()).cos();
        let amount = (3.0 + 1.5 * normal).exp();
        let score = uniform() * 100.0;
        let segment = ["a", "b", "c", "d"][(uniform() * 4.0) as usize % 4];
        let line = format!("{amount},{score},{segment}\n");
        whole.push_str(&line);
        halves[row % 2].push_str(&line);
    }
    let path = |name: &str| scratch.path().join(name);
    std::fs::write(path("whole.csv"), &whole).expect("write");
    std::fs::write(path("first.csv"), &halves[0]).expect("write");
    std::fs::write(path("second.csv"), &halves[1]).expect("write");
    profile(&path("whole.csv"), &path("whole.json"));
    profile(&path("first.csv"), &path("first.json"));
    profile(&path("second.csv"), &path("second.json"));
    let merged = path("merged.json");
    let outcome = modelgate(&[
        "profile",
        "--merge",
        &path("first.json").display().to_string(),
        &path("second.json").display().to_string(),
        "--output",
        &merged.display().to_string(),
    ]);
    assert_eq!(outcome.code, 0, "merge: {}", outcome.stderr);
    let merged_profile: Value =
        serde_json::from_str(&std::fs::read_to_string(&merged).expect("merged")).expect("json");
    assert_eq!(merged_profile["rows"], 60_000);
    let report = drift(&path("whole.json"), &merged, &["--stattest", "wasserstein"]);
    assert_eq!(report["dataset_drift"], false, "{report}");
    for column in report["columns"].as_array().expect("columns") {
        let distance = column["statistic"].as_f64().expect("a distance");
        assert!(
            distance <= STATISTIC_TOLERANCE,
            "{}: {distance}",
            column["name"]
        );
    }
    // A profile is small: no rows, only sketches.
    let size = std::fs::metadata(&merged).expect("merged").len();
    assert!(
        size * 10 < whole.len() as u64,
        "profile {size} bytes, data {}",
        whole.len()
    );
}

#[test]
fn bad_profiles_are_refused_with_the_file_and_the_place() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let data = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/oracle/datasets/ds_2of4_drifted_n500/reference.csv");
    let broken = scratch.path().join("broken.json");
    std::fs::write(
        &broken,
        "{\n  \"schema\": \"modelgate.profile/v1\",\n  \"rows\": 3,,\n}",
    )
    .expect("write");
    let outcome = modelgate(&[
        "drift",
        "--reference",
        &broken.display().to_string(),
        "--current",
        &data.display().to_string(),
    ]);
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("broken.json: line 3, column"),
        "{}",
        outcome.stderr
    );

    let other = scratch.path().join("other.json");
    std::fs::write(&other, r#"{"schema": "modelgate.profile/v9", "source": "x", "rows": 0, "kll_k": 200, "kll_normalized_rank_error": 0.01, "category_limit": 1000, "exact_values_limit": 10000, "columns": []}"#).expect("write");
    let outcome = modelgate(&[
        "drift",
        "--reference",
        &other.display().to_string(),
        "--current",
        &data.display().to_string(),
    ]);
    assert_eq!(outcome.code, 2);
    assert!(
        outcome
            .stderr
            .contains("schema `modelgate.profile/v9` is not supported"),
        "{}",
        outcome.stderr
    );

    let output = scratch.path().join("never.json");
    let outcome = modelgate(&[
        "profile",
        "--merge",
        &other.display().to_string(),
        "--output",
        &output.display().to_string(),
    ]);
    assert_eq!(outcome.code, 2);
    assert!(!output.exists(), "nothing is written on an error");
}
