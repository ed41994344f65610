//! A pool as the allocator sees it: parsed ranges, auto-assignment, the .0/.255 rule, which
//! Services it serves ([`Eligibility`]) and who may share its IPs ([`SharingScope`]), built from
//! an `IPAddressPool` object. A pool that does not parse is refused whole with a message naming
//! it and the bad value; an unknown sharing scope restricts ([`SharingScope::FOR_UNKNOWN`]).

use std::collections::BTreeMap;
use std::net::IpAddr;

use ferrolb_crds::IPAddressPool;
use ferrolb_crds::address::{AddressRange, Family, is_buggy_ip};
use ferrolb_crds::pool_overlap;
use ferrolb_crds::sharing_scope::SharingScope;
use kube::core::{Selector, SelectorExt};

/// Labels of a Service and of its namespace, what pools select on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audience<'a> {
    pub namespace: &'a str,
    pub namespace_labels: &'a BTreeMap<String, String>,
    pub service_labels: &'a BTreeMap<String, String>,
}

/// The Services a pool with `serviceAllocation` is meant for, and its rank among pools.
#[derive(Clone, Debug, Default)]
pub struct Eligibility {
    pub priority: i32,
    pub namespaces: Vec<String>,
    pub namespace_selectors: Vec<Selector>,
    pub service_selectors: Vec<Selector>,
}

impl Eligibility {
    /// Whether a Service may take addresses from the pool: its namespace is listed or selected
    /// (when the pool restricts namespaces), and it is selected (when the pool selects Services).
    pub fn admits(&self, audience: &Audience<'_>) -> bool {
        let restricts_namespaces =
            !self.namespaces.is_empty() || !self.namespace_selectors.is_empty();
        let namespace_ok = !restricts_namespaces
            || self.namespaces.iter().any(|n| n == audience.namespace)
            || self
                .namespace_selectors
                .iter()
                .any(|s| s.matches(audience.namespace_labels));
        let service_ok = self.service_selectors.is_empty()
            || self
                .service_selectors
                .iter()
                .any(|s| s.matches(audience.service_labels));
        namespace_ok && service_ok
    }

    /// Sort key: priorities ascending, with 0 (unset) after every set priority.
    pub fn rank(&self) -> (bool, i32) {
        (self.priority == 0, self.priority)
    }
}

/// A pool ready for allocation.
#[derive(Clone, Debug)]
pub struct Pool {
    pub name: String,
    /// Address ranges in address order.
    pub ranges: Vec<AddressRange>,
    pub auto_assign: bool,
    pub avoid_buggy_ips: bool,
    /// Set when the pool restricts or ranks the Services it serves.
    pub eligibility: Option<Eligibility>,
    /// Whether Services of different namespaces may share its IPs.
    pub sharing_scope: SharingScope,
}

impl Pool {
    /// Parses an IPAddressPool, or says what is wrong with it.
    pub fn from_object(object: &IPAddressPool) -> Result<Self, String> {
        let name = object.name().to_owned();
        let mut ranges = object.ranges().map_err(|e| e.to_string())?;
        ranges.sort();
        let eligibility = match &object.spec.service_allocation {
            None => None,
            Some(allocation) => {
                let parse = |field: &str, selectors: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector]| {
                    selectors
                        .iter()
                        .map(|s| {
                            Selector::try_from(s.clone()).map_err(|e| {
                                format!("IPAddressPool {name:?} has an invalid {field} entry {s:?}: {}", e.0)
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()
                };
                Some(Eligibility {
                    priority: allocation.priority,
                    namespaces: allocation.namespaces.clone(),
                    namespace_selectors: parse(
                        "serviceAllocation.namespaceSelectors",
                        &allocation.namespace_selectors,
                    )?,
                    service_selectors: parse(
                        "serviceAllocation.serviceSelectors",
                        &allocation.service_selectors,
                    )?,
                })
            }
        };
        Ok(Pool {
            name,
            ranges,
            auto_assign: object.spec.auto_assign(),
            avoid_buggy_ips: object.spec.avoid_buggy_ips,
            eligibility,
            sharing_scope: SharingScope::of_pool(object).unwrap_or(SharingScope::FOR_UNKNOWN),
        })
    }

    /// Whether `ip` may be handed out from this pool: inside a range, and not a .0/.255
    /// address when the pool avoids them.
    pub fn offers(&self, ip: IpAddr) -> bool {
        self.ranges.iter().any(|r| r.contains(ip)) && !(self.avoid_buggy_ips && is_buggy_ip(ip))
    }

    /// Whether the pool has any range of `family`.
    pub fn has_family(&self, family: Family) -> bool {
        self.ranges.iter().any(|r| r.family() == family)
    }

    /// Whether an integer address of `family` is one the pool skips.
    pub fn skips(&self, family: Family, n: u128) -> bool {
        self.avoid_buggy_ips && family == Family::V4 && matches!(n & 0xff, 0 | 255)
    }

    /// Addresses of `family` the pool can hand out, saturating for huge IPv6 pools.
    pub fn capacity(&self, family: Family) -> u128 {
        self.ranges
            .iter()
            .filter(|r| r.family() == family)
            .fold(0u128, |sum, r| {
                sum.saturating_add(r.usable_count(self.avoid_buggy_ips))
            })
    }

    /// Whether a Service may take addresses from this pool without naming it.
    pub fn serves_automatically(&self, audience: &Audience<'_>) -> bool {
        self.auto_assign && self.eligibility.as_ref().is_none_or(|e| e.admits(audience))
    }

    /// Whether a Service that names this pool may take addresses from it.
    pub fn serves_on_request(&self, audience: &Audience<'_>) -> bool {
        self.eligibility.as_ref().is_none_or(|e| e.admits(audience))
    }

    /// The integer bounds of the ranges of `family`.
    pub fn bounds(&self, family: Family) -> impl Iterator<Item = (u128, u128)> + '_ {
        self.ranges
            .iter()
            .filter(move |r| r.family() == family)
            .map(|r| r.bounds())
    }

    /// Whether the integer address `n` of `family` lies in one of the pool's ranges.
    pub fn covers(&self, family: Family, n: u128) -> bool {
        self.bounds(family)
            .any(|(first, last)| (first..=last).contains(&n))
    }
}

/// How many overlapping pairs [`overlaps`] names; the rest are counted.
pub const OVERLAPS_LISTED: usize = pool_overlap::LISTED;

/// Overlaps between pools that slipped past admission: reported, and the allocator never
/// hands out one address twice regardless, since it tracks addresses, not pools.
///
/// Every overlapping pair of address ranges counts (within a pool or between pools), as
/// [`pool_overlap::overlapping_pairs`] finds them, so a range covering two disjoint ones is
/// reported twice. The first [`OVERLAPS_LISTED`] pairs in address order are named, one
/// message each, and one more message counts the rest.
pub fn overlaps(pools: &[Pool]) -> Vec<String> {
    let ranges = pools
        .iter()
        .flat_map(|p| p.ranges.iter().map(move |r| (*r, p.name.as_str())));
    let found = pool_overlap::overlapping_pairs(ranges, OVERLAPS_LISTED);
    let mut messages: Vec<String> = found
        .listed
        .iter()
        .map(|((range, pool), (other, other_pool))| {
            format!(
                "IPAddressPool {pool:?} address {range} overlaps with IPAddressPool {other_pool:?} address {other}"
            )
        })
        .collect();
    if found.unlisted > 0 {
        messages.push(format!(
            "IPAddressPool overlaps: {} more overlapping pairs of addresses are not listed",
            found.unlisted
        ));
    }
    messages
}

#[cfg(test)]
mod tests {
    use ferrolb_crds::ipaddresspool::IPAddressPoolSpec;

    use super::*;

    fn pool(name: &str, addresses: &[&str]) -> Pool {
        let spec = IPAddressPoolSpec {
            addresses: addresses.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        };
        Pool::from_object(&IPAddressPool::new(name, spec)).unwrap()
    }

    #[test]
    fn a_range_covering_two_disjoint_ranges_is_reported_with_each() {
        let pools = [
            pool("wide", &["192.0.2.0/24"]),
            pool("low", &["192.0.2.10-192.0.2.20"]),
            pool("high", &["192.0.2.100-192.0.2.110"]),
        ];
        assert_eq!(
            overlaps(&pools),
            [
                "IPAddressPool \"low\" address 192.0.2.10-192.0.2.20 overlaps with IPAddressPool \"wide\" address 192.0.2.0/24",
                "IPAddressPool \"high\" address 192.0.2.100-192.0.2.110 overlaps with IPAddressPool \"wide\" address 192.0.2.0/24",
            ]
        );
    }

    #[test]
    fn three_ranges_sharing_an_address_make_three_pairs() {
        let pools = [
            pool("a", &["198.51.100.0/25"]),
            pool("b", &["198.51.100.64/26"]),
            pool("c", &["198.51.100.100-198.51.100.120"]),
        ];
        let found = overlaps(&pools);
        assert_eq!(found.len(), 3, "{found:#?}");
    }

    #[test]
    fn ranges_of_different_families_or_apart_do_not_overlap() {
        let pools = [
            pool("v4", &["192.0.2.0/25", "192.0.2.128/25"]),
            pool("v6", &["2001:db8::/64"]),
            pool("v6-next", &["2001:db8:0:1::/64"]),
        ];
        assert!(overlaps(&pools).is_empty());
    }

    #[test]
    fn overlaps_within_one_pool_are_reported_too() {
        let found = overlaps(&[pool("p", &["203.0.113.0/24", "203.0.113.7/32"])]);
        assert_eq!(
            found,
            [
                "IPAddressPool \"p\" address 203.0.113.7/32 overlaps with IPAddressPool \"p\" address 203.0.113.0/24"
            ]
        );
    }

    #[test]
    fn a_huge_configuration_names_the_first_pairs_and_counts_the_rest() {
        // One /112 over 1,000 one-address pools: 1,000 pairs.
        let mut pools = vec![pool("wide", &["2001:db8::/112"])];
        for i in 0..1000u32 {
            pools.push(pool(&format!("p{i}"), &[&format!("2001:db8::{i:x}/128")]));
        }
        let found = overlaps(&pools);
        assert_eq!(found.len(), OVERLAPS_LISTED + 1);
        assert_eq!(
            found[OVERLAPS_LISTED],
            format!(
                "IPAddressPool overlaps: {} more overlapping pairs of addresses are not listed",
                1000 - OVERLAPS_LISTED
            )
        );
    }
}
