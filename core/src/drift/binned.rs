//! Tests on counts: Evidently's binning (shared by PSI, KL divergence and Jensen–Shannon),
//! Hellinger with its own binning, chi-square (Evidently's goodness of fit and the calibrated
//! test of homogeneity) and the two-proportion z-test.

use super::sample::{CountTable, NumericPair};
use super::special;

/// Numeric columns switch from one bin per value to a Sturges histogram above this many
/// distinct reference values (Evidently's `get_binned_data`).
const PER_VALUE_MAX_DISTINCT: usize = 20;

/// numpy's `histogram_bin_edges(values, bins="sturges")` given the values' minimum, maximum
/// and count: equal-width bins, `ceil(range / (range / (log2 N + 1)))` of them, edges as
/// `numpy.linspace` computes them. Integer data gets bins at least 1 wide, as numpy does.
pub(crate) fn sturges_edges(min: f64, max: f64, count: usize, integer: bool) -> Vec<f64> {
    let (mut first, mut last) = (min, max);
    if first == last {
        first -= 0.5;
        last += 0.5;
    }
    let mut width = (max - min) / ((count as f64).log2() + 1.0);
    let bins = if width != 0.0 && width.is_finite() {
        if integer && width < 1.0 {
            width = 1.0;
        }
        ((last - first) / width).ceil().max(1.0) as usize
    } else {
        1
    };
    let step = (last - first) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step + first).collect();
    if let Some(end) = edges.last_mut() {
        *end = last;
    }
    edges
}

/// Counts of sorted `values` in bins `[e_i, e_{i+1})`, the last bin closed, as `np.histogram`.
fn histogram(sorted: &[f64], edges: &[f64]) -> Vec<u64> {
    let below = |edge: f64| sorted.partition_point(|&v| v < edge);
    let mut counts = Vec::with_capacity(edges.len().saturating_sub(1));
    for (index, pair) in edges.windows(2).enumerate() {
        let start = below(pair[0]);
        let end = if index + 2 == edges.len() {
            sorted.partition_point(|&v| v <= pair[1])
        } else {
            below(pair[1])
        };
        counts.push(end.saturating_sub(start) as u64);
    }
    counts
}

/// How a pair was binned for PSI, KL and Jensen–Shannon.
#[derive(Debug, Clone)]
pub(crate) struct Bins {
    pub reference: Vec<u64>,
    pub current: Vec<u64>,
}

/// Evidently's `get_binned_data` for a numeric pair: a Sturges histogram on the pooled values
/// when the reference has more than 20 distinct values, else one bin per distinct value.
pub(crate) fn numeric_bins(pair: &NumericPair) -> Bins {
    if pair.reference_distinct() > PER_VALUE_MAX_DISTINCT {
        let (min, max) = pooled_range(pair);
        let edges = sturges_edges(
            min,
            max,
            pair.reference.len() + pair.current.len(),
            pair.integer,
        );
        Bins {
            reference: histogram(&pair.reference, &edges),
            current: histogram(&pair.current, &edges),
        }
    } else {
        let table = pair.value_table();
        Bins {
            reference: table.reference,
            current: table.current,
        }
    }
}

pub(crate) fn table_bins(table: &CountTable) -> Bins {
    Bins {
        reference: table.reference.clone(),
        current: table.current.clone(),
    }
}

fn pooled_range(pair: &NumericPair) -> (f64, f64) {
    let firsts = [pair.reference.first(), pair.current.first()];
    let lasts = [pair.reference.last(), pair.current.last()];
    let min = firsts
        .into_iter()
        .flatten()
        .copied()
        .fold(f64::INFINITY, f64::min);
    let max = lasts
        .into_iter()
        .flatten()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    (min, max)
}

fn fractions(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    counts.iter().map(|&c| c as f64 / total as f64).collect()
}

/// Evidently's zero fill: empty bins get `m / 1e6` when the smallest non-zero share `m` of the
/// same sample is at most 1e-4, else 1e-4. Not renormalised (as Evidently).
fn filled_fractions(counts: &[u64]) -> Vec<f64> {
    let mut shares = fractions(counts);
    let smallest = shares
        .iter()
        .copied()
        .filter(|&s| s != 0.0)
        .fold(f64::INFINITY, f64::min);
    let fill = if smallest <= 0.0001 {
        smallest / 1e6
    } else {
        0.0001
    };
    for share in &mut shares {
        if *share == 0.0 {
            *share = fill;
        }
    }
    shares
}

/// Population stability index on zero-filled shares: Σ (r − c)·ln(r / c).
pub(crate) fn psi(bins: &Bins) -> f64 {
    let reference = filled_fractions(&bins.reference);
    let current = filled_fractions(&bins.current);
    reference
        .iter()
        .zip(&current)
        .map(|(r, c)| (r - c) * (r / c).ln())
        .sum()
}

/// `x·ln(x/y)` with scipy's conventions for zeros.
fn relative_entropy(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

fn normalised(values: &[f64]) -> Vec<f64> {
    let total: f64 = values.iter().sum();
    values.iter().map(|v| v / total).collect()
}

/// KL(reference ‖ current) on zero-filled shares, each renormalised (scipy's `entropy`).
pub(crate) fn kl_divergence(bins: &Bins) -> f64 {
    let p = normalised(&filled_fractions(&bins.reference));
    let q = normalised(&filled_fractions(&bins.current));
    p.iter()
        .zip(&q)
        .map(|(&a, &b)| relative_entropy(a, b))
        .sum()
}

/// Jensen–Shannon distance (natural log) on raw shares, as scipy's `jensenshannon`.
pub(crate) fn jensen_shannon(bins: &Bins) -> f64 {
    let p = normalised(&fractions(&bins.reference));
    let q = normalised(&fractions(&bins.current));
    let (mut left, mut right) = (0.0, 0.0);
    for (&a, &b) in p.iter().zip(&q) {
        let m = (a + b) / 2.0;
        left += relative_entropy(a, m);
        right += relative_entropy(b, m);
    }
    ((left + right) / 2.0).sqrt()
}

/// Evidently's Hellinger distance for a categorical pair: shares per level.
pub(crate) fn hellinger_categorical(table: &CountTable) -> f64 {
    let p = fractions(&table.reference);
    let q = fractions(&table.current);
    let affinity: f64 = p.iter().zip(&q).map(|(a, b)| (a * b).sqrt()).sum();
    (1.0 - affinity.clamp(0.0, 1.0)).sqrt()
}

/// Evidently's Hellinger distance for a numeric pair: Sturges edges over the *distinct*
/// pooled values, histogram densities, summed with the mean bin width.
pub(crate) fn hellinger_numeric(pair: &NumericPair) -> f64 {
    let (min, max) = pooled_range(pair);
    let edges = sturges_edges(min, max, pair.combined_distinct(), pair.integer);
    let density = |sorted: &[f64]| -> Vec<f64> {
        let counts = histogram(sorted, &edges);
        let total: u64 = counts.iter().sum();
        counts
            .iter()
            .zip(edges.windows(2))
            .map(|(&c, e)| c as f64 / (e[1] - e[0]) / total as f64)
            .collect()
    };
    let h1 = density(&pair.reference);
    let h2 = density(&pair.current);
    let (first, last) = (edges.first().copied(), edges.last().copied());
    let bin_width = match (first, last) {
        (Some(first), Some(last)) => (last - first) / (edges.len() - 1) as f64,
        _ => f64::NAN,
    };
    let affinity: f64 = h1
        .iter()
        .zip(&h2)
        .map(|(a, b)| (a * b).sqrt() * bin_width)
        .sum();
    (1.0 - affinity.clamp(0.0, 1.0)).sqrt()
}

/// A statistic, its p-value and degrees of freedom.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChiSquare {
    pub statistic: f64,
    pub p_value: f64,
}

/// Evidently's chi-square: current counts against reference counts scaled to the current
/// size, taken as exact (goodness of fit, `scipy.stats.chisquare`), df = K − 1.
pub(crate) fn chi_square_evidently(table: &CountTable) -> ChiSquare {
    let k_norm = table.current_total() as f64 / table.reference_total() as f64;
    let statistic: f64 = table
        .reference
        .iter()
        .zip(&table.current)
        .map(|(&r, &c)| {
            let expected = r as f64 * k_norm;
            (c as f64 - expected).powi(2) / expected
        })
        .sum();
    let df = table.reference.len() as f64 - 1.0;
    ChiSquare {
        statistic,
        p_value: special::chi2_sf(statistic, df),
    }
}

/// Chi-square test of homogeneity on the 2×K table (both samples random), as
/// `scipy.stats.chi2_contingency(correction=False)`. One level only: statistic 0, p = 1.
pub(crate) fn chi_square_homogeneity(table: &CountTable) -> ChiSquare {
    let n_ref = table.reference_total() as f64;
    let n_cur = table.current_total() as f64;
    let total = n_ref + n_cur;
    if table.reference.len() < 2 {
        return ChiSquare {
            statistic: 0.0,
            p_value: 1.0,
        };
    }
    let mut statistic = 0.0;
    for (&r, &c) in table.reference.iter().zip(&table.current) {
        let level = (r + c) as f64;
        let expected_ref = n_ref * level / total;
        let expected_cur = n_cur * level / total;
        statistic += (r as f64 - expected_ref).powi(2) / expected_ref;
        statistic += (c as f64 - expected_cur).powi(2) / expected_cur;
    }
    let df = table.reference.len() as f64 - 1.0;
    ChiSquare {
        statistic,
        p_value: special::chi2_sf(statistic, df),
    }
}

/// Two-proportion z-test with pooled variance, as Evidently: the smallest key is coded 0 and
/// every other key 1. `sf_form` picks `2·sf(|z|)` (accurate for tiny p) over Evidently's
/// `2·(1 − Φ(|z|))`, which is exactly 0 once Φ rounds to 1.
pub(crate) fn z_test(table: &CountTable, sf_form: bool) -> ChiSquare {
    let n1 = table.reference_total() as f64;
    let n2 = table.current_total() as f64;
    let single = |counts: &[u64]| counts.iter().filter(|&&c| c > 0).count() == 1;
    let same_single_value = single(&table.reference)
        && single(&table.current)
        && table
            .reference
            .iter()
            .zip(&table.current)
            .any(|(&r, &c)| r > 0 && c > 0);
    if same_single_value {
        return ChiSquare {
            statistic: 0.0,
            p_value: 1.0,
        };
    }
    let zero_ref = table.reference.first().copied().unwrap_or(0) as f64;
    let zero_cur = table.current.first().copied().unwrap_or(0) as f64;
    let p1 = (n1 - zero_ref) / n1;
    let p2 = (n2 - zero_cur) / n2;
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let p_value = if sf_form {
        2.0 * special::normal_sf(z.abs())
    } else {
        2.0 * (1.0 - special::normal_cdf(z.abs()))
    };
    ChiSquare {
        statistic: z,
        p_value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sturges_gives_numpy_bin_counts() {
        assert_eq!(sturges_edges(0.0, 1.0, 1000, false).len(), 11 + 1);
        assert_eq!(sturges_edges(3.0, 3.0, 10, false), vec![2.5, 3.5]);
        // Integer data: bins at least 1 wide.
        assert_eq!(sturges_edges(0.0, 3.0, 1 << 20, true).len(), 3 + 1);
    }

    #[test]
    fn histogram_closes_the_last_bin() {
        let counts = histogram(&[0.0, 0.5, 1.0, 1.0, 2.0], &[0.0, 1.0, 2.0]);
        assert_eq!(counts, vec![2, 3]);
    }
}
