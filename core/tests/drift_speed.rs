//! Timing of a benchmark-shaped dataset (15 numeric and 5 categorical columns with 10 levels).
//! Ignored by default; run with `cargo test --release -p modelgate-core --test drift_speed --
//! --ignored --nocapture` (ROWS=5000000 for the large case).

use std::time::Instant;

use modelgate_core::drift::{
    CategoricalValues, Column, ColumnOptions, ColumnValues, DriftOptions, StatTest,
    compare_columns, compare_datasets,
};

struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

fn dataset(rows: usize, seed: u64, shift: f64) -> Vec<Column> {
    let mut rng = SplitMix64(seed);
    let mut columns = Vec::new();
    for index in 0..15 {
        let values = (0..rows)
            .map(|_| rng.uniform() + rng.uniform() + rng.uniform() + shift * index as f64 / 15.0)
            .collect();
        columns.push(Column::new(
            format!("x{index}"),
            ColumnValues::Numeric(values),
        ));
    }
    for index in 0..5 {
        let codes = (0..rows).map(|_| (rng.next_u64() % 10) as u32).collect();
        let levels = (0..10).map(|l| format!("L{l}")).collect();
        columns.push(Column::new(
            format!("c{index}"),
            ColumnValues::Categorical(CategoricalValues { codes, levels }),
        ));
    }
    columns
}

fn numeric_column(rows: usize, seed: u64, shift: f64) -> ColumnValues {
    let mut rng = SplitMix64(seed);
    ColumnValues::Numeric(
        (0..rows)
            .map(|_| rng.uniform() + rng.uniform() + rng.uniform() + shift)
            .collect(),
    )
}

#[test]
#[ignore = "timing; run explicitly"]
fn benchmark_shaped_dataset() {
    let rows: usize = std::env::var("ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000_000);
    let reference = dataset(rows, 1, 0.0);
    let current = dataset(rows, 2, 0.2);
    let started = Instant::now();
    let result = compare_datasets(reference, current, &DriftOptions::default()).expect("ok");
    println!(
        "{rows} rows x 20 columns, automatic tests: {:.2?} ({} drifted)",
        started.elapsed(),
        result.drifted_columns
    );
    for test in StatTest::ALL {
        let reference = numeric_column(rows, 3, 0.0);
        let current = numeric_column(rows, 4, 0.3);
        let started = Instant::now();
        let options = ColumnOptions {
            stattest: Some(test),
            ..ColumnOptions::default()
        };
        let column = compare_columns("x", reference, current, &options);
        println!(
            "  {test:>16}: {:.2?} statistic {:?} p {:?}",
            started.elapsed(),
            column.statistic,
            column.p_value
        );
    }
}
