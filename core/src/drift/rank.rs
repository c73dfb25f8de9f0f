//! Tests on the pooled order of two sorted numeric samples, each one linear walk over their
//! merged distinct values (ties handled by midranks, as scipy does): Anderson–Darling k-sample,
//! Cramér–von Mises, Mann–Whitney U, plus the CDF distances (Wasserstein, energy) and the
//! t-test.

use super::sample::NumericPair;
use super::special;

/// A statistic and its p-value (and a note when the p-value is only a bound).
#[derive(Debug, Clone)]
pub(crate) struct Tested {
    pub statistic: f64,
    pub p_value: f64,
    pub note: Option<String>,
}

/// `scipy.stats.anderson_ksamp([reference, current], variant="midrank")`: the normalised
/// statistic, and the p-value interpolated from Scholz & Stephens' table, which scipy clips to
/// [0.001, 0.25]. `Err` where scipy raises.
pub(crate) fn anderson_ksamp(pair: &NumericPair) -> Result<Tested, String> {
    let n_ref = pair.reference.len() as f64;
    let n_cur = pair.current.len() as f64;
    let total = n_ref + n_cur;
    if pair.combined_distinct() < 2 {
        return Err("Anderson-Darling needs more than one distinct value".into());
    }
    if total < 4.0 {
        return Err("Anderson-Darling needs at least 4 values in total".into());
    }
    let (mut below, mut ref_below, mut cur_below) = (0.0f64, 0.0f64, 0.0f64);
    let (mut sum_ref, mut sum_cur) = (0.0f64, 0.0f64);
    for run in pair.runs() {
        let (in_ref, in_cur) = (run.in_reference as f64, run.in_current as f64);
        let tied = in_ref + in_cur;
        let b = below + tied / 2.0;
        let m_ref = ref_below + in_ref - in_ref / 2.0;
        let m_cur = cur_below + in_cur - in_cur / 2.0;
        let denominator = b * (total - b) - total * tied / 4.0;
        let weight = tied / total;
        sum_ref += weight * (total * m_ref - b * n_ref).powi(2) / denominator;
        sum_cur += weight * (total * m_cur - b * n_cur).powi(2) / denominator;
        below += tied;
        ref_below += in_ref;
        cur_below += in_cur;
    }
    let a2_kn = (sum_ref / n_ref + sum_cur / n_cur) * (total - 1.0) / total;

    let samples = 2.0f64;
    let h_sum = 1.0 / n_ref + 1.0 / n_cur;
    // hs_cs = cumulative sums of 1/(N-1), 1/(N-2), …, 1/2; h = Σ_{i<N} 1/i; g as scipy.
    let big_n = total as u64;
    let (mut cumulative, mut g) = (0.0f64, 0.0f64);
    for (index, denominator) in (2..big_n).rev().enumerate() {
        cumulative += 1.0 / denominator as f64;
        g += cumulative / (index + 2) as f64;
    }
    let h = cumulative + 1.0;
    let k = samples;
    let a = (4.0 * g - 6.0) * (k - 1.0) + (10.0 - 6.0 * g) * h_sum;
    let b = (2.0 * g - 4.0) * k * k + 8.0 * h * k + (2.0 * g - 14.0 * h - 4.0) * h_sum - 8.0 * h
        + 4.0 * g
        - 6.0;
    let c = (6.0 * h + 2.0 * g - 2.0) * k * k
        + (4.0 * h - 4.0 * g + 6.0) * k
        + (2.0 * h - 6.0) * h_sum
        + 4.0 * h;
    let d = (2.0 * h + 6.0) * k * k - 4.0 * h * k;
    let n = total;
    let sigma_sq = (a * n.powi(3) + b * n * n + c * n + d) / ((n - 1.0) * (n - 2.0) * (n - 3.0));
    let m = k - 1.0;
    let statistic = (a2_kn - m) / sigma_sq.sqrt();
    if !statistic.is_finite() {
        return Err("Anderson-Darling statistic is undefined for these samples".into());
    }

    const B0: [f64; 7] = [0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085];
    const B1: [f64; 7] = [-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615];
    const B2: [f64; 7] = [-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154];
    const SIGNIFICANCE: [f64; 7] = [0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001];
    let critical: Vec<f64> = (0..7)
        .map(|i| B0[i] + B1[i] / m.sqrt() + B2[i] / m)
        .collect();
    let lowest = critical.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = critical.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (p_value, note) = if statistic < lowest {
        (
            0.25,
            Some("p-value capped at 0.25 (the table ends there; the true value is larger)".into()),
        )
    } else if statistic > highest {
        (
            0.001,
            Some(
                "p-value floored at 0.001 (the table ends there; the true value is smaller)".into(),
            ),
        )
    } else {
        let log_sig: Vec<f64> = SIGNIFICANCE.iter().map(|s| s.ln()).collect();
        let [q2, q1, q0] = special::quadratic_fit(&critical, &log_sig);
        (((q2 * statistic + q1) * statistic + q0).exp(), None)
    };
    Ok(Tested {
        statistic,
        p_value,
        note,
    })
}

/// Doubled midrank sums per sample: for every pooled value, 2·rank = 2·below + tied + 1.
/// Returns U = nx Σ(rx_i − i)² + ny Σ(ry_j − j)² exactly, as scipy's `cramervonmises_2samp`.
fn cramer_von_mises_u(pair: &NumericPair) -> f64 {
    let nx = pair.reference.len() as u128;
    let ny = pair.current.len() as u128;
    let (mut below, mut ix, mut iy) = (0u128, 0u128, 0u128);
    // Σ (2r − 2i)² per sample, in integers.
    let (mut sx, mut sy) = (0u128, 0u128);
    for run in pair.runs() {
        let (cx, cy) = (run.in_reference as u128, run.in_current as u128);
        let twice_rank = 2 * below + cx + cy + 1;
        for t in 1..=cx {
            sx += (twice_rank as i128 - 2 * (ix + t) as i128)
                .unsigned_abs()
                .pow(2);
        }
        for t in 1..=cy {
            sy += (twice_rank as i128 - 2 * (iy + t) as i128)
                .unsigned_abs()
                .pow(2);
        }
        below += cx + cy;
        ix += cx;
        iy += cy;
    }
    (nx * sx + ny * sy) as f64 / 4.0
}

/// `scipy.stats.cramervonmises_2samp(reference, current)`: exact p-value when both samples
/// have at most 20 values, otherwise the limiting distribution of the normalised statistic.
pub(crate) fn cramer_von_mises(pair: &NumericPair) -> Tested {
    let nx = pair.reference.len();
    let ny = pair.current.len();
    let u = cramer_von_mises_u(pair);
    let (nxf, nyf) = (nx as f64, ny as f64);
    let k = nxf * nyf;
    let n = nxf + nyf;
    let statistic = u / (k * n) - (4.0 * k - 1.0) / (6.0 * n);
    let p_value = if nx.max(ny) <= 20 {
        cramer_von_mises_exact(u, nx as u64, ny as u64)
    } else {
        let expected = (1.0 + 1.0 / n) / 6.0;
        let variance = (n + 1.0) * (4.0 * k * n - 3.0 * (nxf * nxf + nyf * nyf) - 2.0 * k)
            / (45.0 * n * n * 4.0 * k);
        let normalised = 1.0 / 6.0 + (statistic - expected) / (45.0 * variance).sqrt();
        if normalised < 0.003 {
            1.0
        } else {
            (1.0 - cvm_limit_cdf(normalised)).max(0.0)
        }
    };
    Tested {
        statistic,
        p_value,
        note: None,
    }
}

/// CDF of the limiting one-sample Cramér–von Mises distribution (Csörgő & Faraway), summed
/// until a term drops below 1e-7, as scipy does.
fn cvm_limit_cdf(x: f64) -> f64 {
    use std::f64::consts::PI;
    let mut total = 0.0;
    for k in 0..1000u32 {
        let kf = f64::from(k);
        let u = (special::ln_gamma(kf + 0.5) - special::ln_gamma(kf + 1.0)).exp()
            / (PI.powf(1.5) * x.sqrt());
        let y = 4.0 * kf + 1.0;
        let q = y * y / (16.0 * x);
        let term = u * y.sqrt() * special::exp_neg_times_bessel_k_quarter(q);
        total += term;
        if term.abs() < 1e-7 {
            break;
        }
    }
    total
}

/// Exact p-value of the two-sample Cramér–von Mises statistic: the share of all orderings of
/// the pooled sample whose statistic is at least the observed one (Xiao, Gordon & Yakovlev's
/// lattice recursion over ζ = Σ (a·u − b·v)², with a = lcm/m, b = lcm/n).
fn cramer_von_mises_exact(u: f64, m: u64, n: u64) -> f64 {
    let lcm = m / gcd(m, n) * n;
    let (a, b) = (lcm / m, lcm / n);
    let mn = (m * n) as f64;
    let zeta_observed = python_floor_div(
        (lcm * lcm * (m + n)) as f64 * (6.0 * u - mn * (4.0 * mn - 1.0)),
        6.0 * mn * mn,
    );
    // counts[v] maps ζ → number of paths reaching (u, v) with that partial ζ; one row at a time.
    use std::collections::HashMap;
    let mut row: Vec<HashMap<u64, f64>> = vec![HashMap::new(); (m + 1) as usize];
    for x in 0..=n {
        let mut next: Vec<HashMap<u64, f64>> = vec![HashMap::new(); (m + 1) as usize];
        for v in 0..=m {
            let step = (a as i64 * v as i64 - b as i64 * x as i64)
                .unsigned_abs()
                .pow(2);
            let mut here: HashMap<u64, f64> = HashMap::new();
            if x == 0 && v == 0 {
                here.insert(0, 1.0);
            }
            if x > 0 {
                for (&zeta, &count) in &row[v as usize] {
                    *here.entry(zeta + step).or_default() += count;
                }
            }
            if v > 0 {
                for (&zeta, &count) in &next[(v - 1) as usize] {
                    *here.entry(zeta + step).or_default() += count;
                }
            }
            next[v as usize] = here;
        }
        row = next;
    }
    let (mut at_least, mut all) = (0.0, 0.0);
    for (&zeta, &count) in &row[m as usize] {
        all += count;
        if zeta as f64 >= zeta_observed {
            at_least += count;
        }
    }
    at_least / all
}

/// Python's float `a // b`: the floor of the exact quotient (via fmod), which can differ
/// from `(a / b).floor()` when the rounded quotient lands on an integer.
fn python_floor_div(a: f64, b: f64) -> f64 {
    let remainder = a % b;
    let mut quotient = (a - remainder) / b;
    if remainder != 0.0 && (b < 0.0) != (remainder < 0.0) {
        quotient -= 1.0;
    }
    let floor = quotient.floor();
    if quotient - floor > 0.5 {
        floor + 1.0
    } else {
        floor
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

const MANN_WHITNEY_EXACT_MAX_CELLS: u128 = 1_000_000;

/// `scipy.stats.mannwhitneyu(reference, current, alternative="less")` as Evidently calls it:
/// statistic U of the reference; exact p-value when a sample has at most 8 values and there
/// are no ties, else the tie-corrected normal approximation with continuity correction.
pub(crate) fn mann_whitney_less(pair: &NumericPair) -> Tested {
    let n1 = pair.reference.len() as u128;
    let n2 = pair.current.len() as u128;
    let (mut below, mut twice_rank_sum) = (0u128, 0u128);
    let mut tie_term = 0.0f64;
    let mut ties = false;
    for run in pair.runs() {
        let (c1, c2) = (run.in_reference as u128, run.in_current as u128);
        let tied = c1 + c2;
        twice_rank_sum += c1 * (2 * below + tied + 1);
        let t = tied as f64;
        tie_term += t * t * t - t;
        ties |= tied > 1;
        below += tied;
    }
    // U1 = R1 − n1(n1+1)/2, kept doubled until here so it is exact.
    let u1 = (twice_rank_sum as f64 - (n1 * (n1 + 1)) as f64) / 2.0;
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let u2 = n1f * n2f - u1;
    let scipy_exact = !((n1 > 8 && n2 > 8) || ties);
    // scipy's exact null distribution has n1·n2 + 1 cells; beyond this (a tiny sample against
    // a huge one) the normal approximation is used instead, with a note.
    let exact = scipy_exact && n1 * n2 <= MANN_WHITNEY_EXACT_MAX_CELLS;
    let note = (scipy_exact && !exact).then(|| {
        "Mann-Whitney p-value from the normal approximation: scipy would enumerate the exact \
         distribution, too large here"
            .to_owned()
    });
    let p_value = if exact {
        mann_whitney_exact_sf(u2, n1 as usize, n2 as usize)
    } else {
        let n = n1f + n2f;
        let spread = (n1f * n2f / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
        let z = (u2 - n1f * n2f / 2.0 - 0.5) / spread;
        special::normal_sf(z)
    };
    Tested {
        statistic: u1,
        p_value: p_value.clamp(0.0, 1.0),
        note,
    }
}

/// P(U >= u) under the null, from the frequencies of U: the coefficients of the Gaussian
/// binomial [n1+n2 choose n1]_q, built by multiplying by (1 − q^(n2+i)) / (1 − q^i).
fn mann_whitney_exact_sf(u: f64, n1: usize, n2: usize) -> f64 {
    let (small, large) = (n1.min(n2), n1.max(n2));
    let degree = small * large;
    let mut coefficients = vec![0.0f64; degree + 1];
    coefficients[0] = 1.0;
    for i in 1..=small {
        let up = large + i;
        for index in (up..=degree).rev() {
            coefficients[index] -= coefficients[index - up];
        }
        for index in i..=degree {
            coefficients[index] += coefficients[index - i];
        }
    }
    let threshold = u.ceil().max(0.0) as usize;
    let total: f64 = coefficients.iter().sum();
    let tail: f64 = coefficients.iter().skip(threshold).sum();
    tail / total
}

/// `scipy.stats.ttest_ind(reference, current)` (pooled variance, two-sided), as Evidently's
/// `t_test`.
pub(crate) fn t_test(pair: &NumericPair) -> Tested {
    let (mean1, var1) = mean_and_variance(&pair.reference, 1.0);
    let (mean2, var2) = mean_and_variance(&pair.current, 1.0);
    let n1 = pair.reference.len() as f64;
    let n2 = pair.current.len() as f64;
    let df = n1 + n2 - 2.0;
    let pooled = ((n1 - 1.0) * var1 + (n2 - 1.0) * var2) / df;
    let t = (mean1 - mean2) / (pooled * (1.0 / n1 + 1.0 / n2)).sqrt();
    Tested {
        statistic: t,
        p_value: special::student_t_two_sided(t, df),
        note: None,
    }
}

/// Mean and variance with `ddof` subtracted from the divisor (two passes).
pub(crate) fn mean_and_variance(values: &[f64], ddof: f64) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (mean, squares / (n - ddof))
}

/// Independent stretches of the merge in `cdf_distance`, stepped together: each step of a
/// merge waits on the previous one (its loads depend on which side advanced), so several
/// merges in one loop run in the time of one.
const MERGE_LANES: usize = 4;

/// ∫ |F_ref − F_cur|^p over the pooled support (p = 1 or 2), as scipy's `_cdf_distance`.
///
/// A merge of the two sorted samples, a value at a time: each step adds the gap between the
/// CDFs after the previous value times the distance to this one. Tied values add zero-width
/// terms, so ties need no grouping. The gap is kept scaled by n1·n2, as the exact integer
/// i·n2 − j·n1, so a step costs an addition instead of two divisions. The merged order is
/// cut into [`MERGE_LANES`] stretches (merge path: a binary search finds where each starts)
/// that are summed side by side.
fn cdf_distance(pair: &NumericPair, power: i32) -> f64 {
    let (reference, current) = (pair.reference.as_slice(), pair.current.as_slice());
    let (n1, n2) = (reference.len(), current.len());
    if n1 == 0 || n2 == 0 {
        return 0.0;
    }
    let total_len = n1 + n2;
    let mut lanes: [MergeLane; MERGE_LANES] = std::array::from_fn(|lane| {
        let start = total_len * lane / MERGE_LANES;
        let end = total_len * (lane + 1) / MERGE_LANES;
        MergeLane::new(reference, current, start, end)
    });
    let shortest = lanes.iter().map(|l| l.remaining).min().unwrap_or(0);
    let squared = power != 1;
    for _ in 0..shortest {
        for lane in lanes.iter_mut() {
            lane.step(reference, current, squared);
        }
    }
    for lane in lanes.iter_mut() {
        while lane.remaining > 0 {
            lane.step(reference, current, squared);
        }
    }
    let total: f64 = lanes.iter().map(|lane| lane.total).sum();
    let scale = n1 as f64 * n2 as f64;
    if power == 1 {
        total / scale
    } else {
        total.sqrt() / scale
    }
}

/// One stretch of the merged order: merged positions `start..end`, which take reference
/// values `i..i_end` and current values `j..j_end`.
struct MergeLane {
    i: usize,
    j: usize,
    i_end: usize,
    j_end: usize,
    remaining: usize,
    /// The merged value before this stretch (the first value itself at the very start, so
    /// the first term is zero).
    previous: f64,
    /// i·n2 − j·n1 at the start of the stretch.
    difference: i64,
    total: f64,
}

impl MergeLane {
    fn new(reference: &[f64], current: &[f64], start: usize, end: usize) -> MergeLane {
        let (i, j) = merge_split(reference, current, start);
        let (i_end, j_end) = merge_split(reference, current, end);
        let previous = match (i.checked_sub(1), j.checked_sub(1)) {
            (Some(a), Some(b)) => reference[a].max(current[b]),
            (Some(a), None) => reference[a],
            (None, Some(b)) => current[b],
            // At the very start: the smallest value, a zero-width first term.
            (None, None) => reference[0].min(current[0]),
        };
        MergeLane {
            i,
            j,
            i_end,
            j_end,
            remaining: end - start,
            previous,
            difference: i as i64 * current.len() as i64 - j as i64 * reference.len() as i64,
            total: 0.0,
        }
    }

    /// Merges one more value. Inlined so the lanes' steps interleave in one loop body.
    #[inline(always)]
    fn step(&mut self, reference: &[f64], current: &[f64], squared: bool) {
        let from_reference =
            self.j >= self.j_end || (self.i < self.i_end && reference[self.i] <= current[self.j]);
        let value = if from_reference {
            reference[self.i]
        } else {
            current[self.j]
        };
        let gap = self.difference as f64;
        let gap = if squared { gap * gap } else { gap.abs() };
        self.total += gap * (value - self.previous);
        self.previous = value;
        self.i += usize::from(from_reference);
        self.j += usize::from(!from_reference);
        self.difference += if from_reference {
            current.len() as i64
        } else {
            -(reference.len() as i64)
        };
        self.remaining -= 1;
    }
}

/// How many reference and current values the first `k` merged values hold, reference first
/// on ties (the merge's own rule): the largest i with reference[i-1] <= current[k-i].
fn merge_split(reference: &[f64], current: &[f64], k: usize) -> (usize, usize) {
    let (mut low, mut high) = (k.saturating_sub(current.len()), k.min(reference.len()));
    while low < high {
        let i = (low + high).div_ceil(2);
        // Taking i reference values is consistent when reference[i-1] <= current[k-i].
        if k - i >= current.len() || reference[i - 1] <= current[k - i] {
            low = i;
        } else {
            high = i - 1;
        }
    }
    (low, k - low)
}

/// Evidently's `wasserstein`: W1(reference, current) / max(std(reference), 0.001), population
/// standard deviation.
pub(crate) fn wasserstein_normed(pair: &NumericPair) -> f64 {
    let (_, variance) = mean_and_variance(&pair.reference, 0.0);
    let norm = variance.sqrt().max(0.001);
    cdf_distance(pair, 1) / norm
}

/// [`wasserstein_normed`] on cleaned samples in any order.
pub(crate) fn wasserstein_normed_unsorted(pair: &mut NumericPair) -> f64 {
    let (_, variance) = mean_and_variance(&pair.reference, 0.0);
    let norm = variance.sqrt().max(0.001);
    wasserstein_unsorted(pair) / norm
}

/// Samples below this size are sorted: the buckets would hold a value or two each.
const UNSORTED_W1_MIN_LEN: usize = 8192;
/// Values per bucket, on average, in [`wasserstein_unsorted`].
const VALUES_PER_BUCKET: usize = 64;

/// W1 = ∫ |F_ref − F_cur| exactly, without sorting the samples (which may be reordered).
///
/// The value range is cut into equal buckets. Between two values the integrand is the gap
/// D = F_ref − F_cur after the lower one. Where D cannot change sign inside a bucket (its
/// gap on entry exceeds what the bucket's values can move it by), ∫|D| over the bucket is
/// |∫ D|, and ∫ D needs only each sample's count and sum of values there: ∫ F over [m, M]
/// is (C·(M − m) + Σ (M − x)) / n for C values before the bucket and x in it. Only the
/// buckets where D may cross zero (near equal CDFs) are sorted and merged. Gaps are kept
/// as exact integers scaled by n_ref·n_cur, as in [`cdf_distance`].
fn wasserstein_unsorted(pair: &mut NumericPair) -> f64 {
    let (n1, n2) = (pair.reference.len(), pair.current.len());
    if n1 + n2 < UNSORTED_W1_MIN_LEN || n1 == 0 || n2 == 0 {
        pair.sort();
        return cdf_distance(pair, 1);
    }
    let bounds = |values: &[f64]| {
        values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            })
    };
    let ((lo1, hi1), (lo2, hi2)) = (bounds(&pair.reference), bounds(&pair.current));
    let (lo, hi) = (lo1.min(lo2), hi1.max(hi2));
    let buckets = ((n1 + n2) / VALUES_PER_BUCKET).max(1);
    let scale = buckets as f64 / (hi - lo);
    if hi <= lo || !scale.is_finite() {
        pair.sort();
        return cdf_distance(pair, 1);
    }
    // Monotone in the value (a subtraction and a product by a positive constant, floored),
    // so every value of bucket k is below every value of bucket k + 1.
    let bucket_of = |v: f64| (((v - lo) * scale) as usize).min(buckets - 1);
    // Near bucket k's values; any nearby point serves as the origin of its offsets.
    let width = (hi - lo) / buckets as f64;
    let origin = |k: usize| lo + k as f64 * width;

    #[derive(Clone, Copy)]
    struct Bucket {
        count: [i64; 2],
        /// Σ (x − origin of the bucket), per sample: small numbers, no cancellation.
        offset_sum: [f64; 2],
        min: f64,
        max: f64,
    }
    let empty = Bucket {
        count: [0; 2],
        offset_sum: [0.0; 2],
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
    };
    let mut stats = vec![empty; buckets];
    for (side, values) in [&pair.reference, &pair.current].into_iter().enumerate() {
        for &v in values {
            let k = bucket_of(v);
            let bucket = &mut stats[k];
            bucket.count[side] += 1;
            bucket.offset_sum[side] += v - origin(k);
            bucket.min = bucket.min.min(v);
            bucket.max = bucket.max.max(v);
        }
    }

    let (n1i, n2i) = (n1 as i64, n2 as i64);
    // Buckets where D (scaled by n1·n2) may cross zero.
    let mut crossing = vec![false; buckets];
    let mut difference: i64 = 0;
    for (k, bucket) in stats.iter().enumerate() {
        let lowest = difference - bucket.count[1] * n1i;
        let highest = difference + bucket.count[0] * n2i;
        crossing[k] = lowest < 0 && highest > 0;
        difference += bucket.count[0] * n2i - bucket.count[1] * n1i;
    }

    // The values of the crossing buckets, grouped by bucket (a counting sort of them alone).
    let mut starts = vec![0usize; buckets + 1];
    for k in 0..buckets {
        let held = if crossing[k] {
            (stats[k].count[0] + stats[k].count[1]) as usize
        } else {
            0
        };
        starts[k + 1] = starts[k] + held;
    }
    let mut gathered = vec![(0.0f64, false); starts[buckets]];
    let mut next = starts.clone();
    // A second pass over the values, only when some bucket needs its values.
    if !gathered.is_empty() {
        for (side, values) in [&pair.reference, &pair.current].into_iter().enumerate() {
            for &v in values {
                let k = bucket_of(v);
                if crossing[k] {
                    gathered[next[k]] = (v, side == 0);
                    next[k] += 1;
                }
            }
        }
    }

    let scaled_gap = |d: i64| (d as f64).abs();
    let mut total = 0.0;
    let mut previous_max: Option<f64> = None;
    // Values of each sample in the buckets before this one.
    let (mut i_before, mut j_before) = (0i64, 0i64);
    for k in 0..buckets {
        let bucket = &stats[k];
        if bucket.count[0] + bucket.count[1] == 0 {
            continue;
        }
        let before = i_before * n2i - j_before * n1i;
        // From the last value of the previous bucket to the first of this one.
        if let Some(previous) = previous_max {
            total += scaled_gap(before) * (bucket.min - previous);
        }
        previous_max = Some(bucket.max);
        if crossing[k] {
            let values = &mut gathered[starts[k]..starts[k + 1]];
            // The order of tied values does not matter: they bound zero-width terms.
            values.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            let mut d = before;
            let mut previous = bucket.min;
            for &(value, from_reference) in values.iter() {
                total += scaled_gap(d) * (value - previous);
                previous = value;
                d += if from_reference { n2i } else { -n1i };
            }
        } else {
            // ∫ over [min, max] of D = (F_ref − F_cur), scaled by n1·n2, of one sign.
            let (m, big_m, o) = (bucket.min, bucket.max, origin(k));
            let integral_of = |side: usize, before_count: i64, weight: i64| {
                let count = bucket.count[side] as f64;
                // Σ (M − x) = count·(M − o) − Σ (x − o).
                let inside = count * (big_m - o) - bucket.offset_sum[side];
                weight as f64 * (before_count as f64 * (big_m - m) + inside)
            };
            let signed = integral_of(0, i_before, n2i) - integral_of(1, j_before, n1i);
            total += signed.abs();
        }
        i_before += bucket.count[0];
        j_before += bucket.count[1];
    }
    total / (n1 as f64 * n2 as f64)
}

/// `scipy.stats.energy_distance`: √2 · (∫ (F_ref − F_cur)²)^½.
pub(crate) fn energy_distance(pair: &NumericPair) -> f64 {
    std::f64::consts::SQRT_2 * cdf_distance(pair, 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(reference: &[f64], current: &[f64]) -> NumericPair {
        NumericPair {
            reference: reference.to_vec(),
            current: current.to_vec(),
            integer: false,
        }
    }

    #[test]
    fn mann_whitney_exact_is_a_distribution() {
        // U is uniform over orderings: n1 = n2 = 1 gives P(U >= 1) = 1/2.
        assert_eq!(mann_whitney_exact_sf(1.0, 1, 1), 0.5);
        assert_eq!(mann_whitney_exact_sf(0.0, 3, 4), 1.0);
        // P(U >= 12) for 3 vs 4 = 1/35 (one ordering).
        assert!((mann_whitney_exact_sf(12.0, 3, 4) - 1.0 / 35.0).abs() < 1e-15);
    }

    #[test]
    fn the_merge_in_stretches_equals_the_plain_merge() {
        // Ties within and across samples, lengths that do not split evenly.
        let reference: Vec<f64> = (0..103).map(|k| f64::from(k % 17) * 0.5).collect();
        let current: Vec<f64> = (0..61).map(|k| f64::from(k % 11) * 0.75 + 0.25).collect();
        let (mut reference, mut current) = (reference, current);
        reference.sort_by(f64::total_cmp);
        current.sort_by(f64::total_cmp);
        let p = pair(&reference, &current);
        // The definition: ∫ |F − G| over the pooled distinct values.
        let mut pooled: Vec<f64> = reference.iter().chain(&current).copied().collect();
        pooled.sort_by(f64::total_cmp);
        pooled.dedup();
        let cdf = |sample: &[f64], x: f64| {
            sample.iter().filter(|&&v| v <= x).count() as f64 / sample.len() as f64
        };
        let (mut w1, mut e2) = (0.0, 0.0);
        for window in pooled.windows(2) {
            let gap = (cdf(&reference, window[0]) - cdf(&current, window[0])).abs();
            w1 += gap * (window[1] - window[0]);
            e2 += gap * gap * (window[1] - window[0]);
        }
        assert!(
            (cdf_distance(&p, 1) - w1).abs() < 1e-12,
            "{} {w1}",
            cdf_distance(&p, 1)
        );
        assert!((cdf_distance(&p, 2) - e2.sqrt()).abs() < 1e-12);
        for k in 0..=reference.len() + current.len() {
            let (i, j) = merge_split(&reference, &current, k);
            assert_eq!(i + j, k);
            assert!(i == 0 || j == current.len() || reference[i - 1] <= current[j]);
            assert!(j == 0 || i == reference.len() || current[j - 1] < reference[i]);
        }
    }

    #[test]
    fn wasserstein_without_sorting_equals_the_merge() {
        // Shifted, identical, heavy-tailed, discrete (ties) and one-sided samples, long
        // enough for the bucketed path.
        let mut state = 42u64;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let cases: Vec<(Vec<f64>, Vec<f64>)> = vec![
            (
                (0..20_000).map(|_| uniform() + uniform()).collect(),
                (0..15_000).map(|_| uniform() + uniform() + 0.05).collect(),
            ),
            {
                let same: Vec<f64> = (0..12_000).map(|_| uniform()).collect();
                (same.clone(), same)
            },
            (
                (0..10_000).map(|_| 1.0 / (uniform() + 1e-3)).collect(),
                (0..10_000).map(|_| 1.0 / (uniform() + 2e-3)).collect(),
            ),
            (
                (0..10_000).map(|_| (uniform() * 7.0).floor()).collect(),
                (0..9_000).map(|_| (uniform() * 6.0).floor()).collect(),
            ),
            (
                (0..9_000).map(|_| uniform()).collect(),
                (0..9_000).map(|_| uniform() + 5.0).collect(),
            ),
        ];
        for (reference, current) in cases {
            let mut sorted = pair(&reference, &current);
            sorted.reference.sort_by(f64::total_cmp);
            sorted.current.sort_by(f64::total_cmp);
            let merged = cdf_distance(&sorted, 1);
            let bucketed = wasserstein_unsorted(&mut pair(&reference, &current));
            assert!(
                (bucketed - merged).abs() <= 1e-12 * merged.max(1e-12),
                "{bucketed} vs {merged}"
            );
        }
    }

    #[test]
    fn cdf_distances_of_shifted_points() {
        let p = pair(&[0.0, 1.0], &[1.0, 2.0]);
        assert!((cdf_distance(&p, 1) - 1.0).abs() < 1e-15);
        assert!((energy_distance(&p) - std::f64::consts::SQRT_2 * 0.5f64.sqrt()).abs() < 1e-15);
    }
}
