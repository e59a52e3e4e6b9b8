//! A small seedable random source (SplitMix64): a run with the same `--seed` draws the same
//! cities, routes and decisions, and no dependency is needed for the few numbers a simulation
//! uses. Not for anything secret.

/// SplitMix64 (Steele, Lea, Flood 2014): 64 bits of state, passes BigCrush, one multiply-xorshift
/// chain per draw.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// An independent generator for the `stream`-th actor of a run, so each driver's draws do not
    /// depend on how the others' tasks interleave.
    #[must_use]
    pub fn fork(seed: u64, stream: u64) -> Self {
        let mut mixer = Self(seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        Self(mixer.next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    #[allow(clippy::cast_precision_loss)] // 53 bits fit an f64 mantissa exactly
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [low, high).
    pub fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// An exponentially distributed wait with the given mean (a Poisson process's gaps).
    pub fn exponential(&mut self, mean: f64) -> f64 {
        // 1 - unit() is in (0, 1], so the logarithm is finite.
        -mean * (1.0 - self.unit()).ln()
    }

    /// Uniform index in [0, len); 0 when `len` is 0.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    pub fn index(&mut self, len: usize) -> usize {
        ((self.unit() * len as f64) as usize).min(len.saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_numbers_and_forks_differ() {
        let a: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..5).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..5).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(Rng::fork(7, 1).next_u64(), Rng::fork(7, 2).next_u64());
    }

    #[test]
    fn draws_stay_in_their_ranges_with_the_expected_means() {
        let mut r = Rng::new(42);
        let n = 20_000;
        let mut sum_unit = 0.0;
        let mut sum_exp = 0.0;
        for _ in 0..n {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            sum_unit += u;
            let x = r.range(-3.0, 5.0);
            assert!((-3.0..5.0).contains(&x));
            let e = r.exponential(2.0);
            assert!(e >= 0.0 && e.is_finite());
            sum_exp += e;
            assert!(r.index(3) < 3);
        }
        let n = f64::from(n);
        assert!((sum_unit / n - 0.5).abs() < 0.02, "{}", sum_unit / n);
        assert!((sum_exp / n - 2.0).abs() < 0.1, "{}", sum_exp / n);
        assert_eq!(r.index(0), 0);
    }
}
