//! Fairness against fairlearn, and the policy's judgement of the gaps.

use modelgate_core::policy::FairnessPolicy;
use modelgate_core::predictions::{FeatureFairness, Gap, Gaps, fairness};
use modelgate_core::report::Status;

use super::fixtures::{Case, case, close};

fn evaluate(case: &Case, policy: &FairnessPolicy) -> Vec<FeatureFairness> {
    let features: Vec<String> = case
        .expected("/expected/fairness")
        .as_object()
        .expect("features")
        .keys()
        .cloned()
        .collect();
    fairness(&case.rows(), &features, &case.groups(), policy).expect("valid rows")
}

fn gap_value(gap: &Gap) -> Option<f64> {
    gap.value
}

/// Compares every group's rates and every gap with fairlearn's; returns the worst difference.
fn check_against_fairlearn(name: &str) -> f64 {
    let case = case(name);
    let mut worst: f64 = 0.0;
    for feature in evaluate(&case, &FairnessPolicy::default()) {
        let expected = case.expected(&format!("/expected/fairness/{}", feature.feature));
        let expected_groups = expected["groups"].as_object().expect("groups");
        assert_eq!(feature.groups.len(), expected_groups.len(), "{name}");
        for group in &feature.groups {
            let want = &expected_groups[&group.value];
            let what = format!("{name} {}={}", feature.feature, group.value);
            assert_eq!(Some(group.size), want["size"].as_u64(), "{what} size");
            assert_eq!(group.judged, group.size >= 30, "{what} judged");
            for (field, actual) in [
                ("selection_rate", group.selection_rate),
                ("tpr", group.tpr.flatten()),
                ("fpr", group.fpr.flatten()),
                ("mae", group.mae),
            ] {
                if !want[field].is_null() {
                    worst = worst.max(close(&format!("{what} {field}"), actual, &want[field]));
                }
            }
        }
        let gaps: Vec<(&str, &Gap)> = match &feature.gaps {
            Gaps::Classification {
                demographic_parity_difference,
                disparate_impact_ratio,
                equal_opportunity_difference,
                equalized_odds_difference,
            } => vec![
                (
                    "demographic_parity_difference",
                    demographic_parity_difference,
                ),
                ("disparate_impact_ratio", disparate_impact_ratio),
                ("equal_opportunity_difference", equal_opportunity_difference),
                ("equalized_odds_difference", equalized_odds_difference),
            ],
            Gaps::Regression { mae_gap } => vec![("mae_gap", mae_gap)],
            Gaps::None {} => panic!("{name} {}: no gaps: {}", feature.feature, feature.summary),
        };
        for (field, gap) in gaps {
            let what = format!("{name} {} {field}", feature.feature);
            worst = worst.max(close(&what, gap_value(gap), &expected[field]));
        }
    }
    worst
}

#[test]
fn fairness_matches_fairlearn() {
    let worst = [
        "generated_binary",
        "breast_cancer_binary",
        "generated_regression",
    ]
    .into_iter()
    .map(check_against_fairlearn)
    .fold(0.0, f64::max);
    println!("worst difference from fairlearn: {worst:e}");
}

#[test]
fn gaps_are_judged_against_the_policy() {
    let features = evaluate(&case("generated_binary"), &FairnessPolicy::default());
    let sex = &features[0];
    assert_eq!(sex.feature, "sex");
    assert_eq!(sex.status, Status::Pass, "{}", sex.summary);

    let features = evaluate(&case("breast_cancer_binary"), &FairnessPolicy::default());
    let band = &features[0];
    assert_eq!(band.status, Status::Fail);
    assert!(
        band.summary
            .starts_with("demographic parity difference 0.9320 is above 0.1"),
        "{}",
        band.summary
    );

    // Loosened limits pass the same rows.
    let loose = FairnessPolicy {
        max_parity_gap: 1.0,
        min_disparate_impact: 0.0,
        max_equal_opportunity_gap: 1.0,
        ..FairnessPolicy::default()
    };
    let features = evaluate(&case("breast_cancer_binary"), &loose);
    assert_eq!(features[0].status, Status::Pass, "{}", features[0].summary);
}

#[test]
fn small_groups_are_shown_but_not_judged() {
    let features = evaluate(&case("generated_binary"), &FairnessPolicy::default());
    let age = features
        .iter()
        .find(|f| f.feature == "age_band")
        .expect("age_band");
    let unknown = age
        .groups
        .iter()
        .find(|g| g.value == "unknown")
        .expect("a small group");
    assert!(unknown.size < 30 && !unknown.judged);
    assert!(
        age.summary.ends_with("3 of 4 group(s) judged"),
        "{}",
        age.summary
    );

    // With every group too small, the feature is skipped, and says so.
    let strict = FairnessPolicy {
        min_group_size: 10_000,
        ..FairnessPolicy::default()
    };
    let features = evaluate(&case("generated_binary"), &strict);
    assert_eq!(features[0].status, Status::Skipped);
    assert_eq!(
        features[0].summary,
        "0 of 2 group(s) have at least 10000 rows; gaps need two"
    );
}

#[test]
fn regression_gap_is_judged_only_with_a_limit() {
    let case = case("generated_regression");
    let features = evaluate(&case, &FairnessPolicy::default());
    assert_eq!(features[0].status, Status::Skipped, "no max_mae_gap");
    let Gaps::Regression { mae_gap } = &features[0].gaps else {
        panic!("regression gaps");
    };
    assert!(mae_gap.value.is_some() && mae_gap.limit.is_none());

    let limited = FairnessPolicy {
        max_mae_gap: Some(0.3),
        ..FairnessPolicy::default()
    };
    let features = evaluate(&case, &limited);
    assert_eq!(features[0].status, Status::Fail, "{}", features[0].summary);
}

#[test]
fn a_missing_group_column_is_skipped_with_the_reason() {
    let case = case("generated_binary");
    let features = fairness(
        &case.rows(),
        &["sex".to_owned(), "ethnicity".to_owned()],
        &case.groups(),
        &FairnessPolicy::default(),
    )
    .expect("valid rows");
    assert_eq!(features[1].feature, "ethnicity");
    assert_eq!(features[1].status, Status::Skipped);
    assert_eq!(
        features[1].summary,
        "column `ethnicity` is not in the predictions"
    );
}

#[test]
fn multiclass_fairness_is_skipped() {
    let case = case("wine_multiclass");
    let groups = vec![modelgate_core::predictions::GroupColumn::from_names(
        "batch",
        std::iter::repeat_n("a", case.rows().len()),
    )];
    let features = fairness(
        &case.rows(),
        &["batch".to_owned()],
        &groups,
        &FairnessPolicy::default(),
    )
    .expect("valid");
    assert_eq!(features[0].status, Status::Skipped);
}

#[test]
fn the_report_shape_names_each_gap_and_group() {
    let features = evaluate(&case("generated_binary"), &FairnessPolicy::default());
    let json = serde_json::to_value(&features[0]).expect("serializable");
    assert_eq!(json["feature"], "sex");
    assert_eq!(json["status"], "pass");
    let parity = &json["gaps"]["demographic_parity_difference"];
    assert_eq!(parity["limit"], 0.1);
    assert_eq!(parity["limit_kind"], "max");
    assert_eq!(json["gaps"]["disparate_impact_ratio"]["limit_kind"], "min");
    let group = &json["groups"][0];
    for key in ["value", "size", "judged", "selection_rate", "tpr", "fpr"] {
        assert!(group.get(key).is_some(), "group has {key}: {group}");
    }
    assert!(group.get("mae").is_none());
}
