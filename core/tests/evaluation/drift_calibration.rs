//! The calibrated mode's false-alarm rate: 500 seeded pairs of samples drawn from one
//! distribution must be flagged at most 7% of the time at the 0.05 level; Evidently mode's
//! chi-square is shown for contrast.

use modelgate_core::drift::{
    CategoricalValues, ColumnOptions, ColumnValues, Mode, StatTest, compare_columns,
};

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, fully specified generator, so the samples
/// are the same on every platform.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1): 53 random bits, never 0.
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal by Box–Muller (one of the pair).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    fn category(&mut self, weights: &[f64]) -> usize {
        let mut u = self.uniform();
        for (index, weight) in weights.iter().enumerate() {
            if u < *weight {
                return index;
            }
            u -= weight;
        }
        weights.len() - 1
    }
}

const PAIRS: u64 = 500;
const N: usize = 300;
const LEVELS: [&str; 5] = ["a", "b", "c", "d", "e"];
const WEIGHTS: [f64; 5] = [0.1, 0.15, 0.2, 0.25, 0.3];

fn categorical_sample(rng: &mut SplitMix64) -> ColumnValues {
    let codes = (0..N).map(|_| rng.category(&WEIGHTS) as u32).collect();
    ColumnValues::Categorical(CategoricalValues {
        codes,
        levels: LEVELS.iter().map(|l| (*l).to_owned()).collect(),
    })
}

fn numeric_sample(rng: &mut SplitMix64) -> ColumnValues {
    ColumnValues::Numeric((0..N).map(|_| rng.normal()).collect())
}

/// Share of pairs flagged as drifted, and the test used.
fn false_alarm_rate(
    seed: u64,
    mode: Mode,
    sample: fn(&mut SplitMix64) -> ColumnValues,
) -> (f64, Option<StatTest>) {
    let mut rng = SplitMix64(seed);
    let mut flagged = 0;
    let mut test = None;
    for _ in 0..PAIRS {
        let reference = sample(&mut rng);
        let current = sample(&mut rng);
        let options = ColumnOptions {
            mode,
            ..ColumnOptions::default()
        };
        let column = compare_columns("x", reference, current, &options);
        test = column.stattest;
        flagged += u32::from(column.drifted);
    }
    (f64::from(flagged) / PAIRS as f64, test)
}

#[test]
fn calibrated_categorical_false_alarms_stay_near_five_percent() {
    let (rate, test) = false_alarm_rate(2024, Mode::Calibrated, categorical_sample);
    let (evidently_rate, _) = false_alarm_rate(2024, Mode::Evidently, categorical_sample);
    println!(
        "categorical, 5 levels, n={N}, {PAIRS} pairs: calibrated {test:?} flags {:.1}%, \
         Evidently's chi-square {:.1}%",
        100.0 * rate,
        100.0 * evidently_rate
    );
    assert_eq!(test, Some(StatTest::ChiSquare));
    assert!(rate <= 0.07, "calibrated false-alarm rate {rate}");
}

#[test]
fn calibrated_numeric_false_alarms_stay_near_five_percent() {
    let (rate, test) = false_alarm_rate(7, Mode::Calibrated, numeric_sample);
    println!(
        "numeric, normal, n={N}, {PAIRS} pairs: calibrated {test:?} flags {:.1}%",
        100.0 * rate
    );
    assert_eq!(test, Some(StatTest::Ks));
    assert!(rate <= 0.07, "calibrated false-alarm rate {rate}");
}
