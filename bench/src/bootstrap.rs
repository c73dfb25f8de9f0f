//! Benchmark of the bootstrap of metric deltas: 1,000,000 binary evaluation rows at base
//! and at head, 1,000 resamples of the accuracy, F1 and ROC AUC deltas (the target is
//! under 10 s of wall time on 2 cores).
//!
//!     cargo build --release --workspace && target/release/bootstrap-bench
//!
//! The rows are generated here from a fixed seed: a label with 30% positives and two
//! models' probabilities (rounded to 3 decimals, so scores tie as real ones do), the head
//! slightly better. It times rows paired by position, then by an id column.
//!
//! Measured on the 2-core development machine while other builds ran (load average 7):
//! 6.5 s wall paired by position and 7.6 s by id, 12.1 s of CPU for both, so about 3 s
//! each on two idle cores.

use std::time::Instant;

use modelgate_core::predictions::{
    BootstrapConfig, ClassificationRows, Column, Metric, Rows, Scores, bootstrap_deltas,
};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

mod random;
use random::{normal, uniform};

const ROWS: usize = 1_000_000;
const METRICS: [Metric; 3] = [Metric::Accuracy, Metric::F1, Metric::RocAuc];

fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let labels: Vec<u32> = (0..ROWS)
        .map(|_| u32::from(uniform(&mut rng) < 0.3))
        .collect();
    let base = model(&mut rng, &labels, 1.6);
    let head = model(&mut rng, &labels, 1.7);
    println!(
        "generated {ROWS} rows at base and head in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let config = BootstrapConfig::default();
    for (pairing, with_ids) in [("by position", false), ("by id", true)] {
        let (base, head) = if with_ids {
            let ids: Vec<String> = (0..ROWS).map(|row| format!("row-{row}")).collect();
            (with_id(&base, &ids), with_id(&head, &ids))
        } else {
            (base.clone(), head.clone())
        };
        let started = Instant::now();
        let deltas = bootstrap_deltas(&base, &head, &METRICS, &config)?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "paired {pairing}: {} resamples of {} deltas over {ROWS} rows in {seconds:.2} s wall",
            config.resamples,
            METRICS.len()
        );
        for delta in &deltas {
            println!(
                "  {:<8} delta {:+.5}  95% [{:+.5}, {:+.5}]  ({} resamples, {})",
                delta.metric.name(),
                delta.delta.unwrap_or(f64::NAN),
                delta.ci_low.unwrap_or(f64::NAN),
                delta.ci_high.unwrap_or(f64::NAN),
                delta.resamples,
                delta.pairing_note
            );
        }
    }
    Ok(())
}

/// A model whose logit is `separation` × label plus standard normal noise.
fn model(rng: &mut ChaCha8Rng, labels: &[u32], separation: f64) -> Rows {
    let scores: Vec<f64> = labels
        .iter()
        .map(|&label| {
            let logit = separation * (f64::from(label) - 0.5) - 0.8 + normal(rng);
            let probability = 1.0 / (1.0 + (-logit).exp());
            (probability * 1000.0).round() / 1000.0
        })
        .collect();
    let predictions = scores.iter().map(|&p| u32::from(p > 0.5)).collect();
    Rows::Binary(ClassificationRows {
        classes: vec!["no".to_owned(), "yes".to_owned()],
        labels: Column::new("label", labels.to_vec()),
        predictions: Some(Column::new("predicted", predictions)),
        scores: Some(Scores::Positive(Column::new("probability", scores))),
        ids: None,
    })
}

fn with_id(rows: &Rows, ids: &[String]) -> Rows {
    let mut rows = rows.clone();
    if let Rows::Binary(classification) = &mut rows {
        classification.ids = Some(Column::new("id", ids.to_vec()));
    }
    rows
}
