//! The randomness BFD needs: the jitter of each periodic packet (RFC 5880 §6.8.7), local
//! discriminators that an off-path sender cannot guess easily (§6.8.1) and a random start in
//! the source port range (RFC 5881 §4). None of it is cryptographic; a xorshift generator
//! seeded from the standard library's per-process random hash keys is enough.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use ferrolb_bfd::RandomSource;

/// A xorshift64* generator.
#[derive(Clone, Debug)]
pub struct Xorshift(u64);

impl Xorshift {
    /// A generator seeded from the process's random hash keys.
    pub fn from_entropy() -> Xorshift {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(0x9e37_79b9_7f4a_7c15);
        Xorshift::seeded(hasher.finish())
    }

    /// A generator with a fixed seed (zero is replaced, as xorshift would stay at zero).
    pub fn seeded(seed: u64) -> Xorshift {
        Xorshift(if seed == 0 {
            0x2545_f491_4f6c_dd1d
        } else {
            seed
        })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

impl RandomSource for Xorshift {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_differ_and_zero_seeds_still_move() {
        let mut random = Xorshift::seeded(0);
        let draws: std::collections::BTreeSet<u32> = (0..100).map(|_| random.next_u32()).collect();
        assert_eq!(draws.len(), 100);
        assert_ne!(
            Xorshift::from_entropy().next_u64(),
            Xorshift::from_entropy().next_u64()
        );
    }
}
