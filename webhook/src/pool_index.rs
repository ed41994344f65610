//! Every address entry of every existing IPAddressPool, as intervals sorted by their first
//! address, so that "which entries overlap this range" costs a binary search plus the matches,
//! never a walk over all pools. Rebuilt from the pool store when pools change; read by the
//! validators of pools, advertisements and Services.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use ferrolb_crds::IPAddressPool;
use ferrolb_crds::address::{AddressRange, Family};

/// One address entry of an existing pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub range: AddressRange,
    /// The pool that holds it.
    pub pool: String,
    /// The entry as the user wrote it, trimmed.
    pub text: String,
}

/// Intervals of one family, sorted by first address, with the running maximum of their last
/// addresses so a backward scan can stop as soon as nothing earlier can reach the query.
#[derive(Clone, Debug, Default)]
struct Intervals {
    entries: Vec<Entry>,
    reach: Vec<u128>,
}

impl Intervals {
    fn new(mut entries: Vec<Entry>) -> Self {
        entries.sort_by_key(|e| e.range.bounds());
        let mut reach = Vec::with_capacity(entries.len());
        let mut max = 0u128;
        for (i, e) in entries.iter().enumerate() {
            max = if i == 0 {
                e.range.bounds().1
            } else {
                max.max(e.range.bounds().1)
            };
            reach.push(max);
        }
        Self { entries, reach }
    }

    /// Entries sharing an address with `[first, last]`, in address order.
    fn overlapping(&self, first: u128, last: u128) -> Vec<&Entry> {
        let end = self.entries.partition_point(|e| e.range.bounds().0 <= last);
        let mut found = Vec::new();
        for i in (0..end).rev() {
            if self.reach[i] < first {
                break;
            }
            if self.entries[i].range.bounds().1 >= first {
                found.push(&self.entries[i]);
            }
        }
        found.reverse();
        found
    }
}

/// The existing pools by name, and their entries indexed by address.
#[derive(Clone, Debug, Default)]
pub struct PoolIndex {
    pools: BTreeMap<String, Arc<IPAddressPool>>,
    v4: Intervals,
    v6: Intervals,
}

impl PoolIndex {
    /// Indexes `pools`; entries that do not parse are left out (they cannot overlap anything).
    pub fn new(pools: impl IntoIterator<Item = Arc<IPAddressPool>>) -> Self {
        let pools: BTreeMap<String, Arc<IPAddressPool>> = pools
            .into_iter()
            .map(|p| (p.name().to_owned(), p))
            .collect();
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for (name, pool) in &pools {
            for text in &pool.spec.addresses {
                let Ok(range) = text.parse::<AddressRange>() else {
                    continue;
                };
                let entry = Entry {
                    range,
                    pool: name.clone(),
                    text: text.trim().to_owned(),
                };
                match range.family() {
                    Family::V4 => v4.push(entry),
                    Family::V6 => v6.push(entry),
                }
            }
        }
        Self {
            pools,
            v4: Intervals::new(v4),
            v6: Intervals::new(v6),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<IPAddressPool>> {
        self.pools.get(name)
    }

    pub fn pools(&self) -> impl Iterator<Item = &Arc<IPAddressPool>> {
        self.pools.values()
    }

    pub fn len(&self) -> usize {
        self.pools.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pools.is_empty()
    }

    /// Entries of existing pools that share an address with `range`, in address order.
    pub fn overlapping(&self, range: &AddressRange) -> Vec<&Entry> {
        let (first, last) = range.bounds();
        match range.family() {
            Family::V4 => self.v4.overlapping(first, last),
            Family::V6 => self.v6.overlapping(first, last),
        }
    }

    /// Names of the pools that hold `ip`, sorted, each once.
    pub fn pools_containing(&self, ip: IpAddr) -> Vec<&str> {
        let range = AddressRange::new(ip, ip).expect("a one-address range is always valid");
        let mut names: Vec<&str> = self
            .overlapping(&range)
            .into_iter()
            .map(|e| e.pool.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrolb_crds::ipaddresspool::IPAddressPoolSpec;

    pub(crate) fn pool(name: &str, addresses: &[&str]) -> Arc<IPAddressPool> {
        Arc::new(IPAddressPool::new(
            name,
            IPAddressPoolSpec {
                addresses: addresses.iter().map(|a| (*a).to_owned()).collect(),
                ..Default::default()
            },
        ))
    }

    fn range(text: &str) -> AddressRange {
        text.parse().unwrap()
    }

    fn hits(index: &PoolIndex, text: &str) -> Vec<(String, String)> {
        index
            .overlapping(&range(text))
            .into_iter()
            .map(|e| (e.pool.clone(), e.text.clone()))
            .collect()
    }

    #[test]
    fn overlapping_entries_are_found_across_pools_and_families() {
        let index = PoolIndex::new([
            pool("a", &["10.0.0.0/24", "fd00::/120"]),
            pool("b", &["10.0.1.10-10.0.1.20"]),
            pool("c", &["10.0.2.0/24"]),
        ]);
        assert_eq!(
            hits(&index, "10.0.0.200-10.0.1.10"),
            [
                ("a".into(), "10.0.0.0/24".into()),
                ("b".into(), "10.0.1.10-10.0.1.20".into())
            ]
        );
        assert_eq!(
            hits(&index, "fd00::10/128"),
            [("a".into(), "fd00::/120".into())]
        );
        assert!(hits(&index, "10.0.1.21-10.0.1.255").is_empty());
        assert!(hits(&index, "fd00::1:0/120").is_empty());
    }

    #[test]
    fn a_wide_early_entry_is_found_past_narrow_ones() {
        let index = PoolIndex::new([
            pool("wide", &["10.0.0.0/8"]),
            pool("narrow1", &["10.1.0.0/24"]),
            pool("narrow2", &["10.2.0.0/24"]),
        ]);
        assert_eq!(
            hits(&index, "10.200.0.0/16"),
            [("wide".into(), "10.0.0.0/8".into())]
        );
    }

    #[test]
    fn pools_containing_an_ip_are_named_once() {
        let index = PoolIndex::new([
            pool("a", &["10.0.0.0/24", "10.0.0.5-10.0.0.6"]),
            pool("b", &["10.0.0.0/28"]),
        ]);
        assert_eq!(
            index.pools_containing("10.0.0.5".parse().unwrap()),
            ["a", "b"]
        );
        assert!(
            index
                .pools_containing("10.9.0.5".parse().unwrap())
                .is_empty()
        );
    }

    #[test]
    fn unparsable_entries_are_left_out_of_the_index() {
        let index = PoolIndex::new([pool("a", &["nonsense", "10.0.0.0/30"])]);
        assert_eq!(
            hits(&index, "0.0.0.0/0"),
            [("a".into(), "10.0.0.0/30".into())]
        );
        assert_eq!(index.len(), 1);
    }
}
