//! The addresses in use, as a set of merged intervals over integers: finding the lowest free
//! address after a point, marking and freeing one, all in O(log n) of the number of runs, and
//! memory proportional to what is allocated, never to the size of a pool (an IPv6 /64 costs
//! nothing until addresses are taken from it).

use std::collections::BTreeMap;

/// A set of addresses (as integers) kept as disjoint, non-adjacent runs `start -> end`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsedSet {
    runs: BTreeMap<u128, u128>,
    len: u128,
}

impl UsedSet {
    /// How many addresses are in the set.
    pub fn len(&self) -> u128 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The run containing `n`, if any.
    fn run_of(&self, n: u128) -> Option<(u128, u128)> {
        self.runs
            .range(..=n)
            .next_back()
            .filter(|(_, end)| **end >= n)
            .map(|(s, e)| (*s, *e))
    }

    pub fn contains(&self, n: u128) -> bool {
        self.run_of(n).is_some()
    }

    /// Adds `n`; returns false if it was already there.
    pub fn insert(&mut self, n: u128) -> bool {
        if self.contains(n) {
            return false;
        }
        let before = n.checked_sub(1).and_then(|p| self.run_of(p));
        let after = n
            .checked_add(1)
            .and_then(|s| self.runs.get(&s).map(|e| (s, *e)));
        match (before, after) {
            (Some((s, _)), Some((a, e))) => {
                self.runs.remove(&a);
                self.runs.insert(s, e);
            }
            (Some((s, _)), None) => {
                self.runs.insert(s, n);
            }
            (None, Some((a, e))) => {
                self.runs.remove(&a);
                self.runs.insert(n, e);
            }
            (None, None) => {
                self.runs.insert(n, n);
            }
        }
        self.len += 1;
        true
    }

    /// Removes `n`; returns false if it was not there.
    pub fn remove(&mut self, n: u128) -> bool {
        let Some((s, e)) = self.run_of(n) else {
            return false;
        };
        self.runs.remove(&s);
        if s < n {
            self.runs.insert(s, n - 1);
        }
        if n < e {
            self.runs.insert(n + 1, e);
        }
        self.len -= 1;
        true
    }

    /// The lowest address at or after `from`, up to `last` included, that is not in the set
    /// and that `skip` does not reject.
    pub fn first_free(&self, from: u128, last: u128, skip: impl Fn(u128) -> bool) -> Option<u128> {
        let mut n = from;
        while n <= last {
            if let Some((_, end)) = self.run_of(n) {
                n = end.checked_add(1)?;
            } else if skip(n) {
                n = n.checked_add(1)?;
            } else {
                return Some(n);
            }
        }
        None
    }

    /// How many addresses of the set lie within `first..=last`.
    pub fn count_within(&self, first: u128, last: u128) -> u128 {
        let mut count = 0;
        let start = self.run_of(first).map_or(first, |(s, _)| s);
        for (&s, &e) in self.runs.range(start..=last) {
            count += e.min(last) - s.max(first) + 1;
        }
        count
    }

    /// The runs of the set clipped to `first..=last`, in order.
    pub fn runs_within(&self, first: u128, last: u128) -> impl Iterator<Item = (u128, u128)> + '_ {
        let start = self.run_of(first).map_or(first, |(s, _)| s);
        self.runs
            .range(start..=last)
            .map(move |(&s, &e)| (s.max(first), e.min(last)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn neighbours_merge_into_one_run_and_split_on_removal() {
        let mut set = UsedSet::default();
        for n in [5, 7, 6, 4, 8] {
            assert!(set.insert(n));
        }
        assert_eq!(set.runs.len(), 1);
        assert_eq!(set.len(), 5);
        assert!(set.remove(6));
        assert_eq!(set.runs.len(), 2);
        assert!(!set.contains(6));
        assert!(set.contains(5) && set.contains(7));
        assert!(!set.remove(6));
        assert!(!set.insert(5));
    }

    #[test]
    fn first_free_jumps_over_runs_and_skipped_addresses() {
        let mut set = UsedSet::default();
        for n in 0..=254 {
            set.insert(n);
        }
        assert_eq!(set.first_free(0, 1000, |_| false), Some(255));
        assert_eq!(
            set.first_free(0, 1000, |n| matches!(n % 256, 0 | 255)),
            Some(257)
        );
        assert_eq!(set.first_free(0, 254, |_| false), None);
    }

    #[test]
    fn first_free_stops_at_the_top_of_the_space() {
        let mut set = UsedSet::default();
        set.insert(u128::MAX);
        assert_eq!(set.first_free(u128::MAX, u128::MAX, |_| false), None);
        assert_eq!(
            set.first_free(u128::MAX - 1, u128::MAX, |_| false),
            Some(u128::MAX - 1)
        );
    }

    #[test]
    fn count_within_clips_runs_to_the_window() {
        let mut set = UsedSet::default();
        for n in (10..20).chain(30..40) {
            set.insert(n);
        }
        assert_eq!(set.count_within(15, 35), 5 + 6);
        assert_eq!(set.count_within(0, 100), 20);
        assert_eq!(set.count_within(20, 29), 0);
        assert_eq!(
            set.runs_within(15, 35).collect::<Vec<_>>(),
            [(15, 19), (30, 35)]
        );
    }

    proptest! {
        #[test]
        fn behaves_like_a_plain_set(ops in proptest::collection::vec((any::<bool>(), 0u128..64), 0..200)) {
            let mut set = UsedSet::default();
            let mut model = BTreeSet::new();
            for (add, n) in ops {
                if add {
                    prop_assert_eq!(set.insert(n), model.insert(n));
                } else {
                    prop_assert_eq!(set.remove(n), model.remove(&n));
                }
                prop_assert_eq!(set.len(), model.len() as u128);
            }
            for from in 0u128..70 {
                let want = (from..70).find(|n| !model.contains(n));
                prop_assert_eq!(set.first_free(from, 69, |_| false), want);
                prop_assert_eq!(set.count_within(from, 69), model.range(from..70).count() as u128);
            }
            let runs: Vec<_> = set.runs.iter().collect();
            for w in runs.windows(2) {
                prop_assert!(w[0].1 + 1 < *w[1].0, "runs are disjoint and not adjacent");
            }
        }
    }
}
