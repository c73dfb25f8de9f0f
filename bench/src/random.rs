//! Seeded draws for the benchmarks' generated data.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::Rng;

/// 53 random bits: every double in [0, 1) on the grid 2^-53.
pub fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Standard normal by Box–Muller.
pub fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u = 1.0 - uniform(rng);
    let v = uniform(rng);
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}
