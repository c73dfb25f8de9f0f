//! Bootstrap confidence intervals of metric deltas (head − base), so that noise in the
//! evaluation rows is not called a regression.
//!
//! Each resample draws n rows with replacement, as per-row multiplicities: row i counts
//! `counts[i]` times in every metric, so nothing is copied and each metric is one pass.
//! When base and head rows are paired (the same evaluation rows, scored by both models),
//! one draw weights both sides, which cancels the noise the two share.
//!
//! Reproducibility: resample b uses ChaCha8 (rand_chacha), seeded with
//! `seed_from_u64(seed)` on stream b, and draws each index with Lemire's unbiased
//! multiply-and-reject method on 32-bit outputs. Every step is defined independently of
//! the platform and of the number of threads, so a seed gives the same interval anywhere.

use std::collections::HashMap;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;

use super::metrics::{EachOnce, Evaluator, Metric, Multiplicities};
use super::rows::{PredictionError, Rows, task_name};
use crate::card::Direction;
use crate::status::Status;

pub use crate::policy::{DEFAULT_RESAMPLES, DEFAULT_SEED};

/// How to resample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BootstrapConfig {
    /// Number of resamples (default 1,000).
    pub resamples: u32,
    pub seed: u64,
    /// Coverage of the percentile interval (default 0.95).
    pub confidence: f64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        BootstrapConfig {
            resamples: DEFAULT_RESAMPLES,
            seed: DEFAULT_SEED,
            confidence: 0.95,
        }
    }
}

/// How base rows were matched to head rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pairing {
    /// Both sides have ids, unique and the same set: row with id x at base is paired with
    /// the row with id x at head.
    ById,
    /// No ids on both sides, and the same number of rows: row i with row i.
    ByPosition,
    /// Each side resampled on its own.
    Unpaired,
}

/// The delta of one metric with its bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeltaInterval {
    pub metric: Metric,
    pub base: Option<f64>,
    pub head: Option<f64>,
    /// head − base.
    pub delta: Option<f64>,
    /// Percentile interval of the resampled deltas (numpy's default linear interpolation
    /// between order statistics).
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub confidence: f64,
    /// Resamples the interval rests on: those in which the metric was defined on both sides
    /// (ROC AUC is not when a resample holds one class only).
    pub resamples: u32,
    pub seed: u64,
    pub paired: bool,
    pub pairing: Pairing,
    /// How the rows were paired, or why they were not.
    pub pairing_note: String,
    /// Why there is no delta or no interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undefined: Option<String>,
}

/// Deltas of `metrics` between base and head rows, each with a bootstrap interval.
/// Rows are paired by id when both sides have ids, else by position when the lengths are
/// equal, else resampled independently (see [`Pairing`]).
pub fn bootstrap_deltas(
    base: &Rows,
    head: &Rows,
    metrics: &[Metric],
    config: &BootstrapConfig,
) -> Result<Vec<DeltaInterval>, PredictionError> {
    if config.resamples == 0 || !(config.confidence > 0.0 && config.confidence < 1.0) {
        return Err(PredictionError::BootstrapConfig);
    }
    base.validate()?;
    head.validate()?;
    if base.task() != head.task() {
        return Err(PredictionError::TaskMismatch {
            base: task_name(base.task()),
            head: task_name(head.task()),
        });
    }
    if let (Rows::Binary(b) | Rows::Multiclass(b), Rows::Binary(h) | Rows::Multiclass(h)) =
        (base, head)
        && b.classes != h.classes
    {
        return Err(PredictionError::ClassesDiffer {
            base: b.classes.clone(),
            head: h.classes.clone(),
        });
    }

    let (pairing, pairing_note, reordered) = pair(base, head);
    let base = reordered.as_ref().unwrap_or(base);
    let base_evaluator = Evaluator::new(base, metrics)?;
    let head_evaluator = Evaluator::new(head, metrics)?;
    let base_values = base_evaluator.evaluate(&EachOnce);
    let head_values = head_evaluator.evaluate(&EachOnce);

    let paired = pairing != Pairing::Unpaired;
    let (base_rows, head_rows) = (base.len(), head.len());
    let resampled: Vec<Vec<Option<f64>>> = (0..config.resamples)
        .into_par_iter()
        .map_init(
            || {
                (
                    Draw::new(head_rows),
                    Draw::new(if paired { 0 } else { base_rows }),
                )
            },
            |(head_draw, base_draw), resample| {
                let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
                rng.set_stream(u64::from(resample));
                head_draw.draw(&mut rng);
                let head_values = head_draw.evaluate(&head_evaluator);
                let base_values = if paired {
                    head_draw.evaluate(&base_evaluator)
                } else {
                    base_draw.draw(&mut rng);
                    base_draw.evaluate(&base_evaluator)
                };
                head_values
                    .into_iter()
                    .zip(base_values)
                    .map(|(head, base)| Some(head.ok()? - base.ok()?))
                    .collect()
            },
        )
        .collect();

    let intervals = metrics
        .iter()
        .enumerate()
        .map(|(index, &metric)| {
            let base_value = base_values[index].clone();
            let head_value = head_values[index].clone();
            let mut deltas: Vec<f64> = resampled
                .iter()
                .filter_map(|deltas| deltas[index])
                .collect();
            deltas.sort_unstable_by(f64::total_cmp);
            let low_quantile = (1.0 - config.confidence) / 2.0;
            let interval =
                percentile(&deltas, low_quantile).zip(percentile(&deltas, 1.0 - low_quantile));
            let undefined = match (&base_value, &head_value) {
                (Err(reason), _) => Some(format!("at base: {reason}")),
                (_, Err(reason)) => Some(format!("at head: {reason}")),
                _ if interval.is_none() => {
                    Some(format!("{metric} was undefined in every resample"))
                }
                _ => None,
            };
            let (base_value, head_value) = (base_value.ok(), head_value.ok());
            DeltaInterval {
                metric,
                base: base_value,
                head: head_value,
                delta: head_value.zip(base_value).map(|(h, b)| h - b),
                ci_low: interval.map(|(low, _)| low),
                ci_high: interval.map(|(_, high)| high),
                confidence: config.confidence,
                resamples: u32::try_from(deltas.len()).unwrap_or(u32::MAX),
                seed: config.seed,
                paired,
                pairing,
                pairing_note: pairing_note.clone(),
                undefined,
            }
        })
        .collect();
    Ok(intervals)
}

/// The status of a metric whose rule is breached at the point estimate: `Fail` when the
/// whole interval lies on the bad side of zero (the regression is significant), `Warn`
/// when it reaches zero or beyond (it may be noise). Without an interval the breach stands.
pub fn judge_breach(interval: &DeltaInterval, direction: Direction) -> (Status, String) {
    let (Some(low), Some(high)) = (interval.ci_low, interval.ci_high) else {
        return (
            Status::Fail,
            "no bootstrap interval, so the breach stands".to_owned(),
        );
    };
    let percent = interval.confidence * 100.0;
    let shown = format!("{percent:.0}% interval [{low:.4}, {high:.4}]");
    let significant = match direction {
        Direction::Higher => high < 0.0,
        Direction::Lower => low > 0.0,
    };
    if significant {
        let side = match direction {
            Direction::Higher => "below",
            Direction::Lower => "above",
        };
        (Status::Fail, format!("significant: {shown} lies {side} 0"))
    } else {
        (Status::Warn, format!("not significant: {shown} includes 0"))
    }
}

/// Matches base rows to head rows; returns base rows reordered to head's order when
/// paired by id.
fn pair(base: &Rows, head: &Rows) -> (Pairing, String, Option<Rows>) {
    let equal_lengths = base.len() == head.len();
    match (base.ids(), head.ids()) {
        (Some(base_ids), Some(head_ids)) => match match_ids(&base_ids.values, &head_ids.values) {
            Ok(order) => (
                Pairing::ById,
                format!("{} rows paired by column `{}`", head.len(), head_ids.name),
                Some(base.reordered(&order)),
            ),
            Err(reason) => (
                Pairing::Unpaired,
                format!("{reason}; base and head resampled independently"),
                None,
            ),
        },
        _ if equal_lengths => (
            Pairing::ByPosition,
            format!("{} rows paired by position", head.len()),
            None,
        ),
        _ => (
            Pairing::Unpaired,
            format!(
                "{} rows at base and {} at head, without ids on both sides; resampled independently",
                base.len(),
                head.len()
            ),
            None,
        ),
    }
}

/// For each head row, the base row with the same id; `Err` says why ids cannot pair.
fn match_ids(base: &[String], head: &[String]) -> Result<Vec<u32>, String> {
    let mut base_index: HashMap<&str, u32> = HashMap::with_capacity(base.len());
    for (row, id) in base.iter().enumerate() {
        // Row counts are bounded by u32::MAX in validation.
        if base_index.insert(id, row as u32).is_some() {
            return Err(format!("id `{id}` appears twice at base"));
        }
    }
    if base.len() != head.len() {
        return Err(format!(
            "{} ids at base and {} at head",
            base.len(),
            head.len()
        ));
    }
    let mut used = vec![false; base.len()];
    head.iter()
        .map(|id| {
            let row = *base_index
                .get(id.as_str())
                .ok_or_else(|| format!("id `{id}` is at head but not at base"))?;
            if std::mem::replace(&mut used[row as usize], true) {
                return Err(format!("id `{id}` appears twice at head"));
            }
            Ok(row)
        })
        .collect()
}

/// One bootstrap draw of n rows with replacement, as per-row multiplicities: bytes, or
/// 32-bit counts in the (practically impossible) case a row is drawn 256 times or more.
/// Both hold the same draws, so the result does not depend on which one is used.
struct Draw {
    small: Vec<u8>,
    large: Vec<u32>,
    uses_large: bool,
}

impl Draw {
    fn new(rows: usize) -> Draw {
        Draw {
            small: vec![0; rows],
            large: Vec::new(),
            uses_large: false,
        }
    }

    fn draw(&mut self, rng: &mut ChaCha8Rng) {
        let replay = rng.clone();
        self.uses_large = !draw_into(rng, &mut self.small, |count| count.checked_add(1));
        if self.uses_large {
            let mut rng = replay;
            self.large.resize(self.small.len(), 0);
            draw_into(&mut rng, &mut self.large, |count| count.checked_add(1));
        }
    }

    fn evaluate(&self, evaluator: &Evaluator<'_>) -> Vec<Result<f64, String>> {
        if self.uses_large {
            evaluator.evaluate(&Multiplicities(&self.large[..]))
        } else {
            evaluator.evaluate(&Multiplicities(&self.small[..]))
        }
    }
}

/// Draws `counts.len()` row indices into `counts`; false when a count would overflow, in
/// which case the generator has still consumed the whole draw.
fn draw_into<T: Copy + Default>(
    rng: &mut ChaCha8Rng,
    counts: &mut [T],
    increment: impl Fn(T) -> Option<T>,
) -> bool {
    counts.fill(T::default());
    // Validation bounds row counts by u32::MAX.
    let rows = counts.len() as u32;
    let mut fits = true;
    for _ in 0..rows {
        let count = &mut counts[below(rng, rows) as usize];
        match increment(*count) {
            Some(next) => *count = next,
            None => fits = false,
        }
    }
    fits
}

/// Uniform in [0, bound), without modulo bias (D. Lemire, "Fast random integer generation
/// in an interval", 2019).
fn below(rng: &mut ChaCha8Rng, bound: u32) -> u32 {
    let mut product = u64::from(rng.next_u32()) * u64::from(bound);
    if (product as u32) < bound {
        let threshold = bound.wrapping_neg() % bound;
        while (product as u32) < threshold {
            product = u64::from(rng.next_u32()) * u64::from(bound);
        }
    }
    (product >> 32) as u32
}

/// Quantile q of sorted values with linear interpolation (numpy's default).
fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = q * last as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(last);
    let fraction = position - below as f64;
    Some(sorted[below] + fraction * (sorted[above] - sorted[below]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let sorted = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&sorted, 0.0), Some(1.0));
        assert_eq!(percentile(&sorted, 1.0), Some(4.0));
        // numpy.percentile([1, 2, 3, 4], 25) == 1.75
        assert_eq!(percentile(&sorted, 0.25), Some(1.75));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn draws_are_uniform_and_complete() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut draw = Draw::new(10);
        draw.draw(&mut rng);
        assert_eq!(draw.small.iter().map(|&c| u32::from(c)).sum::<u32>(), 10);
        assert!(!draw.uses_large);
        let mut tally = [0u32; 3];
        for _ in 0..30_000 {
            tally[below(&mut rng, 3) as usize] += 1;
        }
        assert!(
            tally.iter().all(|&t| (9_500..10_500).contains(&t)),
            "{tally:?}"
        );
    }

    #[test]
    fn byte_counts_that_would_overflow_fall_back_to_the_same_draws() {
        let rng = ChaCha8Rng::seed_from_u64(3);
        let mut bytes = vec![0u8; 4];
        let mut wide = vec![0u32; 4];
        // A byte limit of 1 stands in for 255, so the fallback path runs on a small draw.
        let fits = draw_into(&mut rng.clone(), &mut bytes, |c| (c < 1).then_some(c + 1));
        let mut replayed = rng.clone();
        draw_into(&mut replayed, &mut wide, |c| c.checked_add(1));
        assert!(!fits, "4 draws over 4 rows repeat a row: {wide:?}");
        assert_eq!(wide.iter().sum::<u32>(), 4);
        // Rows that fit agree between the two.
        for (byte, count) in bytes.iter().zip(&wide) {
            if *count <= 1 {
                assert_eq!(u32::from(*byte), *count);
            }
        }
    }
}
