//! Seeded random streams: a run with the same seed draws the same cities, routes and decisions,
//! and each actor draws from its own stream, so its numbers do not depend on how the other tasks
//! interleave. Not for anything secret.

use rand::SeedableRng;
pub use rand::rngs::StdRng;

/// The `stream`-th independent generator of the run seeded with `seed`: the pair is the whole
/// 256-bit key of `StdRng`, so distinct pairs give unrelated sequences.
#[must_use]
pub fn stream(seed: u64, stream: u64) -> StdRng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&stream.to_le_bytes());
    StdRng::from_seed(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    #[test]
    fn the_same_seed_draws_the_same_numbers_and_streams_differ() {
        let draw = |mut r: StdRng| (0..5).map(|_| r.random::<u64>()).collect::<Vec<_>>();
        assert_eq!(draw(stream(7, 0)), draw(stream(7, 0)));
        assert_ne!(draw(stream(7, 1)), draw(stream(7, 2)));
        assert_ne!(draw(stream(7, 1)), draw(stream(8, 1)));
    }
}
