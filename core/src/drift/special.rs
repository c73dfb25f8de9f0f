//! Special functions the tests need beyond what `statrs` offers directly, and thin wrappers
//! that give NaN (instead of a constructor error) outside a distribution's domain.

use statrs::function::{beta, erf, gamma};

/// Standard normal survival function, `P(Z > x)`; accurate far in the tail (no `1 - cdf`).
pub(crate) fn normal_sf(x: f64) -> f64 {
    0.5 * erf::erfc(x / std::f64::consts::SQRT_2)
}

/// Standard normal distribution function, `P(Z <= x)`.
pub(crate) fn normal_cdf(x: f64) -> f64 {
    0.5 * erf::erfc(-x / std::f64::consts::SQRT_2)
}

/// Chi-square survival function with `df` degrees of freedom; NaN for `df <= 0`, like scipy.
pub(crate) fn chi2_sf(statistic: f64, df: f64) -> f64 {
    if df <= 0.0 || statistic.is_nan() {
        return f64::NAN;
    }
    if statistic == f64::INFINITY {
        return 0.0;
    }
    if statistic <= 0.0 {
        return 1.0;
    }
    gamma::gamma_ur(df / 2.0, statistic / 2.0)
}

/// Two-sided p-value of Student's t with `df` degrees of freedom, `2 * P(T > |t|)`.
pub(crate) fn student_t_two_sided(t: f64, df: f64) -> f64 {
    if df <= 0.0 || t.is_nan() {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    // P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2)
    let h = df / (df + t * t);
    beta::beta_reg(df / 2.0, 0.5, h).clamp(0.0, 1.0)
}

pub(crate) fn ln_gamma(x: f64) -> f64 {
    gamma::ln_gamma(x)
}

/// `exp(-q) * K_{1/4}(q)` for q > 0, with `K_ν` the modified Bessel function of the second
/// kind, from `K_ν(q) = ∫₀^∞ exp(-q cosh t) cosh(ν t) dt`. The integrand is analytic and
/// decays doubly exponentially, so the trapezoidal rule converges geometrically; the step
/// follows the integrand's width near 0 (about 1/√q).
pub(crate) fn exp_neg_times_bessel_k_quarter(q: f64) -> f64 {
    if q.is_nan() || q <= 0.0 {
        return f64::NAN;
    }
    let step = (0.25 / q.sqrt()).min(0.05);
    // exp(-q) K(q) = exp(-2q) ∫ exp(-q (cosh t - 1)) cosh(t/4) dt
    let integrand = |t: f64| (-q * (t.cosh() - 1.0)).exp() * (0.25 * t).cosh();
    let mut sum = 0.5 * integrand(0.0);
    let mut index = 1u32;
    loop {
        let term = integrand(f64::from(index) * step);
        sum += term;
        if term < 1e-18 * sum || index > 1_000_000 {
            break;
        }
        index += 1;
    }
    (-2.0 * q).exp() * sum * step
}

/// Least-squares quadratic through points, coefficients highest power first (as
/// `numpy.polyfit(x, y, 2)`). Solved on centred and scaled abscissae for conditioning.
pub(crate) fn quadratic_fit(x: &[f64], y: &[f64]) -> [f64; 3] {
    let n = x.len() as f64;
    let centre = x.iter().sum::<f64>() / n;
    let scale = x
        .iter()
        .map(|v| (v - centre).abs())
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    // Normal equations in the scaled variable s = (x - centre) / scale.
    let mut gram = [[0.0f64; 3]; 3];
    let mut rhs = [0.0f64; 3];
    for (&xi, &yi) in x.iter().zip(y) {
        let s = (xi - centre) / scale;
        let powers = [1.0, s, s * s];
        for r in 0..3 {
            rhs[r] += powers[r] * yi;
            for c in 0..3 {
                gram[r][c] += powers[r] * powers[c];
            }
        }
    }
    let [a0, a1, a2] = solve3(gram, rhs);
    // y = a0 + a1 s + a2 s², s = (x - c)/k  =>  expand to powers of x.
    let k = scale;
    let c = centre;
    let quadratic = a2 / (k * k);
    let linear = a1 / k - 2.0 * a2 * c / (k * k);
    let constant = a0 - a1 * c / k + a2 * c * c / (k * k);
    [quadratic, linear, constant]
}

/// Gaussian elimination with partial pivoting on a 3×3 system.
fn solve3(mut a: [[f64; 3]; 3], mut b: [f64; 3]) -> [f64; 3] {
    for col in 0..3 {
        let pivot = (col..3)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..3 {
            let factor = a[row][col] / a[col][col];
            let pivot_row = a[col];
            for (target, source) in a[row].iter_mut().zip(pivot_row).skip(col) {
                *target -= factor * source;
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = [0.0; 3];
    for row in (0..3).rev() {
        let mut acc = b[row];
        for k in row + 1..3 {
            acc -= a[row][k] * x[k];
        }
        x[row] = acc / a[row][row];
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bessel_k_quarter_matches_reference_values() {
        // exp(-q) K_{1/4}(q), from mpmath at 30 digits.
        let cases = [
            (0.1, 2.429_630_410_969_847_3),
            (1.0, 0.158_460_307_514_458_75),
            (10.0, 8.096_253_210_086_48e-10),
        ];
        for (q, expected) in cases {
            let got = exp_neg_times_bessel_k_quarter(q);
            assert!(
                ((got - expected) / expected).abs() < 1e-10,
                "q={q}: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn quadratic_fit_recovers_a_parabola() {
        let x = [0.5, 1.0, 2.0, 3.5, 5.0];
        let y: Vec<f64> = x.iter().map(|v| 2.0 * v * v - 3.0 * v + 0.5).collect();
        let [a, b, c] = quadratic_fit(&x, &y);
        assert!((a - 2.0).abs() < 1e-12 && (b + 3.0).abs() < 1e-12 && (c - 0.5).abs() < 1e-12);
    }
}
