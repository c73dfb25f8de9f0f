//! The bootstrap of metric deltas: reproducible, paired correctly, and deciding noise from
//! a real regression.

use modelgate_core::card::Direction;
use modelgate_core::predictions::{
    BootstrapConfig, ClassificationRows, Column, DeltaInterval, Metric, Pairing, Rows, Scores,
    bootstrap_deltas, judge_breach,
};
use modelgate_core::report::Status;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

use super::fixtures::case;

const METRICS: [Metric; 3] = [Metric::Accuracy, Metric::F1, Metric::RocAuc];

fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn binary(labels: Vec<u32>, predictions: Vec<u32>, scores: Vec<f64>) -> Rows {
    Rows::Binary(ClassificationRows {
        classes: vec!["no".to_owned(), "yes".to_owned()],
        labels: Column::new("label", labels),
        predictions: Some(Column::new("predicted", predictions)),
        scores: Some(Scores::Positive(Column::new("probability", scores))),
        ids: None,
    })
}

/// 5,000 rows and two models right on each row with probability `accuracy`, independently.
fn two_noisy_models(seed: u64, accuracy: f64) -> (Rows, Rows) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let labels: Vec<u32> = (0..5_000)
        .map(|_| u32::from(uniform(&mut rng) < 0.4))
        .collect();
    let mut model = || {
        let predictions: Vec<u32> = labels
            .iter()
            .map(|&label| {
                if uniform(&mut rng) < accuracy {
                    label
                } else {
                    1 - label
                }
            })
            .collect();
        let scores = predictions
            .iter()
            .map(|&p| 0.5 * f64::from(p) + 0.5 * uniform(&mut rng))
            .collect();
        (predictions, scores)
    };
    let (base_predictions, base_scores) = model();
    let (head_predictions, head_scores) = model();
    (
        binary(labels.clone(), base_predictions, base_scores),
        binary(labels, head_predictions, head_scores),
    )
}

fn interval(deltas: &[DeltaInterval], metric: Metric) -> &DeltaInterval {
    deltas
        .iter()
        .find(|d| d.metric == metric)
        .expect("metric in the result")
}

#[test]
fn the_same_seed_gives_the_same_interval() {
    let (base, head) = two_noisy_models(1, 0.8);
    let config = BootstrapConfig {
        resamples: 300,
        ..BootstrapConfig::default()
    };
    let first = bootstrap_deltas(&base, &head, &METRICS, &config).expect("valid");
    let second = bootstrap_deltas(&base, &head, &METRICS, &config).expect("valid");
    assert_eq!(first, second);

    // Whatever the number of threads.
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a pool");
    let serial = one_thread
        .install(|| bootstrap_deltas(&base, &head, &METRICS, &config))
        .expect("valid");
    assert_eq!(first, serial);

    let other_seed = BootstrapConfig { seed: 7, ..config };
    let other = bootstrap_deltas(&base, &head, &METRICS, &other_seed).expect("valid");
    assert_ne!(first[0].ci_low, other[0].ci_low);
    assert_eq!((other[0].seed, other[0].resamples), (7, 300));
}

#[test]
fn pure_noise_is_not_a_fail() {
    let (base, head) = two_noisy_models(2, 0.8);
    let deltas =
        bootstrap_deltas(&base, &head, &METRICS, &BootstrapConfig::default()).expect("valid");
    for delta in &deltas {
        let (low, high) = (delta.ci_low.expect("low"), delta.ci_high.expect("high"));
        assert!(low < 0.0 && 0.0 < high, "{delta:?}");
        assert!(delta.paired && delta.pairing == Pairing::ByPosition);
        assert_eq!(delta.resamples, 1_000);
        // A strict rule breached by the noise only warns.
        let (status, note) = judge_breach(delta, Direction::Higher);
        assert_eq!(status, Status::Warn, "{note}");
        assert!(note.starts_with("not significant: 95% interval"), "{note}");
    }
}

#[test]
fn a_true_drop_of_two_points_on_5000_rows_is_a_fail() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let labels: Vec<u32> = (0..5_000)
        .map(|_| u32::from(uniform(&mut rng) < 0.4))
        .collect();
    let base_predictions: Vec<u32> = labels
        .iter()
        .map(|&label| {
            if uniform(&mut rng) < 0.85 {
                label
            } else {
                1 - label
            }
        })
        .collect();
    // The head model errs on 150 rows the base got right and fixes 50 it got wrong: a
    // net drop of exactly 100 rows, 2 points of accuracy.
    let (mut broken, mut fixed) = (0, 0);
    let head_predictions: Vec<u32> = labels
        .iter()
        .zip(&base_predictions)
        .map(|(&label, &base)| {
            if base == label && broken < 150 && uniform(&mut rng) < 0.05 {
                broken += 1;
                1 - label
            } else if base != label && fixed < 50 && uniform(&mut rng) < 0.1 {
                fixed += 1;
                label
            } else {
                base
            }
        })
        .collect();
    assert_eq!((broken, fixed), (150, 50));
    let scores = |predictions: &[u32]| predictions.iter().map(|&p| f64::from(p)).collect();
    let base = binary(
        labels.clone(),
        base_predictions.clone(),
        scores(&base_predictions),
    );
    let head = binary(labels, head_predictions.clone(), scores(&head_predictions));

    let deltas = bootstrap_deltas(
        &base,
        &head,
        &[Metric::Accuracy],
        &BootstrapConfig::default(),
    )
    .expect("valid");
    let accuracy = interval(&deltas, Metric::Accuracy);
    assert!((accuracy.delta.expect("delta") + 0.02).abs() < 1e-12);
    let (status, note) = judge_breach(accuracy, Direction::Higher);
    assert_eq!(status, Status::Fail, "{accuracy:?}");
    assert!(note.starts_with("significant: 95% interval"), "{note}");
    assert!(note.ends_with("lies below 0"), "{note}");

    // A loss-like metric that rose significantly fails the other way round.
    let mirrored = DeltaInterval {
        ci_low: accuracy.ci_high.map(|h| -h),
        ci_high: accuracy.ci_low.map(|l| -l),
        ..accuracy.clone()
    };
    assert_eq!(judge_breach(&mirrored, Direction::Lower).0, Status::Fail);
    assert_eq!(judge_breach(&mirrored, Direction::Higher).0, Status::Warn);
}

#[test]
fn rows_pair_by_id_whatever_their_order() {
    // Breast cancer, head (30 features) against base (3 features), with ids.
    let case = case("breast_cancer_binary");
    let (base, head) = (case.base_rows(), case.rows());
    let config = BootstrapConfig {
        resamples: 200,
        ..BootstrapConfig::default()
    };
    let by_id = bootstrap_deltas(&base, &head, &METRICS, &config).expect("valid");
    assert_eq!(by_id[0].pairing, Pairing::ById);
    assert_eq!(by_id[0].pairing_note, "285 rows paired by column `id`");

    // The base file in reverse order pairs to the same rows, so the same intervals.
    let Rows::Binary(mut reversed) = base.clone() else {
        panic!("binary rows");
    };
    reversed.labels.values.reverse();
    if let Some(p) = reversed.predictions.as_mut() {
        p.values.reverse();
    }
    if let Some(Scores::Positive(s)) = reversed.scores.as_mut() {
        s.values.reverse();
    }
    if let Some(ids) = reversed.ids.as_mut() {
        ids.values.reverse();
    }
    let shuffled =
        bootstrap_deltas(&Rows::Binary(reversed), &head, &METRICS, &config).expect("valid");
    assert_eq!(shuffled, by_id);

    // Without ids, the same rows pair by position, and the draws are the same.
    let strip = |rows: &Rows| {
        let Rows::Binary(mut rows) = rows.clone() else {
            panic!("binary rows");
        };
        rows.ids = None;
        Rows::Binary(rows)
    };
    let by_position =
        bootstrap_deltas(&strip(&base), &strip(&head), &METRICS, &config).expect("valid");
    assert_eq!(by_position[0].pairing, Pairing::ByPosition);
    for (a, b) in by_position.iter().zip(&by_id) {
        assert_eq!(
            (a.ci_low, a.ci_high, a.delta),
            (b.ci_low, b.ci_high, b.delta)
        );
    }

    // The head model is better on this split, and significantly so for ROC AUC.
    let auc = interval(&by_id, Metric::RocAuc);
    assert!(auc.ci_low.expect("low") <= auc.delta.expect("delta"));
    assert!(auc.delta.expect("delta") <= auc.ci_high.expect("high"));
}

#[test]
fn different_rows_are_resampled_independently() {
    let (base, head) = two_noisy_models(4, 0.8);
    let Rows::Binary(mut shorter) = base else {
        panic!("binary rows");
    };
    for column in [
        &mut shorter.labels.values,
        &mut shorter.predictions.as_mut().expect("p").values,
    ] {
        column.truncate(4_000);
    }
    if let Some(Scores::Positive(s)) = shorter.scores.as_mut() {
        s.values.truncate(4_000);
    }
    let config = BootstrapConfig {
        resamples: 200,
        ..BootstrapConfig::default()
    };
    let deltas = bootstrap_deltas(&Rows::Binary(shorter), &head, &METRICS, &config).expect("valid");
    assert!(!deltas[0].paired);
    assert_eq!(deltas[0].pairing, Pairing::Unpaired);
    assert_eq!(
        deltas[0].pairing_note,
        "4000 rows at base and 5000 at head, without ids on both sides; resampled independently"
    );

    // Ids that differ between the sides cannot pair either.
    let case = case("breast_cancer_binary");
    let Rows::Binary(mut renamed) = case.base_rows() else {
        panic!("binary rows");
    };
    if let Some(ids) = renamed.ids.as_mut() {
        ids.values[0] = "someone-else".to_owned();
    }
    let deltas =
        bootstrap_deltas(&Rows::Binary(renamed), &case.rows(), &METRICS, &config).expect("valid");
    assert_eq!(deltas[0].pairing, Pairing::Unpaired);
    assert!(
        deltas[0]
            .pairing_note
            .contains("is at head but not at base")
    );
}

#[test]
fn the_interval_serializes_with_its_provenance() {
    let (base, head) = two_noisy_models(5, 0.8);
    let config = BootstrapConfig {
        resamples: 50,
        seed: 11,
        confidence: 0.9,
    };
    let deltas = bootstrap_deltas(&base, &head, &[Metric::Accuracy], &config).expect("valid");
    let json = serde_json::to_value(&deltas[0]).expect("serializable");
    for key in ["ci_low", "ci_high", "resamples", "seed", "paired", "delta"] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    assert_eq!(json["seed"], 11);
    assert_eq!(json["pairing"], "by_position");
}
