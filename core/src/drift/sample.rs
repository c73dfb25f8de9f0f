//! Cleaning (missing values and ±inf removed, as Evidently does) and the two forms every
//! test reads: a pair of sorted numeric samples, or a table of counts per category.
//! Each column is sorted once here; every numeric test then walks the two sorted arrays.

use std::collections::BTreeMap;

use super::CategoricalValues;

/// What cleaning removed from one side.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Removed {
    pub nulls: usize,
    pub infinite: usize,
}

/// Drops NaN and ±inf and turns -0.0 into 0.0 (pandas counts them as one value), in the
/// caller's buffer. The order is kept: [`NumericPair::sort`] sorts when a test needs it.
pub(crate) fn clean_numeric_unsorted(mut values: Vec<f64>) -> (Vec<f64>, Removed) {
    let mut removed = Removed::default();
    for v in &values {
        if v.is_nan() {
            removed.nulls += 1;
        } else if v.is_infinite() {
            removed.infinite += 1;
        }
    }
    if removed.nulls + removed.infinite > 0 {
        values.retain(|v| v.is_finite());
    }
    for v in &mut values {
        *v += 0.0;
    }
    (values, removed)
}

/// Below this many values a comparison sort is as fast as radix passes.
const RADIX_SORT_MIN_LEN: usize = 4096;

/// Bits per radix-sort pass: 11 sorts 64-bit keys in 6 passes, with counts that stay in cache.
const RADIX_BITS: u32 = 11;
const RADIX_PASSES: usize = 64_usize.div_ceil(RADIX_BITS as usize);
const RADIX_BUCKETS: usize = 1 << RADIX_BITS;

/// Sorts finite floats ascending. Large inputs use an LSD radix sort on order-preserving bit
/// patterns (11 bits a pass, passes where every key has the same digit skipped): several
/// times faster than a comparison sort at millions of values. The keys live in the values'
/// own buffer (as bit patterns), so the only extra memory is one scratch buffer.
fn sort_finite(values: &mut Vec<f64>) {
    if values.len() < RADIX_SORT_MIN_LEN {
        values.sort_unstable_by(f64::total_cmp);
        return;
    }
    const SIGN: u64 = 1 << 63;
    // Negative floats: flip every bit; others: set the sign bit. Unsigned order = float order.
    let to_key = |v: f64| {
        let bits = v.to_bits();
        if bits & SIGN != 0 { !bits } else { bits | SIGN }
    };
    let from_key = |key: u64| f64::from_bits(if key & SIGN != 0 { key & !SIGN } else { !key });
    let digit = |key: u64, pass: usize| {
        ((key >> (RADIX_BITS as usize * pass)) as usize) & (RADIX_BUCKETS - 1)
    };
    let mut counts = vec![[0usize; RADIX_BUCKETS]; RADIX_PASSES];
    for value in values.iter_mut() {
        let key = to_key(*value);
        for (pass, histogram) in counts.iter_mut().enumerate() {
            histogram[digit(key, pass)] += 1;
        }
        *value = f64::from_bits(key);
    }
    let mut scratch = scratch_pool::take(values.len());
    for (pass, histogram) in counts.iter().enumerate() {
        if histogram.contains(&values.len()) {
            continue;
        }
        let mut offsets = [0usize; RADIX_BUCKETS];
        let mut running = 0;
        for (offset, &count) in offsets.iter_mut().zip(histogram) {
            *offset = running;
            running += count;
        }
        for &key in values.iter() {
            let bucket = digit(key.to_bits(), pass);
            scratch[offsets[bucket]] = key;
            offsets[bucket] += 1;
        }
        std::mem::swap(values, &mut scratch);
    }
    for value in values.iter_mut() {
        *value = from_key(value.to_bits());
    }
    scratch_pool::give_back(scratch);
}

/// Scratch buffers of the radix sort, kept between sorts: a fresh buffer of millions of
/// values costs a page fault per 4 KiB on first touch, more than a radix pass over it.
mod scratch_pool {
    use std::sync::Mutex;

    /// Buffers kept at most (about one per sort running at once).
    const KEPT: usize = 4;

    static POOL: Mutex<Vec<Vec<f64>>> = Mutex::new(Vec::new());

    /// A buffer of `len` values (their contents are garbage to be overwritten).
    pub(super) fn take(len: usize) -> Vec<f64> {
        let reused = POOL.lock().ok().and_then(|mut pool| {
            let best = (0..pool.len()).max_by_key(|&i| pool[i].capacity())?;
            Some(pool.swap_remove(best))
        });
        let mut buffer = reused.unwrap_or_default();
        buffer.resize(len, 0.0);
        buffer
    }

    pub(super) fn give_back(buffer: Vec<f64>) {
        if let Ok(mut pool) = POOL.lock()
            && pool.len() < KEPT
        {
            pool.push(buffer);
        }
    }
}

/// Two cleaned numeric samples: sorted by [`NumericPair::sort`] before any test but the
/// sort-free wasserstein reads them.
#[derive(Debug)]
pub(crate) struct NumericPair {
    pub reference: Vec<f64>,
    pub current: Vec<f64>,
    /// The values came from an integer column (numpy widens integer histogram bins to >= 1).
    pub integer: bool,
}

/// How often one distinct value of the pooled sample occurs in each sample.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Run {
    pub in_reference: usize,
    pub in_current: usize,
}

/// Walks the distinct values of two sorted samples in increasing order.
#[derive(Debug)]
pub(crate) struct MergedRuns<'a> {
    a: &'a [f64],
    b: &'a [f64],
    i: usize,
    j: usize,
}

impl<'a> MergedRuns<'a> {
    pub fn new(a: &'a [f64], b: &'a [f64]) -> Self {
        MergedRuns { a, b, i: 0, j: 0 }
    }
}

impl Iterator for MergedRuns<'_> {
    type Item = Run;

    fn next(&mut self) -> Option<Run> {
        let value = match (self.a.get(self.i), self.b.get(self.j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => return None,
        };
        let start_i = self.i;
        while self.a.get(self.i) == Some(&value) {
            self.i += 1;
        }
        let start_j = self.j;
        while self.b.get(self.j) == Some(&value) {
            self.j += 1;
        }
        Some(Run {
            in_reference: self.i - start_i,
            in_current: self.j - start_j,
        })
    }
}

impl NumericPair {
    /// Sorts both samples (cleaned but unsorted), on two threads.
    pub fn sort(&mut self) {
        let (reference, current) = (&mut self.reference, &mut self.current);
        rayon::join(|| sort_finite(reference), || sort_finite(current));
    }

    /// Distinct values of both samples together, counted up to `limit` (sorted or not).
    pub fn distinct_up_to(&self, limit: usize) -> usize {
        let mut seen: Vec<f64> = Vec::with_capacity(limit);
        for &value in self.reference.iter().chain(&self.current) {
            if !seen.contains(&value) {
                seen.push(value);
                if seen.len() >= limit {
                    break;
                }
            }
        }
        seen.len()
    }

    pub fn runs(&self) -> MergedRuns<'_> {
        MergedRuns::new(&self.reference, &self.current)
    }

    /// Distinct values of the reference alone.
    pub fn reference_distinct(&self) -> usize {
        count_distinct(&self.reference)
    }

    /// Distinct values of reference and current together.
    pub fn combined_distinct(&self) -> usize {
        self.runs().count()
    }

    /// One row per distinct value, in increasing order.
    pub fn value_table(&self) -> CountTable {
        let mut table = CountTable::default();
        for run in self.runs() {
            table.reference.push(run.in_reference as u64);
            table.current.push(run.in_current as u64);
        }
        table
    }
}

pub(crate) fn count_distinct(sorted: &[f64]) -> usize {
    let mut distinct = 0;
    let mut previous = None;
    for &v in sorted {
        if previous != Some(v) {
            distinct += 1;
            previous = Some(v);
        }
    }
    distinct
}

/// Counts per key of the union of both samples' keys, keys in increasing order (numbers
/// numerically, strings by code point, as Python's `sorted`).
#[derive(Debug, Default, Clone)]
pub(crate) struct CountTable {
    pub reference: Vec<u64>,
    pub current: Vec<u64>,
}

impl CountTable {
    pub fn reference_total(&self) -> u64 {
        self.reference.iter().sum()
    }

    pub fn current_total(&self) -> u64 {
        self.current.iter().sum()
    }
}

/// Two categorical samples counted per level of their union.
#[derive(Debug)]
pub(crate) struct CategoricalPair {
    /// Levels seen in either sample, sorted.
    pub levels: Vec<String>,
    pub table: CountTable,
}

/// Counts each side's codes and joins the two dictionaries by level text.
/// Fails on a code outside its dictionary.
pub(crate) fn count_categories(
    reference: &CategoricalValues,
    current: &CategoricalValues,
) -> Result<(CategoricalPair, Removed, Removed), String> {
    let (reference_counts, reference_removed) = count_codes(reference, "reference")?;
    let (current_counts, current_removed) = count_codes(current, "current")?;
    let mut joined: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (level, &count) in reference.levels.iter().zip(&reference_counts) {
        if count > 0 {
            joined.entry(level.as_str()).or_default().0 += count;
        }
    }
    for (level, &count) in current.levels.iter().zip(&current_counts) {
        if count > 0 {
            joined.entry(level.as_str()).or_default().1 += count;
        }
    }
    let mut pair = CategoricalPair {
        levels: Vec::with_capacity(joined.len()),
        table: CountTable::default(),
    };
    for (level, (in_reference, in_current)) in joined {
        pair.levels.push(level.to_owned());
        pair.table.reference.push(in_reference);
        pair.table.current.push(in_current);
    }
    Ok((pair, reference_removed, current_removed))
}

fn count_codes(values: &CategoricalValues, side: &str) -> Result<(Vec<u64>, Removed), String> {
    let mut counts = vec![0u64; values.levels.len()];
    let mut removed = Removed::default();
    for &code in &values.codes {
        if code == CategoricalValues::MISSING {
            removed.nulls += 1;
            continue;
        }
        match counts.get_mut(code as usize) {
            Some(count) => *count += 1,
            None => {
                return Err(format!(
                    "{side} has category code {code}, but its dictionary has only {} levels",
                    values.levels.len()
                ));
            }
        }
    }
    Ok((counts, removed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_counts_and_drops_missing_and_infinite_values() {
        let (mut values, removed) = clean_numeric_unsorted(vec![
            3.0,
            f64::NAN,
            -0.0,
            f64::INFINITY,
            0.0,
            f64::NEG_INFINITY,
        ]);
        sort_finite(&mut values);
        assert_eq!(values, vec![0.0, 0.0, 3.0]);
        assert!(values[0].is_sign_positive());
        assert_eq!((removed.nulls, removed.infinite), (1, 2));
    }

    #[test]
    fn radix_sort_orders_like_a_comparison_sort() {
        let mut state = 12345u64;
        let mut values: Vec<f64> = (0..20_000)
            .map(|i| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let magnitude = f64::from((state >> 40) as u32) / 1e3;
                match i % 4 {
                    0 => -magnitude,
                    1 => magnitude * 1e-300,
                    2 => f64::from((state >> 60) as u32),
                    _ => magnitude,
                }
            })
            .collect();
        let mut expected = values.clone();
        expected.sort_unstable_by(f64::total_cmp);
        sort_finite(&mut values);
        assert_eq!(values, expected);
    }

    #[test]
    fn runs_merge_ties_across_samples() {
        let pair = NumericPair {
            reference: vec![1.0, 1.0, 2.0],
            current: vec![1.0, 3.0],
            integer: false,
        };
        // The values 1, 2 and 3, in order.
        let runs: Vec<(usize, usize)> = pair
            .runs()
            .map(|r| (r.in_reference, r.in_current))
            .collect();
        assert_eq!(runs, vec![(2, 1), (1, 0), (0, 1)]);
        assert_eq!(pair.reference_distinct(), 2);
        assert_eq!(pair.combined_distinct(), 3);
    }
}
