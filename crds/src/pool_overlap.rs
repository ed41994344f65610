//! Which address ranges of IPAddressPools share an address: the one rule the operator reports
//! overlaps by (between every pool it reads) and the webhook denies them by (within the pool
//! being admitted, and between it and the pools already stored).
//!
//! Every overlapping pair counts, so a range covering two disjoint ones makes two pairs. The
//! callers word the pairs; here they are only found, in address order, and bounded: the first
//! pairs are named ([`Overlaps::listed`]) and the rest only counted ([`Overlaps::unlisted`]),
//! so a configuration of thousands of overlapping ranges yields a short report. The sweep keeps
//! the ranges still open in a heap by last address: each range overlaps exactly the open ones,
//! so counting costs O(n log n) whatever the number of pairs.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::address::AddressRange;

/// How many overlapping pairs a report names; the rest are counted.
pub const LISTED: usize = 20;

/// Overlapping pairs of entries, each entry a range and what the caller tags it with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overlaps<T> {
    /// The pairs named, each as (later entry, earlier entry) in address order.
    pub listed: Vec<((AddressRange, T), (AddressRange, T))>,
    /// How many more pairs overlap.
    pub unlisted: usize,
}

impl<T> Default for Overlaps<T> {
    fn default() -> Self {
        Self {
            listed: Vec::new(),
            unlisted: 0,
        }
    }
}

impl<T> Overlaps<T> {
    /// Records one overlapping pair: named while fewer than `cap` are, counted after.
    pub fn record(&mut self, cap: usize, later: (AddressRange, T), earlier: (AddressRange, T)) {
        if self.listed.len() < cap {
            self.listed.push((later, earlier));
        } else {
            self.unlisted += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.listed.is_empty() && self.unlisted == 0
    }

    /// Every pair found, named or not.
    pub fn total(&self) -> usize {
        self.listed.len() + self.unlisted
    }
}

/// Every pair of `entries` that shares an address, the first `cap` in address order named.
/// Entries are ordered by range, then by tag, so equal ranges come in the tags' order.
pub fn overlapping_pairs<T: Ord + Clone>(
    entries: impl IntoIterator<Item = (AddressRange, T)>,
    cap: usize,
) -> Overlaps<T> {
    let mut entries: Vec<(AddressRange, T)> = entries.into_iter().collect();
    entries.sort();
    let mut found = Overlaps::default();
    // Open entries as (last address, index into `entries`), smallest last address on top.
    let mut open: BinaryHeap<Reverse<(u128, usize)>> = BinaryHeap::new();
    for (i, (range, _)) in entries.iter().enumerate() {
        let (first, last) = range.bounds();
        if i > 0 && entries[i - 1].0.family() != range.family() {
            open.clear();
        }
        while open.peek().is_some_and(|Reverse((end, _))| *end < first) {
            open.pop();
        }
        if found.listed.len() < cap {
            let mut earlier: Vec<usize> = open.iter().map(|Reverse((_, j))| *j).collect();
            earlier.sort_unstable();
            for j in earlier {
                found.record(cap, entries[i].clone(), entries[j].clone());
            }
        } else {
            found.unlisted += open.len();
        }
        open.push(Reverse((last, i)));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries<'a>(list: &[(&'a str, &'a str)]) -> Vec<(AddressRange, &'a str)> {
        list.iter()
            .map(|(pool, range)| (range.parse().unwrap(), *pool))
            .collect()
    }

    /// The pairs named, as (later pool, earlier pool).
    fn named<'a>(found: &Overlaps<&'a str>) -> Vec<(&'a str, &'a str)> {
        found
            .listed
            .iter()
            .map(|((_, a), (_, b))| (*a, *b))
            .collect()
    }

    #[test]
    fn a_range_over_two_disjoint_ranges_overlaps_each() {
        let found = overlapping_pairs(
            entries(&[
                ("a", "192.0.2.0/24"),
                ("b", "192.0.2.10-192.0.2.20"),
                ("c", "192.0.2.100-192.0.2.110"),
            ]),
            LISTED,
        );
        assert_eq!(named(&found), [("b", "a"), ("c", "a")]);
        assert_eq!(found.unlisted, 0);
    }

    #[test]
    fn adjacent_ranges_do_not_overlap() {
        let found = overlapping_pairs(
            entries(&[
                ("a", "192.0.2.0/25"),
                ("b", "192.0.2.128-192.0.2.200"),
                ("c", "192.0.2.201-192.0.2.201"),
                ("d", "2001:db8::/64"),
                ("e", "2001:db8:0:1::/64"),
            ]),
            LISTED,
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn sharing_one_address_is_an_overlap() {
        let found = overlapping_pairs(
            entries(&[("a", "192.0.2.0/25"), ("b", "192.0.2.127-192.0.2.130")]),
            LISTED,
        );
        assert_eq!(named(&found), [("b", "a")]);
    }

    #[test]
    fn ipv6_ranges_overlap_and_never_overlap_ipv4() {
        let found = overlapping_pairs(
            entries(&[
                ("v6", "2001:db8::/64"),
                ("v6-inner", "2001:db8::ff-2001:db8::1:0"),
                ("v4-everything", "0.0.0.0/0"),
                ("v6-apart", "2001:db8:1::/48"),
            ]),
            LISTED,
        );
        assert_eq!(named(&found), [("v6-inner", "v6")]);
    }

    #[test]
    fn a_range_reaching_past_an_earlier_wide_one_overlaps_both() {
        // c lies inside both a and b, though b reaches further than a.
        let found = overlapping_pairs(
            entries(&[
                ("a", "10.0.0.0-10.0.0.10"),
                ("b", "10.0.0.2-10.0.0.20"),
                ("c", "10.0.0.8-10.0.0.9"),
            ]),
            LISTED,
        );
        assert_eq!(named(&found), [("b", "a"), ("c", "a"), ("c", "b")]);
    }

    #[test]
    fn past_the_cap_pairs_are_counted_not_named() {
        let mut list = vec![(
            AddressRange::new(
                "2001:db8::".parse().unwrap(),
                "2001:db8::ffff".parse().unwrap(),
            )
            .unwrap(),
            0,
        )];
        for i in 1..=1000u32 {
            let ip = format!("2001:db8::{i:x}").parse().unwrap();
            list.push((AddressRange::new(ip, ip).unwrap(), i));
        }
        let found = overlapping_pairs(list, 5);
        assert_eq!(found.listed.len(), 5);
        assert_eq!(found.unlisted, 995);
        assert_eq!(found.total(), 1000);
        assert!(found.listed.iter().all(|(_, (_, earlier))| *earlier == 0));
    }

    #[test]
    fn equal_ranges_come_in_the_order_of_their_tags() {
        let found = overlapping_pairs(
            [
                ("10.0.0.0/24".parse().unwrap(), 2),
                ("10.0.0.0-10.0.0.255".parse().unwrap(), 1),
            ],
            LISTED,
        );
        assert_eq!(found.listed[0].0.1, 2);
        assert_eq!(found.listed[0].1.1, 1);
    }
}
