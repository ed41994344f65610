//! The per-packet reduction of the transmission interval (RFC 5880 §6.8.7), from a random
//! source the caller injects.
//!
//! Each periodic packet follows the previous one after the negotiated interval less 0 to 25 %;
//! with a detection multiplier of 1 the reduction is 10 to 25 %, so that a single late packet
//! does not bring the session down. The session never draws randomness itself: the caller
//! passes a [`RandomSource`] (any `FnMut() -> u32` is one), which tests make deterministic.

use std::time::Duration;

/// Uniformly distributed 32-bit values.
pub trait RandomSource {
    fn next_u32(&mut self) -> u32;
}

impl<F: FnMut() -> u32> RandomSource for F {
    fn next_u32(&mut self) -> u32 {
        self()
    }
}

/// `interval` microseconds less the jitter of §6.8.7: a draw of 0 keeps the whole interval
/// (90 % of it with a multiplier of 1), a draw of `u32::MAX` leaves 75 %.
pub fn jittered(interval: u32, detect_multiplier: u8, random: &mut impl RandomSource) -> Duration {
    let interval = u64::from(interval);
    let most = interval / 4;
    let least = if detect_multiplier == 1 {
        interval.div_ceil(10).min(most)
    } else {
        0
    };
    let span = most - least + 1;
    let reduction = least + ((u64::from(random.next_u32()) * span) >> 32);
    Duration::from_micros(interval - reduction)
}

#[cfg(test)]
mod tests {
    //! The bounds of the reduction, at both ends of the random range and in between.

    use super::*;

    fn xorshift(mut state: u32) -> impl FnMut() -> u32 {
        move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        }
    }

    #[test]
    fn the_extremes_of_the_draw_give_the_extremes_of_the_interval() {
        assert_eq!(
            jittered(1_000_000, 3, &mut || 0),
            Duration::from_millis(1000)
        );
        assert_eq!(
            jittered(1_000_000, 3, &mut || u32::MAX),
            Duration::from_millis(750)
        );
        assert_eq!(
            jittered(1_000_000, 1, &mut || 0),
            Duration::from_millis(900)
        );
        assert_eq!(
            jittered(1_000_000, 1, &mut || u32::MAX),
            Duration::from_millis(750)
        );
    }

    #[test]
    fn every_draw_stays_within_75_to_100_percent() {
        let mut random = xorshift(0x9e37_79b9);
        let (mut lowest, mut highest) = (u128::MAX, 0);
        for _ in 0..10_000 {
            let us = jittered(300_000, 3, &mut random).as_micros();
            assert!((225_000..=300_000).contains(&us), "{us}");
            lowest = lowest.min(us);
            highest = highest.max(us);
        }
        // The draw is spread over the whole range, not stuck at one end.
        assert!(lowest < 230_000 && highest > 295_000, "{lowest} {highest}");
    }

    #[test]
    fn with_a_multiplier_of_1_every_draw_stays_within_75_to_90_percent() {
        let mut random = xorshift(12345);
        let (mut lowest, mut highest) = (u128::MAX, 0);
        for _ in 0..10_000 {
            let us = jittered(300_000, 1, &mut random).as_micros();
            assert!((225_000..=270_000).contains(&us), "{us}");
            lowest = lowest.min(us);
            highest = highest.max(us);
        }
        assert!(lowest < 230_000 && highest > 265_000, "{lowest} {highest}");
    }

    #[test]
    fn tiny_intervals_are_never_reduced_to_zero() {
        for interval in 1..=8 {
            for multiplier in [1, 3] {
                for draw in [0, u32::MAX] {
                    assert!(jittered(interval, multiplier, &mut || draw) > Duration::ZERO);
                }
            }
        }
    }
}
